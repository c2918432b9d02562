/**
 * Eager `conv_general_dilated` of float arrays with one or two spatial dimensions and no input
 * dilation (forward passes, and the kernel and input gradients of stride-1 convolutions) on
 * WebAssembly: the input windows are laid out as a column matrix in kernel memory (runs copied
 * and padding zero-filled by vector loops) and multiplied there by the SIMD matmul, so the
 * columns never pass through JavaScript. The arithmetic is the matmul's, as in the general path,
 * except for kernel gradients with long sums to few outputs, which are dot products
 * (`dot-kernels.ts`). The product is batched over the examples, with C's strides putting each
 * example's output channels where they belong in the NCHW result (kernel gradients, with few
 * output positions, are one product whose [O, N·P] result is reordered).
 *
 * The rows of a block of the column matrix are laid out by one WebAssembly call per range of
 * rows (`block`, a loop over `rows` calls reading a descriptor). On several threads, blocks of
 * examples run side by side ("lanes": each lane has its own column block, descriptor and
 * scratch), each block laid out and multiplied whole by one thread; split over the threads
 * instead, a block's product was cut into pieces too narrow for the micro-kernel (a 2-thread
 * forward convolution of a small CNN ran 1.7× slower that way). A convolution with too little
 * work, or a kernel gradient, runs one block at a time with its rows and product split. Where the output is as wide as the input and the stride is 1
 * ("same" convolutions, and the kernel gradients whose window is a whole image), a row's values
 * for one image are one contiguous run of the image, copied at once, with its padding columns
 * zeroed afterwards; otherwise each output row is a run of its own.
 *
 * The column matrix is built and multiplied a block of examples at a time (`columnBlockBytes`,
 * 512 KB): the block is still in cache when the product packs it, and kernel memory, which never
 * shrinks, holds one block rather than the whole matrix (tens of MB for a small network's
 * convolutions, more than a 32-bit memory for an ImageNet-sized batch). Blocks only change
 * which columns of the product are computed together, so the results are the same bits. Kernel
 * gradients (the transposed layout: few columns, rows as long as a batch of images) are still
 * built whole.
 */
import type { MatmulSpec } from "../compiler/kernels/matmul.js";
import { allocateUninitialized } from "../core/dtype.js";
import type { ConvParams } from "../primitives/conv.js";
import { installFastConv } from "../primitives/conv-impl.js";
import { fromStorage, type ConcreteArray } from "./concrete.js";
import { matmulKernel, minimumParallelWork, type CompiledMatmul } from "./matmul.js";
import { useFusedMultiplyAdd } from "./config.js";
import { loopParts, splitRange, threadCount, wakeWorkers } from "./threads.js";
import { layout, memoryView, reserve, runKernelParallel } from "./wasm-memory.js";
import { placeArrayIn, stridedCopy } from "./gather-kernels.js";
import { im2colKernel, Slot } from "./im2col-kernels.js";
import { dotProducts, dotScratchBytes, prefersDots } from "./dot-kernels.js";

/** Convolutions with fewer multiply-adds stay on the general path. */
const minimumWork = 64 * 1024;

/**
 * Output positions per example from which the product writes the NCHW result directly (one
 * product per example: fewer positions would leave the micro-kernel's columns half empty).
 */
const minimumDirectPositions = 64;

/** Column-matrix blocks with fewer elements are laid out by one thread. */
const minimumParallelColumns = 64 * 1024;

/** Bytes of column matrix written per block of examples (about what L2 holds beside the panels). */
let columnBlockBytes = 512 * 1024;

/** Sets the column block size (tests use small blocks to run many); returns the previous one. */
export function setColumnBlockBytes(bytes: number): number {
  const previous = columnBlockBytes;
  columnBlockBytes = bytes;
  return previous;
}

/** Output columns `[lo, hi)` whose input column `ow·stride + shift` lies in `[0, size)`. */
function validRange(
  outSize: number,
  stride: number,
  shift: number,
  size: number,
): [number, number] {
  const lo = Math.min(outSize, Math.max(0, Math.ceil(-shift / stride)));
  const hi = Math.max(lo, Math.min(outSize, Math.floor((size - 1 - shift) / stride) + 1));
  return [lo, hi];
}

/** How a convolution runs on the kernels: its sizes, its blocks of examples and its products. */
export interface ConvPlan {
  readonly dtype: "float32" | "float64";
  readonly item: number;
  readonly H: number;
  readonly W: number;
  readonly KH: number;
  readonly KW: number;
  readonly OH: number;
  readonly OW: number;
  readonly sh: number;
  readonly sw: number;
  readonly dh: number;
  readonly dw: number;
  readonly ph: number;
  readonly pw: number;
  readonly C: number;
  readonly O: number;
  readonly I: number;
  readonly G: number;
  readonly B: number;
  readonly groups: number;
  readonly outN: number;
  readonly Og: number;
  /** Output positions per example. */
  readonly P: number;
  /** Rows of the column matrix (input features × window). */
  readonly rows: number;
  /** Columns of the column matrix (examples × positions). */
  readonly columns: number;
  readonly perExample: number;
  /** Kernel gradients: rows are (example, oh, ow) windows, columns a whole image's. */
  readonly transposed: boolean;
  /** Blocks of examples run side by side, one per thread (1: one block at a time). */
  readonly lanes: number;
  /** Examples per block. */
  readonly block: number;
  /** The product writes the NCHW result directly (else [Og, N'·P], reordered after). */
  readonly direct: boolean;
  /**
   * The product is Og × N'·P dot products (`dot-kernels.ts`): kernel gradients with few outputs
   * (a first layer's: its input channels × taps) and long sums (examples × positions).
   */
  readonly dots: boolean;
  /** The product of a block of `examples`, and how many parts it is split in. */
  spec(examples: number): MatmulSpec;
  parts(examples: number): number;
}

/**
 * The plan of `conv_general_dilated` of operands with these shapes (NCH… input, OIH… kernel)
 * and dtypes on the kernels, for `threads` threads; undefined for the cases they do not take.
 */
export function planConv(
  lhs: { shape: readonly number[]; dtype: string },
  rhs: { shape: readonly number[]; dtype: string },
  p: ConvParams,
  shape: readonly number[],
  threads: number,
): ConvPlan | undefined {
  const spatial = lhs.shape.length - 2;
  if ((lhs.dtype !== "float32" && lhs.dtype !== "float64") || rhs.dtype !== lhs.dtype) {
    return undefined;
  }
  const dtype: "float32" | "float64" = lhs.dtype;
  if ((spatial !== 1 && spatial !== 2) || p.lhsDilation.some((d) => d !== 1)) return undefined;
  // Two spatial dimensions, H first (1-d convolutions have H = 1).
  const two = <T>(list: readonly T[], one: T): [T, T] =>
    spatial === 2 ? [list[0]!, list[1]!] : [one, list[0]!];
  const [H, W] = two(lhs.shape.slice(2), 1);
  const [KH, KW] = two(rhs.shape.slice(2), 1);
  const [OH, OW] = two(shape.slice(2), 1);
  const [sh, sw] = two(p.windowStrides, 1);
  const [dh, dw] = two(p.rhsDilation, 1);
  const [ph, pw] = two(
    p.padding.map(([low]) => low),
    0,
  );
  const [N, C] = [lhs.shape[0]!, lhs.shape[1]!];
  const [O, I] = [rhs.shape[0]!, rhs.shape[1]!];
  const G = p.featureGroupCount;
  const B = p.batchGroupCount;
  const groups = Math.max(G, B);
  const outN = N / B;
  const Og = O / groups;
  const P = OH * OW;
  const rows = I * KH * KW;
  const columns = outN * P;
  if (Og * rows * columns * groups < minimumWork || P === 0 || rows === 0) return undefined;
  const item = dtype === "float32" ? 4 : 8;
  const transposed = KW > OW;
  // Examples per block of columns: im2col writes a block, the product packs it while it is
  // still in cache (the whole column matrix of a network's convolution runs to tens of MB).
  // Kernel gradients (the transposed layout, few columns and long rows) take all examples at
  // once.
  const perExample = rows * P;
  const cachedExamples = Math.max(1, Math.floor(columnBlockBytes / (perExample * item)));
  // On several threads, blocks of examples run side by side, each block's columns and product
  // on one thread: no hand-off between the two, and products as wide as a block (split over
  // the threads, a block's product is cut into pieces too small to run at full speed).
  const lanes =
    !transposed && threads > 1 && outN > 1 && Og * perExample * outN >= minimumParallelWork
      ? Math.min(threads, outN)
      : 1;
  const block = transposed ? outN : Math.min(outN, cachedExamples, Math.ceil(outN / lanes));
  // The product writes the NCHW result directly (batched over the examples) when each example
  // has enough output positions to fill the micro-kernel's columns; else it is one [Og, N'·P]
  // product, reordered afterwards.
  const direct = !transposed && P >= minimumDirectPositions;
  const dots = transposed && prefersDots(Og, columns, rows);
  const spec = (examples: number): MatmulSpec => {
    const n = examples * P;
    const common = { dtype, m: Og, k: rows, fusedMultiplyAdd: useFusedMultiplyAdd() };
    const a = { batchStride: 0, rowStride: rows, colStride: 1 };
    return !direct
      ? {
          ...common,
          // Columns laid out [N'·P, I·K] (runs along the kernel width: the kernel gradients,
          // whose "kernel" is a whole image), or [I·K, N'·P]; C is [Og, N'·P] (a block of
          // examples fills a block of its columns), moved to NCHW afterwards.
          batch: 1,
          n,
          a,
          b: transposed
            ? { batchStride: 0, rowStride: 1, colStride: rows }
            : { batchStride: 0, rowStride: n, colStride: 1 },
          c: { batchStride: 0, rowStride: columns },
        }
      : {
          ...common,
          // Columns laid out [I·K, examples·P] (runs along the output width): one product per
          // example, each writing its [Og, P] block of the NCHW result where it belongs.
          batch: examples,
          n: P,
          a,
          b: { batchStride: P, rowStride: n, colStride: 1 },
          c: { batchStride: O * P, rowStride: P },
        };
  };
  const parts = (examples: number): number =>
    lanes === 1 && Og * rows * examples * P >= minimumParallelWork ? threads : 1;
  return {
    dtype,
    item,
    H,
    W,
    KH,
    KW,
    OH,
    OW,
    sh,
    sw,
    dh,
    dw,
    ph,
    pw,
    C,
    O,
    I,
    G,
    B,
    groups,
    outN,
    Og,
    P,
    rows,
    columns,
    perExample,
    transposed,
    lanes,
    block,
    direct,
    dots,
    spec,
    parts,
  };
}

/**
 * `conv_general_dilated` (NCH… input, OIH… kernel) on the WebAssembly kernels, `undefined` for
 * the cases they do not take. With `output` (a byte address in a compiled call's arena) the
 * result is written there and returned as a view of it.
 */
export function fastConv(
  lhs: ConcreteArray,
  rhs: ConcreteArray,
  p: ConvParams,
  shape: readonly number[],
  output?: number,
): ConcreteArray | undefined {
  const plan = planConv(lhs, rhs, p, shape, threadCount());
  if (plan === undefined) return undefined;
  const { dtype, item, H, W, KH, KW, OH, OW, sh, sw, dh, dw, ph, pw, C, O, I, G, B } = plan;
  const { groups, outN, Og, P, rows, columns, perExample, transposed, lanes, block, direct } = plan;
  const productOf = (examples: number): CompiledMatmul =>
    matmulKernel(plan.spec(examples), plan.parts(examples));
  // Dot products take the whole product at once (one block, one lane).
  const full = plan.dots ? undefined : productOf(block);
  const last = full === undefined || outN % block === 0 ? full : productOf(outN % block);
  const scratch =
    full === undefined || last === undefined
      ? dotScratchBytes(Og, columns)
      : [...full.scratchBytes, ...last.scratchBytes].reduce((a, b) => Math.max(a, b));
  const productParts = full?.parts.length ?? 1;
  // Per lane: a block of columns, an im2col descriptor, and the scratch of its product's parts.
  const inner = transposed ? OW : KW;
  const descriptorLength = Slot.Fixed + 3 * inner;
  const perLane = (bytes: number): number[] => Array.from({ length: lanes }, () => bytes);
  const { offsets, total } = layout([
    lhs.size * item,
    rhs.size * item,
    // The product: [Og, N'·P], or the NCHW result unless it has a place.
    (!direct ? Og * columns : output === undefined ? outN * O * P : 0) * item,
    ...perLane(rows * block * P * item),
    ...perLane(4 * descriptorLength),
    ...perLane(scratch * productParts),
  ]);
  reserve(total);
  const xAt = placeArrayIn(lhs, offsets[0]!, total);
  const wAt = placeArrayIn(rhs, offsets[1]!, total);
  const productAt = offsets[2]!;
  const colsAt = offsets.slice(3, 3 + lanes);
  const descriptorAt = offsets.slice(3 + lanes, 3 + 2 * lanes);
  const scratchAt = offsets.slice(3 + 2 * lanes);
  const module = im2colKernel(dtype);
  const planeBytes = H * W * item;
  // What the rows of a block share (the source and the block's size are set per block), and
  // for each inner index (kw; ow when transposed) its valid output columns and source offset.
  const descriptors = descriptorAt.map((at) => memoryView("int32", at, descriptorLength));
  const shared: [Slot, number][] = [
    [Slot.H, H],
    [Slot.RowBytes, W * item],
    [Slot.PadH, ph],
    [Slot.Inner, inner],
    ...((transposed
      ? [
          [Slot.Count, I],
          [Slot.SrcStep, planeBytes],
          [Slot.OutH, KH],
          [Slot.StrideH, dh],
          [Slot.OutW, KW],
          [Slot.StrideW, dw],
          [Slot.OuterStep, C * planeBytes],
          [Slot.DstRowBytes, rows * item],
          [Slot.Mid, OH],
          [Slot.MidScale, sh],
        ]
      : [
          [Slot.SrcStep, C * planeBytes],
          [Slot.OutH, OH],
          [Slot.StrideH, sh],
          [Slot.OutW, OW],
          [Slot.StrideW, sw],
          [Slot.OuterStep, planeBytes],
          [Slot.Mid, KH],
          [Slot.MidScale, dh],
        ]) as [Slot, number][]),
  ];
  const innerEntries = Array.from({ length: inner }, (_, i) => {
    // Kernel column kw over the output columns, or output column ow over the kernel's.
    const shiftW = transposed ? i * sw - pw : i * dw - pw;
    const range = transposed ? validRange(KW, dw, shiftW, W) : validRange(OW, sw, shiftW, W);
    return [...range, shiftW * item];
  }).flat();
  descriptors.forEach((descriptor, lane) => {
    descriptor[Slot.Dst] = colsAt[lane]!;
    for (const [at, value] of shared) descriptor[at] = value;
    descriptor.set(innerEntries, Slot.Fixed);
  });
  // Every element of the result is written below.
  const result =
    output === undefined
      ? allocateUninitialized(dtype, outN * O * P)
      : memoryView(dtype, output, outN * O * P);
  for (let group = 0; group < groups; group++) {
    const c0 = G > 1 ? group * I : 0;
    const n0 = B > 1 ? group * outN : 0;
    const xGroup = xAt + (n0 * C + c0) * planeBytes;
    for (let start = 0; start < outN; start += block * lanes) {
      // The blocks of this round, one per lane.
      const round: { lane: number; first: number; examples: number }[] = [];
      for (let lane = 0; lane < lanes && start + lane * block < outN; lane++) {
        const first = start + lane * block;
        round.push({ lane, first, examples: Math.min(block, outN - first) });
      }
      // Workers asleep wake up while this thread lays out the descriptors.
      if (round.length > 1 || productParts > 1) wakeWorkers();
      // Rows (input feature, kh, kw): for each example of the block, the OH × OW output
      // positions; transposed, rows (example, oh, ow): for each input feature, the KH × KW
      // window. One block's rows are split over the threads when it runs alone.
      const count = transposed ? columns : rows;
      const layoutCalls = round.flatMap(({ lane, first, examples }) => {
        const descriptor = descriptors[lane]!;
        descriptor[Slot.Src] = xGroup + first * C * planeBytes;
        if (!transposed) {
          descriptor[Slot.Count] = examples;
          descriptor[Slot.DstRowBytes] = examples * P * item;
        }
        const pieces =
          lanes > 1 ? 1 : Math.min(count, loopParts(examples * perExample, minimumParallelColumns));
        return splitRange(count, pieces, 1).map(([row, n]) => ({
          name: "block",
          args: [descriptorAt[lane]!, row, row + n],
        }));
      });
      runKernelParallel("conv_general_dilated", module, layoutCalls);
      if (full === undefined || last === undefined) {
        // One block (all examples, transposed): its [Og, N'·P] product by dot products.
        const a = wAt + group * Og * rows * item;
        const at = { a, b: colsAt[0]!, c: productAt, lda: rows, ldb: rows, ldc: columns };
        dotProducts(dtype, useFusedMultiplyAdd(), Og, columns, rows, at, scratchAt[0]!);
        continue;
      }
      // Each block's product (the last block may be smaller: another module), to its columns
      // of [Og, N'·P], or its examples' channels of this group in the NCHW result.
      for (const product of [full, last]) {
        const calls = round
          .filter(({ examples }) => (examples === block ? full : last) === product)
          .flatMap(({ lane, first }) => {
            const c = !direct
              ? productAt + first * P * item
              : (output ?? productAt) + (first * O + group * Og) * P * item;
            return product.parts.map((part, i) => ({
              name: `part${i}`,
              args: [
                wAt + (group * Og * rows + part.a) * item,
                colsAt[lane]! + part.b * item,
                c + part.c * item,
                scratchAt[lane]! + i * scratch,
              ],
            }));
          });
        if (calls.length > 0) runKernelParallel("conv_general_dilated", product.module, calls);
        if (last === full) break;
      }
    }
    if (direct) continue;
    // [Og, outN·P] → result[n, group·Og + o, :]
    if (output !== undefined) {
      // Both in kernel memory: rows moved by the scatter loops (memory.copy each).
      const at = output + group * Og * P * item;
      stridedCopy("scatter", item, productAt, at, [Og, outN, P], [P, O * P, 1]);
      continue;
    }
    const product = memoryView(dtype, productAt, Og * columns);
    for (let o = 0; o < Og; o++) {
      for (let n = 0; n < outN; n++) {
        const from = (o * outN + n) * P;
        result.set(product.subarray(from, from + P), (n * O + group * Og + o) * P);
      }
    }
  }
  if (direct && output === undefined) result.set(memoryView(dtype, productAt, result.length));
  return fromStorage(result, shape, dtype, lhs.weakType && rhs.weakType);
}

installFastConv((lhs, rhs, p, shape) => fastConv(lhs, rhs, p, shape));

/**
 * Eager `conv_general_dilated` of float arrays with one or two spatial dimensions and no input
 * dilation (forward passes, and the kernel and input gradients of stride-1 convolutions) on
 * WebAssembly: the input windows are laid out as a column matrix in kernel memory (runs copied
 * and padding zero-filled by vector loops) and multiplied there by the SIMD matmul, so the
 * columns never pass through JavaScript. The arithmetic is the matmul's, as in the general path.
 * The product is batched over the examples, with C's strides putting each example's output
 * channels where they belong in the NCHW result (kernel gradients, with few output positions,
 * are one product whose [O, N·P] result is reordered).
 *
 * The rows of a block of the column matrix are laid out by one WebAssembly call per range of
 * rows (`block`, a loop over `rows` calls reading a descriptor), the ranges split over the
 * threads like any other kernel. Where the output is as wide as the input and the stride is 1
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
import type { FunctionBuilder } from "../compiler/wasm/function-builder.js";
import type { MatmulSpec } from "../compiler/kernels/matmul.js";
import { allocateUninitialized } from "../core/dtype.js";
import type { ConvParams } from "../primitives/conv.js";
import { installFastConv } from "../primitives/conv-impl.js";
import { fromStorage, type ConcreteArray } from "./concrete.js";
import { matmulKernel, minimumParallelWork, type CompiledMatmul } from "./matmul.js";
import { useFusedMultiplyAdd } from "./config.js";
import { loopParts, splitRange, threadCount, wakeWorkers, type KernelModule } from "./threads.js";
import {
  addI32Function,
  compileKernel,
  memoryView,
  kernelModuleBuilder,
  layout,
  reserve,
  runKernelParallel,
} from "./wasm-memory.js";
import { emitRunLoop, placeArrayIn, stridedCopy } from "./gather-kernels.js";
import { zeroVector } from "../compiler/kernels/matmul-pack.js";

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

const kernels = new Map<string, KernelModule>();

/**
 * `rows(src, dst, count, srcStep, outH, strideH, shiftH, H, rowBytes, outW, lo, hi, srcW,
 * strideW)`: for each of `count` planes (src advancing by `srcStep` bytes) and each output row
 * `oh`, input row `ih = oh·strideH + shiftH` (zeros when outside `[0, H)`): columns `[lo, hi)`
 * come from `src + ih·rowBytes + srcW + ow·strideW·item`, the others are zero. `dst` is written
 * contiguously, `outW` elements per output row.
 */
function kernelFor(dtype: "float32" | "float64"): KernelModule {
  let kernel = kernels.get(dtype);
  if (kernel !== undefined) return kernel;
  const item = dtype === "float32" ? 4 : 8;
  const module = kernelModuleBuilder();
  const { f, p } = addI32Function(
    module,
    "rows",
    [
      "src",
      "dst",
      "count",
      "srcStep",
      "outH",
      "strideH",
      "shiftH",
      "H",
      "rowBytes",
      "outW",
      "lo",
      "hi",
      "srcW",
      "strideW",
    ],
    `im2col rows of a ${dtype} input`,
  );
  const plane = f.addLocal("i32", "plane");
  const oh = f.addLocal("i32", "oh");
  const ih = f.addLocal("i32", "ih");
  const from = f.addLocal("i32", "from");
  const ow = f.addLocal("i32", "ow");
  const step = f.addLocal("i32", "step");
  f.localGet(p.strideW).i32Const(item).i32Mul().localSet(step);
  const bytes = f.addLocal("i32", "bytes");
  const at = f.addLocal("i32", "at");
  const end = f.addLocal("i32", "end");
  const source = f.addLocal("i32", "source");
  /** The run copies and fills below: 16 bytes at a time, then element by element. */
  const strides = (size: number, body: () => void): void =>
    emitRunLoop(f, { at, end, other: source }, size, size, size, body);
  // Runs are short (a row of an image, the padding at its ends): memory.copy and memory.fill
  // cost a call each, more than moving the bytes, so runs go by vectors and elements.
  /** Zeros `length()` elements from the address `start` pushes. */
  const zeros = (start: () => void, length: () => void): void => {
    start();
    f.localTee(at);
    length();
    f.i32Const(item).i32Mul().i32Add().localSet(end);
    strides(16, () => f.localGet(at).v128Const(zeroVector).v128Store());
    strides(item, () => {
      f.localGet(at);
      if (item === 4) f.f32Const(0).memoryOp("f32.store", 0, 4);
      else f.f64Const(0).memoryOp("f64.store", 0, 8);
    });
  };
  /** Copies `bytes` bytes from `from` to the address `start` pushes. */
  const copy = (start: () => void): void => {
    start();
    f.localTee(at).localGet(bytes).i32Add().localSet(end);
    f.localGet(from).localSet(source);
    strides(16, () => f.localGet(at).localGet(source).v128Load().v128Store());
    strides(item, () => {
      f.localGet(at).localGet(source);
      copyElement(f, item);
    });
  };
  const forRange = (counter: number, end: number, body: () => void): void => {
    f.block((done) => {
      f.loop((next) => {
        f.localGet(counter).localGet(end).i32GeS().brIf(done);
        body();
        f.localGet(counter).i32Const(1).i32Add().localSet(counter).br(next);
      });
    });
  };
  // One run per plane where the output rows continue each other in the source (stride 1, as
  // wide as the image: "same" convolutions, and the kernel gradients whose window is a whole
  // image): output element j then reads base + j·item, so the rows whose input row exists are
  // one copy, then their padding columns are zeroed (they read the neighbouring rows' ends).
  const first = f.addLocal("i32", "first");
  const last = f.addLocal("i32", "last");
  const fast = f.addLocal("i32", "fast");
  f.localGet(p.strideH).i32Const(1).i32Eq();
  f.localGet(p.strideW).i32Const(1).i32Eq().i32And();
  f.localGet(p.outW).i32Const(item).i32Mul().localGet(p.rowBytes).i32Eq().i32And();
  f.localGet(p.lo).localGet(p.hi).i32LtS().i32And();
  f.localSet(fast);
  // Output rows [first, last) have an input row: first = clamp(−shiftH), last = clamp(H − shiftH).
  const clamp = (value: () => void, low: () => void, target: number): void => {
    value();
    low();
    value();
    low();
    f.i32GtS().select().localSet(target);
    f.localGet(target).localGet(p.outH).localGet(target).localGet(p.outH).i32LtS().select();
    f.localSet(target);
  };
  clamp(
    () => f.i32Const(0).localGet(p.shiftH).i32Sub(),
    () => f.i32Const(0),
    first,
  );
  clamp(
    () => f.localGet(p.H).localGet(p.shiftH).i32Sub(),
    () => f.localGet(first),
    last,
  );
  f.localGet(first).localGet(last).i32LtS().localGet(fast).i32And().localSet(fast);
  /** Bytes from the start of a plane's output to output row `row` (a local), column `column`. */
  const offsetOf = (row: number, column: () => void): void => {
    f.localGet(row).localGet(p.outW).i32Mul();
    column();
    f.i32Add().i32Const(item).i32Mul();
  };
  f.i32Const(0).localSet(plane);
  f.localGet(fast);
  f.if(() =>
    forRange(plane, p.count, () => {
      zeros(
        () => f.localGet(p.dst),
        () => f.localGet(first).localGet(p.outW).i32Mul(),
      );
      // from = src + shiftH·rowBytes + srcW + (first·outW + lo)·item; bytes up to (last − 1, hi).
      f.localGet(p.src).localGet(p.shiftH).localGet(p.rowBytes).i32Mul().i32Add();
      f.localGet(p.srcW).i32Add();
      offsetOf(first, () => f.localGet(p.lo));
      f.i32Add().localSet(from);
      f.localGet(last).i32Const(1).i32Sub().localSet(oh);
      offsetOf(oh, () => f.localGet(p.hi));
      offsetOf(first, () => f.localGet(p.lo));
      f.i32Sub().localSet(bytes);
      copy(() => {
        f.localGet(p.dst);
        offsetOf(first, () => f.localGet(p.lo));
        f.i32Add();
      });
      f.localGet(first).localSet(oh);
      forRange(oh, last, () => {
        zeros(
          () => {
            f.localGet(p.dst);
            offsetOf(oh, () => f.i32Const(0));
            f.i32Add();
          },
          () => f.localGet(p.lo),
        );
        zeros(
          () => {
            f.localGet(p.dst);
            offsetOf(oh, () => f.localGet(p.hi));
            f.i32Add();
          },
          () => f.localGet(p.outW).localGet(p.hi).i32Sub(),
        );
      });
      zeros(
        () => {
          f.localGet(p.dst);
          offsetOf(last, () => f.i32Const(0));
          f.i32Add();
        },
        () => f.localGet(p.outH).localGet(last).i32Sub().localGet(p.outW).i32Mul(),
      );
      f.localGet(p.dst).localGet(p.outH).localGet(p.outW).i32Mul().i32Const(item).i32Mul();
      f.i32Add().localSet(p.dst);
      f.localGet(p.src).localGet(p.srcStep).i32Add().localSet(p.src);
    }),
  );
  f.localGet(fast).i32Eqz();
  f.if(() =>
    forRange(plane, p.count, () => {
      f.i32Const(0).localSet(oh);
      forRange(oh, p.outH, () => {
        f.localGet(oh).localGet(p.strideH).i32Mul().localGet(p.shiftH).i32Add().localSet(ih);
        f.localGet(ih).i32Const(0).i32LtS().localGet(ih).localGet(p.H).i32GeS().i32Or();
        f.if(
          () =>
            zeros(
              () => f.localGet(p.dst),
              () => f.localGet(p.outW),
            ),
          () => {
            // from = src + ih·rowBytes + srcW + lo·step
            f.localGet(p.src).localGet(ih).localGet(p.rowBytes).i32Mul().i32Add();
            f.localGet(p.srcW).i32Add().localGet(p.lo).localGet(step).i32Mul().i32Add();
            f.localSet(from);
            zeros(
              () => f.localGet(p.dst),
              () => f.localGet(p.lo),
            );
            f.localGet(p.strideW).i32Const(1).i32Eq();
            f.if(
              () => {
                f.localGet(p.hi).localGet(p.lo).i32Sub().i32Const(item).i32Mul().localSet(bytes);
                copy(() => f.localGet(p.dst).localGet(p.lo).i32Const(item).i32Mul().i32Add());
              },
              () => {
                f.localGet(p.lo).localSet(ow);
                forRange(ow, p.hi, () => {
                  f.localGet(p.dst).localGet(ow).i32Const(item).i32Mul().i32Add();
                  f.localGet(from);
                  copyElement(f, item);
                  f.localGet(from).localGet(step).i32Add().localSet(from);
                });
              },
            );
            zeros(
              () => f.localGet(p.dst).localGet(p.hi).i32Const(item).i32Mul().i32Add(),
              () => f.localGet(p.outW).localGet(p.hi).i32Sub(),
            );
          },
        );
        f.localGet(p.dst).localGet(p.outW).i32Const(item).i32Mul().i32Add().localSet(p.dst);
      });
      f.localGet(p.src).localGet(p.srcStep).i32Add().localSet(p.src);
    }),
  );
  emitBlock(module, f);
  kernel = compileKernel(module.build({ names: false }));
  kernels.set(dtype, kernel);
  return kernel;
}

/**
 * Int32 slots of the descriptor `block` reads, then `lo`, `hi`, `srcW` for each inner index:
 * the `rows` arguments shared by the rows of one block of the column matrix, and how a row
 * index r splits into (outer, mid, inner) = (r / (Mid·Inner), r / Inner mod Mid, r mod Inner).
 * Rows are (input feature, kh, kw) in the first layout and (example, oh, ow) in the transposed.
 */
const enum Slot {
  Src,
  Dst,
  Count,
  SrcStep,
  OutH,
  StrideH,
  H,
  RowBytes,
  OutW,
  StrideW,
  /** Bytes the source moves per outer index. */
  OuterStep,
  DstRowBytes,
  Mid,
  Inner,
  /** shiftH = mid·MidScale − PadH. */
  MidScale,
  PadH,
  /** Slots before the per-inner table. */
  Fixed,
}

/**
 * `block(desc, start, end)`: rows `[start, end)` of a block of the column matrix, each one
 * `rows` call with its arguments from the descriptor at `desc` (`Slot`). Ranges of rows run on
 * different threads.
 */
function emitBlock(module: ReturnType<typeof kernelModuleBuilder>, rows: FunctionBuilder): void {
  const f = module.addFunction("block", {
    params: ["i32", "i32", "i32"],
    paramNames: ["desc", "start", "end"],
    export: true,
    comment: "im2col rows [start, end) of a block",
  });
  const [desc, start, end] = [0, 1, 2];
  const r = f.addLocal("i32", "r");
  const k = f.addLocal("i32", "k");
  const inner = f.addLocal("i32", "inner");
  const table = f.addLocal("i32", "table");
  const slot = (s: Slot): void => {
    f.localGet(desc).i32Load(4 * s, 2);
  };
  f.localGet(start).localSet(r);
  f.block((done) => {
    f.loop((next) => {
      f.localGet(r).localGet(end).i32GeU().brIf(done);
      // k = r mod (Mid·Inner), inner = k mod Inner; the inner index's entry of the table.
      f.localGet(r);
      slot(Slot.Mid);
      slot(Slot.Inner);
      f.i32Mul().i32RemU().localSet(k);
      f.localGet(k);
      slot(Slot.Inner);
      f.i32RemU().localSet(inner);
      f.localGet(desc)
        .i32Const(4 * Slot.Fixed)
        .i32Add()
        .localGet(inner)
        .i32Const(12)
        .i32Mul()
        .i32Add()
        .localSet(table);
      // src + outer·OuterStep
      slot(Slot.Src);
      f.localGet(r);
      slot(Slot.Mid);
      slot(Slot.Inner);
      f.i32Mul().i32DivU();
      slot(Slot.OuterStep);
      f.i32Mul().i32Add();
      // dst + r·DstRowBytes
      slot(Slot.Dst);
      f.localGet(r);
      slot(Slot.DstRowBytes);
      f.i32Mul().i32Add();
      slot(Slot.Count);
      slot(Slot.SrcStep);
      slot(Slot.OutH);
      slot(Slot.StrideH);
      // shiftH = mid·MidScale − PadH, mid = k / Inner
      f.localGet(k);
      slot(Slot.Inner);
      f.i32DivU();
      slot(Slot.MidScale);
      f.i32Mul();
      slot(Slot.PadH);
      f.i32Sub();
      slot(Slot.H);
      slot(Slot.RowBytes);
      slot(Slot.OutW);
      f.localGet(table).i32Load(0, 2);
      f.localGet(table).i32Load(4, 2);
      f.localGet(table).i32Load(8, 2);
      slot(Slot.StrideW);
      f.call(rows);
      f.localGet(r).i32Const(1).i32Add().localSet(r).br(next);
    });
  });
}

/** Copies one element: destination and source addresses on the stack. */
function copyElement(f: FunctionBuilder, item: number): void {
  if (item === 4) f.memoryOp("f32.load", 0, 4).memoryOp("f32.store", 0, 4);
  else f.memoryOp("f64.load", 0, 8).memoryOp("f64.store", 0, 8);
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
  const dtype = lhs.dtype;
  const spatial = lhs.ndim - 2;
  if ((dtype !== "float32" && dtype !== "float64") || rhs.dtype !== dtype) return undefined;
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
  const K = KH * KW;
  const rows = I * K;
  const columns = outN * P;
  if (Og * rows * columns * groups < minimumWork || P === 0 || rows === 0) return undefined;
  const item = dtype === "float32" ? 4 : 8;
  const transposed = KW > OW;
  // Examples per block of columns: im2col writes a block, the product packs it while it is
  // still in cache (the whole column matrix of a network's convolution runs to tens of MB).
  // Blocks stay big enough to split over the threads. Kernel gradients (the transposed layout,
  // few columns and long rows) take all examples at once.
  const perExample = rows * P;
  const cachedExamples = Math.floor(columnBlockBytes / (perExample * item));
  const parallelExamples =
    threadCount() > 1 ? Math.ceil(minimumParallelWork / (Og * perExample)) : 1;
  const block = transposed ? outN : Math.min(outN, Math.max(1, cachedExamples, parallelExamples));
  // The product writes the NCHW result directly (batched over the examples) when each example
  // has enough output positions to fill the micro-kernel's columns; else it is one [Og, N'·P]
  // product, reordered afterwards.
  const direct = !transposed && P >= minimumDirectPositions;
  const productOf = (examples: number): CompiledMatmul => {
    const n = examples * P;
    const common = { dtype, m: Og, k: rows, fusedMultiplyAdd: useFusedMultiplyAdd() };
    const a = { batchStride: 0, rowStride: rows, colStride: 1 };
    const spec: MatmulSpec = !direct
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
    const threads = Og * rows * n >= minimumParallelWork ? threadCount() : 1;
    return matmulKernel(spec, threads);
  };
  const full = productOf(block);
  const last = outN % block === 0 ? full : productOf(outN % block);
  const scratch = [...full.scratchBytes, ...last.scratchBytes].reduce((a, b) => Math.max(a, b));
  const { offsets, total } = layout([
    lhs.size * item,
    rhs.size * item,
    rows * block * P * item,
    // The product: [Og, N'·P], or the NCHW result unless it has a place.
    (!direct ? Og * columns : output === undefined ? outN * O * P : 0) * item,
    4 * (Slot.Fixed + 3 * Math.max(KW, OW)),
    ...full.parts.map(() => scratch),
  ]);
  reserve(total);
  const xAt = placeArrayIn(lhs, offsets[0]!, total);
  const wAt = placeArrayIn(rhs, offsets[1]!, total);
  const [, , colsAt, productAt, descriptorAt] = offsets as [number, number, number, number, number];
  const module = kernelFor(dtype);
  const planeBytes = H * W * item;
  // What the rows of a block share (the source and the block's size are set per block), and
  // for each inner index (kw; ow when transposed) its valid output columns and source offset.
  const inner = transposed ? OW : KW;
  const descriptor = memoryView("int32", descriptorAt, Slot.Fixed + 3 * inner);
  const shared: [Slot, number][] = [
    [Slot.Dst, colsAt],
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
  for (const [at, value] of shared) descriptor[at] = value;
  for (let i = 0; i < inner; i++) {
    // Kernel column kw over the output columns, or output column ow over the kernel's.
    const shiftW = transposed ? i * sw - pw : i * dw - pw;
    const range = transposed ? validRange(KW, dw, shiftW, W) : validRange(OW, sw, shiftW, W);
    descriptor.set([...range, shiftW * item], Slot.Fixed + 3 * i);
  }
  // Every element of the result is written below.
  const result =
    output === undefined
      ? allocateUninitialized(dtype, outN * O * P)
      : memoryView(dtype, output, outN * O * P);
  for (let group = 0; group < groups; group++) {
    const c0 = G > 1 ? group * I : 0;
    const n0 = B > 1 ? group * outN : 0;
    const xGroup = xAt + (n0 * C + c0) * planeBytes;
    for (let first = 0; first < outN; first += block) {
      const examples = Math.min(block, outN - first);
      const product = examples === block ? full : last;
      // Workers asleep wake up while this thread lays out the columns.
      if (product.parts.length > 1) wakeWorkers();
      // Rows (input feature, kh, kw): for each example of the block, the OH × OW output
      // positions; transposed, rows (example, oh, ow): for each input feature, the KH × KW
      // window. Ranges of rows on the threads.
      descriptor[Slot.Src] = xGroup + first * C * planeBytes;
      if (!transposed) {
        descriptor[Slot.Count] = examples;
        descriptor[Slot.DstRowBytes] = examples * P * item;
      }
      const count = transposed ? columns : rows;
      runKernelParallel(
        "conv_general_dilated",
        module,
        splitRange(
          count,
          Math.min(count, loopParts(examples * perExample, minimumParallelColumns)),
          1,
        ).map(([row, n]) => ({ name: "block", args: [descriptorAt, row, row + n] })),
      );
      // Where the block's product goes: its columns of [Og, N'·P], or its examples' channels
      // of this group in the NCHW result.
      const c = !direct
        ? productAt + first * P * item
        : (output ?? productAt) + (first * O + group * Og) * P * item;
      runKernelParallel(
        "conv_general_dilated",
        product.module,
        product.parts.map((part, i) => ({
          name: `part${i}`,
          args: [
            wAt + (group * Og * rows + part.a) * item,
            colsAt + part.b * item,
            c + part.c * item,
            offsets[5 + i]!,
          ],
        })),
      );
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

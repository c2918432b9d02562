/**
 * The im2col kernels of the WebAssembly convolution (`conv-kernels.ts`): `rows` lays out the rows
 * of the column matrix for a range of planes (runs copied and padding zero-filled by vector
 * loops; where the output is as wide as the input at stride 1, a plane's rows are one copy with
 * the padding columns zeroed afterwards, those between two rows by one masked vector store), and `block(desc, start, end)` runs `rows` for a range
 * of rows of a block, reading their arguments from an int32 descriptor (`Slot`).
 */
import type { FunctionBuilder } from "../compiler/wasm/function-builder.js";
import type { ModuleBuilder } from "../compiler/wasm/module.js";
import { zeroVector } from "../compiler/kernels/matmul-pack.js";
import { emitRunLoop } from "./gather-kernels.js";
import type { KernelModule } from "./threads.js";
import { addI32Function, compileKernel, kernelModuleBuilder } from "./wasm-memory.js";

const kernels = new Map<string, KernelModule>();

/**
 * `rows(src, dst, count, srcStep, outH, strideH, shiftH, H, rowBytes, outW, lo, hi, srcW,
 * strideW)`: for each of `count` planes (src advancing by `srcStep` bytes) and each output row
 * `oh`, input row `ih = oh·strideH + shiftH` (zeros when outside `[0, H)`): columns `[lo, hi)`
 * come from `src + ih·rowBytes + srcW + ow·strideW·item`, the others are zero. `dst` is written
 * contiguously, `outW` elements per output row.
 */
export function im2colKernel(dtype: "float32" | "float64"): KernelModule {
  let kernel = kernels.get(dtype);
  if (kernel !== undefined) return kernel;
  kernel = compileKernel(im2colModule(dtype).build({ names: false }));
  kernels.set(dtype, kernel);
  return kernel;
}

/** The module of `im2colKernel` (`rows` and `block`), unbuilt (for its text). */
export function im2colModule(dtype: "float32" | "float64"): ModuleBuilder {
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
  // A seam (the padding columns of two neighbouring rows, `outW − hi + lo` elements) is zeroed
  // by one masked vector store where it fits a vector and a row is at least a vector long (the
  // store's other lanes then lie in the next row), else element runs each row.
  const seams = f.addLocal("i32", "seams");
  const lastSeam = f.addLocal("i32", "lastSeam");
  const mask = f.addLocal("v128", "mask");
  f.localGet(p.outW).localGet(p.hi).i32Sub().localGet(p.lo).i32Add().i32Const(item).i32Mul();
  f.localTee(bytes).i32Const(16).i32LeS();
  f.localGet(p.outW).i32Const(item).i32Mul().i32Const(16).i32GeS().i32And().localSet(seams);
  // mask: the seam's 4-byte lanes (lane < bytes / 4).
  f.i32x4Constant(0, 1, 2, 3).localGet(bytes).i32Const(2).i32ShrU().op("i32x4.splat");
  f.op("i32x4.lt_s").localSet(mask);
  /** Bytes from the start of a plane's output to output row `row` (a local), column `column`. */
  const offsetOf = (row: number, column: () => void): void => {
    f.localGet(row).localGet(p.outW).i32Mul();
    column();
    f.i32Add().i32Const(item).i32Mul();
  };
  /** Zeros output row `row`'s padding columns on the left (`[0, lo)`). */
  const zeroLeft = (row: number): void =>
    zeros(
      () => {
        f.localGet(p.dst);
        offsetOf(row, () => f.i32Const(0));
        f.i32Add();
      },
      () => f.localGet(p.lo),
    );
  /** Zeros output row `row`'s padding columns on the right (`[hi, outW)`). */
  const zeroRight = (row: number): void =>
    zeros(
      () => {
        f.localGet(p.dst);
        offsetOf(row, () => f.localGet(p.hi));
        f.i32Add();
      },
      () => f.localGet(p.outW).localGet(p.hi).i32Sub(),
    );
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
      f.localGet(seams);
      f.if(
        () => {
          // The padding columns between two rows (row oh's right, row oh + 1's left) are one
          // seam of at most a vector: each zeroed by one masked store (its other lanes are
          // kept), then the first row's left and the last row's right ends.
          zeroLeft(first);
          f.localGet(last).i32Const(1).i32Sub().localSet(lastSeam);
          forRange(oh, lastSeam, () => {
            f.localGet(p.dst);
            offsetOf(oh, () => f.localGet(p.hi));
            f.i32Add().localTee(at);
            f.localGet(at).v128Load().localGet(mask).op("v128.andnot").v128Store();
          });
          zeroRight(oh);
        },
        () =>
          forRange(oh, last, () => {
            zeroLeft(oh);
            zeroRight(oh);
          }),
      );
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
  return module;
}

/**
 * Int32 slots of the descriptor `block` reads, then `lo`, `hi`, `srcW` for each inner index:
 * the `rows` arguments shared by the rows of one block of the column matrix, and how a row
 * index r splits into (outer, mid, inner) = (r / (Mid·Inner), r / Inner mod Mid, r mod Inner).
 * Rows are (input feature, kh, kw) in the first layout and (example, oh, ow) in the transposed.
 */
export const Slot = {
  Src: 0,
  Dst: 1,
  Count: 2,
  SrcStep: 3,
  OutH: 4,
  StrideH: 5,
  H: 6,
  RowBytes: 7,
  OutW: 8,
  StrideW: 9,
  /** Bytes the source moves per outer index. */
  OuterStep: 10,
  DstRowBytes: 11,
  Mid: 12,
  Inner: 13,
  /** shiftH = mid·MidScale − PadH. */
  MidScale: 14,
  PadH: 15,
  /** Slots before the per-inner table. */
  Fixed: 16,
} as const;
export type Slot = (typeof Slot)[keyof typeof Slot];

/**
 * `block(desc, start, end)`: rows `[start, end)` of a block of the column matrix, each one
 * `rows` call with its arguments from the descriptor at `desc` (`Slot`). Ranges of rows run on
 * different threads.
 */
function emitBlock(module: ModuleBuilder, rows: FunctionBuilder): void {
  const f = module.addFunction("block", {
    params: ["i32", "i32", "i32"],
    paramNames: ["desc", "start", "end"],
    export: true,
    comment: "im2col rows [start, end) of a block",
  });
  const [desc, start, end] = [0, 1, 2];
  const r = f.addLocal("i32", "r");
  const outer = f.addLocal("i32", "outer");
  const mid = f.addLocal("i32", "mid");
  const inner = f.addLocal("i32", "inner");
  const slot = (s: Slot): void => {
    f.localGet(desc).i32Load(4 * s, 2);
  };
  // Row r splits into (outer, mid, inner) once; the next rows count them on (no division).
  f.localGet(start);
  slot(Slot.Inner);
  f.i32RemU().localSet(inner);
  f.localGet(start);
  slot(Slot.Inner);
  f.i32DivU().localTee(mid);
  slot(Slot.Mid);
  f.i32DivU().localSet(outer);
  f.localGet(mid);
  slot(Slot.Mid);
  f.i32RemU().localSet(mid);
  f.localGet(start).localSet(r);
  f.block((done) => {
    f.loop((next) => {
      f.localGet(r).localGet(end).i32GeU().brIf(done);
      // src + outer·OuterStep
      slot(Slot.Src);
      f.localGet(outer);
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
      // shiftH = mid·MidScale − PadH
      f.localGet(mid);
      slot(Slot.MidScale);
      f.i32Mul();
      slot(Slot.PadH);
      f.i32Sub();
      slot(Slot.H);
      slot(Slot.RowBytes);
      slot(Slot.OutW);
      // The inner index's entry of the table: lo, hi, srcW.
      for (const field of [0, 4, 8]) {
        f.localGet(desc).localGet(inner).i32Const(12).i32Mul().i32Add();
        f.i32Load(4 * Slot.Fixed + field, 2);
      }
      slot(Slot.StrideW);
      f.call(rows);
      f.localGet(r).i32Const(1).i32Add().localSet(r);
      // inner += 1, carrying into mid and outer.
      f.localGet(inner).i32Const(1).i32Add().localTee(inner);
      slot(Slot.Inner);
      f.i32Eq();
      f.if(() => {
        f.i32Const(0).localSet(inner);
        f.localGet(mid).i32Const(1).i32Add().localTee(mid);
        slot(Slot.Mid);
        f.i32Eq();
        f.if(() => {
          f.i32Const(0).localSet(mid);
          f.localGet(outer).i32Const(1).i32Add().localSet(outer);
        });
      });
      f.br(next);
    });
  });
}

/** Copies one element: destination and source addresses on the stack. */
function copyElement(f: FunctionBuilder, item: number): void {
  if (item === 4) f.memoryOp("f32.load", 0, 4).memoryOp("f32.store", 0, 4);
  else f.memoryOp("f64.load", 0, 8).memoryOp("f64.store", 0, 8);
}

/**
 * Eager `select` (where) and float32 ↔ float64 conversion of long arrays on WebAssembly SIMD:
 * a choice by a bit mask made from the bool bytes, and `f64x2.promote_low_f32x4` /
 * `f32x4.demote_f64x2_zero` (exact, and round to nearest even as `Math.fround`), so the values
 * are those of the scalar loops. Short arrays keep the loops.
 */
import type { DType } from "../core/dtype.js";
import { installFastElementwise } from "../primitives/elementwise.js";
import { fromStorage, type ConcreteArray } from "./concrete.js";
import { partsWaking, splitRange, type KernelModule } from "./threads.js";
import { placeArrayIn } from "./gather-kernels.js";
import {
  addI32Function,
  compileKernel,
  copyOut,
  kernelModuleBuilder,
  layout,
  reserve,
  runKernelParallel,
} from "./wasm-memory.js";

/** Arrays shorter than this stay on the JavaScript loops. */
const minimumElements = 4096;
/** Arrays at least this long are split over the threads. */
const minimumParallelElements = 256 * 1024;

const kernels = new Map<string, KernelModule>();

type Float = "float32" | "float64";

/**
 * `select(pred, a, b, out, count)`: `out[i] = pred[i] ? a[i] : b[i]` for `count` elements (a
 * multiple of the lanes, past the end is room), `pred` one byte per element; `a` or `b` is one
 * element at that address, for every i, when `scalarA` / `scalarB`.
 */
function selectKernel(dtype: Float, scalarA: boolean, scalarB: boolean): KernelModule {
  const key = `select:${dtype}:${scalarA}:${scalarB}`;
  let kernel = kernels.get(key);
  if (kernel !== undefined) return kernel;
  const item = dtype === "float32" ? 4 : 8;
  const perVector = 16 / item;
  const module = kernelModuleBuilder();
  const { f, p } = addI32Function(
    module,
    "select",
    ["pred", "a", "b", "out", "count"],
    `out = pred ? a : b, ${dtype}`,
  );
  const i = f.addLocal("i32", "i");
  const [splatA, splatB] = [f.addLocal("v128", "splatA"), f.addLocal("v128", "splatB")];
  const mask = f.addLocal("v128", "mask");
  const splat = dtype === "float32" ? "v128.load32_splat" : "v128.load64_splat";
  if (scalarA) f.localGet(p.a).memoryOp(splat, 0, item).localSet(splatA);
  if (scalarB) f.localGet(p.b).memoryOp(splat, 0, item).localSet(splatB);
  // Each lane's bool byte, repeated across the lane's bytes: non-zero → all ones.
  const spread = Array.from({ length: 16 }, (_, k) => Math.floor(k / item));
  const operand = (pointer: number, splatted: number, scalar: boolean): void => {
    if (scalar) f.localGet(splatted);
    else f.localGet(pointer).localGet(i).i32Const(item).i32Mul().i32Add().v128Load(0, item);
  };
  f.block((done) => {
    f.loop((next) => {
      f.localGet(i).localGet(p.count).i32GeU().brIf(done);
      f.localGet(p.pred).localGet(i).i32Add().memoryOp("v128.load32_zero", 0, 1);
      f.localTee(mask).localGet(mask).i8x16Shuffle(spread);
      f.i32Const(0).op("i32x4.splat").op("i32x4.ne").localSet(mask);
      f.localGet(p.out).localGet(i).i32Const(item).i32Mul().i32Add();
      operand(p.a, splatA, scalarA);
      operand(p.b, splatB, scalarB);
      f.localGet(mask).op("v128.bitselect").v128Store(0, item);
      f.localGet(i).i32Const(perVector).i32Add().localSet(i).br(next);
    });
  });
  kernel = compileKernel(module.build({ names: false }));
  kernels.set(key, kernel);
  return kernel;
}

/** `convert(src, dst, count)`: float32 → float64 (promote) or float64 → float32 (demote). */
function convertKernel(to: Float): KernelModule {
  const key = `convert:${to}`;
  let kernel = kernels.get(key);
  if (kernel !== undefined) return kernel;
  const module = kernelModuleBuilder();
  const { f, p } = addI32Function(
    module,
    "convert",
    ["src", "dst", "count"],
    `${to === "float64" ? "float32 → float64" : "float64 → float32"}, two elements at a time`,
  );
  const i = f.addLocal("i32", "i");
  f.block((done) => {
    f.loop((next) => {
      f.localGet(i).localGet(p.count).i32GeU().brIf(done);
      if (to === "float64") {
        f.localGet(p.dst).localGet(i).i32Const(8).i32Mul().i32Add();
        f.localGet(p.src).localGet(i).i32Const(4).i32Mul().i32Add();
        f.memoryOp("v128.load64_zero", 0, 4).op("f64x2.promote_low_f32x4").v128Store(0, 8);
      } else {
        f.localGet(p.dst).localGet(i).i32Const(4).i32Mul().i32Add();
        f.localGet(p.src).localGet(i).i32Const(8).i32Mul().i32Add();
        f.v128Load(0, 8).op("f32x4.demote_f64x2_zero").laneOp("i64x2.extract_lane", 0);
        f.memoryOp("i64.store", 0, 4);
      }
      f.localGet(i).i32Const(2).i32Add().localSet(i).br(next);
    });
  });
  kernel = compileKernel(module.build({ names: false }));
  kernels.set(key, kernel);
  return kernel;
}

/** Runs `kernel` over `count` elements in `parts` (whole vectors each) on the threads. */
function runSplit(
  kernel: KernelModule,
  name: string,
  count: number,
  parts: number,
  multiple: number,
  args: (start: number, length: number) => number[],
): void {
  const calls = splitRange(count, parts, multiple).map(([start, length]) => ({
    name,
    args: args(start, length),
  }));
  runKernelParallel(name, kernel, calls);
}

function fastSelect(
  pred: ConcreteArray,
  a: ConcreteArray,
  b: ConcreteArray,
): ConcreteArray | undefined {
  const dtype = a.dtype;
  if ((dtype !== "float32" && dtype !== "float64") || b.dtype !== dtype) return undefined;
  const size = pred.size;
  if (pred.ndim === 0 || size < minimumElements) return undefined;
  if ((a.ndim > 0 && a.size !== size) || (b.ndim > 0 && b.size !== size)) return undefined;
  const item = dtype === "float32" ? 4 : 8;
  const { offsets, total } = layout([size + 16, size * item, size * item, size * item + 16]);
  reserve(total);
  const parts = partsWaking(size, minimumParallelElements);
  const predAt = placeArrayIn(pred, offsets[0]!, total);
  const aAt = placeArrayIn(a, offsets[1]!, total);
  const bAt = placeArrayIn(b, offsets[2]!, total);
  const outAt = offsets[3]!;
  const kernel = selectKernel(dtype, a.ndim === 0, b.ndim === 0);
  runSplit(kernel, "select", size, parts, 16 / item, (start, length) => [
    predAt + start,
    a.ndim === 0 ? aAt : aAt + start * item,
    b.ndim === 0 ? bAt : bAt + start * item,
    outAt + start * item,
    length,
  ]);
  const out = copyOut(dtype, outAt, size);
  return fromStorage(out, pred.shape, dtype, a.weakType && b.weakType);
}

function fastConvert(x: ConcreteArray, to: DType, weakType: boolean): ConcreteArray | undefined {
  const from = x.dtype;
  const floats =
    (from === "float32" && to === "float64") || (from === "float64" && to === "float32");
  if (!floats || x.size < minimumElements) return undefined;
  const [inItem, outItem] = from === "float32" ? [4, 8] : [8, 4];
  const { offsets, total } = layout([x.size * inItem + 16, x.size * outItem + 16]);
  reserve(total);
  const parts = partsWaking(x.size, minimumParallelElements);
  const srcAt = placeArrayIn(x, offsets[0]!, total);
  const dstAt = offsets[1]!;
  runSplit(convertKernel(to), "convert", x.size, parts, 4, (start, length) => [
    srcAt + start * inItem,
    dstAt + start * outItem,
    length,
  ]);
  return fromStorage(copyOut(to, dstAt, x.size), x.shape, to, weakType);
}

installFastElementwise({ select: fastSelect, convert: fastConvert });

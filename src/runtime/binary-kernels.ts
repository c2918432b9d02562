/**
 * Eager float arithmetic (add, sub, mul, div, max, min), comparisons (eq, ne, lt, le, gt, ge:
 * one bool byte per element) and integer and bool arithmetic on long arrays, through WebAssembly
 * SIMD kernels built once per operation, dtype and operand form (array with array, array with a
 * rank-0 operand, or the reverse), split over the threads when long enough. Each lane rounds (or
 * compares) exactly as the scalar JavaScript loop does (one IEEE operation), so results are the
 * same bit for bit; short arrays keep the loop (no copies, nothing to call). float32 `pow` runs
 * the vectorised code compiled kernels inline (`simd-math.ts`), at every length, so that eager
 * and compiled results are identical.
 */
import { installFastBinary } from "../primitives/binary.js";
import { simdBinary } from "../compiler/codegen/wasm-fused.js";
import { ScratchLocals } from "../compiler/kernels/simd-math.js";
import type { FunctionBuilder } from "../compiler/wasm/function-builder.js";
import type { OpName } from "../compiler/wasm/function-builder.js";
import { fromStorage, type ConcreteArray } from "./concrete.js";
import { itemSize } from "../core/dtype.js";
import { partsWaking, splitRange, type KernelModule } from "./threads.js";
import { placeArrayIn } from "./gather-kernels.js";
import {
  compileKernel,
  copyOut,
  kernelModuleBuilder,
  layout,
  reserve,
  runKernelParallel,
} from "./wasm-memory.js";

/** Arrays shorter than this stay on the JavaScript loop. */
const minimumElements = 4096;
/** Arrays at least this long are split over the threads. */
const minimumParallelElements = 256 * 1024;

const operations = new Set(["add", "sub", "mul", "div", "max", "min"]);
/** The integer operations (int32, uint32: wrapping) and those of bools too (bitwise). */
const integerOperations = new Set(["add", "sub", "mul", "and", "or", "xor"]);
const bitwise = new Set(["and", "or", "xor"]);

type KernelDType = "float32" | "float64" | "int32" | "uint32" | "bool";
const lanesOf = {
  float32: "f32x4",
  float64: "f64x2",
  int32: "i32x4",
  uint32: "i32x4",
  bool: "i8x16",
} as const;

/** Whether the kernels take `name` on `dtype`. */
function takes(name: string, dtype: string): dtype is KernelDType {
  if (dtype === "float32" && simdBinary[name] !== undefined) return true;
  if (dtype === "float32" || dtype === "float64")
    return operations.has(name) || comparisons.has(name);
  if (dtype === "int32" || dtype === "uint32") return integerOperations.has(name);
  return dtype === "bool" && bitwise.has(name);
}
/** Comparisons: a bool (one byte, 0 or 1) per element pair. */
const comparisons = new Set(["eq", "ne", "lt", "le", "gt", "ge"]);

/** Which operand is rank-0 (passed by value and splatted), if either. */
type Form = "arrays" | "scalarLeft" | "scalarRight";

const kernels = new Map<string, KernelModule>();

/**
 * `kernel(a, b, out, bytes)`: `out = a ∘ b` over `bytes` bytes, a vector at a time; `a` or `b` is
 * a value instead of a pointer in the scalar forms.
 */
function kernelFor(name: string, dtype: KernelDType, form: Form): KernelModule {
  const key = `${name}:${dtype}:${form}`;
  let kernel = kernels.get(key);
  if (kernel !== undefined) return kernel;
  const lanes = lanesOf[dtype];
  const scalar = dtype === "float32" ? "f32" : dtype === "float64" ? "f64" : "i32";
  const module = kernelModuleBuilder();
  const f = module.addFunction("kernel", {
    params: [
      form === "scalarLeft" ? scalar : "i32",
      form === "scalarRight" ? scalar : "i32",
      "i32",
      "i32",
    ],
    results: [],
    export: true,
    comment: `out = ${name}(a, b), ${dtype}, ${form}`,
  });
  const op = (suffix: string): void => {
    f.op(`${lanes}.${suffix}` as OpName);
  };
  const splat = (param: number): number => {
    const local = f.addLocal("v128");
    f.localGet(param);
    op("splat");
    f.localSet(local);
    return local;
  };
  const left = form === "scalarLeft" ? splat(0) : undefined;
  const right = form === "scalarRight" ? splat(1) : undefined;
  const nan = f.addLocal("v128");
  if (dtype === "float32") f.f32x4Constant(NaN, NaN, NaN, NaN).localSet(nan);
  else if (dtype === "float64") f.f64x2Constant(NaN, NaN).localSet(nan);
  const vectorMath = dtype === "float32" ? simdBinary[name] : undefined;
  const scratch = new ScratchLocals(f);
  const offset = f.addLocal("i32");
  const a = f.addLocal("v128");
  const b = f.addLocal("v128");
  f.block((done) => {
    f.loop((next) => {
      f.localGet(offset).localGet(3).i32GeU().brIf(done);
      // The result's address: out + offset, or out + offset / item for a byte per element.
      f.localGet(2).localGet(offset);
      if (comparisons.has(name)) f.i32Const(lanes === "f32x4" ? 2 : 3).i32ShrU();
      f.i32Add();
      load(f, left, 0, offset);
      f.localSet(a);
      load(f, right, 1, offset);
      f.localSet(b);
      if (name === "max" || name === "min") {
        // NaN if either is NaN, else a where a > b (a < b for min), else b: eager's rule.
        f.localGet(nan).localGet(b).localGet(a);
        op(name === "max" ? "pmax" : "pmin");
        f.localGet(a).localGet(a);
        op("ne");
        f.localGet(b).localGet(b);
        op("ne");
        f.op("v128.or").op("v128.bitselect");
      } else if (vectorMath !== undefined) {
        f.localGet(a).localGet(b);
        vectorMath(f, scratch);
      } else if (lanes === "i32x4" || lanes === "i8x16") {
        // Integers wrap (as the loop's typed-array stores do); bools are bytes 0 and 1.
        f.localGet(a).localGet(b);
        f.op((bitwise.has(name) ? `v128.${name}` : `i32x4.${name}`) as OpName);
      } else {
        f.localGet(a).localGet(b);
        op(name);
      }
      if (comparisons.has(name)) {
        // Lane masks (all ones or zeros) → their first bytes → 1 or 0 each.
        const bytes = lanes === "f32x4" ? [0, 4, 8, 12] : [0, 8, 0, 8];
        const picks = [...bytes, ...bytes, ...bytes, ...bytes];
        f.localTee(a).localGet(a).i8x16Shuffle(picks).laneOp("i32x4.extract_lane", 0);
        if (lanes === "f32x4") f.i32Const(0x01010101).i32And().memoryOp("i32.store", 0, 1);
        else f.i32Const(0x0101).i32And().memoryOp("i32.store16", 0, 1);
      } else f.memoryOp("v128.store", 0, 16);
      f.localGet(offset).i32Const(16).i32Add().localSet(offset).br(next);
    });
  });
  kernel = compileKernel(module.build({ names: false }));
  kernels.set(key, kernel);
  return kernel;
}

/** Pushes the vector at `pointer + offset`, or the splatted local `splatted` when there is one. */
function load(
  f: FunctionBuilder,
  splatted: number | undefined,
  pointer: number,
  offset: number,
): void {
  if (splatted !== undefined) {
    f.localGet(splatted);
    return;
  }
  f.localGet(pointer).localGet(offset).i32Add();
  f.memoryOp("v128.load", 0, 16);
}

function fastBinary(name: string, x: ConcreteArray, y: ConcreteArray): ConcreteArray | undefined {
  const dtype = x.dtype;
  if (y.dtype !== dtype || !takes(name, dtype)) return undefined;
  const form: Form = x.ndim === 0 ? "scalarLeft" : y.ndim === 0 ? "scalarRight" : "arrays";
  const shape = x.ndim > 0 ? x.shape : y.shape;
  const size = x.ndim > 0 ? x.size : y.size;
  // Vectorised math runs at every length (as compiled code does); the rest only pays for the
  // copies on long arrays.
  const everyLength = dtype === "float32" && simdBinary[name] !== undefined;
  if ((size < minimumElements && !everyLength) || (form === "arrays" && x.size !== y.size))
    return undefined;
  const item = itemSize(dtype);
  const bytes = size * item;
  const kernel = kernelFor(name, dtype, form);
  const compares = comparisons.has(name);
  const { offsets, total } = layout([bytes, bytes, compares ? size : bytes]);
  reserve(total);
  const value = (s: ConcreteArray): number => s.data[s.offset]!;
  const parts = partsWaking(size, minimumParallelElements);
  // Operands where they are (arena arrays), or copied (gathered: views, broadcasts) in.
  const a = form === "scalarLeft" ? value(x) : placeArrayIn(x, offsets[0]!, total);
  const b = form === "scalarRight" ? value(y) : placeArrayIn(y, offsets[1]!, total);
  // Whole vectors per part, so that no two parts write the same 16 bytes.
  const calls = splitRange(size, parts, 16 / item).map(([start, length]) => ({
    name: "kernel",
    args: [
      form === "scalarLeft" ? a : a + start * item,
      form === "scalarRight" ? b : b + start * item,
      offsets[2]! + start * (compares ? 1 : item),
      length * item,
    ],
  }));
  runKernelParallel(name, kernel, calls);
  if (compares) return fromStorage(copyOut("bool", offsets[2]!, size), shape, "bool", false);
  return fromStorage(copyOut(dtype, offsets[2]!, size), shape, dtype, x.weakType && y.weakType);
}

installFastBinary(fastBinary);

/**
 * WebAssembly SIMD code for fused elementwise kernels on float32 (f32x4) or float64 (f64x2):
 * operations that map to single SIMD instructions (arithmetic, rounding, square root, min/max,
 * comparisons feeding select), which round exactly like eager execution, and the vectorised math
 * functions (exp, log, tanh, sin, cos, atan, … in both dtypes; pow in float32), which eager
 * execution runs too, so results are bit-identical; kernels with other operations use the
 * JavaScript loops.
 */
import { Literal, Var, type Atom, type Equation } from "../../core/ir.js";
import { isTrailingReduction, type Kernel } from "../schedule.js";
import type { ModuleBuilder } from "../wasm/module.js";
import type { FunctionBuilder } from "../wasm/function-builder.js";
import type { OpName } from "../wasm/function-builder.js";
import { emitVectorLoop } from "../kernels/vector-loop.js";
import {
  f32x4Atan,
  f32x4Cos,
  f32x4Exp,
  f32x4Expm1,
  f32x4Log,
  f32x4Log1p,
  f32x4Logistic,
  f32x4Sin,
  f32x4Pow,
  f32x4Tanh,
  ScratchLocals,
  type MathOptions,
  type SimdBinary,
  type SimdUnary,
} from "../kernels/simd-math.js";
import {
  f64x2Atan,
  f64x2Cos,
  f64x2Exp,
  f64x2Expm1,
  f64x2Log,
  f64x2Log1p,
  f64x2Logistic,
  f64x2Sin,
  f64x2Tanh,
} from "../kernels/simd-math-f64.js";

/**
 * A fused kernel added to a module as the exported function `name(inPtr…, outPtr…[, tmpPtr],
 * scalar…, bytes)` over byte offsets into the imported memory: it maps the first `bytes` bytes
 * of each array (`count` elements for the whole arrays; fewer for a part of them, run on its own
 * thread, when there is no reduction), whole vectors at a time.
 */
export interface WasmFusedKernel {
  name: string;
  /** The function (for its text, once the module is complete). */
  function: FunctionBuilder;
  /** Array inputs, in parameter order (their pointers come first). */
  arrays: readonly Var[];
  /** Rank-0 inputs, passed by value after the pointers. */
  scalars: readonly Var[];
  outputs: readonly Var[];
  /** Elements per array operand (the loop length). */
  count: number;
  /** Bytes per element of the float arrays (bool arrays have one byte per element). */
  itemBytes: 4 | 8;
  /** Whether it evaluates exp/log/tanh/… (costly per element: worth threads sooner). */
  usesMath: boolean;
  /**
   * A trailing reduction: the loop writes its operand to a temporary (pointer after the output
   * pointers), then sums (or takes max/min) each block of `blockSize` elements in order, in
   * float64 as eager execution does, into `output`.
   */
  reduction?: { output: Var; blocks: number; blockSize: number };
}

type Lanes = "f32x4" | "f64x2";

const direct: Record<string, string> = {
  add: "add",
  sub: "sub",
  mul: "mul",
  div: "div",
  neg: "neg",
  abs: "abs",
  sqrt: "sqrt",
  floor: "floor",
  ceil: "ceil",
  round: "nearest",
  eq: "eq",
  ne: "ne",
  lt: "lt",
  le: "le",
  gt: "gt",
  ge: "ge",
};

const comparisons = new Set(["eq", "ne", "lt", "le", "gt", "ge"]);

/**
 * float32 functions of two operands with a vectorised implementation, shared with eager
 * execution (`runtime/binary-kernels.ts`) like `simdUnary`.
 */
export const simdBinary: Readonly<Record<string, SimdBinary>> = { pow: f32x4Pow };

/** float64 functions with a vectorised implementation, shared with eager execution likewise. */
export const simdUnaryF64: Readonly<Record<string, SimdUnary>> = {
  exp: f64x2Exp,
  expm1: f64x2Expm1,
  log: f64x2Log,
  log1p: f64x2Log1p,
  tanh: f64x2Tanh,
  logistic: f64x2Logistic,
  sin: f64x2Sin,
  cos: f64x2Cos,
  atan: f64x2Atan,
};

/** The vectorised form of the one-operand function `name` in `dtype`, if it has one. */
export function vectorMath(name: string, dtype: string): SimdUnary | undefined {
  return dtype === "float32"
    ? simdUnary[name]
    : dtype === "float64"
      ? simdUnaryF64[name]
      : undefined;
}

/** Whether `eq` is a float function that always runs vectorised code (eagerly too). */
export function usesVectorMath(eq: Equation): boolean {
  const name = eq.primitive.name;
  const dtype = eq.inputs[0]!.aval.dtype;
  return (
    vectorMath(name, dtype) !== undefined || (simdBinary[name] !== undefined && dtype === "float32")
  );
}

/**
 * float32 functions with a vectorised implementation. Eager float32 execution uses the very same
 * code (`runtime/unary-kernels.ts`), so compiled and eager results stay identical.
 */
export const simdUnary: Readonly<Record<string, SimdUnary>> = {
  exp: f32x4Exp,
  expm1: f32x4Expm1,
  log: f32x4Log,
  log1p: f32x4Log1p,
  tanh: f32x4Tanh,
  logistic: f32x4Logistic,
  sin: f32x4Sin,
  cos: f32x4Cos,
  atan: f32x4Atan,
};

/**
 * Whether every equation can be emitted. Masks (bool values) come from comparisons of the
 * kernel's floats and feed `select`; they may also be kernel inputs and outputs (stored as one
 * byte per element, as bool arrays are), e.g. relu's mask, computed forward and reused backward.
 */
function supported(kernel: Kernel, lanes: Lanes): boolean {
  const dtype = lanes === "f32x4" ? "float32" : "float64";
  const last = kernel.equations[kernel.equations.length - 1]!;
  const body = isTrailingReduction(last) ? kernel.equations.slice(0, -1) : kernel.equations;
  if (body !== kernel.equations && last.inputs[0]!.aval.dtype !== dtype) return false;
  const isMask = (a: Atom): boolean =>
    a instanceof Var &&
    a.aval.dtype === "bool" &&
    (kernel.equations.some((e) => e.outputs[0] === a && comparisons.has(e.primitive.name)) ||
      (kernel.inputs.includes(a) && a.aval.ndim > 0));
  for (const eq of body) {
    const name = eq.primitive.name;
    const out = eq.outputs[0]!;
    if (comparisons.has(name)) {
      if (eq.inputs.some((a) => a.aval.dtype !== dtype)) return false;
      continue;
    }
    if (name === "select") {
      const [p, a, b] = eq.inputs;
      if (!isMask(p!) || a!.aval.dtype !== dtype || b!.aval.dtype !== dtype) return false;
      continue;
    }
    const known =
      direct[name] !== undefined ||
      name === "max" ||
      name === "min" ||
      vectorMath(name, dtype) !== undefined ||
      (lanes === "f32x4" && simdBinary[name] !== undefined);
    const cast =
      name === "convert_element_type" &&
      eq.inputs[0]!.aval.dtype === dtype &&
      out.aval.dtype === dtype;
    if ((!known && !cast) || out.aval.dtype !== dtype) return false;
    if (eq.inputs.some((a) => a.aval.dtype !== dtype)) return false;
  }
  // Bool inputs only as select predicates.
  return kernel.inputs.every(
    (v) =>
      v.aval.dtype === dtype ||
      (isMask(v) &&
        body.every(
          (eq) => !eq.inputs.includes(v) || (eq.primitive.name === "select" && eq.inputs[0] === v),
        )),
  );
}

/** The float dtype a kernel computes in (its first non-bool value). */
function floatType(kernel: Kernel): string {
  const last = kernel.equations[kernel.equations.length - 1]!;
  if (isTrailingReduction(last)) return last.outputs[0]!.aval.dtype;
  const value = kernel.equations.find((eq) => eq.outputs[0]!.aval.dtype !== "bool");
  return value?.outputs[0]!.aval.dtype ?? "bool";
}

/** Kernels with at most this many equations write their loop body twice per iteration. */
const maximumUnrolledEquations = 48;

/**
 * Generates the WebAssembly kernel, or `undefined` when an operation has no SIMD form here.
 * `math` chooses the variants of the vector math functions (the same as eager execution's).
 */
export function generateWasmFused(
  kernel: Kernel,
  comment: string,
  module: ModuleBuilder,
  name: string,
  math: MathOptions = {},
): WasmFusedKernel | undefined {
  if (kernel.kind !== "fused" || kernel.equations.some((eq) => eq.outputs.length !== 1))
    return undefined;
  const last = kernel.equations[kernel.equations.length - 1]!;
  const reduction = isTrailingReduction(last) ? last : undefined;
  const body = reduction === undefined ? kernel.equations : kernel.equations.slice(0, -1);
  const dtype = floatType(kernel);
  const lanes: Lanes | undefined =
    dtype === "float32" ? "f32x4" : dtype === "float64" ? "f64x2" : undefined;
  if (lanes === undefined || !supported(kernel, lanes)) return undefined;
  const shape =
    reduction !== undefined ? reduction.inputs[0]!.aval.shape : last.outputs[0]!.aval.shape;
  const count = shape.reduce((n, d) => n * d, 1);
  const blockSize =
    reduction === undefined
      ? 1
      : (reduction.params as { axes: readonly number[] }).axes.reduce((n, a) => n * shape[a]!, 1);
  const scalarType = lanes === "f32x4" ? "f32" : "f64";
  const arrays = kernel.inputs.filter((v) => v.aval.ndim > 0);
  const scalars = kernel.inputs.filter((v) => v.aval.ndim === 0);
  const outputs = kernel.outputs;

  const f = module.addFunction(name, {
    params: [
      ...arrays.map(() => "i32" as const),
      ...outputs.map(() => "i32" as const),
      ...(reduction === undefined ? [] : ["i32" as const]),
      ...scalars.map(() => scalarType),
      "i32",
    ],
    results: [],
    export: true,
    comment,
  });
  const scratch = new ScratchLocals(f);
  const op = (name: string): void => {
    f.op(`${lanes}.${name}` as OpName);
  };
  const pointer = (v: Var): number => arrays.indexOf(v);
  const outPointer = (i: number): number => arrays.length + i;
  const values = new Map<Var, number>();
  // Scalars and literals are splatted once, before the loop.
  scalars.forEach((v, i) => {
    const local = f.addLocal("v128");
    f.localGet(arrays.length + outputs.length + (reduction === undefined ? 0 : 1) + i);
    op("splat");
    f.localSet(local);
    values.set(v, local);
  });
  const literals = new Map<string, number>();
  const literal = (a: Literal): number => {
    const key = Object.is(a.value, -0) ? "-0" : String(a.value);
    let local = literals.get(key);
    if (local === undefined) {
      local = f.addLocal("v128");
      // From the module's constants: V8 would rebuild a splatted constant at every use.
      const v = a.value;
      if (scalarType === "f32") f.f32x4Constant(v, v, v, v);
      else f.f64x2Constant(v, v);
      f.localSet(local);
      literals.set(key, local);
    }
    return local;
  };
  const valueAval = kernel.equations.find((eq) => eq.outputs[0]!.aval.dtype === dtype)!.outputs[0]!
    .aval;
  const nan = literal(new Literal(NaN, valueAval));
  for (const eq of body) for (const a of eq.inputs) if (a instanceof Literal) literal(a);
  const offset = f.addLocal("i32");
  // Bool arrays hold one byte per element: their offset is the float offset / lane bytes.
  const laneBytes = lanes === "f32x4" ? 4 : 8;
  const maskOffset = f.addLocal("i32");
  const end = arrays.length + outputs.length + (reduction === undefined ? 0 : 1) + scalars.length;
  // Array inputs are loaded at their first use in each vector's work, `at` bytes past `offset`.
  const loaded = new Map<Var, number>();
  let at = 0;
  const get = (a: Atom): void => {
    if (a instanceof Literal) {
      f.localGet(literal(a));
      return;
    }
    const local = values.get(a) ?? loaded.get(a);
    if (local !== undefined) {
      f.localGet(local);
      return;
    }
    const fresh = f.addLocal("v128");
    loaded.set(a, fresh);
    if (a.aval.dtype === "bool") {
      // One byte per element → a lane mask: each byte spread over its lane, then ≠ 0.
      f.localGet(pointer(a)).localGet(maskOffset).i32Add();
      f.memoryOp(lanes === "f32x4" ? "i32.load" : "i32.load16_u", at / laneBytes, 1);
      f.op("i32x4.splat").localTee(fresh).localGet(fresh);
      f.i8x16Shuffle(Array.from({ length: 16 }, (_, byte) => Math.floor(byte / laneBytes)));
      f.v128Const(new Array<number>(16).fill(0));
      f.op("i32x4.ne");
      f.localTee(fresh);
      return;
    }
    f.localGet(pointer(a)).localGet(offset).i32Add();
    f.memoryOp("v128.load", at, 16);
    f.localTee(fresh);
  };
  const emit = (eq: Equation): number => {
    const name = eq.primitive.name;
    const [x, y, z] = eq.inputs;
    const result = f.addLocal("v128");
    f.comment(`${name}`);
    if (name === "select") {
      get(y!);
      get(z!);
      get(x!);
      f.op("v128.bitselect");
    } else if (name === "convert_element_type") {
      get(x!);
    } else if (vectorMath(name, dtype) !== undefined) {
      get(x!);
      vectorMath(name, dtype)!(f, scratch, math);
    } else if (simdBinary[name] !== undefined) {
      get(x!);
      get(y!);
      simdBinary[name]!(f, scratch, math);
    } else {
      for (const a of eq.inputs) get(a);
      op(direct[name]!);
    }
    f.localSet(result);
    return result;
  };
  const vector = (byteOffset: number): void => {
    at = byteOffset;
    loaded.clear();
    for (const eq of body) {
      if (eq.primitive.name === "max" || eq.primitive.name === "min") {
        values.set(eq.outputs[0]!, emitExtremum(f, eq, get, op, nan));
      } else values.set(eq.outputs[0]!, emit(eq));
    }
    outputs.forEach((v, i) => {
      if (v === reduction?.outputs[0]) return;
      if (v.aval.dtype === "bool") {
        // A lane mask → one byte (0 or 1) per lane.
        f.localGet(outPointer(i)).localGet(maskOffset).i32Add();
        f.localGet(values.get(v)!).localGet(values.get(v)!);
        f.i8x16Shuffle(
          Array.from({ length: 16 }, (_, byte) => (byte < 16 / laneBytes ? byte * laneBytes : 0)),
        );
        f.v128Const(Array.from({ length: 16 }, (_, byte) => (byte < 16 / laneBytes ? 1 : 0)));
        f.op("v128.and");
        f.laneOp("i32x4.extract_lane", 0);
        f.memoryOp(lanes === "f32x4" ? "i32.store" : "i32.store16", at / laneBytes, 1);
        return;
      }
      f.localGet(outPointer(i)).localGet(offset).i32Add();
      f.localGet(values.get(v)!);
      f.memoryOp("v128.store", at, 16);
    });
    if (reduction !== undefined) {
      f.localGet(arrays.length + outputs.length)
        .localGet(offset)
        .i32Add();
      get(reduction.inputs[0]!);
      f.memoryOp("v128.store", at, 16);
    }
  };
  emitVectorLoop(f, {
    offset,
    end: () => f.localGet(end),
    body: (byteOffset) => {
      if (byteOffset === 0) {
        f.localGet(offset).i32Const(Math.log2(laneBytes)).op("i32.shr_u").localSet(maskOffset);
      }
      vector(byteOffset);
    },
    // Long bodies once per iteration: twice the code to compile for little gain. Short bodies
    // with a math function four times: its long chains overlap better (≈ 3% for tanh).
    unroll:
      body.length > maximumUnrolledEquations
        ? 1
        : body.length <= 8 && body.some((eq) => usesVectorMath(eq))
          ? 4
          : 2,
  });
  if (reduction !== undefined) {
    emitBlockReduction(f, reduction.primitive.name, {
      source: arrays.length + outputs.length,
      target: outPointer(outputs.indexOf(reduction.outputs[0]!)),
      blocks: reduction.outputs[0]!.aval.size,
      blockSize,
      float32: lanes === "f32x4",
    });
  }
  return {
    ...(reduction !== undefined && {
      reduction: {
        output: reduction.outputs[0]!,
        blocks: reduction.outputs[0]!.aval.size,
        blockSize,
      },
    }),
    name,
    function: f,
    arrays,
    scalars,
    outputs,
    count,
    itemBytes: laneBytes,
    usesMath: body.some(usesVectorMath),
  };
}

/** `max`/`min` with eager's semantics: NaN if either operand is NaN, else x on x > y (x < y). */
function emitExtremum(
  f: FunctionBuilder,
  eq: Equation,
  get: (a: Atom) => void,
  op: (name: string) => void,
  nan: number,
): number {
  const [x, y] = eq.inputs;
  const result = f.addLocal("v128");
  f.comment(eq.primitive.name);
  f.localGet(nan);
  get(y!);
  get(x!);
  op(eq.primitive.name === "max" ? "pmax" : "pmin");
  // mask = (x != x) | (y != y)
  get(x!);
  get(x!);
  op("ne");
  get(y!);
  get(y!);
  op("ne");
  f.op("v128.or");
  f.op("v128.bitselect");
  f.localSet(result);
  return result;
}

/**
 * The block reduction after the vector loop: each block of `blockSize` values (from `source`)
 * is combined in order in float64 (eager's order and precision), then stored at `target`.
 */
function emitBlockReduction(
  f: FunctionBuilder,
  name: string,
  p: { source: number; target: number; blocks: number; blockSize: number; float32: boolean },
): void {
  const item = p.float32 ? 4 : 8;
  const acc = f.addLocal("f64");
  const x = f.addLocal("f64");
  const from = f.addLocal("i32");
  const to = f.addLocal("i32");
  const stop = f.addLocal("i32");
  const blockEnd = f.addLocal("i32");
  f.comment(`${name} over blocks of ${p.blockSize}`);
  f.localGet(p.source).localSet(from);
  f.localGet(p.target).localSet(to);
  f.localGet(p.target)
    .i32Const(p.blocks * item)
    .i32Add()
    .localSet(stop);
  f.block((done) => {
    f.loop((nextBlock) => {
      f.localGet(to).localGet(stop).i32GeU().brIf(done);
      f.f64Const(name === "reduce_sum" ? 0 : name === "reduce_max" ? -Infinity : Infinity);
      f.localSet(acc);
      f.localGet(from)
        .i32Const(p.blockSize * item)
        .i32Add()
        .localSet(blockEnd);
      f.block((blockDone) => {
        f.loop((nextElement) => {
          f.localGet(from).localGet(blockEnd).i32GeU().brIf(blockDone);
          f.localGet(from);
          if (p.float32) f.memoryOp("f32.load", 0, 4).op("f64.promote_f32");
          else f.memoryOp("f64.load", 0, 8);
          f.localSet(x);
          if (name === "reduce_sum") {
            f.localGet(acc).localGet(x).op("f64.add");
          } else {
            // NaN if either is NaN, else the new value when it is strictly better (eager's rule).
            f.f64Const(NaN);
            f.localGet(x).localGet(acc).localGet(x).localGet(acc);
            f.op(name === "reduce_max" ? "f64.gt" : "f64.lt");
            f.op("select");
            f.localGet(x).localGet(x).op("f64.ne");
            f.localGet(acc).localGet(acc).op("f64.ne");
            f.op("i32.or");
            f.op("select");
          }
          f.localSet(acc);
          f.localGet(from).i32Const(item).i32Add().localSet(from).br(nextElement);
        });
      });
      f.localGet(to).localGet(acc);
      if (p.float32) f.op("f32.demote_f64").memoryOp("f32.store", 0, 4);
      else f.memoryOp("f64.store", 0, 8);
      f.localGet(to).i32Const(item).i32Add().localSet(to).br(nextBlock);
    });
  });
}

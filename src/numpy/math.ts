/**
 * Elementwise math with NumPy's names and semantics: broadcasting, promotion, weak JS numbers.
 */
import type { ArrayLike, NDArray } from "../core/array.js";
import { isFloating } from "../core/dtype.js";
import { DtypeError } from "../core/errors.js";
import { broadcastShapes } from "../core/shape.js";
import { scalar } from "../runtime/concrete.js";
import type { Primitive } from "../core/primitive.js";
import { bind1 } from "../core/trace.js";
import * as p from "../primitives/elementwise.js";
import { asArray, broadcastTo, convert, elementwiseArgs, promote } from "./convert.js";

type Empty = Record<string, never>;
const none: Empty = {};

function binaryOp(
  name: string,
  prim: Primitive<Empty>,
  floatResult = false,
  boolPrim?: Primitive<Empty>,
) {
  return (x: ArrayLike, y: ArrayLike): NDArray => {
    const args = elementwiseArgs(name, [x, y], floatResult);
    return bind1(args[0]!.dtype === "bool" && boolPrim !== undefined ? boolPrim : prim, args, none);
  };
}

/** A float-valued unary function: integer and bool inputs become float32. */
function floatUnary(name: string, prim: Primitive<Empty>) {
  return (x: ArrayLike): NDArray => bind1(prim, elementwiseArgs(name, [x], true), none);
}

/** A unary function on any numeric dtype that keeps the dtype (bool → int32 where needed). */
function numericUnary(name: string, prim: Primitive<Empty>) {
  return (x: ArrayLike): NDArray => {
    let a = asArray(name, x);
    if (a.dtype === "bool") a = convert(a, "int32", a.weakType);
    return bind1(prim, [a], none);
  };
}

/** `x + y`, elementwise with broadcasting. @example np.add(np.ones([2]), 1) */
export const add = binaryOp("np.add", p.add, false, p.or);
/** `x - y`, elementwise with broadcasting. */
export const subtract = binaryOp("np.subtract", p.sub);
/** `x * y`, elementwise with broadcasting. */
export const multiply = binaryOp("np.multiply", p.mul, false, p.and);
/** True division `x / y`; integer inputs give float32. */
export const divide = binaryOp("np.divide", p.div, true);
/** `x ** y`. */
export const power = binaryOp("np.power", p.pow);
/** Elementwise maximum, propagating NaN. */
export const maximum = binaryOp("np.maximum", p.max);
/** Elementwise minimum, propagating NaN. */
export const minimum = binaryOp("np.minimum", p.min);
/** The angle of the point `(x2, x1)`, in radians. */
export const arctan2 = binaryOp("np.arctan2", p.atan2, true);

/** Floor division `⌊x / y⌋` (rounds toward minus infinity, as NumPy). */
export function floorDivide(x: ArrayLike, y: ArrayLike): NDArray {
  const [a, b] = elementwiseArgs("np.floorDivide", [x, y]);
  if (isFloating(a!.dtype)) return bind1(p.floor, [bind1(p.div, [a!, b!], none)], none);
  if (a!.dtype === "bool")
    throw new DtypeError(
      "np.floorDivide",
      'bool operands are not supported; convert with astype("int32").',
    );
  // Integers: truncating division, then one less where the signs differ and it was inexact.
  const q = bind1(p.div, [a!, b!], none);
  if (a!.dtype === "uint32") return q;
  const r = bind1(p.rem, [a!, b!], none);
  const zero = convert(asArray("np.floorDivide", 0), a!.dtype, a!.weakType);
  const inexact = bind1(p.ne, [r, zero], none);
  const signsDiffer = bind1(
    p.ne,
    [bind1(p.lt, [r, zero], none), bind1(p.lt, [b!, zero], none)],
    none,
  );
  const adjust = bind1(p.and, [inexact, signsDiffer], none);
  return bind1(p.sub, [q, convert(adjust, a!.dtype, a!.weakType)], none);
}

/** Remainder with the sign of the divisor (NumPy's `mod`). */
export function mod(x: ArrayLike, y: ArrayLike): NDArray {
  const [a, b] = elementwiseArgs("np.mod", [x, y]);
  const r = bind1(p.rem, [a!, b!], none);
  if (a!.dtype === "uint32") return r;
  const zero = convert(asArray("np.mod", 0), a!.dtype, a!.weakType);
  const nonzero = bind1(p.ne, [r, zero], none);
  const signsDiffer = bind1(
    p.ne,
    [bind1(p.lt, [r, zero], none), bind1(p.lt, [b!, zero], none)],
    none,
  );
  const fix = bind1(p.and, [nonzero, signsDiffer], none);
  return bind1(p.select, [fix, bind1(p.add, [r, b!], none), r], none);
}

/** `-x`. */
export const negative = numericUnary("np.negative", p.neg);
/** `|x|`. */
export const abs = numericUnary("np.abs", p.abs);
/** -1, 0 or 1 by the sign of `x` (NaN stays NaN). */
export const sign = numericUnary("np.sign", p.sign);
export const exp = floatUnary("np.exp", p.exp);
export const exp2 = floatUnary("np.exp2", p.exp2);
export const log = floatUnary("np.log", p.log);
export const log1p = floatUnary("np.log1p", p.log1p);
export const expm1 = floatUnary("np.expm1", p.expm1);
export const sqrt = floatUnary("np.sqrt", p.sqrt);
export const cbrt = floatUnary("np.cbrt", p.cbrt);
export const sin = floatUnary("np.sin", p.sin);
export const cos = floatUnary("np.cos", p.cos);
export const tan = floatUnary("np.tan", p.tan);
export const arcsin = floatUnary("np.arcsin", p.asin);
export const arccos = floatUnary("np.arccos", p.acos);
export const arctan = floatUnary("np.arctan", p.atan);
export const sinh = floatUnary("np.sinh", p.sinh);
export const cosh = floatUnary("np.cosh", p.cosh);
export const tanh = floatUnary("np.tanh", p.tanh);
export const arcsinh = floatUnary("np.arcsinh", p.asinh);
export const arccosh = floatUnary("np.arccosh", p.acosh);
export const arctanh = floatUnary("np.arctanh", p.atanh);

/** Base-2 logarithm. */
export function log2(x: ArrayLike): NDArray {
  const [a] = elementwiseArgs("np.log2", [x], true);
  return bind1(p.div, [bind1(p.log, [a!], none), scalar(Math.LN2, a!.dtype, true)], none);
}

/** Base-10 logarithm. */
export function log10(x: ArrayLike): NDArray {
  const [a] = elementwiseArgs("np.log10", [x], true);
  return bind1(p.div, [bind1(p.log, [a!], none), scalar(Math.LN10, a!.dtype, true)], none);
}

/** `x * x`. */
export function square(x: ArrayLike): NDArray {
  const a = numericArg("np.square", x);
  return bind1(p.mul, [a, a], none);
}

/** `1 / x` (integer inputs give float32). */
export function reciprocal(x: ArrayLike): NDArray {
  return divide(1, x);
}

function numericArg(name: string, x: ArrayLike): NDArray {
  const a = asArray(name, x);
  return a.dtype === "bool" ? convert(a, "int32", a.weakType) : a;
}

/** Rounding functions keep integer inputs as they are. */
function rounding(name: string, prim: Primitive<Empty>) {
  return (x: ArrayLike): NDArray => {
    const a = numericArg(name, x);
    return isFloating(a.dtype) ? bind1(prim, [a], none) : a;
  };
}

export const floor = rounding("np.floor", p.floor);
export const ceil = rounding("np.ceil", p.ceil);

/** Options of `round`. */
export interface RoundOptions {
  /** Number of decimals (may be negative). Default 0. */
  decimals?: number;
}

/** Rounds half to even, as NumPy, to `decimals` places. */
export function round(x: ArrayLike, options: RoundOptions = {}): NDArray {
  const a = numericArg("np.round", x);
  const decimals = options.decimals ?? 0;
  if (!isFloating(a.dtype)) return a;
  if (decimals === 0) return bind1(p.round, [a], none);
  const scale = scalar(10 ** Math.abs(decimals), a.dtype, true);
  const [up, down] = decimals > 0 ? [p.mul, p.div] : [p.div, p.mul];
  return bind1(down, [bind1(p.round, [bind1(up, [a, scale], none)], none), scale], none);
}

/** Rounds toward zero. */
export function trunc(x: ArrayLike): NDArray {
  const a = numericArg("np.trunc", x);
  if (!isFloating(a.dtype)) return a;
  const zero = convert(asArray("np.trunc", 0), a.dtype, true);
  return bind1(
    p.select,
    [bind1(p.lt, [a, zero], none), bind1(p.ceil, [a], none), bind1(p.floor, [a], none)],
    none,
  );
}

/** Limits values to `[min, max]` (either may be `null` for no bound). */
export function clip(x: ArrayLike, min: ArrayLike | null, max: ArrayLike | null): NDArray {
  let out = asArray("np.clip", x);
  if (min !== null) out = maximum(out, asArray("np.clip", min, 1));
  if (max !== null) out = minimum(out, asArray("np.clip", max, 2));
  return out;
}

/** Elementwise choice: `x` where `condition` is true, else `y` (all three broadcast). */
export function where(condition: ArrayLike, x: ArrayLike, y: ArrayLike): NDArray {
  const c = convert(asArray("np.where", condition), "bool");
  const [a, b] = promote("np.where", [x, y]);
  const shape = broadcastShapes("np.where", c.shape, a!.shape, b!.shape);
  const fit = (v: NDArray): NDArray => (v.ndim === 0 ? v : broadcastTo("np.where", v, shape));
  return bind1(p.select, [fit(c), fit(a!), fit(b!)], none);
}

/** True where `x` is NaN. */
export function isnan(x: ArrayLike): NDArray {
  const a = asArray("np.isnan", x);
  return bind1(p.ne, [a, a], none);
}

/** True where `x` is +inf or -inf. */
export function isinf(x: ArrayLike): NDArray {
  const a = asArray("np.isinf", x);
  if (!isFloating(a.dtype)) return bind1(p.ne, [a, a], none);
  return bind1(
    p.eq,
    [bind1(p.abs, [a], none), convert(asArray("np.isinf", Infinity), a.dtype, true)],
    none,
  );
}

/** True where `x` is neither NaN nor infinite. */
export function isfinite(x: ArrayLike): NDArray {
  const a = asArray("np.isfinite", x);
  if (!isFloating(a.dtype)) return bind1(p.eq, [a, a], none);
  return bind1(p.isFinite, [a], none);
}

export const equal = binaryOp("np.equal", p.eq);
export const notEqual = binaryOp("np.notEqual", p.ne);
export const less = binaryOp("np.less", p.lt);
export const lessEqual = binaryOp("np.lessEqual", p.le);
export const greater = binaryOp("np.greater", p.gt);
export const greaterEqual = binaryOp("np.greaterEqual", p.ge);

function logical(name: string, prim: Primitive<Empty>) {
  return (x: ArrayLike, y: ArrayLike): NDArray =>
    bind1(prim, elementwiseArgs(name, [toBool(name, x), toBool(name, y)]), none);
}

function toBool(name: string, x: ArrayLike): NDArray {
  return convert(asArray(name, x), "bool");
}

/** Elementwise logical and (operands are converted to bool). */
export const logicalAnd = logical("np.logicalAnd", p.and);
/** Elementwise logical or. */
export const logicalOr = logical("np.logicalOr", p.or);
/** Elementwise logical xor. */
export const logicalXor = logical("np.logicalXor", p.xor);
function bitwise(name: string, prim: Primitive<Empty>) {
  return (x: ArrayLike, y: ArrayLike): NDArray => {
    const args = elementwiseArgs(name, [x, y]);
    if (isFloating(args[0]!.dtype)) {
      throw new DtypeError(
        name,
        `takes integer or bool operands, got ${args.map((a) => a.dtype).join(" and ")}; convert with astype("int32") first.`,
      );
    }
    return bind1(prim, args, none);
  };
}

/**
 * Elementwise bitwise and of integers (logical and of bools).
 * @example
 * console.log(np.bitwiseAnd(np.array([12, 10], { dtype: "int32" }), 6).toList()); // [4, 2]
 */
export const bitwiseAnd = bitwise("np.bitwiseAnd", p.and);
/** Elementwise bitwise or of integers (logical or of bools). */
export const bitwiseOr = bitwise("np.bitwiseOr", p.or);
/** Elementwise bitwise xor of integers (logical xor of bools). */
export const bitwiseXor = bitwise("np.bitwiseXor", p.xor);

/** Elementwise logical not. */
export function logicalNot(x: ArrayLike): NDArray {
  return bind1(p.not, [toBool("np.logicalNot", x)], none);
}

/**
 * More of NumPy's elementwise math, composed from the primitives (so their derivatives, batching
 * and compilation come from the primitives' own, checked rules): log-sum-exp of two arrays,
 * `hypot`, angle conversions, NaN-ignoring extrema, `sinc`, `heaviside`, `nanToNum`, closeness
 * tests, and NumPy's alias names.
 */
import type { ArrayLike, NDArray } from "../core/array.js";
import { isFloating, type DType } from "../core/dtype.js";
import { ValueError } from "../core/errors.js";
import { shapesEqual } from "../core/shape.js";
import { scalar } from "../runtime/concrete.js";
import { asArray, convert, elementwiseArgs } from "./convert.js";
import {
  abs,
  divide,
  exp,
  exp2,
  floor,
  isinf,
  isnan,
  log1p,
  logicalAnd,
  logicalNot,
  logicalOr,
  maximum,
  minimum,
  mod,
  power,
  round,
  sin,
  sqrt,
  where,
} from "./math.js";
import { all, max, min } from "./reductions.js";

/** A JS number as a weak scalar of `like`'s dtype. */
const weak = (value: number, like: NDArray): NDArray => scalar(value, like.dtype, true);

/**
 * log(eˣ + eʸ), without overflow: max(x, y) + log1p(e^(−|x − y|)). Where x − y is NaN (both
 * infinite with the same sign, or a NaN), x + y: −inf for two −inf, +inf for two +inf.
 * @example
 * np.logaddexp(np.array([0, -Infinity]), np.array([0, -Infinity])); // [log 2, -Infinity]
 */
export function logaddexp(x: ArrayLike, y: ArrayLike): NDArray {
  const [a, b] = elementwiseArgs("np.logaddexp", [x, y], true) as [NDArray, NDArray];
  return logAddWith(a, b, (d) => log1p(exp(d)));
}

/** log₂(2ˣ + 2ʸ), like `logaddexp` in base 2. */
export function logaddexp2(x: ArrayLike, y: ArrayLike): NDArray {
  const [a, b] = elementwiseArgs("np.logaddexp2", [x, y], true) as [NDArray, NDArray];
  return logAddWith(a, b, (d) => log1p(exp2(d)).div(weak(Math.LN2, d)));
}

/** max + softplus(−|a − b|) with the NaN difference of equal infinities replaced safely. */
function logAddWith(a: NDArray, b: NDArray, softplusOfNegative: (d: NDArray) => NDArray): NDArray {
  const delta = a.sub(b);
  const undefinedDelta = isnan(delta);
  // The unselected branch must stay finite, or its zero cotangent would make NaN gradients.
  const safe = where(undefinedDelta, 0, delta);
  const value = maximum(a, b).add(softplusOfNegative(abs(safe).neg()));
  return where(undefinedDelta, a.add(b), value);
}

/**
 * √(x² + y²) without overflow or underflow in the squares: m·√(1 + (n/m)²) with m the larger of
 * |x|, |y| and n the smaller; inf if either is infinite (even with a NaN, as C's hypot).
 */
export function hypot(x: ArrayLike, y: ArrayLike): NDArray {
  const [a, b] = elementwiseArgs("np.hypot", [x, y], true) as [NDArray, NDArray];
  const [ax, by] = [abs(a), abs(b)];
  const big = maximum(ax, by);
  const small = minimum(ax, by);
  const zero = big.eq(0);
  const ratio = divide(small, where(zero, 1, big));
  const value = where(zero, 0, big.mul(sqrt(ratio.mul(ratio).add(1))));
  return where(logicalOr(isinf(a), isinf(b)), Infinity, value);
}

/** Degrees to radians. */
export function deg2rad(x: ArrayLike): NDArray {
  const [a] = elementwiseArgs("np.deg2rad", [x], true) as [NDArray];
  return a.mul(weak(Math.PI / 180, a));
}

/** Radians to degrees. */
export function rad2deg(x: ArrayLike): NDArray {
  const [a] = elementwiseArgs("np.rad2deg", [x], true) as [NDArray];
  return a.mul(weak(180 / Math.PI, a));
}

/** Degrees to radians (NumPy's other name for `deg2rad`). */
export const radians = (x: ArrayLike): NDArray => deg2rad(x);
/** Radians to degrees (NumPy's other name for `rad2deg`). */
export const degrees = (x: ArrayLike): NDArray => rad2deg(x);

/** Elementwise maximum that ignores NaN: the other operand where one is NaN (NaN if both). */
export function fmax(x: ArrayLike, y: ArrayLike): NDArray {
  const [a, b] = elementwiseArgs("np.fmax", [x, y]) as [NDArray, NDArray];
  return where(isnan(b), a, where(isnan(a), b, maximum(a, b)));
}

/** Elementwise minimum that ignores NaN: the other operand where one is NaN (NaN if both). */
export function fmin(x: ArrayLike, y: ArrayLike): NDArray {
  const [a, b] = elementwiseArgs("np.fmin", [x, y]) as [NDArray, NDArray];
  return where(isnan(b), a, where(isnan(a), b, minimum(a, b)));
}

/** The step function: 0 where x < 0, 1 where x > 0, `h` where x = 0 (NaN stays NaN). */
export function heaviside(x: ArrayLike, h: ArrayLike): NDArray {
  const [a, b] = elementwiseArgs("np.heaviside", [x, h], true) as [NDArray, NDArray];
  const step = where(a.lt(0), 0, where(a.gt(0), 1, b));
  return where(isnan(a), a, step);
}

/**
 * The normalised sinc, sin(πx)/(πx), with sinc(0) = 1. Near 0 (|x| < 1e-3) it is the Maclaurin
 * series 1 − u/6 + u²/120, u = (πx)², so every derivative is right there too (sinc″(0) = −π²/3);
 * the quotient is evaluated at 1 instead, so no 0/0 reaches a gradient.
 */
export function sinc(x: ArrayLike): NDArray {
  const [a] = elementwiseArgs("np.sinc", [x], true) as [NDArray];
  const near = abs(a).lt(1e-3);
  const px = where(near, 1, a).mul(weak(Math.PI, a));
  const pa = a.mul(weak(Math.PI, a));
  const u = pa.mul(pa);
  const series = u.mul(u).div(120).sub(u.div(6)).add(1);
  return where(near, series, divide(sin(px), px));
}

/** Options of `nanToNum`. */
export interface NanToNumOptions {
  /** What NaN becomes. Default 0. */
  nan?: number;
  /** What +inf becomes. Default the dtype's largest finite value. */
  posinf?: number;
  /** What −inf becomes. Default the dtype's most negative finite value. */
  neginf?: number;
}

const largestFinite: Partial<Record<DType, number>> = {
  float32: 3.4028234663852886e38,
  float64: Number.MAX_VALUE,
};

/** NaN and ±inf replaced by finite numbers (integer and bool arrays are returned unchanged). */
export function nanToNum(x: ArrayLike, options: NanToNumOptions = {}): NDArray {
  const a = asArray("np.nanToNum", x);
  for (const [key, value] of Object.entries(options)) {
    if (!["nan", "posinf", "neginf"].includes(key) || typeof value !== "number") {
      throw new ValueError(
        "np.nanToNum",
        `options are nan, posinf and neginf, each a number; got ${key}: ${String(value)}.`,
      );
    }
  }
  if (!isFloating(a.dtype)) return a;
  const big = largestFinite[a.dtype]!;
  const out = where(isnan(a), options.nan ?? 0, a);
  return where(
    a.eq(Infinity),
    options.posinf ?? big,
    where(a.eq(-Infinity), options.neginf ?? -big, out),
  );
}

/** Options of `isclose`, `allclose` and `arrayEqual`. */
export interface CloseOptions {
  /** Relative tolerance. Default 1e-5. */
  rtol?: number;
  /** Absolute tolerance. Default 1e-8. */
  atol?: number;
  /** Whether two NaNs count as equal. Default false. */
  equalNan?: boolean;
}

function checkTolerance(operation: string, name: string, value: number | undefined): number {
  const v = value ?? (name === "rtol" ? 1e-5 : 1e-8);
  if (typeof v !== "number" || !(v >= 0)) {
    throw new ValueError(operation, `${name} must be a number ≥ 0, got ${String(value)}.`);
  }
  return v;
}

function closeness(operation: string, x: ArrayLike, y: ArrayLike, options: CloseOptions): NDArray {
  const rtol = checkTolerance(operation, "rtol", options.rtol);
  const atol = checkTolerance(operation, "atol", options.atol);
  // Integers and bools are compared as floats with the tolerances, as NumPy does.
  const [a, b] = elementwiseArgs(operation, [x, y], true) as [NDArray, NDArray];
  // |a − b| ≤ atol + rtol·|b|; equal infinities are close, infinities otherwise are not.
  const within = abs(a.sub(b)).le(abs(b).mul(weak(rtol, b)).add(weak(atol, b)));
  const finite = logicalNot(logicalOr(isinf(a), isinf(b)));
  const close = logicalOr(a.eq(b), logicalAnd(finite, within));
  return options.equalNan === true ? logicalOr(close, logicalAnd(isnan(a), isnan(b))) : close;
}

/**
 * Elementwise |x − y| ≤ atol + rtol·|y| (NumPy's `isclose`: not symmetric in x and y), as a bool
 * array; equal infinities are close, NaN is not unless `equalNan`.
 */
export function isclose(x: ArrayLike, y: ArrayLike, options: CloseOptions = {}): NDArray {
  return closeness("np.isclose", x, y, options);
}

/**
 * Whether every element is close (`isclose`), as a 0-d bool array: `.item()` gives the JS
 * boolean (an array object itself is always truthy in an `if`).
 * @example
 * np.allclose(np.array([1, 2]), np.array([1, 2.000001])).item(); // true
 */
export function allclose(x: ArrayLike, y: ArrayLike, options: CloseOptions = {}): NDArray {
  return all(closeness("np.allclose", x, y, options));
}

/**
 * Whether two arrays have the same shape and elements, as a 0-d bool array (false for different
 * shapes; NaN equals NaN only with `equalNan`).
 */
export function arrayEqual(
  x: ArrayLike,
  y: ArrayLike,
  options: { equalNan?: boolean } = {},
): NDArray {
  const a = asArray("np.arrayEqual", x, 0);
  const b = asArray("np.arrayEqual", y, 1);
  if (!shapesEqual(a.shape, b.shape)) return convert(scalar(0, "bool"), "bool");
  const [p, q] = elementwiseArgs("np.arrayEqual", [a, b]) as [NDArray, NDArray];
  const same = p.eq(q);
  if (options.equalNan !== true || !isFloating(p.dtype)) return all(same);
  return all(logicalOr(same, logicalAnd(isnan(p), isnan(q))));
}

/**
 * x·2^i for integer exponents `i` (NumPy's `ldexp`), in two exact halves, so that a tiny x with
 * a large i (or the reverse) does not overflow or underflow on the way.
 */
export function ldexp(x: ArrayLike, i: ArrayLike): NDArray {
  const e = asArray("np.ldexp", i, 1);
  if (isFloating(e.dtype) && !e.weakType) {
    throw new ValueError("np.ldexp", `the exponents must be integers, got ${e.dtype}.`);
  }
  const [a, n] = elementwiseArgs("np.ldexp", [x, e], true) as [NDArray, NDArray];
  const half = floor(n.div(2));
  return a.mul(exp2(half)).mul(exp2(n.sub(half)));
}

/** `x ** y` computed in floating point (integers become float32), as NumPy's `float_power`. */
export function floatPower(x: ArrayLike, y: ArrayLike): NDArray {
  const [a, b] = elementwiseArgs("np.floatPower", [x, y], true) as [NDArray, NDArray];
  return power(a, b);
}

/** `|x|` (NumPy's other name for `abs`). */
export const absolute = (x: ArrayLike): NDArray => abs(x);

/** `|x|` as a float array (integer inputs become float32, as NumPy's `fabs`). */
export function fabs(x: ArrayLike): NDArray {
  const [a] = elementwiseArgs("np.fabs", [x], true) as [NDArray];
  return abs(a);
}

/** `+x`: the array itself (bool becomes int32, as NumPy refuses bool and JAX promotes). */
export function positive(x: ArrayLike): NDArray {
  const a = asArray("np.positive", x);
  return a.dtype === "bool" ? convert(a, "int32", a.weakType) : a;
}

/** `x / y` (NumPy's other name for `divide`). */
export const trueDivide = (x: ArrayLike, y: ArrayLike): NDArray => divide(x, y);
/** Remainder with the sign of the divisor (NumPy's other name for `mod`). */
export const remainder = (x: ArrayLike, y: ArrayLike): NDArray => mod(x, y);
/** Rounds to the nearest integer, half to even (NumPy's `rint`: `round` with no decimals). */
export const rint = (x: ArrayLike): NDArray => round(x);
/** `round` under NumPy's other name. */
export const around = round;
/** `max` under NumPy's other name. */
export const amax = max;
/** `min` under NumPy's other name. */
export const amin = min;

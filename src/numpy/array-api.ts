/**
 * NumPy 2's array-API names for functions `np` already has (`concat`, `permuteDims`, `pow`,
 * `acos` …), and a few small functions beside them: `vecdot`, `matrixTranspose`, `unstack`,
 * `gradient`, `ediff1d`, `fmod`, `divmod`, `modf`.
 */
import type { ArrayLike, NDArray } from "../core/array.js";
import { ShapeError, ValueError } from "../core/errors.js";
import { normalizeAxis } from "../core/shape.js";
import { asArray, elementwiseArgs } from "./convert.js";
import {
  arccos,
  arccosh,
  arcsin,
  arcsinh,
  arctan,
  arctan2,
  arctanh,
  floorDivide,
  isinf,
  logicalAnd,
  mod,
  power,
  trunc,
  where,
} from "./math.js";
import { cumprod, cumsum, sum } from "./reductions.js";
import { concatenate, ravel, sliceAxis, squeeze, swapaxes, transpose } from "./shape.js";

/** `concatenate` under NumPy 2's name. */
export const concat = concatenate;
/** `transpose` under NumPy 2's name. */
export const permuteDims = transpose;
/** `power` under NumPy 2's name. */
export const pow = power;
/** `arccos` under NumPy 2's name. */
export const acos = arccos;
/** `arccosh` under NumPy 2's name. */
export const acosh = arccosh;
/** `arcsin` under NumPy 2's name. */
export const asin = arcsin;
/** `arcsinh` under NumPy 2's name. */
export const asinh = arcsinh;
/** `arctan` under NumPy 2's name. */
export const atan = arctan;
/** `arctan2` under NumPy 2's name. */
export const atan2 = arctan2;
/** `arctanh` under NumPy 2's name. */
export const atanh = arctanh;
/** `cumsum` under NumPy 2's name. */
export const cumulativeSum = cumsum;
/** `cumprod` under NumPy 2's name. */
export const cumulativeProd = cumprod;

/** The last two axes swapped (a view). */
export function matrixTranspose(x: ArrayLike): NDArray {
  const a = asArray("np.matrixTranspose", x);
  if (a.ndim < 2) {
    throw new ShapeError(
      "np.matrixTranspose",
      `needs at least 2 axes, got shape [${a.shape.join(", ")}].`,
    );
  }
  return swapaxes(a, -1, -2);
}

/** Dot products of vectors along `axis` (default −1), broadcasting the other axes. */
export function vecdot(x: ArrayLike, y: ArrayLike, options: { axis?: number } = {}): NDArray {
  const [a, b] = elementwiseArgs("np.vecdot", [x, y]) as [NDArray, NDArray];
  return sum(a.mul(b), { axis: options.axis ?? -1 });
}

/** The slices of `x` along `axis` (default 0), each without that axis. */
export function unstack(x: ArrayLike, options: { axis?: number } = {}): NDArray[] {
  const a = asArray("np.unstack", x);
  if (a.ndim === 0) throw new ShapeError("np.unstack", "needs at least 1 axis, got a scalar.");
  const axis = normalizeAxis("np.unstack", options.axis ?? 0, a.ndim);
  return Array.from({ length: a.shape[axis]! }, (_, i) =>
    squeeze(sliceAxis(a, axis, i, i + 1), { axis }),
  );
}

/**
 * The numerical gradient along `axis` (default: every axis, one array each) with sample
 * spacing `spacing` (default 1): central differences inside, one-sided ones at the ends, as
 * NumPy's `gradient` (edge order 1).
 */
export function gradient(
  f: ArrayLike,
  options: { axis?: number; spacing?: number } = {},
): NDArray | NDArray[] {
  const a = elementwiseArgs("np.gradient", [f], true)[0]!;
  const h = options.spacing ?? 1;
  if (!(typeof h === "number" && h !== 0)) {
    throw new ValueError("np.gradient", `spacing must be a nonzero number, got ${String(h)}.`);
  }
  const along = (axis: number): NDArray => {
    const n = a.shape[axis]!;
    if (n < 2) {
      throw new ShapeError("np.gradient", `axis ${axis} needs at least 2 samples, got ${n}.`);
    }
    const first = sliceAxis(a, axis, 1, 2)
      .sub(sliceAxis(a, axis, 0, 1))
      .div(h);
    const last = sliceAxis(a, axis, n - 1, n)
      .sub(sliceAxis(a, axis, n - 2, n - 1))
      .div(h);
    if (n === 2) return concatenate([first, last], { axis });
    const inner = sliceAxis(a, axis, 2, n)
      .sub(sliceAxis(a, axis, 0, n - 2))
      .div(2 * h);
    return concatenate([first, inner, last], { axis });
  };
  if (options.axis !== undefined) return along(normalizeAxis("np.gradient", options.axis, a.ndim));
  if (a.ndim === 1) return along(0);
  return a.shape.map((_, axis) => along(axis));
}

/** The differences between consecutive elements of the flattened array. */
export function ediff1d(x: ArrayLike): NDArray {
  const a = ravel(asArray("np.ediff1d", x));
  return a.size < 2
    ? sliceAxis(a, 0, 0, 0)
    : sliceAxis(a, 0, 1, a.size).sub(sliceAxis(a, 0, 0, a.size - 1));
}

/** The remainder of x / y with the sign of x (C's `fmod`, NumPy's `fmod`; `mod` takes y's sign). */
export function fmod(x: ArrayLike, y: ArrayLike): NDArray {
  const [a, b] = elementwiseArgs("np.fmod", [x, y]) as [NDArray, NDArray];
  const r = mod(a, b);
  // mod's result has y's sign: where that differs from x's (and r ≠ 0), step back by y.
  return where(logicalAnd(r.ne(0), a.lt(0).ne(b.lt(0))), r.sub(b), r);
}

/** `[floorDivide(x, y), mod(x, y)]`. */
export function divmod(x: ArrayLike, y: ArrayLike): [NDArray, NDArray] {
  return [floorDivide(x, y), mod(x, y)];
}

/** The fractional and integral parts of x, both with x's sign: `[x − trunc(x), trunc(x)]`. */
export function modf(x: ArrayLike): [NDArray, NDArray] {
  const a = elementwiseArgs("np.modf", [x], true)[0]!;
  const whole = trunc(a);
  return [where(isinf(a), 0, a.sub(whole)), whole];
}

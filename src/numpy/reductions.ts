/**
 * Reductions with NumPy's `axis` (int, list, negative, or all) and `keepdims`.
 */
import type { ArrayLike, NDArray, ReduceOptions } from "../core/array.js";
import { isFloating, type DType } from "../core/dtype.js";
import { ShapeError, ValueError } from "../core/errors.js";
import type { Primitive } from "../core/primitive.js";
import { formatShape, normalizeAxes, normalizeAxis } from "../core/shape.js";
import { bind1 } from "../core/trace.js";
import * as r from "../primitives/reduce.js";
import { asArray, convert } from "./convert.js";
import { divide, exp, isfinite, log, multiply, sqrt, subtract, where } from "./math.js";
import { ravel, reshape } from "./shape.js";

export type { ReduceOptions };

function keepShape(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

function reduceWith(
  name: string,
  prim: Primitive<{ axes: readonly number[] }>,
  a: NDArray,
  options: ReduceOptions,
): NDArray {
  const axes = normalizeAxes(name, options.axis, a.ndim);
  const out = bind1(prim, [a], { axes });
  return options.keepdims === true ? reshape(out, keepShape(a.shape, axes)) : out;
}

/** bool and small ints accumulate as int32, as in JAX. */
function accumulatorInput(a: NDArray): NDArray {
  return a.dtype === "bool" ? convert(a, "int32", a.weakType) : a;
}

/**
 * Sum over `axis` (all axes by default).
 * @example
 * np.sum(np.ones([2, 3]), { axis: 1 }); // [3, 3]
 */
export function sum(x: ArrayLike, options: ReduceOptions = {}): NDArray {
  return reduceWith("np.sum", r.reduceSum, accumulatorInput(asArray("np.sum", x)), options);
}

/** Product over `axis` (all axes by default). */
export function prod(x: ArrayLike, options: ReduceOptions = {}): NDArray {
  return reduceWith("np.prod", r.reduceProd, accumulatorInput(asArray("np.prod", x)), options);
}

function checkNonEmpty(name: string, a: NDArray, options: ReduceOptions): void {
  const axes = normalizeAxes(name, options.axis, a.ndim);
  if (axes.some((ax) => a.shape[ax] === 0)) {
    throw new ShapeError(
      name,
      `cannot reduce over a zero-size axis of shape ${formatShape(a.shape)}: the reduction has no identity.`,
    );
  }
}

/** Maximum over `axis`; NaN propagates. Empty reductions are an error, as in NumPy. */
export function max(x: ArrayLike, options: ReduceOptions = {}): NDArray {
  const a = asArray("np.max", x);
  checkNonEmpty("np.max", a, options);
  return reduceWith("np.max", r.reduceMax, a, options);
}

/** Minimum over `axis`; NaN propagates. */
export function min(x: ArrayLike, options: ReduceOptions = {}): NDArray {
  const a = asArray("np.min", x);
  checkNonEmpty("np.min", a, options);
  return reduceWith("np.min", r.reduceMin, a, options);
}

/** Whether all elements over `axis` are true (non-zero). */
export function all(x: ArrayLike, options: ReduceOptions = {}): NDArray {
  return reduceWith("np.all", r.reduceAnd, convert(asArray("np.all", x), "bool"), options);
}

/** Whether any element over `axis` is true (non-zero). */
export function any(x: ArrayLike, options: ReduceOptions = {}): NDArray {
  return reduceWith("np.any", r.reduceOr, convert(asArray("np.any", x), "bool"), options);
}

function countOf(a: NDArray, options: ReduceOptions, name: string): number {
  return normalizeAxes(name, options.axis, a.ndim).reduce((n, ax) => n * a.shape[ax]!, 1);
}

function floatInput(a: NDArray): NDArray {
  return isFloating(a.dtype) ? a : convert(a, "float32", a.weakType);
}

/** Arithmetic mean over `axis` (integer inputs give float32). */
export function mean(x: ArrayLike, options: ReduceOptions = {}): NDArray {
  const a = floatInput(asArray("np.mean", x));
  normalizeAxes("np.mean", options.axis, a.ndim);
  return divide(sum(a, options), countOf(a, options, "np.mean"));
}

/** Options of `var` and `std`. */
export interface VarianceOptions extends ReduceOptions {
  /** Delta degrees of freedom: the divisor is `N - ddof` (default 0). */
  ddof?: number;
}

/** Variance over `axis`: mean of squared deviations, divided by `N - ddof`. */
export function variance(x: ArrayLike, options: VarianceOptions = {}): NDArray {
  const a = floatInput(asArray("np.var", x));
  const centered = subtract(a, mean(a, { axis: options.axis ?? null, keepdims: true }));
  const n = countOf(a, options, "np.var") - (options.ddof ?? 0);
  return divide(sum(multiply(centered, centered), options), n);
}

/** Standard deviation over `axis` (`sqrt(var)`). */
export function std(x: ArrayLike, options: VarianceOptions = {}): NDArray {
  return sqrt(variance(x, options));
}

/** Options of `argmax`/`argmin`. */
export interface ArgOptions {
  /** The axis to search (the flattened array by default). */
  axis?: number;
  keepdims?: boolean;
}

function argReduce(
  name: string,
  prim: Primitive<{ axis: number; indexDType: DType }>,
  x: ArrayLike,
  options: ArgOptions,
): NDArray {
  let a = asArray(name, x);
  if (options.axis === undefined) a = ravel(a);
  const axis = normalizeAxis(name, options.axis ?? 0, a.ndim);
  if (a.shape[axis] === 0) {
    throw new ShapeError(
      name,
      `cannot take ${name} of an empty axis (shape ${formatShape(a.shape)}).`,
    );
  }
  const out = bind1(prim, [a], { axis, indexDType: "int32" });
  if (options.keepdims !== true) return out;
  return reshape(
    out,
    options.axis === undefined ? a.shape.map(() => 1) : keepShape(a.shape, [axis]),
  );
}

/** Index of the first maximum (flattened unless `axis` is given); NaN counts as maximal. */
export function argmax(x: ArrayLike, options: ArgOptions = {}): NDArray {
  return argReduce("np.argmax", r.argmax, x, options);
}

/** Index of the first minimum (flattened unless `axis` is given); NaN counts as minimal. */
export function argmin(x: ArrayLike, options: ArgOptions = {}): NDArray {
  return argReduce("np.argmin", r.argmin, x, options);
}

/** `log(sum(exp(x)))` over `axis`, computed stably. */
export function logsumexp(x: ArrayLike, options: ReduceOptions = {}): NDArray {
  const a = floatInput(asArray("np.logsumexp", x));
  const m = max(a, { axis: options.axis ?? null, keepdims: true });
  const shift = where(isfinite(m), m, 0);
  const out = log(sum(exp(subtract(a, shift)), { axis: options.axis ?? null, keepdims: true }));
  const result = out.add(shift);
  return options.keepdims === true
    ? result
    : reshape(
        result,
        result.shape.filter(
          (_, i) => !normalizeAxes("np.logsumexp", options.axis, a.ndim).includes(i),
        ),
      );
}

function cumulative(
  name: string,
  prim: Primitive<{ axis: number; reverse: boolean }>,
  x: ArrayLike,
  options: { axis?: number },
): NDArray {
  let a = accumulatorInput(asArray(name, x));
  if (options.axis === undefined) a = ravel(a);
  if (a.ndim === 0) throw new ValueError(name, "needs an array with at least one axis.");
  const axis = normalizeAxis(name, options.axis ?? 0, a.ndim);
  return bind1(prim, [a], { axis, reverse: false });
}

/** Cumulative sum along `axis` (the flattened array by default). */
export function cumsum(x: ArrayLike, options: { axis?: number } = {}): NDArray {
  return cumulative("np.cumsum", r.cumsum, x, options);
}

/** Cumulative product along `axis` (the flattened array by default). */
export function cumprod(x: ArrayLike, options: { axis?: number } = {}): NDArray {
  return cumulative("np.cumprod", r.cumprod, x, options);
}

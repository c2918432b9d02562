/**
 * NumPy's statistics beyond sums and means: NaN-ignoring reductions, weighted averages, ranges,
 * counts, order statistics (median, quantile, percentile by linear interpolation of the sorted
 * values) and the trapezoidal rule. All are composed from differentiable operations (the
 * quantiles from `sort`, whose derivative follows the permutation).
 */
import type { ArrayLike, NDArray, ReduceOptions } from "../core/array.js";
import { isFloating } from "../core/dtype.js";
import { ShapeError, ValueError } from "../core/errors.js";
import { formatShape, normalizeAxes, normalizeAxis } from "../core/shape.js";
import { Tracer } from "../core/trace.js";
import { asArray, convert, elementwiseArgs, promote } from "./convert.js";
import { floor, isnan, logicalNot, maximum, minimum, sqrt, where } from "./math.js";
import { any, argmax, argmin, cumprod, cumsum, max, mean, min, prod, sum } from "./reductions.js";
import { broadcastTo, moveaxis, reshape, sliceAxis, stack, transpose } from "./shape.js";
import { diff, takeAlongAxis } from "./shape-extra.js";
import { sort } from "./sorting.js";
import { diagonal } from "./contractions.js";

/** `x` as a float array (integers and bools become float32), checked for `operation`. */
function floats(operation: string, x: ArrayLike): NDArray {
  return elementwiseArgs(operation, [x], true)[0]!;
}

/** Sum ignoring NaN (0 for a slice of NaNs only). */
export function nansum(x: ArrayLike, options: ReduceOptions = {}): NDArray {
  const a = asArray("np.nansum", x);
  if (!isFloating(a.dtype)) return sum(a, options);
  return sum(where(isnan(a), 0, a), options);
}

/** Mean ignoring NaN (NaN for a slice of NaNs only). */
export function nanmean(x: ArrayLike, options: ReduceOptions = {}): NDArray {
  const a = floats("np.nanmean", x);
  const kept = logicalNot(isnan(a));
  const count = sum(convert(kept, a.dtype), options);
  return sum(where(kept, a, 0), options).div(count);
}

function nanExtreme(
  operation: string,
  x: ArrayLike,
  options: ReduceOptions,
  isMax: boolean,
): NDArray {
  const a = asArray(operation, x);
  if (!isFloating(a.dtype)) return isMax ? max(a, options) : min(a, options);
  const nan = isnan(a);
  const filled = where(nan, isMax ? -Infinity : Infinity, a);
  const extreme = isMax ? max(filled, options) : min(filled, options);
  // A slice of NaNs only gives NaN.
  const allNan = logicalNot(any(logicalNot(nan), options));
  return where(allNan, NaN, extreme);
}

/** Maximum ignoring NaN (NaN for a slice of NaNs only). */
export function nanmax(x: ArrayLike, options: ReduceOptions = {}): NDArray {
  return nanExtreme("np.nanmax", x, options, true);
}

/** Minimum ignoring NaN (NaN for a slice of NaNs only). */
export function nanmin(x: ArrayLike, options: ReduceOptions = {}): NDArray {
  return nanExtreme("np.nanmin", x, options, false);
}

/** Options of `average`. */
export interface AverageOptions extends ReduceOptions {
  /**
   * Weights: `x`'s shape, or (with a single `axis`) one weight per element along it. Default:
   * equal weights (the mean).
   */
  weights?: ArrayLike;
}

/** The weighted average Σ w·x / Σ w over `axis` (all axes by default). */
export function average(x: ArrayLike, options: AverageOptions = {}): NDArray {
  if (options.weights === undefined) return mean(floats("np.average", x), options);
  const [a, w0] = promote("np.average", [x, options.weights], true) as [NDArray, NDArray];
  let w = w0;
  if (w.ndim !== a.ndim || w.shape.some((d, i) => d !== a.shape[i])) {
    const axis =
      typeof options.axis === "number"
        ? normalizeAxis("np.average", options.axis, a.ndim)
        : undefined;
    if (axis === undefined || w.ndim !== 1 || w.size !== a.shape[axis]) {
      throw new ShapeError(
        "np.average",
        `weights of shape ${formatShape(w.shape)} do not fit x of shape ${formatShape(a.shape)}: ` +
          `give x's shape, or one weight per element along a single axis.`,
      );
    }
    const shape = a.shape.map(() => 1);
    shape[axis] = w.size;
    w = reshape(w, shape);
  }
  return sum(a.mul(w), options).div(sum(broadcastTo(w, a.shape), options));
}

/** The range max − min over `axis` ("peak to peak"). */
export function ptp(x: ArrayLike, options: ReduceOptions = {}): NDArray {
  const a = asArray("np.ptp", x);
  return max(a, options).sub(min(a, options));
}

/** The number of nonzero (true) elements over `axis`, as int32. */
export function countNonzero(x: ArrayLike, options: ReduceOptions = {}): NDArray {
  const a = asArray("np.countNonzero", x);
  return sum(convert(a.ne(0), "int32"), options);
}

/** Quantile levels: numbers in [0, 1] (scaled from `unit`), and whether q was a list. */
function levels(
  operation: string,
  q: number | readonly number[] | NDArray,
  unit: number,
): { qs: number[]; list: boolean } {
  let values: number[];
  let list: boolean;
  if (typeof q === "number") {
    values = [q];
    list = false;
  } else if (Array.isArray(q)) {
    values = [...(q as readonly number[])];
    list = true;
  } else {
    const a = q as NDArray;
    if (a instanceof Tracer) {
      throw new ValueError(
        operation,
        "q must be known when tracing: pass numbers (or mark it static).",
      );
    }
    if (a.ndim > 1)
      throw new ShapeError(
        operation,
        `q must be a number or a 1-d list, got shape ${formatShape(a.shape)}.`,
      );
    values = Array.from(a.toTypedArray(), Number);
    list = a.ndim === 1;
  }
  for (const v of values) {
    if (typeof v !== "number" || !(v >= 0 && v <= unit)) {
      throw new ValueError(operation, `q must be in [0, ${unit}], got ${String(v)}.`);
    }
  }
  return { qs: values.map((v) => v / unit), list };
}

/**
 * `x` as floats with the reduced axes moved last and merged into one of length `n` (the others
 * keep their order), and the shape the reduction keeps (reduced axes as 1), for quantiles.
 */
function reducedLast(
  operation: string,
  x: ArrayLike,
  options: ReduceOptions,
): { a: NDArray; kept: number[]; n: number } {
  const input = floats(operation, x);
  const axes = normalizeAxes(operation, options.axis, input.ndim);
  const kept = input.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const others = input.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const n = axes.reduce((p, ax) => p * input.shape[ax]!, 1);
  if (n === 0) {
    throw new ShapeError(
      operation,
      `cannot take a quantile over an empty axis of shape ${formatShape(input.shape)}.`,
    );
  }
  const a = reshape(transpose(input, [...others, ...axes]), [...others.map((i) => kept[i]!), n]);
  return { a, kept, n };
}

function quantileOf(
  operation: string,
  x: ArrayLike,
  q: number | readonly number[] | NDArray,
  options: ReduceOptions,
  unit: number,
): NDArray {
  const { qs, list } = levels(operation, q, unit);
  const { a, kept, n } = reducedLast(operation, x, options);
  const sorted = sort(a, { axis: -1 });
  const last = sorted.ndim - 1;
  const hasNan = any(isnan(a), { axis: -1 });
  const at = qs.map((level) => {
    const pos = level * (n - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(lo + 1, n - 1);
    const frac = pos - lo;
    const low = reshape(sliceAxis(sorted, last, lo, lo + 1), sorted.shape.slice(0, -1));
    const value =
      frac === 0
        ? low
        : low.add(
            reshape(sliceAxis(sorted, last, hi, hi + 1), low.shape)
              .sub(low)
              .mul(frac),
          );
    const out = where(hasNan, NaN, value);
    return options.keepdims === true ? reshape(out, kept) : out;
  });
  return list ? stack(at) : at[0]!;
}

/**
 * The q-th quantile(s) over `axis` (all axes by default), interpolating linearly between sorted
 * values (NumPy's default method). A list of q gives a leading axis, one entry per q. NaN in a
 * slice gives NaN.
 * @example
 * np.quantile(np.array([1, 2, 3, 4]), 0.5).item(); // 2.5
 */
export function quantile(
  x: ArrayLike,
  q: number | readonly number[] | NDArray,
  options: ReduceOptions = {},
): NDArray {
  return quantileOf("np.quantile", x, q, options, 1);
}

/** The q-th percentile(s), q in [0, 100]: `quantile` of q / 100. */
export function percentile(
  x: ArrayLike,
  q: number | readonly number[] | NDArray,
  options: ReduceOptions = {},
): NDArray {
  return quantileOf("np.percentile", x, q, options, 100);
}

/** The median over `axis` (all axes by default): the mean of the two middle values for even n. */
export function median(x: ArrayLike, options: ReduceOptions = {}): NDArray {
  return quantileOf("np.median", x, 0.5, options, 1);
}

/** Options of `trapezoid`. */
export interface TrapezoidOptions {
  /** Sample points: 1-d along `axis`, or `y`'s shape. Default: spacing `dx`. */
  x?: ArrayLike;
  /** The spacing when `x` is not given. Default 1. */
  dx?: number;
  /** Default −1. */
  axis?: number;
}

/** ∫ y dx by the trapezoidal rule along `axis`. */
export function trapezoid(y: ArrayLike, options: TrapezoidOptions = {}): NDArray {
  const a = floats("np.trapezoid", y);
  if (a.ndim === 0) throw new ShapeError("np.trapezoid", "y needs at least 1 axis, got a scalar.");
  const axis = normalizeAxis("np.trapezoid", options.axis ?? -1, a.ndim);
  const n = a.shape[axis]!;
  const mid = sliceAxis(a, axis, 1, n)
    .add(sliceAxis(a, axis, 0, Math.max(n - 1, 0)))
    .div(2);
  if (options.x === undefined) return sum(mid, { axis }).mul(options.dx ?? 1);
  let xs = floats("np.trapezoid", options.x);
  if (xs.ndim === 1 && a.ndim > 1) {
    if (xs.size !== n) {
      throw new ShapeError(
        "np.trapezoid",
        `x has ${xs.size} points but y has ${n} along axis ${axis}.`,
      );
    }
    xs = moveaxis(reshape(xs, [...Array<number>(a.ndim - 1).fill(1), n]), -1, axis);
  }
  return sum(mid.mul(diff(xs, { axis: xs.ndim === 1 ? 0 : axis })), { axis });
}

/** Options of `cov`. */
export interface CovOptions {
  /** Whether rows are variables and columns observations (default true), or the reverse. */
  rowvar?: boolean;
  /** Normalise by N instead of N − 1. Default false. */
  bias?: boolean;
  /** Normalise by N − ddof (overrides `bias`). */
  ddof?: number;
}

/** Variables as rows of a float matrix [variables, observations], for `operation`. */
function variables(operation: string, x: ArrayLike, rowvar: boolean): NDArray {
  const a = floats(operation, x);
  if (a.ndim > 2) {
    throw new ShapeError(operation, `needs a 1-d or 2-d array, got shape ${formatShape(a.shape)}.`);
  }
  if (a.ndim < 2) return reshape(a, [1, a.size]);
  return rowvar ? a : transpose(a);
}

/**
 * The covariance matrix of the variables (rows, unless `rowvar: false`) over the observations;
 * a 0-d array for a single variable.
 */
export function cov(m: ArrayLike, options: CovOptions = {}): NDArray {
  const x = variables("np.cov", m, options.rowvar ?? true);
  const ddof = options.ddof ?? (options.bias === true ? 0 : 1);
  if (!Number.isInteger(ddof))
    throw new ValueError("np.cov", `ddof must be an integer, got ${ddof}.`);
  const n = x.shape[1]!;
  const centred = x.sub(mean(x, { axis: 1, keepdims: true }));
  const c = centred.matmul(transpose(centred)).div(n - ddof);
  return x.shape[0] === 1 ? reshape(c, []) : c;
}

/** Pearson correlation coefficients of the variables (rows, unless `rowvar: false`), in [−1, 1]. */
export function corrcoef(x: ArrayLike, options: { rowvar?: boolean } = {}): NDArray {
  const v = variables("np.corrcoef", x, options.rowvar ?? true);
  const c = cov(v);
  if (c.ndim === 0) return c.div(c);
  const d = sqrt(diagonal(c));
  const r = c.div(reshape(d, [d.size, 1])).div(reshape(d, [1, d.size]));
  return minimum(maximum(r, -1), 1);
}

/** Product ignoring NaN (1 for a slice of NaNs only). */
export function nanprod(x: ArrayLike, options: ReduceOptions = {}): NDArray {
  const a = asArray("np.nanprod", x);
  return isFloating(a.dtype) ? prod(where(isnan(a), 1, a), options) : prod(a, options);
}

/** Cumulative sum treating NaN as 0. */
export function nancumsum(x: ArrayLike, options: { axis?: number } = {}): NDArray {
  const a = asArray("np.nancumsum", x);
  return cumsum(isFloating(a.dtype) ? where(isnan(a), 0, a) : a, options);
}

/** Cumulative product treating NaN as 1. */
export function nancumprod(x: ArrayLike, options: { axis?: number } = {}): NDArray {
  const a = asArray("np.nancumprod", x);
  return cumprod(isFloating(a.dtype) ? where(isnan(a), 1, a) : a, options);
}

function nanArg(
  operation: string,
  x: ArrayLike,
  options: { axis?: number },
  isMax: boolean,
): NDArray {
  const a = asArray(operation, x);
  if (!isFloating(a.dtype)) return isMax ? argmax(a, options) : argmin(a, options);
  if (!(a instanceof Tracer)) {
    const allNan = logicalNot(any(logicalNot(isnan(a)), { axis: options.axis ?? null }));
    if (any(allNan).item()) {
      throw new ValueError(operation, "a slice holds only NaN: it has no arg-extremum.");
    }
  }
  const filled = where(isnan(a), isMax ? -Infinity : Infinity, a);
  return isMax ? argmax(filled, options) : argmin(filled, options);
}

/** Index of the first maximum ignoring NaN (an error for a slice of NaNs only, eagerly). */
export function nanargmax(x: ArrayLike, options: { axis?: number } = {}): NDArray {
  return nanArg("np.nanargmax", x, options, true);
}

/** Index of the first minimum ignoring NaN (an error for a slice of NaNs only, eagerly). */
export function nanargmin(x: ArrayLike, options: { axis?: number } = {}): NDArray {
  return nanArg("np.nanargmin", x, options, false);
}

/** Variance ignoring NaN: the mean of squared deviations from `nanmean`, over N − ddof. */
export function nanvar(x: ArrayLike, options: ReduceOptions & { ddof?: number } = {}): NDArray {
  const a = floats("np.nanvar", x);
  const kept = logicalNot(isnan(a));
  const centred = where(kept, a.sub(nanmean(a, { axis: options.axis ?? null, keepdims: true })), 0);
  const reduce = { axis: options.axis ?? null, keepdims: options.keepdims ?? false };
  const count = sum(convert(kept, a.dtype), reduce).sub(options.ddof ?? 0);
  return sum(centred.mul(centred), reduce).div(count);
}

/** Standard deviation ignoring NaN (`sqrt(nanvar)`). */
export function nanstd(x: ArrayLike, options: ReduceOptions & { ddof?: number } = {}): NDArray {
  return sqrt(nanvar(x, options));
}

/**
 * Quantiles ignoring NaN, one axis at a time: the sorted values put NaN last, so each slice
 * interpolates among its own count of numbers (NaN for a slice of NaNs only).
 */
function nanQuantileOf(
  operation: string,
  x: ArrayLike,
  q: number | readonly number[] | NDArray,
  options: ReduceOptions,
  unit: number,
): NDArray {
  const { qs, list } = levels(operation, q, unit);
  const { a, kept } = reducedLast(operation, x, options);
  const sorted = sort(a, { axis: -1 });
  // Numbers per slice, and the interpolation positions among them.
  const count = sum(convert(logicalNot(isnan(a)), a.dtype), { axis: -1, keepdims: true });
  const at = qs.map((level) => {
    const pos = maximum(count.sub(1), 0).mul(level);
    const lo = floor(pos);
    const frac = pos.sub(lo);
    const loIndex = lo.astype("int32");
    const hiIndex = minimum(loIndex.add(1), maximum(count.sub(1), 0).astype("int32"));
    const low = takeAlongAxis(sorted, loIndex, -1);
    const high = takeAlongAxis(sorted, hiIndex, -1);
    const value = reshape(low.add(high.sub(low).mul(frac)), sorted.shape.slice(0, -1));
    const out = where(reshape(count, sorted.shape.slice(0, -1)).eq(0), NaN, value);
    return options.keepdims === true ? reshape(out, kept) : out;
  });
  return list ? stack(at) : at[0]!;
}

/** The q-th quantile(s) ignoring NaN (linear interpolation). */
export function nanquantile(
  x: ArrayLike,
  q: number | readonly number[] | NDArray,
  options: ReduceOptions = {},
): NDArray {
  return nanQuantileOf("np.nanquantile", x, q, options, 1);
}

/** The q-th percentile(s) ignoring NaN, q in [0, 100]. */
export function nanpercentile(
  x: ArrayLike,
  q: number | readonly number[] | NDArray,
  options: ReduceOptions = {},
): NDArray {
  return nanQuantileOf("np.nanpercentile", x, q, options, 100);
}

/** The median ignoring NaN. */
export function nanmedian(x: ArrayLike, options: ReduceOptions = {}): NDArray {
  return nanQuantileOf("np.nanmedian", x, 0.5, options, 1);
}

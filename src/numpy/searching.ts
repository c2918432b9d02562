/**
 * Searching and counting: `searchsorted` (a vectorised binary search, traceable), `digitize`,
 * `interp`, `bincount`, `histogram`, `unravelIndex`; and the functions whose result shape depends
 * on the values (`unique*`, `nonzero`, `flatnonzero`, `argwhere`), which run eagerly only, as in
 * NumPy, and say so under a transform.
 */
import type { ArrayLike, NDArray } from "../core/array.js";
import { isFloating, type DType, type TypedArray } from "../core/dtype.js";
import { IndexError, ShapeError, TracerError, ValueError } from "../core/errors.js";
import { formatShape, shapeSize } from "../core/shape.js";
import { Tracer } from "../core/trace.js";
import { fromStorage } from "../runtime/concrete.js";
import { asArray, convert, promote } from "./convert.js";
import { linspace, zeros } from "./creation.js";
import {
  floor,
  floorDivide,
  isnan,
  logicalAnd,
  logicalNot,
  logicalOr,
  maximum,
  minimum,
  where,
} from "./math.js";
import { any } from "./reductions.js";
import { flip, ravel } from "./shape.js";

const int32 = (values: readonly number[], shape: readonly number[] = [values.length]): NDArray =>
  fromStorage(Int32Array.from(values), [...shape], "int32");

/** Options of `searchsorted`. */
export interface SearchsortedOptions {
  /** `"left"` (default): the first index i with a[i] ≥ v; `"right"`: the first with a[i] > v. */
  side?: "left" | "right";
}

/**
 * Where `v`'s elements would be inserted into the sorted 1-d array `a` to keep it sorted, as
 * int32 of `v`'s shape (NaN sorts last). A binary search of ⌈log₂(n + 1)⌉ vectorised steps, so
 * it also runs under `jit` and `vmap`.
 * @example
 * np.searchsorted(np.array([1, 2, 2, 3]), np.array([2, 5])).toList(); // [1, 4]
 */
export function searchsorted(
  a: ArrayLike,
  v: ArrayLike,
  options: SearchsortedOptions = {},
): NDArray {
  const side = options.side ?? "left";
  if (side !== "left" && side !== "right") {
    throw new ValueError(
      "np.searchsorted",
      `side must be "left" or "right", got ${JSON.stringify(side)}.`,
    );
  }
  const [sorted, values] = promote("np.searchsorted", [a, v]) as [NDArray, NDArray];
  if (sorted.ndim !== 1) {
    throw new ShapeError(
      "np.searchsorted",
      `a must be 1-d (sorted), got shape ${formatShape(sorted.shape)}.`,
    );
  }
  const n = sorted.size;
  let lo = zeros(values.shape, { dtype: "int32" });
  if (n === 0) return lo;
  let hi = lo.add(n);
  // Comparisons put NaN after every number (NumPy's sort order); v's NaNs are found once.
  const valuesNan = isnan(values);
  for (let span = n; span > 0; span >>= 1) {
    // One halving of every [lo, hi) per step; a last step for spans of one.
    const active = lo.lt(hi);
    const mid = floorDivide(lo.add(hi), 2);
    const probe = sorted.get(minimum(mid, n - 1));
    const probeNan = isnan(probe);
    // Go right while a[mid] < v (left side) or a[mid] ≤ v (right side).
    const right =
      side === "left"
        ? logicalOr(probe.lt(values), logicalAnd(valuesNan, logicalNot(probeNan)))
        : logicalNot(logicalOr(values.lt(probe), logicalAnd(probeNan, logicalNot(valuesNan))));
    lo = where(logicalAnd(active, right), mid.add(1), lo);
    hi = where(logicalAnd(active, logicalNot(right)), mid, hi);
  }
  // The loop ran ⌊log₂ n⌋ + 1 times, which closes every interval.
  return lo;
}

/** Options of `digitize`. */
export interface DigitizeOptions {
  /** Whether a bin includes its right edge instead of its left one. Default false. */
  right?: boolean;
}

/**
 * The index of the bin each element of `x` falls in, for monotonic `bins` (NumPy's
 * `digitize`): i with bins[i−1] ≤ x < bins[i] for increasing bins (`right`: bins[i−1] < x ≤
 * bins[i]); 0 below the first edge, `bins.length` above the last.
 */
export function digitize(x: ArrayLike, bins: ArrayLike, options: DigitizeOptions = {}): NDArray {
  const edges = asArray("np.digitize", bins, 1);
  const side = options.right === true ? "left" : "right";
  if (!(edges instanceof Tracer) && edges.ndim === 1 && edges.size > 1) {
    const e = edges.toTypedArray();
    let increasing = true;
    let decreasing = true;
    for (let i = 1; i < e.length; i++) {
      if (e[i]! < e[i - 1]!) increasing = false;
      if (e[i]! > e[i - 1]!) decreasing = false;
    }
    if (!increasing && !decreasing) {
      throw new ValueError("np.digitize", "bins must be monotonically increasing or decreasing.");
    }
    if (!increasing) {
      return searchsorted(flip(edges), x, { side }).neg().add(edges.size);
    }
  }
  return searchsorted(edges, x, { side });
}

/** Options of `interp`. */
export interface InterpOptions {
  /** The value below xp[0]. Default fp[0]. */
  left?: number;
  /** The value above xp[n − 1]. Default fp[n − 1]. */
  right?: number;
}

/**
 * Piecewise-linear interpolation of the points (xp, fp) at `x` (xp increasing), as NumPy's
 * `interp`; differentiable in x (the slope of the piece) and in fp and xp.
 * @example
 * np.interp(np.array([0.5, 3]), np.array([0, 1, 2]), np.array([0, 10, 20])).toList(); // [5, 20]
 */
export function interp(
  x: ArrayLike,
  xp: ArrayLike,
  fp: ArrayLike,
  options: InterpOptions = {},
): NDArray {
  const [at, xs, ys] = promote("np.interp", [x, xp, fp], true) as [NDArray, NDArray, NDArray];
  if (xs.ndim !== 1 || ys.ndim !== 1 || xs.size !== ys.size) {
    throw new ShapeError(
      "np.interp",
      `xp and fp must be 1-d of one length, got shapes ${formatShape(xs.shape)} and ${formatShape(ys.shape)}.`,
    );
  }
  const n = xs.size;
  if (n === 0) throw new ValueError("np.interp", "xp and fp must not be empty.");
  const first = ys.get(0);
  const last = ys.get(n - 1);
  let value: NDArray;
  if (n === 1) value = where(at.eq(at), first, at);
  else {
    const j = minimum(maximum(searchsorted(xs, at, { side: "right" }).sub(1), 0), n - 2);
    const x0 = xs.get(j);
    const y0 = ys.get(j);
    const j1 = j.add(1);
    const slope = ys.get(j1).sub(y0).div(xs.get(j1).sub(x0));
    value = where(at.eq(xs.get(n - 1)), last, y0.add(at.sub(x0).mul(slope)));
  }
  value = where(at.lt(xs.get(0)), options.left ?? first, value);
  return where(at.gt(xs.get(n - 1)), options.right ?? last, value);
}

/** Concrete values of `x` for an operation whose result shape depends on them. */
function valuesOf(operation: string, x: NDArray, hint: string): TypedArray {
  if (x instanceof Tracer) {
    throw new TracerError(
      operation,
      `its result's shape depends on the values of x, which a traced array (under jit, vmap or grad) does not have; ${hint}.`,
    );
  }
  return x.toTypedArray();
}

/** Options of `bincount`. */
export interface BincountOptions {
  /** A weight per element of x (the counts become sums of weights). */
  weights?: ArrayLike;
  /** At least this many bins. Default 0. */
  minlength?: number;
  /** Exactly this many bins (required under `jit`, where max(x) is not known); larger x are dropped. */
  length?: number;
}

/**
 * Counts of each value 0, 1, … of a 1-d array of non-negative integers (or sums of `weights`).
 * @example
 * np.bincount(np.array([0, 1, 1, 3], { dtype: "int32" })).toList(); // [1, 2, 0, 1]
 */
export function bincount(x: ArrayLike, options: BincountOptions = {}): NDArray {
  const a = asArray("np.bincount", x);
  if (a.ndim !== 1 || isFloating(a.dtype)) {
    throw new ValueError(
      "np.bincount",
      `x must be a 1-d array of non-negative integers, got ${a.dtype} of shape ${formatShape(a.shape)}.`,
    );
  }
  const minlength = options.minlength ?? 0;
  let length = options.length;
  for (const [name, v] of [
    ["minlength", minlength],
    ["length", length],
  ] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 0)) {
      throw new ValueError("np.bincount", `${name} must be a whole number ≥ 0, got ${v}.`);
    }
  }
  if (length === undefined) {
    const values = valuesOf("np.bincount", a, "give the number of bins: { length }");
    let largest = -1;
    for (let i = 0; i < values.length; i++) {
      if (values[i]! < 0)
        throw new ValueError("np.bincount", `x must be non-negative, got ${values[i]}.`);
      largest = Math.max(largest, values[i]!);
    }
    length = Math.max(largest + 1, minlength);
  }
  // Values past the last bin (possible with `length`) add nothing, at a clamped index.
  const index = convert(a, "int32");
  const kept = index.lt(length);
  const at = minimum(index, Math.max(length - 1, 0));
  if (options.weights === undefined) {
    return zeros([length], { dtype: "int32" }).at(at).add(convert(kept, "int32"));
  }
  const [w] = promote("np.bincount", [options.weights], true) as [NDArray];
  if (w.ndim !== 1 || w.size !== a.size) {
    throw new ShapeError(
      "np.bincount",
      `weights must have x's shape ${formatShape(a.shape)}, got ${formatShape(w.shape)}.`,
    );
  }
  return zeros([length], { dtype: w.dtype })
    .at(at)
    .add(where(kept, w, 0));
}

/** Options of `histogram`. */
export interface HistogramOptions {
  /**
   * The number of equal-width bins (default 10), or the bins' edges: a 1-d increasing array
   * (each bin [eᵢ, eᵢ₊₁), the last one closed).
   */
  bins?: number | readonly number[] | NDArray;
  /** [lower, upper] edges; values outside are ignored. Default x's min and max (eager only). */
  range?: readonly [number, number];
  /** A weight per element of x (the counts become sums of weights). */
  weights?: ArrayLike;
}

/**
 * Counts of `x`'s values in equal-width bins, and the bins' edges (NumPy's `histogram`); the last
 * bin includes its upper edge.
 */
export function histogram(x: ArrayLike, options: HistogramOptions = {}): [NDArray, NDArray] {
  const a = asArray("np.histogram", x);
  if (typeof options.bins === "object") return histogramWithEdges(a, options.bins, options.weights);
  const bins = options.bins ?? 10;
  if (!Number.isInteger(bins) || bins < 1) {
    throw new ValueError("np.histogram", `bins must be a whole number ≥ 1, got ${bins}.`);
  }
  let [lo, hi] = options.range ?? [NaN, NaN];
  if (options.range === undefined) {
    const values = valuesOf("np.histogram", a, "give the edges: { range: [lo, hi] }");
    lo = Infinity;
    hi = -Infinity;
    for (let i = 0; i < values.length; i++) {
      lo = Math.min(lo, values[i]!);
      hi = Math.max(hi, values[i]!);
    }
    if (values.length === 0) [lo, hi] = [0, 1];
  }
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo <= hi)) {
    throw new ValueError(
      "np.histogram",
      `range must be finite with lower ≤ upper, got [${lo}, ${hi}].`,
    );
  }
  if (lo === hi) [lo, hi] = [lo - 0.5, hi + 0.5];
  const dtype: DType = a.dtype === "float64" ? "float64" : "float32";
  const edges = linspace(lo, hi, bins + 1, { dtype });
  const v = convert(ravel(a), dtype);
  // NumPy's index: ⌊(x − lo)·bins/(hi − lo)⌋, then corrected against the edges themselves.
  let index = floor(v.sub(lo).mul(bins / (hi - lo))).astype("int32");
  index = minimum(maximum(index, 0), bins - 1);
  index = where(logicalAnd(v.lt(edges.get(index)), index.gt(0)), index.sub(1), index);
  index = where(logicalAnd(v.ge(edges.get(index.add(1))), index.lt(bins - 1)), index.add(1), index);
  const inside = logicalAnd(v.ge(lo), v.le(hi));
  if (options.weights === undefined) {
    return [zeros([bins], { dtype: "int32" }).at(index).add(convert(inside, "int32")), edges];
  }
  const [w] = promote("np.histogram", [options.weights], true) as [NDArray];
  if (w.size !== a.size || w.ndim !== a.ndim || w.shape.some((d, k) => d !== a.shape[k])) {
    throw new ShapeError(
      "np.histogram",
      `weights must have x's shape ${formatShape(a.shape)}, got ${formatShape(w.shape)}.`,
    );
  }
  const weights = where(inside, ravel(w), 0);
  return [bincount(index, { weights, length: bins }), edges];
}

/** `histogram` over given edges: bin i is [eᵢ, eᵢ₊₁), the last one closed. */
function histogramWithEdges(
  a: NDArray,
  bins: readonly number[] | NDArray,
  weightsOption: ArrayLike | undefined,
): [NDArray, NDArray] {
  const dtype: DType = a.dtype === "float64" ? "float64" : "float32";
  const given = Array.isArray(bins)
    ? fromStorage(Float64Array.from(bins as readonly number[]), [bins.length], "float64")
    : asArray("np.histogram", bins as NDArray);
  const edges = convert(given, dtype);
  if (edges.ndim !== 1 || edges.size < 2) {
    throw new ValueError(
      "np.histogram",
      `bins given as edges must be a 1-d array of at least 2 values, got shape ${formatShape(edges.shape)}.`,
    );
  }
  if (!(edges instanceof Tracer)) {
    const e = edges.toTypedArray();
    for (let i = 1; i < e.length; i++) {
      if (!(e[i]! >= e[i - 1]!)) {
        throw new ValueError("np.histogram", "bins given as edges must increase monotonically.");
      }
    }
  }
  const count = edges.size - 1;
  const v = convert(ravel(a), dtype);
  const last = edges.get(count);
  // The bin is the number of edges ≤ x, less one; x equal to the last edge goes in the last bin.
  const index = where(v.eq(last), count - 1, searchsorted(edges, v, { side: "right" }).sub(1));
  const inside = logicalAnd(v.ge(edges.get(0)), v.le(last));
  const at = minimum(maximum(index, 0), count - 1);
  if (weightsOption === undefined) {
    return [zeros([count], { dtype: "int32" }).at(at).add(convert(inside, "int32")), edges];
  }
  const [w] = promote("np.histogram", [weightsOption], true) as [NDArray];
  if (w.size !== a.size) {
    throw new ShapeError(
      "np.histogram",
      `weights must have x's shape ${formatShape(a.shape)}, got ${formatShape(w.shape)}.`,
    );
  }
  return [
    zeros([count], { dtype: w.dtype })
      .at(at)
      .add(where(inside, ravel(w), 0)),
    edges,
  ];
}

/**
 * Converts flat indices into one index array per axis of an array of `shape` (C order).
 */
export function unravelIndex(indices: ArrayLike, shape: readonly number[]): NDArray[] {
  const idx = convert(asArray("np.unravelIndex", indices), "int32");
  const size = shapeSize(shape);
  if (!(idx instanceof Tracer)) {
    for (const v of idx.toTypedArray()) {
      if (v < 0 || v >= size) {
        throw new IndexError(
          "np.unravelIndex",
          `index ${v} is out of range for an array of shape ${formatShape(shape)} (size ${size}).`,
        );
      }
    }
  }
  const out: NDArray[] = [];
  let rest = idx;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    const d = shape[axis]!;
    out.unshift(rest.sub(floor(rest.div(d)).astype("int32").mul(d)));
    rest = floor(rest.div(d)).astype("int32");
  }
  return out;
}

/** Sorted distinct values with NaNs last and collapsed into one (NumPy 2). */
function distinct(
  operation: string,
  x: ArrayLike,
): { values: number[]; a: NDArray; data: TypedArray } {
  const a = asArray(operation, x);
  const data = valuesOf(operation, a, "call it outside the transform");
  const sorted = Array.from(data).sort((p, q) =>
    Number.isNaN(p) ? (Number.isNaN(q) ? 0 : 1) : Number.isNaN(q) ? -1 : p - q,
  );
  const values: number[] = [];
  for (const v of sorted) {
    const prev = values[values.length - 1];
    if (values.length === 0 || !(v === prev || (Number.isNaN(v) && Number.isNaN(prev!))))
      values.push(v);
  }
  return { values, a, data };
}

const asDType = (values: readonly number[], like: NDArray): NDArray =>
  convert(fromStorage(Float64Array.from(values), [values.length], "float64"), like.dtype);

/** The sorted distinct values of `x` (flattened). Eager only: the length depends on the values. */
export function unique(x: ArrayLike): NDArray {
  const { values, a } = distinct("np.unique", x);
  return asDType(values, a);
}

/** The sorted distinct values of `x` and how often each occurs (int32). Eager only. */
export function uniqueCounts(x: ArrayLike): [NDArray, NDArray] {
  const { values, a, data } = distinct("np.uniqueCounts", x);
  const position = positions(values);
  const counts = new Array<number>(values.length).fill(0);
  for (let i = 0; i < data.length; i++) counts[position(data[i]!)]!++;
  return [asDType(values, a), int32(counts)];
}

/**
 * The sorted distinct values of `x`, and for each element of x the index of its value among them
 * (int32, x's shape), so that `values.get(inverse)` rebuilds x. Eager only.
 */
export function uniqueInverse(x: ArrayLike): [NDArray, NDArray] {
  const { values, a, data } = distinct("np.uniqueInverse", x);
  const position = positions(values);
  const inverse = Array.from(data, (v) => position(v));
  return [asDType(values, a), int32(inverse, a.shape)];
}

/** The index of a value among the distinct values (NaN: the last). */
function positions(values: readonly number[]): (v: number) => number {
  const map = new Map<number, number>();
  values.forEach((v, i) => map.set(v, i));
  return (v) => (Number.isNaN(v) ? values.length - 1 : map.get(v)!);
}

/** The indices of the nonzero (true) elements, one int32 array per axis. Eager only. */
export function nonzero(x: ArrayLike): NDArray[] {
  const a = asArray("np.nonzero", x);
  const data = valuesOf("np.nonzero", a, "call it outside the transform");
  if (a.ndim === 0) {
    throw new ShapeError("np.nonzero", "needs at least 1 axis, got a scalar (use np.atleast1d).");
  }
  const perAxis: number[][] = a.shape.map(() => []);
  for (let flat = 0; flat < data.length; flat++) {
    if (data[flat] === 0) continue;
    let rest = flat;
    for (let axis = a.ndim - 1; axis >= 0; axis--) {
      perAxis[axis]!.push(rest % a.shape[axis]!);
      rest = Math.floor(rest / a.shape[axis]!);
    }
  }
  return perAxis.map((p) => int32(p));
}

/** The flat indices of the nonzero (true) elements (int32). Eager only. */
export function flatnonzero(x: ArrayLike): NDArray {
  const a = asArray("np.flatnonzero", x);
  const data = valuesOf("np.flatnonzero", a, "call it outside the transform");
  const out: number[] = [];
  for (let i = 0; i < data.length; i++) if (data[i] !== 0) out.push(i);
  return int32(out);
}

/** The indices of the nonzero (true) elements as rows: int32 [count, ndim]. Eager only. */
export function argwhere(x: ArrayLike): NDArray {
  const a = asArray("np.argwhere", x);
  valuesOf("np.argwhere", a, "call it outside the transform");
  if (a.ndim === 0) return int32([], [a.item() === 0 ? 0 : 1, 0]);
  const columns = nonzero(a);
  const count = columns[0]!.size;
  const data: number[] = [];
  const cols = columns.map((c) => c.toTypedArray());
  for (let i = 0; i < count; i++) for (const c of cols) data.push(c[i]!);
  return int32(data, [count, a.ndim]);
}

/** Options of `isin`. */
export interface IsinOptions {
  /** Whether to return the opposite: true where an element is *not* among the test elements. */
  invert?: boolean;
}

/**
 * True where an element of `element` equals one of `testElements` (any shape, flattened), as a
 * bool array of `element`'s shape. Compares every pair, so it traces; NaN is never found.
 */
export function isin(
  element: ArrayLike,
  testElements: ArrayLike,
  options: IsinOptions = {},
): NDArray {
  const [e, t] = promote("np.isin", [element, testElements]) as [NDArray, NDArray];
  const tests = ravel(t);
  const found =
    tests.size === 0
      ? zeros(e.shape, { dtype: "bool" })
      : any(e.reshape([...e.shape, 1]).eq(tests.reshape([...e.shape.map(() => 1), tests.size])), {
          axis: -1,
        });
  return options.invert === true ? logicalNot(found) : found;
}

/** The sorted distinct values of a set operation's result, eagerly. */
function setOperation(
  operation: string,
  a: ArrayLike,
  b: ArrayLike,
  keep: (inA: boolean, inB: boolean) => boolean,
): NDArray {
  const [x, y] = promote(operation, [a, b]) as [NDArray, NDArray];
  const first = new Set(
    Array.from(valuesOf(operation, x, "call it outside the transform"), Number),
  );
  const second = new Set(
    Array.from(valuesOf(operation, y, "call it outside the transform"), Number),
  );
  const values = [...new Set([...first, ...second])]
    .filter((v) => keep(first.has(v), second.has(v)))
    .sort((p, q) => p - q);
  return convert(fromStorage(Float64Array.from(values), [values.length], "float64"), x.dtype);
}

/** The sorted values in both `a` and `b`. Eager only. */
export function intersect1d(a: ArrayLike, b: ArrayLike): NDArray {
  return setOperation("np.intersect1d", a, b, (p, q) => p && q);
}

/** The sorted values in `a` or `b`. Eager only. */
export function union1d(a: ArrayLike, b: ArrayLike): NDArray {
  return setOperation("np.union1d", a, b, (p, q) => p || q);
}

/** The sorted values of `a` that are not in `b`. Eager only. */
export function setdiff1d(a: ArrayLike, b: ArrayLike): NDArray {
  return setOperation("np.setdiff1d", a, b, (p, q) => p && !q);
}

/** The sorted values in exactly one of `a` and `b`. Eager only. */
export function setxor1d(a: ArrayLike, b: ArrayLike): NDArray {
  return setOperation("np.setxor1d", a, b, (p, q) => p !== q);
}

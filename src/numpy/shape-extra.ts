/**
 * More of NumPy's array arrangement: stacking along fixed axes, `atleast*d`, flips, rotations,
 * rolls, triangles, differences, `take`, `meshgrid`, `kron`, `cross`, `append`, `logspace`.
 * Each is composed from the structural primitives (slices, concatenation, gathers, broadcasts),
 * so derivatives and batching follow theirs.
 */
import type { ArrayLike, NDArray } from "../core/array.js";
import type { DType } from "../core/dtype.js";
import { IndexError, ShapeError, ValueError } from "../core/errors.js";
import { formatShape, normalizeAxis } from "../core/shape.js";
import { Tracer } from "../core/trace.js";
import { asArray, convert, promote } from "./convert.js";
import { arange, empty, linspace, type DTypeOptions } from "./creation.js";
import { logicalNot, power, where } from "./math.js";
import {
  broadcastArrays,
  concatenate,
  flip,
  moveaxis,
  ravel,
  reshape,
  sliceAxis,
  split,
  swapaxes,
  transpose,
} from "./shape.js";

function arrayList(operation: string, xs: readonly ArrayLike[]): NDArray[] {
  if (!Array.isArray(xs) || xs.length === 0) {
    throw new ValueError(operation, "expects a non-empty list of arrays.");
  }
  return xs.map((x, i) => asArray(operation, x, i));
}

/** `x` with at least one axis (a scalar becomes [1]). */
export function atleast1d(x: ArrayLike): NDArray {
  const a = asArray("np.atleast1d", x);
  return a.ndim >= 1 ? a : reshape(a, [1]);
}

/** `x` with at least two axes: [n] becomes [1, n]. */
export function atleast2d(x: ArrayLike): NDArray {
  const a = asArray("np.atleast2d", x);
  return a.ndim >= 2 ? a : reshape(a, a.ndim === 0 ? [1, 1] : [1, a.shape[0]!]);
}

/** `x` with at least three axes: [n] becomes [1, n, 1], [m, n] becomes [m, n, 1]. */
export function atleast3d(x: ArrayLike): NDArray {
  const a = asArray("np.atleast3d", x);
  if (a.ndim >= 3) return a;
  if (a.ndim === 0) return reshape(a, [1, 1, 1]);
  return reshape(a, a.ndim === 1 ? [1, a.shape[0]!, 1] : [...a.shape, 1]);
}

/** Stacks arrays as rows: 1-d arrays become rows, then `concatenate` along axis 0. */
export function vstack(xs: readonly ArrayLike[]): NDArray {
  return concatenate(arrayList("np.vstack", xs).map(atleast2d), { axis: 0 });
}

/** Stacks arrays horizontally: along axis 1, or axis 0 for 1-d arrays. */
export function hstack(xs: readonly ArrayLike[]): NDArray {
  const arrays = arrayList("np.hstack", xs).map(atleast1d);
  return concatenate(arrays, { axis: arrays[0]!.ndim === 1 ? 0 : 1 });
}

/** Stacks arrays along a third axis (after `atleast3d`). */
export function dstack(xs: readonly ArrayLike[]): NDArray {
  return concatenate(arrayList("np.dstack", xs).map(atleast3d), { axis: 2 });
}

/** Stacks 1-d arrays as the columns of a 2-d array (2-d arrays are joined as they are). */
export function columnStack(xs: readonly ArrayLike[]): NDArray {
  const arrays = arrayList("np.columnStack", xs).map((a) =>
    a.ndim < 2 ? reshape(a, [a.size, 1]) : a,
  );
  return concatenate(arrays, { axis: 1 });
}

/** Reverses the columns (axis 1) of an array of at least two axes. A view. */
export function fliplr(x: ArrayLike): NDArray {
  const a = asArray("np.fliplr", x);
  if (a.ndim < 2)
    throw new ShapeError("np.fliplr", `needs at least 2 axes, got shape ${formatShape(a.shape)}.`);
  return flip(a, { axis: 1 });
}

/** Reverses the rows (axis 0) of an array of at least one axis. A view. */
export function flipud(x: ArrayLike): NDArray {
  const a = asArray("np.flipud", x);
  if (a.ndim < 1) throw new ShapeError("np.flipud", "needs at least 1 axis, got a scalar.");
  return flip(a, { axis: 0 });
}

/** Options of `rot90`. */
export interface Rot90Options {
  /** Quarter turns, counterclockwise from the first axis toward the second. Default 1. */
  k?: number;
  /** The plane of rotation. Default [0, 1]. */
  axes?: readonly [number, number];
}

/** Rotates an array by 90° `k` times in the plane of `axes`. */
export function rot90(x: ArrayLike, options: Rot90Options = {}): NDArray {
  const a = asArray("np.rot90", x);
  const k = options.k ?? 1;
  if (!Number.isInteger(k)) throw new ValueError("np.rot90", `k must be an integer, got ${k}.`);
  const [a0, a1] = (options.axes ?? [0, 1]).map((ax) => normalizeAxis("np.rot90", ax, a.ndim)) as [
    number,
    number,
  ];
  if (a0 === a1) throw new ValueError("np.rot90", `axes must differ, got [${a0}, ${a1}].`);
  const turns = ((k % 4) + 4) % 4;
  if (turns === 0) return a;
  if (turns === 2) return flip(a, { axis: [a0, a1] });
  // One turn: transpose the plane, then flip the (new) first axis; three: flip, then transpose.
  return turns === 1
    ? flip(swapaxes(a, a0, a1), { axis: a0 })
    : swapaxes(flip(a, { axis: a0 }), a0, a1);
}

/**
 * Shifts elements by `shift` along `axis`, wrapping around (without `axis`, over the flattened
 * array, then reshaped back). `shift` and `axis` may be lists of the same length.
 */
export function roll(
  x: ArrayLike,
  shift: number | readonly number[],
  options: { axis?: number | readonly number[] } = {},
): NDArray {
  const a = asArray("np.roll", x);
  const shifts = typeof shift === "number" ? [shift] : [...shift];
  if (shifts.some((s) => !Number.isInteger(s))) {
    throw new ValueError("np.roll", `shift must be integers, got ${JSON.stringify(shift)}.`);
  }
  if (options.axis === undefined) {
    if (shifts.length !== 1) {
      throw new ValueError(
        "np.roll",
        "without axis, shift must be one number (the flattened array rolls).",
      );
    }
    return reshape(roll(ravel(a), shifts[0]!, { axis: 0 }), a.shape);
  }
  const axes =
    typeof options.axis === "number"
      ? [normalizeAxis("np.roll", options.axis, a.ndim)]
      : options.axis.map((ax) => normalizeAxis("np.roll", ax, a.ndim));
  if (shifts.length !== axes.length && shifts.length !== 1) {
    throw new ValueError(
      "np.roll",
      `shift has ${shifts.length} entries but axis has ${axes.length}; give one shift per axis (or one for all).`,
    );
  }
  let out = a;
  axes.forEach((axis, i) => {
    const n = out.shape[axis]!;
    if (n === 0) return;
    const s = (((shifts.length === 1 ? shifts[0]! : shifts[i]!) % n) + n) % n;
    if (s === 0) return;
    out = concatenate([sliceAxis(out, axis, n - s, n), sliceAxis(out, axis, 0, n - s)], { axis });
  });
  return out;
}

/** Options of `tril`, `triu` and `tri`. */
export interface TriangleOptions {
  /** The diagonal: 0 the main one, > 0 above it, < 0 below. Default 0. */
  k?: number;
}

/** The lower-triangle mask of a [rows, cols] matrix: j ≤ i + k. */
function lowerMask(operation: string, rows: number, cols: number, k: number): NDArray {
  if (!Number.isInteger(k)) throw new ValueError(operation, `k must be an integer, got ${k}.`);
  const i = reshape(arange(rows, { dtype: "int32" }), [rows, 1]);
  const j = reshape(arange(cols, { dtype: "int32" }), [1, cols]);
  return j.le(i.add(k));
}

function triangle(
  operation: string,
  x: ArrayLike,
  options: TriangleOptions,
  lower: boolean,
): NDArray {
  const a = asArray(operation, x);
  if (a.ndim < 2) {
    throw new ShapeError(
      operation,
      `needs at least 2 axes (a matrix or a batch of them), got shape ${formatShape(a.shape)}.`,
    );
  }
  const [rows, cols] = a.shape.slice(-2) as [number, number];
  const k = options.k ?? 0;
  // Upper from k: the complement of lower up to k − 1.
  const mask = lower
    ? lowerMask(operation, rows, cols, k)
    : logicalNot(lowerMask(operation, rows, cols, k - 1));
  return where(mask, a, convert(asArray(operation, 0), a.dtype, true));
}

/** The lower triangle of the last two axes (elements above diagonal `k` become 0). */
export function tril(x: ArrayLike, options: TriangleOptions = {}): NDArray {
  return triangle("np.tril", x, options, true);
}

/** The upper triangle of the last two axes (elements below diagonal `k` become 0). */
export function triu(x: ArrayLike, options: TriangleOptions = {}): NDArray {
  return triangle("np.triu", x, options, false);
}

/** Options of `tri`. */
export interface TriOptions extends TriangleOptions, DTypeOptions {
  /** Columns. Default `n`. */
  m?: number;
}

/** An [n, m] array with ones at and below diagonal `k`, zeros above (float32 unless told). */
export function tri(n: number, options: TriOptions = {}): NDArray {
  const m = options.m ?? n;
  for (const [name, v] of [
    ["n", n],
    ["m", m],
  ] as const) {
    if (!Number.isInteger(v) || v < 0)
      throw new ValueError("np.tri", `${name} must be a whole number ≥ 0, got ${v}.`);
  }
  return convert(lowerMask("np.tri", n, m, options.k ?? 0), options.dtype ?? "float32");
}

/** Options of `diff`. */
export interface DiffOptions {
  /** How many times to difference. Default 1. */
  n?: number;
  /** Default −1 (the last axis). */
  axis?: number;
}

/** The n-th discrete difference along `axis`: `x[1:] − x[:-1]`, n times. */
export function diff(x: ArrayLike, options: DiffOptions = {}): NDArray {
  let a = asArray("np.diff", x);
  if (a.ndim === 0) throw new ShapeError("np.diff", "needs at least 1 axis, got a scalar.");
  const n = options.n ?? 1;
  if (!Number.isInteger(n) || n < 0)
    throw new ValueError("np.diff", `n must be a whole number ≥ 0, got ${n}.`);
  const axis = normalizeAxis("np.diff", options.axis ?? -1, a.ndim);
  if (a.dtype === "bool") {
    // NumPy differences booleans with xor.
    for (let i = 0; i < n && a.shape[axis]! > 0; i++) {
      const len = a.shape[axis]!;
      a = sliceAxis(a, axis, 1, len).ne(sliceAxis(a, axis, 0, len - 1));
    }
    return a;
  }
  for (let i = 0; i < n; i++) {
    const len = a.shape[axis]!;
    if (len === 0) break;
    a = sliceAxis(a, axis, 1, len).sub(sliceAxis(a, axis, 0, len - 1));
  }
  return a;
}

/** Reads concrete indices and checks them against `size` (traced ones are checked by `get`). */
function checkIndices(operation: string, indices: NDArray, size: number): void {
  if (indices instanceof Tracer) return;
  const values = indices.toTypedArray();
  for (const v of values) {
    if (v >= size || v < -size) {
      throw new IndexError(
        operation,
        `index ${v} is out of range for an axis of size ${size} (valid: ${-size} to ${size - 1}).`,
      );
    }
  }
}

function intIndices(operation: string, indices: ArrayLike): NDArray {
  const i = asArray(operation, indices, 1);
  if (i.dtype !== "int32" && i.dtype !== "uint32") {
    if (i.dtype === "float32" && i.weakType !== true && !(i instanceof Tracer)) {
      const v = i.toTypedArray();
      if (Array.from(v).every((e) => Number.isInteger(e))) return convert(i, "int32");
    }
    if (i.weakType && !(i instanceof Tracer) && Number.isInteger(i.item()))
      return convert(i, "int32");
    throw new IndexError(operation, `indices must be integers (int32), got ${i.dtype}.`);
  }
  return i;
}

/**
 * Elements at `indices` along `axis` (of the flattened array without `axis`); the index axes take
 * `axis`'s place. Negative indices count from the end; out of range is an error.
 * @example
 * np.take(np.array([[1, 2], [3, 4]]), np.array([1, 0], { dtype: "int32" }), { axis: 1 }); // [[2, 1], [4, 3]]
 */
export function take(x: ArrayLike, indices: ArrayLike, options: { axis?: number } = {}): NDArray {
  let a = asArray("np.take", x);
  const idx = intIndices("np.take", indices);
  if (options.axis === undefined) a = ravel(a);
  const axis = normalizeAxis("np.take", options.axis ?? 0, a.ndim);
  checkIndices("np.take", idx, a.shape[axis]!);
  const gathered = moveaxis(a, axis, 0).get(idx);
  // [idx..., rest...] → rest[:axis] + idx + rest[axis:].
  const k = idx.ndim;
  const order = [
    ...Array.from({ length: axis }, (_, i) => k + i),
    ...Array.from({ length: k }, (_, i) => i),
    ...Array.from({ length: a.ndim - 1 - axis }, (_, i) => k + axis + i),
  ];
  return transpose(gathered, order);
}

/**
 * `x` gathered along `axis` by an index array of the same number of axes (other axes broadcast),
 * as NumPy's `take_along_axis`: e.g. the values of `argsort`.
 */
export function takeAlongAxis(x: ArrayLike, indices: ArrayLike, axis: number): NDArray {
  const a = asArray("np.takeAlongAxis", x);
  const idx = intIndices("np.takeAlongAxis", indices);
  if (idx.ndim !== a.ndim) {
    throw new ShapeError(
      "np.takeAlongAxis",
      `indices have ${idx.ndim} axes but x has ${a.ndim}; they must have the same number.`,
    );
  }
  const ax = normalizeAxis("np.takeAlongAxis", axis, a.ndim);
  checkIndices("np.takeAlongAxis", idx, a.shape[ax]!);
  // One integer array per axis, broadcast together: arange on the others, idx on `ax`.
  const grids = a.shape.map((d, i) => {
    if (i === ax) return idx;
    const shape = a.shape.map(() => 1);
    shape[i] = idx.shape[i] === 1 ? d : idx.shape[i]!;
    return reshape(arange(shape[i]!, { dtype: "int32" }), shape);
  });
  return a.get(...broadcastArrays(...grids));
}

/** Options of `meshgrid`. */
export interface MeshgridOptions {
  /** `"xy"` (default: the first two outputs' axes swapped, as for plotting) or `"ij"` (matrix). */
  indexing?: "xy" | "ij";
}

/**
 * Coordinate arrays from 1-d coordinate vectors: `meshgrid(x, y)` gives X and Y of shape
 * [y.length, x.length] (`indexing: "xy"`) or [x.length, y.length] (`"ij"`).
 */
export function meshgrid(...args: (ArrayLike | MeshgridOptions)[]): NDArray[] {
  const last = args[args.length - 1];
  const hasOptions =
    typeof last === "object" && last !== null && !Array.isArray(last) && !("shape" in last);
  const options = (hasOptions ? last : {}) as MeshgridOptions;
  const indexing = options.indexing ?? "xy";
  if (indexing !== "xy" && indexing !== "ij") {
    throw new ValueError(
      "np.meshgrid",
      `indexing must be "xy" or "ij", got ${JSON.stringify(indexing)}.`,
    );
  }
  const vectors = (hasOptions ? args.slice(0, -1) : args).map((x, i) => {
    const a = asArray("np.meshgrid", x as ArrayLike, i);
    if (a.ndim !== 1) {
      throw new ShapeError(
        "np.meshgrid",
        `argument ${i + 1} must be 1-d, got shape ${formatShape(a.shape)}.`,
      );
    }
    return a;
  });
  const n = vectors.length;
  const shaped = vectors.map((v, i) => {
    const shape = Array<number>(n).fill(1);
    // "xy" swaps the first two output axes.
    const at = indexing === "xy" && n >= 2 && i < 2 ? 1 - i : i;
    shape[at] = v.size;
    return reshape(v, shape);
  });
  return broadcastArrays(...shaped);
}

/** The Kronecker product: blocks `a[i, j]·b` (arrays of any equal or padded number of axes). */
export function kron(x: ArrayLike, y: ArrayLike): NDArray {
  const [a0, b0] = promote("np.kron", [x, y]) as [NDArray, NDArray];
  const nd = Math.max(a0.ndim, b0.ndim);
  const a = reshape(a0, [...Array<number>(nd - a0.ndim).fill(1), ...a0.shape]);
  const b = reshape(b0, [...Array<number>(nd - b0.ndim).fill(1), ...b0.shape]);
  // a → [a0, 1, a1, 1, …], b → [1, b0, 1, b1, …]; the product merges pairs.
  const ea = reshape(
    a,
    a.shape.flatMap((d) => [d, 1]),
  );
  const eb = reshape(
    b,
    b.shape.flatMap((d) => [1, d]),
  );
  return reshape(
    ea.mul(eb),
    a.shape.map((d, i) => d * b.shape[i]!),
  );
}

/**
 * The cross product of 3-vectors along `axis` (default −1); for 2-vectors, the z component
 * x₀y₁ − x₁y₀ (as NumPy). Other axes broadcast.
 */
export function cross(x: ArrayLike, y: ArrayLike, options: { axis?: number } = {}): NDArray {
  const [a0, b0] = promote("np.cross", [x, y]) as [NDArray, NDArray];
  const a = moveaxis(a0, normalizeAxis("np.cross", options.axis ?? -1, a0.ndim), -1);
  const b = moveaxis(b0, normalizeAxis("np.cross", options.axis ?? -1, b0.ndim), -1);
  const n = a.shape[a.ndim - 1]!;
  if (n !== b.shape[b.ndim - 1]! || (n !== 2 && n !== 3)) {
    throw new ShapeError(
      "np.cross",
      `vectors must both have length 2 or 3 along the axis, got ${n} and ${b.shape[b.ndim - 1]!}.`,
    );
  }
  const c = (v: NDArray, i: number): NDArray => sliceAxis(v, v.ndim - 1, i, i + 1);
  if (n === 2) {
    return reshape(
      c(a, 0)
        .mul(c(b, 1))
        .sub(c(a, 1).mul(c(b, 0))),
      [...broadcastArrays(c(a, 0), c(b, 0))[0]!.shape.slice(0, -1)],
    );
  }
  const parts = [
    c(a, 1)
      .mul(c(b, 2))
      .sub(c(a, 2).mul(c(b, 1))),
    c(a, 2)
      .mul(c(b, 0))
      .sub(c(a, 0).mul(c(b, 2))),
    c(a, 0)
      .mul(c(b, 1))
      .sub(c(a, 1).mul(c(b, 0))),
  ];
  const out = concatenate(parts, { axis: -1 });
  return moveaxis(out, -1, normalizeAxis("np.cross", options.axis ?? -1, out.ndim));
}

/** `x` with `values` appended along `axis` (both flattened without `axis`). */
export function append(x: ArrayLike, values: ArrayLike, options: { axis?: number } = {}): NDArray {
  const [a, v] = promote("np.append", [x, values]) as [NDArray, NDArray];
  if (options.axis === undefined) return concatenate([ravel(a), ravel(v)]);
  return concatenate([a, v], { axis: options.axis });
}

/** An uninitialised array with `x`'s shape (and dtype unless told). */
export function emptyLike(x: ArrayLike, options: DTypeOptions = {}): NDArray {
  const a = asArray("np.emptyLike", x);
  return empty(a.shape, { dtype: options.dtype ?? a.dtype });
}

/** Options of `logspace`. */
export interface LogspaceOptions extends DTypeOptions {
  /** Whether `stop` is included. Default true. */
  endpoint?: boolean;
  /** The base of the powers. Default 10. */
  base?: number;
}

/** `num` numbers spaced evenly on a log scale: base^linspace(start, stop, num). */
export function logspace(
  start: number,
  stop: number,
  num = 50,
  options: LogspaceOptions = {},
): NDArray {
  const dtype: DType = options.dtype ?? "float32";
  const exponents = linspace(start, stop, num, {
    endpoint: options.endpoint ?? true,
    dtype: dtype === "float64" ? "float64" : "float32",
  });
  return convert(power(options.base ?? 10, exponents), dtype);
}

function splitOn(
  operation: string,
  x: ArrayLike,
  sections: number | readonly number[],
  minimumAxes: number,
  axis: (ndim: number) => number,
): NDArray[] {
  const a = asArray(operation, x);
  if (a.ndim < minimumAxes) {
    throw new ShapeError(
      operation,
      `needs at least ${minimumAxes} ax${minimumAxes === 1 ? "is" : "es"}, got shape ${formatShape(a.shape)}.`,
    );
  }
  return split(a, sections, { axis: axis(a.ndim) });
}

/** Splits along axis 1 (axis 0 for 1-d arrays): `sections` equal parts or at the indices. */
export function hsplit(x: ArrayLike, sections: number | readonly number[]): NDArray[] {
  return splitOn("np.hsplit", x, sections, 1, (ndim) => (ndim === 1 ? 0 : 1));
}

/** Splits along axis 0 (arrays of at least 2 axes). */
export function vsplit(x: ArrayLike, sections: number | readonly number[]): NDArray[] {
  return splitOn("np.vsplit", x, sections, 2, () => 0);
}

/** Splits along axis 2 (arrays of at least 3 axes). */
export function dsplit(x: ArrayLike, sections: number | readonly number[]): NDArray[] {
  return splitOn("np.dsplit", x, sections, 3, () => 2);
}

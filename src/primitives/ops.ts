/**
 * Thin typed wrappers that bind primitives, for writing rules (jvp, transpose, batch) tersely.
 * Operands follow the primitives' contracts (equal dtypes; equal shapes or rank 0), not NumPy's.
 */
import type { NDArray } from "../core/array.js";
import type { DType } from "../core/dtype.js";
import { bind1 } from "../core/trace.js";
import { scalar } from "../runtime/concrete.js";
import * as dot from "./dot.js";
import * as e from "./elementwise.js";
import * as r from "./reduce.js";
import * as s from "./structural.js";

const none = {};

export const add = (x: NDArray, y: NDArray): NDArray => bind1(e.add, [x, y], none);
export const sub = (x: NDArray, y: NDArray): NDArray => bind1(e.sub, [x, y], none);
export const mul = (x: NDArray, y: NDArray): NDArray => bind1(e.mul, [x, y], none);
export const div = (x: NDArray, y: NDArray): NDArray => bind1(e.div, [x, y], none);
export const neg = (x: NDArray): NDArray => bind1(e.neg, [x], none);
export const not = (x: NDArray): NDArray => bind1(e.not, [x], none);
export const select = (p: NDArray, x: NDArray, y: NDArray): NDArray =>
  bind1(e.select, [p, x, y], none);
export const eq = (x: NDArray, y: NDArray): NDArray => bind1(e.eq, [x, y], none);
export const lt = (x: NDArray, y: NDArray): NDArray => bind1(e.lt, [x, y], none);
export const gt = (x: NDArray, y: NDArray): NDArray => bind1(e.gt, [x, y], none);
export const unary = (p: typeof e.sin, x: NDArray): NDArray => bind1(p, [x], none);

/** A rank-0 constant of `like`'s dtype; weak by default, so it never changes a result's dtype. */
export const constant = (value: number, like: NDArray | DType, weak = true): NDArray =>
  scalar(value, typeof like === "string" ? like : like.dtype, weak);

/** `x` converted to `dtype` (no equation when it already has it). */
export function convert(x: NDArray, dtype: DType, weakType = x.weakType): NDArray {
  if (x.dtype === dtype && x.weakType === weakType) return x;
  return bind1(e.convertElementType, [x], { newDType: dtype, weakType });
}

/** Zeros with `x`'s shape and dtype (weakly typed only if `x` is). */
export function zerosLike(x: {
  shape: readonly number[];
  dtype: DType;
  weakType?: boolean;
}): NDArray {
  return broadcast(constant(0, x.dtype, x.weakType ?? false), x.shape, []);
}

export function broadcast(
  x: NDArray,
  shape: readonly number[],
  broadcastDimensions: readonly number[],
): NDArray {
  if (
    x.ndim === shape.length &&
    broadcastDimensions.every((d, i) => d === i) &&
    x.shape.every((d, i) => d === shape[i])
  ) {
    return x;
  }
  return bind1(s.broadcastInDim, [x], {
    shape: [...shape],
    broadcastDimensions: [...broadcastDimensions],
  });
}

/** Rank-0 `x` broadcast to `shape`; other arrays are returned as they are. */
export function fill(x: NDArray, shape: readonly number[]): NDArray {
  return x.ndim === 0 && shape.length > 0 ? broadcast(x, shape, []) : x;
}

export function reshape(x: NDArray, shape: readonly number[]): NDArray {
  if (x.ndim === shape.length && x.shape.every((d, i) => d === shape[i])) return x;
  return bind1(s.reshape, [x], { newSizes: [...shape] });
}

export function transpose(x: NDArray, permutation: readonly number[]): NDArray {
  if (permutation.every((p, i) => p === i)) return x;
  return bind1(s.transpose, [x], { permutation: [...permutation] });
}

export function reduceSum(x: NDArray, axes: readonly number[]): NDArray {
  if (axes.length === 0) return x;
  return bind1(r.reduceSum, [x], { axes: [...axes].sort((a, b) => a - b) });
}

/** Sums `x` down to `shape` (undoing a broadcast of rank-0 or size-1 axes). */
export function sumToShape(x: NDArray, shape: readonly number[]): NDArray {
  if (x.ndim === shape.length && x.shape.every((d, i) => d === shape[i])) return x;
  const lead = x.ndim - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < x.ndim; i++)
    if (i < lead || (shape[i - lead] === 1 && x.shape[i] !== 1)) axes.push(i);
  return reshape(reduceSum(x, axes), shape);
}

export function dotGeneral(x: NDArray, y: NDArray, params: dot.DotGeneralParams): NDArray {
  return bind1(dot.dotGeneral, [x, y], params);
}

/** Moves axis `from` of `x` to position `to`. */
export function moveAxis(x: NDArray, from: number, to: number): NDArray {
  if (from === to) return x;
  const perm = x.shape.map((_, i) => i).filter((i) => i !== from);
  perm.splice(to, 0, from);
  return transpose(x, perm);
}

/** Inserts a new axis of `size` at `axis` (broadcast, no copy eagerly). */
export function broadcastAxis(x: NDArray, axis: number, size: number): NDArray {
  const shape = [...x.shape];
  shape.splice(axis, 0, size);
  const dims = x.shape.map((_, i) => (i < axis ? i : i + 1));
  return broadcast(x, shape, dims);
}

/** A rank-0 array holding a JS number (weak) or boolean, as transforms see JS leaves. */
export function leafScalar(x: number | boolean): NDArray {
  if (typeof x === "boolean") return scalar(x ? 1 : 0, "bool");
  return scalar(x, Number.isInteger(x) && Math.abs(x) < 2 ** 31 ? "int32" : "float32", true);
}

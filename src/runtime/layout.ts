/**
 * Layout helpers for kernels that work along one axis: copy the data with that axis last, and
 * view a result computed in that layout back in the original axis order (no copy).
 */
import type { DType, TypedArray } from "../core/dtype.js";
import { contiguousStrides } from "../core/shape.js";
import { fromStorage, view, type ConcreteArray } from "./concrete.js";

/** A contiguous copy of `x` with `axes` moved last (the other axes keep their order). */
export function withAxesLast(x: ConcreteArray, axes: readonly number[]): TypedArray {
  const perm = [...x.shape.keys()].filter((i) => !axes.includes(i)).concat(axes);
  return view(
    x,
    perm.map((p) => x.shape[p]!),
    perm.map((p) => x.strides[p]!),
    x.offset,
  ).toTypedArray();
}

/** Views `data`, laid out as `shape` with `axis` moved last, in `shape`'s own axis order. */
export function fromAxisLast(
  data: TypedArray,
  shape: readonly number[],
  axis: number,
  dtype: DType,
  weakType: boolean,
): ConcreteArray {
  const movedShape = [...shape.filter((_, i) => i !== axis), shape[axis]!];
  const movedStrides = contiguousStrides(movedShape);
  const strides = shape.map((_, i) =>
    i === axis ? movedStrides[movedShape.length - 1]! : movedStrides[i < axis ? i : i - 1]!,
  );
  return view(fromStorage(data, movedShape, dtype, weakType), shape, strides, 0);
}

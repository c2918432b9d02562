/**
 * Sorting: `sort` and `argsort` (stable; −0 before +0, and NaN last as in NumPy).
 */
import type { ArrayLike, NDArray } from "../core/array.js";
import { normalizeAxis } from "../core/shape.js";
import { bind, bind1 } from "../core/trace.js";
import { sort as sortPrimitive } from "../primitives/sort.js";
import { iota } from "../primitives/structural.js";
import { ValueError } from "../core/errors.js";
import { asArray } from "./convert.js";
import { ravel } from "./shape.js";

/** Options of `sort`/`argsort`: the axis (default -1; `null` sorts the flattened array). */
export interface SortOptions {
  axis?: number | null;
}

function prepare(name: string, x: ArrayLike, options: SortOptions): [NDArray, number] {
  let a = asArray(name, x);
  if (options.axis === null || a.ndim === 0) a = ravel(a);
  return [a, normalizeAxis(name, options.axis ?? -1, a.ndim)];
}

/**
 * A sorted copy along `axis` (the last by default).
 * @example
 * np.sort(np.array([3, 1, 2])); // [1, 2, 3]
 */
export function sort(x: ArrayLike, options: SortOptions = {}): NDArray {
  const [a, axis] = prepare("np.sort", x, options);
  return bind1(sortPrimitive, [a], { dimension: axis, numKeys: 1 });
}

/** The indices that sort `x` along `axis` (stable), as int32. */
export function argsort(x: ArrayLike, options: SortOptions = {}): NDArray {
  const [a, axis] = prepare("np.argsort", x, options);
  const indices = bind1(iota, [], { dtype: "int32", shape: [...a.shape], dimension: axis });
  return bind(sortPrimitive, [a, indices], { dimension: axis, numKeys: 1 })[1]!;
}

/**
 * `x` rearranged along `axis` so that the element at position `kth` is the one a sort would put
 * there, smaller ones before it and larger ones after (NumPy's `partition`; this returns the
 * fully sorted order, which satisfies that contract).
 */
export function partition(x: ArrayLike, kth: number, options: SortOptions = {}): NDArray {
  const [a, axis] = prepare("np.partition", x, options);
  checkKth("np.partition", kth, a.shape[axis]!);
  return sort(a, { axis });
}

/** The indices that `partition` would arrange `x` by (a stable argsort satisfies the contract). */
export function argpartition(x: ArrayLike, kth: number, options: SortOptions = {}): NDArray {
  const [a, axis] = prepare("np.argpartition", x, options);
  checkKth("np.argpartition", kth, a.shape[axis]!);
  return argsort(a, { axis });
}

function checkKth(operation: string, kth: number, length: number): void {
  if (!Number.isInteger(kth) || kth < -length || kth >= length) {
    throw new ValueError(
      operation,
      `kth must be an integer in [${-length}, ${length}), got ${kth}.`,
    );
  }
}

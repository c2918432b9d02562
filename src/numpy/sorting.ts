/**
 * Sorting: `sort` and `argsort` (stable; −0 before +0, and NaN last as in NumPy).
 */
import type { ArrayLike, NDArray } from "../core/array.js";
import { normalizeAxis } from "../core/shape.js";
import { bind, bind1 } from "../core/trace.js";
import { sort as sortPrimitive } from "../primitives/sort.js";
import { iota } from "../primitives/structural.js";
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

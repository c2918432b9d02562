/**
 * `lax.topK`: the k largest entries along the last axis, with their indices (JAX's
 * `lax.top_k`), through the stable sort, so its derivative is the sort's permutation.
 */
import type { ArrayLike, NDArray } from "../core/array.js";
import { ShapeError, ValueError } from "../core/errors.js";
import { isFloating } from "../core/dtype.js";
import { asArray } from "../numpy/convert.js";
import * as np from "../numpy/math.js";
import { argsort } from "../numpy/sorting.js";
import { takeAlongAxis } from "../numpy/shape-extra.js";

/**
 * The `k` largest values along the last axis, in descending order, and their indices (int32);
 * equal values keep their order (the lower index first). NaN counts as the largest.
 * @example
 * import { lax, np } from "fluxion";
 *
 * const [values, indices] = lax.topK(np.array([1, 5, 3, 5]), 2);
 * console.log(values.toList()); // [5, 5]
 * console.log(indices.toList()); // [1, 3]
 */
export function topK(operand: ArrayLike, k: number): [NDArray, NDArray] {
  const x = asArray("lax.topK", operand);
  if (x.ndim === 0) throw new ShapeError("lax.topK", "needs at least one axis, got a scalar.");
  const n = x.shape[x.ndim - 1]!;
  if (!Number.isInteger(k) || k < 0 || k > n) {
    throw new ValueError(
      "lax.topK",
      `k must be a whole number in [0, ${n}] (the last axis), got ${k}.`,
    );
  }
  // Descending and stable: an ascending sort of −x, with NaN moved first (as the largest).
  const value = x.dtype === "bool" ? x.astype("int32") : x;
  const key = isFloating(value.dtype)
    ? np.where(np.isnan(value), -Infinity, value.neg())
    : value.neg();
  const order = argsort(key, { axis: -1 });
  const indices = order.get("...", `:${k}`);
  return [takeAlongAxis(x, indices, -1), indices];
}

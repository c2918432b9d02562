/**
 * Elementwise functions of `lax` that NumPy has no name for.
 */
import type { ArrayLike, NDArray } from "../core/array.js";
import { bind1 } from "../core/trace.js";
import { elementwiseArgs } from "../numpy/convert.js";
import * as p from "../primitives/elementwise.js";

/**
 * The logistic sigmoid 1 / (1 + e^(−x)), elementwise (JAX's `lax.logistic`; `nn.sigmoid` is
 * this). Integer and bool inputs become float32. Its derivative, y·(1 − y), is finite for every
 * input: 0 and 1 in the limits, never NaN.
 *
 * @example
 * import { lax, np } from "fluxion";
 *
 * console.log(lax.logistic(np.array([0, 2])).toList()); // [0.5, 0.8807970285415649]
 */
export function logistic(x: ArrayLike): NDArray {
  return bind1(p.logistic, elementwiseArgs("lax.logistic", [x], true), {});
}

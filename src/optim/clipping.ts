/**
 * Clipping: limits on the size of the updates, elementwise (`clip`) or for the whole update as one
 * vector (`clipByGlobalNorm`), as Optax's `clip` and `clip_by_global_norm`.
 */
import type { NDArray } from "../core/array.js";
import * as tree from "../core/tree.js";
import * as np from "../numpy/index.js";
import { transformation, type EmptyState, type GradientTransformation } from "./base.js";
import { globalNorm } from "./numerics.js";
import { checkNumber, nonNegative } from "./options.js";

export { globalNorm };

/**
 * Clips every element of the updates to [−maxDelta, maxDelta]. Keeps no state.
 *
 * @param maxDelta the largest magnitude allowed, ≥ 0.
 */
export function clip(maxDelta: number): GradientTransformation<EmptyState> {
  const limit = checkNumber("optim.clip", "maxDelta", maxDelta, nonNegative);
  return transformation(
    "optim.clip",
    () => ({}),
    (updates, state) => [tree.map((g: NDArray) => np.clip(g, -limit, limit), updates), state],
  );
}

/**
 * Rescales the updates so that their global norm (all leaves taken as one vector) is at most
 * `maxNorm`: updates with a smaller norm pass unchanged, others become `u / ‖u‖ · maxNorm`.
 * Keeps no state.
 *
 * @param maxNorm the largest global norm allowed, > 0.
 * @example
 * const t = clipByGlobalNorm(1);
 * const [u] = t.update({ a: np.array([3]), b: np.array([4]) }, t.init({}));
 * console.log(u.a.item(), u.b.item()); // ≈ 0.6 0.8: the norm 5 scaled down to 1
 */
export function clipByGlobalNorm(maxNorm: number): GradientTransformation<EmptyState> {
  const operation = "optim.clipByGlobalNorm";
  const limit = checkNumber(operation, "maxNorm", maxNorm, { min: 0, minOpen: true });
  return transformation(
    operation,
    () => ({}),
    (updates, state) => {
      const norm = globalNorm(updates);
      const small = norm.lt(limit);
      const out = tree.map(
        (g: NDArray) => np.where(small, g, g.div(norm.astype(g.dtype)).mul(limit)),
        updates,
      );
      return [out, state];
    },
  );
}

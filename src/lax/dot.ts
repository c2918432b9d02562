/**
 * `lax.dotGeneral`: the general tensor contraction under `np.matmul`, `np.dot`, `np.tensordot`
 * and `np.einsum` — `jax.lax.dot_general` with an options object.
 */
import type { ArrayLike, NDArray } from "../core/array.js";
import { ValueError } from "../core/errors.js";
import { bind1 } from "../core/trace.js";
import { promote } from "../numpy/convert.js";
import { dotGeneral as dotGeneralPrimitive, type DotGeneralParams } from "../primitives/dot.js";

export interface DotGeneralOptions {
  /** Axes summed over: `[lhsAxes, rhsAxes]`, paired in order (default: none, an outer product). */
  contracting?: readonly [readonly number[], readonly number[]];
  /** Axes taken together (not summed): `[lhsAxes, rhsAxes]`; they lead the output (default none). */
  batch?: readonly [readonly number[], readonly number[]];
}

const where = "lax.dotGeneral";

/**
 * Contracts `lhs` and `rhs` over paired axes: the output is the batch axes, then `lhs`'s free
 * axes, then `rhs`'s. Differentiable in both operands, batchable, and compiled to the SIMD matmul
 * kernels (transposed operands are read in place).
 *
 * @example
 * const a = np.ones([2, 3, 4]);
 * const b = np.ones([2, 4, 5]);
 * // A batched matrix product: batch axis 0, contracting a's axis 2 with b's axis 1.
 * const c = lax.dotGeneral(a, b, { contracting: [[2], [1]], batch: [[0], [0]] });
 * console.log(c.shape); // [2, 3, 5]
 * console.log(c.get("0, 0, 0").item()); // 4
 */
export function dotGeneral(
  lhs: ArrayLike,
  rhs: ArrayLike,
  options: DotGeneralOptions = {},
): NDArray {
  const [x, y] = promote(where, [lhs, rhs]);
  const contracting = options.contracting ?? [[], []];
  const batch = options.batch ?? [[], []];
  for (const [name, pair] of [
    ["contracting", contracting],
    ["batch", batch],
  ] as const) {
    if (
      !Array.isArray(pair) ||
      pair.length !== 2 ||
      pair.some((axes) => !Array.isArray(axes) || axes.some((a) => !Number.isInteger(a)))
    ) {
      throw new ValueError(
        where,
        `${name} must be [lhsAxes, rhsAxes] (two lists of whole numbers), got ${JSON.stringify(pair)}.`,
      );
    }
  }
  const params: DotGeneralParams = {
    contracting: [[...contracting[0]], [...contracting[1]]],
    batch: [[...batch[0]], [...batch[1]]],
  };
  return bind1(dotGeneralPrimitive, [x!, y!], params);
}

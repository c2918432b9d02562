/**
 * The arithmetic the transformations share, leaf by leaf over pytrees, written as Optax's
 * `tree_utils` and `numerics` are (so that the update equations match theirs term for term).
 */
import type { NDArray } from "../core/array.js";
import * as tree from "../core/tree.js";
import * as np from "../numpy/index.js";

const int32Max = 2 ** 31 - 1;

/** A fresh step counter: an int32 zero. */
export function zeroCount(): NDArray {
  return np.zeros([], { dtype: "int32" });
}

/** `count + 1`, staying at the int32 maximum instead of overflowing (Optax's `safe_increment`). */
export function safeIncrement(count: NDArray): NDArray {
  return np.where(count.lt(int32Max), count.add(1), int32Max);
}

/** Zeros shaped and typed like each leaf. */
export function treeZerosLike(t: unknown): unknown {
  return tree.map((x: NDArray) => np.zerosLike(x), t);
}

/** `value` in the shape and dtype of each leaf (taken exactly, even in float64). */
export function treeFullLike(t: unknown, value: number): unknown {
  return tree.map((x: NDArray) => np.full(x.shape, value, { dtype: x.dtype }), t);
}

/** The exponential moving average `(1 − decay)·g + decay·m` of the updates. */
export function updateMoment(updates: unknown, moments: unknown, decay: number): unknown {
  return tree.map((g: NDArray, m: NDArray) => g.mul(1 - decay).add(m.mul(decay)), updates, moments);
}

/** The moving average of the squared updates: `(1 − decay)·g² + decay·v`. */
export function updateMomentSquared(updates: unknown, moments: unknown, decay: number): unknown {
  return tree.map(
    (g: NDArray, v: NDArray) =>
      g
        .mul(g)
        .mul(1 - decay)
        .add(v.mul(decay)),
    updates,
    moments,
  );
}

/** The infinity-norm moment of Adamax: `max(|g| + eps, decay·u)`. */
export function updateInfinityMoment(
  updates: unknown,
  moments: unknown,
  decay: number,
  eps: number,
): unknown {
  return tree.map(
    (g: NDArray, u: NDArray) => np.maximum(np.abs(g).add(eps), u.mul(decay)),
    updates,
    moments,
  );
}

/**
 * `m / (1 − decay^count)` for each leaf: the bias correction of a moving average started at
 * zero. The power is taken in the leaf's dtype (float64 moments get a float64 correction).
 */
export function biasCorrection(moments: unknown, decay: number, count: NDArray): unknown {
  return tree.map((m: NDArray) => {
    const correction = np.subtract(1, np.power(decay, count.astype(m.dtype)));
    return m.div(correction);
  }, moments);
}

/** `m / (√(v + epsRoot) + eps)` for each pair of leaves: the step direction of Adam and its kin. */
export function adamDirection(mu: unknown, nu: unknown, eps: number, epsRoot: number): unknown {
  return tree.map((m: NDArray, v: NDArray) => m.div(np.sqrt(v.add(epsRoot)).add(eps)), mu, nu);
}

/** `sqrt(Σ x²)` over one array. */
export function norm(x: NDArray): NDArray {
  return np.sqrt(np.sum(x.mul(x)));
}

/**
 * The norm of `x`, or `minNorm` where the norm is at most `minNorm`, with a gradient that stays
 * finite at zero (Optax's `numerics.safe_norm`).
 */
export function safeNorm(x: NDArray, minNorm: number): NDArray {
  const small = norm(x).le(minNorm);
  const masked = norm(np.where(small, np.onesLike(x), x));
  return np.where(small, minNorm, masked);
}

/** `sqrt(Σ over leaves of Σ x²)`: the norm of all the updates as one vector (Optax's `global_norm`). */
export function globalNorm(updates: unknown): NDArray {
  const squares = tree.leaves(updates).map((x) => np.sum((x as NDArray).mul(x as NDArray)));
  if (squares.length === 0) return np.zeros([]);
  return np.sqrt(squares.reduce((a, b) => a.add(b)));
}

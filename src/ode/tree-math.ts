/**
 * Arithmetic on pytrees of arrays, as the solvers need it: linear combinations of stage
 * derivatives, elementwise choices, finiteness and the RMS norm. Internal to `ode`.
 */
import type { NDArray } from "../core/array.js";
import * as tree from "../core/tree.js";
import * as np from "../numpy/index.js";
import type { PyTree } from "./types.js";

/** The array leaves of a pytree. */
export const arrayLeaves = (value: PyTree): NDArray[] => tree.leaves(value) as NDArray[];

/** `f` applied leafwise to one or more pytrees of the same structure. */
export function mapArrays(
  f: (...leaves: NDArray[]) => NDArray,
  first: PyTree,
  ...rest: PyTree[]
): PyTree {
  return tree.map(f as (leaf: unknown, ...r: never[]) => unknown, first, ...rest);
}

/** `x · s` for a scalar `s`. */
export const scaleTree = (x: PyTree, s: NDArray | number): PyTree => mapArrays((l) => l.mul(s), x);

/**
 * `base + Σ coefficients[i] · terms[i]` (`base` may be null: zero). Zero coefficients are
 * skipped, so sparse tableau rows cost nothing.
 */
export function combine(
  base: PyTree | null,
  coefficients: readonly number[],
  terms: readonly PyTree[],
): PyTree {
  const used = coefficients.map((c, i) => [c, i] as const).filter(([c]) => c !== 0);
  const template = base ?? terms[0];
  const [baseLeaves, treedef] = tree.flatten(template);
  const termLeaves = terms.map((t) => tree.leaves(t) as NDArray[]);
  const out = (baseLeaves as NDArray[]).map((leaf, k) => {
    let acc: NDArray | null = base === null ? null : leaf;
    for (const [c, i] of used) {
      const term = termLeaves[i]![k]!.mul(c);
      acc = acc === null ? term : acc.add(term);
    }
    return acc ?? np.zerosLike(leaf);
  });
  return tree.unflatten(treedef, out);
}

/** `pred ? a : b` leafwise, for a bool scalar `pred`. */
export function whereTree(pred: NDArray, a: PyTree, b: PyTree): PyTree {
  return mapArrays((x, y) => np.where(pred, x, y), a, b);
}

/** A bool scalar: every element of every leaf is finite. */
export function allFinite(x: PyTree): NDArray {
  return arrayLeaves(x)
    .map((l) => np.isfinite(l).all())
    .reduce((a: NDArray, b) => np.logicalAnd(a, b), np.array(true));
}

/**
 * The root mean square of every element of every leaf: `sqrt(Σ x² / n)` (Hairer's error norm).
 * Its derivative at zero is taken as zero rather than NaN.
 */
export function rmsNorm(x: PyTree): NDArray {
  const leaves = arrayLeaves(x);
  const size = leaves.reduce((n, l) => n + l.size, 0);
  if (leaves.length === 0 || size === 0) return np.array(0);
  const squares = leaves.map((l) => np.square(l).sum()).reduce((a, b) => a.add(b));
  const meanSquare = squares.div(size);
  const positive = meanSquare.gt(0);
  return np.where(positive, np.sqrt(np.where(positive, meanSquare, 1)), 0);
}

/** The largest absolute value over every element of every leaf (the max norm). */
export function maxNorm(x: PyTree): NDArray {
  const leaves = arrayLeaves(x).filter((l) => l.size > 0);
  if (leaves.length === 0) return np.array(0);
  return leaves.map((l) => np.abs(l).max()).reduce((a, b) => np.maximum(a, b));
}

/** Each leaf stacked along a new leading axis: `[s, ...shape]` from `s` trees. */
export function stackTrees(trees: readonly PyTree[]): PyTree {
  const [first, treedef] = tree.flatten(trees[0]);
  const all = trees.map((t) => tree.leaves(t) as NDArray[]);
  return tree.unflatten(
    treedef,
    first.map((_, k) => np.stack(all.map((leaves) => leaves[k]!))),
  );
}

/**
 * `Σ_i weights[i] · stacked[i]` leafwise, for a weight vector `[s]` (an array, possibly traced or
 * batched) and leaves stacked `[s, ...shape]`.
 */
export function weightedSum(weights: NDArray, stacked: PyTree): PyTree {
  return mapArrays((k) => {
    const s = k.shape[0]!;
    const rest = k.shape.slice(1);
    const flat = k.reshape([s, rest.reduce((a, b) => a * b, 1)]);
    return np.matmul(weights.reshape([1, s]).astype(k.dtype), flat).reshape(rest);
  }, stacked);
}

/** Stage `i` of leaves stacked `[s, ...shape]`. */
export const stage = (stacked: PyTree, i: number): PyTree => mapArrays((k) => k.get(i), stacked);

/**
 * Whether an array holds a concrete value here (eagerly, or under `grad`/`jvp` without `jit`)
 * and, if so, its value; `undefined` when it is traced.
 */
export function concreteValue(x: NDArray): number | boolean | undefined {
  try {
    return x.item();
  } catch (error) {
    if (error instanceof Error && error.name === "TracerError") return undefined;
    throw error;
  }
}

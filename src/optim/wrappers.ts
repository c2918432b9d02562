/**
 * Wrappers that change when or where an inner transformation applies: `masked` (only on some
 * leaves), `applyIfFinite` (skip updates with NaN or ±inf) and `multiSteps` (accumulate
 * gradients over several calls), as Optax's wrappers of the same names.
 *
 * Decisions that depend on values (is this gradient finite? is this the k-th mini-step?) are
 * made with `np.where` on arrays, never with JS `if`, so every wrapper works under `jit`.
 */
import type { NDArray } from "../core/array.js";
import { TreeError, ValueError } from "../core/errors.js";
import * as tree from "../core/tree.js";
import * as np from "../numpy/index.js";
import {
  checkTransformation,
  errorName,
  transformation,
  type GradientTransformation,
} from "./base.js";
import { safeIncrement, treeZerosLike, zeroCount } from "./numerics.js";
import { checkFlag, checkNumber, scheduleValue } from "./options.js";

/**
 * Which leaves a transformation applies to: a pytree of `true`/`false` shaped like the parameters
 * (or a prefix of them: a boolean may stand for a whole subtree), or a function of the parameters
 * that returns one. The booleans are JS booleans, known when tracing, so masks work under `jit`.
 */
export type Mask = unknown;

// ── masked ───────────────────────────────────────────────────────────────────────────────

/** The state of {@link masked}: the inner state, kept only for the masked-in leaves. */
export interface MaskedState<S> {
  innerState: S;
}

/** The mask for `t`, checked: boolean leaves, and a prefix of `t`'s structure. */
function maskFor(operation: string, mask: Mask, t: unknown): unknown {
  const m: unknown = typeof mask === "function" ? (mask as (p: unknown) => unknown)(t) : mask;
  const [pairs, treedef] = tree.flattenWithPath(m);
  for (const [path, leaf] of pairs) {
    if (typeof leaf !== "boolean") {
      throw new TreeError(
        errorName(operation),
        `the mask's leaves must be true or false, but the leaf at ${tree.keystr(path) || "the root"} is ` +
          `${typeof leaf === "object" ? "an array or object" : `${typeof leaf} ${String(leaf)}`}. ` +
          `Build it from shapes, e.g. tree.map((p) => p.ndim > 1, params), not from values.`,
      );
    }
  }
  treedef.flattenUpTo(t, { operation: errorName(operation) });
  return m;
}

/** `t` with the masked-out subtrees replaced by `null` (an empty subtree: no leaves). */
function keepMasked(m: unknown, t: unknown): unknown {
  return tree.map((keep: boolean, sub: unknown) => (keep ? sub : null), m, t);
}

/**
 * Applies `inner` only to the leaves the mask selects; the others pass through unchanged, and the
 * inner state is kept for the selected leaves only (Optax's `masked`).
 *
 * @param inner the transformation to restrict.
 * @param mask booleans shaped like the parameters, or a function of them returning such a tree.
 * @returns a transformation whose state is `{ innerState }`.
 * @example
 * const negate = {
 *   init: () => ({}),
 *   update: (u: any, s: any) => [tree.map((x: NDArray) => x.neg(), u), s],
 * } as GradientTransformation;
 * // Only the matrices (ndim > 1) are transformed; the bias passes through.
 * const t = masked(negate, (p: any) => tree.map((x: NDArray) => x.ndim > 1, p));
 * const g = { kernel: np.ones([2, 2]), bias: np.ones([2]) };
 * const [u] = t.update(g, t.init(g));
 * console.log(u.kernel.toList(), u.bias.toList()); // [[-1, -1], [-1, -1]] [1, 1]
 */
export function masked<S>(
  inner: GradientTransformation<S>,
  mask: Mask,
): GradientTransformation<MaskedState<S>> {
  const operation = "optim.masked";
  checkTransformation(operation, inner, "the inner optimiser");
  if (mask === undefined) {
    throw new ValueError(
      operation,
      `needs a mask: a pytree of booleans or a function of the parameters.`,
    );
  }
  return transformation(
    operation,
    (params) => ({ innerState: inner.init(keepMasked(maskFor(operation, mask, params), params)) }),
    (updates, state, params) => {
      const m = maskFor(operation, mask, updates);
      const [innerUpdates, innerState] = inner.update(
        keepMasked(m, updates),
        state.innerState,
        params === undefined ? undefined : keepMasked(m, params),
      );
      const out = tree.map(
        (keep: boolean, fresh: unknown, old: unknown) => (keep ? fresh : old),
        m,
        innerUpdates,
        updates,
      );
      return [out, { innerState }];
    },
  );
}

// ── applyIfFinite ────────────────────────────────────────────────────────────────────────

/** The state of {@link applyIfFinite}. */
export interface ApplyIfFiniteState<S> {
  /** Updates with a NaN or ±inf in a row, up to this one (0 after a finite one). */
  notfiniteCount: NDArray;
  /** Whether the last updates were all finite. */
  lastFinite: NDArray;
  /** All updates with a NaN or ±inf since `init`. */
  totalNotfinite: NDArray;
  innerState: S;
}

/**
 * Skips updates that contain a NaN or ±inf: the update becomes zero and the inner state is kept
 * (Optax's `apply_if_finite`). After more than `maxConsecutiveErrors` such updates in a row, it
 * gives up and applies them.
 *
 * @param inner the optimiser to protect.
 * @param maxConsecutiveErrors how many non-finite updates in a row to skip (a whole number ≥ 0).
 */
export function applyIfFinite<S>(
  inner: GradientTransformation<S>,
  maxConsecutiveErrors: number,
): GradientTransformation<ApplyIfFiniteState<S>> {
  const operation = "optim.applyIfFinite";
  checkTransformation(operation, inner, "the inner optimiser");
  const maxErrors = checkNumber(operation, "maxConsecutiveErrors", maxConsecutiveErrors, {
    min: 0,
    integer: true,
  });
  return transformation(
    operation,
    (params) => ({
      notfiniteCount: zeroCount(),
      lastFinite: np.array(true),
      totalNotfinite: zeroCount(),
      innerState: inner.init(params),
    }),
    (updates, state, params) => {
      const finite = tree
        .leaves(updates)
        .reduce<NDArray>(
          (all, leaf) => np.logicalAnd(all, np.all(np.isfinite(leaf as NDArray))),
          np.array(true),
        );
      const notfiniteCount = np.where(finite, 0, safeIncrement(state.notfiniteCount));
      const accept = np.logicalOr(finite, notfiniteCount.gt(maxErrors));
      const [fresh, freshState] = inner.update(updates, state.innerState, params);
      const out = tree.map((u: NDArray) => np.where(accept, u, np.zerosLike(u)), fresh);
      const innerState = tree.map(
        (next: NDArray, old: NDArray) => np.where(accept, next, old),
        freshState,
        state.innerState,
      ) as S;
      const totalNotfinite = np.where(
        finite,
        state.totalNotfinite,
        safeIncrement(state.totalNotfinite),
      );
      return [out, { notfiniteCount, lastFinite: finite, totalNotfinite, innerState }];
    },
  );
}

// ── multiSteps ───────────────────────────────────────────────────────────────────────────

/** The state of {@link multiSteps}. */
export interface MultiStepsState<S> {
  /** Mini-steps accumulated since the last real update (0 right after one). */
  miniStep: NDArray;
  /** Real (inner) updates made so far. */
  gradientStep: NDArray;
  innerOptState: S;
  /** The gradients accumulated so far (their running mean, or sum). */
  accGrads: unknown;
}

/**
 * Gradient accumulation (Optax's `MultiSteps`): gathers the updates of `k` consecutive calls and
 * hands their mean (or sum) to `inner` on the k-th; the calls in between return zero updates
 * and leave the inner state alone. `k` may change with the number of real updates made.
 *
 * @param inner the optimiser that sees the accumulated gradients.
 * @param everyKSchedule `k`, a whole number ≥ 1, or a function of the count of real updates
 *   (an int32 scalar) returning it.
 * @param options.useGradMean average the accumulated gradients (default `true`) or sum them.
 */
export function multiSteps<S>(
  inner: GradientTransformation<S>,
  everyKSchedule: number | ((gradientStep: NDArray) => NDArray | number),
  options: { useGradMean?: boolean } = {},
): GradientTransformation<MultiStepsState<S>> {
  const operation = "optim.multiSteps";
  checkTransformation(operation, inner, "the inner optimiser");
  const useMean = checkFlag(operation, "useGradMean", options.useGradMean ?? true);
  if (typeof everyKSchedule === "number") {
    checkNumber(operation, "everyKSchedule", everyKSchedule, { min: 1, integer: true });
  } else if (typeof everyKSchedule !== "function") {
    throw new ValueError(
      operation,
      `everyKSchedule must be a whole number ≥ 1 or a function of the step, got ${typeof everyKSchedule}.`,
    );
  }
  return transformation(
    operation,
    (params) => ({
      miniStep: zeroCount(),
      gradientStep: zeroCount(),
      innerOptState: inner.init(params),
      accGrads: treeZerosLike(params),
    }),
    (updates, state, params) => {
      const k =
        typeof everyKSchedule === "number"
          ? everyKSchedule
          : scheduleValue(operation, everyKSchedule, state.gradientStep);
      const n = state.miniStep;
      // Welford's running mean, as Optax: acc + (g − acc) / (n + 1).
      const acc = tree.map(
        (g: NDArray, a: NDArray) => (useMean ? a.add(g.sub(a).div(n.add(1))) : g.add(a)),
        updates,
        state.accGrads,
      );
      const [fresh, freshState] = inner.update(acc, state.innerOptState, params);
      const emit = np.equal(n, np.subtract(k, 1));
      const out = tree.map((u: NDArray) => np.where(emit, u, np.zerosLike(u)), fresh);
      const next: MultiStepsState<S> = {
        miniStep: np.mod(safeIncrement(n), k),
        gradientStep: np.where(emit, safeIncrement(state.gradientStep), state.gradientStep),
        innerOptState: tree.map(
          (nextLeaf: NDArray, old: NDArray) => np.where(emit, nextLeaf, old),
          freshState,
          state.innerOptState,
        ) as S,
        accGrads: tree.map((a: NDArray) => np.where(emit, np.zerosLike(a), a), acc),
      };
      return [out, next];
    },
  );
}

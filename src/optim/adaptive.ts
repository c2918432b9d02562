/**
 * More adaptive optimisers, each a chain exactly as Optax builds it: NAdam(W), RAdam, AdaBelief,
 * Yogi, Adadelta and AMSGrad, with their building blocks (`scaleByRadam`, `scaleByBelief`,
 * `scaleByYogi`, `scaleByAdadelta`, `scaleByAmsgrad`) written equation for equation after
 * Optax's transformations of the same names.
 */
import type { NDArray } from "../core/array.js";
import * as tree from "../core/tree.js";
import * as np from "../numpy/index.js";
import {
  adam,
  adamw,
  type AdamOptions,
  type AdamWOptions,
  type LearningRateOptions,
} from "./aliases.js";
import { chain, named, transformation, type GradientTransformation } from "./base.js";
import {
  adamDirection,
  biasCorrection,
  safeIncrement,
  treeFullLike,
  treeZerosLike,
  updateMoment,
  updateMomentSquared,
  zeroCount,
} from "./numerics.js";
import {
  checkFlag,
  checkNumber,
  checkScalarOrSchedule,
  nonNegative,
  optionsOf,
  unitOpen,
  type ScalarOrSchedule,
} from "./options.js";
import { addDecayedWeights, scaleByLearningRate, type ScaleByAdamState } from "./transforms.js";

/** The options of the Adam-like rescalings: moment decays and the two epsilons. */
export interface MomentOptions {
  /** Decay of the first moment, in [0, 1) (default 0.9). */
  b1?: number;
  /** Decay of the second moment, in [0, 1) (default 0.999). */
  b2?: number;
  /** Added to the denominator outside the square root. */
  eps?: number;
  /** Added to the second moment inside the square root. */
  epsRoot?: number;
}

function moments(
  operation: string,
  o: MomentOptions,
  defaults: { eps: number; epsRoot: number },
): { b1: number; b2: number; eps: number; epsRoot: number } {
  return {
    b1: checkNumber(operation, "b1", o.b1 ?? 0.9, unitOpen),
    b2: checkNumber(operation, "b2", o.b2 ?? 0.999, unitOpen),
    eps: checkNumber(operation, "eps", o.eps ?? defaults.eps, nonNegative),
    epsRoot: checkNumber(operation, "epsRoot", o.epsRoot ?? defaults.epsRoot, nonNegative),
  };
}

/** m̂: the bias-corrected first moment, or its Nesterov form b1·m̂ₜ₊₁ + (1 − b1)·ĝ. */
function firstMomentHat(
  mu: unknown,
  updates: unknown,
  b1: number,
  count: NDArray,
  nesterov: boolean,
): unknown {
  if (!nesterov) return biasCorrection(mu, b1, count);
  return tree.map(
    (m: NDArray, g: NDArray) => m.mul(b1).add(g.mul(1 - b1)),
    biasCorrection(mu, b1, safeIncrement(count)),
    biasCorrection(updates, b1, count),
  );
}

// ── RAdam ────────────────────────────────────────────────────────────────────────────────

/** Options of {@link scaleByRadam}. */
export interface ScaleByRadamOptions extends MomentOptions {
  /** The length ρ of the approximated moving average from which the variance is rectified (default 5). */
  threshold?: number;
  /** Nesterov momentum (default `false`). */
  nesterov?: boolean;
}

/**
 * Rescales updates as Rectified Adam does (Optax's `scale_by_radam`): with ρ∞ = 2/(1 − b2) − 1
 * and ρₜ = ρ∞ − 2t·b2ᵗ/(1 − b2ᵗ), the update is r·m̂/(√(v̂ + epsRoot) + eps) once ρₜ ≥
 * `threshold` (r the variance rectification), and m̂ (plain momentum) before.
 */
export function scaleByRadam(
  options: ScaleByRadamOptions = {},
): GradientTransformation<ScaleByAdamState> {
  const operation = "optim.scaleByRadam";
  const { b1, b2, eps, epsRoot } = moments(operation, options, { eps: 1e-8, epsRoot: 0 });
  const threshold = checkNumber(operation, "threshold", options.threshold ?? 5);
  const nesterov = checkFlag(operation, "nesterov", options.nesterov ?? false);
  const roInf = 2 / (1 - b2) - 1;
  return transformation(
    operation,
    (params) => ({ count: zeroCount(), mu: treeZerosLike(params), nu: treeZerosLike(params) }),
    (updates, state) => {
      const mu = updateMoment(updates, state.mu, b1);
      const nu = updateMomentSquared(updates, state.nu, b2);
      const count = safeIncrement(state.count);
      const muHat = firstMomentHat(mu, updates, b1, count, nesterov);
      const nuHat = biasCorrection(nu, b2, count);
      const out = tree.map(
        (m: NDArray, v: NDArray) => {
          // ρₜ and r in the leaf's dtype, as the bias corrections.
          const t = count.astype(m.dtype);
          const b2t = np.power(b2, t);
          const ro = np.subtract(roInf, t.mul(2).mul(b2t).div(np.subtract(1, b2t)));
          const r = np.sqrt(
            ro
              .sub(4)
              .mul(ro.sub(2))
              .mul(roInf)
              .div(ro.mul((roInf - 4) * (roInf - 2))),
          );
          const rectified = r.mul(m).div(np.sqrt(v.add(epsRoot)).add(eps));
          return np.where(ro.ge(threshold), rectified, m);
        },
        muHat,
        nuHat,
      );
      return [out, { count, mu, nu }];
    },
  );
}

// ── AdaBelief ────────────────────────────────────────────────────────────────────────────

/**
 * Rescales updates as AdaBelief does (Optax's `scale_by_belief`): the second moment tracks the
 * squared prediction error (g − m)², plus `epsRoot` kept in the state; the update is
 * m̂/(√ŝ + eps).
 */
export function scaleByBelief(
  options: MomentOptions & { nesterov?: boolean } = {},
): GradientTransformation<ScaleByAdamState> {
  const operation = "optim.scaleByBelief";
  const { b1, b2, eps, epsRoot } = moments(operation, options, { eps: 1e-16, epsRoot: 1e-16 });
  const nesterov = checkFlag(operation, "nesterov", options.nesterov ?? false);
  return transformation(
    operation,
    (params) => ({ count: zeroCount(), mu: treeZerosLike(params), nu: treeZerosLike(params) }),
    (updates, state) => {
      const mu = updateMoment(updates, state.mu, b1);
      const error = tree.map((g: NDArray, m: NDArray) => g.sub(m), updates, mu);
      const nu = tree.map((v: NDArray) => v.add(epsRoot), updateMomentSquared(error, state.nu, b2));
      const count = safeIncrement(state.count);
      const muHat = firstMomentHat(mu, updates, b1, count, nesterov);
      const nuHat = biasCorrection(nu, b2, count);
      const out = tree.map((m: NDArray, v: NDArray) => m.div(np.sqrt(v).add(eps)), muHat, nuHat);
      return [out, { count, mu, nu }];
    },
  );
}

// ── Yogi ─────────────────────────────────────────────────────────────────────────────────

/**
 * Rescales updates as Yogi does (Optax's `scale_by_yogi`): the second moment moves additively,
 * v ← v − (1 − b2)·sign(v − g²)·g², both moments starting at `initialAccumulatorValue`; the
 * update is m̂/(√(v̂ + epsRoot) + eps).
 */
export function scaleByYogi(
  options: MomentOptions & { initialAccumulatorValue?: number } = {},
): GradientTransformation<ScaleByAdamState> {
  const operation = "optim.scaleByYogi";
  const { b1, b2, eps, epsRoot } = moments(operation, options, { eps: 1e-3, epsRoot: 0 });
  const initial = checkNumber(
    operation,
    "initialAccumulatorValue",
    options.initialAccumulatorValue ?? 1e-6,
    nonNegative,
  );
  return transformation(
    operation,
    (params) => ({
      count: zeroCount(),
      mu: treeFullLike(params, initial),
      nu: treeFullLike(params, initial),
    }),
    (updates, state) => {
      const mu = updateMoment(updates, state.mu, b1);
      const nu = tree.map(
        (g: NDArray, v: NDArray) => {
          const g2 = g.mul(g);
          return v.sub(
            np
              .sign(v.sub(g2))
              .mul(g2)
              .mul(1 - b2),
          );
        },
        updates,
        state.nu,
      );
      const count = safeIncrement(state.count);
      const muHat = biasCorrection(mu, b1, count);
      const nuHat = biasCorrection(nu, b2, count);
      const out = adamDirection(muHat, nuHat, eps, epsRoot);
      return [out, { count, mu, nu }];
    },
  );
}

// ── Adadelta ─────────────────────────────────────────────────────────────────────────────

/** The state of {@link scaleByAdadelta}: moving averages of squared gradients and updates. */
export interface ScaleByAdadeltaState {
  eG: unknown;
  eX: unknown;
}

/**
 * Rescales updates as Adadelta does (Optax's `scale_by_adadelta`): E[g²] ← ρ·E[g²] + (1 − ρ)g²,
 * the update is √(E[Δx²] + eps)/√(E[g²] + eps)·g, and E[Δx²] then averages its square.
 */
export function scaleByAdadelta(
  options: { rho?: number; eps?: number } = {},
): GradientTransformation<ScaleByAdadeltaState> {
  const operation = "optim.scaleByAdadelta";
  const rho = checkNumber(operation, "rho", options.rho ?? 0.9, unitOpen);
  const eps = checkNumber(operation, "eps", options.eps ?? 1e-6, nonNegative);
  return transformation(
    operation,
    (params) => ({ eG: treeZerosLike(params), eX: treeZerosLike(params) }),
    (updates, state) => {
      const eG = updateMomentSquared(updates, state.eG, rho);
      const out = tree.map(
        (g: NDArray, current: NDArray, previous: NDArray) =>
          np
            .sqrt(previous.add(eps))
            .div(np.sqrt(current.add(eps)))
            .mul(g),
        updates,
        eG,
        state.eX,
      );
      const eX = updateMomentSquared(out, state.eX, rho);
      return [out, { eG, eX }];
    },
  );
}

// ── AMSGrad ──────────────────────────────────────────────────────────────────────────────

/** The state of {@link scaleByAmsgrad}: Adam's, and the running maximum of v̂. */
export interface ScaleByAmsgradState extends ScaleByAdamState {
  nuMax: unknown;
}

/**
 * Rescales updates as AMSGrad does (Optax's `scale_by_amsgrad`): Adam's moments, with the
 * update m̂/(√(v̂max + epsRoot) + eps) for the running maximum v̂max of the bias-corrected v̂.
 */
export function scaleByAmsgrad(
  options: MomentOptions = {},
): GradientTransformation<ScaleByAmsgradState> {
  const operation = "optim.scaleByAmsgrad";
  const { b1, b2, eps, epsRoot } = moments(operation, options, { eps: 1e-8, epsRoot: 0 });
  return transformation(
    operation,
    (params) => ({
      count: zeroCount(),
      mu: treeZerosLike(params),
      nu: treeZerosLike(params),
      nuMax: treeZerosLike(params),
    }),
    (updates, state) => {
      const mu = updateMoment(updates, state.mu, b1);
      const nu = updateMomentSquared(updates, state.nu, b2);
      const count = safeIncrement(state.count);
      const muHat = biasCorrection(mu, b1, count);
      const nuHat = biasCorrection(nu, b2, count);
      const nuMax = tree.map((a: NDArray, b: NDArray) => np.maximum(a, b), state.nuMax, nuHat);
      const out = adamDirection(muHat, nuMax, eps, epsRoot);
      return [out, { count, mu, nu, nuMax }];
    },
  );
}

// ── the optimisers ───────────────────────────────────────────────────────────────────────

/** NAdam (Optax's `nadam`): `adam` with Nesterov momentum. */
export function nadam(options: Omit<AdamOptions, "nesterov">): GradientTransformation {
  return named("optim.nadam", adam({ ...optionsOf("optim.nadam", options), nesterov: true }));
}

/** NAdamW (Optax's `nadamw`): `adamw` with Nesterov momentum. */
export function nadamw(options: Omit<AdamWOptions, "nesterov">): GradientTransformation {
  return named("optim.nadamw", adamw({ ...optionsOf("optim.nadamw", options), nesterov: true }));
}

function learningRateOf(operation: string, o: LearningRateOptions): ScalarOrSchedule {
  return checkScalarOrSchedule(operation, "learningRate", o.learningRate);
}

/**
 * Rectified Adam (Optax's `radam`): `chain(scaleByRadam(…), scaleByLearningRate(lr))`.
 */
export function radam(options: LearningRateOptions & ScaleByRadamOptions): GradientTransformation {
  const operation = "optim.radam";
  const o = optionsOf(operation, options);
  const checked = {
    ...moments(operation, o, { eps: 1e-8, epsRoot: 0 }),
    threshold: checkNumber(operation, "threshold", o.threshold ?? 5),
    nesterov: checkFlag(operation, "nesterov", o.nesterov ?? false),
  };
  return named(
    operation,
    chain(scaleByRadam(checked), scaleByLearningRate(learningRateOf(operation, o))),
  );
}

/** AdaBelief (Optax's `adabelief`): `chain(scaleByBelief(…), scaleByLearningRate(lr))`. */
export function adabelief(
  options: LearningRateOptions & MomentOptions & { nesterov?: boolean },
): GradientTransformation {
  const operation = "optim.adabelief";
  const o = optionsOf(operation, options);
  const checked = {
    ...moments(operation, o, { eps: 1e-16, epsRoot: 1e-16 }),
    nesterov: checkFlag(operation, "nesterov", o.nesterov ?? false),
  };
  return named(
    operation,
    chain(scaleByBelief(checked), scaleByLearningRate(learningRateOf(operation, o))),
  );
}

/** Yogi (Optax's `yogi`): `chain(scaleByYogi(…), scaleByLearningRate(lr))`. */
export function yogi(
  options: LearningRateOptions & MomentOptions & { initialAccumulatorValue?: number },
): GradientTransformation {
  const operation = "optim.yogi";
  const o = optionsOf(operation, options);
  const checked = {
    ...moments(operation, o, { eps: 1e-3, epsRoot: 0 }),
    initialAccumulatorValue: checkNumber(
      operation,
      "initialAccumulatorValue",
      o.initialAccumulatorValue ?? 1e-6,
      nonNegative,
    ),
  };
  return named(
    operation,
    chain(scaleByYogi(checked), scaleByLearningRate(learningRateOf(operation, o))),
  );
}

/**
 * Adadelta (Optax's `adadelta`):
 * `chain(addDecayedWeights(weightDecay), scaleByAdadelta({rho, eps}), scaleByLearningRate(lr))`.
 */
export function adadelta(
  options: LearningRateOptions & { rho?: number; eps?: number; weightDecay?: number },
): GradientTransformation {
  const operation = "optim.adadelta";
  const o = optionsOf(operation, options);
  const weightDecay = checkNumber(operation, "weightDecay", o.weightDecay ?? 0, nonNegative);
  return named(
    operation,
    chain(
      addDecayedWeights(weightDecay),
      scaleByAdadelta({
        rho: checkNumber(operation, "rho", o.rho ?? 0.9, unitOpen),
        eps: checkNumber(operation, "eps", o.eps ?? 1e-6, nonNegative),
      }),
      scaleByLearningRate(learningRateOf(operation, o)),
    ),
  );
}

/** AMSGrad (Optax's `amsgrad`): `chain(scaleByAmsgrad(…), scaleByLearningRate(lr))`. */
export function amsgrad(options: LearningRateOptions & MomentOptions): GradientTransformation {
  const operation = "optim.amsgrad";
  const o = optionsOf(operation, options);
  const checked = moments(operation, o, { eps: 1e-8, epsRoot: 0 });
  return named(
    operation,
    chain(scaleByAmsgrad(checked), scaleByLearningRate(learningRateOf(operation, o))),
  );
}

/**
 * The building blocks the optimisers are chains of: rescalings (by a constant, a schedule, Adam's
 * moments, RMS, the sum of squares, Lion's sign, a trust ratio), momentum (`trace`) and weight
 * decay. Each follows the Optax transformation of the same name, equation for equation.
 */
import type { NDArray } from "../core/array.js";
import { ValueError } from "../core/errors.js";
import * as tree from "../core/tree.js";
import * as np from "../numpy/index.js";
import { errorName, transformation, type EmptyState, type GradientTransformation } from "./base.js";
import {
  adamDirection,
  biasCorrection,
  safeIncrement,
  safeNorm,
  treeFullLike,
  treeZerosLike,
  updateInfinityMoment,
  updateMoment,
  updateMomentSquared,
  zeroCount,
} from "./numerics.js";
import {
  checkFlag,
  checkNumber,
  checkScalarOrSchedule,
  nonNegative,
  scheduleValue,
  unitClosed,
  unitOpen,
  type ScalarOrSchedule,
  type ScheduleFunction,
} from "./options.js";
import { masked, type Mask } from "./wrappers.js";

const empty = (): EmptyState => ({});

/** Each leaf times `factor`; a number keeps the leaf's dtype, an array is cast to it first. */
function scaleLeaves(updates: unknown, factor: NDArray | number): unknown {
  return tree.map(
    (g: NDArray) => g.mul(typeof factor === "number" ? factor : factor.astype(g.dtype)),
    updates,
  );
}

// ── scaling ──────────────────────────────────────────────────────────────────────────────

/**
 * Multiplies the updates by a fixed `stepSize` (Optax's `scale`). Keeps no state.
 *
 * @param stepSize any finite number (negative flips the direction).
 */
export function scale(stepSize: number): GradientTransformation<EmptyState> {
  const factor = checkNumber("optim.scale", "stepSize", stepSize);
  return transformation("optim.scale", empty, (updates, state) => [
    scaleLeaves(updates, factor),
    state,
  ]);
}

/** The state of {@link scaleBySchedule}: how many updates were made. */
export interface ScaleByScheduleState {
  count: NDArray;
}

/**
 * Multiplies the updates by `stepSizeFn(count)`, where `count` (an int32 scalar in the state)
 * is the number of updates made before this one (Optax's `scale_by_schedule`).
 *
 * @param stepSizeFn a schedule: the step count to a number or scalar array.
 */
export function scaleBySchedule(
  stepSizeFn: ScheduleFunction,
): GradientTransformation<ScaleByScheduleState> {
  const operation = "optim.scaleBySchedule";
  if (typeof stepSizeFn !== "function") {
    throw new ValueError(operation, `expects a schedule function, got ${typeof stepSizeFn}.`);
  }
  return transformation(
    operation,
    () => ({ count: zeroCount() }),
    (updates, state) => {
      const stepSize = scheduleValue(operation, stepSizeFn, state.count);
      return [scaleLeaves(updates, stepSize), { count: safeIncrement(state.count) }];
    },
  );
}

/**
 * Multiplies the updates by −`learningRate` (gradient *descent*), fixed or scheduled (Optax's
 * `scale_by_learning_rate`). A schedule is called with the count of earlier updates (0 first).
 *
 * @param learningRate a number ≥ 0 or a schedule.
 * @param options.flipSign `false` multiplies by +`learningRate` instead (default `true`).
 */
export function scaleByLearningRate(
  learningRate: ScalarOrSchedule,
  options: { flipSign?: boolean } = {},
): GradientTransformation<EmptyState | ScaleByScheduleState> {
  const operation = "optim.scaleByLearningRate";
  const lr = checkScalarOrSchedule(operation, "learningRate", learningRate);
  const sign = checkFlag(operation, "flipSign", options.flipSign ?? true) ? -1 : 1;
  if (typeof lr === "number") return scale(sign * lr);
  return scaleBySchedule((count) => {
    const value = scheduleValue(operation, lr, count);
    return typeof value === "number" ? sign * value : value.mul(sign);
  });
}

// ── Adam and relatives ───────────────────────────────────────────────────────────────────

/** Options of {@link scaleByAdam}. */
export interface ScaleByAdamOptions {
  /** Decay of the moving average of the gradients, in [0, 1) (default 0.9). */
  b1?: number;
  /** Decay of the moving average of the squared gradients, in [0, 1) (default 0.999). */
  b2?: number;
  /** Added to the denominator outside the square root (default 1e-8). */
  eps?: number;
  /** Added to the second moment inside the square root (default 0). */
  epsRoot?: number;
  /** Nesterov momentum (NAdam, as Optax's `nesterov=True`; default `false`). */
  nesterov?: boolean;
}

/** The state of {@link scaleByAdam} and {@link scaleByAdamax}. */
export interface ScaleByAdamState {
  count: NDArray;
  mu: unknown;
  nu: unknown;
}

/**
 * Rescales updates as Adam does (Optax's `scale_by_adam`): with bias-corrected moving averages
 * m̂ and v̂ of the gradients and their squares, the update is m̂ / (√(v̂ + epsRoot) + eps).
 *
 * @example
 * const t = scaleByAdam();
 * const [u, state] = t.update({ w: np.array([0.5, -3]) }, t.init({ w: np.zeros([2]) }));
 * console.log(u.w.toList(), state.count.item()); // ≈ [1, -1] 1: the first step is the sign
 */
export function scaleByAdam(
  options: ScaleByAdamOptions = {},
): GradientTransformation<ScaleByAdamState> {
  const operation = "optim.scaleByAdam";
  const b1 = checkNumber(operation, "b1", options.b1 ?? 0.9, unitOpen);
  const b2 = checkNumber(operation, "b2", options.b2 ?? 0.999, unitOpen);
  const eps = checkNumber(operation, "eps", options.eps ?? 1e-8, nonNegative);
  const epsRoot = checkNumber(operation, "epsRoot", options.epsRoot ?? 0, nonNegative);
  const nesterov = checkFlag(operation, "nesterov", options.nesterov ?? false);
  return transformation(
    operation,
    (params) => ({ count: zeroCount(), mu: treeZerosLike(params), nu: treeZerosLike(params) }),
    (updates, state) => {
      const mu = updateMoment(updates, state.mu, b1);
      const nu = updateMomentSquared(updates, state.nu, b2);
      const count = safeIncrement(state.count);
      const muHat = nesterov
        ? tree.map(
            (m: NDArray, g: NDArray) => m.mul(b1).add(g.mul(1 - b1)),
            biasCorrection(mu, b1, safeIncrement(count)),
            biasCorrection(updates, b1, count),
          )
        : biasCorrection(mu, b1, count);
      const nuHat = biasCorrection(nu, b2, count);
      const out = adamDirection(muHat, nuHat, eps, epsRoot);
      return [out, { count, mu, nu }];
    },
  );
}

/**
 * Rescales updates as Adamax does (Optax's `scale_by_adamax`): m̂ / u, with u the decayed
 * maximum `max(|g| + eps, b2·u)` of the gradients' magnitudes.
 */
export function scaleByAdamax(
  options: { b1?: number; b2?: number; eps?: number } = {},
): GradientTransformation<ScaleByAdamState> {
  const operation = "optim.scaleByAdamax";
  const b1 = checkNumber(operation, "b1", options.b1 ?? 0.9, unitOpen);
  const b2 = checkNumber(operation, "b2", options.b2 ?? 0.999, unitOpen);
  const eps = checkNumber(operation, "eps", options.eps ?? 1e-8, nonNegative);
  return transformation(
    operation,
    (params) => ({ count: zeroCount(), mu: treeZerosLike(params), nu: treeZerosLike(params) }),
    (updates, state) => {
      const count = safeIncrement(state.count);
      const mu = updateMoment(updates, state.mu, b1);
      const nu = updateInfinityMoment(updates, state.nu, b2, eps);
      const muHat = biasCorrection(mu, b1, count);
      const out = tree.map((m: NDArray, v: NDArray) => m.div(v), muHat, nu);
      return [out, { count, mu, nu }];
    },
  );
}

/** The state of {@link scaleByLion}. */
export interface ScaleByLionState {
  count: NDArray;
  mu: unknown;
}

/**
 * Rescales updates as Lion does (Optax's `scale_by_lion`): the update is
 * sign((1 − b1)·g + b1·m), and the momentum m then moves to (1 − b2)·g + b2·m.
 */
export function scaleByLion(
  options: { b1?: number; b2?: number } = {},
): GradientTransformation<ScaleByLionState> {
  const operation = "optim.scaleByLion";
  const b1 = checkNumber(operation, "b1", options.b1 ?? 0.9, unitClosed);
  const b2 = checkNumber(operation, "b2", options.b2 ?? 0.99, unitClosed);
  return transformation(
    operation,
    (params) => ({ count: zeroCount(), mu: treeZerosLike(params) }),
    (updates, state) => {
      const out = tree.map(
        (g: NDArray, m: NDArray) => np.sign(g.mul(1 - b1).add(m.mul(b1))),
        updates,
        state.mu,
      );
      const mu = updateMoment(updates, state.mu, b2);
      return [out, { count: safeIncrement(state.count), mu }];
    },
  );
}

// ── RMSProp and Adagrad ──────────────────────────────────────────────────────────────────

/** Options of {@link scaleByRms} and {@link scaleByStddev}. */
export interface ScaleByRmsOptions {
  /** Decay of the moving average of the squared gradients, in [0, 1] (default 0.9). */
  decay?: number;
  /** Added to the denominator (default 1e-8). */
  eps?: number;
  /** The accumulators' starting value (default 0, as PyTorch; TF1 uses 1). */
  initialScale?: number;
  /** `true` (default, Optax's): 1/√(v + eps); `false` (PyTorch's): 1/(√v + eps). */
  epsInSqrt?: boolean;
  /** Bias-correct the moving averages, as Adam does (default `false`). */
  biasCorrection?: boolean;
}

/** The state of {@link scaleByRms} (`count` only with `biasCorrection`). */
export interface ScaleByRmsState {
  count?: NDArray;
  nu: unknown;
}

/** The state of {@link scaleByStddev} (`count` only with `biasCorrection`). */
export interface ScaleByStddevState {
  count?: NDArray;
  mu: unknown;
  nu: unknown;
}

function rmsOptions(operation: string, options: ScaleByRmsOptions) {
  return {
    decay: checkNumber(operation, "decay", options.decay ?? 0.9, unitClosed),
    eps: checkNumber(operation, "eps", options.eps ?? 1e-8, nonNegative),
    initialScale: checkNumber(operation, "initialScale", options.initialScale ?? 0, nonNegative),
    epsInSqrt: checkFlag(operation, "epsInSqrt", options.epsInSqrt ?? true),
    biasCorrection: checkFlag(operation, "biasCorrection", options.biasCorrection ?? false),
  };
}

/** 1/√(x + eps) or 1/(√x + eps). */
function inverseRoot(x: NDArray, eps: number, epsInSqrt: boolean): NDArray {
  return epsInSqrt ? np.divide(1, np.sqrt(x.add(eps))) : np.divide(1, np.sqrt(x).add(eps));
}

/**
 * Divides the updates by the root of a moving average of their squares (Optax's `scale_by_rms`,
 * the heart of RMSProp).
 */
export function scaleByRms(
  options: ScaleByRmsOptions = {},
): GradientTransformation<ScaleByRmsState> {
  const operation = "optim.scaleByRms";
  const o = rmsOptions(operation, options);
  return transformation(
    operation,
    (params): ScaleByRmsState => {
      const nu = treeFullLike(params, o.initialScale);
      return o.biasCorrection ? { count: zeroCount(), nu } : { nu };
    },
    (updates, state) => {
      const nu = updateMomentSquared(updates, state.nu, o.decay);
      const count = o.biasCorrection ? safeIncrement(state.count!) : undefined;
      const nuHat = count === undefined ? nu : biasCorrection(nu, o.decay, count);
      const out = tree.map(
        (v: NDArray, g: NDArray) => inverseRoot(v, o.eps, o.epsInSqrt).mul(g),
        nuHat,
        updates,
      );
      return [out, count === undefined ? { nu } : { count, nu }];
    },
  );
}

/**
 * Divides the updates by the root of the centred moving average of their squares, v − m²
 * (Optax's `scale_by_stddev`, centred RMSProp).
 */
export function scaleByStddev(
  options: ScaleByRmsOptions = {},
): GradientTransformation<ScaleByStddevState> {
  const operation = "optim.scaleByStddev";
  const o = rmsOptions(operation, options);
  return transformation(
    operation,
    (params): ScaleByStddevState => {
      const mu = treeZerosLike(params);
      const nu = treeFullLike(params, o.initialScale);
      return o.biasCorrection ? { count: zeroCount(), mu, nu } : { mu, nu };
    },
    (updates, state) => {
      const mu = updateMoment(updates, state.mu, o.decay);
      const nu = updateMomentSquared(updates, state.nu, o.decay);
      const count = o.biasCorrection ? safeIncrement(state.count!) : undefined;
      const muHat = count === undefined ? mu : biasCorrection(mu, o.decay, count);
      const nuHat = count === undefined ? nu : biasCorrection(nu, o.decay, count);
      const out = tree.map(
        (m: NDArray, v: NDArray, g: NDArray) =>
          inverseRoot(v.sub(m.mul(m)), o.eps, o.epsInSqrt).mul(g),
        muHat,
        nuHat,
        updates,
      );
      return [out, count === undefined ? { mu, nu } : { count, mu, nu }];
    },
  );
}

/** The state of {@link scaleByRss}. */
export interface ScaleByRssState {
  sumOfSquares: unknown;
}

/**
 * Divides the updates by the root of the sum of all squared gradients so far (Optax's
 * `scale_by_rss`, Adagrad's rescaling): g / √(Σg² + eps), and 0 where the sum is 0.
 *
 * @param options.initialAccumulatorValue the sum's starting value, ≥ 0 (default 0.1).
 * @param options.eps added inside the square root (default 1e-7).
 */
export function scaleByRss(
  options: { initialAccumulatorValue?: number; eps?: number } = {},
): GradientTransformation<ScaleByRssState> {
  const operation = "optim.scaleByRss";
  const initial = checkNumber(
    operation,
    "initialAccumulatorValue",
    options.initialAccumulatorValue ?? 0.1,
    nonNegative,
  );
  const eps = checkNumber(operation, "eps", options.eps ?? 1e-7, nonNegative);
  return transformation(
    operation,
    (params) => ({ sumOfSquares: treeFullLike(params, initial) }),
    (updates, state) => {
      const sumOfSquares = tree.map(
        (g: NDArray, t: NDArray) => g.mul(g).add(t),
        updates,
        state.sumOfSquares,
      );
      const out = tree.map(
        (t: NDArray, g: NDArray) => np.where(t.gt(0), np.divide(1, np.sqrt(t.add(eps))), 0).mul(g),
        sumOfSquares,
        updates,
      );
      return [out, { sumOfSquares }];
    },
  );
}

/**
 * Scales each leaf's update by the trust ratio ‖param‖ / (‖update‖ + eps), or by 1 where either
 * norm is 0 (Optax's `scale_by_trust_ratio`, used by LAMB). Needs `params`.
 *
 * @param options.minNorm norms below this count as this (default 0).
 * @param options.trustCoefficient multiplies the ratio (default 1).
 * @param options.eps added to the update's norm (default 0).
 */
export function scaleByTrustRatio(
  options: { minNorm?: number; trustCoefficient?: number; eps?: number } = {},
): GradientTransformation<EmptyState> {
  const operation = "optim.scaleByTrustRatio";
  const minNorm = checkNumber(operation, "minNorm", options.minNorm ?? 0, nonNegative);
  const coefficient = checkNumber(operation, "trustCoefficient", options.trustCoefficient ?? 1);
  const eps = checkNumber(operation, "eps", options.eps ?? 0, nonNegative);
  return transformation(operation, empty, (updates, state, params) => {
    const p = requireParams(operation, params);
    const out = tree.map(
      (u: NDArray, w: NDArray) => {
        const paramNorm = safeNorm(w, minNorm);
        const updateNorm = safeNorm(u, minNorm);
        const ratio = paramNorm.mul(coefficient).div(updateNorm.add(eps));
        const zero = np.logicalOr(paramNorm.eq(0), updateNorm.eq(0));
        return u.mul(np.where(zero, np.ones([], { dtype: w.dtype }), ratio));
      },
      updates,
      p,
    );
    return [out, state];
  });
}

// ── momentum and weight decay ────────────────────────────────────────────────────────────

/** The state of {@link trace}. */
export interface TraceState {
  trace: unknown;
}

/**
 * Momentum (Optax's `trace`): t ← g + decay·t; the update is t, or g + decay·t with Nesterov.
 *
 * @param options.decay the momentum, in [0, 1] (default 0.9).
 * @param options.nesterov Nesterov momentum (default `false`).
 */
export function trace(
  options: { decay?: number; nesterov?: boolean } = {},
): GradientTransformation<TraceState> {
  const operation = "optim.trace";
  const decay = checkNumber(operation, "decay", options.decay ?? 0.9, unitClosed);
  const nesterov = checkFlag(operation, "nesterov", options.nesterov ?? false);
  const step = (g: NDArray, t: NDArray): NDArray => g.add(t.mul(decay));
  return transformation(
    operation,
    (params) => ({ trace: treeZerosLike(params) }),
    (updates, state) => {
      const next = tree.map(step, updates, state.trace);
      return [nesterov ? tree.map(step, updates, next) : next, { trace: next }];
    },
  );
}

function requireParams(operation: string, params: unknown): unknown {
  if (params === undefined) {
    throw new ValueError(
      errorName(operation),
      `needs the parameters: call update(grads, state, params), not update(grads, state).`,
    );
  }
  return params;
}

/**
 * Adds `weightDecay · params` to the updates (Optax's `add_decayed_weights`): decoupled weight
 * decay when it comes before the learning rate in a chain. Needs `params`.
 *
 * @param weightDecay the decay rate (any finite number).
 * @param mask which leaves to decay: a pytree of booleans shaped like (a prefix of) the
 *   parameters, or a function of the parameters returning one; `undefined` decays all.
 */
export function addDecayedWeights(
  weightDecay = 0,
  mask?: Mask,
): GradientTransformation<EmptyState | { innerState: EmptyState }> {
  const operation = "optim.addDecayedWeights";
  const rate = checkNumber(operation, "weightDecay", weightDecay);
  const decay = transformation(operation, empty, (updates, state, params) => {
    const p = requireParams(operation, params);
    return [tree.map((g: NDArray, w: NDArray) => g.add(w.mul(rate)), updates, p), state];
  });
  return mask === undefined ? decay : masked(decay, mask);
}

/**
 * The popular optimisers, each a chain of building blocks exactly as Optax builds them (same
 * names, defaults, order of the links, and so the same update equations and the same state).
 */
import { chain, identity, named, type GradientTransformation } from "./base.js";
import {
  addDecayedWeights,
  scaleByAdam,
  scaleByAdamax,
  scaleByLearningRate,
  scaleByLion,
  scaleByRms,
  scaleByRss,
  scaleByStddev,
  scaleByTrustRatio,
  trace,
  type ScaleByAdamOptions,
} from "./transforms.js";
import {
  checkFlag,
  checkNumber,
  checkScalarOrSchedule,
  nonNegative,
  optionsOf,
  unitClosed,
  unitOpen,
  type ScalarOrSchedule,
} from "./options.js";
import type { Mask } from "./wrappers.js";

/** Options every optimiser takes. */
export interface LearningRateOptions {
  /** The step size: a number ≥ 0, or a schedule of the step count (see `optim.schedules`). */
  learningRate: ScalarOrSchedule;
}

function learningRateOf(operation: string, options: LearningRateOptions): ScalarOrSchedule {
  return checkScalarOrSchedule(operation, "learningRate", options.learningRate);
}

function weightDecayOf(operation: string, value: number | undefined, fallback: number): number {
  return checkNumber(operation, "weightDecay", value ?? fallback, nonNegative);
}

// ── SGD ──────────────────────────────────────────────────────────────────────────────────

/** Options of {@link sgd}. */
export interface SgdOptions extends LearningRateOptions {
  /** Momentum in [0, 1] (default 0: none, and no momentum state). */
  momentum?: number;
  /** Nesterov momentum (default `false`; needs `momentum` > 0 to matter). */
  nesterov?: boolean;
}

/**
 * Stochastic gradient descent, with optional (Nesterov) momentum (Optax's `sgd`):
 * `chain(trace({decay: momentum, nesterov}), scaleByLearningRate(learningRate))`, the trace left
 * out when `momentum` is 0. Matches `torch.optim.SGD` (dampening 0).
 *
 * @example
 * const opt = sgd({ learningRate: 0.1, momentum: 0.9 });
 * const params = { w: np.array([1, -2]) };
 * const g = grad((p: typeof params) => p.w.mul(p.w).sum())(params); // 2w
 * const [updates] = opt.update(g, opt.init(params), params);
 * console.log(updates.w.toList()); // [-0.2, 0.4]
 */
export function sgd(options: SgdOptions): GradientTransformation {
  const operation = "optim.sgd";
  const o = optionsOf(operation, options);
  const learningRate = learningRateOf(operation, o);
  const momentum = checkNumber(operation, "momentum", o.momentum ?? 0, unitClosed);
  const nesterov = checkFlag(operation, "nesterov", o.nesterov ?? false);
  return named(
    operation,
    chain(
      momentum > 0 ? trace({ decay: momentum, nesterov }) : identity(),
      scaleByLearningRate(learningRate),
    ),
  );
}

// ── Adam family ──────────────────────────────────────────────────────────────────────────

/** Options of {@link adam}. */
export interface AdamOptions extends LearningRateOptions {
  /** Decay of the first moment, in [0, 1) (default 0.9). */
  b1?: number;
  /** Decay of the second moment, in [0, 1) (default 0.999). */
  b2?: number;
  /** Added to the denominator outside the square root (default 1e-8). */
  eps?: number;
  /** Added inside the square root (default 0; make it > 0 to differentiate through Adam). */
  epsRoot?: number;
  /** Nesterov momentum (NAdam; default `false`). */
  nesterov?: boolean;
}

/**
 * Adam (Optax's `adam`): `chain(scaleByAdam(…), scaleByLearningRate(learningRate))`, i.e.
 * p ← p − lr · m̂ / (√(v̂ + epsRoot) + eps) with bias-corrected moments m̂, v̂.
 *
 * @example
 * const opt = adam({ learningRate: 0.01 });
 * let params = { w: np.array([1, -2]) };
 * let state = opt.init(params);
 * const loss = (p: typeof params) => p.w.mul(p.w).sum();
 * for (let i = 0; i < 3; i++) {
 *   const [updates, next] = opt.update(grad(loss)(params), state, params);
 *   params = tree.map((p: NDArray, u: NDArray) => p.add(u), params, updates) as typeof params;
 *   state = next;
 * }
 * console.log(params.w.toList()); // ≈ [0.97, -1.97]: Adam's first steps have size lr
 */
export function adam(options: AdamOptions): GradientTransformation {
  const operation = "optim.adam";
  const o = optionsOf(operation, options);
  return named(
    operation,
    chain(
      scaleByAdam(adamOptions(operation, o)),
      scaleByLearningRate(learningRateOf(operation, o)),
    ),
  );
}

/** Adam's options, checked under the alias's name. */
function adamOptions(operation: string, o: AdamOptions, eps = 1e-8): ScaleByAdamOptions {
  return {
    b1: checkNumber(operation, "b1", o.b1 ?? 0.9, unitOpen),
    b2: checkNumber(operation, "b2", o.b2 ?? 0.999, unitOpen),
    eps: checkNumber(operation, "eps", o.eps ?? eps, nonNegative),
    epsRoot: checkNumber(operation, "epsRoot", o.epsRoot ?? 0, nonNegative),
    nesterov: checkFlag(operation, "nesterov", o.nesterov ?? false),
  };
}

/** Options of {@link adamw}. */
export interface AdamWOptions extends AdamOptions {
  /** Decoupled weight decay, ≥ 0, multiplied by the learning rate (default 1e-4). */
  weightDecay?: number;
  /** Which parameters to decay (see `optim.masked`); default all. */
  mask?: Mask;
}

/**
 * Adam with decoupled weight decay (Optax's `adamw`):
 * `chain(scaleByAdam(…), addDecayedWeights(weightDecay, mask), scaleByLearningRate(lr))`, i.e.
 * p ← p − lr · (m̂ / (√v̂ + eps) + weightDecay · p). Needs `params` in `update`.
 */
export function adamw(options: AdamWOptions): GradientTransformation {
  const operation = "optim.adamw";
  const o = optionsOf(operation, options);
  return named(
    operation,
    chain(
      scaleByAdam(adamOptions(operation, o)),
      addDecayedWeights(weightDecayOf(operation, o.weightDecay, 1e-4), o.mask),
      scaleByLearningRate(learningRateOf(operation, o)),
    ),
  );
}

/** Options of {@link adamax}. */
export interface AdamaxOptions extends LearningRateOptions {
  /** Decay of the first moment, in [0, 1) (default 0.9). */
  b1?: number;
  /** Decay of the running maximum, in [0, 1) (default 0.999). */
  b2?: number;
  /** Added to |g| in the running maximum (default 1e-8). */
  eps?: number;
}

/** Adamax, Adam with the infinity norm (Optax's `adamax`): p ← p − lr · m̂ / u. */
export function adamax(options: AdamaxOptions): GradientTransformation {
  const operation = "optim.adamax";
  const o = optionsOf(operation, options);
  return named(
    operation,
    chain(
      scaleByAdamax({
        b1: checkNumber(operation, "b1", o.b1 ?? 0.9, unitOpen),
        b2: checkNumber(operation, "b2", o.b2 ?? 0.999, unitOpen),
        eps: checkNumber(operation, "eps", o.eps ?? 1e-8, nonNegative),
      }),
      scaleByLearningRate(learningRateOf(operation, o)),
    ),
  );
}

/** Options of {@link lamb}. */
export interface LambOptions extends LearningRateOptions {
  b1?: number;
  b2?: number;
  /** Added to the denominator outside the square root (default 1e-6). */
  eps?: number;
  epsRoot?: number;
  /** Weight decay added before the trust ratio, ≥ 0 (default 0). */
  weightDecay?: number;
  /** Which parameters to decay (see `optim.masked`); default all. */
  mask?: Mask;
}

/**
 * LAMB (Optax's `lamb`): Adam's update plus weight decay, rescaled per parameter array by the
 * trust ratio ‖p‖ / ‖update‖: `chain(scaleByAdam({eps: 1e-6, …}), addDecayedWeights(…),
 * scaleByTrustRatio(), scaleByLearningRate(lr))`. Needs `params` in `update`.
 */
export function lamb(options: LambOptions): GradientTransformation {
  const operation = "optim.lamb";
  const o = optionsOf(operation, options);
  return named(
    operation,
    chain(
      scaleByAdam(adamOptions(operation, o, 1e-6)),
      addDecayedWeights(weightDecayOf(operation, o.weightDecay, 0), o.mask),
      scaleByTrustRatio(),
      scaleByLearningRate(learningRateOf(operation, o)),
    ),
  );
}

/** Options of {@link lion}. */
export interface LionOptions extends LearningRateOptions {
  /** Weight of the momentum in the signed update, in [0, 1] (default 0.9). */
  b1?: number;
  /** Decay of the momentum, in [0, 1] (default 0.99). */
  b2?: number;
  /** Decoupled weight decay, ≥ 0, multiplied by the learning rate (default 1e-3, as Optax). */
  weightDecay?: number;
  /** Which parameters to decay (see `optim.masked`); default all. */
  mask?: Mask;
}

/**
 * Lion (Optax's `lion`): p ← p − lr · (sign((1 − b1)·g + b1·m) + weightDecay · p), then
 * m ← (1 − b2)·g + b2·m. Needs `params` in `update`.
 */
export function lion(options: LionOptions): GradientTransformation {
  const operation = "optim.lion";
  const o = optionsOf(operation, options);
  return named(
    operation,
    chain(
      scaleByLion({
        b1: checkNumber(operation, "b1", o.b1 ?? 0.9, unitClosed),
        b2: checkNumber(operation, "b2", o.b2 ?? 0.99, unitClosed),
      }),
      addDecayedWeights(weightDecayOf(operation, o.weightDecay, 1e-3), o.mask),
      scaleByLearningRate(learningRateOf(operation, o)),
    ),
  );
}

// ── RMSProp, Adagrad ─────────────────────────────────────────────────────────────────────

/** Options of {@link rmsprop}. */
export interface RmspropOptions extends LearningRateOptions {
  /** Decay of the moving average of squared gradients, in [0, 1] (default 0.9). */
  decay?: number;
  /** Added to the denominator (default 1e-8). */
  eps?: number;
  /** The accumulators' starting value (default 0). */
  initialScale?: number;
  /** `true` (default, Optax's): divide by √(v + eps); `false` (PyTorch's): by √v + eps. */
  epsInSqrt?: boolean;
  /** Divide by the root of the variance (v − m²) instead of v (default `false`). */
  centered?: boolean;
  /** Momentum in [0, 1], applied after the learning rate (default none). */
  momentum?: number;
  /** Nesterov momentum (default `false`). */
  nesterov?: boolean;
  /** Bias-correct the moving averages (default `false`). */
  biasCorrection?: boolean;
}

/**
 * RMSProp (Optax's `rmsprop`): `chain(scaleByRms(…) or, centred, scaleByStddev(…),
 * scaleByLearningRate(lr), trace({decay: momentum, nesterov}) when momentum is given)`.
 * Note Optax's default puts `eps` inside the square root; PyTorch's `RMSprop` is
 * `{epsInSqrt: false}`.
 */
export function rmsprop(options: RmspropOptions): GradientTransformation {
  const operation = "optim.rmsprop";
  const o = optionsOf(operation, options);
  const scaling = {
    decay: checkNumber(operation, "decay", o.decay ?? 0.9, unitClosed),
    eps: checkNumber(operation, "eps", o.eps ?? 1e-8, nonNegative),
    initialScale: checkNumber(operation, "initialScale", o.initialScale ?? 0, nonNegative),
    epsInSqrt: checkFlag(operation, "epsInSqrt", o.epsInSqrt ?? true),
    biasCorrection: checkFlag(operation, "biasCorrection", o.biasCorrection ?? false),
  };
  const momentum =
    o.momentum === undefined
      ? undefined
      : checkNumber(operation, "momentum", o.momentum, unitClosed);
  const nesterov = checkFlag(operation, "nesterov", o.nesterov ?? false);
  return named(
    operation,
    chain(
      checkFlag(operation, "centered", o.centered ?? false)
        ? scaleByStddev(scaling)
        : scaleByRms(scaling),
      scaleByLearningRate(learningRateOf(operation, o)),
      momentum === undefined ? identity() : trace({ decay: momentum, nesterov }),
    ),
  );
}

/** Options of {@link adagrad}. */
export interface AdagradOptions extends LearningRateOptions {
  /** The sum of squares' starting value, ≥ 0 (default 0.1). */
  initialAccumulatorValue?: number;
  /** Added inside the square root (default 1e-7). */
  eps?: number;
}

/**
 * Adagrad (Optax's `adagrad`): p ← p − lr · g / √(Σg² + eps), the sum starting at
 * `initialAccumulatorValue`. (PyTorch's `Adagrad` puts eps outside the root.)
 */
export function adagrad(options: AdagradOptions): GradientTransformation {
  const operation = "optim.adagrad";
  const o = optionsOf(operation, options);
  return named(
    operation,
    chain(
      scaleByRss({
        initialAccumulatorValue: checkNumber(
          operation,
          "initialAccumulatorValue",
          o.initialAccumulatorValue ?? 0.1,
          nonNegative,
        ),
        eps: checkNumber(operation, "eps", o.eps ?? 1e-7, nonNegative),
      }),
      scaleByLearningRate(learningRateOf(operation, o)),
    ),
  );
}

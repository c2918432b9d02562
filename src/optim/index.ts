/**
 * `optim`: gradient transformations and optimisers, as Optax makes them. An optimiser is a pair
 * of pure functions over pytrees — `init(params) → state` and
 * `update(grads, state, params?) → [updates, state]` — and `applyUpdates(params, updates)` adds
 * the updates to the parameters. Optimisers are chains of small building blocks (`chain`,
 * `scaleByAdam`, `clipByGlobalNorm`, …), with the same names, defaults and update equations as
 * Optax's; learning rates may be schedules (`optim.schedules`). States are pytrees of arrays, so a
 * whole training step compiles with `jit`.
 *
 * @example
 * // Fit y = x·w + b by least squares, with clipped Adam and a cosine learning-rate schedule.
 * const x = np.array([[1, 2], [3, 4], [5, 6]]);
 * const y = np.array([1, 2, 3]);
 * type Params = { w: NDArray; b: NDArray };
 * const loss = (p: Params) => np.mean(np.square(x.matmul(p.w).add(p.b).sub(y)));
 * const opt = chain(
 *   clipByGlobalNorm(1),
 *   adam({ learningRate: schedules.cosineDecay({ initValue: 0.1, decaySteps: 200 }) }),
 * );
 * const step = jit((p: Params, state: unknown): [Params, unknown] => {
 *   const [updates, next] = opt.update(grad(loss)(p), state, p);
 *   return [applyUpdates(p, updates), next];
 * });
 * const start: Params = { w: np.zeros([2]), b: np.zeros([]) };
 * let [params, state] = [start, opt.init(start)];
 * for (let i = 0; i < 200; i++) [params, state] = step(params, state);
 * console.log(loss(params).item() < 0.01 * loss(start).item()); // true
 */
export {
  applyUpdates,
  chain,
  identity,
  type ChainState,
  type EmptyState,
  type GradientTransformation,
  type OptState,
} from "./base.js";
export type { ScalarOrSchedule, ScheduleFunction } from "./options.js";
export {
  adagrad,
  adam,
  adamax,
  adamw,
  lamb,
  lion,
  rmsprop,
  sgd,
  type AdagradOptions,
  type AdamaxOptions,
  type AdamOptions,
  type AdamWOptions,
  type LambOptions,
  type LearningRateOptions,
  type LionOptions,
  type RmspropOptions,
  type SgdOptions,
} from "./aliases.js";
export {
  adabelief,
  adadelta,
  amsgrad,
  nadam,
  nadamw,
  radam,
  yogi,
  scaleByAdadelta,
  scaleByAmsgrad,
  scaleByBelief,
  scaleByRadam,
  scaleByYogi,
  type MomentOptions,
  type ScaleByAdadeltaState,
  type ScaleByAmsgradState,
  type ScaleByRadamOptions,
} from "./adaptive.js";
export {
  addDecayedWeights,
  scale,
  scaleByAdam,
  scaleByAdamax,
  scaleByLearningRate,
  scaleByLion,
  scaleByRms,
  scaleByRss,
  scaleBySchedule,
  scaleByStddev,
  scaleByTrustRatio,
  trace,
  type ScaleByAdamOptions,
  type ScaleByAdamState,
  type ScaleByLionState,
  type ScaleByRmsOptions,
  type ScaleByRmsState,
  type ScaleByRssState,
  type ScaleByScheduleState,
  type ScaleByStddevState,
  type TraceState,
} from "./transforms.js";
export { clip, clipByGlobalNorm, globalNorm } from "./clipping.js";
export {
  applyIfFinite,
  masked,
  multiSteps,
  type ApplyIfFiniteState,
  type Mask,
  type MaskedState,
  type MultiStepsState,
} from "./wrappers.js";
export * as schedules from "./schedules.js";
export {
  constant as constantSchedule,
  polynomial as polynomialSchedule,
  linear as linearSchedule,
  cosineDecay as cosineDecaySchedule,
  warmupCosineDecay as warmupCosineDecaySchedule,
  exponentialDecay,
  piecewiseConstant as piecewiseConstantSchedule,
  joinSchedules,
  type Schedule,
} from "./schedules.js";

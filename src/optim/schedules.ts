/**
 * Schedules: functions from the step count to a hyperparameter's value (usually the learning
 * rate), with Optax's formulas and defaults. Pass one as `learningRate` and the optimiser calls it
 * with its step count (an int32 scalar in its state, so it works under `jit`).
 *
 * A schedule takes a JS number, giving a JS number (computed in float64), or an array of steps
 * (any shape; an int32 scalar when an optimiser calls it), giving a float32 array of that shape
 * (float64 for a float64 step array), computed with array operations so that a traced step works.
 */
import { NDArray } from "../core/array.js";
import { ValueError } from "../core/errors.js";
import * as np from "../numpy/index.js";
import { checkNumber } from "./options.js";

/** A schedule: numbers to numbers, arrays of steps to arrays of values. */
export interface Schedule {
  (step: number): number;
  (step: NDArray): NDArray;
  (step: number | NDArray): number | NDArray;
}

type Value = number | NDArray;

// Scalar arithmetic on JS numbers or arrays: plain JS when every operand is a number, else `np`.
const isNumber = (v: Value): v is number => typeof v === "number";
const add = (a: Value, b: Value): Value => (isNumber(a) && isNumber(b) ? a + b : np.add(a, b));
const sub = (a: Value, b: Value): Value => (isNumber(a) && isNumber(b) ? a - b : np.subtract(a, b));
const mul = (a: Value, b: Value): Value => (isNumber(a) && isNumber(b) ? a * b : np.multiply(a, b));
const div = (a: Value, b: Value): Value => (isNumber(a) && isNumber(b) ? a / b : np.divide(a, b));
const pow = (a: Value, b: Value): Value => (isNumber(a) && isNumber(b) ? a ** b : np.power(a, b));
const min = (a: Value, b: Value): Value =>
  isNumber(a) && isNumber(b) ? Math.min(a, b) : np.minimum(a, b);
const max = (a: Value, b: Value): Value =>
  isNumber(a) && isNumber(b) ? Math.max(a, b) : np.maximum(a, b);
const cos = (a: Value): Value => (isNumber(a) ? Math.cos(a) : np.cos(a));
const floor = (a: Value): Value => (isNumber(a) ? Math.floor(a) : np.floor(a));
const clip = (a: Value, lo: number, hi: number): Value => min(max(a, lo), hi);
const lessEqual = (a: Value, b: number): boolean | NDArray => (isNumber(a) ? a <= b : a.le(b));
const less = (a: Value, b: number): boolean | NDArray => (isNumber(a) ? a < b : a.lt(b));
const where = (c: boolean | NDArray, a: Value, b: Value): Value =>
  typeof c === "boolean" ? (c ? a : b) : np.where(c, a, b);

/** The step as a float (float32 arrays unless already float64); numbers pass through. */
function floatStep(operation: string, step: unknown): Value {
  if (typeof step === "number") {
    if (Number.isNaN(step)) throw new ValueError(operation, `the step must be a number, got NaN.`);
    return step;
  }
  if (!(step instanceof NDArray)) {
    throw new ValueError(
      operation,
      `the step must be a number or an array of step counts, got ${step === null ? "null" : typeof step}.`,
    );
  }
  return step.dtype === "float64" ? step : step.astype("float32");
}

/** `value` in the step's form: a number for a number, a float array of the step's shape else. */
function constantLike(value: number, step: Value): Value {
  return isNumber(step) ? value : np.full(step.shape, value, { dtype: step.dtype });
}

function schedule(operation: string, f: (step: Value) => Value): Schedule {
  return ((step: number | NDArray) => {
    const s = floatStep(operation, step);
    const out = f(s);
    if (isNumber(s)) return out;
    // The step's float dtype, and its shape even where the formula ignored the step.
    return isNumber(out) ? constantLike(out, s) : out.astype(s.dtype);
  }) as Schedule;
}

/**
 * The same value at every step (Optax's `constant_schedule`).
 *
 * @param value the value.
 */
export function constant(value: number): Schedule {
  const v = checkNumber("optim.schedules.constant", "value", value);
  return schedule("optim.schedules.constant", () => v);
}

/** Options of {@link polynomial}. */
export interface PolynomialOptions {
  /** The value up to `transitionBegin`. */
  initValue: number;
  /** The value from `transitionBegin + transitionSteps` on. */
  endValue: number;
  /** The power of the polynomial (1 is linear). */
  power: number;
  /** The length of the transition; ≤ 0 gives the constant `initValue`, as in Optax. */
  transitionSteps: number;
  /** Steps before the transition starts (default 0; negative counts as 0). */
  transitionBegin?: number;
}

/**
 * A polynomial transition from `initValue` to `endValue` (Optax's `polynomial_schedule`):
 * (init − end)·(1 − t/T)^power + end, with t = clip(step − begin, 0, T).
 */
export function polynomial(options: PolynomialOptions): Schedule {
  const operation = "optim.schedules.polynomial";
  const init = checkNumber(operation, "initValue", options.initValue);
  const end = checkNumber(operation, "endValue", options.endValue);
  const power = checkNumber(operation, "power", options.power);
  const steps = checkNumber(operation, "transitionSteps", options.transitionSteps);
  const begin = Math.max(
    0,
    checkNumber(operation, "transitionBegin", options.transitionBegin ?? 0),
  );
  if (steps <= 0) return schedule(operation, () => init);
  return schedule(operation, (step) => {
    const count = clip(sub(step, begin), 0, steps);
    const fraction = sub(1, div(count, steps));
    return add(mul(init - end, pow(fraction, power)), end);
  });
}

/** Options of {@link linear}. */
export type LinearOptions = Omit<PolynomialOptions, "power">;

/**
 * A linear transition from `initValue` to `endValue` over `transitionSteps`, starting at
 * `transitionBegin` (Optax's `linear_schedule`).
 */
export function linear(options: LinearOptions): Schedule {
  return polynomial({ ...options, power: 1 });
}

/** Options of {@link cosineDecay}. */
export interface CosineDecayOptions {
  /** The value at step 0. */
  initValue: number;
  /** The steps the decay takes, > 0. */
  decaySteps: number;
  /** The final value as a fraction of `initValue` (default 0). */
  alpha?: number;
  /** The power of the cosine factor (default 1). */
  exponent?: number;
}

/**
 * Cosine decay (Optax's `cosine_decay_schedule`): init · ((1 − alpha)·c^exponent + alpha) with
 * c = ½(1 + cos(π · min(step, T) / T)).
 *
 * @example
 * const s = cosineDecay({ initValue: 0.1, decaySteps: 100 });
 * console.log(s(0), s(50), s(500)); // 0.1 0.05 0
 * console.log(s(np.array(50, { dtype: "int32" })).dtype); // "float32"
 */
export function cosineDecay(options: CosineDecayOptions): Schedule {
  const operation = "optim.schedules.cosineDecay";
  const init = checkNumber(operation, "initValue", options.initValue);
  const steps = checkNumber(operation, "decaySteps", options.decaySteps, { min: 0, minOpen: true });
  const alpha = checkNumber(operation, "alpha", options.alpha ?? 0);
  const exponent = checkNumber(operation, "exponent", options.exponent ?? 1);
  return schedule(operation, (step) => {
    const count = min(step, steps);
    const c = mul(0.5, add(1, cos(div(mul(Math.PI, count), steps))));
    return mul(init, add(mul(1 - alpha, pow(c, exponent)), alpha));
  });
}

/** Options of {@link warmupCosineDecay}. */
export interface WarmupCosineDecayOptions {
  /** The value at step 0. */
  initValue: number;
  /** The value at the end of the warm-up. */
  peakValue: number;
  /** The length of the linear warm-up. */
  warmupSteps: number;
  /** The length of the whole schedule, warm-up included. */
  decaySteps: number;
  /** The final value (default 0). */
  endValue?: number;
  /** The power of the cosine factor (default 1). */
  exponent?: number;
}

/**
 * A linear warm-up from `initValue` to `peakValue`, then cosine decay to `endValue` at
 * `decaySteps` (Optax's `warmup_cosine_decay_schedule`).
 *
 * @example
 * const s = warmupCosineDecay({ initValue: 0, peakValue: 1, warmupSteps: 10, decaySteps: 110 });
 * console.log(s(5), s(10), s(60), s(110)); // 0.5 1 0.5 0
 */
export function warmupCosineDecay(options: WarmupCosineDecayOptions): Schedule {
  const operation = "optim.schedules.warmupCosineDecay";
  const peak = checkNumber(operation, "peakValue", options.peakValue);
  const warmup = checkNumber(operation, "warmupSteps", options.warmupSteps);
  const decay = checkNumber(operation, "decaySteps", options.decaySteps);
  const end = checkNumber(operation, "endValue", options.endValue ?? 0);
  if (!(decay > warmup)) {
    throw new ValueError(
      operation,
      `decaySteps (${decay}) must be larger than warmupSteps (${warmup}): it counts the warm-up too.`,
    );
  }
  return joinSchedules(
    [
      linear({ initValue: options.initValue, endValue: peak, transitionSteps: warmup }),
      cosineDecay({
        initValue: peak,
        decaySteps: decay - warmup,
        alpha: peak === 0 ? 0 : end / peak,
        exponent: options.exponent,
      }),
    ],
    [warmup],
  );
}

/** Options of {@link exponentialDecay}. */
export interface ExponentialDecayOptions {
  /** The value up to `transitionBegin`. */
  initValue: number;
  /** Steps per factor of `decayRate`; ≤ 0 gives the constant `initValue`, as in Optax. */
  transitionSteps: number;
  /** The factor per `transitionSteps`; 0 gives the constant `initValue`, as in Optax. */
  decayRate: number;
  /** Steps before the decay starts (default 0; negative counts as 0). */
  transitionBegin?: number;
  /** Decay in whole steps of `transitionSteps` (default `false`). */
  staircase?: boolean;
  /** A bound the value never passes: a floor if `decayRate` < 1, else a ceiling. */
  endValue?: number;
}

/**
 * Exponential decay (Optax's `exponential_decay`): init · decayRate^((step − begin) / T), held at
 * `initValue` before `transitionBegin`, optionally staircased and bounded by `endValue`.
 */
export function exponentialDecay(options: ExponentialDecayOptions): Schedule {
  const operation = "optim.schedules.exponentialDecay";
  const init = checkNumber(operation, "initValue", options.initValue);
  const steps = checkNumber(operation, "transitionSteps", options.transitionSteps);
  const rate = checkNumber(operation, "decayRate", options.decayRate);
  const begin = Math.max(
    0,
    checkNumber(operation, "transitionBegin", options.transitionBegin ?? 0),
  );
  const end =
    options.endValue === undefined
      ? undefined
      : checkNumber(operation, "endValue", options.endValue);
  const staircase = options.staircase ?? false;
  if (steps <= 0 || rate === 0) return schedule(operation, () => init);
  return schedule(operation, (step) => {
    const decreased = sub(step, begin);
    const p = div(decreased, steps);
    const decayed = where(
      lessEqual(decreased, 0),
      init,
      mul(init, pow(rate, staircase ? floor(p) : p)),
    );
    if (end === undefined) return decayed;
    return rate < 1 ? max(decayed, end) : min(decayed, end);
  });
}

/** Options of {@link piecewiseConstant}. */
export interface PiecewiseConstantOptions {
  /** The value before the first boundary. */
  initValue: number;
  /**
   * `{step: scale}` (or `[step, scale]` pairs): from each step on, the value is multiplied by its
   * scale (≥ 0).
   */
  boundariesAndScales?: Record<number, number> | readonly (readonly [number, number])[];
}

/**
 * Piecewise constant (Optax's `piecewise_constant_schedule`): `initValue` times the product of
 * the scales of all boundaries ≤ step.
 *
 * @example
 * const s = piecewiseConstant({ initValue: 1, boundariesAndScales: { 100: 0.1, 200: 0.1 } });
 * console.log(s(99), s(100), s(250)); // 1 0.1 0.01 (up to rounding)
 */
export function piecewiseConstant(options: PiecewiseConstantOptions): Schedule {
  const operation = "optim.schedules.piecewiseConstant";
  const init = checkNumber(operation, "initValue", options.initValue);
  const given = options.boundariesAndScales ?? [];
  const pairs = (Array.isArray(given) ? given : Object.entries(given)).map(
    ([boundary, scale]: readonly [number | string, number]) =>
      [
        checkNumber(operation, "a boundary", Number(boundary)),
        checkNumber(operation, "a scale", scale, { min: 0 }),
      ] as const,
  );
  pairs.sort((a, b) => a[0] - b[0]);
  return schedule(operation, (step) => {
    let v: Value = init;
    for (const [boundary, scale] of pairs) {
      // Optax's form: indicator = max(0, sign(boundary − step)) is 1 before the boundary.
      const before = less(step, boundary);
      v = where(before, v, mul(v, scale));
    }
    return v;
  });
}

/**
 * Runs `schedules` one after another: `schedules[i + 1]` takes over at `boundaries[i]` and is
 * called with the steps since that boundary (Optax's `join_schedules`).
 *
 * @param schedules the pieces, in order.
 * @param boundaries the steps where each next piece starts, increasing, one fewer than pieces.
 * @example
 * const s = joinSchedules([constant(1), linear({ initValue: 1, endValue: 0, transitionSteps: 10 })], [5]);
 * console.log(s(4), s(10), s(20)); // 1 0.5 0
 */
export function joinSchedules(
  schedules: readonly ((step: number | NDArray) => number | NDArray)[],
  boundaries: readonly number[],
): Schedule {
  const operation = "optim.schedules.joinSchedules";
  if (!Array.isArray(schedules) || schedules.length === 0) {
    throw new ValueError(operation, `expects a non-empty list of schedules.`);
  }
  schedules.forEach((s, i) => {
    if (typeof s !== "function") {
      throw new ValueError(operation, `schedule ${i} must be a function, got ${typeof s}.`);
    }
  });
  if (!Array.isArray(boundaries) || boundaries.length !== schedules.length - 1) {
    throw new ValueError(
      operation,
      `expects one boundary fewer than schedules: got ${schedules.length} schedules and ` +
        `${Array.isArray(boundaries) ? boundaries.length : "no list of"} boundaries.`,
    );
  }
  boundaries.forEach((b, i) => {
    checkNumber(operation, `boundary ${i}`, b);
    if (i > 0 && b < boundaries[i - 1]!) {
      throw new ValueError(
        operation,
        `the boundaries must increase, got [${boundaries.join(", ")}].`,
      );
    }
  });
  return ((step: number | NDArray) => {
    if (typeof step !== "number" && !(step instanceof NDArray)) floatStep(operation, step);
    let out: Value = schedules[0]!(step);
    boundaries.forEach((boundary, i) => {
      const shifted: Value = isNumber(step) ? step - boundary : step.sub(boundary);
      const next = schedules[i + 1]!(shifted);
      out = where(less(step, boundary), out, next);
    });
    return out;
  }) as Schedule;
}

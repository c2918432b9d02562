/**
 * Step-size controllers: `ConstantStepSize`, `StepTo` (given times) and `PIDController`
 * (adaptive, on the solver's embedded error estimate), and Hairer's choice of a first step.
 */
import { NDArray } from "../core/array.js";
import { ValueError } from "../core/errors.js";
import * as np from "../numpy/index.js";
import { stopGradient } from "../transforms/custom.js";
import { allFinite, mapArrays, rmsNorm } from "./tree-math.js";
import { Result, type PyTree, type Solver, type Term } from "./types.js";

/** What a controller's `init` gets. */
export interface ControllerStart {
  term: Term;
  solver: Solver;
  t0: NDArray;
  t1: NDArray;
  y0: PyTree;
  /** The user's first step (a float scalar), or null when omitted. */
  dt0: NDArray | null;
  args: unknown;
}

/** What a controller's `adapt` gets after each attempted step from `t0` to `t1`. */
export interface ControllerStep<S> {
  t0: NDArray;
  t1: NDArray;
  y0: PyTree;
  y1: PyTree;
  /** The solver's error estimate, or null for solvers without one. */
  yError: PyTree | null;
  errorOrder: number | null;
  state: S;
}

/** A controller's verdict on a step. */
export interface ControllerDecision<S> {
  /** A bool scalar: accept the step. */
  keepStep: NDArray;
  /** Where the next step starts (`t1` if accepted, else `t0`). */
  nextT0: NDArray;
  /** Where the next step should end (the driver clips it to the end of the solve). */
  nextT1: NDArray;
  state: S;
  /** An int32 scalar `Result` code (0 to go on). */
  result: NDArray;
}

/**
 * How the driver chooses steps. `S` is the state it carries between steps (a pytree of arrays).
 * Implement it to write your own controller.
 */
export interface StepSizeController<S = unknown> {
  readonly name: string;
  /** Throws a `ValueError` when the controller can't work with this solver or `dt0`. */
  check(solver: Solver, dt0Given: boolean): void;
  /** The end of the first step and the initial state. */
  init(start: ControllerStart): [NDArray, S];
  adapt(step: ControllerStep<S>): ControllerDecision<S>;
}

const ok = (): NDArray => np.array(Result.successful, { dtype: "int32" });

/**
 * Steps of a fixed size `dt0` (the last one shortened to end at `t1`).
 *
 * @example
 * const sol = ode.solve({ terms: new ode.ODETerm((t: NDArray, y: NDArray) => y.neg()), solver: new ode.Euler(), t0: 0, t1: 1, dt0: 0.25, y0: np.array(1), stepSizeController: new ode.ConstantStepSize() });
 * console.log(sol.stats.numSteps.item()); // 4
 */
export class ConstantStepSize implements StepSizeController<NDArray> {
  readonly name = "ConstantStepSize";

  check(_solver: Solver, dt0Given: boolean): void {
    if (!dt0Given) {
      throw new ValueError(
        "ode.solve",
        "ConstantStepSize needs a step size: pass dt0 (e.g. dt0: 0.01), or use an adaptive controller such as new ode.PIDController({ rtol: 1e-6, atol: 1e-6 }), which chooses the first step itself.",
      );
    }
  }

  init({ t0, dt0 }: ControllerStart): [NDArray, NDArray] {
    return [t0.add(dt0!), dt0!];
  }

  adapt({ t1, state }: ControllerStep<NDArray>): ControllerDecision<NDArray> {
    return { keepStep: np.array(true), nextT0: t1, nextT1: t1.add(state), state, result: ok() };
  }
}

/** Options of `StepTo`. */
export interface StepToOptions {
  /** Every step's end, increasing, from `t0` to `t1` inclusive. */
  ts: NDArray | readonly number[];
}

/**
 * Steps from each of the given times to the next: `ts[0]` must be `t0` and the last one `t1`.
 * Leave `dt0` out.
 *
 * @example
 * const sol = ode.solve({ terms: new ode.ODETerm((t: NDArray, y: NDArray) => y.neg()), solver: new ode.Euler(), t0: 0, t1: 1, y0: np.array(1), stepSizeController: new ode.StepTo({ ts: [0, 0.5, 0.75, 1] }) });
 * console.log(sol.stats.numSteps.item(), sol.ys.toList()); // 3 [0.28125]
 */
export class StepTo implements StepSizeController<NDArray> {
  readonly name = "StepTo";
  readonly ts: NDArray;

  constructor(options: StepToOptions) {
    const ts = options?.ts;
    const values = ts instanceof NDArray ? (ts.toList() as number[]) : ts;
    if (
      !Array.isArray(values) ||
      values.length < 2 ||
      values.some((v) => typeof v !== "number" || !Number.isFinite(v))
    ) {
      throw new ValueError(
        "ode.StepTo",
        "needs { ts }: at least two finite times, from t0 to t1, e.g. new ode.StepTo({ ts: [0, 0.5, 1] }).",
      );
    }
    const increasing = values.every((v, i) => i === 0 || v > values[i - 1]!);
    const decreasing = values.every((v, i) => i === 0 || v < values[i - 1]!);
    if (!increasing && !decreasing) {
      throw new ValueError(
        "ode.StepTo",
        `the times must be strictly increasing (or strictly decreasing, to solve backwards), got [${values.join(", ")}].`,
      );
    }
    this.ts = ts instanceof NDArray ? ts : np.array([...values], { dtype: "float64" });
  }

  /** The same steps in the loop's time `direction · t` (for solves backwards in time). */
  inDirection(direction: number | NDArray): StepTo {
    const copy = Object.create(StepTo.prototype) as StepTo;
    return Object.assign(copy, { name: this.name, ts: this.ts.mul(direction) });
  }

  check(_solver: Solver, dt0Given: boolean): void {
    if (dt0Given) {
      throw new ValueError(
        "ode.solve",
        "with StepTo the steps are given by its ts; leave dt0 out.",
      );
    }
  }

  /** The state is the index of the current step's end in `ts`. */
  init({ t0 }: ControllerStart): [NDArray, NDArray] {
    return [this.ts.get(1).astype(t0.dtype), np.array(1, { dtype: "int32" })];
  }

  adapt({ t1, state }: ControllerStep<NDArray>): ControllerDecision<NDArray> {
    const next = np.minimum(state.add(1), this.ts.shape[0]! - 1).astype("int32");
    return {
      keepStep: np.array(true),
      nextT0: t1,
      nextT1: this.ts.get(next).astype(t1.dtype),
      state: next,
      result: ok(),
    };
  }
}

/** Options of `PIDController`. */
export interface PIDControllerOptions {
  /** Relative tolerance (finite, ≥ 0). */
  rtol: number;
  /** Absolute tolerance (finite, ≥ 0). */
  atol: number;
  /** The proportional coefficient (default 0). */
  pcoeff?: number;
  /** The integral coefficient (default 1: an I controller). */
  icoeff?: number;
  /** The derivative coefficient (default 0). */
  dcoeff?: number;
  /** The smallest step: smaller ones are raised to it and accepted (default none). */
  dtmin?: number;
  /** The largest step (default none). */
  dtmax?: number;
  /** With `dtmin`: stop with `Result.dtMinReached` instead of forcing `dtmin` (default false). */
  stopAtDtmin?: boolean;
  /** The most a step may shrink at once (default 0.2). */
  factormin?: number;
  /** The most a step may grow at once (default 10). */
  factormax?: number;
  /** The safety factor (default 0.9). */
  safety?: number;
  /** The error norm (default the RMS norm, Hairer's). */
  norm?: (x: PyTree) => NDArray;
}

/** The PID state: the last two inverse scaled errors and whether to keep the next step. */
export interface PIDState {
  previous: NDArray;
  beforePrevious: NDArray;
  keepNext: NDArray;
}

function checkNumber(
  name: string,
  value: unknown,
  { positive = false, optional = false } = {},
): void {
  if (optional && value === undefined) return;
  if (
    typeof value !== "number" ||
    !Number.isFinite(value) ||
    value < 0 ||
    (positive && value === 0)
  ) {
    throw new ValueError(
      "ode.PIDController",
      `${name} must be a finite number ${positive ? "> 0" : "≥ 0"}, got ${String(value)}. Typical tolerances are rtol: 1e-6, atol: 1e-6 (looser for float32, e.g. 1e-4).`,
    );
  }
}

/**
 * Adaptive steps: the error estimate, scaled by `atol + rtol·max(|y0|, |y1|)` and measured in
 * `norm`, is kept near 1; steps with error > 1 are rejected and retried smaller. The next step is
 * `h · safety · ε_n^(-β1) · ε_(n-1)^(-β2) · ε_(n-2)^(-β3)` (β from pcoeff, icoeff, dcoeff over the
 * error order), clipped by factormin/factormax and dtmin/dtmax (Hairer, Nørsett & Wanner, and
 * Söderlind, as in Diffrax). Without `dt0`, the first step is chosen by Hairer's algorithm.
 *
 * @example
 * const sol = ode.solve({ terms: new ode.ODETerm((t: NDArray, y: NDArray) => y.neg()), solver: new ode.Tsit5(), t0: 0, t1: 5, y0: np.array(1, { dtype: "float64" }), stepSizeController: new ode.PIDController({ rtol: 1e-6, atol: 1e-9 }) });
 * console.log(Math.abs(sol.ys.get(0).item() - Math.exp(-5)) < 1e-7); // true
 */
export class PIDController implements StepSizeController<PIDState> {
  readonly name = "PIDController";
  readonly rtol: number;
  readonly atol: number;
  readonly pcoeff: number;
  readonly icoeff: number;
  readonly dcoeff: number;
  readonly dtmin: number | undefined;
  readonly dtmax: number | undefined;
  readonly stopAtDtmin: boolean;
  readonly factormin: number;
  readonly factormax: number;
  readonly safety: number;
  readonly norm: (x: PyTree) => NDArray;

  constructor(options: PIDControllerOptions) {
    if (typeof options !== "object" || options === null) {
      throw new ValueError(
        "ode.PIDController",
        "needs { rtol, atol }, e.g. new ode.PIDController({ rtol: 1e-6, atol: 1e-6 }).",
      );
    }
    checkNumber("rtol", options.rtol);
    checkNumber("atol", options.atol);
    if (options.rtol === 0 && options.atol === 0) {
      throw new ValueError(
        "ode.PIDController",
        "rtol and atol can't both be 0; give at least one a positive value.",
      );
    }
    for (const name of ["pcoeff", "icoeff", "dcoeff"] as const) {
      if (
        options[name] !== undefined &&
        (typeof options[name] !== "number" || !Number.isFinite(options[name]))
      ) {
        throw new ValueError(
          "ode.PIDController",
          `${name} must be a finite number, got ${String(options[name])}.`,
        );
      }
    }
    checkNumber("dtmin", options.dtmin, { optional: true, positive: true });
    checkNumber("dtmax", options.dtmax, { optional: true, positive: true });
    checkNumber("factormin", options.factormin, { optional: true });
    checkNumber("factormax", options.factormax, { optional: true, positive: true });
    checkNumber("safety", options.safety, { optional: true, positive: true });
    this.rtol = options.rtol;
    this.atol = options.atol;
    this.pcoeff = options.pcoeff ?? 0;
    this.icoeff = options.icoeff ?? 1;
    this.dcoeff = options.dcoeff ?? 0;
    this.dtmin = options.dtmin;
    this.dtmax = options.dtmax;
    this.stopAtDtmin = options.stopAtDtmin ?? false;
    this.factormin = options.factormin ?? 0.2;
    this.factormax = options.factormax ?? 10;
    this.safety = options.safety ?? 0.9;
    this.norm = options.norm ?? rmsNorm;
    if (this.dtmin !== undefined && this.dtmax !== undefined && this.dtmin > this.dtmax) {
      throw new ValueError(
        "ode.PIDController",
        `dtmin (${this.dtmin}) must not exceed dtmax (${this.dtmax}).`,
      );
    }
  }

  check(solver: Solver): void {
    if (solver.errorOrder === null) {
      throw new ValueError(
        "ode.solve",
        `${solver.name} has no error estimate, so PIDController can't adapt its steps. Use a solver with one (Heun, Bosh3, Tsit5, Dopri5, …), or new ode.ConstantStepSize() with a dt0.`,
      );
    }
  }

  init(start: ControllerStart): [NDArray, PIDState] {
    const { t0 } = start;
    let dt =
      start.dt0 ??
      stopGradient(
        selectInitialStep(start, start.solver.errorOrder!, this.rtol, this.atol, this.norm),
      );
    if (this.dtmax !== undefined) dt = np.minimum(dt, this.dtmax);
    if (this.dtmin !== undefined) dt = np.maximum(dt, this.dtmin);
    const one = np.array(1, { dtype: t0.dtype });
    return [t0.add(dt), { previous: one, beforePrevious: one, keepNext: np.array(false) }];
  }

  adapt({
    t0,
    t1,
    y0,
    y1,
    yError,
    errorOrder,
    state,
  }: ControllerStep<PIDState>): ControllerDecision<PIDState> {
    const order = errorOrder!;
    const finite = allFinite(y1);
    const scaled = mapArrays(
      (a, b, e) => {
        const y = np.maximum(np.abs(a), np.abs(np.where(finite, b, a)));
        return e.div(y.mul(this.rtol).add(this.atol));
      },
      y0,
      y1,
      yError,
    );
    const rawError = this.norm(scaled).astype(t0.dtype);
    // A NaN or infinite error (or state) counts as an infinite error: reject, shrink by factormin.
    const error = np.where(np.logicalAnd(np.isfinite(rawError), finite), rawError, Infinity);
    let keepStep = error.lt(1);
    if (this.dtmin !== undefined && !this.stopAtDtmin)
      keepStep = np.logicalOr(keepStep, state.keepNext);
    const inverse = stopGradient(np.reciprocal(error));
    const c1 = (this.icoeff + this.pcoeff + this.dcoeff) / order;
    const c2 = -(this.pcoeff + 2 * this.dcoeff) / order;
    const c3 = this.dcoeff / order;
    let factor: NDArray = np.full([], this.safety, { dtype: t0.dtype });
    if (c1 !== 0) factor = factor.mul(np.power(inverse, c1));
    if (c2 !== 0) factor = factor.mul(np.power(state.previous, c2));
    if (c3 !== 0) factor = factor.mul(np.power(state.beforePrevious, c3));
    const low = np.where(keepStep, 1, this.factormin);
    const high = np.where(keepStep, this.factormax, this.safety);
    factor = stopGradient(np.minimum(np.maximum(factor, low), high));
    let dt = t1.sub(t0).mul(factor);
    let result = ok();
    let keepNext = state.keepNext;
    if (this.dtmax !== undefined) dt = np.minimum(dt, this.dtmax);
    if (this.dtmin !== undefined) {
      if (this.stopAtDtmin) {
        result = np
          .where(dt.lt(this.dtmin), Result.dtMinReached, Result.successful)
          .astype("int32");
      } else {
        keepNext = np.logicalOr(dt.le(this.dtmin), np.logicalAnd(state.keepNext, factor.eq(1)));
      }
      dt = np.maximum(dt, this.dtmin);
    }
    const nextT0 = np.where(keepStep, t1, t0);
    const reset = np.logicalOr(inverse.eq(0), np.isinf(inverse));
    const inv = np.where(reset, 1, inverse);
    return {
      keepStep,
      nextT0,
      nextT1: nextT0.add(dt),
      state: {
        previous: np.where(keepStep, inv, state.previous),
        beforePrevious: np.where(keepStep, state.previous, state.beforePrevious),
        keepNext,
      },
      result,
    };
  }
}

/**
 * Hairer's choice of the first step (Hairer, Nørsett & Wanner, Solving ODEs I, §II.4; as Diffrax's
 * `_select_initial_step`): from the sizes of `y0`, `f(t0, y0)` and a finite-difference estimate
 * of the second derivative, all scaled by the tolerances. Two vector-field evaluations.
 */
export function selectInitialStep(
  { term, t0, y0, args }: ControllerStart,
  errorOrder: number,
  rtol: number,
  atol: number,
  norm: (x: PyTree) => NDArray,
): NDArray {
  const scale = mapArrays((y) => np.abs(y).mul(rtol).add(atol), y0);
  const f0 = term.vf(t0, y0, args);
  const d0 = norm(mapArrays((y, s) => y.div(s), y0, scale)).astype(t0.dtype);
  const d1 = norm(mapArrays((f, s) => f.div(s), f0, scale)).astype(t0.dtype);
  const small = np.logicalOr(d0.lt(1e-5), d1.lt(1e-5));
  const h0 = np.where(small, 1e-6, d0.div(np.where(small, 1, d1)).mul(0.01)).astype(t0.dtype);
  const y1 = mapArrays((y, f) => y.add(f.mul(h0)), y0, f0);
  const f1 = term.vf(t0.add(h0), y1, args);
  const d2 = norm(mapArrays((a, b, s) => b.sub(a).div(s), f0, f1, scale))
    .astype(t0.dtype)
    .div(h0);
  const maxD = np.maximum(d1, d2);
  const h1 = np.where(
    maxD.le(1e-15),
    np.maximum(1e-6, h0.mul(1e-3)),
    np.power(np.divide(0.01, np.where(maxD.le(1e-15), 1, maxD)), 1 / errorOrder),
  );
  return np.minimum(h0.mul(100), h1).astype(t0.dtype);
}

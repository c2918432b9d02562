/**
 * The contracts inside `ode`: what a term computes, what a solver does in one step, and the
 * result codes a solve can end with. Solvers are data plus one `step`; the driver (`solve`) owns
 * the loop, the step-size control, saving and events, and never looks inside a solver.
 *
 * Every value that crosses a step is a pytree of arrays (so a whole solve is one
 * `lax.whileLoop` and compiles to one loop); times are float scalars (0-d arrays of y's dtype).
 */
import type { NDArray } from "../core/array.js";

/** A pytree of arrays: the state `y`, its derivative, a solver's dense-output data, … */
export type PyTree = unknown;

/**
 * A term of `dy/dt`: `ODETerm`, or `MultiTerm` (the sum of several). The driver and the solvers
 * call only `vf`.
 */
export interface Term {
  /** The vector field at `(t, y)`: a pytree with `y`'s structure, shapes and dtypes. */
  vf(t: NDArray, y: PyTree, args: unknown): PyTree;
}

/** What a solver returns from one step from `t0` to `t1`. */
export interface StepOutput<S> {
  /** The state at `t1`. */
  y1: PyTree;
  /**
   * The local error estimate (a pytree like `y`), or `null` for solvers without an embedded
   * error estimate (these need a `ConstantStepSize` or `StepTo` controller).
   */
  yError: PyTree | null;
  /** Whatever `interpolate` needs for dense output on `[t0, t1]` (a pytree of arrays). */
  dense: PyTree;
  /** The solver's state after the step (e.g. the FSAL derivative); passed to the next step. */
  state: S;
  /** An int32 scalar: `0` when the step succeeded, else a `Result` code (e.g. Newton diverged). */
  result: NDArray;
  /** Vector-field evaluations this step made (an int32 scalar, or a JS number if fixed). */
  evaluations: NDArray | number;
}

/**
 * A solver: Butcher tableaus and Newton iterations live behind this. `S` is the state a solver
 * carries from step to step (a pytree of arrays; `null` for none).
 */
export interface Solver<S = unknown> {
  /** For messages and reports, e.g. "Tsit5". */
  readonly name: string;
  /** The order of the method. */
  readonly order: number;
  /**
   * The local order of the error estimate, `yError = O(h^errorOrder)` (Diffrax's `error_order`:
   * `order` for a pair of orders p and p − 1, e.g. 5 for Tsit5, 2 for ImplicitEuler); the PID
   * controller's exponents are divided by it. null: no estimate.
   */
  readonly errorOrder: number | null;
  /** Where the method comes from. */
  readonly citation: string;
  /** The state before the first step. */
  init(term: Term, t0: NDArray, t1: NDArray, y0: PyTree, args: unknown): S;
  /**
   * One step from `(t0, y0)` to `t1`. `madeJump` (a bool scalar) is true when the previous step
   * ended at a discontinuity or the state was changed, so FSAL data must be recomputed.
   */
  step(
    term: Term,
    t0: NDArray,
    t1: NDArray,
    y0: PyTree,
    args: unknown,
    state: S,
    madeJump: NDArray,
  ): StepOutput<S>;
  /** The dense-output interpolant of the step `[t0, t1]` at `t` (t0 ≤ t ≤ t1). */
  interpolate(t0: NDArray, t1: NDArray, dense: PyTree, t: NDArray): PyTree;
}

/**
 * How a solve ended. Codes are what the loop carries (int32); `resultMessage(code)` gives the
 * text. `successful` is 0.
 */
export const Result = {
  successful: 0,
  maxStepsReached: 1,
  dtMinReached: 2,
  nanDetected: 3,
  implicitDivergence: 4,
  implicitNonconvergence: 5,
  eventOccurred: 6,
} as const;
export type ResultCode = (typeof Result)[keyof typeof Result];

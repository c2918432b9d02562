/**
 * Events: stop a solve when a condition on `(t, y)` changes sign (or becomes true), at the time it
 * does so, located on the solver's dense output; or, for a non-terminating event, record every
 * such crossing and carry on.
 */
import type { NDArray } from "../core/array.js";
import { ShapeError, ValueError } from "../core/errors.js";
import * as lax from "../lax/index.js";
import * as np from "../numpy/index.js";
import { stopGradient } from "../transforms/custom.js";
import { jvp } from "../transforms/jvp.js";
import type { PyTree, Solver } from "./types.js";

/** Options of `Event`. */
export interface EventOptions {
  /**
   * `(t, y, args) => scalar`: a float scalar whose sign change marks the event, or a bool scalar
   * that marks it by becoming true.
   */
  condition: (t: NDArray, y: never, args: never) => NDArray | number | boolean;
  /**
   * Stop the solve at the event (default true). With `false` the solve runs on and every crossing
   * is recorded in `sol.events`.
   */
  terminate?: boolean;
  /**
   * How many crossings a non-terminating event stores (a positive integer, default 16); later
   * ones are counted but not stored.
   */
  maxEvents?: number;
}

/**
 * The crossings recorded by a non-terminating event (`sol.events`): `ts` (`[maxEvents]`, user
 * times, in the order found, padded with `inf`), `ys` (the state there, each leaf stacked
 * `[maxEvents, ...]`, padded with `inf`) and `count` (an int32 scalar: every crossing found,
 * including those beyond `maxEvents` that were not stored).
 */
export interface EventRecord {
  ts: NDArray;
  ys: PyTree;
  count: NDArray;
}

/**
 * Stops the solve when `condition` crosses zero (or becomes true). The crossing is located on the
 * last step's dense output by bisection, then refined by one Newton step, so the event time is
 * accurate to the interpolant and differentiable (by the implicit function theorem). The
 * solution then ends there: `sol.t1` is the event time, `sol.ys` at `t1` the state there, and
 * `sol.result` is `ode.Result.eventOccurred`.
 *
 * With `terminate: false` the solve does not stop: after each accepted step in which the
 * condition crosses, the crossing is located the same way on that step's dense output and
 * recorded in `sol.events` (`{ ts, ys, count }`, the first `maxEvents` crossings stored, all of
 * them counted); `sol.result` stays `successful`. Only the sign at step ends is watched, so at most
 * one crossing per step is found, and two crossings inside one step cancel out: bound the step
 * size (or tighten the tolerances) when crossings can be that close. The recorded times are not
 * differentiable (their gradient is zero); differentiate a terminating event for that.
 *
 * @example
 * // A ball dropped from 10 m: when does it hit the ground?
 * const fall = new ode.ODETerm((t: NDArray, y: NDArray) => np.stack([y.get(1), np.array(-9.81, { dtype: "float64" })]));
 * const sol = ode.solve({ terms: fall, solver: new ode.Tsit5(), t0: 0, t1: 5, dt0: 0.1, y0: np.array([10, 0], { dtype: "float64" }), event: new ode.Event({ condition: (t: NDArray, y: NDArray) => y.get(0) }) });
 * console.log(sol.t1.item().toFixed(4), sol.message); // 1.4278 The solve stopped because an event occurred.
 *
 * @example
 * // y = cos t: record where it crosses zero (π/2, 3π/2, 5π/2) without stopping.
 * const osc = new ode.ODETerm((t: NDArray, y: NDArray) => np.stack([y.get(1), y.get(0).neg()]));
 * const zeros = new ode.Event({ condition: (t: NDArray, y: NDArray) => y.get(0), terminate: false, maxEvents: 4 });
 * const sol = ode.solve({ terms: osc, solver: new ode.Tsit5(), t0: 0, t1: 8, dt0: 0.1, y0: np.array([1, 0], { dtype: "float64" }), event: zeros, stepSizeController: new ode.PIDController({ rtol: 1e-10, atol: 1e-10 }) });
 * console.log(sol.events.count.item(), sol.events.ts.toList().map((t) => t.toFixed(6))); // 3 ["1.570796", "4.712389", "7.853982", "Infinity"]
 * console.log(sol.message); // The solve finished successfully.
 */
export class Event {
  readonly condition: EventOptions["condition"];
  /** Whether the event stops the solve. */
  readonly terminate: boolean;
  /** How many crossings a non-terminating event stores. */
  readonly maxEvents: number;

  constructor(options: EventOptions) {
    if (
      typeof options !== "object" ||
      options === null ||
      typeof options.condition !== "function"
    ) {
      throw new ValueError(
        "ode.Event",
        "needs { condition: (t, y, args) => scalar }, e.g. new ode.Event({ condition: (t, y) => y.get(0) }).",
      );
    }
    const { terminate = true, maxEvents = 16 } = options;
    if (typeof terminate !== "boolean") {
      throw new ValueError("ode.Event", `terminate must be a boolean, got ${String(terminate)}.`);
    }
    if (typeof maxEvents !== "number" || !Number.isInteger(maxEvents) || maxEvents < 1) {
      throw new ValueError(
        "ode.Event",
        `maxEvents must be a positive integer, got ${String(maxEvents)}.`,
      );
    }
    this.condition = options.condition;
    this.terminate = terminate;
    this.maxEvents = maxEvents;
  }

  /** The condition at internal time `tau` (user time `tau · direction`) as an array scalar. */
  evaluate(tau: NDArray, direction: NDArray | null, y: PyTree, args: unknown): NDArray {
    const t = direction === null ? tau : tau.mul(direction);
    const raw = this.condition(t, y as never, args as never);
    const value = typeof raw === "number" || typeof raw === "boolean" ? np.array(raw) : raw;
    if (value.ndim !== 0) {
      throw new ShapeError(
        "ode.Event",
        `the condition must return a scalar, got shape [${value.shape.join(", ")}]. Reduce it, e.g. y.get(0) or y.sum().`,
      );
    }
    return value.dtype === "bool" ? value : value.astype(tau.dtype);
  }
}

/** Whether the condition crossed between `before` and `after` (sign change, or false → true). */
export function crossed(before: NDArray, after: NDArray): NDArray {
  if (after.dtype === "bool") return np.logicalAnd(np.logicalNot(before), after);
  return np.logicalOr(
    np.logicalAnd(before.lt(0), after.ge(0)),
    np.logicalAnd(before.gt(0), after.le(0)),
  );
}

/** The step in which the event happened. */
export interface EventStep {
  solver: Solver;
  tPrev: NDArray;
  tNext: NDArray;
  dense: PyTree;
  /** The condition at `tPrev`. */
  before: NDArray;
  direction: NDArray | null;
  args: unknown;
}

/**
 * The event time in `[tPrev, tNext]`: bisection on the dense output (60 halvings in float64, 30
 * in float32), then, for float conditions, one Newton step from the bracket's end, which leaves
 * the value in place (the condition is ~0 there) and gives it the implicit-function derivative.
 */
export function locateEvent(event: Event, step: EventStep): NDArray {
  const { solver, tPrev, tNext, dense, before, direction, args } = step;
  const g = (tau: NDArray): NDArray =>
    event.evaluate(tau, direction, solver.interpolate(tPrev, tNext, dense, tau), args);
  const halvings = tPrev.dtype === "float64" ? 60 : 30;
  type Bracket = [NDArray, NDArray, NDArray];
  const init: Bracket = stopGradient([tPrev, tNext, before] as Bracket);
  const [, hi] = lax.foriLoop(
    0,
    halvings,
    (_i: NDArray, [lo, high, gLo]: Bracket): Bracket => {
      const mid = lo.add(high).mul(0.5);
      const gMid = g(mid);
      const sameSide =
        gMid.dtype === "bool"
          ? np.logicalNot(gMid)
          : np.logicalAnd(gMid.ne(0), np.sign(gMid).eq(np.sign(gLo)));
      return [
        np.where(sameSide, mid, lo),
        np.where(sameSide, high, mid),
        np.where(sameSide, gMid, gLo),
      ];
    },
    init,
  );
  const tau = stopGradient(hi);
  if (before.dtype === "bool") return tau;
  const [value, slope] = jvp(g, [tau], [np.onesLike(tau)]);
  const usable = np.logicalAnd(np.isfinite(slope), slope.ne(0));
  const newton = tau.sub(value.div(np.where(usable, slope, 1)));
  return np.where(usable, newton, tau);
}

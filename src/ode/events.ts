/**
 * Events: stop a solve when a condition on `(t, y)` changes sign (or becomes true), at the time it
 * does so, located on the solver's dense output.
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
  /** Stop the solve at the event (the only kind supported; default true). */
  terminate?: boolean;
}

/**
 * Stops the solve when `condition` crosses zero (or becomes true). The crossing is located on the
 * last step's dense output by bisection, then refined by one Newton step, so the event time is
 * accurate to the interpolant and differentiable (by the implicit function theorem). The
 * solution then ends there: `sol.t1` is the event time, `sol.ys` at `t1` the state there, and
 * `sol.result` is `ode.Result.eventOccurred`.
 *
 * @example
 * // A ball dropped from 10 m: when does it hit the ground?
 * const fall = new ode.ODETerm((t: NDArray, y: NDArray) => np.stack([y.get(1), np.array(-9.81, { dtype: "float64" })]));
 * const sol = ode.solve({ terms: fall, solver: new ode.Tsit5(), t0: 0, t1: 5, dt0: 0.1, y0: np.array([10, 0], { dtype: "float64" }), event: new ode.Event({ condition: (t: NDArray, y: NDArray) => y.get(0) }) });
 * console.log(sol.t1.item().toFixed(4), sol.message); // 1.4278 The solve stopped because an event occurred.
 */
export class Event {
  readonly condition: EventOptions["condition"];

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
    if (options.terminate === false) {
      throw new ValueError(
        "ode.Event",
        "only terminating events are supported: leave terminate out (or pass true); to record crossings without stopping, save densely and search the dense output.",
      );
    }
    this.condition = options.condition;
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

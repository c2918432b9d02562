/**
 * The result of a solve: saved times and values, statistics, how it ended, and (with
 * `SaveAt({ dense: true })`) the solution at any time by the solver's own interpolant.
 */
import { NDArray } from "../core/array.js";
import { ValueError } from "../core/errors.js";
import * as tree from "../core/tree.js";
import * as np from "../numpy/index.js";
import { jvp } from "../transforms/jvp.js";
import { vmap } from "../transforms/vmap.js";
import { resultMessage } from "./result.js";
import { mapArrays } from "./tree-math.js";
import type { EventRecord } from "./events.js";
import type { PyTree, Solver } from "./types.js";

/** Counts of a solve (int32 scalar arrays). */
export interface SolveStats {
  /** Steps attempted (accepted + rejected). */
  numSteps: NDArray;
  numAcceptedSteps: NDArray;
  numRejectedSteps: NDArray;
  /** Vector-field evaluations, including those for the first step and the initial FSAL stage. */
  numFunctionEvaluations: NDArray;
}

/** Every step's dense output, kept with `SaveAt({ dense: true })` (times in the loop's direction). */
export interface DenseSteps {
  t0: NDArray;
  t1: NDArray;
  data: PyTree;
  /** `+1`, or `-1` for a solve backwards in time (a float scalar). */
  direction: NDArray;
}

/** The parts of a `Solution`. */
export interface SolutionParts {
  ts: NDArray | null;
  ys: PyTree | null;
  stats: SolveStats;
  result: NDArray;
  t0: NDArray;
  t1: NDArray;
  dense: DenseSteps | null;
  /** The crossings of a non-terminating event (null otherwise). */
  events?: EventRecord | null;
}

/**
 * What `solve` returns. `ts` and `ys` hold what `SaveAt` asked for (leaves of `ys` stacked along
 * a leading time axis); `result` is an int32 `Result` code (`message` gives its text); `t1` is
 * where the solve ended (the event time when an event stopped it); `events` holds the crossings
 * of a non-terminating event (`{ ts, ys, count }`, see `Event`), null otherwise. A `Solution` is a pytree of
 * arrays, so `jit` and `vmap` can return it.
 *
 * @example
 * const sol = ode.solve({ terms: new ode.ODETerm((t: NDArray, y: NDArray) => y.neg()), solver: new ode.Tsit5(), t0: 0, t1: 2, dt0: 0.1, y0: np.array(1, { dtype: "float64" }), saveAt: new ode.SaveAt({ dense: true }) });
 * console.log(sol.evaluate(1).item().toFixed(5), sol.derivative(1).item().toFixed(5)); // 0.36788 -0.36788
 * console.log(sol.message); // The solve finished successfully.
 */
export class Solution {
  readonly ts: NDArray | null;
  readonly ys: PyTree | null;
  readonly stats: SolveStats;
  readonly result: NDArray;
  readonly t0: NDArray;
  readonly t1: NDArray;
  readonly dense: DenseSteps | null;
  readonly events: EventRecord | null;
  readonly solver: Solver;

  constructor(parts: SolutionParts, solver: Solver) {
    this.ts = parts.ts;
    this.ys = parts.ys;
    this.stats = parts.stats;
    this.result = parts.result;
    this.t0 = parts.t0;
    this.t1 = parts.t1;
    this.dense = parts.dense;
    this.events = parts.events ?? null;
    this.solver = solver;
  }

  /** The text of `result` (needs a concrete result: not inside `jit`). */
  get message(): string {
    return resultMessage(this.result);
  }

  /**
   * The solution at time `t` (a number, a scalar, or a 1-d array of times: then each leaf gets a
   * leading axis), from the dense output of the step containing `t`. Times outside the solve
   * extrapolate the first or last step's polynomial. Needs `SaveAt({ dense: true })`.
   */
  evaluate(t: number | NDArray): PyTree {
    const dense = this.needDense("evaluate");
    const time = this.timeArray(t);
    if (time.ndim === 1) return vmap((s: NDArray) => evaluateAt(this.solver, dense, s))(time);
    return evaluateAt(this.solver, dense, time);
  }

  /** `dy/dt` of the dense output at `t` (as `evaluate`; the derivative of the interpolant). */
  derivative(t: number | NDArray): PyTree {
    const dense = this.needDense("derivative");
    const time = this.timeArray(t);
    const at = (s: NDArray): PyTree =>
      jvp((u: NDArray) => evaluateAt(this.solver, dense, u) as NDArray, [s], [np.onesLike(s)])[1];
    return time.ndim === 1 ? vmap(at)(time) : at(time);
  }

  private needDense(method: string): DenseSteps {
    if (this.dense === null) {
      throw new ValueError(
        `Solution.${method}`,
        "needs the dense output: solve with saveAt: new ode.SaveAt({ dense: true }).",
      );
    }
    return this.dense;
  }

  private timeArray(t: number | NDArray): NDArray {
    const dtype = this.t0.dtype;
    const time = typeof t === "number" ? np.array(t, { dtype }) : t.astype(dtype);
    if (time.ndim > 1) {
      throw new ValueError(
        "Solution.evaluate",
        `t must be a number, a scalar or a 1-d array of times, got shape [${time.shape.join(", ")}].`,
      );
    }
    return time;
  }
}

/** The dense output at one time `t` (in the user's direction). */
function evaluateAt(solver: Solver, dense: DenseSteps, t: NDArray): PyTree {
  const tau = t.mul(dense.direction);
  const count = np.isfinite(dense.t1).astype("int32").sum();
  const index = np
    .clip(dense.t1.lt(tau).astype("int32").sum(), 0, np.maximum(count.sub(1), 0))
    .astype("int32");
  const data = mapArrays((leaf) => leaf.get(index), dense.data);
  return solver.interpolate(dense.t0.get(index), dense.t1.get(index), data, tau);
}

tree.register(Solution, {
  flatten: (s) => [
    [s.ts, s.ys, s.stats, s.result, s.t0, s.t1, s.dense, s.events],
    s.solver,
    ["ts", "ys", "stats", "result", "t0", "t1", "dense", "events"],
  ],
  unflatten: (solver, [ts, ys, stats, result, t0, t1, dense, events]) =>
    new Solution(
      {
        ts: ts as NDArray | null,
        ys,
        stats: stats as SolveStats,
        result: result as NDArray,
        t0: t0 as NDArray,
        t1: t1 as NDArray,
        dense: dense as DenseSteps | null,
        events: events as EventRecord | null,
      },
      solver as Solver,
    ),
});

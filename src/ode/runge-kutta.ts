/**
 * The one explicit Runge–Kutta engine: every explicit solver is a tableau, an order, a
 * dense-output interpolant and a citation handed to `ExplicitRungeKutta`.
 */
import type { NDArray } from "../core/array.js";
import * as lax from "../lax/index.js";
import * as np from "../numpy/index.js";
import type { Interpolant, RungeKuttaDense } from "./interpolation.js";
import type { ButcherTableau } from "./tableau.js";
import { combine, concreteValue, scaleTree, stackTrees } from "./tree-math.js";
import { Result, type PyTree, type Solver, type StepOutput, type Term } from "./types.js";

/** What defines an explicit Runge–Kutta solver. */
export interface ExplicitRungeKuttaSpec {
  name: string;
  tableau: ButcherTableau;
  order: number;
  /** The local order of the error estimate (Diffrax's `error_order`); null when there is none. */
  errorOrder: number | null;
  interpolant: Interpolant;
  citation: string;
}

/**
 * An explicit Runge–Kutta method given by its Butcher tableau. With FSAL the solver state is the
 * vector field at the end of the last step (reused as the next first stage); otherwise it is
 * null. Dense output keeps the step's stage increments `k_i = h·f_i`.
 *
 * @example
 * const heun = new ode.ExplicitRungeKutta({
 *   name: "Heun",
 *   tableau: new ode.ButcherTableau({ a: [[1]], b: [0.5, 0.5], bError: [0.5, -0.5], c: [1] }),
 *   order: 2,
 *   errorOrder: 2,
 *   interpolant: ode.linearInterpolant,
 *   citation: "Heun (1900)",
 * });
 * const sol = ode.solve({ terms: new ode.ODETerm((t: NDArray, y: NDArray) => y), solver: heun, t0: 0, t1: 1, dt0: 0.01, y0: np.array(1, { dtype: "float64" }) });
 * console.log(sol.ys.get(-1).item().toFixed(4)); // 2.7182
 */
export class ExplicitRungeKutta implements Solver<PyTree | null> {
  readonly name: string;
  readonly order: number;
  readonly errorOrder: number | null;
  readonly citation: string;
  readonly tableau: ButcherTableau;
  readonly interpolant: Interpolant;

  constructor(spec: ExplicitRungeKuttaSpec) {
    this.name = spec.name;
    this.order = spec.order;
    this.errorOrder = spec.tableau.bError === null ? null : spec.errorOrder;
    this.citation = spec.citation;
    this.tableau = spec.tableau;
    this.interpolant = spec.interpolant;
  }

  /** For FSAL methods the vector field at `(t0, y0)`; otherwise null. */
  init(term: Term, t0: NDArray, _t1: NDArray, y0: PyTree, args: unknown): PyTree | null {
    return this.tableau.fsal ? term.vf(t0, y0, args) : null;
  }

  step(
    term: Term,
    t0: NDArray,
    t1: NDArray,
    y0: PyTree,
    args: unknown,
    state: PyTree | null,
    madeJump: NDArray,
  ): StepOutput<PyTree | null> {
    const { a, b, c, bError, stages, fsal } = this.tableau;
    const h = t1.sub(t0);
    let f0: PyTree;
    let evaluations: NDArray | number = fsal ? stages - 1 : stages;
    if (!fsal || state === null) {
      f0 = term.vf(t0, y0, args);
    } else {
      const jumped = concreteValue(madeJump);
      if (jumped === undefined) {
        f0 = lax.cond(
          madeJump,
          () => term.vf(t0, y0, args),
          (s: PyTree) => s,
          state,
        );
        evaluations = np.where(madeJump, stages, stages - 1).astype("int32");
      } else if (jumped === true) {
        f0 = term.vf(t0, y0, args);
        evaluations = stages;
      } else {
        f0 = state;
      }
    }
    const ks: PyTree[] = [scaleTree(f0, h)];
    let lastF: PyTree = f0;
    let lastY: PyTree = y0;
    for (let i = 1; i < stages; i++) {
      const yi = combine(y0, a[i - 1]!, ks);
      const ci = c[i]!;
      const ti = ci === 1 ? t1 : t0.add(h.mul(ci));
      lastF = term.vf(ti, yi, args);
      lastY = yi;
      ks.push(scaleTree(lastF, h));
    }
    const y1 = fsal ? lastY : combine(y0, b, ks);
    const dense: RungeKuttaDense = { y0, y1, k: stackTrees(ks) };
    return {
      y1,
      yError: bError === null ? null : combine(null, bError, ks),
      dense,
      state: fsal ? lastF : null,
      result: np.array(Result.successful, { dtype: "int32" }),
      evaluations,
    };
  }

  interpolate(t0: NDArray, t1: NDArray, dense: PyTree, t: NDArray): PyTree {
    const h = t1.sub(t0);
    const theta = np.where(h.eq(0), 0, t.sub(t0).div(np.where(h.eq(0), 1, h)));
    return this.interpolant(theta.astype(t0.dtype), dense as RungeKuttaDense, this.tableau.stages);
  }
}

/**
 * Implicit solvers for stiff problems: `ImplicitEuler`, `Kvaerno3`, `Kvaerno4`, `Kvaerno5`.
 * Each is a tableau (implicit-tableaus.ts) over one ESDIRK engine (sdirk.ts) whose stages are
 * solved by chord iterations (newton.ts).
 *
 * Derivatives: each stage's root is differentiated by the implicit function theorem (exact first
 * derivatives), so `grad`, `jvp` and `vmap` work through a solve with respect to `y0` and the
 * arrays in `args`. Pass the arrays to differentiate through `args`: an array the vector field
 * captures in a closure ends up inside the Newton loop, which reverse mode cannot differentiate
 * (forward mode, `ForwardMode`, still can).
 */
import type { NDArray } from "../core/array.js";
import { SolverError } from "../core/errors.js";
import {
  implicitEulerTableau,
  kvaerno3Tableau,
  kvaerno4Tableau,
  kvaerno5Tableau,
  type EsdirkTableau,
} from "./implicit-tableaus.js";
import { newtonSettings, type NewtonOptions, type NewtonSettings } from "./newton.js";
import {
  esdirkInit,
  esdirkInterpolate,
  esdirkStep,
  type DenseKind,
  type EsdirkState,
} from "./sdirk.js";
import type { PyTree, Solver, StepOutput, Term } from "./types.js";

/**
 * Options of the implicit solvers: the Newton (chord) iterations that solve each stage.
 * Convergence is measured on the stage values, in units of `atol + rtol·|y0|`, and the
 * iterations stop when the predicted remaining error is below `kappa` (0.01) of that. Left out,
 * `rtol` and `atol` are 1e-8, or the step-size controller's when the solver is given them by
 * `withControllerTolerances` (Diffrax's implicit solvers take the controller's tolerances).
 * `rtol` is never taken below 10⁴ ε of y's dtype (2e-12 in float64, 1e-3 in float32): roundoff
 * would then look like a stalled iteration.
 */
export type ImplicitSolverOptions = NewtonOptions;

const kvaernoCitation =
  "Kværnø, A. (2004). Singly diagonally implicit Runge–Kutta methods with an explicit first " +
  "stage. BIT Numerical Mathematics 44(3), 489–502.";

/** The tolerances of an adaptive step-size controller. */
export interface ControllerTolerances {
  rtol: number;
  atol: number;
}

/** What the implicit solvers share: a tableau, Newton settings, and the Solver methods. */
abstract class EsdirkSolver implements Solver<EsdirkState> {
  abstract readonly name: string;
  abstract readonly order: number;
  abstract readonly errorOrder: number;
  abstract readonly citation: string;
  protected abstract readonly tableau: EsdirkTableau;
  protected abstract readonly denseKind: DenseKind;
  /** The Newton settings in use (defaults filled in). */
  readonly newton: NewtonSettings;

  constructor(
    /** The options as the user gave them. */
    readonly options: ImplicitSolverOptions = {},
  ) {
    if (typeof options !== "object" || options === null) {
      throw new SolverError(
        `ode.${new.target.name}`,
        `options must be an object like { rtol: 1e-8, atol: 1e-8, maxIterations: 10 }, got ${String(options)}.`,
      );
    }
    this.newton = newtonSettings(`ode.${new.target.name}`, options);
  }

  /**
   * This solver with the Newton tolerances of an adaptive step-size controller, except those the
   * user set (`solve` calls it with the controller's `rtol`/`atol`).
   */
  withControllerTolerances(tolerances: ControllerTolerances): this {
    const Class = this.constructor as new (options: ImplicitSolverOptions) => this;
    return new Class({
      ...this.options,
      rtol: this.options.rtol ?? tolerances.rtol,
      atol: this.options.atol ?? tolerances.atol,
    });
  }

  init(term: Term, t0: NDArray, _t1: NDArray, y0: PyTree, args: unknown): EsdirkState {
    return esdirkInit(this.method(), term, t0, y0, args);
  }

  step(
    term: Term,
    t0: NDArray,
    t1: NDArray,
    y0: PyTree,
    args: unknown,
    state: EsdirkState,
    madeJump: NDArray,
  ): StepOutput<EsdirkState> {
    return esdirkStep(this.method(), term, t0, t1, y0, args, state, madeJump);
  }

  interpolate(t0: NDArray, t1: NDArray, dense: PyTree, t: NDArray): PyTree {
    return esdirkInterpolate(this.denseKind, t0, t1, dense, t);
  }

  private method(): Parameters<typeof esdirkStep>[0] {
    return {
      owner: `ode.${this.name}`,
      tableau: this.tableau,
      newton: this.newton,
      dense: this.denseKind,
    };
  }
}

/**
 * The implicit (backward) Euler method: A-, B- and L-stable, order 1, for stiff problems where
 * low accuracy suffices. Its error estimate is the trapezoidal rule's (order 2), as Diffrax;
 * dense output is linear. Each step solves one nonlinear system by chord iterations.
 *
 * Differentiable in `y0` and `args` (pass differentiated arrays through `args`, not a closure).
 *
 * @param options the Newton iterations' `rtol`, `atol`, `maxIterations` (see
 *   `ImplicitSolverOptions`).
 * @example
 * // y' = −1000·y with ten steps of 0.1, far beyond explicit stability: y1 = (1/101)^10.
 * const sol = ode.solve({
 *   terms: new ode.ODETerm((t: NDArray, y: NDArray) => y.mul(-1000)),
 *   solver: new ode.ImplicitEuler(),
 *   t0: 0,
 *   t1: 1,
 *   dt0: 0.1,
 *   y0: np.array([1], { dtype: "float64" }),
 * });
 * console.log((sol.ys as NDArray).item().toExponential(3)); // 9.053e-21
 */
export class ImplicitEuler extends EsdirkSolver {
  readonly name = "ImplicitEuler";
  readonly order = 1;
  readonly errorOrder = 2;
  readonly citation =
    "Backward Euler; error estimate by the trapezoidal rule as in Diffrax's ImplicitEuler. " +
    "See Hairer & Wanner, Solving Ordinary Differential Equations II (1996), §IV.3.";
  protected readonly tableau = implicitEulerTableau;
  protected readonly denseKind = "linear";
}

/**
 * Kværnø's 3/2 method: an L-stable, stiffly accurate ESDIRK method of order 3 with an embedded
 * order-2 error estimate; 4 stages (3 implicit, first same as last), one Jacobian per step,
 * cubic Hermite dense output.
 *
 * Differentiable in `y0` and `args` (pass differentiated arrays through `args`, not a closure).
 *
 * @param options the Newton iterations' `rtol`, `atol`, `maxIterations` (see
 *   `ImplicitSolverOptions`).
 * @example
 * // Stiff relaxation onto cos(t): y' = −1000·(y − cos t) − sin t, whose solution is cos t.
 * const sol = ode.solve({
 *   terms: new ode.ODETerm((t: NDArray, y: NDArray) => y.sub(np.cos(t)).mul(-1000).sub(np.sin(t))),
 *   solver: new ode.Kvaerno3(),
 *   t0: 0,
 *   t1: 1,
 *   dt0: 0.01,
 *   y0: np.array(1, { dtype: "float64" }),
 *   stepSizeController: new ode.PIDController({ rtol: 1e-6, atol: 1e-9 }),
 * });
 * console.log((sol.ys as NDArray).item().toFixed(6)); // 0.540302
 */
export class Kvaerno3 extends EsdirkSolver {
  readonly name = "Kvaerno3";
  readonly order = 3;
  readonly errorOrder = 3;
  readonly citation = kvaernoCitation;
  protected readonly tableau = kvaerno3Tableau;
  protected readonly denseKind = "hermite";
}

/**
 * Kværnø's 4/3 method: an L-stable, stiffly accurate ESDIRK method of order 4 with an embedded
 * order-3 error estimate; 5 stages (4 implicit, first same as last), one Jacobian per step,
 * cubic Hermite dense output.
 *
 * Differentiable in `y0` and `args` (pass differentiated arrays through `args`, not a closure).
 *
 * @param options the Newton iterations' `rtol`, `atol`, `maxIterations` (see
 *   `ImplicitSolverOptions`).
 * @example
 * const solver = new ode.Kvaerno4({ maxIterations: 20 });
 * console.log(solver.name, solver.order, solver.errorOrder); // Kvaerno4 4 4
 */
export class Kvaerno4 extends EsdirkSolver {
  readonly name = "Kvaerno4";
  readonly order = 4;
  readonly errorOrder = 4;
  readonly citation = kvaernoCitation;
  protected readonly tableau = kvaerno4Tableau;
  protected readonly denseKind = "hermite";
}

/**
 * Kværnø's 5/4 method: an L-stable, stiffly accurate ESDIRK method of order 5 with an embedded
 * order-4 error estimate; 7 stages (6 implicit, first same as last), one Jacobian per step,
 * cubic Hermite dense output. The method of choice for stiff problems at tight tolerances. One
 * stage is evaluated slightly past the end of each step (at `t0 + 1.23·dt`).
 *
 * Differentiable in `y0` and `args` (pass differentiated arrays through `args`, not a closure).
 *
 * @param options the Newton iterations' `rtol`, `atol`, `maxIterations` (see
 *   `ImplicitSolverOptions`).
 * @example
 * // A stiff linear system (eigenvalues −1, −10⁴); explicit methods need ~3·10⁴ steps here.
 * const a = np.array([[-1, 0], [1, -1e4]], { dtype: "float64" });
 * const sol = ode.solve({
 *   terms: new ode.ODETerm((t: NDArray, y: NDArray) => np.matmul(a, y)),
 *   solver: new ode.Kvaerno5(),
 *   t0: 0,
 *   t1: 10,
 *   dt0: 1e-3,
 *   y0: np.array([1, 1], { dtype: "float64" }),
 *   stepSizeController: new ode.PIDController({ rtol: 1e-8, atol: 1e-10 }),
 * });
 * console.log((sol.ys as NDArray).get(0, 0).item().toExponential(4)); // 4.5400e-5
 * console.log(sol.stats.numAcceptedSteps.item() < 1000); // true
 */
export class Kvaerno5 extends EsdirkSolver {
  readonly name = "Kvaerno5";
  readonly order = 5;
  readonly errorOrder = 5;
  readonly citation = kvaernoCitation;
  protected readonly tableau = kvaerno5Tableau;
  protected readonly denseKind = "hermite";
}

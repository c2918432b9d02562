/**
 * The explicit solvers: each is a tableau, an order, a dense-output interpolant and a citation
 * over the one Runge–Kutta engine (`runge-kutta.ts`).
 */
import { dopri8Tableau, dopri8Weights } from "./dopri8.js";
import {
  hermiteInterpolant,
  linearInterpolant,
  quarticInterpolant,
  weightsInterpolant,
} from "./interpolation.js";
import { ExplicitRungeKutta } from "./runge-kutta.js";
import {
  bosh3Tableau,
  dopri5MidWeights,
  dopri5Tableau,
  eulerTableau,
  heunTableau,
  midpointTableau,
  ralstonTableau,
  tsit5Tableau,
  tsit5Weights,
} from "./tableaus.js";

/**
 * Euler's method: order 1, one evaluation per step, no error estimate (use `ConstantStepSize`
 * or `StepTo`). Linear dense output.
 *
 * @example
 * const sol = ode.solve({ terms: new ode.ODETerm((t: NDArray, y: NDArray) => y.neg()), solver: new ode.Euler(), t0: 0, t1: 1, dt0: 0.5, y0: np.array(1) });
 * console.log(sol.ys.toList()); // [0.25]
 */
export class Euler extends ExplicitRungeKutta {
  constructor() {
    super({
      name: "Euler",
      tableau: eulerTableau,
      order: 1,
      errorOrder: null,
      interpolant: linearInterpolant,
      citation: "Euler (1768), Institutiones calculi integralis.",
    });
  }
}

/**
 * Heun's method (the explicit trapezoidal rule): order 2, two stages, Euler embedded for an
 * error estimate. Dense output: the cubic Hermite polynomial from the first and last stages
 * (second-order accurate, as in Diffrax).
 *
 * @example
 * const sol = ode.solve({ terms: new ode.ODETerm((t: NDArray, y: NDArray) => y.neg()), solver: new ode.Heun(), t0: 0, t1: 1, dt0: 0.5, y0: np.array(1) });
 * console.log(sol.ys.toList()); // [0.390625]
 */
export class Heun extends ExplicitRungeKutta {
  constructor() {
    super({
      name: "Heun",
      tableau: heunTableau,
      order: 2,
      errorOrder: 2,
      interpolant: hermiteInterpolant,
      citation:
        "Heun (1900), Neue Methoden zur approximativen Integration der Differentialgleichungen einer unabhängigen Veränderlichen.",
    });
  }
}

/**
 * The explicit midpoint method: order 2, two stages, Euler embedded. Dense output as `Heun`.
 *
 * @example
 * const sol = ode.solve({ terms: new ode.ODETerm((t: NDArray, y: NDArray) => y.neg()), solver: new ode.Midpoint(), t0: 0, t1: 1, dt0: 0.5, y0: np.array(1) });
 * console.log(sol.ys.toList()); // [0.390625]
 */
export class Midpoint extends ExplicitRungeKutta {
  constructor() {
    super({
      name: "Midpoint",
      tableau: midpointTableau,
      order: 2,
      errorOrder: 2,
      interpolant: hermiteInterpolant,
      citation: "Runge (1895), Über die numerische Auflösung von Differentialgleichungen.",
    });
  }
}

/**
 * Ralston's method: order 2 with the smallest error bound among two-stage methods (node 2/3),
 * Euler embedded. Dense output as `Heun`.
 *
 * @example
 * const sol = ode.solve({ terms: new ode.ODETerm((t: NDArray, y: NDArray) => y.neg()), solver: new ode.Ralston(), t0: 0, t1: 1, dt0: 0.5, y0: np.array(1) });
 * console.log(sol.ys.toList()); // [0.390625]
 */
export class Ralston extends ExplicitRungeKutta {
  constructor() {
    super({
      name: "Ralston",
      tableau: ralstonTableau,
      order: 2,
      errorOrder: 2,
      interpolant: hermiteInterpolant,
      citation: "Ralston (1962), Runge–Kutta methods with minimum error bounds, Math. Comp. 16.",
    });
  }
}

/**
 * Bogacki–Shampine 3(2): order 3 with an embedded order-2 estimate, four stages with FSAL (three
 * evaluations per step). Cubic Hermite dense output (third order).
 *
 * @example
 * const sol = ode.solve({ terms: new ode.ODETerm((t: NDArray, y: NDArray) => y.neg()), solver: new ode.Bosh3(), t0: 0, t1: 1, y0: np.array(1, { dtype: "float64" }), stepSizeController: new ode.PIDController({ rtol: 1e-6, atol: 1e-9 }) });
 * console.log(sol.ys.get(0).item().toFixed(5)); // 0.36788
 */
export class Bosh3 extends ExplicitRungeKutta {
  constructor() {
    super({
      name: "Bosh3",
      tableau: bosh3Tableau,
      order: 3,
      errorOrder: 3,
      interpolant: hermiteInterpolant,
      citation:
        "Bogacki & Shampine (1989), A 3(2) pair of Runge–Kutta formulas, Appl. Math. Lett. 2(4).",
    });
  }
}

/**
 * Dormand–Prince 5(4): order 5 with an embedded order-4 estimate, seven stages with FSAL.
 * Shampine's quartic dense output.
 *
 * @example
 * const sol = ode.solve({ terms: new ode.ODETerm((t: NDArray, y: NDArray) => y.neg()), solver: new ode.Dopri5(), t0: 0, t1: 1, y0: np.array(1, { dtype: "float64" }), stepSizeController: new ode.PIDController({ rtol: 1e-8, atol: 1e-10 }) });
 * console.log(sol.ys.get(0).item().toFixed(7)); // 0.3678794
 */
export class Dopri5 extends ExplicitRungeKutta {
  constructor() {
    super({
      name: "Dopri5",
      tableau: dopri5Tableau,
      order: 5,
      errorOrder: 5,
      interpolant: quarticInterpolant(dopri5MidWeights),
      citation:
        "Dormand & Prince (1980), A family of embedded Runge–Kutta formulae, J. Comp. Appl. Math. 6; dense output from Shampine (1986), Some practical Runge–Kutta formulas, Math. Comp. 46.",
    });
  }
}

/**
 * Tsitouras 5(4): order 5 with an embedded order-4 estimate, seven stages with FSAL, and its own
 * fifth-order dense output. A good default for non-stiff problems.
 *
 * @example
 * const sol = ode.solve({ terms: new ode.ODETerm((t: NDArray, y: NDArray) => y.neg()), solver: new ode.Tsit5(), t0: 0, t1: 1, y0: np.array(1, { dtype: "float64" }), stepSizeController: new ode.PIDController({ rtol: 1e-8, atol: 1e-10 }) });
 * console.log(sol.ys.get(0).item().toFixed(7)); // 0.3678794
 */
export class Tsit5 extends ExplicitRungeKutta {
  constructor() {
    super({
      name: "Tsit5",
      tableau: tsit5Tableau,
      order: 5,
      errorOrder: 5,
      interpolant: weightsInterpolant(tsit5Weights),
      citation:
        "Tsitouras (2011), Runge–Kutta pairs of order 5(4) satisfying only the first column simplifying assumption, Comput. Math. Appl. 62(2).",
    });
  }
}

/**
 * Dormand–Prince 8(7): order 8 with an embedded order-7 estimate, fourteen stages with FSAL, and
 * Bogacki–Shampine's seventh-order dense output. For tight tolerances.
 *
 * @example
 * const sol = ode.solve({ terms: new ode.ODETerm((t: NDArray, y: NDArray) => y.neg()), solver: new ode.Dopri8(), t0: 0, t1: 1, y0: np.array(1, { dtype: "float64" }), stepSizeController: new ode.PIDController({ rtol: 1e-12, atol: 1e-12 }) });
 * console.log(sol.ys.get(0).item().toFixed(10)); // 0.3678794412
 */
export class Dopri8 extends ExplicitRungeKutta {
  constructor() {
    super({
      name: "Dopri8",
      tableau: dopri8Tableau,
      order: 8,
      errorOrder: 8,
      interpolant: weightsInterpolant(dopri8Weights),
      citation:
        "Prince & Dormand (1981), High order embedded Runge–Kutta formulae, J. Comp. Appl. Math. 7(1); dense output from Bogacki & Shampine (1990), Interpolating high-order Runge–Kutta formulas, Comput. Math. Appl. 20(3).",
    });
  }
}

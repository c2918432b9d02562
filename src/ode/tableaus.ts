/**
 * The tableaus of the explicit solvers, with where they come from. Coefficients are copied from
 * Diffrax (patrick-kidger/diffrax, `diffrax/_solver/{euler,heun,midpoint,ralston,bosh3,dopri5,
 * tsit5}.py`), which cites the papers below; `test/ode/tableaus.test.ts` checks their order
 * conditions. Dopri8's are in `dopri8.ts`.
 */
import type { NDArray } from "../core/array.js";
import { ButcherTableau } from "./tableau.js";

/** Euler's method: one stage, order 1, no error estimate. */
export const eulerTableau = new ButcherTableau({ a: [], b: [1], c: [] });

/** Heun's method (explicit trapezoidal rule), order 2, with Euler embedded. */
export const heunTableau = new ButcherTableau({
  a: [[1]],
  b: [0.5, 0.5],
  bError: [0.5, -0.5],
  c: [1],
});

/** The explicit midpoint method, order 2, with Euler embedded. */
export const midpointTableau = new ButcherTableau({
  a: [[0.5]],
  b: [0, 1],
  bError: [1, -1],
  c: [0.5],
});

/**
 * Ralston's second-order method (the 2/3 node, minimising the error bound; Ralston 1962), with
 * Euler embedded.
 */
export const ralstonTableau = new ButcherTableau({
  a: [[2 / 3]],
  b: [0.25, 0.75],
  bError: [0.75, -0.75],
  c: [2 / 3],
});

/** Bogacki–Shampine 3(2), FSAL (Bogacki & Shampine 1989). */
export const bosh3Tableau = new ButcherTableau({
  a: [[1 / 2], [0, 3 / 4], [2 / 9, 1 / 3, 4 / 9]],
  b: [2 / 9, 1 / 3, 4 / 9, 0],
  bError: [2 / 9 - 7 / 24, 1 / 3 - 1 / 4, 4 / 9 - 1 / 3, -1 / 8],
  c: [1 / 2, 3 / 4, 1],
});

/** Dormand–Prince 5(4), FSAL (Dormand & Prince 1980; the tableau as in Shampine 1986). */
export const dopri5Tableau = new ButcherTableau({
  a: [
    [1 / 5],
    [3 / 40, 9 / 40],
    [44 / 45, -56 / 15, 32 / 9],
    [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
    [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
    [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
  ],
  b: [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0],
  bError: [
    35 / 384 - 1951 / 21600,
    0,
    500 / 1113 - 22642 / 50085,
    125 / 192 - 451 / 720,
    -2187 / 6784 - -12231 / 42400,
    11 / 84 - 649 / 6300,
    -1 / 60,
  ],
  c: [1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1],
});

/** Dopri5's midpoint weights for its quartic dense output (Shampine 1986, via Diffrax). */
export const dopri5MidWeights = [
  6025192743 / 30085553152 / 2,
  0,
  51252292925 / 65400821598 / 2,
  -2691868925 / 45128329728 / 2,
  187940372067 / 1594534317056 / 2,
  -1776094331 / 19743644256 / 2,
  11237099 / 235043384 / 2,
];

const tsit5B = [
  0.09646076681806523, 0.01, 0.4798896504144996, 1.379008574103742, -3.290069515436081,
  2.324710524099774,
];

/** Tsitouras 5(4), FSAL (Tsitouras 2011, "Runge–Kutta pairs of order 5(4) satisfying only the first column simplifying assumption"). */
export const tsit5Tableau = new ButcherTableau({
  a: [
    [0.161],
    [-0.008480655492356989, 0.335480655492357],
    [2.8971530571054935, -6.359448489975075, 4.3622954328695815],
    [5.325864828439257, -11.748883564062828, 7.4955393428898365, -0.09249506636175525],
    [
      5.86145544294642, -12.92096931784711, 8.159367898576159, -0.071584973281401,
      -0.028269050394068383,
    ],
    tsit5B,
  ],
  b: [...tsit5B, 0],
  bError: [
    0.09646076681806523 - 0.09468075576583945,
    0.01 - 0.009183565540343254,
    0.4798896504144996 - 0.4877705284247616,
    1.379008574103742 - 1.234297566930479,
    -3.290069515436081 + 2.7077123499835256,
    2.324710524099774 - 1.866628418170587,
    -1 / 66,
  ],
  c: [0.161, 0.327, 0.9, 0.9800255409045097, 1, 1],
});

/** Tsit5's own fifth-order dense-output weights `b_i(θ)` (Tsitouras 2011, as in Diffrax). */
export function tsit5Weights(t: NDArray): NDArray[] {
  const t2 = t.mul(t);
  return [
    t
      .mul(-1.0530884977290216)
      .mul(t.sub(1.329989018975141))
      .mul(t2.sub(t.mul(1.4364028541716352)).add(0.7139816917074209)),
    t2.mul(0.1017).mul(t2.sub(t.mul(2.1966568338249752)).add(1.294985250737463)),
    t2.mul(2.490627285651253).mul(t2.sub(t.mul(2.3853564547206165)).add(1.5780346820809248)),
    t2.mul(-16.548102889244902).mul(t.sub(1.2171292729553325)).mul(t.sub(0.6162040603780009)),
    t2.mul(47.37952196281928).mul(t.sub(1.2030712083723627)).mul(t.sub(0.6580472926535473)),
    t2
      .mul(-34.87065786149661)
      .mul(t.sub(1.2))
      .mul(t.sub(2 / 3)),
    t2.mul(2.5).mul(t.sub(1)).mul(t.sub(0.6)),
  ];
}

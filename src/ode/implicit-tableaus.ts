/**
 * Butcher tableaus of the ESDIRK methods (explicit first stage, then one diagonal value γ):
 * implicit Euler and Kværnø's 3/2, 4/3 and 5/4 pairs. Coefficients are Kværnø's (2004), in the
 * form Diffrax uses; the predictors (starting guesses for each stage's Newton solve) are
 * Diffrax's.
 */

/**
 * An ESDIRK tableau. Stage 0 is explicit (`f0 = f(t0, y0)`); stage `i ≥ 1` solves
 * `z_i = y0 + dt·Σ_{j<i} a_ij·f_j + γ·dt·f(t0 + c_i·dt, z_i)` for `f_i`.
 */
export interface EsdirkTableau {
  /** The diagonal value γ of stages 1, 2, …. */
  gamma: number;
  /** Rows `a_ij` (j < i) of stages 1, 2, …: row `i − 1` has `i` entries. */
  aLower: readonly (readonly number[])[];
  /** Starting guess of stage i's `f_i` as `Σ_{j<i} α_ij·f_j` (rows like `aLower`, each sums to 1). */
  predictor: readonly (readonly number[])[];
  /** `c_i` of stages 1, 2, … (stage 0 is at `t0`). */
  c: readonly number[];
  /** Weights of the solution: `y1 = y0 + dt·Σ b_i·f_i`. */
  bSol: readonly number[];
  /** Weights of the local error estimate: `dt·Σ e_i·f_i` (they sum to 0). */
  bError: readonly number[];
}

/** Backward Euler as a two-stage ESDIRK (γ = 1), with the trapezoidal rule as error estimate. */
export const implicitEulerTableau: EsdirkTableau = {
  gamma: 1,
  aLower: [[0]],
  predictor: [[1]],
  c: [1],
  bSol: [0, 1],
  bError: [-0.5, 0.5],
};

/** Kværnø's 3/2 pair: 4 stages, L-stable, stiffly accurate. */
export const kvaerno3Tableau: EsdirkTableau = (() => {
  const g = 0.4358665215;
  const a31 = (-4 * g ** 2 + 6 * g - 1) / (4 * g);
  const a32 = (-2 * g + 1) / (4 * g);
  const a41 = (6 * g - 1) / (12 * g);
  const a42 = -1 / ((24 * g - 12) * g);
  const a43 = (-6 * g ** 2 + 6 * g - 1) / (6 * g - 3);
  const theta = 1 / (2 * g);
  return {
    gamma: g,
    aLower: [[g], [a31, a32], [a41, a42, a43]],
    predictor: [[1], [1 - theta, theta], [a31, a32, g]],
    c: [2 * g, 1, 1],
    bSol: [a41, a42, a43, g],
    bError: [a41 - a31, a42 - a32, a43 - g, g],
  };
})();

/** `p[0]·x^(k−1) + … + p[k−1]` (coefficients from the highest power, as `numpy.polyval`). */
function polyval(coefficients: readonly number[], x: number): number {
  return coefficients.reduce((sum, c) => sum * x + c, 0);
}

/** Kværnø's 4/3 pair: 5 stages, L-stable, stiffly accurate (the method advancing with order 4). */
export const kvaerno4Tableau: EsdirkTableau = (() => {
  const g = 0.5728160625;
  const p = (...c: number[]): number => polyval(c, g);
  const a31 = (p(144, -180, 81, -15, 1) * g) / p(12, -6, 1) ** 2;
  const a32 = (p(-36, 39, -15, 2) * g) / p(12, -6, 1) ** 2;
  const a41 = p(-144, 396, -330, 117, -18, 1) / (12 * g ** 2 * p(12, -9, 2));
  const a42 = p(72, -126, 69, -15, 1) / (12 * g ** 2 * p(3, -1));
  const a43 = (p(-6, 6, -1) * p(12, -6, 1) ** 2) / (12 * g ** 2 * p(12, -9, 2) * p(3, -1));
  const a51 = p(288, -312, 120, -18, 1) / (48 * g ** 2 * p(12, -9, 2));
  const a52 = p(24, -12, 1) / (48 * g ** 2 * p(3, -1));
  const a53 = -(p(12, -6, 1) ** 3) / (48 * g ** 2 * p(3, -1) * p(12, -9, 2) * p(6, -6, 1));
  const a54 = p(-24, 36, -12, 1) / p(24, -24, 4);
  const c2 = 2 * g;
  const c3 = g + a31 + a32;
  const theta1 = c3 / c2;
  const theta2 = (1 - c2) / (c3 - c2);
  return {
    gamma: g,
    aLower: [[g], [a31, a32], [a41, a42, a43], [a51, a52, a53, a54]],
    predictor: [[1], [1 - theta1, theta1], [0, 1 - theta2, theta2], [a41, a42, a43, g]],
    c: [c2, c3, 1, 1],
    bSol: [a51, a52, a53, a54, g],
    bError: [a51 - a41, a52 - a42, a53 - a43, a54 - g, g],
  };
})();

/** Kværnø's 5/4 pair: 7 stages, L-stable, stiffly accurate. Stage 2 is evaluated past `t1`. */
export const kvaerno5Tableau: EsdirkTableau = (() => {
  const g = 0.26;
  const a = [
    [g],
    [0.13, 0.8403332099679081],
    [0.22371961478320504, 0.476755323197997, -0.06470895363112615],
    [0.1664856432324832, 0.1045001884159172, 0.03631482272098715, -0.13090704451073998],
    [0.13855640231268224, 0, -0.04245337201752043, 0.02446657898003141, 0.6194303907248068],
    [
      0.13659751177640292, 0, -0.05496908796538376, -0.04118626728321046, 0.629933048990164,
      0.06962479448202728,
    ],
  ];
  const a6 = a[4]!;
  const a7 = a[5]!;
  return {
    gamma: g,
    aLower: a,
    // Predictors from OrdinaryDiffEq.jl's Kvaerno5, as Diffrax (with α21 = 1).
    predictor: [
      [1],
      [-1.366025403784441, 2.3660254037844357],
      [-0.19650552613122207, 0.8113579546496623, 0.38514757148155954],
      [0.10375304369958693, 0.937994698066431, -0.04174774176601781, 0],
      [-0.17281112873898072, 0.6235784481025847, 0.5492326806363959, 0, 0],
      [...a6, g],
    ],
    c: [0.52, 1.230333209967908, 0.8957659843500759, 0.43639360985864756, 1, 1],
    bSol: [...a7, g],
    bError: [...a7.map((x, i) => x - (a6[i] ?? g)), g],
  };
})();

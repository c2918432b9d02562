/**
 * Dense output of one Runge–Kutta step: polynomials in `θ = (t − t0)/(t1 − t0)` built from the
 * step's start and end and its stage increments `k_i = h·f_i` (stacked `[s, ...shape]` per leaf).
 */
import type { NDArray } from "../core/array.js";
import * as np from "../numpy/index.js";
import { combine, mapArrays, stage, weightedSum } from "./tree-math.js";
import type { PyTree } from "./types.js";

/** What a Runge–Kutta step keeps for dense output. */
export interface RungeKuttaDense {
  y0: PyTree;
  y1: PyTree;
  /** The stage increments `h·f_i`, each leaf stacked `[stages, ...shape]`. */
  k: PyTree;
}

/** `y(θ)` on one step, for `θ` in [0, 1] (a float scalar array, possibly traced). */
export type Interpolant = (theta: NDArray, dense: RungeKuttaDense, stages: number) => PyTree;

/** `y0 + θ (y1 − y0)`: first-order accurate, for Euler. */
export const linearInterpolant: Interpolant = (theta, { y0, y1 }) =>
  mapArrays((a, b) => a.add(b.sub(a).mul(theta)), y0, y1);

/**
 * The cubic Hermite polynomial through `y0`, `y1` with slopes the first and last stage increments
 * (Diffrax's `ThirdOrderHermitePolynomialInterpolation.from_k`). Third-order accurate when the
 * last stage is `f(t1, y1)` (FSAL methods such as Bosh3); second-order for Heun, Midpoint and
 * Ralston, whose last stage only approximates it.
 */
export const hermiteInterpolant: Interpolant = (theta, { y0, y1, k }, stages) =>
  mapArrays(
    (a, b, k0, k1) => {
      const c3 = k0.add(k1).add(a.mul(2)).sub(b.mul(2));
      const c2 = k0.mul(-2).sub(k1).sub(a.mul(3)).add(b.mul(3));
      return c3.mul(theta).add(c2).mul(theta).add(k0).mul(theta).add(a);
    },
    y0,
    y1,
    stage(k, 0),
    stage(k, stages - 1),
  );

/** `y0 + Σ_i w_i(θ) k_i` for weight polynomials `w_i` given as one function of `θ`. */
export function weightsInterpolant(weights: (theta: NDArray) => NDArray[]): Interpolant {
  return (theta, { y0, k }) =>
    mapArrays((a, b) => a.add(b), y0, weightedSum(np.stack(weights(theta)), k));
}

/** `Σ_j p[j] θ^(n−j)` (Horner; coefficients highest power first). */
export function polyval(coefficients: readonly number[], theta: NDArray): NDArray {
  let acc: NDArray | number = coefficients[0]!;
  for (const c of coefficients.slice(1)) acc = theta.mul(acc).add(c);
  return typeof acc === "number" ? np.fullLike(theta, acc) : acc;
}

/**
 * The quartic through `y0`, `y1`, their slopes (first and last stages) and a midpoint value
 * `y0 + Σ cMid_i k_i` (Shampine 1986; Diffrax's `FourthOrderPolynomialInterpolation`).
 */
export function quarticInterpolant(cMid: readonly number[]): Interpolant {
  return (theta, { y0, y1, k }, stages) => {
    const mid = combine(
      y0,
      cMid,
      cMid.map((_, i) => stage(k, i)),
    );
    return mapArrays(
      (a, b, f0, f1, m) => {
        const c4 = f1.sub(f0).mul(2).sub(b.add(a).mul(8)).add(m.mul(16));
        const c3 = f0.mul(5).sub(f1.mul(3)).add(a.mul(18)).add(b.mul(14)).sub(m.mul(32));
        const c2 = f1.sub(f0.mul(4)).sub(a.mul(11)).sub(b.mul(5)).add(m.mul(16));
        return c4.mul(theta).add(c3).mul(theta).add(c2).mul(theta).add(f0).mul(theta).add(a);
      },
      y0,
      y1,
      stage(k, 0),
      stage(k, stages - 1),
      mid,
    );
  };
}

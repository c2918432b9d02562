/**
 * The nonlinear solver behind the implicit methods: chord (simplified Newton) iterations
 * `x ← x − M⁻¹·F(x)` with a fixed matrix `M ≈ F'(x)`, as one `lax.whileLoop` (so it stages
 * under `jit` and runs as one compiled loop). Convergence is judged by the contraction rate of
 * successive steps (Hairer & Wanner, "Solving ODEs II", §IV.8; Diffrax's `VeryChord`).
 */
import type { NDArray } from "../core/array.js";
import type { DType } from "../core/dtype.js";
import { SolverError } from "../core/errors.js";
import * as lax from "../lax/index.js";
import * as np from "../numpy/index.js";
import { Result } from "./types.js";

/** Tolerances and limits of the chord iterations. */
export interface NewtonOptions {
  /** Relative tolerance: steps are measured in units of `atol + rtol·|x|` (default `1e-8`). */
  rtol?: number;
  /** Absolute tolerance (default `1e-8`). */
  atol?: number;
  /** At most this many iterations; then the solve reports non-convergence (default 10). */
  maxIterations?: number;
  /**
   * The iterations stop when the predicted remaining error, `rate/(1 − rate)·‖step‖` in units of
   * `atol + rtol·|x|` (|x| at the start), is below `kappa` (default `1e-2`, as Diffrax).
   */
  kappa?: number;
}

/** Filled-in, checked Newton options. */
export interface NewtonSettings {
  rtol: number;
  atol: number;
  maxIterations: number;
  kappa: number;
}

/** The defaults of `NewtonOptions`. */
export const newtonDefaults: Readonly<NewtonSettings> = {
  rtol: 1e-8,
  atol: 1e-8,
  maxIterations: 10,
  kappa: 1e-2,
};

/**
 * Checks user options and fills in the defaults.
 * @param owner the public name for messages, e.g. `"ode.Kvaerno5"`.
 */
export function newtonSettings(owner: string, options: NewtonOptions = {}): NewtonSettings {
  const settings = { ...newtonDefaults, ...definedOnly(options) };
  for (const name of ["rtol", "atol", "kappa"] as const) {
    const value = settings[name];
    if (typeof value !== "number" || !(value >= 0) || !Number.isFinite(value)) {
      throw new SolverError(
        owner,
        `${name} must be a finite number ≥ 0, got ${String(value)}. For example: new ${owner}({ ${name}: 1e-8 }).`,
      );
    }
  }
  if (settings.rtol === 0 && settings.atol === 0) {
    throw new SolverError(owner, "rtol and atol cannot both be 0: one of them sets the scale.");
  }
  if (!Number.isInteger(settings.maxIterations) || settings.maxIterations < 1) {
    throw new SolverError(
      owner,
      `maxIterations must be a whole number ≥ 1, got ${String(settings.maxIterations)}.`,
    );
  }
  return settings;
}

function definedOnly(options: NewtonOptions): NewtonOptions {
  return Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as NewtonOptions;
}

/** Decimal digits of a float dtype (as `jnp.finfo(dtype).precision`). */
export function precisionOf(dtype: DType): number {
  return dtype === "float64" ? 15 : 6;
}

/** Machine epsilon of a float dtype. */
export function epsilonOf(dtype: DType): number {
  return dtype === "float64" ? 2 ** -52 : 2 ** -23;
}

/** What `chordSolve` needs: the residual, the fixed matrix, the start and the step's size. */
export interface ChordProblem {
  /** `F(x)` for a vector `x` (shape `[n]`); the root is `F(x) = 0`. */
  residual: (x: NDArray) => NDArray;
  /** The fixed matrix `M ≈ F'(x)` (shape `[n, n]`), e.g. the Jacobian at a nearby point. */
  matrix: NDArray;
  /** The starting guess (shape `[n]`). */
  x0: NDArray;
  /**
   * The size of a step `dx` in units of the tolerance (≤ 1 is within it), a float scalar. Its
   * scale must not change between iterations (the ratio of sizes is the contraction rate).
   * Default: `max(|dx| / (atol + rtol·|x0|))`.
   */
  scaledSize?: (dx: NDArray) => NDArray;
}

/** What `chordSolve` returns. */
export interface ChordSolution {
  /** The last iterate. */
  root: NDArray;
  /** Iterations made (an int32 scalar); each evaluated `F` once. */
  iterations: NDArray;
  /** `Result.successful`, `Result.implicitDivergence` or `Result.implicitNonconvergence` (int32). */
  result: NDArray;
}

/**
 * Solves `F(x) = 0` by chord iterations `x ← x − M⁻¹·F(x)` (one fixed matrix `M`, solved with
 * `np.linalg.solve`), as a `lax.whileLoop`. With `rate` the ratio of successive step sizes, it
 * stops when (after at least two iterations) `rate/(1 − rate)·‖step‖ < kappa`, or when a step is
 * below `kappa / 10` (negligible: at that size the rate is mostly roundoff) — converged; when
 * `rate ≥ 1` or a step is not finite (`Result.implicitDivergence`); or after `maxIterations`
 * (`Result.implicitNonconvergence`). Sizes are in units of the tolerance (see `scaledSize`).
 * Not differentiable itself (its loop has no fixed trip count): the implicit solvers stop
 * gradients into it and differentiate the root by the implicit function theorem instead.
 *
 * @param problem the residual, matrix and start.
 * @param settings tolerances and limits (see `newtonSettings`).
 * @returns the root, the iterations made and a result code.
 * @example
 * // x² = 2 from x = 1, with the fixed slope M = 2·1.5:
 * const solution = chordSolve(
 *   {
 *     residual: (x: NDArray) => x.mul(x).sub(2),
 *     matrix: np.array([[3]], { dtype: "float64" }),
 *     x0: np.array([1], { dtype: "float64" }),
 *   },
 *   { ...newtonDefaults, rtol: 1e-12, atol: 1e-12, maxIterations: 50 },
 * );
 * console.log(solution.root.get(0).item().toFixed(10)); // 1.4142135624
 * console.log(solution.result.item()); // 0
 */
export function chordSolve(problem: ChordProblem, settings: NewtonSettings): ChordSolution {
  const { residual, matrix, x0 } = problem;
  const dtype = x0.dtype;
  const { rtol, atol, maxIterations, kappa } = settings;
  const scale = np.abs(x0).mul(rtol).add(atol);
  const scaledSize =
    problem.scaledSize ?? ((dx: NDArray): NDArray => np.max(np.abs(dx).div(scale)));
  const resolution = 10 ** (2 - precisionOf(dtype));
  const int = (value: number): NDArray => np.array(value, { dtype: "int32" });
  const scalar = (value: number): NDArray => np.array(value, { dtype });
  type Carry = [NDArray, NDArray, NDArray, NDArray, NDArray];
  // [x, iterations, size of the last step, done, result]
  const init: Carry = [x0, int(0), scalar(Infinity), np.array(false), int(Result.successful)];
  const [root, iterations, , , result] = lax.whileLoop(
    ([, , , done]: Carry) => np.logicalNot(done),
    ([x, k, previous]: Carry): Carry => {
      const dx = np.linalg.solve(matrix, residual(x));
      const next = x.sub(dx);
      const size = scaledSize(dx);
      const count = k.add(1);
      const rate = size.div(previous);
      const atLeastTwo = count.ge(2);
      const small = size.lt(Math.max(resolution, kappa / 10));
      const finite = np.isfinite(size);
      const diverged = np.logicalOr(
        np.logicalNot(finite),
        np.logicalAnd(np.logicalAnd(atLeastTwo, np.logicalNot(small)), rate.ge(1)),
      );
      const predicted = size.mul(rate).div(np.maximum(scalar(1).sub(rate), resolution));
      const converged = np.logicalAnd(
        finite,
        np.logicalOr(
          small,
          np.logicalAnd(atLeastTwo, np.logicalAnd(rate.lt(1), predicted.lt(kappa))),
        ),
      );
      const outOfIterations = np.logicalAnd(count.ge(maxIterations), np.logicalNot(converged));
      const failed = np.where(
        diverged,
        int(Result.implicitDivergence),
        np.where(outOfIterations, int(Result.implicitNonconvergence), int(Result.successful)),
      );
      const done = np.logicalOr(np.logicalOr(converged, diverged), outOfIterations);
      return [next, count, size, done, failed];
    },
    init,
  );
  return { root, iterations, result };
}

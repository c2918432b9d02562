/**
 * Each explicit solver converges at its order: with ConstantStepSize on a problem with a known
 * solution (float64), the slope of log(error) against log(dt) matches the order within 0.2.
 * Step sizes are chosen in each method's asymptotic range and above round-off.
 *
 * Two problems: the harmonic oscillator (linear; on it every two-stage order-2 method is the same)
 * and y' = y·cos t, y = exp(sin t) (non-autonomous, so every order condition is exercised). Tsit5
 * and Dopri5 have such small leading error terms on the second that its float64 errors stay
 * pre-asymptotic; Dopri8 has on the first.
 */
import { describe, expect, it } from "vitest";
import { jit, np, ode, type NDArray } from "../../src/index.js";

/** The least-squares slope of log(error) against log(dt). */
function fittedOrder(dts: readonly number[], errors: readonly number[]): number {
  const xs = dts.map(Math.log);
  const ys = errors.map(Math.log);
  const mx = xs.reduce((a, b) => a + b) / xs.length;
  const my = ys.reduce((a, b) => a + b) / ys.length;
  const num = xs.reduce((s, x, i) => s + (x - mx) * (ys[i]! - my), 0);
  const den = xs.reduce((s, x) => s + (x - mx) ** 2, 0);
  return num / den;
}

interface Problem {
  term: ode.ODETerm;
  y0: NDArray;
  t1: number;
  exact: number[];
}

const harmonic: Problem = {
  term: new ode.ODETerm((_t: NDArray, y: NDArray) => np.stack([y.get(1), y.get(0).neg()])),
  y0: np.array([1, 0], { dtype: "float64" }),
  t1: 20,
  exact: [Math.cos(20), -Math.sin(20)],
};

const expSin: Problem = {
  term: new ode.ODETerm((t: NDArray, y: NDArray) => y.mul(np.cos(t))),
  y0: np.array([1], { dtype: "float64" }),
  t1: 2,
  exact: [Math.exp(Math.sin(2))],
};

/** Errors at t1 for these numbers of steps (one compiled solve per solver, dt0 traced). */
function errors(
  problem: Problem,
  solver: ode.ExplicitRungeKutta,
  steps: readonly number[],
): number[] {
  const run = jit(
    (dt0: NDArray) =>
      ode.solve({
        terms: problem.term,
        solver,
        t0: 0,
        t1: problem.t1,
        dt0,
        y0: problem.y0,
        maxSteps: 16384,
        adjoint: new ode.ForwardMode(),
      }).ys as NDArray,
  );
  return steps.map((n) => {
    const y = run(np.array(problem.t1 / n, { dtype: "float64" }))
      .get(0)
      .toList() as number[];
    return Math.hypot(...y.map((v, i) => v - problem.exact[i]!));
  });
}

const cases: [ode.ExplicitRungeKutta, Problem, number[]][] = [
  [new ode.Euler(), harmonic, [2048, 4096, 8192, 16384]],
  [new ode.Heun(), harmonic, [256, 512, 1024, 2048]],
  [new ode.Bosh3(), harmonic, [128, 256, 512, 1024]],
  [new ode.Tsit5(), harmonic, [200, 300, 400, 600]],
  [new ode.Dopri5(), harmonic, [200, 300, 400, 600]],
  [new ode.Euler(), expSin, [64, 128, 256, 512]],
  [new ode.Heun(), expSin, [32, 64, 128, 256]],
  [new ode.Midpoint(), expSin, [32, 64, 128, 256]],
  [new ode.Ralston(), expSin, [32, 64, 128, 256]],
  [new ode.Bosh3(), expSin, [16, 32, 64, 128]],
  [new ode.Dopri8(), expSin, [4, 6, 8, 12]],
];

describe("empirical convergence order (ConstantStepSize, float64)", () => {
  for (const [solver, problem, steps] of cases) {
    const name = problem === harmonic ? "harmonic oscillator" : "y' = y cos t";
    it(`${solver.name} on ${name}: order ${solver.order} ± 0.2`, () => {
      const errs = errors(problem, solver, steps);
      const order = fittedOrder(
        steps.map((n) => problem.t1 / n),
        errs,
      );
      expect(
        Math.abs(order - solver.order),
        `fitted ${order.toFixed(3)}, errors ${errs.map((e) => e.toExponential(2)).join(" ")}`,
      ).toBeLessThan(0.2);
    });
  }

  it("halving the step of a second-order method quarters its error", () => {
    const [coarse, fine] = errors(expSin, new ode.Midpoint(), [100, 200]);
    expect(coarse! / fine!).toBeGreaterThan(3.6);
    expect(coarse! / fine!).toBeLessThan(4.4);
  });
});

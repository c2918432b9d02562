/**
 * Stiff problems through `ode.solve` with the implicit solvers and an adaptive controller,
 * against SciPy references (test/fixtures/ode-stiff.json, made by make_ode_stiff_fixtures.py):
 * Van der Pol with mu = 1000 on [0, 3000] and Robertson's kinetics on [0, 1e5].
 */
import { describe, expect, it } from "vitest";
import { jit, np, SolverError, type NDArray } from "../../src/index.js";
import * as ode from "../../src/ode/index.js";
import { Kvaerno3, Kvaerno5 } from "../../src/ode/implicit.js";
import { loadFixture } from "../helpers/fixtures.js";

interface StiffProblem {
  params: Record<string, number>;
  t0: number;
  y0: number[];
  ts: number[];
  ys: number[][];
}
const fixtures = loadFixture<{ problems: Record<string, StiffProblem> }>("ode-stiff.json");
const vanDerPol = fixtures.problems.vanDerPol!;
const robertson = fixtures.problems.robertson!;

const vanDerPolTerm = new ode.ODETerm((_t: NDArray, y: NDArray, mu: number | NDArray) => {
  const [a, b] = [y.get(0), y.get(1)];
  return np.stack([b, a.mul(a).neg().add(1).mul(mu).mul(b).sub(a)]);
});

const robertsonTerm = new ode.ODETerm(
  (_t: NDArray, y: NDArray, k: { k1: number; k2: number; k3: number }) => {
    const [a, b, c] = [y.get(0), y.get(1), y.get(2)];
    const slow = a.mul(k.k1);
    const exchange = b.mul(c).mul(k.k3);
    const fast = b.mul(b).mul(k.k2);
    return np.stack([slow.neg().add(exchange), slow.sub(exchange).sub(fast), fast]);
  },
);

const rtol = 1e-6;
const atol = 1e-9;

/** The largest error at the save times in units of `atol + rtol·|reference|`. */
function worstScaledError(ys: NDArray, reference: number[][]): number {
  const got = ys.toList() as number[][];
  let worst = 0;
  reference.forEach((row, i) =>
    row.forEach((want, j) => {
      worst = Math.max(worst, Math.abs(got[i]![j]! - want) / (atol + rtol * Math.abs(want)));
    }),
  );
  return worst;
}

function solveStiff(
  solver: ode.Solver<unknown>,
  problem: StiffProblem,
  terms: ode.Term,
  args: unknown,
  dt0: number,
): ode.Solution {
  return ode.solve({
    terms,
    solver,
    t0: problem.t0,
    t1: problem.ts[problem.ts.length - 1]!,
    dt0,
    y0: np.array(problem.y0, { dtype: "float64" }),
    args,
    saveAt: new ode.SaveAt({ ts: problem.ts }),
    stepSizeController: new ode.PIDController({ rtol, atol }),
    maxSteps: 4096,
  });
}

describe("stiff problems meet the tolerance (errors within 100 × (atol + rtol·|y|))", () => {
  it("Van der Pol, mu = 1000, t in [0, 3000], Kvaerno5 (compiled)", { timeout: 60_000 }, () => {
    // The whole solve (Newton loops inside the step loop) compiles to one program.
    const run = jit((mu: NDArray) =>
      solveStiff(new Kvaerno5({ rtol, atol }), vanDerPol, vanDerPolTerm, mu, 1e-4),
    );
    const sol = run(np.array(vanDerPol.params.mu!, { dtype: "float64" }));
    expect(worstScaledError(sol.ys as NDArray, vanDerPol.ys)).toBeLessThan(100);
    // Stiffness is handled by stability, not by tiny steps: under a thousand steps for
    // almost two periods (an explicit method needs far more; see below).
    expect(sol.stats.numAcceptedSteps.item()).toBeLessThan(1000);
  });

  it("Robertson, t in [0, 1e5], Kvaerno5", { timeout: 60_000 }, () => {
    const sol = solveStiff(
      new Kvaerno5({ rtol, atol }),
      robertson,
      robertsonTerm,
      robertson.params,
      1e-6,
    );
    expect(worstScaledError(sol.ys as NDArray, robertson.ys)).toBeLessThan(100);
    // Mass is conserved: the three concentrations add up to 1.
    const total = (sol.ys as NDArray).sum({ axis: 1 }).toList() as number[];
    for (const s of total) expect(Math.abs(s - 1)).toBeLessThan(1e-8);
  });

  it("Robertson, t in [0, 1e5], Kvaerno3", { timeout: 60_000 }, () => {
    const sol = solveStiff(
      new Kvaerno3({ rtol, atol }),
      robertson,
      robertsonTerm,
      robertson.params,
      1e-6,
    );
    expect(worstScaledError(sol.ys as NDArray, robertson.ys)).toBeLessThan(100);
  });

  it(
    "an explicit method runs out of steps on the same Van der Pol problem",
    { timeout: 60_000 },
    () => {
      expect(() =>
        ode.solve({
          terms: vanDerPolTerm,
          solver: new ode.Tsit5(),
          t0: 0,
          t1: 100,
          dt0: 1e-4,
          y0: np.array([2, 0], { dtype: "float64" }),
          args: vanDerPol.params.mu,
          stepSizeController: new ode.PIDController({ rtol, atol }),
          maxSteps: 500,
        }),
      ).toThrow(SolverError);
    },
  );
});

/**
 * The implicit solvers (ImplicitEuler, Kvaerno3/4/5) step by step: their tableaus, their
 * empirical convergence order, the Newton (chord) iterations, failure codes, dense output, and
 * derivatives of a step (jvp, grad, vmap, jit) against finite differences.
 */
import { describe, expect, it } from "vitest";
import { grad, jit, jvp, lax, np, SolverError, vmap, type NDArray } from "../../src/index.js";
import {
  implicitEulerTableau,
  kvaerno3Tableau,
  kvaerno4Tableau,
  kvaerno5Tableau,
} from "../../src/ode/implicit-tableaus.js";
import { ImplicitEuler, Kvaerno3, Kvaerno4, Kvaerno5 } from "../../src/ode/implicit.js";
import { chordSolve, newtonDefaults } from "../../src/ode/newton.js";
import { Result, type PyTree, type Solver, type Term } from "../../src/ode/types.js";
import * as ode from "../../src/ode/index.js";
import { expectClose, expectTypedError } from "../helpers/assertions.js";
import { f64, numericGrad, numericJvp, values } from "../helpers/numeric.js";

const file = "implicit.test.ts";
const no = np.array(false);

/** Fits the slope of log(error) against log(dt) by least squares. */
function slope(dts: number[], errors: number[]): number {
  const xs = dts.map(Math.log);
  const ys = errors.map(Math.log);
  const mx = xs.reduce((a, b) => a + b) / xs.length;
  const my = ys.reduce((a, b) => a + b) / ys.length;
  const num = xs.reduce((s, x, i) => s + (x - mx) * (ys[i]! - my), 0);
  const den = xs.reduce((s, x) => s + (x - mx) ** 2, 0);
  return num / den;
}

/** `n` constant steps from t0 to t1, compiled as one loop. Returns y(t1). */
function integrate(
  solver: Solver<unknown>,
  term: Term,
  y0: PyTree,
  [t0, t1]: [number, number],
  n: number,
  args: unknown = null,
): PyTree {
  const dt = (t1 - t0) / n;
  const run = jit((y: PyTree, a: unknown) => {
    const start = f64(t0);
    const state = solver.init(term, start, f64(t0 + dt), y, a);
    const [yEnd] = lax.foriLoop(
      0,
      n,
      (i: NDArray, [yi, si]: [PyTree, unknown]): [PyTree, unknown] => {
        const ta = i.astype("float64").mul(dt).add(t0);
        const tb = i.add(1).astype("float64").mul(dt).add(t0);
        const out = solver.step(term, ta, tb, yi, a, si, no);
        return [out.y1, out.state];
      },
      [y, state] as [PyTree, unknown],
    );
    return yEnd;
  });
  return run(y0, args);
}

// A nonlinear, non-stiff problem with a known solution and a pytree state:
//   u' = −2t·u²            → u(t) = u0 / (1 + u0·t²)
//   v' = [−v1, v0]         → v(t) = R(t)·v0 (a rotation)
const smooth: Term = {
  vf: (t: NDArray, y: PyTree) => {
    const { u, v } = y as { u: NDArray; v: NDArray };
    return { u: u.mul(u).mul(t).mul(-2), v: np.stack([v.get(1).neg(), v.get(0)]) };
  },
};
const smoothY0 = { u: f64([1, 0.5]), v: f64([1, 0]) };
function smoothExact(t: number): { u: NDArray; v: NDArray } {
  return {
    u: f64([1 / (1 + t * t), 0.5 / (1 + 0.5 * t * t)]),
    v: f64([Math.cos(t), Math.sin(t)]),
  };
}
function maxError(a: PyTree, b: PyTree): number {
  const x = a as { u: NDArray; v: NDArray };
  const y = b as { u: NDArray; v: NDArray };
  return Math.max(...values(np.abs(x.u.sub(y.u))), ...values(np.abs(x.v.sub(y.v))));
}

// Tight Newton tolerances, so the fitted order is the method's (the chord iterations then need more
// than the default 10 iterations on the first steps, where the Jacobian changes fastest).
const tight = { rtol: 1e-13, atol: 1e-13, maxIterations: 30 };

describe("tableaus", () => {
  const all = {
    implicitEulerTableau,
    kvaerno3Tableau,
    kvaerno4Tableau,
    kvaerno5Tableau,
  };
  for (const [name, tab] of Object.entries(all)) {
    it(`${name} is consistent, stiffly accurate and first-same-as-last`, () => {
      const close = (a: number, b: number): void => expect(Math.abs(a - b)).toBeLessThan(1e-12);
      const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
      tab.aLower.forEach((row, i) => {
        expect(row.length).toBe(i + 1);
        close(sum(row) + tab.gamma, tab.c[i]!);
        close(sum(tab.predictor[i]!), 1);
      });
      close(sum(tab.bSol), 1);
      close(sum(tab.bError), 0);
      expect(tab.bSol).toEqual([...tab.aLower[tab.aLower.length - 1]!, tab.gamma]);
      expect(tab.c[tab.c.length - 1]).toBe(1);
    });
  }

  it("Kvaerno5 satisfies the order conditions up to order 5 (b·c^k, b·A·c^k, …)", () => {
    const tab = kvaerno5Tableau;
    const s = tab.bSol.length;
    const a = Array.from({ length: s }, (_, i) =>
      Array.from({ length: s }, (_, j) =>
        i === 0 ? 0 : j < i ? tab.aLower[i - 1]![j]! : j === i ? tab.gamma : 0,
      ),
    );
    const c = [0, ...tab.c];
    const b = tab.bSol;
    const dot = (x: number[], y: number[]): number => x.reduce((acc, v, i) => acc + v * y[i]!, 0);
    const times = (m: number[][], v: number[]): number[] => m.map((row) => dot(row, v));
    const pow = (k: number): number[] => c.map((x) => x ** k);
    const check = (value: number, expected: number): void =>
      expect(Math.abs(value - expected)).toBeLessThan(1e-9);
    for (let k = 0; k < 5; k++) check(dot([...b], pow(k)), 1 / (k + 1));
    check(dot([...b], times(a, c)), 1 / 6);
    check(dot([...b], times(a, pow(2))), 1 / 12);
    check(dot([...b], times(a, times(a, c))), 1 / 24);
    check(
      dot(
        b.map((x, i) => x * c[i]!),
        times(a, c),
      ),
      1 / 8,
    );
    check(dot([...b], times(a, pow(3))), 1 / 20);
    check(dot([...b], times(a, times(a, times(a, c)))), 1 / 120);
  });
});

describe("convergence order with constant steps (float64)", () => {
  const cases: [Solver<unknown>, number[]][] = [
    [new ImplicitEuler(tight), [100, 200, 400, 800]],
    [new Kvaerno3(tight), [20, 40, 80, 160]],
    [new Kvaerno4(tight), [10, 20, 40, 80]],
    [new Kvaerno5(tight), [8, 16, 32, 64]],
  ];
  const span: [number, number] = [0, 2];
  const exact = smoothExact(span[1]);
  for (const [solver, steps] of cases) {
    it(`${solver.name} converges with order ${solver.order} (±0.2)`, () => {
      const dts = steps.map((n) => (span[1] - span[0]) / n);
      const errors = steps.map((n) =>
        maxError(integrate(solver, smooth, smoothY0, span, n), exact),
      );
      const order = slope(dts, errors);
      expect(
        Math.abs(order - solver.order),
        `fitted order ${order}, errors ${errors.join(", ")}`,
      ).toBeLessThan(0.2);
      expect(Math.min(...errors)).toBeGreaterThan(1e-13); // above roundoff: the fit is meaningful
    });
  }
});

/** Van der Pol with `mu` in args: stiff for large mu. */
const vanDerPol: Term = {
  vf: (_t: NDArray, y: PyTree, args: unknown) => {
    const v = y as NDArray;
    const { mu } = args as { mu: NDArray };
    const [a, b] = [v.get(0), v.get(1)];
    return np.stack([b, mu.mul(a.mul(a).neg().add(1)).mul(b).sub(a)]);
  },
};

/** One step's output: `[y1, result, evaluations]`. */
function stepOnce(
  solver: Solver<unknown>,
  term: Term,
  y0: PyTree,
  [t0, t1]: [number, number],
  args: unknown = null,
) {
  const [a, b] = [f64(t0), f64(t1)];
  const out = solver.step(term, a, b, y0, args, solver.init(term, a, b, y0, args), no);
  return out;
}

describe("Newton (chord) iterations", () => {
  it("solve a stiff linear system in one iteration plus one that confirms it", () => {
    const a = f64([
      [1e4, 1, 0],
      [-1, 2e3, 5],
      [0, 3, 1],
    ]);
    const b = f64([1, 2, 3]);
    const solution = chordSolve(
      { residual: (x) => np.matmul(a, x).sub(b), matrix: a, x0: f64([0, 0, 0]) },
      { ...newtonDefaults, rtol: 1e-12, atol: 1e-12 },
    );
    expect(solution.result.item()).toBe(Result.successful);
    expect(solution.iterations.item()).toBe(2);
    expectClose(solution.root, np.linalg.solve(a, b), { rtol: 1e-12, atol: 1e-14 });
  });

  it("take two iterations per stage on a stiff linear ODE (Kvaerno5: 6 stages)", () => {
    const a = f64([
      [-1, 0],
      [1, -1e4],
    ]);
    const term: Term = { vf: (_t: NDArray, y: PyTree) => np.matmul(a, y as NDArray) };
    const out = stepOnce(new Kvaerno5(), term, f64([1, 1]), [0, 0.1]);
    expect(out.result.item()).toBe(Result.successful);
    // Per stage: 2 iterations + the implicit-function-theorem step; plus one chord Jacobian.
    expect((out.evaluations as NDArray).item()).toBe(6 * 4 + 1);
  });

  it("converge in a few iterations on stiff Van der Pol (mu = 1000) with dt = 1", () => {
    const out = stepOnce(new Kvaerno5({ rtol: 1e-6, atol: 1e-9 }), vanDerPol, f64([2, 0]), [0, 1], {
      mu: f64(1000),
    });
    expect(out.result.item()).toBe(Result.successful);
    const iterations = ((out.evaluations as NDArray).item() as number) - 6 * 2 - 1;
    expect(iterations).toBeLessThanOrEqual(6 * 4);
  });

  it("report divergence when the step grows (rate ≥ 1)", () => {
    const solution = chordSolve(
      { residual: (x) => x.sub(2), matrix: f64([[-1]]), x0: f64([0]) },
      newtonDefaults,
    );
    expect(solution.root.item()).toBe(-6);
    expect(solution.result.item()).toBe(Result.implicitDivergence);
    expect(solution.iterations.item()).toBe(2);
  });

  it("report divergence when the residual is not finite", () => {
    const solution = chordSolve(
      { residual: (x) => np.log(x.neg()), matrix: f64([[1]]), x0: f64([1]) },
      newtonDefaults,
    );
    expect(solution.result.item()).toBe(Result.implicitDivergence);
    expect(solution.iterations.item()).toBe(1);
  });

  it("report non-convergence after maxIterations when contraction is slow", () => {
    const solution = chordSolve(
      { residual: (x) => x.sub(2), matrix: f64([[10]]), x0: f64([0]) },
      { ...newtonDefaults, maxIterations: 5 },
    );
    expect(solution.result.item()).toBe(Result.implicitNonconvergence);
    expect(solution.iterations.item()).toBe(5);
  });

  it("make a failed step's error estimate infinite, so an adaptive controller rejects it", () => {
    const out = stepOnce(new Kvaerno5({ maxIterations: 2 }), vanDerPol, f64([2, 0]), [0, 3000], {
      mu: f64(1000),
    });
    expect([Result.implicitDivergence, Result.implicitNonconvergence]).toContain(out.result.item());
    expect(values(out.yError as NDArray)).toEqual([Infinity, Infinity]);
  });

  it("work under jit (the whole step is one compiled program) and agree with eager", () => {
    const solver = new Kvaerno3();
    const args = { mu: f64(10) };
    const f = (y: NDArray) => stepOnce(solver, vanDerPol, y, [0, 0.05], args).y1 as NDArray;
    expectClose(jit(f)(f64([2, 0])), f(f64([2, 0])), { rtol: 1e-12, atol: 1e-14 });
  });
});

describe("derivatives of a step (implicit function theorem)", () => {
  const solver = new Kvaerno5(tight);
  const span: [number, number] = [0, 0.1];
  const y1 = (y0: NDArray, mu: NDArray): NDArray =>
    stepOnce(solver, vanDerPol, y0, span, { mu }).y1 as NDArray;
  const y0 = f64([1.5, -0.5]);
  const mu = f64(20);

  it("jvp matches central differences", () => {
    const primals = [y0, mu];
    const tangents = [f64([0.3, -0.7]), f64(0.5)];
    const [, tangent] = jvp(y1, primals, tangents);
    expectClose(tangent, numericJvp(y1, primals, tangents), { rtol: 1e-6, atol: 1e-8 });
  });

  it("grad with respect to y0 and args matches central differences", () => {
    const loss = (y: NDArray, m: NDArray): NDArray =>
      y1(y, m)
        .mul(f64([1, 2]))
        .sum();
    const g = grad(loss, { argnums: [0, 1] })(y0, mu) as unknown as NDArray[];
    expectClose(g[0], numericGrad(loss, [y0, mu], 0), { rtol: 1e-6, atol: 1e-8 });
    expectClose(g[1], numericGrad(loss, [y0, mu], 1), { rtol: 1e-6, atol: 1e-8 });
  });

  it("grad through a compiled loop of steps (reverse mode over staged Newton loops)", () => {
    const loss = (y: NDArray, m: NDArray): NDArray =>
      (integrate(solver, vanDerPol, y, [0, 0.5], 5, { mu: m }) as NDArray).sum();
    const g = grad(loss, { argnums: [0, 1] })(y0, mu) as unknown as NDArray[];
    expectClose(g[0], numericGrad(loss, [y0, mu], 0), { rtol: 1e-6, atol: 1e-8 });
    expectClose(g[1], numericGrad(loss, [y0, mu], 1), { rtol: 1e-6, atol: 1e-8 });
  });

  it("vmap over initial states agrees with one step per state", () => {
    const batch = f64([
      [1.5, -0.5],
      [2, 0],
      [0.1, 0.2],
    ]);
    const batched = vmap((y: NDArray) => y1(y, mu))(batch);
    const each = np.stack([0, 1, 2].map((i) => y1(batch.get(i), mu)));
    expectClose(batched, each, { rtol: 1e-10, atol: 1e-12 });
  });
});

describe("dense output", () => {
  for (const solver of [new Kvaerno3(tight), new Kvaerno5(tight), new ImplicitEuler(tight)]) {
    it(`${solver.name} interpolates from y0 to y1 (order ${solver.name === "ImplicitEuler" ? 1 : 3})`, () => {
      const [t0, t1] = [f64(0), f64(0.1)];
      const out = stepOnce(solver, smooth, smoothY0, [0, 0.1]);
      expectClose(solver.interpolate(t0, t1, out.dense, t0), smoothY0, { rtol: 0, atol: 1e-15 });
      expectClose(solver.interpolate(t0, t1, out.dense, t1), out.y1, { rtol: 0, atol: 1e-15 });
      const mid = solver.interpolate(t0, t1, out.dense, f64(0.05));
      const tolerance = solver.name === "ImplicitEuler" ? 1e-2 : 1e-4;
      expect(maxError(mid, smoothExact(0.05))).toBeLessThan(tolerance);
    });
  }
});

describe("errors", () => {
  const term: Term = { vf: (_t: NDArray, y: PyTree) => (y as NDArray).neg() };

  it("an integer state is a SolverError that says to use floats", () => {
    expectTypedError(
      () => stepOnce(new Kvaerno5(), term, np.array([1, 2], { dtype: "int32" }), [0, 1]),
      SolverError,
      file,
      "float array",
    );
  });

  it("a vector field of the wrong shape is a SolverError naming both shapes", () => {
    const wrong: Term = { vf: () => f64([1, 2, 3]) };
    expectTypedError(
      () => stepOnce(new Kvaerno3(), wrong, f64([1, 2]), [0, 1]),
      SolverError,
      file,
      "[3]",
      "[2]",
    );
  });

  it("invalid Newton options are SolverErrors", () => {
    expectTypedError(() => new Kvaerno5({ rtol: -1 }), SolverError, file, "rtol");
    expectTypedError(
      () => new ImplicitEuler({ maxIterations: 0 }),
      SolverError,
      file,
      "maxIterations",
    );
  });
});

describe("controller tolerances", () => {
  it("fill in only the Newton tolerances the user left out", () => {
    const solver = new Kvaerno5({ rtol: 1e-4 }).withControllerTolerances({
      rtol: 1e-7,
      atol: 1e-9,
    });
    expect(solver).toBeInstanceOf(Kvaerno5);
    expect(solver.newton).toMatchObject({ rtol: 1e-4, atol: 1e-9, maxIterations: 10 });
  });
});

describe("through ode.solve", () => {
  const mu = f64(1000);
  const y0 = f64([2, 0]);

  it("a step whose Newton iteration fails is rejected and retried smaller (PIDController)", () => {
    const sol = ode.solve({
      terms: vanDerPol,
      solver: new Kvaerno5({ maxIterations: 3 }),
      t0: 0,
      t1: 100,
      dt0: 100,
      y0,
      args: { mu },
      stepSizeController: new ode.PIDController({ rtol: 1e-6, atol: 1e-9 }),
    });
    expect(sol.stats.numRejectedSteps.item()).toBeGreaterThan(0);
    // SciPy's Radau at rtol 1e-12 (test/fixtures/ode-stiff.json): y(100).
    expectClose(sol.ys, f64([[1.9313613205272884, -0.0007074176282297031]]), {
      rtol: 1e-6,
      atol: 1e-8,
    });
  });

  it("with constant steps a failed Newton iteration ends the solve with its own message", () => {
    expectTypedError(
      () =>
        ode.solve({
          terms: vanDerPol,
          solver: new Kvaerno5({ maxIterations: 2 }),
          t0: 0,
          t1: 3000,
          dt0: 3000,
          y0,
          args: { mu },
        }),
      SolverError,
      file,
      "Newton iteration",
    );
  });

  it(
    "grad of a solve (the default adjoint) with respect to y0 and args matches central differences",
    { timeout: 60_000 },
    () => {
      const loss = (y: NDArray, m: NDArray): NDArray =>
        (
          ode.solve({
            terms: vanDerPol,
            solver: new Kvaerno5(tight),
            t0: 0,
            t1: 1,
            dt0: 0.1,
            y0: y,
            args: { mu: m },
            stepSizeController: new ode.PIDController({ rtol: 1e-8, atol: 1e-8 }),
            maxSteps: 64,
          }).ys as NDArray
        )
          .mul(f64([1, 0.1]))
          .sum();
      const start = f64([1.5, -0.5]);
      const m = f64(5);
      const g = grad(loss, { argnums: [0, 1] })(start, m) as unknown as NDArray[];
      // The step sizes are piecewise constant in the inputs, so differences see the same steps.
      expectClose(g[0], numericGrad(loss, [start, m], 0, 1e-7), { rtol: 1e-5, atol: 1e-7 });
      expectClose(g[1], numericGrad(loss, [start, m], 1, 1e-7), { rtol: 1e-5, atol: 1e-7 });
    },
  );

  for (const solver of [new ImplicitEuler(), new Kvaerno3(), new Kvaerno4(), new Kvaerno5()]) {
    it(`${solver.name} works in float32 (y' = −1000·(y − cos t) − sin t)`, () => {
      const sol = ode.solve({
        terms: {
          vf: (t: NDArray, y: PyTree) => (y as NDArray).sub(np.cos(t)).mul(-1000).sub(np.sin(t)),
        },
        solver,
        t0: 0,
        t1: 1,
        dt0: 0.01,
        y0: np.array(1, { dtype: "float32" }),
        stepSizeController: new ode.PIDController({ rtol: 1e-4, atol: 1e-6 }),
      });
      const y = sol.ys as NDArray;
      expect(y.dtype).toBe("float32");
      expect(Math.abs((y.item() as number) - Math.cos(1))).toBeLessThan(1e-4);
    });
  }
});

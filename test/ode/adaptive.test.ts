/**
 * Adaptive solves meet their tolerances: on problems with known solutions, and on Lotka–Volterra
 * and Lorenz against tight-tolerance references made by test/fixtures/make_ode_explicit_fixtures.py
 * (scipy's DOP853 at rtol = atol = 1e-13, stored in test/fixtures/ode-explicit.json). Also the
 * controllers' contracts: the first step chosen automatically, statistics, dtmin/dtmax, StepTo,
 * solving backwards in time.
 */
import { describe, expect, it } from "vitest";
import { jit, np, ode, type NDArray } from "../../src/index.js";
import { loadFixture } from "../helpers/fixtures.js";

const f64 = (x: number | number[] | number[][]): NDArray => np.array(x, { dtype: "float64" });

interface Reference {
  args: number[];
  y0: number[];
  t1: number;
  ts: number[];
  ys: number[][];
  referenceError: number;
}
const fixtures = loadFixture<Record<"lotkaVolterra" | "lorenz", Reference>>("ode-explicit.json");

const lotkaVolterra = new ode.ODETerm((_t: NDArray, y: NDArray, p: number[]) => {
  const [a, b, c, d] = p as [number, number, number, number];
  const x = y.get(0);
  const z = y.get(1);
  return np.stack([x.mul(a).sub(x.mul(z).mul(b)), x.mul(z).mul(d).sub(z.mul(c))]);
});

const lorenz = new ode.ODETerm((_t: NDArray, y: NDArray, p: number[]) => {
  const [s, r, q] = p as [number, number, number];
  const [x, v, z] = [y.get(0), y.get(1), y.get(2)];
  return np.stack([v.sub(x).mul(s), x.mul(z.neg().add(r)).sub(v), x.mul(v).sub(z.mul(q))]);
});

/** The largest error in units of the tolerance: |y − ref| / (atol + rtol·|ref|). */
function errorInTolerances(ys: NDArray, reference: NDArray, tol: number): number {
  return np.abs(ys.sub(reference)).div(np.abs(reference).mul(tol).add(tol)).max().item() as number;
}

/** A compiled solve of a fixture problem at `tol`, saving at the fixture's times. */
function solveFixture(
  term: ode.ODETerm,
  ref: Reference,
  solver: ode.Solver,
  tol: number,
): ode.Solution {
  return jit((y0: NDArray) =>
    ode.solve({
      terms: term,
      solver,
      t0: 0,
      t1: ref.t1,
      y0,
      args: ref.args,
      saveAt: new ode.SaveAt({ ts: ref.ts }),
      stepSizeController: new ode.PIDController({ rtol: tol, atol: tol }),
      maxSteps: 16384,
    }),
  )(f64(ref.y0));
}

describe("against scipy's DOP853 at 1e-13", () => {
  const lv = fixtures.lotkaVolterra;
  const cases: [ode.Solver, number, number][] = [
    // [solver, tolerance, bound on the global error in tolerances]
    [new ode.Heun(), 1e-5, 20],
    [new ode.Midpoint(), 1e-5, 20],
    [new ode.Ralston(), 1e-5, 20],
    [new ode.Bosh3(), 1e-6, 400],
    [new ode.Tsit5(), 1e-8, 20],
    [new ode.Dopri5(), 1e-8, 100],
    [new ode.Dopri8(), 1e-10, 50],
  ];
  for (const [solver, tol, bound] of cases) {
    it(`${solver.name} on Lotka–Volterra at rtol = atol = ${tol}: within ${bound} tolerances`, () => {
      const sol = solveFixture(lotkaVolterra, lv, solver, tol);
      expect(sol.result.item()).toBe(ode.Result.successful);
      expect(errorInTolerances(sol.ys as NDArray, f64(lv.ys), tol)).toBeLessThan(bound);
    });
  }

  it("Tsit5 at 1e-6, 1e-8, 1e-10: the error shrinks with the tolerance and the steps grow", () => {
    const runs = [1e-6, 1e-8, 1e-10].map((tol) =>
      solveFixture(lotkaVolterra, lv, new ode.Tsit5(), tol),
    );
    const errs = runs.map(
      (s) =>
        np
          .abs((s.ys as NDArray).sub(f64(lv.ys)))
          .max()
          .item() as number,
    );
    const steps = runs.map((s) => s.stats.numSteps.item() as number);
    expect(errs[1]!).toBeLessThan(errs[0]! / 20);
    expect(errs[2]!).toBeLessThan(errs[1]! / 10);
    expect(steps[1]!).toBeGreaterThan(steps[0]!);
    expect(steps[2]!).toBeGreaterThan(steps[1]!);
  });

  it("Dopri8 at 1e-12 follows chaotic Lorenz to 1e-8 of the reference", () => {
    const ref = fixtures.lorenz;
    const sol = solveFixture(lorenz, ref, new ode.Dopri8(), 1e-12);
    expect(ref.referenceError).toBeLessThan(1e-9);
    expect(
      np
        .abs((sol.ys as NDArray).sub(f64(ref.ys)))
        .max()
        .item(),
    ).toBeLessThan(1e-8);
  });
});

describe("PIDController on problems with known solutions", () => {
  const decay = new ode.ODETerm((_t: NDArray, y: NDArray) => y.neg());
  const rational = new ode.ODETerm((t: NDArray, y: NDArray) => t.mul(-2).mul(y).mul(y));

  it("eagerly, Tsit5 meets rtol = atol = 1e-6 on y' = -2ty², y = 1/(1 + t²)", () => {
    const ts = [0.5, 1, 2, 3, 4];
    const sol = ode.solve({
      terms: rational,
      solver: new ode.Tsit5(),
      t0: 0,
      t1: 4,
      y0: f64(1),
      saveAt: new ode.SaveAt({ ts }),
      stepSizeController: new ode.PIDController({ rtol: 1e-6, atol: 1e-6 }),
    });
    const exact = f64(ts.map((t) => 1 / (1 + t * t)));
    expect(errorInTolerances(sol.ys as NDArray, exact, 1e-6)).toBeLessThan(5);
  });

  it("a PI controller (pcoeff 0.4, icoeff 0.3) meets the tolerance too", () => {
    const sol = ode.solve({
      terms: rational,
      solver: new ode.Dopri5(),
      t0: 0,
      t1: 4,
      y0: f64(1),
      stepSizeController: new ode.PIDController({
        rtol: 1e-7,
        atol: 1e-7,
        pcoeff: 0.4,
        icoeff: 0.3,
      }),
    });
    expect(Math.abs(((sol.ys as NDArray).item() as number) - 1 / 17)).toBeLessThan(1e-6);
  });

  it("without dt0 the first step is chosen (Hairer's algorithm: two extra evaluations)", () => {
    const sol = ode.solve({
      terms: decay,
      solver: new ode.Tsit5(),
      t0: 0,
      t1: 1,
      y0: f64([1, 2]),
      saveAt: new ode.SaveAt({ steps: true }),
      stepSizeController: new ode.PIDController({ rtol: 1e-6, atol: 1e-6 }),
      maxSteps: 64,
    });
    const first = (sol.ts as NDArray).get(0).item() as number;
    expect(first).toBeGreaterThan(1e-3);
    expect(first).toBeLessThan(0.5);
    const { numSteps, numAcceptedSteps, numRejectedSteps, numFunctionEvaluations } = sol.stats;
    expect(numSteps.item()).toBe(
      (numAcceptedSteps.item() as number) + (numRejectedSteps.item() as number),
    );
    // 1 FSAL evaluation at t0, 2 for the first step, 6 per step.
    expect(numFunctionEvaluations.item()).toBe(3 + 6 * (numSteps.item() as number));
  });

  // (Not dt0 = 5: shrunk by factormin it becomes 1, and Bosh3's error estimate for y' = -y
  // happens to vanish at h = 1, so a 9%-wrong step would pass.)
  it("numSteps counts rejected steps; a huge dt0 is rejected and shrunk", () => {
    const sol = ode.solve({
      terms: decay,
      solver: new ode.Bosh3(),
      t0: 0,
      t1: 10,
      dt0: 3,
      y0: f64(1),
      stepSizeController: new ode.PIDController({ rtol: 1e-5, atol: 1e-8 }),
    });
    expect(sol.stats.numRejectedSteps.item()).toBeGreaterThan(0);
    expect(Math.abs(((sol.ys as NDArray).item() as number) - Math.exp(-10))).toBeLessThan(1e-6);
  });

  it("dtmax caps every step and dtmin floors them", () => {
    const capped = ode.solve({
      terms: decay,
      solver: new ode.Tsit5(),
      t0: 0,
      t1: 2,
      y0: f64(1),
      saveAt: new ode.SaveAt({ t0: true, steps: true }),
      stepSizeController: new ode.PIDController({ rtol: 1e-3, atol: 1e-3, dtmax: 0.1 }),
      maxSteps: 64,
    });
    const n = capped.stats.numAcceptedSteps.item() as number;
    const ts = ((capped.ts as NDArray).toList() as number[]).slice(0, n + 1);
    expect(n).toBeGreaterThanOrEqual(20);
    ts.slice(1).forEach((t, i) => expect(t - ts[i]!).toBeLessThanOrEqual(0.1 + 1e-12));
    const floored = ode.solve({
      terms: decay,
      solver: new ode.Tsit5(),
      t0: 0,
      t1: 2,
      y0: f64(1),
      saveAt: new ode.SaveAt({ t0: true, steps: true }),
      stepSizeController: new ode.PIDController({ rtol: 1e-12, atol: 1e-12, dtmin: 0.5 }),
      maxSteps: 16,
    });
    expect(floored.stats.numAcceptedSteps.item()).toBe(4);
  });

  it("stopAtDtmin ends the solve with Result.dtMinReached", () => {
    const sol = ode.solve({
      terms: decay,
      solver: new ode.Tsit5(),
      t0: 0,
      t1: 2,
      y0: f64(1),
      stepSizeController: new ode.PIDController({
        rtol: 1e-12,
        atol: 1e-12,
        dtmin: 0.5,
        stopAtDtmin: true,
      }),
      throwOnFailure: false,
    });
    expect(sol.result.item()).toBe(ode.Result.dtMinReached);
  });

  it("float32 solves meet float32 tolerances", () => {
    const sol = ode.solve({
      terms: decay,
      solver: new ode.Tsit5(),
      t0: 0,
      t1: 3,
      y0: np.array([1, 2]),
      stepSizeController: new ode.PIDController({ rtol: 1e-5, atol: 1e-5 }),
    });
    const ys = sol.ys as NDArray;
    expect(ys.dtype).toBe("float32");
    expect(sol.ts!.dtype).toBe("float32");
    expect(
      np
        .abs(ys.sub(f64([Math.exp(-3), 2 * Math.exp(-3)]).astype("float32")))
        .max()
        .item(),
    ).toBeLessThan(1e-4);
  });
});

describe("ConstantStepSize and StepTo", () => {
  const decay = new ode.ODETerm((_t: NDArray, y: NDArray) => y.neg());

  it("the last constant step is shortened to end exactly at t1", () => {
    const sol = ode.solve({
      terms: decay,
      solver: new ode.Euler(),
      t0: 0,
      t1: 1,
      dt0: 0.3,
      y0: f64(1),
      saveAt: new ode.SaveAt({ steps: true }),
      maxSteps: 8,
    });
    expect(
      ((sol.ts as NDArray).toList() as number[]).slice(0, 4).map((t) => Number(t.toFixed(12))),
    ).toEqual([0.3, 0.6, 0.9, 1]);
    expect(sol.stats.numSteps.item()).toBe(4);
    expect((sol.ys as NDArray).get(3).item()).toBeCloseTo(0.7 ** 3 * 0.9, 12);
  });

  it("accumulated rounding does not add a tiny extra step (0.1 ten times reaches 1)", () => {
    const sol = ode.solve({
      terms: decay,
      solver: new ode.Euler(),
      t0: 0,
      t1: 1,
      dt0: 0.1,
      y0: f64(1),
    });
    expect(sol.stats.numSteps.item()).toBe(10);
    expect(sol.t1.item()).toBe(1);
  });

  it("StepTo steps to exactly the given times", () => {
    const sol = ode.solve({
      terms: decay,
      solver: new ode.Heun(),
      t0: 0,
      t1: 1,
      y0: f64(1),
      saveAt: new ode.SaveAt({ steps: true }),
      stepSizeController: new ode.StepTo({ ts: [0, 0.1, 0.5, 1] }),
      maxSteps: 4,
    });
    expect(((sol.ts as NDArray).toList() as number[]).slice(0, 3)).toEqual([0.1, 0.5, 1]);
  });
});

describe("backwards in time", () => {
  it("t1 < t0 with a negative dt0 integrates backwards (y' = -y from y(1) = 1/e to y(0) = 1)", () => {
    const sol = ode.solve({
      terms: new ode.ODETerm((_t: NDArray, y: NDArray) => y.neg()),
      solver: new ode.Tsit5(),
      t0: 1,
      t1: 0,
      dt0: -0.1,
      y0: f64(Math.exp(-1)),
      saveAt: new ode.SaveAt({ ts: [0.75, 0.5, 0], dense: true }),
      stepSizeController: new ode.PIDController({ rtol: 1e-9, atol: 1e-9 }),
    });
    expect((sol.ts as NDArray).toList()).toEqual([0.75, 0.5, 0]);
    const ys = (sol.ys as NDArray).toList() as number[];
    [0.75, 0.5, 0].forEach((t, i) => expect(Math.abs(ys[i]! - Math.exp(-t))).toBeLessThan(1e-8));
    expect(
      Math.abs(((sol.evaluate(0.3) as NDArray).item() as number) - Math.exp(-0.3)),
    ).toBeLessThan(1e-8);
    expect(
      Math.abs(((sol.derivative(0.3) as NDArray).item() as number) + Math.exp(-0.3)),
    ).toBeLessThan(1e-6);
    expect(sol.t1.item()).toBe(0);
  });

  it("with traced times under jit the direction is found at run time", () => {
    const run = jit((t0: NDArray, t1: NDArray, dt0: NDArray) =>
      ode.solve({
        terms: new ode.ODETerm((t: NDArray, y: NDArray) => y.mul(t)),
        solver: new ode.Dopri5(),
        t0,
        t1,
        dt0,
        y0: f64(1),
        stepSizeController: new ode.PIDController({ rtol: 1e-9, atol: 1e-9 }),
      }),
    );
    // y' = t y: y(t1) = y(t0) exp((t1² − t0²)/2)
    const forward = run(f64(0), f64(1), f64(0.1));
    const backward = run(f64(1), f64(0), f64(-0.1));
    expect(Math.abs(((forward.ys as NDArray).item() as number) - Math.exp(0.5))).toBeLessThan(1e-8);
    expect(Math.abs(((backward.ys as NDArray).item() as number) - Math.exp(-0.5))).toBeLessThan(
      1e-8,
    );
  });
});

/**
 * What a solve saves (SaveAt's t0, ts, steps, t1, in that order, inf-padded), its dense output
 * (each solver's own interpolant, converging at its order), and that a solve is the same eagerly,
 * under jit, and per example under vmap; y may be any pytree.
 */
import { describe, expect, it } from "vitest";
import { jit, np, ode, vmap, type NDArray } from "../../src/index.js";
import { expectClose } from "../helpers/assertions.js";

const f64 = (x: number | number[] | number[][]): NDArray => np.array(x, { dtype: "float64" });
const decay = new ode.ODETerm((_t: NDArray, y: NDArray) => y.neg());
const expSin = new ode.ODETerm((t: NDArray, y: NDArray) => y.mul(np.cos(t)));

describe("SaveAt", () => {
  it("saves only the final state by default, with a leading time axis of 1", () => {
    const sol = ode.solve({
      terms: decay,
      solver: new ode.Tsit5(),
      t0: 0,
      t1: 1,
      dt0: 0.1,
      y0: f64([1, 2]),
    });
    expect((sol.ts as NDArray).toList()).toEqual([1]);
    expect((sol.ys as NDArray).shape).toEqual([1, 2]);
  });

  it("orders t0, ts, steps (inf-padded to maxSteps), t1", () => {
    const sol = ode.solve({
      terms: decay,
      solver: new ode.Euler(),
      t0: 0,
      t1: 1,
      dt0: 0.5,
      y0: f64(1),
      saveAt: new ode.SaveAt({ t0: true, ts: [0, 0.25, 1], steps: true, t1: true }),
      maxSteps: 4,
    });
    expect((sol.ts as NDArray).toList()).toEqual([0, 0, 0.25, 1, 0.5, 1, Infinity, Infinity, 1]);
    // Euler's dense output is linear: y(0.25) = 1 − 0.25.
    expect((sol.ys as NDArray).toList()).toEqual([
      1,
      1,
      0.75,
      0.25,
      0.5,
      0.25,
      Infinity,
      Infinity,
      0.25,
    ]);
  });

  it("saves at ts by the solver's interpolant, accurate to the tolerance (Tsit5)", () => {
    const ts = np.linspace(0, 2, 41).astype("float64");
    const sol = ode.solve({
      terms: expSin,
      solver: new ode.Tsit5(),
      t0: 0,
      t1: 2,
      y0: f64(1),
      saveAt: new ode.SaveAt({ ts }),
      stepSizeController: new ode.PIDController({ rtol: 1e-8, atol: 1e-8 }),
    });
    expect(
      np
        .abs((sol.ys as NDArray).sub(np.exp(np.sin(ts))))
        .max()
        .item(),
    ).toBeLessThan(1e-7);
    expect(sol.stats.numSteps.item()).toBeLessThan(41);
  });

  it("with dense output only, ts and ys are null", () => {
    const sol = ode.solve({
      terms: decay,
      solver: new ode.Tsit5(),
      t0: 0,
      t1: 1,
      dt0: 0.1,
      y0: f64(1),
      saveAt: new ode.SaveAt({ dense: true }),
    });
    expect(sol.ts).toBeNull();
    expect(sol.ys).toBeNull();
    expect((sol.evaluate(1) as NDArray).item()).toBeCloseTo(Math.exp(-1), 6);
  });

  it("a pytree state is saved leaf by leaf", () => {
    const oscillator = new ode.ODETerm((_t: NDArray, y: { x: NDArray; v: NDArray }) => ({
      x: y.v,
      v: y.x.neg(),
    }));
    const sol = ode.solve({
      terms: oscillator,
      solver: new ode.Dopri5(),
      t0: 0,
      t1: Math.PI,
      y0: { x: f64(1), v: f64(0) },
      saveAt: new ode.SaveAt({ ts: [0, Math.PI / 2, Math.PI], dense: true }),
      stepSizeController: new ode.PIDController({ rtol: 1e-9, atol: 1e-9 }),
    });
    const ys = sol.ys as { x: NDArray; v: NDArray };
    expectClose(ys, { x: f64([1, 0, -1]), v: f64([0, -1, 0]) }, { rtol: 0, atol: 1e-7 });
    expectClose(
      sol.evaluate(1),
      { x: f64(Math.cos(1)), v: f64(-Math.sin(1)) },
      { rtol: 0, atol: 1e-7 },
    );
  });
});

describe("dense output", () => {
  const probe = np.linspace(0.01, 1.99, 199).astype("float64");
  const exact = np.exp(np.sin(probe));
  /** The largest error of the dense output over [0, 2] with n constant steps. */
  function denseError(solver: ode.ExplicitRungeKutta, n: number): [number, number] {
    const sol = ode.solve({
      terms: expSin,
      solver,
      t0: 0,
      t1: 2,
      dt0: 2 / n,
      y0: f64(1),
      saveAt: new ode.SaveAt({ dense: true }),
      adjoint: new ode.ForwardMode(),
      maxSteps: 64,
    });
    const value = np
      .abs((sol.evaluate(probe) as NDArray).sub(exact))
      .max()
      .item() as number;
    const slope = np
      .abs((sol.derivative(probe) as NDArray).sub(exact.mul(np.cos(probe))))
      .max()
      .item() as number;
    return [value, slope];
  }
  // [solver, steps, order of the interpolant's error, order of its derivative's error]
  const cases: [ode.ExplicitRungeKutta, [number, number], number, number][] = [
    [new ode.Euler(), [16, 32], 1, 1],
    [new ode.Heun(), [16, 32], 2, 2],
    [new ode.Midpoint(), [16, 32], 2, 1],
    [new ode.Ralston(), [16, 32], 2, 1],
    [new ode.Bosh3(), [16, 32], 3, 3],
    [new ode.Tsit5(), [8, 16], 5, 4],
    [new ode.Dopri5(), [8, 16], 5, 4],
    [new ode.Dopri8(), [8, 16], 6, 5],
  ];
  for (const [solver, [coarse, fine], valueOrder, slopeOrder] of cases) {
    it(`${solver.name}: the interpolant's error falls as h^${valueOrder}, its derivative's as h^${slopeOrder}`, () => {
      const [v1, d1] = denseError(solver, coarse);
      const [v2, d2] = denseError(solver, fine);
      expect(Math.log2(v1 / v2)).toBeGreaterThan(valueOrder - 0.25);
      expect(Math.log2(d1 / d2)).toBeGreaterThan(slopeOrder - 0.25);
    });
  }

  it("matches the saved values at the ends of steps, and takes arrays of times", () => {
    const sol = ode.solve({
      terms: expSin,
      solver: new ode.Tsit5(),
      t0: 0,
      t1: 2,
      y0: f64(1),
      saveAt: new ode.SaveAt({ steps: true, dense: true }),
      stepSizeController: new ode.PIDController({ rtol: 1e-6, atol: 1e-6 }),
      maxSteps: 32,
    });
    const n = sol.stats.numAcceptedSteps.item() as number;
    const ends = (sol.ts as NDArray).get(np.slice(0, n));
    expectClose(sol.evaluate(ends), (sol.ys as NDArray).get(np.slice(0, n)), {
      rtol: 1e-13,
      atol: 1e-13,
    });
    expect((sol.evaluate(f64([0.5, 1.5])) as NDArray).shape).toEqual([2]);
  });

  it("evaluate without SaveAt({ dense: true }) is a ValueError that says how to get it", () => {
    const sol = ode.solve({
      terms: decay,
      solver: new ode.Tsit5(),
      t0: 0,
      t1: 1,
      dt0: 0.1,
      y0: f64(1),
    });
    expect(() => sol.evaluate(0.5)).toThrow(/SaveAt\(\{ dense: true \}\)/);
  });
});

describe("jit and vmap", () => {
  const options = (y0: NDArray, adjoint?: ode.Adjoint) => ({
    terms: expSin,
    solver: new ode.Tsit5(),
    t0: 0,
    t1: 2,
    y0,
    saveAt: new ode.SaveAt({ t0: true, ts: [0.5, 1.5], steps: true, t1: true }),
    stepSizeController: new ode.PIDController({ rtol: 1e-7, atol: 1e-7 }),
    maxSteps: 64,
    ...(adjoint === undefined ? {} : { adjoint }),
  });

  it("jit(solve) gives the eager solve's ts, ys, stats and result", () => {
    const y0 = f64([1, 2]);
    const eager = ode.solve(options(y0));
    const compiled = jit((y: NDArray) => ode.solve(options(y)))(y0);
    expectSame(compiled.ts as NDArray, eager.ts as NDArray);
    expectSame(compiled.ys as NDArray, eager.ys as NDArray);
    expect(tree(compiled.stats)).toEqual(tree(eager.stats));
    expect(compiled.result.item()).toBe(eager.result.item());
  });

  for (const adjoint of [new ode.ForwardMode(), new ode.RecursiveCheckpointAdjoint()]) {
    it(`vmap over y0 (${adjoint.name}) solves each example as alone`, () => {
      const y0s = f64([[1], [2], [-3]]);
      const batched = jit(vmap((y: NDArray) => ode.solve(options(y, adjoint)).ys))(y0s) as NDArray;
      expect(batched.shape).toEqual([3, 68, 1]);
      [1, 2, -3].forEach((v, i) => {
        const alone = ode.solve(options(f64([v]), adjoint)).ys as NDArray;
        expectSame(batched.get(i), alone);
      });
    });
  }
});

/** Equal infinities (the padding) and finite values equal to 1e-12, relatively. */
function expectSame(actual: NDArray, expected: NDArray): void {
  expect(actual.shape).toEqual(expected.shape);
  const a = actual.toTypedArray() as Float64Array;
  const e = expected.toTypedArray() as Float64Array;
  e.forEach((v, i) => {
    if (Number.isFinite(v)) expect(Math.abs(a[i]! - v)).toBeLessThanOrEqual(1e-12 * Math.abs(v));
    else expect(a[i]).toBe(v);
  });
}

/** Stats as plain numbers. */
function tree(stats: ode.SolveStats): Record<string, unknown> {
  return Object.fromEntries(Object.entries(stats).map(([k, v]) => [k, (v as NDArray).item()]));
}

/**
 * Events stop a solve where a condition changes sign (or becomes true), located on the dense
 * output: the solution ends at the event time, what was saved after it is inf, and the event time
 * differentiates as the implicit function theorem says.
 */
import { describe, expect, it } from "vitest";
import { grad, jit, np, ode, vmap, type NDArray } from "../../src/index.js";

const f64 = (x: number | number[]): NDArray => np.array(x, { dtype: "float64" });

/** A ball dropped from height y0[0] under gravity g: y = h − g t²/2, hits the ground at √(2h/g). */
const fall = new ode.ODETerm((_t: NDArray, y: NDArray, g: NDArray) =>
  np.stack([y.get(1), g.neg()]),
);
const ground = new ode.Event({ condition: (_t: NDArray, y: NDArray) => y.get(0) });

function drop(height: NDArray, options: Partial<ode.SolveOptions> = {}): ode.Solution {
  return ode.solve({
    terms: fall,
    solver: new ode.Tsit5(),
    t0: 0,
    t1: 5,
    dt0: 0.1,
    y0: np.stack([height, f64(0)]),
    args: f64(9.81),
    event: ground,
    ...options,
  });
}

describe("terminating events", () => {
  it("stop at the crossing, located to ~1e-14 (the state there is on the ground)", () => {
    const sol = drop(f64(10), { saveAt: new ode.SaveAt({ t1: true, steps: true }) });
    expect(sol.result.item()).toBe(ode.Result.eventOccurred);
    expect(sol.message).toBe("The solve stopped because an event occurred.");
    expect(Math.abs((sol.t1.item() as number) - Math.sqrt(20 / 9.81))).toBeLessThan(1e-13);
    const ys = sol.ys as NDArray;
    const last = ys.shape[0]! - 1;
    expect(Math.abs(ys.get(last, 0).item() as number)).toBeLessThan(1e-12);
    // The last accepted step is cut at the event time; later rows are padding.
    const n = sol.stats.numAcceptedSteps.item() as number;
    expect((sol.ts as NDArray).get(n - 1).item()).toBe(sol.t1.item());
    expect((sol.ts as NDArray).get(n).item()).toBe(Infinity);
  });

  it("values asked for after the event are inf; dense output stops there", () => {
    const sol = drop(f64(10), { saveAt: new ode.SaveAt({ ts: [0.5, 1, 2, 3], dense: true }) });
    const ts = (sol.ts as NDArray).toList() as number[];
    const ys = (sol.ys as NDArray).get(":, 0").toList() as number[];
    expect(ts).toEqual([0.5, 1, Infinity, Infinity]);
    expect(ys[0]).toBeCloseTo(10 - 9.81 / 8, 12);
    expect(ys.slice(2)).toEqual([Infinity, Infinity]);
    expect((sol.evaluate(1.2) as NDArray).get(0).item()).toBeCloseTo(10 - 9.81 * 0.72, 12);
  });

  it("a bool condition fires when it becomes true", () => {
    const sol = drop(f64(10), {
      event: new ode.Event({ condition: (_t: NDArray, y: NDArray) => y.get(0).lt(5) }),
    });
    expect(Math.abs((sol.t1.item() as number) - Math.sqrt(10 / 9.81))).toBeLessThan(1e-12);
  });

  it("a condition on t alone, with an adaptive controller", () => {
    const sol = drop(f64(100), {
      event: new ode.Event({ condition: (t: NDArray) => t.sub(1.234) }),
      stepSizeController: new ode.PIDController({ rtol: 1e-6, atol: 1e-6 }),
    });
    expect(sol.t1.item()).toBeCloseTo(1.234, 13);
  });

  it("without a crossing the solve ends at t1 successfully", () => {
    const sol = drop(f64(1000));
    expect(sol.result.item()).toBe(ode.Result.successful);
    expect(sol.t1.item()).toBe(5);
  });

  it("the event time differentiates: dT/dh = 1/√(2gh), also under jit and per example under vmap", () => {
    const hitTime = (h: NDArray): NDArray => drop(h, { maxSteps: 64 }).t1;
    const exact = (h: number): number => 1 / Math.sqrt(2 * 9.81 * h);
    expect(Math.abs((grad(hitTime)(f64(10)).item() as number) - exact(10))).toBeLessThan(1e-10);
    expect(Math.abs((jit(grad(hitTime))(f64(20)).item() as number) - exact(20))).toBeLessThan(
      1e-10,
    );
    const times = jit(vmap(hitTime))(f64([5, 10, 20])).toList() as number[];
    [5, 10, 20].forEach((h, i) =>
      expect(Math.abs(times[i]! - Math.sqrt((2 * h) / 9.81))).toBeLessThan(1e-12),
    );
  });

  it("a condition that is not a scalar is a ShapeError that says how to reduce it", () => {
    expect(() =>
      drop(f64(10), { event: new ode.Event({ condition: (_t: NDArray, y: NDArray) => y }) }),
    ).toThrow(/must return a scalar, got shape \[2\]/);
    expect(() => new ode.Event({ condition: (t: NDArray) => t, terminate: false })).toThrow(
      /only terminating events/,
    );
  });
});

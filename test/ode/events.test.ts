/**
 * Events stop a solve where a condition changes sign (or becomes true), located on the dense
 * output: the solution ends at the event time, what was saved after it is inf, and the event time
 * differentiates as the implicit function theorem says. Non-terminating events record every
 * crossing (up to maxEvents) in sol.events and let the solve run on.
 */
import { describe, expect, it } from "vitest";
import { grad, jit, np, ode, ValueError, vmap, type NDArray } from "../../src/index.js";

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
  });
});

/** y'' = −y from y = 1, y' = 0: y = cos t, zero at π/2 + kπ (three times in [0, 10]). */
const oscillator = new ode.ODETerm((_t: NDArray, y: NDArray) =>
  np.stack([y.get(1), y.get(0).neg()]),
);
const zeroCrossings = (t: number): number[] =>
  [0, 1, 2, 3].map((k) => Math.PI / 2 + k * Math.PI).filter((s) => s <= t);

function oscillate(
  y0: NDArray,
  event: ode.Event,
  options: Partial<ode.SolveOptions> = {},
): ode.Solution {
  return ode.solve({
    terms: oscillator,
    solver: new ode.Tsit5(),
    t0: 0,
    t1: 10,
    dt0: 0.1,
    y0,
    event,
    stepSizeController: new ode.PIDController({ rtol: 1e-10, atol: 1e-10 }),
    ...options,
  });
}

const position = (maxEvents?: number): ode.Event =>
  new ode.Event({
    condition: (_t: NDArray, y: NDArray) => y.get(0),
    terminate: false,
    ...(maxEvents === undefined ? {} : { maxEvents }),
  });

describe("non-terminating events", () => {
  it("record every crossing, located to ~1e-8, and the solve runs to t1 successfully", () => {
    const sol = oscillate(f64([1, 0]), position());
    expect(sol.result.item()).toBe(ode.Result.successful);
    expect(sol.t1.item()).toBe(10);
    expect(Math.abs(((sol.ys as NDArray).get(0, 0).item() as number) - Math.cos(10))).toBeLessThan(
      1e-8,
    );
    const events = sol.events!;
    const exact = zeroCrossings(10);
    expect(exact).toHaveLength(3);
    expect(events.count.dtype).toBe("int32");
    expect(events.count.item()).toBe(3);
    const ts = events.ts.toList() as number[];
    expect(ts).toHaveLength(16);
    exact.forEach((t, k) => expect(Math.abs(ts[k]! - t)).toBeLessThan(1e-8));
    expect(ts.slice(3).every((t) => t === Infinity)).toBe(true);
    // The state there: y = 0, y' = −sin t = ∓1; padding rows are inf.
    const ys = events.ys as NDArray;
    expect(ys.shape).toEqual([16, 2]);
    exact.forEach((t, k) => {
      expect(Math.abs(ys.get(k, 0).item() as number)).toBeLessThan(1e-8);
      expect(Math.abs((ys.get(k, 1).item() as number) + Math.sin(t))).toBeLessThan(1e-8);
    });
    expect(ys.get(3).toList()).toEqual([Infinity, Infinity]);
  });

  it("under jit give what they give eagerly", () => {
    const event = position(4);
    const eager = oscillate(f64([1, 0]), event).events!;
    const compiled = jit((y0: NDArray) => oscillate(y0, event))(f64([1, 0])).events!;
    expect(compiled.count.item()).toBe(eager.count.item());
    const [a, b] = [eager.ts.toList() as number[], compiled.ts.toList() as number[]];
    a.forEach((t, k) => (t === Infinity ? expect(b[k]).toBe(t) : expect(b[k]).toBeCloseTo(t, 12)));
    expect(((compiled.ys as NDArray).get(1, 1).item() as number) - 1).toBeCloseTo(0, 8);
  });

  it("work per example under vmap; the solve still differentiates, the recorded times do not", () => {
    const event = position(4);
    // y = a·cos t crosses zero at the same times for every a.
    const counts = jit(vmap((a: NDArray) => oscillate(np.stack([a, f64(0)]), event).events!.count))(
      f64([1, 2, -3]),
    );
    expect(counts.toList()).toEqual([3, 3, 3]);
    const end = grad((a: NDArray) =>
      (oscillate(np.stack([a, f64(0)]), event).ys as NDArray).get(0, 0),
    )(f64(1));
    expect(end.item()).toBeCloseTo(Math.cos(10), 8);
    const first = grad((v: NDArray) => oscillate(np.stack([f64(1), v]), event).events!.ts.get(0));
    expect(first(f64(0.5)).item()).toBe(0);
  });

  it("count every crossing but store only the first maxEvents", () => {
    const events = oscillate(f64([1, 0]), position(2)).events!;
    expect(events.count.item()).toBe(3);
    expect((events.ys as NDArray).shape).toEqual([2, 2]);
    const ts = events.ts.toList() as number[];
    expect(ts).toHaveLength(2);
    zeroCrossings(10)
      .slice(0, 2)
      .forEach((t, k) => expect(Math.abs(ts[k]! - t)).toBeLessThan(1e-8));
  });

  it("a bool condition records each time it becomes true (not when it becomes false)", () => {
    const below = new ode.Event({
      condition: (_t: NDArray, y: NDArray) => y.get(0).lt(0),
      terminate: false,
      maxEvents: 3,
    });
    const events = oscillate(f64([1, 0]), below).events!;
    expect(events.count.item()).toBe(2);
    const ts = events.ts.toList() as number[];
    expect(Math.abs(ts[0]! - Math.PI / 2)).toBeLessThan(1e-8);
    expect(Math.abs(ts[1]! - (5 * Math.PI) / 2)).toBeLessThan(1e-8);
    expect(ts[2]).toBe(Infinity);
  });

  it("backwards in time, record user times", () => {
    const events = oscillate(f64([1, 0]), position(), { t1: -10, dt0: -0.1 }).events!;
    expect(events.count.item()).toBe(3);
    const ts = events.ts.toList() as number[];
    zeroCrossings(10).forEach((t, k) => expect(Math.abs(ts[k]! + t)).toBeLessThan(1e-8));
  });

  it("terminating events and plain solves have no record", () => {
    expect(drop(f64(10)).events).toBeNull();
    expect(drop(f64(10), { event: undefined }).events).toBeNull();
  });

  it("maxEvents must be a positive integer", () => {
    const condition = (_t: NDArray, y: NDArray): NDArray => y.get(0);
    for (const maxEvents of [0, 1.5, -1]) {
      expect(() => new ode.Event({ condition, terminate: false, maxEvents })).toThrow(ValueError);
    }
    expect(() => new ode.Event({ condition, terminate: false, maxEvents: 0 })).toThrow(
      /maxEvents must be a positive integer, got 0/,
    );
  });
});

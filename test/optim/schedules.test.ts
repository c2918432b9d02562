/**
 * Schedules against their closed forms (Optax's formulas, and the values Optax's docstrings show),
 * for JS-number steps (float64) and int32 array steps (float32, as JAX computes them); under `jit`
 * with a traced step, bit for bit as eager; and driving an optimiser's learning rate.
 */
import { describe, expect, it } from "vitest";
import { jit, np, ValueError, type NDArray } from "../../src/index.js";
import * as optim from "../../src/optim/index.js";
import { expectIdentical } from "../helpers/assertions.js";

const { schedules } = optim;
const int32 = (k: number): NDArray => np.array(k, { dtype: "int32" });
const f32 = (x: number): number => Math.fround(x);

/** Checks `s` at each step against `expected`: numbers to 1e-12, int32 arrays to float32. */
function expectSchedule(s: optim.Schedule, expected: Record<number, number>): void {
  for (const [step, want] of Object.entries(expected)) {
    const k = Number(step);
    expect(s(k), `step ${k} (number)`).toBeCloseTo(want, 12);
    const out = s(int32(k));
    expect(out.dtype).toBe("float32");
    expect(out.shape).toEqual([]);
    const got = Number(out.item());
    expect(Math.abs(got - want), `step ${k} (int32 array): ${got} vs ${want}`).toBeLessThanOrEqual(
      2e-7 * Math.max(1, Math.abs(want)),
    );
  }
}

const cosine = (t: number, steps: number): number => 0.5 * (1 + Math.cos((Math.PI * t) / steps));

describe("schedules match their closed forms", () => {
  it("constant", () => {
    expectSchedule(schedules.constant(5), { 0: 5, 100: 5 });
  });

  it("linear: init to end over transitionSteps, after transitionBegin", () => {
    const s = schedules.linear({ initValue: 1, endValue: 0.01, transitionSteps: 100 });
    expectSchedule(s, { 0: 1, 50: 0.505, 100: 0.01, 150: 0.01 });
    const late = schedules.linear({
      initValue: 1,
      endValue: 0.01,
      transitionSteps: 100,
      transitionBegin: 5,
    });
    expectSchedule(late, { 0: 1, 5: 1, 6: 1 - 0.99 / 100, 105: 0.01, 110: 0.01 });
    // transitionSteps ≤ 0 is the constant initValue, as in Optax.
    expectSchedule(schedules.linear({ initValue: 2, endValue: 0, transitionSteps: 0 }), { 7: 2 });
  });

  it("polynomial: Optax's docstring values (power 2)", () => {
    const s = schedules.polynomial({
      initValue: 1,
      endValue: 0.01,
      power: 2,
      transitionSteps: 100,
      transitionBegin: 5,
    });
    expectSchedule(s, { 0: 1, 5: 1, 6: 0.99 * 0.99 ** 2 + 0.01, 104: 0.99 * 0.01 ** 2 + 0.01 });
    expect(s(105)).toBeCloseTo(0.01, 12);
  });

  it("cosineDecay: init·((1 − alpha)·½(1 + cos(πt/T)) + alpha), held after T", () => {
    const s = schedules.cosineDecay({ initValue: 0.1, decaySteps: 100, alpha: 0.1 });
    const at = (t: number): number => 0.1 * (0.9 * cosine(Math.min(t, 100), 100) + 0.1);
    expectSchedule(s, { 0: 0.1, 25: at(25), 50: 0.055, 99: at(99), 100: 0.01, 200: 0.01 });
    const squared = schedules.cosineDecay({ initValue: 1, decaySteps: 10, exponent: 2 });
    expectSchedule(squared, { 3: cosine(3, 10) ** 2 });
  });

  it("warmupCosineDecay: linear warm-up to the peak, cosine down to endValue at decaySteps", () => {
    const s = schedules.warmupCosineDecay({
      initValue: 0,
      peakValue: 1,
      warmupSteps: 10,
      decaySteps: 110,
      endValue: 0.1,
    });
    const decay = (t: number): number => 0.9 * cosine(t, 100) + 0.1;
    expectSchedule(s, { 0: 0, 5: 0.5, 10: 1, 35: decay(25), 60: 0.55, 110: 0.1, 500: 0.1 });
  });

  it("exponentialDecay: continuous, staircase, delayed, and bounded", () => {
    const base = { initValue: 1, transitionSteps: 10, decayRate: 0.5 };
    expectSchedule(schedules.exponentialDecay(base), { 0: 1, 10: 0.5, 15: 0.5 ** 1.5, 40: 1 / 16 });
    expectSchedule(schedules.exponentialDecay({ ...base, staircase: true }), {
      9: 1,
      15: 0.5,
      29: 0.25,
    });
    expectSchedule(schedules.exponentialDecay({ ...base, transitionBegin: 5 }), {
      3: 1,
      5: 1,
      15: 0.5,
    });
    expectSchedule(schedules.exponentialDecay({ ...base, endValue: 0.3 }), { 10: 0.5, 20: 0.3 });
    // A rate above 1 grows, and endValue is then a ceiling.
    expectSchedule(
      schedules.exponentialDecay({ initValue: 1, transitionSteps: 1, decayRate: 2, endValue: 5 }),
      { 2: 4, 3: 5 },
    );
  });

  it("piecewiseConstant: Optax's docstring values; a scale applies from its boundary on", () => {
    const s = schedules.piecewiseConstant({
      initValue: 1,
      boundariesAndScales: { 100: 0.1, 200: 0.01 },
    });
    expectSchedule(s, { 50: 1, 99: 1, 100: 0.1, 150: 0.1, 250: 0.001 });
    const pairs = schedules.piecewiseConstant({
      initValue: 0.25,
      boundariesAndScales: [
        [4, 0.5],
        [2, 0.5],
      ],
    });
    expectSchedule(pairs, { 0: 0.25, 2: 0.125, 3: 0.125, 4: 0.0625 });
  });

  it("joinSchedules: each piece takes over at its boundary, counting from it", () => {
    const s = schedules.joinSchedules(
      [schedules.constant(1), schedules.linear({ initValue: 1, endValue: 0, transitionSteps: 10 })],
      [5],
    );
    expectSchedule(s, { 3: 1, 5: 1, 10: 0.5, 20: 0 });
  });

  it("are also exported from optim directly, with Optax's top-level names", () => {
    expect(optim.cosineDecaySchedule({ initValue: 1, decaySteps: 4 })(2)).toBeCloseTo(0.5, 12);
    expect(optim.linearSchedule({ initValue: 0, endValue: 1, transitionSteps: 4 })(1)).toBe(0.25);
    expect(optim.exponentialDecay({ initValue: 1, transitionSteps: 1, decayRate: 0.5 })(2)).toBe(
      0.25,
    );
    expect(optim.piecewiseConstantSchedule({ initValue: 2 })(9)).toBe(2);
    expect(optim.constantSchedule(3)(1)).toBe(3);
  });
});

describe("schedules on arrays", () => {
  const all: [string, optim.Schedule][] = [
    ["constant", schedules.constant(0.3)],
    ["linear", schedules.linear({ initValue: 1, endValue: 0.1, transitionSteps: 7 })],
    ["cosineDecay", schedules.cosineDecay({ initValue: 0.1, decaySteps: 9, alpha: 0.2 })],
    [
      "warmupCosineDecay",
      schedules.warmupCosineDecay({ initValue: 0, peakValue: 1, warmupSteps: 3, decaySteps: 12 }),
    ],
    [
      "exponentialDecay",
      schedules.exponentialDecay({
        initValue: 1,
        transitionSteps: 3,
        decayRate: 0.7,
        staircase: true,
      }),
    ],
    [
      "piecewiseConstant",
      schedules.piecewiseConstant({ initValue: 1, boundariesAndScales: { 3: 0.5, 6: 0.5 } }),
    ],
  ];

  for (const [name, s] of all) {
    it(`${name}: a traced step under jit gives the eager values bit for bit`, () => {
      const compiled = jit((step: NDArray) => s(step));
      for (const k of [0, 2, 3, 5, 8, 20]) {
        const eager = s(int32(k));
        expectIdentical(compiled(int32(k)), eager);
        expect(Number(eager.item())).toBe(f32(Number(eager.item())));
        expect(Math.abs(Number(eager.item()) - s(k))).toBeLessThanOrEqual(2e-7);
      }
      expect(compiled.cacheSize()).toBe(1);
    });

    it(`${name}: a vector of steps gives the values elementwise; float64 steps give float64`, () => {
      const steps = np.arange(0, 15, 1, { dtype: "int32" });
      const values = s(steps).toList() as number[];
      values.forEach((v, k) => expect(Math.abs(v - s(k))).toBeLessThanOrEqual(2e-7));
      const wide = s(np.array([4, 11], { dtype: "float64" }));
      expect(wide.dtype).toBe("float64");
      expect(wide.toList()).toEqual([s(4), s(11)].map((v) => expect.closeTo(v, 14)));
    });
  }
});

describe("a schedule as an optimiser's learning rate", () => {
  it("is called with the count of earlier updates (0 first), under jit too", () => {
    const lr = schedules.warmupCosineDecay({
      initValue: 0.1,
      peakValue: 1,
      warmupSteps: 2,
      decaySteps: 6,
    });
    const opt: optim.GradientTransformation = optim.scaleByLearningRate(lr);
    const g = { w: np.ones([2], { dtype: "float64" }) };
    const step = (state: unknown): [unknown, unknown] => opt.update(g, state);
    const compiled = jit(step);
    let eager = opt.init(g);
    let staged = opt.init(g);
    for (let k = 0; k < 8; k++) {
      const [u, next] = step(eager);
      const [us, nexts] = compiled(staged);
      expectIdentical(us, u);
      // The update is −lr(k)·g, lr computed in float32 as JAX does for an int32 count.
      expect((u as { w: NDArray }).w.toList()).toEqual(
        [-f32(lr(k)), -f32(lr(k))].map((v) => expect.closeTo(v, 7)),
      );
      expect((u as { w: NDArray }).w.dtype).toBe("float64");
      eager = next;
      staged = nexts;
    }
  });
});

describe("schedule arguments are checked", () => {
  it("rejects what Optax rejects, and NaNs", () => {
    expect(() => schedules.cosineDecay({ initValue: 1, decaySteps: 0 })).toThrow(ValueError);
    expect(() =>
      schedules.piecewiseConstant({ initValue: 1, boundariesAndScales: { 3: -0.5 } }),
    ).toThrow(/optim\.schedules\.piecewiseConstant.*scale must be/);
    expect(() => schedules.linear({ initValue: NaN, endValue: 0, transitionSteps: 3 })).toThrow(
      /initValue must be a finite number, got NaN/,
    );
    expect(() =>
      schedules.warmupCosineDecay({ initValue: 0, peakValue: 1, warmupSteps: 5, decaySteps: 5 }),
    ).toThrow(/decaySteps \(5\) must be larger than warmupSteps \(5\)/);
    expect(() => schedules.joinSchedules([schedules.constant(1)], [3])).toThrow(
      /one boundary fewer than schedules/,
    );
    expect(() =>
      schedules.joinSchedules(
        [schedules.constant(1), schedules.constant(2), schedules.constant(3)],
        [5, 2],
      ),
    ).toThrow(/must increase/);
    expect(() => schedules.constant(1)("3" as never)).toThrow(ValueError);
  });
});

/**
 * Mistakes and failures give typed errors that name the caller's line and say what to change;
 * a failed solve never loops forever, and under jit it returns NaN with the result code.
 */
import { describe, expect, it } from "vitest";
import {
  DtypeError,
  ShapeError,
  SolverError,
  TreeError,
  ValueError,
  jit,
  np,
  ode,
  type NDArray,
} from "../../src/index.js";
import { expectTypedError } from "../helpers/assertions.js";

const file = "errors.test.ts";
const f64 = (x: number | number[]): NDArray => np.array(x, { dtype: "float64" });
const decay = new ode.ODETerm((_t: NDArray, y: NDArray) => y.neg());
const base = { terms: decay, solver: new ode.Tsit5(), t0: 0, t1: 1, dt0: 0.1, y0: f64([1, 2]) };

describe("bad input", () => {
  it("t1 before t0 with a positive dt0", () => {
    expectTypedError(
      () => ode.solve({ ...base, t0: 1, t1: 0 }),
      ValueError,
      file,
      "t1 (0) is before t0 (1) but dt0 = 0.1 is positive",
      "negative dt0",
    );
  });

  it("a vector field returning another structure than y", () => {
    const wrong = new ode.ODETerm((_t: NDArray, y: { x: NDArray; v: NDArray }) => [y.v, y.x]);
    expectTypedError(
      () => ode.solve({ ...base, terms: wrong, y0: { x: f64(1), v: f64(0) } }),
      TreeError,
      file,
      "the structure of y",
      "PyTreeDef({x: *, v: *})",
    );
  });

  it("a vector field returning another shape than y", () => {
    const wrong = new ode.ODETerm((_t: NDArray, y: NDArray) => y.sum());
    expectTypedError(
      () => ode.solve({ ...base, terms: wrong }),
      ShapeError,
      file,
      "returned shape [] for y, whose shape is [2]",
    );
  });

  it("negative, non-finite or zero tolerances", () => {
    expectTypedError(
      () => new ode.PIDController({ rtol: -1e-6, atol: 1e-6 }),
      ValueError,
      file,
      "rtol must be a finite number ≥ 0, got -0.000001",
    );
    expectTypedError(
      () => new ode.PIDController({ rtol: 1e-6, atol: NaN }),
      ValueError,
      file,
      "atol must be a finite number",
    );
    expectTypedError(
      () => new ode.PIDController({ rtol: Infinity, atol: 1e-6 }),
      ValueError,
      file,
      "rtol must be a finite number",
    );
    expectTypedError(
      () => new ode.PIDController({ rtol: 0, atol: 0 }),
      ValueError,
      file,
      "can't both be 0",
    );
  });

  it("a solver without an error estimate with PIDController", () => {
    expectTypedError(
      () =>
        ode.solve({
          ...base,
          solver: new ode.Euler(),
          stepSizeController: new ode.PIDController({ rtol: 1e-6, atol: 1e-6 }),
        }),
      ValueError,
      file,
      "Euler has no error estimate",
      "ConstantStepSize",
    );
  });

  it("ConstantStepSize without dt0", () => {
    expectTypedError(
      () => ode.solve({ ...base, dt0: undefined }),
      ValueError,
      file,
      "ConstantStepSize needs a step size: pass dt0",
    );
  });

  it("StepTo with a dt0, or not spanning [t0, t1]", () => {
    expectTypedError(
      () => ode.solve({ ...base, stepSizeController: new ode.StepTo({ ts: [0, 0.5, 1] }) }),
      ValueError,
      file,
      "leave dt0 out",
    );
    expectTypedError(
      () =>
        ode.solve({
          ...base,
          dt0: undefined,
          stepSizeController: new ode.StepTo({ ts: [0, 0.5] }),
        }),
      ValueError,
      file,
      "must start at t0 (0) and end at t1 (1)",
    );
    expectTypedError(
      () => new ode.StepTo({ ts: [0, 1, 0.5] }),
      ValueError,
      file,
      "strictly increasing",
    );
  });

  it("SaveAt times outside [t0, t1] or out of order", () => {
    expectTypedError(
      () => ode.solve({ ...base, saveAt: new ode.SaveAt({ ts: [0.5, 2] }) }),
      ValueError,
      file,
      "must lie in [t0, t1]",
    );
    expectTypedError(
      () => ode.solve({ ...base, saveAt: new ode.SaveAt({ ts: [0.5, 0.2] }) }),
      ValueError,
      file,
      "in order",
    );
  });

  it("y0 of integers, and other malformed options", () => {
    expectTypedError(
      () => ode.solve({ ...base, y0: np.array([1, 2], { dtype: "int32" }) }),
      DtypeError,
      file,
      "y0 must hold floats",
    );
    expectTypedError(
      () => ode.solve({ ...base, maxSteps: 0 }),
      ValueError,
      file,
      "maxSteps must be a whole number ≥ 1",
    );
    expectTypedError(() => ode.solve({ ...base, t1: NaN }), ValueError, file, "t1 must be finite");
    expectTypedError(() => ode.solve({ ...base, dt0: 0 }), ValueError, file, "dt0 must not be 0");
    expectTypedError(
      () => ode.solve({ ...base, terms: ((t: NDArray) => t) as never }),
      ValueError,
      file,
      "new ode.ODETerm",
    );
    expectTypedError(
      () => new ode.ODETerm(3 as never),
      ValueError,
      file,
      "expected a vector field",
    );
    expect(() => ode.resultMessage(42)).toThrow(/42 is not a result code/);
  });
});

describe("failed solves", () => {
  it("maxSteps exhausted: a SolverError with Diffrax's advice", () => {
    const error = expectTypedError(
      () => ode.solve({ ...base, dt0: 0.01, maxSteps: 20 }),
      SolverError,
      file,
      "The maximum number of steps was reached. Try increasing `maxSteps`.",
      "after 20 steps",
    );
    expect(error.message).toContain("throwOnFailure: false");
  });

  it("maxSteps exhausted with throwOnFailure: false returns the partial solution and the code", () => {
    const sol = ode.solve({ ...base, dt0: 0.01, maxSteps: 20, throwOnFailure: false });
    expect(sol.result.item()).toBe(ode.Result.maxStepsReached);
    expect(sol.message).toBe(ode.resultMessage(ode.Result.maxStepsReached));
    expect(sol.t1.item()).toBeCloseTo(0.2, 12);
    expect(((sol.ys as NDArray).get(0, 0).item() as number) - Math.exp(-0.2)).toBeCloseTo(0, 8);
  });

  it("under jit a failed solve can't throw: ys are NaN and the result says why", () => {
    const sol = jit((y0: NDArray) => ode.solve({ ...base, y0, dt0: 0.01, maxSteps: 20 }))(
      f64([1, 2]),
    );
    expect(sol.result.item()).toBe(ode.Result.maxStepsReached);
    expect((sol.ys as NDArray).toList()).toEqual([[NaN, NaN]]);
    const kept = jit((y0: NDArray) =>
      ode.solve({ ...base, y0, dt0: 0.01, maxSteps: 20, throwOnFailure: false }),
    )(f64([1, 2]));
    expect(Number.isFinite((kept.ys as NDArray).get(0, 0).item())).toBe(true);
  });

  it("NaN in the state stops with Result.nanDetected (ConstantStepSize)", () => {
    const sol = ode.solve({ ...base, y0: f64([1, NaN]), throwOnFailure: false });
    expect(sol.result.item()).toBe(ode.Result.nanDetected);
    expect(sol.stats.numSteps.item()).toBe(1);
    expectTypedError(
      () => ode.solve({ ...base, y0: f64([1, NaN]) }),
      SolverError,
      file,
      "A NaN or infinity appeared",
    );
  });

  it("a vector field that turns NaN stops an adaptive solve with Result.nanDetected, not maxSteps", () => {
    // y' = -sqrt(y) - 1 is NaN once a step overshoots y below 0 (at t ≈ 0.61); a solve to t = 2
    // shrinks its step until it can't, then stops.
    const sqrtDecay = new ode.ODETerm((_t: NDArray, y: NDArray) => np.sqrt(y).neg().sub(1));
    const sol = ode.solve({
      ...base,
      terms: sqrtDecay,
      t1: 2,
      y0: f64(1),
      dt0: 0.1,
      stepSizeController: new ode.PIDController({ rtol: 1e-6, atol: 1e-6 }),
      throwOnFailure: false,
    });
    expect(sol.result.item()).toBe(ode.Result.nanDetected);
    expect(sol.stats.numSteps.item()).toBeLessThan(200);
    expect(sol.t1.item()).toBeLessThan(0.62);
  });
});

/**
 * Differentiating through a solve: reverse mode through RecursiveCheckpointAdjoint and forward
 * mode agree with each other, with central differences (checkGrads, float64), and with the exact
 * derivative of y' = a·y; the number of checkpoints changes memory, not the result.
 */
import { describe, expect, it } from "vitest";
import { checkGrads, grad, jacfwd, jit, jvp, np, ode, type NDArray } from "../../src/index.js";
import { expectClose } from "../helpers/assertions.js";

const f64 = (x: number | number[]): NDArray => np.array(x, { dtype: "float64" });

/** y' = a·y, y(0) = y0: y(1) = y0·e^a, so ∂y(1)/∂a = y0·e^a and ∂y(1)/∂y0 = e^a. */
function growth(
  a: NDArray,
  y0: NDArray,
  adjoint: ode.Adjoint = new ode.RecursiveCheckpointAdjoint(),
): NDArray {
  return ode.solve({
    terms: new ode.ODETerm((_t: NDArray, y: NDArray) => y.mul(a)),
    solver: new ode.Tsit5(),
    t0: 0,
    t1: 1,
    y0,
    stepSizeController: new ode.PIDController({ rtol: 1e-10, atol: 1e-10 }),
    adjoint,
    maxSteps: 256,
  }).ys as NDArray;
}

describe("y' = a·y against the exact derivative", () => {
  it("grad (reverse mode through the default adjoint)", () => {
    const [da, dy0] = grad((a: NDArray, y0: NDArray) => growth(a, y0).sum(), { argnums: [0, 1] })(
      f64(0.7),
      f64(2),
    ) as unknown as [NDArray, NDArray];
    expect(Math.abs((da.item() as number) - 2 * Math.exp(0.7))).toBeLessThan(1e-8);
    expect(Math.abs((dy0.item() as number) - Math.exp(0.7))).toBeLessThan(1e-8);
  });

  it("jvp through ForwardMode", () => {
    const [, slope] = jvp(
      (a: NDArray) => growth(a, f64(2), new ode.ForwardMode()),
      [f64(0.7)],
      [f64(1)],
    );
    expect(Math.abs(((slope as NDArray).item() as number) - 2 * Math.exp(0.7))).toBeLessThan(1e-8);
  });

  it("jit(grad) and grad(jit) agree with eager grad", () => {
    const loss = (a: NDArray): NDArray => growth(a, f64(2)).sum();
    const eager = grad(loss)(f64(-0.3)).item() as number;
    expect(Math.abs((jit(grad(loss))(f64(-0.3)).item() as number) - eager)).toBeLessThan(1e-12);
    expect(Math.abs((grad(jit(loss))(f64(-0.3)).item() as number) - eager)).toBeLessThan(1e-12);
  });

  it("the derivative in t1 is the vector field at the end, y'(t1) = a·y(t1)", () => {
    const end = (t1: NDArray): NDArray =>
      (
        ode.solve({
          terms: new ode.ODETerm((_t: NDArray, y: NDArray) => y.mul(0.5)),
          solver: new ode.Dopri5(),
          t0: 0,
          t1,
          dt0: 0.1,
          y0: f64(1),
          maxSteps: 64,
        }).ys as NDArray
      ).sum();
    expect(Math.abs((grad(end)(f64(1.05)).item() as number) - 0.5 * Math.exp(0.525))).toBeLessThan(
      1e-6,
    );
  });
});

describe("a nonlinear problem (Lotka–Volterra with parameters as args)", () => {
  const term = new ode.ODETerm((_t: NDArray, y: NDArray, p: NDArray) => {
    const x = y.get(0);
    const z = y.get(1);
    return np.stack([
      x.mul(p.get(0)).sub(x.mul(z).mul(p.get(1))),
      x
        .mul(z)
        .mul(p.get(3))
        .sub(z.mul(p.get(2))),
    ]);
  });
  const loss =
    (adjoint: ode.Adjoint, controller: ode.StepSizeController, dt0?: number) =>
    (p: NDArray, y0: NDArray): NDArray => {
      const sol = ode.solve({
        terms: term,
        solver: new ode.Tsit5(),
        t0: 0,
        t1: 2,
        ...(dt0 === undefined ? {} : { dt0 }),
        y0,
        args: p,
        saveAt: new ode.SaveAt({ ts: [0.5, 1, 1.5, 2] }),
        stepSizeController: controller,
        adjoint,
        maxSteps: 128,
      });
      return np.square(sol.ys as NDArray).sum();
    };
  const p = f64([1.5, 1, 3, 1]);
  const y0 = f64([2, 1]);

  it("checkGrads: forward and reverse mode match central differences (ConstantStepSize)", () => {
    const f = loss(
      new ode.RecursiveCheckpointAdjoint({ checkpoints: 4 }),
      new ode.ConstantStepSize(),
      0.05,
    );
    checkGrads(f, [p, y0], { order: 1, eps: 1e-6, rtol: 1e-6, atol: 1e-6 });
  });

  it("checkGrads: ForwardMode in forward mode", () => {
    const f = loss(new ode.ForwardMode(), new ode.ConstantStepSize(), 0.05);
    checkGrads(f, [p, y0], { order: 1, modes: ["fwd"], eps: 1e-6, rtol: 1e-6, atol: 1e-6 });
  });

  it("with PIDController, reverse (grad) and forward (ForwardMode, jacfwd) modes agree", () => {
    const controller = new ode.PIDController({ rtol: 1e-8, atol: 1e-8 });
    const reverse = grad(loss(new ode.RecursiveCheckpointAdjoint(), controller))(p, y0);
    const forward = jacfwd(loss(new ode.ForwardMode(), controller))(p, y0);
    expectClose(reverse, forward, { rtol: 1e-10, atol: 1e-12 });
  });

  it("the gradient is the same for every number of checkpoints", () => {
    const controller = new ode.PIDController({ rtol: 1e-6, atol: 1e-6 });
    const grads = [2, 5, undefined].map((checkpoints) =>
      grad(loss(new ode.RecursiveCheckpointAdjoint({ checkpoints }), controller))(p, y0),
    );
    expectClose(grads[0], grads[2], { rtol: 1e-12, atol: 0 });
    expectClose(grads[1], grads[2], { rtol: 1e-12, atol: 0 });
  });
});

describe("adjoint choice", () => {
  it("grad through ForwardMode throws", () => {
    // (lax.WhileLoopReverseError would be the helpful error; today the transpose of an operation
    // after the loop fails first.)
    expect(() =>
      grad((a: NDArray) => growth(a, f64(1), new ode.ForwardMode()).sum())(f64(0.5)),
    ).toThrow();
  });

  it("checkpoints below 2 are a ValueError", () => {
    expect(() => new ode.RecursiveCheckpointAdjoint({ checkpoints: 1 })).toThrow(
      /whole number ≥ 2/,
    );
  });
});

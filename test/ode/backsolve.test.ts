/**
 * BacksolveAdjoint: gradients of a solve by the continuous adjoint, checked on a linear ODE
 * against the analytic gradient, central differences, and RecursiveCheckpointAdjoint, to within
 * tolerance-sized errors (the continuous adjoint is exact only up to the solver's tolerance).
 */
import { describe, expect, it } from "vitest";
import { grad, jit, np, SolverError, vmap, type NDArray } from "../../src/index.js";
import * as ode from "../../src/ode/index.js";
import { expectClose, expectTypedError } from "../helpers/assertions.js";
import { f64, numericGrad } from "../helpers/numeric.js";

const file = "backsolve.test.ts";

// y' = A·y with A = [[−a, −w], [w, −a]]: y(t) = e^{−a t}·R(w t)·y0, R a rotation.
interface Args {
  a: NDArray;
  w: NDArray;
}
const spiral = new ode.ODETerm((_t: NDArray, y: NDArray, { a, w }: Args) => {
  const [u, v] = [y.get(0), y.get(1)];
  return np.stack([u.mul(a).add(v.mul(w)).neg(), u.mul(w).sub(v.mul(a))]);
});
const T = 2;
const weights = [1, -2];
const y0 = f64([1, 0.5]);
const args: Args = { a: f64(0.3), w: f64(1.7) };

/** y(t) and its derivatives with respect to y0, a and w, for the loss `weights · y(t)`. */
function exact(t: number, y: number[], a: number, w: number) {
  const decay = Math.exp(-a * t);
  const [c, s] = [Math.cos(w * t), Math.sin(w * t)];
  const rotate = (p: number, q: number): [number, number] => [c * p - s * q, s * p + c * q];
  const yt = rotate(y[0]!, y[1]!).map((x) => x * decay);
  const [c0, c1] = weights as [number, number];
  // d/dy0 (c · e^{−at} R y0) = e^{−at} Rᵀ c
  const dy0 = [decay * (c * c0 + s * c1), decay * (-s * c0 + c * c1)];
  const da = -t * (c0 * yt[0]! + c1 * yt[1]!);
  // dR/dw = t·[[−s, −c], [c, −s]]
  const dRy = [t * (-s * y[0]! - c * y[1]!), t * (c * y[0]! - s * y[1]!)];
  const dw = decay * (c0 * dRy[0]! + c1 * dRy[1]!);
  return { y: yt, dy0, da, dw };
}

const rtol = 1e-9;
const atol = 1e-9;

function options(
  solver: ode.Solver<unknown>,
  adjoint: ode.Adjoint,
  saveAt: ode.SaveAt = new ode.SaveAt({ t1: true }),
): (y: NDArray, a: NDArray, w: NDArray) => ode.SolveOptions {
  return (y, a, w) => ({
    terms: spiral,
    solver,
    t0: 0,
    t1: T,
    dt0: 0.05,
    y0: y,
    args: { a, w },
    saveAt,
    stepSizeController: new ode.PIDController({ rtol, atol }),
    adjoint,
  });
}

/** `weights · y(T)`, differentiated by the continuous adjoint. */
function backsolveLoss(solver: ode.Solver<unknown>) {
  const make = options(solver, new ode.BacksolveAdjoint());
  return (y: NDArray, a: NDArray, w: NDArray): NDArray =>
    (ode.solve(make(y, a, w)).ys as NDArray).get(0).mul(f64(weights)).sum();
}

describe("BacksolveAdjoint on a linear ODE", () => {
  const want = exact(T, [1, 0.5], 0.3, 1.7);
  const expected = [f64(want.dy0), f64(want.da), f64(want.dw)];

  for (const solver of [new ode.Tsit5(), new ode.Kvaerno5({ rtol, atol })]) {
    it(`${solver.name}: grad with respect to y0 and args matches the analytic gradient`, () => {
      const loss = backsolveLoss(solver);
      expect(
        Math.abs(
          (loss(y0, args.a, args.w).item() as number) -
            (weights[0]! * want.y[0]! + weights[1]! * want.y[1]!),
        ),
      ).toBeLessThan(1e-7);
      const g = grad(loss, { argnums: [0, 1, 2] })(y0, args.a, args.w) as unknown as NDArray[];
      g.forEach((gi, i) =>
        expectClose(gi, expected[i], { rtol: 1e-6, atol: 1e-7, label: `argument ${i}` }),
      );
    });
  }

  it("grad matches central differences of the solve and RecursiveCheckpointAdjoint's gradient", () => {
    const loss = backsolveLoss(new ode.Tsit5());
    const g = grad(loss, { argnums: [0, 1, 2] })(y0, args.a, args.w) as unknown as NDArray[];
    const discrete = (y: NDArray, a: NDArray, w: NDArray): NDArray =>
      (
        ode.solve(options(new ode.Tsit5(), new ode.RecursiveCheckpointAdjoint())(y, a, w))
          .ys as NDArray
      )
        .get(0)
        .mul(f64(weights))
        .sum();
    const exactDiscrete = grad(discrete, { argnums: [0, 1, 2] })(
      y0,
      args.a,
      args.w,
    ) as unknown as NDArray[];
    [0, 1, 2].forEach((i) => {
      const label = `argument ${i}`;
      expectClose(g[i], numericGrad(loss, [y0, args.a, args.w], i, 1e-5), {
        rtol: 1e-5,
        atol: 1e-6,
        label,
      });
      expectClose(g[i], exactDiscrete[i], { rtol: 1e-6, atol: 1e-7, label });
    });
  });

  it("a loss on several saved times (SaveAt ts and t0) gets each time's cotangent", () => {
    const times = [0.5, 1.2, T];
    const make = options(
      new ode.Tsit5(),
      new ode.BacksolveAdjoint(),
      new ode.SaveAt({ t0: true, ts: times }),
    );
    // L = Σ_k (k + 1) · weights · y(t_k), plus y(0)'s first component.
    const loss = (y: NDArray, a: NDArray, w: NDArray): NDArray => {
      const ys = ode.solve(make(y, a, w)).ys as NDArray;
      expect(ys.shape).toEqual([4, 2]);
      const scale = f64([[0], [1], [2], [3]]);
      return ys.get("1:").mul(f64(weights)).mul(scale.get("1:")).sum().add(ys.get(0, 0));
    };
    const parts = times.map((t) => exact(t, [1, 0.5], 0.3, 1.7));
    const sum = (f: (p: (typeof parts)[number]) => number): number =>
      parts.reduce((s, p, k) => s + (k + 1) * f(p), 0);
    const g = grad(loss, { argnums: [0, 1, 2] })(y0, args.a, args.w) as unknown as NDArray[];
    expectClose(g[0], f64([sum((p) => p.dy0[0]!) + 1, sum((p) => p.dy0[1]!)]), {
      rtol: 1e-6,
      atol: 1e-7,
    });
    expectClose(g[1], f64(sum((p) => p.da)), { rtol: 1e-6, atol: 1e-7 });
    expectClose(g[2], f64(sum((p) => p.dw)), { rtol: 1e-6, atol: 1e-7 });
  });

  it("with constant steps the gradient is accurate to the method's error", () => {
    const make = (y: NDArray, a: NDArray, w: NDArray): ode.SolveOptions => ({
      ...options(new ode.Tsit5(), new ode.BacksolveAdjoint())(y, a, w),
      stepSizeController: new ode.ConstantStepSize(),
      dt0: 0.02,
    });
    const loss = (y: NDArray, a: NDArray, w: NDArray): NDArray =>
      (ode.solve(make(y, a, w)).ys as NDArray).get(0).mul(f64(weights)).sum();
    const g = grad(loss, { argnums: [0, 1, 2] })(y0, args.a, args.w) as unknown as NDArray[];
    g.forEach((gi, i) => expectClose(gi, expected[i], { rtol: 1e-7, atol: 1e-8 }));
  });

  it("works under jit(grad) and vmap(grad)", () => {
    const loss = backsolveLoss(new ode.Tsit5());
    const compiled = jit(grad(loss, { argnums: [0, 1, 2] }))(
      y0,
      args.a,
      args.w,
    ) as unknown as NDArray[];
    compiled.forEach((gi, i) => expectClose(gi, expected[i], { rtol: 1e-6, atol: 1e-7 }));
    const perRate = vmap((a: NDArray) => grad(loss, { argnums: 1 })(y0, a, args.w))(
      f64([0.3, 0.6]),
    );
    const other = exact(T, [1, 0.5], 0.6, 1.7);
    expectClose(perRate, f64([want.da, other.da]), { rtol: 1e-6, atol: 1e-7 });
  });

  it("without differentiation it returns the forward solve unchanged", () => {
    const make = options(
      new ode.Tsit5(),
      new ode.BacksolveAdjoint(),
      new ode.SaveAt({ ts: [1, T] }),
    );
    const sol = ode.solve(make(y0, args.a, args.w));
    expect(sol.ts?.toList()).toEqual([1, T]);
    expectClose(sol.ys, np.stack([f64(exact(1, [1, 0.5], 0.3, 1.7).y), f64(want.y)]), {
      rtol: 1e-7,
      atol: 1e-8,
    });
    expect(sol.result.item()).toBe(ode.Result.successful);
  });
});

describe("BacksolveAdjoint's limits are errors", () => {
  it("SaveAt steps or dense is a SolverError", () => {
    const make = options(
      new ode.Tsit5(),
      new ode.BacksolveAdjoint(),
      new ode.SaveAt({ steps: true }),
    );
    expectTypedError(() => ode.solve(make(y0, args.a, args.w)), SolverError, file, "SaveAt");
  });

  it("an event is a SolverError", () => {
    const make = options(new ode.Tsit5(), new ode.BacksolveAdjoint());
    const event = new ode.Event({ condition: (_t: NDArray, y: NDArray) => y.get(0) });
    expectTypedError(
      () => ode.solve({ ...make(y0, args.a, args.w), event }),
      SolverError,
      file,
      "events",
    );
  });
});

/**
 * `checkGrads(f, args, {order, modes, atol, rtol})`: passes on correct functions (to order 2 in
 * both modes, over pytrees, several arguments and outputs), and throws a `GradientCheckError`
 * that names the argument, the mode, the order and the relative error when a derivative is wrong.
 */
import { describe, expect, it } from "vitest";
import {
  GradientCheckError,
  ValueError,
  checkGrads,
  customJvp,
  customVjp,
  np,
  stopGradient,
  vmap,
  type NDArray,
} from "../../src/index.js";
import { expectTypedError } from "../helpers/assertions.js";
import { f64 } from "../helpers/numeric.js";

const file = "check-grads.test.ts";

const x = f64([0.5, -1.2, 2.0]);

/** `a * b` whose JVP rule scales the tangent of argument `wrong` by 3. */
function wrongJvpIn(wrong: 0 | 1): (a: NDArray, b: NDArray) => NDArray {
  const f = customJvp((a: NDArray, b: NDArray) => a.mul(b));
  f.defJvp(([a, b], [ta, tb]) => [
    f(a, b),
    ta
      .mul(b)
      .mul(wrong === 0 ? 3 : 1)
      .add(a.mul(tb).mul(wrong === 1 ? 3 : 1)),
  ]);
  return f;
}

describe("checkGrads passes on correct functions", () => {
  it("elementwise and reductions, to order 2, both modes (the defaults)", () => {
    expect(() => checkGrads((a: NDArray) => np.sin(a).mul(a), [x])).not.toThrow();
    expect(() =>
      checkGrads((a: NDArray) => np.exp(a.mul(0.3)).sum().add(np.tanh(a).prod()), [x], {
        order: 2,
        modes: ["fwd", "rev"],
      }),
    ).not.toThrow();
  });

  it("pytree arguments, several arguments, several outputs", () => {
    type Params = { w: NDArray; b: NDArray[] };
    const f = (p: Params, input: NDArray): { out: NDArray; norm: NDArray[] } => ({
      out: np.tanh(np.matmul(p.w, input).add(p.b[0]!)),
      norm: [p.w.mul(p.w).sum().add(p.b[1]!)],
    });
    const p = {
      w: f64([
        [0.1, -0.2, 0.3],
        [0.4, 0.5, -0.6],
      ]),
      b: [f64([0.1, -0.1]), f64(0.7)],
    };
    expect(() => checkGrads(f, [p, x], { order: 2 })).not.toThrow();
  });

  it("float32 arguments (checked in float64)", () => {
    const a = np.array([0.5, 1.5], { dtype: "float32" });
    expect(() => checkGrads((b: NDArray) => np.sin(b).mul(b), [a])).not.toThrow();
  });

  it("an integer argument next to float ones", () => {
    const n = np.array([1, 2, 3], { dtype: "int32" });
    const f = (a: NDArray, m: NDArray): NDArray => np.sin(a).mul(m);
    expect(() => checkGrads(f, [x, n], { order: 1 })).not.toThrow();
    expect(() => checkGrads(f, [x, n], { order: 2, modes: ["fwd"] })).not.toThrow();
    expect(() => checkGrads(f, [x, n], { order: 2, modes: ["rev"] })).not.toThrow();
  });

  it("order 3 in forward mode, and vmapped functions", () => {
    expect(() =>
      checkGrads((a: NDArray) => np.exp(a.mul(0.5)).sum(), [x], { order: 3, modes: ["fwd"] }),
    ).not.toThrow();
    const rows = f64([
      [0.1, 0.2],
      [0.3, -0.4],
    ]);
    expect(() =>
      checkGrads(
        vmap((r: NDArray) => np.sin(r).sum()),
        [rows],
      ),
    ).not.toThrow();
  });

  it("custom rules that are right", () => {
    const f = customJvp((a: NDArray) => np.sin(a));
    f.defJvp(([a], [t]) => [f(a), np.cos(a).mul(t)]);
    expect(() => checkGrads(f, [x], { order: 2 })).not.toThrow();
    const g = customVjp((a: NDArray) => np.sin(a));
    g.defVjp(
      (a: NDArray) => [np.sin(a), np.cos(a)],
      (cos: NDArray, ct: NDArray) => [cos.mul(ct)],
    );
    expect(() => checkGrads(g, [x], { order: 1, modes: ["rev"] })).not.toThrow();
  });
});

describe("checkGrads detects wrong derivatives", () => {
  it("a wrong customJvp rule, forward mode: names argument, mode, relative error", () => {
    const e = expectTypedError(
      () => checkGrads(wrongJvpIn(0), [x, x.mul(2)], { order: 1, modes: ["fwd"] }),
      GradientCheckError,
      file,
      "argument 0",
      "forward",
      "relative error",
    );
    expect(e.message).toContain("expected");
    expect(e.message).toContain("received");
  });

  it("a wrong customJvp rule, reverse mode", () => {
    expectTypedError(
      () => checkGrads(wrongJvpIn(0), [x, x.mul(2)], { order: 1, modes: ["rev"] }),
      GradientCheckError,
      file,
      "argument 0",
      "reverse",
      "relative error",
    );
  });

  it("a rule wrong only for the second argument names argument 1", () => {
    for (const mode of ["fwd", "rev"] as const) {
      expectTypedError(
        () => checkGrads(wrongJvpIn(1), [x, x.mul(2)], { order: 1, modes: [mode] }),
        GradientCheckError,
        file,
        "argument 1",
        mode === "fwd" ? "forward" : "reverse",
        "relative error",
      );
    }
  });

  it("with default options (order 2, both modes)", () => {
    expectTypedError(
      () => checkGrads(wrongJvpIn(0), [x, x.mul(2)]),
      GradientCheckError,
      file,
      "argument 0",
      "relative error",
    );
  });

  it("a rule right at order 1 but wrong at order 2 is caught at order 2", () => {
    const f = customJvp((a: NDArray) => np.sin(a));
    // The tangent is right, but its own derivative is zero (cos is frozen).
    f.defJvp(([a], [t]) => [f(a), stopGradient(np.cos(a)).mul(t)]);
    expect(() => checkGrads(f, [x], { order: 1 })).not.toThrow();
    expectTypedError(
      () => checkGrads(f, [x], { order: 2 }),
      GradientCheckError,
      file,
      "order 2",
      "relative error",
    );
  });

  it("a wrong customVjp backward pass", () => {
    const g = customVjp((a: NDArray) => np.sin(a));
    g.defVjp(
      (a: NDArray) => [np.sin(a), np.cos(a)],
      (cos: NDArray, ct: NDArray) => [cos.mul(ct).mul(-1)],
    );
    expectTypedError(
      () => checkGrads(g, [x], { order: 1, modes: ["rev"] }),
      GradientCheckError,
      file,
      "argument 0",
      "reverse",
      "relative error",
    );
  });

  it("loose tolerances accept a slightly wrong rule, tight ones reject it", () => {
    const f = customJvp((a: NDArray) => np.sin(a));
    f.defJvp(([a], [t]) => [f(a), np.cos(a).mul(t).mul(1.001)]);
    expect(() => checkGrads(f, [x], { order: 1, rtol: 1e-2, atol: 1e-2 })).not.toThrow();
    expectTypedError(() => checkGrads(f, [x], { order: 1 }), GradientCheckError, file);
  });
});

describe("bad options", () => {
  it("order 0: ValueError", () => {
    expectTypedError(() => checkGrads(np.sin, [x], { order: 0 }), ValueError, file, "order");
  });
});

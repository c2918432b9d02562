/**
 * Forward mode: `jvp(f, primals, tangents) → [out, tangentOut]`. Tangents are checked against
 * central differences in float64; pytrees in and out; integer and bool inputs get zero tangents;
 * JS control flow on concrete values works; bad input gives typed errors naming this file.
 */
import { describe, expect, it } from "vitest";
import { grad, jvp, np, ShapeError, TreeError, vmap, type NDArray } from "../../src/index.js";
import { expectClose, expectTypedError } from "../helpers/assertions.js";
import { f64, numericGrad, numericJvp, values } from "../helpers/numeric.js";

const file = "jvp.test.ts";
const tol = { rtol: 1e-6, atol: 1e-7 };

describe("jvp values", () => {
  it("returns f's value and the directional derivative, as central differences give", () => {
    const f = (x: NDArray): NDArray =>
      np
        .sin(x)
        .mul(x)
        .add(np.exp(x.mul(0.3)));
    const x = f64([0.5, -1.2, 2.0]);
    const t = f64([1, 0.5, -2]);
    const [y, dy] = jvp(f, [x], [t]);
    expectClose(y, f(x), { rtol: 0, atol: 0 });
    expectClose(dy, numericJvp(f, [x], [t]), tol);
    expect(y.dtype).toBe("float64");
    expect(dy.dtype).toBe("float64");
  });

  it("takes several arguments and pytrees (objects and lists) in and out", () => {
    type Params = { w: NDArray; b: [NDArray, NDArray] };
    const f = (p: Params, x: NDArray): { out: NDArray; extra: NDArray[] } => ({
      out: np.tanh(np.matmul(p.w, x).add(p.b[0])),
      extra: [p.b[1].mul(x.sum()), np.exp(p.w).sum()],
    });
    const p: Params = {
      w: f64([
        [0.1, -0.2, 0.3],
        [0.4, 0.5, -0.6],
      ]),
      b: [f64([0.1, -0.1]), f64(0.7)],
    };
    const x = f64([1, 2, -1]);
    const tp: Params = {
      w: f64([
        [1, 0, -1],
        [0.5, 2, 0],
      ]),
      b: [f64([0.3, 0.2]), f64(-1)],
    };
    const tx = f64([0.2, -0.4, 1]);
    const [y, dy] = jvp(f, [p, x], [tp, tx]);
    expectClose(y, f(p, x), { rtol: 0, atol: 0 });
    expectClose(dy, numericJvp(f, [p, x], [tp, tx]), tol);
  });

  it("is linear in the tangent", () => {
    const f = (x: NDArray): NDArray => np.log1p(x.mul(x));
    const x = f64([0.3, -2, 1.5]);
    const t = f64([1, -1, 0.25]);
    const [, d1] = jvp(f, [x], [t]);
    const [, d3] = jvp(f, [x], [t.mul(3)]);
    expectClose(d3, d1.mul(3), { rtol: 1e-12, atol: 1e-12 });
  });

  it("accepts JS numbers as primals and tangents", () => {
    const f = (a: number | NDArray): NDArray => np.sin(np.array(a).astype("float64"));
    const [y, dy] = jvp(f, [0.5], [1]);
    expectClose(y, f(0.5), { rtol: 1e-6 });
    expectClose(dy, np.array(Math.cos(0.5)), { rtol: 1e-6 });
  });

  it("casts the tangent to the primal's float dtype", () => {
    const f = (x: NDArray): NDArray => x.mul(x);
    const [, dy] = jvp(f, [f64([1, 2])], [np.ones([2])]);
    expect(dy.dtype).toBe("float64");
    const [, dz] = jvp(f, [np.array([1, 2], { dtype: "float32" })], [f64([1, 1])]);
    expect(dz.dtype).toBe("float32");
  });

  it("gives a zero tangent for an output that does not depend on the input", () => {
    const f = (x: NDArray): [NDArray, NDArray] => [x.mul(2), np.ones([3], { dtype: "float64" })];
    const [, [, dc]] = jvp(f, [f64([1, 2])], [f64([1, 1])]);
    expect(dc.shape).toEqual([3]);
    expect(values(dc)).toEqual([0, 0, 0]);
  });

  it("nests: jvp of jvp is a second directional derivative", () => {
    const f = (x: NDArray): NDArray => np.sin(x).mul(x.mul(x)).sum();
    const x = f64([0.4, -0.9]);
    const v = f64([1, 2]);
    const firstDerivative = (y: NDArray): NDArray => jvp(f, [y], [v])[1];
    const [, second] = jvp(firstDerivative, [x], [v]);
    expectClose(second, numericJvp(firstDerivative, [x], [v]), { rtol: 1e-5, atol: 1e-6 });
  });

  it("forward-over-reverse: jvp of grad is a Hessian-vector product", () => {
    const f = (x: NDArray): NDArray => np.exp(x.mul(0.5)).mul(np.cos(x)).sum();
    const x = f64([0.1, 1.3, -0.7]);
    const v = f64([0.5, -1, 2]);
    const [g, hv] = jvp(grad(f), [x], [v]);
    expectClose(g, numericGrad(f, [x]), { rtol: 1e-6, atol: 1e-7 });
    expectClose(hv, numericJvp(grad(f), [x], [v]), { rtol: 1e-5, atol: 1e-6 });
  });

  it("composes with vmap: vmap over tangents is a loop of jvps", () => {
    const f = (x: NDArray): NDArray => np.tanh(x).mul(x.sum());
    const x = f64([0.2, -0.5, 1.1]);
    const tangents = f64([
      [1, 0, 0],
      [0, 1, 0],
      [0.5, 0.5, -1],
    ]);
    const batched = vmap((t: NDArray) => jvp(f, [x], [t])[1])(tangents);
    const looped = np.stack([0, 1, 2].map((i) => jvp(f, [x], [tangents.get(i)])[1]));
    expectClose(batched, looped, { rtol: 1e-12, atol: 1e-12 });
    expectClose(looped.get(2), numericJvp(f, [x], [tangents.get(2)]), tol);
  });
});

describe("integer and bool inputs get zero tangents", () => {
  it("an int argument contributes nothing, even when given a nonzero tangent", () => {
    const f = (n: NDArray, x: NDArray): NDArray => x.mul(n).add(n);
    const n = np.array([1, 2, 3], { dtype: "int32" });
    const x = f64([0.5, -1, 2]);
    const [y, dy] = jvp(f, [n, x], [np.ones([3], { dtype: "int32" }), f64([0, 0, 0])]);
    expectClose(y, f(n, x), { rtol: 0, atol: 0 });
    expect(values(dy)).toEqual([0, 0, 0]);
    const [, dx] = jvp(f, [n, x], [np.ones([3], { dtype: "int32" }), f64([1, 1, 1])]);
    expectClose(
      dx,
      numericJvp((xx: NDArray) => f(n, xx), [x], [f64([1, 1, 1])]),
      tol,
    );
  });

  it("a bool mask contributes nothing", () => {
    const f = (mask: NDArray, x: NDArray): NDArray => np.where(mask, x.mul(x), x.neg());
    const mask = np.array([true, false, true]);
    const x = f64([1.5, 2, -3]);
    const t = f64([1, 1, 1]);
    const [, dy] = jvp(f, [mask, x], [np.ones([3], { dtype: "bool" }), t]);
    expectClose(
      dy,
      numericJvp((xx: NDArray) => f(mask, xx), [x], [t]),
      tol,
    );
  });

  it("an integer output has a zero tangent", () => {
    const f = (x: NDArray): NDArray => np.floor(x).astype("int32").mul(2);
    const [y, dy] = jvp(f, [f64([1.5, -2.5])], [f64([1, 1])]);
    expect(values(y)).toEqual([2, -6]);
    expect(dy.shape).toEqual([2]);
    expect(values(dy)).toEqual([0, 0]);
  });
});

describe("JS control flow on concrete values under jvp", () => {
  it("`if` on x.sum().item() takes the branch the primal selects", () => {
    const f = (x: NDArray): NDArray =>
      (x.sum().item() as number) > 0 ? x.mul(x).mul(x) : np.sin(x);
    const t = f64([1, -0.5]);
    for (const x of [f64([1, 2]), f64([-1, -2])]) {
      const [y, dy] = jvp(f, [x], [t]);
      expectClose(y, f(x), { rtol: 0, atol: 0 });
      expectClose(dy, numericJvp(f, [x], [t]), tol);
    }
  });

  it("`for` loops over concrete values, and +x / Number(x) give the primal", () => {
    const f = (x: NDArray): NDArray => {
      let y = x;
      for (let i = 0; i < 3; i++) y = np.sin(y).add(x);
      const scale = +x.max() + Number(x.min());
      return y.mul(scale);
    };
    const x = f64([0.3, 0.9]);
    const t = f64([1, 0]);
    const [, dy] = jvp(f, [x], [t]);
    // The scale is a JS number, so it is a constant: compare with the same constant fixed.
    const fixed = (z: NDArray): NDArray => {
      let y = z;
      for (let i = 0; i < 3; i++) y = np.sin(y).add(z);
      return y.mul(1.2);
    };
    expectClose(dy, numericJvp(fixed, [x], [t]), tol);
  });
});

describe("bad input to jvp", () => {
  it("primals and tangents of different structure: TreeError", () => {
    const f = (a: NDArray, b: NDArray): NDArray => a.mul(b);
    const x = f64([1, 2]);
    expectTypedError(() => jvp(f, [x, x], [x]), TreeError, file, "structure");
    expectTypedError(
      () => jvp((p: { a: NDArray }) => p.a, [{ a: x }], [{ b: x }]),
      TreeError,
      file,
    );
  });

  it("a tangent whose shape differs from its primal: ShapeError naming both shapes", () => {
    const f = (a: NDArray): NDArray => np.sin(a);
    expectTypedError(() => jvp(f, [f64([1, 2])], [f64([1, 2, 3])]), ShapeError, file, "[3]", "[2]");
  });

  it("a leaf that is not an array or a number: TreeError", () => {
    const f = (a: unknown): unknown => a;
    expectTypedError(() => jvp(f, ["text"], [1]), TreeError, file, "string");
  });

  it("an error thrown inside the function leaves no trace level behind", () => {
    const f = (a: NDArray): NDArray => a.add(np.ones([5]));
    expectTypedError(() => jvp(f, [f64([1, 2])], [f64([1, 1])]), ShapeError, file);
  });
});

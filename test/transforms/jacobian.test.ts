/**
 * `jacfwd`, `jacrev`, `hessian` and `evalShape`. Jacobians are checked against central
 * differences in float64 (Hessians against second differences), blocks have shape
 * `[...outShape, ...inShape]`, pytrees and `argnums` give nested results as in JAX.
 */
import { describe, expect, it } from "vitest";
import {
  AbstractValue,
  DtypeError,
  ShapeError,
  TracerError,
  evalShape,
  grad,
  hessian,
  jacfwd,
  jacrev,
  np,
  vmap,
  type NDArray,
} from "../../src/index.js";
import { expectClose, expectTypedError } from "../helpers/assertions.js";
import { f64, numericGrad, numericHessian, numericJacobian } from "../helpers/numeric.js";

const file = "jacobian.test.ts";
const tol = { rtol: 1e-6, atol: 1e-7 };

const x = f64([0.5, -1.2, 2.0]);

describe("jacfwd and jacrev", () => {
  const f = (a: NDArray): NDArray =>
    np.stack([np.sin(a).mul(a.sum()), np.exp(a.mul(0.3)), a.mul(a)]).sum({ axis: 0 });

  it("vector → vector: both match central differences and each other", () => {
    const expected = numericJacobian(f, x);
    const forward = jacfwd(f)(x);
    const reverse = jacrev(f)(x);
    expect(forward.shape).toEqual([3, 3]);
    expect(reverse.shape).toEqual([3, 3]);
    expectClose(forward, expected, tol);
    expectClose(reverse, expected, tol);
    expectClose(forward, reverse, { rtol: 1e-12, atol: 1e-12 });
  });

  it("matrix → matrix: blocks have shape [...outShape, ...inShape]", () => {
    const g = (a: NDArray): NDArray => np.tanh(np.matmul(a, a.T)).get(":, :1");
    const a = f64([
      [0.1, 0.2, -0.3],
      [0.4, -0.5, 0.6],
    ]);
    const expected = numericJacobian(g, a);
    expect(expected.shape).toEqual([2, 1, 2, 3]);
    expectClose(jacfwd(g)(a), expected, tol);
    expectClose(jacrev(g)(a), expected, tol);
  });

  it("scalar output and scalar input", () => {
    const g = (a: NDArray): NDArray => np.sin(a).sum();
    expectClose(jacrev(g)(x), numericGrad(g, [x]), tol);
    expectClose(jacfwd(g)(x), numericGrad(g, [x]), tol);
    const h = (s: NDArray): NDArray => np.stack([s, s.mul(s)]);
    expectClose(jacfwd(h)(f64(1.5)), numericJacobian(h, f64(1.5)), tol);
    expectClose(jacrev(h)(f64(1.5)), numericJacobian(h, f64(1.5)), tol);
  });

  it("pytree input and output: output structure outside, input structure inside", () => {
    type In = { a: NDArray; b: NDArray };
    const g = (p: In): { u: NDArray; v: NDArray[] } => ({
      u: p.a.mul(p.b.sum()),
      v: [np.sin(p.a).sum()],
    });
    const p = {
      a: f64([0.5, 1.5]),
      b: f64([
        [1, 2],
        [3, -1],
      ]),
    };
    const expected = {
      u: {
        a: numericJacobian((a) => g({ a, b: p.b }).u, p.a),
        b: numericJacobian((b) => g({ a: p.a, b }).u, p.b),
      },
      v: [
        {
          a: numericJacobian((a) => g({ a, b: p.b }).v[0]!, p.a),
          b: numericJacobian((b) => g({ a: p.a, b }).v[0]!, p.b),
        },
      ],
    };
    expectClose(jacfwd(g)(p), expected, tol);
    expectClose(jacrev(g)(p), expected, tol);
  });

  it("argnums as a number or a list", () => {
    const g = (a: NDArray, b: NDArray): NDArray => np.sin(a.mul(b)).add(b);
    const a = f64([0.3, 0.8]);
    const b = f64([1.5, -0.5]);
    const ja = numericJacobian((z) => g(z, b), a);
    const jb = numericJacobian((z) => g(a, z), b);
    expectClose(jacfwd(g, { argnums: 1 })(a, b), jb, tol);
    expectClose(jacrev(g, { argnums: 1 })(a, b), jb, tol);
    expectClose(jacfwd(g, { argnums: [0, 1] })(a, b), [ja, jb], tol);
    expectClose(jacrev(g, { argnums: [1, 0] })(a, b), [jb, ja], tol);
    expectClose(jacrev(g, { argnums: [0] })(a, b), [ja], tol);
  });

  it("compose with vmap: a batch of Jacobians", () => {
    const g = (a: NDArray): NDArray => np.sin(a).mul(a.sum());
    const rows = f64([
      [0.1, 0.2],
      [1, -1],
      [0.5, 2],
    ]);
    const batched = vmap(jacrev(g))(rows);
    expect(batched.shape).toEqual([3, 2, 2]);
    expectClose(batched, np.stack([0, 1, 2].map((i) => numericJacobian(g, rows.get(i)))), tol);
    expectClose(vmap(jacfwd(g))(rows), batched, { rtol: 1e-12, atol: 1e-12 });
  });

  it("an int argument: DtypeError", () => {
    const n = np.array([1, 2], { dtype: "int32" });
    const g = (a: NDArray): NDArray => a.astype("float32").mul(2);
    expectTypedError(() => jacfwd(g)(n), DtypeError, file, "int32");
    expectTypedError(() => jacrev(g)(n), DtypeError, file, "int32");
    expectTypedError(() => hessian((a: NDArray) => g(a).sum())(n), DtypeError, file);
  });

  it("an error inside the function names the line in this file", () => {
    const g = (a: NDArray): NDArray => a.add(np.ones([5]));
    expectTypedError(() => jacfwd(g)(x), ShapeError, file);
    expectTypedError(() => jacrev(g)(x), ShapeError, file);
  });
});

describe("hessian", () => {
  const f = (a: NDArray): NDArray => np.sin(a).mul(a.sum()).sum().add(a.pow(3).sum());

  it("matches second differences and is symmetric", () => {
    const h = hessian(f)(x);
    expect(h.shape).toEqual([3, 3]);
    expectClose(h, numericHessian(f, x), { rtol: 1e-5, atol: 1e-6 });
    expectClose(h, h.T, { rtol: 1e-12, atol: 1e-12 });
  });

  it("equals jacfwd(jacrev(f)) and jacrev(jacfwd(f))", () => {
    const h = hessian(f)(x);
    expectClose(jacfwd(jacrev(f))(x), h, { rtol: 1e-12, atol: 1e-12 });
    expectClose(jacrev(jacfwd(f))(x), h, { rtol: 1e-10, atol: 1e-12 });
    expectClose(jacfwd(grad(f))(x), h, { rtol: 1e-12, atol: 1e-12 });
  });

  it("a matrix input gives shape [...inShape, ...inShape]", () => {
    const g = (a: NDArray): NDArray => np.tanh(np.matmul(a, a.T)).sum();
    const a = f64([
      [0.1, 0.2],
      [0.3, -0.4],
    ]);
    const h = hessian(g)(a);
    expect(h.shape).toEqual([2, 2, 2, 2]);
    expectClose(h, numericHessian(g, a), { rtol: 1e-5, atol: 1e-6 });
  });

  it("argnums as a list gives the nested blocks [[H00, H01], [H10, H11]]", () => {
    const g = (a: NDArray, b: NDArray): NDArray => a.mul(b).sum().mul(np.sin(a).sum());
    const a = f64([0.5, 1.5]);
    const b = f64([-1, 2]);
    const both = (z: NDArray): NDArray => g(z.get(":2"), z.get("2:"));
    const full = numericHessian(both, np.concatenate([a, b]));
    const block = (i: string, j: string): NDArray => full.get(`${i}, ${j}`);
    const h = hessian(g, { argnums: [0, 1] })(a, b);
    expectClose(
      h,
      [
        [block(":2", ":2"), block(":2", "2:")],
        [block("2:", ":2"), block("2:", "2:")],
      ],
      { rtol: 1e-5, atol: 1e-6 },
    );
  });
});

describe("evalShape", () => {
  it("gives the shapes and dtypes of every output leaf, in f's output structure", () => {
    const out = evalShape(
      (p: { a: NDArray }, n: NDArray) => ({
        s: p.a.sum({ axis: 1 }),
        pair: [n.astype("float64"), np.matmul(p.a, p.a.T)],
      }),
      { a: np.ones([2, 3]) },
      np.ones([4], { dtype: "int32" }),
    ) as { s: AbstractValue; pair: AbstractValue[] };
    expect(out.s).toBeInstanceOf(AbstractValue);
    expect(out.s.shape).toEqual([2]);
    expect(out.s.dtype).toBe("float32");
    expect(out.pair[0]!.shape).toEqual([4]);
    expect(out.pair[0]!.dtype).toBe("float64");
    expect(out.pair[1]!.shape).toEqual([2, 2]);
    expect(String(out.pair[1])).toBe("f32[2,2]");
  });

  it("works on transformed functions", () => {
    const g = (a: NDArray): NDArray => np.sin(a).sum();
    const a = np.ones([4, 3]);
    expect((evalShape(grad(g), a) as AbstractValue).shape).toEqual([4, 3]);
    expect((evalShape(jacrev(vmap(np.sin)), a) as AbstractValue).shape).toEqual([4, 3, 4, 3]);
    expect((evalShape(vmap(g), a) as AbstractValue).shape).toEqual([4]);
  });

  it("does not compute: values are abstract, so item() is a TracerError", () => {
    const g = (a: NDArray): NDArray => ((a.sum().item() as number) > 0 ? a : a.neg());
    expectTypedError(() => evalShape(g, np.ones([2])), TracerError, file);
  });

  it("shape errors surface as ShapeError naming this file", () => {
    const g = (a: NDArray): NDArray => np.matmul(a, a);
    expectTypedError(() => evalShape(g, np.ones([2, 3])), ShapeError, file);
  });
});

/**
 * Reverse mode: `vjp`, `grad`, `valueAndGrad`, `linearize`. Every gradient is checked against
 * central differences in float64 (or the ⟨u, J v⟩ = ⟨Jᵀu, v⟩ identity), over pytrees, with
 * `argnums` and `hasAux`; JS control flow on concrete values works; user mistakes give typed
 * errors naming this file, after which transforms work normally.
 */
import { describe, expect, it } from "vitest";
import {
  DtypeError,
  ShapeError,
  TracerError,
  TreeError,
  ValueError,
  grad,
  jvp,
  linearize,
  np,
  tree,
  valueAndGrad,
  vjp,
  type NDArray,
} from "../../src/index.js";
import { Tracer } from "../../src/core/trace.js";
import { expectClose, expectTypedError } from "../helpers/assertions.js";
import { f64, numericGrad, numericJvp, values } from "../helpers/numeric.js";

const file = "grad.test.ts";
const tol = { rtol: 1e-6, atol: 1e-7 };

const loss = (x: NDArray): NDArray =>
  np
    .sin(x)
    .mul(x)
    .sum()
    .add(np.exp(x.mul(0.5)).mean());

/** ⟨a, b⟩ over two pytrees of arrays of the same structure. */
function innerProduct(a: unknown, b: unknown): number {
  const la = tree.leaves(a) as NDArray[];
  const lb = tree.leaves(b) as NDArray[];
  let s = 0;
  la.forEach((x, i) => {
    const u = values(x);
    const v = values(lb[i]!);
    u.forEach((ui, k) => (s += ui * v[k]!));
  });
  return s;
}

describe("grad", () => {
  it("matches central differences and keeps the argument's shape and dtype", () => {
    const x = f64([
      [0.5, -1.2, 2.0],
      [0.1, 0.0, -0.3],
    ]);
    const g = grad(loss)(x);
    expect(g.shape).toEqual([2, 3]);
    expect(g.dtype).toBe("float64");
    expectClose(g, numericGrad(loss, [x]), tol);
    expect(grad(loss)(np.array([0.5, 1.5], { dtype: "float32" })).dtype).toBe("float32");
  });

  it("differentiates with respect to a pytree (objects and lists)", () => {
    type Params = { w: NDArray; layers: [NDArray, { scale: NDArray }] };
    const f = (p: Params): NDArray =>
      np.tanh(np.matmul(p.w, p.layers[0])).mul(p.layers[1].scale).sum();
    const p: Params = {
      w: f64([
        [0.3, -0.1],
        [0.2, 0.4],
      ]),
      layers: [f64([1, -2]), { scale: f64(1.5) }],
    };
    const g = grad(f)(p) as unknown as Params;
    expect(tree.structure(g).toString()).toBe(tree.structure(p).toString());
    expectClose(g, numericGrad(f, [p]), tol);
  });

  it("argnums as a number differentiates that argument only", () => {
    const f = (a: NDArray, b: NDArray): NDArray => np.sin(a.mul(b)).sum();
    const a = f64([0.3, 0.7]);
    const b = f64([1.1, -0.4]);
    expectClose(grad(f)(a, b), numericGrad(f, [a, b], 0), tol);
    expectClose(grad(f, { argnums: 1 })(a, b), numericGrad(f, [a, b], 1), tol);
  });

  it("argnums as a list returns a list of gradients, in that order", () => {
    const f = (a: NDArray, b: NDArray, c: NDArray): NDArray => a.mul(b).sum().mul(np.cos(c).sum());
    const args = [f64([0.3, 0.7]), f64([1.1, -0.4]), f64([0.2])];
    const gs = grad<NDArray[]>(f, { argnums: [2, 0] })(...args);
    expect(Array.isArray(gs)).toBe(true);
    expect(gs).toHaveLength(2);
    expectClose(gs, [numericGrad(f, args, 2), numericGrad(f, args, 0)], tol);
    // A one-element list still gives a list.
    const single = grad<NDArray[]>(f, { argnums: [1] })(...args);
    expectClose(single, [numericGrad(f, args, 1)], tol);
  });

  it("hasAux: returns [grads, aux], with aux undifferentiated and concrete", () => {
    const f = (x: NDArray): [NDArray, { norm: NDArray; count: number }] => [
      loss(x),
      { norm: x.mul(x).sum(), count: 3 },
    ];
    const x = f64([0.2, -0.8, 1.4]);
    const [g, aux] = grad<[NDArray, { norm: NDArray; count: number }]>(f, { hasAux: true })(x);
    expectClose(g, numericGrad(loss, [x]), tol);
    expect(aux.norm).not.toBeInstanceOf(Tracer);
    expectClose(aux.norm, x.mul(x).sum(), { rtol: 0, atol: 0 });
    expect(aux.count).toBe(3);
  });

  it("hasAux with argnums as a list", () => {
    const f = (a: NDArray, b: NDArray): [NDArray, NDArray] => [a.mul(b).pow(2).sum(), a.add(b)];
    const a = f64([0.5, 1]);
    const b = f64([2, -1]);
    const [gs, aux] = grad<[NDArray[], NDArray]>(f, { argnums: [0, 1], hasAux: true })(a, b);
    const plain = (x: NDArray, y: NDArray): NDArray => f(x, y)[0];
    expectClose(gs, [numericGrad(plain, [a, b], 0), numericGrad(plain, [a, b], 1)], tol);
    expectClose(aux, a.add(b), { rtol: 0, atol: 0 });
  });

  it("a JS number argument gets a gradient", () => {
    const f = (x: number | NDArray): NDArray => np.sin(np.array(x).astype("float64")).mul(2);
    const g = grad(f)(0.5);
    expectClose(g, np.array(2 * Math.cos(0.5)), { rtol: 1e-6 });
    expect(g.shape).toEqual([]);
  });

  it("is zero where the output does not depend on the input", () => {
    const x = f64([1, 2, 3]);
    const g = grad((y: NDArray) =>
      y
        .sum()
        .mul(0)
        .add(np.array(4, { dtype: "float64" })),
    )(x);
    expect(values(g)).toEqual([0, 0, 0]);
    const h = grad((y: NDArray) => np.argmax(y).astype("float64").add(y.sum().mul(0)))(x);
    expect(values(h)).toEqual([0, 0, 0]);
  });

  it("int arguments outside argnums are fine and do not get gradients", () => {
    const f = (x: NDArray, n: NDArray): NDArray => x.mul(n).sum();
    const x = f64([0.5, 2]);
    const n = np.array([3, -1], { dtype: "int32" });
    expectClose(
      grad(f)(x, n),
      numericGrad((y: NDArray) => f(y, n), [x]),
      tol,
    );
  });

  it("nests: grad of grad is the second derivative", () => {
    const f = (x: NDArray): NDArray => np.sin(x).mul(x.mul(x)).sum();
    const firstSum = (x: NDArray): NDArray => grad(f)(x).sum();
    const x = f64([0.3, -1.1]);
    expectClose(grad(firstSum)(x), numericGrad(firstSum, [x]), { rtol: 1e-5, atol: 1e-6 });
  });

  it("reverse-over-forward: grad of a jvp", () => {
    const f = (x: NDArray): NDArray => np.exp(x).mul(np.sin(x)).sum();
    const v = f64([1, -2]);
    const directional = (x: NDArray): NDArray => jvp(f, [x], [v])[1];
    const x = f64([0.2, 0.9]);
    expectClose(grad(directional)(x), numericGrad(directional, [x]), { rtol: 1e-5, atol: 1e-6 });
  });
});

describe("valueAndGrad", () => {
  it("returns [value, grads] with the value of f", () => {
    const x = f64([0.3, -0.4, 2]);
    const [value, g] = valueAndGrad(loss)(x);
    expect(value).not.toBeInstanceOf(Tracer);
    expectClose(value, loss(x), { rtol: 0, atol: 0 });
    expectClose(g, numericGrad(loss, [x]), tol);
  });

  it("hasAux: returns [[value, aux], grads]", () => {
    const f = (x: NDArray): [NDArray, NDArray[]] => [loss(x), [x.max(), x.min()]];
    const x = f64([0.3, -0.4, 2]);
    const [[value, aux], g] = valueAndGrad(f, { hasAux: true })(x) as [
      [NDArray, NDArray[]],
      NDArray,
    ];
    expectClose(value, loss(x), { rtol: 0, atol: 0 });
    expectClose(aux, [x.max(), x.min()], { rtol: 0, atol: 0 });
    expectClose(g, numericGrad(loss, [x]), tol);
  });

  it("argnums as a list", () => {
    const f = (a: NDArray, b: { c: NDArray }): NDArray => np.tanh(a.mul(b.c)).sum();
    const a = f64([0.5, -0.2]);
    const b = { c: f64([1.5, 0.3]) };
    const [value, gs] = valueAndGrad<[NDArray, { c: NDArray }]>(f, { argnums: [0, 1] })(a, b);
    expectClose(value, f(a, b), { rtol: 0, atol: 0 });
    expectClose(gs, [numericGrad(f, [a, b], 0), numericGrad(f, [a, b], 1)], tol);
  });
});

describe("vjp", () => {
  it("returns f's value and a function of the cotangent: ⟨u, J v⟩ = ⟨Jᵀu, v⟩", () => {
    const f = (x: NDArray, y: NDArray): { p: NDArray; q: NDArray[] } => ({
      p: np.sin(x).mul(y.sum()),
      q: [np.matmul(x.reshape([2, 1]), y.reshape([1, 3])), np.exp(y).sum()],
    });
    const x = f64([0.3, -0.7]);
    const y = f64([1.2, 0.1, -0.5]);
    const [out, back] = vjp(f, x, y);
    expectClose(out, f(x, y), { rtol: 0, atol: 0 });
    const u = {
      p: f64([0.5, -1]),
      q: [
        f64([
          [1, 2, 3],
          [-1, 0.5, 0],
        ]),
        f64(0.7),
      ],
    };
    const cts = back(u);
    expect(cts).toHaveLength(2);
    expect(cts[0]!.shape).toEqual([2]);
    expect(cts[1]!.shape).toEqual([3]);
    const v = [f64([0.2, 1]), f64([-0.3, 0.4, 1.5])];
    const jv = numericJvp(f, [x, y], v);
    expect(innerProduct(cts, v)).toBeCloseTo(innerProduct(u, jv), 6);
    // Against the gradient of ⟨u, f⟩ too.
    const projected = (a: NDArray, b: NDArray): NDArray => {
      const o = f(a, b);
      return o.p.mul(u.p).sum().add(o.q[0]!.mul(u.q[0]!).sum()).add(o.q[1]!.mul(u.q[1]!));
    };
    expectClose(cts, [numericGrad(projected, [x, y], 0), numericGrad(projected, [x, y], 1)], tol);
  });

  it("takes pytree arguments and returns one cotangent pytree per argument", () => {
    const f = (p: { a: NDArray; b: NDArray[] }): NDArray => p.a.mul(p.b[0]!).add(p.b[1]!);
    const p = { a: f64([1, 2]), b: [f64([3, 4]), f64([5, 6])] };
    const [, back] = vjp(f, p);
    const [ct] = back(f64([1, -1]));
    const projected = (q: typeof p): NDArray =>
      f(q)
        .mul(f64([1, -1]))
        .sum();
    expectClose(ct, numericGrad(projected, [p]), tol);
  });

  it("the backward function can be called again with another cotangent", () => {
    const [, back] = vjp((x: NDArray) => np.sin(x), f64([0.1, 0.2]));
    const [a] = back(f64([1, 1]));
    const [b] = back(f64([2, 2]));
    expectClose(b, a!.mul(2), { rtol: 1e-12, atol: 0 });
  });

  it("int and bool arguments get zero cotangents of their own shape", () => {
    const f = (n: NDArray, mask: NDArray, x: NDArray): NDArray => np.where(mask, x.mul(n), x);
    const n = np.array([2, 3, 4], { dtype: "int32" });
    const mask = np.array([true, false, true]);
    const x = f64([0.5, 1, -1]);
    const [, back] = vjp(f, n, mask, x);
    const [cn, cmask, cx] = back(f64([1, 1, 1]));
    expect(cn!.shape).toEqual([3]);
    expect(values(cn!)).toEqual([0, 0, 0]);
    expect(cmask!.shape).toEqual([3]);
    expect(values(cmask!)).toEqual([0, 0, 0]);
    expectClose(
      cx,
      numericGrad((y: NDArray) => f(n, mask, y).sum(), [x]),
      tol,
    );
  });
});

describe("linearize", () => {
  it("returns f's value and a JVP function that agrees with jvp and central differences", () => {
    const f = (x: NDArray, p: { c: NDArray }): NDArray => np.sin(x).mul(p.c).add(x.mul(x));
    const x = f64([0.5, 1.5, -1]);
    const p = { c: f64([2, -1, 0.5]) };
    const [y, forward] = linearize(f, x, p);
    expectClose(y, f(x, p), { rtol: 0, atol: 0 });
    const tangents = [f64([1, 0.5, -2]), { c: f64([0.1, 0.2, 0.3]) }];
    const dy = forward(...tangents);
    expectClose(dy, jvp(f, [x, p], tangents)[1], { rtol: 1e-12, atol: 1e-12 });
    expectClose(dy, numericJvp(f, [x, p], tangents), tol);
    // Called again with other tangents.
    const again = forward(f64([0, 0, 1]), { c: f64([0, 0, 0]) });
    expectClose(again, numericJvp(f, [x, p], [f64([0, 0, 1]), { c: f64([0, 0, 0]) }]), tol);
  });

  it("tangents of the wrong structure: TreeError", () => {
    const [, forward] = linearize((x: NDArray) => np.sin(x), f64([1, 2]));
    expectTypedError(() => forward(f64([1, 1]), f64([1, 1])), TreeError, file, "structure");
  });

  it("a tangent of the wrong shape: ShapeError", () => {
    const [, forward] = linearize((x: NDArray) => np.sin(x), f64([1, 2, 3]));
    expectTypedError(() => forward(f64([1, 1, 1, 1])), ShapeError, file, "[4]", "[3]");
    // Also where nothing in the linear program would notice the mismatch.
    const [, scaled] = linearize((x: NDArray) => x.mul(2), f64([1, 2, 3]));
    expectTypedError(() => scaled(f64([1, 1, 1, 1])), ShapeError, file, "[4]", "[3]");
    const [, identity] = linearize((x: NDArray) => x, f64([1, 2, 3]));
    expectTypedError(() => identity(f64([1, 1])), ShapeError, file, "[2]", "[3]");
  });
});

describe("JS control flow on concrete values under reverse mode", () => {
  const branchy = (x: NDArray): NDArray =>
    (x.sum().item() as number) > 0 ? x.mul(x).mul(x).sum() : np.sin(x).sum();

  it("`if ((x.sum().item() as number) > 0)` takes the branch the value selects", () => {
    for (const x of [f64([0.5, 1.5]), f64([-0.5, -1.5])]) {
      expectClose(grad(branchy)(x), numericGrad(branchy, [x]), tol);
      const [out, back] = vjp(branchy, x);
      expectClose(out, branchy(x), { rtol: 0, atol: 0 });
      expectClose(back(f64(1))[0], numericGrad(branchy, [x]), tol);
    }
  });

  it("`for` and `while` loops over concrete values", () => {
    const f = (x: NDArray): NDArray => {
      let y = x;
      for (let i = 0; i < 4; i++) y = np.sin(y).mul(x);
      while ((y.sum().item() as number) < 10) y = y.add(1).mul(1.5);
      return y.sum();
    };
    const x = f64([0.4, 0.7]);
    expectClose(grad(f)(x), numericGrad(f, [x]), { rtol: 1e-5, atol: 1e-6 });
  });

  it("+x and Number(x) read the primal value", () => {
    const f = (x: NDArray): NDArray => (+x.sum() > 0 && Number(x.max()) < 10 ? x.pow(3) : x).sum();
    const x = f64([1, 2]);
    expectClose(grad(f)(x), numericGrad(f, [x]), tol);
  });
});

describe("bad input to reverse mode", () => {
  it("grad of a non-scalar output: ShapeError suggesting .sum() and jacrev", () => {
    const e = expectTypedError(
      () => grad((x: NDArray) => np.sin(x))(f64([1, 2])),
      ShapeError,
      file,
    );
    expect(e.message).toContain(".sum()");
    expect(e.message).toContain("jacrev");
    expect(e.message).toContain("[2]");
  });

  it("grad of a function returning several arrays: ShapeError", () => {
    const f = (x: NDArray): NDArray[] => [x.sum(), x.sum()];
    expectTypedError(() => grad(f)(f64([1, 2])), ShapeError, file);
  });

  it("grad with respect to an int argument: DtypeError naming the dtype and the fix", () => {
    const f = (x: NDArray): NDArray => x.astype("float32").sum();
    const n = np.array([1, 2], { dtype: "int32" });
    expectTypedError(() => grad(f)(n), DtypeError, file, "int32", "astype");
    const g = (x: NDArray, m: NDArray): NDArray => x.mul(m).sum();
    expectTypedError(() => grad(g, { argnums: [0, 1] })(f64([1, 2]), n), DtypeError, file);
    expectTypedError(() => valueAndGrad(f)(n), DtypeError, file);
  });

  it("grad of a bool argument: DtypeError", () => {
    const f = (m: NDArray): NDArray => m.astype("float32").sum();
    expectTypedError(() => grad(f)(np.array([true, false])), DtypeError, file, "bool");
  });

  it("grad of an integer output: DtypeError", () => {
    expectTypedError(
      () => grad((x: NDArray) => x.astype("int32").sum())(f64([1.5])),
      DtypeError,
      file,
    );
  });

  it("hasAux with a return that is not a pair: TreeError", () => {
    const x = f64([1, 2]);
    expectTypedError(
      () => grad((y: NDArray) => y.sum(), { hasAux: true })(x),
      TreeError,
      file,
      "pair",
    );
    expectTypedError(
      () => grad((y: NDArray) => [y.sum(), y, y], { hasAux: true })(x),
      TreeError,
      file,
      "length 3",
    );
    expectTypedError(
      () => valueAndGrad((y: NDArray) => y.sum(), { hasAux: true })(x),
      TreeError,
      file,
    );
  });

  it("argnums out of range: ValueError", () => {
    const f = (a: NDArray, b: NDArray): NDArray => a.mul(b).sum();
    expectTypedError(() => grad(f, { argnums: 2 })(f64([1]), f64([2])), ValueError, file, "2");
    expectTypedError(() => grad(f, { argnums: [0, -1] })(f64([1]), f64([2])), ValueError, file);
  });

  it("a vjp cotangent of the wrong shape: ShapeError; of the wrong structure: TreeError", () => {
    const [, back] = vjp((x: NDArray) => x.mul(2), f64([1, 2]));
    expectTypedError(() => back(f64([1, 2, 3])), ShapeError, file, "[3]", "[2]");
    expectTypedError(() => back([f64([1, 2])] as unknown as NDArray), TreeError, file);
    const [, backTree] = vjp((x: NDArray) => ({ a: x, b: x.sum() }), f64([1, 2]));
    expectTypedError(() => backTree({ a: f64([1, 1]) } as never), TreeError, file);
  });

  it("a non-array argument leaf: TreeError", () => {
    const f = (p: { a: NDArray }): NDArray => p.a.sum();
    expectTypedError(() => grad(f)({ a: "text" }), TreeError, file, "string");
  });

  it("a shape error inside the differentiated function names the line in this file", () => {
    const f = (x: NDArray): NDArray => x.add(np.ones([3])).sum();
    expectTypedError(() => grad(f)(f64([1, 2])), ShapeError, file);
    expectTypedError(() => vjp(f, f64([1, 2])), ShapeError, file);
  });

  it("a traced value that escapes grad cannot be used afterwards: TracerError", () => {
    let leaked: NDArray | undefined;
    grad((x: NDArray) => {
      leaked = x;
      return x.sum();
    })(f64([1, 2]));
    expectTypedError(() => leaked!.mul(2), TracerError, file, "escaped");
  });

  it("a user exception inside grad propagates unchanged and leaves nothing on the stack", () => {
    const boom = new Error("boom");
    expect(() =>
      grad((x: NDArray) => {
        if (x.ndim === 1) throw boom;
        return x.sum();
      })(f64([1])),
    ).toThrow(boom);
    expectTypedError(() => grad((x: NDArray) => x)(f64([1, 2])), ShapeError, file);
  });
});

/**
 * User-defined derivatives inside staged code — loop bodies, branches, `jit` — keep their rules
 * (a `custom_jvp_call` equation): differentiating the loop later uses the rule, not the body.
 * Rules are deliberately scaled (×2 for customJvp, ×3 for customVjp) so that a test can tell;
 * each staged result is compared with the same computation written as a plain JavaScript loop,
 * where the rule is applied directly.
 */
import { describe, expect, it } from "vitest";
import {
  ShapeError,
  customJvp,
  customVjp,
  grad,
  jit,
  lax,
  np,
  vmap,
  type NDArray,
} from "../../src/index.js";
import { expectClose, expectTypedError } from "../helpers/assertions.js";
import { f64 } from "../helpers/numeric.js";

const tol = { rtol: 1e-10, atol: 1e-12 };

/** sin with a JVP rule of twice the true derivative. */
const doubledSin = customJvp((a: NDArray) => np.sin(a));
doubledSin.defJvp(([a], [t]) => [doubledSin(a), np.cos(a).mul(2).mul(t)]);

/** sin with a backward pass of three times the true one. */
const tripledSin = customVjp((a: NDArray) => np.sin(a));
tripledSin.defVjp(
  (a: NDArray) => [np.sin(a), np.cos(a)],
  (cos: NDArray, ct: NDArray) => [cos.mul(3).mul(ct)],
);

const x = f64([0.5, -1.2, 2.0]);
const steps = 3;

/** Three steps of `c ↦ g(c)·0.9 + c·0.1` as a scan, and as a JavaScript loop. */
const scanned =
  (g: (a: NDArray) => NDArray) =>
  (c0: NDArray): NDArray =>
    lax
      .scan(
        (c: NDArray, _: NDArray) => [g(c).mul(0.9).add(c.mul(0.1)), c],
        c0,
        np.zeros([steps]),
      )[0]
      .sum();
const unrolled =
  (g: (a: NDArray) => NDArray) =>
  (c0: NDArray): NDArray => {
    let c = c0;
    for (let i = 0; i < steps; i++) c = g(c).mul(0.9).add(c.mul(0.1));
    return c.sum();
  };

describe.each([
  ["customJvp", doubledSin],
  ["customVjp", tripledSin],
] as const)("%s inside staged code", (_, g) => {
  const expected = grad(unrolled(g))(x);

  it("grad of a scan uses the rule (as the unrolled loop does)", () => {
    const plain = grad(unrolled(np.sin))(x);
    expect(Math.abs(expected.sub(plain).sum().item() as number)).toBeGreaterThan(0.1);
    expectClose(grad(scanned(g))(x), expected, tol);
    expectClose(jit(grad(scanned(g)))(x), expected, tol);
    expectClose(grad(jit(scanned(g)))(x), expected, tol);
  });

  it("grad of a branch and of a bounded while loop use the rule", () => {
    const branch = (a: NDArray): NDArray =>
      lax
        .cond(
          a.sum().gt(0),
          (b: NDArray) => g(b).mul(2),
          (b: NDArray) => b,
          a,
        )
        .sum();
    expectClose(grad(branch)(x), grad((a: NDArray) => g(a).mul(2).sum())(x), tol);
    const loop = (c0: NDArray): NDArray =>
      lax
        .whileLoop(
          ([i]: [NDArray, NDArray]) => i.lt(steps),
          ([i, c]: [NDArray, NDArray]): [NDArray, NDArray] => [
            i.add(1),
            g(c).mul(0.9).add(c.mul(0.1)),
          ],
          [np.array(0, { dtype: "int32" }), c0],
          { maxSteps: steps },
        )[1]
        .sum();
    expectClose(grad(loop)(x), expected, tol);
  });

  it("vmap of grad of a scan, and a jitted scan's values, agree with the loop", () => {
    const rows = f64([
      [0.5, -1.2, 2.0],
      [0.1, 0.2, -0.3],
    ]);
    const want = np.stack([0, 1].map((i) => grad(unrolled(g))(rows.get(i))));
    expectClose(vmap(grad(scanned(g)))(rows), want, tol);
    expectClose(jit(scanned(g))(x), unrolled(g)(x), tol);
  });
});

describe("custom_jvp_call", () => {
  it("shows in the staged program and is inlined by the compiler", () => {
    const f = (a: NDArray): NDArray => doubledSin(a).mul(a);
    const lowered = jit(f).lower(x);
    expect(lowered.program.toString()).toContain("custom_jvp_call");
    expect(lowered.optimized.toString()).not.toContain("custom_jvp_call");
    expect(lowered.optimized.toString()).toContain("sin");
    expectClose(jit(f)(x), np.sin(x).mul(x), tol);
    expectClose(vmap(jit(f))(np.stack([x, x.mul(2)])), np.stack([f(x), f(x.mul(2))]), tol);
  });

  it("a function closing over a loop value: the rule for its argument, the body for the rest", () => {
    // g(a) = c·sin(a) with c the carry: d/da by the rule (×2), d/dc through the body.
    const body = (c: NDArray, a: NDArray): NDArray => {
      const g = customJvp((b: NDArray) => np.sin(b).mul(c));
      g.defJvp(([b], [t]) => [g(b), np.cos(b).mul(c).mul(2).mul(t)]);
      return g(a).add(c.mul(0.5));
    };
    const xs = f64([0.3, -0.7, 1.1, 0.2]);
    const staged = (c0: NDArray): NDArray =>
      lax.scan((c: NDArray, a: NDArray) => [body(c, a), c], c0, xs)[0];
    const plain = (c0: NDArray): NDArray => {
      let c = c0;
      for (let i = 0; i < 4; i++) c = body(c, xs.get(i));
      return c;
    };
    const c0 = f64(0.8);
    expectClose(grad(staged)(c0), grad(plain)(c0), tol);
    const byArgument = (a0: NDArray): NDArray =>
      lax.scan((c: NDArray, a: NDArray) => [body(c, a.add(a0)), c], c0, xs)[0];
    const byArgumentPlain = (a0: NDArray): NDArray => {
      let c = c0;
      for (let i = 0; i < 4; i++) c = body(c, xs.get(i).add(a0));
      return c;
    };
    expectClose(grad(byArgument)(f64(0.1)), grad(byArgumentPlain)(f64(0.1)), tol);
  });

  it("a rule whose primal output has another shape: ShapeError naming the function", () => {
    const bad = customJvp((a: NDArray) => np.sin(a));
    bad.defJvp(([a], [t]) => [np.sin(a).sum(), t.sum()]);
    const loop = (c0: NDArray): NDArray =>
      lax.scan((c: NDArray, _: NDArray) => [bad(c), c], c0, np.zeros([2]))[0].sum();
    expectTypedError(() => grad(loop)(x), ShapeError, "custom-staged.test.ts", "customJvp");
  });
});

describe("custom rules with pytrees inside a scan", () => {
  it("pytree arguments and outputs, and an integer argument, keep the rule", () => {
    // f({a, b}, n) = {s: sin(a)·n, p: a·b}; the rule doubles every tangent.
    const f = customJvp((args: { a: NDArray; b: NDArray }, n: NDArray) => ({
      s: np.sin(args.a).mul(n),
      p: args.a.mul(args.b),
    }));
    f.defJvp(([args, n], [t]) => [
      f(args, n),
      {
        s: np.cos(args.a).mul(n).mul(t.a).mul(2),
        p: t.a.mul(args.b).add(args.a.mul(t.b)).mul(2),
      },
    ]);
    const n = np.array([1, 2, 3], { dtype: "int32" });
    const step = (c: NDArray): NDArray => {
      const out = f({ a: c, b: c.mul(0.5) }, n);
      return out.s.add(out.p).mul(0.3);
    };
    const staged = (c0: NDArray): NDArray =>
      lax.scan((c: NDArray, _: NDArray) => [step(c), c], c0, np.zeros([2]))[0].sum();
    const plain = (c0: NDArray): NDArray => step(step(c0)).sum();
    expectClose(grad(staged)(x), grad(plain)(x), tol);
    expectClose(jit(grad(staged))(x), grad(plain)(x), tol);
  });
});

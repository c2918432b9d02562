/**
 * User-defined derivatives: `customJvp`, `customVjp`, `checkpoint`, `stopGradient`. Rules are
 * made deliberately different from the true derivative (scaled) so that a test can tell the rule
 * was used; the true derivative comes from central differences in float64.
 */
import { describe, expect, it } from "vitest";
import {
  FluxionError,
  ShapeError,
  TreeError,
  checkpoint,
  customJvp,
  customVjp,
  grad,
  hessian,
  jacfwd,
  jacrev,
  jvp,
  linearize,
  makeProgram,
  np,
  stopGradient,
  vjp,
  vmap,
  type NDArray,
} from "../../src/index.js";
import { expectClose, expectTypedError } from "../helpers/assertions.js";
import {
  f64,
  numericGrad,
  numericHessian,
  numericJacobian,
  numericJvp,
  values,
} from "../helpers/numeric.js";

const file = "custom.test.ts";
const tol = { rtol: 1e-6, atol: 1e-7 };
const exact = { rtol: 1e-12, atol: 1e-12 };

const x = f64([0.5, -1.2, 2.0]);
const ones = f64([1, 1, 1]);

/** sin, whose JVP rule is twice the true derivative (and itself differentiable). */
function doubledSin(): (a: NDArray) => NDArray {
  const f = customJvp((a: NDArray) => np.sin(a));
  f.defJvp(([a], [t]) => [f(a), np.cos(a).mul(2).mul(t)]);
  return f;
}

/** sin, whose backward pass is three times the true one. */
function tripledSin(): (a: NDArray) => NDArray {
  const f = customVjp((a: NDArray) => np.sin(a));
  f.defVjp(
    (a: NDArray) => [np.sin(a), np.cos(a)],
    (cos: NDArray, ct: NDArray) => [cos.mul(3).mul(ct)],
  );
  return f;
}

describe("customJvp", () => {
  const f = doubledSin();
  const trueDerivative = (a: NDArray): NDArray =>
    numericJvp(np.sin, [a], [np.onesLike(a)]) as NDArray;

  it("computes f's value", () => {
    expectClose(f(x), np.sin(x), exact);
  });

  it("jvp uses the rule", () => {
    const t = f64([1, -0.5, 2]);
    const [y, dy] = jvp(f, [x], [t]);
    expectClose(y, np.sin(x), exact);
    expectClose(dy, (numericJvp(np.sin, [x], [t]) as NDArray).mul(2), tol);
  });

  it("grad, vjp and jacrev (reverse mode) use the rule", () => {
    const sumF = (a: NDArray): NDArray => f(a).sum();
    expectClose(grad(sumF)(x), trueDerivative(x).mul(2), tol);
    const [, back] = vjp(f, x);
    expectClose(back(ones)[0], trueDerivative(x).mul(2), tol);
    expectClose(jacrev(f)(x), numericJacobian(np.sin, x).mul(2), tol);
    expectClose(jacfwd(f)(x), numericJacobian(np.sin, x).mul(2), tol);
  });

  it("vmap of jvp, jvp of vmap and vmap of grad use the rule", () => {
    const rows = f64([
      [0.1, 0.2, 0.3],
      [-1, 0.5, 2],
    ]);
    const doubled = np.stack([0, 1].map((i) => trueDerivative(rows.get(i)).mul(2)));
    const ts = np.onesLike(rows);
    expectClose(vmap((r: NDArray) => jvp(f, [r], [np.onesLike(r)])[1])(rows), doubled, tol);
    expectClose(jvp(vmap(f), [rows], [ts])[1], doubled, tol);
    expectClose(vmap(grad((r: NDArray) => f(r).sum()))(rows), doubled, tol);
    expectClose(vmap(f)(rows), np.sin(rows), exact);
  });

  it("grad of grad differentiates the rule (it is differentiable)", () => {
    const first = (a: NDArray): NDArray => grad((b: NDArray) => f(b).sum())(a).sum();
    // Second derivative = derivative of the rule 2cos: compare with differences of `first`.
    const second = grad(first)(x);
    expectClose(second, numericGrad(first, [x]), { rtol: 1e-5, atol: 1e-6 });
    // ... which is twice the true second derivative of sin.
    const sinSum = (a: NDArray): NDArray => np.sin(a).sum();
    expectClose(second, np.diag(numericHessian(sinSum, x)).mul(2), { rtol: 1e-5, atol: 1e-6 });
    expectClose(
      hessian((a: NDArray) => f(a).sum())(x),
      np.diag(numericGrad(first, [x]) as NDArray),
      { rtol: 1e-5, atol: 1e-6 },
    );
  });

  it("takes pytree arguments and returns pytree outputs", () => {
    type In = { a: NDArray; b: NDArray };
    const g = customJvp((p: In, c: NDArray) => ({ prod: p.a.mul(p.b), shifted: [p.a.add(c)] }));
    // Rule: twice the true tangent of `prod`, the true tangent of `shifted`.
    g.defJvp(([p, c], [tp, tc]) => [
      g(p, c),
      { prod: tp.a.mul(p.b).add(p.a.mul(tp.b)).mul(2), shifted: [tp.a.add(tc)] },
    ]);
    const p = { a: f64([1, 2]), b: f64([-0.5, 3]) };
    const c = f64([0.1, 0.2]);
    const tp = { a: f64([0.3, -1]), b: f64([2, 0.5]) };
    const tc = f64([1, 1]);
    const plain = (q: In, d: NDArray): { prod: NDArray; shifted: NDArray[] } => ({
      prod: q.a.mul(q.b),
      shifted: [q.a.add(d)],
    });
    const [y, dy] = jvp(g, [p, c], [tp, tc]);
    expectClose(y, plain(p, c), exact);
    const expected = numericJvp(plain, [p, c], [tp, tc]) as { prod: NDArray; shifted: NDArray[] };
    expectClose(dy, { prod: expected.prod.mul(2), shifted: expected.shifted }, tol);
  });

  it("an int argument gets a zero tangent in the rule", () => {
    const g = customJvp((a: NDArray, n: NDArray) => a.mul(n));
    g.defJvp(([a, n], [ta, tn]) => {
      expect(values(tn)).toEqual([0, 0, 0]);
      return [g(a, n), ta.mul(n).mul(2)];
    });
    const n = np.array([1, 2, 3], { dtype: "int32" });
    const [, dy] = jvp((a: NDArray) => g(a, n), [x], [ones]);
    expectClose(dy, (numericJvp((a: NDArray) => a.mul(n), [x], [ones]) as NDArray).mul(2), tol);
  });

  it("without defJvp it is the plain function, differentiated as usual", () => {
    const g = customJvp((a: NDArray) => np.sin(a));
    expectClose(grad((a: NDArray) => g(a).sum())(x), trueDerivative(x), tol);
  });

  it("a rule returning the wrong structure: TreeError naming customJvp", () => {
    const g = customJvp((a: NDArray) => np.sin(a));
    g.defJvp(([a], [t]) => [g(a), [t] as unknown as NDArray]);
    expectTypedError(() => jvp(g, [x], [ones]), TreeError, file, "customJvp");
    expectTypedError(() => grad((a: NDArray) => g(a).sum())(x), TreeError, file, "customJvp");
  });

  it("a rule returning the wrong shape: ShapeError naming customJvp", () => {
    const g = customJvp((a: NDArray) => np.sin(a));
    g.defJvp(([a], [t]) => [g(a), t.sum()]);
    expectTypedError(() => jvp(g, [x], [ones]), ShapeError, file, "customJvp");
  });
});

describe("customVjp", () => {
  const f = tripledSin();
  const trueDerivative = (a: NDArray): NDArray =>
    numericJvp(np.sin, [a], [np.onesLike(a)]) as NDArray;

  it("computes f's value", () => {
    expectClose(f(x), np.sin(x), exact);
  });

  it("grad, vjp and jacrev use the backward pass", () => {
    expectClose(grad((a: NDArray) => f(a).sum())(x), trueDerivative(x).mul(3), tol);
    const [y, back] = vjp(f, x);
    expectClose(y, np.sin(x), exact);
    const u = f64([1, -2, 0.5]);
    expectClose(back(u)[0], trueDerivative(x).mul(3).mul(u), tol);
    expectClose(jacrev(f)(x), numericJacobian(np.sin, x).mul(3), tol);
  });

  it("jvp and jacfwd of it give a clear error suggesting customJvp", () => {
    expectTypedError(() => jvp(f, [x], [ones]), FluxionError, file, "customVjp", "customJvp");
    expectTypedError(() => jacfwd(f)(x), FluxionError, file, "customVjp");
  });

  it("vmap of grad and grad of vmap use the backward pass", () => {
    const rows = f64([
      [0.1, 0.2, 0.3],
      [-1, 0.5, 2],
    ]);
    const tripled = np.stack([0, 1].map((i) => trueDerivative(rows.get(i)).mul(3)));
    expectClose(vmap(grad((r: NDArray) => f(r).sum()))(rows), tripled, tol);
    expectClose(grad((r: NDArray) => vmap(f)(r).sum())(rows), tripled, tol);
    expectClose(vmap(f)(rows), np.sin(rows), exact);
  });

  it("several arguments, pytree arguments and pytree residuals", () => {
    type In = { a: NDArray; b: NDArray };
    const g = customVjp((p: In, c: NDArray) => p.a.mul(p.b).add(c));
    g.defVjp(
      (p: In, c: NDArray) => [p.a.mul(p.b).add(c), { saved: [p.a, p.b] }],
      (r: { saved: NDArray[] }, ct: NDArray) => [
        { a: r.saved[1]!.mul(ct).mul(2), b: r.saved[0]!.mul(ct) },
        ct.mul(5),
      ],
    );
    const p = { a: f64([1, 2]), b: f64([-0.5, 3]) };
    const c = f64([0.1, 0.2]);
    const plain = (q: In, d: NDArray): NDArray => q.a.mul(q.b).add(d).sum();
    const [gp, gc] = grad<[In, NDArray]>((q: In, d: NDArray) => g(q, d).sum(), {
      argnums: [0, 1],
    })(p, c);
    const np0 = numericGrad(plain, [p, c], 0) as In;
    expectClose(gp, { a: np0.a.mul(2), b: np0.b }, tol);
    expectClose(gc, (numericGrad(plain, [p, c], 1) as NDArray).mul(5), tol);
  });

  it("backward may return null for an integer argument (a zero cotangent)", () => {
    const g = customVjp((a: NDArray, n: NDArray) => a.mul(n));
    g.defVjp(
      (a: NDArray, n: NDArray) => [a.mul(n), n],
      (n: NDArray, ct: NDArray) => [ct.mul(n), null],
    );
    const n = np.array([1, 2, 3], { dtype: "int32" });
    const gradient = grad((a: NDArray) => g(a, n).sum())(x);
    expectClose(
      gradient,
      numericGrad((a: NDArray) => a.mul(n).sum(), [x]),
      tol,
    );
  });

  it("backward returning the wrong structure: TreeError naming customVjp", () => {
    const g = customVjp((a: NDArray, b: NDArray) => a.mul(b));
    g.defVjp(
      (a: NDArray, b: NDArray) => [a.mul(b), [a, b]],
      (r: NDArray[], ct: NDArray) => [r[1]!.mul(ct)],
    );
    expectTypedError(() => grad((a: NDArray) => g(a, a).sum())(x), TreeError, file, "customVjp");
    const [, back] = vjp(g, x, x);
    expectTypedError(() => back(ones), TreeError, file, "customVjp");
  });

  it("backward returning the wrong shapes: ShapeError naming customVjp", () => {
    const g = customVjp((a: NDArray, b: NDArray) => a.mul(b));
    g.defVjp(
      (a: NDArray, b: NDArray) => [a.mul(b), [a, b]],
      (r: NDArray[], ct: NDArray) => [r[1]!.mul(ct), ct.sum()],
    );
    expectTypedError(
      () => grad((a: NDArray) => g(a, a).sum())(x),
      ShapeError,
      file,
      "customVjp",
      "[3]",
    );
  });
});

describe("checkpoint", () => {
  const body = (a: NDArray): NDArray => np.tanh(np.sin(a).mul(a)).add(a.mul(a).mul(0.1));
  const remat = checkpoint(body);

  it("gives the same values and derivatives as the function without it", () => {
    expectClose(remat(x), body(x), exact);
    const loss = (a: NDArray): NDArray => remat(a).sum();
    const plainLoss = (a: NDArray): NDArray => body(a).sum();
    expectClose(grad(loss)(x), grad(plainLoss)(x), exact);
    expectClose(grad(loss)(x), numericGrad(plainLoss, [x]), tol);
    expectClose(jvp(remat, [x], [ones]), jvp(body, [x], [ones]), exact);
    expectClose(jacrev(remat)(x), numericJacobian(body, x), tol);
    expectClose(
      vmap(grad(loss))(np.stack([x, x.mul(2)])),
      vmap(grad(plainLoss))(np.stack([x, x.mul(2)])),
      exact,
    );
    expectClose(hessian(loss)(x), hessian(plainLoss)(x), { rtol: 1e-10, atol: 1e-12 });
  });

  it("takes pytree arguments and outputs", () => {
    type In = { w: NDArray; b: NDArray };
    const layer = checkpoint((p: In, a: NDArray) => ({ y: np.tanh(p.w.mul(a).add(p.b)) }));
    const loss = (p: In): NDArray => layer(p, x).y.sum();
    const p = { w: f64([0.5, 1, -1]), b: f64([0.1, 0, 0.2]) };
    expectClose(grad(loss)(p), numericGrad(loss, [p]), tol);
  });

  it("the linear program shows a custom_lin equation (linearize)", () => {
    const [, forward] = linearize(remat, x);
    const text = makeProgram((t: NDArray) => forward(t))(x).toString();
    expect(text).toContain("custom_lin");
    expect(text).toContain("checkpoint(");
  });

  it("makeProgram(grad(f)) recomputes the checkpointed block on the backward pass", () => {
    const count = (text: string, op: string): number =>
      text.split("\n").filter((l) => l.includes(`= ${op} `)).length;
    const plain = makeProgram(grad((a: NDArray) => body(a).sum()))(x).toString();
    const text = makeProgram(grad((a: NDArray) => remat(a).sum()))(x).toString();
    // The forward pass computes the block once; the backward pass computes it again from the
    // saved input instead of reading stored intermediates.
    expect(count(text, "tanh")).toBe(2 * count(plain, "tanh"));
    expect(count(text, "sin")).toBe(2 * count(plain, "sin"));
  });
});

describe("stopGradient", () => {
  it("blocks gradients: x * stopGradient(x) differentiates like x * c", () => {
    const f = (a: NDArray): NDArray => a.mul(stopGradient(a)).sum();
    const frozen = (a: NDArray): NDArray => a.mul(x).sum();
    expectClose(f(x), frozen(x), exact);
    expectClose(grad(f)(x), numericGrad(frozen, [x]), tol);
    const [, dy] = jvp((a: NDArray) => stopGradient(a).mul(a), [x], [ones]);
    expectClose(
      dy,
      numericJvp((a: NDArray) => x.mul(a), [x], [ones]),
      tol,
    );
  });

  it("the whole output stopped gives zero derivatives", () => {
    expect(values(grad((a: NDArray) => stopGradient(np.sin(a)).sum())(x))).toEqual([0, 0, 0]);
    expect(values(jacfwd((a: NDArray) => stopGradient(a))(x))).toEqual(new Array(9).fill(0));
  });

  it("maps over pytrees", () => {
    const f = (a: NDArray): NDArray => {
      const s = stopGradient({ p: a, q: [a.mul(2)] });
      return s.p.mul(a).add(s.q[0]!).sum();
    };
    expectClose(
      grad(f)(x),
      numericGrad((a: NDArray) => x.mul(a).sum(), [x]),
      tol,
    );
  });

  it("is the identity under vmap and blocks second derivatives too", () => {
    const rows = np.stack([x, x.mul(-1)]);
    expectClose(vmap((r: NDArray) => stopGradient(r).mul(2))(rows), rows.mul(2), exact);
    const f = (a: NDArray): NDArray => a.pow(3).mul(stopGradient(a)).sum();
    const frozen = (a: NDArray): NDArray => a.pow(3).mul(x).sum();
    expectClose(
      hessian(f)(x),
      np.diag(numericGrad((a: NDArray) => grad(frozen)(a).sum(), [x]) as NDArray),
      { rtol: 1e-5, atol: 1e-6 },
    );
  });
});

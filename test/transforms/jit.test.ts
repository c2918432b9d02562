/**
 * `jit`: compiled results equal eager ones (bit for bit for elementwise float32 and integer
 * arithmetic), the cache retraces exactly when the signature changes (shapes, dtypes, pytree
 * structure, static values), `explainCacheMisses` says why, jit composes with grad/vmap/jvp/jit
 * both ways, `lower(...)` shows every stage, traced values used as JS values throw a TracerError
 * naming the user's line, and donated arguments give correct results.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  TracerError,
  checkpoint,
  grad,
  jit,
  jvp,
  makeProgram,
  np,
  tree,
  vmap,
  type NDArray,
} from "../../src/index.js";
import {
  bits,
  expectClose,
  expectIdentical,
  expectJitExact,
  expectTypedError,
} from "../helpers/assertions.js";

const file = "jit.test.ts";

// ----------------------------------------------------------------------------- helpers

const f32 = (data: number[] | number[][]): NDArray => np.array(data);
const i32 = (data: number[] | number[][]): NDArray => np.array(data, { dtype: "int32" });
const bool = (data: boolean[]): NDArray => np.array(data, { dtype: "bool" });

const special = (): NDArray =>
  f32([0.1, -0.7, 3.3, -12.5, 1e-7, 1e30, NaN, Infinity, -Infinity, 0, -0, 2.5]);
const matrix = (): NDArray =>
  f32([
    [0.5, -1.25, 3, 0.1],
    [4, 5.5, -6, 2],
    [-0.3, 0.7, 1.1, -2.2],
  ]);

afterEach(() => {
  vi.restoreAllMocks();
});

// ----------------------------------------------------------------------------- values

describe("jit computes what eager computes", () => {
  it("float32 elementwise chains, bit for bit (NaN, infinities and signed zeros included)", () => {
    expectJitExact((x: NDArray) => np.tanh(x.mul(2).add(1)).mul(x), special());
    expectJitExact(
      (x: NDArray) =>
        np
          .exp(np.sin(x.mul(1.7)).add(0.3))
          .div(x.add(10))
          .sub(np.sqrt(np.abs(x))),
      special(),
    );
    expectJitExact(
      (x: NDArray) => [
        np.power(np.abs(x), 2.5),
        np.log1p(np.abs(x)),
        np.arctan2(x, x.add(1)),
        np.maximum(x, 0),
        np.minimum(x, x.mul(0.3)),
        np.clip(x, -1, 1),
        np.floor(x.mul(3.3)),
        np.round(x.mul(2.5)),
        np.sign(x).mul(x),
        np.expm1(x.mul(0.01)).div(x),
        np.square(x).sub(np.reciprocal(x)),
        np.cbrt(x).mul(0.1),
      ],
      special(),
    );
  });

  it("weakly typed literals keep the argument's precision (float32 and float64)", () => {
    const f = (x: NDArray): NDArray =>
      x
        .mul(0.1)
        .add(1 / 3)
        .div(3);
    expectJitExact(f, special());
    expectJitExact(f, np.array([0.1, 0.7, -3.3, 1e-300], { dtype: "float64" }));
  });

  it("signed-zero literals are kept apart (x*0 and x*-0)", () => {
    expectJitExact((x: NDArray) => [x.mul(0), x.mul(-0)], f32([1, 2, -3]));
  });

  it("int32 arithmetic wraps exactly as eagerly", () => {
    const a = i32([123456789, 2147483647, -2147483648, 7, 46341, -5]);
    const b = i32([987654321, 2, -1, -3, 46341, 0]);
    expectJitExact(
      (x: NDArray, y: NDArray) => [
        x.mul(y),
        x.add(y),
        x.sub(y),
        x.mul(y).add(x).mul(3),
        x.neg().add(1),
        np.abs(x),
        np.floorDivide(x, y),
        np.mod(x, y),
        x.div(y),
        np.maximum(x, y),
        x.add(2147483647),
      ],
      a,
      b,
    );
  });

  it("uint32 arithmetic wraps exactly as eagerly", () => {
    const a = np.array([4294967295, 3, 2147483648, 0], { dtype: "uint32" });
    expectJitExact(
      (x: NDArray) => [x.add(x), x.mul(x), x.sub(np.array(5, { dtype: "uint32" }))],
      a,
    );
  });

  it("bool logic and comparisons", () => {
    const p = bool([true, false, true, false]);
    const q = bool([true, true, false, false]);
    expectJitExact(
      (a: NDArray, b: NDArray) => [
        np.logicalAnd(a, b),
        np.logicalOr(a, b),
        np.logicalXor(np.logicalOr(a, b), a),
        np.logicalNot(np.logicalAnd(a, b)),
        a.eq(b),
        a.ne(b),
        a.eq(b).astype("int32").add(3),
        np.where(a, b, np.logicalNot(b)),
      ],
      p,
      q,
    );
    expectJitExact(
      (x: NDArray) => [x.lt(0), x.le(0.1), x.gt(x.mul(2)), x.ge(0), np.isnan(x), np.isinf(x)],
      special(),
    );
  });

  it("casts (including NaN and out-of-range values)", () => {
    expectJitExact(
      (x: NDArray) => [
        x.astype("int32"),
        x.astype("uint32"),
        x.astype("bool"),
        x.astype("float64").mul(1 / 3),
        x.mul(2).astype("int32").add(1),
        x.gt(0).astype("float32").mul(x),
      ],
      special(),
    );
  });

  it("reductions over all, leading and trailing axes", () => {
    expectJitExact(
      (x: NDArray) => [
        x.sum(),
        x.sum({ axis: 0 }),
        x.sum({ axis: 1 }),
        x.mul(x).sum({ axis: -1, keepdims: true }),
        x.max({ axis: 1 }),
        x.min({ axis: 0 }),
        x.mean({ axis: 1 }),
        np.prod(x, { axis: 1 }),
        np.argmax(x, { axis: 1 }),
        np.argmin(x, { axis: 0 }),
        np.exp(x).sum({ axis: -1 }),
        np.logsumexp(x, { axis: -1 }),
        np.var(x, { axis: -1 }),
        np.cumsum(x, { axis: 1 }),
      ],
      matrix(),
    );
    expectJitExact((x: NDArray) => [x.max(), x.min(), x.sum(), np.exp(x).max()], special());
    expectJitExact(
      (x: NDArray) => [x.mul(x).sum({ axis: -1 }), x.add(1).max({ axis: -1 }), x.sum()],
      i32([
        [2147483647, 5],
        [-3, 100000],
      ]),
    );
    expectJitExact((x: NDArray) => [np.all(x.gt(0)), np.any(x.gt(5), { axis: 1 })], matrix());
  });

  it("matmul, alone and inside elementwise chains", () => {
    const m = matrix();
    expectJitExact((a: NDArray, b: NDArray) => a.matmul(b), m, m.T);
    expectJitExact((a: NDArray, b: NDArray) => np.tanh(a.matmul(b)).add(1).matmul(a), m, m.T);
    expectJitExact((a: NDArray, v: NDArray) => a.matmul(v), m, f32([1, -2, 3, 0.5]));
    expectJitExact(
      (a: NDArray, b: NDArray) => np.einsum("ij,kj->ik", a, b).sum({ axis: -1 }),
      m,
      m,
    );
  });

  it("indexing, at().set and at().add", () => {
    const m = matrix();
    expectJitExact(
      (x: NDArray) => [
        x.get(0),
        x.get("..., 1:"),
        x.get(":, ::-1"),
        x.get(i32([2, 0, 2])),
        x.get("None, 1, 1:3"),
        x.T.get(1),
      ],
      m,
    );
    expectJitExact(
      (x: NDArray) => [
        x.at("..., 0").set(7),
        x.at(1).add(10),
        x
          .mul(2)
          .at(i32([0, 0]))
          .add(1),
        x.mul(2).at(0).set(1),
        x.at(np.slice(0, 2)).multiply(f32([1, 2, 3, 4])),
        x.at(i32([1, 2])).max(0),
      ],
      m,
    );
  });

  it("where and concatenate", () => {
    const m = matrix();
    expectJitExact((x: NDArray) => np.where(x.gt(0), x, x.mul(-10)), m);
    expectJitExact((x: NDArray) => np.where(x.gt(0), 1, 0), m);
    expectJitExact((x: NDArray) => np.concatenate([x, x.mul(2)], { axis: 0 }), m);
    expectJitExact((x: NDArray) => np.concatenate([x, x.mul(2), x.neg()], { axis: 1 }).sum(), m);
    expectJitExact(
      (x: NDArray, y: NDArray) => np.concatenate([x.sum({ axis: 0 }), y]),
      m,
      f32([9, 8]),
    );
  });

  it("grad of f inside jit", () => {
    const f = (y: NDArray): NDArray => np.sin(y).mul(y).sum();
    expectJitExact((x: NDArray) => grad(f)(x).mul(2), matrix());
    expectJitExact((x: NDArray) => [f(x), grad(f)(x)], f32([0.5, -1.2, 2]));
  });

  it("pytrees in and out (objects, lists, numbers, null)", () => {
    const f = (p: { w: NDArray; b: NDArray }, xs: NDArray[], k: number) => ({
      y: xs.map((x) => x.matmul(p.w).add(p.b).mul(k)),
      n: null,
      total: p.w.sum(),
    });
    const p = { w: matrix(), b: f32([1, 2, 3, 4]) };
    expectJitExact(f, p, [f32([1, 2, 3]), f32([0, -1, 0.5])], 3);
  });

  it("closed-over arrays and constants created inside", () => {
    const c = f32([10, 20, 30]);
    expectJitExact((x: NDArray) => x.add(c).mul(np.ones([3]).mul(2)), f32([1, 2, 3]));
    expectJitExact((x: NDArray) => [x, np.array(3), np.arange(4)], f32([1, 2, 3]));
  });

  it("a function with no arguments", () => {
    expectJitExact(() => np.ones([3]).mul(2).add(np.arange(3)));
  });
});

// ----------------------------------------------------------------------------- caching

describe("caching", () => {
  function counted<A extends unknown[], R>(
    f: (...args: A) => R,
  ): [(...args: A) => R, () => number] {
    let calls = 0;
    return [
      (...args: A): R => {
        calls++;
        return f(...args);
      },
      () => calls,
    ];
  }

  it("a second call with the same shapes does not retrace", () => {
    const [f, calls] = counted((x: NDArray) => np.sin(x).mul(2));
    const g = jit(f);
    expect(g.cacheSize()).toBe(0);
    g(f32([1, 2, 3]));
    expect(calls()).toBe(1);
    const out = g(f32([4, 5, 6]));
    expect(calls()).toBe(1);
    expect(g.cacheSize()).toBe(1);
    expectIdentical(out, np.sin(f32([4, 5, 6])).mul(2));
  });

  it("a different shape, dtype or weak type retraces; coming back hits the cache", () => {
    const [f, calls] = counted((x: NDArray) => x.mul(2).add(1));
    const g = jit(f);
    g(f32([1, 2, 3]));
    expectIdentical(g(f32([1, 2])), f32([3, 5]));
    expect(calls()).toBe(2);
    expectIdentical(g(i32([1, 2])), i32([3, 5]));
    expect(calls()).toBe(3);
    expectIdentical(
      g(np.array([1, 2], { dtype: "float64" })),
      np.array([3, 5], { dtype: "float64" }),
    );
    expect(calls()).toBe(4);
    g(2 as unknown as NDArray); // a JS number: a weakly typed scalar
    expect(calls()).toBe(5);
    expect(g.cacheSize()).toBe(5);
    g(f32([7, 8, 9]));
    g(i32([7, 8]));
    expect(calls()).toBe(5);
    expect(g.cacheSize()).toBe(5);
  });

  it("a different pytree structure retraces and never miscomputes", () => {
    // Each leaf is weighted by its position, so a wrongly reused program would give other values.
    const weighted = (xs: NDArray[] | Record<string, NDArray>): NDArray =>
      (tree.leaves(xs) as NDArray[]).reduce((s, v, i) => s.add(v.mul(i + 1)), np.zeros([2]));
    const [f, calls] = counted(weighted);
    const g = jit(f);
    const a = f32([1, 2]);
    const b = f32([3, 4]);
    const inputs: (NDArray[] | Record<string, NDArray>)[] = [
      [a],
      [a, b],
      [b, a],
      [a, b, a],
      { p: a, q: b },
      { p: a },
      [a, b],
    ];
    for (const input of inputs) expectIdentical(g(input), weighted(input));
    // Every distinct structure traced once; the repeated ones did not trace again.
    expect(calls()).toBe(5);
    expect(g.cacheSize()).toBe(5);
    const reordered = { q: b, p: a };
    expectIdentical(g(reordered), weighted(reordered));
  });

  it("the number of arguments is part of the signature", () => {
    const [f, calls] = counted((...xs: NDArray[]) => xs.reduce((s, v) => s.add(v)));
    const g = jit(f);
    expectIdentical(g(f32([1])), f32([1]));
    expectIdentical(g(f32([1]), f32([2])), f32([3]));
    expectIdentical(g(f32([1]), f32([2]), f32([3])), f32([6]));
    expect(calls()).toBe(3);
    expect(g.cacheSize()).toBe(3);
  });
});

describe("staticArgnums", () => {
  it("numbers: a new value retraces; the same value hits the cache", () => {
    let calls = 0;
    const g = jit(
      (x: NDArray, n: number) => {
        calls++;
        let y = x;
        for (let i = 0; i < n; i++) y = y.mul(2);
        return y;
      },
      { staticArgnums: 1 },
    );
    expectIdentical(g(f32([1, 2]), 3), f32([8, 16]));
    expectIdentical(g(f32([1, 2]), 1), f32([2, 4]));
    expectIdentical(g(f32([5, 6]), 3), f32([40, 48]));
    expect(calls).toBe(2);
    expect(g.cacheSize()).toBe(2);
  });

  it("special numbers are told apart: Infinity, -Infinity, NaN and null", () => {
    const g = jit((x: NDArray, s: number | null) => x.mul(s ?? 2), { staticArgnums: [1] });
    const x = f32([1, -2]);
    for (const s of [Infinity, NaN, -Infinity, null, Infinity]) {
      expectIdentical(g(x, s), x.mul(s ?? 2));
    }
  });

  it("strings", () => {
    let calls = 0;
    const g = jit(
      (x: NDArray, op: string) => {
        calls++;
        return op === "double" ? x.mul(2) : x.neg();
      },
      { staticArgnums: [1] },
    );
    expectIdentical(g(f32([1, 2]), "double"), f32([2, 4]));
    expectIdentical(g(f32([1, 2]), "negate"), f32([-1, -2]));
    expectIdentical(g(f32([3, 4]), "double"), f32([6, 8]));
    expect(calls).toBe(2);
    expect(g.cacheSize()).toBe(2);
  });

  it("plain objects by value; class instances and functions by identity", () => {
    let calls = 0;
    const g = jit(
      (x: NDArray, cfg: { scale: number; shift: number }) => {
        calls++;
        return x.mul(cfg.scale).add(cfg.shift);
      },
      { staticArgnums: 1 },
    );
    expectIdentical(g(f32([1, 2]), { scale: 2, shift: 1 }), f32([3, 5]));
    expectIdentical(g(f32([1, 2]), { scale: 2, shift: 1 }), f32([3, 5])); // equal value: cached
    expect(calls).toBe(1);
    expectIdentical(g(f32([1, 2]), { scale: 3, shift: 1 }), f32([4, 7]));
    expect(calls).toBe(2);

    class Scaler {
      constructor(readonly k: number) {}
      apply(x: NDArray): NDArray {
        return x.mul(this.k);
      }
    }
    let traced = 0;
    const h = jit(
      (x: NDArray, s: Scaler, act: (y: NDArray) => NDArray) => {
        traced++;
        return act(s.apply(x));
      },
      { staticArgnums: [1, 2] },
    );
    const s2 = new Scaler(2);
    const s3 = new Scaler(3);
    expectIdentical(h(f32([1, 2]), s2, np.negative), f32([-2, -4]));
    expectIdentical(h(f32([1, 2]), s2, np.negative), f32([-2, -4]));
    expect(traced).toBe(1);
    expectIdentical(h(f32([1, 2]), s3, np.negative), f32([-3, -6]));
    expectIdentical(h(f32([1, 2]), s3, np.abs), f32([3, 6]));
    expect(traced).toBe(3);
    expect(h.cacheSize()).toBe(3);
  });

  it("static arguments may be used as JS values (in loops and conditions)", () => {
    const g = jit((x: NDArray, k: number) => (k > 0 ? x.mul(k) : x.neg()), { staticArgnums: 1 });
    expectIdentical(g(f32([1, 2]), 3), f32([3, 6]));
    expectIdentical(g(f32([1, 2]), 0), f32([-1, -2]));
  });
});

describe("explainCacheMisses", () => {
  it("logs the first compile and which argument changed", () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const g = jit((a: NDArray, b: { p: NDArray }, k: string) => a.mul(b.p).add(k.length), {
      explainCacheMisses: true,
      staticArgnums: 2,
    });
    g(f32([1, 2, 3]), { p: f32([1, 2, 3]) }, "x");
    expect(log).toHaveBeenCalledTimes(1);
    expect(String(log.mock.calls[0]![0])).toMatch(/first time/);

    g(f32([4, 5, 6]), { p: f32([1, 1, 1]) }, "x"); // cached: nothing logged
    expect(log).toHaveBeenCalledTimes(1);

    g(f32([1, 2, 3]), { p: i32([1, 2, 3]) }, "x");
    expect(log).toHaveBeenCalledTimes(2);
    const second = String(log.mock.calls[1]![0]);
    expect(second).toMatch(/argument 1/);
    expect(second).toContain("f32[3]");
    expect(second).toContain("i32[3]");
    expect(second).not.toMatch(/argument 0/);

    g(f32([1, 2]), { p: i32([1, 2]) }, "x");
    const third = String(log.mock.calls[2]![0]);
    expect(third).toMatch(/argument 0/);
    expect(third).toContain("f32[2]");

    g(f32([1, 2]), { p: i32([1, 2]) }, "xy");
    const fourth = String(log.mock.calls[3]![0]);
    expect(fourth).toMatch(/argument 2/);
    expect(fourth).toContain('"xy"');
    expect(fourth).not.toMatch(/argument 0|argument 1/);
  });

  it("logs nothing without the option", () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const g = jit((a: NDArray) => a.mul(2));
    g(f32([1]));
    g(f32([1, 2]));
    expect(log).not.toHaveBeenCalled();
  });
});

// ----------------------------------------------------------------------------- composition

describe("composition", () => {
  const f = (x: NDArray): NDArray => np.sin(x).mul(x).sum();
  const g = (x: NDArray): NDArray =>
    np
      .tanh(x)
      .mul(x)
      .add(np.exp(x.mul(0.1)));
  const x = f32([0.5, -1.2, 2]);
  const m = matrix();

  it("jit(grad(f)) and grad(jit(f)) agree with grad(f)", () => {
    expectIdentical(jit(grad(f))(x), grad(f)(x));
    expectClose(grad(jit(f))(x), grad(f)(x), { rtol: 1e-6 });
    const second = (h: (y: NDArray) => NDArray): NDArray => grad(grad(h))(np.array(0.7));
    expectClose(
      second((y) => jit(f)(y.mul(y))),
      second((y) => f(y.mul(y))),
      { rtol: 1e-5 },
    );
  });

  it("vmap(jit(f)) and jit(vmap(f)) agree with vmap(f)", () => {
    expectClose(vmap(jit(g))(m), vmap(g)(m), { rtol: 1e-6 });
    expectIdentical(jit(vmap(g))(m), vmap(g)(m));
    expectClose(vmap(jit(f))(m), vmap(f)(m), { rtol: 1e-6 });
  });

  it("jit(jit(f)) agrees with f", () => {
    expectIdentical(jit(jit(g))(m), g(m));
    const inner = jit(g);
    expectIdentical(jit((y: NDArray) => inner(y).mul(2))(m), g(m).mul(2));
  });

  it("jit of jvp of two checkpointed functions keeps their tangents apart", () => {
    const f = (y: NDArray): NDArray[] => [
      checkpoint((z: NDArray) => np.sin(z))(y),
      checkpoint((z: NDArray) => np.cos(z))(y),
    ];
    const h = (y: NDArray, t: NDArray): unknown => jvp(f, [y], [t]);
    expectJitExact(h, x, np.ones([3]));
  });

  it("jvp of jit agrees with jvp of f", () => {
    const t = f32([1, 0.5, -2]);
    const [out, tangent] = jvp(jit(g), [x], [t]);
    const [outRef, tangentRef] = jvp(g, [x], [t]);
    expectClose(out, outRef, { rtol: 1e-6 });
    expectClose(tangent, tangentRef, { rtol: 1e-6 });
  });

  it("grad through a jitted function that closes over the differentiated value", () => {
    // d/dw sum(c * w) = sum(c) = 7: w reaches the jitted function only through its closure.
    const c = f32([3, 4]);
    const h = (w: NDArray): NDArray => jit((y: NDArray) => y.mul(w).sum())(c);
    expectClose(h(np.array(2)), np.array(14));
    expectClose(grad(h)(np.array(2)), np.array(7));
  });

  it("jvp through a jitted function that closes over the perturbed value", () => {
    const c = f32([3, 4]);
    const h = (w: NDArray): NDArray => jit((y: NDArray) => y.mul(w).sum())(c);
    const [out, tangent] = jvp(h, [np.array(2)], [np.array(1)]);
    expectClose(out, np.array(14));
    expectClose(tangent, np.array(7));
  });

  it("vmap over a jitted function that closes over the batched value", () => {
    const c = f32([3, 4]);
    const h = (w: NDArray): NDArray => jit((y: NDArray) => y.mul(w))(c);
    expectClose(
      vmap(h)(f32([1, 2, 3])),
      f32([
        [3, 4],
        [6, 8],
        [9, 12],
      ]),
    );
  });

  it("jit over a jitted function that closes over the outer traced value", () => {
    const c = f32([3, 4]);
    const h = (w: NDArray): NDArray => jit((y: NDArray) => y.mul(w))(c);
    expectClose(jit(h)(np.array(2)), f32([6, 8]));
  });
});

// ----------------------------------------------------------------------------- lower

describe("lower", () => {
  const f = (x: NDArray, w: NDArray): NDArray => {
    np.cos(x); // dead code: gone after the passes
    return np.tanh(x.mul(1).matmul(w)).mul(2).add(1);
  };
  const x = f32([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  const w = matrix().get(":, :2").get(":3");

  it("exposes the program as staged", () => {
    const lowered = jit(f).lower(x, w);
    expect(lowered.program.toString()).toBe(makeProgram(f)(x, w).toString());
    expect(lowered.program.toString()).toMatch(/= cos /);
    expect(lowered.program.toString()).toMatch(/= mul a 1\.0:f32\[\]/);
  });

  it("exposes the optimized program", () => {
    const lowered = jit(f).lower(x, w);
    const text = lowered.optimized.toString();
    expect(text).not.toMatch(/= cos /);
    expect(text).not.toMatch(/= mul a 1\.0:f32\[\]/);
    expect(text).toMatch(/= dot_general/);
    expect(text).toMatch(/= tanh /);
  });

  it("exposes readable code with the IR equations as comments", () => {
    const lowered = jit(f).lower(x, w);
    const code = lowered.code;
    const body = lowered.optimized
      .toString()
      .split("\n")
      .slice(1, -1)
      .map((l) => l.trim());
    expect(body.length).toBeGreaterThan(0);
    for (const line of body) expect(code).toContain(`//   ${line}`);
    expect(code).toMatch(/function kernel|\(func /);
    expect(lowered.compile().code).toBe(code);
  });

  it("exposes a report listing the kernels", () => {
    const report = jit(f).lower(x, w).report();
    expect(report.kernels.length).toBeGreaterThanOrEqual(2);
    const text = report.toString();
    for (const k of report.kernels) expect(text).toContain(k.kernel);
    expect(text).toContain("dot_general");
    expect(text).toMatch(/tanh → mul → add/);
    expect(text).toMatch(/peak memory: \d+ bytes/);
  });

  it("compile().costAnalysis() gives FLOPs and bytes", () => {
    const cost = jit(f).lower(x, w).compile().costAnalysis();
    expect(cost.flops).toBeGreaterThanOrEqual(2 * 2 * 3 * 2);
    expect(cost.bytesAccessed).toBeGreaterThanOrEqual(4 * (6 + 6 + 4));
    expect(Object.keys(cost).sort()).toEqual(["bytesAccessed", "flops"]);
  });

  it("uses only shapes and dtypes, does not fill the cache, and accepts static arguments", () => {
    const g = jit((y: NDArray, k: number) => y.mul(k), { staticArgnums: 1 });
    const lowered = g.lower(np.zeros([4]), 3);
    expect(g.cacheSize()).toBe(0);
    expect(lowered.program.toString()).toContain("3.0:f32[]");
    expect(lowered.program.inAvals.map((a) => a.toString())).toEqual(["f32[4]"]);
  });
});

// ----------------------------------------------------------------------------- errors

describe("traced values used as JS values", () => {
  const x = f32([1, 2, 3]);

  it("x.item() throws a TracerError naming this file and suggesting lax.cond and staticArgnums", () => {
    const error = expectTypedError(
      () => jit((y: NDArray) => y.mul(y.sum().item() as number))(x),
      TracerError,
      file,
      "lax.cond",
      "staticArgnums",
    );
    expect(error.message).toContain("item");
  });

  it("+x throws a TracerError", () => {
    expectTypedError(
      () => jit((y: NDArray) => y.mul(+y.sum()))(x),
      TracerError,
      file,
      "lax.cond",
      "staticArgnums",
    );
  });

  it("Number(x) throws a TracerError", () => {
    expectTypedError(
      () => jit((y: NDArray) => y.mul(Number(y.sum())))(x),
      TracerError,
      file,
      "lax.cond",
      "staticArgnums",
    );
  });

  it("a boolean mask index throws a TracerError (its result shape depends on values)", () => {
    expectTypedError(() => jit((y: NDArray) => y.get(y.gt(1)))(x), TracerError, file, "mask");
  });

  it("a failed trace leaves nothing in the cache, and a later good call works", () => {
    const g = jit((y: NDArray, bad: boolean) => (bad ? y.mul(Number(y.sum())) : y.mul(2)), {
      staticArgnums: 1,
    });
    expect(() => g(x, true)).toThrow(TracerError);
    expect(g.cacheSize()).toBe(0);
    expectIdentical(g(x, false), x.mul(2));
  });
});

// ----------------------------------------------------------------------------- donation

describe("donated arguments", () => {
  it("give correct results for elementwise chains, scatters and reductions", () => {
    const f = (a: NDArray, b: NDArray) => [
      np.exp(a.mul(2)).add(b),
      a.at(0).set(9),
      b.mul(b).sum({ axis: -1 }),
    ];
    const eager = f(matrix(), matrix().mul(2));
    const g = jit(f, { donateArgnums: [0, 1] });
    expectIdentical(g(matrix(), matrix().mul(2)), eager);
    expectIdentical(g(matrix(), matrix().mul(2)), eager); // the cached program too
  });

  it("give correct results when the donated argument is also returned or viewed", () => {
    const f = (a: NDArray) => [a, a.reshape([4, 3]), a.T, a.get(1), a.mul(2), a.at(0).add(1)];
    const eager = f(matrix());
    expectIdentical(jit(f, { donateArgnums: 0 })(matrix()), eager);
  });

  it("give correct results when the same array is passed donated and not donated", () => {
    const f = (a: NDArray, b: NDArray) => {
      const t = a.mul(2);
      return [b.add(t), b.at(0).set(5), a.neg()];
    };
    const m = matrix();
    const eager = f(m, m);
    const arg = matrix();
    expectIdentical(jit(f, { donateArgnums: 0 })(arg, arg), eager);
  });

  it("donating a view leaves the array it was taken from intact", () => {
    const base = f32([1, 2, 3, 4, 5, 6]);
    const view = base.reshape([2, 3]);
    const out = jit((a: NDArray) => a.mul(10), { donateArgnums: 0 })(view);
    expectIdentical(
      out,
      f32([
        [10, 20, 30],
        [40, 50, 60],
      ]),
    );
    expectIdentical(base, f32([1, 2, 3, 4, 5, 6]));
  });

  it("non-donated arguments are never modified", () => {
    const a = matrix();
    const b = matrix().mul(2);
    const before = [bits(a), bits(b)];
    jit((p: NDArray, q: NDArray) => [p.mul(2).at(0).set(1), np.exp(q).add(p)], {
      donateArgnums: 0,
    })(matrix(), b);
    jit((p: NDArray) => p.at(0).set(1))(a);
    expect([bits(a), bits(b)]).toEqual(before);
  });
});

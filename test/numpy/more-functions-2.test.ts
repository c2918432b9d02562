/**
 * NumPy's extra functions, second batch (searchsorted, digitize, interp, bincount, histogram, cov,
 * corrcoef, the splits, unravelIndex, ldexp, floatPower, unique*, nonzero, flatnonzero, argwhere)
 * beyond their values, which test/fixtures/numpy.json checks against NumPy (reference.test.ts):
 * derivatives against central differences (float64), jit against eager, the functions whose
 * output shape depends on the values refusing jit, and the errors for bad arguments.
 */
import { describe, expect, it } from "vitest";
import { checkGrads, jit, np, type NDArray } from "../../src/index.js";
import { expectClose, expectJitExact, thrown } from "../helpers/assertions.js";
import { f64, random } from "../helpers/numeric.js";

const i32 = (values: number[] | number[][]): NDArray => np.array(values, { dtype: "int32" });
const order2 = { order: 2 } as const;

describe("derivatives (float64, forward and reverse)", () => {
  const xp = f64([-1, 0, 0.5, 2, 3]);
  const fp = f64([2, -1, 0.5, 0.25, 4]);

  it("interp with respect to x, away from the knots (inside and outside [xp0, xpN])", () => {
    const x = f64([-1.7, -0.6, 0.21, 0.9, 1.45, 2.6, 3.4]);
    checkGrads((v: NDArray) => np.interp(v, xp, fp), [x], order2);
    checkGrads((v: NDArray) => np.interp(v, xp, fp, { left: -2, right: 5 }), [x], order2);
  });

  it("interp with respect to fp (and to x and fp together)", () => {
    const x = f64([
      [-1.5, -0.6, 0],
      [0.5, 1.3, 3.2],
    ]);
    checkGrads((f: NDArray) => np.interp(x, xp, f), [fp], order2);
    checkGrads(
      (v: NDArray, f: NDArray) => np.interp(v, xp, f),
      [f64([0.3, 1.1, 2.45]), fp],
      order2,
    );
  });

  it("cov: rowvar, bias, ddof, 1-d input", () => {
    const m = random([3, 6], 21);
    checkGrads((v: NDArray) => np.cov(v), [m], order2);
    checkGrads((v: NDArray) => np.cov(v, { rowvar: false }), [random([6, 3], 22)], order2);
    checkGrads((v: NDArray) => np.cov(v, { bias: true }), [m], order2);
    checkGrads((v: NDArray) => np.cov(v, { ddof: 2 }), [m], order2);
    checkGrads((v: NDArray) => np.cov(v), [random([7], 23)], order2);
  });

  it("corrcoef, both rowvars", () => {
    checkGrads((v: NDArray) => np.corrcoef(v), [random([3, 5], 24)], order2);
    checkGrads((v: NDArray) => np.corrcoef(v, { rowvar: false }), [random([6, 2], 25)], order2);
  });

  it("ldexp with respect to x", () => {
    const x = random([2, 3], 26);
    checkGrads(
      (v: NDArray) =>
        np.ldexp(
          v,
          i32([
            [-3, 0, 2],
            [1, -1, 4],
          ]),
        ),
      [x],
      order2,
    );
    checkGrads((v: NDArray) => np.ldexp(v, -2), [x], order2);
  });

  it("floatPower with a positive base (with respect to both)", () => {
    const x = f64([
      [0.3, 1.2, 2.5],
      [0.8, 1.7, 3.1],
    ]);
    const y = f64([-1.5, 0.4, 2.2]);
    checkGrads((a: NDArray, b: NDArray) => np.floatPower(a, b), [x, y], order2);
  });

  it("bincount and histogram: linear in the weights (order 1)", () => {
    const x = i32([0, 1, 1, 3, 2, 1, 7, 0]);
    const w = random([8], 27);
    checkGrads((u: NDArray) => np.bincount(x, { weights: u, length: 9 }), [w], { order: 1 });
    const xs = f64([0.1, 0.6, 1.2, 1.9, 2.4, 2.7, 3.3, 3.8, -0.5, 4.5]);
    const ws = random([10], 28);
    checkGrads((u: NDArray) => np.histogram(xs, { bins: 4, range: [0, 4], weights: u })[0], [ws], {
      order: 1,
    });
    checkGrads((u: NDArray) => np.histogram(xs, { bins: 3, weights: u })[0], [ws], { order: 1 });
  });
});

describe("jit gives what eager gives", () => {
  const a = np.array([-1.5, -0.25, 0, 0, 0.5, 2, 2, 2, 3.75], { dtype: "float32" });
  const v = np.array([0, 2, 5, -3, 0.25, 2, 3.75, -1.5], { dtype: "float32" }).reshape([2, 4]);

  it("searchsorted (both sides) and digitize (both rights), bit for bit", () => {
    expectJitExact((s: NDArray, q: NDArray) => np.searchsorted(s, q), a, v);
    expectJitExact((s: NDArray, q: NDArray) => np.searchsorted(s, q, { side: "right" }), a, v);
    const bins = np.array([-1, 0, 0.5, 2], { dtype: "float32" });
    expectJitExact((q: NDArray, b: NDArray) => np.digitize(q, b), v, bins);
    expectJitExact((q: NDArray, b: NDArray) => np.digitize(q, b, { right: true }), v, bins);
  });

  it("bincount with `length`, with and without weights, bit for bit", () => {
    const x = i32([0, 1, 1, 3, 2, 1, 7, 0]);
    const w = np.array([0.5, 1, -2, 0.25, 3, 1.5, -1, 2], { dtype: "float32" });
    expectJitExact((q: NDArray) => np.bincount(q, { length: 9 }), x);
    expectJitExact((q: NDArray, u: NDArray) => np.bincount(q, { weights: u, length: 8 }), x, w);
  });

  it("interp and cov within rounding", () => {
    const close = (f: (...args: NDArray[]) => NDArray, ...args: NDArray[]): void => {
      const eager = f(...args);
      const compiled = jit(f)(...args);
      expect(compiled.dtype).toBe(eager.dtype);
      expectClose(compiled, eager, { rtol: 1e-6, atol: 1e-6 });
    };
    const xp = np.array([-1, 0, 0.5, 2, 3], { dtype: "float32" });
    const fp = np.array([2, -1, 0.5, 0.25, 4], { dtype: "float32" });
    close((x, p, f) => np.interp(x, p, f), v, xp, fp);
    close((x, p, f) => np.interp(x, p, f, { left: -5, right: 7.5 }), v, xp, fp);
    const m = np
      .array(
        Array.from({ length: 12 }, (_, i) => Math.sin(i * 1.3) * 2),
        { dtype: "float32" },
      )
      .reshape([3, 4]);
    close((x) => np.cov(x), m);
    close((x) => np.cov(x, { rowvar: false, ddof: 0 }), m);
  });
});

describe("functions whose output shape depends on the values refuse jit", () => {
  const x = np.array(
    [
      [0, 3, 0],
      [3, 1, 0],
    ],
    { dtype: "int32" },
  );
  const eagerOnly: [string, (v: NDArray) => unknown, RegExp][] = [
    ["unique", (v) => np.unique(v), /unique/],
    ["uniqueCounts", (v) => np.uniqueCounts(v), /unique/],
    ["uniqueInverse", (v) => np.uniqueInverse(v), /unique/],
    ["nonzero", (v) => np.nonzero(v), /nonzero/],
    ["flatnonzero", (v) => np.flatnonzero(v), /nonzero/],
    ["argwhere", (v) => np.argwhere(v), /argwhere/],
  ];
  for (const [name, f, names] of eagerOnly) {
    it(`${name} under jit throws a clear error (and works eagerly)`, () => {
      expect(() => f(x)).not.toThrow();
      const message = thrown(() => jit(f)(x)).message;
      expect(message).toMatch(names);
      expect(message).toMatch(/jit|traced|concrete|shape/i);
    });
  }

  it("bincount under jit needs `length`", () => {
    const q = i32([0, 2, 2, 5]);
    expect(() => np.bincount(q)).not.toThrow();
    expect(() => jit((v: NDArray) => np.bincount(v))(q)).toThrow(/length/);
    expect(() => jit((v: NDArray) => np.bincount(v, { minlength: 8 }))(q)).toThrow(/length/);
  });
});

describe("errors", () => {
  it("searchsorted with an `a` that is not 1-d", () => {
    expect(() => np.searchsorted(np.zeros([2, 3]), np.zeros([2]))).toThrow(/1-d/i);
    expect(() => np.searchsorted(np.array(1), np.zeros([2]))).toThrow(/1-d/i);
  });

  it("interp with xp and fp of different lengths", () => {
    expect(() => np.interp(np.zeros([3]), np.arange(4), np.arange(5))).toThrow(/xp.*fp|fp.*xp/);
  });

  it("histogram with fewer than one bin", () => {
    const x = np.arange(5, { dtype: "float32" });
    expect(() => np.histogram(x, { bins: 0 })).toThrow(/bins/);
    expect(() => np.histogram(x, { bins: -2 })).toThrow(/bins/);
  });

  it("cov of a 3-d array", () => {
    expect(() => np.cov(np.zeros([2, 3, 4]))).toThrow(/2-d|dimension|axes/i);
  });

  it("unravelIndex with an index out of range (either side)", () => {
    expect(() => np.unravelIndex(i32([0, 12]), [3, 4])).toThrow(/out of range|out of bounds/i);
    expect(() => np.unravelIndex(i32([-1]), [3, 4])).toThrow(/out of range|out of bounds/i);
  });

  it("the splits: a scalar, too few dimensions, a count that does not divide the axis", () => {
    expect(() => np.hsplit(np.array(1.5), 1)).toThrow();
    expect(() => np.vsplit(np.zeros([4]), 2)).toThrow();
    expect(() => np.dsplit(np.zeros([2, 4]), 2)).toThrow();
    expect(() => np.hsplit(np.zeros([2, 5]), 2)).toThrow();
  });
});

describe("histogram with explicit edges", () => {
  const x = np.array([0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 0, -1, 5]);
  it("counts [eᵢ, eᵢ₊₁) with the last bin closed, weighted or not, as NumPy", () => {
    // numpy.histogram(x, bins=[0, 1, 2.5, 4]) and with weights=arange(11).
    const [counts, edges] = np.histogram(x, { bins: [0, 1, 2.5, 4] });
    expect(counts.toList()).toEqual([2, 3, 4]);
    expect(counts.dtype).toBe("int32");
    expect(edges.toList()).toEqual([0, 1, 2.5, 4]);
    const [weighted] = np.histogram(x, { bins: np.array([0, 1, 2.5, 4]), weights: np.arange(11) });
    expect(weighted.toList()).toEqual([8, 6, 22]);
    const f = (v: NDArray): NDArray => np.histogram(v, { bins: [0, 1, 2.5, 4] })[0];
    expect(jit(f)(x).toList()).toEqual(f(x).toList());
  });

  it("rejects edges that are not increasing or too few", () => {
    expect(() => np.histogram(x, { bins: [0, 2, 1] })).toThrow(/increase monotonically/);
    expect(() => np.histogram(x, { bins: [1] })).toThrow(/at least 2 values/);
  });
});

/**
 * NumPy's extra functions (logaddexp, hypot, sinc, the NaN-ignoring reductions, average,
 * trapezoid, diff, roll, tril, cross, quantile, take, meshgrid, tri, ...) beyond their values,
 * which test/fixtures/numpy.json checks against NumPy (reference.test.ts): derivatives against
 * central differences (float64, order 2), the edges (logaddexp at −inf, sinc at 0), jit against
 * eager, and the errors for bad arguments.
 */
import { describe, expect, it } from "vitest";
import { checkGrads, grad, jit, np, type NDArray } from "../../src/index.js";
import { expectClose, expectJitExact } from "../helpers/assertions.js";
import { f64, random } from "../helpers/numeric.js";

const i32 = (values: number[]): NDArray => np.array(values, { dtype: "int32" });
const order2 = { order: 2 } as const;

describe("derivatives (float64, order 2, forward and reverse)", () => {
  it("logaddexp and logaddexp2, broadcasting", () => {
    const x = random([2, 3], 1).mul(3);
    const y = random([3], 2).mul(3);
    checkGrads((a: NDArray, b: NDArray) => np.logaddexp(a, b), [x, y], order2);
    checkGrads((a: NDArray, b: NDArray) => np.logaddexp2(a, b), [x, y], order2);
  });

  it("hypot away from 0", () => {
    const x = f64([
      [1.5, -2, 0.7],
      [-0.4, 3, 1.1],
    ]);
    const y = f64([0.9, -1.3, 2.5]);
    checkGrads((a: NDArray, b: NDArray) => np.hypot(a, b), [x, y], order2);
  });

  it("sinc away from 0 (order 2) and through 0 (order 1)", () => {
    checkGrads((x: NDArray) => np.sinc(x), [f64([-1.7, -0.4, 0.3, 0.9, 2.2])], order2);
    checkGrads((x: NDArray) => np.sinc(x), [f64([-0.6, 0, 0.45])], { order: 1 });
  });

  it("nansum and nanmean (no NaN), over an axis and over everything", () => {
    const x = random([3, 4], 3);
    checkGrads((v: NDArray) => np.nansum(v, { axis: 1 }), [x], order2);
    checkGrads((v: NDArray) => np.nansum(v), [x], order2);
    checkGrads((v: NDArray) => np.nanmean(v, { axis: 0, keepdims: true }), [x], order2);
    checkGrads((v: NDArray) => np.nanmean(v), [x], order2);
  });

  it("average with weights (with respect to the values and the weights)", () => {
    const x = random([2, 4], 4);
    const w = f64([0.5, 1.5, 2, 0.75]);
    checkGrads((v: NDArray, u: NDArray) => np.average(v, { axis: 1, weights: u }), [x, w], order2);
    checkGrads((v: NDArray) => np.average(v, { axis: 0 }), [x], order2);
  });

  it("trapezoid with dx and with sample points", () => {
    const y = random([2, 5], 5);
    const xs = f64([0, 0.3, 1.1, 1.5, 2.6]);
    checkGrads((v: NDArray) => np.trapezoid(v, { dx: 0.5 }), [y], order2);
    checkGrads((v: NDArray, s: NDArray) => np.trapezoid(v, { x: s }), [y, xs], order2);
    checkGrads((v: NDArray) => np.trapezoid(v, { axis: 0 }), [y], order2);
  });

  it("diff, roll, tril", () => {
    const x = random([3, 5], 6);
    checkGrads((v: NDArray) => np.diff(v), [x], order2);
    checkGrads((v: NDArray) => np.diff(v, { n: 2, axis: 0 }), [x], order2);
    checkGrads((v: NDArray) => np.roll(v, 2), [x], order2);
    checkGrads((v: NDArray) => np.roll(v, [1, -2], { axis: [0, 1] }), [x], order2);
    const b = random([2, 3, 4], 7);
    checkGrads((v: NDArray) => np.tril(v, { k: -1 }), [b], order2);
    checkGrads((v: NDArray) => np.triu(v, { k: 1 }), [b], order2);
  });

  it("cross of 3-vectors (batched) and 2-vectors", () => {
    checkGrads(
      (a: NDArray, c: NDArray) => np.cross(a, c),
      [random([4, 3], 8), random([4, 3], 9)],
      order2,
    );
    checkGrads(
      (a: NDArray, c: NDArray) => np.cross(a, c),
      [random([3, 2], 10), random([3, 2], 11)],
      order2,
    );
  });

  it("quantile and median (no ties)", () => {
    const x = random([3, 6], 12);
    checkGrads((v: NDArray) => np.quantile(v, [0.1, 0.5, 0.83], { axis: 1 }), [x], order2);
    checkGrads((v: NDArray) => np.quantile(v, 0.37), [x], order2);
    checkGrads((v: NDArray) => np.median(v, { axis: 0 }), [x], order2);
  });
});

describe("edge values", () => {
  it("logaddexp(−inf, −inf) is −inf, and its gradient stays finite at −inf", () => {
    for (const dtype of ["float32", "float64"] as const) {
      const ninf = np.array([-Infinity], { dtype });
      expect(np.logaddexp(ninf, ninf).toList()).toEqual([-Infinity]);
      expect(np.logaddexp2(ninf, ninf).toList()).toEqual([-Infinity]);
    }
    const f = (x: NDArray, y: NDArray): NDArray => np.logaddexp(x, y).sum();
    const [gx, gy] = grad<NDArray[]>(f, { argnums: [0, 1] })(
      np.array(-Infinity, { dtype: "float32" }),
      np.array(0, { dtype: "float32" }),
    );
    expect(gx!.item()).toBe(0);
    expect(gy!.item()).toBe(1);
    // Elementwise: −inf on either side, and equal values.
    const [hx, hy] = grad<NDArray[]>(f, { argnums: [0, 1] })(
      np.array([-Infinity, 0, 5], { dtype: "float32" }),
      np.array([0, -Infinity, 5], { dtype: "float32" }),
    );
    expect(hx!.toList()).toEqual([0, 1, 0.5]);
    expect(hy!.toList()).toEqual([1, 0, 0.5]);
  });

  it("sinc(0) = 1 and its derivative at exactly 0 is 0 (finite), in float32 and float64", () => {
    for (const dtype of ["float32", "float64"] as const) {
      const zero = np.array(0, { dtype });
      expect(np.sinc(zero).item()).toBe(1);
      const g = grad((x: NDArray) => np.sinc(x))(zero) as NDArray;
      expect(g.dtype).toBe(dtype);
      expect(Number.isFinite(g.item())).toBe(true);
      expect(g.item()).toBe(0);
      const gs = grad((x: NDArray) => np.sinc(x).sum())(np.array([0, 0.5, -0], { dtype }));
      const at0 = Array.from((gs as NDArray).toTypedArray(), Number);
      expect(Number.isFinite(at0[0]!)).toBe(true);
      expect(at0[0]).toBe(0);
      expect(Number.isFinite(at0[2]!)).toBe(true);
    }
  });

  it("sinc's second derivative at 0 is −π²/3 (as JAX)", () => {
    const d2 = grad(grad((x: NDArray) => np.sinc(x)) as (x: NDArray) => NDArray);
    expectClose(d2(f64(0)), f64(-(Math.PI ** 2) / 3), { rtol: 1e-10 });
  });

  it("nansum of an all-NaN slice is 0; the NaN-ignoring extrema skip NaN", () => {
    const x = np.array([
      [NaN, NaN],
      [1, NaN],
    ]);
    expect(np.nansum(x, { axis: 1 }).toList()).toEqual([0, 1]);
    expect(np.nanmax(x, { axis: 0 }).toList()).toEqual([1, NaN]);
    expect(np.fmax(np.array([NaN, 1]), np.array([2, NaN])).toList()).toEqual([2, 1]);
  });
});

describe("jit gives what eager gives", () => {
  const x = np
    .array(
      Array.from({ length: 12 }, (_, i) => Math.sin(i * 1.7) * 3),
      { dtype: "float32" },
    )
    .reshape([3, 4]);

  it("structural functions bit for bit: roll, tril, take, diff, meshgrid, rot90", () => {
    expectJitExact((v: NDArray) => np.roll(v, [1, -1], { axis: [0, 1] }), x);
    expectJitExact((v: NDArray) => np.tril(v, { k: 1 }), x);
    expectJitExact((v: NDArray) => np.take(v, i32([0, -1, 5])), x);
    expectJitExact((v: NDArray) => np.take(v, i32([2, 0]), { axis: 0 }), x);
    expectJitExact((v: NDArray) => np.diff(v, { axis: 0 }), x);
    expectJitExact((v: NDArray) => np.rot90(v, { k: 3 }), x);
    expectJitExact(
      (a: NDArray, b: NDArray) => np.meshgrid(a, b, { indexing: "ij" }),
      np.arange(3, { dtype: "float32" }),
      np.arange(2, { dtype: "float32" }),
    );
  });

  it("arithmetic ones within rounding: logaddexp, hypot, cross, quantile, nanmean, average", () => {
    const y = x.mul(0.5).sub(1);
    const close = (f: (...a: NDArray[]) => NDArray, ...args: NDArray[]): void => {
      const eager = f(...args);
      const compiled = jit(f)(...args);
      expect(compiled.dtype).toBe(eager.dtype);
      expectClose(compiled, eager, { rtol: 1e-6, atol: 1e-6 });
    };
    close((a, b) => np.logaddexp(a, b), x, y);
    close((a, b) => np.hypot(a, b), x, y);
    close((a, b) => np.cross(a, b), x.reshape([4, 3]), y.reshape([4, 3]));
    close((a) => np.quantile(a, [0.25, 0.5], { axis: 1 }), x);
    close((a) => np.nanmean(np.where(np.greater(a, 2), NaN, a), { axis: 1 }), x);
    close((a, b) => np.average(a, { axis: 0, weights: np.abs(b).add(0.1) }), x, y);
  });
});

describe("errors", () => {
  const x = np.arange(6, { dtype: "float32" }).reshape([2, 3]);

  it("take with an index out of range", () => {
    expect(() => np.take(x, i32([6]))).toThrow(/out of range|out of bounds/i);
    expect(() => np.take(x, i32([-7]))).toThrow(/out of range|out of bounds/i);
    expect(() => np.take(x, i32([3]), { axis: 1 })).toThrow(/out of range|out of bounds/i);
  });

  it("roll with shift and axis of different lengths", () => {
    expect(() => np.roll(x, [1, 2], { axis: 0 })).toThrow(/shift.*axis|axis.*shift/i);
    expect(() => np.roll(x, [1, 2, 3], { axis: [0, 1] })).toThrow(/shift.*axis|axis.*shift/i);
  });

  it("quantile with q outside [0, 1] (percentile outside [0, 100])", () => {
    expect(() => np.quantile(x, 1.5)).toThrow(/quantile/i);
    expect(() => np.quantile(x, [0.5, -0.1])).toThrow(/quantile/i);
    expect(() => np.percentile(x, 101)).toThrow(/percentile|quantile/i);
  });

  it("tri with a negative size", () => {
    expect(() => np.tri(-1)).toThrow();
  });

  it("meshgrid of an input that is not 1-D", () => {
    expect(() => np.meshgrid(np.zeros([2, 2]), np.zeros([3]))).toThrow();
  });
});

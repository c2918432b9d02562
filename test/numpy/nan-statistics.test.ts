/**
 * The NaN-ignoring statistics (nanprod, nancumsum, nancumprod, nanargmax, nanargmin, nanvar,
 * nanstd, nanmedian, nanquantile, nanpercentile) against NumPy's values, `partition` /
 * `argpartition`, and `lax.topK`: values, derivatives, jit and errors.
 */
import { describe, expect, it } from "vitest";
import { checkGrads, grad, jit, lax, np, ValueError, type NDArray } from "../../src/index.js";
import { expectClose } from "../helpers/assertions.js";

const x = np.array(
  [
    [1, NaN, 3, 4],
    [NaN, NaN, 2, 1],
    [5, 1, 2, 3],
  ],
  { dtype: "float64" },
);
const f64 = (v: number[] | number[][]): NDArray => np.array(v, { dtype: "float64" });

describe("NaN-ignoring statistics (values from NumPy 2.4 on the same array)", () => {
  it("reductions and cumulative sums", () => {
    expectClose(np.nanmedian(x, { axis: 1 }), f64([3, 1.5, 2.5]), { rtol: 1e-15 });
    expectClose(
      np.nanquantile(x, [0.25, 0.9], { axis: 1 }),
      f64([
        [2, 1.25, 1.75],
        [3.8, 1.9, 4.4],
      ]),
      {
        rtol: 1e-14,
      },
    );
    expect(np.nanpercentile(x, 50).item()).toBe(2);
    expectClose(np.nanvar(x, { axis: 1 }), f64([1.5555555555555554, 0.25, 2.1875]), {
      rtol: 1e-14,
    });
    expect(np.nanstd(x).item()).toBeCloseTo(1.3425606637327303, 14);
    expect(np.nanprod(x, { axis: 0 }).toList()).toEqual([5, 1, 12, 12]);
    expect(np.nancumsum(x, { axis: 1 }).toList()).toEqual([
      [1, 1, 4, 8],
      [0, 0, 2, 3],
      [5, 6, 8, 11],
    ]);
    expect(np.nancumprod(f64([2, NaN, 3])).toList()).toEqual([2, 2, 6]);
    expect(np.nanargmax(x, { axis: 1 }).toList()).toEqual([3, 2, 0]);
    expect(np.nanargmin(x, { axis: 0 }).toList()).toEqual([0, 2, 1, 1]);
    expect(Number.isNaN(np.nanmedian(f64([NaN, NaN])).item() as number)).toBe(true);
    expect(np.nanmedian(x, { axis: 1, keepdims: true }).shape).toEqual([3, 1]);
  });

  it("differentiate like their plain forms on arrays without NaN, and compile", () => {
    const y = f64([
      [1.5, -2, 0.3, 4],
      [0.2, 3, -1, 2.5],
    ]);
    checkGrads((v: NDArray) => np.nanmedian(v, { axis: 1 }), [y], { order: 1 });
    checkGrads((v: NDArray) => np.nanvar(v, { axis: 0 }), [y], { order: 2 });
    expectClose(np.nanquantile(y, 0.3, { axis: 1 }), np.quantile(y, 0.3, { axis: 1 }), {
      rtol: 1e-15,
    });
    const f = (v: NDArray): NDArray => np.nanmedian(v, { axis: 1 });
    expect(jit(f)(x).toList()).toEqual(f(x).toList());
  });

  it("say what is wrong", () => {
    expect(() =>
      np.nanargmax(
        f64([
          [NaN, NaN],
          [1, 2],
        ]),
        { axis: 1 },
      ),
    ).toThrow(/only NaN/);
    expect(() => np.nanquantile(x, 2)).toThrow(ValueError);
  });
});

describe("partition, argpartition and lax.topK", () => {
  it("partition puts the kth element in place (smaller before, larger after)", () => {
    const v = np.array([7, 1, 5, 3, 9]);
    const p = np.partition(v, 2).toList() as number[];
    expect(p[2]).toBe(5);
    expect(p.slice(0, 2).every((e) => e <= 5) && p.slice(3).every((e) => e >= 5)).toBe(true);
    const i = np.argpartition(v, 2);
    expect(v.get(i).toList()).toEqual(p);
    expect(() => np.partition(v, 5)).toThrow(/kth must be an integer in \[-5, 5\)/);
  });

  it("topK: the k largest, descending, stable on ties, NaN first; gradients reach the chosen entries", () => {
    const [values, indices] = lax.topK(
      np.array([
        [1, 5, NaN, 5],
        [0, -1, 2, 2],
      ]),
      3,
    );
    expect(indices.toList()).toEqual([
      [2, 1, 3],
      [2, 3, 0],
    ]);
    expect(values.get(1).toList()).toEqual([2, 2, 0]);
    expect(Number.isNaN(values.get(0, 0).item() as number)).toBe(true);
    const g = grad((v: NDArray) => lax.topK(v, 2)[0].sum())(f64([3, 1, 4, 1, 5]));
    expect(g.toList()).toEqual([0, 0, 1, 0, 1]);
    const f = (v: NDArray): NDArray => lax.topK(v, 2)[0];
    const a = np.array([[3, 1, 4, 1, 5]]);
    expect(jit(f)(a).toList()).toEqual(f(a).toList());
    expect(() => lax.topK(a, 6)).toThrow(/k must be a whole number in \[0, 5\]/);
    expect(() => lax.topK(np.array(3), 1)).toThrow(/scalar/);
  });
});

/**
 * `np.sort` and `np.argsort`: ascending, stable, −0 before +0 and NaN last (the order of typed
 * arrays' `sort`); one operand sorts by the typed array's own sort, several (argsort,
 * the derivative's permutation) by the stable comparison — the same order either way.
 */
import { describe, expect, it } from "vitest";
import { grad, np, type NDArray } from "../../src/index.js";

describe("sort and argsort", () => {
  const values = [3, -0, NaN, 0, -1, 0, -0, Infinity, -Infinity, 2, NaN, 1];

  it("orders −0 before +0 and NaN last, along any axis", () => {
    const x = np.array(values, { dtype: "float32" });
    const sorted = Array.from(np.sort(x).toTypedArray());
    const expected = Float32Array.from(values).sort();
    expect(sorted.map((v) => Object.is(v, -0))).toEqual(
      Array.from(expected, (v) => Object.is(v, -0)),
    );
    expect(sorted).toEqual(Array.from(expected));
    const m = np.array([values, values.map((v) => -v)], { dtype: "float64" });
    const first = np.sort(m, { axis: 0 }).get(0).toTypedArray();
    values.forEach((v, i) => {
      const want = Float64Array.from([v, -v]).sort()[0]!;
      expect(Object.is(first[i], want), `column ${i}: ${first[i]} vs ${want}`).toBe(true);
    });
  });

  it("argsort is stable and agrees with sort, −0 before +0", () => {
    const x = np.array(values, { dtype: "float32" });
    const order = np.argsort(x).toList() as number[];
    expect(order).toEqual([8, 4, 1, 6, 3, 5, 11, 9, 0, 7, 2, 10]);
    const taken = order.map((i) => values[i]!);
    expect(taken.map((v) => Object.is(v, -0))).toEqual(
      Array.from(np.sort(x).toTypedArray(), (v) => Object.is(v, -0)),
    );
  });

  it("sorts long rows and differentiates through the permutation", () => {
    const n = 1000;
    const x = np
      .array(
        Array.from({ length: 3 * n }, (_, i) => Math.sin(i * 12.9898) * 43758.5453),
        { dtype: "float32" },
      )
      .reshape([3, n]);
    const sorted = np.sort(x, { axis: 1 });
    for (let r = 0; r < 3; r++) {
      const row = Array.from(x.get(r).toTypedArray());
      expect(Array.from(sorted.get(r).toTypedArray())).toEqual(
        Array.from(Float32Array.from(row).sort()),
      );
    }
    const weights = np.arange(n, { dtype: "float32" });
    const g = grad((y: NDArray) => np.sort(y, { axis: 1 }).mul(weights).sum())(x);
    // Each element's gradient is its rank.
    const ranks = np.argsort(np.argsort(x, { axis: 1 }), { axis: 1 }).astype("float32");
    expect(g.toList()).toEqual(ranks.toList());
  });
});

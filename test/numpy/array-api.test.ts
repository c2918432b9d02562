/**
 * NumPy 2's array-API names and the small functions beside them (src/numpy/array-api.ts):
 * values from NumPy 2.4, aliases, derivatives of `gradient`, and errors.
 */
import { describe, expect, it } from "vitest";
import { checkGrads, np, ShapeError, type NDArray } from "../../src/index.js";

const f64 = (v: number[] | number[][]): NDArray => np.array(v, { dtype: "float64" });

describe("array-API names", () => {
  it("are the functions they name", () => {
    expect(np.concat).toBe(np.concatenate);
    expect(np.permuteDims).toBe(np.transpose);
    expect(np.pow).toBe(np.power);
    expect(np.acos).toBe(np.arccos);
    expect(np.atan2).toBe(np.arctan2);
    expect(np.cumulativeSum).toBe(np.cumsum);
    expect(np.matrixTranspose(np.ones([2, 3, 4])).shape).toEqual([2, 4, 3]);
    expect(
      np
        .vecdot(
          np.array([
            [1, 2],
            [3, 4],
          ]),
          np.array([1, 1]),
        )
        .toList(),
    ).toEqual([3, 7]);
    const parts = np.unstack(
      np.array([
        [1, 2],
        [3, 4],
      ]),
      { axis: 1 },
    );
    expect(parts.map((p) => p.toList())).toEqual([
      [1, 3],
      [2, 4],
    ]);
  });

  it("fmod, divmod, modf, gradient and ediff1d match NumPy", () => {
    // numpy.fmod([-7, 7, -7, 7, 5.5], [3, -3, -3, 3, 2]) (the sign of the dividend).
    expect(np.fmod(f64([-7, 7, -7, 7, 5.5]), f64([3, -3, -3, 3, 2])).toList()).toEqual([
      -1, 1, -1, 1, 1.5,
    ]);
    expect(
      np
        .fmod(np.array([-7, 7], { dtype: "int32" }), np.array([3, -3], { dtype: "int32" }))
        .toList(),
    ).toEqual([-1, 1]);
    const [q, r] = np.divmod(
      np.array([-7, 7], { dtype: "int32" }),
      np.array([3, 3], { dtype: "int32" }),
    );
    expect([q.toList(), r.toList()]).toEqual([
      [-3, 2],
      [2, 1],
    ]);
    const [frac, whole] = np.modf(f64([-2.5, 3.75, Infinity]));
    expect([frac.toList(), whole.toList()]).toEqual([
      [-0.5, 0.75, 0],
      [-2, 3, Infinity],
    ]);
    expect((np.gradient(f64([1, 4, 9, 16, 25])) as NDArray).toList()).toEqual([3, 4, 6, 8, 9]);
    expect((np.gradient(f64([1, 4, 9, 16, 25]), { spacing: 2 }) as NDArray).toList()).toEqual([
      1.5, 2, 3, 4, 4.5,
    ]);
    const g = np.gradient(
      f64([
        [1, 2, 4],
        [2, 5, 9],
      ]),
    ) as NDArray[];
    expect(g.map((a) => a.toList())).toEqual([
      [
        [1, 3, 5],
        [1, 3, 5],
      ],
      [
        [1, 1.5, 2],
        [3, 3.5, 4],
      ],
    ]);
    expect(
      np
        .ediff1d(
          np.array([
            [1, 3],
            [6, 10],
          ]),
        )
        .toList(),
    ).toEqual([2, 3, 4]);
    checkGrads((v: NDArray) => np.gradient(v, { axis: 0 }) as NDArray, [f64([1, 4, 2, 8, 5])], {
      order: 2,
    });
  });

  it("say what is wrong", () => {
    expect(() => np.gradient(f64([1]))).toThrow(/at least 2 samples/);
    expect(() => np.gradient(f64([1, 2]), { spacing: 0 })).toThrow(/nonzero/);
    expect(() => np.matrixTranspose(np.ones([3]))).toThrow(ShapeError);
    expect(() => np.unstack(np.array(1))).toThrow(/scalar/);
  });
});

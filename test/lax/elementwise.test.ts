/**
 * `lax.logistic`: the sigmoid as one primitive. Values against float64 formulas (both tails,
 * subnormals, NaN and infinities), float32 against the vectorised kernel's bound, promotion of
 * integer input, compiled = eager, and errors.
 */
import { describe, expect, it } from "vitest";
import { jit, lax, np, ValueError, vmap, type NDArray } from "../../src/index.js";

const sigma = (x: number): number =>
  x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));

describe("lax.logistic", () => {
  it("matches 1 / (1 + e^(−x)) in float64 over both tails", () => {
    const xs = [-745, -700, -100, -36, -1, -0, 0, 1e-300, 0.5, 3, 36, 40, 700];
    const got = lax.logistic(np.array(xs, { dtype: "float64" })).toTypedArray();
    xs.forEach((x, i) => {
      const want = sigma(x);
      expect(Math.abs(got[i]! - want), `σ(${x})`).toBeLessThanOrEqual(2 ** -52 * want + 5e-324);
    });
  });

  it("float32: within 2 ulp of the exact value, 0 and 1 at the limits, NaN stays NaN", () => {
    const xs: number[] = [];
    for (let x = -110; x <= 30; x += 0.37) xs.push(x);
    const got = lax.logistic(np.array(xs)).toTypedArray();
    xs.forEach((x, i) => {
      const want = sigma(Math.fround(x));
      // An ulp of float32 at `want` (2^-149 in the subnormal range).
      const ulp = 2 ** Math.max(Math.floor(Math.log2(want)) - 23, -149);
      expect(Math.abs(got[i]! - want), `σ(${x})`).toBeLessThanOrEqual(2 * ulp);
    });
    const special = lax
      .logistic(np.array([-Infinity, Infinity, NaN, -1000, 1000]))
      .toList() as number[];
    expect(special.slice(0, 2)).toEqual([0, 1]);
    expect(Number.isNaN(special[2] as number)).toBe(true);
    expect(special.slice(3)).toEqual([0, 1]);
  });

  it("promotes integers and bools to float32, keeps float64, and broadcasts nothing away", () => {
    expect(lax.logistic(np.array([0, 2], { dtype: "int32" })).dtype).toBe("float32");
    expect(lax.logistic(np.array([true])).toList()).toEqual([Math.fround(sigma(1))]);
    expect(lax.logistic(np.zeros([2, 0, 3], { dtype: "float64" })).shape).toEqual([2, 0, 3]);
    expect(lax.logistic(3).dtype).toBe("float32");
  });

  it("compiles to the same bits as eager (large and small arrays) and batches", () => {
    const big = np.linspace(-12, 12, 5000);
    const small = np.linspace(-3, 3, 7);
    const f = (x: NDArray): NDArray => lax.logistic(x.mul(2)).mul(x);
    for (const x of [big, small]) expect(jit(f)(x).toList()).toEqual(f(x).toList());
    const rows = np.reshape(np.linspace(-4, 4, 12), [3, 4]);
    expect(vmap(lax.logistic)(rows).toList()).toEqual(lax.logistic(rows).toList());
    const lowered = jit(f).lower(big);
    expect(lowered.compile().costAnalysis().flops).toBeGreaterThan(0);
    expect(lowered.code).toContain("logistic");
  });

  it("rejects what is not an array with a ValueError naming the call and the argument", () => {
    for (const bad of ["x", { a: 1 }, undefined]) {
      expect(() => lax.logistic(bad as never)).toThrow(ValueError);
      expect(() => lax.logistic(bad as never)).toThrow(
        /lax\.logistic at .*elementwise\.test\.ts:\d+:\d+: argument 1 must be an array or a number/,
      );
    }
  });
});

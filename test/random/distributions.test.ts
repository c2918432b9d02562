/**
 * The distributions of src/random/distributions.ts: each sample set against its distribution
 * (a Kolmogorov–Smirnov test where the CDF is elementary, moments otherwise), the JAX method
 * checked through its uniforms where it is a closed form, dtypes and shapes, determinism, jit,
 * and errors.
 */
import { describe, expect, it } from "vitest";
import { jit, np, random, ShapeError, ValueError, type NDArray } from "../../src/index.js";

const n = 20000;
const key = random.key(42);
const values = (a: NDArray): number[] => Array.from(a.toTypedArray(), Number);

/** The Kolmogorov–Smirnov distance between the samples and `cdf`. */
function ksDistance(samples: number[], cdf: (x: number) => number): number {
  const s = [...samples].sort((a, b) => a - b);
  let d = 0;
  s.forEach((x, i) => {
    const f = cdf(x);
    d = Math.max(d, Math.abs(f - i / s.length), Math.abs(f - (i + 1) / s.length));
  });
  return d;
}

/** The 0.1% critical value of the KS distance for `count` samples. */
const critical = (count: number): number => 1.95 / Math.sqrt(count);

function moments(samples: number[]): { mean: number; variance: number } {
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  const variance = samples.reduce((a, b) => a + (b - mean) ** 2, 0) / samples.length;
  return { mean, variance };
}

describe("random distributions", () => {
  const cases: [string, () => NDArray, (x: number) => number][] = [
    ["exponential", () => random.exponential(key, [n]), (x) => 1 - Math.exp(-x)],
    [
      "laplace",
      () => random.laplace(key, [n]),
      (x) => (x < 0 ? Math.exp(x) / 2 : 1 - Math.exp(-x) / 2),
    ],
    ["logistic", () => random.logistic(key, [n]), (x) => 1 / (1 + Math.exp(-x))],
    ["cauchy", () => random.cauchy(key, [n]), (x) => 0.5 + Math.atan(x) / Math.PI],
    ["pareto", () => random.pareto(key, 3, [n]), (x) => 1 - x ** -3],
    [
      "weibullMin",
      () => random.weibullMin(key, 2, 1.5, [n]),
      (x) => 1 - Math.exp(-((x / 2) ** 1.5)),
    ],
    ["rayleigh", () => random.rayleigh(key, 0.5, [n]), (x) => 1 - Math.exp(-(x * x) / (2 * 0.25))],
  ];
  for (const [name, sample, cdf] of cases) {
    it(`${name}: follows its distribution (Kolmogorov–Smirnov), float32, same key same numbers`, () => {
      const a = sample();
      expect(a.dtype).toBe("float32");
      expect(a.shape).toEqual([n]);
      expect(ksDistance(values(a), cdf)).toBeLessThan(critical(n));
      expect(values(sample())).toEqual(values(a));
    });
  }

  it("exponential, logistic and cauchy are JAX's transforms of the same uniforms", () => {
    const u = values(random.uniform(key, [64]));
    const f32 = Math.fround;
    values(random.exponential(key, [64])).forEach((v, i) => {
      expect(v).toBeCloseTo(f32(-Math.log1p(-u[i]!)), 5);
    });
    const ue = values(random.uniform(key, [64], { minval: 2 ** -23, maxval: 1 }));
    values(random.logistic(key, [64])).forEach((v, i) => {
      expect(v).toBeCloseTo(Math.log(ue[i]! / (1 - ue[i]!)), 4);
    });
    values(random.cauchy(key, [64])).forEach((v, i) => {
      // In float32 as computed: tan(f32(f32(u − ½)·f32(π))).
      const want = f32(Math.tan(f32(f32(ue[i]! - 0.5) * f32(Math.PI))));
      expect(Math.abs(v - want)).toBeLessThanOrEqual(2e-7 * Math.abs(want));
    });
  });

  it("rademacher: −1 and 1 in equal measure, int32 unless told", () => {
    const r = random.rademacher(key, [n]);
    expect(r.dtype).toBe("int32");
    const v = values(r);
    expect(v.every((x) => x === 1 || x === -1)).toBe(true);
    expect(Math.abs(moments(v).mean)).toBeLessThan(4 / Math.sqrt(n));
    expect(random.rademacher(key, [3], { dtype: "float32" }).dtype).toBe("float32");
  });

  it("lognormal and maxwell: their means and variances", () => {
    const ln = moments(values(random.lognormal(key, 0.5, [n])));
    const e = Math.exp(0.25);
    expect(ln.mean).toBeCloseTo(Math.exp(0.125), 1);
    expect(ln.variance).toBeCloseTo((e - 1) * e, 1);
    const mx = moments(values(random.maxwell(key, [n])));
    expect(mx.mean).toBeCloseTo(2 * Math.sqrt(2 / Math.PI), 1);
    expect(mx.variance).toBeCloseTo(3 - 8 / Math.PI, 1);
  });

  it("multivariateNormal: the mean and covariance it was given, batched, float64 on request", () => {
    const mean = np.array([1, -1]);
    const cov = np.array([
      [2, 0.5],
      [0.5, 1],
    ]);
    const x = random.multivariateNormal(key, mean, cov, [n]);
    expect(x.shape).toEqual([n, 2]);
    const c = np.cov(x, { rowvar: false }).toList() as number[][];
    expect(c[0]![0]).toBeCloseTo(2, 1);
    expect(c[0]![1]).toBeCloseTo(0.5, 1);
    expect(c[1]![1]).toBeCloseTo(1, 1);
    const m = values(x.mean({ axis: 0 }));
    expect(m[0]).toBeCloseTo(1, 1);
    expect(m[1]).toBeCloseTo(-1, 1);
    const batched = random.multivariateNormal(key, np.zeros([3, 2]), cov, undefined, {
      dtype: "float64",
    });
    expect(batched.shape).toEqual([3, 2]);
    expect(batched.dtype).toBe("float64");
  });

  it("compile to the same numbers as eager", () => {
    const f = (k: NDArray): NDArray =>
      random
        .exponential(k, [8])
        .add(random.laplace(k, [8]))
        .add(random.cauchy(k, [8]));
    expect(jit(f)(key).toList()).toEqual(f(key).toList());
  });

  it("say what is wrong with bad arguments", () => {
    expect(() => random.exponential(key, [-1])).toThrow(ValueError);
    expect(() => random.laplace(key, [2], { dtype: "int32" })).toThrow(
      /dtype must be float32 or float64/,
    );
    expect(() => random.pareto(key, 0, [2])).toThrow(/b must be positive/);
    expect(() => random.multivariateNormal(key, np.zeros([3]), np.eye(2))).toThrow(ShapeError);
  });
});

/**
 * `nn` activations and losses: values against float64 formulas (extremes included), derivatives
 * against finite differences, and the same results under jit.
 */
import { describe, expect, it } from "vitest";
import {
  checkGrads,
  grad,
  jit,
  nn,
  np,
  ShapeError,
  ValueError,
  type NDArray,
} from "../../src/index.js";
import { expectClose } from "../helpers/assertions.js";

const f64 = (values: number[] | number[][]): NDArray => np.array(values, { dtype: "float64" });
const xs = [-30, -3, -0.5, 0, 0.25, 2, 30];

const reference: Record<string, (x: number) => number> = {
  relu: (x) => Math.max(x, 0),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  softplus: (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))),
  logSigmoid: (x) => -(Math.max(-x, 0) + Math.log1p(Math.exp(-Math.abs(x)))),
  silu: (x) => x / (1 + Math.exp(-x)),
  gelu: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
  relu6: (x) => Math.min(Math.max(x, 0), 6),
  leakyRelu: (x) => (x >= 0 ? x : 0.01 * x),
  elu: (x) => (x > 0 ? x : Math.expm1(x)),
  celu: (x) => (x > 0 ? x : Math.expm1(x)),
  selu: (x) => 1.0507009873554805 * (x > 0 ? x : 1.6732632423543772 * Math.expm1(x)),
  hardSigmoid: (x) => Math.min(Math.max(x + 3, 0), 6) / 6,
  hardSilu: (x) => (x * Math.min(Math.max(x + 3, 0), 6)) / 6,
  hardTanh: (x) => Math.min(Math.max(x, -1), 1),
  softSign: (x) => x / (1 + Math.abs(x)),
  mish: (x) => x * Math.tanh(Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)))),
  squareplus: (x) => (x + Math.sqrt(x * x + 4)) / 2,
};

describe("activations", () => {
  for (const [name, f] of Object.entries(reference)) {
    it(`${name}: values in float64 and float32, derivatives, jit`, () => {
      const fn = (nn as unknown as Record<string, (x: NDArray) => NDArray>)[name]!;
      expectClose(fn(f64(xs)), f64(xs.map(f)), { rtol: 1e-14, atol: 1e-300 });
      expectClose(fn(np.array(xs)), np.array(xs.map(f)), { rtol: 2e-6, atol: 1e-6 });
      checkGrads((x: NDArray) => fn(x), [f64([-2.5, -0.7, 0.3, 1.9])], { order: 2 });
      expect(jit(fn)(np.array(xs)).toList()).toEqual(fn(np.array(xs)).toList());
    });
  }

  it("stay finite at the extremes and keep NaN", () => {
    expect(nn.sigmoid(np.array([-1000, 1000])).toList()).toEqual([0, 1]);
    expect(nn.softplus(np.array([1000])).toList()).toEqual([1000]);
    expect(nn.logSigmoid(np.array([-1000])).toList()).toEqual([-1000]);
    expect(Number.isNaN(nn.relu(np.array([NaN])).item())).toBe(true);
    // relu's derivative at 0 is 0 (JAX's choice), not the ½ of a max tie.
    expect(grad((x: NDArray) => nn.relu(x).sum())(np.array([-1, 0, 1])).toList()).toEqual([
      0, 0, 1,
    ]);
  });

  it("sigmoid and silu have finite, accurate gradients in both tails (float32 and float64)", () => {
    const at = [-100, -90, -50, -20, 0, 20, 50, 100];
    // σ'(x) = e^(−|x|) / (1 + e^(−|x|))², in float64.
    const exact = at.map((x) => {
      const e = Math.exp(-Math.abs(x));
      return e / (1 + e) ** 2;
    });
    const sigmoidGrad = grad((x: NDArray) => nn.sigmoid(x).sum());
    for (const dtype of ["float32", "float64"] as const) {
      const x = np.array(at, { dtype });
      for (const g of [sigmoidGrad(x), jit(sigmoidGrad)(x)]) {
        const got = Array.from(g.toTypedArray(), Number);
        got.forEach((v, i) => {
          // Relative error of float32 (and its subnormal tail: σ'(−100) ≈ 3.7e-44).
          const tol = dtype === "float32" ? 1e-6 * exact[i]! + 2e-45 : 1e-14 * exact[i]!;
          expect(Math.abs(v - exact[i]!), `σ'(${at[i]}) ${dtype}`).toBeLessThanOrEqual(tol);
        });
      }
      const siluGrad = grad((v: NDArray) => nn.silu(v).sum())(x);
      expect(Array.from(siluGrad.toTypedArray(), Number).every(Number.isFinite)).toBe(true);
    }
    // Second derivative through the primitive: σ'' = σ'·(1 − 2σ), at 0 it is 0; at 2, in float64.
    const second = grad((x: NDArray) => sigmoidGrad(x).sum());
    const s = 1 / (1 + Math.exp(-2));
    expectClose(second(f64([0, 2])), f64([0, s * (1 - s) * (1 - 2 * s)]), {
      rtol: 1e-13,
      atol: 1e-16,
    });
  });

  it("the exponential branches never overflow into a gradient: elu, celu, selu at ±1000", () => {
    const x = np.array([-1000, -1, 1000]);
    for (const f of [nn.elu, nn.celu, nn.selu]) {
      const g = grad((v: NDArray) => f(v).sum())(x).toTypedArray();
      expect(Array.from(g).every(Number.isFinite)).toBe(true);
      expect(g[2]).toBeGreaterThan(0);
    }
    expect(nn.elu(np.array([-2]), { alpha: 0.5 }).item()).toBeCloseTo(0.5 * Math.expm1(-2), 6);
    expect(nn.celu(np.array([-2]), { alpha: 2 }).item()).toBeCloseTo(2 * Math.expm1(-1), 6);
    expect(nn.leakyRelu(np.array([-2]), { negativeSlope: 0.2 }).item()).toBeCloseTo(-0.4, 6);
    expect(nn.squareplus(np.array([0]), { b: 9 }).item()).toBe(1.5);
    expect(() => nn.celu(np.array([1]), { alpha: 0 })).toThrow(/alpha must be a positive number/);
    expect(nn.hardSwish).toBe(nn.hardSilu);
    expect(nn.swish).toBe(nn.silu);
  });

  it("glu halves an axis: value·σ(gate), and needs an even size", () => {
    const x = f64([
      [1, -2, 0.5, 3],
      [0, 4, -1, -3],
    ]);
    const s = (v: number): number => 1 / (1 + Math.exp(-v));
    expectClose(
      nn.glu(x),
      f64([
        [1 * s(0.5), -2 * s(3)],
        [0 * s(-1), 4 * s(-3)],
      ]),
      { rtol: 1e-14 },
    );
    expectClose(nn.glu(x, { axis: 0 }), f64([[1 * s(0), -2 * s(4), 0.5 * s(-1), 3 * s(-3)]]), {
      rtol: 1e-14,
    });
    checkGrads((v: NDArray) => nn.glu(v), [x], { order: 2 });
    expect(() => nn.glu(f64([1, 2, 3]))).toThrow(/even size/);
  });

  it("standardize: zero mean and unit variance over the axis", () => {
    const x = f64([
      [1, 2, 3, 4],
      [10, 10, 10, 14],
    ]);
    const z = nn.standardize(x, { epsilon: 0 });
    expectClose(z.mean({ axis: -1 }), f64([0, 0]), { atol: 1e-15 });
    expectClose(z.mul(z).mean({ axis: -1 }), f64([1, 1]), { rtol: 1e-14 });
    const columns = nn.standardize(x, { axis: 0, epsilon: 0 });
    expectClose(columns.get(0, 0), np.array(-1, { dtype: "float64" }), { rtol: 1e-14 });
    checkGrads((v: NDArray) => nn.standardize(v), [x], { order: 2 });
    expect(() => nn.standardize(x, { epsilon: -1 })).toThrow(/epsilon must be ≥ 0/);
  });

  it("softmax and logSoftmax along an axis, stable for large inputs", () => {
    const x = f64([
      [1, 2, 3],
      [1000, 1000, 1000],
    ]);
    const e = [Math.exp(1), Math.exp(2), Math.exp(3)];
    const total = e[0]! + e[1]! + e[2]!;
    expectClose(nn.softmax(x), f64([e.map((v) => v / total), [1 / 3, 1 / 3, 1 / 3]]), {
      rtol: 1e-14,
    });
    expectClose(nn.logSoftmax(x), np.log(nn.softmax(x)), { rtol: 1e-13 });
    expectClose(nn.softmax(x, { axis: 0 }).sum({ axis: 0 }), f64([1, 1, 1]), { rtol: 1e-14 });
    checkGrads(
      (v: NDArray) =>
        nn.logSoftmax(v).mul(
          f64([
            [1, 2, 3],
            [0.5, -1, 2],
          ]),
        ),
      [
        f64([
          [0.1, -0.4, 2],
          [1, 1, 0],
        ]),
      ],
      { order: 2 },
    );
  });

  it("oneHot", () => {
    expect(nn.oneHot(np.array([0, 2, 5, -1], { dtype: "int32" }), 3).toList()).toEqual([
      [1, 0, 0],
      [0, 0, 1],
      [0, 0, 0],
      [0, 0, 0],
    ]);
    expect(nn.oneHot(np.array([1], { dtype: "int32" }), 2, { dtype: "int32" }).dtype).toBe("int32");
    expect(() => nn.oneHot(np.array([1]), -1)).toThrow(ValueError);
  });
});

describe("losses", () => {
  it("softmaxCrossEntropy per example, and its gradient softmax − labels", () => {
    const logits = f64([
      [2, 0, -1],
      [0.5, 0.5, 3],
    ]);
    const labels = nn.oneHot(np.array([0, 2], { dtype: "int32" }), 3, { dtype: "float64" });
    const loss = nn.softmaxCrossEntropy(logits, labels);
    const row = (l: number[], k: number): number =>
      Math.log(l.reduce((s, v) => s + Math.exp(v), 0)) - l[k]!;
    expectClose(loss, f64([row([2, 0, -1], 0), row([0.5, 0.5, 3], 2)]), { rtol: 1e-14 });
    const g = grad((l: NDArray) => nn.softmaxCrossEntropy(l, labels).sum())(logits);
    expectClose(g, nn.softmax(logits).sub(labels), { rtol: 1e-12, atol: 1e-15 });
  });

  it("sigmoidBinaryCrossEntropy, meanSquaredError, huber", () => {
    const bce = nn.sigmoidBinaryCrossEntropy(f64([100, -100, 0, 2]), f64([1, 0, 1, 0]));
    expectClose(
      bce,
      f64([
        Math.log1p(Math.exp(-100)),
        Math.log1p(Math.exp(-100)),
        Math.LN2,
        2 + Math.log1p(Math.exp(-2)),
      ]),
      { rtol: 1e-14, atol: 1e-300 },
    );
    expect(nn.meanSquaredError(np.array([1, 2]), np.array([0, 0])).item()).toBe(2.5);
    expect(nn.huber(np.array([0, 0.5, 3]), np.zeros([3])).toList()).toEqual([0, 0.125, 2.5]);
    expect(nn.huber(np.array([3]), np.zeros([1]), { delta: 2 }).toList()).toEqual([4]);
    checkGrads(
      (p: NDArray) => nn.huber(p, f64([0, 0, 0]), { delta: 1.5 }),
      [f64([0.3, -0.9, 2.7])],
      { order: 1 },
    );
  });

  it("rejects mismatched shapes and bad options", () => {
    expect(() => nn.softmaxCrossEntropy(np.ones([2, 3]), np.ones([2, 4]))).toThrow(ShapeError);
    expect(() => nn.meanSquaredError(np.ones([2]), np.ones([3]))).toThrow(/same shape/);
    expect(() => nn.huber(np.ones([1]), np.ones([1]), { delta: 0 })).toThrow(
      /delta must be positive/,
    );
  });
});

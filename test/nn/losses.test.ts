/**
 * The Optax-style losses of src/nn/losses.ts: values against float64 formulas, derivatives
 * against central differences, edge cases (zero probabilities, zero vectors, large differences),
 * compiled against eager, and errors.
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
const logits = [
  [2, -1, 0.5],
  [0.1, 0.2, -3],
];

describe("losses", () => {
  it("softmaxCrossEntropyWithIntegerLabels equals the one-hot cross-entropy", () => {
    const l = f64(logits);
    const labels = np.array([0, 2], { dtype: "int32" });
    const want = logits.map((row, i) => {
      const lse = Math.log(row.reduce((s, v) => s + Math.exp(v), 0));
      return lse - row[[0, 2][i]!]!;
    });
    expectClose(nn.softmaxCrossEntropyWithIntegerLabels(l, labels), f64(want), { rtol: 1e-14 });
    expectClose(
      nn.softmaxCrossEntropyWithIntegerLabels(l, labels),
      nn.softmaxCrossEntropy(l, nn.oneHot(labels, 3, { dtype: "float64" })),
      { rtol: 1e-15 },
    );
    checkGrads((v: NDArray) => nn.softmaxCrossEntropyWithIntegerLabels(v, labels), [l], {
      order: 2,
    });
    const f = (v: NDArray): NDArray => nn.softmaxCrossEntropyWithIntegerLabels(v, labels);
    expect(jit(f)(np.array(logits)).toList()).toEqual(f(np.array(logits)).toList());
    expect(() =>
      nn.softmaxCrossEntropyWithIntegerLabels(l, np.array([0, 1, 2], { dtype: "int32" })),
    ).toThrow(ShapeError);
    expect(() => nn.softmaxCrossEntropyWithIntegerLabels(l, np.array([0, 1]))).toThrow(
      /labels must be integers \(int32\), got float32/,
    );
  });

  it("klDivergence: Σ t·(log t − log p), 0·log 0 = 0, and its gradient stays finite at t = 0", () => {
    const t = f64([
      [0.2, 0.8, 0],
      [0.5, 0.25, 0.25],
    ]);
    const p = f64([
      [0.3, 0.6, 0.1],
      [0.4, 0.4, 0.2],
    ]);
    const tv = t.toList() as number[][];
    const pv = p.toList() as number[][];
    const want = tv.map((row, i) =>
      row.reduce((s, v, j) => s + (v === 0 ? 0 : v * (Math.log(v) - Math.log(pv[i]![j]!))), 0),
    );
    expectClose(nn.klDivergence(np.log(p), t), f64(want), { rtol: 1e-14 });
    checkGrads((lp: NDArray) => nn.klDivergence(lp, t), [np.log(p)], { order: 2 });
    const g = grad((tt: NDArray) => nn.klDivergence(np.log(p), tt).sum())(t).toTypedArray();
    expect(Array.from(g).every(Number.isFinite)).toBe(true);
  });

  it("cosineSimilarity and cosineDistance, a zero vector giving 0 (not NaN)", () => {
    const a = f64([
      [1, 2, 2],
      [0, 0, 0],
    ]);
    const b = f64([
      [2, 0, 1],
      [1, 1, 1],
    ]);
    expectClose(nn.cosineSimilarity(a, b), f64([4 / (3 * Math.sqrt(5)), 0]), { rtol: 1e-14 });
    expectClose(nn.cosineDistance(a, b), f64([1 - 4 / (3 * Math.sqrt(5)), 1]), { rtol: 1e-14 });
    const g = grad((v: NDArray) => nn.cosineSimilarity(v, b).sum())(a).toTypedArray();
    expect(Array.from(g).every(Number.isFinite)).toBe(true);
    checkGrads((u: NDArray, v: NDArray) => nn.cosineSimilarity(u, v), [a.get(0), b.get(0)], {
      order: 2,
    });
    expect(() => nn.cosineSimilarity(a, b, { epsilon: -1 })).toThrow(ValueError);
  });

  it("l2Loss, logCosh (no overflow at large differences) and hingeLoss, elementwise", () => {
    const p = f64([0.5, -2, 1000]);
    const t = f64([1, 1, 0]);
    expectClose(nn.l2Loss(p, t), f64([0.125, 4.5, 500000]), { rtol: 1e-15 });
    expectClose(nn.l2Loss(f64([3])), f64([4.5]), { rtol: 1e-15 });
    const lc = (d: number): number =>
      Math.abs(d) + Math.log1p(Math.exp(-2 * Math.abs(d))) - Math.LN2;
    expectClose(nn.logCosh(p, t), f64([lc(-0.5), lc(-3), lc(1000)]), { rtol: 1e-14 });
    expectClose(nn.logCosh(f64([0.3])), f64([Math.log(Math.cosh(0.3))]), { rtol: 1e-13 });
    checkGrads((v: NDArray) => nn.logCosh(v, t), [f64([0.5, -2, 3])], { order: 2 });
    expectClose(nn.hingeLoss(f64([0.5, -2, 3]), f64([1, -1, -1])), f64([0.5, 0, 4]), {
      rtol: 1e-15,
    });
    expect(() => nn.hingeLoss(f64([1, 2]), f64([1]))).toThrow(
      /scores and labels need the same shape/,
    );
    expect(() => nn.l2Loss(f64([1, 2]), f64([1]))).toThrow(ShapeError);
  });
});

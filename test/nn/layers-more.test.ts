/**
 * The layers added beside the 1-d/2-d ones: Conv3d and ConvTranspose3d, 3-d pooling, adaptive
 * pooling (PyTorch's windows, checked against a loop over their definition), Identity, Flatten
 * and PReLU; derivatives, jit, and errors.
 */
import { describe, expect, it } from "vitest";
import {
  checkGrads,
  grad,
  jit,
  nn,
  np,
  random,
  ValueError,
  type NDArray,
} from "../../src/index.js";
import { expectClose } from "../helpers/assertions.js";

/** Adaptive pooling over the last two axes of a [C, H, W] array, by PyTorch's definition. */
function adaptiveReference(x: number[][][], out: [number, number], max: boolean): number[][][] {
  const windows = (length: number, size: number): [number, number][] =>
    Array.from({ length: size }, (_, i) => [
      Math.floor((i * length) / size),
      Math.ceil(((i + 1) * length) / size),
    ]);
  return x.map((plane) => {
    const rows = windows(plane.length, out[0]);
    const cols = windows(plane[0]!.length, out[1]);
    return rows.map(([r0, r1]) =>
      cols.map(([c0, c1]) => {
        const values: number[] = [];
        for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) values.push(plane[r]![c]!);
        return max ? Math.max(...values) : values.reduce((a, b) => a + b, 0) / values.length;
      }),
    );
  });
}

describe("more layers", () => {
  const x = random.normal(random.key(3), [2, 7, 10], { dtype: "float64" });
  const xs = x.toList() as number[][][];

  it("adaptive average and max pooling follow PyTorch's windows (overlapping and not)", () => {
    for (const size of [
      [1, 1],
      [2, 3],
      [3, 4],
      [7, 10],
      [5, 6],
    ] as [number, number][]) {
      expectClose(
        nn.adaptiveAvgPool(x, size),
        np.array(adaptiveReference(xs, size, false), { dtype: "float64" }),
        {
          rtol: 1e-14,
          atol: 1e-15,
        },
      );
      expect(nn.adaptiveMaxPool(x, size).toList()).toEqual(adaptiveReference(xs, size, true));
    }
    expect(new nn.AdaptiveAvgPool2d(1).forward(np.ones([4, 8, 7, 5])).shape).toEqual([4, 8, 1, 1]);
    expect(new nn.AdaptiveMaxPool1d(3).forward(np.ones([2, 10])).shape).toEqual([2, 3]);
    expect(new nn.AdaptiveAvgPool3d([1, 2, 2]).forward(np.ones([2, 3, 4, 5])).shape).toEqual([
      2, 1, 2, 2,
    ]);
    checkGrads((v: NDArray) => nn.adaptiveAvgPool(v, [3, 4]), [x], { order: 2 });
    checkGrads((v: NDArray) => nn.adaptiveMaxPool(v, [3, 4]), [x], { order: 1 });
    const f = (v: NDArray): NDArray =>
      nn.adaptiveAvgPool(v, [2, 3]).add(nn.adaptiveMaxPool(v, [2, 3]));
    const x32 = x.astype("float32");
    expect(jit(f)(x32).toList()).toEqual(f(x32).toList());
    expect(() => nn.adaptiveAvgPool(np.ones([4]), [2, 2])).toThrow(/spatial axes/);
    expect(() => nn.adaptiveMaxPool(x, [0, 2])).toThrow(ValueError);
    expect(() => new nn.AdaptiveAvgPool2d([1, 2, 3])).toThrow(/outputSize needs 2 entries/);
  });

  it("Conv3d is the 3-d cross-correlation plus bias (a loop over its definition); ConvTranspose3d upsamples", () => {
    const conv = new nn.Conv3d(2, 3, 2, { key: random.key(0), padding: 1, dtype: "float64" });
    const input = random.normal(random.key(1), [2, 3, 2, 4], { dtype: "float64" });
    const y = conv.forward(input);
    expect(y.shape).toEqual([3, 4, 3, 5]);
    const w = conv.weight.toList() as number[][][][][];
    const b = conv.bias!.toList() as number[];
    const xv = input.toList() as number[][][][];
    const at = (i: number, d: number, h: number, k: number): number =>
      d < 0 || h < 0 || k < 0 || d >= 3 || h >= 2 || k >= 4 ? 0 : xv[i]![d]![h]![k]!;
    const want = [0, 1, 2].map((o) =>
      [0, 1, 2, 3].map((d) =>
        [0, 1, 2].map((h) =>
          [0, 1, 2, 3, 4].map((k) => {
            let sum = b[o]!;
            for (let i = 0; i < 2; i++)
              for (let a = 0; a < 2; a++)
                for (let c = 0; c < 2; c++)
                  for (let e = 0; e < 2; e++)
                    sum += w[o]![i]![a]![c]![e]! * at(i, d + a - 1, h + c - 1, k + e - 1);
            return sum;
          }),
        ),
      ),
    );
    expectClose(y, np.array(want, { dtype: "float64" }), { rtol: 1e-12, atol: 1e-14 });
    expectClose(conv.forward(np.expandDims(input, 0)), np.expandDims(y, 0), { rtol: 1e-14 });
    const up = new nn.ConvTranspose3d(3, 2, 2, { key: random.key(2), stride: 2, dtype: "float64" });
    expect(up.forward(y).shape).toEqual([2, 8, 6, 10]);
  });

  it("3-d pooling over [C, D, H, W]", () => {
    const v = np.arange(2 * 4 * 4 * 4, { dtype: "float32" }).reshape([2, 4, 4, 4]);
    const m = new nn.MaxPool3d(2).forward(v);
    expect(m.shape).toEqual([2, 2, 2, 2]);
    // The maximum of each 2×2×2 block is its last element: base + 16 + 4 + 1.
    expect(m.get(0, 0, 0, 0).item()).toBe(21);
    const a = new nn.AvgPool3d(2).forward(v);
    expect(a.get(1, 1, 1, 1).item()).toBe(64 + 32 + 8 + 2 + (16 + 4 + 1) / 2);
  });

  it("Identity, Flatten and PReLU", () => {
    const v = np.ones([4, 8, 7, 7]);
    expect(new nn.Identity().forward(v)).toBe(v);
    expect(new nn.Flatten().forward(v).shape).toEqual([4, 392]);
    expect(new nn.Flatten({ startDim: 0, endDim: 1 }).forward(v).shape).toEqual([32, 7, 7]);
    expect(new nn.Flatten({ startDim: -2 }).forward(v).shape).toEqual([4, 8, 49]);
    expect(() => new nn.Flatten({ startDim: 3, endDim: 1 }).forward(v)).toThrow(nn.ModuleError);
    const prelu = new nn.PReLU();
    expect(prelu.forward(np.array([-2, 3])).toList()).toEqual([-0.5, 3]);
    const channels = new nn.PReLU({ numParameters: 3, init: 0.1, dtype: "float64" });
    const input = np.array(
      [
        [
          [-1, 2],
          [-2, 1],
          [-3, -4],
        ],
      ],
      { dtype: "float64" },
    );
    expectClose(
      channels.forward(input),
      np.array(
        [
          [
            [-0.1, 2],
            [-0.2, 1],
            [-0.3, -0.4],
          ],
        ],
        { dtype: "float64" },
      ),
      { rtol: 1e-15 },
    );
    // d/da of Σ PReLU(x) is Σ min(x, 0) per channel.
    const g = grad((m: nn.PReLU) => m.forward(input).sum())(channels);
    expect((g as unknown as nn.PReLU).weight.toList()).toEqual([-1, -2, -7]);
    const unbatched = new nn.PReLU({ numParameters: 3, channelAxis: 0 });
    expect(unbatched.forward(np.ones([3, 5]).neg()).shape).toEqual([3, 5]);
    expect(() => channels.forward(np.ones([1, 4, 2]))).toThrow(/3 slopes/);
  });
});

/**
 * Pooling against PyTorch (test/fixtures/pool.json, made by test/fixtures/make_pool_fixtures.py):
 * float64 values and input gradients of `F.max_poolNd` / `F.avg_poolNd` for windows, strides,
 * padding and both ways of counting padding; then the layers, `jit` and `vmap`, and bad input.
 */
import { describe, expect, it } from "vitest";
import { grad, jit, nn, np, ShapeError, ValueError, vmap, type NDArray } from "../../src/index.js";
import { expectClose, expectTypedError } from "../helpers/assertions.js";
import { decode as decodeValue, loadFixture, type FixtureArray } from "../helpers/fixtures.js";

interface PoolCase {
  name: string;
  kind: "max" | "avg";
  window: number[];
  options: nn.PoolOptions;
  x: FixtureArray;
  ct: FixtureArray;
  out: FixtureArray;
  dx: FixtureArray;
}

const decode = (a: FixtureArray): NDArray => decodeValue(a) as NDArray;
const fixture = loadFixture<{ pool: PoolCase[] }>("pool.json");
const file = "pooling.test.ts";

describe("pooling = PyTorch", () => {
  for (const c of fixture.pool) {
    it(c.name, () => {
      const pool = c.kind === "max" ? nn.maxPool : nn.avgPool;
      const x = decode(c.x);
      const ct = decode(c.ct);
      const f = (input: NDArray): NDArray => pool(input, c.window, c.options);
      expectClose(f(x), decode(c.out), { rtol: 1e-12, atol: 1e-12 });
      const dx = grad((input: NDArray) => f(input).mul(ct).sum())(x);
      expectClose(dx, decode(c.dx), { rtol: 1e-12, atol: 1e-12 });
      // Compiled and float32 agree.
      expectClose(jit(f)(x), f(x), { rtol: 1e-12, atol: 1e-12 });
      expectClose(f(x.astype("float32")).astype("float64"), f(x), { rtol: 1e-6, atol: 1e-6 });
    });
  }
});

describe("pooling layers", () => {
  it("MaxPool2d and AvgPool2d: the stride defaults to the window; single examples and batches", () => {
    const x = np.arange(2 * 3 * 6 * 6, { dtype: "float32" }).reshape([2, 3, 6, 6]);
    const max = new nn.MaxPool2d(2);
    expect(max.stride).toEqual([2, 2]);
    expect(max.forward(x).shape).toEqual([2, 3, 3, 3]);
    expectClose(max.forward(x.get(1)), max.forward(x).get(1));
    expect(max.forward(x).get("0, 0").toList()).toEqual([
      [7, 9, 11],
      [19, 21, 23],
      [31, 33, 35],
    ]);
    const avg = new nn.AvgPool2d([2, 3], { stride: [2, 3] });
    expect(avg.forward(x).get("0, 0").toList()).toEqual([
      [4, 7],
      [16, 19],
      [28, 31],
    ]);
    expect(new nn.AvgPool1d(3, { stride: 1 }).forward(np.ones([4, 9])).shape).toEqual([4, 7]);
    expect(new nn.MaxPool1d(2).forward(np.ones([2, 4, 9])).shape).toEqual([2, 4, 4]);
    // No parameters: a pooling layer is a static part of a model.
    expect(nn.parameterCount(max)).toBe(0);
  });

  it("vmap over examples equals the batched call", () => {
    const xs = np.sin(np.arange(4 * 2 * 5 * 5, { dtype: "float32" }).reshape([4, 2, 5, 5]));
    const f = (e: NDArray): NDArray => nn.maxPool(e, [3, 3], { stride: 2, padding: 1 });
    expectClose(vmap(f)(xs), f(xs));
  });

  it("integer inputs pool with the dtype's lowest value as padding", () => {
    const x = np.array([[-5, -3, -4]], { dtype: "int32" });
    expect(nn.maxPool(x, [2], { stride: 2, padding: 1 }).toList()).toEqual([[-5, -3]]);
  });

  it("bad windows, strides and padding are typed errors naming the problem", () => {
    const x = np.ones([1, 4, 4]);
    expectTypedError(() => nn.maxPool(x, [5, 5]), ShapeError, file, "does not fit", "size 4");
    expectTypedError(
      () => nn.maxPool(x, [2, 2], { padding: 2 }),
      ValueError,
      file,
      "more than half the window",
    );
    expectTypedError(() => nn.avgPool(x, [2, 0]), ValueError, file, "the window size needs 2");
    expectTypedError(() => nn.maxPool(x, [2, 2], { stride: [1] }), ValueError, file, "stride");
    expectTypedError(() => nn.maxPool(np.ones([4]), [2, 2]), ShapeError, file, "2 trailing axes");
    expectTypedError(() => new nn.MaxPool2d(0), ValueError, file, "kernelSize");
  });
});

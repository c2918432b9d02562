/**
 * LayerNorm, RMSNorm and GroupNorm: forward values and gradients equal PyTorch's (float64), the
 * parameters start as the identity, leading axes are examples (vmap gives the same), and bad
 * shapes and options are typed errors.
 */
import { describe, expect, it } from "vitest";
import {
  jit,
  nn,
  np,
  random,
  vmap,
  ShapeError,
  ValueError,
  type NDArray,
} from "../../src/index.js";
import { expectClose, expectTypedError } from "../helpers/assertions.js";
import { checkAgainstTorch, fixture, float64Options } from "./layer-fixtures.js";

const file = "normalization.test.ts";
const key = random.key(0);

describe("LayerNorm", () => {
  for (const c of fixture.layerNorm) {
    it(`matches torch: ${c.name}`, () => {
      const { shape, ...options } = float64Options(c, key);
      const layer = new nn.LayerNorm(shape as number[], options);
      checkAgainstTorch(c, layer, (m, i) => [m.forward(i.x!)]);
    });
  }

  it("starts as the identity affine map; normalises each example over the trailing axes", () => {
    const norm = new nn.LayerNorm([2, 3]);
    expect(norm.weight!.toList()).toEqual([
      [1, 1, 1],
      [1, 1, 1],
    ]);
    expect(norm.bias!.toList()).toEqual([
      [0, 0, 0],
      [0, 0, 0],
    ]);
    expect(norm.weight!.dtype).toBe("float32");
    const x = random.normal(random.key(1), [4, 2, 3], { dtype: "float64" });
    const y = new nn.LayerNorm([2, 3], { dtype: "float64" }).forward(x);
    expectClose(y.mean({ axis: [1, 2] }), np.zeros([4]), { atol: 1e-12 });
    expectClose(np.var(y, { axis: [1, 2] }), np.full([4], 1), { rtol: 1e-4 });
    expect(new nn.LayerNorm(3, { useWeight: false }).weight).toBeNull();
    expect(new nn.LayerNorm(3, { useBias: false }).bias).toBeNull();
  });

  it("vmap over examples and jit give the batched result", () => {
    const norm = new nn.LayerNorm(5, { eps: 1e-3 });
    const x = random.normal(random.key(2), [3, 4, 5]);
    const y = norm.forward(x);
    expectClose(vmap((row: NDArray) => norm.forward(row))(x), y, { rtol: 1e-5, atol: 1e-6 });
    expectClose(jit((m: nn.LayerNorm, v: NDArray) => m.forward(v))(norm, x), y, {
      rtol: 1e-5,
      atol: 1e-6,
    });
  });

  it("rejects inputs whose trailing axes are not the shape, and bad options", () => {
    const norm = new nn.LayerNorm([3, 4]);
    expectTypedError(
      () => norm.forward(np.ones([4, 3])),
      ShapeError,
      file,
      "nn.LayerNorm.forward",
      "[3, 4]",
      "[4, 3]",
    );
    expectTypedError(() => norm.forward(np.ones([4])), ShapeError, file, "trailing axes");
    expectTypedError(() => new nn.LayerNorm([3, 0]), ValueError, file, "nn.LayerNorm", "shape");
    expectTypedError(() => new nn.LayerNorm([]), ValueError, file, "non-empty");
    expectTypedError(() => new nn.LayerNorm(3, { eps: -1 }), ValueError, file, "eps");
  });
});

describe("RMSNorm", () => {
  for (const c of fixture.rmsNorm) {
    it(`matches torch: ${c.name}`, () => {
      const { shape, ...options } = float64Options(c, key);
      const layer = new nn.RMSNorm(shape as number[], options);
      checkAgainstTorch(c, layer, (m, i) => [m.forward(i.x!)]);
    });
  }

  it("has a weight (ones) and no bias by default; vmap and jit agree", () => {
    const norm = new nn.RMSNorm(4);
    expect(norm.weight!.toList()).toEqual([1, 1, 1, 1]);
    expect(norm.bias).toBeNull();
    expect(new nn.RMSNorm(4, { useBias: true }).bias!.toList()).toEqual([0, 0, 0, 0]);
    const x = random.normal(random.key(3), [6, 4]);
    const y = norm.forward(x);
    // Each row has unit root mean square (up to eps).
    expectClose(y.mul(y).mean({ axis: -1 }), np.ones([6]), { rtol: 1e-3 });
    expectClose(vmap((row: NDArray) => norm.forward(row))(x), y, { rtol: 1e-5, atol: 1e-6 });
    expectClose(jit((v: NDArray) => norm.forward(v))(x), y, { rtol: 1e-5, atol: 1e-6 });
  });

  it("rejects a wrong input shape", () => {
    expectTypedError(
      () => new nn.RMSNorm(4).forward(np.ones([2, 3])),
      ShapeError,
      file,
      "nn.RMSNorm.forward",
      "[4]",
    );
    expectTypedError(() => new nn.RMSNorm(2.5), ValueError, file, "nn.RMSNorm");
  });
});

describe("GroupNorm", () => {
  for (const c of fixture.groupNorm) {
    it(`matches torch: ${c.name}`, () => {
      const { groups, channels, ...options } = float64Options(c, key);
      const layer = new nn.GroupNorm(groups as number, channels as number, options);
      checkAgainstTorch(c, layer, (m, i) => [m.forward(i.x!)]);
    });
  }

  it("takes one example [C, ...] or a batch [N, C, ...]; the batch is per example", () => {
    const norm = new nn.GroupNorm(2, 6);
    expect(norm.weight!.shape).toEqual([6]);
    const x = random.normal(random.key(4), [3, 6, 5]);
    const y = norm.forward(x);
    expect(y.shape).toEqual([3, 6, 5]);
    expectClose(norm.forward(x.get(1)), y.get(1), { rtol: 1e-5, atol: 1e-6 });
    expectClose(vmap((v: NDArray) => norm.forward(v))(x), y, { rtol: 1e-5, atol: 1e-6 });
    expectClose(jit((v: NDArray) => norm.forward(v))(x), y, { rtol: 1e-5, atol: 1e-6 });
    // A vector of channels: each group of 3 normalised.
    const v = norm.forward(np.array([1, 2, 3, 10, 20, 30]));
    expectClose(v.get("0:3"), v.get("3:6"), { rtol: 1e-4, atol: 1e-5 });
  });

  it("one group is a LayerNorm over the whole example; one per channel an instance norm", () => {
    const x = random.normal(random.key(5), [4, 3, 3], { dtype: "float64" });
    const whole = new nn.GroupNorm(1, 4, { dtype: "float64" }).forward(x);
    expectClose(whole, new nn.LayerNorm([4, 3, 3], { dtype: "float64" }).forward(x), {
      rtol: 1e-12,
      atol: 1e-12,
    });
    const instance = new nn.GroupNorm(4, 4, { dtype: "float64" }).forward(x);
    const layer = new nn.LayerNorm([3, 3], { dtype: "float64" });
    expectClose(instance, layer.forward(x), { rtol: 1e-12, atol: 1e-12 });
  });

  it("asks which is meant when axes 0 and 1 both have C entries", () => {
    const norm = new nn.GroupNorm(2, 4);
    const x = random.normal(random.key(6), [4, 4, 3]);
    expectTypedError(() => norm.forward(x), ShapeError, file, "batched: true");
    expectClose(norm.forward(x, { batched: true }).get(2), norm.forward(x.get(2)), {
      rtol: 1e-5,
      atol: 1e-6,
    });
    expect(norm.forward(x, { batched: false }).shape).toEqual([4, 4, 3]);
  });

  it("rejects bad channels and groups", () => {
    const norm = new nn.GroupNorm(2, 4);
    expectTypedError(
      () => norm.forward(np.ones([3, 5])),
      ShapeError,
      file,
      "nn.GroupNorm.forward",
      "[3, 5]",
    );
    expectTypedError(
      () => norm.forward(np.ones([2, 4]), { batched: false }),
      ShapeError,
      file,
      "[4, ...]",
    );
    expectTypedError(() => new nn.GroupNorm(3, 4), ValueError, file, "groups must divide");
    expectTypedError(() => new nn.GroupNorm(0, 4), ValueError, file, "groups");
    expect(new nn.GroupNorm(2, 4, { channelwiseAffine: false }).weight).toBeNull();
  });
});

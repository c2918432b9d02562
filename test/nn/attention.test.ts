/**
 * MultiheadAttention: outputs and gradients equal a PyTorch transcription of Equinox's layer
 * (itself checked against torch.nn.MultiheadAttention where they coincide), in float64; its
 * projections are Linear layers initialised as PyTorch's; batches, masks, dropout, jit and vmap;
 * bad shapes and options are typed errors.
 */
import { describe, expect, it } from "vitest";
import {
  jit,
  nn,
  np,
  random,
  vmap,
  DtypeError,
  ShapeError,
  ValueError,
  type NDArray,
} from "../../src/index.js";
import { expectClose, expectTypedError } from "../helpers/assertions.js";
import { arrayOf, checkAgainstTorch, fixture, float64Options } from "./layer-fixtures.js";

const file = "attention.test.ts";

describe("MultiheadAttention against PyTorch", () => {
  for (const c of fixture.attention) {
    it(c.name, () => {
      const options = float64Options(c, random.key(0));
      const layer = new nn.MultiheadAttention(options as unknown as nn.MultiheadAttentionOptions);
      const mask = c.mask === undefined ? {} : { mask: arrayOf(c.mask) };
      checkAgainstTorch(c, layer, (m, i) => [m.forward(i.query!, i.key!, i.value!, mask)]);
    });
  }
});

describe("MultiheadAttention", () => {
  const make = (extra: Partial<nn.MultiheadAttentionOptions> = {}): nn.MultiheadAttention =>
    new nn.MultiheadAttention({ numHeads: 2, querySize: 8, key: random.key(1), ...extra });
  const x = random.normal(random.key(2), [5, 8]);

  it("has Linear projections sized as Equinox's, without biases by default", () => {
    const layer = make({ keySize: 3, valueSize: 6, outputSize: 7, qkSize: 5 });
    expect(layer.queryProj.weight.shape).toEqual([10, 8]);
    expect(layer.keyProj.weight.shape).toEqual([10, 3]);
    expect(layer.valueProj.weight.shape).toEqual([8, 6]);
    expect(layer.outputProj.weight.shape).toEqual([7, 8]);
    expect(layer.queryProj.bias).toBeNull();
    expect(make({ useQueryBias: true, useOutputBias: true }).outputProj.bias!.shape).toEqual([8]);
    const bound = 1 / Math.sqrt(3);
    const w = Array.from(layer.keyProj.weight.toTypedArray(), Math.abs);
    expect(Math.max(...w)).toBeLessThanOrEqual(bound);
    expect(Math.max(...w)).toBeGreaterThan(0.7 * bound);
  });

  it("keeps leading batch axes: vmap over examples and jit give the same", () => {
    const layer = make({ useValueBias: true });
    const xs = random.normal(random.key(3), [3, 5, 8]);
    const mask = np.greaterEqual(np.arange(5).reshape([5, 1]), np.arange(5));
    const batched = layer.forward(xs, xs, xs, { mask });
    expect(batched.shape).toEqual([3, 5, 8]);
    const each = vmap((v: NDArray) => layer.forward(v, v, v, { mask }))(xs);
    expectClose(each, batched, { rtol: 1e-5, atol: 1e-6 });
    const compiled = jit((m: nn.MultiheadAttention, v: NDArray) => m.forward(v, v, v, { mask }));
    expectClose(compiled(layer, xs), batched, { rtol: 1e-5, atol: 1e-6 });
    // A per-example mask [N, 1, Lq, Lk] broadcasts over the heads.
    const perExample = np.broadcastTo(mask, [3, 1, 5, 5]);
    expectClose(layer.forward(xs, xs, xs, { mask: perExample }), batched, { rtol: 1e-6 });
  });

  it("a query attends only where the mask allows", () => {
    const layer = make();
    // Query 0 may see key 0 only: its output does not depend on the other keys and values.
    const mask = np.array([[true, false, false, false, false]]).astype("bool");
    const q = x.get("0:1");
    const other = x.at("1:").set(random.normal(random.key(4), [4, 8]));
    expectClose(layer.forward(q, x, x, { mask }), layer.forward(q, other, other, { mask }), {
      rtol: 1e-6,
    });
  });

  it("drops attention weights in training, with a key; not in inference", () => {
    const layer = make({ dropoutP: 0.5 });
    const clean = layer.forward(x, x, x, { inference: true });
    expectClose(make().forward(x, x, x), clean, { rtol: 1e-6 });
    const dropped = layer.forward(x, x, x, { key: random.key(5) });
    expect(dropped.shape).toEqual([5, 8]);
    expect(Array.from(dropped.sub(clean).toTypedArray()).some((v) => Math.abs(v) > 1e-4)).toBe(
      true,
    );
    expectTypedError(
      () => layer.forward(x, x, x),
      ValueError,
      file,
      "nn.MultiheadAttention.forward",
      "needs { key }",
    );
    expectClose(make({ dropoutP: 0.5, inference: true }).forward(x, x, x), clean, { rtol: 1e-6 });
  });

  it("rejects bad shapes, masks and options", () => {
    const layer = make({ keySize: 4 });
    const k = np.ones([6, 4]);
    expectTypedError(
      () => layer.forward(np.ones([5, 7]), k, np.ones([6, 8])),
      ShapeError,
      file,
      "query of shape [length, 8]",
      "[5, 7]",
    );
    expectTypedError(() => layer.forward(x, k, np.ones([5, 8])), ShapeError, file, "same length");
    expectTypedError(
      () => layer.forward(np.ones([2, 5, 8]), k, np.ones([6, 8])),
      ShapeError,
      file,
      "batch axes",
    );
    expectTypedError(
      () => layer.forward(x, k, np.ones([6, 8]), { mask: np.ones([5, 6]) }),
      DtypeError,
      file,
      "bool",
    );
    expectTypedError(
      () => layer.forward(x, k, np.ones([6, 8]), { mask: np.ones([6, 5]).astype("bool") }),
      ShapeError,
      file,
      "[6, 5]",
      "[2, 5, 6]",
    );
    expectTypedError(() => make({ numHeads: 16 }), ValueError, file, "qkSize", "give qkSize");
    expectTypedError(
      () =>
        new nn.MultiheadAttention({ numHeads: 2, querySize: 8 } as nn.MultiheadAttentionOptions),
      ValueError,
      file,
      "needs { key }",
    );
    expectTypedError(() => make({ numHeads: 0 }), ValueError, file, "numHeads");
  });
});

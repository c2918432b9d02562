/**
 * Dropout: in training it keeps each element with probability 1 − p and scales it by 1/(1 − p)
 * (checked statistically and exactly), is the identity in inference or with p = 0, needs a key
 * otherwise, and runs under jit, vmap and grad.
 */
import { describe, expect, it } from "vitest";
import { grad, jit, nn, np, random, vmap, ValueError, type NDArray } from "../../src/index.js";
import { expectClose, expectTypedError } from "../helpers/assertions.js";

const file = "dropout.test.ts";
const values = (x: NDArray): number[] => Array.from(x.toTypedArray() as ArrayLike<number>);

describe("Dropout", () => {
  const x = random.uniform(random.key(0), [20000], { minval: 1, maxval: 2 });

  it("keeps a fraction 1 − p of the elements, scaled by 1/(1 − p)", () => {
    for (const p of [0.1, 0.5, 0.8]) {
      const y = new nn.Dropout(p).forward(x, { key: random.key(1) });
      const out = values(y);
      const input = values(x);
      const kept = out.filter((v) => v !== 0).length / out.length;
      // Binomial: standard deviation √(p(1 − p)/n) < 0.004.
      expect(Math.abs(kept - (1 - p))).toBeLessThan(0.015);
      out.forEach((v, i) => {
        if (v !== 0) expect(Math.abs(v - input[i]! / (1 - p))).toBeLessThan(1e-5 * v);
      });
      // The expectation is the input's.
      expect(Math.abs((y.mean().item() as number) / (x.mean().item() as number) - 1)).toBeLessThan(
        0.03,
      );
    }
  });

  it("is the identity in inference, with p = 0, and zeros with p = 1", () => {
    const layer = new nn.Dropout(0.5);
    expect(layer.forward(x, { inference: true })).toBe(x);
    expect(new nn.Dropout(0.5, { inference: true }).forward(x)).toBe(x);
    expect(new nn.Dropout(0).forward(x)).toBe(x);
    expect(new nn.Dropout().p).toBe(0.5);
    expect(values(new nn.Dropout(1).forward(np.ones([3]), { key: random.key(0) }))).toEqual([
      0, 0, 0,
    ]);
    // The call's option overrides the layer's setting.
    const forced = new nn.Dropout(0.5, { inference: true }).forward(np.ones([100]), {
      key: random.key(2),
      inference: false,
    });
    expect(values(forced).some((v) => v === 0)).toBe(true);
  });

  it("is a function of the key: same key same mask, new key new mask", () => {
    const layer = new nn.Dropout(0.3);
    const a = layer.forward(x, { key: random.key(3) });
    expect(values(layer.forward(x, { key: random.key(3) }))).toEqual(values(a));
    expect(values(layer.forward(x, { key: random.key(4) }))).not.toEqual(values(a));
  });

  it("runs under jit, vmap (a key per example) and grad", () => {
    const layer = new nn.Dropout(0.5);
    const small = np.ones([4, 50]);
    const f = (v: NDArray, k: NDArray): NDArray => layer.forward(v, { key: k });
    expect(values(jit(f)(small.get(0), random.key(5)))).toEqual(
      values(f(small.get(0), random.key(5))),
    );
    const rows = vmap(f)(small, random.split(random.key(6), 4));
    expect(rows.shape).toEqual([4, 50]);
    expect(values(rows.get(0))).not.toEqual(values(rows.get(1)));
    const g = grad((v: NDArray) => f(v, random.key(7)).sum())(small.get(0));
    expectClose(g, f(small.get(0), random.key(7)));
  });

  it("takes a key from Sequential", () => {
    const net = new nn.Sequential([
      new nn.Linear(3, 50, { key: random.key(0) }),
      new nn.Dropout(0.5),
    ]);
    const y = net.forward(np.ones([3]), { key: random.key(1) });
    expect(values(y).some((v) => v === 0)).toBe(true);
  });

  it("rejects a missing key and a bad p", () => {
    expectTypedError(
      () => new nn.Dropout(0.5).forward(np.ones([3])),
      ValueError,
      file,
      "nn.Dropout.forward",
      "needs { key }",
      "inference: true",
    );
    expectTypedError(() => new nn.Dropout(1.5), ValueError, file, "nn.Dropout", "[0, 1]");
    expectTypedError(() => new nn.Dropout(-0.1), ValueError, file, "-0.1");
  });
});

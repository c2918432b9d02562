/**
 * nn.filterVmap maps over the arrays of its arguments only (numbers, strings, functions and a
 * module's static fields pass through, also in the output); nn.filterJit compiles once for a
 * model and its updated copies.
 */
import { describe, expect, it } from "vitest";
import { nn, np, random, tree, ShapeError, type NDArray } from "../../src/index.js";
import { expectClose, expectTypedError } from "../helpers/assertions.js";

const file = "filtered.test.ts";

describe("filterVmap", () => {
  const model = new nn.Linear(3, 2, { key: random.key(0) });
  const xs = random.normal(random.key(1), [5, 3]);

  it("maps a model over a batch (the model unmapped)", () => {
    const perExample = nn.filterVmap((m: nn.Linear, x: NDArray) => m.forward(x), {
      inAxes: [null, 0],
    });
    expectClose(perExample(model, xs), model.forward(xs), { rtol: 1e-6 });
    const outAxis1 = nn.filterVmap((m: nn.Linear, x: NDArray) => m.forward(x), {
      inAxes: [null, 0],
      outAxes: 1,
    });
    expectClose(outAxis1(model, xs), model.forward(xs).T, { rtol: 1e-6 });
  });

  it("passes non-array arguments through and returns static parts as they are", () => {
    const f = nn.filterVmap(
      (x: NDArray, scale: number, label: string, act: (v: NDArray) => NDArray) => ({
        y: act(x.mul(scale)),
        label,
        size: x.shape[0],
      }),
    );
    const out = f(xs, 2, "twice", nn.relu);
    expectClose(out.y, nn.relu(xs.mul(2)));
    expect(out.label).toBe("twice");
    expect(out.size).toBe(3);
  });

  it("builds and runs an ensemble: one model per key, arrays stacked on axis 0", () => {
    const keys = random.split(random.key(2), 4);
    const ensemble = nn.filterVmap((k: NDArray) => new nn.Linear(3, 2, { key: k }))(keys);
    expect(ensemble).toBeInstanceOf(nn.Linear);
    expect(ensemble.weight.shape).toEqual([4, 2, 3]);
    expect(ensemble.inFeatures).toBe(3);
    expectClose(ensemble.weight.get(2), new nn.Linear(3, 2, { key: keys.get(2) }).weight);
    const outs = nn.filterVmap((m: nn.Linear, x: NDArray) => m.forward(x), {
      inAxes: [0, null],
    })(ensemble, xs);
    expect(outs.shape).toEqual([4, 5, 2]);
    const member = tree.map((a: NDArray) => a.get(1), ensemble) as nn.Linear;
    expectClose(outs.get(1), member.forward(xs), { rtol: 1e-6 });
  });

  it("rejects mapped arrays of different sizes", () => {
    const f = nn.filterVmap((a: NDArray, b: NDArray) => a.add(b));
    expectTypedError(() => f(np.ones([3]), np.ones([4])), ShapeError, file, "same size");
  });
});

describe("filterJit", () => {
  it("compiles once for a model and its updated copies", () => {
    let traces = 0;
    const apply = nn.filterJit((m: nn.MLP, x: NDArray) => {
      traces++;
      return m.forward(x);
    });
    const mlp = new nn.MLP({ inSize: 3, outSize: 2, widthSize: 4, depth: 1, key: random.key(3) });
    const x = np.ones([3]);
    expectClose(apply(mlp, x), mlp.forward(x), { rtol: 1e-6 });
    apply(mlp, x);
    const updated = tree.map((a: NDArray) => a.mul(0.5), mlp) as nn.MLP;
    expectClose(apply(updated, x), updated.forward(x), { rtol: 1e-6 });
    expect(traces).toBe(1);
    // Another configuration (a different activation) compiles again.
    const other = new nn.MLP({
      inSize: 3,
      outSize: 2,
      widthSize: 4,
      depth: 1,
      activation: nn.silu,
      key: random.key(3),
    });
    expectClose(apply(other, x), other.forward(x), { rtol: 1e-6 });
    expect(traces).toBe(2);
  });
});

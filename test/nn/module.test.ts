/**
 * `nn.Module` and layers: models are immutable pytrees whose arrays are the parameters; filters
 * split them; layers initialise as PyTorch/Equinox and run single examples or batches.
 */
import { describe, expect, it } from "vitest";
import {
  grad,
  jit,
  lax,
  nn,
  np,
  random,
  tree,
  ShapeError,
  ValueError,
  vmap,
  type NDArray,
} from "../../src/index.js";
import { expectClose } from "../helpers/assertions.js";

class Affine extends nn.Module {
  readonly scale: NDArray;
  readonly shift: NDArray;
  readonly name: string;
  readonly steps: number;
  constructor(size: number) {
    super();
    this.scale = np.ones([size]);
    this.shift = np.zeros([size]);
    this.name = "affine";
    this.steps = 3;
  }
  forward(x: NDArray): NDArray {
    return x.mul(this.scale).add(this.shift);
  }
}

describe("Module", () => {
  it("is a pytree: arrays are leaves, other fields static structure", () => {
    const m = new Affine(3);
    const [leaves, def] = tree.flatten(m);
    expect(leaves).toHaveLength(2);
    expect(def.equals(tree.structure(new Affine(3)))).toBe(true);
    const rebuilt = tree.unflatten(def, [np.full([3], 2), np.full([3], 1)]) as Affine;
    expect(rebuilt).toBeInstanceOf(Affine);
    expect(rebuilt.name).toBe("affine");
    expect(rebuilt.forward(np.ones([3])).toList()).toEqual([3, 3, 3]);
    const doubled = tree.map((x: NDArray) => x.mul(2), m) as Affine;
    expect(doubled).toBeInstanceOf(Affine);
    expect(doubled.scale.toList()).toEqual([2, 2, 2]);
  });

  it("refuses changes once used, naming the field and the fix", () => {
    const m = new Affine(2);
    m.forward(np.ones([2]));
    expect(() => {
      (m as unknown as { steps: number }).steps = 4;
    }).toThrow(nn.ModuleError);
    expect(() => {
      (m as unknown as { scale: NDArray }).scale = np.zeros([2]);
    }).toThrow(/Affine.scale.*immutable once used.*nn.treeAt/s);
    expect(m.scale.toList()).toEqual([1, 1]);
    const rebuilt = tree.map((x: NDArray) => x, m) as Affine;
    expect(() => {
      (rebuilt as unknown as { steps: number }).steps = 1;
    }).toThrow(nn.ModuleError);
  });

  it("prints its fields and parameter count", () => {
    const text = new nn.Linear(3, 2, { key: random.key(0) }).toString();
    expect(text).toContain("Linear(");
    expect(text).toContain("weight: f32[2, 3]");
    expect(text).toContain("bias: f32[2]");
    expect(text).toContain("# 8 parameters");
    expect(
      nn.parameterCount(
        new nn.MLP({ inSize: 4, outSize: 2, widthSize: 8, depth: 2, key: random.key(0) }),
      ),
    ).toBe(4 * 8 + 8 + 8 * 8 + 8 + 8 * 2 + 2);
  });
});

describe("filters", () => {
  const model = { w: np.ones([2]), n: np.array([1, 2], { dtype: "int32" }), tag: "x" };

  it("partition and combine", () => {
    const [floats, rest] = nn.partition(model, nn.isInexactArray);
    expect(floats.w).toBe(model.w);
    expect(floats.n).toBeNull();
    expect(rest.w).toBeNull();
    expect(rest.n).toBe(model.n);
    const back = nn.combine(floats, rest);
    expect(back.w).toBe(model.w);
    expect(back.n).toBe(model.n);
    expect(nn.isArray(model.n)).toBe(true);
    expect(nn.isInexactArray(model.n)).toBe(false);
    expect(() => nn.combine(floats, { w: null } as unknown as typeof floats)).toThrow(
      /another structure/,
    );
  });

  it("treeAt replaces nodes and checks shapes", () => {
    const mlp = new nn.MLP({ inSize: 3, outSize: 1, widthSize: 4, depth: 1, key: random.key(2) });
    const zeroed = nn.treeAt((m: nn.MLP) => m.layers[1]!.weight, mlp, np.zeros([1, 4]));
    expect(zeroed.layers[1]!.weight.toList()).toEqual([[0, 0, 0, 0]]);
    expect(mlp.layers[1]!.weight.toList()).not.toEqual([[0, 0, 0, 0]]);
    const both = nn.treeAt((m: nn.MLP) => [m.layers[0]!.bias, m.layers[1]!.bias], mlp, [
      np.ones([4]),
      np.ones([1]),
    ]);
    expect(both.layers[0]!.bias!.toList()).toEqual([1, 1, 1, 1]);
    expect(() => nn.treeAt((m: nn.MLP) => m.layers[1]!.weight, mlp, np.zeros([4, 1]))).toThrow(
      ShapeError,
    );
    expect(() => nn.treeAt((m: nn.MLP) => m.layers[1]!.weight, mlp, np.zeros([4, 1]))).toThrow(
      /f32\[1, 4\]/,
    );
    expect(() => nn.treeAt(() => np.ones([2]), mlp, np.ones([2]))).toThrow(
      /nodes of the model itself/,
    );
  });

  it("filterGrad and filterValueAndGrad differentiate the float arrays only", () => {
    const mlp = new nn.MLP({ inSize: 3, outSize: 1, widthSize: 4, depth: 1, key: random.key(3) });
    const x = np.array([0.5, -1, 2]);
    const loss = (m: nn.MLP, input: NDArray): NDArray => m.forward(input).sum();
    const g = nn.filterGrad(loss)(mlp, x);
    expect(g).toBeInstanceOf(nn.MLP);
    // By hand: the last layer's bias gradient is 1; its weight gradient is the hidden activation.
    expect(g.layers[1]!.bias!.toList()).toEqual([1]);
    const hidden = nn.relu(mlp.layers[0]!.forward(x));
    expectClose(g.layers[1]!.weight, hidden.reshape([1, 4]), { rtol: 1e-6 });
    const [value, g2] = nn.filterValueAndGrad(loss)(mlp, x);
    expect(value.item()).toBe(loss(mlp, x).item());
    expect(g2.layers[0]!.weight.toList()).toEqual(g.layers[0]!.weight.toList());
    // Plain grad works on modules too (their non-array fields are static).
    const plain = grad(loss)(mlp, x) as unknown as nn.MLP;
    expect(plain.layers[0]!.weight.toList()).toEqual(g.layers[0]!.weight.toList());
  });

  it("filterJit keeps non-array arguments static", () => {
    let traces = 0;
    const f = nn.filterJit((x: NDArray, times: number, label: string) => {
      traces++;
      return x.mul(times).add(label.length);
    });
    expect(f(np.ones([2]), 3, "ab").toList()).toEqual([5, 5]);
    expect(f(np.full([2], 2), 3, "ab").toList()).toEqual([8, 8]);
    expect(traces).toBe(1);
    expect(f(np.ones([2]), 4, "ab").toList()).toEqual([6, 6]);
    expect(traces).toBe(2);
  });
});

describe("layers", () => {
  it("Linear: PyTorch's initialisation range, single examples and batches, bad input", () => {
    const layer = new nn.Linear(16, 5, { key: random.key(0) });
    const limit = 1 / Math.sqrt(16);
    const w = Array.from(layer.weight.toTypedArray());
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(limit);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.8 * limit);
    expect(layer.forward(np.ones([16])).shape).toEqual([5]);
    expect(layer.forward(np.ones([7, 16])).shape).toEqual([7, 5]);
    expectClose(layer.forward(np.ones([16])), layer.weight.sum({ axis: 1 }).add(layer.bias!), {
      rtol: 1e-6,
    });
    expect(new nn.Linear(2, 3, { key: random.key(0), useBias: false }).bias).toBeNull();
    expect(() => layer.forward(np.ones([15]))).toThrow(/last axis of 16 features/);
    expect(() => new nn.Linear(0, 3, { key: random.key(0) })).toThrow(ValueError);
    expect(() => new nn.Linear(2, 3, {} as never)).toThrow(/needs \{ key \}/);
    expect(new nn.Linear(2, 2, { key: random.key(0), dtype: "float64" }).weight.dtype).toBe(
      "float64",
    );
  });

  it("MLP, Sequential and Lambda compose; vmap over examples equals the batch", () => {
    const mlp = new nn.MLP({
      inSize: 3,
      outSize: 2,
      widthSize: 5,
      depth: 2,
      activation: nn.silu,
      key: random.key(4),
    });
    expect(mlp.layers).toHaveLength(3);
    const xs = random.normal(random.key(5), [6, 3]);
    expectClose(vmap((x: NDArray) => mlp.forward(x))(xs), mlp.forward(xs), { rtol: 1e-5 });
    const net = new nn.Sequential([
      new nn.Linear(3, 4, { key: random.key(6) }),
      nn.relu,
      new nn.Lambda((x) => x.mul(2)),
    ]);
    const out = net.forward(np.ones([3]));
    expect(out.shape).toEqual([4]);
    expect(Math.min(...Array.from(out.toTypedArray()))).toBeGreaterThanOrEqual(0);
    expect(jit((m: nn.Sequential, x: NDArray) => m.forward(x))(net, np.ones([3])).toList()).toEqual(
      out.toList(),
    );
    expect(
      () => new nn.MLP({ inSize: 3, outSize: 2, widthSize: 5, depth: -1, key: random.key(0) }),
    ).toThrow(/depth/);
  });
});

describe("convolutions", () => {
  it("Conv2d: shapes of single examples and batches, PyTorch's init range, lax.conv underneath", () => {
    const conv = new nn.Conv2d(3, 8, 3, { key: random.key(0), padding: 1 });
    expect(conv.weight.shape).toEqual([8, 3, 3, 3]);
    const limit = 1 / Math.sqrt(3 * 9);
    expect(Math.max(...Array.from(conv.weight.toTypedArray(), Math.abs))).toBeLessThanOrEqual(
      limit,
    );
    const x = random.normal(random.key(1), [2, 3, 10, 10]);
    const y = conv.forward(x);
    expect(y.shape).toEqual([2, 8, 10, 10]);
    expect(conv.forward(x.get(0)).shape).toEqual([8, 10, 10]);
    expectClose(conv.forward(x.get(1)), y.get(1), { rtol: 1e-5, atol: 1e-6 });
    const reference = lax
      .conv(x, conv.weight, {
        padding: [
          [1, 1],
          [1, 1],
        ],
      })
      .add(conv.bias!.reshape([8, 1, 1]));
    expectClose(y, reference, { rtol: 1e-6, atol: 1e-6 });
    const strided = new nn.Conv2d(3, 4, [3, 5], {
      key: random.key(2),
      stride: 2,
      padding: "SAME",
      groups: 1,
    });
    expect(strided.forward(x).shape).toEqual([2, 4, 5, 5]);
    const depthwise = new nn.Conv2d(3, 6, 3, { key: random.key(3), groups: 3, useBias: false });
    expect(depthwise.weight.shape).toEqual([6, 1, 3, 3]);
    expect(depthwise.bias).toBeNull();
    expect(new nn.Conv1d(2, 4, 5, { key: random.key(4) }).forward(np.ones([2, 20])).shape).toEqual([
      4, 16,
    ]);
  });

  it("trains through filterGrad and rejects bad configurations", () => {
    const conv = new nn.Conv2d(1, 2, 3, { key: random.key(0) });
    const x = random.normal(random.key(1), [1, 6, 6]);
    const g = nn.filterGrad((m: nn.Conv2d, input: NDArray) => m.forward(input).sum())(conv, x);
    expect(g.weight.shape).toEqual([2, 1, 3, 3]);
    expect(g.bias!.toList()).toEqual([16, 16]);
    expect(() => new nn.Conv2d(3, 8, 3, { key: random.key(0), groups: 2 })).toThrow(
      /groups must divide/,
    );
    expect(() => new nn.Conv2d(3, 8, [3], { key: random.key(0) })).toThrow(/kernelSize needs 2/);
    expect(() => conv.forward(np.ones([6, 6]))).toThrow(/expects \[channels/);
  });
});

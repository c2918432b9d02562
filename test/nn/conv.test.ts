/**
 * Transposed convolutions against PyTorch (test/fixtures/pool.json, made by
 * test/fixtures/make_pool_fixtures.py): `F.conv_transposeNd` values and the gradients with respect
 * to input, weight and bias in float64, with torch's weight layout `[in, out / groups, ...kernel]`;
 * then initialisation, shapes, and bad configurations.
 */
import { describe, expect, it } from "vitest";
import { jit, nn, np, random, ValueError, type NDArray } from "../../src/index.js";
import { expectClose, expectTypedError } from "../helpers/assertions.js";
import { decode as decodeValue, loadFixture, type FixtureArray } from "../helpers/fixtures.js";

interface ConvTransposeCase {
  name: string;
  spatial: number;
  inChannels: number;
  outChannels: number;
  kernelSize: number[];
  options: {
    stride: number | number[];
    padding: number;
    outputPadding: number;
    dilation: number;
    groups: number;
  };
  x: FixtureArray;
  weight: FixtureArray;
  bias: FixtureArray;
  ct: FixtureArray;
  out: FixtureArray;
  dx: FixtureArray;
  dweight: FixtureArray;
  dbias: FixtureArray;
}

const decode = (a: FixtureArray): NDArray => decodeValue(a) as NDArray;
const fixture = loadFixture<{ convTranspose: ConvTransposeCase[] }>("pool.json");
const file = "conv.test.ts";
const tight = { rtol: 1e-11, atol: 1e-11 };

describe("ConvTranspose = PyTorch's conv_transpose", () => {
  for (const c of fixture.convTranspose) {
    it(c.name, () => {
      const layer = new nn.ConvTranspose(c.spatial, c.inChannels, c.outChannels, c.kernelSize, {
        key: random.key(0),
        dtype: "float64",
        ...c.options,
      });
      expect(layer.weight.shape).toEqual(c.weight.shape);
      const model = nn.treeAt((m: nn.ConvTranspose) => [m.weight, m.bias], layer, [
        decode(c.weight),
        decode(c.bias),
      ]);
      const x = decode(c.x);
      const ct = decode(c.ct);
      expectClose(model.forward(x), decode(c.out), tight);
      const loss = (m: nn.ConvTranspose, input: NDArray): NDArray => m.forward(input).mul(ct).sum();
      const g = nn.filterGrad(loss)(model, x);
      expectClose(g.weight, decode(c.dweight), tight);
      expectClose(g.bias!, decode(c.dbias), tight);
      const dx = nn.filterGrad((input: NDArray, m: nn.ConvTranspose) => loss(m, input))(x, model);
      expectClose(dx, decode(c.dx), tight);
      // Single examples and compiled calls agree with the batch.
      expectClose(model.forward(x.get(0)), model.forward(x).get(0), tight);
      expectClose(
        nn.filterJit((m: nn.ConvTranspose, input: NDArray) => m.forward(input))(model, x),
        model.forward(x),
        tight,
      );
    });
  }
});

describe("ConvTranspose layers", () => {
  it("PyTorch's initialisation bound (fan-in from the weight's second axis) and output sizes", () => {
    const up = new nn.ConvTranspose2d(16, 8, 3, {
      key: random.key(1),
      stride: 2,
      padding: 1,
      outputPadding: 1,
    });
    expect(up.weight.shape).toEqual([16, 8, 3, 3]);
    expect(up.bias!.shape).toEqual([8]);
    const bound = 1 / Math.sqrt(8 * 9);
    const w = Array.from(up.weight.toTypedArray(), Math.abs);
    expect(Math.max(...w)).toBeLessThanOrEqual(bound);
    expect(Math.max(...w)).toBeGreaterThan(0.9 * bound);
    expect(up.forward(np.ones([2, 16, 7, 7])).shape).toEqual([2, 8, 14, 14]);
    const grouped = new nn.ConvTranspose1d(4, 6, 3, {
      key: random.key(2),
      groups: 2,
      useBias: false,
    });
    expect(grouped.weight.shape).toEqual([4, 3, 3]);
    expect(grouped.bias).toBeNull();
    expect(grouped.forward(np.ones([4, 5])).shape).toEqual([6, 7]);
    expect(jit((x: NDArray) => up.forward(x))(np.ones([16, 4, 4])).shape).toEqual([8, 8, 8]);
  });

  it("bad configurations are typed errors", () => {
    const key = random.key(0);
    expectTypedError(
      () => new nn.ConvTranspose2d(3, 4, 3, { key, groups: 2 }),
      ValueError,
      file,
      "groups must divide",
    );
    expectTypedError(
      () => new nn.ConvTranspose2d(3, 4, 3, { key, stride: 2, outputPadding: 2 }),
      ValueError,
      file,
      "outputPadding must be smaller",
    );
    expectTypedError(
      () => new nn.ConvTranspose2d(3, 4, [3], { key }),
      ValueError,
      file,
      "kernelSize needs 2",
    );
    const up = new nn.ConvTranspose2d(3, 4, 3, { key });
    expect(() => up.forward(np.ones([3, 3]))).toThrow(/expects \[channels/);
  });
});

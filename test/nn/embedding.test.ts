/**
 * Embedding: lookups and gradients (repeated ids accumulate) equal PyTorch's; the table starts
 * standard normal; ids of any shape, under jit and vmap; bad ids and options are typed errors.
 */
import { describe, expect, it } from "vitest";
import {
  jit,
  nn,
  np,
  random,
  vmap,
  DtypeError,
  IndexError,
  ShapeError,
  ValueError,
  type NDArray,
} from "../../src/index.js";
import { expectClose, expectTypedError } from "../helpers/assertions.js";
import { checkAgainstTorch, fixture, float64Options } from "./layer-fixtures.js";

const file = "embedding.test.ts";

describe("Embedding", () => {
  for (const c of fixture.embedding) {
    it(`matches torch: ${c.name}`, () => {
      const { numEmbeddings, embeddingSize, ...options } = float64Options(c, random.key(0));
      const layer = new nn.Embedding(numEmbeddings as number, embeddingSize as number, options);
      checkAgainstTorch(c, layer, (m, i) => [m.forward(i.indices!)]);
    });
  }

  it("starts as standard normal samples", () => {
    const table = new nn.Embedding(200, 100, { key: random.key(1) }).weight;
    expect(table.shape).toEqual([200, 100]);
    expect(table.dtype).toBe("float32");
    expect(Math.abs(table.mean().item() as number)).toBeLessThan(0.02);
    expect(Math.abs((np.std(table).item() as number) - 1)).toBeLessThan(0.02);
  });

  it("looks up ids of any shape, also under jit and vmap", () => {
    const embed = new nn.Embedding(5, 3, { key: random.key(2) });
    const ids = np.array(
      [
        [4, 0],
        [1, 1],
      ],
      { dtype: "int32" },
    );
    const y = embed.forward(ids);
    expect(y.shape).toEqual([2, 2, 3]);
    expect(y.get(0, 1).toList()).toEqual(embed.weight.get(0).toList());
    expect(embed.forward(3).toList()).toEqual(embed.weight.get(3).toList());
    const lookup = (m: nn.Embedding, i: NDArray): NDArray => m.forward(i);
    expectClose(jit(lookup)(embed, ids), y);
    expectClose(vmap((i: NDArray) => embed.forward(i))(ids), y);
    const given = np.arange(6).reshape([3, 2]).astype("float32");
    expect(new nn.Embedding(3, 2, { weight: given }).forward(2).toList()).toEqual([4, 5]);
  });

  it("rejects float or out-of-range ids, a missing key and a wrong table", () => {
    const embed = new nn.Embedding(5, 3, { key: random.key(3) });
    expectTypedError(
      () => embed.forward(np.array([1.5])),
      DtypeError,
      file,
      "nn.Embedding.forward",
      "int32",
    );
    expectTypedError(() => embed.forward(np.array([7], { dtype: "int32" })), IndexError, file, "7");
    expectTypedError(() => embed.forward(1.5), ValueError, file, "integer ids");
    expectTypedError(() => new nn.Embedding(5, 3, {}), ValueError, file, "needs { key }");
    expectTypedError(
      () => new nn.Embedding(5, 3, { weight: np.ones([3, 5]) }),
      ShapeError,
      file,
      "[5, 3]",
    );
    expectTypedError(
      () => new nn.Embedding(0, 3, { key: random.key(0) }),
      ValueError,
      file,
      "numEmbeddings",
    );
  });
});

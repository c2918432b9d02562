/**
 * `Embedding`: a lookup table of vectors, one row per token id.
 */
import type { NDArray } from "../core/array.js";
import type { DType } from "../core/dtype.js";
import { DtypeError, ShapeError, ValueError } from "../core/errors.js";
import * as np from "../numpy/index.js";
import * as random from "../random/index.js";
import { checkSize, needKey, type ForwardOptions } from "./layers.js";
import { Module } from "./module.js";

export interface EmbeddingOptions {
  /** Draws the initial table, N(0, 1) as PyTorch's (needed unless `weight` is given). */
  key?: NDArray;
  /** A table `[numEmbeddings, embeddingSize]` to start from instead (e.g. pretrained vectors). */
  weight?: NDArray;
  dtype?: DType;
}

/**
 * A table of `numEmbeddings` vectors of `embeddingSize` (PyTorch's `nn.Embedding`, Equinox's
 * `Embedding`): `forward(indices)` looks up integer ids of any shape and returns
 * `[...indices.shape, embeddingSize]`. The table starts as standard normal samples.
 *
 * @example
 * const embed = new nn.Embedding(10, 4, { key: random.key(0) });
 * const ids = np.array([[1, 2, 3], [3, 0, 9]], { dtype: "int32" });
 * console.log(embed.forward(ids).shape); // [2, 3, 4]
 */
export class Embedding extends Module {
  readonly weight: NDArray;
  readonly numEmbeddings: number;
  readonly embeddingSize: number;

  constructor(numEmbeddings: number, embeddingSize: number, options: EmbeddingOptions) {
    super();
    checkSize("nn.Embedding", "numEmbeddings", numEmbeddings);
    checkSize("nn.Embedding", "embeddingSize", embeddingSize);
    this.numEmbeddings = numEmbeddings;
    this.embeddingSize = embeddingSize;
    const weight = options?.weight;
    if (weight === undefined) {
      this.weight = random.normal(
        needKey("nn.Embedding", options?.key),
        [numEmbeddings, embeddingSize],
        {
          dtype: options.dtype ?? "float32",
        },
      );
    } else if (
      weight.ndim !== 2 ||
      weight.shape[0] !== numEmbeddings ||
      weight.shape[1] !== embeddingSize
    ) {
      throw new ShapeError(
        "nn.Embedding",
        `weight must have shape [${numEmbeddings}, ${embeddingSize}], got [${weight.shape.join(", ")}].`,
      );
    } else {
      this.weight = options.dtype === undefined ? weight : weight.astype(options.dtype);
    }
  }

  forward(indices: NDArray | number, _options: ForwardOptions = {}): NDArray {
    const ids = typeof indices === "number" ? np.array(indices, { dtype: "int32" }) : indices;
    if (typeof indices === "number" && !Number.isInteger(indices)) {
      throw new ValueError("nn.Embedding.forward", `expects integer ids, got ${indices}.`);
    }
    if (ids.dtype !== "int32" && ids.dtype !== "uint32") {
      throw new DtypeError(
        "nn.Embedding.forward",
        `expects integer ids (int32 or uint32), got ${ids.dtype}; convert with ids.astype("int32").`,
      );
    }
    return this.weight.get(ids);
  }
}

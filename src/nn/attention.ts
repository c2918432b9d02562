/**
 * `MultiheadAttention`, as Equinox defines it: separate query, key, value and output projections
 * (`nn.Linear`, PyTorch's initialisation) with free per-head sizes, scaled dot-product attention
 * per head, an optional boolean mask and dropout on the attention weights.
 */
import type { NDArray } from "../core/array.js";
import type { DType } from "../core/dtype.js";
import { DtypeError, ShapeError, ValueError } from "../core/errors.js";
import * as np from "../numpy/index.js";
import { asArray } from "../numpy/convert.js";
import * as random from "../random/index.js";
import { Dropout } from "./dropout.js";
import { softmax } from "./functional.js";
import { checkSize, Linear, needKey } from "./layers.js";
import { Module } from "./module.js";

export interface MultiheadAttentionOptions {
  /** Number of heads h. */
  numHeads: number;
  /** Channels of the query input. */
  querySize: number;
  /** Channels of the key input (default querySize). */
  keySize?: number;
  /** Channels of the value input (default querySize). */
  valueSize?: number;
  /** Channels of the output (default querySize). */
  outputSize?: number;
  /** Channels per head that queries and keys are compared over (default querySize / numHeads). */
  qkSize?: number;
  /** Channels per head of the attended values (default querySize / numHeads). */
  voSize?: number;
  /** Bias in the query projection (default false); likewise the others. */
  useQueryBias?: boolean;
  useKeyBias?: boolean;
  useValueBias?: boolean;
  useOutputBias?: boolean;
  /** Dropout probability on the attention weights (default 0). */
  dropoutP?: number;
  /** Start in inference mode: no dropout (default false). */
  inference?: boolean;
  dtype?: DType;
  key: NDArray;
}

/** Options of `MultiheadAttention.forward`. */
export interface AttentionForwardOptions {
  /**
   * Where queries may attend (true) and not (false): a bool array that broadcasts against the
   * attention weights `[..., numHeads, queryLength, keyLength]`, e.g. `[Lq, Lk]` for all heads or
   * `[numHeads, Lq, Lk]` per head.
   */
  mask?: NDArray;
  /** Randomness for dropout (needed when dropoutP > 0 and not in inference). */
  key?: NDArray;
  /** Overrides the layer's inference setting (dropout off when true). */
  inference?: boolean;
}

const shapeText = (shape: readonly number[]): string => `[${shape.join(", ")}]`;

/**
 * Multi-head attention (Equinox's `MultiheadAttention`): for each head i,
 * softmax(Q·Wqᵢ (K·Wkᵢ)ᵀ / √qkSize)·V·Wvᵢ, concatenated over heads and projected by Wo.
 * `forward(query [Lq, querySize], key [Lk, keySize], value [Lk, valueSize])` returns
 * `[Lq, outputSize]`; leading batch axes (the same on all three) are kept.
 *
 * @example
 * const attention = new nn.MultiheadAttention({ numHeads: 2, querySize: 8, key: random.key(0) });
 * const x = random.normal(random.key(1), [5, 8]);
 * console.log(attention.forward(x, x, x).shape); // [5, 8]
 * const causal = np.greaterEqual(np.arange(5).reshape([5, 1]), np.arange(5)); // j ≤ i
 * console.log(attention.forward(x, x, x, { mask: causal }).shape); // [5, 8]
 */
export class MultiheadAttention extends Module {
  readonly queryProj: Linear;
  readonly keyProj: Linear;
  readonly valueProj: Linear;
  readonly outputProj: Linear;
  readonly dropout: Dropout;
  readonly numHeads: number;
  readonly querySize: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly outputSize: number;
  readonly qkSize: number;
  readonly voSize: number;

  constructor(options: MultiheadAttentionOptions) {
    super();
    const layer = "nn.MultiheadAttention";
    if (options === null || typeof options !== "object") {
      throw new ValueError(layer, "expects an options object { numHeads, querySize, key, ... }.");
    }
    const { numHeads, querySize } = options;
    checkSize(layer, "numHeads", numHeads);
    checkSize(layer, "querySize", querySize);
    const perHead = Math.floor(querySize / numHeads);
    this.numHeads = numHeads;
    this.querySize = querySize;
    this.keySize = options.keySize ?? querySize;
    this.valueSize = options.valueSize ?? querySize;
    this.outputSize = options.outputSize ?? querySize;
    this.qkSize = options.qkSize ?? perHead;
    this.voSize = options.voSize ?? perHead;
    for (const name of ["keySize", "valueSize", "outputSize", "qkSize", "voSize"] as const) {
      if (this[name] === 0 && options[name] === undefined) {
        throw new ValueError(
          layer,
          `${name} defaults to querySize / numHeads, which is 0 for querySize ${querySize} and ${numHeads} heads; give ${name}.`,
        );
      }
      checkSize(layer, name, this[name]);
    }
    const [qKey, kKey, vKey, oKey] = [...random.split(needKey(layer, options.key), 4)];
    const dtype = options.dtype === undefined ? {} : { dtype: options.dtype };
    const h = numHeads;
    this.queryProj = new Linear(querySize, h * this.qkSize, {
      key: qKey!,
      useBias: options.useQueryBias === true,
      ...dtype,
    });
    this.keyProj = new Linear(this.keySize, h * this.qkSize, {
      key: kKey!,
      useBias: options.useKeyBias === true,
      ...dtype,
    });
    this.valueProj = new Linear(this.valueSize, h * this.voSize, {
      key: vKey!,
      useBias: options.useValueBias === true,
      ...dtype,
    });
    this.outputProj = new Linear(h * this.voSize, this.outputSize, {
      key: oKey!,
      useBias: options.useOutputBias === true,
      ...dtype,
    });
    this.dropout = new Dropout(options.dropoutP ?? 0, { inference: options.inference === true });
  }

  forward(
    query: NDArray,
    key: NDArray,
    value: NDArray,
    options: AttentionForwardOptions = {},
  ): NDArray {
    this.checkInputs(query, key, value);
    const lq = query.shape[query.ndim - 2]!;
    const lk = key.shape[key.ndim - 2]!;
    const batch = query.shape.slice(0, -2);
    // [..., L, h·size] → [..., h, L, size]
    const heads = (x: NDArray, proj: Linear, length: number): NDArray =>
      np.swapaxes(proj.forward(x).reshape([...batch, length, this.numHeads, -1]), -2, -3);
    const q = heads(query, this.queryProj, lq).div(Math.sqrt(this.qkSize));
    const k = heads(key, this.keyProj, lk);
    const v = heads(value, this.valueProj, lk);
    let logits = np.matmul(q, np.swapaxes(k, -1, -2));
    if (options.mask !== undefined) {
      this.checkMask(options.mask, [...batch, this.numHeads, lq, lk]);
      const lowest = logits.dtype === "float64" ? -Number.MAX_VALUE : -3.4028234663852886e38;
      logits = np.where(options.mask, logits, lowest);
    }
    let weights = softmax(logits, { axis: -1 });
    const inference = options.inference ?? this.dropout.inference;
    if (!inference && this.dropout.p > 0) {
      if (options.key === undefined) {
        throw new ValueError(
          "nn.MultiheadAttention.forward",
          `dropout (p = ${this.dropout.p}) needs { key } in training; pass { inference: true } to turn it off.`,
        );
      }
      weights = this.dropout.forward(weights, { key: options.key });
    }
    const attended = np.swapaxes(np.matmul(weights, v), -2, -3);
    return this.outputProj.forward(attended.reshape([...batch, lq, this.numHeads * this.voSize]));
  }

  private checkInputs(query: NDArray, key: NDArray, value: NDArray): void {
    const expect = (x: NDArray, name: string, size: number): void => {
      if (x.ndim < 2 || x.shape[x.ndim - 1] !== size) {
        throw new ShapeError(
          "nn.MultiheadAttention.forward",
          `expects ${name} of shape [length, ${size}] (or with leading batch axes), got ${shapeText(x.shape)}.`,
        );
      }
    };
    expect(query, "query", this.querySize);
    expect(key, "key", this.keySize);
    expect(value, "value", this.valueSize);
    const lead = (x: NDArray): string => shapeText(x.shape.slice(0, -2));
    if (
      key.shape[key.ndim - 2] !== value.shape[value.ndim - 2] ||
      lead(query) !== lead(key) ||
      lead(key) !== lead(value)
    ) {
      throw new ShapeError(
        "nn.MultiheadAttention.forward",
        `key and value need the same length, and all three the same batch axes; got query ${shapeText(query.shape)}, key ${shapeText(key.shape)}, value ${shapeText(value.shape)}.`,
      );
    }
  }

  private checkMask(mask: NDArray, target: readonly number[]): void {
    if (mask.dtype !== "bool") {
      throw new DtypeError(
        "nn.MultiheadAttention.forward",
        `mask must be a bool array (true where attention is allowed), got ${mask.dtype}; e.g. mask.astype("bool").`,
      );
    }
    const offset = target.length - mask.ndim;
    const fits =
      offset >= 0 &&
      mask.shape.every((d, i) => d === 1 || d === target[offset + i]) &&
      mask.shape[mask.ndim - 1] === target[target.length - 1] &&
      mask.shape[mask.ndim - 2] === target[target.length - 2];
    if (!fits) {
      throw new ShapeError(
        "nn.MultiheadAttention.forward",
        `mask of shape ${shapeText(mask.shape)} does not broadcast against the attention weights ${shapeText(target)} ([..., heads, queryLength, keyLength]); give [${target.at(-2)}, ${target.at(-1)}] or [${this.numHeads}, ${target.at(-2)}, ${target.at(-1)}].`,
      );
    }
  }
}

/** Options of {@link dotProductAttention}. */
export interface DotProductAttentionOptions {
  /** Added to the logits; broadcasts against `[..., N, T, S]`. */
  bias?: NDArray;
  /** Where queries may attend (true); broadcasts against `[..., N, T, S]`. */
  mask?: NDArray;
  /** Multiplies q·k (default 1/√H). */
  scale?: number;
  /** Query t attends only to keys s ≤ t (default false). */
  isCausal?: boolean;
}

/**
 * Scaled dot-product attention (JAX's `jax.nn.dot_product_attention`): query `[..., T, N, H]`,
 * key and value `[..., S, K, H]` with N a multiple of K (grouped-query attention shares each key
 * head among N/K query heads) → `[..., T, N, H]`; softmax(scale·q·kᵀ + bias, masked) · v per head.
 *
 * @example
 * const q = random.normal(random.key(0), [4, 2, 8]); // T, N, H
 * const kv = random.normal(random.key(1), [6, 1, 8]); // S, K, H: one key head for both
 * console.log(nn.dotProductAttention(q, kv, kv, { isCausal: false }).shape); // [4, 2, 8]
 */
export function dotProductAttention(
  query: NDArray,
  key: NDArray,
  value: NDArray,
  options: DotProductAttentionOptions = {},
): NDArray {
  const where = "nn.dotProductAttention";
  const [q, k0, v0] = [query, key, value].map((x) => asArray(where, x)) as [
    NDArray,
    NDArray,
    NDArray,
  ];
  const rank = q.ndim;
  if (rank < 3 || k0.ndim !== rank || v0.ndim !== rank) {
    throw new ShapeError(
      where,
      `expects query [..., T, N, H] and key, value [..., S, K, H] of one rank ≥ 3, got ${shapeText(q.shape)}, ${shapeText(k0.shape)}, ${shapeText(v0.shape)}.`,
    );
  }
  const [t, n, h] = q.shape.slice(-3) as [number, number, number];
  const [s, kh, kd] = k0.shape.slice(-3) as [number, number, number];
  if (
    kd !== h ||
    shapeText(k0.shape) !== shapeText(v0.shape) ||
    n % kh !== 0 ||
    shapeText(q.shape.slice(0, -3)) !== shapeText(k0.shape.slice(0, -3))
  ) {
    throw new ShapeError(
      where,
      `key and value must share one shape [..., S, K, ${h}] with K dividing the ${n} query heads and the same batch axes, got query ${shapeText(q.shape)}, key ${shapeText(k0.shape)}, value ${shapeText(v0.shape)}.`,
    );
  }
  // Grouped-query attention: each key/value head serves n / kh query heads.
  const k = kh === n ? k0 : np.repeat(k0, n / kh, { axis: -2 });
  const v = kh === n ? v0 : np.repeat(v0, n / kh, { axis: -2 });
  const scale = options.scale ?? 1 / Math.sqrt(h);
  // [..., T, N, H] → [..., N, T, H]
  const heads = (x: NDArray): NDArray => np.swapaxes(x, -2, -3);
  let logits = np.matmul(heads(q), np.swapaxes(heads(k), -1, -2)).mul(scale);
  if (options.bias !== undefined) logits = logits.add(options.bias);
  let mask: NDArray | undefined = options.mask;
  if (options.isCausal === true) {
    const causal = np.greaterEqual(np.arange(t).reshape([t, 1]), np.arange(s).reshape([1, s]));
    mask = mask === undefined ? causal : np.logicalAnd(mask, causal);
  }
  if (mask !== undefined) {
    const lowest = logits.dtype === "float64" ? -Number.MAX_VALUE : -3.4028234663852886e38;
    logits = np.where(mask, logits, lowest);
  }
  return heads(np.matmul(softmax(logits, { axis: -1 }), heads(v)));
}

/** Options of {@link RotaryPositionalEmbedding}. */
export interface RotaryPositionalEmbeddingOptions {
  /** The base of the frequencies θᵢ = base^(−2i/d) (default 10000). */
  theta?: number;
  dtype?: DType;
}

/**
 * Rotary positional embedding (RoPE, as Equinox's `RotaryPositionalEmbedding`): the features of
 * the token at position p, `[seq, d]` (d even; leading axes allowed), are rotated in the planes of
 * feature pairs (i, i + d/2) by the angles p·θᵢ, so that the dot product of two rotated vectors
 * depends only on their positions' difference. No parameters.
 *
 * @example
 * const rope = new nn.RotaryPositionalEmbedding(8);
 * console.log(rope.forward(np.ones([5, 8])).shape); // [5, 8]
 */
export class RotaryPositionalEmbedding extends Module {
  readonly embeddingSize: number;
  readonly theta: number;

  constructor(embeddingSize: number, options: RotaryPositionalEmbeddingOptions = {}) {
    super();
    checkSize("nn.RotaryPositionalEmbedding", "embeddingSize", embeddingSize);
    if (embeddingSize % 2 !== 0) {
      throw new ValueError(
        "nn.RotaryPositionalEmbedding",
        `embeddingSize must be even (features rotate in pairs), got ${embeddingSize}.`,
      );
    }
    this.embeddingSize = embeddingSize;
    this.theta = options.theta ?? 10000;
    if (!(this.theta > 0)) {
      throw new ValueError(
        "nn.RotaryPositionalEmbedding",
        `theta must be positive, got ${this.theta}.`,
      );
    }
  }

  forward(x: NDArray): NDArray {
    const d = this.embeddingSize;
    if (x.ndim < 2 || x.shape[x.ndim - 1] !== d) {
      throw new ShapeError(
        "nn.RotaryPositionalEmbedding.forward",
        `expects [..., seq, ${d}], got ${shapeText(x.shape)}.`,
      );
    }
    const seq = x.shape[x.ndim - 2]!;
    const half = d / 2;
    const dtype = x.dtype === "float64" ? "float64" : "float32";
    const inverse = np.power(this.theta, np.arange(0, half, { dtype: "float64" }).mul(-2 / d));
    const angles = np.outer(np.arange(seq, { dtype: "float64" }), inverse).astype(dtype); // [seq, d/2]
    const cos = np.concatenate([np.cos(angles), np.cos(angles)], { axis: -1 });
    const sin = np.concatenate([np.sin(angles), np.sin(angles)], { axis: -1 });
    const first = x.get("...", `:${half}`);
    const second = x.get("...", `${half}:`);
    const rotated = np.concatenate([second.neg(), first], { axis: -1 });
    return x.mul(cos).add(rotated.mul(sin));
  }
}

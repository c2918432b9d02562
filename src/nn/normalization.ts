/**
 * Normalisation layers over one example's features: `LayerNorm`, `RMSNorm` (the trailing axes)
 * and `GroupNorm` (groups of channels), as Equinox and PyTorch define them. Parameters start as
 * the identity: weights ones, biases zeros.
 */
import type { NDArray } from "../core/array.js";
import type { DType } from "../core/dtype.js";
import { ShapeError, ValueError } from "../core/errors.js";
import * as np from "../numpy/index.js";
import { checkSize, type ForwardOptions } from "./layers.js";
import { Module } from "./module.js";

const shapeText = (shape: readonly number[]): string => `[${shape.join(", ")}]`;

/** `shape` as a list of whole numbers ≥ 1 (a number is one axis). */
function normalizedShape(layer: string, shape: number | readonly number[]): number[] {
  const list = typeof shape === "number" ? [shape] : Array.isArray(shape) ? [...shape] : null;
  if (list === null || list.length === 0 || list.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new ValueError(
      layer,
      `shape must be a whole number ≥ 1 or a non-empty list of them, got ${JSON.stringify(shape)}.`,
    );
  }
  return list;
}

function checkEps(layer: string, eps: number): number {
  if (typeof eps !== "number" || !(eps >= 0)) {
    throw new ValueError(layer, `eps must be a number ≥ 0, got ${String(eps)}.`);
  }
  return eps;
}

/** Throws unless `x`'s trailing axes are `shape`; returns the (negative) axes to reduce over. */
function trailingAxes(layer: string, x: NDArray, shape: readonly number[]): number[] {
  const tail = x.shape.slice(x.ndim - shape.length);
  if (x.ndim < shape.length || tail.some((d, i) => d !== shape[i])) {
    throw new ShapeError(
      `${layer}.forward`,
      `expects inputs whose trailing axes are ${shapeText(shape)} (any leading axes), got shape ${shapeText(x.shape)}.`,
    );
  }
  return shape.map((_, i) => i - shape.length);
}

export interface LayerNormOptions {
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
  /** Learn an elementwise scale, initially ones (default true). */
  useWeight?: boolean;
  /** Learn an elementwise shift, initially zeros (default true). */
  useBias?: boolean;
  dtype?: DType;
}

/**
 * Layer normalisation: `(x − mean) / √(var + eps) · weight + bias`, with the mean and (biased)
 * variance over the trailing axes `shape` (Equinox's `LayerNorm` and PyTorch's, whose
 * `normalized_shape` is `shape`); leading axes are examples, each normalised on its own.
 *
 * @example
 * const norm = new nn.LayerNorm(4);
 * const y = norm.forward(np.array([[1, 2, 3, 4], [2, 2, 2, 6]]));
 * console.log(y.shape); // [2, 4]
 * console.log(y.mean({ axis: -1 }).toList()); // [0, 0]
 */
export class LayerNorm extends Module {
  readonly weight: NDArray | null;
  readonly bias: NDArray | null;
  readonly shape: number[];
  readonly eps: number;

  constructor(shape: number | readonly number[], options: LayerNormOptions = {}) {
    super();
    this.shape = normalizedShape("nn.LayerNorm", shape);
    this.eps = checkEps("nn.LayerNorm", options.eps ?? 1e-5);
    const dtype = options.dtype ?? "float32";
    this.weight = options.useWeight === false ? null : np.ones(this.shape, { dtype });
    this.bias = options.useBias === false ? null : np.zeros(this.shape, { dtype });
  }

  forward(x: NDArray, _options: ForwardOptions = {}): NDArray {
    const axis = trailingAxes("nn.LayerNorm", x, this.shape);
    const centered = x.sub(x.mean({ axis, keepdims: true }));
    const variance = centered.mul(centered).mean({ axis, keepdims: true });
    let y = centered.div(np.sqrt(variance.add(this.eps)));
    if (this.weight !== null) y = y.mul(this.weight);
    return this.bias === null ? y : y.add(this.bias);
  }
}

export interface RMSNormOptions {
  /** Added to the mean square before the square root (default 1e-5). */
  eps?: number;
  /** Learn an elementwise scale, initially ones (default true). */
  useWeight?: boolean;
  /** Learn an elementwise shift, initially zeros (default false, as PyTorch's RMSNorm). */
  useBias?: boolean;
  dtype?: DType;
}

/**
 * Root-mean-square normalisation: `x / √(mean(x²) + eps) · weight (+ bias)`, the mean over the
 * trailing axes `shape` (Equinox's `RMSNorm`; PyTorch's without a bias); leading axes are
 * examples.
 *
 * @example
 * const norm = new nn.RMSNorm(2);
 * console.log(norm.forward(np.array([3, 4])).shape); // [2]
 */
export class RMSNorm extends Module {
  readonly weight: NDArray | null;
  readonly bias: NDArray | null;
  readonly shape: number[];
  readonly eps: number;

  constructor(shape: number | readonly number[], options: RMSNormOptions = {}) {
    super();
    this.shape = normalizedShape("nn.RMSNorm", shape);
    this.eps = checkEps("nn.RMSNorm", options.eps ?? 1e-5);
    const dtype = options.dtype ?? "float32";
    this.weight = options.useWeight === false ? null : np.ones(this.shape, { dtype });
    this.bias = options.useBias === true ? np.zeros(this.shape, { dtype }) : null;
  }

  forward(x: NDArray, _options: ForwardOptions = {}): NDArray {
    const axis = trailingAxes("nn.RMSNorm", x, this.shape);
    const meanSquare = x.mul(x).mean({ axis, keepdims: true });
    let y = x.div(np.sqrt(meanSquare.add(this.eps)));
    if (this.weight !== null) y = y.mul(this.weight);
    return this.bias === null ? y : y.add(this.bias);
  }
}

export interface GroupNormOptions {
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
  /** Learn a scale and a shift per channel, initially ones and zeros (default true). */
  channelwiseAffine?: boolean;
  dtype?: DType;
}

/** Options of `GroupNorm.forward`. */
export interface GroupNormForwardOptions extends ForwardOptions {
  /**
   * Whether `x` is a batch `[N, C, ...]` rather than one example `[C, ...]`. By default this is
   * read off the shape: a batch when axis 0 is not the channel count and axis 1 is. Give it when
   * both axes have `channels` entries.
   */
  batched?: boolean;
}

/**
 * Group normalisation: the channels split into `groups` groups, each normalised over its
 * channels and all other (spatial) axes, then scaled and shifted per channel (Equinox's and
 * PyTorch's `GroupNorm`). Channel-first: one example `[C, ...]` or a batch `[N, C, ...]`, whose
 * examples are normalised separately.
 *
 * @example
 * const norm = new nn.GroupNorm(2, 4);
 * console.log(norm.forward(random.normal(random.key(0), [4, 5, 5])).shape); // [4, 5, 5]
 * console.log(norm.forward(random.normal(random.key(1), [8, 4, 5, 5])).shape); // [8, 4, 5, 5]
 */
export class GroupNorm extends Module {
  readonly weight: NDArray | null;
  readonly bias: NDArray | null;
  readonly groups: number;
  readonly channels: number;
  readonly eps: number;

  constructor(groups: number, channels: number, options: GroupNormOptions = {}) {
    super();
    checkSize("nn.GroupNorm", "groups", groups);
    checkSize("nn.GroupNorm", "channels", channels);
    if (channels % groups !== 0) {
      throw new ValueError(
        "nn.GroupNorm",
        `groups must divide channels, got ${groups} groups for ${channels} channels.`,
      );
    }
    this.groups = groups;
    this.channels = channels;
    this.eps = checkEps("nn.GroupNorm", options.eps ?? 1e-5);
    const dtype = options.dtype ?? "float32";
    const affine = options.channelwiseAffine !== false;
    this.weight = affine ? np.ones([channels], { dtype }) : null;
    this.bias = affine ? np.zeros([channels], { dtype }) : null;
  }

  forward(x: NDArray, options: GroupNormForwardOptions = {}): NDArray {
    const batched = this.isBatch(x, options.batched);
    const lead = batched ? [x.shape[0]!] : [];
    const rest = x.shape.slice(lead.length + 1);
    const grouped = x.reshape([...lead, this.groups, this.channels / this.groups, ...rest]);
    const axis = rest.map((_, i) => lead.length + 2 + i).concat([lead.length + 1]);
    const centered = grouped.sub(grouped.mean({ axis, keepdims: true }));
    const variance = centered.mul(centered).mean({ axis, keepdims: true });
    const y = centered.div(np.sqrt(variance.add(this.eps))).reshape(x.shape);
    if (this.weight === null || this.bias === null) return y;
    const perChannel = [this.channels, ...rest.map(() => 1)];
    return y.mul(this.weight.reshape(perChannel)).add(this.bias.reshape(perChannel));
  }

  private isBatch(x: NDArray, batched: boolean | undefined): boolean {
    const c = this.channels;
    const fits = (axis: number): boolean => x.ndim > axis && x.shape[axis] === c;
    const expected = `[${c}, ...] (one example) or [batch, ${c}, ...]`;
    if (batched === undefined) {
      if (fits(0) && fits(1)) {
        throw new ShapeError(
          "nn.GroupNorm.forward",
          `shape ${shapeText(x.shape)} could be one example or a batch (axes 0 and 1 both have ${c} entries): say which with forward(x, { batched: true }) or { batched: false }.`,
        );
      }
      if (fits(0)) return false;
      if (fits(1)) return true;
    } else if (fits(batched ? 1 : 0)) {
      return batched;
    }
    throw new ShapeError(
      "nn.GroupNorm.forward",
      `expects ${batched === true ? `[batch, ${c}, ...]` : batched === false ? `[${c}, ...]` : expected} (channels first), got shape ${shapeText(x.shape)}.`,
    );
  }
}

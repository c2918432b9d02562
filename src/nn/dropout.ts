/**
 * `Dropout`: zeroes each element with probability `p` during training and scales the rest by
 * 1/(1 − p), so that the expected output is the input; the identity in inference.
 */
import type { NDArray } from "../core/array.js";
import { ValueError } from "../core/errors.js";
import * as np from "../numpy/index.js";
import * as random from "../random/index.js";
import { Module } from "./module.js";

/** Options of `Dropout.forward`. */
export interface DropoutForwardOptions {
  /** The randomness of this call (needed unless in inference or p = 0). */
  key?: NDArray;
  /** Overrides the layer's `inference` setting for this call. */
  inference?: boolean;
}

/**
 * Dropout (Equinox's and PyTorch's): in training, each element is kept with probability
 * 1 − p and scaled by 1/(1 − p), or set to 0; in inference (or with p = 0), the identity.
 *
 * @example
 * const dropout = new nn.Dropout(0.5);
 * const y = dropout.forward(np.ones([1000]), { key: random.key(0) });
 * console.log(y.max().item()); // 2
 * console.log(dropout.forward(np.ones([3]), { inference: true }).toList()); // [1, 1, 1]
 */
export class Dropout extends Module {
  readonly p: number;
  readonly inference: boolean;

  /**
   * @param p the probability of dropping an element, in [0, 1] (default 0.5).
   * @param options `inference`: whether the layer starts in inference mode (default false).
   */
  constructor(p = 0.5, options: { inference?: boolean } = {}) {
    super();
    if (typeof p !== "number" || !(p >= 0 && p <= 1)) {
      throw new ValueError("nn.Dropout", `p must be a probability in [0, 1], got ${String(p)}.`);
    }
    this.p = p;
    this.inference = options.inference === true;
  }

  forward(x: NDArray, options: DropoutForwardOptions = {}): NDArray {
    if ((options.inference ?? this.inference) || this.p === 0) return x;
    if (options.key === undefined) {
      throw new ValueError(
        "nn.Dropout.forward",
        "needs { key } (from random.split) in training; pass { inference: true } to turn dropout off.",
      );
    }
    if (this.p === 1) return np.zerosLike(x);
    const keep = 1 - this.p;
    return np.where(random.bernoulli(options.key, keep, x.shape), x.div(keep), 0);
  }
}

/**
 * More activation functions, with `jax.nn`'s names and definitions: the ReLU family (`relu6`,
 * `leakyRelu`, `elu`, `celu`, `selu`), the hard approximations (`hardSigmoid`, `hardSilu`,
 * `hardTanh`), `softSign`, `mish`, `squareplus`, `glu`, and `standardize`. Where a branch is not
 * taken its argument is made harmless first (`elu` never evaluates exp of a large x), so no
 * inf or NaN reaches a gradient.
 */
import type { ArrayLike, NDArray } from "../core/array.js";
import { ShapeError, ValueError } from "../core/errors.js";
import * as np from "../numpy/index.js";
import { floats, sigmoid, softplus } from "./functional.js";

function positive(operation: string, name: string, value: number): number {
  if (!(typeof value === "number" && value > 0)) {
    throw new ValueError(operation, `${name} must be a positive number, got ${String(value)}.`);
  }
  return value;
}

/** min(max(x, 0), 6). */
export function relu6(x: ArrayLike): NDArray {
  return np.minimum(np.maximum(floats("nn.relu6", x), 0), 6);
}

/** x for x ≥ 0, `negativeSlope`·x below (default slope 0.01). */
export function leakyRelu(x: ArrayLike, options: { negativeSlope?: number } = {}): NDArray {
  const a = floats("nn.leakyRelu", x);
  return np.where(a.ge(0), a, a.mul(options.negativeSlope ?? 0.01));
}

/** eˣ − 1 scaled by `alpha` on x ≤ 0, with exp never evaluated at a positive x. */
function negativeExpm1(a: NDArray, alpha: number, inner: number): NDArray {
  const safe = np.where(a.gt(0), 0, a);
  return np.expm1(safe.div(inner)).mul(alpha);
}

/** x for x > 0, α(eˣ − 1) below (default α = 1). */
export function elu(x: ArrayLike, options: { alpha?: number } = {}): NDArray {
  const a = floats("nn.elu", x);
  return np.where(a.gt(0), a, negativeExpm1(a, options.alpha ?? 1, 1));
}

/** x for x > 0, α(e^(x/α) − 1) below (default α = 1): continuously differentiable ELU. */
export function celu(x: ArrayLike, options: { alpha?: number } = {}): NDArray {
  const alpha = positive("nn.celu", "alpha", options.alpha ?? 1);
  const a = floats("nn.celu", x);
  return np.where(a.gt(0), a, negativeExpm1(a, alpha, alpha));
}

const seluAlpha = 1.6732632423543772;
const seluScale = 1.0507009873554805;

/** Scaled ELU: λ·elu(x, α) with λ = 1.0507…, α = 1.6732… (self-normalising). */
export function selu(x: ArrayLike): NDArray {
  return elu(floats("nn.selu", x), { alpha: seluAlpha }).mul(seluScale);
}

/** relu6(x + 3) / 6: a piecewise-linear sigmoid. */
export function hardSigmoid(x: ArrayLike): NDArray {
  return relu6(floats("nn.hardSigmoid", x).add(3)).div(6);
}

/** x·hardSigmoid(x) (also called hard swish). */
export function hardSilu(x: ArrayLike): NDArray {
  const a = floats("nn.hardSilu", x);
  return a.mul(hardSigmoid(a));
}

/** −1 below −1, 1 above 1, x between. */
export function hardTanh(x: ArrayLike): NDArray {
  const a = floats("nn.hardTanh", x);
  return np.where(a.gt(1), 1, np.where(a.lt(-1), -1, a));
}

/** x / (|x| + 1). */
export function softSign(x: ArrayLike): NDArray {
  const a = floats("nn.softSign", x);
  return a.div(np.abs(a).add(1));
}

/** x·tanh(softplus(x)). */
export function mish(x: ArrayLike): NDArray {
  const a = floats("nn.mish", x);
  return a.mul(np.tanh(softplus(a)));
}

/** (x + √(x² + b)) / 2, a smooth ReLU (default b = 4). */
export function squareplus(x: ArrayLike, options: { b?: number } = {}): NDArray {
  const b = options.b ?? 4;
  if (!(b >= 0)) throw new ValueError("nn.squareplus", `b must be ≥ 0, got ${b}.`);
  const a = floats("nn.squareplus", x);
  return a.add(np.sqrt(a.mul(a).add(b))).div(2);
}

/** Gated linear unit: x split in two halves a, b along `axis` (default −1), a·σ(b). */
export function glu(x: ArrayLike, options: { axis?: number } = {}): NDArray {
  const a = floats("nn.glu", x);
  const axis = options.axis ?? -1;
  const size = a.ndim === 0 ? 0 : a.shape[axis < 0 ? a.ndim + axis : axis];
  if (size === undefined || size % 2 !== 0) {
    throw new ShapeError(
      "nn.glu",
      `axis ${axis} must have an even size to split in two, got shape [${a.shape.join(", ")}].`,
    );
  }
  const [value, gate] = np.split(a, 2, { axis }) as [NDArray, NDArray];
  return value.mul(sigmoid(gate));
}

/** Options of `standardize`. */
export interface StandardizeOptions {
  /** The axis (or axes) to standardise over. Default −1. */
  axis?: number | readonly number[];
  /** Added to the variance. Default 1e-5. */
  epsilon?: number;
}

/** (x − mean) / √(variance + ε) over `axis`. */
export function standardize(x: ArrayLike, options: StandardizeOptions = {}): NDArray {
  const a = floats("nn.standardize", x);
  const axis = options.axis ?? -1;
  const epsilon = options.epsilon ?? 1e-5;
  if (!(epsilon >= 0))
    throw new ValueError("nn.standardize", `epsilon must be ≥ 0, got ${epsilon}.`);
  const centred = a.sub(a.mean({ axis, keepdims: true }));
  const variance = centred.mul(centred).mean({ axis, keepdims: true });
  return centred.div(np.sqrt(variance.add(epsilon)));
}

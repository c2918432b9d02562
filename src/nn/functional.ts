/**
 * Activations and losses of `nn`, as functions of arrays (JAX's `jax.nn` and Optax's losses):
 * written with `np` operations, so they differentiate, batch and compile like any other code,
 * in forms that stay finite where the naive formulas overflow.
 */
import type { ArrayLike, NDArray } from "../core/array.js";
import type { DType } from "../core/dtype.js";
import { ShapeError, ValueError } from "../core/errors.js";
import * as np from "../numpy/index.js";
import { asArray } from "../numpy/convert.js";
import { logistic } from "../lax/elementwise.js";
import { stopGradient } from "../transforms/custom.js";

/** Float input (integers become float32). */
/** `x` as a float array (integers and bools become float32). @internal */
export function floats(operation: string, x: ArrayLike): NDArray {
  const a = asArray(operation, x);
  return a.dtype === "float32" || a.dtype === "float64" ? a : a.astype("float32");
}

/** max(x, 0), NaN staying NaN; its derivative at 0 is 0, as in JAX. */
export function relu(x: ArrayLike): NDArray {
  const a = floats("nn.relu", x);
  return np.where(a.le(0), 0, a);
}

/**
 * The logistic sigmoid 1 / (1 + e^(−x)) (`lax.logistic`): 0 and 1 in the limits, never NaN, and
 * neither is its gradient.
 */
export function sigmoid(x: ArrayLike): NDArray {
  return logistic(floats("nn.sigmoid", x));
}

/** log(1 + eˣ), computed as max(x, 0) + log1p(e^(−|x|)) so that large |x| stays exact. */
export function softplus(x: ArrayLike): NDArray {
  const a = floats("nn.softplus", x);
  return np.maximum(a, 0).add(np.log1p(np.exp(np.abs(a).neg())));
}

/** log σ(x) = −softplus(−x). */
export function logSigmoid(x: ArrayLike): NDArray {
  return softplus(floats("nn.logSigmoid", x).neg()).neg();
}

/** x·σ(x) (also called swish). */
export function silu(x: ArrayLike): NDArray {
  const a = floats("nn.silu", x);
  return a.mul(sigmoid(a));
}

/**
 * GELU in its tanh form, JAX's default: ½x(1 + tanh(√(2/π)(x + 0.044715x³))). (PyTorch's default
 * is the erf form; the two differ by less than 1e-3.)
 */
export function gelu(x: ArrayLike): NDArray {
  const a = floats("nn.gelu", x);
  const inner = a.add(a.mul(a).mul(a).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
  return a.mul(0.5).mul(np.add(1, np.tanh(inner)));
}

export interface AxisOptions {
  /** The axis to normalise over (default −1). */
  axis?: number;
}

/** log softmax along `axis`: x − logsumexp(x). */
export function logSoftmax(x: ArrayLike, options: AxisOptions = {}): NDArray {
  const a = floats("nn.logSoftmax", x);
  const axis = options.axis ?? -1;
  const shifted = a.sub(stopGradient(a.max({ axis, keepdims: true })));
  return shifted.sub(np.log(np.exp(shifted).sum({ axis, keepdims: true })));
}

/** softmax along `axis`: eˣ / Σeˣ, shifted by the maximum (which does not change it). */
export function softmax(x: ArrayLike, options: AxisOptions = {}): NDArray {
  const a = floats("nn.softmax", x);
  const axis = options.axis ?? -1;
  const e = np.exp(a.sub(stopGradient(a.max({ axis, keepdims: true }))));
  return e.div(e.sum({ axis, keepdims: true }));
}

/**
 * One-hot encoding: a new last axis of `numClasses` with 1 at each label (labels outside
 * [0, numClasses) give all zeros, as in JAX).
 */
export function oneHot(
  labels: ArrayLike,
  numClasses: number,
  options: { dtype?: DType } = {},
): NDArray {
  if (!Number.isInteger(numClasses) || numClasses < 0) {
    throw new ValueError("nn.oneHot", `numClasses must be a whole number ≥ 0, got ${numClasses}.`);
  }
  const l = asArray("nn.oneHot", labels);
  const classes = np.arange(numClasses, { dtype: "int32" });
  return np.equal(np.expandDims(l.astype("int32"), -1), classes).astype(options.dtype ?? "float32");
}

/** Throws unless `a` and `b` have one shape. @internal */
export function sameShapes(
  operation: string,
  a: NDArray,
  b: NDArray,
  names: [string, string],
): void {
  if (a.ndim !== b.ndim || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new ShapeError(
      operation,
      `${names[0]} and ${names[1]} need the same shape, got [${a.shape.join(", ")}] and [${b.shape.join(", ")}].`,
    );
  }
}

/**
 * Cross-entropy of softmax(`logits`) against `labels` (probabilities, e.g. one-hot) along the
 * last axis, per example: −Σ labels·log softmax(logits) (Optax's `softmax_cross_entropy`).
 *
 * @example
 * const loss = nn.softmaxCrossEntropy(np.array([[2, 0, -1]]), nn.oneHot(np.array([0]), 3));
 * console.log(loss.shape); // [1]
 */
export function softmaxCrossEntropy(logits: ArrayLike, labels: ArrayLike): NDArray {
  const l = floats("nn.softmaxCrossEntropy", logits);
  const y = floats("nn.softmaxCrossEntropy", labels);
  sameShapes("nn.softmaxCrossEntropy", l, y, ["logits", "labels"]);
  return y.mul(logSoftmax(l)).sum({ axis: -1 }).neg();
}

/**
 * Binary cross-entropy of σ(`logits`) against `labels` in [0, 1], elementwise (Optax's
 * `sigmoid_binary_cross_entropy`), finite for any logits.
 */
export function sigmoidBinaryCrossEntropy(logits: ArrayLike, labels: ArrayLike): NDArray {
  const l = floats("nn.sigmoidBinaryCrossEntropy", logits);
  const y = floats("nn.sigmoidBinaryCrossEntropy", labels);
  sameShapes("nn.sigmoidBinaryCrossEntropy", l, y, ["logits", "labels"]);
  return y
    .mul(logSigmoid(l))
    .add(np.subtract(1, y).mul(logSigmoid(l.neg())))
    .neg();
}

/** The mean of (predictions − targets)² over every element (a scalar). */
export function meanSquaredError(predictions: ArrayLike, targets: ArrayLike): NDArray {
  const p = floats("nn.meanSquaredError", predictions);
  const t = floats("nn.meanSquaredError", targets);
  sameShapes("nn.meanSquaredError", p, t, ["predictions", "targets"]);
  const d = p.sub(t);
  return d.mul(d).mean();
}

/**
 * Huber loss, elementwise: ½d² for |d| ≤ delta, delta·(|d| − ½delta) beyond (Optax's
 * `huber_loss`), d = predictions − targets.
 */
export function huber(
  predictions: ArrayLike,
  targets: ArrayLike,
  options: { delta?: number } = {},
): NDArray {
  const delta = options.delta ?? 1;
  if (!(delta > 0)) {
    throw new ValueError("nn.huber", `delta must be positive, got ${delta}.`);
  }
  const p = floats("nn.huber", predictions);
  const t = floats("nn.huber", targets);
  sameShapes("nn.huber", p, t, ["predictions", "targets"]);
  const d = np.abs(p.sub(t));
  const quadratic = np.minimum(d, delta);
  const linear = d.sub(quadratic);
  return quadratic.mul(quadratic).mul(0.5).add(linear.mul(delta));
}

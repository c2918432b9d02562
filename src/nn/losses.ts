/**
 * More losses, with Optax's names and definitions: cross-entropy against integer labels, KL
 * divergence, cosine similarity and distance, the L2, log-cosh and hinge losses. Elementwise or
 * per example (over the last axis), as Optax returns them; take `.mean()` for a scalar.
 */
import type { ArrayLike, NDArray } from "../core/array.js";
import { ShapeError, ValueError } from "../core/errors.js";
import * as np from "../numpy/index.js";
import { floats, logSoftmax, oneHot, sameShapes } from "./functional.js";

/**
 * Cross-entropy of softmax(`logits`) against integer class `labels`, per example:
 * −log softmax(logits)[label] (Optax's `softmax_cross_entropy_with_integer_labels`). `labels`
 * has the shape of `logits` without its last axis; a label outside [0, classes) gives 0.
 */
export function softmaxCrossEntropyWithIntegerLabels(
  logits: ArrayLike,
  labels: ArrayLike,
): NDArray {
  const l = floats("nn.softmaxCrossEntropyWithIntegerLabels", logits);
  const y = np.asarray(labels as never);
  if (l.ndim === 0 || y.ndim !== l.ndim - 1 || y.shape.some((d, i) => d !== l.shape[i])) {
    throw new ShapeError(
      "nn.softmaxCrossEntropyWithIntegerLabels",
      `labels must have the shape of logits without the class axis: logits [${l.shape.join(", ")}], labels [${y.shape.join(", ")}].`,
    );
  }
  if (y.dtype !== "int32" && y.dtype !== "uint32") {
    throw new ValueError(
      "nn.softmaxCrossEntropyWithIntegerLabels",
      `labels must be integers (int32), got ${y.dtype}; for probabilities use nn.softmaxCrossEntropy.`,
    );
  }
  const classes = l.shape[l.ndim - 1]!;
  return logSoftmax(l)
    .mul(oneHot(y, classes, { dtype: l.dtype }))
    .sum({ axis: -1 })
    .neg();
}

/**
 * KL(targets ‖ predictions) per example over the last axis, from log-probabilities
 * `logPredictions` and probabilities `targets`: Σ t·(log t − log p), with 0·log 0 = 0.
 */
export function klDivergence(logPredictions: ArrayLike, targets: ArrayLike): NDArray {
  const p = floats("nn.klDivergence", logPredictions);
  const t = floats("nn.klDivergence", targets);
  sameShapes("nn.klDivergence", p, t, ["logPredictions", "targets"]);
  const zero = t.eq(0);
  const logT = np.where(zero, 0, np.log(np.where(zero, 1, t)));
  return t.mul(logT.sub(p)).sum({ axis: -1 });
}

/** Options of `cosineSimilarity` and `cosineDistance`. */
export interface CosineOptions {
  /** The smallest norm divided by, so that a zero vector gives 0 (not NaN). Default 1e-8. */
  epsilon?: number;
}

/** a·b / (‖a‖‖b‖) over the last axis, per example, each norm at least `epsilon`. */
export function cosineSimilarity(
  predictions: ArrayLike,
  targets: ArrayLike,
  options: CosineOptions = {},
): NDArray {
  const epsilon = options.epsilon ?? 1e-8;
  if (!(epsilon >= 0))
    throw new ValueError("nn.cosineSimilarity", `epsilon must be ≥ 0, got ${epsilon}.`);
  const a = floats("nn.cosineSimilarity", predictions);
  const b = floats("nn.cosineSimilarity", targets);
  sameShapes("nn.cosineSimilarity", a, b, ["predictions", "targets"]);
  // ‖v‖ = √(Σv²), made at least ε before the square root's derivative sees a zero.
  const norm = (v: NDArray): NDArray =>
    np.sqrt(np.maximum(v.mul(v).sum({ axis: -1, keepdims: true }), epsilon * epsilon));
  return a
    .div(norm(a))
    .mul(b.div(norm(b)))
    .sum({ axis: -1 });
}

/** 1 − cosineSimilarity. */
export function cosineDistance(
  predictions: ArrayLike,
  targets: ArrayLike,
  options: CosineOptions = {},
): NDArray {
  return np.subtract(1, cosineSimilarity(predictions, targets, options));
}

function difference(operation: string, predictions: ArrayLike, targets?: ArrayLike): NDArray {
  const p = floats(operation, predictions);
  if (targets === undefined) return p;
  const t = floats(operation, targets);
  sameShapes(operation, p, t, ["predictions", "targets"]);
  return p.sub(t);
}

/** ½(predictions − targets)², elementwise (targets default to 0). */
export function l2Loss(predictions: ArrayLike, targets?: ArrayLike): NDArray {
  const d = difference("nn.l2Loss", predictions, targets);
  return d.mul(d).mul(0.5);
}

/** log cosh(predictions − targets), elementwise, without overflow: |d| + log1p(e^(−2|d|)) − log 2. */
export function logCosh(predictions: ArrayLike, targets?: ArrayLike): NDArray {
  const d = np.abs(difference("nn.logCosh", predictions, targets));
  return d.add(np.log1p(np.exp(d.mul(-2)))).sub(Math.LN2);
}

/** max(0, 1 − scores·labels), elementwise, labels ±1. */
export function hingeLoss(scores: ArrayLike, labels: ArrayLike): NDArray {
  const s = floats("nn.hingeLoss", scores);
  const y = floats("nn.hingeLoss", labels);
  sameShapes("nn.hingeLoss", s, y, ["scores", "labels"]);
  return np.maximum(np.subtract(1, s.mul(y)), 0);
}

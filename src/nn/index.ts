/**
 * `nn`: building blocks for neural networks. Activations and losses so far (modules, layers and
 * initialisers follow).
 */
export {
  relu,
  sigmoid,
  softplus,
  logSigmoid,
  silu,
  gelu,
  softmax,
  logSoftmax,
  oneHot,
  softmaxCrossEntropy,
  sigmoidBinaryCrossEntropy,
  meanSquaredError,
  huber,
  type AxisOptions,
} from "./functional.js";

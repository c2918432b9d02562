/**
 * `nn`: neural-network building blocks — modules (immutable pytrees of parameters), layers,
 * activations, losses, and transforms that see only a model's arrays.
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
export {
  Module,
  ModuleError,
  parameterCount,
  isArray,
  isInexactArray,
  partition,
  combine,
  treeAt,
} from "./module.js";
export {
  Linear,
  MLP,
  Sequential,
  Lambda,
  Conv,
  Conv1d,
  Conv2d,
  type ConvOptions,
  type LinearOptions,
  type MLPOptions,
  type ForwardOptions,
  type Activation,
  type Layer,
} from "./layers.js";
export { filterGrad, filterValueAndGrad, filterJit } from "./filtered.js";
export { serialize, deserialize, save, load, SerializationError } from "./safetensors.js";

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
  silu as swish,
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
  relu6,
  leakyRelu,
  elu,
  celu,
  selu,
  hardSigmoid,
  hardSilu,
  hardSilu as hardSwish,
  hardTanh,
  softSign,
  mish,
  squareplus,
  glu,
  standardize,
  type StandardizeOptions,
} from "./activations.js";
export {
  softmaxCrossEntropyWithIntegerLabels,
  klDivergence,
  cosineSimilarity,
  cosineDistance,
  l2Loss,
  logCosh,
  hingeLoss,
  type CosineOptions,
} from "./losses.js";
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
  Identity,
  Flatten,
  PReLU,
  type FlattenOptions,
  type PReLUOptions,
  type LinearOptions,
  type MLPOptions,
  type ForwardOptions,
  type Activation,
  type Layer,
} from "./layers.js";
export {
  Conv,
  Conv1d,
  Conv2d,
  Conv3d,
  ConvTranspose,
  ConvTranspose1d,
  ConvTranspose2d,
  ConvTranspose3d,
  type ConvOptions,
  type ConvTransposeOptions,
} from "./conv.js";
export {
  filterGrad,
  filterValueAndGrad,
  filterJit,
  filterVmap,
  type FilterVmapOptions,
} from "./filtered.js";
export { serialize, deserialize, save, load, SerializationError } from "./safetensors.js";
export * as init from "./init.js";
export {
  LayerNorm,
  RMSNorm,
  GroupNorm,
  type LayerNormOptions,
  type RMSNormOptions,
  type GroupNormOptions,
  type GroupNormForwardOptions,
} from "./normalization.js";
export {
  BatchNorm,
  State,
  StateIndex,
  makeWithState,
  type BatchNormOptions,
  type BatchNormState,
  type StatefulLayer,
} from "./batch-norm.js";
export { Dropout, type DropoutForwardOptions } from "./dropout.js";
export { Embedding, type EmbeddingOptions } from "./embedding.js";
export {
  MultiheadAttention,
  dotProductAttention,
  RotaryPositionalEmbedding,
  type DotProductAttentionOptions,
  type RotaryPositionalEmbeddingOptions,
  type MultiheadAttentionOptions,
  type AttentionForwardOptions,
} from "./attention.js";
export { GRUCell, LSTMCell, type RecurrentCellOptions } from "./recurrent.js";
export {
  maxPool,
  avgPool,
  adaptiveAvgPool,
  adaptiveMaxPool,
  MaxPool1d,
  MaxPool2d,
  MaxPool3d,
  AvgPool1d,
  AvgPool2d,
  AvgPool3d,
  AdaptiveAvgPool1d,
  AdaptiveAvgPool2d,
  AdaptiveAvgPool3d,
  AdaptiveMaxPool1d,
  AdaptiveMaxPool2d,
  AdaptiveMaxPool3d,
  type PoolOptions,
} from "./pooling.js";

/**
 * `lax`: the lower-level operations under `np`, with JAX's names (camelCase) and options objects.
 */
export { conv, type ConvOptions, type ConvPadding } from "./conv.js";
export { dotGeneral, type DotGeneralOptions } from "./dot.js";
export { logistic } from "./elementwise.js";
export { topK } from "./sorting.js";
export { reduceWindow, type ReduceWindowOptions } from "./window.js";
export { stopGradient } from "../transforms/custom.js";
export {
  cond,
  switchBranches as switch,
  scan,
  map,
  foriLoop,
  whileLoop,
  select,
  type ScanOptions,
  type WhileLoopOptions,
} from "./control.js";
export { WhileLoopReverseError } from "./control-primitives.js";

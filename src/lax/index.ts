/**
 * `lax`: the lower-level operations under `np`, with JAX's names (camelCase) and options objects.
 */
export { conv, type ConvOptions, type ConvPadding } from "./conv.js";
export { cond as condPrimitive } from "./control-primitives.js";

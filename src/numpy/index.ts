/**
 * The `np` namespace: NumPy's API in camelCase. Importing it installs NDArray's methods.
 */
import { installArrayMethods, type NDArray } from "../core/array.js";
import type { DType } from "../core/dtype.js";
import { checkDTypeName, promoteTypes } from "../core/dtype.js";
import { asArray, convert } from "./convert.js";
import { at, get } from "./indexing.js";
import * as math from "./math.js";
import * as products from "./products.js";
import * as reductions from "./reductions.js";
import * as shape from "./shape.js";
import { ellipsis, newaxis, slice } from "./index-parse.js";

/** `x` converted to `dtype` (a new array; floats to ints truncate toward zero). */
export function astype(x: NDArray | number | boolean, dtype: DType): NDArray {
  return convert(asArray("np.astype", x), checkDTypeName("x.astype", dtype));
}

installArrayMethods({
  add: math.add,
  subtract: math.subtract,
  multiply: math.multiply,
  divide: math.divide,
  power: math.power,
  negative: math.negative,
  matmul: products.matmul,
  reshape: shape.reshape,
  transpose: shape.transpose,
  sum: reductions.sum,
  prod: reductions.prod,
  mean: reductions.mean,
  max: reductions.max,
  min: reductions.min,
  all: reductions.all,
  any: reductions.any,
  astype,
  less: math.less,
  lessEqual: math.lessEqual,
  greater: math.greater,
  greaterEqual: math.greaterEqual,
  equal: math.equal,
  notEqual: math.notEqual,
  get,
  at,
});

export const float32: DType = "float32";
export const float64: DType = "float64";
export const int32: DType = "int32";
export const uint32: DType = "uint32";
export const bool: DType = "bool";

export * from "./contractions.js";
export * from "./creation.js";
export * from "./math.js";
export * from "./math-extra.js";
export * from "./shape-extra.js";
export * from "./statistics.js";
export * from "./searching.js";
export * from "./polynomial.js";
export * from "./array-api.js";
export * from "./products.js";
export * from "./shape.js";
export * from "./sorting.js";
export * as linalg from "./linalg.js";
export {
  sum,
  prod,
  mean,
  std,
  max,
  min,
  all,
  any,
  argmax,
  argmin,
  logsumexp,
  cumsum,
  cumprod,
  variance as var,
} from "./reductions.js";
export type { ReduceOptions, VarianceOptions, ArgOptions } from "./reductions.js";
export { ellipsis, newaxis, slice, promoteTypes };
export type { DType };

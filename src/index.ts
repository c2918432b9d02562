/**
 * fluxion: composable transformations of numerical programs for TypeScript.
 *
 * @example
 * import { np } from "fluxion";
 * const x = np.arange(6).reshape([2, 3]);
 * console.log(x.get("..., 1:").sum().item()); // 12
 */
export * as np from "./numpy/index.js";
export * as lax from "./lax/index.js";
export * as random from "./random/index.js";
export * as nn from "./nn/index.js";
export * as optim from "./optim/index.js";
export * as ode from "./ode/index.js";
export * as tree from "./core/tree.js";
export { NDArray } from "./core/array.js";
export type { ArrayLike, AtUpdater, IndexItem, NestedList, ReduceOptions } from "./core/array.js";
export type { DType } from "./core/dtype.js";
export { AbstractValue } from "./core/aval.js";
export {
  FluxionError,
  ShapeError,
  DtypeError,
  IndexError,
  TracerError,
  TreeError,
  GradientCheckError,
  SolverError,
  ValueError,
} from "./core/errors.js";
export { Program, Equation, Var, Literal } from "./core/ir.js";
export { makeProgram } from "./transforms/staging.js";
export { jvp } from "./transforms/jvp.js";
export { vjp, grad, valueAndGrad, linearize } from "./transforms/grad.js";
export type { GradOptions } from "./transforms/grad.js";
export { vmap } from "./transforms/vmap.js";
export type { VmapOptions, AxisSpec } from "./transforms/vmap.js";
export { stopGradient, customJvp, customVjp, checkpoint } from "./transforms/custom.js";
export type { CustomJvpFunction, CustomVjpFunction } from "./transforms/custom.js";
export { jacfwd, jacrev, hessian, evalShape } from "./transforms/jacobian.js";
export type { JacobianOptions } from "./transforms/jacobian.js";
export { checkGrads } from "./transforms/check.js";
export type { CheckGradsOptions } from "./transforms/check.js";
export { jit, Lowered, Compiled } from "./transforms/jit.js";
export type {
  JitOptions,
  Jitted,
  CostAnalysis,
  CompileReport,
  KernelReport,
} from "./transforms/jit.js";
import "./runtime/jit-backend.js";
import "./runtime/matmul.js";
import "./runtime/unary-kernels.js";
import "./runtime/binary-kernels.js";
import "./runtime/reduce-kernels.js";
import "./runtime/conv-kernels.js";
import "./runtime/window-kernels.js";
import "./runtime/elementwise-kernels.js";
export { config } from "./runtime/config.js";
export type { RuntimeConfig } from "./runtime/config.js";

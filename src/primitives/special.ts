/**
 * Primitives that exist for transforms: `stop_gradient` (identity with a zero derivative) and
 * `custom_lin` (the linear part of a function with a user-given backward pass).
 */
import type { AbstractValue } from "../core/aval.js";
import type { NDArray } from "../core/array.js";
import { ValueError } from "../core/errors.js";
import { definePrimitive, type Primitive } from "../core/primitive.js";
import { bind1 } from "../core/trace.js";
import * as ops from "./ops.js";

/** Identity whose derivative is zero: `stopGradient(x)`. */
export const stopGradient: Primitive<Record<string, never>> = definePrimitive<
  Record<string, never>
>({
  name: "stop_gradient",
  linear: false,
  abstractEval: ([x]) => [x!],
  impl: ([x]) => [x!],
  jvp: ([x]) => [[bind1(stopGradient, [x!], {})], [null]],
  batch: ([x], [axis]) => [[bind1(stopGradient, [x!], {})], [axis!]],
});

/** Parameters of `custom_lin`: the functions that define it and the output types. */
export interface CustomLinParams {
  /** Number of leading inputs that are residuals (known values); the rest are tangents. */
  numResiduals: number;
  /** Output types (the tangents of the outputs). */
  outAvals: readonly AbstractValue[];
  /** Cotangents of the tangent inputs from the residuals and output cotangents. */
  backward: (residuals: NDArray[], cotangents: NDArray[]) => (NDArray | null)[];
  /** Forward-mode evaluation, when the function has one (checkpoint does; customVjp does not). */
  forward: ((residuals: NDArray[], tangents: NDArray[]) => NDArray[]) | null;
  /** The batching rule, supplied by the transform that made the equation (it knows vmap). */
  batched: (
    inputs: readonly NDArray[],
    axes: readonly (number | null)[],
  ) => [NDArray[], (number | null)[]];
  /** Name shown in the IR and in errors. */
  name: string;
}

/**
 * The tangent map of a function whose reverse mode the user defined. Linear in the tangent
 * inputs; its transpose runs the user's backward function.
 */
export const customLin: Primitive<CustomLinParams> = definePrimitive<CustomLinParams>({
  name: "custom_lin",
  linear: true,
  formatParams: (p) => `name=${p.name}`,
  abstractEval: (_, { outAvals }) => [...outAvals],
  impl(inputs, params) {
    if (params.forward === null) {
      throw new ValueError(
        params.name,
        "forward-mode differentiation (jvp, jacfwd) of a customVjp function is not possible: it only " +
          "defines a backward pass. Use grad/vjp/jacrev, or define the derivative with customJvp.",
      );
    }
    return params.forward(inputs.slice(0, params.numResiduals), inputs.slice(params.numResiduals));
  },
  jvp(primals, tangents, params) {
    if (tangents.slice(0, params.numResiduals).some((t) => t !== null) || params.forward === null) {
      throw new ValueError(
        params.name,
        "higher-order derivatives through a customVjp backward pass are not supported yet; " +
          "define the derivative with customJvp to differentiate it again.",
      );
    }
    const outs = bindCustomLin(primals, params);
    const ts = tangents
      .slice(params.numResiduals)
      .map((t, i) => t ?? ops.zerosLike(primals[params.numResiduals + i]!));
    return [outs, bindCustomLin([...primals.slice(0, params.numResiduals), ...ts], params)];
  },
  transpose(cotangents, inputs, params) {
    const residuals = inputs.slice(0, params.numResiduals) as NDArray[];
    const cts = cotangents.map((c, i) => c ?? ops.zerosLike(params.outAvals[i]!));
    return [...residuals.map(() => null), ...params.backward(residuals, cts)];
  },
  batch: (inputs, axes, params) => params.batched(inputs, axes),
});

function bindCustomLin(inputs: readonly NDArray[], params: CustomLinParams): NDArray[] {
  return params.forward!(inputs.slice(0, params.numResiduals), inputs.slice(params.numResiduals));
}

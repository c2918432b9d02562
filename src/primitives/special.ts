/**
 * Primitives that exist for transforms: `stop_gradient` (identity with a zero derivative) and
 * `custom_lin` (the linear part of a function with a user-given backward pass).
 */
import { AbstractValue } from "../core/aval.js";
import type { NDArray } from "../core/array.js";
import { ValueError } from "../core/errors.js";
import { definePrimitive, type Primitive, type PrimitiveExample } from "../core/primitive.js";
import { bind, bind1 } from "../core/trace.js";
import * as ops from "./ops.js";
import { batchToFront } from "./rules.js";

/** Identity whose derivative is zero: `stopGradient(x)`. */
export const stopGradient: Primitive<Record<string, never>> = definePrimitive<
  Record<string, never>
>({
  name: "stop_gradient",
  linear: false,
  // Its derivative is zero by definition, not the identity's, so finite differences (which see
  // the identity) cannot check it: no input is differentiated.
  examples: () =>
    (
      [
        ["float32", [3]],
        ["float32", []],
        ["float32", [2, 0]],
        ["int32", [2, 2]],
      ] as const
    ).map(([dtype, shape]) => ({ inputs: [{ shape, dtype }], params: {}, differentiable: [] })),
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
  examples: customLinExamples,
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
    const outs = bind(customLin, primals, params);
    const ts = tangents
      .slice(params.numResiduals)
      .map((t, i) => t ?? ops.zerosLike(primals[params.numResiduals + i]!));
    // Linear in the tangents, so their image is this map again: bound (not evaluated through
    // `forward`), so that reverse mode stages it and transposes it with `backward`.
    return [outs, bind(customLin, [...primals.slice(0, params.numResiduals), ...ts], params)];
  },
  transpose(cotangents, inputs, params) {
    const residuals = inputs.slice(0, params.numResiduals) as NDArray[];
    const cts = cotangents.map((c, i) => c ?? ops.zerosLike(params.outAvals[i]!));
    return [...residuals.map(() => null), ...params.backward(residuals, cts)];
  },
  batch: (inputs, axes, params) => params.batched(inputs, axes),
});

// ----------------------------------------------------------------------------- sweep examples

type Tangents = (residuals: NDArray[], tangents: NDArray[]) => NDArray[];

/**
 * `custom_lin` params for a fixed linear map (float64 in and out, so the sweep's float64
 * gradient checks and its float32 runs see the same types) with its transpose as `backward`.
 * `batched` rebinds on inputs batched at 0, as the transforms' own params do.
 */
function linearMapParams(
  name: string,
  outShapes: readonly (readonly number[])[],
  numResiduals: number,
  forward: Tangents,
  backward: Tangents,
): CustomLinParams {
  return {
    name,
    numResiduals,
    outAvals: outShapes.map((shape) => new AbstractValue(shape, "float64")),
    forward,
    backward,
    batched(inputs, axes) {
      const moved = batchToFront(inputs, axes);
      const size = moved[0]!.shape[0]!;
      const batchedShapes = outShapes.map((shape) => [size, ...shape]);
      const params = linearMapParams(name, batchedShapes, numResiduals, forward, backward);
      const outs = bind(customLin, moved, params);
      return [outs, outs.map(() => 0)];
    },
  };
}

const times = (x: NDArray, k: number): NDArray => ops.mul(x, ops.constant(k, x));

function customLinExamples(): PrimitiveExample<CustomLinParams>[] {
  const float64 = (shape: readonly number[]) => ({ shape, dtype: "float64" as const });
  const triple = (shape: readonly number[]): PrimitiveExample<CustomLinParams> => ({
    inputs: [float64(shape)],
    params: linearMapParams(
      "triple",
      [shape],
      0,
      (_, [t]) => [times(t!, 3)],
      (_, [ct]) => [times(ct!, 3)],
    ),
    linearIn: [0],
  });
  return [
    triple([3]),
    triple([]),
    triple([2, 0]),
    triple([2, 1, 3]),
    // Two tangents in, two out: (a, b) ↦ (a + 2b, 3a), transposed (u, w) ↦ (u + 3w, 2u).
    {
      inputs: [float64([2, 2]), float64([2, 2])],
      params: linearMapParams(
        "mix",
        [
          [2, 2],
          [2, 2],
        ],
        0,
        (_, [a, b]) => [ops.add(a!, times(b!, 2)), times(a!, 3)],
        (_, [u, w]) => [ops.add(u!, times(w!, 3)), times(u!, 2)],
      ),
      linearIn: [0, 1],
    },
    // A residual r (not differentiated: custom_lin is linear in its tangents only): t ↦ r·t.
    {
      inputs: [float64([3]), float64([3])],
      params: linearMapParams(
        "scale",
        [[3]],
        1,
        ([r], [t]) => [ops.mul(r!, t!)],
        ([r], [ct]) => [ops.mul(r!, ct!)],
      ),
      differentiable: [1],
      linearIn: [1],
    },
  ];
}

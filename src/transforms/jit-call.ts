/**
 * `jit_call`: a jitted function called while an enclosing function is being staged (an outer
 * `jit`, a loop body, a branch) is one equation holding its program, staged once per signature
 * and reused from the inner function's cache: a layer jitted on its own and called many times in
 * a jitted model is traced once, and the IR shows the call. Transforms evaluate the program
 * under themselves; compiling inlines it (`compiler/passes/inline.ts`).
 */
import { AbstractValue } from "../core/aval.js";
import { ShapeError } from "../core/errors.js";
import type { Program } from "../core/ir.js";
import { definePrimitive, type Primitive, type PrimitiveExample } from "../core/primitive.js";
import { indent, runProgram, sameTypes, stageFlat } from "../lax/programs.js";
import * as ops from "../primitives/ops.js";
import * as unary from "../primitives/unary.js";
import { jvpFlat } from "./jvp.js";
import { vmapFlat } from "./vmap.js";

/** Parameters of `jit_call`: the function's name and its program (no constants of its own). */
export interface JitCallParams {
  name: string;
  program: Program;
}

export const jitCall: Primitive<JitCallParams> = definePrimitive<JitCallParams>({
  name: "jit_call",
  linear: false,
  examples: jitCallExamples,
  formatParams: ({ name, program }) =>
    `name=${name} program=(\n      ${indent(program.toString(), "      ")}\n    )`,
  abstractEval(inputs, { name, program }) {
    if (!sameTypes(program.inAvals, inputs)) {
      throw new ShapeError(`jit(${name})`, "the staged program was called with other types.");
    }
    return program.outAvals;
  },
  impl: (inputs, { program }) => runProgram(program, inputs),
  jvp(primals, tangents, { program }) {
    const [outs, outTangents] = jvpFlat((xs) => runProgram(program, xs), primals, tangents);
    return [outs, outTangents];
  },
  batch(inputs, axes, { program }) {
    const [outs, outAxes] = vmapFlat((xs) => runProgram(program, xs), inputs, axes);
    return [outs, outAxes];
  },
});

function jitCallExamples(): PrimitiveExample<JitCallParams>[] {
  const f64 = (shape: number[]): AbstractValue => new AbstractValue(shape, "float64");
  const program = stageFlat(
    "jit",
    ([x, y]) => [ops.mul(x!, ops.unary(unary.sin, y!)), ops.add(x!, y!)],
    [f64([2, 3]), f64([2, 3])],
  );
  return [
    {
      inputs: [
        { shape: [2, 3], dtype: "float64" },
        { shape: [2, 3], dtype: "float64" },
      ],
      params: { name: "f", program },
    },
  ];
}

/**
 * Constant folding: an equation whose inputs are all literals or constants is evaluated once at
 * compile time. Scalar results become literals; small array results become constants.
 *
 * A constant array whose elements are all one value (a broadcast scalar: the zeros and ones that
 * derivatives of relu, sums and means bring in) becomes a literal where an elementwise equation
 * reads it beside a full-shape operand, so the kernel splats the value instead of reading an
 * array of it (which a call would otherwise fill, megabytes for a convolution's activations).
 */
import type { NDArray } from "../../core/array.js";
import { Equation, Literal, Program, Var, type Atom } from "../../core/ir.js";
import * as ops from "../../primitives/ops.js";
import { asConcrete } from "../../runtime/concrete.js";
import { isElementwise } from "../schedule.js";
import { Substitution, withEquations } from "./rewrite.js";

/** The one value of a constant broadcast from a scalar (every stride 0), else undefined. */
function uniformValue(x: NDArray): number | undefined {
  const c = asConcrete(x);
  if (c.ndim === 0 || !c.strides.every((s) => s === 0)) return undefined;
  return Number(c.data[c.offset]);
}

/**
 * `eq` with its uniform constant inputs as literals, when another input (kept) has the output's
 * shape; `eq` itself when none qualifies.
 */
function literalizeUniform(eq: Equation, values: ReadonlyMap<Var, NDArray>): Equation {
  if (!isElementwise(eq)) return eq;
  // Not predicates: select's mask stays an array, as the vector kernels read masks.
  const uniform = eq.inputs.map((a) => {
    const value = a instanceof Var && a.aval.dtype !== "bool" ? values.get(a) : undefined;
    return value === undefined ? undefined : uniformValue(value);
  });
  const keeps = eq.inputs.some((a, i) => a.aval.ndim > 0 && uniform[i] === undefined);
  if (!keeps || uniform.every((u) => u === undefined)) return eq;
  const inputs = eq.inputs.map((a, i) =>
    uniform[i] === undefined ? a : new Literal(uniform[i]!, a.aval.withShape([])),
  );
  return new Equation(eq.primitive, inputs, eq.outputs, eq.params, eq.source);
}

/** Array results larger than this are not folded (they would bloat the compiled program). */
const maxFoldedSize = 4096;

export function foldConstants(program: Program): Program {
  const values = new Map<Var, NDArray>();
  program.constvars.forEach((v, i) => values.set(v, program.consts[i]!));
  const valueOf = (a: Atom): NDArray | undefined =>
    a instanceof Literal ? ops.constant(a.value, a.aval.dtype, a.aval.weakType) : values.get(a);
  const substitution = new Substitution();
  const equations: Equation[] = [];
  const newConstvars = [...program.constvars];
  const newConsts = [...program.consts];
  let folded = 0;
  for (const original of program.equations) {
    const eq = substitution.equation(original);
    const inputs = eq.inputs.map(valueOf);
    const small = eq.outputs.every((v) => v.aval.size <= maxFoldedSize);
    if (!small || inputs.some((x) => x === undefined)) {
      const literalized = literalizeUniform(eq, values);
      if (literalized !== eq) folded++;
      equations.push(literalized);
      continue;
    }
    const outs = eq.primitive.spec.impl(inputs as NDArray[], eq.params);
    folded++;
    eq.outputs.forEach((v, i) => {
      const out = outs[i]!;
      if (out.ndim === 0) {
        substitution.set(v, new Literal(Number(out.item()), v.aval));
      } else {
        values.set(v, out);
        newConstvars.push(v);
        newConsts.push(out);
      }
    });
  }
  if (folded === 0) return program;
  return withEquations(program, equations, substitution, newConstvars, newConsts);
}

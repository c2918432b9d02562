/**
 * Constant folding: an equation whose inputs are all literals or constants is evaluated once at
 * compile time. Scalar results become literals; small array results become constants.
 */
import type { NDArray } from "../../core/array.js";
import { Equation, Literal, Program, Var, type Atom } from "../../core/ir.js";
import * as ops from "../../primitives/ops.js";
import { Substitution, withEquations } from "./rewrite.js";

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
      equations.push(eq);
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

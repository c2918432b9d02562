/**
 * Common-subexpression elimination: an equation with the same primitive, params and inputs as
 * an earlier one reuses that one's outputs.
 */
import type { Program, Var } from "../../core/ir.js";
import { atomKey, paramsKey, Substitution, withEquations } from "./rewrite.js";

export function eliminateCommonSubexpressions(program: Program): Program {
  const ids = new Map<Var, number>();
  const seen = new Map<string, readonly Var[]>();
  const substitution = new Substitution();
  const equations = [];
  for (const original of program.equations) {
    const eq = substitution.equation(original);
    const key = `${eq.primitive.name}|${paramsKey(eq.params)}|${eq.inputs.map((a) => atomKey(a, ids)).join(",")}`;
    const previous = seen.get(key);
    if (previous !== undefined) {
      eq.outputs.forEach((v, i) => substitution.set(v, previous[i]!));
      continue;
    }
    seen.set(key, eq.outputs);
    equations.push(eq);
  }
  if (substitution.size === 0) return program;
  return withEquations(program, equations, substitution);
}

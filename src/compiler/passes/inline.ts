/**
 * Inlining: a `custom_jvp_call` equation (a function with a user-given derivative, staged with
 * its rule) becomes its body's equations, so that compiled code fuses and optimises through it.
 * The rule is only needed by transforms, which run before compilation. Calls nested in a body
 * are inlined too.
 */
import { Equation, Var, type Atom, type Program } from "../../core/ir.js";
import { bodyInputs, customCall, type CustomCallParams } from "../../transforms/custom-call.js";
import { Substitution, withEquations } from "./rewrite.js";

export function inlineCalls(program: Program): Program {
  if (!program.equations.some((eq) => eq.primitive === customCall)) return program;
  const outer = new Substitution();
  const equations: Equation[] = [];
  // `rename` maps the variables of the program `eqs` come from into the result.
  const emit = (
    eqs: readonly Equation[],
    rename: (a: Atom) => Atom,
    bind: (v: Var, a: Atom) => void,
  ): void => {
    for (const eq of eqs) {
      const inputs = eq.inputs.map(rename);
      if (eq.primitive !== customCall) {
        const outputs = eq.outputs.map((v) => new Var(v.aval));
        eq.outputs.forEach((v, i) => bind(v, outputs[i]!));
        equations.push(new Equation(eq.primitive, inputs, outputs, eq.params, eq.source));
        continue;
      }
      const p = eq.params as CustomCallParams;
      const inner = new Substitution();
      p.body.invars.forEach((v, i) => inner.set(v, bodyInputs(inputs, p)[i]!));
      emit(
        p.body.equations,
        (a) => inner.apply(a),
        (v, a) => inner.set(v, a),
      );
      eq.outputs.forEach((v, i) => bind(v, inner.apply(p.body.outputs[i]!)));
    }
  };
  emit(
    program.equations,
    (a) => outer.apply(a),
    (v, a) => outer.set(v, a),
  );
  return withEquations(program, equations, outer);
}

/**
 * Inlining of nested programs: a `custom_jvp_call` (a function with a user-given derivative,
 * staged with its rule) or a `jit_call` (a jitted function called inside staged code) becomes
 * its program's equations, so that compiled code fuses and optimises across the call. Their
 * rules only matter to transforms, which run before compilation. Calls nested in an inlined
 * program are inlined too.
 */
import { Equation, Var, type Atom, type Program } from "../../core/ir.js";
import { bodyInputs, customCall, type CustomCallParams } from "../../transforms/custom-call.js";
import { jitCall, type JitCallParams } from "../../transforms/jit-call.js";
import { Substitution, withEquations } from "./rewrite.js";

/** The program an equation calls, and the atoms bound to its inputs; undefined for others. */
function callee(eq: Equation, inputs: readonly Atom[]): [Program, readonly Atom[]] | undefined {
  if (eq.primitive === customCall) {
    const p = eq.params as CustomCallParams;
    return [p.body, bodyInputs(inputs, p)];
  }
  if (eq.primitive === jitCall) return [(eq.params as JitCallParams).program, inputs];
  return undefined;
}

export function inlineCalls(program: Program): Program {
  if (!program.equations.some((eq) => callee(eq, eq.inputs) !== undefined)) return program;
  const equations: Equation[] = [];
  /** Emits `eqs`, whose variables `names` maps to atoms of the result. */
  const emit = (eqs: readonly Equation[], names: Substitution): void => {
    for (const eq of eqs) {
      const inputs = eq.inputs.map((a) => names.apply(a));
      const called = callee(eq, inputs);
      if (called === undefined) {
        const outputs = eq.outputs.map((v) => new Var(v.aval));
        eq.outputs.forEach((v, i) => names.set(v, outputs[i]!));
        equations.push(new Equation(eq.primitive, inputs, outputs, eq.params, eq.source));
        continue;
      }
      const [body, bound] = called;
      const inner = new Substitution();
      body.invars.forEach((v, i) => inner.set(v, bound[i]!));
      emit(body.equations, inner);
      eq.outputs.forEach((v, i) => names.set(v, inner.apply(body.outputs[i]!)));
    }
  };
  const outer = new Substitution();
  emit(program.equations, outer);
  return withEquations(program, equations, outer);
}

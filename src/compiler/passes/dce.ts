/**
 * Dead-code elimination: drops equations none of whose outputs is used (all primitives are pure),
 * and constants nothing reads.
 */
import type { NDArray } from "../../core/array.js";
import { Equation, Program, Var } from "../../core/ir.js";

export function eliminateDeadCode(program: Program): Program {
  const live = new Set<Var>();
  for (const a of program.outputs) if (a instanceof Var) live.add(a);
  const kept: Equation[] = [];
  for (let i = program.equations.length - 1; i >= 0; i--) {
    const eq = program.equations[i]!;
    if (!eq.outputs.some((v) => live.has(v))) continue;
    kept.push(eq);
    for (const a of eq.inputs) if (a instanceof Var) live.add(a);
  }
  kept.reverse();
  const constvars: Var[] = [];
  const consts: NDArray[] = [];
  program.constvars.forEach((v, i) => {
    if (live.has(v)) {
      constvars.push(v);
      consts.push(program.consts[i]!);
    }
  });
  if (kept.length === program.equations.length && constvars.length === program.constvars.length)
    return program;
  return new Program(constvars, consts, program.invars, kept, program.outputs);
}

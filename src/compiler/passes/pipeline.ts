/**
 * The optimisation pipeline: inline calls, simplify, fold constants, eliminate common
 * subexpressions and dead code, repeated until nothing changes; then the same for every loop
 * body and branch. Each pass is small and separately tested.
 */
import { Equation, type Program } from "../../core/ir.js";
import { eliminateCommonSubexpressions } from "./cse.js";
import { eliminateDeadCode } from "./dce.js";
import { foldConstants } from "./fold.js";
import { inlineCalls } from "./inline.js";
import { simplify } from "./simplify.js";
import { Substitution, withEquations } from "./rewrite.js";

/** A pass rewrites a program into an equivalent one (returning the same object when unchanged). */
export type Pass = (program: Program) => Program;

export const passes: readonly { name: string; run: Pass }[] = [
  { name: "inline", run: inlineCalls },
  { name: "simplify", run: simplify },
  { name: "fold", run: foldConstants },
  { name: "cse", run: eliminateCommonSubexpressions },
  { name: "dce", run: eliminateDeadCode },
];

/**
 * What `optimize` made of each program it was given (and of each it returned, itself): a loop
 * body is optimised once, however often the pipeline and the compiler ask.
 */
const optimizedPrograms = new WeakMap<Program, Program>();

/** The parameters of loops and branches that hold programs. */
const bodyParams: Record<string, readonly string[]> = {
  scan: ["body"],
  while: ["cond", "body"],
  cond: ["branches"],
};

/**
 * Optimises the bodies of loops and the branches of conds (each on its own, by `optimize`),
 * so that the optimised program shows the code that runs at every level.
 */
export function optimizeBodies(program: Program): Program {
  let changed = false;
  const equations = program.equations.map((eq) => {
    const names = bodyParams[eq.primitive.name];
    if (names === undefined) return eq;
    const params = eq.params as Record<string, Program | readonly Program[]>;
    const updated: Record<string, Program | readonly Program[]> = {};
    for (const name of names) {
      const value = params[name]!;
      const programs = Array.isArray(value) ? (value as readonly Program[]) : [value as Program];
      const optimized = programs.map((p) => optimize(p));
      if (optimized.every((p, i) => p === programs[i])) continue;
      updated[name] = Array.isArray(value) ? optimized : optimized[0]!;
    }
    if (Object.keys(updated).length === 0) return eq;
    changed = true;
    return new Equation(
      eq.primitive,
      eq.inputs,
      eq.outputs,
      { ...eq.params, ...updated },
      eq.source,
    );
  });
  return changed ? withEquations(program, equations, new Substitution()) : program;
}

/**
 * Runs the passes to a fixed point (at most `maxRounds` rounds), then optimises the bodies of
 * its loops and branches the same way (`optimizeBodies`). Remembered per program object.
 */
export function optimize(program: Program, maxRounds = 8): Program {
  const known = optimizedPrograms.get(program);
  if (known !== undefined) return known;
  let current = program;
  for (let round = 0; round < maxRounds; round++) {
    const before = current;
    for (const pass of passes) current = pass.run(current);
    if (current === before) break;
  }
  current = optimizeBodies(current);
  optimizedPrograms.set(program, current);
  optimizedPrograms.set(current, current);
  return current;
}

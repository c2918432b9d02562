/**
 * The optimisation pipeline: inline calls, simplify, fold constants, eliminate common
 * subexpressions and dead code, repeated until nothing changes. Each pass is small and separately tested.
 */
import type { Program } from "../../core/ir.js";
import { eliminateCommonSubexpressions } from "./cse.js";
import { eliminateDeadCode } from "./dce.js";
import { foldConstants } from "./fold.js";
import { inlineCalls } from "./inline.js";
import { simplify } from "./simplify.js";

/** A pass rewrites a program into an equivalent one (returning the same object when unchanged). */
export type Pass = (program: Program) => Program;

export const passes: readonly { name: string; run: Pass }[] = [
  { name: "inline", run: inlineCalls },
  { name: "simplify", run: simplify },
  { name: "fold", run: foldConstants },
  { name: "cse", run: eliminateCommonSubexpressions },
  { name: "dce", run: eliminateDeadCode },
];

/** Runs the passes to a fixed point (at most `maxRounds` rounds). */
export function optimize(program: Program, maxRounds = 8): Program {
  let current = program;
  for (let round = 0; round < maxRounds; round++) {
    const before = current;
    for (const pass of passes) current = pass.run(current);
    if (current === before) break;
  }
  return current;
}

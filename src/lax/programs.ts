/**
 * Sub-programs of control-flow primitives: staging a body into a closed program (its captured
 * values hoisted to leading inputs, so transforms see them as operands), running one, and the
 * program-to-program transforms the primitives' rules are built from (JVP, partial evaluation,
 * transposition, batching).
 */
import type { AbstractValue } from "../core/aval.js";
import type { NDArray } from "../core/array.js";
import { evalProgram, Literal, Program, Var } from "../core/ir.js";
import { Tracer } from "../core/trace.js";
import type { LinearInput } from "../core/primitive.js";
import * as tree from "../core/tree.js";
import { eliminateDeadCode } from "../compiler/passes/dce.js";
import * as ops from "../primitives/ops.js";
import { jvpFlat } from "../transforms/jvp.js";
import { transposeProgram } from "../transforms/linearize.js";
import { stage } from "../transforms/staging.js";
import { vmapFlat } from "../transforms/vmap.js";

/** A program with no constants: what it closed over is passed as its leading inputs. */
export interface Closed {
  program: Program;
  /** Values for the leading inputs (arrays or tracers of enclosing transforms). */
  consts: NDArray[];
}

/** Moves a program's constants to leading inputs. */
export function closeProgram(p: Program): Closed {
  return {
    program: new Program([], [], [...p.constvars, ...p.invars], p.equations, p.outputs),
    consts: [...p.consts],
  };
}

/**
 * Stages `f` (a rule's function of a closed program's values) on flat inputs of types `avals`.
 * Its constants can only be concrete arrays (everything else comes in through the inputs), so
 * the program keeps them.
 */
export function stageFlat(
  operation: string,
  f: (xs: NDArray[]) => readonly NDArray[],
  avals: readonly AbstractValue[],
): Program {
  const [, treedef] = tree.flatten(avals.map(() => 0));
  const [program] = stage(operation, ((...xs: NDArray[]) => [...f(xs)]) as never, avals, treedef);
  if (program.consts.some((c) => c instanceof Tracer)) {
    throw new Error(`internal error: a derived ${operation} program captured a traced value`);
  }
  return program;
}

/** Runs a program on `args` under whatever transforms are active (eagerly when none are). */
export function runProgram(program: Program, args: readonly NDArray[]): NDArray[] {
  return evalProgram(program, args, (value, aval) =>
    ops.constant(value, aval.dtype, aval.weakType),
  );
}

/** Zeros of a type (a broadcast scalar). */
export const zeros = (aval: AbstractValue): NDArray =>
  ops.fill(ops.constant(0, aval.dtype, false), aval.shape);

const isFloatAval = (aval: AbstractValue): boolean => aval.dtype.startsWith("float");

/**
 * The JVP of a program as a program: inputs `[...primals, ...tangents of the inputs marked in
 * `withTangent`]`, outputs `[...primal outputs, ...tangents of every float output]` (zeros where
 * the tangent vanishes).
 */
export function jvpProgram(program: Program, withTangent: readonly boolean[]): Program {
  const avals = program.inAvals;
  const tangentAvals = avals.filter((_, i) => withTangent[i]).map((a) => a.withWeakType(false));
  return stageFlat(
    "jvp",
    (xs) => {
      const primals = xs.slice(0, avals.length);
      let k = avals.length;
      const tangents = avals.map((_, i) => (withTangent[i] ? xs[k++]! : null));
      const [outs, outTangents] = jvpFlat(
        (leaves) => runProgram(program, leaves),
        primals,
        tangents,
      );
      const floatTangents = outs.flatMap((o, i) =>
        isFloatAval(o.aval) ? [outTangents[i] ?? zeros(o.aval.withWeakType(false))] : [],
      );
      return [...outs, ...floatTangents];
    },
    [...avals, ...tangentAvals],
  );
}

/** A program split by which inputs are known now. */
export interface Split {
  /** Known inputs → `[...known outputs, ...residuals]`. */
  known: Program;
  /** `[...residuals, ...unknown inputs]` → the unknown outputs. */
  unknown: Program;
  /** The residual variables (inputs of `unknown`, trailing outputs of `known`). */
  residuals: Var[];
}

/**
 * Partial evaluation: equations whose inputs are all known go to `known`; the rest to `unknown`,
 * which reads the known values it needs as residuals. `knownOutputs` says which outputs the
 * caller expects from `known` (they must not depend on unknown inputs); the others come from
 * `unknown` (a known value there is passed through as a residual).
 */
export function partialEval(
  program: Program,
  knownInputs: readonly boolean[],
  knownOutputs: readonly boolean[],
): Split {
  const known = new Set<Var>(program.invars.filter((_, i) => knownInputs[i]));
  const knownEqs = [];
  const unknownEqs = [];
  for (const eq of program.equations) {
    if (eq.inputs.every((a) => a instanceof Literal || known.has(a))) {
      knownEqs.push(eq);
      for (const v of eq.outputs) known.add(v);
    } else unknownEqs.push(eq);
  }
  const residualSet = new Set<Var>();
  const needs = (a: unknown): void => {
    if (a instanceof Var && known.has(a)) residualSet.add(a);
  };
  for (const eq of unknownEqs) eq.inputs.forEach(needs);
  program.outputs.forEach((a, i) => {
    if (knownOutputs[i]) {
      if (a instanceof Var && !known.has(a)) {
        throw new Error("internal error: an output expected known depends on unknown inputs");
      }
    } else needs(a);
  });
  const residuals = [...residualSet];
  const knownProgram = eliminateDeadCode(
    new Program(
      [],
      [],
      program.invars.filter((_, i) => knownInputs[i]),
      knownEqs,
      [...program.outputs.filter((_, i) => knownOutputs[i]), ...residuals],
    ),
  );
  const unknownProgram = eliminateDeadCode(
    new Program(
      [],
      [],
      [...residuals, ...program.invars.filter((_, i) => !knownInputs[i])],
      unknownEqs,
      program.outputs.filter((_, i) => !knownOutputs[i]),
    ),
  );
  return { known: knownProgram, unknown: unknownProgram, residuals };
}

/**
 * The transpose of a program linear in the inputs marked `linear`, as a program: inputs
 * `[...non-linear inputs, ...cotangents of the outputs]`, outputs the cotangents of the linear
 * inputs (zeros where none flows).
 */
export function transposeClosed(program: Program, linear: readonly boolean[]): Program {
  const nonlinearVars = program.invars.filter((_, i) => !linear[i]);
  const linearVars = program.invars.filter((_, i) => linear[i]);
  return stageFlat(
    "transpose",
    (xs) => {
      const values = xs.slice(0, nonlinearVars.length);
      const cts = xs.slice(nonlinearVars.length);
      const partial = new Program(
        nonlinearVars,
        values,
        linearVars,
        program.equations,
        program.outputs,
      );
      const inCts = transposeProgram(partial, cts);
      return linearVars.map((v, i) => inCts[i] ?? zeros(v.aval));
    },
    [...nonlinearVars.map((v) => v.aval), ...program.outAvals.map((a) => a.withWeakType(false))],
  );
}

/**
 * The batched program: inputs batched along `inAxes` (null: not batched); outputs batched along
 * axis 0 where `outBatched` says (broadcast there if the body left them unbatched), unbatched
 * elsewhere (the body must leave those unbatched). Returns the program and which outputs came
 * out batched on their own.
 */
export function batchProgram(
  program: Program,
  inAxes: readonly (number | null)[],
  size: number,
  outBatched?: readonly boolean[],
): { program: Program; batched: boolean[] } {
  const avals = program.inAvals.map((aval, i) => {
    const axis = inAxes[i];
    if (axis === null || axis === undefined) return aval;
    const shape = [...aval.shape];
    shape.splice(axis, 0, size);
    return aval.withShape(shape);
  });
  const batched: boolean[] = [];
  const batchedProgram = stageFlat(
    "vmap",
    (xs) => {
      const [outs, axes] = vmapFlat((leaves) => runProgram(program, leaves), xs, inAxes);
      return outs.map((o, i) => {
        const axis = axes[i] ?? null;
        batched[i] = axis !== null;
        const want = outBatched?.[i] ?? axis !== null;
        if (axis !== null) return ops.moveAxis(o, axis, 0);
        return want ? ops.broadcastAxis(o, 0, size) : o;
      });
    },
    avals,
  );
  return { program: batchedProgram, batched };
}

/** Marks which transpose inputs are linear. */
export const isLinear = (x: NDArray | LinearInput): x is LinearInput =>
  "linear" in x && x.linear === true;

/** Whether a type is floating point (it has tangents). */
export const isFloat = (aval: AbstractValue): boolean => aval.dtype.startsWith("float");

/** Indents every line after the first (nested programs in the IR printout). */
export const indent = (text: string, by: string): string => text.split("\n").join(`\n${by}`);

/** Same shapes and dtypes, in order (weak types aside). */
export function sameTypes(a: readonly AbstractValue[], b: readonly AbstractValue[]): boolean {
  return a.length === b.length && a.every((x, i) => x.equals(b[i]!));
}

/** `(f32[3], i32[])` for messages. */
export const typesText = (avals: readonly AbstractValue[]): string =>
  `(${avals.map((a) => a.toString()).join(", ")})`;

/**
 * Sub-programs of control-flow primitives: staging a body into a closed program (its captured
 * values hoisted to leading inputs, so transforms see them as operands), running one, and the
 * program-to-program transforms the primitives' rules are built from (JVP, partial evaluation,
 * transposition, batching).
 */
import type { AbstractValue } from "../core/aval.js";
import type { NDArray } from "../core/array.js";
import { ValueError } from "../core/errors.js";
import { Equation, evalProgram, Literal, Program, Var, type Atom } from "../core/ir.js";
import { topTrace, Tracer } from "../core/trace.js";
import type { LinearInput, Primitive } from "../core/primitive.js";
import * as tree from "../core/tree.js";
import { eliminateDeadCode } from "../compiler/passes/dce.js";
import * as ops from "../primitives/ops.js";
import { jvpFlat } from "../transforms/jvp.js";
import { transposeProgram } from "../transforms/linearize.js";
import { stage, StagingTrace } from "../transforms/staging.js";
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

/**
 * Whether binding on `primals` and `tangents` together would stage the primal results into a
 * program above the primals' own trace: under `grad` (linearize), where the tangents are staged
 * and the primals are known now. A rule whose primal outputs would come from such a binding
 * computes them from the primals alone instead, so they stay known (and out of the linear program).
 */
export function stagesAbovePrimals(
  primals: readonly NDArray[],
  tangents: readonly NDArray[],
): boolean {
  const top = topTrace([...primals, ...tangents], "lax");
  return top instanceof StagingTrace && top.main.level > topTrace(primals, "lax").main.level;
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
 * How an equation with sub-programs (a loop, a branch) splits when only some of its inputs are
 * known: `knownOutputs` says which outputs the known inputs alone determine (for a loop, a fixed
 * point over the carries); `split` gives an equation computing exactly those (defining those
 * output variables and reading only known values) and one computing the others (it may
 * recompute the known part, as JAX's partial evaluation of `while` does).
 */
export interface PartialEvalRule {
  knownOutputs(eq: Equation, knownInputs: readonly boolean[]): boolean[];
  split(
    eq: Equation,
    knownInputs: readonly boolean[],
    knownOutputs: readonly boolean[],
  ): { known: Equation; unknown: Equation | null };
}

const partialEvalRules = new Map<Primitive, PartialEvalRule>();

/** Registers how equations of `primitive` split under partial evaluation. */
export function definePartialEvalRule<P extends object>(
  primitive: Primitive<P>,
  rule: PartialEvalRule,
): void {
  partialEvalRules.set(primitive as unknown as Primitive, rule);
}

/**
 * Which outputs of an equation the known inputs determine: all when every input is known, those
 * its rule finds for a primitive with sub-programs, none otherwise.
 */
function equationKnownOutputs(eq: Equation, knownInputs: readonly boolean[]): boolean[] {
  if (knownInputs.every(Boolean)) return eq.outputs.map(() => true);
  const rule = partialEvalRules.get(eq.primitive);
  return rule === undefined ? eq.outputs.map(() => false) : rule.knownOutputs(eq, knownInputs);
}

/** Which outputs of `program` its known inputs (and its constants) determine. */
export function knownOutputsOf(program: Program, knownInputs: readonly boolean[]): boolean[] {
  const known = new Set<Var>([
    ...program.constvars,
    ...program.invars.filter((_, i) => knownInputs[i]),
  ]);
  const isKnown = (a: Atom): boolean => a instanceof Literal || known.has(a);
  for (const eq of program.equations) {
    const outs = equationKnownOutputs(eq, eq.inputs.map(isKnown));
    eq.outputs.forEach((v, i) => {
      if (outs[i]) known.add(v);
    });
  }
  return program.outputs.map(isKnown);
}

/**
 * Carries of a loop known at every step: known at the start and computed by the body from known
 * values only (`bodyKnown` maps the carries' knownness to the body outputs'); iterated down to a
 * fixed point, since a carry that becomes unknown can make others unknown a step later.
 */
export function knownCarries(
  initKnown: readonly boolean[],
  bodyKnown: (carryKnown: readonly boolean[]) => readonly boolean[],
): boolean[] {
  let carry = [...initKnown];
  for (;;) {
    const out = bodyKnown(carry);
    const next = carry.map((k, i) => k && out[i]!);
    if (next.every((k, i) => k === carry[i])) return carry;
    carry = next;
  }
}

/**
 * The part of `program` that computes the outputs marked in `outputs` (which its known inputs
 * must determine, see `knownOutputsOf`) from the known inputs alone: inputs the known ones,
 * outputs the marked ones.
 */
export function knownPart(
  program: Program,
  knownInputs: readonly boolean[],
  outputs: readonly boolean[],
): Program {
  const { known } = partialEval(program, knownInputs, outputs);
  const n = outputs.filter(Boolean).length;
  return eliminateDeadCode(
    new Program(
      known.constvars,
      known.consts,
      known.invars,
      known.equations,
      known.outputs.slice(0, n),
    ),
  );
}

/** The equation again, with fresh variables for the outputs marked `replace` (unused copies). */
/** The entries of `xs` where `mask` is true. */
export const pick = <T>(xs: readonly T[], mask: readonly boolean[]): T[] =>
  xs.filter((_, i) => mask[i]);

export function withFreshOutputs(eq: Equation, replace: readonly boolean[]): Equation {
  return new Equation(
    eq.primitive,
    eq.inputs,
    eq.outputs.map((v, i) => (replace[i] ? new Var(v.aval) : v)),
    eq.params,
    eq.source,
  );
}

/** Primitives whose result is a view of their operand (no copy at run time). */
const viewPrimitives = new Set(["transpose", "reshape", "broadcast_in_dim"]);

/**
 * Partial evaluation: equations whose inputs are all known go to `known`; the rest to `unknown`,
 * which reads the known values it needs as residuals. A loop or branch with some unknown inputs
 * is split by its rule: what its known inputs determine (loop-carried knownness found as a fixed
 * point) is computed in `known`, the rest in `unknown`. Constants are known, and both programs
 * keep the ones they read. `knownOutputs` says which outputs the caller expects from `known`
 * (they must not depend on unknown inputs); the others come from `unknown` (a known value there
 * is passed through as a residual).
 */
export function partialEval(
  program: Program,
  knownInputs: readonly boolean[],
  knownOutputs: readonly boolean[],
): Split {
  const constants = new Set<Var>(program.constvars);
  const known = new Set<Var>([
    ...program.constvars,
    ...program.invars.filter((_, i) => knownInputs[i]),
  ]);
  const isKnown = (a: Atom): boolean => a instanceof Literal || known.has(a);
  const knownEqs: Equation[] = [];
  const unknownEqs: Equation[] = [];
  for (const eq of program.equations) {
    const inputsKnown = eq.inputs.map(isKnown);
    const outputsKnown = equationKnownOutputs(eq, inputsKnown);
    if (outputsKnown.every(Boolean) && inputsKnown.every(Boolean)) {
      knownEqs.push(eq);
    } else if (!outputsKnown.some(Boolean)) {
      unknownEqs.push(eq);
      continue;
    } else {
      const parts = partialEvalRules.get(eq.primitive)!.split(eq, inputsKnown, outputsKnown);
      knownEqs.push(parts.known);
      if (parts.unknown !== null) unknownEqs.push(parts.unknown);
    }
    eq.outputs.forEach((v, i) => {
      if (outputsKnown[i]) known.add(v);
    });
  }
  const residualSet = new Set<Var>();
  const needs = (a: unknown): void => {
    if (a instanceof Var && known.has(a) && !constants.has(a)) residualSet.add(a);
  };
  for (const eq of unknownEqs) eq.inputs.forEach(needs);
  program.outputs.forEach((a, i) => {
    if (knownOutputs[i]) {
      if (!isKnown(a)) {
        const maker = unknownEqs.find((eq) => eq.outputs.includes(a as Var))?.primitive.name;
        throw new ValueError(
          "lax.cond/lax.scan/lax.whileLoop",
          `differentiating a body, a primal value depends on a tangent (it is computed by ` +
            `${maker ?? "the body"} from one), so the derivative cannot be split into a primal ` +
            "part and a linear part. A JVP rule (of a primitive, or a customJvp function) must " +
            "compute its primal outputs from the primals only.",
        );
      }
    } else needs(a);
  });
  // A residual that is a view of other known values (a transpose, reshape or broadcast of a
  // weight) is computed again in `unknown` from those values: free at run time, and a loop
  // around the split then keeps the value itself (a loop constant stays one) instead of a copy
  // of it per step.
  const producers = new Map<Var, Equation>();
  knownEqs.forEach((eq) => eq.outputs.forEach((v) => producers.set(v, eq)));
  const recomputed = new Set<Equation>();
  for (let more = true; more;) {
    more = false;
    for (const r of [...residualSet]) {
      const eq = producers.get(r);
      if (eq === undefined || !viewPrimitives.has(eq.primitive.name)) continue;
      residualSet.delete(r);
      recomputed.add(eq);
      eq.inputs.forEach(needs);
      more = true;
    }
  }
  if (recomputed.size > 0) unknownEqs.unshift(...knownEqs.filter((eq) => recomputed.has(eq)));
  const residuals = [...residualSet];
  const knownProgram = eliminateDeadCode(
    new Program(
      program.constvars,
      program.consts,
      program.invars.filter((_, i) => knownInputs[i]),
      knownEqs,
      [...program.outputs.filter((_, i) => knownOutputs[i]), ...residuals],
    ),
  );
  const unknownProgram = eliminateDeadCode(
    new Program(
      program.constvars,
      program.consts,
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

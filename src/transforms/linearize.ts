/**
 * Reverse mode as JAX does it: linearize (JVP with the tangents staged, so everything that does
 * not depend on them is computed now) and transpose the staged linear program. One derivative
 * rule per primitive serves both modes, so forward and reverse can never disagree.
 */
import type { AbstractValue } from "../core/aval.js";
import type { NDArray } from "../core/array.js";
import { isFloating } from "../core/dtype.js";
import { ValueError } from "../core/errors.js";
import { Literal, Var, type Atom, type Equation, type Program } from "../core/ir.js";
import type { LinearInput } from "../core/primitive.js";
import { bind, withMainTrace, withSource, type MainTrace } from "../core/trace.js";
import type * as tree from "../core/tree.js";
import * as ops from "../primitives/ops.js";
import { jvpFlat } from "./jvp.js";
import { ProgramBuilder, StagingTrace, StagingTracer } from "./staging.js";

/** The tangent type of a primal: the same shape and float dtype, never weak. */
function tangentAval(aval: AbstractValue): AbstractValue {
  return aval.withWeakType(false);
}

/** The result of linearizing a function at a point. @internal */
export interface Linearized {
  /** Output primals (flat). */
  outs: NDArray[];
  outTree: tree.TreeDef;
  /** The original (unflattened) result of `f`, for `hasAux` handling. */
  result: unknown;
  /** Linear program: flat input tangents (of the float inputs) → flat output tangents. */
  program: Program;
  /** Which flat inputs are differentiable (float). */
  differentiable: boolean[];
}

/**
 * Linearizes `f` (a function of flat arrays) at `primals`. Integer and bool inputs get no tangent
 * input in the program.
 * @internal
 */
export function linearizeFlat(
  f: (leaves: NDArray[]) => unknown,
  primals: readonly NDArray[],
): Linearized {
  // The linear program is internal (transposed or evaluated at once): no call sites needed.
  const builder = new ProgramBuilder(false);
  return withMainTrace(
    (main: MainTrace) => new StagingTrace(main),
    builder,
    (main) => {
      const trace = new StagingTrace(main);
      const differentiable = primals.map((p) => isFloating(p.dtype));
      const tangentTracers: StagingTracer[] = [];
      const tangents = primals.map((p, i) => {
        if (!differentiable[i]) return null;
        const t = builder.newTracer(trace, tangentAval(p.aval));
        tangentTracers.push(t);
        return t;
      });
      const [outs, outTangents, outTree, result] = jvpFlat(f, primals, tangents);
      if (outs.some((o) => o instanceof StagingTracer && o.trace.main === main)) {
        throw new ValueError(
          "grad",
          "a primal output depends on a tangent, so the derivative cannot be split into a " +
            "primal part and a linear part. A JVP rule (of a primitive, or a customJvp " +
            "function) must compute its primal outputs from the primals only.",
        );
      }
      const outTracers = outTangents.map((t, i) => {
        if (t instanceof StagingTracer && t.trace.main === main) return t;
        // A tangent that does not depend on the inputs: zeros (or a constant) of the output type.
        return builder.addConst(trace, t ?? ops.zerosLike(outs[i]!));
      });
      return {
        outs,
        outTree,
        result,
        program: builder.build(tangentTracers, outTracers),
        differentiable,
      };
    },
  );
}

/**
 * Transposes a linear program: cotangents of its outputs → cotangents of its inputs (`null` for
 * inputs that received none, i.e. zero).
 *
 * The linear values are the inputs and the float outputs of equations that read a linear value;
 * an int or bool output never is (it carries no tangent). An equation that reads no linear value
 * is a computation on constants: it is evaluated (once, when a transposed equation needs its
 * value), not transposed.
 * @internal
 */
export function transposeProgram(
  program: Program,
  cotangents: readonly (NDArray | null)[],
): (NDArray | null)[] {
  const linear = new Set<Var>(program.invars);
  // Non-float outputs of equations on linear values: neither linear nor computable here.
  const opaque = new Map<Var, Equation>();
  const definedBy = new Map<Var, Equation>();
  const constants = new Map<Var, NDArray>();
  program.constvars.forEach((v, i) => constants.set(v, program.consts[i]!));
  for (const eq of program.equations) {
    const readsLinear = eq.inputs.some((a) => a instanceof Var && linear.has(a));
    for (const v of eq.outputs) {
      if (!readsLinear) definedBy.set(v, eq);
      else if (isFloating(v.aval.dtype)) linear.add(v);
      else opaque.set(v, eq);
    }
  }
  const valueOf = (a: Atom, user: Equation): NDArray => {
    if (a instanceof Literal) return ops.constant(a.value, a.aval.dtype);
    const known = constants.get(a);
    if (known !== undefined) return known;
    const eq = definedBy.get(a);
    if (eq === undefined) throw notLinear(user, opaque.get(a));
    const outs = bind(
      eq.primitive,
      eq.inputs.map((b) => valueOf(b, eq)),
      eq.params,
    );
    eq.outputs.forEach((v, i) => constants.set(v, outs[i]!));
    return constants.get(a)!;
  };
  const cts = new Map<Var, NDArray>();
  const accumulate = (v: Var, ct: NDArray | null): void => {
    if (ct === null) return;
    const previous = cts.get(v);
    cts.set(v, previous === undefined ? ct : ops.add(previous, ct));
  };
  program.outputs.forEach((a, i) => {
    if (a instanceof Var && linear.has(a)) accumulate(a, cotangents[i] ?? null);
  });
  for (let k = program.equations.length - 1; k >= 0; k--) {
    const eq = program.equations[k]!;
    const outCts = eq.outputs.map((v) => cts.get(v) ?? null);
    for (const v of eq.outputs) cts.delete(v);
    if (outCts.every((c) => c === null)) continue;
    const inputs = eq.inputs.map((a): NDArray | LinearInput =>
      a instanceof Var && linear.has(a) ? { linear: true, aval: a.aval } : valueOf(a, eq),
    );
    const spec = eq.primitive.spec;
    if (!spec.linear) throw notLinear(eq, undefined);
    const transpose = spec.transpose;
    const inCts = withSource(eq.source, () => transpose(outCts, inputs, eq.params));
    eq.inputs.forEach((a, i) => {
      if (a instanceof Var && linear.has(a)) accumulate(a, inCts[i] ?? null);
    });
  }
  return program.invars.map((v) => cts.get(v) ?? null);
}

/**
 * The error for a linear program that is not linear: `eq` applies a non-linear operation to a
 * tangent, or reads an int/bool value computed from one (made by `source`).
 */
function notLinear(eq: Equation, source: Equation | undefined): ValueError {
  const what =
    source === undefined
      ? `applies ${eq.primitive.name} (which has no transpose) to a tangent`
      : `reads an int or bool value that ${source.primitive.name} computed from a tangent`;
  return new ValueError(
    "grad",
    `reverse-mode differentiation found a derivative that is not linear in the tangents: ${eq.primitive.name} ${what}. ` +
      "This happens when a customJvp rule computes its tangent output non-linearly from the " +
      "input tangents, or a primal output from them; make the rule's tangent output linear in " +
      "the tangents and compute its primal outputs from the primals only.",
  );
}

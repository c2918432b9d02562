/**
 * The `cond` primitive: runs `branches[clamp(index)]` on the operands. Its JVP splits into a
 * primal cond that also returns every branch's residuals and a tangent cond linear in the
 * tangents (so `grad` transposes a linear branch); a batched index runs every branch and selects
 * per example.
 */
import { AbstractValue } from "../core/aval.js";
import type { NDArray } from "../core/array.js";
import { ShapeError } from "../core/errors.js";
import { Equation, type Program } from "../core/ir.js";
import { definePrimitive, type Primitive, type PrimitiveExample } from "../core/primitive.js";
import { bind, bind1 } from "../core/trace.js";
import { max, min } from "../primitives/binary.js";
import * as ops from "../primitives/ops.js";
import * as unary from "../primitives/unary.js";
import {
  batchProgram,
  definePartialEvalRule,
  isLinear,
  jvpProgram,
  knownOutputsOf,
  knownPart,
  partialEval,
  runProgram,
  stageFlat,
  transposeClosed,
  zeros,
  indent,
  isFloat,
  sameTypes,
  typesText,
  withFreshOutputs,
} from "./programs.js";

export interface CondParams {
  /** The branches: each maps the operands to outputs of the same types. */
  branches: readonly Program[];
}

/** `cond(index, ...operands)`: runs `branches[clamp(index)]` on the operands. */
export const cond: Primitive<CondParams> = definePrimitive<CondParams>({
  name: "cond",
  linear: true,
  examples: condExamples,
  formatParams: ({ branches }) =>
    `branches=(\n${branches.map((b) => `      ${indent(b.toString(), "      ")}`).join("\n")}\n    )`,
  abstractEval([index, ...operands], { branches }) {
    if (index!.ndim !== 0 || index!.dtype !== "int32") {
      throw new ShapeError(
        "cond",
        `the branch index must be an int32 scalar, got ${index!.toString()}.`,
      );
    }
    for (const b of branches) {
      if (!sameTypes(b.inAvals, operands)) {
        throw new ShapeError(
          "cond",
          `a branch takes ${typesText(b.inAvals)} but the operands are ${typesText(operands)}.`,
        );
      }
      if (!sameTypes(b.outAvals, branches[0]!.outAvals)) {
        throw new ShapeError(
          "cond",
          `branches return different types: ${typesText(branches[0]!.outAvals)} and ${typesText(b.outAvals)}.`,
        );
      }
    }
    return branches[0]!.outAvals;
  },
  impl([index, ...operands], { branches }) {
    const i = Math.min(Math.max(Number(index!.item()), 0), branches.length - 1);
    return runProgram(branches[i]!, operands);
  },
  jvp([index, ...operands], [, ...tangents], { branches }) {
    const withTangent = tangents.map((t) => t !== null);
    if (!withTangent.some(Boolean)) {
      const outs = bind(cond, [index!, ...operands], { branches });
      return [outs, outs.map(() => null)];
    }
    const nOut = branches[0]!.outputs.length;
    const outAvals = branches[0]!.outAvals;
    const jvps = branches.map((b) => jvpProgram(b, withTangent));
    const known = operands.map(() => true);
    const splits = jvps.map((p) =>
      partialEval(
        p,
        [...known, ...withTangent.filter(Boolean).map(() => false)],
        p.outputs.map((_, i) => i < nOut),
      ),
    );
    // A residual that is one of the operands (a weight the branch reads) is passed to the
    // tangent cond as that operand: returned by the known cond instead, it would be a new array,
    // which a loop around the cond stacks once per step.
    const operandOf = splits.map((s, i) =>
      s.residuals.map((v) => {
        const j = jvps[i]!.invars.indexOf(v);
        return j < operands.length ? j : -1;
      }),
    );
    const forwarded = [...new Set(operandOf.flat().filter((j) => j >= 0))].sort((a, b) => a - b);
    // Every branch returns every branch's other residuals (zeros for the others').
    const returned = splits.map((s, i) => s.residuals.filter((_, r) => operandOf[i]![r]! < 0));
    const residualAvals = returned.map((vars) => vars.map((v) => v.aval));
    const allResiduals = residualAvals.flat();
    const offsets = residualAvals.map((_, i) =>
      residualAvals.slice(0, i).reduce((n, r) => n + r.length, 0),
    );
    const operandAvals = operands.map((x) => x.aval);
    const knownBranches = splits.map((s, i) =>
      stageFlat(
        "cond",
        (xs) => {
          const r = runProgram(s.known, xs);
          const own = r.slice(nOut).filter((_, k) => operandOf[i]![k]! < 0);
          const residuals = residualAvals.flatMap((avals, j) => (j === i ? own : avals.map(zeros)));
          return [...r.slice(0, nOut), ...residuals];
        },
        operandAvals,
      ),
    );
    const knownOuts = bind(cond, [index!, ...operands], { branches: knownBranches });
    const outs = knownOuts.slice(0, nOut);
    const residuals = knownOuts.slice(nOut);
    const tangentInputs = tangents.filter((t): t is NDArray => t !== null);
    const tangentBranches = splits.map((s, i) =>
      stageFlat(
        "cond",
        (xs) => {
          const own = xs.slice(offsets[i]!, offsets[i]! + residualAvals[i]!.length);
          const given = xs.slice(allResiduals.length, allResiduals.length + forwarded.length);
          let next = 0;
          const branchResiduals = operandOf[i]!.map((j) =>
            j >= 0 ? given[forwarded.indexOf(j)]! : own[next++]!,
          );
          return runProgram(s.unknown, [
            ...branchResiduals,
            ...xs.slice(allResiduals.length + forwarded.length),
          ]);
        },
        [
          ...allResiduals,
          ...forwarded.map((j) => operandAvals[j]!),
          ...tangentInputs.map((t) => t.aval),
        ],
      ),
    );
    const tangentOuts = bind(
      cond,
      [index!, ...residuals, ...forwarded.map((j) => operands[j]!), ...tangentInputs],
      { branches: tangentBranches },
    );
    let k = 0;
    return [outs, outAvals.map((a) => (isFloat(a) ? tangentOuts[k++]! : null))];
  },
  transpose(cts, [index, ...operands], { branches }) {
    const linear = operands.map(isLinear);
    const nonlinear = operands.filter((x): x is NDArray => !isLinear(x));
    const outAvals = branches[0]!.outAvals;
    const filled = outAvals.map((a, i) => cts[i] ?? zeros(a.withWeakType(false)));
    const transposed = branches.map((b) => transposeClosed(b, linear));
    const res = bind(cond, [index as NDArray, ...nonlinear, ...filled], { branches: transposed });
    let k = 0;
    return [null, ...operands.map((x) => (isLinear(x) ? res[k++]! : null))];
  },
  batch([index, ...operands], [indexAxis, ...axes], { branches }) {
    const size = [index!, ...operands].find((_, i) => [indexAxis, ...axes][i] !== null)!.shape[
      [indexAxis, ...axes].find((a) => a !== null)!
    ]!;
    if (indexAxis === null) {
      // The same branch for every example: batch each branch, outputs batched if any is.
      const first = branches.map((b) => batchProgram(b, axes, size));
      const outBatched = first[0]!.batched.map((_, i) => first.some((r) => r.batched[i]));
      const batched = branches.map((b) => batchProgram(b, axes, size, outBatched).program);
      const outs = bind(cond, [index!, ...operands], { branches: batched });
      return [outs, outBatched.map((b) => (b ? 0 : null))];
    }
    // A branch per example: run them all, then pick per example.
    const n = branches.length;
    const clamped = bind1(
      min,
      [
        bind1(max, [ops.moveAxis(index!, indexAxis, 0), ops.constant(0, "int32", false)], {}),
        ops.constant(n - 1, "int32", false),
      ],
      {},
    );
    const results = branches.map((b) =>
      runProgram(
        batchProgram(
          b,
          axes,
          size,
          b.outputs.map(() => true),
        ).program,
        operands,
      ),
    );
    const outs = results[0]!.map((first, o) => {
      let out = first;
      for (let i = 1; i < n; i++) {
        const take = ops.broadcast(
          ops.eq(clamped, ops.constant(i, "int32", false)),
          out.shape,
          [0],
        );
        out = ops.select(take, results[i]![o]!, out);
      }
      return out;
    });
    return [outs, outs.map(() => 0)];
  },
});

/**
 * Partial evaluation of a cond with some unknown operands (and a known index): the outputs every
 * branch computes from known operands come from a cond over those; the rest from the whole
 * cond, which recomputes them.
 */
definePartialEvalRule(cond, {
  knownOutputs(eq, knownInputs) {
    const { branches } = eq.params as CondParams;
    const outs = branches[0]!.outputs.map(() => knownInputs[0]!);
    for (const b of branches) {
      knownOutputsOf(b, knownInputs.slice(1)).forEach((k, i) => (outs[i] &&= k));
    }
    return outs;
  },
  split(eq, knownInputs, knownOutputs) {
    const { branches } = eq.params as CondParams;
    const operands = knownInputs.slice(1);
    const known = new Equation(
      eq.primitive,
      [eq.inputs[0]!, ...eq.inputs.slice(1).filter((_, i) => operands[i])],
      eq.outputs.filter((_, i) => knownOutputs[i]),
      { branches: branches.map((b) => knownPart(b, operands, knownOutputs)) } satisfies CondParams,
      eq.source,
    );
    const unknown = knownOutputs.every(Boolean) ? null : withFreshOutputs(eq, knownOutputs);
    return { known, unknown };
  },
});

function condExamples(): PrimitiveExample<CondParams>[] {
  const f64 = (shape: number[]): AbstractValue => new AbstractValue(shape, "float64");
  const branches = [
    stageFlat("cond", ([x, y]) => [ops.mul(ops.unary(unary.sin, x!), y!), x!], [
      f64([3]),
      f64([3]),
    ]),
    stageFlat("cond", ([x, y]) => [ops.add(x!, y!), ops.mul(y!, y!)], [f64([3]), f64([3])]),
    stageFlat("cond", ([x]) => [ops.neg(x!), ops.unary(unary.exp, x!)], [f64([3]), f64([3])]),
  ];
  return [0, 1, 2, 7].map((index) => ({
    inputs: [
      { shape: [], dtype: "int32" as const, values: [index] },
      { shape: [3], dtype: "float64" as const },
      { shape: [3], dtype: "float64" as const },
    ],
    params: { branches },
  }));
}

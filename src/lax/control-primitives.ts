/**
 * Control-flow primitives whose bodies are sub-programs: `cond` (pick a branch by index), `scan`
 * (a loop over the leading axis of its inputs, with a carry), and `while` (loop while a
 * predicate holds). Each has every rule:
 *
 * - JVP splits into a primal loop/branch that also returns the residuals the tangent needs, and
 *   a tangent loop/branch that is linear in the tangents. Under `grad` the first runs now and
 *   only the second is staged, so reverse mode transposes a linear loop: a scan backwards.
 * - Batching vmaps the bodies (a batched `cond` predicate becomes a select over all branches; a
 *   batched `while` predicate runs until every lane has stopped).
 * - `while` has no transpose (the trip count is unknown): reverse mode goes through
 *   `whileLoop(..., { maxSteps })`, a scan.
 */
import { AbstractValue } from "../core/aval.js";
import type { NDArray } from "../core/array.js";
import { ShapeError, ValueError } from "../core/errors.js";
import { Program, Var } from "../core/ir.js";
import { definePrimitive, type Primitive, type PrimitiveExample } from "../core/primitive.js";
import { bind, bind1 } from "../core/trace.js";
import { max, min } from "../primitives/binary.js";
import * as ops from "../primitives/ops.js";
import { reduceOr } from "../primitives/reduce.js";
import { concatenate, slice } from "../primitives/structural.js";
import * as unary from "../primitives/unary.js";
import {
  batchProgram,
  isLinear,
  jvpProgram,
  partialEval,
  runProgram,
  stageFlat,
  transposeClosed,
  zeros,
} from "./programs.js";

const isFloat = (aval: AbstractValue): boolean => aval.dtype.startsWith("float");

/** Indents every line after the first (nested programs in the IR printout). */
const indent = (text: string, by: string): string => text.split("\n").join(`\n${by}`);

function sameTypes(a: readonly AbstractValue[], b: readonly AbstractValue[]): boolean {
  return a.length === b.length && a.every((x, i) => x.equals(b[i]!));
}

const typesText = (avals: readonly AbstractValue[]): string =>
  `(${avals.map((a) => a.toString()).join(", ")})`;

// ── cond ───────────────────────────────────────────────────────────────────────────────────

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
    // Every branch returns every branch's residuals (zeros for the others').
    const residualAvals = splits.map((s) => s.residuals.map((v) => v.aval));
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
          const own = r.slice(nOut);
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
          return runProgram(s.unknown, [...own, ...xs.slice(allResiduals.length)]);
        },
        [...allResiduals, ...tangentInputs.map((t) => t.aval)],
      ),
    );
    const tangentOuts = bind(cond, [index!, ...residuals, ...tangentInputs], {
      branches: tangentBranches,
    });
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

// ── scan ───────────────────────────────────────────────────────────────────────────────────

export interface ScanParams {
  /** `[...consts, ...carry, ...x slices]` → `[...carry, ...y slices]`. */
  body: Program;
  /** Trip count (the leading length of every `xs` and `ys`). */
  length: number;
  /** Iterate from the last slice to the first. */
  reverse: boolean;
  numConsts: number;
  numCarry: number;
}

/** `x[t]` along axis 0. */
function sliceAt(x: NDArray, t: number): NDArray {
  const piece = bind1(slice, [x], {
    start: x.shape.map((_, d) => (d === 0 ? t : 0)),
    limit: x.shape.map((s, d) => (d === 0 ? t + 1 : s)),
    strides: x.shape.map(() => 1),
  });
  return ops.reshape(piece, x.shape.slice(1));
}

/** `scan(...consts, ...init, ...xs)` → `[...final carry, ...stacked ys]`. */
export const scan: Primitive<ScanParams> = definePrimitive<ScanParams>({
  name: "scan",
  linear: true,
  examples: scanExamples,
  formatParams: (p) =>
    `length=${p.length}${p.reverse ? " reverse=True" : ""} num_consts=${p.numConsts} num_carry=${p.numCarry}\n      body=${indent(p.body.toString(), "      ")}`,
  abstractEval(avals, p) {
    const { body, numConsts: nc, numCarry: nk, length } = p;
    const xs = avals.slice(nc + nk);
    if (xs.some((x) => x.ndim === 0 || x.shape[0] !== length)) {
      throw new ShapeError(
        "scan",
        `every xs needs a leading axis of length ${length}, got ${typesText(xs)}.`,
      );
    }
    const slices = xs.map((x) => x.withShape(x.shape.slice(1)));
    const expected = [...avals.slice(0, nc + nk), ...slices];
    if (!sameTypes(body.inAvals, expected)) {
      throw new ShapeError(
        "scan",
        `the body takes ${typesText(body.inAvals)} but gets ${typesText(expected)}.`,
      );
    }
    const carryOut = body.outAvals.slice(0, nk);
    if (!sameTypes(carryOut, avals.slice(nc, nc + nk))) {
      throw new ShapeError(
        "scan",
        `the body returns the carry as ${typesText(carryOut)} but it came in as ${typesText(avals.slice(nc, nc + nk))}.`,
      );
    }
    return [
      ...avals.slice(nc, nc + nk),
      ...body.outAvals.slice(nk).map((y) => y.withShape([length, ...y.shape])),
    ];
  },
  impl(inputs, p) {
    const { body, numConsts: nc, numCarry: nk, length, reverse } = p;
    const consts = inputs.slice(0, nc);
    let carry = inputs.slice(nc, nc + nk);
    const xs = inputs.slice(nc + nk);
    const yAvals = body.outAvals.slice(nk);
    const ys: NDArray[][] = yAvals.map(() => new Array<NDArray>(length));
    for (let step = 0; step < length; step++) {
      const t = reverse ? length - 1 - step : step;
      const outs = runProgram(body, [...consts, ...carry, ...xs.map((x) => sliceAt(x, t))]);
      carry = outs.slice(0, nk);
      outs.slice(nk).forEach((y, i) => (ys[i]![t] = ops.reshape(y, [1, ...y.shape])));
    }
    const stacked = yAvals.map((aval, i) =>
      length === 0
        ? zeros(aval.withShape([0, ...aval.shape]))
        : bind1(concatenate, ys[i]!, { dimension: 0 }),
    );
    return [...carry, ...stacked];
  },
  jvp(primals, tangents, p) {
    const { body, numConsts: nc, numCarry: nk, length, reverse } = p;
    const nx = primals.length - nc - nk;
    const carryAvals = primals.slice(nc, nc + nk).map((x) => x.aval);
    if (tangents.every((t) => t === null)) {
      const outs = bind(scan, primals, p);
      return [outs, outs.map(() => null)];
    }
    // Every float carry gets a tangent (it may become nonzero after a step); consts and xs only
    // where one was given.
    const constT = tangents.slice(0, nc).map((t) => t !== null);
    const carryT = carryAvals.map(isFloat);
    const xT = tangents.slice(nc + nk).map((t) => t !== null);
    const jvpBody = jvpProgram(body, [...constT, ...carryT, ...xT]);
    const ny = body.outputs.length - nk;
    const split = partialEval(
      jvpBody,
      jvpBody.invars.map((_, i) => i < nc + nk + nx),
      jvpBody.outputs.map((_, i) => i < nk + ny),
    );
    // Residuals that are consts of the loop stay consts; the others are stacked per step.
    const constIndex = new Map(jvpBody.invars.slice(0, nc).map((v, i) => [v, i]));
    const constResiduals = split.residuals.filter((v) => constIndex.has(v));
    const stackedResiduals = split.residuals.filter((v) => !constIndex.has(v));
    const knownBody = new Program(
      split.known.constvars,
      split.known.consts,
      split.known.invars,
      split.known.equations,
      [...split.known.outputs.slice(0, nk + ny), ...stackedResiduals],
    );
    const knownOuts = bind(scan, primals, { ...p, body: knownBody });
    const outs = knownOuts.slice(0, nk + ny);
    const stacks = knownOuts.slice(nk + ny);
    const unknownInvars = split.unknown.invars.slice(split.residuals.length);
    const tConsts = unknownInvars.slice(0, constT.filter(Boolean).length);
    const tCarry = unknownInvars.slice(
      tConsts.length,
      tConsts.length + carryT.filter(Boolean).length,
    );
    const tXs = unknownInvars.slice(tConsts.length + tCarry.length);
    const tangentBody = new Program(
      split.unknown.constvars,
      split.unknown.consts,
      [...constResiduals, ...tConsts, ...tCarry, ...stackedResiduals, ...tXs],
      split.unknown.equations,
      split.unknown.outputs,
    );
    const given = (ts: readonly (NDArray | null)[]): NDArray[] =>
      ts.filter((t): t is NDArray => t !== null);
    const tangentInit = carryAvals.flatMap((a, i) =>
      isFloat(a) ? [tangents[nc + i] ?? zeros(a.withWeakType(false))] : [],
    );
    const tangentOuts = bind(
      scan,
      [
        ...constResiduals.map((v) => primals[constIndex.get(v)!]!),
        ...given(tangents.slice(0, nc)),
        ...tangentInit,
        ...stacks,
        ...given(tangents.slice(nc + nk)),
      ],
      {
        body: tangentBody,
        length,
        reverse,
        numConsts: constResiduals.length + tConsts.length,
        numCarry: tCarry.length,
      },
    );
    let k = 0;
    const outTangents = outs.map((o) => (isFloat(o.aval) ? tangentOuts[k++]! : null));
    return [outs, outTangents];
  },
  transpose(cts, inputs, p) {
    const { body, numConsts: nc, numCarry: nk, length, reverse } = p;
    // Carries are always transposed as linear: a tangent scan's carry may come in as a
    // constant (zero) tangent, which the body is still linear in.
    const linear = inputs.map((x, i) => (i >= nc && i < nc + nk) || isLinear(x));
    const consts = inputs.slice(0, nc);
    const xs = inputs.slice(nc + nk);
    const nonlinearConsts = consts.filter((x): x is NDArray => !isLinear(x));
    const linearConsts = consts.filter(isLinear);
    const nonlinearXs = xs.filter((x): x is NDArray => !isLinear(x));
    const outAvals = body.outAvals;
    const ctCarry = outAvals.slice(0, nk).map((a, i) => cts[i] ?? zeros(a.withWeakType(false)));
    const ctYs = outAvals
      .slice(nk)
      .map((a, i) => cts[nk + i] ?? zeros(a.withWeakType(false).withShape([length, ...a.shape])));
    // The body's transpose: [...non-linear consts, ...non-linear x slices, ...cts of carry and
    // y] → cts of [...linear consts, ...carry, ...linear x slices].
    const transposed = transposeClosed(body, linear);
    const nlc = nonlinearConsts.length;
    const lc = linearConsts.length;
    const nlx = nonlinearXs.length;
    const backward = stageFlat(
      "scan",
      (vs) => {
        const nlcV = vs.slice(0, nlc);
        const ctc = vs.slice(nlc, nlc + nk);
        const acc = vs.slice(nlc + nk, nlc + nk + lc);
        const nlxV = vs.slice(nlc + nk + lc, nlc + nk + lc + nlx);
        const cty = vs.slice(nlc + nk + lc + nlx);
        const r = runProgram(transposed, [...nlcV, ...nlxV, ...ctc, ...cty]);
        const ctConsts = r.slice(0, lc);
        const ctCarryIn = r.slice(lc, lc + nk);
        const ctX = r.slice(lc + nk);
        return [...ctCarryIn, ...acc.map((a, i) => ops.add(a, ctConsts[i]!)), ...ctX];
      },
      [
        ...nonlinearConsts.map((x) => x.aval),
        ...ctCarry.map((x) => x.aval),
        ...linearConsts.map((x) => x.aval.withWeakType(false)),
        ...nonlinearXs.map((x) => x.aval.withShape(x.shape.slice(1))),
        ...ctYs.map((y) => y.aval.withShape(y.shape.slice(1))),
      ],
    );
    const res = bind(
      scan,
      [
        ...nonlinearConsts,
        ...ctCarry,
        ...linearConsts.map((x) => zeros(x.aval.withWeakType(false))),
        ...nonlinearXs,
        ...ctYs,
      ],
      { body: backward, length, reverse: !reverse, numConsts: nlc, numCarry: nk + lc },
    );
    const ctInit = res.slice(0, nk);
    const ctLinearConsts = res.slice(nk, nk + lc);
    const ctLinearXs = res.slice(nk + lc);
    let c = 0;
    let x = 0;
    return inputs.map((input, i) => {
      if (i >= nc && i < nc + nk) return ctInit[i - nc]!;
      if (!isLinear(input)) return null;
      return i < nc ? ctLinearConsts[c++]! : ctLinearXs[x++]!;
    });
  },
  batch(inputs, axes, p) {
    const { body, numConsts: nc, numCarry: nk } = p;
    const i0 = axes.findIndex((a) => a !== null);
    const size = inputs[i0]!.shape[axes[i0]!]!;
    const constAxes = axes.slice(0, nc);
    const xAxes = axes.slice(nc + nk);
    // Carries batched where the init is, and wherever the body makes them so (a fixed point).
    const carryBatched = axes.slice(nc, nc + nk).map((a) => a !== null);
    const bodyAxes = (): (number | null)[] => [
      ...constAxes,
      ...carryBatched.map((b) => (b ? 0 : null)),
      ...xAxes.map((a) => (a === null ? null : 0)),
    ];
    for (;;) {
      const { batched } = batchProgram(body, bodyAxes(), size);
      const grown = batched.slice(0, nk).some((b, i) => b && !carryBatched[i]);
      if (!grown) break;
      batched.slice(0, nk).forEach((b, i) => (carryBatched[i] ||= b));
    }
    const ny = body.outputs.length - nk;
    const probe = batchProgram(body, bodyAxes(), size);
    const outBatched = [...carryBatched, ...probe.batched.slice(nk)];
    const batchedBody = batchProgram(body, bodyAxes(), size, outBatched).program;
    const init = inputs.slice(nc, nc + nk).map((x, i) => {
      const a = axes[nc + i]!;
      if (a !== null) return ops.moveAxis(x, a, 0);
      return carryBatched[i] ? ops.broadcastAxis(x, 0, size) : x;
    });
    const xs = inputs
      .slice(nc + nk)
      .map((x, i) => (xAxes[i] === null ? x : ops.moveAxis(x, xAxes[i]!, 1)));
    const outs = bind(scan, [...inputs.slice(0, nc), ...init, ...xs], { ...p, body: batchedBody });
    return [
      outs,
      [
        ...carryBatched.map((b) => (b ? 0 : null)),
        ...outBatched.slice(nk, nk + ny).map((b) => (b ? 1 : null)),
      ],
    ];
  },
});

function scanExamples(): PrimitiveExample<ScanParams>[] {
  const f64 = (shape: number[]): AbstractValue => new AbstractValue(shape, "float64");
  // consts [w], carry [c], xs [x]: c' = sin(c)·w + x, y = c·x
  const body = stageFlat(
    "scan",
    ([w, c, x]) => [ops.add(ops.mul(ops.unary(unary.sin, c!), w!), x!), ops.mul(c!, x!)],
    [f64([2]), f64([2]), f64([2])],
  );
  // No consts, two carries, no xs: (a, b) → (a·b, a + 1), y = a
  const body2 = stageFlat(
    "scan",
    ([a, b]) => [ops.mul(a!, b!), ops.add(a!, ops.constant(1, "float64", true)), a!],
    [f64([]), f64([])],
  );
  return [
    ...[false, true].map((reverse) => ({
      inputs: [
        { shape: [2], dtype: "float64" as const },
        { shape: [2], dtype: "float64" as const },
        { shape: [3, 2], dtype: "float64" as const },
      ],
      params: { body, length: 3, reverse, numConsts: 1, numCarry: 1 },
    })),
    {
      inputs: [
        { shape: [], dtype: "float64" as const, range: [0.5, 1.5] as const },
        { shape: [], dtype: "float64" as const, range: [0.5, 1.5] as const },
      ],
      params: { body: body2, length: 4, reverse: false, numConsts: 0, numCarry: 2 },
    },
  ];
}

// ── while ──────────────────────────────────────────────────────────────────────────────────

export interface WhileParams {
  /** `[...condConsts, ...carry]` → a bool scalar. */
  cond: Program;
  /** `[...bodyConsts, ...carry]` → the next carry. */
  body: Program;
  condConsts: number;
  bodyConsts: number;
}

/** Tells `grad` through `whileLoop` to use `maxSteps`. */
export class WhileLoopReverseError extends ValueError {}

/** `while(...condConsts, ...bodyConsts, ...init)` → the final carry. */
export const whileLoop: Primitive<WhileParams> = definePrimitive<WhileParams>({
  name: "while",
  linear: true,
  examples: whileExamples,
  formatParams: (p) =>
    `cond=${indent(p.cond.toString(), "      ")}\n      body=${indent(p.body.toString(), "      ")}`,
  abstractEval(avals, p) {
    const carry = avals.slice(p.condConsts + p.bodyConsts);
    const condIn = [...avals.slice(0, p.condConsts), ...carry];
    const bodyIn = [...avals.slice(p.condConsts, p.condConsts + p.bodyConsts), ...carry];
    const out = p.cond.outAvals;
    if (
      !sameTypes(p.cond.inAvals, condIn) ||
      out.length !== 1 ||
      out[0]!.ndim !== 0 ||
      out[0]!.dtype !== "bool"
    ) {
      throw new ShapeError(
        "while",
        `the condition must map ${typesText(condIn)} to a bool scalar.`,
      );
    }
    if (!sameTypes(p.body.inAvals, bodyIn) || !sameTypes(p.body.outAvals, carry)) {
      throw new ShapeError(
        "while",
        `the body must map the carry ${typesText(carry)} to the same types, got ${typesText(p.body.outAvals)}.`,
      );
    }
    return carry;
  },
  impl(inputs, p) {
    const condConsts = inputs.slice(0, p.condConsts);
    const bodyConsts = inputs.slice(p.condConsts, p.condConsts + p.bodyConsts);
    let carry = inputs.slice(p.condConsts + p.bodyConsts);
    while (runProgram(p.cond, [...condConsts, ...carry])[0]!.item() as boolean) {
      carry = runProgram(p.body, [...bodyConsts, ...carry]);
    }
    return carry;
  },
  jvp(primals, tangents, p) {
    const ncc = p.condConsts;
    const nbc = p.bodyConsts;
    const carryAvals = primals.slice(ncc + nbc).map((x) => x.aval);
    if (tangents.every((t) => t === null)) {
      const outs = bind(whileLoop, primals, p);
      return [outs, outs.map(() => null)];
    }
    const constT = tangents.slice(ncc, ncc + nbc).map((t) => t !== null);
    const carryT = carryAvals.map(isFloat);
    const jvpBody = jvpProgram(p.body, [...constT, ...carryT]);
    // Reorder the inputs to [consts, const tangents, carry, carry tangents].
    const inv = jvpBody.invars;
    const nT = constT.filter(Boolean).length;
    const nk = carryAvals.length;
    const body = new Program(
      jvpBody.constvars,
      jvpBody.consts,
      [
        ...inv.slice(0, nbc),
        ...inv.slice(nbc + nk, nbc + nk + nT),
        ...inv.slice(nbc, nbc + nk),
        ...inv.slice(nbc + nk + nT),
      ],
      jvpBody.equations,
      jvpBody.outputs,
    );
    const tangentCarry = carryAvals.filter(isFloat).map((a) => new Var(a.withWeakType(false)));
    const condProgram = new Program(
      p.cond.constvars,
      p.cond.consts,
      [...p.cond.invars, ...tangentCarry],
      p.cond.equations,
      p.cond.outputs,
    );
    const given = tangents.slice(ncc, ncc + nbc).filter((t): t is NDArray => t !== null);
    const init = carryAvals.flatMap((a, i) =>
      isFloat(a) ? [tangents[ncc + nbc + i] ?? zeros(a.withWeakType(false))] : [],
    );
    const outs = bind(
      whileLoop,
      [...primals.slice(0, ncc + nbc), ...given, ...primals.slice(ncc + nbc), ...init],
      { cond: condProgram, body, condConsts: ncc, bodyConsts: nbc + nT },
    );
    const carry = outs.slice(0, nk);
    let k = nk;
    return [carry, carryAvals.map((a) => (isFloat(a) ? outs[k++]! : null))];
  },
  transpose() {
    throw new WhileLoopReverseError(
      "lax.whileLoop",
      "reverse-mode differentiation (grad, vjp) needs a bound on the number of steps: pass { maxSteps } to lax.whileLoop (or use lax.foriLoop with fixed bounds, or lax.scan).",
    );
  },
  batch(inputs, axes, p) {
    const ncc = p.condConsts;
    const nbc = p.bodyConsts;
    const i0 = axes.findIndex((a) => a !== null);
    const size = inputs[i0]!.shape[axes[i0]!]!;
    const carryBatched = axes.slice(ncc + nbc).map((a) => a !== null);
    const condAxes = (): (number | null)[] => [
      ...axes.slice(0, ncc),
      ...carryBatched.map((b) => (b ? 0 : null)),
    ];
    const bodyAxes = (): (number | null)[] => [
      ...axes.slice(ncc, ncc + nbc),
      ...carryBatched.map((b) => (b ? 0 : null)),
    ];
    // A batched predicate makes every carry batched (lanes stop at different steps).
    for (;;) {
      const predBatched = batchProgram(p.cond, condAxes(), size).batched[0]!;
      const bodyBatched = batchProgram(p.body, bodyAxes(), size).batched;
      const next = carryBatched.map((b, i) => b || predBatched || bodyBatched[i]!);
      if (next.every((b, i) => b === carryBatched[i])) break;
      next.forEach((b, i) => (carryBatched[i] = b));
    }
    const predBatched = batchProgram(p.cond, condAxes(), size).batched[0]!;
    const condB = batchProgram(p.cond, condAxes(), size, [predBatched]).program;
    const bodyB = batchProgram(p.body, bodyAxes(), size, carryBatched).program;
    const init = inputs.slice(ncc + nbc).map((x, i) => {
      const a = axes[ncc + nbc + i]!;
      if (a !== null) return ops.moveAxis(x, a, 0);
      return carryBatched[i] ? ops.broadcastAxis(x, 0, size) : x;
    });
    const condConsts = inputs.slice(0, ncc);
    const bodyConsts = inputs.slice(ncc, ncc + nbc);
    if (!predBatched) {
      const outs = bind(whileLoop, [...condConsts, ...bodyConsts, ...init], {
        ...p,
        cond: condB,
        body: bodyB,
      });
      return [outs, carryBatched.map((b) => (b ? 0 : null))];
    }
    // Run while any lane goes on; lanes that have stopped keep their carry.
    const carryAvals = init.map((x) => x.aval);
    const anyCond = stageFlat(
      "while",
      (xs) => [bind1(reduceOr, runProgram(condB, xs), { axes: [0] })],
      [...condConsts.map((x) => x.aval), ...carryAvals],
    );
    const maskedBody = stageFlat(
      "while",
      (xs) => {
        const cc = xs.slice(0, ncc);
        const bc = xs.slice(ncc, ncc + nbc);
        const carry = xs.slice(ncc + nbc);
        const going = runProgram(condB, [...cc, ...carry])[0]!;
        const next = runProgram(bodyB, [...bc, ...carry]);
        return carry.map((c, i) => ops.select(ops.broadcast(going, c.shape, [0]), next[i]!, c));
      },
      [...condConsts.map((x) => x.aval), ...bodyConsts.map((x) => x.aval), ...carryAvals],
    );
    const outs = bind(whileLoop, [...condConsts, ...condConsts, ...bodyConsts, ...init], {
      cond: anyCond,
      body: maskedBody,
      condConsts: ncc,
      bodyConsts: ncc + nbc,
    });
    return [outs, outs.map(() => 0)];
  },
});

function whileExamples(): PrimitiveExample<WhileParams>[] {
  const f64 = (shape: number[]): AbstractValue => new AbstractValue(shape, "float64");
  const i32 = new AbstractValue([], "int32");
  // carry (i, x): while i < n: (i + 1, x·w + 1)
  const condP = stageFlat("while", ([n, i]) => [ops.lt(i!, n!)], [i32, i32, f64([2])]);
  const body = stageFlat(
    "while",
    ([w, i, x]) => [
      ops.add(i!, ops.constant(1, "int32", true)),
      ops.add(ops.mul(x!, w!), ops.constant(1, "float64", true)),
    ],
    [f64([2]), i32, f64([2])],
  );
  return [0, 3].map((n) => ({
    inputs: [
      { shape: [], dtype: "int32" as const, values: [n] },
      { shape: [2], dtype: "float64" as const, range: [-0.9, 0.9] as const },
      { shape: [], dtype: "int32" as const, values: [0] },
      { shape: [2], dtype: "float64" as const },
    ],
    params: { cond: condP, body, condConsts: 1, bodyConsts: 1 },
    modes: ["fwd"] as const,
  }));
}

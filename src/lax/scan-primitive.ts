/**
 * The `scan` primitive: a loop over the leading axis of its `xs` with a carry. Its JVP splits into
 * a primal scan that also stacks the residuals the tangents need and a tangent scan linear in
 * the tangents; the transpose of that is a scan backwards. Batching finds the batched carries as
 * a fixed point.
 */
import { AbstractValue } from "../core/aval.js";
import type { NDArray } from "../core/array.js";
import { ShapeError } from "../core/errors.js";
import { Equation, Program, Var } from "../core/ir.js";
import { eliminateDeadCode } from "../compiler/passes/dce.js";
import { definePrimitive, type Primitive, type PrimitiveExample } from "../core/primitive.js";
import { bind, bind1 } from "../core/trace.js";
import * as ops from "../primitives/ops.js";
import { concatenate, slice } from "../primitives/structural.js";
import * as unary from "../primitives/unary.js";
import {
  batchProgram,
  definePartialEvalRule,
  isLinear,
  jvpProgram,
  knownCarries,
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
  pick,
  withFreshOutputs,
} from "./programs.js";

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
    // Residuals that are consts of the loop stay consts. Those computed from the consts alone
    // (Wᵀ·W, a weight's softplus), or from carries every step passes on unchanged (parameters
    // carried through the loop), are the same every step: computed once, before the loop, and
    // passed as consts too. The others are stacked per step.
    const constIndex = new Map(jvpBody.invars.slice(0, nc).map((v, i) => [v, i]));
    const constResiduals = split.residuals.filter((v) => constIndex.has(v));
    const carried = split.known.invars.slice(nc, nc + nk);
    const unchanged = carried.flatMap((v, i) => (split.known.outputs[i] === v ? [i] : []));
    const varying = new Set<Var>(split.known.invars.slice(nc));
    for (const i of unchanged) varying.delete(carried[i]!);
    for (const eq of split.known.equations) {
      if (eq.inputs.some((a) => a instanceof Var && varying.has(a))) {
        eq.outputs.forEach((v) => varying.add(v));
      }
    }
    const invariantResiduals = split.residuals.filter((v) => !constIndex.has(v) && !varying.has(v));
    const stackedResiduals = split.residuals.filter((v) => varying.has(v));
    const invariants =
      invariantResiduals.length === 0
        ? []
        : runProgram(
            eliminateDeadCode(
              new Program(
                split.known.constvars,
                split.known.consts,
                [...split.known.invars.slice(0, nc), ...unchanged.map((i) => carried[i]!)],
                split.known.equations,
                invariantResiduals,
              ),
            ),
            [...primals.slice(0, nc), ...unchanged.map((i) => primals[nc + i]!)],
          );
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
      [
        ...constResiduals,
        ...invariantResiduals,
        ...tConsts,
        ...tCarry,
        ...stackedResiduals,
        ...tXs,
      ],
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
        ...invariants,
        ...given(tangents.slice(0, nc)),
        ...tangentInit,
        ...stacks,
        ...given(tangents.slice(nc + nk)),
      ],
      {
        body: tangentBody,
        length,
        reverse,
        numConsts: constResiduals.length + invariants.length + tConsts.length,
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

/**
 * Partial evaluation of a scan with some unknown inputs: the carries that stay known at every
 * step (a fixed point) and the `ys` computed from known values only come from a scan over the
 * known inputs; the rest from the whole scan, which recomputes the known part.
 */
definePartialEvalRule(scan, {
  knownOutputs(eq, knownInputs) {
    const { body, numConsts: nc, numCarry: nk } = eq.params as ScanParams;
    const consts = knownInputs.slice(0, nc);
    const xs = knownInputs.slice(nc + nk);
    const carry = knownCarries(knownInputs.slice(nc, nc + nk), (c) =>
      knownOutputsOf(body, [...consts, ...c, ...xs]),
    );
    return [...carry, ...knownOutputsOf(body, [...consts, ...carry, ...xs]).slice(nk)];
  },
  split(eq, knownInputs, knownOutputs) {
    const p = eq.params as ScanParams;
    const { numConsts: nc, numCarry: nk } = p;
    const consts = knownInputs.slice(0, nc);
    const carry = knownOutputs.slice(0, nk);
    const xs = knownInputs.slice(nc + nk);
    const known = new Equation(
      eq.primitive,
      [
        ...pick(eq.inputs.slice(0, nc), consts),
        ...pick(eq.inputs.slice(nc, nc + nk), carry),
        ...pick(eq.inputs.slice(nc + nk), xs),
      ],
      pick(eq.outputs, knownOutputs),
      {
        ...p,
        body: knownPart(p.body, [...consts, ...carry, ...xs], knownOutputs),
        numConsts: consts.filter(Boolean).length,
        numCarry: carry.filter(Boolean).length,
      } satisfies ScanParams,
      eq.source,
    );
    const unknown = knownOutputs.every(Boolean) ? null : withFreshOutputs(eq, knownOutputs);
    return { known, unknown };
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

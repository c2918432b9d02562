/**
 * The `while` primitive: loops while a predicate holds. Forward mode carries tangents through the
 * loop; there is no transpose (the trip count is unknown), so reverse mode goes through
 * `whileLoop(..., { maxSteps })`, a scan. A batched predicate runs until every lane has stopped.
 */
import { AbstractValue } from "../core/aval.js";
import type { NDArray } from "../core/array.js";
import { ShapeError, ValueError } from "../core/errors.js";
import { Equation, Program, Var } from "../core/ir.js";
import { definePrimitive, type Primitive, type PrimitiveExample } from "../core/primitive.js";
import { bind, bind1 } from "../core/trace.js";
import * as ops from "../primitives/ops.js";
import { reduceOr } from "../primitives/reduce.js";
import {
  batchProgram,
  definePartialEvalRule,
  jvpProgram,
  knownCarries,
  knownOutputsOf,
  knownPart,
  runProgram,
  stagesAbovePrimals,
  pick,
  withFreshOutputs,
  stageFlat,
  zeros,
  indent,
  isFloat,
  sameTypes,
  typesText,
} from "./programs.js";

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
    // The loop carrying the tangents also computes the primal carry. Under `grad` the tangents
    // are staged above the primals: the primal carry then comes from a loop on the primals alone
    // (computed now), so that nothing non-linear (and no int or bool carry) reaches the linear
    // program; the staged loop recomputes it (as JAX's partial evaluation of `while` does).
    const carry = stagesAbovePrimals(primals, [...given, ...init])
      ? bind(whileLoop, primals, p)
      : outs.slice(0, nk);
    let k = nk;
    return [carry, carryAvals.map((a) => (isFloat(a) ? outs[k++]! : null))];
  },
  transpose() {
    // The loop carrying tangents (from its JVP) is the only `while` in a linear program.
    throw new WhileLoopReverseError(
      "lax.whileLoop",
      "reverse-mode differentiation (grad, vjp) needs a bound on the number of steps: pass { maxSteps } to lax.whileLoop (or use lax.foriLoop with fixed bounds, or lax.scan). " +
        "This includes a loop whose body only captures a differentiated array by closure. If the " +
        "loop's result needs no derivative through the iterations (a Newton solve followed by an " +
        "implicit-function step), wrap it in lax.stopGradient instead.",
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

/**
 * Partial evaluation of a loop with some unknown inputs: the carries that stay known at every
 * step (a fixed point) are computed by a loop over them alone, provided the condition reads only
 * known values; the unknown carries by the whole loop, which recomputes the known ones.
 */
definePartialEvalRule(whileLoop, {
  knownOutputs(eq, knownInputs) {
    const p = eq.params as WhileParams;
    const condConsts = knownInputs.slice(0, p.condConsts);
    const bodyConsts = knownInputs.slice(p.condConsts, p.condConsts + p.bodyConsts);
    const carry = knownCarries(knownInputs.slice(p.condConsts + p.bodyConsts), (c) =>
      knownOutputsOf(p.body, [...bodyConsts, ...c]),
    );
    const condKnown = knownOutputsOf(p.cond, [...condConsts, ...carry])[0]!;
    return carry.map((k) => k && condKnown);
  },
  split(eq, knownInputs, knownOutputs) {
    const p = eq.params as WhileParams;
    const ncc = p.condConsts;
    const nbc = p.bodyConsts;
    const condConsts = knownInputs.slice(0, ncc);
    const bodyConsts = knownInputs.slice(ncc, ncc + nbc);
    const known = new Equation(
      eq.primitive,
      [
        ...pick(eq.inputs.slice(0, ncc), condConsts),
        ...pick(eq.inputs.slice(ncc, ncc + nbc), bodyConsts),
        ...pick(eq.inputs.slice(ncc + nbc), knownOutputs),
      ],
      pick(eq.outputs, knownOutputs),
      {
        cond: knownPart(p.cond, [...condConsts, ...knownOutputs], [true]),
        body: knownPart(p.body, [...bodyConsts, ...knownOutputs], knownOutputs),
        condConsts: condConsts.filter(Boolean).length,
        bodyConsts: bodyConsts.filter(Boolean).length,
      } satisfies WhileParams,
      eq.source,
    );
    const unknown = knownOutputs.every(Boolean) ? null : withFreshOutputs(eq, knownOutputs);
    return { known, unknown };
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

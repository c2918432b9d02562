/**
 * `custom_jvp_call`: a function with a user-given derivative (`customJvp`, `customVjp`) staged
 * into a program — a `jit`, a loop body, a branch — keeps its rule. Both the function and its
 * JVP rule are staged when the function is called (while whatever they close over is still a
 * live value of the enclosing trace, which becomes an input of the equation), so a transform
 * applied to the program later (`grad` of a `lax.scan`, `vmap` of a branch) differentiates with
 * the rule instead of through the function's body. Compiling inlines the body
 * (`compiler/passes/inline.ts`).
 */
import { AbstractValue } from "../core/aval.js";
import type { NDArray } from "../core/array.js";
import { ShapeError } from "../core/errors.js";
import type { Program } from "../core/ir.js";
import { definePrimitive, type Primitive, type PrimitiveExample } from "../core/primitive.js";
import { bind } from "../core/trace.js";
import * as tree from "../core/tree.js";
import {
  batchProgram,
  closeProgram,
  indent,
  isFloat,
  runProgram,
  sameTypes,
  stageFlat,
} from "../lax/programs.js";
import * as ops from "../primitives/ops.js";
import * as unary from "../primitives/unary.js";
import { jvpFlat } from "./jvp.js";
import { stage } from "./staging.js";

/** Parameters of `custom_jvp_call`. Inputs: `[...bodyConsts, ...jvpConsts, ...arguments]`. */
export interface CustomCallParams {
  /** The user function's name, shown in the IR and in errors. */
  name: string;
  /** `[...bodyConsts, ...arguments] → outputs`: the function. */
  body: Program;
  /**
   * `[...jvpConsts, ...arguments, ...tangents of the float arguments] → [...outputs, ...tangents
   * of the float outputs]`: the rule (staged on first use when the call is inside the rule's own
   * staging, as when a rule calls its function for the primal output).
   */
  jvp: () => Program;
  numBodyConsts: number;
  numJvpConsts: number;
}

/** The inputs of the body: its constants and the arguments. */
export function bodyInputs<T>(inputs: readonly T[], p: CustomCallParams): T[] {
  return [...inputs.slice(0, p.numBodyConsts), ...inputs.slice(p.numBodyConsts + p.numJvpConsts)];
}

export const customCall: Primitive<CustomCallParams> = definePrimitive<CustomCallParams>({
  name: "custom_jvp_call",
  linear: false,
  examples: customCallExamples,
  formatParams: ({ name, body }) =>
    `name=${name} body=(\n      ${indent(body.toString(), "      ")}\n    )`,
  abstractEval(inputs, p) {
    if (!sameTypes(p.body.inAvals, bodyInputs(inputs, p))) {
      throw new ShapeError(p.name, "the staged function was called with other types.");
    }
    return p.body.outAvals;
  },
  impl: (inputs, p) => runProgram(p.body, bodyInputs(inputs, p)),
  jvp(inputs, tangents, p) {
    const start = p.numBodyConsts + p.numJvpConsts;
    const args = inputs.slice(start);
    const argTangents = tangents.slice(start);
    const consts = inputs.slice(0, p.numBodyConsts);
    const constTangents = tangents.slice(0, p.numBodyConsts);
    if (tangents.every((t) => t === null)) {
      const outs = bind(customCall, inputs, p);
      return [outs, outs.map(() => null)];
    }
    // The rule, on the arguments' tangents (zeros where they have none).
    const ts = args.flatMap((x, i) =>
      isFloat(x.aval) ? [argTangents[i] ?? ops.zerosLike(x.aval.withWeakType(false))] : [],
    );
    const ruled = runProgram(p.jvp(), [...inputs.slice(p.numBodyConsts, start), ...args, ...ts]);
    const n = p.body.outputs.length;
    const outs = ruled.slice(0, n);
    let k = n;
    let outTangents: (NDArray | null)[] = outs.map((o) => (isFloat(o.aval) ? ruled[k++]! : null));
    if (constTangents.some((t) => t !== null)) {
      // What the function closed over moves it too; the rule only speaks for the arguments.
      const [, extra] = jvpFlat(
        (cs) => runProgram(p.body, [...cs, ...args]),
        consts,
        constTangents,
      );
      outTangents = outTangents.map((t, i) =>
        t === null || extra[i] === null || extra[i] === undefined ? t : ops.add(t, extra[i]),
      );
    }
    return [outs, outTangents];
  },
  batch(inputs, axes, p) {
    const size = inputs.find((_, i) => axes[i] !== null)!.shape[axes.find((a) => a !== null)!]!;
    const moved = inputs.map((x, i) => (axes[i] === null ? x : ops.moveAxis(x, axes[i]!, 0)));
    const at = axes.map((a) => (a === null ? null : 0));
    const start = p.numBodyConsts + p.numJvpConsts;
    const argAxes = at.slice(start);
    const floatArgAxes = argAxes.filter((_, i) => isFloat(inputs[start + i]!.aval));
    const allBatched = (program: Program): boolean[] => program.outputs.map(() => true);
    const body = batchProgram(p.body, bodyInputs(at, p), size, allBatched(p.body)).program;
    let batchedJvp: Program | undefined;
    const jvp = (): Program =>
      (batchedJvp ??= batchProgram(
        p.jvp(),
        [...at.slice(p.numBodyConsts, start), ...argAxes, ...floatArgAxes],
        size,
        allBatched(p.jvp()),
      ).program);
    const outs = bind(customCall, moved, { ...p, body, jvp });
    return [outs, outs.map(() => 0)];
  },
});

/** Flat function with its rule, as `custom.ts` builds them. */
export interface StageableRule {
  name: string;
  /** The user's function: calls of the same function share it. */
  key: object;
  f: (leaves: NDArray[]) => NDArray[];
  jvp(primals: NDArray[], tangents: (NDArray | null)[]): [NDArray[], (NDArray | null)[]];
}

/** Functions whose rule is being staged now. */
const stagingRules = new Set<object>();

/**
 * Stages a call of a function with a custom rule as one `custom_jvp_call` equation. The rule is
 * staged now, so that what it closes over becomes inputs of the equation; a call inside its own
 * rule's staging (a rule computing its primal output with the function) defers its rule until a
 * transform asks for it, which then must not close over traced values.
 */
export function stageCustomCall(rule: StageableRule, leaves: readonly NDArray[]): NDArray[] {
  const avals = leaves.map((x) => x.aval);
  const floats = avals.map(isFloat);
  const listAvals = (inAvals: readonly AbstractValue[]): tree.TreeDef =>
    tree.flatten(inAvals.map(() => 0))[1];
  const stageList = (f: (xs: NDArray[]) => NDArray[], inAvals: readonly AbstractValue[]) =>
    closeProgram(
      stage(rule.name, ((...xs: NDArray[]) => f(xs)) as never, inAvals, listAvals(inAvals))[0],
    );
  const body = stageList((xs) => rule.f(xs), avals);
  const ruleOf = (xs: NDArray[]): NDArray[] => {
    let k = avals.length;
    const tangents = avals.map((_, i) => (floats[i] ? xs[k++]! : null));
    const [outs, outTangents] = rule.jvp(xs.slice(0, avals.length), tangents);
    return [
      ...outs,
      ...outs.flatMap((o, i) =>
        isFloat(o.aval) ? [outTangents[i] ?? ops.zerosLike(o.aval.withWeakType(false))] : [],
      ),
    ];
  };
  const ruleAvals = [...avals, ...avals.filter(isFloat).map((a) => a.withWeakType(false))];
  const checked = (program: Program): Program => {
    const n = body.program.outputs.length;
    if (!sameTypes(program.outAvals.slice(0, n), body.program.outAvals)) {
      throw new ShapeError(
        rule.name,
        "the primal output of the derivative rule has other shapes or dtypes than the function's output.",
      );
    }
    return program;
  };
  const whileStaging = <T>(f: () => T): T => {
    stagingRules.add(rule.key);
    try {
      return f();
    } finally {
      stagingRules.delete(rule.key);
    }
  };
  let jvpConsts: NDArray[] = [];
  let jvp: () => Program;
  if (stagingRules.has(rule.key)) {
    let deferred: Program | undefined;
    jvp = () => (deferred ??= whileStaging(() => checked(stageFlat(rule.name, ruleOf, ruleAvals))));
  } else {
    const staged = whileStaging(() => stageList(ruleOf, ruleAvals));
    const program = checked(staged.program);
    jvpConsts = staged.consts;
    jvp = () => program;
  }
  return bind(customCall, [...body.consts, ...jvpConsts, ...leaves], {
    name: rule.name,
    body: body.program,
    jvp,
    numBodyConsts: body.consts.length,
    numJvpConsts: jvpConsts.length,
  });
}

/** x·sin(x) with its derivative as the rule, and (x, y) ↦ (x·y, exp(x)) likewise. */
function customCallExamples(): PrimitiveExample<CustomCallParams>[] {
  const f64 = (shape: number[]): AbstractValue => new AbstractValue(shape, "float64");
  const sin = (x: NDArray): NDArray => ops.unary(unary.sin, x);
  const cos = (x: NDArray): NDArray => ops.unary(unary.cos, x);
  const exp = (x: NDArray): NDArray => ops.unary(unary.exp, x);
  const params = (
    name: string,
    avals: AbstractValue[],
    f: (xs: NDArray[]) => NDArray[],
    rule: (xs: NDArray[], ts: NDArray[]) => NDArray[],
  ): CustomCallParams => {
    const jvp = stageFlat(
      name,
      (xs) => [
        ...f(xs.slice(0, avals.length)),
        ...rule(xs.slice(0, avals.length), xs.slice(avals.length)),
      ],
      [...avals, ...avals],
    );
    return {
      name,
      body: stageFlat(name, f, avals),
      jvp: () => jvp,
      numBodyConsts: 0,
      numJvpConsts: 0,
    };
  };
  const xSinX = params(
    "xSinX",
    [f64([4])],
    ([x]) => [ops.mul(x!, sin(x!))],
    ([x], [t]) => [ops.mul(t!, ops.add(sin(x!), ops.mul(x!, cos(x!))))],
  );
  const pair = params(
    "pair",
    [f64([2, 3]), f64([2, 3])],
    ([x, y]) => [ops.mul(x!, y!), exp(x!)],
    ([x, y], [tx, ty]) => [ops.add(ops.mul(tx!, y!), ops.mul(x!, ty!)), ops.mul(tx!, exp(x!))],
  );
  return [
    { inputs: [{ shape: [4], dtype: "float64" }], params: xSinX },
    {
      inputs: [
        { shape: [2, 3], dtype: "float64" },
        { shape: [2, 3], dtype: "float64" },
      ],
      params: pair,
    },
  ];
}

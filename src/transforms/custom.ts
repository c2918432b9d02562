/**
 * User-defined derivatives and rematerialisation: `customJvp`, `customVjp`, `checkpoint`, and
 * `stopGradient`. Each is a rule consulted by the innermost transform: JVP uses the rule, vmap
 * batches the function and the rule together, everything else calls the plain function.
 */
import { AbstractValue } from "../core/aval.js";
import type { NDArray } from "../core/array.js";
import { isFloating } from "../core/dtype.js";
import { ShapeError, TreeError } from "../core/errors.js";
import { formatShape, shapesEqual } from "../core/shape.js";
import { bind, bind1, raiseTo, topTrace, Tracer } from "../core/trace.js";
import * as tree from "../core/tree.js";
import * as ops from "../primitives/ops.js";
import {
  customLin,
  stopGradient as stopGradientPrimitive,
  type CustomLinParams,
} from "../primitives/special.js";
import { JVPTrace, JVPTracer, jvpFlat } from "./jvp.js";
import { toArrayLeaf } from "./leaves.js";
import { linearizeFlat, transposeProgram } from "./linearize.js";
import { BatchTrace, BatchTracer, vmapFlat } from "./vmap.js";
import { stageCustomCall } from "./custom-call.js";
import { StagingTrace } from "./staging.js";

/**
 * The identity whose derivative is zero: gradients do not flow through it.
 * @example
 * grad((x: NDArray) => x.mul(stopGradient(x)).sum())(np.array([3])); // [3], not [6]
 */
export function stopGradient<T>(x: T): T {
  return tree.map(
    (leaf: unknown) =>
      bind1(stopGradientPrimitive, [toArrayLeaf("stopGradient", leaf, "argument")], {}),
    x,
  ) as T;
}

type FlatFn = (leaves: NDArray[]) => NDArray[];

/** How a custom function differentiates and batches, over flat leaves. */
interface CustomRule {
  name: string;
  /** The user's function (calls of the same function share it). */
  key: object;
  f: FlatFn;
  jvp(primals: NDArray[], tangents: (NDArray | null)[]): [NDArray[], (NDArray | null)[]];
  /**
   * Whether staging keeps the rule (a `custom_jvp_call` equation): a user-given derivative must
   * survive into loop bodies and compiled programs. `checkpoint` runs inline when staged.
   */
  staged?: boolean;
}

/** Outputs of a flat function batched along `axes`, with every output's batch axis at 0. */
function batchFlat(
  f: FlatFn,
  values: NDArray[],
  axes: readonly (number | null)[],
  size: number,
): NDArray[] {
  const [outs, outAxes] = vmapFlat((leaves) => f(leaves), values, axes);
  return outs.map((o, i) =>
    outAxes[i] === null ? ops.broadcastAxis(o, 0, size) : ops.moveAxis(o, outAxes[i]!, 0),
  );
}

/** The same rule for inputs batched along `axes` (outputs batched at 0). */
function batchRule(rule: CustomRule, axes: readonly (number | null)[], size: number): CustomRule {
  return {
    name: rule.name,
    key: rule.key,
    staged: rule.staged,
    f: (leaves) => batchFlat(rule.f, leaves, axes, size),
    jvp(primals, tangents) {
      const n = primals.length;
      const ts = tangents.map((t, i) => t ?? ops.zerosLike(primals[i]!));
      const both = batchFlat(
        (leaves) => {
          const [po, to] = rule.jvp(leaves.slice(0, n), leaves.slice(n));
          return [...po, ...to.map((t, i) => t ?? ops.zerosLike(po[i]!))];
        },
        [...primals, ...ts],
        [...axes, ...axes],
        size,
      );
      return [both.slice(0, both.length / 2), both.slice(both.length / 2)];
    },
  };
}

/** Applies a custom rule under whatever transform is innermost. */
function callCustom(rule: CustomRule, leaves: NDArray[]): NDArray[] {
  const top = topTrace(leaves, rule.name);
  // Staged, a user-given rule goes into the program with the function (`custom_jvp_call`).
  if (rule.staged === true && top instanceof StagingTrace) return stageCustomCall(rule, leaves);
  if (top instanceof JVPTrace) {
    const raised = leaves.map((l) => raiseTo(top, l, rule.name) as JVPTracer);
    const tangents = raised.map((t) => t.tangent);
    const primals = raised.map((t) => t.primal);
    if (tangents.every((t) => t === null))
      return callCustom(rule, primals).map((p) => new JVPTracer(top, p, null));
    const [po, to] = rule.jvp(primals, tangents);
    // A rule closing over values this very differentiation traces cannot run on the primals
    // alone: staged, what it closes over becomes explicit inputs, differentiated through the
    // function (the rule speaks for the arguments).
    const leaked = [...po, ...to].some(
      (o) => o instanceof Tracer && o.trace.main.level >= top.main.level,
    );
    if (leaked && rule.staged === true) return stageCustomCall(rule, leaves);
    return po.map((p, i) => new JVPTracer(top, p, isFloating(p.dtype) ? (to[i] ?? null) : null));
  }
  if (top instanceof BatchTrace) {
    const raised = leaves.map((l) => raiseTo(top, l, rule.name) as BatchTracer);
    const axes = raised.map((t) => t.batchAxis);
    const first = raised.find((t) => t.batchAxis !== null)!;
    const size = first.value.shape[first.batchAxis!]!;
    const outs = callCustom(
      batchRule(rule, axes, size),
      raised.map((t) => t.value),
    );
    return outs.map((o) => new BatchTracer(top, o, 0));
  }
  return rule.f(leaves);
}

/**
 * A user function called on flat leaves. `outTree` is the output structure of the last call (or
 * of the last rule that produced outputs), used to unflatten what the transform returns.
 */
class FlatCall {
  readonly leaves: NDArray[];
  readonly inTree: tree.TreeDef;
  outTree: tree.TreeDef | undefined;

  constructor(
    readonly name: string,
    private readonly fn: (...args: never[]) => unknown,
    args: readonly unknown[],
  ) {
    [this.leaves, this.inTree] = flatArgs(name, args);
  }

  /** The arguments rebuilt from flat leaves. */
  args(leaves: readonly NDArray[]): never[] {
    return tree.unflatten(this.inTree, [...leaves]) as never[];
  }

  /** Flat outputs of a result, remembering its structure. */
  outputs(result: unknown, role = "output"): NDArray[] {
    const [outs, treedef] = flatOut(this.name, result, role);
    this.outTree = treedef;
    return outs;
  }

  readonly call: FlatFn = (leaves) => this.outputs(this.fn(...this.args(leaves)));

  /** The transform's result, in the output structure. */
  result(outs: readonly NDArray[]): unknown {
    return tree.unflatten(this.outTree!, [...outs]);
  }
}

function flatArgs(name: string, args: readonly unknown[]): [NDArray[], tree.TreeDef] {
  const [leaves, treedef] = tree.flatten([...args]);
  return [leaves.map((l) => toArrayLeaf(name, l, "argument")), treedef];
}

function flatOut(name: string, out: unknown, role: string): [NDArray[], tree.TreeDef] {
  const [leaves, treedef] = tree.flatten(out);
  return [leaves.map((l) => toArrayLeaf(name, l, role)), treedef];
}

/** Checks user-returned leaves against the expected ones: same structure, same shapes. */
function checkLike(
  name: string,
  what: string,
  got: unknown,
  expected: readonly NDArray[],
  expectedTree: tree.TreeDef,
): NDArray[] {
  const [leaves, treedef] = flatOut(name, got, what);
  if (!treedef.equals(expectedTree)) {
    throw new TreeError(
      name,
      `the ${what} has structure ${treedef.toString()} but ${expectedTree.toString()} was expected (one entry per primal).`,
    );
  }
  return leaves.map((l, i) => {
    const e = expected[i]!;
    if (!shapesEqual(l.shape, e.shape)) {
      throw new ShapeError(
        name,
        `${what} leaf ${i} has shape ${formatShape(l.shape)} but its primal has shape ${formatShape(e.shape)}.`,
      );
    }
    return isFloating(e.dtype) ? ops.convert(l, e.dtype, false) : l;
  });
}

/** A function with a user-defined JVP rule. */
export interface CustomJvpFunction<F extends (...args: never[]) => unknown> {
  (...args: Parameters<F>): ReturnType<F>;
  /**
   * Sets the rule: `rule(primals, tangents)` returns `[primalOut, tangentOut]` (lists with one
   * entry per argument in, pytrees like `f`'s output out). Returns the function.
   */
  defJvp(
    rule: (primals: Parameters<F>, tangents: Parameters<F>) => [ReturnType<F>, ReturnType<F>],
  ): CustomJvpFunction<F>;
}

/**
 * Wraps `f` so that its derivative is given by a rule (`.defJvp`) instead of by differentiating
 * its body, as `jax.custom_jvp`. Reverse mode is derived from the rule too.
 * @example
 * const softplus = customJvp((x: NDArray) => np.log1p(np.exp(x)));
 * softplus.defJvp(([x], [t]) => [softplus(x), t.mul(np.reciprocal(np.exp(x.neg()).add(1)))]);
 */
export function customJvp<F extends (...args: never[]) => unknown>(f: F): CustomJvpFunction<F> {
  let rule:
    | ((primals: Parameters<F>, tangents: Parameters<F>) => [ReturnType<F>, ReturnType<F>])
    | undefined;
  const name = `customJvp(${f.name || "f"})`;
  const wrapped = ((...args: Parameters<F>) => {
    if (rule === undefined) return f(...(args as never[]));
    const userRule = rule;
    const call = new FlatCall(name, f, args);
    const customRule: CustomRule = {
      name,
      key: wrapped,
      staged: true,
      f: call.call,
      jvp(primals, tangents) {
        const ts = tangents.map((t, i) => t ?? ops.zerosLike(primals[i]!));
        const [po, to] = userRule(
          call.args(primals) as Parameters<F>,
          call.args(ts) as Parameters<F>,
        );
        const pLeaves = call.outputs(po, "primal output of the JVP rule");
        return [
          pLeaves,
          checkLike(name, "tangent output of the JVP rule", to, pLeaves, call.outTree!),
        ];
      },
    };
    return call.result(callCustom(customRule, call.leaves));
  }) as CustomJvpFunction<F>;
  wrapped.defJvp = (r) => {
    rule = r;
    return wrapped;
  };
  return wrapped;
}

/** A function with a user-defined VJP (forward and backward passes). */
export interface CustomVjpFunction<F extends (...args: never[]) => unknown> {
  (...args: Parameters<F>): ReturnType<F>;
  /**
   * Sets the passes: `forward(...args)` returns `[output, residuals]`; `backward(residuals,
   * cotangent)` returns one cotangent per argument. Returns the function.
   */
  defVjp<R>(
    forward: (...args: Parameters<F>) => [ReturnType<F>, R],
    backward: (residuals: R, cotangent: ReturnType<F>) => unknown[],
  ): CustomVjpFunction<F>;
}

/** Builds the `custom_lin` parameters for a backward function over flat leaves. */
function linParams(
  name: string,
  outAvals: readonly AbstractValue[],
  numResiduals: number,
  backward: CustomLinParams["backward"],
  forward: CustomLinParams["forward"],
): CustomLinParams {
  return {
    name,
    numResiduals,
    outAvals: outAvals.map((a) => a.withWeakType(false)),
    backward,
    forward,
    batched(inputs, axes) {
      // Batch every input at 0 and rebind with batched passes (vmap of backward and forward).
      const first = axes.findIndex((a) => a !== null);
      const size = inputs[first]!.shape[axes[first]!]!;
      // Residuals may stay unbatched; tangents are all batched so cotangents match them.
      const moved = inputs.map((x, i) =>
        axes[i] !== null
          ? ops.moveAxis(x, axes[i]!, 0)
          : i < numResiduals
            ? x
            : ops.broadcastAxis(x, 0, size),
      );
      const inner = axes.map((a, i) => (a === null && i < numResiduals ? null : 0));
      const resAxes = inner.slice(0, numResiduals);
      const batchedBackward = (r: NDArray[], cts: NDArray[]): (NDArray | null)[] =>
        batchFlat(
          (ls) =>
            backward(ls.slice(0, numResiduals), ls.slice(numResiduals)).map(
              (c, i) => c ?? ops.zerosLike(inputs[numResiduals + i]!.aval),
            ),
          [...r, ...cts],
          [...resAxes, ...cts.map(() => 0)],
          size,
        );
      const batchedForward =
        forward === null
          ? null
          : (r: NDArray[], ts: NDArray[]): NDArray[] =>
              batchFlat(
                (ls) => forward(ls.slice(0, numResiduals), ls.slice(numResiduals)),
                [...r, ...ts],
                inner,
                size,
              );
      const batchedAvals = outAvals.map((a) => new AbstractValue([size, ...a.shape], a.dtype));
      const outs = bind(
        customLin,
        moved,
        linParams(name, batchedAvals, numResiduals, batchedBackward, batchedForward),
      );
      return [outs, outs.map(() => 0)];
    },
  };
}

/**
 * Wraps `f` with a user-defined reverse-mode derivative, as `jax.custom_vjp`: `forward` saves
 * residuals, `backward` maps the output cotangent to the arguments' cotangents.
 * @example
 * const clipGradient = customVjp((x: NDArray) => x);
 * clipGradient.defVjp((x) => [x, null], (_, g) => [np.clip(g, -1, 1)]);
 */
export function customVjp<F extends (...args: never[]) => unknown>(f: F): CustomVjpFunction<F> {
  let passes:
    | {
        forward: (...args: Parameters<F>) => [ReturnType<F>, unknown];
        backward: (r: unknown, ct: ReturnType<F>) => unknown[];
      }
    | undefined;
  const name = `customVjp(${f.name || "f"})`;
  const wrapped = ((...args: Parameters<F>) => {
    if (passes === undefined) return f(...(args as never[]));
    const { forward, backward } = passes;
    const call = new FlatCall(name, f, args);
    const inTree = call.inTree;
    const rule: CustomRule = {
      name,
      key: wrapped,
      staged: true,
      f: call.call,
      jvp(primals, tangents) {
        const [out, residuals] = forward(...(call.args(primals) as Parameters<F>));
        const outs = call.outputs(out);
        const oTree = call.outTree!;
        const [resLeaves, resTree] = flatOut(name, residuals, "residual");
        const floatInputs = primals
          .map((p, i) => (isFloating(p.dtype) ? i : -1))
          .filter((i) => i >= 0);
        const back = (res: NDArray[], cts: NDArray[]): (NDArray | null)[] => {
          const ct = tree.unflatten(oTree, cts) as ReturnType<F>;
          const got = backward(tree.unflatten(resTree, res), ct);
          // `null` for an argument means a zero cotangent, as None does in JAX.
          const args = tree.unflatten(inTree, primals) as unknown[];
          const filled = Array.isArray(got)
            ? got.map((c, i) =>
                c === null && i < args.length
                  ? tree.map((p: NDArray) => ops.zerosLike(p), args[i])
                  : c,
              )
            : got;
          const all = checkLike(
            name,
            "cotangent list returned by backward",
            filled,
            primals,
            inTree,
          );
          return floatInputs.map((i) => all[i]!);
        };
        const ts = floatInputs.map((i) => tangents[i] ?? ops.zerosLike(primals[i]!));
        const params = linParams(
          name,
          outs.map((o) => o.aval),
          resLeaves.length,
          back,
          null,
        );
        const outTangents = bind(customLin, [...resLeaves, ...ts], params);
        return [outs, outTangents];
      },
    };
    return call.result(callCustom(rule, call.leaves));
  }) as CustomVjpFunction<F>;
  wrapped.defVjp = (forward, backward) => {
    passes = {
      forward: forward as (...args: Parameters<F>) => [ReturnType<F>, unknown],
      backward: backward as (r: unknown, ct: ReturnType<F>) => unknown[],
    };
    return wrapped;
  };
  return wrapped;
}

/**
 * Rematerialisation: `grad` of `checkpoint(f)` stores only `f`'s inputs and recomputes its
 * internals on the backward pass, trading compute for memory.
 * @example
 * const block = checkpoint((x: NDArray) => np.tanh(np.tanh(x)));
 */
export function checkpoint<F extends (...args: never[]) => unknown>(f: F): F {
  const name = `checkpoint(${f.name || "f"})`;
  return ((...args: Parameters<F>) => {
    const call = new FlatCall(name, f, args);
    const flatF = call.call;
    const rule: CustomRule = {
      name,
      key: f,
      f: flatF,
      jvp(primals, tangents) {
        const outs = flatF(primals);
        const floatInputs = primals
          .map((p, i) => (isFloating(p.dtype) ? i : -1))
          .filter((i) => i >= 0);
        const withTangents = (res: NDArray[], ts: NDArray[]): (NDArray | null)[] => {
          const full: (NDArray | null)[] = res.map(() => null);
          floatInputs.forEach((i, k) => (full[i] = ts[k]!));
          return full;
        };
        const forward = (res: NDArray[], ts: NDArray[]): NDArray[] => {
          const [po, to] = jvpFlat((ls) => flatF(ls), res, withTangents(res, ts));
          return to.map((t, i) => t ?? ops.zerosLike(po[i]!));
        };
        const backward = (res: NDArray[], cts: NDArray[]): (NDArray | null)[] => {
          const lin = linearizeFlat((ls) => flatF(ls), res);
          return transposeProgram(lin.program, cts);
        };
        const ts = floatInputs.map((i) => tangents[i] ?? ops.zerosLike(primals[i]!));
        const outTangents = bind(
          customLin,
          [...primals, ...ts],
          linParams(
            name,
            outs.map((o) => o.aval),
            primals.length,
            backward,
            forward,
          ),
        );
        return [outs, outTangents];
      },
    };
    return call.result(callCustom(rule, call.leaves));
  }) as F;
}

/**
 * Forward mode: `jvp(f, primals, tangents)` pushes tangents through `f` alongside the primals.
 */
import type { NDArray } from "../core/array.js";
import { isFloating } from "../core/dtype.js";
import { ShapeError, TreeError } from "../core/errors.js";
import type { Params, Primitive } from "../core/primitive.js";
import { formatShape, shapesEqual } from "../core/shape.js";
import { bind, Trace, Tracer, withMainTrace, type MainTrace } from "../core/trace.js";
import * as tree from "../core/tree.js";
import * as ops from "../primitives/ops.js";
import { toArrayLeaf } from "./leaves.js";

/** A value with its tangent (`null` = a symbolic zero). */
export class JVPTracer extends Tracer {
  constructor(
    readonly trace: JVPTrace,
    readonly primal: NDArray,
    readonly tangent: NDArray | null,
  ) {
    super();
  }

  get aval(): NDArray["aval"] {
    return this.primal.aval;
  }

  /** Under jvp/grad without jit, JS control flow on values works: the primal is concrete. */
  override concrete(operation: string): NDArray {
    return this.primal.concrete(operation);
  }
}

export class JVPTrace extends Trace {
  pure(value: NDArray): NDArray {
    return new JVPTracer(this, value, null);
  }

  lift(value: NDArray): NDArray {
    return new JVPTracer(this, value, null);
  }

  processPrimitive(primitive: Primitive, inputs: readonly NDArray[], params: Params): NDArray[] {
    const tracers = inputs as readonly JVPTracer[];
    const primals = tracers.map((t) => t.primal);
    const tangents = tracers.map((t) => t.tangent);
    if (tangents.every((t) => t === null)) {
      return bind(primitive, primals, params).map((p) => new JVPTracer(this, p, null));
    }
    const [outs, outTangents] = primitive.spec.jvp(primals, tangents, params);
    return outs.map((p, i) => {
      const t = outTangents[i] ?? null;
      return new JVPTracer(this, p, t !== null && isFloating(p.dtype) ? t : null);
    });
  }
}

/** Runs `f` on flat primals with flat tangents under a new JVP level. @internal */
export function jvpFlat(
  f: (leaves: NDArray[]) => unknown,
  primals: readonly NDArray[],
  tangents: readonly (NDArray | null)[],
): [NDArray[], (NDArray | null)[], tree.TreeDef, unknown] {
  return withMainTrace(
    (main: MainTrace) => new JVPTrace(main),
    null,
    (main) => {
      const trace = new JVPTrace(main);
      const inputs = primals.map((p, i) => new JVPTracer(trace, p, tangents[i] ?? null));
      const result = f(inputs);
      const [leaves, outTree] = tree.flatten(result);
      const outPrimals: NDArray[] = [];
      const outTangents: (NDArray | null)[] = [];
      for (const leaf of leaves) {
        const x = toArrayLeaf("jvp", leaf, "output");
        if (x instanceof JVPTracer && x.trace.main === main) {
          outPrimals.push(x.primal);
          outTangents.push(x.tangent);
        } else {
          outPrimals.push(x);
          outTangents.push(null);
        }
      }
      return [outPrimals, outTangents, outTree, result];
    },
  );
}

/**
 * Forward-mode derivative: evaluates `f(...primals)` and its directional derivative along
 * `tangents` (same structure, shapes and dtypes as `primals`). Returns `[out, tangentOut]`.
 * @example
 * const [y, dy] = jvp((x: NDArray) => np.sin(x), [np.array(0.5)], [np.array(1)]);
 */
export function jvp<Out = NDArray>(
  f: (...args: never[]) => Out,
  primals: readonly unknown[],
  tangents: readonly unknown[],
): [Out, Out] {
  const [pLeaves, pTree] = tree.flatten([...primals]);
  const [tLeaves, tTree] = tree.flatten([...tangents]);
  if (!pTree.equals(tTree)) {
    throw new TreeError(
      "jvp",
      `primals and tangents must have the same structure, got ${pTree.toString()} and ${tTree.toString()}.`,
    );
  }
  const ps = pLeaves.map((p) => toArrayLeaf("jvp", p, "primal"));
  const ts = tLeaves.map((t, i) => {
    const tangent = toArrayLeaf("jvp", t, "tangent");
    const p = ps[i]!;
    if (!shapesEqual(tangent.shape, p.shape)) {
      throw new ShapeError(
        "jvp",
        `tangent ${i} has shape ${formatShape(tangent.shape)} but its primal has shape ${formatShape(p.shape)}; they must match.`,
      );
    }
    if (!isFloating(p.dtype)) return null;
    return ops.convert(tangent, p.dtype, false);
  });
  const [outPrimals, outTangents, outTree] = jvpFlat(
    (leaves) => f(...(tree.unflatten(pTree, leaves) as never[])),
    ps,
    ts,
  );
  const filled = outTangents.map((t, i) => t ?? ops.zerosLike(outPrimals[i]!));
  return [tree.unflatten(outTree, outPrimals) as Out, tree.unflatten(outTree, filled) as Out];
}

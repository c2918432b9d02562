/**
 * `vmap`: maps a function over a batch axis of its arguments, by adding that axis to every
 * primitive it binds (each primitive's batching rule), not by looping.
 */
import { AbstractValue } from "../core/aval.js";
import type { NDArray } from "../core/array.js";
import { ShapeError, ValueError } from "../core/errors.js";
import type { Params, Primitive } from "../core/primitive.js";
import { formatShape, normalizeAxis } from "../core/shape.js";
import { bind, Trace, Tracer, withMainTrace, type MainTrace } from "../core/trace.js";
import * as tree from "../core/tree.js";
import * as ops from "../primitives/ops.js";
import { toArrayLeaf } from "./leaves.js";

/** A batched value: `value` carries the batch along `batchAxis` (`null`: not batched). */
export class BatchTracer extends Tracer {
  readonly aval: AbstractValue;
  constructor(
    readonly trace: BatchTrace,
    readonly value: NDArray,
    readonly batchAxis: number | null,
  ) {
    super();
    const shape = batchAxis === null ? value.shape : value.shape.filter((_, i) => i !== batchAxis);
    this.aval = new AbstractValue(shape, value.dtype, value.weakType);
  }
}

export class BatchTrace extends Trace {
  pure(value: NDArray): NDArray {
    return new BatchTracer(this, value, null);
  }

  lift(value: NDArray): NDArray {
    return new BatchTracer(this, value, null);
  }

  processPrimitive(primitive: Primitive, inputs: readonly NDArray[], params: Params): NDArray[] {
    const tracers = inputs as readonly BatchTracer[];
    const values = tracers.map((t) => t.value);
    const axes = tracers.map((t) => t.batchAxis);
    if (axes.every((a) => a === null)) {
      return bind(primitive, values, params).map((v) => new BatchTracer(this, v, null));
    }
    const [outs, outAxes] = primitive.spec.batch(values, axes, params);
    return outs.map((v, i) => new BatchTracer(this, v, outAxes[i] ?? null));
  }
}

/** An axis specification: a number, `null` (not mapped), or a pytree of them. */
export type AxisSpec = number | null | readonly AxisSpec[] | { readonly [key: string]: AxisSpec };

/** Options of `vmap`. */
export interface VmapOptions {
  /** The mapped axis of each argument (default 0): a number, `null`, or a list per argument. */
  inAxes?: AxisSpec;
  /** Where the batch axis goes in each output (default 0). */
  outAxes?: AxisSpec;
  /** The batch size, needed when no argument is mapped. */
  axisSize?: number;
}

/** One axis per leaf of `values`, from an axis spec that is a prefix of its structure. */
function broadcastAxes(
  operation: string,
  spec: AxisSpec,
  values: unknown,
  what: string,
): (number | null)[] {
  if (spec === null || typeof spec === "number") return tree.leaves(values).map(() => spec);
  const [specLeaves, specTree] = tree.flatten(spec, (x) => x === null);
  let subtrees: unknown[];
  try {
    subtrees = specTree.flattenUpTo(values);
  } catch {
    throw new ValueError(
      operation,
      `${what} ${JSON.stringify(spec)} does not match the structure of the ${what === "inAxes" ? "arguments" : "outputs"} ` +
        `(${tree.structure(values).toString()}): give one axis (or null) per ${what === "inAxes" ? "argument" : "output"}, or a single number.`,
    );
  }
  return subtrees.flatMap((sub, i) => {
    const axis = specLeaves[i];
    if (axis !== null && typeof axis !== "number") {
      throw new ValueError(
        operation,
        `${what} entries must be integers or null, got ${JSON.stringify(axis)}.`,
      );
    }
    return tree.leaves(sub).map(() => axis);
  });
}

/** Runs `f` on batched flat inputs; returns flat outputs with their batch axes. @internal */
export function vmapFlat(
  f: (leaves: NDArray[]) => unknown,
  values: readonly NDArray[],
  axes: readonly (number | null)[],
): [NDArray[], (number | null)[], tree.TreeDef] {
  return withMainTrace(
    (main: MainTrace) => new BatchTrace(main),
    null,
    (main) => {
      const trace = new BatchTrace(main);
      const inputs = values.map((v, i) => new BatchTracer(trace, v, axes[i] ?? null));
      const [leaves, outTree] = tree.flatten(f(inputs));
      const outs: NDArray[] = [];
      const outAxes: (number | null)[] = [];
      for (const leaf of leaves) {
        const x = toArrayLeaf("vmap", leaf, "output");
        if (x instanceof BatchTracer && x.trace.main === main) {
          outs.push(x.value);
          outAxes.push(x.batchAxis);
        } else {
          outs.push(x);
          outAxes.push(null);
        }
      }
      return [outs, outAxes, outTree];
    },
  );
}

/**
 * Vectorises `f` over a batch axis: `vmap(f)(xs)` is `stack([f(x) for x in xs])`, computed in
 * one pass. `inAxes`/`outAxes` choose the axes (numbers, `null`, or pytrees of them).
 * @example
 * const rowNorms = vmap((row: NDArray) => np.sqrt(row.mul(row).sum()));
 * rowNorms(np.ones([4, 3])); // shape [4]
 */
export function vmap<F extends (...args: never[]) => unknown>(f: F, options: VmapOptions = {}): F {
  const inSpec = options.inAxes === undefined ? 0 : options.inAxes;
  const outSpec = options.outAxes === undefined ? 0 : options.outAxes;
  const mapped = (...args: unknown[]): unknown => {
    if (Array.isArray(inSpec) && inSpec.length !== args.length) badInAxes(inSpec, args.length);
    const [leaves, inTree] = tree.flatten(args);
    const values = leaves.map((l) => toArrayLeaf("vmap", l, "argument"));
    const axes = broadcastAxes("vmap", inSpec, args, "inAxes").map((axis, i) =>
      axis === null ? null : normalizeAxisFor(values[i]!, axis, i),
    );
    let size: number | undefined = options.axisSize;
    values.forEach((v, i) => {
      const axis = axes[i];
      if (axis === null || axis === undefined) return;
      const n = v.shape[axis]!;
      if (size === undefined) size = n;
      else if (n !== size) {
        throw new ShapeError(
          "vmap",
          `mapped axes must all have the same size, but argument leaf ${i} (shape ${formatShape(v.shape)}) ` +
            `has size ${n} along axis ${axis} and an earlier one has size ${size}. Check inAxes.`,
        );
      }
    });
    if (size === undefined) {
      throw new ValueError(
        "vmap",
        "no argument is mapped (all inAxes are null); give axisSize to set the batch size.",
      );
    }
    const batchSize = size;
    const [outs, outAxes, outTree] = vmapFlat(
      (ls) => f(...(tree.unflatten(inTree, ls) as never[])),
      values,
      axes,
    );
    const result = tree.unflatten(outTree, outs);
    const wanted = broadcastAxes("vmap", outSpec, result, "outAxes");
    const placed = outs.map((v, i) => {
      const from = outAxes[i] ?? null;
      const to = wanted[i] ?? null;
      if (to === null) {
        if (from === null) return v;
        throw new ValueError(
          "vmap",
          `output leaf ${i} depends on the mapped inputs, so its outAxes entry cannot be null.`,
        );
      }
      const target = normalizeAxis("vmap", to, v.ndim + (from === null ? 1 : 0));
      if (from === null) return ops.broadcastAxis(v, target, batchSize);
      return ops.moveAxis(v, from, target);
    });
    return tree.unflatten(outTree, placed);
  };
  return mapped as unknown as F;
}

function badInAxes(spec: readonly AxisSpec[], count: number): never {
  throw new ValueError(
    "vmap",
    `inAxes has ${spec.length} entries but the function was called with ${count} arguments; give one entry per argument.`,
  );
}

function normalizeAxisFor(v: NDArray, axis: number, leaf: number): number {
  if (!Number.isInteger(axis) || axis < -v.ndim || axis >= v.ndim) {
    throw new ShapeError(
      "vmap",
      `inAxes asks for axis ${axis} of argument leaf ${leaf}, which has shape ${formatShape(v.shape)} (rank ${v.ndim}).`,
    );
  }
  return axis < 0 ? axis + v.ndim : axis;
}

/**
 * Rule helpers shared by many primitives: symbolic-zero tangents, the elementwise batching rule,
 * and derivative rules for primitives whose outputs are not differentiable.
 */
import type { NDArray } from "../core/array.js";
import { isFloating } from "../core/dtype.js";
import type {
  BatchRule,
  JvpRule,
  LinearInput,
  Params,
  Primitive,
  TransposeRule,
} from "../core/primitive.js";
import { bind } from "../core/trace.js";
import * as ops from "./ops.js";

/** Whether a transpose-rule input is the linear (unknown) one rather than a known value. */
export function isLinearInput(x: NDArray | LinearInput): x is LinearInput {
  return "linear" in x && x.linear === true;
}

/** A tangent or cotangent; `null` is a symbolic zero. */
export type MaybeZero = NDArray | null;

/** `null` → explicit zeros shaped like `like`. */
export function instantiate(
  t: MaybeZero,
  like: { shape: readonly number[]; dtype: NDArray["dtype"] },
): NDArray {
  return t ?? ops.zerosLike(like);
}

/** Null-aware sum of tangents (rank-0 tangents broadcast). */
export function addTangents(a: MaybeZero, b: MaybeZero): MaybeZero {
  if (a === null) return b;
  if (b === null) return a;
  return ops.add(a, b);
}

/** Null-aware `t * factor`. */
export function scaleTangent(t: MaybeZero, factor: NDArray): MaybeZero {
  return t === null ? null : ops.mul(t, factor);
}

/** Derivative rule of a primitive none of whose outputs is differentiable (ints, bools, steps). */
export function zeroJvp<P extends Params>(primitive: Primitive<P>): JvpRule<P> {
  return (primals, _tangents, params) => {
    const outs = bind(primitive, primals, params);
    return [outs, outs.map(() => null)];
  };
}

/** Derivative rule of a primitive linear in all its inputs: apply it to the tangents. */
export function linearJvp<P extends Params>(primitive: Primitive<P>): JvpRule<P> {
  return (primals, tangents, params) => {
    const outs = bind(primitive, primals, params);
    if (!outs.every((o) => isFloating(o.dtype))) return [outs, outs.map(() => null)];
    const ts = tangents.map((t, i) => instantiate(t, primals[i]!));
    return [outs, bind(primitive, ts, params)];
  };
}

/**
 * Derivative rule of a primitive linear in each of its two operands separately (a product):
 * `d(x∘y) = dx∘y + x∘dy`, with `apply(x, y)` binding the primitive.
 */
export function bilinearJvp<P extends Params>(
  apply: (x: NDArray, y: NDArray, params: P) => NDArray,
): JvpRule<P> {
  return ([x, y], [tx, ty], params) => {
    const out = apply(x!, y!, params);
    if (!isFloating(out.dtype)) return [[out], [null]];
    const a = tx === null ? null : apply(tx, y!, params);
    const b = ty === null ? null : apply(x!, ty, params);
    return [[out], [addTangents(a, b)]];
  };
}

/**
 * Transpose rule of a bilinear primitive, linear in one operand at a time: `left(ct, y, xAval)`
 * is the cotangent of `x` given `y`, `right(ct, x, yAval)` that of `y` given `x`.
 */
export function bilinearTranspose<P extends Params>(
  name: string,
  left: (ct: NDArray, y: NDArray, x: LinearInput, params: P) => NDArray,
  right: (ct: NDArray, x: NDArray, y: LinearInput, params: P) => NDArray,
): TransposeRule<P> {
  return ([ct], [x, y], params) => {
    if (ct === null || ct === undefined) return [null, null];
    const xLinear = isLinearInput(x!);
    const yLinear = isLinearInput(y!);
    if (xLinear && yLinear) throw new Error(`${name} is not linear in both operands at once`);
    return xLinear
      ? [left(ct, y as NDArray, x, params), null]
      : [null, right(ct, x as NDArray, y as LinearInput, params)];
  };
}

/**
 * The batching rule of elementwise primitives: batched operands get their batch axis moved to
 * the front; unbatched ones are broadcast along it (rank-0 ones stay rank 0).
 */
export function batchElementwise<P extends Params>(primitive: Primitive<P>): BatchRule<P> {
  return (inputs, axes, params) => {
    let size = 0;
    let perExample: readonly number[] = [];
    inputs.forEach((x, i) => {
      const axis = axes[i]!;
      if (axis !== null) {
        size = x.shape[axis]!;
        const shape = x.shape.filter((_, k) => k !== axis);
        if (shape.length > perExample.length) perExample = shape;
      } else if (x.ndim > perExample.length) perExample = x.shape;
    });
    const full = [size, ...perExample];
    const moved = inputs.map((x, i) => {
      const axis = axes[i]!;
      if (axis === null) {
        return x.ndim === 0
          ? x
          : ops.broadcast(
              x,
              full,
              x.shape.map((_, k) => k + 1),
            );
      }
      const front = ops.moveAxis(x, axis, 0);
      return front.ndim === 1 && perExample.length > 0 ? ops.broadcast(front, full, [0]) : front;
    });
    const outs = bind(primitive, moved, params);
    return [outs, outs.map(() => 0)];
  };
}

/** Moves each batched operand's axis to the front and broadcasts unbatched ones (for rules). */
export function batchToFront(
  inputs: readonly NDArray[],
  axes: readonly (number | null)[],
): NDArray[] {
  let size = 0;
  inputs.forEach((x, i) => {
    if (axes[i] !== null) size = x.shape[axes[i]!]!;
  });
  return inputs.map((x, i) =>
    axes[i] === null ? ops.broadcastAxis(x, 0, size) : ops.moveAxis(x, axes[i]!, 0),
  );
}

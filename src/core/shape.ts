/**
 * Shapes: broadcasting, axis normalisation, strides. Errors name the shapes and the operation.
 */
import { ShapeError, ValueError } from "./errors.js";

export type Shape = readonly number[];

export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(", ")}]`;
}

/** Row-major (C-order) strides, in elements. */
export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

/** NumPy's broadcasting of several shapes; `operation` names the caller in the error. */
export function broadcastShapes(operation: string, ...shapes: Shape[]): number[] {
  let ndim = 0;
  for (const s of shapes) ndim = Math.max(ndim, s.length);
  const out = new Array<number>(ndim).fill(1);
  for (const s of shapes) {
    const lead = ndim - s.length;
    for (let i = 0; i < s.length; i++) {
      const d = s[i]!;
      const o = out[lead + i]!;
      if (d === o || d === 1) continue;
      if (o === 1) out[lead + i] = d;
      else {
        throw new ShapeError(
          operation,
          `shapes ${shapes.map(formatShape).join(" and ")} cannot be broadcast together: ` +
            `axis ${lead + i - ndim} has sizes ${o} and ${d}, and broadcasting needs them equal or one of them 1. ` +
            `Reshape one operand (e.g. with np.expandDims) so the axes line up.`,
        );
      }
    }
  }
  return out;
}

/** Normalises a possibly negative axis for an array of rank `ndim`. */
export function normalizeAxis(operation: string, axis: number, ndim: number): number {
  if (!Number.isInteger(axis)) {
    throw new ValueError(operation, `axis must be an integer, got ${axis}.`);
  }
  if (axis < -ndim || axis >= ndim) {
    throw new ShapeError(
      operation,
      `axis ${axis} is out of range for an array of rank ${ndim}; valid axes are ${-ndim} to ${ndim - 1}.`,
    );
  }
  return axis < 0 ? axis + ndim : axis;
}

/**
 * Normalises `axis` (undefined = all axes, a number, or a list) to a sorted list of distinct
 * non-negative axes.
 */
export function normalizeAxes(
  operation: string,
  axis: number | readonly number[] | null | undefined,
  ndim: number,
): number[] {
  if (axis === undefined || axis === null) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof axis === "number" ? [axis] : [...axis];
  const out = list.map((a) => normalizeAxis(operation, a, ndim));
  if (new Set(out).size !== out.length) {
    throw new ValueError(operation, `axis ${JSON.stringify(list)} repeats an axis.`);
  }
  return out.sort((a, b) => a - b);
}

/** Checks that `shape` is a list of non-negative integers. */
export function checkShape(operation: string, shape: unknown): number[] {
  const list = typeof shape === "number" ? [shape] : shape;
  if (
    !Array.isArray(list) ||
    !list.every((d) => typeof d === "number" && Number.isInteger(d) && d >= 0)
  ) {
    throw new ShapeError(
      operation,
      `a shape must be a list of non-negative integers, got ${JSON.stringify(shape)}.`,
    );
  }
  return [...(list as number[])];
}

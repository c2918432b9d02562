/**
 * Small helpers shared by primitive definitions.
 */
import type { AbstractValue } from "../core/aval.js";
import type { NDArray } from "../core/array.js";
import { allocate, type DType } from "../core/dtype.js";
import { DtypeError, ShapeError } from "../core/errors.js";
import { formatShape, shapeSize, shapesEqual, type Shape } from "../core/shape.js";
import { asConcrete, fromStorage, type ConcreteArray } from "../runtime/concrete.js";
import type { Operand } from "../runtime/strided.js";

export type DTypeClass = "float" | "int" | "bool" | "numeric" | "any" | "integral";

const classes: Record<DTypeClass, readonly DType[]> = {
  float: ["float32", "float64"],
  int: ["int32", "uint32"],
  bool: ["bool"],
  numeric: ["float32", "float64", "int32", "uint32"],
  integral: ["int32", "uint32", "bool"],
  any: ["float32", "float64", "int32", "uint32", "bool"],
};

export function checkDType(
  operation: string,
  aval: AbstractValue,
  allowed: DTypeClass,
  what = "the operand",
): void {
  if (!classes[allowed].includes(aval.dtype)) {
    throw new DtypeError(
      operation,
      `${what} has dtype ${aval.dtype}, but ${operation} takes ${classes[allowed].join(" or ")}. ` +
        `Convert it with x.astype(...) first.`,
    );
  }
}

/** Checks that operands have equal shapes (rank-0 operands broadcast) and equal dtypes. */
export function elementwiseShape(operation: string, avals: readonly AbstractValue[]): Shape {
  let shape: Shape = [];
  for (const a of avals) if (a.ndim > 0) shape = a.shape;
  for (const a of avals) {
    if (a.ndim > 0 && !shapesEqual(a.shape, shape)) {
      throw new ShapeError(
        operation,
        `operands have shapes ${avals.map((x) => formatShape(x.shape)).join(" and ")}; ` +
          `this primitive needs equal shapes (np functions broadcast for you).`,
      );
    }
  }
  return shape;
}

export function checkSameDType(operation: string, avals: readonly AbstractValue[]): DType {
  const dtype = avals[0]!.dtype;
  for (const a of avals) {
    if (a.dtype !== dtype) {
      throw new DtypeError(
        operation,
        `operands have dtypes ${avals.map((x) => x.dtype).join(" and ")}; this primitive needs ` +
          `equal dtypes (np functions promote for you).`,
      );
    }
  }
  return dtype;
}

/** Operand aligned to `shape`: rank-0 arrays broadcast with zero strides. */
export function alignedOperand(x: ConcreteArray, shape: Shape): Operand {
  if (x.ndim === 0 && shape.length > 0) {
    return { data: x.data, strides: shape.map(() => 0), offset: x.offset };
  }
  return x.operand;
}

/** Allocates a contiguous output and wraps it. */
export function output(
  shape: Shape,
  dtype: DType,
  weakType: boolean,
  fill: (out: ReturnType<typeof allocate>) => void,
): ConcreteArray {
  const data = allocate(dtype, shapeSize(shape));
  fill(data);
  return fromStorage(data, shape, dtype, weakType);
}

export const concrete = (xs: readonly NDArray[]): ConcreteArray[] => xs.map(asConcrete);

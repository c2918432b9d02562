/**
 * Turning user values into arrays: JS numbers become weakly typed scalars; operands of a
 * multi-array operation are promoted to a common dtype and broadcast to a common shape.
 */
import { NDArray, type ArrayLike } from "../core/array.js";
import { isFloating, promoteTypeNodes, type DType, type TypeNode } from "../core/dtype.js";
import { ShapeError, ValueError } from "../core/errors.js";
import { broadcastShapes, formatShape, shapesEqual } from "../core/shape.js";
import { bind1 } from "../core/trace.js";
import { broadcastInDim } from "../primitives/structural.js";
import { convertElementType } from "../primitives/elementwise.js";
import { scalar } from "../runtime/concrete.js";

function describeValue(x: unknown): string {
  if (x === null) return "null";
  if (Array.isArray(x)) return "a JS array (wrap it with np.array(...))";
  if (typeof x === "object") return `an object (${(x as object).constructor?.name ?? "Object"})`;
  return `${typeof x} ${String(x)}`;
}

/** The type node of a JS number: integers are weak int32, others weak float32. */
function numberNode(x: number): TypeNode {
  return Number.isInteger(x) && Math.abs(x) < 2 ** 31
    ? { dtype: "int32", weak: true }
    : { dtype: "float32", weak: true };
}

function nodeOf(x: ArrayLike): TypeNode {
  if (x instanceof NDArray) return { dtype: x.dtype, weak: x.weakType };
  if (typeof x === "boolean") return { dtype: "bool", weak: false };
  return numberNode(x);
}

function checkArrayLike(operation: string, x: unknown, position: number): asserts x is ArrayLike {
  if (!(x instanceof NDArray) && typeof x !== "number" && typeof x !== "boolean") {
    throw new ValueError(
      operation,
      `argument ${position + 1} must be an array or a number, got ${describeValue(x)}.`,
    );
  }
}

/** An array for `x`: arrays pass through; numbers become weak scalars; booleans bool scalars. */
export function asArray(operation: string, x: ArrayLike, position = 0): NDArray {
  checkArrayLike(operation, x, position);
  if (x instanceof NDArray) return x;
  if (typeof x === "boolean") return scalar(x ? 1 : 0, "bool");
  const node = numberNode(x);
  return scalar(x, node.dtype, true);
}

/** `x` converted to `dtype` (and weak type), with no equation when nothing changes. */
export function convert(x: NDArray, dtype: DType, weakType = false): NDArray {
  if (x.dtype === dtype && x.weakType === weakType) return x;
  return bind1(convertElementType, [x], { newDType: dtype, weakType });
}

/** `x` as an array of `node`'s type: numbers are built directly, arrays converted. */
function toNode(operation: string, x: ArrayLike, node: TypeNode, position: number): NDArray {
  checkArrayLike(operation, x, position);
  if (x instanceof NDArray) return convert(x, node.dtype, node.weak);
  return scalar(typeof x === "boolean" ? Number(x) : x, node.dtype, node.weak);
}

/** The promoted type of operands (JAX's lattice, weak types for JS numbers). */
export function resultType(...xs: ArrayLike[]): TypeNode {
  return promoteTypeNodes(...xs.map(nodeOf));
}

/** Operands promoted to one dtype; `floatResult` makes integer results float32 (true division). */
export function promote(
  operation: string,
  xs: readonly ArrayLike[],
  floatResult = false,
): NDArray[] {
  xs.forEach((x, i) => checkArrayLike(operation, x, i));
  let node = promoteTypeNodes(...xs.map(nodeOf));
  if (floatResult && !isFloating(node.dtype)) node = { dtype: "float32", weak: node.weak };
  return xs.map((x, i) => toNode(operation, x, node, i));
}

/** `x` broadcast to `shape` (NumPy rules), as a view when eager. */
export function broadcastTo(operation: string, x: NDArray, shape: readonly number[]): NDArray {
  if (shapesEqual(x.shape, shape)) return x;
  if (!shapesEqual(broadcastShapes(operation, x.shape, shape), shape)) {
    throw new ShapeError(
      operation,
      `cannot broadcast an array of shape ${formatShape(x.shape)} to shape ${formatShape(shape)}: ` +
        `each axis must match or be 1, and the array may not have more axes than the target.`,
    );
  }
  const lead = shape.length - x.ndim;
  return bind1(broadcastInDim, [x], {
    shape: [...shape],
    broadcastDimensions: x.shape.map((_, i) => i + lead),
  });
}

/**
 * Operands promoted and broadcast for an elementwise operation. Rank-0 operands stay rank 0:
 * elementwise primitives broadcast them, which keeps the IR short.
 */
export function elementwiseArgs(
  operation: string,
  xs: readonly ArrayLike[],
  floatResult = false,
): NDArray[] {
  const arrays = promote(operation, xs, floatResult);
  const shape = broadcastShapes(operation, ...arrays.map((a) => a.shape));
  return arrays.map((a) => (a.ndim === 0 ? a : broadcastTo(operation, a, shape)));
}

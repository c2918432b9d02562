/**
 * Leaves of the pytrees transforms take and return: arrays, or JS numbers and booleans (which
 * become weakly typed scalars). Anything else is a `TreeError` that names the role of the leaf.
 */
import { NDArray } from "../core/array.js";
import { TreeError } from "../core/errors.js";
import { leafScalar } from "../primitives/ops.js";

function describeLeaf(x: unknown): string {
  if (x === null) return "null";
  if (typeof x === "object") return `an object of class ${x.constructor?.name ?? "Object"}`;
  return `${typeof x} ${String(x)}`;
}

/** `leaf` as an array; `role` ("argument", "output", "tangent", …) names it in errors. */
export function toArrayLeaf(operation: string, leaf: unknown, role: string): NDArray {
  if (leaf instanceof NDArray) return leaf;
  if (typeof leaf === "number" || typeof leaf === "boolean") return leafScalar(leaf);
  throw new TreeError(
    operation,
    `every ${role} leaf must be an array or a number, but one is ${describeLeaf(leaf)}. ` +
      `Pass non-array values through closures or staticArgnums instead.`,
  );
}

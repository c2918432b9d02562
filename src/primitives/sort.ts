/**
 * `sort`: stable sort of several same-shaped operands along one axis, ordered by the first
 * `numKeys` of them (lexicographically). NaN sorts last, as in NumPy. `argsort` sorts
 * `(x, iota)` and keeps the second output.
 */
import { ShapeError } from "../core/errors.js";
import { definePrimitive } from "../core/primitive.js";
import { allocate } from "../core/dtype.js";
import { formatShape, shapesEqual } from "../core/shape.js";
import { fromAxisLast, withAxesLast } from "../runtime/layout.js";
import { concrete } from "./util.js";

function compareNumbers(a: number, b: number): number {
  const an = a !== a;
  const bn = b !== b;
  if (an || bn) return an === bn ? 0 : an ? 1 : -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export const sort = definePrimitive<{ dimension: number; numKeys: number }>({
  name: "sort",
  abstractEval(avals, { dimension, numKeys }) {
    const first = avals[0]!;
    if (avals.some((a) => !shapesEqual(a.shape, first.shape))) {
      throw new ShapeError(
        "sort",
        `operands must have equal shapes, got ${avals.map((a) => formatShape(a.shape)).join(", ")}.`,
      );
    }
    if (dimension < 0 || dimension >= first.ndim) {
      throw new ShapeError(
        "sort",
        `axis ${dimension} is out of range for shape ${formatShape(first.shape)}.`,
      );
    }
    if (numKeys < 1 || numKeys > avals.length)
      throw new ShapeError("sort", `numKeys must be between 1 and ${avals.length}.`);
    return [...avals];
  },
  impl(inputs, { dimension, numKeys }) {
    const xs = concrete(inputs);
    const shape = xs[0]!.shape;
    const moved = xs.map((x) => withAxesLast(x, [dimension]));
    const n = shape[dimension]!;
    const size = xs[0]!.size;
    const outs = xs.map((x) => allocate(x.dtype, size));
    const order = Array.from({ length: n }, (_, i) => i);
    for (let base = 0; base < size; base += n) {
      for (let i = 0; i < n; i++) order[i] = i;
      order.sort((i, j) => {
        for (let k = 0; k < numKeys; k++) {
          const c = compareNumbers(moved[k]![base + i]!, moved[k]![base + j]!);
          if (c !== 0) return c;
        }
        return i - j;
      });
      for (let o = 0; o < outs.length; o++) {
        for (let i = 0; i < n; i++) outs[o]![base + i] = moved[o]![base + order[i]!]!;
      }
    }
    return outs.map((data, o) =>
      fromAxisLast(data, shape, dimension, xs[o]!.dtype, xs[o]!.weakType),
    );
  },
});

/**
 * `sort`: stable sort of several same-shaped operands along one axis, ordered by the first
 * `numKeys` of them (lexicographically). NaN sorts last, as in NumPy. `argsort` sorts
 * `(x, iota)` and keeps the second output.
 */
import { ShapeError } from "../core/errors.js";
import type { NDArray } from "../core/array.js";
import { isFloating } from "../core/dtype.js";
import {
  definePrimitive,
  type ExampleInput,
  type Primitive,
  type PrimitiveExample,
} from "../core/primitive.js";
import { bind, bind1 } from "../core/trace.js";
import { allocate } from "../core/dtype.js";
import { formatShape, shapesEqual } from "../core/shape.js";
import { fromAxisLast, withAxesLast } from "../runtime/layout.js";
import { gather } from "./indexing.js";
import * as ops from "./ops.js";
import { batchToFront } from "./rules.js";
import { concatenate, iota } from "./structural.js";
import { concrete } from "./util.js";

/** Ascending, −0 before +0, NaN last: the order of typed arrays' `sort`. */
function compareNumbers(a: number, b: number): number {
  const an = a !== a;
  const bn = b !== b;
  if (an || bn) return an === bn ? 0 : an ? 1 : -1;
  if (a === 0 && b === 0) return Number(Object.is(b, -0)) - Number(Object.is(a, -0));
  return a < b ? -1 : a > b ? 1 : 0;
}

interface SortParams {
  dimension: number;
  numKeys: number;
}

/** `x` permuted along `axis` by `perm` (an int32 array of x's shape): `take_along_axis`. */
function takeAlongAxis(x: NDArray, perm: NDArray, axis: number): NDArray {
  const columns = x.shape.map((_, i) =>
    i === axis ? perm : bind1(iota, [], { dtype: "int32", shape: [...x.shape], dimension: i }),
  );
  const indices = bind1(
    concatenate,
    columns.map((c) => ops.reshape(c, [...x.shape, 1])),
    { dimension: x.ndim },
  );
  return bind1(gather, [x, indices], { indexedAxes: x.shape.map((_, i) => i) });
}

const floats = (shape: readonly number[]): ExampleInput => ({ shape, dtype: "float32" });

/**
 * Sweep examples: one and several operands, one and two keys. Where keys tie (fixed values),
 * ties are broken by the second key, then by position; tied float keys are not differentiated
 * (the order there jumps under any perturbation), but the operands they carry are.
 */
function sortExamples(): PrimitiveExample<SortParams>[] {
  const tiedKeys: ExampleInput = { shape: [6], dtype: "float32", values: [1, 0, 1, 0, 2, 1] };
  const secondKeys: ExampleInput = { shape: [6], dtype: "int32", values: [3, 1, 0, 1, 2, 0] };
  return [
    { inputs: [floats([5])], params: { dimension: 0, numKeys: 1 } },
    { inputs: [floats([2, 4])], params: { dimension: 1, numKeys: 1 } },
    { inputs: [floats([3, 2, 2])], params: { dimension: 0, numKeys: 1 } },
    { inputs: [floats([1, 3])], params: { dimension: 0, numKeys: 1 } },
    { inputs: [floats([0])], params: { dimension: 0, numKeys: 1 } },
    { inputs: [floats([2, 0])], params: { dimension: 1, numKeys: 1 } },
    { inputs: [{ shape: [4], dtype: "int32" }], params: { dimension: 0, numKeys: 1 } },
    {
      inputs: [floats([2, 3]), { shape: [2, 3], dtype: "int32" }],
      params: { dimension: 0, numKeys: 1 },
    },
    {
      inputs: [floats([4]), floats([4]), floats([4])],
      params: { dimension: 0, numKeys: 1 },
    },
    {
      inputs: [tiedKeys, secondKeys, floats([6])],
      params: { dimension: 0, numKeys: 2 },
      differentiable: [2],
    },
    {
      inputs: [tiedKeys, { ...secondKeys, values: [0, 0, 1, 0, 1, 1] }],
      params: { dimension: 0, numKeys: 1 },
      differentiable: [],
    },
  ];
}

/** Stable sort along `dimension`, by the first `numKeys` operands; the others follow. */
export const sort: Primitive<SortParams> = definePrimitive<SortParams>({
  name: "sort",
  linear: false,
  examples: sortExamples,
  jvp(primals, tangents, params) {
    const shape = [...primals[0]!.shape];
    const positions = bind1(iota, [], { dtype: "int32", shape, dimension: params.dimension });
    const outs = bind(sort, [...primals, positions], params);
    const perm = outs.pop()!;
    const ts = tangents.map((t, i) =>
      t === null || !isFloating(outs[i]!.dtype) ? null : takeAlongAxis(t, perm, params.dimension),
    );
    return [outs, ts];
  },
  batch(inputs, axes, params) {
    const moved = batchToFront(inputs, axes);
    const outs = bind(sort, moved, { ...params, dimension: params.dimension + 1 });
    return [outs, outs.map(() => 0)];
  },
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
    if (xs.length === 1) {
      // One operand: the typed array's own sort, row by row (the same order, far faster).
      const [data, out] = [moved[0]!, outs[0]!];
      for (let base = 0; base < size; base += n) {
        const row = out.subarray(base, base + n);
        row.set(data.subarray(base, base + n));
        row.sort();
      }
      return [fromAxisLast(out, shape, dimension, xs[0]!.dtype, xs[0]!.weakType)];
    }
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

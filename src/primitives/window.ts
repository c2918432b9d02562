/**
 * Window reductions by maximum, with their derivatives (XLA's `reduce_window` with `max`,
 * `select_and_gather_add` and `select_and_scatter_add`), for max pooling:
 *
 *  - `reduce_window_max(x)`: the largest element of each window of `x`;
 *  - `select_and_gather_add(t, x)`: for each window, the element of `t` where `x` has its
 *    maximum (the JVP of `reduce_window_max`; linear in `t`);
 *  - `select_and_scatter_add(s, x)`: zeros shaped like `x`, with each window's element of `s`
 *    added where `x` has that window's maximum (the transpose of the previous one: the gradient of
 *    max pooling, one pass instead of a padded copy per window tap).
 *
 * All three choose the same element of each window: the first maximum in row-major window order,
 * or the first NaN if there is one (so the maximum propagates NaN and its whole derivative goes
 * to one element, as in PyTorch's and XLA's max pooling). Padding lies outside `x`: it is never
 * chosen, and a window wholly in the padding has the maximum −∞ (the lowest value for integers)
 * and derivative 0.
 */
import { AbstractValue } from "../core/aval.js";
import type { NDArray } from "../core/array.js";
import { isFloating, type DType, type TypedArray } from "../core/dtype.js";
import { ShapeError } from "../core/errors.js";
import {
  definePrimitive,
  type LinearInput,
  type Primitive,
  type PrimitiveExample,
} from "../core/primitive.js";
import { bind1 } from "../core/trace.js";
import { formatShape, shapesEqual } from "../core/shape.js";
import { fromStorage, type ConcreteArray } from "../runtime/concrete.js";
import * as ops from "./ops.js";
import { isLinearInput } from "./rules.js";
import { checkDType, checkSameDType, concrete, output } from "./util.js";
import { cachedPlan, windowShape, type WindowParams, type WindowPlan } from "./window-plan.js";

/**
 * What is done with each window's chosen element: `max` writes its value (the result of
 * `reduce_window_max`), `gather` writes the second operand's element there, `scatter` adds the
 * second operand's element for the window to a zero array shaped like the operand there.
 */
export type WindowMode = "max" | "gather" | "scatter";

/** Applies `mode` for the window `o` whose chosen element is `i` (−1: none). */
function apply(
  mode: WindowMode,
  i: number,
  o: number,
  xd: TypedArray,
  od: TypedArray,
  out: TypedArray,
  empty: number,
): void {
  if (mode === "max") out[o] = i < 0 ? empty : xd[i]!;
  else if (mode === "gather") out[o] = i < 0 ? 0 : od[i]!;
  else if (i >= 0) out[i] += od[o]!;
}

/**
 * The fast loop over the windows wholly inside a float32 operand (installed by the runtime):
 * `mode` for each window listed by `plan.entries`, into `out` (zeros, of the result's size; at
 * byte `address` of kernel memory when given, else copied there); false when it does not take
 * the operand. Windows in the padding are left to the caller.
 * @internal
 */
export type FastWindows = (
  mode: WindowMode,
  x: ConcreteArray,
  other: ConcreteArray | undefined,
  plan: WindowPlan,
  out: TypedArray,
  address: number | undefined,
) => boolean;
let fastWindows: FastWindows | undefined;

/** Installs the fast window loop (called once by the runtime). @internal */
export function installFastWindows(f: FastWindows): void {
  fastWindows = f;
}

/**
 * `mode` over the windows of `x` (`other` is the second operand of gather and scatter): first the
 * windows wholly inside `x`, row by row (WebAssembly for float32), then those reaching into the
 * padding — the same order either way, so sums of overlapping windows round the same.
 */
export function runWindows(
  mode: WindowMode,
  x: ConcreteArray,
  other: ConcreteArray | undefined,
  p: WindowParams,
  into?: { out: TypedArray; address: number },
): ConcreteArray {
  const dtype = other?.dtype ?? x.dtype;
  const weak = (other ?? x).weakType;
  if (x.ndim === 0) {
    // One window: the element itself.
    return output([], dtype, weak, (out) =>
      apply(mode, 0, 0, x.contiguousData(), other?.contiguousData() ?? out, out, 0),
    );
  }
  const plan = cachedPlan(x.shape, p);
  const shape = mode === "scatter" ? x.shape : plan.outShape;
  const fill = (out: TypedArray): void => {
    if (plan.rowBases.length === 0) {
      if (into !== undefined && mode === "scatter") out.fill(0);
      return;
    }
    const { deltas, at, n, step, first, end, rowBases, rowInside, entries, edgeRows } = plan;
    const inside = end - first;
    const fast =
      entries.length > 0 && fastWindows?.(mode, x, other, plan, out, into?.address) === true;
    if (fast && edgeRows.length === 0) return;
    // The JavaScript loops read the operands as contiguous arrays.
    const xd = x.contiguousData();
    const od = other?.contiguousData() ?? out;
    const empty = lowest[x.dtype];
    if (!fast) {
      // Kernel memory holds what was there before: zeros first where the scatter adds.
      if (into !== undefined && mode === "scatter") out.fill(0);
      for (let r = 0; r < entries.length; r += 2) {
        let base = entries[r]!;
        for (let o = entries[r + 1]!; o < entries[r + 1]! + inside; o++, base += step) {
          apply(mode, chooseInside(xd, deltas, base), o, xd, od, out, empty);
        }
      }
    }
    // The windows reaching into the padding, checking each element's position.
    const rank = x.ndim;
    const last = rank - 1;
    const shapeI = Int32Array.from(x.shape);
    const corner = new Int32Array(rank);
    for (const row of edgeRows) {
      const from = rowInside[row] === 1 ? first : n;
      const to = rowInside[row] === 1 ? end : n;
      let rest = row;
      for (let a = last - 1; a >= 0; a--) {
        const size = plan.outShape[a]!;
        corner[a] = (rest % size) * p.windowStrides[a]! - p.padding[a]![0];
        rest = Math.floor(rest / size);
      }
      for (let j = 0; j < n; j++) {
        if (j >= from && j < to) continue;
        corner[last] = j * step - p.padding[last]![0];
        const i = chooseChecked(xd, deltas, at, shapeI, corner, rowBases[row]! + j * step);
        apply(mode, i, row * n + j, xd, od, out, empty);
      }
    }
  };
  if (into === undefined) return output(shape, dtype, weak, fill);
  fill(into.out);
  return fromStorage(into.out, shape, dtype, weak);
}

/** The first maximum (or NaN) of the window at `base`, wholly inside the operand. */
function chooseInside(data: TypedArray, deltas: Int32Array, base: number): number {
  let choice = base + deltas[0]!;
  let best = data[choice]!;
  for (let e = 1; e < deltas.length && best === best; e++) {
    const i = base + deltas[e]!;
    const v = data[i]!;
    if (v > best || v !== v) {
      choice = i;
      best = v;
    }
  }
  return choice;
}

/**
 * The first maximum (or NaN) among the elements of the window at `corner` (first index `base`)
 * that lie inside `shape`; −1 if none does. `at` holds each element's position per axis.
 */
function chooseChecked(
  data: TypedArray,
  deltas: Int32Array,
  at: Int32Array,
  shape: Int32Array,
  corner: Int32Array,
  base: number,
): number {
  const rank = shape.length;
  let choice = -1;
  let best = 0;
  for (let e = 0; e < deltas.length; e++) {
    let valid = true;
    for (let a = 0; a < rank && valid; a++) {
      const c = corner[a]! + at[e * rank + a]!;
      valid = c >= 0 && c < shape[a]!;
    }
    if (!valid) continue;
    const i = base + deltas[e]!;
    const v = data[i]!;
    if (choice < 0 || v > best || (v !== v && best === best)) {
      choice = i;
      best = v;
    }
  }
  return choice;
}

/** What a window wholly in the padding holds: the identity of `max` in `dtype`. */
const lowest: Record<DType, number> = {
  float32: -Infinity,
  float64: -Infinity,
  int32: -(2 ** 31),
  uint32: 0,
  bool: 0,
};

/** The window parameters with a window of 1 inserted at `axis` (a batch axis). */
function withBatchAxis(p: WindowParams, axis: number): WindowParams {
  const insert = <T>(list: readonly T[], value: T): T[] => [
    ...list.slice(0, axis),
    value,
    ...list.slice(axis),
  ];
  return {
    windowDimensions: insert(p.windowDimensions, 1),
    windowStrides: insert(p.windowStrides, 1),
    padding: insert(p.padding, [0, 0] as const),
  };
}

/** Both operands batched on axis 0 (an unbatched one broadcast). */
function batchBoth(
  inputs: readonly NDArray[],
  axes: readonly (number | null)[],
): [NDArray, NDArray] {
  const size = inputs[axes[0] !== null ? 0 : 1]!.shape[(axes[0] ?? axes[1])!]!;
  const [a, b] = inputs.map((x, i) =>
    axes[i] === null ? ops.broadcastAxis(x, 0, size) : ops.moveAxis(x, axes[i]!, 0),
  );
  return [a!, b!];
}

const windowExamples = (): PrimitiveExample<WindowParams>[] => [
  // 2×2 pooling of NCHW images.
  {
    inputs: [{ shape: [2, 2, 4, 6], dtype: "float32" }],
    params: {
      windowDimensions: [1, 1, 2, 2],
      windowStrides: [1, 1, 2, 2],
      padding: [
        [0, 0],
        [0, 0],
        [0, 0],
        [0, 0],
      ],
    },
  },
  // Overlapping windows, padding on both sides.
  {
    inputs: [{ shape: [5, 7], dtype: "float32" }],
    params: {
      windowDimensions: [3, 2],
      windowStrides: [2, 1],
      padding: [
        [1, 1],
        [0, 1],
      ],
    },
  },
  // A window larger than the operand, mostly padding.
  {
    inputs: [{ shape: [3], dtype: "float64" }],
    params: { windowDimensions: [4], windowStrides: [1], padding: [[2, 2]] },
  },
];

/** The examples with a second operand: `first(out, x)` gives the first operand's shape. */
const pairExamples = (
  first: (outShape: readonly number[], xShape: readonly number[]) => readonly number[],
): (() => PrimitiveExample<WindowParams>[]) => {
  return () =>
    windowExamples().map((example) => {
      const x = example.inputs[0]!;
      const out = windowShape("example", x.shape, example.params);
      return {
        inputs: [{ shape: first(out, x.shape), dtype: x.dtype }, x],
        params: example.params,
        linearIn: [0],
      };
    });
};

/** `reduce_window_max`: the maximum of each window (see the module comment). */
export const reduceWindowMax: Primitive<WindowParams> = definePrimitive<WindowParams>({
  name: "reduce_window_max",
  linear: false,
  examples: () => [
    ...windowExamples(),
    {
      inputs: [{ shape: [4, 6], dtype: "int32", range: [-9, 9] }],
      params: {
        windowDimensions: [2, 3],
        windowStrides: [2, 3],
        padding: [
          [0, 0],
          [0, 0],
        ],
      },
    },
  ],
  jvp([x], [t], params) {
    const out = bind1(reduceWindowMax, [x!], params);
    if (t === null || !isFloating(out.dtype)) return [[out], [null]];
    return [[out], [bind1(selectAndGatherAdd, [t, x!], params)]];
  },
  batch([x], [axis], params) {
    return [[bind1(reduceWindowMax, [x!], withBatchAxis(params, axis!))], [axis!]];
  },
  abstractEval([x], params) {
    checkDType("reduce_window_max", x!, "any");
    return [
      new AbstractValue(windowShape("reduce_window_max", x!.shape, params), x!.dtype, x!.weakType),
    ];
  },
  impl(inputs, params) {
    const [x] = concrete(inputs) as [ConcreteArray];
    return [runWindows("max", x, undefined, params)];
  },
});

function checkPair(
  name: string,
  [first, x]: readonly AbstractValue[],
  params: WindowParams,
  firstShape: (outShape: readonly number[]) => readonly number[],
): number[] {
  checkDType(name, first!, "float", "the first operand");
  checkSameDType(name, [first!, x!]);
  const outShape = windowShape(name, x!.shape, params);
  const expected = firstShape(outShape);
  if (!shapesEqual(first!.shape, expected)) {
    throw new ShapeError(
      name,
      `the first operand has shape ${formatShape(first!.shape)}, but windows over an operand of shape ${formatShape(x!.shape)} need ${formatShape(expected)}.`,
    );
  }
  return outShape;
}

/** The rules shared by the two linear window primitives (linear in their first operand). */
function linearInFirst(self: () => Primitive<WindowParams>, dual: () => Primitive<WindowParams>) {
  return {
    linear: true as const,
    jvp(
      [a, x]: readonly NDArray[],
      [ta]: readonly (NDArray | null)[],
      params: WindowParams,
    ): [NDArray[], (NDArray | null)[]] {
      const out = bind1(self(), [a!, x!], params);
      return [[out], [ta === null ? null : bind1(self(), [ta, x!], params)]];
    },
    transpose(
      [ct]: readonly (NDArray | null)[],
      [a, x]: readonly (NDArray | LinearInput)[],
      params: WindowParams,
    ): (NDArray | null)[] {
      if (isLinearInput(x!)) {
        throw new Error(`${self().name} is not linear in the operand whose maxima it follows`);
      }
      if (ct === null || !isLinearInput(a!)) return [null, null];
      return [bind1(dual(), [ct, x], params), null];
    },
    batch(
      inputs: readonly NDArray[],
      axes: readonly (number | null)[],
      params: WindowParams,
    ): [NDArray[], (number | null)[]] {
      const [a, x] = batchBoth(inputs, axes);
      return [[bind1(self(), [a, x], withBatchAxis(params, 0))], [0]];
    },
  };
}

/** `select_and_gather_add(t, x)`: each window's element of `t` at `x`'s maximum. */
export const selectAndGatherAdd: Primitive<WindowParams> = definePrimitive<WindowParams>({
  name: "select_and_gather_add",
  examples: pairExamples((_, xShape) => xShape),
  ...linearInFirst(
    () => selectAndGatherAdd,
    () => selectAndScatterAdd,
  ),
  abstractEval(avals, params) {
    const [t] = avals;
    const shape = checkPair("select_and_gather_add", avals, params, () => avals[1]!.shape);
    return [new AbstractValue(shape, t!.dtype, t!.weakType)];
  },
  impl(inputs, params) {
    const [t, x] = concrete(inputs) as [ConcreteArray, ConcreteArray];
    return [runWindows("gather", x, t, params)];
  },
});

/** `select_and_scatter_add(s, x)`: each window's element of `s` added at `x`'s maximum. */
export const selectAndScatterAdd: Primitive<WindowParams> = definePrimitive<WindowParams>({
  name: "select_and_scatter_add",
  examples: pairExamples((outShape) => outShape),
  ...linearInFirst(
    () => selectAndScatterAdd,
    () => selectAndGatherAdd,
  ),
  abstractEval(avals, params) {
    const [s, x] = avals;
    checkPair("select_and_scatter_add", avals, params, (outShape) => outShape);
    return [new AbstractValue(x!.shape, s!.dtype, s!.weakType)];
  },
  impl(inputs, params) {
    const [s, x] = concrete(inputs) as [ConcreteArray, ConcreteArray];
    return [runWindows("scatter", x, s, params)];
  },
});

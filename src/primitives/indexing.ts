/**
 * `gather` and `scatter`: integer-array indexing and its functional updates.
 *
 * `indices` has shape `batch + [k]`: each batch entry picks one position along the operand's
 * `indexedAxes` (k of them); the remaining operand axes are carried whole. So the gathered result
 * (and a scatter's `updates`) has shape `batch + [operand axes not indexed]`.
 */
import { AbstractValue } from "../core/aval.js";
import { ShapeError, ValueError } from "../core/errors.js";
import type { NDArray } from "../core/array.js";
import { isFloating, type TypedArray } from "../core/dtype.js";
import {
  definePrimitive,
  type ExampleInput,
  type LinearInput,
  type Primitive,
  type PrimitiveExample,
} from "../core/primitive.js";
import { bind1 } from "../core/trace.js";
import { contiguousStrides, formatShape, shapeSize, shapesEqual } from "../core/shape.js";
import { fromStorage, type ConcreteArray } from "../runtime/concrete.js";
import { max, min } from "./elementwise.js";
import * as ops from "./ops.js";
import { instantiate } from "./rules.js";
import { concatenate, iota } from "./structural.js";
import { copyStridedTo, forEachRow } from "../runtime/strided.js";
import { checkDType, checkSameDType, concrete, output } from "./util.js";

export interface GatherParams {
  indexedAxes: readonly number[];
}

const isLinearInput = (x: NDArray | LinearInput): x is LinearInput =>
  "linear" in x && x.linear === true;

export type ScatterMode = "set" | "add" | "mul" | "min" | "max";

export interface ScatterParams {
  indexedAxes: readonly number[];
  mode: ScatterMode;
}

function gatherShape(
  name: string,
  operand: AbstractValue,
  indices: AbstractValue,
  indexedAxes: readonly number[],
): number[] {
  checkDType(name, indices, "int", "the indices");
  const k = indexedAxes.length;
  if (indices.ndim === 0 || indices.shape[indices.ndim - 1] !== k) {
    throw new ShapeError(
      name,
      `indices of shape ${formatShape(indices.shape)} must end in an axis of size ${k} (one entry per indexed axis).`,
    );
  }
  if (indexedAxes.some((a) => a < 0 || a >= operand.ndim) || new Set(indexedAxes).size !== k) {
    throw new ShapeError(
      name,
      `indexed axes ${formatShape(indexedAxes)} are invalid for shape ${formatShape(operand.shape)}.`,
    );
  }
  return [
    ...indices.shape.slice(0, -1),
    ...operand.shape.filter((_, i) => !indexedAxes.includes(i)),
  ];
}

/** Calls `visit(batchIndex, operandOffset | -1)` for each index row (-1 when out of range). */
function forEachIndexRow(
  operand: { shape: readonly number[]; strides: readonly number[]; offset: number },
  indices: ConcreteArray,
  indexedAxes: readonly number[],
  clamp: boolean,
  visit: (row: number, offset: number) => void,
): void {
  const idx = indices.contiguousData();
  const k = indexedAxes.length;
  const rows = shapeSize(indices.shape.slice(0, -1));
  for (let r = 0; r < rows; r++) {
    let offset = operand.offset;
    let inside = true;
    for (let j = 0; j < k; j++) {
      const axis = indexedAxes[j]!;
      const n = operand.shape[axis]!;
      let i = idx[r * k + j]!;
      if (i < 0 || i >= n) {
        if (!clamp) inside = false;
        i = Math.min(Math.max(i, 0), n - 1);
      }
      offset += i * operand.strides[axis]!;
    }
    visit(r, inside ? offset : -1);
  }
}

/** Batch size of the batched inputs. */
function batchSize(inputs: readonly NDArray[], axes: readonly (number | null)[]): number {
  const i = axes.findIndex((a) => a !== null);
  return inputs[i]!.shape[axes[i]!]!;
}

/** `x` with its batch axis at 0 (broadcast there when unbatched). */
function front(x: NDArray, axis: number | null, size: number): NDArray {
  return axis === null ? ops.broadcastAxis(x, 0, size) : ops.moveAxis(x, axis, 0);
}

/**
 * Batched operand and indices, with the batch position added as the first index column, so one
 * gather/scatter serves the whole batch.
 */
function batchedIndices(
  inputs: readonly NDArray[],
  axes: readonly (number | null)[],
  indexedAxes: readonly number[],
  size: number,
): [NDArray, NDArray, number[]] {
  const op = front(inputs[0]!, axes[0]!, size);
  const idx = front(inputs[1]!, axes[1]!, size);
  const column = bind1(iota, [], {
    dtype: idx.dtype,
    shape: [...idx.shape.slice(0, -1), 1],
    dimension: 0,
  });
  const full = bind1(concatenate, [column, idx], { dimension: idx.ndim - 1 });
  return [op, full, [0, ...indexedAxes.map((a) => a + 1)]];
}

/** Indices clamped into range, as gather reads them. */
function clampIndices(
  indices: NDArray,
  operandShape: readonly number[],
  indexedAxes: readonly number[],
): NDArray {
  const last = indices.ndim - 1;
  const upper = fromStorage(
    Int32Array.from(indexedAxes.map((a) => operandShape[a]! - 1)),
    [indexedAxes.length],
    "int32",
  );
  const bound = ops.broadcast(ops.convert(upper, indices.dtype, false), indices.shape, [last]);
  const low = ops.zerosLike(indices);
  const atMost = bind1(min, [indices, bound], {});
  return bind1(max, [atMost, low], {});
}

// ----------------------------------------------------------------------------- sweep examples

const floats = (shape: readonly number[]): ExampleInput => ({ shape, dtype: "float32" });
const indexValues = (shape: readonly number[], values: readonly number[]): ExampleInput => ({
  shape,
  dtype: "int32",
  values,
});

/**
 * `[operand shape, indexedAxes, indices shape, index values]`: in-range, out-of-range (clamped
 * by gather, dropped by scatter) and repeated indices; scalar results; size-0 index batches and
 * carried axes; no indexed axes at all.
 */
const indexingCases: readonly (readonly [
  readonly number[],
  readonly number[],
  readonly number[],
  readonly number[],
])[] = [
  [[5], [0], [3, 1], [0, 4, 2]],
  [[4, 3], [0], [4, 1], [1, 1, 5, -1]],
  [[3, 4], [1], [2, 1], [3, 0]],
  [
    [3, 4, 2],
    [0, 2],
    [2, 2],
    [2, 1, 0, 1],
  ],
  [
    [3, 4, 2],
    [2, 0],
    [2, 3, 2],
    [1, 2, 0, 0, -3, 1, 1, 2, 0, 5, 1, 2],
  ],
  [[3], [0], [1], [1]],
  [[3], [0], [0, 1], [0]],
  [[3, 0], [0], [2, 1], [2, 0]],
  [[2, 3], [], [2, 0], [0]],
  [
    [1, 2],
    [0, 1],
    [2, 2],
    [0, 1, 0, 1],
  ],
];

/** The shape of a gather's result (and of a scatter's updates) for one of `indexingCases`. */
function gatheredShape(
  operand: readonly number[],
  indexedAxes: readonly number[],
  indices: readonly number[],
): number[] {
  return [...indices.slice(0, -1), ...operand.filter((_, i) => !indexedAxes.includes(i))];
}

function gatherExamples(): PrimitiveExample<GatherParams>[] {
  return [
    ...indexingCases.map(([operand, indexedAxes, indices, values]) => ({
      inputs: [floats(operand), indexValues(indices, values)],
      params: { indexedAxes },
      linearIn: [0],
    })),
    {
      inputs: [{ shape: [4, 2], dtype: "int32" }, indexValues([3, 1], [3, 0, 7])],
      params: { indexedAxes: [0] },
    },
  ];
}

function scatterExamples(): PrimitiveExample<ScatterParams>[] {
  const modes: readonly ScatterMode[] = ["set", "add", "mul", "min", "max"];
  return modes.flatMap((mode) => [
    ...indexingCases.map(([operand, indexedAxes, indices, values]) => ({
      inputs: [
        floats(operand),
        indexValues(indices, values),
        floats(gatheredShape(operand, indexedAxes, indices)),
      ],
      params: { indexedAxes, mode },
      // The JVP of mul/min/max in the updates is not defined (it throws, by design).
      ...(mode === "set" || mode === "add" ? { linearIn: [0, 2] } : { differentiable: [0] }),
    })),
    {
      inputs: [
        { shape: [4], dtype: "int32" },
        indexValues([3, 1], [3, 0, 3]),
        { shape: [3], dtype: "int32" },
      ],
      params: { indexedAxes: [0], mode },
    },
  ]);
}

/** Gathers slices of `operand` at `indices`; out-of-range indices are clamped, as in JAX. */
export const gather: Primitive<GatherParams> = definePrimitive<GatherParams>({
  name: "gather",
  linear: true,
  examples: gatherExamples,
  jvp([operand, indices], [t], params) {
    const out = bind1(gather, [operand!, indices!], params);
    return [
      [out],
      [t === null || !isFloating(out.dtype) ? null : bind1(gather, [t, indices!], params)],
    ];
  },
  transpose([ct], [operand, indices], { indexedAxes }) {
    if (ct === null) return [null, null];
    const shape = operand!.aval.shape;
    const idx = clampIndices(indices as NDArray, shape, indexedAxes);
    const zeros = ops.zerosLike({ shape, dtype: ct.dtype });
    return [bind1(scatter, [zeros, idx, ct], { indexedAxes, mode: "add" }), null];
  },
  batch(inputs, axes, { indexedAxes }) {
    const size = batchSize(inputs, axes);
    const [op, idx, indexed] = batchedIndices(inputs, axes, indexedAxes, size);
    return [[bind1(gather, [op, idx], { indexedAxes: indexed })], [0]];
  },
  abstractEval([operand, indices], { indexedAxes }) {
    return [
      new AbstractValue(
        gatherShape("gather", operand!, indices!, indexedAxes),
        operand!.dtype,
        operand!.weakType,
      ),
    ];
  },
  impl(inputs, { indexedAxes }) {
    const [operand, indices] = concrete(inputs) as [ConcreteArray, ConcreteArray];
    const shape = gatherShape("gather", operand.aval, indices.aval, indexedAxes);
    const restAxes = operand.shape.map((_, i) => i).filter((i) => !indexedAxes.includes(i));
    const restShape = restAxes.map((a) => operand.shape[a]!);
    const restStrides = restAxes.map((a) => operand.strides[a]!);
    const block = restShape.reduce((n, d) => n * d, 1);
    const hasZeroAxis = restShape.includes(0) || indexedAxes.some((a) => operand.shape[a] === 0);
    return [
      output(shape, operand.dtype, operand.weakType, (out) => {
        if (hasZeroAxis) return;
        const dstStrides = contiguousStrides(restShape);
        forEachIndexRow(operand, indices, indexedAxes, true, (row, offset) => {
          copyStridedTo(
            restShape,
            { data: operand.data, strides: restStrides, offset },
            { data: out, strides: dstStrides, offset: row * block },
          );
        });
      }),
    ];
  },
});

const combine: Record<ScatterMode, (old: number, update: number) => number> = {
  set: (_, u) => u,
  add: (o, u) => o + u,
  mul: (o, u) => o * u,
  min: (o, u) => (o !== o || u !== u ? NaN : Math.min(o, u)),
  max: (o, u) => (o !== o || u !== u ? NaN : Math.max(o, u)),
};

/**
 * Combines `updates` into `out` (contiguous storage of an array of `shape`) at `indices`, in
 * place. The scatter kernel: eager execution runs it on a copy of the operand, compiled code
 * directly on a dying operand's buffer.
 */
export function scatterInto(
  out: TypedArray,
  shape: readonly number[],
  indices: ConcreteArray,
  updates: ConcreteArray,
  { indexedAxes, mode }: ScatterParams,
): void {
  if (out.length === 0) return;
  const restAxes = shape.map((_, i) => i).filter((i) => !indexedAxes.includes(i));
  const restShape = restAxes.map((a) => shape[a]!);
  const f = combine[mode];
  const outStrides = contiguousStrides(shape);
  const target = { shape, strides: outStrides, offset: 0 };
  const upd = updates.contiguousData();
  const block = restShape.reduce((n, d) => n * d, 1);
  const restStrides = restAxes.map((a) => outStrides[a]!);
  const updStrides = contiguousStrides(restShape);
  forEachIndexRow(target, indices, indexedAxes, false, (row, offset) => {
    if (offset < 0) return;
    forEachRow(
      restShape,
      [
        { data: out, strides: restStrides, offset },
        { data: upd, strides: updStrides, offset: row * block },
      ],
      (_, count, offsets, strides) => {
        let o = offsets[0]!;
        let u = offsets[1]!;
        for (let i = 0; i < count; i++, o += strides[0]!, u += strides[1]!)
          out[o] = f(out[o]!, upd[u]!);
      },
    );
  });
}

/**
 * `operand` with `updates` combined in at `indices` (`mode`: set/add/mul/min/max). Out-of-range
 * indices are dropped, as in JAX; repeated indices apply in order (so `add` accumulates).
 */
export const scatter: Primitive<ScatterParams> = definePrimitive<ScatterParams>({
  name: "scatter",
  linear: true,
  examples: scatterExamples,
  jvp([operand, indices, updates], [to, , tu], params) {
    const out = bind1(scatter, [operand!, indices!, updates!], params);
    if (!isFloating(out.dtype) || (to === null && tu === null)) return [[out], [null]];
    if (params.mode === "set" || params.mode === "add") {
      const t = bind1(
        scatter,
        [instantiate(to, operand!), indices!, instantiate(tu, updates!)],
        params,
      );
      return [[out], [t]];
    }
    if (tu !== null) {
      throw new ValueError(
        `x.at(...).${params.mode === "mul" ? "multiply" : params.mode}`,
        "differentiating with respect to the update values is not supported yet for multiply/min/max " +
          "updates; differentiate with respect to the array being updated, or use .set/.add.",
      );
    }
    if (params.mode === "mul") {
      const factor = bind1(
        scatter,
        [ops.broadcast(ops.constant(1, out), out.shape, []), indices!, updates!],
        params,
      );
      return [[out], [ops.mul(to!, factor)]];
    }
    return [[out], [ops.select(ops.eq(out, operand!), to!, ops.zerosLike(out))]];
  },
  transpose([ct], [operand, indices, updates], { indexedAxes, mode }) {
    if (mode !== "set" && mode !== "add") throw new Error(`scatter-${mode} is not linear`);
    if (ct === null) return [null, null, null];
    const idx = indices as NDArray;
    const updatesShape = updates!.aval.shape;
    const batchRank = idx.ndim - 1;
    // Which update rows land (in range, and last among duplicates for "set").
    const rows = bind1(iota, [], {
      dtype: "int32",
      shape: [shapeSize(idx.shape.slice(0, -1))],
      dimension: 0,
    });
    const rowIds = ops.broadcast(ops.reshape(rows, idx.shape.slice(0, -1)), updatesShape, [
      ...Array(batchRank).keys(),
    ]);
    const unset = ops.broadcast(ops.constant(-1, "int32"), operand!.aval.shape, []);
    const winners = bind1(scatter, [unset, idx, rowIds], {
      indexedAxes,
      mode: mode === "set" ? "set" : "max",
    });
    let landed: NDArray;
    if (mode === "set") {
      landed = ops.eq(bind1(gather, [winners, idx], { indexedAxes }), rowIds);
    } else {
      // In range where clamping changes no column.
      const same = ops.convert(
        ops.eq(clampIndices(idx, operand!.aval.shape, indexedAxes), idx),
        "int32",
        false,
      );
      const hits = ops.eq(
        ops.reduceSum(same, [batchRank]),
        ops.constant(indexedAxes.length, "int32"),
      );
      landed = ops.broadcast(hits, updatesShape, [...Array(batchRank).keys()]);
    }
    const gathered = bind1(gather, [ct, idx], { indexedAxes });
    const updatesCt = isLinearInput(updates!)
      ? ops.select(landed, gathered, ops.zerosLike(gathered))
      : null;
    let operandCt: NDArray | null = null;
    if (isLinearInput(operand!)) {
      operandCt =
        mode === "add"
          ? ct
          : bind1(scatter, [ct, idx, ops.zerosLike({ shape: updatesShape, dtype: ct.dtype })], {
              indexedAxes,
              mode: "set",
            });
    }
    return [operandCt, null, updatesCt];
  },
  batch(inputs, axes, { indexedAxes, mode }) {
    const size = batchSize(inputs, axes);
    const [op, idx, indexed] = batchedIndices(inputs, axes, indexedAxes, size);
    const updates = front(inputs[2]!, axes[2]!, size);
    return [[bind1(scatter, [op, idx, updates], { indexedAxes: indexed, mode })], [0]];
  },
  abstractEval([operand, indices, updates], { indexedAxes }) {
    checkSameDType("scatter", [operand!, updates!]);
    const expected = gatherShape("scatter", operand!, indices!, indexedAxes);
    if (!shapesEqual(expected, updates!.shape)) {
      throw new ShapeError(
        "scatter",
        `updates have shape ${formatShape(updates!.shape)} but the indexed positions have shape ${formatShape(expected)}.`,
      );
    }
    return [operand!];
  },
  impl(inputs, { indexedAxes, mode }) {
    const [operand, indices, updates] = concrete(inputs) as [
      ConcreteArray,
      ConcreteArray,
      ConcreteArray,
    ];
    return [
      output(operand.shape, operand.dtype, operand.weakType, (out) => {
        copyStridedTo(operand.shape, operand.operand, {
          data: out,
          strides: contiguousStrides(operand.shape),
          offset: 0,
        });
        scatterInto(out, operand.shape, indices, updates, { indexedAxes, mode });
      }),
    ];
  },
});

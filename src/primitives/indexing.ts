/**
 * `gather` and `scatter`: integer-array indexing and its functional updates.
 *
 * `indices` has shape `batch + [k]`: each batch entry picks one position along the operand's
 * `indexedAxes` (k of them); the remaining operand axes are carried whole. So the gathered result
 * (and a scatter's `updates`) has shape `batch + [operand axes not indexed]`.
 */
import { AbstractValue } from "../core/aval.js";
import { ShapeError } from "../core/errors.js";
import { definePrimitive } from "../core/primitive.js";
import { contiguousStrides, formatShape, shapesEqual } from "../core/shape.js";
import type { ConcreteArray } from "../runtime/concrete.js";
import { copyStridedTo, forEachRow } from "../runtime/strided.js";
import { checkDType, checkSameDType, concrete, output } from "./util.js";

export interface GatherParams {
  indexedAxes: readonly number[];
}

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
  const rows = k === 0 ? indices.size : idx.length / k;
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

/** Gathers slices of `operand` at `indices`; out-of-range indices are clamped, as in JAX. */
export const gather = definePrimitive<GatherParams>({
  name: "gather",
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
 * `operand` with `updates` combined in at `indices` (`mode`: set/add/mul/min/max). Out-of-range
 * indices are dropped, as in JAX; repeated indices apply in order (so `add` accumulates).
 */
export const scatter = definePrimitive<ScatterParams>({
  name: "scatter",
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
    const restAxes = operand.shape.map((_, i) => i).filter((i) => !indexedAxes.includes(i));
    const restShape = restAxes.map((a) => operand.shape[a]!);
    const f = combine[mode];
    return [
      output(operand.shape, operand.dtype, operand.weakType, (out) => {
        copyStridedTo(operand.shape, operand.operand, {
          data: out,
          strides: contiguousStrides(operand.shape),
          offset: 0,
        });
        if (out.length === 0) return;
        const outStrides = contiguousStrides(operand.shape);
        // Offsets are taken in `out`, a contiguous copy of the operand.
        const target = { shape: operand.shape, strides: outStrides, offset: 0 };
        const upd = updates.contiguousData();
        const block = restShape.reduce((n, d) => n * d, 1);
        const restStrides = restAxes.map((a) => outStrides[a]!);
        forEachIndexRow(target, indices, indexedAxes, false, (row, offset) => {
          if (offset < 0) return;
          forEachRow(
            restShape,
            [
              { data: out, strides: restStrides, offset },
              { data: upd, strides: contiguousStrides(restShape), offset: row * block },
            ],
            (_, count, offsets, strides) => {
              let o = offsets[0]!;
              let u = offsets[1]!;
              for (let i = 0; i < count; i++, o += strides[0]!, u += strides[1]!)
                out[o] = f(out[o]!, upd[u]!);
            },
          );
        });
      }),
    ];
  },
});

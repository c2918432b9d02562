/**
 * NumPy indexing on NDArrays: `x.get(...)` and the functional updates of `x.at(...)`.
 *
 * Basic indices (ints, slices, `...`, `null`) become `rev`/`slice`/`reshape`, which are views
 * eagerly. Integer arrays (and boolean masks, converted to integer arrays eagerly) become one
 * `gather`, with NumPy's placement of the broadcast index axes. `at(...)` computes, with the very
 * same code, which flat positions of `x` the index selects, and `scatter`s the values there.
 */
import { NDArray, type ArrayLike, type AtUpdater, type IndexItem } from "../core/array.js";
import { IndexError } from "../core/errors.js";
import { formatShape, shapeSize } from "../core/shape.js";
import { bind1, Tracer } from "../core/trace.js";
import { gather, scatter, type ScatterMode } from "../primitives/indexing.js";
import * as s from "../primitives/structural.js";
import { fromStorage, scalar } from "../runtime/concrete.js";
import { asArray, broadcastTo, convert } from "./convert.js";
import { describeIndex, ellipsis, parseIndex, resolveSlice, Slice } from "./index-parse.js";
import { logicalOr, greaterEqual, less, where } from "./math.js";
import { broadcastArrays, moveaxis, reshape, stack, ravel } from "./shape.js";

const isDots = (x: unknown): boolean => x === ellipsis;

type Item =
  | { kind: "int"; value: number }
  | { kind: "slice"; slice: Slice }
  | { kind: "newaxis"; empty?: boolean }
  | { kind: "array"; array: NDArray };

const full = new Slice(null, null, null);

function describe(index: readonly (IndexItem | string)[]): string {
  return describeIndex(
    index.map((i) => (i instanceof NDArray ? `<array ${formatShape(i.shape)}>` : i)),
  );
}

/** Positions of the true elements of a concrete boolean mask, one int32 array per axis. */
function nonzero(operation: string, mask: NDArray): NDArray[] {
  const values = mask.concrete(`${operation} with a boolean mask`).toTypedArray();
  const positions: number[][] = mask.shape.map(() => []);
  for (let flat = 0; flat < values.length; flat++) {
    if (values[flat] === 0) continue;
    let rest = flat;
    for (let axis = mask.ndim - 1; axis >= 0; axis--) {
      const d = mask.shape[axis]!;
      positions[axis]!.push(rest % d);
      rest = Math.floor(rest / d);
    }
  }
  return positions.map((p) => intArray(p));
}

function intArray(values: readonly number[]): NDArray {
  return fromStorage(Int32Array.from(values), [values.length], "int32");
}

/** Expands strings, lists, masks and `...` into one item per consumed axis (plus new axes). */
function normalizeItems(
  operation: string,
  x: NDArray,
  index: readonly (IndexItem | string)[],
): Item[] {
  const raw: unknown[] = [];
  for (const item of index) {
    if (typeof item === "string") raw.push(...parseIndex(item, { operation }));
    else raw.push(item);
  }
  const bad = (detail: string): never => {
    throw new IndexError(
      operation,
      `${detail} (index ${describe(index)} on an array of shape ${formatShape(x.shape)}).`,
    );
  };
  const consumed = (item: unknown): number => {
    if (item === null || isDots(item)) return 0;
    if (item instanceof NDArray && item.dtype === "bool") return item.ndim;
    return 1;
  };
  const ellipses = raw.filter(isDots).length;
  if (ellipses > 1) bad("an index can only have a single ellipsis ('...')");
  const used = raw.reduce<number>((n, item) => n + consumed(item), 0);
  if (used > x.ndim) bad(`too many indices: ${used} axes are indexed but the array has ${x.ndim}`);
  const items: Item[] = [];
  let axis = 0;
  const expanded = ellipses === 0 ? [...raw, ...Array<unknown>(x.ndim - used).fill(full)] : raw;
  for (const item of expanded) {
    if (isDots(item)) {
      for (let k = 0; k < x.ndim - used; k++, axis++) items.push({ kind: "slice", slice: full });
    } else if (item === null) {
      items.push({ kind: "newaxis" });
    } else if (typeof item === "number") {
      if (!Number.isInteger(item)) bad(`${item} is not an integer index`);
      items.push({ kind: "int", value: item });
      axis++;
    } else if (item instanceof Slice) {
      items.push({ kind: "slice", slice: item });
      axis++;
    } else if (Array.isArray(item)) {
      if (!item.every((v) => typeof v === "number" && Number.isInteger(v)))
        bad("a list index must hold integers");
      items.push({ kind: "array", array: intArray(item as number[]) });
      axis++;
    } else if (item instanceof NDArray) {
      if (item.dtype === "bool" && item.ndim === 0) {
        // A 0-d mask adds an axis of length 1 (true) or 0 (false), as in NumPy.
        items.push({
          kind: "newaxis",
          empty: item.concrete(`${operation} with a boolean mask`).item() === false,
        });
      } else if (item.dtype === "bool") {
        const span = x.shape.slice(axis, axis + Math.max(item.ndim, 1));
        if (item.ndim > 0 && !item.shape.every((d, i) => d === span[i])) {
          bad(
            `a boolean mask of shape ${formatShape(item.shape)} does not match the indexed axes ${formatShape(span)}`,
          );
        }
        for (const positions of nonzero(operation, item))
          items.push({ kind: "array", array: positions });
        axis += item.ndim;
      } else if (item.dtype === "int32" || item.dtype === "uint32") {
        items.push({ kind: "array", array: item });
        axis++;
      } else {
        bad(
          `arrays used as indices must be integer or bool, got ${item.dtype}; ` +
            `make index arrays with np.array([...], { dtype: "int32" }) or pass a JS list`,
        );
      }
    } else {
      bad(`${typeof item === "object" ? "an object" : String(item)} is not a valid index item`);
    }
  }
  return items;
}

/** How an integer index array out of range is treated. */
type Mode = "check" | "drop";

function normalizeArray(operation: string, a: NDArray, n: number, mode: Mode): NDArray {
  const wrapped = where(less(a, 0), a.add(n), a);
  if (mode === "drop")
    return where(logicalOr(less(wrapped, 0), greaterEqual(wrapped, n)), n, wrapped);
  if (!(a instanceof Tracer)) {
    for (const v of a.toTypedArray()) {
      if (v < -n || v >= n) {
        throw new IndexError(operation, `index ${v} is out of bounds for an axis of size ${n}.`);
      }
    }
  }
  return wrapped;
}

/**
 * `x[items]`. `dims` are the axis sizes indices resolve against (`x.shape` except for `at`, whose
 * operand carries one extra slot per axis for dropped indices).
 */
function indexWith(
  operation: string,
  x: NDArray,
  items: readonly Item[],
  mode: Mode,
  dims: readonly number[],
): NDArray {
  const advanced = mode === "drop" || items.some((i) => i.kind === "array");
  const start: number[] = [];
  const limit: number[] = [];
  const strides: number[] = [];
  const reversed: number[] = [];
  const shape: number[] = [];
  const arrays: { position: number; array: NDArray; axis: number }[] = [];
  const arrayItems: number[] = [];
  const emptyAxes: number[] = [];
  let axis = 0;
  items.forEach((item, k) => {
    if (item.kind === "newaxis") {
      if (item.empty === true) emptyAxes.push(shape.length);
      shape.push(1);
      return;
    }
    const n = dims[axis]!;
    const actual = x.shape[axis]!;
    if (item.kind === "int" && !advanced) {
      const i = item.value < 0 ? item.value + n : item.value;
      if (i < 0 || i >= n) {
        throw new IndexError(
          operation,
          `index ${item.value} is out of bounds for axis ${axis} with size ${n}.`,
        );
      }
      start.push(i);
      limit.push(i + 1);
      strides.push(1);
    } else if (item.kind === "slice") {
      const r = resolveSlice(item.slice, n);
      if (r.step > 0) {
        start.push(r.start);
        limit.push(r.length === 0 ? r.start : r.start + (r.length - 1) * r.step + 1);
        strides.push(r.step);
      } else {
        reversed.push(axis);
        const first = actual - 1 - r.start;
        start.push(r.length === 0 ? 0 : first);
        limit.push(r.length === 0 ? 0 : first + (r.length - 1) * -r.step + 1);
        strides.push(-r.step);
      }
      shape.push(r.length);
    } else {
      const array = item.kind === "int" ? scalar(item.value, "int32") : item.array;
      arrays.push({
        position: shape.length,
        array: normalizeArray(operation, array, n, mode),
        axis: shape.length,
      });
      arrayItems.push(k);
      start.push(0);
      limit.push(actual);
      strides.push(1);
      shape.push(actual);
    }
    axis++;
  });
  let out = x;
  if (reversed.length > 0) out = bind1(s.rev, [out], { dimensions: reversed });
  const trivial = start.every((v, i) => v === 0 && limit[i] === x.shape[i] && strides[i] === 1);
  if (!trivial) out = bind1(s.slice, [out], { start, limit, strides });
  out = reshape(out, shape);
  if (emptyAxes.length > 0) {
    out = bind1(s.slice, [out], {
      start: shape.map(() => 0),
      limit: shape.map((d, i) => (emptyAxes.includes(i) ? 0 : d)),
      strides: shape.map(() => 1),
    });
  }
  if (arrays.length === 0) return out;
  const indices = broadcastArrays(...arrays.map((a) => convert(a.array, "int32")));
  const batchShape = indices[0]!.shape;
  const stacked = stack(indices, { axis: -1 });
  let result = bind1(gather, [out, stacked], { indexedAxes: arrays.map((a) => a.axis) });
  const adjacent = arrayItems.every((k, i) => i === 0 || k === arrayItems[i - 1]! + 1);
  if (adjacent && arrays[0]!.position > 0 && batchShape.length > 0) {
    const b = batchShape.length;
    const source = Array.from({ length: b }, (_, i) => i);
    result = moveaxis(
      result,
      source,
      source.map((i) => i + arrays[0]!.position),
    );
  }
  return result;
}

/** `x.get(...index)`: NumPy indexing. */
export function get(x: NDArray, index: readonly (IndexItem | string)[]): NDArray {
  const items = normalizeItems("x.get", x, index);
  return indexWith("x.get", x, items, "check", x.shape);
}

function update(
  x: NDArray,
  index: readonly (IndexItem | string)[],
  values: ArrayLike,
  mode: ScatterMode,
): NDArray {
  const operation = `x.at(...).${mode === "mul" ? "multiply" : mode}`;
  const items = normalizeItems(operation, x, index);
  // Flat positions of x, with one extra slot (-1) per axis where out-of-range indices land.
  const positions = bind1(s.iota, [], { dtype: "int32", shape: [x.size], dimension: 0 });
  const padded = bind1(s.pad, [reshape(positions, x.shape), scalar(-1, "int32")], {
    config: x.shape.map(() => [0, 1, 0] as const),
  });
  const selected = indexWith(operation, padded, items, "drop", x.shape);
  const v = convert(asArray(operation, values), x.dtype, x.weakType);
  const updates = broadcastTo(operation, v, selected.shape);
  if (shapeSize(selected.shape) === 0) return x;
  const flat = bind1(scatter, [ravel(x), reshape(selected, [-1, 1]), ravel(updates)], {
    indexedAxes: [0],
    mode,
  });
  return reshape(flat, x.shape);
}

/** `x.at(...index)`: functional updates. */
export function at(x: NDArray, index: readonly (IndexItem | string)[]): AtUpdater {
  return {
    set: (v) => update(x, index, v, "set"),
    add: (v) => update(x, index, v, "add"),
    multiply: (v) => update(x, index, v, "mul"),
    min: (v) => update(x, index, v, "min"),
    max: (v) => update(x, index, v, "max"),
    get: () => get(x, index),
  };
}

/**
 * The geometry of window reductions (`window.ts`): their parameters, the shape of their results,
 * and the plan the loops and the WebAssembly kernels walk (a window's element offsets, each row's
 * first corner, the windows wholly inside the operand), cached by shape and parameters.
 */
import { ShapeError, ValueError } from "../core/errors.js";
import { contiguousStrides, formatShape, shapeSize } from "../core/shape.js";

/** A window per axis of the operand (size 1 and stride 1 on axes that are not pooled). */
export interface WindowParams {
  windowDimensions: readonly number[];
  windowStrides: readonly number[];
  /** `[low, high]` padding per axis, ≥ 0. */
  padding: readonly (readonly [number, number])[];
}

/** The shape of the windows' results over an operand of `shape`; checks the parameters. */
export function windowShape(name: string, shape: readonly number[], p: WindowParams): number[] {
  const { windowDimensions: window, windowStrides: strides, padding } = p;
  const whole = (v: number, min: number): boolean => Number.isInteger(v) && v >= min;
  if (
    window.length !== shape.length ||
    strides.length !== shape.length ||
    padding.length !== shape.length
  ) {
    throw new ShapeError(
      name,
      `an operand of shape ${formatShape(shape)} needs ${shape.length} window sizes, strides and [low, high] paddings, got ${window.length}, ${strides.length} and ${padding.length}.`,
    );
  }
  if (
    !window.every((w) => whole(w, 1)) ||
    !strides.every((s) => whole(s, 1)) ||
    !padding.every((pair) => pair.length === 2 && pair.every((v) => whole(v, 0)))
  ) {
    throw new ValueError(
      name,
      `window sizes and strides must be whole numbers ≥ 1 and paddings whole numbers ≥ 0, got windowDimensions ${JSON.stringify(window)}, windowStrides ${JSON.stringify(strides)}, padding ${JSON.stringify(padding)}.`,
    );
  }
  return shape.map((n, a) => {
    const padded = n + padding[a]![0] + padding[a]![1];
    return padded < window[a]! ? 0 : Math.floor((padded - window[a]!) / strides[a]!) + 1;
  });
}

/**
 * The geometry of the windows over an operand: a window's elements (their offsets `deltas` from
 * its first corner, in elements, and their positions per axis `at`), and the rows of the result
 * (along its last axis) with the windows of each that lie wholly inside the operand.
 */
export interface WindowPlan {
  outShape: number[];
  deltas: Int32Array;
  at: Int32Array;
  /** Windows per row of the result, and their stride (elements) along the operand's last axis. */
  n: number;
  step: number;
  /** The windows `[first, end)` of a row lie inside, when the row's other axes do. */
  first: number;
  end: number;
  /** Each row's first window corner (element index, possibly outside the operand). */
  rowBases: Int32Array;
  rowInside: Uint8Array;
  /** Pairs (first inside window's corner, its index in the result), one per row that has one. */
  entries: Int32Array;
  /** The rows with windows that reach into the padding. */
  edgeRows: Int32Array;
  /** Whether windows overlap (an element can be in several). */
  overlapping: boolean;
  /**
   * Whether the windows tile the operand: every element lies in exactly one (windows as large
   * as their strides, no padding, sizes divisible; max pooling's usual case).
   */
  tiling: boolean;
}

/**
 * Each row's first window corner (element index) and whether its other axes put its windows
 * inside the operand, by an odometer over the result's axes but the last. (The hot loops of
 * `planWindows` are functions of their own, optimised once for every call.)
 */
function rowCorners(
  shape: Int32Array,
  strides: Int32Array,
  out: Int32Array,
  window: Int32Array,
  step: Int32Array,
  low: Int32Array,
  rowBases: Int32Array,
  rowInside: Uint8Array,
): void {
  const last = shape.length - 1;
  const corner = low.map((v) => -v);
  const index = new Int32Array(shape.length);
  for (let row = 0; row < rowBases.length; row++) {
    let inside = 1;
    let rowBase = -low[last]!;
    for (let a = 0; a < last; a++) {
      const c = corner[a]!;
      if (c < 0 || c + window[a]! > shape[a]!) inside = 0;
      rowBase += c * strides[a]!;
    }
    rowBases[row] = rowBase;
    rowInside[row] = inside;
    for (let a = last - 1; a >= 0; a--) {
      corner[a] += step[a]!;
      if (++index[a]! < out[a]!) break;
      index[a] = 0;
      corner[a] = -low[a]!;
    }
  }
}

/** Fills `entries` with (corner + shift, row·n + first) for the inside rows; returns its length. */
function insideEntries(
  rowBases: Int32Array,
  rowInside: Uint8Array,
  shift: number,
  n: number,
  first: number,
  entries: Int32Array,
): number {
  let used = 0;
  for (let row = 0; row < rowBases.length; row++) {
    if (rowInside[row] === 0) continue;
    entries[used++] = rowBases[row]! + shift;
    entries[used++] = row * n + first;
  }
  return used;
}

function planWindows(shapeList: readonly number[], p: WindowParams): WindowPlan {
  const outShape = windowShape("reduce_window_max", shapeList, p);
  const rank = shapeList.length;
  const ints = (list: readonly number[]): Int32Array => Int32Array.from(list);
  const shape = ints(shapeList);
  const strides = ints(contiguousStrides(shapeList));
  const out = ints(outShape);
  const window = ints(p.windowDimensions);
  const step = ints(p.windowStrides);
  const low = ints(p.padding.map(([lo]) => lo));
  const count = shapeSize(p.windowDimensions);
  const deltas = new Int32Array(count);
  const at = new Int32Array(count * rank);
  for (let e = 0; e < count; e++) {
    let rest = e;
    for (let a = rank - 1; a >= 0; a--) {
      const k = rest % window[a]!;
      rest = Math.floor(rest / window[a]!);
      at[e * rank + a] = k;
      deltas[e] += k * strides[a]!;
    }
  }
  const last = rank - 1;
  const [n, w, s, lo, size] = [out[last]!, window[last]!, step[last]!, low[last]!, shape[last]!];
  const first = Math.min(n, Math.ceil(lo / s));
  const end = Math.max(first, Math.min(n, Math.floor((size - w + lo) / s) + 1));
  const rowCount = n === 0 ? 0 : shapeSize(outShape) / n;
  const rowBases = new Int32Array(rowCount);
  const rowInside = new Uint8Array(rowCount);
  rowCorners(shape, strides, out, window, step, low, rowBases, rowInside);
  const entries = new Int32Array(2 * rowCount);
  const used = end > first ? insideEntries(rowBases, rowInside, first * s, n, first, entries) : 0;
  return {
    outShape,
    deltas,
    at,
    n,
    step: s,
    first,
    end,
    rowBases,
    rowInside,
    entries: entries.subarray(0, used),
    edgeRows: Int32Array.from({ length: rowCount }, (_, row) => row).filter(
      (row) => rowInside[row] === 0 || first > 0 || end < n,
    ),
    overlapping: p.windowDimensions.some((size, a) => size > p.windowStrides[a]!),
    tiling: p.windowDimensions.every(
      (size, a) =>
        size === p.windowStrides[a] &&
        p.padding[a]![0] === 0 &&
        p.padding[a]![1] === 0 &&
        shapeList[a]! % size === 0,
    ),
  };
}

/**
 * Plans by operand shape and parameters: a compiled program meets the same ones every call (and
 * `lower(...).code` plans the kernel it shows with them).
 */
const plans = new Map<string, WindowPlan>();
const maximumPlans = 32;

export function cachedPlan(shape: readonly number[], p: WindowParams): WindowPlan {
  const key = JSON.stringify([shape, p.windowDimensions, p.windowStrides, p.padding]);
  let plan = plans.get(key);
  if (plan === undefined) {
    plan = planWindows(shape, p);
    if (plans.size >= maximumPlans) plans.delete(plans.keys().next().value!);
    plans.set(key, plan);
  }
  return plan;
}

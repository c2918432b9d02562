/**
 * Shape manipulation: reshape, transpose, moveaxis, squeeze, concatenate, stack, split, tile,
 * repeat, flip, pad, … Views where NumPy gives views.
 */
import { NDArray, type ArrayLike } from "../core/array.js";
import { ShapeError, ValueError } from "../core/errors.js";
import {
  broadcastShapes,
  formatShape,
  normalizeAxes,
  normalizeAxis,
  shapeSize,
} from "../core/shape.js";
import { bind1 } from "../core/trace.js";
import * as s from "../primitives/structural.js";
import { fromStorage, scalar } from "../runtime/concrete.js";
import { gather } from "../primitives/indexing.js";
import { asArray, broadcastTo as broadcastArray, convert, promote } from "./convert.js";

/**
 * The same elements in a new shape (one entry may be -1). A view when the layout allows.
 * @example
 * np.reshape(np.arange(6), [2, -1]); // shape [2, 3]
 */
export function reshape(x: ArrayLike, shape: number | readonly number[]): NDArray {
  const a = asArray("np.reshape", x);
  if (typeof shape !== "number" && !Array.isArray(shape)) {
    throw new ShapeError(
      "np.reshape",
      `the new shape must be a number or a list of numbers, got ${typeof shape}.`,
    );
  }
  const dims = typeof shape === "number" ? [shape] : [...shape];
  const unknown = dims.filter((d) => d === -1).length;
  if (unknown > 1 || dims.some((d) => !Number.isInteger(d) || d < -1)) {
    throw new ShapeError(
      "np.reshape",
      `invalid shape ${formatShape(dims)}: use non-negative sizes and at most one -1.`,
    );
  }
  if (unknown === 1) {
    const known = shapeSize(dims.filter((d) => d !== -1));
    if (known === 0 || a.size % known !== 0) {
      throw new ShapeError(
        "np.reshape",
        `cannot reshape an array of shape ${formatShape(a.shape)} (${a.size} elements) into ${formatShape(dims)}.`,
      );
    }
    dims[dims.indexOf(-1)] = a.size / known;
  }
  if (shapeSize(dims) !== a.size) {
    throw new ShapeError(
      "np.reshape",
      `cannot reshape an array of shape ${formatShape(a.shape)} (${a.size} elements) into shape ` +
        `${formatShape(dims)} (${shapeSize(dims)} elements).`,
    );
  }
  if (dims.length === a.ndim && dims.every((d, i) => d === a.shape[i])) return a;
  return bind1(s.reshape, [a], { newSizes: dims });
}

/** The elements as a 1-D array (a view when contiguous). */
export function ravel(x: ArrayLike): NDArray {
  return reshape(x, [-1]);
}

/**
 * Permutes axes (`axes[i]` is the input axis that becomes axis i; reversed by default). A view.
 */
export function transpose(x: ArrayLike, axes?: readonly number[]): NDArray {
  const a = asArray("np.transpose", x);
  if (axes !== undefined && !Array.isArray(axes)) {
    throw new ValueError(
      "np.transpose",
      `axes must be a list of axis numbers, got ${typeof axes}.`,
    );
  }
  const perm =
    axes === undefined
      ? a.shape.map((_, i) => a.ndim - 1 - i)
      : axes.map((ax) => normalizeAxis("np.transpose", ax, a.ndim));
  if (perm.length !== a.ndim || new Set(perm).size !== perm.length) {
    throw new ShapeError(
      "np.transpose",
      `axes ${formatShape(axes ?? [])} must list each of the ${a.ndim} axes of shape ${formatShape(a.shape)} once.`,
    );
  }
  if (perm.every((p, i) => p === i)) return a;
  return bind1(s.transpose, [a], { permutation: perm });
}

/** Moves axes `source` to positions `destination` (others keep their order). A view. */
export function moveaxis(
  x: ArrayLike,
  source: number | readonly number[],
  destination: number | readonly number[],
): NDArray {
  const a = asArray("np.moveaxis", x);
  const src = (typeof source === "number" ? [source] : [...source]).map((ax) =>
    normalizeAxis("np.moveaxis", ax, a.ndim),
  );
  const dst = (typeof destination === "number" ? [destination] : [...destination]).map((ax) =>
    normalizeAxis("np.moveaxis", ax, a.ndim),
  );
  if (src.length !== dst.length) {
    throw new ValueError(
      "np.moveaxis",
      `source and destination must have the same number of axes.`,
    );
  }
  const order = a.shape.map((_, i) => i).filter((i) => !src.includes(i));
  const pairs = dst.map((d, i) => [d, src[i]!] as const).sort((p, q) => p[0] - q[0]);
  for (const [d, sAxis] of pairs) order.splice(d, 0, sAxis);
  return transpose(a, order);
}

/** Swaps two axes. A view. */
export function swapaxes(x: ArrayLike, axis1: number, axis2: number): NDArray {
  const a = asArray("np.swapaxes", x);
  const i = normalizeAxis("np.swapaxes", axis1, a.ndim);
  const j = normalizeAxis("np.swapaxes", axis2, a.ndim);
  const perm = a.shape.map((_, k) => k);
  [perm[i], perm[j]] = [j, i];
  return transpose(a, perm);
}

/** Inserts size-1 axes at the positions `axis` (in the output). A view. */
export function expandDims(x: ArrayLike, axis: number | readonly number[]): NDArray {
  const a = asArray("np.expandDims", x);
  const list = typeof axis === "number" ? [axis] : axis;
  const outNdim = a.ndim + list.length;
  const axes = normalizeAxes("np.expandDims", list, outNdim);
  const shape: number[] = [];
  let k = 0;
  for (let i = 0; i < outNdim; i++) shape.push(axes.includes(i) ? 1 : a.shape[k++]!);
  return reshape(a, shape);
}

/** Options of `squeeze`. */
export interface SqueezeOptions {
  axis?: number | readonly number[];
}

/** Removes size-1 axes (all of them, or those in `axis`, which must have size 1). A view. */
export function squeeze(x: ArrayLike, options: SqueezeOptions = {}): NDArray {
  const a = asArray("np.squeeze", x);
  const axes =
    options.axis === undefined
      ? a.shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0)
      : normalizeAxes("np.squeeze", options.axis, a.ndim);
  for (const ax of axes) {
    if (a.shape[ax] !== 1) {
      throw new ShapeError(
        "np.squeeze",
        `cannot squeeze axis ${ax} of shape ${formatShape(a.shape)}: its size is ${a.shape[ax]}, not 1.`,
      );
    }
  }
  return reshape(
    a,
    a.shape.filter((_, i) => !axes.includes(i)),
  );
}

/** `x` broadcast to `shape` with NumPy's rules. A view. */
export function broadcastTo(x: ArrayLike, shape: readonly number[]): NDArray {
  return broadcastArray("np.broadcastTo", asArray("np.broadcastTo", x), shape);
}

/** The arrays broadcast against each other. Views. */
export function broadcastArrays(...xs: ArrayLike[]): NDArray[] {
  const arrays = xs.map((x, i) => asArray("np.broadcastArrays", x, i));
  const shape = broadcastShapes("np.broadcastArrays", ...arrays.map((a) => a.shape));
  return arrays.map((a) => broadcastArray("np.broadcastArrays", a, shape));
}

/** Options with a single axis. */
export interface AxisOptions {
  axis?: number;
}

function checkList(operation: string, xs: unknown): readonly ArrayLike[] {
  if (!Array.isArray(xs) || xs.length === 0) {
    throw new ValueError(
      operation,
      `expects a non-empty list of arrays, got ${Array.isArray(xs) ? "an empty list" : typeof xs}.`,
    );
  }
  return xs as readonly ArrayLike[];
}

/**
 * Joins arrays along an existing axis (default 0); other axes must agree.
 * @example
 * np.concatenate([np.zeros([2, 3]), np.ones([1, 3])]); // shape [3, 3]
 */
export function concatenate(xs: readonly ArrayLike[], options: AxisOptions = {}): NDArray {
  const arrays = promote("np.concatenate", checkList("np.concatenate", xs));
  const first = arrays[0]!;
  if (first.ndim === 0)
    throw new ShapeError(
      "np.concatenate",
      "zero-dimensional arrays cannot be concatenated; use np.stack.",
    );
  const axis = normalizeAxis("np.concatenate", options.axis ?? 0, first.ndim);
  arrays.forEach((a, i) => {
    if (a.ndim !== first.ndim || a.shape.some((d, k) => k !== axis && d !== first.shape[k])) {
      throw new ShapeError(
        "np.concatenate",
        `array ${i} has shape ${formatShape(a.shape)} but array 0 has shape ${formatShape(first.shape)}; ` +
          `all axes except axis ${axis} must match.`,
      );
    }
  });
  if (arrays.length === 1) return first;
  return bind1(s.concatenate, arrays, { dimension: axis });
}

/** Joins arrays of one shape along a new axis (default 0). */
export function stack(xs: readonly ArrayLike[], options: AxisOptions = {}): NDArray {
  const arrays = checkList("np.stack", xs).map((x, i) => asArray("np.stack", x, i));
  const first = arrays[0]!;
  arrays.forEach((a, i) => {
    if (a.ndim !== first.ndim || a.shape.some((d, k) => d !== first.shape[k])) {
      throw new ShapeError(
        "np.stack",
        `array ${i} has shape ${formatShape(a.shape)} but array 0 has shape ${formatShape(first.shape)}; np.stack needs equal shapes.`,
      );
    }
  });
  const axis = normalizeAxis("np.stack", options.axis ?? 0, first.ndim + 1);
  return concatenate(
    arrays.map((a) => expandDims(a, axis)),
    { axis },
  );
}

/**
 * Splits into `sections` equal parts, or at the given indices, along `axis` (default 0). Views.
 * @example
 * np.split(np.arange(6), 3); // three arrays of length 2
 */
export function split(
  x: ArrayLike,
  sections: number | readonly number[],
  options: AxisOptions = {},
): NDArray[] {
  const a = asArray("np.split", x);
  const axis = normalizeAxis("np.split", options.axis ?? 0, a.ndim);
  const n = a.shape[axis]!;
  let bounds: number[];
  if (typeof sections === "number") {
    if (!Number.isInteger(sections) || sections <= 0 || n % sections !== 0) {
      throw new ShapeError(
        "np.split",
        `axis ${axis} of size ${n} cannot be split into ${sections} equal sections; give split indices instead.`,
      );
    }
    bounds = Array.from({ length: sections - 1 }, (_, i) => ((i + 1) * n) / sections);
  } else bounds = [...sections];
  const edges = [0, ...bounds.map((b) => Math.min(Math.max(b < 0 ? b + n : b, 0), n)), n];
  const out: NDArray[] = [];
  for (let i = 0; i + 1 < edges.length; i++) {
    const lo = edges[i]!;
    const hi = Math.max(lo, edges[i + 1]!);
    out.push(sliceAxis(a, axis, lo, hi));
  }
  return out;
}

/** `x[..., lo:hi, ...]` on one axis (a view). @internal */
export function sliceAxis(a: NDArray, axis: number, lo: number, hi: number, step = 1): NDArray {
  const start = a.shape.map(() => 0);
  const limit = [...a.shape];
  const strides = a.shape.map(() => 1);
  start[axis] = lo;
  limit[axis] = hi;
  strides[axis] = step;
  return bind1(s.slice, [a], { start, limit, strides });
}

/** Repeats the whole array `reps` times along each axis. */
export function tile(x: ArrayLike, reps: number | readonly number[]): NDArray {
  const a = asArray("np.tile", x);
  const r = typeof reps === "number" ? [reps] : [...reps];
  if (r.some((k) => !Number.isInteger(k) || k < 0))
    throw new ValueError(
      "np.tile",
      `reps must be non-negative integers, got ${JSON.stringify(reps)}.`,
    );
  const ndim = Math.max(a.ndim, r.length);
  const shape = [...Array<number>(ndim - a.ndim).fill(1), ...a.shape];
  const fullReps = [...Array<number>(ndim - r.length).fill(1), ...r];
  // Broadcast to [r0, d0, r1, d1, ...] and merge pairs.
  const base = reshape(a, shape);
  const expanded = reshape(
    base,
    shape.flatMap((d) => [1, d]),
  );
  const target = shape.flatMap((d, i) => [fullReps[i]!, d]);
  return reshape(
    broadcastArray("np.tile", expanded, target),
    shape.map((d, i) => d * fullReps[i]!),
  );
}

/**
 * Repeats each element `repeats` times along `axis` (the flattened array when omitted);
 * `repeats` may be a list with one count per element.
 * @example
 * np.repeat(np.array([1, 2]), 2); // [1, 1, 2, 2]
 */
export function repeat(
  x: ArrayLike,
  repeats: number | readonly number[],
  options: AxisOptions = {},
): NDArray {
  let a = asArray("np.repeat", x);
  const counts = typeof repeats === "number" ? [repeats] : [...repeats];
  if (counts.some((r) => !Number.isInteger(r) || r < 0)) {
    throw new ValueError(
      "np.repeat",
      `repeats must be non-negative integers, got ${JSON.stringify(repeats)}.`,
    );
  }
  if (options.axis === undefined) a = ravel(a);
  const axis = normalizeAxis("np.repeat", options.axis ?? 0, a.ndim);
  if (counts.length !== 1) return repeatEach(a, counts, axis);
  const times = counts[0]!;
  const expanded = expandDims(a, axis + 1);
  const target = [...expanded.shape];
  target[axis + 1] = times;
  const shape = [...a.shape];
  shape[axis] = a.shape[axis]! * times;
  return reshape(broadcastArray("np.repeat", expanded, target), shape);
}

/** `repeat` with one count per element: a gather of the repeated positions. */
function repeatEach(a: NDArray, counts: readonly number[], axis: number): NDArray {
  if (counts.length !== a.shape[axis]) {
    throw new ShapeError(
      "np.repeat",
      `repeats has ${counts.length} entries but axis ${axis} has ${a.shape[axis]} elements; ` +
        `give one count per element (or a single number).`,
    );
  }
  const positions = counts.flatMap((n, i) => Array<number>(n).fill(i));
  const indices = fromStorage(Int32Array.from(positions), [positions.length, 1], "int32");
  const front = moveaxis(a, axis, 0);
  return moveaxis(bind1(gather, [front, indices], { indexedAxes: [0] }), 0, axis);
}

/** Reverses the order of elements along `axis` (all axes by default). A view. */
export function flip(x: ArrayLike, options: { axis?: number | readonly number[] } = {}): NDArray {
  const a = asArray("np.flip", x);
  const axes = normalizeAxes("np.flip", options.axis, a.ndim);
  if (axes.length === 0) return a;
  return bind1(s.rev, [a], { dimensions: axes });
}

/** Options of `pad`. */
export interface PadOptions {
  /** `"constant"` (default), `"edge"` or `"reflect"`. */
  mode?: "constant" | "edge" | "reflect";
  /** The fill value of constant mode (default 0). */
  constantValues?: number;
}

function normalizePadWidth(
  a: NDArray,
  padWidth: number | readonly number[] | readonly (readonly number[])[],
): [number, number][] {
  const bad = (): never => {
    throw new ValueError(
      "np.pad",
      `padWidth must be n, [before, after], or one [before, after] per axis (${a.ndim} axes); got ${JSON.stringify(padWidth)}.`,
    );
  };
  let pairs: [number, number][];
  if (typeof padWidth === "number") pairs = a.shape.map(() => [padWidth, padWidth]);
  else if (padWidth.length === 2 && padWidth.every((v) => typeof v === "number")) {
    const [lo, hi] = padWidth as readonly number[];
    pairs = a.shape.map(() => [lo!, hi!]);
  } else if (padWidth.length === 1 && Array.isArray(padWidth[0])) {
    const [lo, hi] = padWidth[0] as readonly number[];
    pairs = a.shape.map(() => [lo!, hi!]);
  } else if (
    padWidth.length === a.ndim &&
    padWidth.every((p) => Array.isArray(p) && p.length === 2)
  ) {
    pairs = (padWidth as readonly (readonly number[])[]).map((p) => [p[0]!, p[1]!]);
  } else return bad();
  if (pairs.some(([lo, hi]) => !Number.isInteger(lo) || !Number.isInteger(hi) || lo < 0 || hi < 0))
    bad();
  return pairs;
}

/**
 * Pads an array: `np.pad(x, 2)`, `np.pad(x, [[1, 0], [2, 2]], {mode: "edge"})`.
 */
export function pad(
  x: ArrayLike,
  padWidth: number | readonly number[] | readonly (readonly number[])[],
  options: PadOptions = {},
): NDArray {
  const a = asArray("np.pad", x);
  const pairs = normalizePadWidth(a, padWidth);
  const mode = options.mode ?? "constant";
  if (mode === "constant") {
    const value = convert(scalar(options.constantValues ?? 0, a.dtype), a.dtype, a.weakType);
    return bind1(s.pad, [a, value], { config: pairs.map(([lo, hi]) => [lo, hi, 0] as const) });
  }
  if (mode !== "edge" && mode !== "reflect") {
    throw new ValueError(
      "np.pad",
      `mode ${JSON.stringify(mode)} is not supported; use "constant", "edge" or "reflect".`,
    );
  }
  let out = a;
  pairs.forEach(([lo, hi], axis) => {
    if (lo === 0 && hi === 0) return;
    const n = out.shape[axis]!;
    if (n === 0)
      throw new ShapeError("np.pad", `cannot pad an empty axis ${axis} in ${mode} mode.`);
    const parts: NDArray[] = [];
    const pick = (i: number): NDArray => sliceAxis(out, axis, i, i + 1);
    const reflectIndex = (i: number): number => {
      if (n === 1) return 0;
      const period = 2 * (n - 1);
      const m = ((i % period) + period) % period;
      return m < n ? m : period - m;
    };
    for (let i = -lo; i < 0; i++) parts.push(pick(mode === "edge" ? 0 : reflectIndex(i)));
    parts.push(out);
    for (let i = n; i < n + hi; i++) parts.push(pick(mode === "edge" ? n - 1 : reflectIndex(i)));
    out = concatenate(parts, { axis });
  });
  return out;
}

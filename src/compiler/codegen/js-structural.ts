/**
 * Data movement as index maps, for the whole-program JavaScript code (`js-program.ts`): what each
 * element of a reshape, broadcast, transpose, slice, reversal, concatenation or padding is, as
 * (input, flat index) pairs computed once at compile time. The generated code then copies
 * elements (or renames local variables) with no strides, views or allocations at run time.
 */
import type { Equation } from "../../core/ir.js";
import { contiguousStrides } from "../../core/shape.js";

/**
 * For each output element in row-major order: `sources[e]` is the input it comes from (−1 for
 * nothing, which does not happen here) and `indices[e]` its flat row-major index in that input.
 */
export interface IndexMap {
  sources: Int32Array;
  indices: Int32Array;
}

/** Primitives whose output is a rearrangement of their inputs' elements. */
export const structuralNames = new Set([
  "reshape",
  "stop_gradient",
  "broadcast_in_dim",
  "transpose",
  "slice",
  "rev",
  "concatenate",
  "pad",
]);

/** Calls `visit(flat, index)` for every multi-index of `shape` in row-major order. */
function forEachIndex(shape: readonly number[], visit: (flat: number, index: number[]) => void) {
  const size = shape.reduce((n, d) => n * d, 1);
  if (size === 0) return;
  const index = shape.map(() => 0);
  for (let flat = 0; flat < size; flat++) {
    visit(flat, index);
    for (let axis = shape.length - 1; axis >= 0; axis--) {
      if (++index[axis]! < shape[axis]!) break;
      index[axis] = 0;
    }
  }
}

const dot = (index: readonly number[], strides: readonly number[]): number =>
  index.reduce((n, i, axis) => n + i * strides[axis]!, 0);

/** The index map of a structural equation (see `structuralNames`). */
export function indexMap(eq: Equation): IndexMap {
  const out = eq.outputs[0]!.aval;
  const size = out.size;
  const sources = new Int32Array(size);
  const indices = new Int32Array(size);
  const input = eq.inputs[0]!.aval;
  const inStrides = contiguousStrides(input.shape);
  const name = eq.primitive.name;
  const params = eq.params as Record<string, unknown>;
  const set = (e: number, source: number, index: number): void => {
    sources[e] = source;
    indices[e] = index;
  };
  if (name === "reshape" || name === "stop_gradient") {
    for (let e = 0; e < size; e++) set(e, 0, e);
  } else if (name === "broadcast_in_dim") {
    const dims = params.broadcastDimensions as readonly number[];
    forEachIndex(out.shape, (e, index) =>
      set(
        e,
        0,
        dims.reduce((n, d, i) => n + (input.shape[i] === 1 ? 0 : index[d]! * inStrides[i]!), 0),
      ),
    );
  } else if (name === "transpose") {
    const perm = params.permutation as readonly number[];
    const strides = perm.map((p) => inStrides[p]!);
    forEachIndex(out.shape, (e, index) => set(e, 0, dot(index, strides)));
  } else if (name === "slice") {
    const start = params.start as readonly number[];
    const steps = params.strides as readonly number[];
    const base = dot(start, inStrides);
    const strides = inStrides.map((s, i) => s * steps[i]!);
    forEachIndex(out.shape, (e, index) => set(e, 0, base + dot(index, strides)));
  } else if (name === "rev") {
    const dims = params.dimensions as readonly number[];
    forEachIndex(out.shape, (e, index) =>
      set(
        e,
        0,
        dot(
          index.map((i, axis) => (dims.includes(axis) ? input.shape[axis]! - 1 - i : i)),
          inStrides,
        ),
      ),
    );
  } else if (name === "concatenate") {
    const axis = params.dimension as number;
    const starts: number[] = [];
    let at = 0;
    for (const a of eq.inputs) {
      starts.push(at);
      at += a.aval.shape[axis]!;
    }
    const strides = eq.inputs.map((a) => contiguousStrides(a.aval.shape));
    forEachIndex(out.shape, (e, index) => {
      let j = starts.length - 1;
      while (starts[j]! > index[axis]!) j--;
      const local = [...index];
      local[axis]! -= starts[j]!;
      set(e, j, dot(local, strides[j]!));
    });
  } else if (name === "pad") {
    // Input 1 is the padding value (a scalar): element 0.
    const config = params.config as readonly (readonly [number, number, number])[];
    forEachIndex(out.shape, (e, index) => {
      let flat = 0;
      for (let axis = 0; axis < index.length; axis++) {
        const [lo, , interior] = config[axis]!;
        const position = index[axis]! - lo;
        const step = interior + 1;
        const source = position / step;
        if (position < 0 || position % step !== 0 || source >= input.shape[axis]!) {
          set(e, 1, 0);
          return;
        }
        flat += source * inStrides[axis]!;
      }
      set(e, 0, flat);
    });
  } else {
    throw new Error(`no index map for ${name}`);
  }
  return { sources, indices };
}

/**
 * Runs of consecutive elements copied from one input: `[outStart, inStart, length]` per run, for
 * the output positions `positions` (ascending) that come from that input.
 */
export function runsOf(
  positions: readonly number[],
  map: IndexMap,
): (readonly [number, number, number])[] {
  const runs: [number, number, number][] = [];
  for (const e of positions) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last[0] + last[2] === e && last[1] + last[2] === map.indices[e]) {
      last[2]++;
    } else runs.push([e, map.indices[e]!, 1]);
  }
  return runs;
}

/**
 * For a reduction of `shape` over `axes`: the flat offset of each output element's first input
 * element (`bases`, one per output in row-major order) and the offsets of the reduced elements
 * from it (`offsets`, in row-major order of the reduced axes: the order eager execution adds).
 */
export function reductionOffsets(
  shape: readonly number[],
  axes: readonly number[],
): { bases: Int32Array; offsets: Int32Array } {
  const strides = contiguousStrides(shape);
  const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const sorted = [...axes].sort((a, b) => a - b);
  const keptShape = kept.map((i) => shape[i]!);
  const reducedShape = sorted.map((i) => shape[i]!);
  const bases = new Int32Array(keptShape.reduce((n, d) => n * d, 1));
  forEachIndex(keptShape, (e, index) => {
    bases[e] = dot(
      index,
      kept.map((i) => strides[i]!),
    );
  });
  const offsets = new Int32Array(reducedShape.reduce((n, d) => n * d, 1));
  forEachIndex(reducedShape, (e, index) => {
    offsets[e] = dot(
      index,
      sorted.map((i) => strides[i]!),
    );
  });
  return { bases, offsets };
}

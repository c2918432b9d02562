/**
 * Loops over strided storage: the eager kernels' building blocks. An operand is described by its
 * storage, its strides aligned to the loop's shape (0 on broadcast axes) and an offset.
 */
import type { TypedArray } from "../core/dtype.js";
import { contiguousStrides } from "../core/shape.js";

/** A strided view of storage, aligned to some loop shape. */
export interface Operand {
  data: TypedArray;
  strides: readonly number[];
  offset: number;
}

/**
 * The same loop with fewer axes: size-1 axes dropped, and neighbouring axes merged where every
 * operand steps through them as through one (so rows get as long as the layouts allow).
 */
export function coalesce(
  shape: readonly number[],
  operands: readonly Operand[],
): [number[], number[][]] {
  const dims: number[] = [];
  const strides: number[][] = operands.map(() => []);
  for (let axis = 0; axis < shape.length; axis++) {
    const d = shape[axis]!;
    if (d === 1) continue;
    const last = dims.length - 1;
    if (last >= 0 && operands.every((o, k) => strides[k]![last] === o.strides[axis]! * d)) {
      dims[last] = dims[last]! * d;
      operands.forEach((o, k) => (strides[k]![last] = o.strides[axis]!));
      continue;
    }
    dims.push(d);
    operands.forEach((o, k) => strides[k]!.push(o.strides[axis]!));
  }
  return [dims, strides];
}

/**
 * Calls `inner(outStart, count, offsets, innerStrides)` once per row of `shape` (its innermost
 * axis, after merging axes that can be merged) in row-major order: `offsets[k]` is the storage
 * offset of the row's first element in operand k, `outStart` the row-major index of that element.
 * `offsets` is reused between calls: copy it to keep it.
 */
export function forEachRow(
  shape: readonly number[],
  operands: readonly Operand[],
  inner: (outStart: number, count: number, offsets: number[], innerStrides: number[]) => void,
): void {
  const n = operands.length;
  let size = 1;
  for (const d of shape) size *= d;
  if (size === 0) return;
  const offsets = operands.map((o) => o.offset);
  const [dims, strides] = coalesce(shape, operands);
  const ndim = dims.length;
  if (ndim === 0) {
    inner(
      0,
      1,
      offsets,
      operands.map(() => 0),
    );
    return;
  }
  const last = ndim - 1;
  const count = dims[last]!;
  const innerStrides = strides.map((s) => s[last]!);
  const index = new Array<number>(ndim).fill(0);
  const start = offsets.slice();
  for (let out = 0; out < size; out += count) {
    for (let k = 0; k < n; k++) offsets[k] = start[k]!;
    inner(out, count, offsets, innerStrides);
    // Advance the outer index (all axes but the last), updating the row starts incrementally.
    let axis = last - 1;
    while (axis >= 0) {
      index[axis]!++;
      for (let k = 0; k < n; k++) start[k]! += strides[k]![axis]!;
      if (index[axis]! < dims[axis]!) break;
      for (let k = 0; k < n; k++) start[k]! -= strides[k]![axis]! * dims[axis]!;
      index[axis] = 0;
      axis--;
    }
  }
}

/**
 * A loop nest over `ndim` axes and two operands, generated once per (ndim, body): `body` reads
 * `a[ia]` (operand 0) and `b[ib]` (operand 1) at the innermost level. Short rows then cost no
 * call each (transposes and reductions over small trailing axes have rows of 2 or 3).
 */
type Nest = (
  a: TypedArray | Float64Array,
  b: TypedArray,
  dims: readonly number[],
  aStrides: readonly number[],
  bStrides: readonly number[],
  aOffset: number,
  bOffset: number,
  f: ((acc: number, x: number) => number) | undefined,
) => void;
const nests = new Map<string, Nest>();

function nest(ndim: number, body: string, types = ""): Nest {
  // One copy per pair of array types too, so that element accesses stay monomorphic.
  const key = `${ndim}:${body}:${types}`;
  let loop = nests.get(key);
  if (loop === undefined) {
    const lines: string[] = [];
    for (let d = 0; d < ndim; d++) {
      lines.push(
        `const n${d} = dims[${d}], as${d} = aStrides[${d}], bs${d} = bStrides[${d}];`,
        `for (let i${d} = 0, ia${d + 1} = ia${d}, ib${d + 1} = ib${d}; i${d} < n${d}; i${d}++, ia${d + 1} += as${d}, ib${d + 1} += bs${d}) {`,
      );
    }
    lines.push(body.replaceAll("ia", `ia${ndim}`).replaceAll("ib", `ib${ndim}`));
    lines.push("}".repeat(ndim));
    loop = new Function(
      "a",
      "b",
      "dims",
      "aStrides",
      "bStrides",
      "ia0",
      "ib0",
      "f",
      lines.join("\n"),
    ) as Nest;
    nests.set(key, loop);
  }
  return loop;
}

const arrayTypes = (a: TypedArray, b: TypedArray): string =>
  `${a.constructor.name},${b.constructor.name}`;

/** Copies a strided operand into contiguous `out` (row-major over `shape`). */
export function copyStrided(shape: readonly number[], src: Operand, out: TypedArray): void {
  const size = shape.reduce((n, d) => n * d, 1);
  if (size === 0) return;
  const [dims, [outStrides, srcStrides]] = coalesce(shape, [
    { data: out, strides: contiguousStrides(shape), offset: 0 },
    src,
  ]);
  const ndim = dims.length;
  if (ndim === 0) {
    out[0] = src.data[src.offset]!;
  } else if (srcStrides![ndim - 1] === 1 && dims[ndim - 1]! >= 16) {
    // Long contiguous rows: block copies.
    forEachRow(shape, [src], (start, count, offsets) => {
      const o = offsets[0]!;
      out.set(src.data.subarray(o, o + count), start);
    });
  } else {
    nest(ndim, "a[ia] = b[ib];", arrayTypes(out, src.data))(
      out,
      src.data,
      dims,
      outStrides!,
      srcStrides!,
      0,
      src.offset,
      undefined,
    );
  }
}

type Scalar = (...xs: number[]) => number;
type Loop = (out: TypedArray, start: number, count: number, ...dataAndOffsets: unknown[]) => void;

/** Generated loops per scalar function, indexed by the operands' inner-stride pattern. */
const loops = new WeakMap<Scalar, (Loop | undefined)[]>();

/**
 * A loop specialised to `f` and to each operand's inner stride (0 or 1), generated once: the call
 * to `f` then has a single target, which V8 inlines. Rows with other strides return `undefined`.
 */
function loopFor(f: Scalar, strides: readonly number[]): Loop | undefined {
  let code = 0;
  for (let k = 0; k < strides.length; k++) {
    const st = strides[k]!;
    if (st !== 0 && st !== 1) return undefined;
    code |= st << k;
  }
  let table = loops.get(f);
  if (table === undefined) {
    table = [];
    loops.set(f, table);
  }
  let loop = table[code];
  if (loop === undefined) {
    const params = strides.map((_, k) => `d${k}, o${k}`).join(", ");
    const args = strides
      .map((st, k) => (st === 0 ? `d${k}[o${k}]` : `d${k}[o${k} + i]`))
      .join(", ");
    loop = new Function(
      "f",
      `return function loop(out, start, count, ${params}) {\n` +
        `  for (let i = 0; i < count; i++) out[start + i] = f(${args});\n};`,
    )(f) as Loop;
    table[code] = loop;
  }
  return loop;
}

/** `out[i] = f(operands[0][i], …)` over strided operands aligned to `shape`. */
function mapN(
  shape: readonly number[],
  operands: readonly Operand[],
  out: TypedArray,
  f: Scalar,
): void {
  const n = operands.length;
  forEachRow(shape, operands, (start, count, offsets, strides) => {
    const loop = loopFor(f, strides);
    if (loop !== undefined) {
      const [a, b, c] = operands;
      if (n === 1) loop(out, start, count, a!.data, offsets[0]);
      else if (n === 2) loop(out, start, count, a!.data, offsets[0], b!.data, offsets[1]);
      else loop(out, start, count, a!.data, offsets[0], b!.data, offsets[1], c!.data, offsets[2]);
      return;
    }
    const o = offsets.slice();
    const xs = new Array<number>(n);
    for (let i = 0; i < count; i++) {
      for (let k = 0; k < n; k++) {
        xs[k] = operands[k]!.data[o[k]!]!;
        o[k]! += strides[k]!;
      }
      out[start + i] = f(...xs);
    }
  });
}

/** `out[i] = f(a[i])` over a strided operand. */
export function mapUnary(
  shape: readonly number[],
  a: Operand,
  out: TypedArray,
  f: (x: number) => number,
): void {
  mapN(shape, [a], out, f as Scalar);
}

/** `out[i] = f(a[i], b[i])` over two strided operands aligned to `shape`. */
export function mapBinary(
  shape: readonly number[],
  a: Operand,
  b: Operand,
  out: TypedArray,
  f: (x: number, y: number) => number,
): void {
  mapN(shape, [a, b], out, f as Scalar);
}

/** `out[i] = f(a[i], b[i], c[i])` over three strided operands aligned to `shape`. */
export function mapTernary(
  shape: readonly number[],
  a: Operand,
  b: Operand,
  c: Operand,
  out: TypedArray,
  f: (x: number, y: number, z: number) => number,
): void {
  mapN(shape, [a, b, c], out, f as Scalar);
}

/** Copies a strided operand into a strided destination (both aligned to `shape`). */
export function copyStridedTo(shape: readonly number[], src: Operand, dst: Operand): void {
  if (shape.reduce((n, d) => n * d, 1) === 0) return;
  const [dims, [dstStrides, srcStrides]] = coalesce(shape, [dst, src]);
  nest(dims.length, "a[ia] = b[ib];", arrayTypes(dst.data, src.data))(
    dst.data,
    src.data,
    dims,
    dstStrides!,
    srcStrides!,
    dst.offset,
    src.offset,
    undefined,
  );
}

type Step = (acc: number, x: number) => number;
const reduceNests = new WeakMap<Step, Map<string, Nest>>();

/**
 * Reduces the strided operand `x` (aligned to `shape`) into `acc` with `acc[o] = step(acc[o], x)`
 * where `accStrides` maps each element to its accumulator (0 on the reduced axes). Elements are
 * visited in `x`'s row-major order, so each accumulator sees its elements in row-major order of
 * the reduced axes, whatever the layout; accumulators are float64 (as a JS number is).
 */
export function reduceStrided(
  shape: readonly number[],
  x: Operand,
  acc: Float64Array,
  accStrides: readonly number[],
  step: Step,
): void {
  const size = shape.reduce((n, d) => n * d, 1);
  if (size === 0) return;
  const [dims, [aStrides, xStrides]] = coalesce(shape, [
    { data: acc, strides: accStrides, offset: 0 },
    x,
  ]);
  // One loop nest per step function (so that the call to `step` has one target, inlined) and
  // per rank and input type (so that element accesses stay monomorphic).
  let loops = reduceNests.get(step);
  if (loops === undefined) {
    loops = new Map();
    reduceNests.set(step, loops);
  }
  const key = `${dims.length}:${x.data.constructor.name}`;
  let loop = loops.get(key);
  if (loop === undefined) {
    const generic = nest(dims.length, "a[ia] = f(a[ia], b[ib]);").toString();
    loop = new Function(`return ${generic}`)() as Nest;
    loops.set(key, loop);
  }
  loop(acc, x.data, dims, aStrides!, xStrides!, 0, x.offset, step);
}

/**
 * Loops over strided storage: the eager kernels' building blocks. An operand is described by its
 * storage, its strides aligned to the loop's shape (0 on broadcast axes) and an offset.
 */
import type { TypedArray } from "../core/dtype.js";

/** A strided view of storage, aligned to some loop shape. */
export interface Operand {
  data: TypedArray;
  strides: readonly number[];
  offset: number;
}

function isContiguous(shape: readonly number[], strides: readonly number[]): boolean {
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== s) return false;
    s *= shape[i]!;
  }
  return true;
}

/**
 * Calls `body(outIndex, offsets)` once per element of `shape` in row-major order, where
 * `offsets[k]` is the storage offset of element in operand k. `inner` runs the innermost axis in
 * one call for speed: `inner(outStart, count, offsets, innerStrides)`.
 */
export function forEachRow(
  shape: readonly number[],
  operands: readonly Operand[],
  inner: (outStart: number, count: number, offsets: number[], innerStrides: number[]) => void,
): void {
  const ndim = shape.length;
  const n = operands.length;
  let size = 1;
  for (const d of shape) size *= d;
  if (size === 0) return;
  const offsets = operands.map((o) => o.offset);
  if (ndim === 0) {
    inner(
      0,
      1,
      offsets,
      operands.map(() => 0),
    );
    return;
  }
  if (operands.every((o) => isContiguous(shape, o.strides))) {
    inner(
      0,
      size,
      offsets,
      operands.map(() => 1),
    );
    return;
  }
  const last = ndim - 1;
  const count = shape[last]!;
  const innerStrides = operands.map((o) => o.strides[last]!);
  const index = new Array<number>(ndim).fill(0);
  let out = 0;
  for (;;) {
    inner(out, count, offsets.slice(), innerStrides);
    out += count;
    // Advance the outer index (all axes but the last), updating offsets incrementally.
    let axis = last - 1;
    while (axis >= 0) {
      index[axis]!++;
      for (let k = 0; k < n; k++) offsets[k] += operands[k]!.strides[axis]!;
      if (index[axis]! < shape[axis]!) break;
      for (let k = 0; k < n; k++) offsets[k] -= operands[k]!.strides[axis]! * shape[axis]!;
      index[axis] = 0;
      axis--;
    }
    if (axis < 0) return;
  }
}

/** Copies a strided operand into contiguous `out` (row-major over `shape`). */
export function copyStrided(shape: readonly number[], src: Operand, out: TypedArray): void {
  const data = src.data;
  forEachRow(shape, [src], (start, count, offsets, strides) => {
    let o = offsets[0]!;
    const s = strides[0]!;
    if (s === 1) {
      out.set(data.subarray(o, o + count), start);
      return;
    }
    for (let i = 0; i < count; i++, o += s) out[start + i] = data[o]!;
  });
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
  const from = src.data;
  const to = dst.data;
  forEachRow(shape, [src, dst], (_, count, offsets, strides) => {
    let s = offsets[0]!;
    let d = offsets[1]!;
    const ss = strides[0]!;
    const ds = strides[1]!;
    for (let i = 0; i < count; i++, s += ss, d += ds) to[d] = from[s]!;
  });
}

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

/** `out[i] = f(a[i])` over a strided operand. */
export function mapUnary(
  shape: readonly number[],
  a: Operand,
  out: TypedArray,
  f: (x: number) => number,
): void {
  const data = a.data;
  forEachRow(shape, [a], (start, count, offsets, strides) => {
    let o = offsets[0]!;
    const s = strides[0]!;
    for (let i = 0; i < count; i++, o += s) out[start + i] = f(data[o]!);
  });
}

/** `out[i] = f(a[i], b[i])` over two strided operands aligned to `shape`. */
export function mapBinary(
  shape: readonly number[],
  a: Operand,
  b: Operand,
  out: TypedArray,
  f: (x: number, y: number) => number,
): void {
  const da = a.data;
  const db = b.data;
  forEachRow(shape, [a, b], (start, count, offsets, strides) => {
    let oa = offsets[0]!;
    let ob = offsets[1]!;
    const sa = strides[0]!;
    const sb = strides[1]!;
    for (let i = 0; i < count; i++, oa += sa, ob += sb) out[start + i] = f(da[oa]!, db[ob]!);
  });
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
  const da = a.data;
  const db = b.data;
  const dc = c.data;
  forEachRow(shape, [a, b, c], (start, count, offsets, strides) => {
    let oa = offsets[0]!;
    let ob = offsets[1]!;
    let oc = offsets[2]!;
    const [sa, sb, sc] = strides as [number, number, number];
    for (let i = 0; i < count; i++, oa += sa, ob += sb, oc += sc) {
      out[start + i] = f(da[oa]!, db[ob]!, dc[oc]!);
    }
  });
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

/**
 * `dot_general` on the WebAssembly SIMD matmul kernels: eager and compiled calls both come here
 * (through the primitive's impl), so they agree. Operand layouts (transposes, batch axes) become
 * strides the kernel's packing reads, so a transposed operand costs no extra copy.
 */
import type { DotGeneralParams } from "../primitives/dot.js";
import { freeAxes, installFastDot } from "../primitives/dot.js";
import { emitMatmul, matmulScratchBytes, type MatmulSpec } from "../compiler/kernels/matmul.js";
import { contiguousStrides } from "../core/shape.js";
import { fromStorage, view, type ConcreteArray } from "./concrete.js";
import { maximumReach } from "./gather-kernels.js";
import { useFusedMultiplyAdd } from "./config.js";
import { splitRange, threadCount, wakeWorkers, type KernelModule } from "./threads.js";
import {
  compileKernel,
  copyIn,
  copyOut,
  kernelModuleBuilder,
  layout,
  memoryView,
  reserve,
  isResident,
  runKernelParallel,
} from "./wasm-memory.js";

/**
 * Below this many multiply-adds the plain loop wins (no kernel to build, nothing to copy).
 * Measured eagerly: from 4096 the kernels take about as long (16×16×16: 19–25 µs both ways),
 * and above it they win by far (31×32×32: 23 µs against 108; an RNN step's 1×128·128×128: 65
 * against 96).
 */
export const matmulMinimumWork = 4 * 1024;

/** Products with at least this many multiply-adds are split over the threads. */
export const minimumParallelWork = 4 * 1024 * 1024;

/**
 * One thread's share of a product: its spec and where its A, B, C and bias start (in elements).
 */
interface MatmulPart {
  spec: MatmulSpec;
  a: number;
  b: number;
  c: number;
  bias: number;
}

/**
 * Splits a product into at most `parts` independent ones over rows of A, columns of B, or the
 * batch (whichever is long enough), each writing its own block of C.
 */
export function splitMatmul(spec: MatmulSpec, parts: number): MatmulPart[] {
  const { m, n, batch } = spec;
  // C's layout (contiguous unless given): every part writes its block of the same C.
  const c = spec.c ?? { batchStride: m * n, rowStride: n };
  const whole = [{ spec, a: 0, b: 0, c: 0, bias: 0 }];
  if (parts <= 1) return whole;
  if (m >= n && m >= 8 * parts) {
    return splitRange(m, parts, 4).map(([start, rows]) => ({
      spec: { ...spec, m: rows, c },
      a: start * spec.a.rowStride,
      b: 0,
      c: start * c.rowStride,
      bias: 0,
    }));
  }
  if (n >= 16 * parts) {
    return splitRange(n, parts, 8).map(([start, cols]) => ({
      spec: { ...spec, n: cols, c },
      a: 0,
      b: start * spec.b.colStride,
      c: start,
      bias: start,
    }));
  }
  if (batch >= parts) {
    return splitRange(batch, parts, 1).map(([start, count]) => ({
      spec: { ...spec, batch: count, c },
      a: start * spec.a.batchStride,
      b: start * spec.b.batchStride,
      c: start * c.batchStride,
      bias: 0,
    }));
  }
  return whole;
}

export interface CompiledMatmul {
  module: KernelModule;
  parts: MatmulPart[];
  /** Bytes of scratch memory (packed panels) each part needs. */
  scratchBytes: number[];
}
const kernels = new Map<string, CompiledMatmul>();

const layoutKey = (l: MatmulSpec["a"]): string => `${l.batchStride},${l.rowStride},${l.colStride}`;

/**
 * The cache key of a spec: every field that shapes the code. Built by hand (a product is
 * dispatched on every call, and `JSON.stringify` of the spec cost more than the lookup).
 */
function specKey(spec: MatmulSpec, parts: number): string {
  const { dtype, batch, m, n, k, c, epilogue, blocking, fusedMultiplyAdd } = spec;
  let key = `${parts}|${dtype}|${batch},${m},${n},${k}|${layoutKey(spec.a)}|${layoutKey(spec.b)}`;
  if (c !== undefined) key += `|c${c.batchStride},${c.rowStride}`;
  if (epilogue !== undefined) key += `|e${epilogue.bias === true},${epilogue.activation ?? ""}`;
  if (blocking !== undefined) key += `|b${JSON.stringify(blocking)}`;
  return fusedMultiplyAdd === true ? `${key}|fma` : key;
}

/** The product split in `parts`, one exported function `part<i>` each, in one module. */
export function matmulKernel(spec: MatmulSpec, parts: number): CompiledMatmul {
  const key = specKey(spec, parts);
  let kernel = kernels.get(key);
  if (kernel === undefined) {
    const split = splitMatmul(spec, parts);
    const module = kernelModuleBuilder();
    split.forEach((part, i) => emitMatmul(module, `part${i}`, part.spec));
    kernel = {
      module: compileKernel(module.build({ names: false })),
      parts: split,
      scratchBytes: split.map((part) => matmulScratchBytes(part.spec)),
    };
    kernels.set(key, kernel);
  }
  return kernel;
}

/**
 * One stride for a group of axes (enumerated with the last fastest), when the group is one
 * arithmetic progression in `strides`: each axis steps as far as the next one's whole extent
 * (axes of length 1 do not count). 0 for an empty group.
 */
function groupStride(
  axes: readonly number[],
  shape: readonly number[],
  strides: readonly number[],
): number | undefined {
  const used = axes.filter((a) => shape[a] !== 1);
  if (used.length === 0) return 0;
  for (let i = 0; i + 1 < used.length; i++) {
    const [a, b] = [used[i]!, used[i + 1]!];
    if (strides[a] !== strides[b]! * shape[b]!) return undefined;
  }
  return strides[used[used.length - 1]!]!;
}

const sizeOf = (x: { shape: readonly number[] }, axes: readonly number[]): number =>
  axes.reduce((n, a) => n * x.shape[a]!, 1);

/** Where a kernel reads an operand: at `address` in kernel memory, or `data` copied in. */
interface Operand {
  /** The storage to copy in, with the operand's first element at `first` of it. */
  data?: ConcreteArray["data"];
  /** The operand's first element in kernel memory, when it lives there already. */
  address?: number;
  /** Elements of `data` before the operand's first element. */
  first: number;
  /** Bytes to reserve for `data`. */
  bytes: number;
  /** Element strides of the three axis groups. */
  strides: number[];
}

/**
 * Where a kernel reads `x`, and the strides of three axis groups in it. A view (a transpose, a
 * slice, a broadcast) whose groups are each one stride is read in place: its storage, where it
 * lives in kernel memory, or else the part of it the view reaches, copied in whole (packing
 * folds the strides). Otherwise the elements are first permuted into group order.
 */
function operand(x: ConcreteArray, groups: readonly (readonly number[])[]): Operand {
  const item = x.data.BYTES_PER_ELEMENT;
  const strides = groups.map((g) => groupStride(g, x.shape, x.strides));
  if (strides.every((s) => s !== undefined)) {
    if (isResident(x)) {
      const address = x.data.byteOffset + x.offset * item;
      return { address, first: 0, bytes: 0, strides: strides as number[] };
    }
    // A view of a small part of a large storage is permuted instead (fewer bytes to move).
    const [lo, hi] = x.reach;
    if (hi - lo + 1 <= maximumReach * x.size) {
      const data = x.data.subarray(lo, hi + 1);
      return { data, first: x.offset - lo, bytes: data.byteLength, strides: strides as number[] };
    }
  }
  const perm = groups.flat();
  const permuted = view(
    x,
    perm.map((p) => x.shape[p]!),
    perm.map((p) => x.strides[p]!),
    x.offset,
  );
  const data = permuted.toTypedArray();
  return { data, first: 0, bytes: data.byteLength, strides: groupOrderStrides(x, groups) };
}

/** The group strides of `x`'s elements laid out row-major in group order. */
function groupOrderStrides(
  x: { shape: readonly number[] },
  groups: readonly (readonly number[])[],
): number[] {
  const [, rows, cols] = groups.map((g) => sizeOf(x, g)) as [number, number, number];
  return [rows * cols, cols, 1];
}

/** What a product may apply to each element of C before storing it. */
export interface MatmulEpilogue {
  /** Added along the last axis of C (its length is C's last dimension). */
  bias?: ConcreteArray;
  /** Then `max(x, 0)`. */
  relu?: boolean;
}

/** A product's sizes, and its operands' axis groups (batch, rows, depth / batch, depth, columns). */
interface ProductShape {
  dtype: "float32" | "float64";
  batch: number;
  m: number;
  n: number;
  k: number;
  aGroups: number[][];
  bGroups: number[][];
}

/**
 * The product `dot_general` makes of operands with these shapes and dtypes, when the kernels
 * take it: float operands of one dtype, enough multiply-adds, and (with a bias) one free axis
 * of the right operand for the bias to run along.
 */
function productOf(
  lhs: { shape: readonly number[]; dtype: string },
  rhs: { shape: readonly number[]; dtype: string },
  params: DotGeneralParams,
  bias: boolean,
): ProductShape | undefined {
  const dtype = lhs.dtype;
  if ((dtype !== "float32" && dtype !== "float64") || rhs.dtype !== dtype) return undefined;
  const [lc, rc] = params.contracting;
  const [lb, rb] = params.batch;
  const lf = freeAxes(lhs.shape.length, [...lc, ...lb]);
  const rf = freeAxes(rhs.shape.length, [...rc, ...rb]);
  const [batch, m, k, n] = [sizeOf(lhs, lb), sizeOf(lhs, lf), sizeOf(lhs, lc), sizeOf(rhs, rf)];
  if (batch * m * n * k < matmulMinimumWork || (bias && rf.length !== 1)) return undefined;
  return {
    dtype,
    batch,
    m,
    n,
    k,
    aGroups: [[...lb], lf, [...lc]],
    bGroups: [[...rb], [...rc], rf],
  };
}

/** The kernel spec of a product whose operands have these group strides. */
function specOf(
  product: ProductShape,
  a: readonly number[],
  b: readonly number[],
  bias: boolean,
  relu: boolean,
): MatmulSpec {
  const { dtype, batch, m, n, k } = product;
  return {
    dtype,
    batch,
    m,
    n,
    k,
    a: { batchStride: a[0]!, rowStride: a[1]!, colStride: a[2]! },
    b: { batchStride: b[0]!, rowStride: b[1]!, colStride: b[2]! },
    fusedMultiplyAdd: useFusedMultiplyAdd(),
    ...((bias || relu) && { epilogue: { bias, activation: relu ? "relu" : "none" } }),
  };
}

/**
 * The kernel spec a compiled call runs for `dot_general` of operands with these avals, laid out
 * with these element `strides` (row-major where not given: a compiled call's arena arrays and
 * arguments are; a transpose of one is a view with permuted strides), or undefined where the
 * plain loop takes the product: for showing the kernel's code (`lower(...).code`).
 */
export function plannedProductSpec(
  lhs: { shape: readonly number[]; dtype: string },
  rhs: { shape: readonly number[]; dtype: string },
  params: DotGeneralParams,
  epilogue: { bias: boolean; relu: boolean },
  strides: [(readonly number[])?, (readonly number[])?] = [],
): MatmulSpec | undefined {
  const product = productOf(lhs, rhs, params, epilogue.bias);
  if (product === undefined) return undefined;
  const groupStrides = (
    x: { shape: readonly number[] },
    groups: readonly (readonly number[])[],
    given: readonly number[] | undefined,
  ): number[] => {
    const layout = given ?? contiguousStrides(x.shape);
    const found = groups.map((g) => groupStride(g, x.shape, layout));
    return found.every((s) => s !== undefined) ? (found as number[]) : groupOrderStrides(x, groups);
  };
  return specOf(
    product,
    groupStrides(lhs, product.aGroups, strides[0]),
    groupStrides(rhs, product.bGroups, strides[1]),
    epilogue.bias,
    epilogue.relu,
  );
}

const sameNumbers = (x: readonly number[], y: readonly number[]): boolean =>
  x.length === y.length && x.every((v, i) => v === y[i]);

/**
 * One place that runs products again and again (a compiled program's product step, called per
 * loop step): it keeps the sizes of its last operand shapes and the kernel of its last operand
 * layout, so that a call with the same ones skips planning the product and looking up its kernel.
 */
export class ProductSite {
  private shapes?: [readonly number[], readonly number[], string, boolean];
  private planned: ProductShape | undefined;
  private strides?: [readonly number[], readonly number[], number, boolean];
  private compiled?: CompiledMatmul;

  /** `productOf`, remembered while the operand shapes and dtype stay the same. */
  product(
    lhs: ConcreteArray,
    rhs: ConcreteArray,
    params: DotGeneralParams,
    bias: boolean,
  ): ProductShape | undefined {
    const last = this.shapes;
    if (
      last === undefined ||
      last[2] !== lhs.dtype + rhs.dtype ||
      last[3] !== bias ||
      !sameNumbers(last[0], lhs.shape) ||
      !sameNumbers(last[1], rhs.shape)
    ) {
      this.planned = productOf(lhs, rhs, params, bias);
      this.shapes = [lhs.shape, rhs.shape, lhs.dtype + rhs.dtype, bias];
      this.strides = undefined; // the kernel was for other sizes
    }
    return this.planned;
  }

  /** The kernel of the last call, if it had these operand strides and thread count. */
  kernel(a: readonly number[], b: readonly number[], threads: number): CompiledMatmul | undefined {
    const last = this.strides;
    return last !== undefined &&
      last[2] === threads &&
      last[3] === useFusedMultiplyAdd() &&
      sameNumbers(last[0], a) &&
      sameNumbers(last[1], b)
      ? this.compiled
      : undefined;
  }

  remember(a: number[], b: number[], threads: number, kernel: CompiledMatmul): void {
    this.strides = [a, b, threads, useFusedMultiplyAdd()];
    this.compiled = kernel;
  }
}

/**
 * `dot_general` on the WebAssembly kernels, with an optional epilogue (bias, relu) applied
 * before each element is stored; rounding is that of the separate operations (the bias add and
 * the max are single IEEE operations on the float result). `undefined` when the kernels do not
 * take the case (integer dtypes, small products, or a bias the layout cannot add per column).
 * Operands living in kernel memory are read where they are; with `output` (a byte address in
 * kernel memory, from a compiled call's arena) the result is written there and returned as a
 * view of it, else copied out. A `site` remembers the plan and kernel between calls.
 */
export function matmulWithEpilogue(
  lhs: ConcreteArray,
  rhs: ConcreteArray,
  params: DotGeneralParams,
  shape: readonly number[],
  epilogue: MatmulEpilogue = {},
  output?: number,
  site?: ProductSite,
): ConcreteArray | undefined {
  const bias = epilogue.bias;
  const product =
    site === undefined
      ? productOf(lhs, rhs, params, bias !== undefined)
      : site.product(lhs, rhs, params, bias !== undefined);
  if (product === undefined) return undefined;
  const { dtype, batch, m, n, k } = product;
  // A bias runs along C's columns: it must be as long as they are, of C's dtype.
  if (bias !== undefined && (bias.dtype !== dtype || bias.size !== n)) return undefined;
  const a = operand(lhs, product.aGroups);
  const b = operand(rhs, product.bGroups);
  const itemBytes = dtype === "float32" ? 4 : 8;
  const outCount = batch * m * n;
  const threads = batch * m * n * k >= minimumParallelWork ? threadCount() : 1;
  if (threads > 1) wakeWorkers();
  const relu = epilogue.relu === true;
  let kernel = site?.kernel(a.strides, b.strides, threads);
  if (kernel === undefined) {
    kernel = matmulKernel(specOf(product, a.strides, b.strides, bias !== undefined, relu), threads);
    site?.remember(a.strides, b.strides, threads, kernel);
  }
  const { offsets, total } = layout([
    a.bytes,
    b.bytes,
    output === undefined ? outCount * itemBytes : 0,
    bias === undefined ? 0 : n * itemBytes,
    ...kernel.scratchBytes,
  ]);
  reserve(total);
  const aAt = a.address ?? offsets[0]! + a.first * itemBytes;
  const bAt = b.address ?? offsets[1]! + b.first * itemBytes;
  const cAt = output ?? offsets[2]!;
  if (a.data !== undefined) copyIn(a.data, offsets[0]!);
  if (b.data !== undefined) copyIn(b.data, offsets[1]!);
  if (bias !== undefined) copyIn(bias.contiguousData(), offsets[3]!);
  const calls = kernel.parts.map((part, i) => ({
    name: `part${i}`,
    args: [
      aAt + part.a * itemBytes,
      bAt + part.b * itemBytes,
      cAt + part.c * itemBytes,
      offsets[4 + i]!,
      ...(bias === undefined ? [] : [offsets[3]! + part.bias * itemBytes]),
    ],
  }));
  runKernelParallel("dot_general", kernel.module, calls);
  const out =
    output === undefined ? copyOut(dtype, cAt, outCount) : memoryView(dtype, cAt, outCount);
  const weak = lhs.weakType && rhs.weakType && (bias === undefined || bias.weakType);
  return fromStorage(out, shape, dtype, weak);
}

installFastDot((lhs, rhs, params, shape) => matmulWithEpilogue(lhs, rhs, params, shape));

/**
 * `dot_general` on the WebAssembly SIMD matmul kernels: eager and compiled calls both come here
 * (through the primitive's impl), so they agree. Operand layouts (transposes, batch axes) become
 * strides the kernel's packing reads, so a transposed operand costs no extra copy.
 */
import type { DotGeneralParams } from "../primitives/dot.js";
import { installFastDot } from "../primitives/dot.js";
import { emitMatmul, matmulScratchBytes, type MatmulSpec } from "../compiler/kernels/matmul.js";
import { ModuleBuilder } from "../compiler/wasm/module.js";
import { contiguousStrides } from "../core/shape.js";
import { fromStorage, view, type ConcreteArray } from "./concrete.js";
import { copyIn, copyOut, instantiateKernel, layout, reserve, runKernel } from "./wasm-memory.js";

/** Below this many multiply-adds the plain loop wins (no kernel to build, nothing to copy). */
const minimumWork = 32 * 1024;

type Kernel = (a: number, b: number, c: number, scratch: number) => void;
const kernels = new Map<string, Kernel>();

function kernelFor(spec: MatmulSpec): Kernel {
  const key = JSON.stringify(spec);
  let kernel = kernels.get(key);
  if (kernel === undefined) {
    const module = new ModuleBuilder();
    module.importMemory({ minPages: 1 });
    emitMatmul(module, "matmul", spec);
    kernel = instantiateKernel(module.build({ names: false })).matmul as Kernel;
    kernels.set(key, kernel);
  }
  return kernel;
}

/** One stride for a group of axes, when they are consecutive and ascending in a row-major layout. */
function groupStride(axes: readonly number[], strides: readonly number[]): number | undefined {
  if (axes.length === 0) return 0;
  for (let i = 1; i < axes.length; i++) if (axes[i] !== axes[i - 1]! + 1) return undefined;
  return strides[axes[axes.length - 1]!]!;
}

const sizeOf = (x: ConcreteArray, axes: readonly number[]): number =>
  axes.reduce((n, a) => n * x.shape[a]!, 1);

function freeAxes(ndim: number, used: readonly number[]): number[] {
  return Array.from({ length: ndim }, (_, i) => i).filter((i) => !used.includes(i));
}

/**
 * Contiguous data of `x` and the strides of three axis groups in it; when a group cannot be one
 * stride, the data is first permuted into group order.
 */
function operand(
  x: ConcreteArray,
  groups: readonly (readonly number[])[],
): { data: ConcreteArray["data"]; strides: number[] } {
  const rowMajor = contiguousStrides(x.shape);
  const strides = groups.map((g) => groupStride(g, rowMajor));
  if (strides.every((s) => s !== undefined))
    return { data: x.contiguousData(), strides: strides as number[] };
  const perm = groups.flat();
  const permuted = view(
    x,
    perm.map((p) => x.shape[p]!),
    perm.map((p) => x.strides[p]!),
    x.offset,
  );
  const sizes = groups.map((g) => sizeOf(x, g));
  return { data: permuted.toTypedArray(), strides: [sizes[1]! * sizes[2]!, sizes[2]!, 1] };
}

function fastDot(
  lhs: ConcreteArray,
  rhs: ConcreteArray,
  params: DotGeneralParams,
  shape: readonly number[],
): ConcreteArray | undefined {
  const dtype = lhs.dtype;
  if ((dtype !== "float32" && dtype !== "float64") || rhs.dtype !== dtype) return undefined;
  const [lc, rc] = params.contracting;
  const [lb, rb] = params.batch;
  const lf = freeAxes(lhs.ndim, [...lc, ...lb]);
  const rf = freeAxes(rhs.ndim, [...rc, ...rb]);
  const batch = sizeOf(lhs, lb);
  const m = sizeOf(lhs, lf);
  const k = sizeOf(lhs, lc);
  const n = sizeOf(rhs, rf);
  if (batch * m * n * k < minimumWork) return undefined;
  const a = operand(lhs, [lb, lf, lc]);
  const b = operand(rhs, [rb, rc, rf]);
  const spec: MatmulSpec = {
    dtype,
    batch,
    m,
    n,
    k,
    a: { batchStride: a.strides[0]!, rowStride: a.strides[1]!, colStride: a.strides[2]! },
    b: { batchStride: b.strides[0]!, rowStride: b.strides[1]!, colStride: b.strides[2]! },
  };
  const itemBytes = dtype === "float32" ? 4 : 8;
  const outCount = batch * m * n;
  const { offsets, total } = layout([
    a.data.byteLength,
    b.data.byteLength,
    outCount * itemBytes,
    matmulScratchBytes(spec),
  ]);
  const kernel = kernelFor(spec);
  reserve(total);
  copyIn(a.data, offsets[0]!);
  copyIn(b.data, offsets[1]!);
  runKernel("dot_general", () => kernel(offsets[0]!, offsets[1]!, offsets[2]!, offsets[3]!));
  const out = copyOut(dtype, offsets[2]!, outCount);
  return fromStorage(out, shape, dtype, lhs.weakType && rhs.weakType);
}

installFastDot(fastDot);

/**
 * The linear memory WebAssembly kernels run in. One memory serves every kernel; a call copies its
 * operands in, runs, and copies its results out. Arrays stay GC-managed JavaScript typed arrays.
 */
import { allocate, type DType, type TypedArray } from "../core/dtype.js";
import { FluxionError } from "../core/errors.js";
import { WebAssembly, type WasmImports, type WasmMemory } from "./webassembly.js";

const pageBytes = 65536;

let memory: WasmMemory | undefined;

/** The shared memory, created on first use. */
export function kernelMemory(): WasmMemory {
  memory ??= new WebAssembly.Memory({ initial: 16 });
  return memory;
}

/** Grows the memory to at least `bytes`. Views of the old buffer are invalid afterwards. */
export function reserve(bytes: number): void {
  const m = kernelMemory();
  const missing = bytes - m.buffer.byteLength;
  if (missing > 0) m.grow(Math.ceil(missing / pageBytes));
}

/** Rounds `bytes` up to a multiple of 16 (SIMD alignment; kernels may read a whole last vector). */
export const align16 = (bytes: number): number => Math.ceil(bytes / 16) * 16;

/** Byte offsets for a list of blocks laid out one after another, 16-byte aligned. */
export function layout(sizes: readonly number[]): { offsets: number[]; total: number } {
  const offsets: number[] = [];
  let total = 0;
  for (const size of sizes) {
    offsets.push(total);
    total += align16(size);
  }
  return { offsets, total };
}

/** Copies `data` into the memory at byte `offset`. */
export function copyIn(data: TypedArray, offset: number): void {
  new Uint8Array(kernelMemory().buffer, offset, data.byteLength).set(
    new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  );
}

/** A fresh array of `length` elements of `dtype`, copied from byte `offset`. */
export function copyOut(dtype: DType, offset: number, length: number): TypedArray {
  const out = allocate(dtype, length);
  new Uint8Array(out.buffer).set(new Uint8Array(kernelMemory().buffer, offset, out.byteLength));
  return out;
}

/** Copies `target.length` elements from byte `offset` into `target`; returns it. */
export function copyOutInto<T extends TypedArray>(target: T, offset: number): T {
  new Uint8Array(target.buffer, target.byteOffset, target.byteLength).set(
    new Uint8Array(kernelMemory().buffer, offset, target.byteLength),
  );
  return target;
}

/**
 * Runs a kernel; a WebAssembly trap (which memory planning should make impossible) becomes a
 * `FluxionError` naming the operation instead of an engine error.
 */
export function runKernel(operation: string, run: () => void): void {
  try {
    run();
  } catch (error) {
    if (error instanceof WebAssembly.RuntimeError) {
      throw new FluxionError(
        operation,
        `the compiled WebAssembly kernel stopped with "${error.message}". This is a bug in fluxion; please report it with the shapes involved.`,
      );
    }
    throw error;
  }
}

/** Compiles and instantiates module bytes against the shared memory; returns its exports. */
export function instantiateKernel(
  bytes: Uint8Array,
  extraImports: WasmImports = {},
): Record<string, unknown> {
  const module = new WebAssembly.Module(bytes);
  const instance = new WebAssembly.Instance(module, {
    ...extraImports,
    env: { ...(extraImports.env ?? {}), memory: kernelMemory() },
  });
  return instance.exports;
}

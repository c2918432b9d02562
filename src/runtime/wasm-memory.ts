/**
 * The linear memory WebAssembly kernels run in. One memory serves every kernel; a call copies its
 * operands in, runs, and copies its results out. Arrays stay GC-managed JavaScript typed arrays.
 * Where worker threads exist (Node.js) the memory is a shared one, so that workers can run parts
 * of a kernel over the same bytes (`runParallel`).
 */
import { allocateUninitialized, type DType, type TypedArray } from "../core/dtype.js";
import { ModuleBuilder } from "../compiler/wasm/module.js";
import type { FunctionBuilder } from "../compiler/wasm/function-builder.js";
import { fromStorage, type ConcreteArray } from "./concrete.js";
import { copyStrided } from "./strided.js";
import {
  runParallel,
  threadsSupported,
  warmUpWorkers,
  type KernelCall,
  type KernelModule,
} from "./threads.js";
import { WebAssembly, type WasmMemory } from "./webassembly.js";
import { importKernelHostFunctions, kernelHostImports } from "./host-functions.js";

const pageBytes = 65536;
/** A shared memory must declare a maximum; this is the whole 32-bit address space. */
const maxPages = 65536;

let memory: WasmMemory | undefined;

/** The kernel memory, created on first use (when the worker threads start too). */
export function kernelMemory(): WasmMemory {
  if (memory === undefined) {
    memory = threadsSupported
      ? new WebAssembly.Memory({ initial: 16, maximum: maxPages, shared: true })
      : new WebAssembly.Memory({ initial: 16 });
    warmUpWorkers(memory);
  }
  return memory;
}

/**
 * A module builder whose memory import matches the kernel memory (shared where threads are),
 * with the host functions kernels may call (`kernelHostFunctions`) imported.
 */
export function kernelModuleBuilder(): ModuleBuilder {
  const module = new ModuleBuilder();
  importKernelHostFunctions(module);
  module.importMemory(threadsSupported ? { minPages: 1, maxPages, shared: true } : { minPages: 1 });
  return module;
}

/**
 * Adds an exported function of i32 parameters named `names` (byte addresses, counts, strides)
 * to `module`; returns it and each parameter's local index by name.
 */
export function addI32Function<const N extends string>(
  module: ModuleBuilder,
  name: string,
  names: readonly N[],
  comment: string,
): { f: FunctionBuilder; p: Record<N, number> } {
  const f = module.addFunction(name, {
    params: names.map(() => "i32" as const),
    paramNames: [...names],
    export: true,
    comment,
  });
  const p = Object.fromEntries(names.map((n, i) => [n, i])) as Record<N, number>;
  return { f, p };
}

/** Grows the memory to at least `bytes`. Views of the old buffer are invalid afterwards. */
export function reserve(bytes: number): void {
  const m = kernelMemory();
  const missing = bytes - m.buffer.byteLength;
  if (missing > 0) m.grow(Math.ceil(missing / pageBytes));
}

/** Rounds `bytes` up to a multiple of 16 (SIMD alignment; kernels may read a whole last vector). */
export const align16 = (bytes: number): number => Math.ceil(bytes / 16) * 16;

/**
 * Where scratch space starts: below it lie the arenas of compiled calls in progress (their
 * intermediate arrays, which must survive from one kernel to the next); a kernel's operands and
 * temporaries go above it.
 */
let scratchBase = 0;

/**
 * Byte offsets for a list of blocks laid out one after another in scratch space, 16-byte
 * aligned; `total` is the address just past the last (what to `reserve`).
 */
export function layout(sizes: readonly number[]): { offsets: number[]; total: number } {
  const offsets: number[] = [];
  let total = scratchBase;
  for (const size of sizes) {
    offsets.push(total);
    total += align16(size);
  }
  return { offsets, total };
}

/**
 * Whether arrays may live in kernel memory between kernels (a compiled call's arena). Only where
 * the memory is shared: its growth then leaves earlier views valid, where an unshared memory's
 * growth would detach them.
 */
let arenas = threadsSupported;

/** Whether programs compiled now keep kernel results in an arena. */
export function arenasEnabled(): boolean {
  return arenas;
}

/**
 * Turns arenas off (or back on where supported) for programs compiled afterwards: tests run the
 * path of runtimes without shared memory with it. @internal
 */
export function setArenasEnabled(on: boolean): void {
  arenas = on && threadsSupported;
}

/**
 * Holds `bytes` of kernel memory for a compiled call's arena: returns its start; scratch space
 * moves above it until `releaseArena(start)`. Calls nest (a loop body's arena above the loop's).
 */
export function holdArena(bytes: number): number {
  const start = scratchBase;
  scratchBase = start + align16(bytes);
  reserve(scratchBase);
  return start;
}

/** Gives back an arena (and every arena held after it). */
export function releaseArena(start: number): void {
  scratchBase = start;
}

/** Buffers of the kernel memory handed out as views (it changes when a shared memory grows). */
const memoryBuffers = new WeakSet<object>();

/**
 * The byte address of `x`'s first element when `x` is a contiguous array living in kernel
 * memory (in an arena), so a kernel can read it where it is.
 */
export function residentAddress(x: ConcreteArray): number | undefined {
  if (!memoryBuffers.has(x.data.buffer) || !x.isContiguous) return undefined;
  return x.data.byteOffset + x.offset * x.data.BYTES_PER_ELEMENT;
}

/** Whether `x`'s storage lies in kernel memory. */
export function isResident(x: ConcreteArray): boolean {
  return memoryBuffers.has(x.data.buffer);
}

/** A copy of `x` (an arena array, or a view of one) in storage of its own, row-major. */
export function ownedCopy(x: ConcreteArray): ConcreteArray {
  const address = residentAddress(x);
  const data = address === undefined ? x.toTypedArray() : copyOut(x.dtype, address, x.size);
  return fromStorage(data, x.shape, x.dtype, x.weakType);
}

/** Copies `data` into the memory at byte `offset`. */
export function copyIn(data: TypedArray, offset: number): void {
  new Uint8Array(kernelMemory().buffer, offset, data.byteLength).set(
    new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  );
}

/** A typed view of `length` elements of `dtype` at byte `offset` (valid until memory grows). */
export function memoryView(dtype: DType, offset: number, length: number): TypedArray {
  const buffer = kernelMemory().buffer;
  memoryBuffers.add(buffer);
  switch (dtype) {
    case "float32":
      return new Float32Array(buffer, offset, length);
    case "float64":
      return new Float64Array(buffer, offset, length);
    case "int32":
      return new Int32Array(buffer, offset, length);
    case "uint32":
      return new Uint32Array(buffer, offset, length);
    case "bool":
      return new Uint8Array(buffer, offset, length);
  }
}

/**
 * Copies `x`'s elements in row-major order into the memory at byte `offset`: a view's strided
 * elements go straight there (no contiguous copy first).
 */
export function copyArrayIn(x: ConcreteArray, offset: number): void {
  if (x.isContiguous) copyIn(x.contiguousData(), offset);
  else copyStrided(x.shape, x.operand, memoryView(x.dtype, offset, x.size));
}

/** A fresh array of `length` elements of `dtype`, copied from byte `offset`. */
export function copyOut(dtype: DType, offset: number, length: number): TypedArray {
  const out = allocateUninitialized(dtype, length);
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

let nextModuleId = 0;

/** Compiles and instantiates module bytes against the kernel memory. */
export function compileKernel(bytes: Uint8Array): KernelModule {
  const module = new WebAssembly.Module(bytes);
  const instance = new WebAssembly.Instance(module, {
    env: { memory: kernelMemory() },
    ...kernelHostImports,
  });
  return {
    exports: instance.exports,
    module,
    id: nextModuleId++,
    exportNames: WebAssembly.Module.exports(module).map((e) => e.name),
  };
}

/**
 * Runs calls of exported functions of `kernel` in parallel (see `runParallel`); they must write
 * disjoint parts of the memory.
 */
export function runKernelParallel(
  operation: string,
  kernel: KernelModule,
  calls: readonly KernelCall[],
): void {
  runParallel(operation, kernel, calls, kernelMemory());
}

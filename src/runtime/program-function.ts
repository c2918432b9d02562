/**
 * Programs whose arrays are small run as one generated JavaScript function
 * (`compiler/codegen/js-program.ts`) instead of through the executor: per call there is no step
 * dispatch, no environment, no array object per operation, and loops are JavaScript loops.
 * This file decides which programs qualify and instantiates the function.
 */
import type { AbstractValue } from "../core/aval.js";
import type { NDArray } from "../core/array.js";
import type { Equation, Program } from "../core/ir.js";
import { generateJsProgram, type JsProgramContext } from "../compiler/codegen/js-program.js";
import { asConcrete, fromStorage, scalar } from "./concrete.js";
import { useFusedMultiplyAdd } from "./config.js";
import { vectorisedKernel } from "./unary-kernels.js";
import { kernelMemory, layout, reserve } from "./wasm-memory.js";
import type { Executable } from "./executor.js";

/** Values of at most this many elements are held in local variables, one per element. */
export const elementsLimit = 16;

/**
 * Programs with loops qualify when no value (in any loop body or branch) has more elements than
 * this: larger arrays are better served by the executor's fused WebAssembly kernels and threads.
 * Programs without loops pay the executor's dispatch once per kernel, not per step: they qualify
 * only while every value is shorter than the loops the executor compiles to WebAssembly.
 */
export const wholeFunctionLimit = 16384;

export interface WholeFunctionOptions {
  optimize: (program: Program) => Program;
  /** Straight-line programs (no `while` or `scan`) qualify only below this many elements. */
  straightLineLimit: number;
  /** A scan that runs as one WebAssembly loop keeps that form (the program does not qualify). */
  ownLoop: (eq: Equation) => boolean;
}

/** Whether every value of `program` (and of its loop bodies and branches) is small enough. */
export function qualifies(program: Program, options: WholeFunctionOptions): boolean {
  const largest = { size: 0, loops: false };
  return (
    fits(program, options, largest) && (largest.loops || largest.size < options.straightLineLimit)
  );
}

function fits(
  program: Program,
  options: WholeFunctionOptions,
  largest: { size: number; loops: boolean },
): boolean {
  const small = (a: { aval: AbstractValue }): boolean => {
    largest.size = Math.max(largest.size, a.aval.size);
    return a.aval.size <= wholeFunctionLimit;
  };
  if (![...program.constvars, ...program.invars].every(small)) return false;
  for (const eq of program.equations) {
    if (!eq.outputs.every(small)) return false;
    const name = eq.primitive.name;
    const params = eq.params as {
      cond?: Program;
      body?: Program;
      branches?: readonly Program[];
    };
    if (name === "scan" && options.ownLoop(eq)) return false;
    if (name === "scan" || name === "while") largest.loops = true;
    const subs =
      name === "while"
        ? [params.cond!, params.body!]
        : name === "scan"
          ? [params.body!]
          : name === "cond"
            ? params.branches!
            : [];
    if (!subs.every((p) => fits(options.optimize(p), options, largest))) return false;
  }
  return true;
}

export interface WholeFunction {
  run: Executable;
  /** The generated source (the factory that makes the function), with comments. */
  source: () => string;
  /** Bytes of the typed arrays allocated once for it. */
  pooledBytes: number;
}

/** Generates and instantiates the whole-program function; `undefined` when it is too long. */
export function compileWholeFunction(
  program: Program,
  context: Omit<JsProgramContext, "runtime" | "elementsLimit">,
): WholeFunction | undefined {
  const wrappers = new Map<string, (data: ArrayLike<number>) => NDArray>();
  const code = generateJsProgram(program, {
    ...context,
    elementsLimit,
    runtime: {
      contiguous: (x) => asConcrete(x).contiguousData(),
      wrapper: (aval) => {
        const key = `${aval.toString()} ${aval.weakType}`;
        let wrap = wrappers.get(key);
        if (wrap === undefined) {
          const { shape, dtype, weakType } = aval;
          wrap = (data) => fromStorage(data as never, shape, dtype, weakType);
          wrappers.set(key, wrap);
        }
        return wrap;
      },
      scalar: (value, aval) => scalar(value, aval.dtype, aval.weakType),
      elementsOf: (x) => asConcrete(x).toTypedArray(),
      vectorised,
    },
  });
  if (code === undefined) return undefined;
  const factory = new Function(`return ${code.source}`)() as (
    ...values: unknown[]
  ) => (args: readonly NDArray[]) => NDArray[];
  const run = factory(...code.values);
  return { run, source: code.commented, pooledBytes: code.pooledBytes };
}

type FloatArray = Float32Array<ArrayBufferLike> | Float64Array<ArrayBufferLike>;
const vectorisedKernels = new Map<string, (source: FloatArray, target: FloatArray) => void>();

/**
 * A float function on the vectorised kernel eager execution runs it on
 * (`runtime/unary-kernels.ts`), called directly on the kernel memory: no array objects, one copy
 * in and one out.
 */
function vectorised(
  name: string,
  dtype: "float32" | "float64",
): (source: FloatArray, target: FloatArray) => void {
  const fusedMultiplyAdd = useFusedMultiplyAdd();
  const key = `${name}:${dtype}${fusedMultiplyAdd ? ":fma" : ""}`;
  let run = vectorisedKernels.get(key);
  if (run !== undefined) return run;
  const kernel = vectorisedKernel(name, dtype, fusedMultiplyAdd)!;
  const call = kernel.exports.kernel as (input: number, output: number, bytes: number) => void;
  const view = (buffer: ArrayBufferLike): FloatArray =>
    dtype === "float32" ? new Float32Array(buffer) : new Float64Array(buffer);
  const item = dtype === "float32" ? 4 : 8;
  let heap = view(new ArrayBuffer(0));
  run = (source, target) => {
    const bytes = source.length * item;
    const {
      offsets: [input, output],
      total,
    } = layout([bytes, bytes]);
    reserve(total);
    const buffer = kernelMemory().buffer;
    if (heap.buffer !== buffer) heap = view(buffer);
    heap.set(source, input! / item);
    call(input!, output!, bytes);
    target.set(heap.subarray(output! / item, output! / item + source.length));
  };
  vectorisedKernels.set(key, run);
  return run;
}

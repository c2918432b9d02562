/**
 * Eager transcendental functions (exp, log, tanh, sin, cos, atan, … in float32 and float64) on the same vectorised WebAssembly code that compiled kernels inline, so eager and
 * compiled results are identical;
 * and, for float32 and float64, the functions that are one exactly rounded instruction (abs,
 * sqrt, floor, ceil, round half to even), which equal the scalar loop bit for bit.
 */
import { vectorMath } from "../compiler/codegen/wasm-fused.js";
import { ScratchLocals, type SimdUnary } from "../compiler/kernels/simd-math.js";
import type { OpName } from "../compiler/wasm/function-builder.js";
import { emitVectorLoop } from "../compiler/kernels/vector-loop.js";
import { installFastUnary } from "../primitives/unary.js";
import { fromStorage, type ConcreteArray } from "./concrete.js";
import { useFusedMultiplyAdd } from "./config.js";
import { partsWaking, splitRange, type KernelModule } from "./threads.js";
import { placeArrayIn } from "./gather-kernels.js";
import {
  compileKernel,
  copyOut,
  kernelModuleBuilder,
  layout,
  reserve,
  runKernelParallel,
} from "./wasm-memory.js";

const kernels = new Map<string, KernelModule>();

/** Arrays at least this long are split over the threads. */
const minimumParallelElements = 32 * 1024;

/**
 * Functions that are one exactly rounded vector instruction (the same result as the scalar loop's
 * `Math` call, rounded to the dtype): float32 and float64.
 */
const exactOperations: Record<string, string> = {
  abs: "abs",
  sqrt: "sqrt",
  floor: "floor",
  ceil: "ceil",
  round: "nearest",
};
/** Arrays shorter than this keep the loop for the exact operations (no copies). */
const minimumExactElements = 4096;

/**
 * A module exporting `kernel(in, out, bytes)`: the function applied a vector at a time (four
 * float32 or two float64 lanes, each on its own, so results do not depend on the length or on
 * threads). Compiled programs call the same module, so eager and compiled results are
 * identical. `fusedMultiplyAdd` (the runtime setting unless told) picks the math functions'
 * variants.
 */
export function vectorisedKernel(
  name: string,
  dtype: "float32" | "float64" = "float32",
  fusedMultiplyAdd = useFusedMultiplyAdd(),
): KernelModule | undefined {
  const lanes = dtype === "float32" ? "f32x4" : "f64x2";
  const instruction = exactOperations[name];
  const body: SimdUnary | undefined =
    instruction !== undefined
      ? (f) => void f.op(`${lanes}.${instruction}` as OpName)
      : vectorMath(name, dtype);
  if (body === undefined) return undefined;
  const key = `${name}:${dtype}${fusedMultiplyAdd ? ":fma" : ""}`;
  let kernel = kernels.get(key);
  if (kernel === undefined) {
    const module = kernelModuleBuilder();
    const f = module.addFunction("kernel", {
      params: ["i32", "i32", "i32"],
      results: [],
      export: true,
    });
    const scratch = new ScratchLocals(f);
    const offset = f.addLocal("i32");
    emitVectorLoop(f, {
      offset,
      end: () => f.localGet(2),
      body: (at) => {
        f.localGet(1).localGet(offset).i32Add();
        f.localGet(0).localGet(offset).i32Add();
        f.memoryOp("v128.load", at, 16);
        body(f, scratch, { fusedMultiplyAdd });
        f.memoryOp("v128.store", at, 16);
      },
      unroll: 2,
    });
    kernel = compileKernel(module.build({ names: false }));
    kernels.set(key, kernel);
  }
  return kernel;
}

function fastUnary(name: string, x: ConcreteArray): ConcreteArray | undefined {
  const dtype = x.dtype;
  if (dtype !== "float32" && dtype !== "float64") return undefined;
  // The exact operations only pay for the copies on long arrays.
  if (exactOperations[name] !== undefined && x.size < minimumExactElements) return undefined;
  const kernel = vectorisedKernel(name, dtype);
  if (kernel === undefined) return undefined;
  const item = dtype === "float32" ? 4 : 8;
  const bytes = x.size * item;
  const { offsets, total } = layout([bytes, bytes]);
  reserve(total);
  const parts = partsWaking(x.size, minimumParallelElements);
  const src = placeArrayIn(x, offsets[0]!, total);
  // Each part a whole number of vectors, so that no two write the same 16 bytes.
  const calls = splitRange(x.size, parts, 16 / item).map(([start, length]) => ({
    name: "kernel",
    args: [src + item * start, offsets[1]! + item * start, item * length],
  }));
  runKernelParallel(name, kernel, calls);
  return fromStorage(copyOut(dtype, offsets[1]!, x.size), x.shape, dtype, x.weakType);
}

installFastUnary(fastUnary);

/**
 * Eager float32 transcendental functions (exp, log, tanh, sin, …) on the same vectorised
 * WebAssembly code that compiled kernels inline, so eager and compiled results are identical.
 */
import { simdUnary } from "../compiler/codegen/wasm-fused.js";
import { ScratchLocals } from "../compiler/kernels/simd-math.js";
import { emitVectorLoop } from "../compiler/kernels/vector-loop.js";
import { installFastUnary } from "../primitives/unary.js";
import { fromStorage, type ConcreteArray } from "./concrete.js";
import { loopParts, splitRange, wakeWorkers, type KernelModule } from "./threads.js";
import {
  compileKernel,
  copyIn,
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
 * A module exporting `kernel(in, out, bytes)`: the function applied four lanes at a time (each
 * lane on its own, so results do not depend on the length or on threads). Compiled programs call
 * the same module, so eager and compiled results are identical.
 */
export function vectorisedKernel(name: string): KernelModule | undefined {
  const body = simdUnary[name];
  if (body === undefined) return undefined;
  let kernel = kernels.get(name);
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
        body(f, scratch);
        f.memoryOp("v128.store", at, 16);
      },
      unroll: 2,
    });
    kernel = compileKernel(module.build({ names: false }));
    kernels.set(name, kernel);
  }
  return kernel;
}

function fastUnary(name: string, x: ConcreteArray): ConcreteArray | undefined {
  if (x.dtype !== "float32") return undefined;
  const kernel = vectorisedKernel(name);
  if (kernel === undefined) return undefined;
  const bytes = x.size * 4;
  const { offsets, total } = layout([bytes, bytes]);
  reserve(total);
  const parts = loopParts(x.size, minimumParallelElements);
  if (parts > 1) wakeWorkers();
  copyIn(x.contiguousData(), offsets[0]!);
  // Each part a whole number of vectors, so that no two write the same 16 bytes.
  const calls = splitRange(x.size, parts, 4).map(([start, length]) => ({
    name: "kernel",
    args: [offsets[0]! + 4 * start, offsets[1]! + 4 * start, 4 * length],
  }));
  runKernelParallel(name, kernel, calls);
  return fromStorage(copyOut("float32", offsets[1]!, x.size), x.shape, "float32", x.weakType);
}

installFastUnary(fastUnary);

/**
 * Eager float32 transcendental functions (exp, log, tanh, sin, …) on the same vectorised
 * WebAssembly code that compiled kernels inline, so eager and compiled results are identical.
 */
import { simdUnary } from "../compiler/codegen/wasm-fused.js";
import { ScratchLocals } from "../compiler/kernels/simd-math.js";
import { ModuleBuilder } from "../compiler/wasm/module.js";
import { installFastUnary } from "../primitives/unary.js";
import { fromStorage, type ConcreteArray } from "./concrete.js";
import { copyIn, copyOut, instantiateKernel, layout, reserve, runKernel } from "./wasm-memory.js";

type Kernel = (input: number, output: number, bytes: number) => void;
const kernels = new Map<string, Kernel>();

/** `kernel(in, out, bytes)`: the function applied four lanes at a time. */
function kernelFor(name: string): Kernel | undefined {
  const body = simdUnary[name];
  if (body === undefined) return undefined;
  let kernel = kernels.get(name);
  if (kernel === undefined) {
    const module = new ModuleBuilder();
    module.importMemory({ minPages: 1 });
    const f = module.addFunction("kernel", {
      params: ["i32", "i32", "i32"],
      results: [],
      export: true,
    });
    const scratch = new ScratchLocals(f);
    const offset = f.addLocal("i32");
    f.block((done) => {
      f.loop((next) => {
        f.localGet(offset).localGet(2).i32GeU().brIf(done);
        f.localGet(1).localGet(offset).i32Add();
        f.localGet(0).localGet(offset).i32Add();
        f.memoryOp("v128.load", 0, 16);
        body(f, scratch);
        f.memoryOp("v128.store", 0, 16);
        f.localGet(offset).i32Const(16).i32Add().localSet(offset).br(next);
      });
    });
    kernel = instantiateKernel(module.build({ names: false })).kernel as Kernel;
    kernels.set(name, kernel);
  }
  return kernel;
}

function fastUnary(name: string, x: ConcreteArray): ConcreteArray | undefined {
  if (x.dtype !== "float32") return undefined;
  const kernel = kernelFor(name);
  if (kernel === undefined) return undefined;
  const bytes = x.size * 4;
  const { offsets, total } = layout([bytes, bytes]);
  reserve(total);
  copyIn(x.contiguousData(), offsets[0]!);
  runKernel(name, () => kernel(offsets[0]!, offsets[1]!, bytes));
  return fromStorage(copyOut("float32", offsets[1]!, x.size), x.shape, "float32", x.weakType);
}

installFastUnary(fastUnary);

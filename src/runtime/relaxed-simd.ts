/**
 * Fused multiply-add in kernels, through WebAssembly's relaxed SIMD instructions
 * (`f32x4.relaxed_madd`, `f64x2.relaxed_madd`: `a·b + c` with one rounding or two, whichever the
 * hardware does; V8 emits one FMA instruction on x86-64 with FMA3 and on arm64).
 *
 * Engines that ship relaxed SIMD (V8 ≥ 11.4: Node.js ≥ 21, Chrome ≥ 114) validate the probe
 * module as they are. Node.js 20's V8 (11.3) has the same instructions complete behind
 * `--experimental-wasm-relaxed-simd`; where the probe fails under Node.js, that flag is switched
 * on (a process-wide V8 setting read when a module is compiled) and the probe tried again.
 * Elsewhere kernels keep a separate multiply and add.
 */
import { ModuleBuilder } from "../compiler/wasm/module.js";
import { WebAssembly } from "./webassembly.js";

interface NodeV8 {
  setFlagsFromString(flags: string): void;
}

/** A module with one function that uses `f32x4.relaxed_madd` and `f64x2.relaxed_madd`. */
function probeModule(): Uint8Array {
  const module = new ModuleBuilder();
  const f = module.addFunction("probe", { params: ["v128", "v128", "v128"], results: ["v128"] });
  f.localGet(0).localGet(1).localGet(2).f32x4RelaxedMadd();
  f.localGet(1).localGet(2).f64x2RelaxedMadd(); // madd(that, y, z)
  return module.build();
}

function detect(): boolean {
  const probe = probeModule();
  if (WebAssembly.validate(probe)) return true;
  const process = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } })
    .process;
  const v8 = process?.getBuiltinModule?.("node:v8") as NodeV8 | undefined;
  if (v8 === undefined) return false;
  v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
  return WebAssembly.validate(probe);
}

let supported: boolean | undefined;

/** Whether this engine compiles `relaxed_madd` (probed once, on first use). */
export function relaxedSimdSupported(): boolean {
  supported ??= detect();
  return supported;
}

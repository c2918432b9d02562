/**
 * The JavaScript functions WebAssembly kernels may call: `Math.sin` and `Math.cos` under the
 * import module `math`, which the float64 sin and cos kernels call for the rare lanes their vector
 * reduction does not cover (|x| ≥ 2^20·π/2, infinities, NaN). Every kernel module imports them
 * (`kernelModuleBuilder`), and every instance, on the main thread or a worker, is given them.
 */
import type { ModuleBuilder } from "../compiler/wasm/module.js";

/** The imported host functions: module `math`, each `(f64) → f64`. */
export const kernelHostFunctions = ["sin", "cos"] as const;

/** The import object's part for the host functions (a worker builds the same from the names). */
export const kernelHostImports = {
  math: Object.fromEntries(kernelHostFunctions.map((name) => [name, Math[name]])),
};

/** Declares the host-function imports on `module` (before any function is added). */
export function importKernelHostFunctions(module: ModuleBuilder): void {
  for (const name of kernelHostFunctions) {
    module.importFunction("math", name, {
      params: ["f64"],
      results: ["f64"],
      name: `math_${name}`,
    });
  }
}

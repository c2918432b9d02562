/**
 * Runtime settings: `config()` reads and changes them.
 */
import { ValueError } from "../core/errors.js";
import { relaxedSimdSupported } from "./relaxed-simd.js";
import { setThreadCount, threadCount, threadsSupported } from "./threads.js";

/** Runtime settings, as `config()` reads and changes them. */
export interface RuntimeConfig {
  /**
   * Threads that large kernels (matrix products, long elementwise loops) split their work over,
   * the calling thread included. Default: the machine's cores (at most 8) in Node.js; 1 where
   * worker threads or shared memory are unavailable (browsers without cross-origin isolation).
   * `1` runs everything on the calling thread.
   */
  threads: number;
  /**
   * Whether matrix products and convolutions accumulate with fused multiply-add (one rounding
   * per step instead of two: faster, and no less accurate), through WebAssembly relaxed SIMD;
   * float32 `tanh` then runs its fused variant too (eagerly and compiled alike).
   * Default: `true` where the engine has it (Node.js, Chrome ≥ 114); `false` keeps a separate
   * multiply and add, whose results match engines without it bit for bit.
   */
  fusedMultiplyAdd: boolean;
}

let fusedMultiplyAdd: boolean | undefined;

/** Whether kernels emitted now use fused multiply-add (see `RuntimeConfig.fusedMultiplyAdd`). */
export function useFusedMultiplyAdd(): boolean {
  fusedMultiplyAdd ??= relaxedSimdSupported();
  return fusedMultiplyAdd;
}

/**
 * Reads or changes runtime settings; returns the settings in force afterwards. A setting that
 * cannot be taken throws a `ValueError` and changes nothing.
 *
 * @example
 * const before = config().threads;
 * config({ threads: 1 }); // everything on the calling thread
 * console.log(config().threads); // 1
 * config({ threads: before });
 */
export function config(options: Partial<RuntimeConfig> = {}): RuntimeConfig {
  const { threads: requested, fusedMultiplyAdd: fma } = options;
  if (requested !== undefined) {
    if (!Number.isInteger(requested) || requested < 1) {
      throw new ValueError(
        "config",
        `threads must be a whole number ≥ 1, got ${String(requested)}.`,
      );
    }
    if (requested > 1 && !threadsSupported) {
      throw new ValueError(
        "config",
        `threads: ${requested} needs worker threads and SharedArrayBuffer, which this runtime lacks; use threads: 1.`,
      );
    }
  }
  if (fma !== undefined) {
    if (typeof fma !== "boolean") {
      throw new ValueError("config", `fusedMultiplyAdd must be true or false, got ${String(fma)}.`);
    }
    if (fma && !relaxedSimdSupported()) {
      throw new ValueError(
        "config",
        "fusedMultiplyAdd: true needs WebAssembly relaxed SIMD, which this engine lacks.",
      );
    }
  }
  if (requested !== undefined) setThreadCount(requested);
  if (fma !== undefined) fusedMultiplyAdd = fma;
  return { threads: threadCount(), fusedMultiplyAdd: useFusedMultiplyAdd() };
}

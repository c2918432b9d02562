/**
 * Worker threads for large kernels (Node.js only). Every kernel module is instantiated against the
 * one kernel memory, which is a shared WebAssembly memory in Node, so a worker runs an exported
 * function of the same module over the same bytes as the main thread would.
 *
 * Calls stay synchronous: the main thread hands each worker one call through a small shared
 * control block (Atomics.notify), runs the first call itself, then waits (Atomics.wait) until every
 * worker has finished. Modules reach a worker once, through a MessagePort it reads synchronously
 * (`receiveMessageOnPort`) when the main thread tells it to. Workers are unreferenced, so they
 * never keep a process alive.
 */
import { FluxionError, ValueError } from "../core/errors.js";
import { WebAssembly, type WasmMemory, type WasmModule } from "./webassembly.js";

interface WorkerThreadsModule {
  Worker: new (
    source: string,
    options: { eval: true; workerData: unknown; transferList: unknown[] },
  ) => { unref(): void; terminate(): Promise<number> };
  MessageChannel: new () => { port1: MessagePortLike; port2: MessagePortLike };
  receiveMessageOnPort(port: MessagePortLike): { message: unknown } | undefined;
}

interface MessagePortLike {
  postMessage(message: unknown): void;
  unref?(): void;
}

interface NodeProcess {
  versions?: { node?: string };
  getBuiltinModule?: (id: string) => unknown;
}

const nodeProcess = (globalThis as { process?: NodeProcess }).process;

/** `node:worker_threads` when this runtime has it (Node ≥ 20.16), loaded synchronously. */
const workerThreads = ((): WorkerThreadsModule | undefined => {
  if (nodeProcess?.versions?.node === undefined || typeof SharedArrayBuffer !== "function")
    return undefined;
  return nodeProcess.getBuiltinModule?.("node:worker_threads") as WorkerThreadsModule | undefined;
})();

/** Whether kernels can run on worker threads here (then the kernel memory is shared). */
export const threadsSupported = workerThreads !== undefined;

/** Cores this machine offers (1 where threads are unsupported). */
function availableCores(): number {
  if (!threadsSupported) return 1;
  const os = nodeProcess?.getBuiltinModule?.("node:os") as
    { availableParallelism?: () => number; cpus: () => unknown[] } | undefined;
  return os?.availableParallelism?.() ?? os?.cpus().length ?? 1;
}

/** Threads used by default: every core, up to 8. */
const defaultThreads = Math.max(1, Math.min(8, availableCores()));

let threads = defaultThreads;

/** How many threads large kernels use (the main thread included). */
export function threadCount(): number {
  return threads;
}

/** Runtime settings, as `config()` reads and changes them. */
export interface RuntimeConfig {
  /**
   * Threads that large kernels (matrix products, long elementwise loops) split their work over,
   * the calling thread included. Default: the machine's cores (at most 8) in Node.js; 1 where
   * worker threads or shared memory are unavailable (browsers without cross-origin isolation).
   * `1` runs everything on the calling thread.
   */
  threads: number;
}

/**
 * Reads or changes runtime settings; returns the settings in force afterwards.
 *
 * @example
 * const before = config().threads;
 * config({ threads: 1 }); // everything on the calling thread
 * console.log(config().threads); // 1
 * config({ threads: before });
 */
export function config(options: Partial<RuntimeConfig> = {}): RuntimeConfig {
  const requested = options.threads;
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
    threads = requested;
  }
  return { threads };
}

// ── the pool ───────────────────────────────────────────────────────────────────────────────

/** Control block layout (Int32 slots), then the call's arguments as float64 from byte 64. */
const enum Slot {
  /** Bumped by the main thread to post a job. */
  Posted = 0,
  /** Set by the worker to the job number it finished. */
  Done = 1,
  Kind = 2,
  ModuleId = 3,
  ExportIndex = 4,
  ArgumentCount = 5,
  /** 0: the call returned; 1: it threw (the message follows on the port). */
  Failed = 6,
}
const enum JobKind {
  Load = 1,
  Run = 2,
}
const argumentsOffset = 64;
/** How long a worker keeps polling for the next job before it sleeps (ms). */
const workerSpinMs = 2;
/** How long the main thread polls for a worker to finish before it sleeps (ms). */
const mainSpinMs = 1;
const maxArguments = 56;
const controlBytes = argumentsOffset + 8 * maxArguments;

/**
 * The worker's code (CommonJS, evaluated): wait for a job, load a module or run a call, report.
 * It waits in slices of a second so that nothing blocks a process that is shutting down.
 */
const workerSource = `
const { workerData, receiveMessageOnPort } = require("node:worker_threads");
const { control, memory, port } = workerData;
const slots = new Int32Array(control);
const args = new Float64Array(control, ${argumentsOffset}, ${maxArguments});
const modules = new Map();
let seen = 0;
let lastJob = performance.now();
for (;;) {
  if (Atomics.load(slots, ${Slot.Posted}) === seen) {
    // Spin a little after a job (the next one often follows at once: waking from a sleep
    // costs far more), then sleep.
    if (performance.now() - lastJob < ${workerSpinMs}) continue;
    Atomics.wait(slots, ${Slot.Posted}, seen, 1000);
    continue;
  }
  seen = Atomics.load(slots, ${Slot.Posted});
  slots[${Slot.Failed}] = 0;
  try {
    if (slots[${Slot.Kind}] === ${JobKind.Load}) {
      const { id, module } = receiveMessageOnPort(port).message;
      const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
      modules.set(id, WebAssembly.Module.exports(module).map((e) => exports[e.name]));
    } else {
      const fn = modules.get(slots[${Slot.ModuleId}])[slots[${Slot.ExportIndex}]];
      const n = slots[${Slot.ArgumentCount}];
      fn(...Array.from(args.subarray(0, n)));
    }
  } catch (error) {
    slots[${Slot.Failed}] = 1;
    port.postMessage(String(error && error.message || error));
  }
  Atomics.store(slots, ${Slot.Done}, seen);
  Atomics.notify(slots, ${Slot.Done});
  lastJob = performance.now();
}
`;

interface PoolWorker {
  slots: Int32Array;
  args: Float64Array;
  port: MessagePortLike;
  posted: number;
  /** Module ids this worker has instantiated. */
  loaded: Set<number>;
}

const pool: PoolWorker[] = [];

/** Starts workers until the pool has `count` (they boot in the background). */
function ensureWorkers(count: number, memory: WasmMemory): void {
  const wt = workerThreads;
  if (wt === undefined) return;
  while (pool.length < count) {
    const control = new SharedArrayBuffer(controlBytes);
    const { port1, port2 } = new wt.MessageChannel();
    const worker = new wt.Worker(workerSource, {
      eval: true,
      workerData: { control, memory, port: port2 },
      transferList: [port2],
    });
    worker.unref();
    port1.unref?.();
    pool.push({
      slots: new Int32Array(control),
      args: new Float64Array(control, argumentsOffset, maxArguments),
      port: port1,
      posted: 0,
      loaded: new Set(),
    });
  }
}

/** Starts the workers the current setting asks for, so that they are ready by the first call. */
export function warmUpWorkers(memory: WasmMemory): void {
  ensureWorkers(threads - 1, memory);
}

/** A compiled kernel module: its exports here, and what a worker needs to instantiate it. */
export interface KernelModule {
  readonly exports: Record<string, unknown>;
  readonly module: WasmModule;
  readonly id: number;
  /** Export names in the module's order (the index a worker looks them up by). */
  readonly exportNames: readonly string[];
}

function post(w: PoolWorker, kind: JobKind, fill: () => void): void {
  w.slots[Slot.Kind] = kind;
  fill();
  w.posted += 1;
  Atomics.store(w.slots, Slot.Posted, w.posted);
  Atomics.notify(w.slots, Slot.Posted);
}

/** Waits for `w`'s last job; returns the error message when it failed. */
function finish(
  w: PoolWorker,
  receive: WorkerThreadsModule["receiveMessageOnPort"],
): string | undefined {
  const spinUntil = performance.now() + mainSpinMs;
  for (;;) {
    const done = Atomics.load(w.slots, Slot.Done);
    if (done === w.posted) break;
    if (performance.now() < spinUntil) continue;
    Atomics.wait(w.slots, Slot.Done, done, 1000);
  }
  if (w.slots[Slot.Failed] === 0) return undefined;
  return String(receive(w.port)?.message ?? "unknown error");
}

/** One call of an exported kernel function. */
export interface KernelCall {
  readonly name: string;
  readonly args: readonly number[];
}

/**
 * Runs calls of exported functions of `kernel` in parallel: the first on this thread, the others
 * on workers (one each). The calls must write disjoint memory. A trap anywhere becomes a
 * `FluxionError` naming `operation`.
 */
export function runParallel(
  operation: string,
  kernel: KernelModule,
  calls: readonly KernelCall[],
  memory: WasmMemory,
): void {
  const wt = workerThreads;
  const run = ({ name, args }: KernelCall): void => {
    const fn = kernel.exports[name] as (...args: number[]) => void;
    trapToError(operation, () => fn(...args));
  };
  if (wt === undefined || calls.length <= 1) {
    calls.forEach(run);
    return;
  }
  ensureWorkers(calls.length - 1, memory);
  const workers = pool.slice(0, calls.length - 1);
  workers.forEach((w, i) => {
    if (!w.loaded.has(kernel.id)) {
      w.port.postMessage({ id: kernel.id, module: kernel.module });
      post(w, JobKind.Load, () => undefined);
      const failed = finish(w, wt.receiveMessageOnPort);
      if (failed !== undefined)
        throw new FluxionError(operation, `a worker thread could not load a kernel: ${failed}`);
      w.loaded.add(kernel.id);
    }
    const { name, args } = calls[i + 1]!;
    if (args.length > maxArguments)
      throw new Error(`runParallel: too many arguments (${args.length}).`);
    post(w, JobKind.Run, () => {
      w.slots[Slot.ModuleId] = kernel.id;
      w.slots[Slot.ExportIndex] = kernel.exportNames.indexOf(name);
      w.slots[Slot.ArgumentCount] = args.length;
      w.args.set(args);
    });
  });
  let mainError: unknown;
  try {
    run(calls[0]!);
  } catch (error) {
    mainError = error;
  }
  const failures = workers.map((w) => finish(w, wt.receiveMessageOnPort));
  if (mainError !== undefined) throw mainError;
  const failed = failures.find((f) => f !== undefined);
  if (failed !== undefined) throw kernelStopped(operation, failed);
}

function kernelStopped(operation: string, message: string): FluxionError {
  return new FluxionError(
    operation,
    `the compiled WebAssembly kernel stopped with "${message}". This is a bug in fluxion; please report it with the shapes involved.`,
  );
}

/**
 * Runs a kernel call; a WebAssembly trap (which memory planning should make impossible) becomes a
 * `FluxionError` naming the operation instead of an engine error.
 */
export function trapToError(operation: string, run: () => void): void {
  try {
    run();
  } catch (error) {
    if (error instanceof WebAssembly.RuntimeError) throw kernelStopped(operation, error.message);
    throw error;
  }
}

/**
 * Splits `count` elements into at most `parts` ranges, each (but the last) a multiple of
 * `multiple` elements: `[start, length]` pairs, none empty.
 */
export function splitRange(count: number, parts: number, multiple: number): [number, number][] {
  const size = Math.ceil(count / parts / multiple) * multiple;
  const ranges: [number, number][] = [];
  for (let start = 0; start < count; start += size) {
    ranges.push([start, Math.min(size, count - start)]);
  }
  return ranges;
}

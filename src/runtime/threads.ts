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
import { FluxionError } from "../core/errors.js";
import { WebAssembly, type WasmMemory, type WasmModule } from "./webassembly.js";
import { kernelHostFunctions } from "./host-functions.js";

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

/**
 * How many parts to cut a loop of `count` elements into: one below `minimum` elements or on one
 * thread; else a few per thread (so that a thread the system is slow to schedule holds up only
 * a small share), none shorter than a quarter of `minimum`.
 */
export function loopParts(count: number, minimum: number): number {
  if (threads <= 1 || count < minimum) return 1;
  return Math.max(1, Math.min(4 * threads, Math.floor((4 * count) / minimum)));
}

/**
 * `loopParts`, for a kernel about to run: when it will be split, sleeping workers are woken now,
 * so they are polling by the time the caller has placed its operands and posts the calls.
 */
export function partsWaking(count: number, minimum: number): number {
  const parts = loopParts(count, minimum);
  if (parts > 1) wakeWorkers();
  return parts;
}

/** Sets how many threads large kernels use (`config({ threads })` validates it first). */
export function setThreadCount(count: number): void {
  threads = count;
}

// ── the pool ───────────────────────────────────────────────────────────────────────────────
//
// One shared control block serves every worker. A job is a table of calls; each call has a
// state slot that whoever runs it claims with compareExchange (0 → 1), so every call runs once,
// whichever thread gets there first: the main thread claims calls too, and when a worker is slow
// to wake (a busy machine) the main thread simply runs its share. A worker that wakes late finds
// nothing left to claim, or claims calls of the next job, which the table then describes.

/** Int32 slots of the control block. */
const enum Slot {
  /** Bumped by the main thread to post a job (workers wait on it). */
  Job = 0,
  /** Calls in the current job. */
  Calls = 1,
  /** Calls finished (the main thread waits on it). */
  Finished = 2,
  /** Bit i set: worker i takes part in the current job (the pool may hold more). */
  Active = 3,
  /** Bit i set: worker i has started and waits for jobs. */
  Ready = 4,
  /** First call's state: 0 free, 1 running, 2 done, 3 failed. */
  States = 16,
}
const maxCalls = 64;
const maxArguments = 16;
/** Float64 slots per call in the table: module id, export index, argument count, arguments. */
const callStride = 3 + maxArguments;
const tableOffset = 4 * (Slot.States + maxCalls);
const controlBytes = tableOffset + 8 * callStride * maxCalls;
/** How long a worker keeps polling for the next job before it sleeps (ms). */
const workerSpinMs = 2;
/** How long the main thread polls for workers to finish before it sleeps (ms). */
const mainSpinMs = 0.5;

/**
 * The worker's code (CommonJS, evaluated): wait for a job, claim calls, run them, report.
 * Modules arrive on the port before the first job that uses them. It waits in slices of a
 * second so that nothing blocks a process that is shutting down.
 */
const workerSource = `
const { workerData, receiveMessageOnPort } = require("node:worker_threads");
const { control, memory, port, index } = workerData;
const slots = new Int32Array(control);
const table = new Float64Array(control, ${tableOffset});
const modules = new Map();
const math = Object.fromEntries(${JSON.stringify(kernelHostFunctions)}.map((name) => [name, Math[name]]));
function exportsOf(id) {
  while (!modules.has(id)) {
    const { module, id: loaded } = receiveMessageOnPort(port).message;
    const exports = new WebAssembly.Instance(module, { env: { memory }, math }).exports;
    modules.set(loaded, WebAssembly.Module.exports(module).map((e) => exports[e.name]));
  }
  return modules.get(id);
}
let seen = 0;
let lastJob = performance.now();
Atomics.or(slots, ${Slot.Ready}, 1 << index);
for (;;) {
  const job = Atomics.load(slots, ${Slot.Job});
  if (job === seen) {
    // Poll briefly after a job (the next often follows at once), then sleep.
    if (performance.now() - lastJob < ${workerSpinMs}) continue;
    // Woken (by a job, or by wakeWorkers announcing one): poll again.
    if (Atomics.wait(slots, ${Slot.Job}, seen, 1000) === "ok") lastJob = performance.now();
    continue;
  }
  seen = job;
  lastJob = performance.now();
  if (((Atomics.load(slots, ${Slot.Active}) >> index) & 1) === 0) continue;
  const calls = Atomics.load(slots, ${Slot.Calls});
  for (let k = 0; k < calls; k++) {
    const c = (k + index + 1) % calls;
    if (Atomics.compareExchange(slots, ${Slot.States} + c, 0, 1) !== 0) continue;
    const at = c * ${callStride};
    let state = 2;
    try {
      const fn = exportsOf(table[at])[table[at + 1]];
      fn(...Array.from(table.subarray(at + 3, at + 3 + table[at + 2])));
    } catch (error) {
      state = 3;
      port.postMessage(String((error && error.message) || error));
    }
    Atomics.store(slots, ${Slot.States} + c, state);
    Atomics.add(slots, ${Slot.Finished}, 1);
    Atomics.notify(slots, ${Slot.Finished});
  }
  lastJob = performance.now();
}
`;

interface PoolWorker {
  port: MessagePortLike;
  /** Module ids sent to this worker. */
  sent: Set<number>;
}

const pool: PoolWorker[] = [];
let control: { slots: Int32Array; table: Float64Array } | undefined;

/** Starts workers until the pool has `count` (they boot in the background). */
function ensureWorkers(count: number, memory: WasmMemory): void {
  const wt = workerThreads;
  if (wt === undefined) return;
  if (control === undefined) {
    const buffer = new SharedArrayBuffer(controlBytes);
    control = { slots: new Int32Array(buffer), table: new Float64Array(buffer, tableOffset) };
  }
  while (pool.length < count) {
    const { port1, port2 } = new wt.MessageChannel();
    const worker = new wt.Worker(workerSource, {
      eval: true,
      workerData: { control: control.slots.buffer, memory, port: port2, index: pool.length },
      transferList: [port2],
    });
    worker.unref();
    port1.unref?.();
    pool.push({ port: port1, sent: new Set() });
  }
}

/** Starts the workers the current setting asks for, so that they are ready by the first call. */
export function warmUpWorkers(memory: WasmMemory): void {
  ensureWorkers(threads - 1, memory);
}

/**
 * Tells sleeping workers that parallel calls are coming soon (say, once the operands are copied
 * in), so that they are awake and polling by then: waking a sleeping thread can take longer than
 * the calls on a busy machine. Cheap when no worker sleeps.
 */
export function wakeWorkers(): void {
  if (control !== undefined && threads > 1) Atomics.notify(control.slots, Slot.Job);
}

/** A compiled kernel module: its exports here, and what a worker needs to instantiate it. */
export interface KernelModule {
  readonly exports: Record<string, unknown>;
  readonly module: WasmModule;
  readonly id: number;
  /** Export names in the module's order (the index a worker looks them up by). */
  readonly exportNames: readonly string[];
}

/** One call of an exported kernel function. */
export interface KernelCall {
  readonly name: string;
  readonly args: readonly number[];
}

/**
 * Runs calls of exported functions of `kernel`, in parallel when there are several and threads
 * to spare: this thread and the workers claim calls until none is left, then this thread waits
 * for those still running. The calls must write disjoint memory. A trap anywhere becomes a
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
  if (wt === undefined || calls.length <= 1 || threads <= 1) {
    calls.forEach(run);
    return;
  }
  if (calls.length > maxCalls) throw new Error(`runParallel: too many calls (${calls.length}).`);
  ensureWorkers(threads - 1, memory);
  const { slots, table } = control!;
  // Only workers that have started take part (a new one boots in the background meanwhile).
  const ready = Atomics.load(slots, Slot.Ready);
  const workers = pool.slice(0, threads - 1).filter((_, i) => ((ready >> i) & 1) === 1);
  if (workers.length === 0) {
    calls.forEach(run);
    return;
  }
  const active = pool.reduce((bits, w, i) => (workers.includes(w) ? bits | (1 << i) : bits), 0);
  for (const w of workers) {
    if (w.sent.has(kernel.id)) continue;
    w.port.postMessage({ id: kernel.id, module: kernel.module });
    w.sent.add(kernel.id);
  }
  // Reset the count before the states: a late worker may claim a call as soon as it is free.
  slots[Slot.Finished] = 0;
  calls.forEach(({ name, args }, c) => {
    if (args.length > maxArguments)
      throw new Error(`runParallel: too many arguments (${args.length}).`);
    const at = c * callStride;
    table[at] = kernel.id;
    table[at + 1] = kernel.exportNames.indexOf(name);
    table[at + 2] = args.length;
    table.set(args, at + 3);
    slots[Slot.States + c] = 0;
  });
  Atomics.store(slots, Slot.Calls, calls.length);
  Atomics.store(slots, Slot.Active, active);
  Atomics.add(slots, Slot.Job, 1);
  Atomics.notify(slots, Slot.Job);
  let mainError: unknown;
  const claim = (c: number): void => {
    if (Atomics.compareExchange(slots, Slot.States + c, 0, 1) !== 0) return;
    try {
      run(calls[c]!);
    } catch (error) {
      mainError ??= error;
    }
    Atomics.store(slots, Slot.States + c, 2);
    Atomics.add(slots, Slot.Finished, 1);
  };
  // This thread's share first (every n-th call); the workers start from theirs. Then whatever
  // no worker has claimed yet, at once: a sleeping worker can take milliseconds to be scheduled
  // on a busy (or virtualised) machine, and waiting for it cost more than the calls themselves.
  for (let c = 0; c < calls.length; c += workers.length + 1) claim(c);
  for (let c = 0; c < calls.length; c++) claim(c);
  const spinUntil = performance.now() + mainSpinMs;
  for (;;) {
    const finished = Atomics.load(slots, Slot.Finished);
    if (finished === calls.length) break;
    if (performance.now() < spinUntil) continue;
    Atomics.wait(slots, Slot.Finished, finished, 1000);
  }
  if (mainError !== undefined) throw mainError;
  const failed = calls.some((_, c) => slots[Slot.States + c] === 3);
  if (failed) {
    const messages = workers.map((w) => wt.receiveMessageOnPort(w.port)?.message);
    throw kernelStopped(
      operation,
      String(messages.find((m) => m !== undefined) ?? "unknown error"),
    );
  }
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

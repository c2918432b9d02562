/**
 * The workloads, the data they run on (deterministic, shared by every library), and the interface
 * each library implements in `bench/peers/*.ts`.
 */
import type { Case, MeasureOptions } from "./measure.js";

/** Deterministic uniform floats in [lo, hi) (mulberry32). */
export function uniform(n: number, lo: number, hi: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + (((t ^ (t >>> 14)) >>> 0) / 4294967296) * (hi - lo);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// MLP 784-256-256-10, tanh hidden layers, softmax cross-entropy (mean over the batch), plain SGD.

export const MLP = { input: 784, hidden: 256, classes: 10, batch: 128, lr: 0.1 } as const;

/** Parameter names and shapes, in a fixed order. */
export const mlpShapes = {
  w1: [MLP.input, MLP.hidden],
  b1: [MLP.hidden],
  w2: [MLP.hidden, MLP.hidden],
  b2: [MLP.hidden],
  w3: [MLP.hidden, MLP.classes],
  b3: [MLP.classes],
} as const;

export type ParamName = keyof typeof mlpShapes;
export const paramNames = Object.keys(mlpShapes) as ParamName[];
export type MlpParams = Record<ParamName, Float32Array>;

export interface MlpData {
  /** Initial parameters (do not mutate: copy first). */
  params: MlpParams;
  /** Inputs, [batch, 784], row-major. */
  x: Float32Array;
  /** One-hot labels, [batch, 10], row-major. */
  y: Float32Array;
}

export function mlpData(): MlpData {
  const params = {} as MlpParams;
  paramNames.forEach((name, k) => {
    const shape = mlpShapes[name];
    const size = shape.reduce<number>((p, d) => p * d, 1);
    // Weights: uniform(±1/sqrt(fan_in)); biases: small uniform.
    const scale = shape.length === 2 ? 1 / Math.sqrt(shape[0]) : 0.01;
    params[name] = uniform(size, -scale, scale, 101 + k);
  });
  const x = uniform(MLP.batch * MLP.input, 0, 1, 7);
  const y = new Float32Array(MLP.batch * MLP.classes);
  for (let i = 0; i < MLP.batch; i++) y[i * MLP.classes + ((i * 7) % MLP.classes)] = 1;
  return { params, x, y };
}

/** FLOPs of one forward + backward pass (matmuls only, multiply-add = 2). */
export const mlpFlops =
  2 * MLP.batch * (MLP.input * MLP.hidden + MLP.hidden * MLP.hidden + MLP.hidden * MLP.classes) * 3;

// ---------------------------------------------------------------------------------------------
// What a library implements. A missing method means "not applicable" (shown as n/a).

/** A training-step case: `losses` are the losses of its first two steps (a cross-check). */
export interface MlpCase extends Case {
  losses: [number, number];
}

export interface Peer {
  /** Column name. */
  name: string;
  /** Initialises the library; returns a one-line description (version, backend). */
  setup(): Promise<string>;
  /** `a @ b`, both [n, n] float32. */
  matmul?(n: number, a: Float32Array, b: Float32Array): Case | Promise<Case>;
  /** One SGD step of the MLP (steady state: compiled where the library compiles). */
  mlpStep?(data: MlpData): Promise<MlpCase>;
  /** One run = compile (a fresh jit) + one step. */
  mlpFirstCall?(data: MlpData): Case;
  /** tanh(2x + 1) * x, compiled where the library compiles. */
  elementwise?(x: Float32Array): Case;
  /** tanh(2x + 1) * x, op by op. */
  elementwiseEager?(x: Float32Array): Case;
  /** One run = `ops` independent eager adds of two 10-element arrays, all results realised. */
  eagerAdd?(a: Float32Array, b: Float32Array, ops: number): Case;
  /** `steps` times `x = x·0.99 + sin(x)` on 64 floats, compiled where the library compiles loops. */
  loop?(x: Float32Array, steps: number): Case;
  /** The same loop, one eager step at a time. */
  loopEager?(x: Float32Array, steps: number): Case;
}

// ---------------------------------------------------------------------------------------------
// The workloads.

export type Unit = "GFLOP/s" | "ms" | "µs/op";

export interface Workload {
  id: string;
  title: string;
  unit: Unit;
  /** The unit's value from the median milliseconds of one run. */
  value(ms: number): number;
  options: MeasureOptions;
  make(peer: Peer): Case | Promise<Case> | undefined;
  /** Skips a peer (e.g. too slow at this size): returns the reason, or undefined to run it. */
  skip?(peer: Peer, previous: Results): string | undefined;
}

/** Median ms per run of the results so far, by `resultKey(workload id, peer name)`. */
export type Results = ReadonlyMap<string, number>;
export const resultKey = (workload: string, peer: string): string => `${workload}/${peer}`;

const ELEMENTWISE_N = 1_000_000;
const EAGER_OPS = 2000;
/** Steps of the loop workload. */
export const LOOP_STEPS = 1000;
/** 1024 matmul is skipped for a library whose 512 matmul took longer than this (ms). */
const SLOW_512_MS = 1000;

export function workloads(): Workload[] {
  const list: Workload[] = [];
  for (const n of [256, 512, 1024]) {
    const a = uniform(n * n, -1, 1, n);
    const b = uniform(n * n, -1, 1, n + 1);
    list.push({
      id: `matmul-${n}`,
      title: `matmul ${n}x${n} f32`,
      unit: "GFLOP/s",
      value: (ms) => (2 * n ** 3) / (ms * 1e6),
      options:
        n === 1024
          ? { warmup: 1, minReps: 3, maxReps: 7, budgetMs: 3000 }
          : { warmup: 5, minReps: 7, maxReps: 15, budgetMs: 2000 },
      make: (peer) => peer.matmul?.(n, a, b),
      skip:
        n === 1024
          ? (peer, previous) => {
              const ms512 = previous.get(resultKey("matmul-512", peer.name));
              return ms512 !== undefined && ms512 > SLOW_512_MS
                ? `skipped: 512 took ${ms512.toFixed(0)} ms (> ${SLOW_512_MS} ms), 1024 would take ~8x`
                : undefined;
            }
          : undefined,
    });
  }
  const data = mlpData();
  list.push({
    id: "mlp-step",
    title: `MLP 784-256-256-10 b${MLP.batch} train step`,
    unit: "ms",
    value: (ms) => ms,
    options: { warmup: 20, minReps: 10, maxReps: 30, budgetMs: 3000 },
    make: (peer) => peer.mlpStep?.(data),
  });
  list.push({
    id: "mlp-first-call",
    title: "MLP step, first call (trace+compile+run)",
    unit: "ms",
    value: (ms) => ms,
    options: { warmup: 1, minReps: 3, maxReps: 7, budgetMs: 3000 },
    make: (peer) => peer.mlpFirstCall?.(data),
  });
  const x = uniform(ELEMENTWISE_N, -2, 2, 3);
  list.push({
    id: "elementwise",
    title: "tanh(2x+1)*x, 1e6 f32 (jit where available)",
    unit: "ms",
    value: (ms) => ms,
    options: { warmup: 15, minReps: 10, maxReps: 31, budgetMs: 1500 },
    make: (peer) => peer.elementwise?.(x),
  });
  list.push({
    id: "elementwise-eager",
    title: "tanh(2x+1)*x, 1e6 f32 (eager ops)",
    unit: "ms",
    value: (ms) => ms,
    options: { warmup: 15, minReps: 10, maxReps: 31, budgetMs: 1500 },
    make: (peer) => peer.elementwiseEager?.(x),
  });
  const a10 = uniform(10, -1, 1, 11);
  const b10 = uniform(10, -1, 1, 12);
  list.push({
    id: "eager-add",
    title: "eager add, 10 elements (dispatch overhead)",
    unit: "µs/op",
    value: (ms) => (ms * 1000) / EAGER_OPS,
    options: { warmup: 10, minReps: 7, maxReps: 21, budgetMs: 1000 },
    make: (peer) => peer.eagerAdd?.(a10, b10, EAGER_OPS),
  });
  const loopX = uniform(64, -2, 2, 13);
  list.push({
    id: "loop",
    title: `foriLoop, ${LOOP_STEPS} steps of x·0.99+sin(x), 64 f32`,
    unit: "ms",
    value: (ms) => ms,
    options: { warmup: 3, minReps: 10, maxReps: 100, budgetMs: 1500 },
    make: (peer) => peer.loop?.(loopX, LOOP_STEPS),
  });
  list.push({
    id: "loop-eager",
    title: `the same loop, eager ops step by step`,
    unit: "ms",
    value: (ms) => ms,
    options: { warmup: 1, minReps: 3, maxReps: 20, budgetMs: 1500 },
    make: (peer) => peer.loopEager?.(loopX, LOOP_STEPS),
  });
  return list;
}

/** How many times longer fluxion takes than the peer (> 1: fluxion is slower). */
export function timeRatio(unit: Unit, fluxion: number, peer: number): number {
  return unit === "GFLOP/s" ? peer / fluxion : fluxion / peer;
}

/**
 * `npm run bench`: fluxion's eager execution against plain JavaScript loops, in one process.
 * Prints a table of timings and ratios and writes `bench/results/latest.json`.
 * (Compiled code and the peer libraries join when `jit` lands.)
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { grad, np, type NDArray } from "../src/index.js";

interface Row {
  workload: string;
  fluxionMs: number;
  baselineMs: number;
  baseline: string;
}

/** Median wall time of `run` in milliseconds over `repeats` runs (after one warm-up). */
function time(run: () => unknown, repeats = 7): number {
  run();
  const samples: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    run();
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

const rows: Row[] = [];

// Elementwise tanh(2x + 1) * x on 1e6 floats.
{
  const n = 1_000_000;
  const data = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
  const x = np.array(data);
  const out = new Float32Array(n);
  rows.push({
    workload: "elementwise tanh(2x+1)*x, 1e6 f32",
    fluxionMs: time(() => np.tanh(x.mul(2).add(1)).mul(x).toTypedArray()),
    baselineMs: time(() => {
      for (let i = 0; i < n; i++) out[i] = Math.tanh(2 * data[i]! + 1) * data[i]!;
    }),
    baseline: "plain loop",
  });
}

// Eager dispatch overhead: a 10-element add.
{
  const a = np.arange(10).astype("float32");
  const b = np.ones([10]);
  const ta = a.toTypedArray() as Float32Array;
  const tb = b.toTypedArray() as Float32Array;
  const reps = 10_000;
  rows.push({
    workload: "eager add of 10 elements (per op, µs)",
    fluxionMs:
      (time(() => {
        for (let i = 0; i < reps; i++) a.add(b);
      }) *
        1000) /
      reps,
    baselineMs:
      (time(() => {
        for (let i = 0; i < reps; i++) {
          const o = new Float32Array(10);
          for (let k = 0; k < 10; k++) o[k] = ta[k]! + tb[k]!;
        }
      }) *
        1000) /
      reps,
    baseline: "plain loop",
  });
}

// Matmul 256×256 f32.
{
  const n = 256;
  const a = np.linspace(-1, 1, n * n).reshape([n, n]);
  const b = np.linspace(1, -1, n * n).reshape([n, n]);
  const da = a.toTypedArray() as Float32Array;
  const db = b.toTypedArray() as Float32Array;
  rows.push({
    workload: "matmul 256x256 f32",
    fluxionMs: time(() => np.matmul(a, b), 3),
    baselineMs: time(() => {
      const c = new Float32Array(n * n);
      for (let i = 0; i < n; i++)
        for (let k = 0; k < n; k++) {
          const aik = da[i * n + k]!;
          for (let j = 0; j < n; j++) c[i * n + j] += aik * db[k * n + j]!;
        }
    }, 3),
    baseline: "plain triple loop",
  });
}

// MLP 784-256-256-10, batch 128: gradient of the loss (eager, no jit yet).
{
  const key = (shape: number[], scale: number): NDArray =>
    np
      .sin(np.arange(shape.reduce((p, d) => p * d, 1)).astype("float32"))
      .mul(scale)
      .reshape(shape);
  const params = {
    w1: key([784, 256], 0.05),
    w2: key([256, 256], 0.05),
    w3: key([256, 10], 0.05),
  };
  const x = key([128, 784], 1);
  const onehot = np
    .equal(np.mod(np.arange(128), 10).reshape([128, 1]), np.arange(10))
    .astype("float32");
  const loss = (p: typeof params): NDArray => {
    const h1 = np.tanh(np.matmul(x, p.w1));
    const h2 = np.tanh(np.matmul(h1, p.w2));
    const logits = np.matmul(h2, p.w3);
    return np
      .logsumexp(logits, { axis: 1 })
      .sub(logits.mul(onehot).sum({ axis: 1 }))
      .mean();
  };
  rows.push({
    workload: "MLP 784-256-256-10 b128 grad (eager)",
    fluxionMs: time(() => grad(loss)(params), 3),
    baselineMs: Number.NaN,
    baseline: "none yet (jit issue adds peers)",
  });
}

console.log(
  "workload".padEnd(42),
  "fluxion ms".padStart(12),
  "baseline ms".padStart(12),
  "ratio".padStart(8),
);
for (const r of rows) {
  const ratio = r.fluxionMs / r.baselineMs;
  console.log(
    r.workload.padEnd(42),
    r.fluxionMs.toFixed(3).padStart(12),
    (Number.isNaN(r.baselineMs) ? "-" : r.baselineMs.toFixed(3)).padStart(12),
    (Number.isNaN(ratio) ? "-" : ratio.toFixed(2)).padStart(8),
    ` (${r.baseline})`,
  );
}
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
writeFileSync(
  new URL("./results/latest.json", import.meta.url),
  JSON.stringify({ date: new Date().toISOString(), node: process.version, rows }, null, 2) + "\n",
);

/** Timing: medians of repeated runs after warm-up, with a per-cell time budget. */

/** What one measurement does: `run` is one repetition (it ends at a sync point). */
export interface Case {
  run(): unknown;
  /** Frees what the case holds (called once, after timing). */
  dispose?(): void;
  /** Shown under the table when set (e.g. a fallback that was used). */
  note?: string;
}

export interface MeasureOptions {
  /** Untimed runs first (compilation, caches, V8 tiering). */
  warmup?: number;
  /** At least this many timed runs. */
  minReps?: number;
  /** At most this many timed runs. */
  maxReps?: number;
  /** Stop adding runs (beyond `minReps`) once the timed runs took this long in all. */
  budgetMs?: number;
}

export interface Timing {
  medianMs: number;
  minMs: number;
  reps: number;
}

/** Median wall time of `run` in milliseconds; `run` may return a promise (awaited). */
export async function measure(run: () => unknown, options: MeasureOptions = {}): Promise<Timing> {
  const { warmup = 2, minReps = 3, maxReps = 15, budgetMs = 2000 } = options;
  for (let i = 0; i < warmup; i++) await run();
  const samples: number[] = [];
  let total = 0;
  while (samples.length < maxReps && (samples.length < minReps || total < budgetMs)) {
    const start = performance.now();
    await run();
    const elapsed = performance.now() - start;
    samples.push(elapsed);
    total += elapsed;
  }
  samples.sort((a, b) => a - b);
  const mid = samples.length >> 1;
  const medianMs =
    samples.length % 2 === 1 ? samples[mid]! : (samples[mid - 1]! + samples[mid]!) / 2;
  return { medianMs, minMs: samples[0]!, reps: samples.length };
}

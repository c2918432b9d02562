/**
 * Timing: medians of repeated runs after warm-up, with a per-cell time budget; the cells of one
 * workload are timed together, in interleaved rounds (`measureTogether`).
 */

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
  const [result] = await measureTogether([run], options);
  if (result instanceof Error) throw result;
  return result!;
}

/**
 * Times several cases in interleaved rounds: each round runs every case that still wants runs
 * once, starting one case later than the round before, so that a shared machine's slow spells
 * (and the page faults and collections one case leaves behind) fall on all of them alike. Each
 * case gets `measure`'s warm-up, run counts and budget. A case that throws is left out of later
 * rounds, and its error is its result.
 */
export async function measureTogether(
  runs: readonly (() => unknown)[],
  options: MeasureOptions = {},
): Promise<(Timing | Error)[]> {
  const { warmup = 2, minReps = 3, maxReps = 15, budgetMs = 2000 } = options;
  const samples = runs.map(() => [] as number[]);
  const totals = runs.map(() => 0);
  const failed: (Error | undefined)[] = runs.map(() => undefined);
  const attempt = async (i: number, timed: boolean): Promise<void> => {
    try {
      const start = performance.now();
      await runs[i]!();
      const elapsed = performance.now() - start;
      if (!timed) return;
      samples[i]!.push(elapsed);
      totals[i]! += elapsed;
    } catch (e) {
      failed[i] = e instanceof Error ? e : new Error(String(e));
    }
  };
  for (let i = 0; i < runs.length; i++) {
    for (let w = 0; w < warmup && failed[i] === undefined; w++) await attempt(i, false);
  }
  const wanting = (i: number): boolean =>
    failed[i] === undefined &&
    samples[i]!.length < maxReps &&
    (samples[i]!.length < minReps || totals[i]! < budgetMs);
  for (let round = 0; runs.some((_, i) => wanting(i)); round++) {
    for (let j = 0; j < runs.length; j++) {
      const i = (j + round) % runs.length;
      if (wanting(i)) await attempt(i, true);
    }
  }
  return runs.map((_, i) => failed[i] ?? timingOf(samples[i]!));
}

function timingOf(samples: number[]): Timing {
  samples.sort((a, b) => a - b);
  const mid = samples.length >> 1;
  const medianMs =
    samples.length % 2 === 1 ? samples[mid]! : (samples[mid - 1]! + samples[mid]!) / 2;
  return { medianMs, minMs: samples[0]!, reps: samples.length };
}

/**
 * The benchmark timing (bench/measure.ts): cases timed together run in interleaved rounds with a
 * rotating start, each within its run counts, and a case that throws is dropped with its error.
 */
import { describe, expect, it } from "vitest";
import { measure, measureTogether } from "../../bench/measure.js";

describe("measureTogether", () => {
  it("interleaves the cases, one run each per round, starting one later each round", async () => {
    const order: string[] = [];
    const runs = ["a", "b", "c"].map((name) => () => void order.push(name));
    const timings = await measureTogether(runs, { warmup: 1, minReps: 3, maxReps: 3 });
    // Warm-up: each case once, in order; then the rounds.
    expect(order).toEqual(["a", "b", "c", "a", "b", "c", "b", "c", "a", "c", "a", "b"]);
    for (const t of timings) expect(t).toMatchObject({ reps: 3 });
  });

  it("keeps each case within its own run counts, and drops a case that throws", async () => {
    let calls = 0;
    const failing = (): void => {
      calls++;
      if (calls === 3) throw new Error("out of memory");
    };
    const slow = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));
    const [ok, failed, budgeted] = await measureTogether([() => 0, failing, slow], {
      warmup: 1,
      minReps: 2,
      maxReps: 6,
      budgetMs: 12,
    });
    expect(ok).toMatchObject({ reps: 6 });
    expect(failed).toBeInstanceOf(Error);
    expect((failed as Error).message).toBe("out of memory");
    expect(calls).toBe(3);
    // At least the minimum, then only until 12 ms of timed runs.
    const reps = (budgeted as { reps: number }).reps;
    expect(reps).toBeGreaterThanOrEqual(2);
    expect(reps).toBeLessThan(6);
    await expect(measure(() => Promise.reject(new Error("no")), { warmup: 0 })).rejects.toThrow(
      "no",
    );
    const single = await measure(() => 0, { warmup: 0, minReps: 5, maxReps: 5 });
    expect(single.reps).toBe(5);
    expect(single.minMs).toBeLessThanOrEqual(single.medianMs);
  });
});

/**
 * Every program in examples/ runs to completion (its output is captured, not printed). Programs
 * that take flags get short runs here; the neural ODE's loss must go down.
 */
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it, vi } from "vitest";

const folder = fileURLToPath(new URL("../../examples/", import.meta.url));
const programs = readdirSync(folder).filter((name) => name.endsWith(".ts"));
const out = mkdtempSync(join(tmpdir(), "fluxion-examples-"));

/** Command-line flags per program (the default is none). */
const flags: Record<string, string[]> = {
  "neural-ode.ts": ["--steps", "30", "--out", out],
};

/** Checks of a program's printed lines beyond "it printed something". */
const checks: Record<string, (lines: string[]) => void> = {
  "neural-ode.ts": (lines) => {
    const summary = lines.map((l) => /^loss (\S+) → (\S+) in 30 steps/.exec(l)).find(Boolean);
    expect(summary, lines.join("\n")).toBeTruthy();
    const [first, last] = [Number(summary![1]), Number(summary![2])];
    expect(last).toBeLessThan(0.5 * first);
    expect(existsSync(join(out, "neural-ode.svg"))).toBe(true);
  },
};

describe("examples", () => {
  it("there are examples", () => expect(programs.length).toBeGreaterThan(0));
  for (const name of programs) {
    it(`${name} runs`, { timeout: 60_000 }, async () => {
      const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
      const argv = process.argv;
      process.argv = [argv[0]!, join(folder, name), ...(flags[name] ?? [])];
      try {
        await import(`${folder}${name}`);
        expect(log).toHaveBeenCalled();
        checks[name]?.(log.mock.calls.map((call) => call.map(String).join(" ")));
      } finally {
        process.argv = argv;
        log.mockRestore();
      }
    });
  }
});

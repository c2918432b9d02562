/**
 * Every program in examples/ runs to completion (its output is captured, not printed).
 */
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it, vi } from "vitest";

const folder = fileURLToPath(new URL("../../examples/", import.meta.url));
const programs = readdirSync(folder).filter((name) => name.endsWith(".ts"));

describe("examples", () => {
  it("there are examples", () => expect(programs.length).toBeGreaterThan(0));
  for (const name of programs) {
    it(`${name} runs`, async () => {
      const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
      try {
        await import(`${folder}${name}`);
        expect(log).toHaveBeenCalled();
      } finally {
        log.mockRestore();
      }
    });
  }
});

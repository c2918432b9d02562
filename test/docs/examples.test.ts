/**
 * Documentation examples are tests: every `@example` in a doc comment under src/, and every
 * TypeScript block of the README and of the guides in docs/, runs against the public API.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { transformSync } from "esbuild";
import { describe, it, vi } from "vitest";
import * as fluxion from "../../src/index.js";

const root = fileURLToPath(new URL("../../", import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith(".ts") ? [path] : [];
  });
}

interface Example {
  where: string;
  code: string;
  /** The module the example documents: its own exports are in scope too. */
  module?: string;
}

/** The `@example` blocks of a file's doc comments. */
function docExamples(path: string): Example[] {
  const lines = readFileSync(path, "utf8").split("\n");
  const examples: Example[] = [];
  lines.forEach((line, i) => {
    if (!/^\s*\*\s*@example/.test(line)) return;
    const body: string[] = [];
    for (let k = i + 1; k < lines.length; k++) {
      const l = lines[k]!;
      if (/^\s*\*\//.test(l) || /^\s*\*\s*@\w+/.test(l)) break;
      body.push(l.replace(/^\s*\* ?/, ""));
    }
    examples.push({
      where: `${relative(root, path)}:${i + 1}`,
      code: body.join("\n"),
      module: path,
    });
  });
  return examples;
}

/** The ```ts blocks of a markdown file, with `from "fluxion"` imports. */
function markdownExamples(path: string): Example[] {
  const text = readFileSync(path, "utf8");
  const examples: Example[] = [];
  const pattern = /```ts\n([\s\S]*?)```/g;
  for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
    const line = text.slice(0, m.index).split("\n").length;
    examples.push({ where: `${relative(root, path)}:${line}`, code: m[1]! });
  }
  return examples;
}

/**
 * Runs an example with every public export in scope, plus the exports of the module it documents
 * (imports from "fluxion" are rewritten away).
 */
async function run(example: Example): Promise<void> {
  const withoutImports = example.code.replace(
    /import\s+(type\s+)?\{[^}]*\}\s+from\s+"fluxion";?/g,
    "",
  );
  const js = transformSync(withoutImports, { loader: "ts", format: "esm" }).code;
  const own =
    example.module === undefined ? {} : ((await import(example.module)) as Record<string, unknown>);
  const scope: Record<string, unknown> = { ...own, ...(fluxion as Record<string, unknown>) };
  const names = Object.keys(scope).filter((n) => /^[A-Za-z_$][\w$]*$/.test(n));
  const body = `"use strict";\nconst console = { log() {} };\n{\n${js}\n}`;
  const fn = new Function(...names, body) as (...args: unknown[]) => void;
  fn(...names.map((n) => scope[n]));
}

const guides = readdirSync(join(root, "docs"))
  .filter((name) => name.endsWith(".md"))
  .map((name) => join(root, "docs", name));

const examples = [
  ...sourceFiles(join(root, "src")).flatMap(docExamples),
  ...[join(root, "README.md"), ...guides].flatMap(markdownExamples),
];

describe("documentation examples run", () => {
  for (const example of examples) {
    it(example.where, async () => {
      // Examples may log (through fluxion too, e.g. explainCacheMisses): keep the test output quiet.
      const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
      try {
        await run(example);
      } finally {
        log.mockRestore();
      }
    });
  }
});

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
 * How far a logged number may be from a comment's: half a unit in the last digit the comment
 * shows (`1.6487` stands for 1.64872…, `9.053e-21` for 9.0531…e-21); whole numbers exactly, up
 * to float32 rounding.
 */
function tolerance(text: string): number {
  let tol = Infinity;
  for (const [, digits = "", exponent = "0"] of text.matchAll(
    /-?\d+(?:\.(\d+))?(?:e([-+]?\d+))?/g,
  )) {
    const step =
      digits.length === 0 && exponent === "0" ? 0 : 0.5 * 10 ** (Number(exponent) - digits.length);
    tol = Math.min(tol, step);
  }
  return tol;
}

/**
 * A logged value against the value its line's comment promises (`console.log(x); // [4, 2]`):
 * booleans exactly, numbers (and numeric strings, as `toFixed` makes) to the digits the comment
 * shows, arrays element by element (an NDArray as its nested list).
 */
function expectLogged(actual: unknown, promised: unknown, text: string, where: string): void {
  const value =
    actual instanceof fluxion.NDArray
      ? actual.toList()
      : Array.isArray(actual)
        ? actual.map((a) => (a instanceof fluxion.NDArray ? a.toList() : a))
        : actual;
  const tol = tolerance(text);
  const same = (a: unknown, p: unknown): boolean => {
    if (Array.isArray(p)) {
      return Array.isArray(a) && a.length === p.length && p.every((q, i) => same(a[i], q));
    }
    if (typeof p === "number") {
      const n = typeof a === "string" && a.trim() !== "" ? Number(a) : a;
      if (typeof n !== "number") return false;
      return Object.is(n, p) || Math.abs(n - p) <= tol + 1e-6 * Math.abs(p);
    }
    return Object.is(a, p);
  };
  if (!same(value, promised)) {
    throw new Error(
      `${where}: the comment says ${text}, the example logs ${JSON.stringify(value)}`,
    );
  }
}

/**
 * `console.log(<one expression>); // <JSON value>[: remark]` lines become checks that the value
 * logged is the one the comment shows (comments in words are left alone).
 */
function withChecks(code: string, where: string): string {
  return code
    .split("\n")
    .map((line, i) => {
      const m = /^(\s*)console\.log\((.*)\);\s*\/\/\s*(.+?)\s*$/.exec(line);
      if (m === null) return line;
      // The whole comment, or the value before a remark (`false: inlined`, `true (…)`).
      const text = [m[3]!, m[3]!.split(/:\s|\s\(/)[0]!].find((t) => {
        try {
          JSON.parse(t);
          return true;
        } catch {
          return false;
        }
      });
      if (text === undefined) return line;
      const args = [text, JSON.stringify(text), JSON.stringify(`${where}+${i}`)];
      return `${m[1]}__expectLogged((${m[2]}), ${args.join(", ")});`;
    })
    .join("\n");
}

/**
 * Runs an example with every public export in scope, plus the exports of the module it documents
 * (imports from "fluxion" are rewritten away); logged values are checked against their comments.
 */
async function run(example: Example): Promise<void> {
  const withoutImports = withChecks(
    example.code.replace(/import\s+(type\s+)?\{[^}]*\}\s+from\s+"fluxion";?/g, ""),
    example.where,
  );
  const js = transformSync(withoutImports, { loader: "ts", format: "esm" }).code;
  const own =
    example.module === undefined ? {} : ((await import(example.module)) as Record<string, unknown>);
  const scope: Record<string, unknown> = {
    ...own,
    ...(fluxion as Record<string, unknown>),
    __expectLogged: expectLogged,
  };
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

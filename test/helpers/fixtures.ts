/**
 * The NumPy reference fixtures (test/fixtures/numpy.json and linalg.json, made by the scripts
 * beside them, which share the encoding in test/fixtures/fixture_encoding.py): their types, the
 * decoding of arguments into arrays, and the runner that calls a case and compares its dtype,
 * shape and values with NumPy's.
 */
import { readFileSync } from "node:fs";
import { expect } from "vitest";
import { np, type DType } from "../../src/index.js";

type Scalar = number | boolean | string;

/** An array as the fixture stores it: flat row-major data, NaN/±inf as strings. */
export interface FixtureArray {
  dtype: string;
  shape: number[];
  data: Scalar[];
}

export type FixtureValue =
  FixtureArray | Scalar | null | FixtureValue[] | { [key: string]: FixtureValue };

/** One call and NumPy's result; an array `expected` means the call returns several arrays. */
export interface FixtureCase {
  fn: string;
  args: FixtureValue[];
  kwargs?: Record<string, FixtureValue>;
  expected: FixtureArray | FixtureArray[];
  rtol: number;
  atol: number;
  /** `false`: only dtype and shape are compared (np.empty). */
  checkValues?: boolean;
  note?: string;
}

/** Reads and parses test/fixtures/`name`. */
export function loadFixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), "utf8")) as T;
}

/** The parts of an array the runner uses; kept structural so results of any kind can be checked. */
interface ArrayResult {
  shape: readonly number[];
  dtype: string;
  toTypedArray(): ArrayLike<number>;
}

type AnyFunction = (...args: unknown[]) => unknown;

function isFixtureArray(value: unknown): value is FixtureArray {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    "dtype" in value &&
    "shape" in value &&
    "data" in value
  );
}

function isArrayResult(value: unknown): value is ArrayResult {
  return (
    typeof value === "object" &&
    value !== null &&
    Array.isArray((value as ArrayResult).shape) &&
    typeof (value as ArrayResult).toTypedArray === "function"
  );
}

function decodeNumber(value: Scalar): number {
  if (value === "nan") return NaN;
  if (value === "inf") return Infinity;
  if (value === "-inf") return -Infinity;
  if (typeof value === "boolean") return value ? 1 : 0;
  return Number(value);
}

/** Fixture value → call argument: ARG objects become arrays, "inf"-like strings numbers. */
export function decode(value: FixtureValue): unknown {
  if (isFixtureArray(value)) {
    const data = value.data.map((v) => (value.dtype === "bool" ? v === true : decodeNumber(v)));
    return np.array(data, { dtype: value.dtype as DType }).reshape(value.shape);
  }
  if (Array.isArray(value)) return value.map(decode);
  if (value === "nan" || value === "inf" || value === "-inf") return decodeNumber(value);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decode(v)]));
  }
  return value;
}

/** Looks up a (possibly dotted) name on `np`, e.g. "linalg.norm", keeping its owner for `this`. */
function resolveOnNp(path: string): { owner: unknown; fn: AnyFunction } {
  let owner: unknown = undefined;
  let value: unknown = np;
  for (const part of path.split(".")) {
    owner = value;
    value = (value as Record<string, unknown> | undefined)?.[part];
  }
  if (typeof value !== "function") throw new Error(`np.${path} is not a function`);
  return { owner, fn: value as AnyFunction };
}

function formatValues(values: ArrayLike<number>, limit = 24): string {
  const shown = Array.from(values).slice(0, limit);
  return `[${shown.join(", ")}${values.length > limit ? ", …" : ""}]`;
}

/** Compares one output; returns a readable description of the mismatch, or undefined. */
function mismatch(c: FixtureCase, expected: FixtureArray, got: unknown): string | undefined {
  if (!isArrayResult(got)) {
    return `expected an array, got ${typeof got} ${String(got)}`;
  }
  if (got.dtype !== expected.dtype) {
    return `dtype: expected ${expected.dtype}, got ${got.dtype}`;
  }
  const gotShape = Array.from(got.shape);
  if (JSON.stringify(gotShape) !== JSON.stringify(expected.shape)) {
    return `shape: expected [${expected.shape.join(", ")}], got [${gotShape.join(", ")}]`;
  }
  if (c.checkValues === false) return undefined;
  const actual = got.toTypedArray();
  const want = expected.data.map(decodeNumber);
  if (actual.length !== want.length) {
    return `size: expected ${want.length} elements, got ${actual.length}`;
  }
  const exact = expected.dtype !== "float32" && expected.dtype !== "float64";
  const bad: string[] = [];
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const a = Number(actual[i]);
    let ok: boolean;
    if (Number.isNaN(w)) ok = Number.isNaN(a);
    else if (exact || !Number.isFinite(w)) ok = a === w;
    else ok = Math.abs(a - w) <= c.atol + c.rtol * Math.abs(w);
    if (!ok) bad.push(`[${i}] expected ${w}, got ${a}`);
  }
  if (bad.length === 0) return undefined;
  return (
    `${bad.length}/${want.length} values differ (rtol ${c.rtol}, atol ${c.atol}): ` +
    `${bad.slice(0, 4).join("; ")}${bad.length > 4 ? "; …" : ""}\n` +
    `  expected ${formatValues(want)}\n  got      ${formatValues(actual)}`
  );
}

function describeArg(value: FixtureValue): string {
  if (isFixtureArray(value)) return `${value.dtype}[${value.shape.join(", ")}]`;
  if (Array.isArray(value)) return `[${value.map(describeArg).join(", ")}]`;
  return JSON.stringify(value);
}

/**
 * Runs fixture case `c` (number `index` in its list) and fails the test, describing the call,
 * unless every output has NumPy's dtype, shape and values (within the case's rtol/atol for float
 * outputs, exactly otherwise). `c.fn` is looked up in `functions` when given, else on `np` (a
 * dotted name such as "linalg.norm" names a namespace member).
 */
export function checkFixtureCase(
  c: FixtureCase,
  index: number,
  functions?: Record<string, (...args: never[]) => unknown>,
): void {
  const args = c.args.map(decode);
  if (c.kwargs !== undefined) args.push(decode(c.kwargs));
  let result: unknown;
  if (functions === undefined) {
    const { owner, fn } = resolveOnNp(c.fn);
    result = fn.apply(owner, args);
  } else {
    const fn = functions[c.fn] as AnyFunction | undefined;
    if (fn === undefined) throw new Error(`no function ${c.fn} for the fixture`);
    result = fn(...args);
  }
  const name = functions === undefined ? `np.${c.fn}` : c.fn;
  const call =
    `${name}(${c.args.map(describeArg).join(", ")}` +
    `${c.kwargs !== undefined ? `, ${JSON.stringify(c.kwargs)}` : ""}) [case #${index}]`;
  const problems: string[] = [];
  if (Array.isArray(c.expected)) {
    if (!Array.isArray(result)) {
      problems.push(`expected a list of ${c.expected.length} arrays, got ${typeof result}`);
    } else if (result.length !== c.expected.length) {
      problems.push(`expected ${c.expected.length} outputs, got ${result.length}`);
    } else {
      c.expected.forEach((e, k) => {
        const m = mismatch(c, e, result[k]);
        if (m !== undefined) problems.push(`output ${k}: ${m}`);
      });
    }
  } else {
    const m = mismatch(c, c.expected, result);
    if (m !== undefined) problems.push(m);
  }
  if (problems.length > 0) expect.fail(`${call}\n${problems.join("\n")}`);
}

/** The test title of a case: `label` (default `c.fn`), its index and its note. */
export function caseTitle(c: FixtureCase, index: number, label: string = c.fn): string {
  return `${label} #${index}${c.note !== undefined ? ` (${c.note})` : ""}`;
}

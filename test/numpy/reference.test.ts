/**
 * fluxion's `np` against NumPy: every case in test/fixtures/numpy.json (made by
 * test/fixtures/make_numpy_fixtures.py) is run and its dtype, shape and values are compared.
 * Expected dtypes are JAX's (float32 / int32 defaults), not NumPy's 64-bit ones.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { np } from "../../src/index.js";

type Scalar = number | boolean | string;

/** An array as the fixture stores it: flat row-major data, NaN/±inf as strings. */
interface FixtureArray {
  dtype: string;
  shape: number[];
  data: Scalar[];
}

type FixtureValue = FixtureArray | Scalar | null | FixtureValue[] | { [key: string]: FixtureValue };

interface FixtureCase {
  fn: string;
  args: FixtureValue[];
  kwargs?: Record<string, FixtureValue>;
  expected: FixtureArray | FixtureArray[];
  rtol: number;
  atol: number;
  checkValues?: boolean;
}

/** The parts of an array this test uses; kept structural so it doesn't depend on src typings. */
interface ArrayResult {
  shape: readonly number[];
  dtype: string;
  toTypedArray(): ArrayLike<number>;
  reshape(shape: number[]): ArrayResult;
}

type AnyFunction = (...args: unknown[]) => unknown;

const fixture = JSON.parse(
  readFileSync(new URL("../fixtures/numpy.json", import.meta.url), "utf8"),
) as { numpy: string; cases: FixtureCase[] };

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

/** Looks up a (possibly dotted) name on `np`, e.g. "linalg.norm", keeping its owner for `this`. */
function resolve(path: string): { owner: unknown; fn: AnyFunction } {
  let owner: unknown = undefined;
  let value: unknown = np;
  for (const part of path.split(".")) {
    owner = value;
    value = (value as Record<string, unknown> | undefined)?.[part];
  }
  if (typeof value !== "function") throw new Error(`np.${path} is not a function`);
  return { owner, fn: value as AnyFunction };
}

function makeArray(arg: FixtureArray): ArrayResult {
  const values = arg.data.map((v) => (arg.dtype === "bool" ? v === true : decodeNumber(v)));
  const { owner, fn } = resolve("array");
  const flat = fn.call(owner, values, { dtype: arg.dtype }) as ArrayResult;
  return flat.reshape(arg.shape);
}

/** Fixture value → call argument: ARG objects become arrays, "inf"-like strings numbers. */
function decode(value: FixtureValue): unknown {
  if (isFixtureArray(value)) return makeArray(value);
  if (Array.isArray(value)) return value.map(decode);
  if (value === "nan" || value === "inf" || value === "-inf") return decodeNumber(value);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decode(v)]));
  }
  return value;
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

function checkCase(c: FixtureCase, index: number): void {
  const args = c.args.map(decode);
  if (c.kwargs !== undefined) args.push(decode(c.kwargs));
  const { owner, fn } = resolve(c.fn);
  const result = fn.apply(owner, args);
  const call =
    `np.${c.fn}(${c.args.map(describeArg).join(", ")}` +
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

describe(`np against NumPy ${fixture.numpy} (test/fixtures/numpy.json)`, () => {
  fixture.cases.forEach((c, i) => {
    it(`${c.fn} #${i}`, () => checkCase(c, i));
  });
});

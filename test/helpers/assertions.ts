/**
 * Assertions shared by the test files: closeness of pytrees of arrays, and the errors a user gets
 * (a typed `FluxionError` whose message names the test's own file, passed in as `file`, e.g.
 * `"grad.test.ts"`).
 */
import { expect } from "vitest";
import { FluxionError, grad, jit, tree, type NDArray } from "../../src/index.js";
import { traceDepth } from "../../src/core/trace.js";
import { asArray, f64, numericGrad, values } from "./numeric.js";

// ----------------------------------------------------------------------------- closeness

/** Options of {@link expectClose}. */
export interface CloseOptions {
  rtol?: number;
  atol?: number;
  /** Prefixed to every failure message (which comparison failed). */
  label?: string;
}

/** {@link CloseOptions} for an absolute tolerance only: `|a - e| <= atol` elementwise. */
export function absolute(atol: number): CloseOptions {
  return { rtol: 0, atol };
}

/**
 * Asserts that two pytrees have the same structure, the same leaf shapes and close values
 * (`|a - e| <= atol + rtol * |e|` elementwise; NaN never matches).
 */
export function expectClose(actual: unknown, expected: unknown, options: CloseOptions = {}): void {
  const { rtol = 1e-6, atol = 1e-8, label } = options;
  const where = (what: string): string => (label === undefined ? what : `${label}: ${what}`);
  const [actualLeaves, actualTree] = tree.flatten(actual);
  const [expectedLeaves, expectedTree] = tree.flatten(expected);
  expect(actualTree.toString(), where("tree structure")).toBe(expectedTree.toString());
  const mismatches: string[] = [];
  actualLeaves.forEach((leaf, i) => {
    const a = asArray(leaf);
    const e = asArray(expectedLeaves[i]);
    expect(a.shape, where(`shape of leaf ${i}`)).toEqual(e.shape);
    const av = values(a);
    const ev = values(e);
    av.forEach((v, k) => {
      const w = ev[k]!;
      if (!(Math.abs(v - w) <= atol + rtol * Math.abs(w))) {
        mismatches.push(`leaf ${i}, element ${k}: got ${v}, expected ${w}`);
      }
    });
  });
  expect(mismatches, where("mismatches")).toEqual([]);
}

// ----------------------------------------------------------------------------- errors

/** The error that `f` throws (the test fails when it returns). */
export function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected an error, but nothing was thrown");
}

type ErrorClass = abstract new (...args: never[]) => FluxionError;

/**
 * The message of the error `f` throws, checked to be a `kind` (a `FluxionError` subclass) whose
 * message names `file`, the calling test file (e.g. `"linalg.test.ts"`).
 */
export function errorOf(f: () => unknown, kind: ErrorClass, file: string): string {
  const error = thrown(f);
  expect(error).toBeInstanceOf(kind);
  expect(error.message).toContain(file);
  return error.message;
}

/** The line of this call in the caller's file (for errors that must name an exact line). */
export function lineHere(): number {
  const frame = new Error().stack!.split("\n")[2]!;
  return Number(/:(\d+):\d+\)?$/.exec(frame)![1]);
}

/** Nothing is left on the trace stack, and a plain `grad` works and is right. */
export function expectCleanState(): void {
  expect(traceDepth()).toBe(0);
  const square = (x: NDArray): NDArray => x.mul(x).sum();
  const x = f64([1, -2, 0.5]);
  expectClose(grad(square)(x), numericGrad(square, [x]), { rtol: 1e-6, atol: 1e-6 });
}

/**
 * Runs `f`, which must throw a `type` (a `FluxionError` subclass) whose message names `file`
 * (e.g. `"grad.test.ts"`) with a line number and contains each of `fragments`; then checks that
 * the trace stack is empty and `grad` still works. Returns the error.
 */
export function expectTypedError(
  f: () => unknown,
  type: ErrorClass,
  file: string,
  ...fragments: string[]
): FluxionError {
  let caught: unknown;
  try {
    f();
  } catch (error) {
    caught = error;
  }
  expect(caught, "expected an error, but nothing was thrown").toBeDefined();
  expect(caught).toBeInstanceOf(FluxionError);
  expect(caught).toBeInstanceOf(type);
  const error = caught as FluxionError;
  if (type !== FluxionError) expect(error.name).toBe(type.name);
  expect(error.message).toMatch(new RegExp(`${file.replace(/\./g, "\\.")}:\\d+:\\d+`));
  expect(error.site?.file.endsWith(file)).toBe(true);
  for (const fragment of fragments) expect(error.message).toContain(fragment);
  expectCleanState();
  return error;
}

// ----------------------------------------------------------------------------- bit identity

/** Each element as text that tells -0 from 0 and keeps NaN. */
export function bits(x: NDArray): string[] {
  return Array.from(x.toTypedArray() as ArrayLike<number>, (v) =>
    Object.is(v, -0) ? "-0" : String(v),
  );
}

/** The same pytree structure, and every leaf with the same dtype, shape and bits. */
export function expectIdentical(actual: unknown, expected: unknown): void {
  const [a, aTree] = tree.flatten(actual);
  const [e, eTree] = tree.flatten(expected);
  expect(aTree.toString()).toBe(eTree.toString());
  a.forEach((leaf, i) => {
    const x = leaf as NDArray;
    const y = e[i] as NDArray;
    expect(x.dtype, `dtype of leaf ${i}`).toBe(y.dtype);
    expect(x.shape, `shape of leaf ${i}`).toEqual(y.shape);
    expect(bits(x), `values of leaf ${i}`).toEqual(bits(y));
  });
}

/** jit(f) gives exactly what f gives, on the first (tracing) and a second (cached) call. */
export function expectJitExact<A extends unknown[]>(f: (...args: A) => unknown, ...args: A): void {
  const eager = f(...args);
  const g = jit(f);
  expectIdentical(g(...args), eager);
  expectIdentical(g(...args), eager);
}

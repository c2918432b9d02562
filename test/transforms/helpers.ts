/**
 * Shared helpers of the transform tests: float64 central differences (the reference every
 * derivative is checked against), a pytree comparison with readable failures, and the check that
 * a user mistake gives a typed error naming the test file and leaves no trace level behind.
 */
import { expect } from "vitest";
import { FluxionError, NDArray, grad, np, tree } from "../../src/index.js";
import { traceDepth } from "../../src/core/trace.js";

/** A float64 array. */
export function f64(data: number | number[] | number[][] | number[][][]): NDArray {
  return np.array(data, { dtype: "float64" });
}

/** The elements of `x` as JS numbers (row-major). */
export function values(x: NDArray): number[] {
  return Array.from(x.toTypedArray() as ArrayLike<number>, Number);
}

function asArray(x: unknown): NDArray {
  if (x instanceof NDArray) return x;
  if (typeof x === "number" || typeof x === "boolean") return np.array(Number(x));
  throw new Error(`expected an array leaf, got ${String(x)}`);
}

/** Options of {@link expectClose}. */
export interface CloseOptions {
  rtol?: number;
  atol?: number;
}

/**
 * Asserts that two pytrees have the same structure, the same leaf shapes and close values
 * (`|a - e| <= atol + rtol * |e|` elementwise).
 */
export function expectClose(actual: unknown, expected: unknown, options: CloseOptions = {}): void {
  const { rtol = 1e-6, atol = 1e-8 } = options;
  const [actualLeaves, actualTree] = tree.flatten(actual);
  const [expectedLeaves, expectedTree] = tree.flatten(expected);
  expect(actualTree.toString()).toBe(expectedTree.toString());
  const mismatches: string[] = [];
  actualLeaves.forEach((leaf, i) => {
    const a = asArray(leaf);
    const e = asArray(expectedLeaves[i]);
    expect(a.shape, `shape of leaf ${i}`).toEqual(e.shape);
    const av = values(a);
    const ev = values(e);
    av.forEach((v, k) => {
      const w = ev[k]!;
      if (!(Math.abs(v - w) <= atol + rtol * Math.abs(w))) {
        mismatches.push(`leaf ${i}, element ${k}: got ${v}, expected ${w}`);
      }
    });
  });
  expect(mismatches).toEqual([]);
}

function scalarOf(out: unknown): number {
  return Number(asArray(out).item());
}

/** `leaf` with `delta` added to element `k` (float64). */
function perturbed(leaf: NDArray, k: number, delta: number): NDArray {
  const data = values(leaf);
  data[k] = data[k]! + delta;
  return np.array(data, { dtype: "float64" }).reshape(leaf.shape);
}

/**
 * The gradient of a scalar function with respect to argument `argnum` (a pytree of float64
 * arrays), by central differences. Returns a pytree shaped like that argument.
 */
export function numericGrad(
  f: (...args: never[]) => unknown,
  args: readonly unknown[],
  argnum = 0,
  eps = 1e-6,
): unknown {
  const [leaves, treedef] = tree.flatten(args[argnum]);
  const arrays = leaves.map(asArray);
  const at = (which: number, leaf: NDArray): number => {
    const ls = [...arrays];
    ls[which] = leaf;
    const full = [...args];
    full[argnum] = tree.unflatten(treedef, ls);
    return scalarOf(f(...(full as never[])));
  };
  const grads = arrays.map((x, which) => {
    const g = values(x).map(
      (_, k) => (at(which, perturbed(x, k, eps)) - at(which, perturbed(x, k, -eps))) / (2 * eps),
    );
    return np.array(g, { dtype: "float64" }).reshape(x.shape);
  });
  return tree.unflatten(treedef, grads);
}

/**
 * The directional derivative of `f` at `primals` along `tangents` (pytrees of float64 arrays), by
 * central differences. Integer leaves are left unperturbed. Returns a pytree like `f`'s output.
 */
export function numericJvp(
  f: (...args: never[]) => unknown,
  primals: readonly unknown[],
  tangents: readonly unknown[],
  eps = 1e-6,
): unknown {
  const shifted = (sign: number): unknown[] =>
    tree.map(
      (p: unknown, t: unknown) => {
        const x = asArray(p);
        return x.dtype === "float64"
          ? x.add(
              asArray(t)
                .astype("float64")
                .mul(sign * eps),
            )
          : x;
      },
      [...primals],
      [...tangents],
    ) as unknown[];
  const plus = f(...(shifted(1) as never[]));
  const minus = f(...(shifted(-1) as never[]));
  return tree.map(
    (a: unknown, b: unknown) =>
      asArray(a)
        .astype("float64")
        .sub(asArray(b).astype("float64"))
        .div(2 * eps),
    plus,
    minus,
  );
}

/** The Jacobian of `f` at the float64 array `x`, shape `[...outShape, ...inShape]`. */
export function numericJacobian(f: (x: NDArray) => NDArray, x: NDArray, eps = 1e-6): NDArray {
  const n = x.size;
  const columns = values(x).map((_, k) => {
    const plus = values(f(perturbed(x, k, eps)));
    const minus = values(f(perturbed(x, k, -eps)));
    return plus.map((p, i) => (p - minus[i]!) / (2 * eps));
  });
  const outShape = f(x).shape;
  const m = columns[0]?.length ?? 0;
  const data: number[] = new Array<number>(m * n);
  for (let i = 0; i < m; i++) for (let k = 0; k < n; k++) data[i * n + k] = columns[k]![i]!;
  return np.array(data, { dtype: "float64" }).reshape([...outShape, ...x.shape]);
}

/** The Hessian of a scalar function of the float64 array `x`, by second central differences. */
export function numericHessian(f: (x: NDArray) => NDArray, x: NDArray, eps = 1e-4): NDArray {
  const n = x.size;
  const at = (i: number, di: number, j: number, dj: number): number =>
    Number(f(perturbed(perturbed(x, i, di), j, dj)).item());
  const data: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const h =
        (at(i, eps, j, eps) - at(i, eps, j, -eps) - at(i, -eps, j, eps) + at(i, -eps, j, -eps)) /
        (4 * eps * eps);
      data.push(h);
    }
  }
  return np.array(data, { dtype: "float64" }).reshape([...x.shape, ...x.shape]);
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

type ErrorClass = abstract new (...args: never[]) => FluxionError;

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

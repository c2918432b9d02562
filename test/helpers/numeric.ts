/**
 * Float64 test data and references: small array helpers, deterministic pseudo-random arrays, and
 * the central differences (gradient, JVP, Jacobian, Hessian) every derivative is checked against.
 */
import { NDArray, np, tree } from "../../src/index.js";

/** A float64 array. */
export function f64(data: number | number[] | number[][] | number[][][]): NDArray {
  return np.array(data, { dtype: "float64" });
}

/** Deterministic pseudo-random float64 values in [-1, 1) (a linear congruential generator). */
export function random(shape: number[], seed: number): NDArray {
  let state = seed >>> 0;
  const size = shape.reduce((a, b) => a * b, 1);
  const data = Array.from({ length: size }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 31 - 1;
  });
  return np.array(data, { dtype: "float64" }).reshape(shape);
}

/** The elements of `x` as JS numbers (row-major). */
export function values(x: NDArray): number[] {
  return Array.from(x.toTypedArray() as ArrayLike<number>, Number);
}

/** A pytree leaf as an array (JS numbers and booleans become 0-d arrays). */
export function asArray(x: unknown): NDArray {
  if (x instanceof NDArray) return x;
  if (typeof x === "number" || typeof x === "boolean") return np.array(Number(x));
  throw new Error(`expected an array leaf, got ${String(x)}`);
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

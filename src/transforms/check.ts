/**
 * `checkGrads`: derivatives checked numerically, as `jax.test_util.check_grads` does. Forward
 * mode against central differences along random directions; reverse mode through the identity
 * ⟨u, J v⟩ = ⟨Jᵀu, v⟩; recursively to the requested order; all in float64.
 */
import type { NDArray } from "../core/array.js";
import { isFloating } from "../core/dtype.js";
import { GradientCheckError, ValueError } from "../core/errors.js";
import * as tree from "../core/tree.js";
import * as ops from "../primitives/ops.js";
import { fromStorage } from "../runtime/concrete.js";
import { jvp } from "./jvp.js";
import { toArrayLeaf } from "./leaves.js";
import { vjp } from "./grad.js";

/** Options of `checkGrads`. */
export interface CheckGradsOptions {
  /** Derivative order to check (1 or more; default 2). */
  order?: number;
  /** `"fwd"` (jvp), `"rev"` (vjp), or both (default). */
  modes?: readonly ("fwd" | "rev")[];
  /** Absolute tolerance (default 1e-5, scaled like JAX's for float64 checks). */
  atol?: number;
  /** Relative tolerance (default 1e-5). */
  rtol?: number;
  /** Finite-difference step (default 1e-4). */
  eps?: number;
  /** Seed of the random directions (default 0). */
  seed?: number;
}

type Leaves = NDArray[];

/** A small deterministic generator of numbers in [0, 1) (mulberry32), for directions. */
export function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomLike(x: NDArray, next: () => number): NDArray {
  const data = new Float64Array(x.size);
  for (let i = 0; i < data.length; i++) data[i] = next() * 2 - 1;
  return fromStorage(data, x.shape, "float64");
}

/** Integer outputs (and integer inputs' zero cotangents) have no derivative to check. */
const floatsOnly = (xs: Leaves): Leaves => xs.filter((x) => isFloating(x.dtype));

const toF64 = (x: NDArray): NDArray => (isFloating(x.dtype) ? ops.convert(x, "float64", false) : x);

function values(x: NDArray): Float64Array {
  return new Float64Array(x.toTypedArray());
}

function inner(a: Leaves, b: Leaves): number {
  let s = 0;
  a.forEach((x, i) => {
    const u = values(x);
    const v = values(b[i]!);
    for (let k = 0; k < u.length; k++) s += u[k]! * v[k]!;
  });
  return s;
}

function axpy(alpha: number, x: NDArray, y: NDArray): NDArray {
  return ops.add(y, ops.mul(x, ops.constant(alpha, "float64")));
}

interface Flat {
  f: (leaves: Leaves) => Leaves;
  primals: Leaves;
  argTree: tree.TreeDef;
}

function describe(arr: Float64Array): string {
  const shown = Array.from(arr.slice(0, 6), (v) => v.toPrecision(6)).join(", ");
  return `[${shown}${arr.length > 6 ? ", …" : ""}]`;
}

function compare(
  what: string,
  expected: Leaves,
  received: Leaves,
  atol: number,
  rtol: number,
): void {
  expected.forEach((e, i) => {
    const a = values(e);
    const b = values(received[i]!);
    let worst = 0;
    let bad = -1;
    for (let k = 0; k < a.length; k++) {
      const err = Math.abs(a[k]! - b[k]!);
      const allowed = atol + rtol * Math.abs(a[k]!);
      if (!(err <= allowed)) {
        const rel = err / Math.max(Math.abs(a[k]!), 1e-300);
        if (bad < 0 || rel > worst) {
          worst = rel;
          bad = k;
        }
      }
    }
    if (bad >= 0) {
      throw new GradientCheckError(
        "checkGrads",
        `${what}, output ${i}: expected ${describe(a)} but received ${describe(b)}; ` +
          `element ${bad} differs by ${Math.abs(a[bad]! - b[bad]!).toExponential(3)} ` +
          `(relative error ${worst.toExponential(3)}, atol ${atol}, rtol ${rtol}).`,
      );
    }
  });
}

/** Central-difference directional derivative of `f` at `x` along `v`. */
function numericJvp(f: Flat["f"], x: Leaves, v: Leaves, eps: number): Leaves {
  const plus = f(x.map((xi, i) => (isFloating(xi.dtype) ? axpy(eps, v[i]!, xi) : xi)));
  const minus = f(x.map((xi, i) => (isFloating(xi.dtype) ? axpy(-eps, v[i]!, xi) : xi)));
  return plus.map((p, i) =>
    ops.mul(ops.sub(toF64(p), toF64(minus[i]!)), ops.constant(1 / (2 * eps), "float64")),
  );
}

/** A direction that is random in argument `which` and zero elsewhere. */
function direction(x: Leaves, owner: readonly number[], which: number, next: () => number): Leaves {
  return x.map((xi, i) =>
    owner[i] === which && isFloating(xi.dtype)
      ? randomLike(xi, next)
      : ops.zerosLike({ shape: xi.shape, dtype: "float64" }),
  );
}

function checkAt(
  flat: Flat,
  owner: readonly number[],
  args: number,
  order: number,
  options: Required<CheckGradsOptions>,
  next: () => number,
): void {
  const { f, primals } = flat;
  const { eps, atol, rtol } = options;
  for (let which = 0; which < args; which++) {
    if (!primals.some((p, i) => owner[i] === which && isFloating(p.dtype))) continue;
    const v = direction(primals, owner, which, next);
    const label = (mode: string): string =>
      `argument ${which}, ${mode}, order ${options.order - order + 1}`;
    if (options.modes.includes("fwd")) {
      const [, tangents] = jvp((...ls: NDArray[]) => f(ls), primals, v);
      compare(
        label("forward mode (jvp vs central differences)"),
        numericJvp(f, primals, v, eps),
        (tangents as unknown as Leaves).map(toF64),
        atol,
        rtol,
      );
      if (order > 1) {
        const fPrime = (ls: Leaves): Leaves =>
          (jvp((...xs: NDArray[]) => f(xs), ls, v)[1] as unknown as Leaves).map(toF64);
        checkAt({ ...flat, f: fPrime }, owner, args, order - 1, options, next);
      }
    }
    if (options.modes.includes("rev")) {
      const [outs, back] = vjp((...ls: NDArray[]) => f(ls), ...primals);
      const outLeaves = outs as unknown as Leaves;
      const u = outLeaves.map((o) => randomLike(o, next));
      const cts = back(u as unknown as Leaves);
      const numeric = numericJvp(f, primals, v, eps);
      const expected = inner(u, numeric);
      const received = inner(cts.map(toF64), v);
      compare(
        label("reverse mode (⟨u, Jv⟩ vs ⟨Jᵀu, v⟩)"),
        [fromStorage(Float64Array.of(expected), [], "float64")],
        [fromStorage(Float64Array.of(received), [], "float64")],
        atol * Math.max(1, numeric.length),
        rtol,
      );
      if (order > 1) {
        const fPrime = (ls: Leaves): Leaves => {
          const [, b] = vjp((...xs: NDArray[]) => f(xs), ...ls);
          return floatsOnly(b(u as unknown as Leaves).map(toF64));
        };
        checkAt({ ...flat, f: fPrime }, owner, args, order - 1, options, next);
      }
    }
  }
}

/**
 * Checks `f`'s derivatives at `args` numerically, to `order`, in forward and/or reverse mode.
 * Computation is in float64 (float arguments are converted). Throws a `GradientCheckError`
 * naming the argument, the mode, the expected and received values and the relative error.
 * @example
 * checkGrads((x: NDArray) => np.sin(x).sum(), [np.array([0.1, 0.2])], { order: 2 });
 */
export function checkGrads(
  f: (...args: never[]) => unknown,
  args: readonly unknown[],
  options: CheckGradsOptions = {},
): void {
  const order = options.order ?? 2;
  if (!Number.isInteger(order) || order < 1)
    throw new ValueError("checkGrads", `order must be a positive integer, got ${order}.`);
  const full: Required<CheckGradsOptions> = {
    order,
    modes: options.modes ?? ["fwd", "rev"],
    atol: options.atol ?? 1e-5,
    rtol: options.rtol ?? 1e-5,
    eps: options.eps ?? 1e-4,
    seed: options.seed ?? 0,
  };
  const owner: number[] = [];
  const leaves: NDArray[] = [];
  args.forEach((a, i) => {
    for (const leaf of tree.leaves(a)) {
      leaves.push(toF64(toArrayLeaf("checkGrads", leaf, "argument")));
      owner.push(i);
    }
  });
  const argTree = tree.structure([...args]);
  const flatF = (ls: Leaves): Leaves => {
    const out = f(...(tree.unflatten(argTree, ls) as never[]));
    return floatsOnly(tree.leaves(out).map((l) => toF64(toArrayLeaf("checkGrads", l, "output"))));
  };
  checkAt(
    { f: flatF, primals: leaves, argTree },
    owner,
    args.length,
    order,
    full,
    generator(full.seed),
  );
}

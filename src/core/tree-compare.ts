/**
 * `tree.allclose`: whether two pytrees have the same structure and close leaves. Import it from
 * `tree.ts`, which re-exports it.
 */
import { isContainer } from "./tree-node.js";
import { flattenTree, flattenUpTo } from "./tree-walk.js";

/** Options of {@link allclose}. */
export interface AllcloseOptions {
  /** Relative tolerance (default `1e-5`). */
  rtol?: number;
  /** Absolute tolerance (default `1e-8`). */
  atol?: number;
  /** Whether `NaN` equals `NaN` (default `false`, as in NumPy). */
  equalNan?: boolean;
}

/**
 * Whether two pytrees have the same structure and every pair of leaves is close:
 * `|a - b| <= atol + rtol * |b|` elementwise, with exactly equal shapes.
 *
 * Numbers and booleans are scalars (shape `[]`); arrays (anything with `shape` and
 * `toTypedArray()`, such as `NDArray`) and typed arrays (shape `[length]`) compare elementwise;
 * other leaves compare with `Object.is`. dtypes are not compared. Object keys are matched by name.
 *
 * @param a the first tree.
 * @param b the second tree (the reference: `rtol` scales with its values).
 * @param options `rtol` (default `1e-5`), `atol` (default `1e-8`), `equalNan` (default `false`).
 * @returns `false` for different structures, rather than throwing.
 * @example
 * tree.allclose({ a: 1, b: [2] }, { a: 1 + 1e-9, b: [2] }); // true
 * tree.allclose([1, 2], [1, 2, 3]); // false
 */
export function allclose(a: unknown, b: unknown, options: AllcloseOptions = {}): boolean {
  const { rtol = 1e-5, atol = 1e-8, equalNan = false } = options;
  const [leavesA, root] = flattenTree("tree.allclose", a, undefined);
  const leavesB = flattenUpTo("tree.allclose", root, b);
  if (typeof leavesB === "string") return false;
  return leavesA.every((x, i) => {
    const y = leavesB[i];
    // Where `a` has a leaf, `b` must have one too, not a whole subtree.
    return !isContainer(y) && leavesClose(x, y, rtol, atol, equalNan);
  });
}

interface Numeric {
  shape: readonly number[];
  values: ArrayLike<number | bigint>;
}

function asNumeric(x: unknown): Numeric | undefined {
  if (typeof x === "number" || typeof x === "bigint") return { shape: [], values: [x] };
  if (typeof x === "boolean") return { shape: [], values: [x ? 1 : 0] };
  if (typeof x !== "object" || x === null) return undefined;
  if (ArrayBuffer.isView(x)) {
    if (x instanceof DataView) return undefined;
    const values = x as unknown as ArrayLike<number | bigint>;
    return { shape: [values.length], values };
  }
  if ("toTypedArray" in x && typeof x.toTypedArray === "function") {
    const shape: unknown = (x as { shape?: unknown }).shape;
    if (!Array.isArray(shape)) return undefined;
    const values = x.toTypedArray() as ArrayLike<number | bigint>;
    return { shape: shape as readonly number[], values };
  }
  return undefined;
}

function leavesClose(
  x: unknown,
  y: unknown,
  rtol: number,
  atol: number,
  equalNan: boolean,
): boolean {
  const p = asNumeric(x);
  const q = asNumeric(y);
  if (p === undefined || q === undefined) return p === q && Object.is(x, y);
  if (p.shape.length !== q.shape.length || p.shape.some((d, i) => d !== q.shape[i])) return false;
  if (p.values.length !== q.values.length) return false;
  for (let i = 0; i < p.values.length; i++) {
    const u = Number(p.values[i]);
    const v = Number(q.values[i]);
    if (u === v) continue;
    if (Number.isNaN(u) || Number.isNaN(v)) {
      if (equalNan && Number.isNaN(u) && Number.isNaN(v)) continue;
      return false;
    }
    // Infinities are close only to themselves (handled by `u === v` above).
    if (!Number.isFinite(u) || !Number.isFinite(v)) return false;
    if (!(Math.abs(u - v) <= atol + rtol * Math.abs(v))) return false;
  }
  return true;
}

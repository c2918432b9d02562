/**
 * `np.linalg`: norms, linear solves, inverses, determinants, and the Cholesky, QR, symmetric
 * eigen- and singular value decompositions (with what is built on them: `pinv`, `lstsq`,
 * `matrixRank`, `cond`), as NumPy has them, from the `lu`, `triangular_solve`, `cholesky`, `qr`,
 * `eigh` and `svd` primitives and `np` functions. Matrix functions act on the last two axes and
 * batch over the leading ones; integer and bool inputs are computed in float32.
 */
import type { ArrayLike, NDArray } from "../core/array.js";
import { ShapeError, ValueError } from "../core/errors.js";
import { formatShape, normalizeAxis } from "../core/shape.js";
import { bind, bind1, Tracer } from "../core/trace.js";
import * as la from "../primitives/linalg.js";
import * as eig from "../primitives/linalg-eigen.js";
import { svd as svdPrimitive } from "../primitives/linalg-svd.js";
import { diagonal } from "./contractions.js";
import { broadcastTo, convert, promote } from "./convert.js";
import { arange, eye, zeros } from "./creation.js";
import { get } from "./indexing.js";
import {
  abs,
  add,
  divide,
  log,
  multiply,
  notEqual,
  power,
  sign,
  sqrt,
  subtract,
  where,
} from "./math.js";
import { any, max, min, prod, sum } from "./reductions.js";
import { expandDims, moveaxis, reshape, swapaxes } from "./shape.js";

/** Operands promoted to one float dtype (float32 unless some operand is float64). */
function floatOperands(operation: string, xs: readonly ArrayLike[]): NDArray[] {
  return promote(operation, xs, true);
}

/** Checks that `a` is a square matrix or a stack of them; returns the matrix size. */
function checkSquare(operation: string, a: NDArray, what = "the matrix"): number {
  const n = a.shape[a.ndim - 1];
  if (a.ndim < 2 || a.shape[a.ndim - 2] !== n) {
    throw new ShapeError(
      operation,
      `${what} must be square in its last two axes (shape [..., n, n]), got shape ` +
        `${formatShape(a.shape)}.${a.ndim < 2 ? " A vector is not a matrix; reshape it first." : ""}`,
    );
  }
  return n!;
}

/** The batch shape of two stacks of matrices, broadcast; the error names both full shapes. */
function broadcastBatch(operation: string, a: NDArray, b: NDArray): number[] {
  const x = a.shape.slice(0, -2);
  const y = b.shape.slice(0, -2);
  const ndim = Math.max(x.length, y.length);
  const out: number[] = [];
  for (let i = 0; i < ndim; i++) {
    const p = x[x.length - ndim + i] ?? 1;
    const q = y[y.length - ndim + i] ?? 1;
    if (p !== q && p !== 1 && q !== 1) {
      throw new ShapeError(
        operation,
        `the batch axes of a (shape ${formatShape(a.shape)}) and b (shape ${formatShape(b.shape)}) ` +
          `cannot be broadcast together: ${formatShape(x)} against ${formatShape(y)}.`,
      );
    }
    out.push(p === 1 ? q : p);
  }
  return out;
}

/** `lu` of a stack of square matrices: `[lu, pivots, permutation]`. */
function luFactor(a: NDArray): [NDArray, NDArray, NDArray] {
  return bind(la.lu, [a], {}) as [NDArray, NDArray, NDArray];
}

/** Rows of `b` (`[..., m, k]`) reordered by `permutation` (`[..., m]`): `out[i] = b[perm[i]]`. */
function permuteRows(b: NDArray, permutation: NDArray): NDArray {
  const m = b.shape[b.ndim - 2]!;
  const k = b.shape[b.ndim - 1]!;
  const count = b.size / Math.max(1, m * k);
  if (b.size === 0) return b;
  // One gather over the flattened batch: global row = perm + m·(batch index).
  const offsets = reshape(multiply(arange(count), m), [count, 1]);
  const rows = reshape(add(reshape(permutation, [count, m]), offsets), [-1]);
  return reshape(get(reshape(b, [count * m, k]), [rows]), b.shape);
}

/** Solves `a·x = b` from `a`'s LU factors; `b` is `[..., m, k]` with `a`'s batch axes. */
function luSolve(lu: NDArray, permutation: NDArray, b: NDArray): NDArray {
  const y = bind1(la.triangularSolve, [lu, permuteRows(b, permutation)], {
    leftSide: true,
    lower: true,
    transposeA: false,
    unitDiagonal: true,
  });
  return bind1(la.triangularSolve, [lu, y], {
    leftSide: true,
    lower: false,
    transposeA: false,
    unitDiagonal: false,
  });
}

/**
 * Solves the linear system `a·x = b` for `x` (NumPy 2 semantics).
 * @param a square matrices, shape `[..., m, m]`.
 * @param b a vector `[m]` (then `x` is `[..., m]`) or matrices `[..., m, k]` (then `x` is
 *   `[..., m, k]`); batch axes broadcast against `a`'s.
 * @returns `x`. A singular `a` gives infinities or NaN rather than an error (as JAX).
 * @example
 * np.linalg.solve(np.array([[3, 1], [1, 2]]), np.array([9, 8])); // [2, 3]
 */
export function solve(a: ArrayLike, b: ArrayLike): NDArray {
  const name = "np.linalg.solve";
  const [x, y] = floatOperands(name, [a, b]) as [NDArray, NDArray];
  const m = checkSquare(name, x, "a");
  const vector = y.ndim === 1;
  const rows = y.shape[vector ? 0 : y.ndim - 2];
  if (y.ndim === 0 || rows !== m) {
    throw new ShapeError(
      name,
      `a has shape ${formatShape(x.shape)}, so b must be a vector of length ${m} or a stack of ` +
        `matrices with ${m} rows ([..., ${m}, k]); got shape ${formatShape(y.shape)}.`,
    );
  }
  const rhs = vector ? reshape(y, [m, 1]) : y;
  const batch = broadcastBatch(name, x, rhs);
  const k = rhs.shape[rhs.ndim - 1]!;
  const [lu, , permutation] = luFactor(broadcastTo(name, x, [...batch, m, m]));
  const out = luSolve(lu, permutation, broadcastTo(name, rhs, [...batch, m, k]));
  return vector ? reshape(out, out.shape.slice(0, -1)) : out;
}

/**
 * The inverse of a square matrix (or of each matrix in a stack).
 * @param a square matrices, shape `[..., n, n]`.
 * @returns `a⁻¹`, same shape. A singular matrix gives infinities or NaN (as JAX), not an error.
 * @example
 * np.linalg.inv(np.array([[2, 0], [0, 4]])); // [[0.5, 0], [0, 0.25]]
 */
export function inv(a: ArrayLike): NDArray {
  const name = "np.linalg.inv";
  const [x] = floatOperands(name, [a]) as [NDArray];
  const n = checkSquare(name, x);
  const [lu, , permutation] = luFactor(x);
  return luSolve(lu, permutation, broadcastTo(name, eye(n, { dtype: x.dtype }), x.shape));
}

/** The sign (±1, in `dtype`) of the row permutation that `pivots` describe: −1 per swap. */
function pivotSign(pivots: NDArray, dtype: NDArray["dtype"]): NDArray {
  const k = pivots.shape[pivots.ndim - 1]!;
  const swapped = notEqual(pivots, arange(k));
  return convert(prod(where(swapped, -1, 1), { axis: -1 }), dtype);
}

/**
 * The determinant of a square matrix (or of each matrix in a stack), from its LU factors:
 * the product of `U`'s diagonal times the sign of the row permutation.
 * @param a square matrices, shape `[..., n, n]`.
 * @returns the determinants, shape `[...]`.
 * @example
 * np.linalg.det(np.array([[1, 2], [3, 4]])); // -2
 */
export function det(a: ArrayLike): NDArray {
  const name = "np.linalg.det";
  const [x] = floatOperands(name, [a]) as [NDArray];
  checkSquare(name, x);
  const [lu, pivots] = luFactor(x);
  const u = diagonal(lu, { axis1: -2, axis2: -1 });
  return multiply(prod(u, { axis: -1 }), pivotSign(pivots, x.dtype));
}

/**
 * The sign and the natural log of the absolute value of the determinant, which stays finite
 * where `det` would overflow or underflow.
 * @param a square matrices, shape `[..., n, n]`.
 * @returns `[sign, logabsdet]`, each of shape `[...]`: `det = sign · exp(logabsdet)`. A singular
 *   matrix gives sign 0 and logabsdet -inf.
 * @example
 * const [sign, logabsdet] = np.linalg.slogdet(np.array([[1, 2], [3, 4]])); // -1, log(2)
 */
export function slogdet(a: ArrayLike): [NDArray, NDArray] {
  const name = "np.linalg.slogdet";
  const [x] = floatOperands(name, [a]) as [NDArray];
  checkSquare(name, x);
  const [lu, pivots] = luFactor(x);
  const u = diagonal(lu, { axis1: -2, axis2: -1 });
  const signs = multiply(prod(sign(u), { axis: -1 }), pivotSign(pivots, x.dtype));
  return [signs, sum(log(abs(u)), { axis: -1 })];
}

/**
 * The lower Cholesky factor `L` of a symmetric positive-definite matrix: `a = L·Lᵀ`.
 * As in JAX, `a` is first symmetrized as `(a + aᵀ) / 2`, and a matrix that is not positive
 * definite gives a factor full of NaN instead of an error.
 * @param a symmetric positive-definite matrices, shape `[..., n, n]`.
 * @returns `L`, lower triangular, same shape.
 * @example
 * np.linalg.cholesky(np.array([[4, 2], [2, 3]])); // [[2, 0], [1, 1.4142135]]
 */
export function cholesky(a: ArrayLike): NDArray {
  const name = "np.linalg.cholesky";
  const [x] = floatOperands(name, [a]) as [NDArray];
  checkSquare(name, x);
  const symmetric = multiply(add(x, swapaxes(x, -1, -2)), 0.5);
  return bind1(la.cholesky, [symmetric], {});
}

/**
 * Eigenvalues (ascending) and orthonormal eigenvectors (the columns) of symmetric matrices:
 * `a = V·diag(w)·Vᵀ`. As in JAX, `a` is first symmetrized as `(a + aᵀ) / 2`. Each eigenvector's
 * largest component is positive. Differentiable (for distinct eigenvalues) and batched.
 * @param a symmetric matrices, shape `[..., n, n]`.
 * @returns `[w, V]`: shapes `[..., n]` and `[..., n, n]`.
 * @example
 * const [w, v] = np.linalg.eigh(np.array([[2, 1], [1, 2]]));
 * console.log(w.toList()); // [1, 3]
 * console.log(v.shape); // [2, 2]
 */
export function eigh(a: ArrayLike): [NDArray, NDArray] {
  const name = "np.linalg.eigh";
  const [x] = floatOperands(name, [a]) as [NDArray];
  checkSquare(name, x);
  // The primitive decomposes the symmetric part (a + aᵀ)/2 itself.
  return bind(eig.eigh, [x], {}) as [NDArray, NDArray];
}

/** The eigenvalues of symmetric matrices, ascending (`eigh` without the vectors). */
export function eigvalsh(a: ArrayLike): NDArray {
  return eigh(a)[0];
}

/**
 * The reduced QR decomposition `a = Q·R`: Q `[..., m, k]` with orthonormal columns, R
 * `[..., k, n]` upper triangular, k = min(m, n) (Householder reflections; R's diagonal signs as
 * LAPACK's). Differentiable when m ≥ n and R is invertible; batched.
 * @example
 * const [q, r] = np.linalg.qr(np.array([[3, 1], [4, 2]]));
 * console.log(q.matmul(r).toList()); // [[3, 1], [4, 2]] (to rounding)
 * console.log(r.get(0, 0).item()); // -5
 */
export function qr(a: ArrayLike): [NDArray, NDArray] {
  const name = "np.linalg.qr";
  const [x] = floatOperands(name, [a]) as [NDArray];
  if (x.ndim < 2) {
    throw new ShapeError(
      name,
      `needs a matrix (or a stack of them), got shape ${formatShape(x.shape)}.`,
    );
  }
  return bind(eig.qr, [x], {}) as [NDArray, NDArray];
}

/** Options of `svd`. */
export interface SvdOptions {
  /** U `[..., m, m]` and Vᴴ `[..., n, n]` (true, NumPy's default), or m×k and k×n (false). */
  fullMatrices?: boolean;
  /** Whether to return U and Vᴴ (default true); without them the result is `s` alone. */
  computeUv?: boolean;
}

/**
 * The singular value decomposition `a = U·diag(s)·Vᴴ` (one-sided Jacobi in float64): `s`
 * descending, `[..., k]`, k = min(m, n). Returns `[U, s, Vᴴ]` as NumPy does, or `s` alone with
 * `computeUv: false`. Differentiable where the singular values are distinct and nonzero (with
 * `fullMatrices`, for square matrices only; `s` alone always).
 * @example
 * const [u, s, vh] = np.linalg.svd(np.array([[3, 0], [4, 5]]));
 * console.log(s.toList().map((v) => Math.round(v * 1e4) / 1e4)); // [6.7082, 2.2361]
 * console.log(u.matmul(np.diag(s)).matmul(vh).shape); // [2, 2]
 */
export function svd(a: ArrayLike, options: SvdOptions & { computeUv: false }): NDArray;
export function svd(a: ArrayLike, options?: SvdOptions): [NDArray, NDArray, NDArray];
export function svd(a: ArrayLike, options: SvdOptions = {}): NDArray | [NDArray, NDArray, NDArray] {
  const name = "np.linalg.svd";
  const [x] = floatOperands(name, [a]) as [NDArray];
  if (x.ndim < 2) {
    throw new ShapeError(
      name,
      `needs a matrix (or a stack of them), got shape ${formatShape(x.shape)}.`,
    );
  }
  if (options.computeUv === false) {
    return (bind(svdPrimitive, [x], { fullMatrices: false }) as NDArray[])[0]!;
  }
  const [s, u, vh] = bind(svdPrimitive, [x], { fullMatrices: options.fullMatrices ?? true }) as [
    NDArray,
    NDArray,
    NDArray,
  ];
  return [u, s, vh];
}

/** Singular values under `rcond`·(largest) count as zero in `pinv`, `lstsq` and `matrixRank`. */
function cutoff(s: NDArray, rcond: number | undefined, m: number, n: number): NDArray {
  const relative = rcond ?? 10 * Math.max(m, n) * (s.dtype === "float64" ? 2 ** -52 : 2 ** -23);
  return max(s, { axis: -1, keepdims: true }).mul(relative);
}

/**
 * The Moore–Penrose pseudo-inverse `V·diag(1/s)·Uᴴ` of `[..., m, n]` matrices, singular values
 * at most `rcond`·(largest) treated as zero (default 10·max(m, n)·ε, JAX's).
 * @example
 * np.linalg.pinv(np.array([[1, 2], [2, 4]])).shape; // [2, 2]
 */
export function pinv(a: ArrayLike, options: { rcond?: number } = {}): NDArray {
  const name = "np.linalg.pinv";
  const [x] = floatOperands(name, [a]) as [NDArray];
  const [u, s, vh] = svd(x, { fullMatrices: false });
  const m = x.shape[x.ndim - 2]!;
  const n = x.shape[x.ndim - 1]!;
  const keep = s.gt(cutoff(s, options.rcond, m, n));
  const inverse = where(keep, divide(1, where(keep, s, 1)), 0);
  return swapaxes(vh, -1, -2)
    .mul(expandDims(inverse, -2))
    .matmul(swapaxes(u, -1, -2));
}

/** The number of singular values above `tol` (default: the largest·max(m, n)·ε), as int32. */
export function matrixRank(a: ArrayLike, options: { tol?: number } = {}): NDArray {
  const name = "np.linalg.matrixRank";
  const [x] = floatOperands(name, [a]) as [NDArray];
  if (x.ndim < 2) return convert(any(x.ne(0)), "int32");
  const s = svd(x, { computeUv: false });
  const m = x.shape[x.ndim - 2]!;
  const n = x.shape[x.ndim - 1]!;
  const eps = x.dtype === "float64" ? 2 ** -52 : 2 ** -23;
  const tol = options.tol ?? max(s, { axis: -1, keepdims: true }).mul(Math.max(m, n) * eps);
  return sum(convert(s.gt(tol), "int32"), { axis: -1 });
}

/**
 * The least-squares solution of `a·x = b` (NumPy's `lstsq`): `[x, residuals, rank, s]`, x =
 * pinv(a)·b; `residuals` are the squared norms of the columns of `b − a·x` when `a` has full
 * column rank and more rows than columns (else empty), `rank` and the singular values `s` of `a`.
 */
export function lstsq(
  a: ArrayLike,
  b: ArrayLike,
  options: { rcond?: number } = {},
): [NDArray, NDArray, NDArray, NDArray] {
  const name = "np.linalg.lstsq";
  const [x, y] = floatOperands(name, [a, b]) as [NDArray, NDArray];
  if (x.ndim !== 2 || (y.ndim !== 1 && y.ndim !== 2) || y.shape[0] !== x.shape[0]) {
    throw new ShapeError(
      name,
      `needs a of shape [m, n] and b of shape [m] or [m, k], got ${formatShape(x.shape)} and ${formatShape(y.shape)}.`,
    );
  }
  const [m, n] = x.shape as [number, number];
  const s = svd(x, { computeUv: false });
  const solution = pinv(x, options).matmul(y);
  const rank = sum(convert(s.gt(cutoff(s, options.rcond, m, n)), "int32"));
  const rankValue = rank instanceof Tracer ? undefined : (rank.item() as number);
  const residuals =
    m > n && rankValue === n
      ? sum(power(subtract(y, x.matmul(solution)), 2), { axis: 0 }).reshape(
          y.ndim === 1 ? [1] : [y.shape[1]!],
        )
      : zeros([0], { dtype: x.dtype });
  return [solution, residuals, rank, s];
}

/** The 2-norm condition number σ_max/σ_min of matrices (`[..., m, n]`). */
export function cond(a: ArrayLike): NDArray {
  const s = svd(floatOperands("np.linalg.cond", [a])[0]!, { computeUv: false });
  return max(s, { axis: -1 }).div(min(s, { axis: -1 }));
}

/** The order of a norm: a number (including ±Infinity), `"fro"` or `"nuc"`. */
export type NormOrder = number | "fro" | "nuc";

/** Options of `norm`. */
export interface NormOptions {
  /**
   * Vectors: 2 (default), 1, Infinity, -Infinity, 0 (count of non-zeros) or any other p.
   * Matrices: `"fro"` (default), `"nuc"` (the sum of the singular values), 1, -1, 2 (the largest
   * singular value), -2 (the smallest), Infinity, -Infinity.
   */
  ord?: NormOrder | null;
  /**
   * One axis (vector norms) or two (matrix norms). By default a 1-D array gets a vector norm,
   * a 2-D array a matrix norm, and with no `ord` either, any array the 2-norm of all elements.
   */
  axis?: number | readonly number[] | null;
  /** Keep the reduced axes as axes of size 1 (default false). */
  keepdims?: boolean;
}

function describeOrd(ord: unknown): string {
  return typeof ord === "string" ? `"${ord}"` : String(ord);
}

function vectorNormAlong(
  name: string,
  x: NDArray,
  axis: number,
  ord: NormOrder,
  keep: boolean,
): NDArray {
  const options = { axis, keepdims: keep };
  if (typeof ord === "string") {
    throw new ValueError(
      name,
      `ord ${describeOrd(ord)} is a matrix norm, but a vector norm was asked for (one axis); ` +
        `use a number, Infinity or -Infinity, or give two axes.`,
    );
  }
  if (ord === 2) return sqrt(sum(multiply(x, x), options));
  if (ord === Infinity) return max(abs(x), options);
  if (ord === -Infinity) return min(abs(x), options);
  if (ord === 0) return sum(convert(notEqual(x, 0), x.dtype), options);
  if (ord === 1) return sum(abs(x), options);
  if (Number.isNaN(ord)) throw new ValueError(name, `ord must not be NaN.`);
  return power(sum(power(abs(x), ord), options), 1 / ord);
}

function matrixNormOver(
  name: string,
  x: NDArray,
  [row, col]: readonly [number, number],
  ord: NormOrder,
  keep: boolean,
): NDArray {
  let out: NDArray;
  // Every branch keeps both axes; they are dropped at the end unless `keepdims`.
  const reduce = (f: typeof max, inner: number, outer: number): NDArray =>
    f(sum(abs(x), { axis: inner, keepdims: true }), { axis: outer, keepdims: true });
  if (ord === "fro") out = sqrt(sum(multiply(x, x), { axis: [row, col], keepdims: true }));
  else if (ord === 1) out = reduce(max, row, col);
  else if (ord === -1) out = reduce(min, row, col);
  else if (ord === Infinity) out = reduce(max, col, row);
  else if (ord === -Infinity) out = reduce(min, col, row);
  else if (ord === "nuc" || ord === 2 || ord === -2) {
    // The singular values of the matrices on axes (row, col), moved last.
    const moved = moveaxis(x, [row, col], [-2, -1]);
    const s = svd(moved, { computeUv: false });
    const value =
      ord === "nuc"
        ? sum(s, { axis: -1 })
        : ord === 2
          ? max(s, { axis: -1 })
          : min(s, { axis: -1 });
    out = expandDims(expandDims(value, Math.min(row, col)), Math.max(row, col));
  } else {
    throw new ValueError(
      name,
      `ord ${describeOrd(ord)} is not a matrix norm; use "fro", "nuc", 1, -1, 2, -2, Infinity or -Infinity.`,
    );
  }
  return keep
    ? out
    : reshape(
        out,
        x.shape.filter((_, i) => i !== row && i !== col),
      );
}

/**
 * A vector or matrix norm, with NumPy's `ord`, `axis` and `keepdims`.
 * @param x the array (integer inputs are computed in float32).
 * @param options `ord` (see {@link NormOptions}), `axis` (one axis: vector norm; two: matrix
 *   norm), `keepdims`.
 * @returns the norms, with the reduced axes removed (or kept as size 1 with `keepdims`).
 * @example
 * np.linalg.norm(np.array([3, 4])); // 5
 * np.linalg.norm(np.array([[1, -2], [3, 4]]), { ord: 1 }); // 6 (largest column sum)
 * np.linalg.norm(np.ones([2, 3]), { axis: 1 }); // [1.7320508, 1.7320508]
 */
export function norm(x: ArrayLike, options: NormOptions = {}): NDArray {
  const name = "np.linalg.norm";
  const [a] = floatOperands(name, [x]) as [NDArray];
  const ord = options.ord ?? null;
  const keep = options.keepdims === true;
  if (ord !== null && typeof ord !== "number" && ord !== "fro" && ord !== "nuc") {
    throw new ValueError(
      name,
      `ord must be a number, Infinity, -Infinity, "fro" or "nuc", got ${JSON.stringify(ord)}.`,
    );
  }
  let axes: number[];
  if (options.axis === undefined || options.axis === null) {
    if (ord === null) {
      const out = sqrt(sum(multiply(a, a)));
      return keep
        ? reshape(
            out,
            a.shape.map(() => 1),
          )
        : out;
    }
    if (a.ndim !== 1 && a.ndim !== 2) {
      throw new ValueError(
        name,
        `with ord ${describeOrd(ord)} and no axis, the array must be 1-D or 2-D, got shape ` +
          `${formatShape(a.shape)}; give axis (one axis or two).`,
      );
    }
    axes = a.ndim === 1 ? [0] : [0, 1];
  } else {
    const list = typeof options.axis === "number" ? [options.axis] : [...options.axis];
    axes = list.map((ax) => normalizeAxis(name, ax, a.ndim));
  }
  if (axes.length === 1) return vectorNormAlong(name, a, axes[0]!, ord ?? 2, keep);
  if (axes.length === 2) {
    if (axes[0] === axes[1]) {
      throw new ValueError(
        name,
        `the two axes of a matrix norm must differ, got ${axes[0]} twice.`,
      );
    }
    return matrixNormOver(name, a, [axes[0]!, axes[1]!], ord ?? "fro", keep);
  }
  throw new ValueError(
    name,
    `axis must be one axis (a vector norm) or two (a matrix norm), got ${JSON.stringify(options.axis)}.`,
  );
}

/**
 * `a` multiplied by itself `n` times (`n` an integer; 0 gives the identity, negative powers the
 * inverse's), by repeated squaring.
 * @example
 * np.linalg.matrixPower(np.array([[1, 1], [0, 1]]), 3).toList(); // [[1, 3], [0, 1]]
 */
export function matrixPower(a: ArrayLike, n: number): NDArray {
  const name = "np.linalg.matrixPower";
  if (!Number.isInteger(n)) throw new ValueError(name, `n must be an integer, got ${n}.`);
  const [x] = promote(name, [a]) as [NDArray];
  const size = checkSquare(name, x);
  let base = n < 0 ? inv(x) : x;
  let result: NDArray | undefined;
  for (let k = Math.abs(n); k > 0; k >>= 1) {
    if (k & 1) result = result === undefined ? base : result.matmul(base);
    if (k > 1) base = base.matmul(base);
  }
  return result ?? broadcastTo(name, eye(size, { dtype: x.dtype }), x.shape);
}

/** The product of a list of matrices, left to right (the first and last may be vectors). */
export function multiDot(arrays: readonly ArrayLike[]): NDArray {
  const name = "np.linalg.multiDot";
  if (!Array.isArray(arrays) || arrays.length < 2) {
    throw new ValueError(name, "expects a list of at least two arrays.");
  }
  const xs = promote(name, arrays);
  return xs.slice(1).reduce((acc, x) => acc.matmul(x), xs[0]!);
}

/** The vector norm over `axis` (all elements by default), NumPy 2's `vector_norm`. */
export function vectorNorm(
  x: ArrayLike,
  options: { ord?: number; axis?: number | null; keepdims?: boolean } = {},
): NDArray {
  const [a] = floatOperands("np.linalg.vectorNorm", [x]) as [NDArray];
  if (options.axis === undefined || options.axis === null) {
    const flat = norm(reshape(a, [a.size]), { ord: options.ord ?? 2 });
    return options.keepdims === true
      ? reshape(
          flat,
          a.shape.map(() => 1),
        )
      : flat;
  }
  return norm(a, {
    ord: options.ord ?? 2,
    axis: options.axis,
    keepdims: options.keepdims ?? false,
  });
}

/** The matrix norm over the last two axes, NumPy 2's `matrix_norm` (default `"fro"`). */
export function matrixNorm(
  x: ArrayLike,
  options: { ord?: NormOrder; keepdims?: boolean } = {},
): NDArray {
  return norm(x, {
    ord: options.ord ?? "fro",
    axis: [-2, -1],
    keepdims: options.keepdims ?? false,
  });
}

/**
 * The singular value decomposition `svd`, batched over leading axes like the other
 * linear-algebra primitives: one-sided Jacobi in float64, full or reduced factors, with JAX's
 * derivative rule.
 */
import type { NDArray } from "../core/array.js";
import { AbstractValue } from "../core/aval.js";
import { ValueError } from "../core/errors.js";
import { definePrimitive, type Primitive, type PrimitiveExample } from "../core/primitive.js";
import { bind } from "../core/trace.js";
import type { ConcreteArray } from "../runtime/concrete.js";
import { example, range, rotatePair } from "./linalg-eigen.js";
import { batchMatmul, checkMatrix, float64Data, keepWhere } from "./linalg.js";
import * as ops from "./ops.js";
import { concrete, output } from "./util.js";

/** Parameters of `svd`. */
export interface SvdParams {
  /** U is m×m and Vᴴ n×n (true), or m×k and k×n, k = min(m, n) (false). */
  fullMatrices: boolean;
}

/**
 * Replaces the columns of the rows×cols matrix `u` (row-major) marked in `fill` by unit vectors
 * orthogonal to all the others (Gram–Schmidt on the standard basis, twice for stability).
 */
function completeBasis(
  u: Float64Array,
  rows: number,
  cols: number,
  fill: readonly boolean[],
): void {
  let candidate = 0;
  for (let c = 0; c < cols; c++) {
    if (!fill[c]) continue;
    for (; candidate < rows; candidate++) {
      const x = new Float64Array(rows);
      x[candidate] = 1;
      for (let pass = 0; pass < 2; pass++) {
        for (let o = 0; o < cols; o++) {
          if (o === c || (fill[o] && o > c)) continue;
          let dot = 0;
          for (let i = 0; i < rows; i++) dot += u[i * cols + o]! * x[i]!;
          for (let i = 0; i < rows; i++) x[i] = x[i]! - dot * u[i * cols + o]!;
        }
      }
      let norm = 0;
      for (let i = 0; i < rows; i++) norm += x[i]! ** 2;
      norm = Math.sqrt(norm);
      if (norm > 1e-8) {
        for (let i = 0; i < rows; i++) u[i * cols + c] = x[i]! / norm;
        candidate++;
        break;
      }
    }
  }
}

/**
 * One-sided Jacobi SVD of the m×n matrix at `a[base…]` (m ≥ n; the caller transposes wide
 * ones): singular values descending into `s`, U (m×uCols) and V (n×n). Each V column's largest
 * component is made positive (U's column follows), so the factors are continuous in `a` where
 * the singular values are distinct and nonzero.
 */
function jacobiSvd(
  a: Float64Array,
  m: number,
  n: number,
  uCols: number,
  s: Float64Array,
  u: Float64Array,
  v: Float64Array,
): void {
  const w = a.slice();
  const q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  if (!w.every(Number.isFinite)) {
    s.fill(NaN);
    u.fill(NaN);
    v.fill(NaN);
    return;
  }
  for (let sweep = 0; sweep < 100; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let r = p + 1; r < n; r++) {
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let k = 0; k < m; k++) {
          const x = w[k * n + p]!;
          const y = w[k * n + r]!;
          alpha += x * x;
          beta += y * y;
          gamma += x * y;
        }
        if (gamma === 0 || Math.abs(gamma) <= 1e-16 * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const sn = c * t;
        rotatePair(w, p, r, n, m, c, sn);
        rotatePair(q, p, r, n, n, c, sn);
      }
    }
    if (!rotated) break;
  }
  const norms = range(n).map((j) => {
    let sum = 0;
    for (let k = 0; k < m; k++) sum += w[k * n + j]! ** 2;
    return Math.sqrt(sum);
  });
  const order = range(n).sort((i, j) => norms[j]! - norms[i]! || i - j);
  const largest = norms[order[0] ?? 0] ?? 0;
  const zero: boolean[] = new Array<boolean>(uCols).fill(false);
  order.forEach((col, k) => {
    s[k] = norms[col]!;
    let big = 0;
    for (let i = 1; i < n; i++)
      if (Math.abs(q[i * n + col]!) > Math.abs(q[big * n + col]!)) big = i;
    const sign = q[big * n + col]! < 0 ? -1 : 1;
    for (let i = 0; i < n; i++) v[i * n + k] = sign * q[i * n + col]!;
    // A zero singular value has no left vector of its own: one is made orthogonal to the others.
    const tiny = norms[col]! <= largest * m * 2 ** -52 || norms[col]! === 0;
    zero[k] = tiny;
    for (let i = 0; i < m; i++)
      u[i * uCols + k] = tiny ? 0 : (sign * w[i * n + col]!) / norms[col]!;
  });
  for (let k = n; k < uCols; k++) zero[k] = true;
  if (zero.some(Boolean)) completeBasis(u, m, uCols, zero);
}

function svdExamples(): PrimitiveExample<SvdParams>[] {
  const cases: [readonly number[], readonly number[]][] = [
    [
      [3, 2],
      [2, 1, 0.5, 3, 1, -1],
    ],
    [
      [2, 3],
      [2, 1, 0.5, 3, 1, -1],
    ],
    [
      [3, 3],
      [4, 1, 0.5, 1, 3, 0.2, 0.5, -0.7, 2],
    ],
    [
      [2, 2, 2],
      [3, 1, 0.5, -2, 1, 2, -0.5, 4],
    ],
    [[1, 1], [2]],
  ];
  return [
    ...cases.map(([shape, values]) => ({
      inputs: [example(shape, values)],
      params: { fullMatrices: false },
    })),
    {
      inputs: [example([3, 3], [4, 1, 0.5, 1, 3, 0.2, 0.5, -0.7, 2])],
      params: { fullMatrices: true },
    },
  ];
}

/**
 * The singular value decomposition `a = U·diag(s)·Vᴴ` of matrices `[..., m, n]`: `s` descending
 * `[..., k]`, U `[..., m, k]` (m×m with `fullMatrices`), Vᴴ `[..., k, n]` (n×n), k = min(m, n),
 * by one-sided Jacobi in float64. Differentiable (JAX's rule) for distinct nonzero singular values
 * and, with `fullMatrices`, square matrices.
 */
export const svd: Primitive<SvdParams> = definePrimitive<SvdParams>({
  name: "svd",
  examples: svdExamples,
  linear: false,
  jvp([a], [t], params) {
    const [s, u, vh] = bind(svd, [a!], params) as [NDArray, NDArray, NDArray];
    if (t === null || t === undefined)
      return [
        [s, u, vh],
        [null, null, null],
      ];
    const nd = t.ndim;
    const nb = nd - 2;
    const m = t.shape[nd - 2]!;
    const n = t.shape[nd - 1]!;
    if (params.fullMatrices && m !== n) {
      throw new ValueError(
        "svd",
        `the derivative of a full-matrices SVD exists only for square matrices, got ${m}×${n}; use fullMatrices: false.`,
      );
    }
    const k = Math.min(m, n);
    const swap = [...range(nb), nd - 1, nd - 2];
    const T = (x: NDArray): NDArray => ops.transpose(x, swap);
    const v = T(vh);
    const ut = T(u);
    const dS = batchMatmul(batchMatmul(ut, t), v);
    const ds = ops.reduceSum(
      keepWhere((i, j) => i === j, dS),
      [nd - 1],
    );
    const kk = [...t.shape.slice(0, nb), k, k];
    const sRow = ops.broadcast(s, kk, [...range(nb), nd - 1]); // s_j
    const sCol = ops.broadcast(s, kk, [...range(nb), nd - 2]); // s_i
    const eye = keepWhere((i, j) => i === j, ops.fill(ops.constant(1, t), kk));
    const diffs = ops.mul(ops.add(sRow, sCol), ops.sub(sRow, sCol));
    const f = ops.sub(ops.div(ops.constant(1, t), ops.add(diffs, eye)), eye);
    const dSS = ops.mul(sRow, dS);
    const sdS = ops.mul(sCol, dS);
    const sZero = ops.convert(ops.eq(s, ops.constant(0, s)), t.dtype, false);
    const sInv = ops.sub(ops.div(ops.constant(1, t), ops.add(s, sZero)), sZero);
    const sInvMat = keepWhere((i, j) => i === j, ops.broadcast(sInv, kk, [...range(nb), nd - 1]));
    const half = ops.mul(ops.mul(ops.sub(dS, T(dS)), ops.constant(0.5, t)), sInvMat);
    let dU = batchMatmul(u, ops.add(ops.mul(f, ops.add(dSS, T(dSS))), half));
    let dV = batchMatmul(v, ops.mul(f, ops.add(sdS, T(sdS))));
    const sBy = (rows: number): NDArray =>
      ops.broadcast(s, [...t.shape.slice(0, nb), rows, k], [...range(nb), nd - 1]);
    if (m > n) {
      const dAV = batchMatmul(t, v);
      dU = ops.add(dU, ops.div(ops.sub(dAV, batchMatmul(u, batchMatmul(ut, dAV))), sBy(m)));
    }
    if (n > m) {
      const dAtU = batchMatmul(T(t), u);
      dV = ops.add(dV, ops.div(ops.sub(dAtU, batchMatmul(v, batchMatmul(vh, dAtU))), sBy(n)));
    }
    return [
      [s, u, vh],
      [ds, dU, T(dV)],
    ];
  },
  batch([a], [axis], params) {
    return [bind(svd, [ops.moveAxis(a!, axis!, 0)], params), [0, 0, 0]];
  },
  abstractEval([a], { fullMatrices }) {
    const { batch, rows, cols } = checkMatrix("svd", a!, "the operand", false);
    const k = Math.min(rows, cols);
    const avalOf = (shape: readonly number[]): AbstractValue =>
      new AbstractValue(shape, a!.dtype, a!.weakType);
    return [
      avalOf([...batch, k]),
      avalOf([...batch, rows, fullMatrices ? rows : k]),
      avalOf([...batch, fullMatrices ? cols : k, cols]),
    ];
  },
  impl(inputs, { fullMatrices }) {
    const [a] = concrete(inputs) as [ConcreteArray];
    const m = a.shape[a.ndim - 2]!;
    const n = a.shape[a.ndim - 1]!;
    const k = Math.min(m, n);
    const batch = a.shape.slice(0, -2);
    const count = batch.reduce((p, d) => p * d, 1);
    const data = float64Data(a);
    const uCols = fullMatrices ? m : k;
    const vRows = fullMatrices ? n : k;
    const s = new Float64Array(count * k);
    const u = new Float64Array(count * m * uCols);
    const vh = new Float64Array(count * vRows * n);
    // Wide matrices: the SVD of the transpose, with U and V exchanged.
    const wide = m < n;
    const [rows, cols] = wide ? [n, m] : [m, n];
    const leftCols = fullMatrices ? rows : k;
    for (let b = 0; b < count; b++) {
      const block = new Float64Array(rows * cols);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          block[wide ? j * m + i : i * n + j] = data[b * m * n + i * n + j]!;
        }
      }
      const sb = new Float64Array(cols);
      const left = new Float64Array(rows * leftCols);
      const right = new Float64Array(cols * cols);
      if (rows * cols > 0) jacobiSvd(block, rows, cols, leftCols, sb, left, right);
      s.set(sb.subarray(0, k), b * k);
      // U = left (m×uCols) or right (when wide); Vᴴ = rightᵀ or leftᵀ (first vRows rows).
      const [uSrc, uSrcCols, vSrc, vSrcCols] = wide
        ? [right, cols, left, leftCols]
        : [left, leftCols, right, cols];
      for (let i = 0; i < m; i++)
        for (let c = 0; c < uCols; c++) u[b * m * uCols + i * uCols + c] = uSrc[i * uSrcCols + c]!;
      for (let r = 0; r < vRows; r++)
        for (let c = 0; c < n; c++) vh[b * vRows * n + r * n + c] = vSrc[c * vSrcCols + r]!;
    }
    return [
      output([...batch, k], a.dtype, a.weakType, (out) => out.set(s)),
      output([...batch, m, uCols], a.dtype, a.weakType, (out) => out.set(u)),
      output([...batch, vRows, n], a.dtype, a.weakType, (out) => out.set(vh)),
    ];
  },
});

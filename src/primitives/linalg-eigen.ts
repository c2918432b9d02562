/**
 * The symmetric eigendecomposition `eigh` and the QR decomposition `qr`, batched over leading
 * axes like the other linear-algebra primitives (the SVD is in `linalg-svd.ts`). `eigh`:
 * eigenvalues in ascending order and orthonormal eigenvectors as columns, by the cyclic Jacobi method in float64 (accurate to a few ulps of the largest
 * eigenvalue, every eigenvector to working precision), each eigenvector's sign chosen so that
 * its largest component is positive (so the result is a continuous function of the matrix where
 * the eigenvalues are distinct, as derivatives need).
 */
import type { NDArray } from "../core/array.js";
import { AbstractValue } from "../core/aval.js";
import type { ExampleInput, PrimitiveExample } from "../core/primitive.js";
import { definePrimitive, type Primitive } from "../core/primitive.js";
import { bind, bind1 } from "../core/trace.js";
import { ValueError } from "../core/errors.js";
import type { ConcreteArray } from "../runtime/concrete.js";
import { batchMatmul, checkMatrix, float64Data, keepWhere, triangularSolve } from "./linalg.js";
import * as ops from "./ops.js";
import { concrete, output } from "./util.js";

type Empty = Record<string, never>;

/** 0, 1, …, n − 1. @internal */
export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/**
 * Rotates two lines of a row-major matrix: the elements at `first + k·step` and
 * `second + k·step`, k < `count`, become c·x − s·y and s·x + c·y (two columns of an n-wide
 * matrix: step n; two rows: step 1). @internal
 */
export function rotatePair(
  m: Float64Array,
  first: number,
  second: number,
  step: number,
  count: number,
  c: number,
  s: number,
): void {
  for (let k = 0; k < count; k++) {
    const x = m[first + k * step]!;
    const y = m[second + k * step]!;
    m[first + k * step] = c * x - s * y;
    m[second + k * step] = s * x + c * y;
  }
}

/**
 * Eigen-decomposes the symmetric part of the n×n matrix at `a[base…]` into ascending
 * eigenvalues `w[wBase…]` and eigenvector columns `v[base…]`.
 */
function jacobi(
  a: Float64Array,
  base: number,
  n: number,
  w: Float64Array,
  wBase: number,
  v: Float64Array,
): void {
  const m = new Float64Array(n * n);
  let finite = true;
  // The symmetric part (a + aᵀ)/2: what the eigenvalues of a symmetric matrix are defined on.
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      m[i * n + j] = (a[base + i * n + j]! + a[base + j * n + i]!) / 2;
      if (!Number.isFinite(m[i * n + j]!)) finite = false;
    }
  }
  if (!finite) {
    w.fill(NaN, wBase, wBase + n);
    v.fill(NaN, base, base + n * n);
    return;
  }
  const q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  let total = 0;
  for (let i = 0; i < n * n; i++) total += m[i]! * m[i]!;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += m[i * n + j]! ** 2;
    if (off <= 1e-34 * total) break;
    for (let p = 0; p < n - 1; p++) {
      for (let r = p + 1; r < n; r++) {
        const apr = m[p * n + r]!;
        if (apr === 0) continue;
        const theta = (m[r * n + r]! - m[p * n + p]!) / (2 * apr);
        const t =
          theta === 0 ? 1 : Math.sign(theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        // A ← Jᵀ·A·J, J the rotation in the (p, r) plane (columns, then rows); Q ← Q·J.
        rotatePair(m, p, r, n, n, c, s);
        rotatePair(m, p * n, r * n, 1, n, c, s);
        rotatePair(q, p, r, n, n, c, s);
      }
    }
  }
  const order = range(n).sort((i, j) => m[i * n + i]! - m[j * n + j]! || i - j);
  order.forEach((col, k) => {
    w[wBase + k] = m[col * n + col]!;
    // The sign that makes the largest component (the first of equal ones) positive.
    let big = 0;
    for (let i = 1; i < n; i++)
      if (Math.abs(q[i * n + col]!) > Math.abs(q[big * n + col]!)) big = i;
    const sign = q[big * n + col]! < 0 ? -1 : 1;
    for (let i = 0; i < n; i++) v[base + i * n + k] = sign * q[i * n + col]!;
  });
}

/** A float32 example operand with fixed values. @internal */
export const example = (shape: readonly number[], values: readonly number[]): ExampleInput => ({
  shape,
  dtype: "float32",
  values,
});

/** One-operand examples without parameters, from [shape, values] pairs. */
const matrices = (
  cases: readonly (readonly [readonly number[], readonly number[]])[],
): PrimitiveExample<Empty>[] =>
  cases.map(([shape, values]) => ({ inputs: [example(shape, values)], params: {} }));

/** Symmetric matrices with well-separated eigenvalues (finite differences stay smooth). */
function eighExamples(): PrimitiveExample<Empty>[] {
  return matrices([
    [[1, 1], [2]],
    [
      [2, 2],
      [2, 1, 1, 3],
    ],
    [
      [3, 3],
      [4, 1, 0.5, 1, 2, -0.3, 0.5, -0.3, -1],
    ],
    [
      [2, 2, 2],
      [1, 0.5, 0.5, -2, 3, -1, -1, 0.5],
    ],
    [[0, 0], []],
  ] as const);
}

/**
 * Eigenvalues (ascending, `[..., n]`) and eigenvectors (columns of `[..., n, n]`) of the
 * symmetric part (a + aᵀ)/2 of matrices `[..., n, n]` (so a symmetric matrix is itself). A
 * matrix with inf or NaN gives NaN.
 */
export const eigh: Primitive<Empty> = definePrimitive<Empty>({
  name: "eigh",
  examples: eighExamples,
  linear: false,
  jvp([a], [t]) {
    const [w, v] = bind(eigh, [a!], {}) as [NDArray, NDArray];
    if (t === null || t === undefined)
      return [
        [w, v],
        [null, null],
      ];
    // For distinct eigenvalues (JAX's rule): with M = Vᵀ·sym(Ȧ)·V, ẇ = diag(M) and
    // V̇ = V·(F ∘ M), F_ij = 1/(w_j − w_i) off the diagonal and 0 on it.
    const nd = t.ndim;
    const nb = nd - 2;
    const n = t.shape[nd - 1]!;
    const swap = [...range(nb), nd - 1, nd - 2];
    const symmetric = ops.mul(ops.add(t, ops.transpose(t, swap)), ops.constant(0.5, t));
    const m = batchMatmul(batchMatmul(ops.transpose(v, swap), symmetric), v);
    const wDot = ops.reduceSum(
      keepWhere((i, j) => i === j, m),
      [nd - 1],
    );
    const shape = [...t.shape.slice(0, nb), n, n];
    const wj = ops.broadcast(w, shape, [...range(nb), nd - 1]);
    const wi = ops.broadcast(w, shape, [...range(nb), nd - 2]);
    // 1/(eye + w_j − w_i) − eye: no division by zero on the diagonal, even in derivatives.
    const eye = keepWhere((i, j) => i === j, ops.fill(ops.constant(1, t), shape));
    const f = ops.sub(ops.div(ops.constant(1, t), ops.add(eye, ops.sub(wj, wi))), eye);
    return [
      [w, v],
      [wDot, batchMatmul(v, ops.mul(f, m))],
    ];
  },
  batch([a], [axis]) {
    return [bind(eigh, [ops.moveAxis(a!, axis!, 0)], {}), [0, 0]];
  },
  abstractEval([a]) {
    const { batch, rows } = checkMatrix("eigh", a!, "the operand", true);
    return [
      new AbstractValue([...batch, rows], a!.dtype, a!.weakType),
      new AbstractValue(a!.shape, a!.dtype, a!.weakType),
    ];
  },
  impl(inputs) {
    const [a] = concrete(inputs) as [ConcreteArray];
    const n = a.shape[a.ndim - 1]!;
    const data = float64Data(a);
    const count = n === 0 ? 0 : data.length / (n * n);
    const w = new Float64Array(count * n);
    const v = new Float64Array(data.length);
    for (let b = 0; b < count; b++) jacobi(data, b * n * n, n, w, b * n, v);
    return [
      output([...a.shape.slice(0, -1)], a.dtype, a.weakType, (out) => out.set(w)),
      output(a.shape, a.dtype, a.weakType, (out) => out.set(v)),
    ];
  },
});

/**
 * Householder QR of the m×n matrix at `a[base…]` (m ≥ n not required): Q (m×k, orthonormal
 * columns) at `q[qBase…]` and R (k×n, upper triangular) at `r[rBase…]`, k = min(m, n). The
 * reflection of column j maps it to −sign(a_jj)·‖·‖, and a column with nothing below the
 * diagonal is left as it is (LAPACK's conventions, so R equals LAPACK's), so the factors move
 * continuously with `a`.
 */
function householder(
  a: Float64Array,
  base: number,
  m: number,
  n: number,
  q: Float64Array,
  qBase: number,
  r: Float64Array,
  rBase: number,
): void {
  const k = Math.min(m, n);
  const work = a.slice(base, base + m * n);
  const full = new Float64Array(m * m);
  for (let i = 0; i < m; i++) full[i * m + i] = 1;
  const v = new Float64Array(m);
  for (let j = 0; j < k; j++) {
    // No reflection where nothing lies below the diagonal (LAPACK's τ = 0: a 1-element column
    // keeps its sign, as the last one of a square matrix does).
    let below = 0;
    for (let i = j + 1; i < m; i++) below += work[i * n + j]! ** 2;
    if (below === 0) continue;
    const x0 = work[j * n + j]!;
    const norm = Math.sqrt(below + x0 * x0);
    const alpha = x0 >= 0 ? -norm : norm;
    let vv = 0;
    for (let i = j; i < m; i++) {
      v[i] = work[i * n + j]! - (i === j ? alpha : 0);
      vv += v[i]! ** 2;
    }
    if (vv === 0) continue;
    // R ← H·R and Q ← Q·H, H = I − 2·v·vᵀ/(vᵀv) acting on rows/columns j…m−1.
    for (let c = j; c < n; c++) {
      let dot = 0;
      for (let i = j; i < m; i++) dot += v[i]! * work[i * n + c]!;
      const f = (2 * dot) / vv;
      for (let i = j; i < m; i++) work[i * n + c] = work[i * n + c]! - f * v[i]!;
    }
    for (let row = 0; row < m; row++) {
      let dot = 0;
      for (let i = j; i < m; i++) dot += full[row * m + i]! * v[i]!;
      const f = (2 * dot) / vv;
      for (let i = j; i < m; i++) full[row * m + i] = full[row * m + i]! - f * v[i]!;
    }
  }
  for (let i = 0; i < m; i++) for (let c = 0; c < k; c++) q[qBase + i * k + c] = full[i * m + c]!;
  for (let i = 0; i < k; i++) {
    for (let c = 0; c < n; c++) r[rBase + i * n + c] = c < i ? 0 : work[i * n + c]!;
  }
}

function qrExamples(): PrimitiveExample<Empty>[] {
  return matrices([
    [
      [3, 2],
      [2, 1, 0.5, 3, 1, -1],
    ],
    [
      [3, 3],
      [4, 1, 0.5, 1, 3, 0.2, 0.5, -0.7, 2],
    ],
    [
      [2, 3, 2],
      [1, 2, 3, -1, 0.5, 2, 2, 0.3, -1, 1, 0.7, 3],
    ],
    [[1, 1], [2]],
    [[0, 0], []],
  ] as const);
}

/**
 * The reduced QR decomposition `a = Q·R` of matrices `[..., m, n]`: Q `[..., m, k]` with
 * orthonormal columns and R `[..., k, n]` upper triangular, k = min(m, n) (Householder
 * reflections in float64). Differentiable for m ≥ n (JAX's rule; it needs R invertible).
 */
export const qr: Primitive<Empty> = definePrimitive<Empty>({
  name: "qr",
  examples: qrExamples,
  linear: false,
  jvp([a], [t]) {
    const [q, r] = bind(qr, [a!], {}) as [NDArray, NDArray];
    if (t === null || t === undefined)
      return [
        [q, r],
        [null, null],
      ];
    const nd = t.ndim;
    const m = t.shape[nd - 2]!;
    const n = t.shape[nd - 1]!;
    if (m < n) {
      throw new ValueError(
        "qr",
        `the derivative of a QR decomposition needs at least as many rows as columns, got ${m}×${n}.`,
      );
    }
    const swap = [...range(nd - 2), nd - 1, nd - 2];
    // dx·R⁻¹, then C = Qᵀ·dx·R⁻¹ and its skew part Ω from the strict lower triangle.
    const dxRinv = bind1(triangularSolve, [r, t], {
      leftSide: false,
      lower: false,
      transposeA: false,
      unitDiagonal: false,
    });
    const c = batchMatmul(ops.transpose(q, swap), dxRinv);
    const lower = keepWhere((i, j) => i > j, c);
    const omega = ops.sub(lower, ops.transpose(lower, swap));
    const dq = ops.add(batchMatmul(q, ops.sub(omega, c)), dxRinv);
    const dr = batchMatmul(ops.sub(c, omega), r);
    return [
      [q, r],
      [dq, dr],
    ];
  },
  batch([a], [axis]) {
    return [bind(qr, [ops.moveAxis(a!, axis!, 0)], {}), [0, 0]];
  },
  abstractEval([a]) {
    const { batch, rows, cols } = checkMatrix("qr", a!, "the operand", false);
    const k = Math.min(rows, cols);
    return [
      new AbstractValue([...batch, rows, k], a!.dtype, a!.weakType),
      new AbstractValue([...batch, k, cols], a!.dtype, a!.weakType),
    ];
  },
  impl(inputs) {
    const [a] = concrete(inputs) as [ConcreteArray];
    const m = a.shape[a.ndim - 2]!;
    const n = a.shape[a.ndim - 1]!;
    const k = Math.min(m, n);
    const batch = a.shape.slice(0, -2);
    const count = batch.reduce((p, d) => p * d, 1);
    const data = float64Data(a);
    const q = new Float64Array(count * m * k);
    const r = new Float64Array(count * k * n);
    for (let b = 0; b < count; b++) householder(data, b * m * n, m, n, q, b * m * k, r, b * k * n);
    return [
      output([...batch, m, k], a.dtype, a.weakType, (out) => out.set(q)),
      output([...batch, k, n], a.dtype, a.weakType, (out) => out.set(r)),
    ];
  },
});

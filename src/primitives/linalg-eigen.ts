/**
 * The symmetric eigendecomposition `eigh`, batched over leading axes like the other
 * linear-algebra primitives: eigenvalues in ascending order and orthonormal eigenvectors as
 * columns, by the cyclic Jacobi method in float64 (accurate to a few ulps of the largest
 * eigenvalue, every eigenvector to working precision), each eigenvector's sign chosen so that
 * its largest component is positive (so the result is a continuous function of the matrix where
 * the eigenvalues are distinct, as derivatives need).
 */
import type { NDArray } from "../core/array.js";
import { AbstractValue } from "../core/aval.js";
import type { ExampleInput, PrimitiveExample } from "../core/primitive.js";
import { definePrimitive, type Primitive } from "../core/primitive.js";
import { bind } from "../core/trace.js";
import type { ConcreteArray } from "../runtime/concrete.js";
import { batchMatmul, checkMatrix, float64Data, keepWhere } from "./linalg.js";
import * as ops from "./ops.js";
import { concrete, output } from "./util.js";

type Empty = Record<string, never>;

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

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
        // A ← Jᵀ·A·J, J the rotation in the (p, r) plane; Q ← Q·J.
        for (let k = 0; k < n; k++) {
          const kp = m[k * n + p]!;
          const kr = m[k * n + r]!;
          m[k * n + p] = c * kp - s * kr;
          m[k * n + r] = s * kp + c * kr;
        }
        for (let k = 0; k < n; k++) {
          const pk = m[p * n + k]!;
          const rk = m[r * n + k]!;
          m[p * n + k] = c * pk - s * rk;
          m[r * n + k] = s * pk + c * rk;
        }
        for (let k = 0; k < n; k++) {
          const kp = q[k * n + p]!;
          const kr = q[k * n + r]!;
          q[k * n + p] = c * kp - s * kr;
          q[k * n + r] = s * kp + c * kr;
        }
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

const example = (shape: readonly number[], values: readonly number[]): ExampleInput => ({
  shape,
  dtype: "float32",
  values,
});

/** Symmetric matrices with well-separated eigenvalues (finite differences stay smooth). */
function eighExamples(): PrimitiveExample<Empty>[] {
  return (
    [
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
    ] as const
  ).map(([shape, values]) => ({ inputs: [example(shape, values)], params: {} }));
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

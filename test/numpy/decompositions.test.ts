/**
 * The decompositions of `np.linalg`: `eigh` / `eigvalsh` (the `eigh` primitive, cyclic Jacobi)
 * and `qr` (Householder): values against NumPy's (LAPACK), the decompositions' defining
 * properties (A·V = V·diag(w), VᵀV = I, ascending w, the sign conventions; Q·R = A, QᵀQ = I,
 * R triangular), repeated eigenvalues, batches, float32, NaN, derivatives (the primitives' rules
 * are also swept by test/gradcheck), jit, vmap and errors.
 */
import { describe, expect, it } from "vitest";
import {
  checkGrads,
  grad,
  jit,
  np,
  random,
  ShapeError,
  vmap,
  type NDArray,
} from "../../src/index.js";
import { expectClose } from "../helpers/assertions.js";

const f64 = (v: number[][] | number[][][]): NDArray => np.array(v, { dtype: "float64" });
const a4 = [
  [4, 1, 0.5, 0.2],
  [1, 3, -0.3, 0.1],
  [0.5, -0.3, -1, 0.7],
  [0.2, 0.1, 0.7, 2],
];
// numpy.linalg.eigh(a4) (NumPy 2.4, float64).
const numpyW = [-1.2328400031583109, 2.0819601811481765, 2.4942354399843873, 4.656644382025749];

/** max |x| over all elements. */
const maxAbs = (x: NDArray): number => np.max(np.abs(x)).item() as number;

function checkDecomposition(a: NDArray, tol: number): void {
  const [w, v] = np.linalg.eigh(a);
  const n = a.shape[a.ndim - 1]!;
  const scale = Math.max(1, maxAbs(a));
  // A·V = V·diag(w) and VᵀV = I.
  expect(maxAbs(a.matmul(v).sub(v.mul(np.expandDims(w, -2))))).toBeLessThanOrEqual(tol * scale);
  expect(
    maxAbs(
      np
        .swapaxes(v, -1, -2)
        .matmul(v)
        .sub(np.eye(n, { dtype: a.dtype })),
    ),
  ).toBeLessThanOrEqual(tol);
  // Ascending, and each column's largest component positive.
  const ws = w.toTypedArray();
  for (let i = 1; i < ws.length; i++)
    if (i % n !== 0) expect(ws[i]!).toBeGreaterThanOrEqual(ws[i - 1]!);
  const cols = np.swapaxes(v, -1, -2).reshape([v.size / n, n]);
  for (const col of cols.toList() as number[][]) {
    const big = col.reduce((b, x, i) => (Math.abs(x) > Math.abs(col[b]!) ? i : b), 0);
    expect(col[big]!).toBeGreaterThan(0);
  }
}

describe("np.linalg.eigh", () => {
  it("eigenvalues equal NumPy's; the decomposition holds to rounding", () => {
    const a = f64(a4);
    expectClose(np.linalg.eigvalsh(a), np.array(numpyW, { dtype: "float64" }), {
      rtol: 1e-14,
      atol: 1e-14,
    });
    checkDecomposition(a, 1e-14);
    const [w] = np.linalg.eigh(
      np.array([
        [2, 1],
        [1, 2],
      ]),
    );
    expect(w.dtype).toBe("float32");
    expect(w.toList()).toEqual([1, 3]);
  });

  it("random symmetric matrices, float32 and float64, batched; repeated eigenvalues", () => {
    const x = random.normal(random.key(7), [3, 6, 6], { dtype: "float64" });
    const s = x.add(np.swapaxes(x, -1, -2));
    checkDecomposition(s, 1e-13);
    checkDecomposition(s.astype("float32"), 2e-5);
    // The identity and a matrix with a double eigenvalue: still an orthonormal basis.
    checkDecomposition(np.eye(4, { dtype: "float64" }), 1e-15);
    checkDecomposition(
      f64([
        [2, 0, 0],
        [0, 2, 0],
        [0, 0, 5],
      ]),
      1e-15,
    );
    // Only the symmetric part counts: the upper triangle may disagree with the lower.
    expectClose(
      np.linalg.eigvalsh(
        f64([
          [2, 5],
          [-3, 2],
        ]),
      ),
      np.linalg.eigvalsh(
        f64([
          [2, 1],
          [1, 2],
        ]),
      ),
      { rtol: 1e-15 },
    );
    expect(np.linalg.eigh(np.zeros([2, 0, 0]))[0].shape).toEqual([2, 0]);
  });

  it("a matrix with NaN or inf gives NaN, not a hang", () => {
    const [w, v] = np.linalg.eigh(
      f64([
        [1, NaN],
        [NaN, 1],
      ]),
    );
    expect((w.toList() as number[]).every(Number.isNaN)).toBe(true);
    expect(Number.isNaN(v.get(0, 0).item() as number)).toBe(true);
  });

  it("derivatives: eigenvalues (order 2), eigenvectors, and a spectral function", () => {
    const a = f64(a4);
    checkGrads((m: NDArray) => np.linalg.eigvalsh(m), [a], { order: 2 });
    checkGrads((m: NDArray) => np.linalg.eigh(m)[1], [a], { order: 2 });
    // d(λ_max)/dA = v·vᵀ for the top eigenvector v (symmetrised: the gradient is symmetric).
    const g = grad((m: NDArray) => np.linalg.eigvalsh(m).get(3))(a);
    const top = np.linalg.eigh(a)[1].get(":", 3);
    expectClose(g, np.outer(top, top), { rtol: 1e-12, atol: 1e-14 });
  });

  it("jit and vmap give the same results as eager", () => {
    const x = random.normal(random.key(1), [4, 5, 5]);
    const s = x.add(np.swapaxes(x, -1, -2));
    const f = (m: NDArray): NDArray => np.linalg.eigh(m)[1];
    expect(jit(f)(s).toList()).toEqual(f(s).toList());
    expect(vmap(f)(s).toList()).toEqual(f(s).toList());
  });

  it("rejects what is not a square matrix", () => {
    expect(() => np.linalg.eigh(np.ones([2, 3]))).toThrow(ShapeError);
    expect(() => np.linalg.eigh(np.ones([3]))).toThrow(/square in its last two axes/);
  });
});

describe("np.linalg.qr", () => {
  /** Q·R = A, QᵀQ = I, R upper triangular. */
  function checkQr(a: NDArray, tol: number): void {
    const [q, r] = np.linalg.qr(a);
    const m = a.shape[a.ndim - 2]!;
    const n = a.shape[a.ndim - 1]!;
    const k = Math.min(m, n);
    expect(q.shape).toEqual([...a.shape.slice(0, -2), m, k]);
    expect(r.shape).toEqual([...a.shape.slice(0, -2), k, n]);
    const scale = Math.max(1, maxAbs(a));
    expect(maxAbs(q.matmul(r).sub(a))).toBeLessThanOrEqual(tol * scale);
    expect(
      maxAbs(
        np
          .swapaxes(q, -1, -2)
          .matmul(q)
          .sub(np.eye(k, { dtype: a.dtype })),
      ),
    ).toBeLessThanOrEqual(tol);
    expect(maxAbs(np.tril(r, { k: -1 }))).toBe(0);
  }

  it("factors tall, square, wide and batched matrices; R's diagonal as LAPACK's", () => {
    const x = random.normal(random.key(3), [2, 7, 4], { dtype: "float64" });
    checkQr(x, 1e-14);
    checkQr(np.swapaxes(x, -1, -2), 1e-14);
    checkQr(x.get(0, ":4"), 1e-14);
    checkQr(x.astype("float32"), 3e-6);
    const [, r] = np.linalg.qr(
      f64([
        [3, 1],
        [4, 2],
      ]),
    );
    // numpy.linalg.qr([[3, 1], [4, 2]]) gives R = [[-5, -2.2], [0, 0.4]].
    expectClose(
      r,
      f64([
        [-5, -2.2],
        [0, 0.4],
      ]),
      { rtol: 1e-15, atol: 1e-15 },
    );
    // numpy.linalg.qr of a 5×3 matrix (NumPy 2.4, LAPACK): the same R, signs included.
    const tall = f64([
      [2, 1, 0.5],
      [3, 1, -1],
      [0.5, 2, 1],
      [1, -1, 2],
      [0.3, 0.2, -0.4],
    ]);
    expectClose(
      np.linalg.qr(tall)[1],
      f64([
        [-3.7868192457522976, -1.3362137645402106, -0.10034806927377071],
        [0, 2.2922767667655837, -0.3115184351915007],
        [0, 0, -2.5105550241986063],
      ]),
      { rtol: 1e-14, atol: 1e-15 },
    );
  });

  it("derivatives for m ≥ n; wide matrices say why they have none", () => {
    const a = f64([
      [2, 1, 0.5],
      [3, 1, -1],
      [0.5, 2, 1],
      [1, -1, 2],
    ]);
    checkGrads((m: NDArray) => np.linalg.qr(m)[0], [a], { order: 2 });
    checkGrads((m: NDArray) => np.linalg.qr(m)[1], [a], { order: 2 });
    const f = (m: NDArray): NDArray => np.linalg.qr(m)[1].sum();
    expect(() => grad(f)(np.ones([2, 3]))).toThrow(/at least as many rows as columns/);
    expect(jit((m: NDArray) => np.linalg.qr(m)[0])(a).toList()).toEqual(
      np.linalg.qr(a)[0].toList(),
    );
    expect(() => np.linalg.qr(np.ones([3]))).toThrow(ShapeError);
  });
});

describe("np.linalg.svd and what is built on it", () => {
  const tall = f64([
    [2, 1, 0.5],
    [3, 1, -1],
    [0.5, 2, 1],
    [1, -1, 2],
    [0.3, 0.2, -0.4],
  ]);
  // numpy.linalg (NumPy 2.4, LAPACK) on the same matrix.
  const numpyS = [4.114559782670118, 2.5744535158942914, 2.057325178316045];

  function checkSvd(a: NDArray, fullMatrices: boolean, tol: number): void {
    const [u, s, vh] = np.linalg.svd(a, { fullMatrices });
    const m = a.shape[a.ndim - 2]!;
    const n = a.shape[a.ndim - 1]!;
    const k = Math.min(m, n);
    expect(u.shape.slice(-2)).toEqual([m, fullMatrices ? m : k]);
    expect(vh.shape.slice(-2)).toEqual([fullMatrices ? n : k, n]);
    const uk = u.get("...", `:${k}`);
    const vk = vh.get("...", `:${k}`, ":");
    const scale = Math.max(1, maxAbs(a));
    expect(maxAbs(uk.mul(np.expandDims(s, -2)).matmul(vk).sub(a))).toBeLessThanOrEqual(tol * scale);
    const uu = np.swapaxes(u, -1, -2).matmul(u);
    expect(maxAbs(uu.sub(np.eye(u.shape[u.ndim - 1]!, { dtype: a.dtype })))).toBeLessThanOrEqual(
      tol,
    );
    const vv = vh.matmul(np.swapaxes(vh, -1, -2));
    expect(maxAbs(vv.sub(np.eye(vh.shape[vh.ndim - 2]!, { dtype: a.dtype })))).toBeLessThanOrEqual(
      tol,
    );
    const sv = s.toTypedArray();
    for (let i = 1; i < sv.length; i++)
      if (i % k !== 0) expect(sv[i]!).toBeLessThanOrEqual(sv[i - 1]!);
  }

  it("singular values equal NumPy's; tall, wide, square, batched, full and reduced", () => {
    expectClose(np.linalg.svd(tall, { computeUv: false }), np.array(numpyS, { dtype: "float64" }), {
      rtol: 1e-14,
    });
    const x = random.normal(random.key(9), [2, 6, 4], { dtype: "float64" });
    for (const full of [true, false]) {
      checkSvd(x, full, 1e-14);
      checkSvd(np.swapaxes(x, -1, -2), full, 1e-14);
      checkSvd(x.get(0, ":4"), full, 1e-14);
    }
    checkSvd(x.astype("float32"), false, 3e-6);
    // Rank-deficient and zero matrices still give orthonormal factors.
    checkSvd(
      f64([
        [1, 2, 3],
        [2, 4, 6],
        [1, 0, 1],
      ]),
      true,
      1e-14,
    );
    checkSvd(np.zeros([3, 2], { dtype: "float64" }), true, 1e-15);
  });

  it("derivatives of s, U and Vᴴ (reduced), and of s alone", () => {
    checkGrads((m: NDArray) => np.linalg.svd(m, { computeUv: false }), [tall], { order: 2 });
    checkGrads((m: NDArray) => np.linalg.svd(m, { fullMatrices: false })[0], [tall], { order: 2 });
    checkGrads(
      (m: NDArray) => np.linalg.svd(m, { fullMatrices: false })[2],
      [np.swapaxes(tall, 0, 1)],
      {
        order: 2,
      },
    );
    expect(() => grad((m: NDArray) => np.linalg.svd(m)[0].sum())(tall)).toThrow(
      /only for square matrices/,
    );
    // The nuclear norm's gradient is U·Vᴴ.
    const [u, , vh] = np.linalg.svd(tall, { fullMatrices: false });
    expectClose(grad((m: NDArray) => np.linalg.norm(m, { ord: "nuc" }))(tall), u.matmul(vh), {
      rtol: 1e-12,
      atol: 1e-14,
    });
  });

  it("pinv, lstsq, matrixRank, cond and the 2- and nuclear norms match NumPy", () => {
    expectClose(
      np.linalg.pinv(tall),
      f64([
        [
          0.11395543483410452, 0.22598423953381874, -0.10217456532381608, 0.13944380398907186,
          0.019266301343903492,
        ],
        [
          0.06650558775379146, -0.03459511815085627, 0.37366622975327596, -0.21887781690696909,
          0.009396269917723396,
        ],
        [
          0.07726523801251779, -0.1725334133463881, 0.19587406366301882, 0.283941064068348,
          -0.06269443961909577,
        ],
      ]),
      { rtol: 1e-12, atol: 1e-14 },
    );
    const [x, residuals, rank, s] = np.linalg.lstsq(
      tall,
      np.array([1, 2, 3, 4, 5], { dtype: "float64" }),
    );
    expectClose(
      x,
      np.array([0.9135069406060984, 0.2897841226726462, 1.1421126604867111], { dtype: "float64" }),
      {
        rtol: 1e-12,
      },
    );
    expectClose(residuals, np.array([30.9928462012223], { dtype: "float64" }), { rtol: 1e-12 });
    expect(rank.item()).toBe(3);
    expect(s.shape).toEqual([3]);
    expect(
      np.linalg
        .matrixRank(
          f64([
            [1, 2, 3],
            [2, 4, 6],
            [1, 0, 1],
          ]),
        )
        .item(),
    ).toBe(2);
    expect(np.linalg.matrixRank(np.eye(4)).item()).toBe(4);
    expect(np.linalg.cond(tall).item()).toBeCloseTo(1.9999559748925804, 12);
    expect(np.linalg.norm(tall, { ord: 2 }).item()).toBeCloseTo(4.114559782670118, 12);
    expect(np.linalg.norm(tall, { ord: -2 }).item()).toBeCloseTo(2.057325178316045, 12);
    expect(np.linalg.norm(tall, { ord: "nuc" }).item()).toBeCloseTo(8.746338476880455, 12);
    expect(
      np.linalg.norm(np.stack([tall, tall]), { ord: 2, axis: [1, 2], keepdims: true }).shape,
    ).toEqual([2, 1, 1]);
    expect(() => np.linalg.lstsq(tall, np.ones([4]))).toThrow(ShapeError);
  });

  it("jit and vmap equal eager", () => {
    const x = random.normal(random.key(2), [3, 4, 3]);
    const f = (m: NDArray): NDArray => np.linalg.pinv(m);
    expect(jit(f)(x).toList()).toEqual(f(x).toList());
    expect(vmap(f)(x).toList()).toEqual(f(x).toList());
  });
});

describe("np.linalg.matrixPower, multiDot, vectorNorm, matrixNorm", () => {
  const a = f64([
    [2, 1],
    [1, 3],
  ]);
  it("match NumPy", () => {
    // numpy.linalg.matrix_power(a, 5) and (a, -2).
    expectClose(
      np.linalg.matrixPower(a, 5),
      f64([
        [175, 275],
        [275, 450],
      ]),
      { rtol: 1e-15 },
    );
    expectClose(
      np.linalg.matrixPower(a, -2),
      f64([
        [0.4, -0.2],
        [-0.2, 0.2],
      ]),
      { rtol: 1e-14, atol: 1e-15 },
    );
    expect(np.linalg.matrixPower(a, 0).toList()).toEqual([
      [1, 0],
      [0, 1],
    ]);
    expect(np.linalg.matrixPower(np.stack([a, a]), 2).shape).toEqual([2, 2, 2]);
    expect(np.linalg.multiDot([np.array([1, 2]), a, np.array([[1], [1]])]).toList()).toEqual([11]);
    const x = f64([
      [3, 4],
      [1, 2],
    ]);
    expect(np.linalg.vectorNorm(x).item()).toBeCloseTo(5.477225575051661, 14);
    expect(np.linalg.vectorNorm(x, { ord: 1, axis: 0 }).toList()).toEqual([4, 6]);
    expect(np.linalg.vectorNorm(x, { keepdims: true }).shape).toEqual([1, 1]);
    expect(np.linalg.matrixNorm(x).item()).toBeCloseTo(5.477225575051661, 14);
    expect(np.linalg.matrixNorm(x, { ord: 2 }).item()).toBeCloseTo(5.4649857042190435, 12);
    checkGrads((m: NDArray) => np.linalg.matrixPower(m, 3), [a], { order: 2 });
    expect(() => np.linalg.matrixPower(a, 1.5)).toThrow(/n must be an integer/);
    expect(() => np.linalg.multiDot([a])).toThrow(/at least two/);
  });
});

/**
 * The dot-product kernel (few outputs, a long reduction: a first convolution layer's kernel
 * gradient) against a float64 loop: edge blocks of 1 and 2 rows, reductions shorter than a vector
 * and with a remainder, with and without fused multiply-add; the same bits on 1, 2 and 3 threads;
 * and the convolution that takes it, eagerly and compiled.
 */
import { describe, expect, it } from "vitest";
import { config, grad, jit, lax, type NDArray } from "../../src/index.js";
import { dotProducts, dotScratchBytes, prefersDots } from "../../src/runtime/dot-kernels.js";
import { layout, memoryView, reserve } from "../../src/runtime/wasm-memory.js";
import { relaxedSimdSupported } from "../../src/runtime/relaxed-simd.js";
import { expectClose } from "../helpers/assertions.js";
import { random, values } from "../helpers/numeric.js";

type Float = "float32" | "float64";

/** C = A·Bᵀ (rows of length k, A's at stride lda, B's at ldb) by the kernel, C at stride ldc. */
function run(
  dtype: Float,
  fma: boolean,
  [m, n, k]: [number, number, number],
  a: number[],
  b: number[],
): number[] {
  const item = dtype === "float32" ? 4 : 8;
  // Rows padded to stride k + 3 (operands need not be dense), C to n + 1.
  const [lda, ldb, ldc] = [k + 3, k + 3, n + 1];
  const { offsets, total } = layout([
    m * lda * item,
    n * ldb * item,
    m * ldc * item,
    dotScratchBytes(m, n),
  ]);
  reserve(total);
  const [aAt, bAt, cAt, scratch] = offsets as [number, number, number, number];
  const av = memoryView(dtype, aAt, m * lda);
  const bv = memoryView(dtype, bAt, n * ldb);
  for (let o = 0; o < m; o++) for (let p = 0; p < k; p++) av[o * lda + p] = a[o * k + p]!;
  for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) bv[j * ldb + p] = b[j * k + p]!;
  // Garbage where the kernel must not look (row padding) or write (C's padding column).
  for (let o = 0; o < m; o++) av.fill(NaN, o * lda + k, (o + 1) * lda);
  memoryView(dtype, cAt, m * ldc).fill(-7);
  dotProducts(dtype, fma, m, n, k, { a: aAt, b: bAt, c: cAt, lda, ldb, ldc }, scratch);
  const c = memoryView(dtype, cAt, m * ldc);
  for (let o = 0; o < m; o++) expect(c[o * ldc + n]).toBe(-7);
  return Array.from({ length: m * n }, (_, i) => c[Math.floor(i / n) * ldc + (i % n)]!);
}

const reference = ([m, n, k]: number[], a: number[], b: number[]): number[] =>
  Array.from({ length: m! * n! }, (_, i) => {
    const [o, j] = [Math.floor(i / n!), i % n!];
    let s = 0;
    for (let p = 0; p < k!; p++) s += a[o * k! + p]! * b[j * k! + p]!;
    return s;
  });

const shapes: [number, number, number][] = [
  [1, 1, 1],
  [2, 5, 3],
  [4, 2, 7],
  [5, 7, 64],
  [16, 9, 4099],
  [7, 3, 2051],
];

describe("dot-product kernel", () => {
  const fmas = relaxedSimdSupported() ? [false, true] : [false];
  for (const shape of shapes) {
    it(`${shape.join(" × ")} = the float64 loop`, () => {
      const [m, n, k] = shape;
      const a = values(random([m * k], 1));
      const b = values(random([n * k], 2));
      const expected = reference(shape, a, b);
      for (const fma of fmas) {
        const c64 = run("float64", fma, shape, a, b);
        c64.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThan(1e-12 * k));
        const c32 = run("float32", fma, shape, a, b);
        c32.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThan(1e-5 * k));
      }
    });
  }

  it("gives the same bits on 1, 2 and 3 threads (output blocks split, not the sum)", () => {
    const threads = config().threads;
    const shape: [number, number, number] = [17, 9, 200003];
    const a = values(random([shape[0] * shape[2]], 3));
    const b = values(random([shape[1] * shape[2]], 4));
    try {
      config({ threads: 1 });
      const one = run("float32", false, shape, a, b);
      for (const t of [2, 3]) {
        config({ threads: t });
        expect(run("float32", false, shape, a, b)).toEqual(one);
      }
    } finally {
      config({ threads });
    }
  });

  it("is taken for long sums to few outputs", () => {
    expect(prefersDots(16, 9, 100352)).toBe(true);
    expect(prefersDots(32, 144, 25088)).toBe(true);
    expect(prefersDots(16, 9, 2048)).toBe(false);
    expect(prefersDots(256, 256, 100352)).toBe(false);
  });
});

describe("the kernel gradient of a first convolution layer (dot products)", () => {
  // Output channels × (input channels × 3 × 3 taps) dot products, each over examples × pixels
  // (≥ 8192 terms): 10 × 27, 16 × 9, and with 2 feature groups 5 × 9 per group.
  const cases: [string, number[], number[], number][] = [
    ["RGB input", [24, 3, 20, 20], [10, 3, 3, 3], 1],
    ["one channel", [12, 1, 28, 28], [16, 1, 3, 3], 1],
    ["feature groups", [40, 2, 15, 15], [10, 1, 3, 3], 2],
  ];
  for (const [name, xShape, wShape, groups] of cases) {
    it(`${name}: = the definition, compiled and on the threads the same bits`, () => {
      const x = random(xShape, 5);
      const w = random(wShape, 6);
      const options = {
        padding: [
          [1, 1],
          [1, 1],
        ] as [number, number][],
        featureGroupCount: groups,
      };
      const out = lax.conv(x, w, options);
      const ct = random([...out.shape], 7);
      const loss = (ww: NDArray, xx: NDArray): NDArray => lax.conv(xx, ww, options).mul(ct).sum();
      // The kernel gradient's convolution is one the dot products take.
      expect(jit(grad(loss)).lower(w, x).code).toContain("3 × 3 blocks of dot products");
      const [N, C, H, W] = xShape as [number, number, number, number];
      const dw = grad(loss)(w, x);
      // d/dw[o,i,kh,kw] = Σ ct[n,o,p,q]·x[n, group(o)·I + i, p+kh−1, q+kw−1].
      const [O, I] = wShape as [number, number];
      const [xv, cv] = [values(x), values(ct)];
      const expected = Array.from({ length: O * I * 9 }, (_, e) => {
        const [o, i, kh, kw] = [
          Math.floor(e / (I * 9)),
          Math.floor(e / 9) % I,
          Math.floor(e / 3) % 3,
          e % 3,
        ];
        const channel = Math.floor(o / (O / groups)) * I + i;
        let s = 0;
        for (let n = 0; n < N; n++) {
          for (let p = 0; p < H; p++) {
            for (let q = 0; q < W; q++) {
              const [r, col] = [p + kh - 1, q + kw - 1];
              if (r < 0 || r >= H || col < 0 || col >= W) continue;
              s += cv[((n * O + o) * H + p) * W + q]! * xv[((n * C + channel) * H + r) * W + col]!;
            }
          }
        }
        return s;
      });
      values(dw).forEach((v, e) => expect(Math.abs(v - expected[e]!)).toBeLessThan(1e-10));
      const dw32 = grad(loss)(w.astype("float32"), x.astype("float32"));
      expectClose(dw32.astype("float64"), dw, { atol: 1e-3, rtol: 1e-4 });
      expect(values(jit(grad(loss))(w, x))).toEqual(values(dw));
      const threads = config().threads;
      try {
        config({ threads: 3 });
        expect(values(grad(loss)(w, x))).toEqual(values(dw));
      } finally {
        config({ threads });
      }
    });
  }
});

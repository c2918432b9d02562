/**
 * dot_general on the WebAssembly kernels (products large enough to take that path) agrees with a
 * float64 reference for every layout: plain, transposed, batched, permuted axis groups.
 */
import { describe, expect, it } from "vitest";
import { checkGrads, grad, jit, np, type NDArray } from "../../src/index.js";
import { asConcrete, type ConcreteArray } from "../../src/runtime/concrete.js";
import { matmulWithEpilogue, ProductSite } from "../../src/runtime/matmul.js";

/** Deterministic values in [-1, 1). */
function values(shape: number[], seed: number, dtype: "float32" | "float64"): NDArray {
  const size = shape.reduce((n, d) => n * d, 1);
  let state = seed;
  const data = Array.from({ length: size }, () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 1073741824 - 1;
  });
  return np.array(data, { dtype }).reshape(shape);
}

/** C[b, i, j] = sum_p A[b, i, p] B[b, p, j], in float64 with plain loops. */
function reference(a: NDArray, b: NDArray): Float64Array {
  const [batch, m, k] = a.shape as [number, number, number];
  const n = b.shape[2]!;
  const x = Float64Array.from(a.toTypedArray());
  const y = Float64Array.from(b.toTypedArray());
  const out = new Float64Array(batch * m * n);
  for (let s = 0; s < batch; s++)
    for (let i = 0; i < m; i++)
      for (let p = 0; p < k; p++) {
        const v = x[s * m * k + i * k + p]!;
        for (let j = 0; j < n; j++) out[s * m * n + i * n + j] += v * y[s * k * n + p * n + j]!;
      }
  return out;
}

function expectNear(got: NDArray, want: Float64Array, tol: number): void {
  const g = got.toTypedArray();
  expect(g.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++)
    worst = Math.max(worst, Math.abs(g[i]! - want[i]!) / (1 + Math.abs(want[i]!)));
  expect(worst).toBeLessThan(tol);
}

describe("dot_general on the WebAssembly kernels", () => {
  for (const dtype of ["float32", "float64"] as const) {
    const tol = dtype === "float32" ? 1e-4 : 1e-12;
    it(`${dtype}: plain, transposed and batched products`, () => {
      const a = values([3, 70, 45], 1, dtype);
      const b = values([3, 45, 66], 2, dtype);
      expectNear(np.matmul(a, b), reference(a, b), tol);
      const at = np.swapaxes(a, 1, 2).astype(dtype); // a copy laid out transposed
      expectNear(np.matmul(np.swapaxes(at, 1, 2), b), reference(a, b), tol);
      const bt = np.swapaxes(b, 1, 2).astype(dtype);
      expectNear(np.matmul(a, np.swapaxes(bt, 1, 2)), reference(a, b), tol);
      // A 2-D product and a vector product.
      const a2 = a.get(0);
      const b2 = b.get(0);
      expectNear(
        np.matmul(a2, b2),
        reference(a2.reshape([1, 70, 45]), b2.reshape([1, 45, 66])),
        tol,
      );
    });

    it(`${dtype}: einsum with permuted axis groups`, () => {
      const a = values([6, 40, 50], 3, dtype); // axes k, i, batch
      const b = values([50, 6, 30], 4, dtype); // axes batch, k, j
      const got = np.einsum("kib,bkj->bij", a, b);
      const at = np.transpose(a, [2, 1, 0]);
      const bt = np.transpose(b, [0, 1, 2]);
      expectNear(got, reference(at, bt), tol);
    });
  }

  it("reads strided views in place: the bits of their contiguous copies", () => {
    const copyOf = (x: NDArray): NDArray =>
      np.array(x.toTypedArray(), { dtype: "float32" }).reshape(x.shape);
    const b = values([3, 45, 66], 2, "float32");
    const views: [string, NDArray][] = [
      ["a transpose", np.swapaxes(values([3, 45, 70], 1, "float32"), 1, 2)],
      ["every other row", values([3, 140, 45], 3, "float32").get(":, ::2")],
      ["rows reversed", values([3, 70, 45], 4, "float32").get(":, ::-1")],
      ["a small slice of a large array", values([3, 700, 45], 5, "float32").get(":, 100:170")],
      ["a broadcast", np.broadcastTo(values([1, 70, 45], 6, "float32"), [3, 70, 45])],
    ];
    for (const [name, a] of views) {
      expect((a as ConcreteArray).isContiguous, name).toBe(false);
      const want = Array.from(np.matmul(copyOf(a), b).toTypedArray());
      expect(Array.from(np.matmul(a, b).toTypedArray()), name).toEqual(want);
      // The same view as the right operand (its transpose, k × n).
      const at = np.swapaxes(a, 1, 2);
      const left = values([3, 30, 45], 8, "float32");
      const wantRight = Array.from(np.matmul(left, copyOf(at)).toTypedArray());
      expect(Array.from(np.matmul(left, at).toTypedArray()), name).toEqual(wantRight);
    }
    // Views of arrays in a compiled call's kernel memory.
    const a = values([3, 45, 70], 7, "float32");
    const f = (x: NDArray): NDArray => np.matmul(np.swapaxes(np.tanh(x), 1, 2), b);
    expect(Array.from(jit(f)(a).toTypedArray())).toEqual(Array.from(f(a).toTypedArray()));
  });

  it("kernel memory grows for large operands, and earlier kernels keep working", () => {
    const small = [values([1, 40, 40], 7, "float32"), values([1, 40, 40], 8, "float32")] as const;
    const before = np.matmul(small[0], small[1]);
    const a = values([1, 320, 300], 9, "float32");
    const b = values([1, 300, 310], 10, "float32");
    expectNear(np.matmul(a, b), reference(a, b), 1e-4);
    const after = np.matmul(small[0], small[1]);
    expect(Array.from(after.toTypedArray())).toEqual(Array.from(before.toTypedArray()));
  });

  it("eager, jit and grad agree through the kernel", () => {
    const a = values([64, 48], 5, "float32");
    const b = values([48, 40], 6, "float32");
    const eager = np.matmul(a, b);
    const compiled = jit((x: NDArray, y: NDArray) => np.matmul(x, y))(a, b);
    expect(Array.from(compiled.toTypedArray())).toEqual(Array.from(eager.toTypedArray()));
    const loss = (x: NDArray): NDArray => np.tanh(np.matmul(x, b)).sum();
    const g = grad(loss)(a);
    expect(g.shape).toEqual([64, 48]);
    checkGrads(
      (x: NDArray) => np.tanh(np.matmul(x, b.astype("float64"))).sum(),
      [a.astype("float64")],
      {
        order: 1,
      },
    );
  });
});

describe("ProductSite", () => {
  const params = { contracting: [[1], [0]], batch: [[], []] } as const;
  it("reuses its plan and kernel while layouts repeat, and replans when they change", () => {
    const site = new ProductSite();
    const run = (a: NDArray, b: NDArray): NDArray => {
      const shape = [a.shape[0]!, b.shape[1]!];
      const out = matmulWithEpilogue(
        asConcrete(a),
        asConcrete(b),
        params,
        shape,
        {},
        undefined,
        site,
      );
      return out!;
    };
    const a = values([3, 64], 1, "float32");
    const b = values([64, 40], 2, "float32");
    const bt = values([40, 64], 3, "float32").T; // same shape, other strides
    const wide = values([64, 72], 4, "float32"); // other sizes
    for (const [x, y] of [
      [a, b],
      [a, b],
      [a, bt],
      [a, b],
      [a, wide],
      [values([5, 64], 5, "float32"), wide],
      [a, b],
    ] as const) {
      const expected = reference(x.reshape([1, ...x.shape]), y.reshape([1, ...y.shape]));
      expectNear(run(x, y), expected, 1e-5);
    }
  });
});

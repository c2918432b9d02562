/**
 * `nn.dotProductAttention` (JAX's `jax.nn.dot_product_attention`) against a loop over its
 * definition in float64: plain, scaled, with bias, mask, causal masking, grouped-query heads and
 * batch axes; derivatives, jit, and errors.
 */
import { describe, expect, it } from "vitest";
import { checkGrads, jit, nn, np, random, ShapeError, type NDArray } from "../../src/index.js";
import { expectClose } from "../helpers/assertions.js";

/** out[t, n, :] = Σ_s softmax_s(scale·q[t,n]·k[s,n/g] + bias[n,t,s], masked)·v[s, n/g]. */
function reference(
  q: number[][][],
  k: number[][][],
  v: number[][][],
  options: {
    scale?: number;
    bias?: number[][][];
    allowed?: (n: number, t: number, s: number) => boolean;
  },
): number[][][] {
  const [T, N, H] = [q.length, q[0]!.length, q[0]![0]!.length];
  const [S, K] = [k.length, k[0]!.length];
  const scale = options.scale ?? 1 / Math.sqrt(H);
  return Array.from({ length: T }, (_, t) =>
    Array.from({ length: N }, (_, n) => {
      const kn = Math.floor(n / (N / K));
      const logits = Array.from({ length: S }, (_, s) => {
        if (options.allowed !== undefined && !options.allowed(n, t, s)) return -Infinity;
        let dot = 0;
        for (let i = 0; i < H; i++) dot += q[t]![n]![i]! * k[s]![kn]![i]!;
        return scale * dot + (options.bias?.[n]![t]![s] ?? 0);
      });
      const top = Math.max(...logits);
      const e = logits.map((l) => (l === -Infinity ? 0 : Math.exp(l - top)));
      const z = e.reduce((a, b) => a + b, 0);
      return Array.from({ length: H }, (_, i) =>
        e.reduce((acc, w, s) => acc + (w / z) * v[s]![kn]![i]!, 0),
      );
    }),
  );
}

describe("nn.dotProductAttention", () => {
  const q = random.normal(random.key(0), [4, 4, 3], { dtype: "float64" });
  const k = random.normal(random.key(1), [5, 2, 3], { dtype: "float64" });
  const v = random.normal(random.key(2), [5, 2, 3], { dtype: "float64" });
  const [qs, ks, vs] = [q, k, v].map((x) => x.toList() as number[][][]) as [
    number[][][],
    number[][][],
    number[][][],
  ];
  const f64 = (x: number[][][]): NDArray => np.array(x, { dtype: "float64" });

  it("equals its definition: grouped-query heads, scale, bias, mask and causal masking", () => {
    expectClose(nn.dotProductAttention(q, k, v), f64(reference(qs, ks, vs, {})), {
      rtol: 1e-12,
      atol: 1e-14,
    });
    expectClose(
      nn.dotProductAttention(q, k, v, { scale: 0.3 }),
      f64(reference(qs, ks, vs, { scale: 0.3 })),
      {
        rtol: 1e-12,
        atol: 1e-14,
      },
    );
    const bias = random.normal(random.key(3), [4, 4, 5], { dtype: "float64" });
    expectClose(
      nn.dotProductAttention(q, k, v, { bias }),
      f64(reference(qs, ks, vs, { bias: bias.toList() as number[][][] })),
      { rtol: 1e-12, atol: 1e-14 },
    );
    const mask = np.array([
      [true, false, true, true, false],
      [true, true, false, true, true],
      [false, true, true, true, true],
      [true, true, true, false, true],
    ]);
    const m = mask.toList() as boolean[][];
    expectClose(
      nn.dotProductAttention(q, k, v, { mask }),
      f64(reference(qs, ks, vs, { allowed: (_, t, s) => m[t]![s]! })),
      {
        rtol: 1e-12,
        atol: 1e-14,
      },
    );
    expectClose(
      nn.dotProductAttention(q, k, v, { isCausal: true, mask }),
      f64(reference(qs, ks, vs, { allowed: (_, t, s) => s <= t && m[t]![s]! })),
      { rtol: 1e-12, atol: 1e-14 },
    );
  });

  it("keeps batch axes, differentiates, and compiles to the same numbers", () => {
    const batch = (x: NDArray): NDArray => np.stack([x, x.mul(0.5)]);
    const out = nn.dotProductAttention(batch(q), batch(k), batch(v), { isCausal: true });
    expect(out.shape).toEqual([2, 4, 4, 3]);
    expectClose(out.get(0), nn.dotProductAttention(q, k, v, { isCausal: true }), { rtol: 1e-15 });
    checkGrads(
      (a: NDArray, b: NDArray, c: NDArray) => nn.dotProductAttention(a, b, c, { isCausal: true }),
      [q, k, v],
      {
        order: 1,
      },
    );
    const f = (a: NDArray, b: NDArray, c: NDArray): NDArray => nn.dotProductAttention(a, b, c);
    const [q32, k32, v32] = [q, k, v].map((x) => x.astype("float32")) as [
      NDArray,
      NDArray,
      NDArray,
    ];
    expect(jit(f)(q32, k32, v32).toList()).toEqual(f(q32, k32, v32).toList());
  });

  it("says which shapes do not fit", () => {
    expect(() => nn.dotProductAttention(q, np.ones([5, 3, 3], { dtype: "float64" }), v)).toThrow(
      ShapeError,
    );
    expect(() => nn.dotProductAttention(q, k, np.ones([5, 2, 4], { dtype: "float64" }))).toThrow(
      /share one shape/,
    );
    expect(() => nn.dotProductAttention(np.ones([4, 3]), k, v)).toThrow(/rank ≥ 3/);
  });
});

describe("nn.RotaryPositionalEmbedding", () => {
  it("rotates feature pairs (i, i + d/2) by p·θᵢ: norms kept, dot products relative", () => {
    const rope = new nn.RotaryPositionalEmbedding(6);
    const x = random.normal(random.key(5), [7, 6], { dtype: "float64" });
    const y = rope.forward(x);
    expectClose(np.linalg.norm(y, { axis: -1 }), np.linalg.norm(x, { axis: -1 }), { rtol: 1e-14 });
    expectClose(y.get(0), x.get(0), { rtol: 1e-15 });
    // d = 2: a plain rotation by the position (θ⁰ = 1).
    const two = new nn.RotaryPositionalEmbedding(2).forward(
      np.array(
        [
          [1, 0],
          [1, 0],
          [0, 1],
        ],
        { dtype: "float64" },
      ),
    );
    expectClose(
      two,
      np.array(
        [
          [1, 0],
          [Math.cos(1), Math.sin(1)],
          [-Math.sin(2), Math.cos(2)],
        ],
        { dtype: "float64" },
      ),
      {
        rtol: 1e-14,
        atol: 1e-15,
      },
    );
    // The same vector at every position: ⟨R(m)q, R(n)q⟩ depends on m − n only.
    const q = np.broadcastTo(random.normal(random.key(6), [1, 6], { dtype: "float64" }), [7, 6]);
    const r = rope.forward(q);
    const dot = (i: number, j: number): number => r.get(i).mul(r.get(j)).sum().item() as number;
    expect(dot(1, 3)).toBeCloseTo(dot(4, 6), 12);
    expect(dot(0, 5)).toBeCloseTo(dot(1, 6), 12);
    expect(rope.forward(np.ones([2, 7, 6])).shape).toEqual([2, 7, 6]);
    expect(() => new nn.RotaryPositionalEmbedding(5)).toThrow(/even/);
    expect(() => rope.forward(np.ones([7, 4]))).toThrow(/\[\.\.\., seq, 6\]/);
  });
});

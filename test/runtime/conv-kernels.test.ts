/**
 * The WebAssembly convolution (im2col in kernel memory + the SIMD matmul) against a direct loop
 * over XLA's definition, on convolutions big enough to take it: 1-d and 2-d, strides, padding
 * (also negative), kernel dilation, feature and batch groups, both column layouts (the second is
 * taken when the kernel is wider than the output, as in kernel gradients), and the gradients of a
 * network-sized convolution.
 */
import { describe, expect, it } from "vitest";
import { config, grad, jit, lax, np, type NDArray } from "../../src/index.js";
import { setColumnBlockBytes } from "../../src/runtime/conv-kernels.js";
import { expectClose } from "../helpers/assertions.js";
import { random, values } from "../helpers/numeric.js";

interface Case {
  lhs: number[];
  rhs: number[];
  strides?: number[];
  padding?: [number, number][];
  rhsDilation?: number[];
  featureGroupCount?: number;
  batchGroupCount?: number;
}

/** `conv_general_dilated` (no input dilation) by its definition, in float64. */
function reference(x: NDArray, w: NDArray, c: Case): number[] {
  const spatial = c.lhs.length - 2;
  const ones = new Array<number>(spatial).fill(1);
  const s = c.strides ?? ones;
  const d = c.rhsDilation ?? ones;
  const pad = c.padding ?? ones.map((): [number, number] => [0, 0]);
  const G = c.featureGroupCount ?? 1;
  const B = c.batchGroupCount ?? 1;
  const [N, C] = c.lhs as [number, number];
  const [O, I] = c.rhs as [number, number];
  const inS = [...c.lhs.slice(2), 1, 1].slice(0, 2);
  const kS = [...c.rhs.slice(2), 1, 1].slice(0, 2);
  const outS = inS.map((n, i) =>
    i < spatial
      ? Math.floor((n + pad[i]![0] + pad[i]![1] - (d[i]! * (kS[i]! - 1) + 1)) / s[i]!) + 1
      : 1,
  );
  const xv = values(x);
  const wv = values(w);
  const out: number[] = [];
  const groups = Math.max(G, B);
  for (let n = 0; n < N / B; n++) {
    for (let o = 0; o < O; o++) {
      const group = Math.floor(o / (O / groups));
      for (let p0 = 0; p0 < outS[0]!; p0++) {
        for (let p1 = 0; p1 < outS[1]!; p1++) {
          let acc = 0;
          for (let i = 0; i < I; i++) {
            const cIn = G > 1 ? group * I + i : i;
            const nIn = B > 1 ? group * (N / B) + n : n;
            for (let k0 = 0; k0 < kS[0]!; k0++) {
              for (let k1 = 0; k1 < kS[1]!; k1++) {
                const pos = [p0 * s[0]! + k0 * d[0]! - pad[0]![0], 0];
                if (spatial === 2) pos[1] = p1 * s[1]! + k1 * d[1]! - pad[1]![0];
                if (pos.some((q, a) => q < 0 || q >= inS[a]!)) continue;
                const xi = ((nIn * C + cIn) * inS[0]! + pos[0]!) * inS[1]! + pos[1]!;
                const wi = ((o * I + i) * kS[0]! + k0) * kS[1]! + k1;
                acc += xv[xi]! * wv[wi]!;
              }
            }
          }
          out.push(acc);
        }
      }
    }
  }
  return out;
}

const cases: [string, Case][] = [
  [
    "2-d, 3×3, padding 1",
    {
      lhs: [8, 6, 16, 16],
      rhs: [10, 6, 3, 3],
      padding: [
        [1, 1],
        [1, 1],
      ],
    },
  ],
  [
    "2-d, stride 2",
    {
      lhs: [4, 5, 17, 15],
      rhs: [7, 5, 3, 3],
      strides: [2, 2],
      padding: [
        [1, 0],
        [0, 2],
      ],
    },
  ],
  [
    "2-d, stride 3 × 1, dilation 2",
    { lhs: [3, 4, 20, 18], rhs: [6, 4, 3, 2], strides: [3, 1], rhsDilation: [2, 2] },
  ],
  [
    "2-d, negative padding",
    {
      lhs: [4, 3, 20, 20],
      rhs: [8, 3, 5, 5],
      padding: [
        [-2, 1],
        [2, -3],
      ],
    },
  ],
  [
    "2-d, feature groups",
    {
      lhs: [4, 8, 14, 14],
      rhs: [12, 4, 3, 3],
      featureGroupCount: 2,
      padding: [
        [1, 1],
        [1, 1],
      ],
    },
  ],
  ["2-d, depthwise", { lhs: [6, 8, 16, 16], rhs: [8, 1, 3, 3], featureGroupCount: 8 }],
  ["2-d, batch groups", { lhs: [8, 6, 12, 12], rhs: [8, 6, 3, 3], batchGroupCount: 2 }],
  [
    "2-d, kernel wider than the output",
    {
      lhs: [6, 16, 12, 12],
      rhs: [4, 16, 10, 10],
      padding: [
        [1, 1],
        [1, 1],
      ],
    },
  ],
  [
    "2-d, wide kernel, stride 2 dilation",
    { lhs: [5, 12, 15, 15], rhs: [3, 12, 6, 6], strides: [2, 2], rhsDilation: [2, 2] },
  ],
  ["1-d", { lhs: [8, 6, 100], rhs: [10, 6, 5], strides: [2], padding: [[2, 2]] }],
  ["1-d, wide kernel", { lhs: [8, 16, 40], rhs: [6, 16, 30] }],
  // Stride 1 with the output as wide as the input: a plane's rows are one run (then the
  // padding columns are zeroed), in either layout.
  [
    "2-d, same size, 5×5, uneven padding",
    {
      lhs: [6, 5, 13, 11],
      rhs: [7, 5, 5, 5],
      padding: [
        [4, 0],
        [1, 3],
      ],
    },
  ],
  [
    "2-d, same size, dilation 2",
    {
      lhs: [4, 6, 12, 12],
      rhs: [8, 6, 3, 3],
      rhsDilation: [2, 2],
      padding: [
        [2, 2],
        [2, 2],
      ],
    },
  ],
  [
    "2-d, kernel as wide as the input (a kernel gradient's layout)",
    {
      lhs: [6, 16, 12, 12],
      rhs: [4, 16, 12, 12],
      padding: [
        [1, 1],
        [2, 1],
      ],
    },
  ],
  // The padding columns between two rows are zeroed by one masked vector store where they fit
  // one (here 4 float32s; float64 takes the element loops) and a row is a vector long.
  [
    "2-d, same size, 4 padding columns between rows",
    {
      lhs: [4, 6, 10, 12],
      rhs: [8, 6, 3, 5],
      padding: [
        [1, 1],
        [4, 0],
      ],
    },
  ],
  // Rows of 3: shorter than a float32 vector (element loops), a float64 vector and a half.
  [
    "2-d, same size, rows narrower than a vector",
    {
      lhs: [16, 8, 9, 3],
      rhs: [8, 8, 3, 3],
      padding: [
        [1, 1],
        [1, 1],
      ],
    },
  ],
  ["1-d, same size", { lhs: [8, 6, 100], rhs: [10, 6, 5], padding: [[2, 2]] }],
  [
    "1-d, same size, taps wholly in the padding",
    { lhs: [16, 16, 8], rhs: [16, 16, 17], padding: [[8, 8]] },
  ],
];

describe("WebAssembly convolution = the definition", () => {
  for (const [name, c] of cases) {
    it(name, () => {
      const x = random(c.lhs, 1);
      const w = random(c.rhs, 2);
      const options = {
        ...(c.strides && { strides: c.strides }),
        ...(c.padding && { padding: c.padding }),
        ...(c.rhsDilation && { rhsDilation: c.rhsDilation }),
        ...(c.featureGroupCount && { featureGroupCount: c.featureGroupCount }),
        ...(c.batchGroupCount && { batchGroupCount: c.batchGroupCount }),
      };
      const out = lax.conv(x, w, options);
      const expected = reference(x, w, c);
      expect(out.size).toBe(expected.length);
      values(out).forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThan(1e-12));
      // float32 runs the same way.
      const out32 = lax.conv(x.astype("float32"), w.astype("float32"), options);
      expectClose(out32.astype("float64"), out, { atol: 1e-4, rtol: 1e-4 });
      // Compiled, the result is written into the call's arena: the same bits.
      const compiled = jit((a: NDArray, b: NDArray) => lax.conv(a, b, options));
      expect(values(compiled(x, w))).toEqual(values(out));
    });
  }

  it("in blocks of examples (im2col a block, multiply it, the next): the same bits", () => {
    const threads = config().threads;
    const optionsOf = (c: Case) => ({
      ...(c.strides && { strides: c.strides }),
      ...(c.padding && { padding: c.padding }),
      ...(c.rhsDilation && { rhsDilation: c.rhsDilation }),
      ...(c.featureGroupCount && { featureGroupCount: c.featureGroupCount }),
      ...(c.batchGroupCount && { batchGroupCount: c.batchGroupCount }),
    });
    const whole = cases.map(([, c]) =>
      values(lax.conv(random(c.lhs, 1), random(c.rhs, 2), optionsOf(c))),
    );
    // A block of one example (with 3 and 4 examples: blocks of 2 leave a shorter last block),
    // on one thread and on two (where blocks grow to be worth splitting).
    for (const [bytes, t] of [
      [1, 1],
      [1, 2],
      [2 * 1024, 1],
    ] as const) {
      const previous = setColumnBlockBytes(bytes);
      config({ threads: t });
      try {
        cases.forEach(([name, c], i) => {
          const x = random(c.lhs, 1);
          const w = random(c.rhs, 2);
          expect(values(lax.conv(x, w, optionsOf(c))), name).toEqual(whole[i]);
          const compiled = jit((a: NDArray, b: NDArray) => lax.conv(a, b, optionsOf(c)));
          expect(values(compiled(x, w)), name).toEqual(whole[i]);
        });
        const x = random([5, 3, 20, 20], 3);
        const w = random([4, 3, 3, 3], 4);
        setColumnBlockBytes(previous);
        const expected = values(lax.conv(x, w));
        setColumnBlockBytes(bytes);
        expect(values(lax.conv(x, w))).toEqual(expected);
      } finally {
        setColumnBlockBytes(previous);
        config({ threads });
      }
    }
  });

  it("lays out the rows of a block on several threads (both layouts): the same bits as one", () => {
    const threads = config().threads;
    const c: Case = {
      lhs: [4, 8, 32, 32],
      rhs: [6, 8, 3, 3],
      padding: [
        [1, 1],
        [0, 2],
      ],
    };
    const x = random(c.lhs, 7);
    const w = random(c.rhs, 8);
    // The kernel gradient convolves x with the cotangent (the transposed layout: rows of the
    // column matrix are (example, oh, ow) windows).
    const ct = random([4, 6, 32, 32], 9);
    const kernelGrad = (): number[] =>
      values(grad((ww: NDArray) => lax.conv(x, ww, { padding: c.padding! }).mul(ct).sum())(w));
    try {
      config({ threads: 1 });
      const one = values(lax.conv(x, w, { padding: c.padding! }));
      const gradOne = kernelGrad();
      config({ threads: 3 });
      expect(values(lax.conv(x, w, { padding: c.padding! }))).toEqual(one);
      expect(kernelGrad()).toEqual(gradOne);
      const expected = reference(x, w, c);
      one.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThan(1e-12));
    } finally {
      config({ threads });
    }
  });

  it("runs blocks of examples side by side on the threads: the same bits as one thread", () => {
    const threads = config().threads;
    // Enough multiply-adds to split (≥ 4M) and small column blocks: several rounds of blocks,
    // the last round short and its last block smaller. 16×16 outputs (one product per example,
    // writing NCHW directly) and strided 5×5 ones (one [O, N·P] product, reordered), eagerly and
    // compiled (the result written into the call's arena).
    const setups: [Case, number][] = [
      [
        {
          lhs: [7, 16, 16, 16],
          rhs: [24, 16, 3, 3],
          padding: [
            [1, 1],
            [1, 1],
          ],
        },
        300 * 1024,
      ],
      [{ lhs: [50, 16, 15, 15], rhs: [24, 16, 3, 3], strides: [3, 3] }, 300 * 1024],
    ];
    try {
      setups.forEach(([c, blockBytes], i) => {
        const options = {
          ...(c.strides && { strides: c.strides }),
          ...(c.padding && { padding: c.padding }),
        };
        const x = random(c.lhs, 10 + i);
        const w = random(c.rhs, 20 + i);
        config({ threads: 1 });
        const one = values(lax.conv(x, w, options));
        const expected = reference(x, w, c);
        one.forEach((v, j) => expect(Math.abs(v - expected[j]!)).toBeLessThan(1e-12));
        const previous = setColumnBlockBytes(blockBytes);
        try {
          for (const t of [2, 3]) {
            config({ threads: t });
            expect(values(lax.conv(x, w, options)), `threads ${t}`).toEqual(one);
            const compiled = jit((a: NDArray, b: NDArray) => lax.conv(a, b, options));
            expect(values(compiled(x, w)), `compiled, threads ${t}`).toEqual(one);
          }
        } finally {
          setColumnBlockBytes(previous);
        }
      });
    } finally {
      config({ threads });
    }
  });

  it("shows its kernels in .code: im2col, the product of a block, how the blocks run", () => {
    const threads = config().threads;
    const options = {
      padding: [
        [1, 1],
        [1, 1],
      ] as [number, number][],
    };
    const x = random([8, 16, 14, 14], 1);
    const w = random([32, 16, 3, 3], 2);
    const f = (a: NDArray, b: NDArray): NDArray => np.tanh(lax.conv(a, b, options));
    try {
      for (const t of [1, 2]) {
        config({ threads: t });
        const code = jit(f).lower(x, w).code;
        expect(code).toContain("im2col lays out a column matrix of 144 rows");
        expect(code).toContain(t === 1 ? "one block at a time" : "2 blocks side by side");
        expect(code).toContain("straight into the NCHW result");
        expect(code).toContain("(func $block");
        expect(code).toMatch(/\(func \$kernel0_conv_general_dilated\$product\$micro_\d+x\d+/);
      }
      // A case the kernels leave to the general path says so.
      const dilated = jit((a: NDArray, b: NDArray) => lax.conv(a, b, { lhsDilation: [2, 2] }));
      expect(dilated.lower(x, w).code).toContain("a JavaScript loop over the windows");
    } finally {
      config({ threads });
    }
  });

  it("gradients of a network-sized convolution (both layouts) equal the definition's", () => {
    const c: Case = {
      lhs: [16, 8, 14, 14],
      rhs: [12, 8, 3, 3],
      padding: [
        [1, 1],
        [1, 1],
      ],
    };
    const x = random(c.lhs, 3);
    const w = random(c.rhs, 4);
    const ct = random([16, 12, 14, 14], 5);
    const loss = (xx: NDArray, ww: NDArray): NDArray =>
      lax.conv(xx, ww, { padding: c.padding! }).mul(ct).sum();
    const [dx, dw] = grad(loss, { argnums: [0, 1] })(x, w) as unknown as [NDArray, NDArray];
    // d/dw[o,i,k] = Σ ct[n,o,p] x[n,i,p+k-1]: the definition's convolution of x with ct.
    const cv = values(ct);
    const xv = values(x);
    const dwv = values(dw);
    for (const [o, i, k0, k1] of [
      [0, 0, 0, 0],
      [11, 7, 2, 2],
      [5, 3, 1, 0],
    ] as const) {
      let acc = 0;
      for (let n = 0; n < 16; n++)
        for (let p0 = 0; p0 < 14; p0++)
          for (let p1 = 0; p1 < 14; p1++) {
            const [q0, q1] = [p0 + k0 - 1, p1 + k1 - 1];
            if (q0 < 0 || q0 >= 14 || q1 < 0 || q1 >= 14) continue;
            acc += cv[((n * 12 + o) * 14 + p0) * 14 + p1]! * xv[((n * 8 + i) * 14 + q0) * 14 + q1]!;
          }
      expect(dwv[((o * 8 + i) * 3 + k0) * 3 + k1]!).toBeCloseTo(acc, 10);
    }
    // The input gradient by the adjoint identity: ⟨dx, v⟩ = d/dε loss(x + εv) (exact: linear).
    const v = random(c.lhs, 6);
    const directional = values(lax.conv(v, w, { padding: c.padding! }).mul(ct).sum())[0]!;
    expect(values(dx.mul(v).sum())[0]!).toBeCloseTo(directional, 9);
  });
});

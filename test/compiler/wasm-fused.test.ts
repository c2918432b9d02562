/**
 * Fused elementwise kernels compiled to WebAssembly SIMD give bit-identical results to eager
 * execution, including NaN, infinities, signed zeros and ties in max/min; kernels with operations
 * that have no SIMD form fall back to generated JavaScript.
 */
import { describe, expect, it } from "vitest";
import { jit, lax, np, type NDArray } from "../../src/index.js";

const special = [
  0,
  -0,
  1,
  -1,
  0.5,
  -2.5,
  3.25,
  Infinity,
  -Infinity,
  NaN,
  1e-40,
  -1e30,
  7,
  7,
  -0,
  0,
];

function operands(dtype: "float32" | "float64", n: number): [NDArray, NDArray] {
  const a = Array.from({ length: n }, (_, i) =>
    i < special.length ? special[i]! : Math.sin(i) * 3,
  );
  const b = Array.from({ length: n }, (_, i) =>
    i < special.length ? special[(i * 7) % special.length]! : Math.cos(i) * 3,
  );
  return [np.array(a, { dtype }), np.array(b, { dtype })];
}

function expectIdentical(got: NDArray, want: NDArray): void {
  expect(got.dtype).toBe(want.dtype);
  const g = got.toTypedArray();
  const w = want.toTypedArray();
  expect(g.length).toBe(w.length);
  for (let i = 0; i < w.length; i++) {
    if (!Object.is(g[i], w[i]) && !(Number.isNaN(g[i]) && Number.isNaN(w[i]))) {
      throw new Error(`element ${i}: compiled ${g[i]}, eager ${w[i]}`);
    }
  }
}

const functions: [string, (x: NDArray, y: NDArray) => NDArray][] = [
  ["arithmetic", (x, y) => x.mul(2).add(y).sub(x.div(3)).neg()],
  [
    "rounding and roots",
    (x, y) =>
      np
        .floor(x)
        .add(np.ceil(y))
        .add(np.round(x.mul(1.5)))
        .add(np.sqrt(np.abs(y))),
  ],
  [
    "max and min with ties and NaN",
    (x, y) => np.maximum(x, y).add(np.minimum(y, x)).mul(np.maximum(x, 0)),
  ],
  ["where over comparisons", (x, y) => np.where(x.gt(y), x, y.mul(2)).add(np.where(x.le(0), 1, x))],
];

describe("WebAssembly fused kernels", () => {
  for (const dtype of ["float32", "float64"] as const) {
    for (const [name, f] of functions) {
      it(`${dtype}: ${name} is bit-identical to eager (odd lengths too)`, () => {
        for (const n of [1, 5, 16, 1003]) {
          const [x, y] = operands(dtype, n);
          const g = jit(f);
          expectIdentical(g(x, y), f(x, y));
        }
      });
    }
  }

  for (const dtype of ["float32", "float64"] as const) {
    it(`${dtype}: trailing reductions (sum, max, min; NaN; odd block sizes) are bit-identical`, () => {
      const reductions: ((x: NDArray) => NDArray)[] = [
        (x) => x.mul(x).sum({ axis: -1 }),
        (x) => np.max(x.mul(2).sub(1), { axis: -1 }),
        (x) => np.min(np.where(x.gt(2), NaN, x), { axis: -1 }),
        (x) => x.add(1).sum(),
        (x) => np.sqrt(np.abs(x)).sum({ axis: [1, 2] }),
      ];
      for (const shape of [
        [1, 3, 1],
        [3, 5, 7],
        [2, 4, 1001],
      ]) {
        const size = shape.reduce((n, d) => n * d, 1);
        const x = np
          .array(
            Array.from({ length: size }, (_, i) => Math.sin(i * 1.3) * 3),
            { dtype },
          )
          .reshape(shape);
        for (const f of reductions) expectIdentical(jit(f)(x), f(x));
      }
    });
  }

  it("a reduction fuses into its producers' kernel", () => {
    const x = np.ones([4, 9]);
    const report = jit((a: NDArray) => a.mul(a).add(1).sum({ axis: -1 }))
      .lower(x)
      .report();
    expect(report.kernels.map((k) => k.equations)).toEqual([["mul", "add", "reduce_sum"]]);
  });

  it("float32 exp/log/tanh/sin/… run the same vectorised code eagerly and compiled", () => {
    const [x] = operands("float32", 1003);
    const fs: ((a: NDArray) => NDArray)[] = [
      (a) => np.tanh(a.mul(2).add(1)).mul(a),
      (a) => np.exp(np.sin(a)).add(np.cos(a)),
      (a) => np.log(np.abs(a).add(1)).sum({ axis: -1 }),
      (a) =>
        np
          .log1p(np.abs(a))
          .sub(np.expm1(a.mul(0.1)))
          .mul(np.arctan(a)),
    ];
    for (const f of fs) expectIdentical(jit(f)(x), f(x));
    expect(jit(fs[0]!).lower(x).code).toContain("(func ");
  });

  it("float64 exp/log/tanh/logistic/sin/cos/atan/… run the same vectorised code eagerly and compiled", () => {
    const [x] = operands("float64", 1003);
    const fs: ((a: NDArray) => NDArray)[] = [
      (a) => np.tanh(a.mul(2).add(1)).mul(a),
      (a) =>
        np
          .exp(a)
          .add(lax.logistic(a.mul(3)))
          .sub(np.arctan(a)),
      (a) => np.sin(a.mul(1e5)).mul(np.cos(a)),
      (a) => np.log(np.abs(a).add(1)).sum({ axis: -1 }),
      (a) =>
        np
          .log1p(np.abs(a))
          .sub(np.expm1(a.mul(0.1)))
          .mul(a),
    ];
    for (const f of fs) expectIdentical(jit(f)(x), f(x));
    const lowered = jit(fs[0]!).lower(x);
    expect(lowered.code).toContain("(func ");
    expect(lowered.report().kernels.map((k) => k.equations)).toEqual([
      ["mul", "add", "tanh", "mul"],
    ]);
  });

  it("write the loop body twice per iteration (four times around a math function), and once more per vector left", () => {
    const code = jit((a: NDArray) => np.tanh(a.mul(2).add(1)).mul(a)).lower(np.ones([1003])).code;
    expect(code.match(/^\s*loop /gm)).toHaveLength(2);
    expect(code.match(/;; tanh$/gm)).toHaveLength(5);
    expect(code).toContain("v128.store offset=48");
    const plain = jit((a: NDArray) => a.mul(2).add(1)).lower(np.ones([1003])).code;
    expect(plain.match(/;; add$/gm)).toHaveLength(3);
    expect(plain).toContain("v128.store offset=16");
    expect(plain).not.toContain("v128.store offset=32");
    // Every vector count: 0 to 3 left for the second loop, each element computed once.
    for (let n = 1; n <= 41; n++) {
      const [x] = operands("float32", n);
      const f = (a: NDArray): NDArray => np.exp(a.mul(0.5)).sub(a);
      expectIdentical(jit(f)(x), f(x));
    }
  });

  it("shows WebAssembly text with the IR equations as comments", () => {
    const [x, y] = operands("float32", 1024);
    const code = jit((a: NDArray, b: NDArray) => a.mul(2).add(b)).lower(x, y).code;
    expect(code).toContain("(func ");
    expect(code).toContain("f32x4.mul");
    expect(code).toContain("f32x4.add");
    expect(code).toContain(";; c:f32[1024] = mul a 2.0:f32[]");
  });

  for (const dtype of ["float32", "float64"] as const) {
    it(`${dtype}: masks (bool arrays) as kernel outputs and select inputs, one byte per element`, () => {
      // The mask is an output of the first kernel (a program output here) and a select input of
      // the second, as relu's mask is between the forward and backward passes.
      const f = (x: NDArray, y: NDArray): NDArray[] => {
        const mask = x.add(1).le(y);
        return [mask, np.where(mask, 0, y.mul(3)), np.where(mask.get("::-1"), x, 1)];
      };
      // Odd lengths, and one long enough to be split over the threads.
      for (const n of [1, 5, 16, 1003, 300_001]) {
        const [x, y] = operands(dtype, n);
        const got = jit(f)(x, y);
        const want = f(x, y);
        expect(got[0]!.dtype).toBe("bool");
        expect(Array.from(got[0]!.toTypedArray())).toEqual(Array.from(want[0]!.toTypedArray()));
        expectIdentical(got[1]!, want[1]!);
        expectIdentical(got[2]!, want[2]!);
      }
      const [x, y] = operands(dtype, 5000);
      const code = jit(f).lower(x, y).code;
      expect(code).not.toContain("function kernel");
      expect(code).toContain("i8x16.shuffle");
    });
  }

  it("strided views (slices, transposes) as kernel inputs are copied in element by element", () => {
    const [x] = operands("float32", 20_000);
    const f = (a: NDArray): NDArray =>
      a
        .get("::2")
        .mul(2)
        .add(a.get("1::2"))
        .add(a.reshape([100, 200]).T.reshape([20_000]).get("::2"));
    expect(jit(f).lower(x).code).toContain("(func ");
    expectIdentical(jit(f)(x), f(x));
    const [y] = operands("float64", 20_000);
    expectIdentical(jit(f)(y), f(y));
  });

  it("kernels with operations that have no SIMD form use generated JavaScript", () => {
    const [x] = operands("float32", 8);
    const code = jit((a: NDArray) => np.cosh(a).mul(a)).lower(x).code;
    expect(code).not.toContain("(func ");
    expect(code).toContain("function kernel");
  });
});

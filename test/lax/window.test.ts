/**
 * `lax.reduceWindow` and the window primitives (reduce_window_max, select_and_gather_add,
 * select_and_scatter_add) against a direct loop over the definition: the first maximum of each
 * window (or the first NaN) is chosen, padding never is. Sizes on both sides of the WebAssembly
 * kernels' threshold, strides 1, 2 and 3 (the kernels' three load paths), rows of fewer than four
 * windows and rows whose last vector is partial, overlapping windows, padding on every side; ties,
 * NaN and −∞; windows that tile the operand. Compiled calls (results in the arena) and two threads
 * give the same bits.
 */
import { describe, expect, it } from "vitest";
import { config, grad, jit, jvp, lax, nn, np, vjp, vmap, type NDArray } from "../../src/index.js";
import { bits, expectClose } from "../helpers/assertions.js";
import { random, values } from "../helpers/numeric.js";

interface Case {
  shape: number[];
  window: number[];
  strides?: number[];
  padding?: [number, number][];
}

/** The windows by definition: each window's chosen element (flat index, −1: none). */
function reference(x: number[], c: Case): { outShape: number[]; chosen: number[] } {
  const rank = c.shape.length;
  const strides = c.strides ?? c.shape.map(() => 1);
  const padding = c.padding ?? c.shape.map((): [number, number] => [0, 0]);
  const outShape = c.shape.map((n, a) => {
    const padded = n + padding[a]![0] + padding[a]![1];
    return padded < c.window[a]! ? 0 : Math.floor((padded - c.window[a]!) / strides[a]!) + 1;
  });
  const count = (dims: number[]): number => dims.reduce((p, d) => p * d, 1);
  const unravel = (flat: number, dims: number[]): number[] => {
    const index = new Array<number>(dims.length);
    for (let a = dims.length - 1; a >= 0; a--) {
      index[a] = flat % dims[a]!;
      flat = Math.floor(flat / dims[a]!);
    }
    return index;
  };
  const chosen: number[] = [];
  for (let o = 0; o < count(outShape); o++) {
    const out = unravel(o, outShape);
    let choice = -1;
    for (let e = 0; e < count(c.window); e++) {
      const k = unravel(e, c.window);
      const pos = out.map((i, a) => i * strides[a]! + k[a]! - padding[a]![0]);
      if (pos.some((p, a) => p < 0 || p >= c.shape[a]!)) continue;
      const flat = pos.reduce((f, p, a) => f * c.shape[a]! + p, 0);
      const v = x[flat]!;
      const best = choice < 0 ? NaN : x[choice]!;
      if (choice < 0 || (!Number.isNaN(best) && (Number.isNaN(v) || v > best))) choice = flat;
    }
    chosen.push(choice);
  }
  void rank;
  return { outShape, chosen };
}

const cases: [string, Case][] = [
  [
    "2×2 pooling of NCHW images (large)",
    { shape: [8, 6, 28, 28], window: [1, 1, 2, 2], strides: [1, 1, 2, 2] },
  ],
  [
    "2×2 pooling, 14 → 7 (a partial last vector)",
    { shape: [16, 8, 14, 14], window: [1, 1, 2, 2], strides: [1, 1, 2, 2] },
  ],
  ["small", { shape: [2, 3, 6, 6], window: [1, 1, 2, 2], strides: [1, 1, 2, 2] }],
  [
    "3×3, stride 1, padding 1 (overlapping, edges)",
    {
      shape: [4, 5, 17, 19],
      window: [1, 1, 3, 3],
      padding: [
        [0, 0],
        [0, 0],
        [1, 1],
        [1, 1],
      ],
    },
  ],
  [
    "stride 3, uneven padding",
    {
      shape: [6, 4, 20, 23],
      window: [1, 1, 3, 4],
      strides: [1, 1, 3, 3],
      padding: [
        [0, 0],
        [0, 0],
        [2, 0],
        [1, 3],
      ],
    },
  ],
  ["rows of 3 windows", { shape: [64, 40, 7], window: [1, 2, 2], strides: [1, 2, 2] }],
  ["rows of 6 windows, stride 1", { shape: [300, 7], window: [2, 2] }],
  [
    "window along a middle axis only",
    { shape: [32, 24, 16], window: [1, 3, 1], strides: [1, 2, 1] },
  ],
  // Windows that tile the operand (the scatter writes every element, no zero fill first), with
  // each of the kernels' three store paths.
  [
    "tiling, rows of 3 windows (no whole vector)",
    { shape: [64, 16, 6], window: [1, 2, 2], strides: [1, 2, 2] },
  ],
  [
    "tiling, windows one element wide",
    { shape: [32, 24, 16], window: [1, 2, 1], strides: [1, 2, 1] },
  ],
  ["tiling, 3×3 stride 3", { shape: [8, 4, 18, 21], window: [1, 1, 3, 3], strides: [1, 1, 3, 3] }],
  ["1-d, window larger than the operand", { shape: [5], window: [7], padding: [[3, 3]] }],
  ["1-d, long", { shape: [9000], window: [5], strides: [2], padding: [[2, 2]] }],
];

/** Values with ties, NaN and −∞ mixed in (every 7th a tie, every 97th NaN, every 89th −∞). */
function special(shape: number[], seed: number): NDArray {
  const base = values(random(shape, seed));
  return np
    .array(
      base.map((v, i) =>
        i % 97 === 13 ? NaN : i % 89 === 5 ? -Infinity : i % 7 === 3 ? 0.25 : Math.round(v * 8) / 8,
      ),
      { dtype: "float32" },
    )
    .reshape(shape);
}

function options(c: Case): lax.ReduceWindowOptions {
  return { ...(c.strides && { strides: c.strides }), ...(c.padding && { padding: c.padding }) };
}

describe("reduceWindow max and its derivatives = the definition", () => {
  for (const [name, c] of cases) {
    it(name, () => {
      for (const x of [random(c.shape, 3).astype("float32"), special(c.shape, 4)]) {
        const xv = values(x);
        const { outShape, chosen } = reference(xv, c);
        const f = (y: NDArray): NDArray => lax.reduceWindow(y, "max", c.window, options(c));
        const out = f(x);
        expect(out.shape).toEqual(outShape);
        const expected = chosen.map((i) => (i < 0 ? -Infinity : xv[i]!));
        expect(values(out)).toEqual(expected);
        // The derivatives: gather the tangent at the chosen elements; scatter the cotangent.
        const t = random(c.shape, 5).astype("float32");
        const [, tangent] = jvp((y: NDArray) => f(y), [x], [t]);
        const tv = values(t);
        expect(values(tangent as NDArray)).toEqual(chosen.map((i) => (i < 0 ? 0 : tv[i]!)));
        // Some cotangents −0: the derivative holds +0 there (zero plus −0), as by the definition.
        const ct = np
          .array(values(random(outShape, 6)).map((v, i) => (i % 11 === 4 ? -0 : v)))
          .astype("float32")
          .reshape(outShape);
        const [, back] = vjp(f, x);
        const [cotangent] = back(ct) as [NDArray];
        const sums = new Float32Array(xv.length);
        values(ct).forEach((v, o) => {
          if (chosen[o]! >= 0) sums[chosen[o]!] += v;
        });
        // Overlapping windows add in another order (inside windows first): float32 rounding.
        const overlapping = c.window.some((w, a) => w > (c.strides?.[a] ?? 1));
        if (overlapping)
          expectClose(cotangent, np.array(sums).reshape(c.shape), { rtol: 1e-6, atol: 1e-6 });
        else expect(values(cotangent)).toEqual(Array.from(sums));
        // Compiled (results in the call's arena) and on two threads: the same bits.
        const g = (y: NDArray, u: NDArray): NDArray[] => {
          const [value, pull] = vjp(f, y);
          return [value, pull(u)[0] as NDArray];
        };
        const eager = g(x, ct);
        const threads = config().threads;
        for (const n of [1, 2]) {
          config({ threads: n });
          try {
            jit(g)(x, ct).forEach((r, k) => expect(bits(r)).toEqual(bits(eager[k]!)));
            g(x, ct).forEach((r, k) => expect(bits(r)).toEqual(bits(eager[k]!)));
          } finally {
            config({ threads });
          }
        }
      }
    });
  }

  it("reads transposed views (eager and compiled) as their contiguous copies", () => {
    const x = random([20, 3, 30, 32], 13).astype("float32");
    const pool = (y: NDArray): NDArray =>
      lax.reduceWindow(np.transpose(y, [0, 1, 3, 2]), "max", [1, 1, 2, 2], {
        strides: [1, 1, 2, 2],
      });
    const copy = np.array(np.transpose(x, [0, 1, 3, 2]).toTypedArray()).reshape([20, 3, 32, 30]);
    const expected = values(lax.reduceWindow(copy, "max", [1, 1, 2, 2], { strides: [1, 1, 2, 2] }));
    expect(values(pool(x))).toEqual(expected);
    expect(values(jit(pool)(x))).toEqual(expected);
  });

  it("float64 and int32 take the same windows", () => {
    const c = cases[3]![1];
    const x = special(c.shape, 8);
    const expected = values(lax.reduceWindow(x, "max", c.window, options(c)));
    const wide = lax.reduceWindow(x.astype("float64"), "max", c.window, options(c));
    expect(values(wide)).toEqual(expected);
    const ints = np.array(
      [
        [3, -1, 7, 7],
        [2, 9, -4, 0],
      ],
      { dtype: "int32" },
    );
    const pooled = lax.reduceWindow(ints, "max", [2, 2], { strides: [2, 2] });
    expect(pooled.dtype).toBe("int32");
    expect(pooled.toList()).toEqual([[9, 7]]);
    // A window wholly in the padding holds the lowest int32.
    const padded = lax.reduceWindow(ints, "max", [1, 2], {
      strides: [1, 3],
      padding: [
        [0, 0],
        [2, 0],
      ],
    });
    expect(padded.toList()).toEqual([
      [-(2 ** 31), 7],
      [-(2 ** 31), 9],
    ]);
  });

  it("ties: the whole derivative goes to the first maximum (as PyTorch and XLA)", () => {
    const x = np.zeros([1, 1, 4, 4]);
    const g = grad((y: NDArray) => nn.maxPool(y, [2, 2]).sum())(x);
    expect(g.reshape([4, 4]).toList()).toEqual([
      [1, 0, 1, 0],
      [0, 0, 0, 0],
      [1, 0, 1, 0],
      [0, 0, 0, 0],
    ]);
  });

  it("vmap over a batch axis anywhere equals a loop", () => {
    const c: Case = { shape: [6, 30, 22], window: [1, 3, 2], strides: [1, 2, 2] };
    const xs = random([4, ...c.shape], 9).astype("float32");
    const f = (y: NDArray): NDArray => lax.reduceWindow(y, "max", c.window, options(c));
    const batched = vmap(f, { inAxes: 2 })(np.moveaxis(xs, 0, 2));
    for (let b = 0; b < 4; b++) expect(values(batched.get(b))).toEqual(values(f(xs.get(b))));
    const cts = vmap((y: NDArray) => grad((z: NDArray) => f(z).mul(f(z)).sum())(y))(xs);
    for (let b = 0; b < 4; b++) {
      const single = grad((z: NDArray) => f(z).mul(f(z)).sum())(xs.get(b));
      expect(values(cts.get(b))).toEqual(values(single));
    }
  });
});

describe("reduceWindow under jit", () => {
  it("reports one kernel per window primitive, with a comparison per window element", () => {
    const f = (y: NDArray): NDArray => nn.maxPool(y, [2, 2]).sum();
    const x = random([4, 3, 8, 8], 2).astype("float32");
    const forward = jit(f).lower(x).compile().costAnalysis();
    // 4·3·4·4 windows of 4 elements, then the sum's 192 additions.
    expect(forward.flops).toBe(4 * 3 * 4 * 4 * 4 + 192);
    expect(String(jit(f).lower(x).report())).toMatch(/reduce_window_max\s+-\s+768/);
    // The gradient needs no maximum: one scatter of the (constant) cotangent.
    const report = String(jit(grad(f)).lower(x).report());
    expect(report).toMatch(/kernel0_select_and_scatter_add\s+select_and_scatter_add\s+-\s+960/);
  });

  it("shows the windows kernel each window primitive runs in .code", () => {
    const f = (y: NDArray): NDArray => nn.maxPool(y, [2, 2]).sum();
    const x = random([4, 8, 32, 32], 3).astype("float32");
    const forward = jit(f).lower(x).code;
    expect(forward).toContain("the SIMD windows kernel");
    expect(forward).toMatch(/;; max over windows of rows[^\n]*\n\s*\(func \$windows/);
    expect(jit(grad(f)).lower(x).code).toContain("scatter over windows of rows");
    // float64, and operands too small for the kernel, stay on the JavaScript loop.
    for (const y of [x.astype("float64"), random([1, 2, 40, 40], 4).astype("float32")]) {
      expect(jit(f).lower(y).code).toContain("a JavaScript loop over the windows");
    }
  });
});

describe("reduceWindow min and sum", () => {
  it("min is the max of the negation; integers flip by bitwise not", () => {
    const x = random([3, 10, 9], 11).astype("float32");
    const o = { strides: [1, 2, 2], padding: "SAME" as const };
    const min = lax.reduceWindow(x, "min", [1, 3, 3], o);
    expect(values(min)).toEqual(values(lax.reduceWindow(x.neg(), "max", [1, 3, 3], o).neg()));
    const ints = np.array([0, 4294967295, 7, 1], { dtype: "uint32" });
    expect(lax.reduceWindow(ints, "min", [2], { strides: [2] }).toList()).toEqual([0, 1]);
  });

  it("sum adds each window's elements (padding adds zero); its gradient counts windows", () => {
    const x = random([2, 7, 8], 12);
    const c: Case = {
      shape: [2, 7, 8],
      window: [1, 3, 2],
      strides: [1, 2, 1],
      padding: [
        [0, 0],
        [1, 1],
        [0, 1],
      ],
    };
    const out = lax.reduceWindow(x, "sum", c.window, options(c));
    // By definition, through the chosen-element reference's window enumeration.
    const xv = values(x);
    const { outShape } = reference(xv, c);
    expect(out.shape).toEqual(outShape);
    const expected: number[] = [];
    for (let n = 0; n < 2; n++)
      for (let i = 0; i < outShape[1]!; i++)
        for (let j = 0; j < outShape[2]!; j++) {
          let s = 0;
          for (let a = 0; a < 3; a++)
            for (let b = 0; b < 2; b++) {
              const [h, w] = [i * 2 + a - 1, j + b];
              if (h >= 0 && h < 7 && w < 8) s += xv[(n * 7 + h) * 8 + w]!;
            }
          expected.push(s);
        }
    expectClose(out, np.array(expected).reshape(outShape), { atol: 1e-12 });
    const g = grad((y: NDArray) => lax.reduceWindow(y, "sum", c.window, options(c)).sum())(x);
    // Each element's gradient is the number of windows it lies in.
    const ones = lax.reduceWindow(np.onesLike(x), "sum", c.window, options(c));
    expect(np.sum(g).item()).toBeCloseTo(np.sum(ones).item() as number, 9);
  });
});

describe("reduceWindow: bad input", () => {
  const x = np.ones([4, 4]);
  it("names what is wrong", () => {
    expect(() => lax.reduceWindow(x, "max", [2])).toThrow(/needs 2 window sizes and strides/);
    expect(() => lax.reduceWindow(x, "max", [2, 0])).toThrow(/whole numbers ≥ 1/);
    expect(() => lax.reduceWindow(x, "max", [2, 2], { strides: [2, 1.5] })).toThrow(
      /whole numbers ≥ 1/,
    );
    expect(() => lax.reduceWindow(x, "max", [2, 2], { padding: [[0, 0]] })).toThrow(
      /\[low, high\] paddings/,
    );
    expect(() =>
      lax.reduceWindow(x, "max", [2, 2], {
        padding: [
          [0, 0],
          [-1, 0],
        ],
      }),
    ).toThrow(/paddings whole numbers ≥ 0/);
    expect(() => lax.reduceWindow(x, "mean" as "max", [2, 2])).toThrow(/"max", "min" or "sum"/);
    expect(() => lax.reduceWindow(x, "max", [2, 2], { padding: "FULL" as "SAME" })).toThrow(
      /"VALID", "SAME"/,
    );
  });
  it("a window that fits nowhere gives an empty result", () => {
    expect(lax.reduceWindow(x, "max", [5, 1]).shape).toEqual([0, 4]);
  });
});

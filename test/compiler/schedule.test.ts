/**
 * Scheduling facts the jit documents, seen through `jit(f).lower(...)`: elementwise chains fuse
 * into one kernel (and a trailing reduction joins them), costs are FLOPs = 2mnk for contractions
 * and bytes = kernel inputs + outputs, dying buffers are reused in place (arguments only when
 * donated), values used after a fused group are exported, and the peak memory is plausible.
 */
import { describe, expect, it } from "vitest";
import { jit, lax, np, stopGradient, type NDArray } from "../../src/index.js";
import { asConcrete } from "../../src/runtime/concrete.js";
import { expectClose } from "../helpers/assertions.js";

/** Each element as text that tells -0 from 0 and keeps NaN. */
function bits(x: NDArray): string[] {
  return Array.from(x.toTypedArray() as ArrayLike<number>, (v) =>
    Object.is(v, -0) ? "-0" : String(v),
  );
}

/** jit(f)(...args) equals f(...args) bit for bit (a list of outputs). */
function expectJitExact(f: (...args: NDArray[]) => NDArray[], args: NDArray[]): void {
  const eager = f(...args);
  const compiled = jit(f)(...args);
  expect(compiled.length).toBe(eager.length);
  compiled.forEach((c, i) => {
    expect(c.dtype).toBe(eager[i]!.dtype);
    expect(c.shape).toEqual(eager[i]!.shape);
    expect(bits(c), `output ${i}`).toEqual(bits(eager[i]!));
  });
}

const floats = (n: number, seed = 1): NDArray =>
  np.array(Array.from({ length: n }, (_, i) => Math.sin(seed * 7.3 + i * 1.7) * 3));

describe("fusion", () => {
  it("merges several producer chains into the kernel that consumes them (np.where of two branches)", () => {
    const f = (x: NDArray, y: NDArray): NDArray =>
      np.where(x.gt(y), x.mul(2).add(1), np.maximum(x, y).sub(y.div(3)));
    const x = np.linspace(-1, 1, 9);
    const y = np.linspace(1, -1, 9);
    const g = jit(f);
    expect(
      g
        .lower(x, y)
        .report()
        .kernels.map((k) => k.equations.length),
    ).toEqual([7]);
    expect(Array.from(g(x, y).toTypedArray())).toEqual(Array.from(f(x, y).toTypedArray()));
  });

  it("tanh(2x+1)*x compiles to exactly one kernel", () => {
    const f = (x: NDArray): NDArray => np.tanh(x.mul(2).add(1)).mul(x);
    const x = floats(5);
    const report = jit(f).lower(x).report();
    expect(report.kernels.length).toBe(1);
    expect(report.kernels[0]!.equations).toEqual(["mul", "add", "tanh", "mul"]);
    expect(bits(jit(f)(x))).toEqual(bits(f(x)));
  });

  it("a reduction over the last axis fuses with its elementwise producer", () => {
    const f = (x: NDArray): NDArray => np.exp(x.mul(0.5)).sum({ axis: -1 });
    const x = floats(12).reshape([3, 4]);
    const report = jit(f).lower(x).report();
    expect(report.kernels.length).toBe(1);
    expect(report.kernels[0]!.equations).toEqual(["mul", "exp", "reduce_sum"]);
    expect(bits(jit(f)(x))).toEqual(bits(f(x)));
  });

  it("max and min over the trailing axes fuse too, with NaN propagating as eagerly", () => {
    const f = (x: NDArray): NDArray[] => [
      np.abs(x).max({ axis: [1, 2] }),
      x.mul(3).min({ axis: -1 }),
    ];
    const x = np.array([
      [
        [1, -2],
        [NaN, 4],
      ],
      [
        [5, -6],
        [7, -8],
      ],
    ]);
    const report = jit(f).lower(x).report();
    expect(report.kernels.map((k) => k.equations)).toEqual([
      ["abs", "reduce_max"],
      ["mul", "reduce_min"],
    ]);
    expectJitExact(f, [x]);
  });

  it("a reduction over a leading axis is not fused, and still computes the same", () => {
    const f = (x: NDArray): NDArray => np.exp(x).sum({ axis: 0 });
    const x = floats(12).reshape([3, 4]);
    const report = jit(f).lower(x).report();
    expect(report.kernels.map((k) => k.equations)).toEqual([["exp"], ["reduce_sum"]]);
    expectJitExact((y) => [f(y)], [x]);
  });

  it("a value used after a fused group is exported from it (softmax)", () => {
    const softmax = (x: NDArray): NDArray => {
      const e = np.exp(x.sub(x.max({ axis: -1, keepdims: true })));
      return e.div(e.sum({ axis: -1, keepdims: true }));
    };
    const x = floats(12).reshape([3, 4]);
    expectJitExact((y) => [softmax(y)], [x]);
    expectClose(jit(softmax)(x).sum({ axis: -1 }), np.ones([3]), { rtol: 1e-6 });
  });

  it("an intermediate of a reduction kernel that is also a result is written out", () => {
    const f = (x: NDArray): NDArray[] => {
      const a = np.sin(x);
      const b = a.mul(2).add(1);
      return [b.sum({ axis: -1 }), a, b.matmul(x.T)];
    };
    const x = floats(6).reshape([2, 3]);
    const report = jit(f).lower(x).report();
    expect(
      report.kernels.some((k) => k.equations.includes("reduce_sum") && k.equations.includes("sin")),
    ).toBe(true);
    expectJitExact(f, [x]);
  });

  it("a value used by a later non-fused kernel is exported, and the numbers are right", () => {
    const f = (x: NDArray, w: NDArray): NDArray[] => {
      const h = np.tanh(x.mul(2).add(1));
      const y = h.matmul(w);
      return [y.add(h.sum({ axis: -1, keepdims: true })), np.cos(h).mul(h)];
    };
    const x = floats(6).reshape([2, 3]);
    const w = floats(12, 2).reshape([3, 4]);
    expectJitExact(f, [x, w]);
  });

  it("groups do not fuse across a shape change, and results stay exact", () => {
    const f = (x: NDArray): NDArray[] => {
      const a = np.sin(x).mul(2);
      const b = np.cos(a.reshape([3, 2])).add(1);
      return [b, a.add(1)];
    };
    expectJitExact(f, [floats(6).reshape([2, 3])]);
  });
});

describe("matmul epilogues", () => {
  const x = floats(64 * 96).reshape([64, 96]);
  const w = floats(96 * 80, 2).reshape([96, 80]);
  const b = floats(80, 3);

  it("a bias add after a product runs in the matmul kernel (then tanh in its own)", () => {
    const f = (x: NDArray, w: NDArray, b: NDArray): NDArray => np.tanh(np.matmul(x, w).add(b));
    const report = jit(f).lower(x, w, b).report();
    const matmul = report.kernels.find((k) => k.kernel.endsWith("_matmul_bias"));
    expect(matmul?.equations).toEqual(["dot_general", "add"]);
    // The kernel reads A, B and the bias vector, and writes C.
    expect(matmul?.bytes).toBe(4 * (64 * 96 + 96 * 80 + 80 + 64 * 80));
    expect(matmul?.flops).toBe(2 * 64 * 96 * 80 + 64 * 80);
    expectJitExact((x, w, b) => [f(x!, w!, b!)], [x, w, b]);
  });

  it("shows the matmul kernel's WebAssembly in .code: packing, micro-kernels, the driver", () => {
    const f = (x: NDArray, w: NDArray, b: NDArray): NDArray => np.tanh(np.matmul(x, w).add(b));
    const code = jit(f).lower(x, w, b).code;
    const name = "kernel1_matmul_bias";
    for (const part of ["$pack_a", "$pack_b", "$macro", " "]) {
      expect(code).toContain(`(func $${name}${part}`);
    }
    expect(code).toMatch(/\(func \$kernel1_matmul_bias\$micro_\d+x8/);
    expect(code).toMatch(/register-blocked micro-kernel; its epilogue adds the bias/);
    expect(code).toContain("v128.load32_splat");
    // The bias's broadcast is a view of it: no code.
    expect(code).toMatch(/kernel0_broadcast_in_dim[^\n]*\n[^\n]*\n\/\/ a view of its operand/);
    // A product the kernels do not take (too small, or of integers) says what runs it instead.
    for (const [a, c] of [
      [np.ones([3, 32]), np.ones([32, 32])],
      [np.ones([64, 64], { dtype: "int32" }), np.ones([64, 64], { dtype: "int32" })],
    ] as const) {
      const other = jit((p: NDArray, q: NDArray) => np.matmul(p, q)).lower(a, c).code;
      expect(other).toContain("a plain loop");
      expect(other).not.toContain("$pack_a");
    }
  });

  it("shows an unpacked kernel for a product with few rows, in either form", () => {
    const h = floats(2 * 96).reshape([2, 96]);
    const wt = floats(80 * 96, 4).reshape([80, 96]);
    const rows = jit((h: NDArray, w: NDArray, b: NDArray) => np.matmul(h, w).add(b)).lower(
      h,
      w,
      b,
    ).code;
    expect(rows).toMatch(/unpacked: rows of B read in place[^\n]*; its epilogue adds the bias/);
    expect(rows).toMatch(/\(func \$kernel1_matmul_bias\$rows_2x4_4/);
    expect(rows).not.toContain("$pack_b");
    // Contracting both operands' last axes (the row-major layout a compiled call reads).
    const dimensions = { contracting: [[1], [1]], batch: [[], []] } as const;
    const dots = jit((h: NDArray, w: NDArray) => lax.dotGeneral(h, w, dimensions)).lower(
      h,
      wt,
    ).code;
    expect(dots).toMatch(/unpacked: blocks of dot products/);
    expect(dots).toMatch(/\(func \$kernel\d+_dot_general\$dots_2x4/);
    // A transposed weight is read in place through its strides: the code shown is what runs.
    const viewed = jit((h: NDArray, w: NDArray) => np.matmul(h, w.T)).lower(h, wt).code;
    expect(viewed).toMatch(/kernel0_transpose[^\n]*\n[^\n]*\n\/\/ a view of its operand/);
    expect(viewed).toMatch(/\(func \$kernel1_dot_general\$dots_2x4/);
    expectJitExact((h, w) => [np.matmul(h!, w!.T).add(b)], [h, wt]);
  });

  it("relu as max(x, 0) joins the epilogue; -0 and NaN come out as eagerly", () => {
    const f = (x: NDArray, w: NDArray, b: NDArray): NDArray =>
      np.maximum(np.matmul(x, w).add(b), 0);
    const report = jit(f).lower(x, w, b).report();
    expect(report.kernels.map((k) => k.kernel)).toContain("kernel1_matmul_bias_relu");
    expect(jit(f).lower(x, w, b).code).toMatch(/adds the bias and applies relu/);
    expectJitExact((x, w, b) => [f(x!, w!, b!)], [x, w, b]);
    // A NaN in the bias and zeros of either sign.
    const special = np.array(Array.from({ length: 80 }, (_, j) => [NaN, -0, 0, -1][j % 4]!));
    const zeros = np.zeros([64, 96]);
    expectJitExact((x, w, b) => [f(x!, w!, b!)], [zeros, w, special]);
    expectJitExact((x, w, b) => [f(x!, w!, b!)], [x, w, special]);
  });

  it("max(0, x) is not relu here (it keeps -0), and a product used twice keeps its add apart", () => {
    const flipped = (x: NDArray, w: NDArray, b: NDArray): NDArray =>
      np.maximum(0, np.matmul(x, w).add(b));
    const names = jit(flipped)
      .lower(x, w, b)
      .report()
      .kernels.map((k) => k.kernel);
    expect(names.some((n) => n.endsWith("_matmul_bias"))).toBe(true);
    expect(names.some((n) => n.endsWith("_relu"))).toBe(false);
    const twice = (x: NDArray, w: NDArray, b: NDArray): NDArray[] => {
      const p = np.matmul(x, w);
      return [p.add(b), p];
    };
    const kinds = jit(twice)
      .lower(x, w, b)
      .report()
      .kernels.map((k) => k.kernel);
    expect(kinds.some((n) => n.includes("matmul"))).toBe(false);
    expectJitExact(twice, [x, w, b]);
  });

  it("small products and batched ones run their equations one by one, with the same results", () => {
    const f = (x: NDArray, w: NDArray, b: NDArray): NDArray => np.matmul(x, w).add(b);
    const small = [floats(6).reshape([2, 3]), floats(12, 2).reshape([3, 4]), floats(4, 3)];
    expectJitExact((x, w, b) => [f(x!, w!, b!)], small);
    const batched = [
      floats(4 * 64 * 96).reshape([4, 64, 96]),
      floats(4 * 96 * 80, 2).reshape([4, 96, 80]),
      b,
    ];
    expectJitExact((x, w, b) => [f(x!, w!, b!)], batched);
  });

  it("float64 products take the epilogue too", () => {
    const f = (x: NDArray, w: NDArray, b: NDArray): NDArray => np.matmul(x, w).add(b);
    const args = [x, w, b].map((a) => a.astype("float64")) as [NDArray, NDArray, NDArray];
    expect(
      jit(f)
        .lower(...args)
        .report()
        .kernels.some((k) => k.kernel.endsWith("_matmul_bias")),
    ).toBe(true);
    expectJitExact((x, w, b) => [f(x!, w!, b!)], args);
  });
});

describe("costs", () => {
  const mm = (a: NDArray, b: NDArray): NDArray => a.matmul(b);

  it("a matmul costs 2mnk FLOPs and reads and writes its inputs and output", () => {
    const [m, k, n] = [3, 4, 5];
    const a = np.ones([m, k]);
    const b = np.ones([k, n]);
    const compiled = jit(mm).lower(a, b).compile();
    const cost = compiled.costAnalysis();
    expect(cost.flops).toBe(2 * m * n * k);
    expect(cost.bytesAccessed).toBe(4 * (m * k + k * n + m * n));
    const report = compiled.report();
    expect(report.kernels.length).toBe(1);
    expect(report.kernels[0]!.flops).toBe(2 * m * n * k);
    expect(report.kernels[0]!.bytes).toBe(4 * (m * k + k * n + m * n));
  });

  it("a batched matmul costs 2·batch·mnk FLOPs", () => {
    const a = np.ones([2, 3, 4]);
    const b = np.ones([2, 4, 5]);
    const cost = jit(mm).lower(a, b).compile().costAnalysis();
    expect(cost.flops).toBe(2 * 2 * 3 * 4 * 5);
    expect(cost.bytesAccessed).toBe(4 * (24 + 40 + 30));
  });

  it("a matmul-vector product costs 2mk FLOPs; float64 counts 8 bytes per element", () => {
    const a = np.ones([6, 7], { dtype: "float64" });
    const v = np.ones([7], { dtype: "float64" });
    const compiled = jit(mm).lower(a, v).compile();
    expect(compiled.costAnalysis().flops).toBe(2 * 6 * 7);
    const dot = compiled.report().kernels.find((k) => k.equations.includes("dot_general"))!;
    expect(dot.flops).toBe(2 * 6 * 7);
    expect(dot.bytes).toBe(8 * (42 + 7 + 6));
  });

  it("a fused kernel moves only its inputs and outputs; FLOPs count one per element and op", () => {
    const f = (x: NDArray): NDArray => np.tanh(x.mul(2).add(1)).mul(x);
    const cost = jit(f).lower(floats(10)).compile().costAnalysis();
    expect(cost.bytesAccessed).toBe(4 * (10 + 10));
    expect(cost.flops).toBe(4 * 10);
  });

  it("the program's cost is the sum of its kernels'", () => {
    const f = (x: NDArray, w: NDArray): NDArray => np.tanh(x.matmul(w)).sum({ axis: -1 });
    const lowered = jit(f).lower(np.ones([2, 3]), np.ones([3, 4]));
    const report = lowered.report();
    const cost = lowered.compile().costAnalysis();
    expect(cost.flops).toBe(report.kernels.reduce((n, k) => n + k.flops, 0));
    expect(cost.bytesAccessed).toBe(report.kernels.reduce((n, k) => n + k.bytes, 0));
    expect(cost.flops).toBeGreaterThanOrEqual(2 * 2 * 3 * 4);
  });
});

describe("in-place updates", () => {
  const inPlaceOf = (report: { kernels: { equations: string[]; inPlace: string[] }[] }): string[] =>
    report.kernels.flatMap((k) => k.inPlace);

  it("x.mul(2).at(0).set(1) updates the dying product in place", () => {
    const f = (x: NDArray): NDArray => x.mul(2).at(0).set(1);
    const x = floats(6);
    const report = jit(f).lower(x).report();
    const scatter = report.kernels.find((k) => k.equations.includes("scatter"));
    expect(scatter).toBeDefined();
    expect(scatter!.inPlace.length).toBe(1);
    expect(scatter!.inPlace[0]).toMatch(/^[a-z]+ → [a-z]+$/);
    expect(bits(jit(f)(x))).toEqual(bits(f(x)));
    expect(bits(jit(f)(x))[0]).toBe("1");
  });

  it("a value shared through stopGradient is not overwritten while still needed", () => {
    // stop_gradient returns its input: writing one in place would change the other.
    const f = (e: NDArray): NDArray[] => {
      const n = e.mul(2);
      return [n.add(1), stopGradient(n).mul(3)];
    };
    const x = np.array([1, 2, 3, 4]);
    const [a, b] = jit(f)(x);
    expect(a!.toList()).toEqual([3, 5, 7, 9]);
    expect(b!.toList()).toEqual([6, 12, 18, 24]);
    expect(jit(f).lower(x).optimized.toString()).not.toContain("stop_gradient");
  });

  it("an argument is not updated in place unless it is donated", () => {
    const f = (x: NDArray): NDArray => x.at(0).set(1);
    const x = floats(6);
    expect(inPlaceOf(jit(f).lower(x).report())).toEqual([]);
    const donated = jit(f, { donateArgnums: 0 }).lower(x).report();
    expect(inPlaceOf(donated).length).toBe(1);

    const g = (y: NDArray): NDArray => np.exp(y.mul(2));
    expect(inPlaceOf(jit(g).lower(x).report())).toEqual([]);
    expect(
      inPlaceOf(
        jit(g, { donateArgnums: [0] })
          .lower(x)
          .report(),
      ).length,
    ).toBe(1);
  });

  it("a non-donated argument keeps its values after the call", () => {
    const x = floats(6);
    const before = bits(x);
    const out = jit((y: NDArray) => np.exp(y.mul(2)).at(1).set(0))(x);
    expect(bits(x)).toEqual(before);
    expect(bits(out)[1]).toBe("0");
  });

  it("a donated argument's buffer holds the result (it is really reused)", () => {
    const x = np.array([1, 2, 3, 4]);
    const storage = asConcrete(x).data;
    const out = jit((y: NDArray) => y.mul(2).add(1), { donateArgnums: 0 })(x);
    expect(out.toList()).toEqual([3, 5, 7, 9]);
    expect(asConcrete(out).data).toBe(storage);
  });

  it("a donated argument is scattered into in place", () => {
    const x = np.array([1, 2, 3, 4]);
    const storage = asConcrete(x).data;
    const out = jit((y: NDArray) => y.at(2).set(10), { donateArgnums: 0 })(x);
    expect(out.toList()).toEqual([1, 2, 10, 4]);
    expect(asConcrete(out).data).toBe(storage);
  });

  it("a buffer that a live view still reads is not overwritten", () => {
    const f = (x: NDArray): NDArray[] => {
      const t = x.mul(2);
      return [t.reshape([2, 3]), t.get("1:"), t.add(1)];
    };
    const x = floats(6);
    const report = jit(f).lower(x).report();
    expect(inPlaceOf(report)).toEqual([]);
    expectJitExact(f, [x]);
  });

  it("a scatter whose updates are a view of the buffer it overwrites reads them first", () => {
    // y[1:] = y[:-1] (a shift): writing y in place while reading the slice of y would smear y[0].
    const shiftSet = (x: NDArray): NDArray => {
      const y = x.mul(2);
      return y.at(np.slice(1, null)).set(y.get(":-1"));
    };
    const shiftAdd = (x: NDArray): NDArray => {
      const y = x.mul(2);
      return y.at(np.slice(1, null)).add(y.get(":-1"));
    };
    const x = np.array([1, 2, 3, 4, 5, 6]);
    expect(shiftSet(x).toList()).toEqual([2, 2, 4, 6, 8, 10]);
    expectJitExact((y) => [shiftSet(y)], [x]);
    expectJitExact((y) => [shiftAdd(y)], [x]);
  });

  it("a donated argument scattered with a view of itself gives the eager result", () => {
    const shift = (y: NDArray): NDArray => y.at(np.slice(1, null)).set(y.get(":-1"));
    const out = jit(shift, { donateArgnums: 0 })(np.array([1, 2, 3, 4]));
    expect(out.toList()).toEqual([1, 1, 2, 3]);
  });

  it("a chain of dying elementwise results is computed in place, with exact results", () => {
    const f = (x: NDArray, w: NDArray): NDArray => {
      const a = np.sin(x.matmul(w)); // fused after the matmul: its output dies here
      const b = a.matmul(w.T); // a is read by a non-fused kernel, then dies
      return np.exp(b).mul(2);
    };
    const x = floats(9).reshape([3, 3]);
    const w = floats(9, 3).reshape([3, 3]);
    const report = jit(f).lower(x, w).report();
    expect(inPlaceOf(report).length).toBeGreaterThanOrEqual(1);
    expectJitExact((a, b) => [f(a, b)], [x, w]);
  });
});

describe("peak memory", () => {
  it("is at least the inputs and the output, and no more than every buffer at once", () => {
    const f = (x: NDArray): NDArray => np.tanh(x.mul(2).add(1)).mul(x);
    const report = jit(f).lower(floats(100)).report();
    // The input and the output are live together; the fused intermediates are never stored.
    expect(report.peakBytes).toBeGreaterThanOrEqual(2 * 400);
    expect(report.peakBytes).toBeLessThan(5 * 400);
    expect(report.toString()).toContain(`peak memory: ${report.peakBytes} bytes`);
  });

  it("counts every buffer that must be live together", () => {
    // x, a and b are all read by the last matmul, whose output is allocated while they live.
    const f = (x: NDArray): NDArray => {
      const a = x.matmul(x);
      const b = a.matmul(x);
      return b.matmul(a).add(x.matmul(b));
    };
    const x = floats(100).reshape([10, 10]);
    const report = jit(f).lower(x).report();
    const buffer = 10 * 10 * 4;
    expect(report.peakBytes).toBeGreaterThanOrEqual(4 * buffer);
    // At most: x, a, b, the two products and the sum.
    expect(report.peakBytes).toBeLessThanOrEqual(6 * buffer);
    expectClose(jit(f)(x), f(x), { rtol: 1e-6 });
  });

  it("a matmul's peak is its inputs plus its output", () => {
    const report = jit((a: NDArray, b: NDArray) => a.matmul(b))
      .lower(np.ones([3, 4]), np.ones([4, 5]))
      .report();
    expect(report.peakBytes).toBe(4 * (12 + 20 + 15));
  });

  it("in-place reuse lowers the peak: a donated scatter needs no new buffer", () => {
    const f = (x: NDArray): NDArray => x.at(0).set(1);
    const x = floats(100);
    const kept = jit(f).lower(x).report().peakBytes;
    const donated = jit(f, { donateArgnums: 0 }).lower(x).report().peakBytes;
    expect(kept).toBeGreaterThanOrEqual(2 * 400);
    expect(donated).toBeGreaterThanOrEqual(400);
    expect(donated).toBeLessThan(kept);
  });
});

describe("the report", () => {
  it("lists every kernel, its equations, in-place buffers, FLOPs and bytes as a table", () => {
    const f = (x: NDArray, w: NDArray): NDArray => np.tanh(x.matmul(w).mul(2)).at(0).set(0);
    const report = jit(f)
      .lower(np.ones([2, 3]), np.ones([3, 4]))
      .report();
    const text = report.toString();
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^kernel\s+equations\s+in place\s+FLOPs\s+bytes$/);
    for (const k of report.kernels) {
      const row = lines.find((l) => l.startsWith(k.kernel));
      expect(row, k.kernel).toBeDefined();
      expect(row).toContain(k.equations.join(" → "));
      expect(row).toContain(String(k.flops));
      expect(row).toContain(String(k.bytes));
      for (const p of k.inPlace) expect(row).toContain(p);
    }
    expect(lines[lines.length - 1]).toBe(`peak memory: ${report.peakBytes} bytes`);
  });
});

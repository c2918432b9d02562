/**
 * The WebAssembly SIMD matmul kernels (src/compiler/kernels/matmul.ts) against a float64 JS
 * reference: odd and block-crossing shapes, k = 0, batches and broadcasts, transposed and
 * negative strides, strided C, float32 and float64, the bias / relu epilogue, small blockings
 * that force every edge path, and nothing written outside C and the scratch area.
 */
import { describe, expect, it } from "vitest";
import {
  defaultMatmulBlocking,
  emitMatmul,
  matmulFlops,
  matmulScratchBytes,
  planMatmul,
  type MatmulBlocking,
  type MatmulOperandLayout,
  type MatmulSpec,
} from "../../src/compiler/kernels/matmul.js";
import { ModuleBuilder } from "../../src/compiler/wasm/module.js";
import { toText } from "../../src/compiler/wasm/text.js";
import { relaxedSimdSupported } from "../../src/runtime/relaxed-simd.js";
import { WebAssembly } from "../../src/runtime/webassembly.js";

type Float = Float32Array | Float64Array;
type Kernel = (...args: number[]) => void;

/** Deterministic values in [-1, 1). */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 31 - 1;
  };
}

/** The smallest and largest element offsets an operand layout reaches over its index space. */
function extent(
  sizes: [number, number, number],
  strides: [number, number, number],
): { min: number; max: number } {
  let min = 0;
  let max = 0;
  sizes.forEach((size, i) => {
    if (size === 0) return;
    const reach = (size - 1) * strides[i]!;
    if (reach < 0) min += reach;
    else max += reach;
  });
  return { min, max };
}

const align64 = (bytes: number): number => Math.ceil(bytes / 64) * 64;
const SENTINEL = 7777.5;

interface Result {
  /** C as `[batch][m][n]`, read through the C layout. */
  c: number[][][];
  /** The f64 reference and Σ|a·b| per element (the scale of rounding errors). */
  expected: number[][][];
  scale: number[][][];
  /** Elements of the C region that are not C elements but changed (should be none). */
  strayWrites: number;
  /** Whether the bytes after the scratch area are untouched. */
  scratchGuardIntact: boolean;
}

/**
 * Builds the kernel of `spec`, runs it on pseudo-random operands laid out by its strides, and
 * returns C with the reference.
 */
function run(spec: MatmulSpec, seed = 1): Result {
  const { batch, m, n, k } = spec;
  const es = spec.dtype === "float32" ? 4 : 8;
  const Arr = spec.dtype === "float32" ? Float32Array : Float64Array;
  const cLayout = spec.c ?? { batchStride: m * n, rowStride: n };
  const layoutStrides = (l: MatmulOperandLayout): [number, number, number] => [
    l.batchStride,
    l.rowStride,
    l.colStride,
  ];
  const aExtent = extent([batch, m, k], layoutStrides(spec.a));
  const bExtent = extent([batch, k, n], layoutStrides(spec.b));
  const cExtent = extent([batch, m, n], [cLayout.batchStride, cLayout.rowStride, 1]);
  const aLength = aExtent.max - aExtent.min + 1;
  const bLength = bExtent.max - bExtent.min + 1;
  const cLength = cExtent.max - cExtent.min + 1 + 8; // + a guard after C
  const scratchBytes = matmulScratchBytes(spec);
  const aRegion = 64;
  const bRegion = aRegion + align64(aLength * es);
  const cRegion = bRegion + align64(bLength * es);
  const biasRegion = cRegion + align64(cLength * es);
  const scratch = biasRegion + align64(Math.max(n, 1) * es);
  const total = scratch + scratchBytes + 64;

  const module = new ModuleBuilder();
  module.importMemory({ minPages: 1 });
  emitMatmul(module, "matmul", spec);
  const memory = new WebAssembly.Memory({ initial: Math.ceil(total / 65536) });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(module.build()), {
    env: { memory },
  });
  const kernel = instance.exports.matmul as Kernel;
  const buffer = memory.buffer as ArrayBuffer;
  const view = (byteOffset: number, length: number): Float => new Arr(buffer, byteOffset, length);
  const next = random(seed);
  const aData = view(aRegion, aLength);
  const bData = view(bRegion, bLength);
  const cData = view(cRegion, cLength);
  const bias = view(biasRegion, Math.max(n, 1));
  for (let i = 0; i < aLength; i++) aData[i] = next();
  for (let i = 0; i < bLength; i++) bData[i] = next();
  for (let i = 0; i < n; i++) bias[i] = next();
  cData.fill(SENTINEL);
  // Garbage in the scratch area: packing must not rely on zeroed memory.
  const scratchView = new Uint8Array(buffer, scratch, scratchBytes + 64);
  for (let i = 0; i < scratchView.length; i++) scratchView[i] = (i * 37 + 11) & 0xff;
  const guardBefore = Array.from(scratchView.subarray(scratchBytes));

  // Base pointers: the region start minus the (negative) minimum offset.
  const aBase = aRegion + -aExtent.min * es;
  const bBase = bRegion + -bExtent.min * es;
  const cBase = cRegion + -cExtent.min * es;
  kernel(aBase, bBase, cBase, scratch, biasRegion);

  const at = (l: MatmulOperandLayout, data: Float, min: number, b: number, i: number, j: number) =>
    data[-min + b * l.batchStride + i * l.rowStride + j * l.colStride]!;
  const relu = spec.epilogue?.activation === "relu";
  const useBias = spec.epilogue?.bias ?? false;
  const c: number[][][] = [];
  const expected: number[][][] = [];
  const scale: number[][][] = [];
  const written = new Set<number>();
  for (let b = 0; b < batch; b++) {
    c.push([]);
    expected.push([]);
    scale.push([]);
    for (let i = 0; i < m; i++) {
      const cRow: number[] = [];
      const eRow: number[] = [];
      const sRow: number[] = [];
      for (let j = 0; j < n; j++) {
        let sum = 0;
        let abs = 0;
        for (let p = 0; p < k; p++) {
          const prod =
            at(spec.a, aData, aExtent.min, b, i, p) * at(spec.b, bData, bExtent.min, b, p, j);
          sum += prod;
          abs += Math.abs(prod);
        }
        if (useBias) {
          sum += bias[j]!;
          abs += Math.abs(bias[j]!);
        }
        if (relu) sum = Math.max(sum, 0);
        const index = -cExtent.min + b * cLayout.batchStride + i * cLayout.rowStride + j;
        written.add(index);
        cRow.push(cData[index]!);
        eRow.push(sum);
        sRow.push(abs);
      }
      c[b]!.push(cRow);
      expected[b]!.push(eRow);
      scale[b]!.push(sRow);
    }
  }
  let strayWrites = 0;
  for (let i = 0; i < cLength; i++) if (!written.has(i) && cData[i] !== SENTINEL) strayWrites++;
  const guardAfter = Array.from(new Uint8Array(buffer, scratch + scratchBytes, 64));
  return {
    c,
    expected,
    scale,
    strayWrites,
    scratchGuardIntact: guardAfter.every((x, i) => x === guardBefore[i]),
  };
}

/** Checks C against the reference: float32 within ~1e-5 of Σ|a·b|, float64 within 1e-13. */
function check(spec: MatmulSpec, seed = 1): Result {
  const result = run(spec, seed);
  const tolerance = spec.dtype === "float32" ? 1e-5 : 1e-13;
  let worst = 0;
  let where = "";
  result.c.forEach((plane, b) =>
    plane.forEach((row, i) =>
      row.forEach((value, j) => {
        const error =
          Math.abs(value - result.expected[b]![i]![j]!) / Math.max(result.scale[b]![i]![j]!, 1e-30);
        if (!(error <= worst)) {
          worst = error;
          where = `(${b}, ${i}, ${j}): got ${value}, expected ${result.expected[b]![i]![j]}`;
        }
      }),
    ),
  );
  expect(worst, `worst relative error at ${where}`).toBeLessThanOrEqual(tolerance);
  expect(result.strayWrites, "writes outside C").toBe(0);
  expect(result.scratchGuardIntact, "writes past the scratch area").toBe(true);
  return result;
}

/** A row-major `rows × cols` operand, or (when `transposed`) the transpose of one it holds. */
function layout(rows: number, cols: number, transposed = false, batchStride = rows * cols) {
  return transposed
    ? { batchStride, rowStride: 1, colStride: rows }
    : { batchStride, rowStride: cols, colStride: 1 };
}

function baseSpec(
  dtype: MatmulSpec["dtype"],
  [m, n, k]: [number, number, number],
  options: {
    batch?: number;
    ta?: boolean;
    tb?: boolean;
    blocking?: Partial<MatmulBlocking>;
    epilogue?: MatmulSpec["epilogue"];
  } = {},
): MatmulSpec {
  const batch = options.batch ?? 1;
  return {
    dtype,
    batch,
    m,
    n,
    k,
    a: layout(m, k, options.ta),
    b: layout(k, n, options.tb),
    blocking: options.blocking,
    epilogue: options.epilogue,
  };
}

const shapes: [number, number, number][] = [
  [1, 1, 1],
  [5, 7, 3],
  [17, 33, 65],
  [4, 8, 16],
  [8, 16, 4],
  [2, 3, 1],
  [1, 40, 9],
  [37, 1, 11],
  [13, 9, 300],
  [30, 70, 257],
];

relaxedSimdSupported(); // switches relaxed SIMD on where the engine has it behind a flag

describe.each([
  ["float32", false],
  ["float64", false],
  ["float32", true],
  ["float64", true],
] as const)("matmul %s (fused multiply-add: %s)", (dtype, fusedMultiplyAdd) => {
  const specOf = (...args: Parameters<typeof baseSpec>): MatmulSpec => ({
    ...baseSpec(...args),
    fusedMultiplyAdd,
  });

  it.each(shapes)("%i×%i×%i (m×n×k) matches the reference", (m, n, k) => {
    check(specOf(dtype, [m, n, k]));
  });

  it.each([
    [false, true],
    [true, false],
    [true, true],
  ])("transposed operands via strides (Aᵀ: %s, Bᵀ: %s)", (ta, tb) => {
    for (const shape of [
      [5, 7, 3],
      [17, 33, 65],
      [24, 16, 8],
    ] as [number, number, number][]) {
      check(specOf(dtype, shape, { ta, tb }));
    }
  });

  it("k = 0 writes zeros, and m = 0 or n = 0 writes nothing", () => {
    const { c } = check(specOf(dtype, [3, 5, 0]));
    expect(c.flat(2)).toEqual(new Array(15).fill(0));
    check(specOf(dtype, [0, 5, 4]));
    check(specOf(dtype, [5, 0, 4]));
    check(specOf(dtype, [4, 4, 4], { batch: 0 }));
  });

  it("batches, and broadcasts an operand with batch stride 0", () => {
    check(specOf(dtype, [5, 9, 7], { batch: 3 }));
    check({ ...specOf(dtype, [6, 10, 12], { batch: 4 }), b: layout(12, 10, false, 0) });
    check({ ...specOf(dtype, [6, 10, 12], { batch: 2, tb: true }), a: layout(6, 12, true, 0) });
    // A shared by the batch and one packed block: packed once for every product and every
    // column block (nc = 16 cuts n = 40 in three).
    const blocking = { nc: 16 };
    check({ ...specOf(dtype, [9, 40, 12], { batch: 3, blocking }), a: layout(9, 12, false, 0) });
    check({ ...specOf(dtype, [9, 40, 12], { batch: 3, blocking }), a: layout(9, 12, true, 0) });
  });

  it("adds the bias and applies relu on the last k slice only", () => {
    const blocking = { kc: 8, mc: 8, nc: 16 };
    for (const epilogue of [
      { bias: true },
      { activation: "relu" as const },
      { bias: true, activation: "relu" as const },
    ]) {
      check(specOf(dtype, [9, 13, 5], { epilogue }));
      check(specOf(dtype, [21, 37, 50], { epilogue, blocking, batch: 2 }));
      const { c, expected } = check(specOf(dtype, [3, 6, 0], { epilogue }));
      expect(c).toEqual(expected); // k = 0: just the epilogue of zeros
    }
    const relu = check(specOf(dtype, [16, 16, 16], { epilogue: { activation: "relu" } }));
    const flat = relu.c.flat(2);
    expect(flat.every((x) => x >= 0)).toBe(true);
    expect(flat.some((x) => x === 0)).toBe(true);
  });

  it("writes C with a row stride larger than n, leaving the gaps alone", () => {
    check({ ...specOf(dtype, [7, 11, 6]), c: { batchStride: 7 * 16, rowStride: 16 } });
    check({
      ...specOf(dtype, [9, 12, 20], { batch: 2 }),
      c: { batchStride: 200, rowStride: 13 },
    });
  });

  it("reads operands with negative and non-unit strides (flipped, strided views)", () => {
    // A with rows reversed and every other column; B with columns reversed.
    check({
      ...specOf(dtype, [6, 9, 5]),
      a: { batchStride: 0, rowStride: -10, colStride: 2 },
      b: { batchStride: 0, rowStride: 9, colStride: -1 },
    });
    check({
      ...specOf(dtype, [11, 10, 7], { batch: 2 }),
      a: { batchStride: -77, rowStride: 7, colStride: 1 },
      b: { batchStride: 70, rowStride: -1, colStride: -7 },
    });
  });

  it("runs products with few rows or columns unpacked, in either form", () => {
    const bias = { bias: true, activation: "relu" as const };
    const cases: [MatmulSpec, "rows" | "dots" | "packed"][] = [
      // Few rows, B's rows contiguous: rows.
      [specOf(dtype, [1, 128, 128]), "rows"],
      [specOf(dtype, [2, 37, 19]), "rows"],
      [specOf(dtype, [3, 9, 5], { ta: true }), "rows"],
      [specOf(dtype, [4, 70, 33], { batch: 3, epilogue: bias }), "rows"],
      [specOf(dtype, [1, 131, 7], { epilogue: { bias: true } }), "rows"],
      [specOf(dtype, [2, 16, 0], { epilogue: bias }), "rows"],
      // Outer products and other short sums: rows, in blocks of 4 rows.
      [specOf(dtype, [37, 20, 1], { epilogue: bias }), "rows"],
      [specOf(dtype, [9, 9, 4], { batch: 2, ta: true }), "rows"],
      // Few rows or columns, A's rows and B's columns contiguous along k: dots.
      [specOf(dtype, [1, 128, 128], { tb: true }), "dots"],
      [specOf(dtype, [3, 10, 37], { tb: true, epilogue: bias }), "dots"],
      [specOf(dtype, [37, 1, 11]), "dots"],
      [specOf(dtype, [64, 3, 20], { tb: true, batch: 2 }), "dots"],
      [specOf(dtype, [9, 4, 130], { tb: true, epilogue: { activation: "relu" } }), "dots"],
      // Neither operand runs the right way: packed.
      [specOf(dtype, [2, 37, 19], { ta: true, tb: true }), "packed"],
      [specOf(dtype, [40, 2, 19], { ta: true }), "packed"],
    ];
    for (const [spec, form] of cases) {
      expect(planMatmul(spec).form, `${spec.m}×${spec.n}×${spec.k}`).toBe(form);
      if (form !== "packed") expect(matmulScratchBytes(spec)).toBe(0);
      const unpacked = check(spec);
      const packed = check({ ...spec, matvec: false });
      expect(planMatmul({ ...spec, matvec: false }).form).toBe("packed");
      expect(unpacked.expected).toEqual(packed.expected);
    }
    // Strided C, negative strides and a batch-broadcast operand.
    check({
      ...specOf(dtype, [3, 21, 6], { batch: 2 }),
      a: { batchStride: 0, rowStride: -7, colStride: 1 },
      c: { batchStride: 100, rowStride: 30 },
    });
    check({
      ...specOf(dtype, [2, 9, 13], { batch: 2 }),
      b: { batchStride: -130, rowStride: 1, colStride: 13 },
      c: { batchStride: 40, rowStride: 11 },
    });
  });

  it("crosses every block edge with small blockings", () => {
    const blockings: Partial<MatmulBlocking>[] = [
      { kc: 4, mc: 4, nc: 8 },
      { kc: 5, mc: 12, nc: 24, unroll: 2 },
      { mr: 3, nr: 12, kc: 7, mc: 6, nc: 12, unroll: 3 },
      { mr: 1, nr: dtype === "float32" ? 4 : 2, kc: 3, mc: 2, nc: 4 },
      { mr: 6, nr: 16, kc: 16, mc: 30, nc: 32, unroll: 4 },
    ];
    for (const blocking of blockings) {
      for (const shape of [
        [1, 1, 1],
        [13, 29, 31],
        [24, 48, 24],
        [7, 5, 3],
      ] as [number, number, number][]) {
        check(specOf(dtype, shape, { blocking }));
        check(specOf(dtype, shape, { blocking, ta: true, tb: true, batch: 2 }));
      }
    }
  });
});

describe("matmul kernels", () => {
  it("plans even k slices padded to the unroll, and 16-byte scratch", () => {
    const blocking = { kc: 256, unroll: 4 };
    const plan = planMatmul(baseSpec("float32", [100, 100, 1000], { blocking }));
    expect(plan.slices).toBe(4);
    expect(plan.kc).toBe(252); // ceil(1000 / 4) = 250, padded to a multiple of the unroll
    // Tiny slices padded to the unroll are recounted so that none is empty.
    const tiny = planMatmul(baseSpec("float32", [4, 4, 10], { blocking: { kc: 2, unroll: 4 } }));
    expect([tiny.kc, tiny.slices]).toEqual([4, 3]);
    for (const shape of [
      [1, 1, 1],
      [5, 7, 3],
      [512, 512, 512],
      [3, 3, 0],
    ] as [number, number, number][]) {
      expect(matmulScratchBytes(baseSpec("float64", shape)) % 16).toBe(0);
    }
    expect(matmulScratchBytes(baseSpec("float32", [3, 3, 0]))).toBe(0);
    expect(matmulFlops({ batch: 2, m: 3, n: 4, k: 5 })).toBe(240);
  });

  it("adds several kernels to one module and renders as text", () => {
    const module = new ModuleBuilder();
    module.importMemory({ minPages: 1 });
    emitMatmul(module, "forward", baseSpec("float32", [8, 8, 8]));
    emitMatmul(module, "backward", baseSpec("float32", [8, 8, 8], { ta: true }));
    const text = toText(module);
    expect(text).toContain("forward$micro_4x8");
    expect(text).toContain("backward$pack_a");
    expect(text).toContain("f32x4.mul");
    expect(text).toContain("v128.load32_splat");
    const exported = WebAssembly.Module.exports(new WebAssembly.Module(module.build()));
    expect(exported.map((e) => e.name)).toEqual(["forward", "backward"]);
  });

  it("accumulates with relaxed_madd, and no separate multiply, when asked", () => {
    for (const dtype of ["float32", "float64"] as const) {
      const lanes = dtype === "float32" ? "f32x4" : "f64x2";
      const module = new ModuleBuilder();
      module.importMemory({ minPages: 1 });
      emitMatmul(module, "mm", { ...baseSpec(dtype, [8, 8, 8]), fusedMultiplyAdd: true });
      const text = toText(module);
      expect(text).toContain(`${lanes}.relaxed_madd`);
      expect(text).not.toContain(`${lanes}.mul`);
      // The FMA block is 6 rows high (12 accumulators), with the exit branch that keeps V8 from
      // loading a whole step ahead; the 4-row edge kernel below it (8 accumulators) has none.
      const cols = dtype === "float32" ? 8 : 4;
      expect(text).toContain(`mm$micro_6x${cols}`);
      expect(text).toContain(`mm$micro_2x${cols}`);
      const micro = (rows: number): string =>
        text.slice(text.indexOf(`(func $mm$micro_${rows}x${cols}`)).split("(func ")[1]!;
      expect(micro(6)).toMatch(/i32\.eq\s+br_if/);
      expect(micro(2)).not.toMatch(/i32\.eq\s+br_if/);
    }
  });

  it("applies the epilogue to the stored tile, after the accumulators are stored", () => {
    const module = new ModuleBuilder();
    module.importMemory({ minPages: 1 });
    const epilogue = { bias: true, activation: "relu" as const };
    emitMatmul(module, "mm", { ...baseSpec("float32", [12, 8, 8]), epilogue });
    const text = toText(module);
    const micro = text.slice(text.indexOf("(func $mm$micro_")).split("(func ")[1]!;
    const stored = micro.indexOf("store the valid part of the tile");
    const epilogueAt = micro.indexOf("epilogue on the last k slice");
    expect(stored).toBeGreaterThan(0);
    expect(epilogueAt).toBeGreaterThan(stored);
    expect(micro.slice(epilogueAt)).toContain("f32x4.max");
  });

  it("picks 6-row blocks with fused multiply-adds and 4-row blocks without", () => {
    for (const dtype of ["float32", "float64"] as const) {
      const lanes = dtype === "float32" ? 4 : 2;
      expect(defaultMatmulBlocking(dtype, true)).toMatchObject({ mr: 6, nr: 2 * lanes });
      expect(defaultMatmulBlocking(dtype, false)).toMatchObject({ mr: 4, nr: 2 * lanes });
      const plan = (fusedMultiplyAdd: boolean) =>
        planMatmul({ ...baseSpec(dtype, [64, 64, 64]), fusedMultiplyAdd });
      expect(plan(true).mr).toBe(6);
      expect(plan(false).mr).toBe(4);
      expect(plan(true).mc % 6).toBe(0);
    }
  });

  it("is no less accurate fused than unfused", () => {
    // Σ|error| over C against the float64 reference, on a deep product (k = 2000).
    const error = (fusedMultiplyAdd: boolean): number => {
      const { c, expected } = check({ ...baseSpec("float32", [9, 10, 2000]), fusedMultiplyAdd });
      return c.flat(2).reduce((sum, x, i) => sum + Math.abs(x - expected.flat(2)[i]!), 0);
    };
    expect(relaxedSimdSupported()).toBe(true); // Node.js has relaxed SIMD (behind a flag in 20)
    expect(error(true)).toBeLessThanOrEqual(error(false) * 1.25);
  });

  it("rejects bad specs", () => {
    const module = new ModuleBuilder();
    expect(() => emitMatmul(module, "mm", baseSpec("float32", [2, 2, 2]))).toThrow(/importMemory/);
    expect(() => planMatmul(baseSpec("float32", [2, 2, 2], { blocking: { nr: 6 } }))).toThrow(
      /multiple of 4/,
    );
    expect(() => planMatmul(baseSpec("float32", [2, -1, 2]))).toThrow(RangeError);
    expect(() =>
      planMatmul({ ...baseSpec("float32", [2, 2, 2]), dtype: "int32" as "float32" }),
    ).toThrow(TypeError);
    expect(() =>
      planMatmul(baseSpec("float32", [2, 2, 2], { epilogue: { activation: "tanh" as "relu" } })),
    ).toThrow(/activation/);
  });
});

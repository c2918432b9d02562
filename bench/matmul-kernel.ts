/**
 * `npx tsx bench/matmul-kernel.ts`: GFLOP/s of the wasm SIMD matmul kernels
 * (src/compiler/kernels/matmul.ts) against a plain JS triple loop, single-threaded, in one run.
 *
 * Rows: f32 256/512/1024, f64 512, transposed-A and transposed-B variants (same data read
 * through swapped strides), a batched product and the bias + relu epilogue. Each number is the
 * median of several timed calls after warm-up calls (V8 tiers the kernels up to TurboFan); the
 * result of every kernel is checked against the JS loop.
 *
 * Rows marked FMA accumulate with relaxed SIMD's fused multiply-add, as fluxion does where the
 * engine has it (Node.js; in Node.js 20 behind a V8 flag that fluxion switches on).
 *
 * Options: `--quick` (fewer sizes), `--tfjs` (adds TensorFlow.js wasm `matMul` on the f32 sizes),
 * `--sweep` (tries blocking variants for f32 512 and f64 512).
 *
 * `--compare '[{"mr":4},{}]'` instead times the listed blockings (each over the default; `{}` is
 * the default; `{"matvec":false}` forces the packed kernels where a product would run unpacked) in interleaved rounds, so that a shared machine's slow spells hit every variant
 * alike, and prints each one's best, 75th percentile and median GFLOP/s. With `--shape m,n,k`
 * (default 512,512,512), `--layout nn|tn|nt`, `--dtype float64`, `--bias`, `--unfused`.
 */
import { cpus } from "node:os";
import {
  defaultMatmulBlocking,
  emitMatmul,
  matmulFlops,
  matmulScratchBytes,
  planMatmul,
  type MatmulBlocking,
  type MatmulSpec,
} from "../src/compiler/kernels/matmul.js";
import { ModuleBuilder } from "../src/compiler/wasm/module.js";
import { relaxedSimdSupported } from "../src/runtime/relaxed-simd.js";
import { WebAssembly, type WasmMemory } from "../src/runtime/webassembly.js";
import { measure } from "./measure.js";

const argv = process.argv.slice(2);
const args = new Set(argv);
const quick = args.has("--quick");
/** The value after option `name`, if given. */
const option = (name: string): string | undefined => {
  const at = argv.indexOf(name);
  return at >= 0 ? argv[at + 1] : undefined;
};

type Float = Float32Array | Float64Array;
type Layout = "nn" | "tn" | "nt";

interface Row {
  label: string;
  spec: MatmulSpec;
}

const align = (x: number): number => Math.ceil(x / 64) * 64;

/** A row-major `rows × cols` operand, read directly or (for `t`) as the transpose it holds. */
function layoutOf(rows: number, cols: number, transposed: boolean, batchStride: number) {
  return transposed
    ? { batchStride, rowStride: 1, colStride: rows }
    : { batchStride, rowStride: cols, colStride: 1 };
}

function specOf(
  dtype: MatmulSpec["dtype"],
  size: [number, number, number],
  layout: Layout = "nn",
  batch = 1,
  extra: Partial<MatmulSpec> = {},
): MatmulSpec {
  const [m, n, k] = size;
  return {
    dtype,
    batch,
    m,
    n,
    k,
    a: layoutOf(m, k, layout === "tn", m * k),
    b: layoutOf(k, n, layout === "nt", k * n),
    ...extra,
  };
}

/** Plain JS: C = A @ B with i-p-j loops over contiguous rows (the loop every JS library beats). */
function jsMatmul(spec: MatmulSpec, a: Float, b: Float, c: Float): void {
  const { m, n, k } = spec;
  for (let bi = 0; bi < spec.batch; bi++) {
    const ao = bi * spec.a.batchStride;
    const bo = bi * spec.b.batchStride;
    const co = bi * m * n;
    c.fill(0, co, co + m * n);
    for (let i = 0; i < m; i++) {
      const ci = co + i * n;
      for (let p = 0; p < k; p++) {
        const aip = a[ao + i * spec.a.rowStride + p * spec.a.colStride]!;
        const bp = bo + p * spec.b.rowStride;
        const bj = spec.b.colStride;
        for (let j = 0; j < n; j++) c[ci + j]! += aip * b[bp + j * bj]!;
      }
    }
  }
}

function epilogueJs(spec: MatmulSpec, c: Float, bias: Float | undefined): void {
  const relu = spec.epilogue?.activation === "relu";
  for (let i = 0; i < c.length; i++) {
    let x = c[i]! + (bias === undefined ? 0 : bias[i % spec.n]!);
    if (relu) x = Math.max(x, 0);
    c[i] = x;
  }
}

interface Prepared {
  run(): void;
  result(): Float;
  a: Float;
  b: Float;
  bias: Float | undefined;
}

/** Builds and instantiates the kernel for `spec`, with random operands in its memory. */
function prepare(spec: MatmulSpec): Prepared {
  const { batch, m, n, k } = spec;
  const es = spec.dtype === "float32" ? 4 : 8;
  const Arr = spec.dtype === "float32" ? Float32Array : Float64Array;
  const aBytes = align(batch * m * k * es);
  const bBytes = align(batch * k * n * es);
  const cBytes = align(batch * m * n * es);
  const biasBytes = align(n * es);
  const total = aBytes + bBytes + cBytes + biasBytes + matmulScratchBytes(spec) + 64;
  const module = new ModuleBuilder();
  module.importMemory({ minPages: 1 });
  emitMatmul(module, "matmul", spec);
  const memory: WasmMemory = new WebAssembly.Memory({ initial: Math.ceil(total / 65536) });
  const exports = new WebAssembly.Instance(new WebAssembly.Module(module.build()), {
    env: { memory },
  }).exports as Record<string, (...args: number[]) => void>;
  const kernel = exports.matmul!;
  const [aPtr, bPtr, cPtr, biasPtr] = [0, aBytes, aBytes + bBytes, aBytes + bBytes + cBytes];
  const scratch = biasPtr + biasBytes;
  const view = (ptr: number, length: number): Float =>
    new Arr(memory.buffer as ArrayBuffer, ptr, length);
  const a = view(aPtr, batch * m * k);
  const b = view(bPtr, batch * k * n);
  const bias = spec.epilogue?.bias ? view(biasPtr, n) : undefined;
  for (let i = 0; i < a.length; i++) a[i] = Math.random() * 2 - 1;
  for (let i = 0; i < b.length; i++) b[i] = Math.random() * 2 - 1;
  if (bias !== undefined) for (let i = 0; i < n; i++) bias[i] = Math.random() - 0.5;
  return {
    run: () => kernel(aPtr, bPtr, cPtr, scratch, biasPtr),
    result: () => view(cPtr, batch * m * n),
    a,
    b,
    bias,
  };
}

function maxRelativeError(actual: Float, expected: Float): number {
  let scale = 0;
  let error = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]!));
    error = Math.max(error, Math.abs(actual[i]! - expected[i]!));
  }
  return error / Math.max(scale, 1e-30);
}

const gflops = (spec: MatmulSpec, ms: number): number => matmulFlops(spec) / (ms * 1e6);
const fmt = (x: number, digits = 1): string => x.toFixed(digits).padStart(7);

async function timeKernel(spec: MatmulSpec): Promise<{ gflops: number; error: number }> {
  const prepared = prepare(spec);
  const flops = matmulFlops(spec);
  const timing = await measure(prepared.run, {
    warmup: Math.max(3, Math.min(20, Math.round(2e8 / flops))),
    minReps: 5,
    maxReps: 200,
    budgetMs: quick ? 300 : 1000,
  });
  const Arr = spec.dtype === "float32" ? Float32Array : Float64Array;
  const expected = new Arr(spec.batch * spec.m * spec.n);
  jsMatmul(spec, prepared.a, prepared.b, expected);
  if (spec.epilogue !== undefined) epilogueJs(spec, expected, prepared.bias);
  return {
    gflops: gflops(spec, timing.medianMs),
    error: maxRelativeError(prepared.result(), expected),
  };
}

async function timeJs(spec: MatmulSpec): Promise<number> {
  const prepared = prepare(spec);
  const Arr = spec.dtype === "float32" ? Float32Array : Float64Array;
  const c = new Arr(spec.batch * spec.m * spec.n);
  const big = matmulFlops(spec) > 1e9;
  const timing = await measure(() => jsMatmul(spec, prepared.a, prepared.b, c), {
    warmup: big ? 0 : 1,
    minReps: big ? 1 : 3,
    maxReps: 10,
    budgetMs: quick ? 300 : 1000,
  });
  return gflops(spec, timing.medianMs);
}

async function timeTfjs(size: number): Promise<number> {
  const { createRequire } = await import("node:module");
  const { dirname, join } = await import("node:path");
  const tf = await import("@tensorflow/tfjs");
  const { setWasmPaths } = await import("@tensorflow/tfjs-backend-wasm");
  const require = createRequire(import.meta.url);
  setWasmPaths(
    join(dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "dist") + "/",
  );
  if (tf.getBackend() !== "wasm" && !(await tf.setBackend("wasm"))) throw new Error("no wasm");
  const x = tf.randomUniform([size, size]);
  const y = tf.randomUniform([size, size]);
  const timing = await measure(
    async () => {
      const z = tf.matMul(x, y);
      await z.data();
      z.dispose();
    },
    { warmup: 2, minReps: 5, maxReps: 100, budgetMs: 1000 },
  );
  tf.dispose([x, y]);
  return (2 * size ** 3) / (timing.medianMs * 1e6);
}

/**
 * The machine's f32x4 peak as V8 runs it, with no memory: `accumulators` independent chains of
 * mul + add or of fused multiply-adds. Shown first so that the rows read as a fraction of it
 * (shared machines vary run to run). With too few chains a core waits on the latency of each
 * FMA: the default FMA micro-kernel (6×8) has 12 accumulators, and the 12-chain FMA row is its
 * ceiling; the mul + add one (4×8) has 8.
 */
function peakGflops(accumulators: number, fused: boolean): number {
  const module = new ModuleBuilder();
  const f = module.addFunction("peak", { params: ["i32"], export: true, results: ["f32"] });
  const acc = Array.from({ length: accumulators }, () => f.addLocal("v128"));
  const x = f.addLocal("v128");
  f.f32x4Const(1, 1, 1, 1).localSet(x);
  f.loop((top) => {
    // Two steps of every chain per iteration, so that the loop's own instructions cost little.
    for (const a of [...acc, ...acc]) {
      if (fused) f.localGet(x).localGet(x).localGet(a).f32x4RelaxedMadd().localSet(a);
      else f.localGet(a).localGet(x).localGet(x).f32x4Mul().f32x4Add().localSet(a);
    }
    f.localGet(0).i32Const(1).i32Sub().localTee(0).brIf(top);
  });
  f.f32Const(0);
  for (const a of acc) f.localGet(a).f32x4ExtractLane(0).f32Add();
  const instance = new WebAssembly.Instance(new WebAssembly.Module(module.build()));
  const peak = instance.exports.peak as (iterations: number) => number;
  peak(1e5);
  let best = 0;
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    peak(2e6);
    best = Math.max(best, (2e6 * accumulators * 16) / ((performance.now() - start) * 1e6));
  }
  return best;
}

const sizes = quick ? [256, 512] : [256, 512, 1024];
const rows: Row[] = [];
for (const s of sizes) rows.push({ label: `f32 ${s}³`, spec: specOf("float32", [s, s, s]) });
for (const layout of ["tn", "nt"] as const) {
  const name = layout === "tn" ? "Aᵀ·B" : "A·Bᵀ";
  rows.push({ label: `f32 512³ ${name}`, spec: specOf("float32", [512, 512, 512], layout) });
}
rows.push({ label: "f64 512³", spec: specOf("float64", [512, 512, 512]) });
if (!quick) {
  rows.push({ label: "f64 512³ Aᵀ·B", spec: specOf("float64", [512, 512, 512], "tn") });
  rows.push({ label: "f32 1000×1000×1000", spec: specOf("float32", [1000, 1000, 1000]) });
}
rows.push({ label: "f32 16×128×128×128", spec: specOf("float32", [128, 128, 128], "nn", 16) });
rows.push({
  label: "f32 512³ +bias relu",
  spec: specOf("float32", [512, 512, 512], "nn", 1, {
    epilogue: { bias: true, activation: "relu" },
  }),
});
rows.push({ label: "f32 64×512×784 (MLP)", spec: specOf("float32", [64, 512, 784]) });
// The same kernels accumulating with relaxed SIMD's fused multiply-add (what fluxion runs where
// the engine has it), and the MLP benchmark's two large products.
if (relaxedSimdSupported()) {
  const fma = { fusedMultiplyAdd: true };
  rows.push({ label: "f32 512³ FMA", spec: specOf("float32", [512, 512, 512], "nn", 1, fma) });
  rows.push({
    label: "f32 512³ Aᵀ·B FMA",
    spec: specOf("float32", [512, 512, 512], "tn", 1, fma),
  });
  rows.push({ label: "f64 512³ FMA", spec: specOf("float64", [512, 512, 512], "nn", 1, fma) });
  rows.push({
    label: "f32 128×784·784×256 FMA",
    spec: specOf("float32", [128, 256, 784], "nn", 1, fma),
  });
  // The MLP's forward product with its bias, as fluxion fuses it (the epilogue must not cost
  // the loop its registers).
  rows.push({
    label: "f32 128×784·784×256 +bias FMA",
    spec: specOf("float32", [128, 256, 784], "nn", 1, { ...fma, epilogue: { bias: true } }),
  });
  rows.push({
    label: "f32 784×128ᵀ·128×256 FMA",
    spec: specOf("float32", [784, 256, 128], "tn", 1, fma),
  });
}

/** A `--compare` variant: a blocking, and `matvec: false` to force the packed kernels. */
type Variant = Partial<MatmulBlocking> & { matvec?: boolean };

/** `--compare`: the blockings in interleaved rounds (see the header). */
function compare(variants: Variant[]): void {
  const [m, n, k] = (option("--shape") ?? "512,512,512").split(",").map(Number) as [
    number,
    number,
    number,
  ];
  const dtype = option("--dtype") === "float64" ? "float64" : "float32";
  const layout = (option("--layout") ?? "nn") as Layout;
  const fusedMultiplyAdd = relaxedSimdSupported() && !args.has("--unfused");
  const extra = { fusedMultiplyAdd, ...(args.has("--bias") && { epilogue: { bias: true } }) };
  const specs = variants.map(({ matvec, ...blocking }) => ({
    ...specOf(dtype, [m, n, k], layout, 1, extra),
    blocking,
    ...(matvec === false && { matvec }),
  }));
  const prepared = specs.map(prepare);
  // The same operands for every variant, so that their results can be compared.
  for (const p of prepared.slice(1)) {
    p.a.set(prepared[0]!.a);
    p.b.set(prepared[0]!.b);
    if (p.bias !== undefined) p.bias.set(prepared[0]!.bias!);
  }
  const flops = matmulFlops(specs[0]!);
  const reps = Math.max(3, Math.round(3e8 / flops));
  for (const p of prepared) for (let i = 0; i < reps; i++) p.run();
  const first = prepared[0]!.result();
  const samples = prepared.map(() => [] as number[]);
  for (let round = 0; round < 20; round++) {
    prepared.forEach((p, i) => {
      const start = performance.now();
      for (let r = 0; r < reps; r++) p.run();
      samples[i]!.push((reps * flops) / ((performance.now() - start) * 1e6));
    });
  }
  console.log(`${dtype} ${m}×${n}×${k} ${layout}${fusedMultiplyAdd ? " FMA" : ""}, 20 rounds:`);
  specs.forEach((spec, i) => {
    const s = samples[i]!.sort((a, b) => a - b);
    const { form } = planMatmul(spec);
    const blocking =
      form === "packed"
        ? show({ ...defaultMatmulBlocking(dtype, fusedMultiplyAdd), ...spec.blocking })
        : `unpacked ${form}`;
    const error = maxRelativeError(prepared[i]!.result(), first);
    console.log(
      `  ${blocking}: best ${fmt(s[19]!)} p75 ${fmt(s[15]!)} median ${fmt(s[10]!)}` +
        `  (vs the first: ${error.toExponential(1)})`,
    );
  });
}

const show = (b: MatmulBlocking): string =>
  `mr=${b.mr} nr=${b.nr} kc=${b.kc} mc=${b.mc} nc=${b.nc} unroll=${b.unroll}`;
const compared = option("--compare");
if (compared !== undefined) {
  compare(JSON.parse(compared) as Variant[]);
  process.exit(0);
}

console.log(`Machine: ${cpus()[0]?.model ?? "?"}, node ${process.version}, single thread`);
for (const [label, dtype] of [
  ["f32", "float32"],
  ["f64", "float64"],
] as const) {
  const fma = show(defaultMatmulBlocking(dtype, true));
  console.log(`Blocking ${label}: ${show(defaultMatmulBlocking(dtype, false))}; FMA ${fma}`);
}
console.log(
  `f32x4 mul+add peak (registers only, no memory): ${fmt(peakGflops(12, false))} GFLOP/s`,
);
if (relaxedSimdSupported()) {
  const chains = [8, 10, 12].map((n) => `${n}: ${fmt(peakGflops(n, true)).trim()}`).join(", ");
  console.log(`f32x4 FMA peak by independent chains (registers only): ${chains} GFLOP/s`);
}
console.log("");
console.log(
  `${"case".padEnd(30)} ${"wasm".padStart(7)} ${"JS loop".padStart(7)}  speed-up  rel.err`,
);
for (const row of rows) {
  const kernel = await timeKernel(row.spec);
  const js = await timeJs(row.spec);
  console.log(
    `${row.label.padEnd(30)} ${fmt(kernel.gflops)} ${fmt(js)}  ${fmt(kernel.gflops / js)}×  ` +
      kernel.error.toExponential(1),
  );
}
console.log("(GFLOP/s, median; rel.err = max |wasm − JS| / max |JS|)");

if (args.has("--tfjs")) {
  console.log("");
  for (const s of sizes) {
    try {
      console.log(`tfjs-wasm f32 ${s}³: ${fmt(await timeTfjs(s))} GFLOP/s`);
    } catch (e) {
      console.log(`tfjs-wasm f32 ${s}³: failed (${e instanceof Error ? e.message : String(e)})`);
    }
  }
}

if (args.has("--sweep")) {
  console.log("\nBlocking sweep (GFLOP/s):");
  const variants: [MatmulSpec["dtype"], Partial<MatmulBlocking>][] = [];
  for (const [mr, nr] of [
    [4, 8],
    [5, 8],
    [6, 8],
    [4, 12],
    [3, 16],
    [8, 8],
    [3, 12],
    [2, 16],
    [7, 4],
  ] as const) {
    for (const kc of [128, 256, 512]) {
      variants.push(["float32", { mr, nr, kc, mc: mr * 16, nc: 1024 }]);
    }
  }
  for (const [mr, nr] of [
    [4, 4],
    [6, 4],
    [4, 6],
    [8, 4],
  ] as const) {
    variants.push(["float64", { mr, nr, kc: 256, mc: mr * 16, nc: 512 }]);
  }
  for (const [dtype, blocking] of variants) {
    const fusedMultiplyAdd = relaxedSimdSupported();
    const spec = { ...specOf(dtype, [512, 512, 512]), blocking, fusedMultiplyAdd };
    const { gflops: g } = await timeKernel(spec);
    const full = { ...defaultMatmulBlocking(dtype, fusedMultiplyAdd), ...blocking };
    console.log(`  ${dtype} ${show(full)}: ${fmt(g)}`);
  }
}

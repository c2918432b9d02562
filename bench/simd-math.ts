/**
 * `npx tsx bench/simd-math.ts`: throughput of the inline vector math functions
 * (src/compiler/kernels/simd-math.ts) in a WebAssembly f32x4 loop, against a plain JS loop that
 * calls `Math.exp` etc. on a Float32Array, single-threaded, in one run; then the same for the
 * float64 functions (simd-math-f64.ts, f64x2 loops) against `Math` on a Float64Array.
 *
 * Each row maps n float32s (default 2^16, so both arrays stay in cache) from one array into
 * another; numbers are medians of timed calls after warm-up calls (so V8 has tiered both loops
 * up), in millions of elements per second. A `copy` row (the same loop without a function) shows
 * the loop's own cost. Before timing, every wasm result is checked against the JS one (at most
 * 2 ulp apart).
 *
 * Options: `--n=<elements>` (a multiple of 4), `--huge` (adds sin/cos rows on arguments above
 * 2^24, which take the scalar Payne–Hanek path).
 */
import { cpus } from "node:os";
import {
  f32x4Atan,
  f32x4Cos,
  f32x4Exp,
  f32x4Expm1,
  f32x4Log,
  f32x4Log1p,
  f32x4Logistic,
  f32x4Pow,
  f32x4Sin,
  f32x4Tanh,
  ScratchLocals,
  type SimdBinary,
  type SimdUnary,
} from "../src/compiler/kernels/simd-math.js";
import { simdUnaryF64 } from "../src/compiler/codegen/wasm-fused.js";
import { ModuleBuilder, type FunctionBuilder } from "../src/compiler/wasm/module.js";
import { importKernelHostFunctions, kernelHostImports } from "../src/runtime/host-functions.js";
import { relaxedSimdSupported } from "../src/runtime/relaxed-simd.js";
import { WebAssembly } from "../src/runtime/webassembly.js";
import { measure } from "./measure.js";

const args = process.argv.slice(2);
const n = Number(args.find((a) => a.startsWith("--n="))?.slice(4) ?? 1 << 16);
if (!Number.isInteger(n) || n <= 0 || n % 4 !== 0) throw new Error("--n must be a multiple of 4");
const huge = args.includes("--huge");

interface Row {
  name: string;
  /** The emitter; undefined for the copy loop, a binary function for pow. */
  fn: SimdUnary | SimdBinary | undefined;
  binary?: boolean;
  /** The JS loop over Float32Arrays, written out per function so each call site stays monomorphic. */
  js: (x: Float32Array, y: Float32Array, out: Float32Array) => void;
  /** Input i of n (and the second operand for pow). */
  input: (t: number) => number;
  second?: (t: number) => number;
}

/** A deterministic spread of values in [lo, hi]: a scrambled grid. */
const spread = (lo: number, hi: number) => (t: number) =>
  lo + (hi - lo) * ((t * 0.6180339887498949) % 1);

const rows: Row[] = [
  {
    name: "copy",
    fn: undefined,
    js: (x, _y, out) => {
      for (let i = 0; i < x.length; i++) out[i] = x[i]!;
    },
    input: spread(-10, 10),
  },
  {
    name: "exp",
    fn: f32x4Exp,
    js: (x, _y, out) => {
      for (let i = 0; i < x.length; i++) out[i] = Math.exp(x[i]!);
    },
    input: spread(-20, 20),
  },
  {
    name: "expm1",
    fn: f32x4Expm1,
    js: (x, _y, out) => {
      for (let i = 0; i < x.length; i++) out[i] = Math.expm1(x[i]!);
    },
    input: spread(-5, 5),
  },
  {
    name: "log",
    fn: f32x4Log,
    js: (x, _y, out) => {
      for (let i = 0; i < x.length; i++) out[i] = Math.log(x[i]!);
    },
    input: spread(1e-3, 1e3),
  },
  {
    name: "log1p",
    fn: f32x4Log1p,
    js: (x, _y, out) => {
      for (let i = 0; i < x.length; i++) out[i] = Math.log1p(x[i]!);
    },
    input: spread(-0.9, 10),
  },
  {
    name: "tanh",
    fn: f32x4Tanh,
    js: (x, _y, out) => {
      for (let i = 0; i < x.length; i++) out[i] = Math.tanh(x[i]!);
    },
    input: spread(-5, 5),
  },
  // With fused multiply-add (relaxed SIMD), where the engine has it.
  ...(relaxedSimdSupported()
    ? [
        {
          name: "tanh (fused)",
          fn: ((f, s) => f32x4Tanh(f, s, { fusedMultiplyAdd: true })) satisfies SimdUnary,
          js: (x: Float32Array, _y: Float32Array, out: Float32Array) => {
            for (let i = 0; i < x.length; i++) out[i] = Math.tanh(x[i]!);
          },
          input: spread(-5, 5),
        },
      ]
    : []),
  {
    name: "logistic",
    fn: f32x4Logistic,
    js: (x, _y, out) => {
      for (let i = 0; i < x.length; i++) out[i] = 1 / (1 + Math.exp(-x[i]!));
    },
    input: spread(-10, 10),
  },
  {
    name: "sin",
    fn: f32x4Sin,
    js: (x, _y, out) => {
      for (let i = 0; i < x.length; i++) out[i] = Math.sin(x[i]!);
    },
    input: spread(-100, 100),
  },
  {
    name: "cos",
    fn: f32x4Cos,
    js: (x, _y, out) => {
      for (let i = 0; i < x.length; i++) out[i] = Math.cos(x[i]!);
    },
    input: spread(-100, 100),
  },
  {
    name: "atan",
    fn: f32x4Atan,
    js: (x, _y, out) => {
      for (let i = 0; i < x.length; i++) out[i] = Math.atan(x[i]!);
    },
    input: spread(-10, 10),
  },
  {
    name: "pow",
    fn: f32x4Pow,
    binary: true,
    js: (x, y, out) => {
      for (let i = 0; i < x.length; i++) out[i] = Math.pow(x[i]!, y[i]!);
    },
    input: spread(0.01, 10),
    second: (t) => spread(-8, 8)(t + 0.5),
  },
];
if (huge) {
  rows.push(
    {
      name: "sin (|x| > 2^24)",
      fn: f32x4Sin,
      js: (x, _y, out) => {
        for (let i = 0; i < x.length; i++) out[i] = Math.sin(x[i]!);
      },
      input: spread(2 ** 25, 2 ** 60),
    },
    {
      name: "cos (|x| > 2^24)",
      fn: f32x4Cos,
      js: (x, _y, out) => {
        for (let i = 0; i < x.length; i++) out[i] = Math.cos(x[i]!);
      },
      input: spread(2 ** 25, 2 ** 60),
    },
  );
}

type Kernel = (x: number, y: number, out: number, bytes: number) => void;

/** One module: kernel i maps x (and y) at offsets 0 (and 4n) to out at 8n. */
function build() {
  const m = new ModuleBuilder();
  const pages = Math.ceil((12 * n) / 65536);
  m.importMemory({ minPages: pages });
  rows.forEach((row, k) => {
    const f: FunctionBuilder = m.addFunction(`k${k}`, {
      params: ["i32", "i32", "i32", "i32"],
      export: true,
    });
    const s = new ScratchLocals(f);
    const i = f.addLocal("i32");
    f.block((done) => {
      f.loop((next) => {
        f.localGet(i).localGet(3).i32GeU().brIf(done);
        f.localGet(2).localGet(i).i32Add();
        f.localGet(0).localGet(i).i32Add().v128Load();
        if (row.binary) f.localGet(1).localGet(i).i32Add().v128Load();
        row.fn?.(f, s);
        f.v128Store();
        f.localGet(i).i32Const(16).i32Add().localSet(i).br(next);
      });
    });
  });
  const memory = new WebAssembly.Memory({ initial: pages });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(m.build()), {
    env: { memory },
  });
  return { memory, kernels: rows.map((_, k) => instance.exports[`k${k}`] as Kernel) };
}

/** Float32 ulps between a and b (0 for equal values, NaNs included). */
function ulpsApart(a: number, b: number): number {
  if (Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b))) return 0;
  const ia = new Int32Array(new Float32Array([a]).buffer)[0]!;
  const ib = new Int32Array(new Float32Array([b]).buffer)[0]!;
  const key = (i: number): number => (i < 0 ? -(i & 0x7fffffff) : i);
  return Math.abs(key(ia) - key(ib));
}

async function main(): Promise<void> {
  const { memory, kernels } = build();
  const x = new Float32Array(memory.buffer, 0, n);
  const y = new Float32Array(memory.buffer, 4 * n, n);
  const out = new Float32Array(memory.buffer, 8 * n, n);
  const jsOut = new Float32Array(n);
  // Repeat each timed call so one takes about a millisecond or more.
  const repeat = Math.max(1, Math.round(2 ** 18 / n));
  const options = { warmup: 5, minReps: 7, maxReps: 25, budgetMs: 400 };

  console.log(
    `simd-math: ${n} float32 elements per call, Node ${process.version}, ${cpus()[0]?.model ?? "unknown CPU"}`,
  );
  console.log("function            wasm Melem/s    JS Melem/s   speedup   max ulps apart");
  for (const [k, row] of rows.entries()) {
    for (let i = 0; i < n; i++) {
      x[i] = row.input(i);
      y[i] = row.second?.(i) ?? 0;
    }
    const kernel = kernels[k]!;
    const xs = Float32Array.from(x);
    const ys = Float32Array.from(y);
    const jsLoop = (): void => row.js(xs, ys, jsOut);
    kernel(0, 4 * n, 8 * n, 4 * n);
    jsLoop();
    let apart = 0;
    for (let i = 0; i < n; i++) apart = Math.max(apart, ulpsApart(out[i]!, jsOut[i]!));
    if (apart > 2) throw new Error(`${row.name}: wasm and JS results are ${apart} ulps apart`);
    const wasm = await measure(() => {
      for (let r = 0; r < repeat; r++) kernel(0, 4 * n, 8 * n, 4 * n);
    }, options);
    const plain = await measure(() => {
      for (let r = 0; r < repeat; r++) jsLoop();
    }, options);
    const rate = (ms: number): number => (n * repeat) / ms / 1e3;
    const [w, j] = [rate(wasm.medianMs), rate(plain.medianMs)];
    console.log(
      `${row.name.padEnd(18)} ${w.toFixed(0).padStart(13)} ${j.toFixed(0).padStart(13)} ` +
        `${(w / j).toFixed(1).padStart(8)}x ${String(apart).padStart(16)}`,
    );
  }
}

interface Row64 {
  name: string;
  /** The JS loop's expression of `v` (each row gets its own function, so V8 sees one call site). */
  js: string;
  input: (t: number) => number;
}

const rows64: Row64[] = [
  { name: "exp", js: "Math.exp(v)", input: spread(-700, 700) },
  { name: "expm1", js: "Math.expm1(v)", input: spread(-2, 2) },
  { name: "log", js: "Math.log(v)", input: spread(1e-3, 1e3) },
  { name: "log1p", js: "Math.log1p(v)", input: spread(-0.9, 10) },
  { name: "tanh", js: "Math.tanh(v)", input: spread(-5, 5) },
  { name: "sin", js: "Math.sin(v)", input: spread(-100, 100) },
  { name: "cos", js: "Math.cos(v)", input: spread(-100, 100) },
  { name: "atan", js: "Math.atan(v)", input: spread(-10, 10) },
  { name: "logistic", js: "1 / (1 + Math.exp(-v))", input: spread(-20, 20) },
];

/** The float64 rows: one module, kernel i maps x at 0 to out at 8n (n float64s). */
async function main64(): Promise<void> {
  const m = new ModuleBuilder();
  importKernelHostFunctions(m);
  const pages = Math.ceil((16 * n) / 65536);
  m.importMemory({ minPages: pages });
  rows64.forEach((row, k) => {
    const f = m.addFunction(`k${k}`, { params: ["i32"], export: true });
    const s = new ScratchLocals(f);
    const i = f.addLocal("i32");
    f.block((done) => {
      f.loop((next) => {
        f.localGet(i).localGet(0).i32GeU().brIf(done);
        f.localGet(i)
          .i32Const(8 * n)
          .i32Add();
        f.localGet(i).v128Load();
        simdUnaryF64[row.name]!(f, s);
        f.v128Store();
        f.localGet(i).i32Const(16).i32Add().localSet(i).br(next);
      });
    });
  });
  const memory = new WebAssembly.Memory({ initial: pages });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(m.build()), {
    env: { memory },
    ...kernelHostImports,
  });
  const x = new Float64Array(memory.buffer, 0, n);
  const out = new Float64Array(memory.buffer, 8 * n, n);
  const jsOut = new Float64Array(n);
  const repeat = Math.max(1, Math.round(2 ** 18 / n));
  const options = { warmup: 5, minReps: 7, maxReps: 25, budgetMs: 400 };
  console.log(`\nsimd-math: ${n} float64 elements per call`);
  console.log("function            wasm Melem/s    JS Melem/s   speedup   max ulps apart");
  for (const [k, row] of rows64.entries()) {
    for (let i = 0; i < n; i++) x[i] = row.input(i);
    const kernel = instance.exports[`k${k}`] as (bytes: number) => void;
    const xs = Float64Array.from(x);
    const js = new Function(
      "x",
      "out",
      `for (let i = 0; i < x.length; i++) { const v = x[i]; out[i] = ${row.js}; }`,
    ) as (x: Float64Array, out: Float64Array) => void;
    kernel(8 * n);
    js(xs, jsOut);
    let apart = 0;
    for (let i = 0; i < n; i++) {
      const spacing = Math.abs(jsOut[i]!) * 2 ** -52 || 2 ** -1074;
      apart = Math.max(apart, Math.round(Math.abs(out[i]! - jsOut[i]!) / spacing));
    }
    if (apart > 3) throw new Error(`${row.name}: wasm and JS results are ${apart} ulps apart`);
    const wasm = await measure(() => {
      for (let r = 0; r < repeat; r++) kernel(8 * n);
    }, options);
    const plain = await measure(() => {
      for (let r = 0; r < repeat; r++) js(xs, jsOut);
    }, options);
    const rate = (ms: number): number => (n * repeat) / ms / 1e3;
    const [w, j] = [rate(wasm.medianMs), rate(plain.medianMs)];
    console.log(
      `${row.name.padEnd(18)} ${w.toFixed(0).padStart(13)} ${j.toFixed(0).padStart(13)} ` +
        `${(w / j).toFixed(1).padStart(8)}x ${String(apart).padStart(16)}`,
    );
  }
}

await main();
await main64();

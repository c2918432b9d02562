/**
 * Inline vector math (src/compiler/kernels/simd-math.ts): each function runs in a WebAssembly
 * kernel mapping a float32 array through it, four lanes at a time, and is compared lane by lane
 * with the float64 `Math` function. Errors are in ulps of the exact value (float32 spacing at the
 * reference, 2^-149 below the normal range), so a correctly rounded result scores ≤ 0.5. Inputs:
 * 2^20 random float32 bit patterns (every exponent, NaNs, infinities and subnormals included),
 * dense grids over each function's interesting range and one full binade. Special values are
 * compared exactly (Object.is, so signed zeros count).
 */
import { afterAll, describe, expect, it } from "vitest";
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
} from "../../src/compiler/kernels/simd-math.js";
import { ModuleBuilder, type FunctionBuilder } from "../../src/compiler/wasm/module.js";
import { relaxedSimdSupported } from "../../src/runtime/relaxed-simd.js";
import { WebAssembly } from "../../src/runtime/webassembly.js";

const N = 1 << 20;
const PAGES = (N * 12) / 65536 + 1;

interface Case {
  fn: SimdUnary;
  ref: (x: number) => number;
  /** Grids [lo, hi] swept with 2^18 evenly spaced points. */
  grids: [number, number][];
  /** A binade [2^e, 2^(e+1)) swept exhaustively. */
  binade: number;
  /** The bound asserted (the measured maximum, rounded up). */
  maxUlp: number;
}

const logistic = (x: number): number =>
  x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));

const cases: Record<string, Case> = {
  exp: { fn: f32x4Exp, ref: Math.exp, grids: [[-105, 90]], binade: -1, maxUlp: 0.85 },
  expm1: {
    fn: f32x4Expm1,
    ref: Math.expm1,
    grids: [
      [-20, 90],
      [-1, 1],
    ],
    binade: -2,
    maxUlp: 1.05,
  },
  log: { fn: f32x4Log, ref: Math.log, grids: [[0, 4]], binade: -1, maxUlp: 0.85 },
  log1p: {
    fn: f32x4Log1p,
    ref: Math.log1p,
    grids: [
      [-1, 1],
      [-1e-3, 1e-3],
    ],
    binade: -2,
    maxUlp: 0.9,
  },
  tanh: { fn: f32x4Tanh, ref: Math.tanh, grids: [[-10, 10]], binade: -1, maxUlp: 2 },
  // The variant with fused multiply-add, where the engine has relaxed SIMD (Node.js has).
  ...(relaxedSimdSupported() && {
    tanhFused: {
      fn: (f, s) => f32x4Tanh(f, s, { fusedMultiplyAdd: true }),
      ref: Math.tanh,
      grids: [[-10, 10]],
      binade: -1,
      maxUlp: 1.9,
    } satisfies Case,
  }),
  logistic: { fn: f32x4Logistic, ref: logistic, grids: [[-110, 110]], binade: 3, maxUlp: 1.1 },
  sin: {
    fn: f32x4Sin,
    ref: Math.sin,
    grids: [
      [-10, 10],
      [-1e5, 1e5],
      [-4e7, 4e7],
    ],
    binade: 0,
    maxUlp: 0.9,
  },
  cos: {
    fn: f32x4Cos,
    ref: Math.cos,
    grids: [
      [-10, 10],
      [-1e5, 1e5],
      [-4e7, 4e7],
    ],
    binade: 0,
    maxUlp: 0.9,
  },
  atan: { fn: f32x4Atan, ref: Math.atan, grids: [[-10, 10]], binade: -2, maxUlp: 0.85 },
};

type Kernel = (input: number, output: number, bytes: number) => void;
type BinaryKernel = (x: number, y: number, output: number, bytes: number) => void;

/**
 * Emits a loop over byte offsets i < bytes (the last parameter) in steps of 16: `body(i)` pushes
 * a v128, stored at out + i (out the parameter before it).
 */
function mapLoop(f: FunctionBuilder, body: (i: number) => void): void {
  const i = f.addLocal("i32");
  f.block((done) => {
    f.loop((next) => {
      f.localGet(i)
        .localGet(f.params.length - 1)
        .i32GeU()
        .brIf(done);
      f.localGet(f.params.length - 2)
        .localGet(i)
        .i32Add();
      body(i);
      f.v128Store();
      f.localGet(i).i32Const(16).i32Add().localSet(i).br(next);
    });
  });
}

function buildKernels() {
  const m = new ModuleBuilder();
  m.importMemory({ minPages: PAGES });
  for (const [name, c] of Object.entries(cases)) {
    const f = m.addFunction(name, { params: ["i32", "i32", "i32"], export: true });
    const s = new ScratchLocals(f);
    mapLoop(f, (i) => {
      f.localGet(0).localGet(i).i32Add().v128Load();
      c.fn(f, s);
    });
  }
  const pow = m.addFunction("pow", { params: ["i32", "i32", "i32", "i32"], export: true });
  mapLoop(pow, (i) => {
    pow.localGet(0).localGet(i).i32Add().v128Load();
    pow.localGet(1).localGet(i).i32Add().v128Load();
    (f32x4Pow as SimdBinary)(pow);
  });
  const memory = new WebAssembly.Memory({ initial: PAGES });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(m.build()), {
    env: { memory },
  });
  return { memory, exports: instance.exports as Record<string, Kernel | BinaryKernel> };
}

const { memory, exports } = buildKernels();
const X = new Float32Array(memory.buffer, 0, N);
const XBits = new Uint32Array(memory.buffer, 0, N);
const Y = new Float32Array(memory.buffer, 4 * N, N);
const Z = new Float32Array(memory.buffer, 8 * N, N);

/** Runs kernel `name` over X[0..n) into Y (n rounded up to a multiple of 4). */
function run(name: string, n: number): void {
  const bytes = Math.ceil(n / 4) * 16;
  (exports[name] as Kernel)(0, 4 * N, bytes);
}

function runPow(n: number): void {
  (exports.pow as BinaryKernel)(0, 4 * N, 8 * N, Math.ceil(n / 4) * 16);
}

const f64 = new Float64Array(1);
const f64Words = new Uint32Array(f64.buffer);

/** |got − ref| in ulps of float32 at `ref`; 0 for matching NaN/inf/zero, Infinity for a miss. */
function ulpError(got: number, ref: number): number {
  if (Number.isNaN(ref)) return Number.isNaN(got) ? 0 : Infinity;
  if (Number.isNaN(got)) return Infinity;
  const a = Math.abs(ref);
  if (a >= 2 ** 128) return got === Math.sign(ref) * Infinity ? 0 : Infinity;
  if (ref === 0) return got === 0 ? 0 : Infinity;
  f64[0] = a;
  const exponent = Math.max(((f64Words[1]! >>> 20) & 0x7ff) - 1023, -126);
  // An infinity where the reference rounds past FLT_MAX counts as 2^128.
  const g = Number.isFinite(got) ? got : Math.sign(got) * 2 ** 128;
  return Math.abs(g - ref) / 2 ** (exponent - 23);
}

let seed = 0x2545f491;
function random32(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed >>> 0;
}

interface Worst {
  ulp: number;
  x: number;
  got: number;
}

/** Maps X[0..n) through `name` and returns the worst lane against `ref`. */
function sweep(name: string, n: number, ref: (x: number) => number): Worst {
  run(name, n);
  const worst: Worst = { ulp: 0, x: NaN, got: NaN };
  for (let i = 0; i < n; i++) {
    const error = ulpError(Y[i]!, ref(X[i]!));
    if (error > worst.ulp) Object.assign(worst, { ulp: error, x: X[i]!, got: Y[i]! });
  }
  return worst;
}

const report: string[] = [];
afterAll(() => {
  // Every function was swept; the measured maxima are asserted per test above.
  expect(report.length).toBeGreaterThan(0);
});

describe("simd-math accuracy", () => {
  for (const [name, c] of Object.entries(cases)) {
    it(`${name} is within ${c.maxUlp} ulp`, { timeout: 60_000 }, () => {
      const worst: Worst = { ulp: 0, x: NaN, got: NaN };
      const keep = (w: Worst, label: string): void => {
        if (w.ulp > worst.ulp) Object.assign(worst, w);
        expect(w.ulp, `${name} ${label}: x = ${w.x}, got ${w.got}`).toBeLessThanOrEqual(c.maxUlp);
      };
      seed = 0x2545f491;
      for (let i = 0; i < N; i++) XBits[i] = random32();
      keep(sweep(name, N, c.ref), "random bits");
      const points = N >> 2;
      for (const [lo, hi] of c.grids) {
        for (let i = 0; i < points; i++) X[i] = lo + ((hi - lo) * i) / (points - 1);
        keep(sweep(name, points, c.ref), `grid [${lo}, ${hi}]`);
      }
      // Every float in [2^e, 2^(e+1)) and its negative, in chunks.
      const start = (127 + c.binade) << 23;
      for (let chunk = 0; chunk < 1 << 23; chunk += N >> 1) {
        for (let i = 0; i < N >> 1; i++) {
          XBits[2 * i] = start + chunk + i;
          XBits[2 * i + 1] = (start + chunk + i) | 0x80000000;
        }
        keep(sweep(name, N, c.ref), `binade 2^${c.binade}`);
      }
      report.push(`  ${name.padEnd(9)} ${worst.ulp.toFixed(3)} (x = ${worst.x})`);
    });
  }

  it("pow is within 0.55 ulp", { timeout: 60_000 }, () => {
    const sets: [string, () => [number, number]][] = [
      ["random bits", () => [bitsToFloat(random32()), bitsToFloat(random32())]],
      [
        "results in range",
        () => {
          const x = Math.abs(bitsToFloat(random32()));
          const t = -155 + (285 * random32()) / 2 ** 32;
          const l = Math.log2(x);
          return [x, l === 0 || !Number.isFinite(l) ? t : t / l];
        },
      ],
      ["x in (0, 4)", () => [(4 * random32()) / 2 ** 32, -30 + (60 * random32()) / 2 ** 32]],
      [
        "negative x, integer y",
        () => [-(0.5 + (3 * random32()) / 2 ** 32), Math.round(-60 + (120 * random32()) / 2 ** 32)],
      ],
      ["x near 1", () => [1 + (random32() / 2 ** 32 - 0.5) * 1e-3, (random32() / 2 ** 32) * 2e5]],
    ];
    let worst = 0;
    for (const [label, generate] of sets) {
      const n = N >> 2;
      for (let i = 0; i < n; i++) [X[i], Y[i]] = generate();
      runPow(n);
      let at = 0;
      let setWorst = 0;
      for (let i = 0; i < n; i++) {
        const error = ulpError(Z[i]!, Math.pow(X[i]!, Y[i]!));
        if (error > setWorst) [setWorst, at] = [error, i];
      }
      expect(setWorst, `pow ${label}: ${X[at]} ** ${Y[at]} gave ${Z[at]}`).toBeLessThanOrEqual(
        0.55,
      );
      worst = Math.max(worst, setWorst);
    }
    report.push(`  ${"pow".padEnd(9)} ${worst.toFixed(3)}`);
  });
});

const bitsView = new DataView(new ArrayBuffer(4));
function bitsToFloat(bits: number): number {
  bitsView.setUint32(0, bits);
  return bitsView.getFloat32(0);
}

/** Maps `inputs` (any length) through kernel `name`. */
function apply(name: string, inputs: readonly number[]): number[] {
  X.set(inputs);
  run(name, inputs.length);
  return Array.from(Y.subarray(0, inputs.length));
}

const MAX = 3.4028234663852886e38;
const TINY = 2 ** -149;

describe("simd-math special values", () => {
  /** Exactly these results (Object.is: NaN matches NaN, -0 only -0). */
  const exact = (name: string, pairs: [number, number][]): void => {
    const got = apply(
      name,
      pairs.map(([x]) => x),
    );
    pairs.forEach(([x, want], i) => {
      expect(Object.is(got[i], want), `${name}(${x}) = ${got[i]}, want ${want}`).toBe(true);
    });
  };
  /** Within 1 ulp of the reference (for finite results near the edges of the range). */
  const near = (name: string, xs: number[]): void => {
    const got = apply(name, xs);
    xs.forEach((x, i) => {
      const ulp = ulpError(got[i]!, cases[name]!.ref(Math.fround(x)));
      expect(ulp, `${name}(${x}) = ${got[i]}`).toBeLessThanOrEqual(1);
    });
  };

  it("exp: infinities, NaN, overflow, underflow and subnormal results", () => {
    exact("exp", [
      [NaN, NaN],
      [Infinity, Infinity],
      [-Infinity, 0],
      [0, 1],
      [-0, 1],
      [TINY, 1],
      [88.7229, Infinity],
      [MAX, Infinity],
      [-103.98, 0],
      [-MAX, 0],
    ]);
    near("exp", [88.72283, -87.3, -88, -100, -103.2, -103.9, 1, -1, 1e-7]);
  });

  it("expm1: signed zeros, tiny arguments, saturation and overflow", () => {
    exact("expm1", [
      [NaN, NaN],
      [Infinity, Infinity],
      [-Infinity, -1],
      [0, 0],
      [-0, -0],
      [TINY, TINY],
      [-TINY, -TINY],
      [1e-30, Math.fround(1e-30)],
      [-20, -1],
      [-MAX, -1],
      [89, Infinity],
    ]);
    near("expm1", [88.7, 1e-5, -1e-5, 0.35, -0.35, 0.7, -0.7, 17, -17]);
  });

  it("log: zeros, negatives, infinity, NaN, 1 and subnormals", () => {
    exact("log", [
      [0, -Infinity],
      [-0, -Infinity],
      [-1, NaN],
      [-TINY, NaN],
      [-Infinity, NaN],
      [Infinity, Infinity],
      [NaN, NaN],
      [1, 0],
    ]);
    near("log", [TINY, 3 * TINY, 2 ** -130, 2 ** -126, MAX, 2, 0.5, 1 + 2 ** -23, 1 - 2 ** -24]);
  });

  it("log1p: -1, below -1, signed zeros and tiny arguments", () => {
    exact("log1p", [
      [-1, -Infinity],
      [-1.0000001, NaN],
      [-Infinity, NaN],
      [Infinity, Infinity],
      [NaN, NaN],
      [0, 0],
      [-0, -0],
      [TINY, TINY],
      [-TINY, -TINY],
      [1e-20, Math.fround(1e-20)],
    ]);
    near("log1p", [MAX, -0.5, -0.9999999, 2 ** -24, -(2 ** -24), 1e-5, 2 ** 25, 2 ** 24 + 2]);
  });

  const tanhVariants = Object.keys(cases).filter((name) => name.startsWith("tanh"));

  it.each(tanhVariants)("%s: signed zeros, saturation to ±1, NaN and tiny arguments", (tanh) => {
    exact(tanh, [
      [0, 0],
      [-0, -0],
      [Infinity, 1],
      [-Infinity, -1],
      [9.1, 1],
      [-20, -1],
      [MAX, 1],
      [NaN, NaN],
      [TINY, TINY],
      [-1e-20, Math.fround(-1e-20)],
    ]);
    // Around the switch of formulas at |x| = 1, and below the saturation.
    near(tanh, [1, -1, 0.99999994, 1.0000001, 1e-4, 9, -9, 9.01]);
  });

  it.each(tanhVariants)(
    "%s: exactly ±1 from 9.1 on, never beyond ±1, monotone to within an ulp",
    (tanh) => {
      /** The first i < n (or -1) where `bad(i)` holds. */
      const firstBad = (n: number, bad: (i: number) => boolean): number => {
        for (let i = 0; i < n; i++) if (bad(i)) return i;
        return -1;
      };
      // Every 2^-12 from 9.1 to 25, then powers of 1.5 up to MAX, and infinity; both signs.
      const big: number[] = [];
      for (let v = 9.1; v < 25; v += 2 ** -12) big.push(v, -v);
      for (let v = 25; v < MAX; v *= 1.5) big.push(v, -v);
      big.push(MAX, -MAX, Infinity, -Infinity);
      const got = apply(tanh, big);
      const notOne = firstBad(big.length, (i) => got[i] !== Math.sign(big[i]!));
      expect(notOne, `tanh(${big[notOne]}) = ${got[notOne]}`).toBe(-1);
      // Random bit patterns (NaNs, infinities, subnormals): |tanh x| ≤ 1.
      seed = 0x13579bdf;
      for (let i = 0; i < N; i++) XBits[i] = random32();
      run(tanh, N);
      const beyond = firstBad(N, (i) => Math.abs(Y[i]!) > 1);
      expect(beyond, `tanh(${X[beyond]}) = ${Y[beyond]}`).toBe(-1);
      // A dense grid over [0, 10]: never above 1 nor more than one ulp below an earlier value.
      for (let i = 0; i < N; i++) X[i] = (10 * i) / (N - 1);
      run(tanh, N);
      let high = 0;
      const dip = firstBad(N, (i) => {
        const y = Y[i]!;
        high = Math.max(high, y);
        return !(y <= 1 && ulpError(y, high) <= 1);
      });
      expect(dip, `tanh(${X[dip]}) = ${Y[dip]}`).toBe(-1);
    },
  );

  it("logistic: limits, the subnormal tail and NaN", () => {
    exact("logistic", [
      [0, 0.5],
      [-0, 0.5],
      [Infinity, 1],
      [-Infinity, 0],
      [20, 1],
      [NaN, NaN],
      [-104, 0],
      [-MAX, 0],
    ]);
    near("logistic", [-100, -90, -87.5, -16.6, 16.6, 1e-8, -1e-8]);
  });

  it("sin and cos: zeros, infinities, NaN, tiny and huge arguments", () => {
    exact("sin", [
      [0, 0],
      [-0, -0],
      [Infinity, NaN],
      [-Infinity, NaN],
      [NaN, NaN],
      [TINY, TINY],
      [-1e-30, Math.fround(-1e-30)],
    ]);
    exact("cos", [
      [0, 1],
      [-0, 1],
      [Infinity, NaN],
      [-Infinity, NaN],
      [NaN, NaN],
      [TINY, 1],
    ]);
    // Lanes on both sides of the 2^24 switch to Payne–Hanek, mixed within vectors.
    const xs = [
      1,
      2 ** 24,
      -(2 ** 24 - 1),
      1e38,
      -MAX,
      3,
      16367173 * 2 ** 72,
      2 ** 30,
      1e-3,
      123456789,
      -252.89820861816406,
      10838702,
      2 ** 100,
      -1.5707963705062866,
      6.2831854820251465,
    ];
    for (const [name, ref] of [
      ["sin", Math.sin],
      ["cos", Math.cos],
    ] as const) {
      const got = apply(name, xs);
      xs.forEach((x, i) => {
        expect(
          ulpError(got[i]!, ref(Math.fround(x))),
          `${name}(${x}) = ${got[i]}`,
        ).toBeLessThanOrEqual(1);
      });
    }
  });

  it("atan: signed zeros, ±π/2 at infinity, NaN and tiny arguments", () => {
    exact("atan", [
      [0, 0],
      [-0, -0],
      [Infinity, Math.fround(Math.PI / 2)],
      [-Infinity, -Math.fround(Math.PI / 2)],
      [MAX, Math.fround(Math.PI / 2)],
      [NaN, NaN],
      [TINY, TINY],
      [-1e-20, Math.fround(-1e-20)],
      [1, Math.fround(Math.PI / 4)],
    ]);
  });

  it("pow: Math.pow's special cases, exactly", () => {
    const values = [
      0,
      -0,
      1,
      -1,
      0.5,
      -0.5,
      2,
      -2,
      3,
      -3,
      2.5,
      -2.5,
      1e30,
      -1e30,
      2 ** 24 + 2,
      -(2 ** 25),
      Infinity,
      -Infinity,
      NaN,
      TINY,
      -TINY,
      MAX,
      -MAX,
    ];
    const pairs: [number, number][] = [];
    for (const x of values) for (const y of values) pairs.push([x, y]);
    pairs.forEach(([x, y], i) => {
      X[i] = x;
      Y[i] = y;
    });
    runPow(pairs.length);
    pairs.forEach(([x, y], i) => {
      const want = Math.fround(Math.pow(x, y));
      const got = Z[i]!;
      const ok =
        Object.is(got, want) ||
        (Number.isFinite(want) && want !== 0 && ulpError(got, Math.pow(x, y)) <= 0.55);
      expect(ok, `pow(${x}, ${y}) = ${got}, want ${want}`).toBe(true);
    });
  });
});

describe("simd-math emission", () => {
  it("reuses scratch locals across calls and composes on the stack", () => {
    const m = new ModuleBuilder();
    const f = m.addFunction("roundTrip", { params: ["v128"], results: ["v128"], export: true });
    const s = new ScratchLocals(f);
    f.localGet(0);
    f32x4Exp(f, s);
    const afterOne = s.declared;
    f32x4Log(f, s);
    const afterTwo = s.declared;
    f32x4Exp(f, s);
    f32x4Log(f, s);
    expect(s.declared).toBe(afterTwo);
    expect(afterTwo).toBeLessThan(2 * afterOne);
    expect(f.locals.length).toBe(s.declared);
    const roundTrip = new WebAssembly.Instance(new WebAssembly.Module(m.build())).exports.roundTrip;
    expect(typeof roundTrip).toBe("function");
  });

  it("caches scratch locals per function when none are passed", () => {
    const m = new ModuleBuilder();
    const f = m.addFunction("twice", { params: ["v128"], results: ["v128"] });
    f.localGet(0);
    f32x4Tanh(f);
    const once = f.locals.length;
    f32x4Tanh(f);
    expect(f.locals.length).toBe(once);
    expect(() => new WebAssembly.Module(m.build())).not.toThrow();
  });

  it("rejects scratch locals of another function", () => {
    const m = new ModuleBuilder();
    const a = m.addFunction("a", { params: ["v128"], results: ["v128"] });
    const b = m.addFunction("b", { params: ["v128"], results: ["v128"] });
    expect(() => f32x4Sin(a, new ScratchLocals(b))).toThrow(/another function/);
  });

  it("chains functions in one fused loop: sigmoid(x)·tanh(log1p(|x|))", () => {
    const m = new ModuleBuilder();
    m.importMemory({ minPages: 1 });
    const f = m.addFunction("fused", { params: ["i32", "i32", "i32"], export: true });
    const s = new ScratchLocals(f);
    const x = f.addLocal("v128");
    mapLoop(f, (i) => {
      f.localGet(0).localGet(i).i32Add().v128Load().localTee(x);
      f32x4Logistic(f, s);
      f.localGet(x).f32x4Abs();
      f32x4Log1p(f, s);
      f32x4Tanh(f, s);
      f.f32x4Mul();
    });
    const mem = new WebAssembly.Memory({ initial: 1 });
    const fused = new WebAssembly.Instance(new WebAssembly.Module(m.build()), {
      env: { memory: mem },
    }).exports.fused as Kernel;
    const input = new Float32Array(mem.buffer, 0, 256);
    for (let i = 0; i < 256; i++) input[i] = (i - 128) / 8;
    fused(0, 1024, 1024);
    const out = new Float32Array(mem.buffer, 1024, 256);
    for (let i = 0; i < 256; i++) {
      const v = input[i]!;
      const ref = logistic(v) * Math.tanh(Math.log1p(Math.abs(v)));
      expect(Math.abs(out[i]! - ref)).toBeLessThanOrEqual(4 * 2 ** -24 * Math.abs(ref) + 1e-45);
    }
  });
});

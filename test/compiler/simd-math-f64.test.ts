/**
 * Inline float64 vector math (src/compiler/kernels/simd-math-f64.ts): every function of the
 * table compiled and eager code use (`simdUnaryF64`) runs in a WebAssembly kernel mapping a
 * float64 array through it, two lanes at a time; one missing a bound or reference here fails.
 *
 * - Accuracy against exact values (test/fixtures/f64-math.json, mpmath at 60 digits, made by
 *   make_f64_math_fixtures.py): the error is |got − exact| in ulps of the correctly rounded
 *   result (2^-1074 below the normal range), so a correctly rounded result scores ≤ 0.5. The
 *   inputs include the worst ones of a 4M-point sweep per function.
 * - Special values (NaN, infinities, signed zeros, overflow, underflow, subnormals), exactly.
 * - A cross-check against `Math` (an independent implementation, itself within about 1 ulp,
 *   Math.tanh within about 2; atan is fdlibm's algorithm, as V8's, so it must agree exactly) on
 *   2^16 random inputs per function.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { simdUnaryF64 } from "../../src/compiler/codegen/wasm-fused.js";
import { ScratchLocals, type SimdUnary } from "../../src/compiler/kernels/simd-math.js";
import { ModuleBuilder } from "../../src/compiler/wasm/module.js";
import { importKernelHostFunctions, kernelHostImports } from "../../src/runtime/host-functions.js";
import { WebAssembly } from "../../src/runtime/webassembly.js";

/** Every float64 function compiled code and eager execution run (the test covers each). */
const functions: Readonly<Record<string, SimdUnary>> = simdUnaryF64;

/** The bound asserted per function: the measured maximum over the fixture, rounded up. */
const maxUlp: Record<string, number> = {
  exp: 0.85,
  expm1: 0.9,
  log: 0.8,
  log1p: 0.9,
  tanh: 1.5,
  logistic: 1.1,
  atan: 0.85,
  sin: 0.85,
  cos: 0.85,
};

const N = 1 << 16;

/** One exported `name(bytes)` per function: maps X[0..bytes) into Y. */
function buildKernels() {
  const m = new ModuleBuilder();
  importKernelHostFunctions(m);
  m.importMemory({ minPages: 1 });
  for (const [name, fn] of Object.entries(functions)) {
    const f = m.addFunction(name, { params: ["i32"], export: true });
    const s = new ScratchLocals(f);
    const i = f.addLocal("i32");
    f.block((done) => {
      f.loop((next) => {
        f.localGet(i).localGet(0).i32GeU().brIf(done);
        f.localGet(i)
          .i32Const(8 * N)
          .i32Add();
        f.localGet(i).v128Load();
        fn(f, s);
        f.v128Store();
        f.localGet(i).i32Const(16).i32Add().localSet(i).br(next);
      });
    });
  }
  const memory = new WebAssembly.Memory({ initial: (16 * N) / 65536 + 1 });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(m.build()), {
    env: { memory },
    ...kernelHostImports,
  });
  return { memory, exports: instance.exports as Record<string, (bytes: number) => void> };
}

const { memory, exports } = buildKernels();
const X = new Float64Array(memory.buffer, 0, N);
const Y = new Float64Array(memory.buffer, 8 * N, N);

/** The function `name` of each of `xs` (at most N). */
function apply(name: string, xs: readonly number[]): number[] {
  X.set(xs);
  if (xs.length % 2 === 1) X[xs.length] = 0;
  exports[name]!(8 * Math.ceil(xs.length / 2) * 2);
  return Array.from(Y.subarray(0, xs.length));
}

const bits = new Float64Array(1);
const words = new Uint32Array(bits.buffer);

/** The spacing of float64 at `v` (v finite): 2^(e − 52), or 2^-1074 below the normal range. */
function ulpOf(v: number): number {
  bits[0] = Math.abs(v);
  const exponent = (words[1]! >>> 20) & 0x7ff;
  return exponent <= 1 ? 2 ** -1074 : 2 ** (exponent - 1023 - 52);
}

interface Reference {
  x: number[];
  hi: number[];
  lo: number[];
}
const fixture = JSON.parse(
  readFileSync(new URL("../fixtures/f64-math.json", import.meta.url), "utf8"),
) as Record<string, Reference>;

describe("float64 vector math: accuracy against exact values", () => {
  for (const name of Object.keys(functions)) {
    it(`${name}: at most ${maxUlp[name]} ulp over ${fixture[name]!.x.length} inputs`, () => {
      const { x, hi, lo } = fixture[name]!;
      const got = apply(name, x);
      let worst = 0;
      let at = 0;
      for (let i = 0; i < x.length; i++) {
        // got − hi is exact (Sterbenz) whenever the error is small.
        const error = Math.abs(got[i]! - hi[i]! - lo[i]!) / ulpOf(hi[i]!);
        if (!(error <= worst)) {
          worst = error;
          at = x[i]!;
        }
      }
      expect(worst, `worst at x = ${at}`).toBeLessThanOrEqual(maxUlp[name]!);
    });
  }
});

const tiny = 5e-324;
const specials: Record<string, [number, number][]> = {
  exp: [
    [0, 1],
    [-0, 1],
    [Infinity, Infinity],
    [-Infinity, 0],
    [NaN, NaN],
    [709.8, Infinity],
    [-745.2, 0],
    [-745.1, tiny],
    [1e-300, 1],
    [709.782712893384, 1.7976931348622732e308],
  ],
  expm1: [
    [0, 0],
    [-0, -0],
    [Infinity, Infinity],
    [-Infinity, -1],
    [NaN, NaN],
    [710, Infinity],
    [-40, -1],
    [-37.5, -1],
    [-36.9, -0.9999999999999999],
    [tiny, tiny],
    [-1e-300, -1e-300],
  ],
  log: [
    [1, 0],
    [0, -Infinity],
    [-0, -Infinity],
    [-1, NaN],
    [-tiny, NaN],
    [Infinity, Infinity],
    [-Infinity, NaN],
    [NaN, NaN],
    [tiny, -744.4400719213812],
    [2 ** -1022, -708.3964185322641],
    [1.7976931348623157e308, 709.782712893384],
  ],
  log1p: [
    [0, 0],
    [-0, -0],
    [-1, -Infinity],
    [-2, NaN],
    [Infinity, Infinity],
    [-Infinity, NaN],
    [NaN, NaN],
    [tiny, tiny],
    [-tiny, -tiny],
    [1e-300, 1e-300],
  ],
  tanh: [
    [0, 0],
    [-0, -0],
    [Infinity, 1],
    [-Infinity, -1],
    [NaN, NaN],
    [20, 1],
    [-19.1, -1],
    [tiny, tiny],
    [-1e-300, -1e-300],
  ],
  logistic: [
    [0, 0.5],
    [-0, 0.5],
    [Infinity, 1],
    [-Infinity, 0],
    [NaN, NaN],
    [40, 1],
    [800, 1],
    [-800, 0],
  ],
  atan: [
    [0, 0],
    [-0, -0],
    [Infinity, Math.PI / 2],
    [-Infinity, -Math.PI / 2],
    [NaN, NaN],
    [1, Math.PI / 4],
    [1e300, Math.PI / 2],
    [tiny, tiny],
    [-1e-300, -1e-300],
  ],
  sin: [
    [0, 0],
    [-0, -0],
    [Infinity, NaN],
    [-Infinity, NaN],
    [NaN, NaN],
    [tiny, tiny],
    [-1e-300, -1e-300],
    // Beyond the vector reduction: Math.sin's values.
    [1e300, Math.sin(1e300)],
    [1.6e6, Math.sin(1.6e6)],
    [-1e22, Math.sin(-1e22)],
  ],
  cos: [
    [0, 1],
    [-0, 1],
    [Infinity, NaN],
    [-Infinity, NaN],
    [NaN, NaN],
    [tiny, 1],
    [1e300, Math.cos(1e300)],
    [-1.6e6, Math.cos(-1.6e6)],
    [1e22, Math.cos(1e22)],
  ],
};

describe("float64 vector math: special values", () => {
  for (const [name, cases] of Object.entries(specials)) {
    it(`${name}: NaN, infinities, signed zeros, overflow and underflow`, () => {
      const got = apply(
        name,
        cases.map(([x]) => x),
      );
      cases.forEach(([x, want], i) => {
        expect(Object.is(got[i], want), `${name}(${x}) = ${got[i]}, want ${want}`).toBe(true);
      });
    });
  }
});

let seed = 0x9e3779b9;
/** xorshift32 in [0, 1). */
function random(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 2 ** 32;
}

const crossChecks: [string, (x: number) => number, () => number, number][] = [
  ["exp", Math.exp, () => (random() * 2 - 1) * 750, 1],
  ["expm1", Math.expm1, () => (random() * 2 - 1) * 2 ** (random() * 70 - 60), 1],
  ["log", Math.log, () => 2 ** ((random() * 2 - 1) * 1070), 1],
  ["log1p", Math.log1p, () => (random() < 0.5 ? random() * 4 - 1 : 2 ** (random() * 80 - 60)), 1],
  ["tanh", Math.tanh, () => (random() * 2 - 1) * 2 ** (random() * 10 - 5), 3],
  ["sin", Math.sin, () => (random() * 2 - 1) * 10 ** (random() * 8 - 2), 1],
  ["cos", Math.cos, () => (random() * 2 - 1) * 10 ** (random() * 8 - 2), 1],
  // The same algorithm as V8's Math.atan (fdlibm's): the same values.
  ["atan", Math.atan, () => (random() * 2 - 1) * 2 ** (random() * 40 - 20), 0],
];

/** The distance in representable float64 values between two finite doubles of the same sign. */
function stepsBetween(a: number, b: number): number {
  if (a === b) return 0;
  return Math.abs(a - b) / Math.min(ulpOf(a), ulpOf(b));
}

describe("float64 vector math: agreement with Math", () => {
  for (const [name, ref, draw, bound] of crossChecks) {
    it(`${name}: within ${bound} ulp of Math.${name} on ${N} random inputs`, () => {
      const xs = Array.from({ length: N }, draw);
      const got = apply(name, xs);
      let worst = 0;
      for (let i = 0; i < N; i++) worst = Math.max(worst, stepsBetween(got[i]!, ref(xs[i]!)));
      expect(worst).toBeLessThanOrEqual(bound);
    });
  }
});

/**
 * Eager float functions that are one exactly rounded instruction (abs, sqrt, floor, ceil, round
 * half to even) run WebAssembly SIMD kernels on long arrays, float32 and float64: every element
 * must equal the scalar JavaScript rule bit for bit (signed zeros, NaN, infinities, subnormals,
 * halves), on one thread or several.
 */
import { afterEach, describe, expect, it } from "vitest";
import { config, np, type NDArray } from "../../src/index.js";

const initial = config().threads;
afterEach(() => {
  config({ threads: initial });
});

const specials = [
  0,
  -0,
  NaN,
  Infinity,
  -Infinity,
  1e-40,
  -1e-45,
  3.4e38,
  0.5,
  -0.5,
  1.5,
  2.5,
  -2.5,
];

function data(n: number, Type: typeof Float32Array | typeof Float64Array) {
  const out = new Type(n);
  for (let i = 0; i < n; i++) {
    out[i] =
      i < specials.length ? specials[i]! : Math.sin(i * 0.7) * 10 ** ((i % 9) - 4) + (i % 7) / 2;
  }
  return out;
}

const halfEven = (x: number): number => {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

const rules: [string, (x: NDArray) => NDArray, (x: number) => number][] = [
  ["abs", np.abs, Math.abs],
  ["sqrt", np.sqrt, Math.sqrt],
  ["floor", np.floor, Math.floor],
  ["ceil", np.ceil, Math.ceil],
  ["round", np.round, halfEven],
];

describe("eager exact float functions on long arrays", () => {
  for (const dtype of ["float32", "float64"] as const) {
    const Type = dtype === "float32" ? Float32Array : Float64Array;
    const round = dtype === "float32" ? Math.fround : (v: number) => v;
    for (const threads of [1, 2]) {
      it(`${dtype}, ${threads} thread(s): bit for bit`, () => {
        config({ threads });
        for (const n of [5_003, 300_001]) {
          const a = data(n, Type);
          const x = np.array(a, { dtype });
          for (const [name, op, rule] of rules) {
            const got = op(x);
            expect(got.dtype).toBe(dtype);
            const values = got.toTypedArray();
            for (let i = 0; i < n; i++) {
              const want = round(rule(a[i]!));
              if (!Object.is(values[i], want))
                expect.fail(`${name}(${a[i]}) = ${values[i]}, want ${want}`);
            }
          }
        }
      });
    }
  }
});

describe("eager float64 exp, log, tanh, sin, cos, atan, … on the vectorised kernels", () => {
  const functions: [string, (x: NDArray) => NDArray, (x: number) => number][] = [
    ["exp", np.exp, Math.exp],
    ["expm1", np.expm1, Math.expm1],
    ["log", (x) => np.log(np.abs(x)), (x) => Math.log(Math.abs(x))],
    ["log1p", (x) => np.log1p(np.abs(x)), (x) => Math.log1p(Math.abs(x))],
    ["tanh", np.tanh, Math.tanh],
    ["atan", np.arctan, Math.atan],
    ["sin", np.sin, Math.sin],
    ["cos", np.cos, Math.cos],
  ];
  const bits = new Float64Array(1);
  const words = new Uint32Array(bits.buffer);
  const ulpOf = (v: number): number => {
    bits[0] = Math.abs(v);
    const exponent = (words[1]! >>> 20) & 0x7ff;
    return exponent <= 1 ? 2 ** -1074 : 2 ** (exponent - 1075);
  };

  it("each element's value depends on neither the length nor the threads, within 3 ulp of Math", () => {
    const a = data(300_001, Float64Array);
    const x = np.array(a, { dtype: "float64" });
    for (const [name, op, ref] of functions) {
      config({ threads: 1 });
      const whole = op(x).toTypedArray();
      config({ threads: 2 });
      const threaded = op(x).toTypedArray();
      for (const n of [1, 2, 3, 1001]) {
        const part = op(np.array(a.subarray(0, n), { dtype: "float64" })).toTypedArray();
        for (let i = 0; i < n; i++) {
          if (!Object.is(part[i], whole[i]))
            expect.fail(`${name}(${a[i]}): ${part[i]} at length ${n}, ${whole[i]} at 300001`);
        }
      }
      for (let i = 0; i < a.length; i++) {
        if (!Object.is(threaded[i], whole[i]))
          expect.fail(`${name}(${a[i]}): ${threaded[i]} on 2 threads, ${whole[i]} on 1`);
        const want = ref(a[i]!);
        const got = whole[i]!;
        const same = Object.is(got, want) || (Number.isNaN(got) && Number.isNaN(want));
        if (!same && !(Math.abs(got - want) <= 3 * ulpOf(want)))
          expect.fail(`${name}(${a[i]}) = ${got}, Math gives ${want}`);
      }
    }
  });
});

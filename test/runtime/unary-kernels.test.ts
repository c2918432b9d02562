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

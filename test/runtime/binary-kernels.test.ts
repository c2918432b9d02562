/**
 * Eager float arithmetic and comparisons on long arrays (src/runtime/binary-kernels.ts) run
 * WebAssembly SIMD kernels: every element must equal the scalar JavaScript rule bit for bit
 * (signed zeros, NaN, infinities, subnormals, ties), in every operand form, on one thread or
 * several.
 */
import { afterEach, describe, expect, it } from "vitest";
import { config, jit, np, type NDArray } from "../../src/index.js";

const initial = config().threads;
afterEach(() => {
  config({ threads: initial });
});

const specials = [0, -0, NaN, Infinity, -Infinity, 1e-40, -1e-45, 3.4e38, 1, -1, 0.5];

/** `n` values: specials first, then a deterministic spread of magnitudes and signs. */
function data(n: number, seed: number, Type: typeof Float32Array | typeof Float64Array) {
  const out = new Type(n);
  for (let i = 0; i < n; i++) {
    out[i] =
      i < specials.length
        ? specials[(i + seed) % specials.length]!
        : Math.sin(i * 0.7 + seed) * 10 ** ((i % 9) - 4);
  }
  return out;
}

/** Comparisons: one bool (0 or 1) per element. */
const comparisons: Record<string, (x: number, y: number) => number> = {
  eq: (x, y) => Number(x === y),
  ne: (x, y) => Number(x !== y),
  lt: (x, y) => Number(x < y),
  le: (x, y) => Number(x <= y),
  gt: (x, y) => Number(x > y),
  ge: (x, y) => Number(x >= y),
};

const rules: Record<string, (x: number, y: number) => number> = {
  add: (x, y) => x + y,
  sub: (x, y) => x - y,
  mul: (x, y) => x * y,
  div: (x, y) => x / y,
  max: (x, y) => (x !== x || y !== y ? NaN : x > y ? x : y),
  min: (x, y) => (x !== x || y !== y ? NaN : x < y ? x : y),
  ...comparisons,
};

const apply: Record<string, (x: NDArray | number, y: NDArray | number) => NDArray> = {
  add: (x, y) => np.add(x, y),
  sub: (x, y) => np.subtract(x, y),
  mul: (x, y) => np.multiply(x, y),
  div: (x, y) => np.divide(x, y),
  max: (x, y) => np.maximum(x, y),
  min: (x, y) => np.minimum(x, y),
  eq: (x, y) => np.equal(x, y),
  ne: (x, y) => np.notEqual(x, y),
  lt: (x, y) => np.less(x, y),
  le: (x, y) => np.lessEqual(x, y),
  gt: (x, y) => np.greater(x, y),
  ge: (x, y) => np.greaterEqual(x, y),
};

function expectRule(
  got: ArrayLike<number>,
  a: ArrayLike<number> | number,
  b: ArrayLike<number> | number,
  rule: (x: number, y: number) => number,
  round: (v: number) => number,
): void {
  for (let i = 0; i < got.length; i++) {
    const x = typeof a === "number" ? a : a[i]!;
    const y = typeof b === "number" ? b : b[i]!;
    const want = round(rule(x, y));
    if (!Object.is(got[i], want))
      expect.fail(`element ${i}: op(${x}, ${y}) = ${got[i]}, want ${want}`);
  }
}

describe("eager float arithmetic on long arrays", () => {
  for (const dtype of ["float32", "float64"] as const) {
    const Type = dtype === "float32" ? Float32Array : Float64Array;
    const round = dtype === "float32" ? Math.fround : (v: number) => v;
    for (const threads of [1, 2]) {
      it(`${dtype}, ${threads} thread(s): every operation and operand form, bit for bit`, () => {
        config({ threads });
        // Long enough for the kernels (and, at 300,001, for two threads); odd lengths.
        for (const n of [5_003, 300_001]) {
          const a = data(n, 1, Type);
          const b = data(n, 4, Type);
          const x = np.array(a, { dtype });
          const y = np.array(b, { dtype });
          const s = np.array(round(-2.75), { dtype });
          // Ties (equal elements) for the comparisons: every third element of c is a's.
          const c = b.map((v, i) => (i % 3 === 0 ? a[i]! : v));
          const z = np.array(c, { dtype });
          for (const [name, rule] of Object.entries(rules)) {
            const op = apply[name]!;
            const keep = name in comparisons ? (v: number): number => v : round;
            expectRule(op(x, y).toTypedArray(), a, b, rule, keep);
            expectRule(op(x, z).toTypedArray(), a, c, rule, keep);
            expectRule(op(x, s).toTypedArray(), a, round(-2.75), rule, keep);
            expectRule(op(s, x).toTypedArray(), round(-2.75), a, rule, keep);
          }
          expect(np.greater(x, y).dtype).toBe("bool");
        }
      });
    }
  }

  it("keeps shapes, dtypes and weak types as the loop does", () => {
    const x = np.ones([64, 100]);
    const y = x.mul(3);
    expect(y.shape).toEqual([64, 100]);
    expect(y.dtype).toBe("float32");
    expect(
      x
        .add(x)
        .toTypedArray()
        .every((v) => v === 2),
    ).toBe(true);
    // A strided view is read correctly.
    const big = np.arange(20_000, { dtype: "float32" }).reshape([100, 200]);
    const t = big.T.mul(1);
    expect(t.get(3, 7).item()).toBe(big.get(7, 3).item());
    // Broadcast operands (stride-0 views) are gathered in kernel memory.
    const row = np.arange(200, { dtype: "float32" });
    const column = np.arange(100, { dtype: "float32" }).reshape([100, 1]);
    const sum = big.add(row).sub(column);
    expect(sum.get(7, 3).item()).toBe(7 * 200 + 3 + 3 - 7);
    expect(sum.get(99, 199).item()).toBe(99 * 200 + 199 + 199 - 99);
    expect(np.greater(big, column.mul(200)).get(5, 0).item()).toBe(false);
    expect(np.greater(big, column.mul(200)).get(5, 1).item()).toBe(true);
  });
});

describe("eager integer and bool arithmetic on long arrays", () => {
  const intRules: Record<
    string,
    [(x: NDArray, y: NDArray | number) => NDArray, (x: number, y: number) => number]
  > = {
    add: [(x, y) => np.add(x, y), (x, y) => x + y],
    sub: [(x, y) => np.subtract(x, y), (x, y) => x - y],
    mul: [(x, y) => np.multiply(x, y), (x, y) => Math.imul(x, y)],
    and: [(x, y) => np.bitwiseAnd(x, y), (x, y) => x & y],
    or: [(x, y) => np.bitwiseOr(x, y), (x, y) => x | y],
    xor: [(x, y) => np.bitwiseXor(x, y), (x, y) => x ^ y],
  };
  for (const dtype of ["int32", "uint32"] as const) {
    const Type = dtype === "int32" ? Int32Array : Uint32Array;
    for (const threads of [1, 2]) {
      it(`${dtype}, ${threads} thread(s): wrapping like the typed-array stores`, () => {
        config({ threads });
        for (const n of [5_003, 300_001]) {
          const make = (value: (i: number) => number): Int32Array | Uint32Array => {
            const out = new Type(n);
            for (let i = 0; i < n; i++) out[i] = value(i);
            return out;
          };
          const a = make((i) => Math.imul(i, 2654435761) ^ (i << 7));
          const b = make((i) => Math.imul(i + 17, 40503) - 1000);
          const x = np.array(a, { dtype });
          const y = np.array(b, { dtype });
          for (const [name, [op, rule]] of Object.entries(intRules)) {
            for (const [other, values] of [
              [y, b],
              [7, make(() => 7)],
            ] as const) {
              const got = op(x, other);
              expect(got.dtype, name).toBe(dtype);
              const want = make((i) => rule(a[i]!, values[i]!));
              expect(Array.from(got.toTypedArray())).toEqual(Array.from(want));
            }
          }
        }
      });
    }
  }

  it("bools: and, or, xor by bytes", () => {
    const n = 20_011;
    const a = Array.from({ length: n }, (_, i) => i % 3 === 0);
    const b = Array.from({ length: n }, (_, i) => i % 5 < 2);
    const x = np.array(a);
    const y = np.array(b);
    expect(x.dtype).toBe("bool");
    expect(np.logicalAnd(x, y).toList()).toEqual(a.map((v, i) => v && b[i]));
    expect(np.logicalOr(x, y).toList()).toEqual(a.map((v, i) => v || b[i]));
    expect(np.logicalXor(x, y).toList()).toEqual(a.map((v, i) => v !== b[i]));
    expect(np.logicalAnd(x, true).toList()).toEqual(a);
    expect(np.bitwiseXor(x, y).toList()).toEqual(a.map((v, i) => v !== b[i]));
    expect(() => np.bitwiseAnd(np.ones([3]), 1)).toThrow(/np.bitwiseAnd.*integer or bool operands/);
  });
});

describe("float32 pow on the vectorised code", () => {
  it("eager (short and long) and compiled give the same bits, within 1 ulp of Math.pow", () => {
    const cases: [number, number][] = [
      [2, 0.5],
      [-8, 1 / 3],
      [-2, 3],
      [-0, -1],
      [0, -2],
      [1, NaN],
      [-1, Infinity],
      [NaN, 0],
      [Infinity, -0.5],
      [-Infinity, 3],
      [1e-30, 2.5],
      [3.4e38, 0.9],
    ];
    for (const n of [cases.length, 5_000]) {
      const base = Float32Array.from({ length: n }, (_, i) =>
        i < cases.length ? cases[i]![0] : 0.01 + (i % 97) * 0.37,
      );
      const exponent = Float32Array.from({ length: n }, (_, i) =>
        i < cases.length ? cases[i]![1] : -3 + (i % 13) * 0.55,
      );
      const x = np.array(base);
      const y = np.array(exponent);
      const eager = np.power(x, y).toTypedArray() as Float32Array;
      const compiled = jit((a: NDArray, b: NDArray) => np.power(a, b).add(0))(x, y);
      expect(Array.from(compiled.toTypedArray())).toEqual(Array.from(eager));
      for (let i = 0; i < n; i++) {
        const want = Math.fround(Math.pow(base[i]!, exponent[i]!));
        const got = eager[i]!;
        if (Number.isNaN(want) || !Number.isFinite(want) || want === 0) {
          if (!Object.is(got, want))
            expect.fail(`pow(${base[i]}, ${exponent[i]}) = ${got}, want ${want}`);
          continue;
        }
        const ulp = Math.abs(Math.fround(want * (1 + 2 ** -23)) - want) || 2 ** -149;
        expect(Math.abs(got - want) / ulp, `pow(${base[i]}, ${exponent[i]})`).toBeLessThanOrEqual(
          1,
        );
      }
    }
    // A scalar exponent, and a scalar base.
    const x = np.array(Float32Array.from({ length: 4100 }, (_, i) => 0.5 + i / 1000));
    expect(np.power(x, 2).get(10).item()).toBe(Math.fround(Math.fround(0.51) ** 2));
    expect(np.power(2, x.get(np.slice(0, 3))).toList()).toEqual(
      [0.5, 0.501, 0.502].map((v) => Math.fround(2 ** Math.fround(v))),
    );
  });
});

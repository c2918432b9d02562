/**
 * Eager `select` (np.where) and float32 ↔ float64 conversion of long arrays run WebAssembly SIMD
 * kernels: every element must equal the scalar loop's (signed zeros, NaN, infinities, subnormals,
 * values that round or overflow in float32), in every operand form, on one thread or several.
 */
import { afterEach, describe, expect, it } from "vitest";
import { config, np } from "../../src/index.js";

const initial = config().threads;
afterEach(() => {
  config({ threads: initial });
});

const specials = [0, -0, NaN, Infinity, -Infinity, 1e-40, -1e-45, 3.4e38, 3.5e38, 1e-50, 1 / 3];

function data(n: number, seed: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    out[i] =
      i < specials.length
        ? specials[(i + seed) % specials.length]!
        : Math.sin(i * 0.7 + seed) * 10 ** ((i % 13) - 6);
  }
  return out;
}

describe("eager select and float conversion on long arrays", () => {
  for (const threads of [1, 2]) {
    for (const dtype of ["float32", "float64"] as const) {
      const round = dtype === "float32" ? Math.fround : (v: number) => v;
      it(`select, ${dtype}, ${threads} thread(s): arrays and scalars, bit for bit`, () => {
        config({ threads });
        for (const n of [4_099, 300_003]) {
          const a = data(n, 1).map(round);
          const b = data(n, 5).map(round);
          const p = Array.from({ length: n }, (_, i) => (i * 7) % 3 === 1);
          const pred = np.array(p);
          const x = np.array(a, { dtype });
          const y = np.array(b, { dtype });
          const s = np.array(-1.25, { dtype });
          const check = (got: ArrayLike<number>, pick: (i: number) => number): void => {
            for (let i = 0; i < n; i++) {
              if (!Object.is(got[i], pick(i)))
                expect.fail(`element ${i}: got ${got[i]}, want ${pick(i)}`);
            }
          };
          const where = np.where(pred, x, y);
          expect(where.dtype).toBe(dtype);
          check(where.toTypedArray(), (i) => (p[i] ? a[i]! : b[i]!));
          check(np.where(pred, s, y).toTypedArray(), (i) => (p[i] ? -1.25 : b[i]!));
          check(np.where(pred, x, s).toTypedArray(), (i) => (p[i] ? a[i]! : -1.25));
        }
      });
    }

    it(`float32 ↔ float64, ${threads} thread(s): exact one way, rounded to nearest the other`, () => {
      config({ threads });
      for (const n of [4_097, 300_001]) {
        const wide = data(n, 3);
        const narrowed = np.array(wide, { dtype: "float64" }).astype("float32");
        expect(narrowed.dtype).toBe("float32");
        const got = narrowed.toTypedArray();
        for (let i = 0; i < n; i++) {
          if (!Object.is(got[i], Math.fround(wide[i]!)))
            expect.fail(
              `element ${i}: fround(${wide[i]}) = ${Math.fround(wide[i]!)}, got ${got[i]}`,
            );
        }
        const back = narrowed.astype("float64").toTypedArray();
        for (let i = 0; i < n; i++) {
          if (!Object.is(back[i], got[i]))
            expect.fail(`element ${i}: ${got[i]} widened to ${back[i]}`);
        }
      }
    });
  }

  it("keeps shapes and weak types as the loops do", () => {
    const x = np.ones([70, 80]);
    const y = x.astype("float64");
    expect(y.shape).toEqual([70, 80]);
    expect(y.weakType).toBe(false);
    const w = np.where(x.gt(0), x, np.zerosLike(x));
    expect(w.shape).toEqual([70, 80]);
    expect(np.sum(w).item()).toBe(5600);
  });
});

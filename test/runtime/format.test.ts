/**
 * Array printing against NumPy: every case in test/fixtures/format.json (made by
 * test/fixtures/make_format_fixtures.py) must print exactly as NumPy's `repr` (with the dtype
 * always named, as JAX does) and `np.array2string`.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { DType } from "../../src/core/dtype.js";
import { ValueError } from "../../src/core/errors.js";
import {
  arrayToString,
  formatArray,
  formatScalar,
  type FormatOptions,
} from "../../src/runtime/format.js";

type Stored = number | "nan" | "inf" | "-inf";

interface FormatCase {
  name: string;
  dtype: DType;
  shape: number[];
  data: Stored[];
  options: FormatOptions;
  repr: string;
  str: string;
}

interface FormatFixtures {
  numpy: string;
  cases: FormatCase[];
  scalars: [DType, Stored, string][];
}

const fixtures = JSON.parse(
  readFileSync(new URL("../fixtures/format.json", import.meta.url), "utf8"),
) as FormatFixtures;

function decode(x: Stored): number {
  return x === "nan" ? NaN : x === "inf" ? Infinity : x === "-inf" ? -Infinity : x;
}

/** Stores values the way an array of `dtype` would, so that `get` returns what arrays return. */
function storage(dtype: DType, values: readonly number[]): (flatIndex: number) => number {
  const typed =
    dtype === "float32"
      ? Float32Array.from(values)
      : dtype === "float64"
        ? Float64Array.from(values)
        : dtype === "int32"
          ? Int32Array.from(values)
          : dtype === "uint32"
            ? Uint32Array.from(values)
            : Uint8Array.from(values);
  return (i) => typed[i]!;
}

describe(`formatArray matches NumPy ${fixtures.numpy}`, () => {
  for (const c of fixtures.cases) {
    it(c.name, () => {
      const get = storage(c.dtype, c.data.map(decode));
      expect(formatArray(c.shape, c.dtype, get, c.options)).toBe(c.repr);
      expect(arrayToString(c.shape, c.dtype, get, c.options)).toBe(c.str);
    });
  }
});

describe("formatScalar", () => {
  it(`prints ${fixtures.scalars.length} single floats with NumPy's digits`, () => {
    const mismatches = fixtures.scalars
      .map(([dtype, value, expected]) => ({ dtype, value, expected, got: "" }))
      .map((s) => ({ ...s, got: formatScalar(decode(s.value), s.dtype) }))
      .filter((s) => s.got !== s.expected);
    expect(mismatches).toEqual([]);
  });

  it("prints every dtype", () => {
    expect(formatScalar(3, "float32")).toBe("3.");
    expect(formatScalar(0.1, "float32")).toBe("0.1");
    expect(formatScalar(0.1, "float64")).toBe("0.1");
    expect(formatScalar(1 / 3, "float32")).toBe("0.33333334");
    expect(formatScalar(1 / 3, "float64")).toBe("0.33333333");
    expect(formatScalar(1 / 3, "float64", { precision: 16 })).toBe("0.3333333333333333");
    expect(formatScalar(1e-5, "float32")).toBe("1.e-05");
    expect(formatScalar(NaN, "float64")).toBe("nan");
    expect(formatScalar(-Infinity, "float32")).toBe("-inf");
    expect(formatScalar(-7, "int32")).toBe("-7");
    expect(formatScalar(4294967295, "uint32")).toBe("4294967295");
    expect(formatScalar(1, "bool")).toBe("True");
    expect(formatScalar(0, "bool")).toBe("False");
  });
});

describe("formatArray", () => {
  const from = (values: number[]) => (i: number) => values[i]!;

  it("prints JAX-style reprs", () => {
    expect(formatArray([2, 2], "float32", from([1, 2, 3, 4]))).toBe(
      "array([[1., 2.],\n       [3., 4.]], dtype=float32)",
    );
    expect(formatArray([], "float32", () => 3)).toBe("array(3., dtype=float32)");
    expect(formatArray([], "int32", () => 3)).toBe("array(3, dtype=int32)");
    expect(formatArray([], "bool", () => 1)).toBe("array(True, dtype=bool)");
    expect(formatArray([0, 3], "float32", () => 0)).toBe("array([], shape=(0, 3), dtype=float32)");
    expect(formatArray([0], "int32", () => 0)).toBe("array([], dtype=int32)");
    expect(formatArray([3], "float32", from([1, 2.5, -0.125]))).toBe(
      "array([ 1.   ,  2.5  , -0.125], dtype=float32)",
    );
    expect(formatArray([2], "bool", from([1, 0]))).toBe("array([ True, False], dtype=bool)");
  });

  it("rounds float32 inputs to float32", () => {
    expect(formatArray([1], "float32", () => 0.1)).toBe("array([0.1], dtype=float32)");
  });

  it("summarises and names the shape above the threshold", () => {
    const text = formatArray([2000], "int32", (i) => i);
    expect(text).toBe(
      "array([   0,    1,    2, ..., 1997, 1998, 1999],\n      shape=(2000,), dtype=int32)",
    );
  });

  it("rejects bad options", () => {
    expect(() => formatArray([1], "int32", () => 1, { edgeItems: -1 })).toThrow(ValueError);
    expect(() => formatArray([1], "int32", () => 1, { precision: 1.5 })).toThrow(
      /option precision must be a non-negative integer, got 1\.5/,
    );
    expect(() => arrayToString([1], "int32", () => 1, { threshold: NaN })).toThrow(
      /option threshold must be a non-negative number/,
    );
  });

  it("accepts an infinite threshold (never summarise)", () => {
    const text = arrayToString([1200], "int32", (i) => i % 10, { threshold: Infinity });
    expect(text).not.toContain("...");
  });
});

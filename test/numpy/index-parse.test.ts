/**
 * NumPy index expressions: the string parser, printing items back, and Python's `slice.indices`
 * (checked against test/fixtures/slices.json, made by test/fixtures/make_slice_fixtures.py).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { IndexError } from "../../src/core/errors.js";
import {
  Slice,
  type Ellipsis,
  describeIndex,
  ellipsis,
  isEllipsis,
  newaxis,
  parseIndex,
  resolveSlice,
  slice,
} from "../../src/numpy/index-parse.js";

/** The message of the IndexError that `f` throws. */
function indexErrorOf(f: () => unknown): string {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(IndexError);
    return (error as IndexError).message;
  }
  throw new Error("expected an IndexError");
}

describe("Slice and slice()", () => {
  it("follows Python's slice(): one argument is the stop", () => {
    expect(slice(5)).toEqual(new Slice(null, 5, null));
    expect(slice(1, 3)).toEqual(new Slice(1, 3, null));
    expect(slice(1, 3, 2)).toEqual(new Slice(1, 3, 2));
    expect(slice()).toEqual(new Slice(null, null, null));
    expect(slice(null, null, -1)).toEqual(new Slice(null, null, -1));
    expect(slice(2, undefined)).toEqual(new Slice(2, null, null));
  });

  it("rejects a zero step and non-integer bounds", () => {
    expect(indexErrorOf(() => slice(0, 4, 0))).toMatch(/slice step cannot be zero/);
    expect(indexErrorOf(() => slice(0.5, 4))).toMatch(/start must be an integer or null, got 0\.5/);
    expect(indexErrorOf(() => slice(0, NaN))).toMatch(/stop must be an integer/);
  });

  it("names the user's line in errors", () => {
    expect(indexErrorOf(() => slice(0, 4, 0))).toMatch(/^np\.slice at index-parse\.test\.ts:\d+/);
  });

  it("prints in index syntax", () => {
    expect(String(slice(1, 3))).toBe("1:3");
    expect(String(slice())).toBe(":");
    expect(String(slice(null, null, -1))).toBe("::-1");
    expect(String(slice(1, null))).toBe("1:");
    expect(String(slice(-3, -1, 2))).toBe("-3:-1:2");
  });
});

describe("ellipsis and newaxis", () => {
  it("are a frozen singleton printing as ... and null", () => {
    expect(String(ellipsis)).toBe("...");
    expect(Object.isFrozen(ellipsis)).toBe(true);
    expect(isEllipsis(ellipsis)).toBe(true);
    expect(isEllipsis("...")).toBe(false);
    expect(newaxis).toBeNull();
  });

  it("is a type of its own: other objects are not an Ellipsis", () => {
    // @ts-expect-error a look-alike object is not the ellipsis
    const lookAlike: Ellipsis = { toString: () => "..." };
    expect(isEllipsis(lookAlike)).toBe(false);
  });
});

describe("parseIndex", () => {
  const cases: [string, unknown[]][] = [
    ["", []],
    ["   ", []],
    ["()", []],
    ["0", [0]],
    ["-1", [-1]],
    ["+2", [2]],
    ["- 1", [-1]],
    ["-0", [0]],
    ["1,", [1]],
    [":", [slice()]],
    ["::", [slice()]],
    ["1:3", [slice(1, 3)]],
    ["1:3:2", [slice(1, 3, 2)]],
    ["::-1", [slice(null, null, -1)]],
    ["1:", [slice(1, null)]],
    [":3", [slice(3)]],
    ["::2", [slice(null, null, 2)]],
    ["-3:-1", [slice(-3, -1)]],
    [" 1 : 5 : 2 ", [slice(1, 5, 2)]],
    ["None", [null]],
    ["newaxis", [null]],
    ["np.newaxis", [null]],
    ["...", [ellipsis]],
    ["Ellipsis", [ellipsis]],
    ["..., 1:3, None, ::-1", [ellipsis, slice(1, 3), null, slice(null, null, -1)]],
    ["0,1,2", [0, 1, 2]],
    ["1:5:2, None", [slice(1, 5, 2), null]],
    ["..., 1, :", [ellipsis, 1, slice()]],
    ["None,...,None", [null, ellipsis, null]],
  ];
  for (const [expr, expected] of cases) {
    it(`parses ${JSON.stringify(expr)}`, () => {
      expect(parseIndex(expr)).toEqual(expected);
    });
  }

  it("never produces -0", () => {
    expect(Object.is(parseIndex("-0")[0], 0)).toBe(true);
    expect(Object.is((parseIndex("-0:")[0] as Slice).start, 0)).toBe(true);
  });

  const errors: [string, RegExp][] = [
    ["1.5", /could not parse "1\.5" in index "1\.5": indices must be integers, got 1\.5/],
    ["0, 1:a", /could not parse "1:a" in index "0, 1:a": slice bounds must be integers/],
    ["1:2.5", /slice bounds must be integers, got 2\.5/],
    ["abc", /could not parse "abc" in index "abc": indices must be integers or empty, got "abc"/],
    ["..., 0, ...", /could not parse "\.\.\." .*single ellipsis/],
    ["::0", /could not parse "::0" .*slice step cannot be zero/],
    ["1:2:0", /slice step cannot be zero/],
    ["1,,2", /could not parse "" in index "1,,2": the item is empty/],
    [",1", /the item is empty/],
    [",", /the item is empty/],
    ["1,2,,", /the item is empty/],
    ["1:2:3:4", /at most two colons \(start:stop:step\), found 3/],
    ["1e3", /indices must be integers, got 1e3/],
    ["99999999999999999999", /too large to be an index/],
    ["True", /pass a bool array/],
    ["[0, 2]", /could not parse "\[0"/],
    ["(1)", /arrays of indices cannot be written in an index string/],
    ["1 2", /got "1 2"/],
  ];
  for (const [expr, pattern] of errors) {
    it(`rejects ${JSON.stringify(expr)}`, () => {
      expect(indexErrorOf(() => parseIndex(expr))).toMatch(pattern);
    });
  }

  it("points at the bad item under the expression", () => {
    const message = indexErrorOf(() => parseIndex("0, 1:a, 2"));
    const lines = message.split("\n");
    expect(lines[1]).toBe("    0, 1:a, 2");
    expect(lines[2]).toBe("       ^^^");
  });

  it("names the caller and the user's line", () => {
    expect(indexErrorOf(() => parseIndex("x"))).toMatch(
      /^x\.get at index-parse\.test\.ts:\d+:\d+: /,
    );
    expect(indexErrorOf(() => parseIndex("x", { operation: "x.at" }))).toMatch(/^x\.at at /);
  });
});

describe("describeIndex", () => {
  it("prints items in NumPy syntax", () => {
    expect(describeIndex([ellipsis, slice(1, 3), null, slice(null, null, -1)])).toBe(
      "..., 1:3, None, ::-1",
    );
    expect(describeIndex([])).toBe("()");
    expect(describeIndex([0, -1, slice()])).toBe("0, -1, :");
  });

  it("prints other kinds of items readably", () => {
    expect(describeIndex([true, { shape: [3], dtype: "int32" }, "a"])).toBe(
      'True, int32[3] array, "a"',
    );
  });

  it("round-trips through parseIndex", () => {
    for (const expr of ["..., 1:3, None, ::-1", "0, -2, 1:, :4, ::3", "()", "-1:-5:-2"]) {
      expect(describeIndex(parseIndex(expr))).toBe(expr);
    }
  });
});

interface SliceTable {
  bounds: (number | null)[];
  steps: (number | null)[];
  sizes: number[];
  cases: [number, number, number, number][];
}

describe("resolveSlice", () => {
  const table = JSON.parse(
    readFileSync(new URL("../fixtures/slices.json", import.meta.url), "utf8"),
  ) as SliceTable;

  it("matches Python's slice.indices for every small case", () => {
    const mismatches: string[] = [];
    let k = 0;
    for (const start of table.bounds) {
      for (const stop of table.bounds) {
        for (const step of table.steps) {
          for (const size of table.sizes) {
            const [eStart, eStop, eStep, eLength] = table.cases[k++]!;
            const got = resolveSlice(new Slice(start, stop, step), size);
            const expected = { start: eStart, stop: eStop, step: eStep, length: eLength };
            if (JSON.stringify(got) !== JSON.stringify(expected)) {
              mismatches.push(`${new Slice(start, stop, step)} on ${size}: ${JSON.stringify(got)}`);
            }
          }
        }
      }
    }
    expect(k).toBe(table.cases.length);
    expect(mismatches).toEqual([]);
  });

  it("selects the indices start + i * step for i < length", () => {
    const r = resolveSlice(slice(null, null, -2), 5);
    const picked = Array.from({ length: r.length }, (_, i) => r.start + i * r.step);
    expect(picked).toEqual([4, 2, 0]);
  });
});

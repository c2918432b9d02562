/**
 * NumPy indexing on arrays: every index form of the API (strings, np.slice / np.ellipsis /
 * np.newaxis, integer arrays, JS number lists, boolean masks), checked against NumPy through
 * test/fixtures/indexing.json (made by test/fixtures/make_indexing_fixtures.py); the functional
 * updates of `x.at(...)` with JAX's semantics; and the IndexError of every malformed index.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FluxionError, IndexError, NDArray, makeProgram, np } from "../../src/index.js";
import type { IndexItem } from "../../src/index.js";
import { thrown } from "../helpers/assertions.js";

type FixtureItem =
  | { t: "str"; v: string }
  | { t: "int"; v: number }
  | { t: "slice"; v: [number | null, number | null, number | null] }
  | { t: "ellipsis" }
  | { t: "newaxis" }
  | { t: "array"; dtype: "int32" | "uint32"; shape: number[]; data: number[] }
  | { t: "list"; v: number[] }
  | { t: "mask"; shape: number[]; data: boolean[] };

interface FixtureResult {
  shape: number[];
  data: number[];
}

interface GetCase {
  shape: number[];
  index: FixtureItem[];
  expected?: FixtureResult;
  error?: "IndexError";
}

interface AtCase {
  shape: number[];
  index: FixtureItem[];
  op: "set" | "add" | "multiply" | "min" | "max";
  values: number | FixtureResult;
  expected: FixtureResult;
}

const fixtures = JSON.parse(
  readFileSync(new URL("../fixtures/indexing.json", import.meta.url), "utf8"),
) as { get: GetCase[]; at: AtCase[] };

/** `np.arange(size).reshape(shape)` as int32, the array every fixture case indexes. */
function base(shape: readonly number[]): NDArray {
  return np.arange(shape.reduce((n, d) => n * d, 1)).reshape(shape);
}

function toItem(item: FixtureItem): IndexItem | string {
  switch (item.t) {
    case "str":
      return item.v;
    case "int":
      return item.v;
    case "slice":
      return np.slice(item.v[0], item.v[1], item.v[2]);
    case "ellipsis":
      return np.ellipsis;
    case "newaxis":
      return np.newaxis;
    case "array":
      return np.array(item.data, { dtype: item.dtype }).reshape(item.shape);
    case "list":
      return item.v;
    case "mask":
      return np.array(item.data, { dtype: "bool" }).reshape(item.shape);
  }
}

/** The index as NumPy would print it inside brackets, for test names. */
function describeItems(items: readonly FixtureItem[]): string {
  return items
    .map((item) => {
      switch (item.t) {
        case "str":
          return JSON.stringify(item.v);
        case "int":
          return String(item.v);
        case "slice":
          return item.v.map((b) => (b === null ? "" : String(b))).join(":");
        case "ellipsis":
          return "np.ellipsis";
        case "newaxis":
          return "np.newaxis";
        case "array":
          return `${item.dtype}${JSON.stringify(item.shape)}`;
        case "list":
          return JSON.stringify(item.v);
        case "mask":
          return `mask${JSON.stringify(item.shape)}`;
      }
    })
    .join(", ");
}

function expectResult(actual: NDArray, expected: FixtureResult): void {
  expect(actual.shape).toEqual(expected.shape);
  expect(actual.dtype).toBe("int32");
  expect(Array.from(actual.toTypedArray())).toEqual(expected.data);
}

function expectIndexError(f: () => unknown, message?: RegExp): void {
  const error = thrown(f);
  expect(error).toBeInstanceOf(IndexError);
  expect(error.name).toBe("IndexError");
  if (message !== undefined) expect(error.message).toMatch(message);
}

describe("x.get against NumPy", () => {
  const valid = fixtures.get.filter((c) => c.error === undefined);
  const errors = fixtures.get.filter((c) => c.error !== undefined);

  it("covers every index form", () => {
    const kinds = new Set(fixtures.get.flatMap((c) => c.index.map((item) => item.t)));
    expect([...kinds].sort()).toEqual(
      ["array", "ellipsis", "int", "list", "mask", "newaxis", "slice", "str"].sort(),
    );
  });

  it.each(valid.map((c) => [`x${JSON.stringify(c.shape)}[${describeItems(c.index)}]`, c] as const))(
    "%s",
    (_, c) => {
      const x = base(c.shape);
      expectResult(x.get(...c.index.map(toItem)), c.expected!);
    },
  );

  it.each(
    errors.map((c) => [`x${JSON.stringify(c.shape)}[${describeItems(c.index)}]`, c] as const),
  )("%s throws an IndexError", (_, c) => {
    const x = base(c.shape);
    expectIndexError(() => x.get(...c.index.map(toItem)));
  });

  it("gives the same result through x.at(...).get()", () => {
    for (const c of valid) {
      const index = c.index.map(toItem);
      expectResult(
        base(c.shape)
          .at(...index)
          .get(),
        c.expected!,
      );
    }
  });
});

describe("the index forms of the API", () => {
  const x = np.arange(24).reshape([2, 3, 4]);

  it("string items equal their typed spelling", () => {
    const pairs: [string, (IndexItem | string)[]][] = [
      ["..., 1, :", [np.ellipsis, 1, np.slice(null, null)]],
      ["1:5:2, None", [np.slice(1, 5, 2), np.newaxis]],
      ["::-1", [np.slice(null, null, -1)]],
      ["-1", [-1]],
      ["...", [np.ellipsis]],
      ["", []],
      ["None, 0, newaxis", [null, 0, null]],
      [":, 2:0:-1, ::3", [np.slice(null), np.slice(2, 0, -1), np.slice(null, null, 3)]],
    ];
    for (const [text, typed] of pairs) {
      expect(x.get(text).toList()).toEqual(x.get(...typed).toList());
      expect(x.get(text).shape).toEqual(x.get(...typed).shape);
    }
  });

  it("np.slice follows Python's slice(): one argument is the stop", () => {
    expect(x.get(np.slice(1)).shape).toEqual([1, 3, 4]);
    expect(x.get(":", np.slice(1, 3)).toList()).toEqual(x.get(":, 1:3").toList());
    expect(x.get(np.ellipsis, np.slice(null, null, -1)).toList()).toEqual(
      x.get("..., ::-1").toList(),
    );
  });

  it("a JS number list is an integer index array", () => {
    expect(x.get([1, 0]).toList()).toEqual(x.get(np.array([1, 0], { dtype: "int32" })).toList());
    expect(x.get(":", [2, -1], [0, 1]).toList()).toEqual([
      [8, 9],
      [20, 21],
    ]);
  });

  it("index arrays broadcast against each other", () => {
    const rows = np.array([[0], [1]], { dtype: "int32" });
    const cols = np.array([0, 1, 2], { dtype: "int32" });
    const out = x.get(rows, cols, 0);
    expect(out.shape).toEqual([2, 3]);
    expect(out.toList()).toEqual([
      [0, 4, 8],
      [12, 16, 20],
    ]);
  });

  it("places adjacent advanced indices where they were, separated ones first", () => {
    expect(x.get(":", [0, 1], [1, 2]).shape).toEqual([2, 2]);
    expect(x.get(":", np.array([[0], [1]], { dtype: "int32" }), [1, 2]).shape).toEqual([2, 2, 2]);
    expect(x.get([0, 1], ":", [1, 2]).shape).toEqual([2, 3]);
    expect(x.get(0, ":", np.array([[1, 2]], { dtype: "int32" })).shape).toEqual([1, 2, 3]);
    expect(x.get([0, 1], ":", [1, 2]).toList()).toEqual([
      [1, 5, 9],
      [14, 18, 22],
    ]);
  });

  it("a boolean mask selects the true positions, over all or some axes", () => {
    const values = np.array([3, -1, 4, -1, 5]);
    expect(values.get(values.gt(0)).toList()).toEqual([3, 4, 5]);
    expect(x.get(x.gt(20)).toList()).toEqual([21, 22, 23]);
    expect(x.get(":", np.array([false, true, false])).toList()).toEqual([
      [[4, 5, 6, 7]],
      [[16, 17, 18, 19]],
    ]);
    expect(x.get(np.zeros([2, 3], { dtype: "bool" })).shape).toEqual([0, 4]);
  });

  it("a 0-d boolean mask adds an axis of length 1 (true) or 0 (false), as in NumPy", () => {
    expect(x.get(np.array(true)).shape).toEqual([1, 2, 3, 4]);
    expect(x.get(np.array(false)).shape).toEqual([0, 2, 3, 4]);
  });

  it("negative steps read backwards, clamped to the axis", () => {
    const v = np.arange(6);
    expect(v.get("::-1").toList()).toEqual([5, 4, 3, 2, 1, 0]);
    expect(v.get("::-2").toList()).toEqual([5, 3, 1]);
    expect(v.get("4:1:-1").toList()).toEqual([4, 3, 2]);
    expect(v.get("100::-3").toList()).toEqual([5, 2]);
    expect(v.get("1:4:-1").toList()).toEqual([]);
    expect(v.get(np.slice(-1, -7, -2)).toList()).toEqual([5, 3, 1]);
    expect(v.get("::-1").get("::-1").toList()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(
      v
        .get("::-1")
        .get(np.array([0, -1], { dtype: "int32" }))
        .toList(),
    ).toEqual([5, 0]);
  });

  it("indexes a 0-d array with the empty index, an ellipsis or newaxis", () => {
    const s = np.array(7);
    expect(s.get().item()).toBe(7);
    expect(s.get("").item()).toBe(7);
    expect(s.get("...").shape).toEqual([]);
    expect(s.get(null).shape).toEqual([1]);
    expect(s.get(null).toList()).toEqual([7]);
  });

  it("keeps the dtype and weak type of the array", () => {
    const f = np.linspace(0, 1, 5, { dtype: "float64" });
    expect(f.get("1:3").dtype).toBe("float64");
    expect(f.get(np.array([0, 4], { dtype: "int32" })).dtype).toBe("float64");
    const b = np.array([true, false, true]);
    expect(b.get("::-1").toList()).toEqual([true, false, true]);
    expect(b.get([1]).toList()).toEqual([false]);
  });
});

describe("x.at(...) functional updates against NumPy", () => {
  it.each(
    fixtures.at.map(
      (c) => [`x${JSON.stringify(c.shape)}.at(${describeItems(c.index)}).${c.op}`, c] as const,
    ),
  )("%s", (_, c) => {
    const x = base(c.shape);
    const before = Array.from(x.toTypedArray());
    const values =
      typeof c.values === "number"
        ? c.values
        : np.array(c.values.data, { dtype: "int32" }).reshape(c.values.shape);
    const out = x.at(...c.index.map(toItem))[c.op](values);
    expectResult(out, c.expected);
    expect(Array.from(x.toTypedArray())).toEqual(before);
  });
});

describe("x.at(...) semantics", () => {
  it("accumulates repeated indices with add and multiply", () => {
    const x = np.zeros([4]);
    expect(
      x
        .at(np.array([1, 1, 2, 1], { dtype: "int32" }))
        .add(1)
        .toList(),
    ).toEqual([0, 3, 1, 0]);
    expect(np.ones([3], { dtype: "int32" }).at([0, 0, 0]).multiply(2).toList()).toEqual([8, 1, 1]);
  });

  it("applies repeated set indices in order (the last write wins)", () => {
    expect(
      np
        .zeros([3])
        .at([2, 2])
        .set(np.array([5, 6]))
        .toList(),
    ).toEqual([0, 0, 6]);
  });

  it("drops out-of-range indices, as JAX's scatter does", () => {
    const x = np.arange(4);
    expect(
      x
        .at(np.array([1, 7, -9], { dtype: "int32" }))
        .set(9)
        .toList(),
    ).toEqual([0, 9, 2, 3]);
    expect(x.at([4, 0]).add(10).toList()).toEqual([10, 1, 2, 3]);
    expect(x.at(7).set(5).toList()).toEqual([0, 1, 2, 3]);
    expect(x.at(-5).set(5).toList()).toEqual([0, 1, 2, 3]);
    expect(x.at("2:9").set(1).toList()).toEqual([0, 1, 1, 1]);
    expect(x.at(-1).set(5).toList()).toEqual([0, 1, 2, 5]);
  });

  it("takes min and max elementwise, propagating NaN", () => {
    const x = np.array([1, 5, 3], { dtype: "float32" });
    expect(
      x
        .at([0, 1])
        .min(np.array([0, 9]))
        .toList(),
    ).toEqual([0, 5, 3]);
    expect(
      x
        .at([0, 1])
        .max(np.array([0, 9]))
        .toList(),
    ).toEqual([1, 9, 3]);
    expect(x.at(2).max(NaN).toList()).toEqual([1, 5, NaN]);
  });

  it("broadcasts the values and converts them to the array's dtype", () => {
    const x = np.zeros([2, 3], { dtype: "int32" });
    const out = x.at(":, 1:").set(np.array([7, 8]));
    expect(out.dtype).toBe("int32");
    expect(out.toList()).toEqual([
      [0, 7, 8],
      [0, 7, 8],
    ]);
    expect(x.at(0).set(2.7).toList()).toEqual([
      [2, 2, 2],
      [0, 0, 0],
    ]);
  });

  it("updates through a boolean mask", () => {
    const x = np.array([-2, 3, -1, 4]);
    expect(x.at(x.lt(0)).set(0).toList()).toEqual([0, 3, 0, 4]);
  });

  it("rejects values that do not broadcast to the indexed shape", () => {
    const error = thrown(() =>
      np
        .zeros([4])
        .at([1, 2])
        .set(np.array([1, 2, 3])),
    );
    expect(error).toBeInstanceOf(FluxionError);
    expect(error.name).toBe("ShapeError");
    expect(error.message).toMatch(/\[3\]/);
    expect(error.message).toMatch(/\[2\]/);
  });

  it("rejects malformed indices with an IndexError", () => {
    const x = np.arange(4);
    expectIndexError(() => x.at("1.5").set(1), /integers/);
    expectIndexError(() => x.at("0, 0").set(1), /too many indices/);
    expectIndexError(() => x.at("..., ...").add(1), /single ellipsis/);
    expectIndexError(() => x.at(0.5).set(1), /0\.5/);
  });
});

describe("IndexError for bad indices", () => {
  const x = np.arange(24).reshape([2, 3, 4]);

  it("integers out of range name the index, the axis and its size", () => {
    expectIndexError(() => x.get(2), /index 2 is out of bounds for axis 0 with size 2/);
    expectIndexError(() => x.get(0, -4), /index -4 is out of bounds for axis 1 with size 3/);
    expectIndexError(() => x.get("..., 4"), /index 4 is out of bounds for axis 2 with size 4/);
    expectIndexError(() => np.zeros([0]).get(0), /out of bounds/);
  });

  it("index arrays out of range name the bad entry", () => {
    expectIndexError(() => x.get(np.array([0, 2], { dtype: "int32" })), /index 2 is out of bounds/);
    expectIndexError(() => x.get(":", [-4]), /index -4 is out of bounds/);
  });

  it("too many indices", () => {
    expectIndexError(() => x.get(0, 0, 0, 0), /too many indices/);
    expectIndexError(() => x.get("0, 0, 0, 0"), /too many indices/);
    expectIndexError(() => np.array(5).get(0), /too many indices/);
  });

  it("two ellipses, in a string or typed", () => {
    expectIndexError(() => x.get("..., ..."), /single ellipsis/);
    expectIndexError(() => x.get(np.ellipsis, 0, np.ellipsis), /single ellipsis/);
    expectIndexError(() => x.get("...", np.ellipsis), /single ellipsis/);
  });

  it("float indices, as numbers, strings, lists or arrays", () => {
    expectIndexError(() => x.get(1.5), /1\.5/);
    expectIndexError(() => x.get("1.5"), /integers/);
    expectIndexError(() => x.get("0:1.5"), /integers/);
    expectIndexError(() => x.get([0.5]), /integers/);
    expectIndexError(() => x.get(np.array([0.5, 1])), /float32/);
    // np.array of JS numbers is float32 even when they are integral: not an index array.
    expectIndexError(() => x.get(np.array([0, 1])), /float32/);
    expectIndexError(() => x.get(NaN));
    expectIndexError(() => x.get(Infinity));
  });

  it("malformed index strings point at the bad item", () => {
    const cases: [string, RegExp][] = [
      ["1,,2", /empty/],
      [",1", /empty/],
      ["1:2:3:4", /at most two colons/],
      ["::0", /step cannot be zero/],
      ["a", /"a"/],
      ["x[0]", /x\[0\]/],
      ["True", /boolean/],
      ["[0, 1]", /array/],
      ["99999999999999999999", /too large/],
      ["1 2", /"1 2"/],
    ];
    for (const [text, message] of cases) expectIndexError(() => x.get(text), message);
  });

  it("boolean masks of the wrong shape", () => {
    expectIndexError(() => x.get(np.array([true, false, true])), /does not match/);
    expectIndexError(() => x.get(np.ones([2, 4], { dtype: "bool" })), /does not match/);
    expectIndexError(() => x.get(np.ones([2, 3, 4, 1], { dtype: "bool" })), /too many indices/);
  });

  it("items that are not indices", () => {
    const bad: unknown[] = [true, undefined, {}, [0, "1"], Symbol("i"), Object.create(null)];
    for (const item of bad) expectIndexError(() => x.get(item as IndexItem));
  });

  it("every index error names the user's line", () => {
    const error = thrown(() => x.get("1.5"));
    expect(error.message).toMatch(/^x\.get at indexing\.test\.ts:\d+:\d+: /);
    const deep = thrown(() => x.get("True"));
    expect(deep.message).toMatch(/^x\.get at indexing\.test\.ts:\d+:\d+: /);
  });

  it("a boolean mask under makeProgram is a TracerError, not a crash", () => {
    const error = thrown(() => makeProgram((a: NDArray) => a.get(a.gt(0)))(np.ones([3])));
    expect(error).toBeInstanceOf(FluxionError);
    expect(error.name).toBe("TracerError");
  });

  it("leaves the indexed array unchanged after an error", () => {
    const y = np.arange(6);
    expectIndexError(() => y.get(9));
    expectIndexError(() => y.at(np.array([0.5])).set(1));
    expect(y.toList()).toEqual([0, 1, 2, 3, 4, 5]);
  });
});

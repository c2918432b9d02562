/**
 * View semantics: basic indexing, transposes, reshapes of contiguous data, expandDims, squeeze,
 * broadcastTo and flip return views that share storage with their base, and nothing (no view,
 * no functional update, no np function) ever writes to an input's storage.
 */
import { describe, expect, it } from "vitest";
import { NDArray, np } from "../../src/index.js";
import { ConcreteArray } from "../../src/runtime/concrete.js";

/** The concrete array behind `x` (eager values always are one). */
function concrete(x: NDArray): ConcreteArray {
  expect(x).toBeInstanceOf(ConcreteArray);
  return x as ConcreteArray;
}

/** Whether `view` reads the very storage of `base`. */
function sharesStorage(view: NDArray, base: NDArray): boolean {
  return concrete(view).data === concrete(base).data;
}

/** A copy of the whole storage behind `x` (not just the elements `x` sees). */
function storage(x: NDArray): number[] {
  return Array.from(concrete(x).data);
}

/** The row-major elements `x` sees. */
function elements(x: NDArray): number[] {
  return Array.from(x.toTypedArray());
}

describe("views share storage with their base", () => {
  const base = np.arange(24, { dtype: "float32" }).reshape([2, 3, 4]);
  const cases: [string, () => NDArray, unknown][] = [
    [
      "x.get(1)",
      () => base.get(1),
      [
        [12, 13, 14, 15],
        [16, 17, 18, 19],
        [20, 21, 22, 23],
      ],
    ],
    ["x.get(0, 2)", () => base.get(0, 2), [8, 9, 10, 11]],
    [
      "x.get(':, -1, 1:3')",
      () => base.get(":, -1, 1:3"),
      [
        [9, 10],
        [21, 22],
      ],
    ],
    ["x.get('..., ::-2')", () => base.get("..., ::-2"), null],
    ["x.get('::-1, ::-1, ::-1')", () => base.get("::-1, ::-1, ::-1"), null],
    ["x.get(np.slice(1, 2), null)", () => base.get(np.slice(1, 2), null), null],
    ["x.get(np.ellipsis, np.newaxis)", () => base.get(np.ellipsis, np.newaxis), null],
    ["x.get('5:') (empty)", () => base.get("5:"), []],
    ["x.T", () => base.T, null],
    ["x.transpose([1, 0, 2])", () => base.transpose([1, 0, 2]), null],
    ["np.moveaxis(x, 0, -1)", () => np.moveaxis(base, 0, -1), null],
    ["np.swapaxes(x, 0, 2)", () => np.swapaxes(base, 0, 2), null],
    ["x.reshape([6, 4])", () => base.reshape([6, 4]), null],
    ["x.reshape([-1])", () => base.reshape([-1]), null],
    ["np.ravel(x)", () => np.ravel(base), null],
    ["np.expandDims(x, 1)", () => np.expandDims(base, 1), null],
    ["np.squeeze(np.expandDims(x, 0))", () => np.squeeze(np.expandDims(base, 0)), null],
    ["np.broadcastTo(x.get(0, 0), [3, 4])", () => np.broadcastTo(base.get(0, 0), [3, 4]), null],
    ["np.broadcastTo(x, [5, 2, 3, 4])", () => np.broadcastTo(base, [5, 2, 3, 4]), null],
    ["np.flip(x, {axis: 1})", () => np.flip(base, { axis: 1 }), null],
    ["np.flip(x)", () => np.flip(base), null],
    ["np.split(x, 2, {axis: 2})[1]", () => np.split(base, 2, { axis: 2 })[1]!, null],
    ["x.T.get(0)", () => base.T.get(0), null],
    ["x.get('::-1').T.get('1:')", () => base.get("::-1").T.get("1:"), null],
  ];

  it.each(cases)("%s", (_, make, expected) => {
    const before = storage(base);
    const view = make();
    expect(sharesStorage(view, base)).toBe(true);
    if (expected !== null) expect(view.toList()).toEqual(expected);
    expect(storage(base)).toEqual(before);
  });

  it("views read the right elements", () => {
    const x = np.arange(6).reshape([2, 3]);
    expect(x.T.toList()).toEqual([
      [0, 3],
      [1, 4],
      [2, 5],
    ]);
    expect(np.flip(x, { axis: 1 }).toList()).toEqual([
      [2, 1, 0],
      [5, 4, 3],
    ]);
    expect(np.flip(x).toList()).toEqual([
      [5, 4, 3],
      [2, 1, 0],
    ]);
    expect(x.get("::-1, ::2").toList()).toEqual([
      [3, 5],
      [0, 2],
    ]);
    expect(np.broadcastTo(x.get(":, 1:2"), [2, 4]).toList()).toEqual([
      [1, 1, 1, 1],
      [4, 4, 4, 4],
    ]);
    expect(np.expandDims(x, [0, 3]).shape).toEqual([1, 2, 3, 1]);
    expect(np.squeeze(np.zeros([1, 2, 1]), { axis: 0 }).shape).toEqual([2, 1]);
  });

  it("toTypedArray of a view is a fresh contiguous copy in the view's order", () => {
    const x = np.arange(6).reshape([2, 3]);
    const t = x.T;
    const copy = t.toTypedArray();
    expect(Array.from(copy)).toEqual([0, 3, 1, 4, 2, 5]);
    expect(copy).not.toBe(concrete(x).data);
    copy[0] = 100;
    expect(t.toList()).toEqual([
      [0, 3],
      [1, 4],
      [2, 5],
    ]);
    expect(x.toList()).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
  });

  it("reshaping non-contiguous data copies, with the right elements", () => {
    const x = np.arange(6).reshape([2, 3]);
    const r = x.T.reshape([6]);
    expect(r.toList()).toEqual([0, 3, 1, 4, 2, 5]);
    expect(sharesStorage(r, x)).toBe(false);
    expect(x.get(":, ::2").reshape([4]).toList()).toEqual([0, 2, 3, 5]);
  });

  it("advanced indexing copies, as in NumPy", () => {
    const x = np.arange(6);
    expect(sharesStorage(x.get([0, 2]), x)).toBe(false);
    expect(sharesStorage(x.get(x.gt(2)), x)).toBe(false);
  });
});

describe("functional updates never write to their input", () => {
  const updates = ["set", "add", "multiply", "min", "max"] as const;

  it.each(updates)("x.at(...).%s leaves x and its base unchanged", (op) => {
    const base = np.arange(12, { dtype: "float32" }).reshape([3, 4]);
    const views = [base, base.T, base.get("::-1, 1:"), np.broadcastTo(base.get(0), [2, 4])];
    for (const x of views) {
      const baseBefore = storage(base);
      const xBefore = elements(x);
      const indices: Parameters<NDArray["at"]>[] = [
        [0],
        ["..., -1"],
        [np.array([0, 0, 1], { dtype: "int32" })],
        [":", [1, 1]],
        [x.gt(4)],
        ["::-1"],
      ];
      for (const index of indices) {
        const out = x.at(...index)[op](np.array(-3, { dtype: "float32" }));
        expect(out.shape).toEqual(x.shape);
      }
      expect(elements(x)).toEqual(xBefore);
      expect(storage(base)).toEqual(baseBefore);
    }
  });

  it("updating a view gives the updated view, and the base keeps its values", () => {
    const base = np.arange(6).reshape([2, 3]);
    const out = base.T.at(0).set(9);
    expect(out.toList()).toEqual([
      [9, 9],
      [1, 4],
      [2, 5],
    ]);
    expect(base.toList()).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
    const rev = base.get("::-1");
    expect(rev.at(0, 0).add(10).toList()).toEqual([
      [13, 4, 5],
      [0, 1, 2],
    ]);
    expect(rev.toList()).toEqual([
      [3, 4, 5],
      [0, 1, 2],
    ]);
  });

  it("the result of an update is not aliased to the input", () => {
    const x = np.arange(4);
    const y = x.at(0).set(5);
    const z = y.at(1).set(6);
    expect(x.toList()).toEqual([0, 1, 2, 3]);
    expect(y.toList()).toEqual([5, 1, 2, 3]);
    expect(z.toList()).toEqual([5, 6, 2, 3]);
  });
});

describe("np functions never write to their inputs", () => {
  // Every function of `np` is called with a handful of argument patterns on views (so a write
  // through a view would show in the base); errors from unsuitable patterns are ignored here.
  type AnyFunction = (...args: unknown[]) => unknown;
  const functions: [string, AnyFunction][] = Object.entries(np).flatMap(([name, value]) =>
    typeof value === "function" ? [[name, value as AnyFunction] as [string, AnyFunction]] : [],
  );

  it("finds the np functions", () => {
    expect(functions.length).toBeGreaterThan(50);
  });

  it.each(functions.map(([name, f]) => [name, f] as const))("np.%s", (_, f) => {
    const floats = np.arange(6, { dtype: "float32" }).reshape([3, 2]);
    const ints = np.arange(6).reshape([2, 3]);
    const bools = np.array([true, false, true, true, false, false]).reshape([2, 3]);
    const a = floats.T; // [2, 3], strided
    const b = ints.get("::-1"); // [2, 3], negative stride
    const c = bools;
    const bases = [floats, ints, bools];
    const before = bases.map(storage);
    const patterns: unknown[][] = [
      [a],
      [b],
      [c],
      [a, b],
      [b, a],
      [c, a, b],
      [a, 1],
      [a, 2.5],
      [a, { axis: 0 }],
      [b, { axis: -1, keepdims: true }],
      [a, [3, 2]],
      [[a, b]],
      [[a, b], { axis: 1 }],
      [a, 0, 1],
      [a, 2],
      [a, [1, 0]],
      [a, a.T],
      [a, b, { dtype: "float32" }],
    ];
    for (const args of patterns) {
      try {
        f(...args);
      } catch {
        // Only non-mutation is checked here.
      }
      bases.forEach((x, i) => expect(storage(x)).toEqual(before[i]));
    }
  });

  it("methods of NDArray never write to the array either", () => {
    const base = np.arange(6, { dtype: "float32" }).reshape([2, 3]);
    const x = base.get("::-1");
    const before = storage(base);
    x.add(1);
    x.sub(x);
    x.mul(2);
    x.div(3);
    x.pow(2);
    x.neg();
    x.matmul(x.T);
    x.reshape([3, 2]);
    x.transpose();
    x.sum();
    x.prod({ axis: 0 });
    x.mean();
    x.max();
    x.min({ axis: 1 });
    x.all();
    x.any({ axis: 0 });
    x.astype("int32");
    x.lt(2);
    x.le(2);
    x.gt(2);
    x.ge(2);
    x.eq(2);
    x.ne(2);
    x.toList();
    x.toTypedArray();
    x.toString();
    x.get(0, 0).item();
    expect(storage(base)).toEqual(before);
  });
});

describe("reduction methods", () => {
  it("x.all() and x.any() are np.all and np.any", () => {
    const x = np.array([
      [1, 0, 2],
      [3, 4, 5],
    ]);
    expect(x.all().item()).toBe(false);
    expect(x.any().item()).toBe(true);
    expect(x.all({ axis: 1 }).toList()).toEqual([false, true]);
    expect(x.any({ axis: 0, keepdims: true }).toList()).toEqual([[true, true, true]]);
    expect(x.gt(-1).all().item()).toBe(true);
    expect(np.zeros([2, 2]).any().item()).toBe(false);
  });
});

describe("iteration", () => {
  it("yields the sub-arrays along the first axis (views), as NumPy", () => {
    const m = np.arange(6).reshape([3, 2]);
    const rows = [...m];
    expect(rows.map((r) => r.toList())).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
    const [first] = m;
    expect(first!.shape).toEqual([2]);
    expect([...np.zeros([0, 3])]).toEqual([]);
    // A 0-d array has no first axis: nothing to yield (test matchers iterate arrays too).
    expect([...np.array(1)]).toEqual([]);
    expect(np.array([1, 2])).toEqual(np.array([1, 2]));
    expect(np.array([1, 2])).not.toEqual(np.array([1, 3]));
    expect(np.array(1)).not.toEqual(np.array(2));
  });
});

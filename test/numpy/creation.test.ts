/**
 * Array creation: `np.array` from nested lists, typed arrays, booleans and arrays, with fluxion's
 * default dtypes (JS numbers → float32, integral ones included, as in TensorFlow.js and jax-js;
 * bools → bool; typed arrays keep theirs; ints by asking for them); typed errors for ragged lists,
 * unknown dtypes and bad arguments; arange/linspace/eye/full and friends at their edges; and
 * how arrays come back out (toList, item, toString, toTypedArray).
 */
import { describe, expect, it } from "vitest";
import { DtypeError, FluxionError, NDArray, ShapeError, ValueError, np } from "../../src/index.js";
import type { DType } from "../../src/index.js";
import { thrown } from "../helpers/assertions.js";

function expectArray(x: NDArray, dtype: DType, shape: number[], list: unknown): void {
  expect(x.dtype).toBe(dtype);
  expect(x.shape).toEqual(shape);
  expect(x.toList()).toEqual(list);
}

describe("np.array", () => {
  it("makes arrays from nested lists", () => {
    expectArray(np.array([1, 2, 3]), "float32", [3], [1, 2, 3]);
    expectArray(np.array([1, 2, 3], { dtype: "int32" }), "int32", [3], [1, 2, 3]);
    expectArray(
      np.array(
        [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
        { dtype: "int32" },
      ),
      "int32",
      [3, 2],
      [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
    );
    expectArray(np.array([[[1.5]], [[2]]]), "float32", [2, 1, 1], [[[1.5]], [[2]]]);
  });

  it("makes 0-d arrays from numbers and booleans", () => {
    expectArray(np.array(5), "float32", [], 5);
    expectArray(np.array(5, { dtype: "int32" }), "int32", [], 5);
    expectArray(np.array(-2.5), "float32", [], -2.5);
    expectArray(np.array(true), "bool", [], true);
  });

  it("infers float32 for JS numbers (integral ones too), bool for booleans", () => {
    // JS cannot tell 1 from 1.0, so integral values give float32, as in TensorFlow.js and jax-js.
    expect(np.array([1, 2]).dtype).toBe("float32");
    expect(np.array([[0, -3]]).dtype).toBe("float32");
    expect(np.array(0).dtype).toBe("float32");
    expect(np.array([1, 2.5]).dtype).toBe("float32");
    expect(np.array([1e-3]).dtype).toBe("float32");
    expect(np.array([NaN, 1]).dtype).toBe("float32");
    expect(np.array([Infinity]).dtype).toBe("float32");
    expect(np.array([true, false]).dtype).toBe("bool");
    expect(np.array([[true], [false]]).dtype).toBe("bool");
    expect(np.array([true, 2]).dtype).toBe("float32");
    expect(np.array([true, 2]).toList()).toEqual([1, 2]);
    expect(np.array([false, 0.5]).dtype).toBe("float32");
    expect(np.array([2 ** 31]).dtype).toBe("float32");
    expect(np.array([-(2 ** 31) + 1, 2 ** 31 - 1]).dtype).toBe("float32");
  });

  it("gives int32 when asked, exactly, across the whole int32 range", () => {
    expectArray(np.array([1, 2], { dtype: "int32" }), "int32", [2], [1, 2]);
    expectArray(np.array([true, 2], { dtype: "int32" }), "int32", [2], [1, 2]);
    // float32 would round these to ±2**31; int32 keeps them.
    expectArray(
      np.array([-(2 ** 31) + 1, 2 ** 31 - 1], { dtype: "int32" }),
      "int32",
      [2],
      [-(2 ** 31) + 1, 2 ** 31 - 1],
    );
    expect(np.array([2 ** 31 - 1]).toList()).toEqual([2 ** 31]);
    // Integer-valued typed arrays keep an integer dtype, so they need no option.
    expect(np.array(new Int32Array([1, 2])).dtype).toBe("int32");
  });

  it("stores float32 values rounded to float32", () => {
    expect(np.array([0.1]).toList()).toEqual([Math.fround(0.1)]);
    expect(np.array([0.1], { dtype: "float64" }).toList()).toEqual([0.1]);
  });

  it("makes empty arrays of float32", () => {
    expectArray(np.array([]), "float32", [0], []);
    expectArray(np.array([[]]), "float32", [1, 0], [[]]);
    expectArray(np.array([[], []]), "float32", [2, 0], [[], []]);
    expectArray(np.array([], { dtype: "int32" }), "int32", [0], []);
  });

  it("converts to the dtype it is given", () => {
    expectArray(np.array([1.7, -1.7, 2.5], { dtype: "int32" }), "int32", [3], [1, -1, 2]);
    expectArray(
      np.array([1, 0, -2, 0.5], { dtype: "bool" }),
      "bool",
      [4],
      [true, false, true, true],
    );
    expectArray(np.array([true, false], { dtype: "float32" }), "float32", [2], [1, 0]);
    expectArray(np.array([3], { dtype: "uint32" }), "uint32", [1], [3]);
    expectArray(np.array([1, 2], { dtype: "float64" }), "float64", [2], [1, 2]);
  });

  it("copies typed arrays, with their dtype", () => {
    expectArray(np.array(new Float32Array([1.5, 2])), "float32", [2], [1.5, 2]);
    expectArray(np.array(new Float64Array([0.1, 2])), "float64", [2], [0.1, 2]);
    expectArray(np.array(new Int32Array([-1, 7])), "int32", [2], [-1, 7]);
    expectArray(np.array(new Uint32Array([4294967295])), "uint32", [1], [4294967295]);
    expectArray(np.array(new Int32Array([1, 0]), { dtype: "bool" }), "bool", [2], [true, false]);
    const source = new Float32Array([1, 2, 3]);
    const x = np.array(source);
    source[0] = 100;
    expect(x.toList()).toEqual([1, 2, 3]);
  });

  it("keeps the values of narrower typed arrays", () => {
    expect(np.array(new Uint8Array([1, 255])).toList()).toEqual([1, 255]);
    expect(np.array(new Int8Array([-1, 2]) as unknown as Int32Array).toList()).toEqual([-1, 2]);
    expect(np.array(new Int16Array([-300]) as unknown as Int32Array).toList()).toEqual([-300]);
  });

  it.each([
    ["a BigInt64Array", new BigInt64Array([5n])],
    ["a DataView", new DataView(new ArrayBuffer(8))],
  ])("rejects %s with a typed error instead of guessing", (_, data) => {
    const error = thrown(() => np.array(data as unknown as Float32Array));
    expect(error).toBeInstanceOf(FluxionError);
  });

  it("stacks a list of arrays, promoting their dtypes", () => {
    const x = np.array([np.ones([2], { dtype: "int32" }), np.array([0.5, 1.5])]);
    expectArray(
      x,
      "float32",
      [2, 2],
      [
        [1, 1],
        [0.5, 1.5],
      ],
    );
    const a = np.arange(3);
    expect(np.array(a, { dtype: "float64" }).dtype).toBe("float64");
    expect(np.array(a).toList()).toEqual([0, 1, 2]);
  });

  it("does not modify the lists it is given", () => {
    const data = [
      [1, 2],
      [3, 4],
    ];
    const snapshot = JSON.stringify(data);
    np.array(data, { dtype: "bool" });
    np.array(data);
    expect(JSON.stringify(data)).toBe(snapshot);
  });
});

describe("np.array of bad data", () => {
  it("ragged lists are a ShapeError naming the bad element", () => {
    const cases: [unknown, RegExp][] = [
      [[[1, 2], [3]], /element \[1\] has length 1 but length 2 was expected/],
      [[[1], [2, 3]], /element \[1\] has length 2 but length 1 was expected/],
      [[[1, 2], 3], /element \[1\]/],
      [[1, [2, 3]], /element \[1\]/],
      [
        [
          [
            [1, 2],
            [3, 4],
          ],
          [[5, 6], [7]],
        ],
        /element \[1\]\[1\] has length 1 but length 2 was expected/,
      ],
    ];
    for (const [data, message] of cases) {
      const error = thrown(() => np.array(data as number[]));
      expect(error).toBeInstanceOf(ShapeError);
      expect(error.message).toMatch(/^np\.array/);
      expect(error.message).toMatch(message);
      expect(error.message).toMatch(/ragged/);
    }
  });

  it("ragged lists, however deep, name the user's line", () => {
    const shallow = thrown(() => np.array([[1, 2], [3]]));
    expect(shallow.message).toMatch(/^np\.array at creation\.test\.ts:\d+:\d+: /);
    const deep = [
      [[[1]], [[2]]],
      [[[3]], [[4, 5]]],
    ];
    const error = thrown(() => np.array(deep));
    expect(error.message).toMatch(/element \[1\]\[1\]\[0\] has length 2 but length 1 was expected/);
    expect(error.message).toMatch(/^np\.array at creation\.test\.ts:\d+:\d+: /);
  });

  it("elements that are not numbers or booleans are a typed error naming the element", () => {
    for (const data of [
      [1, "2"],
      [1, null],
      [[1], [undefined]],
      [{}, 1],
    ]) {
      const error = thrown(() => np.array(data as number[]));
      expect(error).toBeInstanceOf(FluxionError);
      expect(error.message).toMatch(/element \[\d\]/);
    }
  });

  it("data that is not an array is a ValueError", () => {
    for (const data of [null, undefined, "abc", {}]) {
      const error = thrown(() => np.array(data as unknown as number));
      expect(error).toBeInstanceOf(ValueError);
      expect(error.message).toMatch(/^np\.array at creation\.test\.ts:\d+:\d+: /);
    }
  });
});

describe("unknown dtypes", () => {
  const bad = "int64" as DType;
  const cases: [string, () => unknown][] = [
    ["np.array", () => np.array([1], { dtype: bad })],
    ["np.asarray", () => np.asarray(np.ones([1]), { dtype: bad })],
    ["np.zeros", () => np.zeros([2], { dtype: bad })],
    ["np.ones", () => np.ones([2], { dtype: bad })],
    ["np.empty", () => np.empty([2], { dtype: bad })],
    ["np.full", () => np.full([2], 1, { dtype: bad })],
    ["np.zerosLike", () => np.zerosLike(np.ones([2]), { dtype: bad })],
    ["np.onesLike", () => np.onesLike(np.ones([2]), { dtype: bad })],
    ["np.fullLike", () => np.fullLike(np.ones([2]), 3, { dtype: bad })],
    ["np.arange", () => np.arange(3, { dtype: bad })],
    ["np.linspace", () => np.linspace(0, 1, 3, { dtype: bad })],
    ["np.eye", () => np.eye(2, { dtype: bad })],
    ["np.identity", () => np.identity(2, { dtype: bad })],
    ["x.astype", () => np.ones([2]).astype(bad)],
    ["np.astype", () => np.astype(np.ones([2]), "float16" as DType)],
  ];

  it.each(cases)("%s is a DtypeError listing the dtypes", (_, f) => {
    const error = thrown(f);
    expect(error).toBeInstanceOf(DtypeError);
    expect(error.message).toMatch(/ at creation\.test\.ts:\d+:\d+: /);
    expect(error.message).toMatch(/int64|float16/);
    expect(error.message).toMatch(/float32/);
  });
});

describe("np.arange", () => {
  it("counts like Python's range, in int32 for integer arguments", () => {
    expectArray(np.arange(5), "int32", [5], [0, 1, 2, 3, 4]);
    expectArray(np.arange(2, 5), "int32", [3], [2, 3, 4]);
    expectArray(np.arange(0, 10, 3), "int32", [4], [0, 3, 6, 9]);
    expectArray(np.arange(5, 0, -1), "int32", [5], [5, 4, 3, 2, 1]);
    expectArray(np.arange(5, 0, -2), "int32", [3], [5, 3, 1]);
  });

  it("is empty when the range is", () => {
    expectArray(np.arange(0), "int32", [0], []);
    expectArray(np.arange(-3), "int32", [0], []);
    expectArray(np.arange(5, 0), "int32", [0], []);
    expectArray(np.arange(0, 5, -1), "int32", [0], []);
  });

  it("gives float32 for non-integer arguments, with NumPy's length ceil((stop - start) / step)", () => {
    expectArray(np.arange(1, 2, 0.25), "float32", [4], [1, 1.25, 1.5, 1.75]);
    expectArray(np.arange(0.5), "float32", [1], [0]);
    expect(np.arange(0, 1, 0.1).size).toBe(10);
    expect(np.arange(1, 0, -0.5).toList()).toEqual([1, 0.5]);
  });

  it("takes options in place of stop or step", () => {
    expectArray(np.arange(3, { dtype: "float64" }), "float64", [3], [0, 1, 2]);
    expectArray(np.arange(1, 3, { dtype: "float32" }), "float32", [2], [1, 2]);
    expectArray(np.arange(0, 6, 2, { dtype: "uint32" }), "uint32", [3], [0, 2, 4]);
  });

  it("rejects a zero step and non-finite bounds with a ValueError", () => {
    const cases = [
      () => np.arange(0, 1, 0),
      () => np.arange(NaN),
      () => np.arange(0, Infinity),
      () => np.arange("3" as unknown as number),
    ];
    for (const f of cases) expect(thrown(f)).toBeInstanceOf(ValueError);
  });

  it("rejects a length it cannot allocate with a typed error", () => {
    expect(thrown(() => np.arange(1e12))).toBeInstanceOf(FluxionError);
  });
});

describe("np.linspace", () => {
  it("includes both ends by default", () => {
    expectArray(np.linspace(0, 1, 5), "float32", [5], [0, 0.25, 0.5, 0.75, 1]);
    expectArray(np.linspace(1, 0, 3), "float32", [3], [1, 0.5, 0]);
    expect(np.linspace(0, 1).size).toBe(50);
    const sevenths = Array.from(np.linspace(-1, 1, 7, { dtype: "float64" }).toTypedArray());
    [-1, -2 / 3, -1 / 3, 0, 1 / 3, 2 / 3, 1].forEach((v, i) => {
      expect(sevenths[i]).toBeCloseTo(v, 15);
    });
    expect(sevenths[0]).toBe(-1);
    expect(sevenths[6]).toBe(1);
  });

  it("excludes the stop with endpoint: false", () => {
    const fifths = Array.from(
      np.linspace(0, 1, 5, { endpoint: false, dtype: "float64" }).toTypedArray(),
    );
    [0, 0.2, 0.4, 0.6, 0.8].forEach((v, i) => expect(fifths[i]).toBeCloseTo(v, 15));
  });

  it("handles 0 and 1 points", () => {
    expectArray(np.linspace(2, 3, 1), "float32", [1], [2]);
    expectArray(np.linspace(2, 3, 0), "float32", [0], []);
  });

  it("truncates toward zero for integer dtypes, as NumPy", () => {
    expectArray(np.linspace(0, 10, 4, { dtype: "int32" }), "int32", [4], [0, 3, 6, 10]);
  });

  it("rejects a bad number of points with a ValueError", () => {
    expect(thrown(() => np.linspace(0, 1, -1))).toBeInstanceOf(ValueError);
    expect(thrown(() => np.linspace(0, 1, 2.5))).toBeInstanceOf(ValueError);
    expect(thrown(() => np.linspace(0, NaN, 3))).toBeInstanceOf(ValueError);
  });
});

describe("np.eye, np.identity", () => {
  it("puts ones on the k-th diagonal", () => {
    expectArray(
      np.eye(3),
      "float32",
      [3, 3],
      [
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
      ],
    );
    expectArray(
      np.eye(2, { m: 3, k: 1 }),
      "float32",
      [2, 3],
      [
        [0, 1, 0],
        [0, 0, 1],
      ],
    );
    expectArray(
      np.eye(3, { k: -1, dtype: "int32" }),
      "int32",
      [3, 3],
      [
        [0, 0, 0],
        [1, 0, 0],
        [0, 1, 0],
      ],
    );
    expect(np.eye(2, { k: 5 }).toList()).toEqual([
      [0, 0],
      [0, 0],
    ]);
    expectArray(np.eye(0), "float32", [0, 0], []);
    expectArray(
      np.identity(2, { dtype: "bool" }),
      "bool",
      [2, 2],
      [
        [true, false],
        [false, true],
      ],
    );
  });

  it("rejects negative and fractional sizes with a ShapeError", () => {
    expect(thrown(() => np.eye(-1))).toBeInstanceOf(ShapeError);
    expect(thrown(() => np.eye(2.5))).toBeInstanceOf(ShapeError);
  });
});

describe("np.full, np.zeros, np.ones and the *Like functions", () => {
  it("takes a JS number exactly in the requested integer dtype", () => {
    expect(np.full([2], 0x85a308d3, { dtype: "uint32" }).toList()).toEqual([
      2242054355, 2242054355,
    ]);
    expect(np.full([1], 16777217, { dtype: "int32" }).toList()).toEqual([16777217]);
    expect(np.full([1], 2.5, { dtype: "int32" }).toList()).toEqual([2]);
    expect(np.full([1], 0.1, { dtype: "float64" }).toList()).toEqual([0.1]);
    expect(np.fullLike(np.zeros([2], { dtype: "float64" }), 0.1).toList()).toEqual([0.1, 0.1]);
  });

  it("fills with the value: JS numbers give float32 (as np.array), arrays keep their dtype", () => {
    expectArray(
      np.full([2, 2], 7),
      "float32",
      [2, 2],
      [
        [7, 7],
        [7, 7],
      ],
    );
    expectArray(np.full([2], 1.5), "float32", [2], [1.5, 1.5]);
    expectArray(np.full([2], 1.5, { dtype: "int32" }), "int32", [2], [1, 1]);
    expectArray(np.full([2], 7, { dtype: "int32" }), "int32", [2], [7, 7]);
    expectArray(np.full([2], true), "bool", [2], [true, true]);
    expectArray(np.full(3, 0), "float32", [3], [0, 0, 0]);
    expectArray(np.full([], 4), "float32", [], 4);
    expectArray(np.full([2], np.array(2, { dtype: "float64" })), "float64", [2], [2, 2]);
    expectArray(np.full([2], np.array(3, { dtype: "int32" })), "int32", [2], [3, 3]);
  });

  it("zeros, ones and empty are float32 by default", () => {
    expectArray(np.zeros([2]), "float32", [2], [0, 0]);
    expectArray(np.ones([1, 2], { dtype: "uint32" }), "uint32", [1, 2], [[1, 1]]);
    expectArray(np.empty([2]), "float32", [2], [0, 0]);
    expectArray(np.zeros([2, 0]), "float32", [2, 0], [[], []]);
    expectArray(np.zeros([]), "float32", [], 0);
  });

  it("the *Like functions take the shape and dtype of their argument", () => {
    const x = np.array([[1, 2, 3]], { dtype: "int32" });
    expectArray(np.zerosLike(x), "int32", [1, 3], [[0, 0, 0]]);
    expectArray(np.onesLike(x, { dtype: "bool" }), "bool", [1, 3], [[true, true, true]]);
    expectArray(np.fullLike(x, 2.5), "int32", [1, 3], [[2, 2, 2]]);
    expectArray(np.fullLike(x, 2.5, { dtype: "float32" }), "float32", [1, 3], [[2.5, 2.5, 2.5]]);
  });

  it("rejects bad shapes with a ShapeError and bad fill values with a typed error", () => {
    expect(thrown(() => np.full([-1], 0))).toBeInstanceOf(ShapeError);
    expect(thrown(() => np.full([2.5], 0))).toBeInstanceOf(ShapeError);
    expect(thrown(() => np.zeros("3" as unknown as number))).toBeInstanceOf(ShapeError);
    expect(thrown(() => np.full([2], np.array([1, 2])))).toBeInstanceOf(ShapeError);
    expect(thrown(() => np.full([2], "a" as unknown as number))).toBeInstanceOf(ValueError);
  });
});

describe("np.asarray", () => {
  it("returns arrays unchanged, and converts when a dtype differs", () => {
    const x = np.arange(3);
    expect(np.asarray(x)).toBe(x);
    expect(np.asarray(x, { dtype: "int32" })).toBe(x);
    expectArray(np.asarray(x, { dtype: "float32" }), "float32", [3], [0, 1, 2]);
    expectArray(np.asarray([1, 2]), "float32", [2], [1, 2]);
    expectArray(np.asarray([1, 2], { dtype: "int32" }), "int32", [2], [1, 2]);
  });
});

describe("getting values out", () => {
  it("toList gives nested JS arrays, numbers for 0-d arrays and booleans for bool", () => {
    expect(np.arange(6).reshape([3, 1, 2]).toList()).toEqual([[[0, 1]], [[2, 3]], [[4, 5]]]);
    expect(np.array(3).toList()).toBe(3);
    expect(np.array([true, false]).toList()).toEqual([true, false]);
    expect(np.zeros([0, 3]).toList()).toEqual([]);
  });

  it("item gives the one element of a size-1 array of any rank", () => {
    expect(np.array(4).item()).toBe(4);
    expect(np.array([[2.5]]).item()).toBe(2.5);
    expect(np.array([true]).item()).toBe(true);
    expect(np.arange(6).get(5).item()).toBe(5);
  });

  it("item on an array of size 0 or more than 1 is a ValueError naming the shape", () => {
    for (const x of [np.zeros([2, 3]), np.zeros([0])]) {
      const error = thrown(() => x.item());
      expect(error).toBeInstanceOf(ValueError);
      expect(error.message).toMatch(/^x\.item\(\) at creation\.test\.ts:\d+:\d+: /);
      expect(error.message).toContain(`[${x.shape.join(", ")}]`);
    }
  });

  it("toTypedArray gives a fresh copy in the dtype's typed array", () => {
    const kinds: [DType, unknown][] = [
      ["float32", Float32Array],
      ["float64", Float64Array],
      ["int32", Int32Array],
      ["uint32", Uint32Array],
      ["bool", Uint8Array],
    ];
    for (const [dtype, Type] of kinds) {
      const x = np.ones([2], { dtype });
      const t = x.toTypedArray();
      expect(t).toBeInstanceOf(Type);
      expect(Array.from(t)).toEqual([1, 1]);
      t[0] = 0;
      expect(x.toTypedArray()[0]).toBe(1);
      expect(x.toTypedArray()).not.toBe(x.toTypedArray());
    }
  });

  it("toString prints the values; template strings and + use it and item()", () => {
    const x = np.array([1, 2, 3], { dtype: "int32" });
    expect(x.toString()).toMatch(/1, 2, 3/);
    expect(x.toString()).toMatch(/int32/);
    expect(np.array([1, 2, 3]).toString()).toBe("array([1., 2., 3.], dtype=float32)");
    expect(`${x}`).toBe(x.toString());
    expect(String(x)).toBe(x.toString());
    expect(np.array([true, false]).toString()).toMatch(/True, False/);
    expect(+np.array(3)).toBe(3);
    expect(+np.array([2.5])).toBe(2.5);
    expect(thrown(() => +np.array([1, 2]))).toBeInstanceOf(ValueError);
  });

  it("shape, ndim, size and dtype describe the array", () => {
    const x = np.zeros([2, 3, 4], { dtype: "float64" });
    expect([x.shape, x.ndim, x.size, x.dtype]).toEqual([[2, 3, 4], 3, 24, "float64"]);
    const s = np.array(1);
    expect([s.shape, s.ndim, s.size]).toEqual([[], 0, 1]);
    expect(Object.isFrozen(x.shape)).toBe(true);
  });
});

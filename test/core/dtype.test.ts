/**
 * Type promotion and broadcasting: JAX's promotion table restricted to fluxion's dtypes (with
 * weak types for JS numbers), checked on `promoteTypeNodes` and on what `np.add` returns; and
 * NumPy's broadcasting table, with the ShapeError for shapes that do not broadcast.
 */
import { describe, expect, it } from "vitest";
import { FluxionError, NDArray, ShapeError, np } from "../../src/index.js";
import type { ArrayLike, DType } from "../../src/index.js";
import { promoteTypeNodes, promoteTypes, type TypeNode } from "../../src/core/dtype.js";
import { broadcastShapes } from "../../src/core/shape.js";

/** The nodes of JAX's lattice, in the notation of its documentation. */
type Node = "b1" | "i*" | "f*" | "i32" | "u32" | "f32" | "f64";

const nodes: readonly Node[] = ["b1", "i*", "f*", "i32", "u32", "f32", "f64"];

const typeNodes: Record<Node, TypeNode> = {
  b1: { dtype: "bool", weak: false },
  "i*": { dtype: "int32", weak: true },
  "f*": { dtype: "float32", weak: true },
  i32: { dtype: "int32", weak: false },
  u32: { dtype: "uint32", weak: false },
  f32: { dtype: "float32", weak: false },
  f64: { dtype: "float64", weak: false },
};

/**
 * JAX's promotion table (https://jax.readthedocs.io/en/latest/type_promotion.html), rows and
 * columns in the order of `nodes`. The one departure: i32 ⊔ u32 is i64 in JAX, which fluxion
 * lacks; like JAX without 64-bit integers, fluxion gives int32.
 */
const table: Record<Node, readonly Node[]> = {
  //    b1     i*     f*     i32    u32    f32    f64
  b1: ["b1", "i*", "f*", "i32", "u32", "f32", "f64"],
  "i*": ["i*", "i*", "f*", "i32", "u32", "f32", "f64"],
  "f*": ["f*", "f*", "f*", "f*", "f*", "f32", "f64"],
  i32: ["i32", "i32", "f*", "i32", "i32", "f32", "f64"],
  u32: ["u32", "u32", "f*", "i32", "u32", "f32", "f64"],
  f32: ["f32", "f32", "f32", "f32", "f32", "f32", "f64"],
  f64: ["f64", "f64", "f64", "f64", "f64", "f64", "f64"],
};

const pairs = nodes.flatMap((a) => nodes.map((b, j) => [a, b, table[a][j]!] as const));

/** A value of each node for `np.add`: JS numbers are the weak types, arrays the strong ones. */
function operand(node: Node): ArrayLike {
  switch (node) {
    case "b1":
      return np.array([true, false]);
    case "i*":
      return 3;
    case "f*":
      return 0.5;
    case "i32":
      return np.array([1, -2], { dtype: "int32" });
    case "u32":
      return np.array([1, 2], { dtype: "uint32" });
    case "f32":
      return np.array([1.5, -2], { dtype: "float32" });
    case "f64":
      return np.array([1.5, -2], { dtype: "float64" });
  }
}

describe("the promotion table", () => {
  it("is symmetric", () => {
    for (const [a, b, c] of pairs) expect(table[b][nodes.indexOf(a)]).toBe(c);
  });

  it.each(pairs)("promoteTypeNodes(%s, %s) = %s", (a, b, c) => {
    expect(promoteTypeNodes(typeNodes[a], typeNodes[b])).toEqual(typeNodes[c]);
  });

  it.each(pairs)("np.add(%s, %s) has the type %s", (a, b, c) => {
    const out = np.add(operand(a), operand(b));
    expect(out.dtype).toBe(typeNodes[c].dtype);
    expect(out.weakType).toBe(typeNodes[c].weak);
  });

  it("is associative (the order of operands does not matter)", () => {
    for (const a of nodes) {
      for (const b of nodes) {
        for (const c of nodes) {
          const left = promoteTypeNodes(promoteTypeNodes(typeNodes[a], typeNodes[b]), typeNodes[c]);
          const right = promoteTypeNodes(
            typeNodes[a],
            promoteTypeNodes(typeNodes[b], typeNodes[c]),
          );
          expect(left, `(${a} ${b}) ${c}`).toEqual(right);
          expect(promoteTypeNodes(typeNodes[a], typeNodes[b], typeNodes[c])).toEqual(left);
        }
      }
    }
  });

  it("a single type promotes to itself", () => {
    for (const n of nodes) expect(promoteTypeNodes(typeNodes[n])).toEqual(typeNodes[n]);
  });

  it("np.promoteTypes is the strong part of the table", () => {
    const strong: [DType, DType, DType][] = [
      ["bool", "int32", "int32"],
      ["bool", "uint32", "uint32"],
      ["int32", "uint32", "int32"],
      ["int32", "float32", "float32"],
      ["uint32", "float32", "float32"],
      ["int32", "float64", "float64"],
      ["float32", "float64", "float64"],
      ["bool", "bool", "bool"],
    ];
    for (const [a, b, c] of strong) {
      expect(np.promoteTypes(a, b)).toBe(c);
      expect(promoteTypes(b, a)).toBe(c);
    }
  });
});

describe("promotion in np functions", () => {
  it("a JS number takes the array's dtype", () => {
    const f32 = np.ones([2], { dtype: "float32" });
    expect(f32.add(2).dtype).toBe("float32");
    expect(f32.mul(2.5).dtype).toBe("float32");
    expect(np.ones([2], { dtype: "float64" }).add(1).dtype).toBe("float64");
    expect(np.ones([2], { dtype: "int32" }).add(1).dtype).toBe("int32");
    expect(np.ones([2], { dtype: "uint32" }).sub(1).dtype).toBe("uint32");
    expect(np.ones([2], { dtype: "int32" }).add(0.5).toList()).toEqual([1.5, 1.5]);
  });

  it("two JS numbers stay weak", () => {
    const i = np.add(1, 2);
    expect([i.dtype, i.weakType, i.item()]).toEqual(["int32", true, 3]);
    const f = np.add(1, 0.5);
    expect([f.dtype, f.weakType, f.item()]).toEqual(["float32", true, 1.5]);
    expect(np.add(1, 2).add(np.ones([1], { dtype: "float64" })).dtype).toBe("float64");
  });

  it("a weak result keeps promoting as a weak value", () => {
    const weak = np.multiply(2, 3);
    expect(np.ones([2], { dtype: "uint32" }).add(weak).dtype).toBe("uint32");
    expect(np.ones([2], { dtype: "float64" }).add(np.divide(1, 3)).dtype).toBe("float64");
  });

  it("booleans add as logical or, and promote with numbers", () => {
    const b = np.array([true, false]);
    expect(np.add(b, b).toList()).toEqual([true, false]);
    expect(np.add(b, true).toList()).toEqual([true, true]);
    expect(np.add(b, 1).toList()).toEqual([2, 1]);
    expect(np.add(b, 0.5).toList()).toEqual([1.5, 0.5]);
  });

  it("int32 + uint32 gives int32 (fluxion has no int64)", () => {
    const out = np.add(np.array([-1], { dtype: "int32" }), np.array([3], { dtype: "uint32" }));
    expect(out.dtype).toBe("int32");
    expect(out.toList()).toEqual([2]);
  });

  it("true division of integers gives float32; comparisons give bool", () => {
    const i = np.array([1, 2], { dtype: "int32" });
    expect(np.divide(i, i).dtype).toBe("float32");
    expect(np.divide(1, 2).dtype).toBe("float32");
    expect(np.divide(1, 2).weakType).toBe(true);
    expect(np.divide(np.ones([1], { dtype: "float64" }), i).dtype).toBe("float64");
    expect(np.less(i, 1.5).dtype).toBe("bool");
    expect(np.less(i, 1.5).weakType).toBe(false);
    expect(np.less(i, 1.5).toList()).toEqual([true, false]);
  });

  it("float functions of integers give float32", () => {
    expect(np.sin(np.array([0], { dtype: "int32" })).dtype).toBe("float32");
    expect(np.sqrt(np.array([4], { dtype: "uint32" })).dtype).toBe("float32");
    expect(np.exp(np.array([0], { dtype: "float64" })).dtype).toBe("float64");
  });

  it("np.where promotes its branches like add", () => {
    const c = np.array([true, false]);
    expect(np.where(c, np.ones([2], { dtype: "int32" }), 0.5).dtype).toBe("float32");
    expect(np.where(c, np.ones([2], { dtype: "float64" }), 1).dtype).toBe("float64");
    const weak = np.where(c, 1, 2);
    expect([weak.dtype, weak.weakType]).toEqual(["int32", true]);
  });
});

describe("broadcasting", () => {
  const broadcastable: [number[], number[], number[]][] = [
    [[], [], []],
    [[], [3], [3]],
    [[3], [], [3]],
    [[1], [3], [3]],
    [[3], [3], [3]],
    [[2, 3], [3], [2, 3]],
    [
      [2, 3],
      [1, 3],
      [2, 3],
    ],
    [
      [2, 1],
      [1, 3],
      [2, 3],
    ],
    [
      [4, 1, 3],
      [2, 1],
      [4, 2, 3],
    ],
    [
      [5, 1, 4],
      [3, 1],
      [5, 3, 4],
    ],
    [[1, 1, 1], [7], [1, 1, 7]],
    [[0], [1], [0]],
    [[0], [], [0]],
    [
      [2, 0],
      [1, 0],
      [2, 0],
    ],
    [
      [3, 1, 0],
      [3, 1],
      [3, 3, 0],
    ],
  ];

  it.each(broadcastable)("%j and %j broadcast to %j", (a, b, c) => {
    expect(broadcastShapes("test", a, b)).toEqual(c);
    expect(broadcastShapes("test", b, a)).toEqual(c);
    const out = np.add(np.zeros(a), np.ones(b));
    expect(out.shape).toEqual(c);
    expect(Array.from(out.toTypedArray())).toEqual(Array(c.reduce((n, d) => n * d, 1)).fill(1));
  });

  const incompatible: [number[], number[]][] = [
    [[3], [4]],
    [[2, 3], [2]],
    [
      [2, 3],
      [3, 2],
    ],
    [[0], [2]],
    [
      [2, 1, 3],
      [4, 3, 3],
    ],
    [
      [5, 4],
      [1, 5],
    ],
  ];

  it.each(incompatible)("%j and %j do not broadcast", (a, b) => {
    let error: unknown;
    try {
      np.add(np.zeros(a), np.zeros(b));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ShapeError);
    expect(error).toBeInstanceOf(FluxionError);
    const message = (error as Error).message;
    expect(message).toContain(`[${a.join(", ")}]`);
    expect(message).toContain(`[${b.join(", ")}]`);
    expect(message).toMatch(/^np\.add at dtype\.test\.ts:\d+:\d+: /);
    expect(message).toMatch(/cannot be broadcast/);
  });

  it("broadcasts three shapes in np.where", () => {
    const out = np.where(np.array([[true], [false]]), np.arange(3), np.zeros([1, 1, 3]));
    expect(out.shape).toEqual([1, 2, 3]);
    expect(out.toList()).toEqual([
      [
        [0, 1, 2],
        [0, 0, 0],
      ],
    ]);
  });

  it("np.broadcastTo and np.broadcastArrays follow the same rules", () => {
    expect(np.broadcastTo(np.arange(3), [2, 3]).toList()).toEqual([
      [0, 1, 2],
      [0, 1, 2],
    ]);
    expect(np.broadcastTo(5, [2]).toList()).toEqual([5, 5]);
    const [x, y] = np.broadcastArrays(np.zeros([2, 1]), np.zeros([3]));
    expect(x!.shape).toEqual([2, 3]);
    expect(y!.shape).toEqual([2, 3]);
    expect(() => np.broadcastTo(np.arange(3), [3, 1])).toThrow(ShapeError);
    expect(() => np.broadcastTo(np.zeros([2, 3]), [3])).toThrow(ShapeError);
    expect(() => np.broadcastTo(np.zeros([2, 3]), [3])).toThrow(/\[2, 3\].*\[3\]/);
    expect(() => np.broadcastArrays(np.zeros([2]), np.zeros([3]))).toThrow(ShapeError);
  });

  it("every binary np function broadcasts and rejects the same shapes", () => {
    const binary: ((x: ArrayLike, y: ArrayLike) => NDArray)[] = [
      np.add,
      np.subtract,
      np.multiply,
      np.divide,
      np.power,
      np.maximum,
      np.minimum,
      np.equal,
      np.less,
      np.logicalAnd,
      np.arctan2,
      np.mod,
      np.floorDivide,
    ];
    for (const f of binary) {
      expect(f(np.ones([2, 1]), np.ones([3])).shape).toEqual([2, 3]);
      expect(() => f(np.ones([2]), np.ones([3]))).toThrow(ShapeError);
    }
  });
});

describe("weak types keep their width", () => {
  it("weak float64 with weak float64 stays float64 (weak); a strong operand decides otherwise", () => {
    const weak64 = { dtype: "float64", weak: true } as const;
    expect(promoteTypeNodes(weak64, weak64)).toEqual({ dtype: "float64", weak: true });
    expect(promoteTypeNodes(weak64, { dtype: "float32", weak: true })).toEqual({
      dtype: "float64",
      weak: true,
    });
    expect(promoteTypeNodes(weak64, { dtype: "float32", weak: false })).toEqual({
      dtype: "float32",
      weak: false,
    });
  });
});

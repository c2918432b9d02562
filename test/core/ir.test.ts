/**
 * The IR: what `makeProgram` stages and how `Program` prints (jaxpr-like), scalar constants
 * inlined as literals, closed-over arrays as constvars, pytree arguments and results; the
 * validator on staged and hand-broken programs; `evalProgram` against eager evaluation; and the
 * trace stack left clean after a staged function throws.
 */
import { describe, expect, it } from "vitest";
import {
  AbstractValue,
  Equation,
  Literal,
  NDArray,
  Program,
  Var,
  makeProgram,
  np,
} from "../../src/index.js";
import { ProgramValidationError, evalProgram, validateProgram } from "../../src/core/ir.js";
import type { Primitive } from "../../src/core/primitive.js";
import { traceDepth } from "../../src/core/trace.js";
import { ConcreteArray, scalar } from "../../src/runtime/concrete.js";

const f32 = (shape: number[]): AbstractValue => new AbstractValue(shape, "float32");

/** The primitive that `f` stages as its only equation (e.g. `sin` from `np.sin`). */
function primitiveOf(f: (x: NDArray) => NDArray, x: NDArray = np.ones([3])): Primitive {
  const program = makeProgram(f)(x);
  expect(program.equations).toHaveLength(1);
  return program.equations[0]!.primitive;
}

/** Runs a program eagerly; literals become scalars of their type. */
function run(program: Program, args: readonly NDArray[]): NDArray[] {
  return evalProgram(program, args, (value, aval) => scalar(value, aval.dtype, aval.weakType));
}

describe("the IR printer", () => {
  it("prints a one-equation program exactly", () => {
    const program = makeProgram((x: NDArray) => np.sin(x))(np.ones([3]));
    expect(program.toString()).toBe(
      ["{ lambda ; a:f32[3]. let", "    b:f32[3] = sin a", "  in (b) }"].join("\n"),
    );
  });

  it("inlines JS numbers as typed literals", () => {
    const program = makeProgram((x: NDArray) => np.sin(x).mul(2))(np.ones([3]));
    expect(program.toString()).toBe(
      [
        "{ lambda ; a:f32[3]. let",
        "    b:f32[3] = sin a",
        "    c:f32[3] = mul b 2.0:f32[]",
        "  in (c) }",
      ].join("\n"),
    );
    const ints = makeProgram((x: NDArray) => x.add(1))(np.ones([2], { dtype: "int32" }));
    expect(ints.toString()).toContain("b:i32[2] = add a 1:i32[]");
    const f64 = makeProgram((x: NDArray) => x.mul(0.5))(np.ones([2], { dtype: "float64" }));
    expect(f64.toString()).toContain("b:f64[2] = mul a 0.5:f64[]");
    const bools = makeProgram((x: NDArray) => np.logicalAnd(x, true))(np.array([true]));
    expect(bools.toString()).toContain("and a True:bool[]");
  });

  it("inlines a closed-over 0-d array as a literal", () => {
    const half = np.array(2.5);
    const program = makeProgram((x: NDArray) => x.add(half))(np.ones([2]));
    expect(program.constvars).toHaveLength(0);
    expect(program.toString()).toContain("add a 2.5:f32[]");
  });

  it("binds closed-over arrays to constvars, once each", () => {
    const c = np.arange(3, { dtype: "float32" });
    const program = makeProgram((x: NDArray) => x.add(c).mul(c))(np.ones([3]));
    expect(program.toString()).toBe(
      [
        "{ lambda a:f32[3] ; b:f32[3]. let",
        "    c:f32[3] = add b a",
        "    d:f32[3] = mul c a",
        "  in (d) }",
      ].join("\n"),
    );
    expect(program.consts).toHaveLength(1);
    expect(program.consts[0]).toBe(c);
  });

  it("prints params and multiple outputs", () => {
    const program = makeProgram((x: NDArray) => [x.sum(), x.max()])(np.ones([2, 2]));
    expect(program.toString()).toBe(
      [
        "{ lambda ; a:f32[2,2]. let",
        "    b:f32[] = reduce_sum[axes=(0,1)] a",
        "    c:f32[] = reduce_max[axes=(0,1)] a",
        "  in (b, c) }",
      ].join("\n"),
    );
  });

  it("prints broadcasting as broadcast_in_dim", () => {
    const program = makeProgram((x: NDArray, y: NDArray) => x.add(y))(
      np.ones([3]),
      np.ones([2, 3]),
    );
    expect(program.toString()).toBe(
      [
        "{ lambda ; a:f32[3], b:f32[2,3]. let",
        "    c:f32[2,3] = broadcast_in_dim[shape=(2,3) broadcastDimensions=(1)] a",
        "    d:f32[2,3] = add c b",
        "  in (d) }",
      ].join("\n"),
    );
  });

  it("prints a function that returns its input or a constant with no equations", () => {
    expect(makeProgram((x: NDArray) => x)(np.ones([2])).toString()).toBe(
      "{ lambda ; a:f32[2]. let\n  in (a) }",
    );
    expect(makeProgram(() => 3)().toString()).toBe("{ lambda ; . let\n  in (3:i32[]) }");
  });

  it("names variables a … z, then ba, bb, … as JAX does", () => {
    const program = makeProgram((x: NDArray) => {
      let y = x;
      for (let i = 0; i < 26; i++) y = np.sin(y);
      return y;
    })(np.ones([1]));
    const lines = program.toString().split("\n");
    expect(lines[25]).toBe("    z:f32[1] = sin y");
    expect(lines[26]).toBe("    ba:f32[1] = sin z");
    expect(lines[27]).toBe("  in (ba) }");
  });

  it("flattens pytree arguments and results", () => {
    const program = makeProgram((t: { a: NDArray; b: [NDArray, number] }) => ({
      sum: t.a.add(t.b[0]),
      n: t.b[1],
    }))({ a: np.ones([2]), b: [np.zeros([2]), 3] });
    expect(program.invars).toHaveLength(3);
    expect(program.inAvals.map(String)).toEqual(["f32[2]", "f32[2]", "i32[]"]);
    expect(program.outputs).toHaveLength(2);
    expect(program.outAvals.map(String)).toEqual(["f32[2]", "i32[]"]);
    expect(program.toString()).toContain("= add a b");
  });

  it("types JS number arguments as weak scalars", () => {
    const program = makeProgram((x: NDArray, y: number) => x.mul(y))(np.ones([2]), 2.5);
    expect(program.inAvals[1]!.toString()).toBe("f32[]");
    expect(program.inAvals[1]!.weakType).toBe(true);
    expect(program.outAvals[0]!.toString()).toBe("f32[2]");
    expect(program.outAvals[0]!.weakType).toBe(false);
  });

  it("prints basic indexing as rev and slice", () => {
    const program = makeProgram((x: NDArray) => x.get("1:, ::-1"))(np.ones([3, 4]));
    expect(program.toString()).toBe(
      [
        "{ lambda ; a:f32[3,4]. let",
        "    b:f32[3,4] = rev[dimensions=(1)] a",
        "    c:f32[2,4] = slice[start=(1,0) limit=(3,4) strides=(1,1)] b",
        "  in (c) }",
      ].join("\n"),
    );
  });

  it("toStringWithSources names this file's lines", () => {
    const program = makeProgram((x: NDArray) => np.sin(x).mul(2))(np.ones([3]));
    const text = program.toStringWithSources();
    const lines = text.split("\n");
    expect(lines[1]).toMatch(/^ {4}b:f32\[3\] = sin a {4}# ir\.test\.ts:\d+:\d+$/);
    expect(lines[2]).toMatch(/^ {4}c:f32\[3\] = mul b 2\.0:f32\[\] {4}# ir\.test\.ts:\d+:\d+$/);
    const line = Number(/ir\.test\.ts:(\d+)/.exec(lines[1]!)![1]);
    expect(Number(/ir\.test\.ts:(\d+)/.exec(lines[2]!)![1])).toBe(line);
    // The equations come from the line above `const text`.
    expect(text.replace(/ {4}# .*$/gm, "")).toBe(program.toString());
  });
});

describe("validateProgram", () => {
  it("accepts staged programs", () => {
    const c = np.arange(3, { dtype: "float32" });
    const programs = [
      makeProgram((x: NDArray) => np.sin(x).mul(2))(np.ones([3])),
      makeProgram((x: NDArray) => x.add(c).sum())(np.ones([3])),
      makeProgram((x: NDArray, y: NDArray) => x.matmul(y).T)(np.ones([2, 3]), np.ones([3, 4])),
      makeProgram((x: NDArray) => x.get("..., ::-1", 0).reshape([-1]))(np.ones([2, 3, 2])),
      makeProgram((x: NDArray) => np.where(x.gt(0), x, 0).mean({ axis: 0 }))(np.ones([4, 2])),
      makeProgram((x: NDArray) => x.get(np.array([0, 2], { dtype: "int32" })))(np.ones([3])),
      makeProgram((x: NDArray) => x.at(1).add(5))(np.ones([3])),
      makeProgram(() => 3)(),
    ];
    for (const program of programs) expect(() => validateProgram(program)).not.toThrow();
  });

  const sin = primitiveOf((x) => np.sin(x));

  it("rejects a variable used before it is defined", () => {
    const a = new Var(f32([3]));
    const undefinedVar = new Var(f32([3]));
    const b = new Var(f32([3]));
    const program = new Program(
      [],
      [],
      [a],
      [new Equation(sin, [undefinedVar], [b], {}, undefined)],
      [b],
    );
    expect(() => validateProgram(program)).toThrow(ProgramValidationError);
    expect(() => validateProgram(program)).toThrow(/used before it is defined/);
  });

  it("rejects an output that is never defined", () => {
    const a = new Var(f32([3]));
    const program = new Program([], [], [a], [], [new Var(f32([3]))]);
    expect(() => validateProgram(program)).toThrow(/used before it is defined/);
  });

  it("rejects a variable defined twice", () => {
    const a = new Var(f32([3]));
    const program = new Program([], [], [a], [new Equation(sin, [a], [a], {}, undefined)], [a]);
    expect(() => validateProgram(program)).toThrow(/defined twice/);
    const twice = new Program([], [], [a, a], [], [a]);
    expect(() => validateProgram(twice)).toThrow(/defined twice/);
  });

  it("rejects an output of the wrong type", () => {
    const a = new Var(f32([3]));
    const b = new Var(f32([4]));
    const program = new Program([], [], [a], [new Equation(sin, [a], [b], {}, undefined)], [b]);
    expect(() => validateProgram(program)).toThrow(
      /output 0 is f32\[4\] but the primitive gives f32\[3\]/,
    );
    const i = new Var(new AbstractValue([3], "int32"));
    const wrongDtype = new Program([], [], [a], [new Equation(sin, [a], [i], {}, undefined)], [i]);
    expect(() => validateProgram(wrongDtype)).toThrow(ProgramValidationError);
  });

  it("rejects the wrong number of outputs", () => {
    const a = new Var(f32([3]));
    const eq = new Equation(sin, [a], [new Var(f32([3])), new Var(f32([3]))], {}, undefined);
    expect(() => validateProgram(new Program([], [], [a], [eq], []))).toThrow(/expected 1 outputs/);
  });

  it("rejects constvars that do not match their consts", () => {
    const c = new Var(f32([3]));
    const a = new Var(f32([3]));
    const missing = new Program([c], [], [a], [], [a]);
    expect(() => validateProgram(missing)).toThrow(/constvars and consts differ/);
    const wrongType = new Program([c], [np.ones([2])], [a], [], [a]);
    expect(() => validateProgram(wrongType)).toThrow(/constvar 0 has the wrong type/);
  });

  it("rejects an equation its primitive rejects", () => {
    const add = primitiveOf((x) => x.add(x));
    const a = new Var(f32([2]));
    const b = new Var(f32([3]));
    const out = new Var(f32([3]));
    const program = new Program(
      [],
      [],
      [a, b],
      [new Equation(add, [a, b], [out], {}, undefined)],
      [out],
    );
    expect(() => validateProgram(program)).toThrow(/\[2\].*\[3\]/);
  });

  it("accepts literals as inputs and outputs", () => {
    const mul = primitiveOf((x) => x.mul(x));
    const a = new Var(f32([3]));
    const b = new Var(f32([3]));
    const two = new Literal(2, new AbstractValue([], "float32"));
    const program = new Program(
      [],
      [],
      [a],
      [new Equation(mul, [a, two], [b], {}, undefined)],
      [b, two],
    );
    expect(() => validateProgram(program)).not.toThrow();
    expect(program.toString()).toBe(
      ["{ lambda ; a:f32[3]. let", "    b:f32[3] = mul a 2.0:f32[]", "  in (b, 2.0:f32[]) }"].join(
        "\n",
      ),
    );
    const [out, lit] = run(program, [np.array([1, 2, 3], { dtype: "float32" })]);
    expect(out!.toList()).toEqual([2, 4, 6]);
    expect(lit!.item()).toBe(2);
  });
});

describe("evalProgram", () => {
  const cases: [string, (...args: NDArray[]) => NDArray | NDArray[], NDArray[]][] = [
    ["sin and a literal", (x) => np.sin(x).mul(2), [np.array([0, 1, 2], { dtype: "float32" })]],
    [
      "broadcasting and a reduction",
      (x, y) => x.add(y).sum({ axis: 0 }),
      [np.arange(3, { dtype: "float32" }), np.ones([2, 3])],
    ],
    [
      "matmul, transpose and indexing",
      (x, y) => x.matmul(y).T.get("::-1"),
      [
        np.arange(6, { dtype: "float32" }).reshape([2, 3]),
        np.arange(12, { dtype: "float32" }).reshape([3, 4]),
      ],
    ],
    [
      "where, comparisons and a mean",
      (x) => np.where(x.gt(2), x, x.neg()).mean(),
      [np.arange(5, { dtype: "float64" })],
    ],
    [
      "integer arithmetic",
      (x) => np.floorDivide(x.mul(3), 2),
      [np.array([-3, -1, 0, 5], { dtype: "int32" })],
    ],
    [
      "gather and scatter",
      (x) =>
        x
          .at(np.array([0, 0, 2], { dtype: "int32" }))
          .add(x.get(np.array([1, 1, 1], { dtype: "int32" }))),
      [np.array([1, 2, 3, 4], { dtype: "int32" })],
    ],
    [
      "several outputs",
      (x) => [x.max(), x.min(), x.prod()],
      [np.array([3, 1, 2], { dtype: "float32" })],
    ],
  ];

  it.each(cases)("reproduces eager results: %s", (_, f, args) => {
    const program = makeProgram(f)(...args);
    const expected = [f(...args)].flat();
    const actual = run(program, args);
    expect(actual).toHaveLength(expected.length);
    actual.forEach((a, i) => {
      expect(a.shape).toEqual(expected[i]!.shape);
      expect(a.dtype).toBe(expected[i]!.dtype);
      expect(a.toList()).toEqual(expected[i]!.toList());
    });
  });

  it("uses the program's constants", () => {
    const c = np.array([10, 20, 30], { dtype: "float32" });
    const program = makeProgram((x: NDArray) => x.add(c))(np.zeros([3]));
    expect(run(program, [np.ones([3])])[0]!.toList()).toEqual([11, 21, 31]);
  });
});

describe("the trace stack after an error", () => {
  it("is empty, and eager ops and makeProgram work again", () => {
    expect(traceDepth()).toBe(0);
    expect(() =>
      makeProgram((x: NDArray) => {
        np.sin(x);
        throw new Error("boom");
      })(np.ones([2])),
    ).toThrow("boom");
    expect(traceDepth()).toBe(0);
    expect(() => makeProgram((x: NDArray) => x.item())(np.ones([2]))).toThrow(/traced/);
    expect(traceDepth()).toBe(0);
    expect(() => makeProgram((x: NDArray) => x.add(np.ones([3])))(np.ones([2]))).toThrow(
      /broadcast/,
    );
    expect(traceDepth()).toBe(0);

    const eager = np.sin(np.zeros([2]));
    expect(eager).toBeInstanceOf(ConcreteArray);
    expect(eager.toList()).toEqual([0, 0]);
    expect(makeProgram((x: NDArray) => np.sin(x))(np.ones([3])).toString()).toBe(
      "{ lambda ; a:f32[3]. let\n    b:f32[3] = sin a\n  in (b) }",
    );
  });

  it("an error in a nested makeProgram leaves both levels cleaned up", () => {
    const outer = makeProgram((x: NDArray) => {
      expect(traceDepth()).toBe(1);
      expect(() => makeProgram((y: NDArray) => y.item())(x)).toThrow(/traced/);
      expect(traceDepth()).toBe(1);
      return np.cos(x);
    })(np.ones([2]));
    expect(traceDepth()).toBe(0);
    expect(outer.toString()).toContain("cos a");
  });

  it("a tracer that escaped its makeProgram is a TracerError when used", () => {
    let leaked: NDArray | undefined;
    makeProgram((x: NDArray) => {
      leaked = x;
      return x;
    })(np.ones([2]));
    expect(() => leaked!.add(1)).toThrow(/escaped/);
    expect(() => makeProgram((y: NDArray) => y.add(leaked!))(np.ones([2]))).toThrow(/escaped/);
    expect(traceDepth()).toBe(0);
    expect(np.add(np.ones([2]), 1).toList()).toEqual([2, 2]);
  });
});

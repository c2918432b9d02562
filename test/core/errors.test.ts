/**
 * Errors users can cause: one test per error class, each raised through the public API, showing
 * that it is a `FluxionError`, carries its class name, and names the line of this file that
 * caused it. Then bad input of every kind: each gets a typed error with a message (never a
 * TypeError from inside fluxion), and no input array is modified.
 */
import { describe, expect, it } from "vitest";
import {
  DtypeError,
  FluxionError,
  GradientCheckError,
  IndexError,
  NDArray,
  ShapeError,
  SolverError,
  TracerError,
  TreeError,
  ValueError,
  makeProgram,
  np,
} from "../../src/index.js";

/** An error and the line of this file that `raised(...)` was called on. */
interface Raised {
  error: Error;
  line: number;
}

/** The line number in this file of the frame `depth` levels above the caller. */
function callerLine(depth: number): number {
  const frames = new Error().stack!.split("\n").slice(1);
  const frame = frames[depth + 1]!;
  expect(frame).toContain("errors.test.ts");
  return Number(/:(\d+):\d+\)?$/.exec(frame)![1]);
}

/**
 * Runs `f`, which must throw, and returns the error with the line `raised` was called on. Keep
 * the call and `f` on one line: that is the line the error must name.
 */
function raised(f: () => unknown): Raised {
  const line = callerLine(1);
  try {
    f();
  } catch (error) {
    return { error: error as Error, line };
  }
  throw new Error("expected an error, but nothing was thrown");
}

function throwing(error: Error): never {
  throw error;
}

/** Checks the class, the name, and that the message names `errors.test.ts:<line>`. */
function expectNamed(
  { error, line }: Raised,
  type: abstract new (...args: never[]) => FluxionError,
  name: string,
): void {
  expect(error).toBeInstanceOf(FluxionError);
  expect(error).toBeInstanceOf(type);
  expect(error.name).toBe(name);
  expect(error.message).toContain(`errors.test.ts:${line}:`);
  const site = (error as FluxionError).site;
  expect(site?.line).toBe(line);
  expect(site?.file).toMatch(/errors\.test\.ts$/);
}

describe("one test per error class", () => {
  it("ShapeError: shapes that do not broadcast", () => {
    const r = raised(() => np.add(np.ones([2, 3]), np.ones([4])));
    expectNamed(r, ShapeError, "ShapeError");
    expect(r.error.message).toMatch(/^np\.add at errors\.test\.ts:\d+:\d+: /);
    expect(r.error.message).toContain("[2, 3]");
    expect(r.error.message).toContain("[4]");
  });

  it("DtypeError: an unknown dtype string", () => {
    const r = raised(() => np.array([1, 2], { dtype: "int64" as "int32" }));
    expectNamed(r, DtypeError, "DtypeError");
    expect(r.error.message).toContain('"int64"');
    expect(r.error.message).toContain("float32");
  });

  it("DtypeError: an operation that does not take the dtype", () => {
    const b = np.array([true, false]);
    const r = raised(() => np.floorDivide(b, b));
    expectNamed(r, DtypeError, "DtypeError");
  });

  it("IndexError: an index out of range", () => {
    const x = np.arange(5);
    const r = raised(() => x.get(5));
    expectNamed(r, IndexError, "IndexError");
    expect(r.error.message).toContain("index 5 is out of bounds");
  });

  it("IndexError: a malformed index string", () => {
    const x = np.arange(5);
    expectNamed(
      raised(() => x.get("1:2:3:4")),
      IndexError,
      "IndexError",
    );
    expectNamed(
      raised(() => x.get("1.5")),
      IndexError,
      "IndexError",
    );
  });

  it("TracerError: x.item() on a traced value", () => {
    const r = raised(() => makeProgram((x: NDArray) => x.item())(np.ones([2])));
    expectNamed(r, TracerError, "TracerError");
    expect(r.error.message).toMatch(/^x\.item\(\) at errors\.test\.ts:/);
    expect(r.error.message).toContain("f32[2]");
  });

  it("TracerError: JS arithmetic (+x) on a traced value", () => {
    const r = raised(() => makeProgram((x: NDArray) => +x)(np.ones([2])));
    expectNamed(r, TracerError, "TracerError");
  });

  it("TreeError: a leaf that is not an array or a number", () => {
    const r = raised(() => makeProgram((x: unknown) => x)({ a: "text" }));
    expectNamed(r, TreeError, "TreeError");
    expect(r.error.message).toContain("string text");
  });

  it("TreeError: a function that returns a non-array leaf", () => {
    const r = raised(() => makeProgram(() => ({ a: "text" }))());
    expectNamed(r, TreeError, "TreeError");
  });

  it("ValueError: item() of an array with more than one element", () => {
    const r = raised(() => np.ones([2, 3]).item());
    expectNamed(r, ValueError, "ValueError");
    expect(r.error.message).toContain("[2, 3]");
  });

  it("ValueError: a string where an array is expected", () => {
    const r = raised(() => np.sin("0.5" as unknown as number));
    expectNamed(r, ValueError, "ValueError");
  });

  it("GradientCheckError, constructed directly", () => {
    const r = raised(() => throwing(new GradientCheckError("checkGrads", "they differ.")));
    expectNamed(r, GradientCheckError, "GradientCheckError");
    expect(r.error.message).toMatch(/^checkGrads at errors\.test\.ts:\d+:\d+: they differ\.$/);
  });

  it("SolverError, constructed directly", () => {
    const r = raised(() => throwing(new SolverError("ode.solve", "too many steps.")));
    expectNamed(r, SolverError, "SolverError");
  });

  it("an error raised deep inside fluxion still names the user's line", () => {
    const ragged = [
      [
        [1, 2],
        [3, 4],
      ],
      [[5, 6], [7]],
    ];
    expectNamed(
      raised(() => np.array(ragged)),
      ShapeError,
      "ShapeError",
    );
    const text = "a" as unknown as number;
    expectNamed(
      raised(() => np.clip(np.ones([2]), text, null)),
      ValueError,
      "ValueError",
    );
    expectNamed(
      raised(() => np.arange(4).get("True")),
      IndexError,
      "IndexError",
    );
  });

  it("the line is the first frame outside fluxion, here a helper of this file", () => {
    let line = 0;
    const helper = (a: NDArray): NDArray => ((line = callerLine(0)), a.add(np.ones([7])));
    const { error } = raised(() => helper(np.ones([2])));
    expect(error.message).toContain(`errors.test.ts:${line}:`);
  });
});

describe("bad input gets a typed error, not a crash", () => {
  const x = np.arange(6, { dtype: "float32" }).reshape([2, 3]);
  const bad: [string, () => unknown, string | string[]][] = [
    ["np.add of unbroadcastable shapes", () => np.add(x, np.ones([2])), "ShapeError"],
    ["np.matmul of mismatched shapes", () => np.matmul(x, x), "ShapeError"],
    ["x.reshape to the wrong size", () => x.reshape([4]), "ShapeError"],
    ["np.sum over an axis out of range", () => np.sum(x, { axis: 2 }), "ShapeError"],
    ["np.concatenate of mismatched shapes", () => np.concatenate([x, x.T]), "ShapeError"],
    ["np.zeros of a negative size", () => np.zeros([2, -1]), "ShapeError"],
    ["np.array of ragged lists", () => np.array([[1, 2], [3]]), "ShapeError"],
    [
      "np.array with an unknown dtype",
      () => np.array([1], { dtype: "int8" as "int32" }),
      "DtypeError",
    ],
    [
      "np.zeros with an unknown dtype",
      () => np.zeros([2], { dtype: "int64" as "int32" }),
      "DtypeError",
    ],
    [
      "np.ones with an unknown dtype",
      () => np.ones([2], { dtype: "float16" as "float32" }),
      "DtypeError",
    ],
    ["x.astype an unknown dtype", () => x.astype("float16" as "float32"), "DtypeError"],
    [
      "np.zerosLike with an unknown dtype",
      () => np.zerosLike(x, { dtype: "i4" as "int32" }),
      "DtypeError",
    ],
    [
      "np.promoteTypes of an unknown dtype",
      () => np.promoteTypes("int32", "int64" as "int32"),
      "DtypeError",
    ],
    ["x.get out of range", () => x.get(0, 3), "IndexError"],
    ["x.get with a malformed string", () => x.get("0,,1"), "IndexError"],
    ["x.get with too many indices", () => x.get(0, 0, 0), "IndexError"],
    ["x.get with two ellipses", () => x.get("..., ..."), "IndexError"],
    ["x.get with a float", () => x.get(0.5), "IndexError"],
    ["np.add of a JS list", () => np.add(x, [1, 2, 3] as unknown as number), "ValueError"],
    ["np.sin of undefined", () => np.sin(undefined as unknown as number), "ValueError"],
    ["np.concatenate of an empty list", () => np.concatenate([]), "ValueError"],
    [
      "np.reshape without a shape",
      () => np.reshape(x, undefined as unknown as number[]),
      ["ShapeError", "ValueError"],
    ],
    [
      "np.transpose with a number for axes",
      () => np.transpose(x, 1 as unknown as number[]),
      ["ValueError", "ShapeError"],
    ],
    ["makeProgram of a string leaf", () => makeProgram((a: unknown) => a)("text"), "TreeError"],
    [
      "makeProgram of something not a function",
      () => makeProgram(5 as unknown as () => NDArray)(),
      ["ValueError", "TreeError"],
    ],
  ];

  it.each(bad)("%s", (_, f, name) => {
    const before = Array.from(x.toTypedArray());
    let error: unknown;
    try {
      f();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FluxionError);
    const message = (error as Error).message;
    // A cheap guard against a raw TypeError's text, in case the class is right by accident.
    expect(message).not.toMatch(/Cannot read properties|is not a function|is not iterable/);
    expect([name].flat()).toContain((error as Error).name);
    expect(message).toMatch(/ at errors\.test\.ts:\d+:\d+: /);
    expect(Array.from(x.toTypedArray())).toEqual(before);
  });

  it("the message names the function the user called", () => {
    const r = raised(() => np.mean(x, { axis: [0, 0] }));
    expect(r.error).toBeInstanceOf(FluxionError);
    expect(r.error.message).toMatch(/^np\.mean at /);
    expect(raised(() => np.clip(x, "a" as unknown as number, null)).error.message).toMatch(
      /^np\.clip at /,
    );
  });
});

describe("the error classes", () => {
  it("are FluxionErrors with their own names and a site", () => {
    const classes = [
      ShapeError,
      DtypeError,
      IndexError,
      TracerError,
      TreeError,
      ValueError,
      GradientCheckError,
      SolverError,
    ];
    for (const Class of classes) {
      const error = new Class("op", "detail.");
      expect(error).toBeInstanceOf(FluxionError);
      expect(error).toBeInstanceOf(Error);
      expect(error.name).toBe(Class.name);
      expect(error.message).toMatch(/^op at errors\.test\.ts:\d+:\d+: detail\.$/);
      expect(error.site?.file).toMatch(/errors\.test\.ts$/);
    }
  });

  it("can be caught by class", () => {
    let caught = "";
    try {
      np.ones([2]).get(4);
    } catch (error) {
      if (error instanceof ShapeError) caught = "shape";
      else if (error instanceof IndexError) caught = "index";
    }
    expect(caught).toBe("index");
  });
});

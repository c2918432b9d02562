/**
 * Introspection is API: `makeProgram(f)(...args)` of transformed functions prints readable IR —
 * primitive names, a dtype and shape on every variable — and the program it returns evaluates to
 * what the transformed function computes.
 */
import { describe, expect, it } from "vitest";
import {
  Program,
  TracerError,
  grad,
  jit,
  jvp,
  makeProgram,
  np,
  vmap,
  type NDArray,
} from "../../src/index.js";
import { evalProgram } from "../../src/core/ir.js";
import * as ops from "../../src/primitives/ops.js";
import { expectClose, expectTypedError, lineHere } from "../helpers/assertions.js";
import { f64 } from "../helpers/numeric.js";

const file = "introspection.test.ts";

/** Every binding line of the body: `name:dtype[shape] = primitive ...`. */
const bindingLine = /^\s+[a-z]+:(f32|f64|i32|u32|bool)\[[\d,]*\] = [a-z_]+/;

function bodyLines(text: string): string[] {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => l.trimEnd().endsWith("let"));
  const end = lines.findIndex((l) => l.trimStart().startsWith("in ("));
  expect(start).toBeGreaterThanOrEqual(0);
  expect(end).toBeGreaterThan(start);
  return lines.slice(start + 1, end);
}

function evaluate(program: Program, args: NDArray[]): NDArray[] {
  return evalProgram(program, args, (value, aval) => ops.constant(value, aval.dtype));
}

describe("makeProgram of grad", () => {
  const f = (x: NDArray): NDArray => np.sin(x).mul(x).sum();
  const program = makeProgram(grad(f))(np.ones([3]));
  const text = program.toString();

  it("prints a readable program with typed inputs, primitives and outputs", () => {
    expect(text).toMatch(/^\{ lambda ; a:f32\[3\]\. let\n/);
    expect(text).toMatch(/:f32\[3\] = sin a\n/);
    expect(text).toMatch(/:f32\[3\] = cos a\n/);
    expect(text).toMatch(/:f32\[\] = reduce_sum\[axes=\(0\)\]/);
    expect(text).toMatch(/:f32\[3\] = mul /);
    expect(text).toMatch(/:f32\[3\] = add /);
    expect(text).toMatch(/\n {2}in \([a-z]+\) \}$/);
  });

  it("declares every variable with its dtype and shape", () => {
    const body = bodyLines(text);
    expect(body.length).toBeGreaterThanOrEqual(5);
    for (const line of body) expect(line).toMatch(bindingLine);
  });

  it("has the argument's type in and out, and evaluates to grad(f)", () => {
    expect(program.inAvals.map(String)).toEqual(["f32[3]"]);
    expect(program.outAvals.map(String)).toEqual(["f32[3]"]);
    const x = np.array([0.5, -1, 2], { dtype: "float32" });
    expectClose(evaluate(program, [x]), [grad(f)(x)], { rtol: 1e-6, atol: 1e-7 });
  });

  it("records float64 when the argument is float64", () => {
    const wide = makeProgram(grad(f))(f64([1, 2])).toString();
    expect(wide).toMatch(/^\{ lambda ; a:f64\[2\]\. let\n/);
    expect(wide).toMatch(/:f64\[2\] = cos a\n/);
  });

  it("toStringWithSources names the lines of this file", () => {
    const line = lineHere() + 1;
    const g = (x: NDArray): NDArray => np.tanh(x).sum();
    const annotated = makeProgram(grad(g))(np.ones([2])).toStringWithSources();
    expect(annotated).toMatch(new RegExp(`= tanh a\\s+# introspection\\.test\\.ts:${line}:`));
  });

  it("lower() keeps call sites; a derivative's equations share their operation's line", () => {
    const line = lineHere() + 1;
    const g = (x: NDArray): NDArray => np.tanh(x).sum();
    const annotated = jit(grad(g))
      .lower(np.ones([2]))
      .program.toStringWithSources();
    const equations = annotated.split("\n").slice(1, -1);
    expect(equations.length).toBeGreaterThan(2);
    for (const eq of equations) expect(eq).toMatch(/# introspection\.test\.ts:\d+:\d+$/);
    // tanh and the equations of its derivative (1 − tanh²) name the line of the tanh.
    const onTanhLine = equations.filter((eq) => eq.includes(`introspection.test.ts:${line}:`));
    expect(onTanhLine.length).toBeGreaterThan(2);
  });
});

describe("makeProgram of vmap", () => {
  it("shows the batch axis in every shape, not a loop", () => {
    const f = (row: NDArray): NDArray => np.sin(row).sum();
    const program = makeProgram(vmap(f))(np.ones([4, 3]));
    const text = program.toString();
    expect(text).toMatch(/^\{ lambda ; a:f32\[4,3\]\. let\n/);
    expect(text).toMatch(/:f32\[4,3\] = sin a\n/);
    expect(text).toMatch(/:f32\[4\] = reduce_sum\[axes=\(1\)\]/);
    for (const line of bodyLines(text)) expect(line).toMatch(bindingLine);
    expect(bodyLines(text)).toHaveLength(2);
    expect(program.outAvals.map(String)).toEqual(["f32[4]"]);
  });

  it("batched matmul with an unbatched operand is one dot_general", () => {
    const f = (a: NDArray, b: NDArray): NDArray => np.matmul(a, b);
    const program = makeProgram(vmap(f, { inAxes: [0, null] }))(
      np.ones([5, 2, 3]),
      np.ones([3, 4]),
    );
    const text = program.toString();
    expect(text).toMatch(/^\{ lambda ; a:f32\[5,2,3\], b:f32\[3,4\]\. let\n/);
    expect(text).toMatch(/:f32\[5,2,4\] = dot_general/);
    expect(program.equations.filter((e) => e.primitive.name === "dot_general")).toHaveLength(1);
  });

  it("vmap of grad is staged as batched arrays", () => {
    const f = (x: NDArray): NDArray => np.sin(x).sum();
    const program = makeProgram(vmap(grad(f)))(np.ones([5, 3]));
    const text = program.toString();
    expect(text).toMatch(/:f32\[5,3\] = cos a\n/);
    expect(program.outAvals.map(String)).toEqual(["f32[5,3]"]);
    for (const line of bodyLines(text)) expect(line).toMatch(bindingLine);
    const xs = np.array(
      [
        [0.1, 0.2, 0.3],
        [1, 2, 3],
        [-1, 0, 1],
        [0.5, 0.5, 0.5],
        [2, -2, 0],
      ],
      { dtype: "float32" },
    );
    expectClose(evaluate(program, [xs]), [vmap(grad(f))(xs)], { rtol: 1e-6, atol: 1e-7 });
  });
});

describe("makeProgram of other transforms", () => {
  it("jvp stages the primal and tangent computations together", () => {
    const program = makeProgram((x: NDArray) => jvp(np.sin, [x], [np.onesLike(x)]))(np.ones([2]));
    const text = program.toString();
    expect(text).toMatch(/:f32\[2\] = sin a\n/);
    expect(text).toMatch(/:f32\[2\] = cos a\n/);
    expect(program.outAvals.map(String)).toEqual(["f32[2]", "f32[2]"]);
  });

  it("pytree arguments become flat, typed inputs in order", () => {
    const program = makeProgram((n: NDArray, p: { a: NDArray }) => [n.add(1), p.a.T])(
      np.ones([2], { dtype: "int32" }),
      { a: f64([[1, 2, 3]]) },
    );
    const text = program.toString();
    expect(text).toMatch(/^\{ lambda ; a:i32\[2\], b:f64\[1,3\]\. let\n/);
    expect(text).toMatch(/:i32\[2\] = add a 1:i32\[\]/);
    expect(text).toMatch(/:f64\[3,1\] = transpose\[permutation=\(1,0\)\] b/);
  });

  it("JS control flow on a staged value inside grad is a TracerError naming the line", () => {
    const line = lineHere() + 1;
    const f = (x: NDArray): NDArray => ((x.sum().item() as number) > 0 ? x.sum() : x.sum().neg());
    const error = expectTypedError(
      () => makeProgram(grad(f))(np.ones([2])),
      TracerError,
      file,
      "lax.cond",
    );
    expect(error.message).toContain(`${file}:${line}:`);
  });
});

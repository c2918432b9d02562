/**
 * The optimisation passes one at a time (simplify, constant folding, CSE, DCE), on programs staged
 * with `makeProgram` and on hand-built `Program`s. After every pass the result must be a valid
 * program (`validateProgram`) that evaluates to exactly the values of the original, bit for bit.
 */
import { describe, expect, it } from "vitest";
import {
  AbstractValue,
  Equation,
  Literal,
  Program,
  Var,
  checkpoint,
  jvp,
  lax,
  makeProgram,
  np,
  type DType,
  type NDArray,
} from "../../src/index.js";
import { evalProgram, validateProgram } from "../../src/core/ir.js";
import type { Primitive } from "../../src/core/primitive.js";
import * as ops from "../../src/primitives/ops.js";
import { add, div, gt, mul, sub } from "../../src/primitives/binary.js";
import { cos, exp, neg, sin } from "../../src/primitives/unary.js";
import { select } from "../../src/primitives/elementwise.js";
import { broadcastInDim, reshape, transpose } from "../../src/primitives/structural.js";
import { reduceSum } from "../../src/primitives/reduce.js";
import { eliminateCommonSubexpressions } from "../../src/compiler/passes/cse.js";
import { eliminateDeadCode } from "../../src/compiler/passes/dce.js";
import { foldConstants } from "../../src/compiler/passes/fold.js";
import { simplify } from "../../src/compiler/passes/simplify.js";
import { optimize, optimizeBodies, passes, type Pass } from "../../src/compiler/passes/pipeline.js";

// ----------------------------------------------------------------------------- helpers

/** A literal of any shape: rank-0 as a constant, larger ones broadcast (for hand-built IR). */
function literalArray(value: number, aval: AbstractValue): NDArray {
  const scalar = ops.constant(value, aval.dtype, aval.weakType);
  return aval.ndim === 0 ? scalar : ops.broadcast(scalar, aval.shape, []);
}

function run(program: Program, args: readonly NDArray[]): NDArray[] {
  return evalProgram(program, args, literalArray);
}

/** Each element as text that tells -0 from 0 and keeps NaN. */
function bits(x: NDArray): string[] {
  return Array.from(x.toTypedArray() as ArrayLike<number>, (v) =>
    Object.is(v, -0) ? "-0" : String(v),
  );
}

/** Same dtype, shape and values (bit for bit: -0 and NaN included) for each output. */
function expectSameOutputs(actual: NDArray[], expected: NDArray[]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => {
    const e = expected[i]!;
    expect(a.dtype, `dtype of output ${i}`).toBe(e.dtype);
    expect(a.shape, `shape of output ${i}`).toEqual(e.shape);
    expect(bits(a), `values of output ${i}`).toEqual(bits(e));
  });
}

/**
 * Runs `pass` on `program`, checks the result is valid and computes exactly what the original
 * computes on `args` (and still has the same interface), and returns it.
 */
function checkedPass(pass: Pass, program: Program, args: readonly NDArray[]): Program {
  validateProgram(program);
  const result = pass(program);
  expect(() => validateProgram(result)).not.toThrow();
  expect(result.invars).toEqual(program.invars);
  expect(result.outAvals.map((a) => a.toString())).toEqual(
    program.outAvals.map((a) => a.toString()),
  );
  expectSameOutputs(run(result, args), run(program, args));
  return result;
}

const names = (program: Program): string[] => program.equations.map((eq) => eq.primitive.name);

const f32 = (shape: number[] = [], weak = false): AbstractValue =>
  new AbstractValue(shape, "float32", weak);
const lit = (value: number, aval: AbstractValue = f32([], true)): Literal =>
  new Literal(value, aval);

/** A hand-built program: `build` gets a helper that appends equations and returns their outputs. */
type Emit = <P extends object>(
  primitive: Primitive<P>,
  inputs: (Var | Literal)[],
  params?: P,
) => Var;

function handBuilt(
  invars: Var[],
  build: (emit: Emit) => (Var | Literal)[],
  constvars: Var[] = [],
  consts: NDArray[] = [],
): Program {
  const equations: Equation[] = [];
  const emit: Emit = (primitive, inputs, params) => {
    const p = params ?? ({} as NonNullable<typeof params>);
    const [aval] = primitive.spec.abstractEval(
      inputs.map((a) => a.aval),
      p,
    );
    const out = new Var(aval!);
    equations.push(new Equation(primitive as unknown as Primitive, inputs, [out], p, undefined));
    return out;
  };
  const outputs = build(emit);
  const program = new Program(constvars, consts, invars, equations, outputs);
  validateProgram(program);
  return program;
}

const x3 = (): NDArray => np.array([0.5, -1.25, 3]);
const arr = (data: number[], dtype: DType = "float32"): NDArray => np.array(data, { dtype });

// ----------------------------------------------------------------------------- DCE

describe("dead-code elimination", () => {
  it("drops equations whose outputs are never used", () => {
    const program = makeProgram((x: NDArray) => {
      np.sin(x); // unused
      const kept = x.mul(2);
      np.exp(kept).sum(); // unused, reads a live value
      return kept.add(1);
    })(x3());
    expect(names(program)).toEqual(["sin", "mul", "exp", "reduce_sum", "add"]);
    const result = checkedPass(eliminateDeadCode, program, [x3()]);
    expect(names(result)).toEqual(["mul", "add"]);
  });

  it("drops chains that only feed dead equations", () => {
    const x = new Var(f32([3]));
    const program = handBuilt([x], (emit) => {
      const a = emit(sin, [x]);
      const b = emit(cos, [a]);
      emit(exp, [b]); // dead, and so are a and b
      return [emit(neg, [x])];
    });
    const result = checkedPass(eliminateDeadCode, program, [x3()]);
    expect(names(result)).toEqual(["neg"]);
  });

  it("drops constants nothing reads and keeps the ones that are read", () => {
    const c1 = np.array([1, 2, 3]);
    const c2 = np.array([10, 20, 30]);
    const program = makeProgram((x: NDArray) => {
      c1.mul(x); // dead: c1 becomes unused
      return x.add(c2);
    })(x3());
    expect(program.consts.length).toBe(2);
    const result = checkedPass(eliminateDeadCode, program, [x3()]);
    expect(result.consts).toEqual([c2]);
    expect(result.constvars.length).toBe(1);
    expect(names(result)).toEqual(["add"]);
  });

  it("keeps an equation with several outputs when one of them is used", () => {
    const x = new Var(f32([3]));
    const unusedConst = new Var(f32([3]));
    const program = handBuilt(
      [x],
      (emit) => {
        const a = emit(sin, [x]);
        return [a, x, lit(2)];
      },
      [unusedConst],
      [np.ones([3])],
    );
    const result = checkedPass(eliminateDeadCode, program, [x3()]);
    expect(names(result)).toEqual(["sin"]);
    expect(result.constvars).toEqual([]);
  });

  it("returns the same program object when nothing is dead", () => {
    const program = makeProgram((x: NDArray) => np.sin(x).mul(x))(x3());
    expect(eliminateDeadCode(program)).toBe(program);
  });
});

// ----------------------------------------------------------------------------- CSE

describe("common-subexpression elimination", () => {
  it("merges identical equations (same primitive, params and inputs)", () => {
    const program = makeProgram((x: NDArray) => np.sin(x).add(np.sin(x)))(x3());
    expect(names(program)).toEqual(["sin", "sin", "add"]);
    const result = checkedPass(eliminateCommonSubexpressions, program, [x3()]);
    expect(names(result)).toEqual(["sin", "add"]);
    const [s, sum] = result.equations;
    expect(sum!.inputs).toEqual([s!.outputs[0], s!.outputs[0]]);
  });

  it("merges transitively: equal inputs after merging make later equations equal", () => {
    const program = makeProgram((x: NDArray) => [np.exp(np.sin(x)), np.exp(np.sin(x))])(x3());
    const result = checkedPass(eliminateCommonSubexpressions, program, [x3()]);
    expect(names(result)).toEqual(["sin", "exp"]);
    expect(result.outputs[0]).toBe(result.outputs[1]);
  });

  it("does not merge equations whose params differ", () => {
    const m = np.array([
      [1, 2],
      [3, 4],
    ]);
    const program = makeProgram((x: NDArray) => [x.sum({ axis: 0 }), x.sum({ axis: 1 }), x.T])(m);
    const result = checkedPass(eliminateCommonSubexpressions, program, [m]);
    expect(names(result)).toEqual(["reduce_sum", "reduce_sum", "transpose"]);
  });

  it("does not merge equations whose inputs differ (other vars, other literals)", () => {
    const x = new Var(f32([3]));
    const y = new Var(f32([3]));
    const program = handBuilt([x, y], (emit) => [
      emit(mul, [x, lit(2)]),
      emit(mul, [x, lit(3)]),
      emit(mul, [y, lit(2)]),
      emit(mul, [lit(2), x]),
      emit(mul, [x, lit(2, f32([], false))]), // not weak
    ]);
    const result = checkedPass(eliminateCommonSubexpressions, program, [x3(), arr([4, 5, 6])]);
    expect(result.equations.length).toBe(5);
  });

  it("does not merge multiplications by 0 and by -0 (their results differ in sign)", () => {
    // x * 0 is +0 for positive x, x * -0 is -0: one literal must not stand for the other.
    const x = new Var(f32([2]));
    const program = handBuilt([x], (emit) => [emit(mul, [x, lit(0)]), emit(mul, [x, lit(-0)])]);
    const args = [arr([1, 2])];
    expect(bits(run(program, args)[1]!)).toEqual(["-0", "-0"]);
    checkedPass(eliminateCommonSubexpressions, program, args);
  });

  it("does not merge equations whose params hold different functions", () => {
    // jvp of two checkpointed functions stages two custom_lin equations on the same inputs; their
    // params differ only in the functions (sin's and cos's tangent maps).
    const f = (x: NDArray): NDArray[] => [
      checkpoint((y: NDArray) => np.sin(y))(x),
      checkpoint((y: NDArray) => np.cos(y))(x),
    ];
    const args = [x3(), np.ones([3])];
    const program = makeProgram((x: NDArray, t: NDArray) => jvp(f, [x], [t]))(args[0]!, args[1]!);
    expect(names(program).filter((n) => n === "custom_lin").length).toBe(2);
    const result = checkedPass(eliminateCommonSubexpressions, program, args);
    expect(names(result).filter((n) => n === "custom_lin").length).toBe(2);
  });

  it("returns the same program object when nothing repeats", () => {
    const program = makeProgram((x: NDArray) => np.sin(x).mul(np.cos(x)))(x3());
    expect(eliminateCommonSubexpressions(program)).toBe(program);
  });
});

// ----------------------------------------------------------------------------- fold

describe("constant folding", () => {
  it("evaluates an all-literal scalar equation into a literal", () => {
    const program = makeProgram((x: NDArray) => x.add(np.array(2).mul(3)))(x3());
    expect(names(program)).toEqual(["mul", "add"]);
    const result = checkedPass(foldConstants, program, [x3()]);
    expect(names(result)).toEqual(["add"]);
    const folded = result.equations[0]!.inputs[1]!;
    expect(folded).toBeInstanceOf(Literal);
    expect((folded as Literal).value).toBe(6);
    expect(folded.aval.toString()).toBe("f32[]");
  });

  it("folds scalar chains of every dtype into literals of that dtype", () => {
    const x = new Var(new AbstractValue([2], "int32"));
    const i32 = new AbstractValue([], "int32");
    const program = handBuilt([x], (emit) => {
      const a = emit(mul, [lit(7, i32), lit(3, i32)]);
      const b = emit(div, [a, lit(4, i32)]); // 21 / 4 → 5 (integer division)
      return [emit(add, [x, b])];
    });
    const result = checkedPass(foldConstants, program, [arr([1, 2], "int32")]);
    expect(names(result)).toEqual(["add"]);
    const folded = result.equations[0]!.inputs[1] as Literal;
    expect(folded).toBeInstanceOf(Literal);
    expect(folded.value).toBe(5);
    expect(folded.aval.dtype).toBe("int32");
  });

  it("evaluates small array results into new constants", () => {
    const c = np.array([10, 20, 30]);
    const program = makeProgram((x: NDArray) => x.add(c.mul(2)).add(np.ones([3]).mul(5)))(x3());
    expect(names(program)).toEqual(["mul", "add", "broadcast_in_dim", "mul", "add"]);
    const result = checkedPass(foldConstants, program, [x3()]);
    expect(names(result)).toEqual(["add", "add"]);
    // The folded values are constants of the program, read by the remaining equations.
    const read = result.equations.flatMap((eq) => eq.inputs).filter((a) => a instanceof Var);
    const constsRead = read
      .filter((v) => result.constvars.includes(v as Var))
      .map((v) => result.consts[result.constvars.indexOf(v as Var)]!.toList());
    expect(constsRead).toEqual([
      [20, 40, 60],
      [5, 5, 5],
    ]);
  });

  it("does not fold equations whose result is large", () => {
    const program = makeProgram((x: NDArray) =>
      x.reshape([1, 3]).add(np.ones([100, 100, 3]).mul(2)),
    )(x3());
    const result = checkedPass(foldConstants, program, [x3()]);
    // The [100,100,3] broadcast and its product stay equations; nothing is a new constant.
    expect(names(result)).toEqual(names(program));
    expect(result.consts.length).toBe(program.consts.length);
    expect(result.consts.every((c) => c.size <= 3)).toBe(true);
  });

  it("leaves equations that read an argument alone", () => {
    const program = makeProgram((x: NDArray) => np.sin(x).mul(2))(x3());
    expect(foldConstants(program)).toBe(program);
  });

  it("reads a constant of one repeated value as a literal beside a full-shape operand", () => {
    const x = new Var(f32([3]));
    const s = new Var(f32([]));
    const zeros = new Var(f32([3]));
    const twos = new Var(f32([3]));
    const program = handBuilt(
      [x, s],
      (emit) => {
        const positive = emit(gt, [x, lit(0)]);
        const kept = emit(select, [positive, x, zeros]);
        // Both operands uniform or scalar: no operand would keep the shape, so it stays.
        const alone = emit(mul, [twos, s]);
        return [emit(add, [kept, twos]), alone];
      },
      [zeros, twos],
      [np.zeros([3]), literalArray(2, f32([3]))],
    );
    const result = checkedPass(foldConstants, program, [x3(), np.array(1.5)]);
    const [, select_, mul_, add_] = result.equations;
    expect(select_!.inputs[2]).toBeInstanceOf(Literal);
    expect((select_!.inputs[2] as Literal).value).toBe(0);
    expect(select_!.inputs[2]!.aval.toString()).toBe("f32[]");
    expect((add_!.inputs[1] as Literal).value).toBe(2);
    expect(mul_!.inputs[0]).toBe(twos);
    // A predicate stays an array (the vector kernels read masks, not scalars).
    const always = new Var(new AbstractValue([3], "bool"));
    const masked = handBuilt(
      [x],
      (emit) => [emit(select, [always, x, lit(2)])],
      [always],
      [literalArray(1, new AbstractValue([3], "bool"))],
    );
    expect(foldConstants(masked)).toBe(masked);
    // Arrays that are not one repeated value stay arrays.
    const c = new Var(f32([3]));
    const other = handBuilt([x], (emit) => [emit(mul, [x, c])], [c], [np.array([2, 2, 3])]);
    expect(foldConstants(other)).toBe(other);
  });
});

// ----------------------------------------------------------------------------- simplify

describe("simplify", () => {
  it("turns a broadcast scalar beside a full-shape operand into the scalar itself", () => {
    const x = new Var(f32([2, 3]));
    const s = new Var(f32([]));
    const program = handBuilt([x, s], (emit) => {
      const b = emit(broadcastInDim, [s], { shape: [2, 3], broadcastDimensions: [] });
      const zero = emit(broadcastInDim, [lit(0)], { shape: [2, 3], broadcastDimensions: [] });
      const positive = emit(gt, [x, zero]);
      const scaled = emit(mul, [b, x]);
      // Only broadcasts as operands: the broadcast stays (something must have the shape).
      const both = emit(add, [b, zero]);
      // A predicate stays an array (the vector kernels read masks, not scalars).
      const always = emit(broadcastInDim, [lit(1, new AbstractValue([], "bool"))], {
        shape: [2, 3],
        broadcastDimensions: [],
      });
      const picked = emit(select, [always, scaled, x]);
      return [emit(select, [positive, scaled, zero]), both, picked];
    });
    const result = checkedPass(simplify, program, [
      np.array([
        [1, -2, 0],
        [3, -0.5, 4],
      ]),
      np.array(2.5),
    ]);
    const byName = (name: string): Equation =>
      result.equations.find((e) => e.primitive.name === name)!;
    expect(byName("gt").inputs[1]).toBeInstanceOf(Literal);
    expect(byName("mul").inputs[0]).toBe(s);
    const [picked, first] = result.equations.filter((e) => e.primitive.name === "select");
    expect(first!.inputs[2]).toBeInstanceOf(Literal);
    expect(picked!.inputs[0]!.aval.ndim).toBe(2);
    expect(byName("add").inputs.every((a) => a.aval.ndim === 2)).toBe(true);
  });

  it("removes x*1, 1*x, x+0, 0+x, x-0 and x/1 when the types match exactly", () => {
    const program = makeProgram((x: NDArray) => [
      x.mul(1),
      np.multiply(1, x),
      x.add(0),
      np.add(0, x),
      x.sub(0),
      x.div(1),
    ])(x3());
    expect(names(program)).toEqual(["mul", "mul", "add", "add", "sub", "div"]);
    const result = checkedPass(simplify, program, [x3()]);
    expect(result.equations).toEqual([]);
    expect(result.outputs).toEqual(Array(6).fill(program.invars[0]));
  });

  it("x:f32[3] * 1.0 becomes x (hand-built)", () => {
    const x = new Var(f32([3]));
    const program = handBuilt([x], (emit) => [emit(mul, [x, lit(1)])]);
    const result = checkedPass(simplify, program, [x3()]);
    expect(result.equations).toEqual([]);
    expect(result.outputs).toEqual([x]);
  });

  it("keeps an identity that would change the shape (a broadcast)", () => {
    // s:f32[] * 1:f32[3] is f32[3]: replacing it by s would change the output's type.
    const s = new Var(f32([]));
    const program = handBuilt([s], (emit) => [
      emit(mul, [s, lit(1, f32([3]))]),
      emit(add, [lit(0, f32([2])), s]),
    ]);
    const result = checkedPass(simplify, program, [np.array(2.5)]);
    expect(names(result)).toEqual(["mul", "add"]);
  });

  it("keeps an identity that would change the weak type", () => {
    // x is weakly typed, 1.0 is not: the product is not weak, so it is not x.
    const x = new Var(f32([3], true));
    const program = handBuilt([x], (emit) => [emit(mul, [x, lit(1, f32([], false))])]);
    expect(program.outAvals[0]!.weakType).toBe(false);
    const weakInput = ops.convert(np.array([1, 2, 3]), "float32", true);
    expect(weakInput.weakType).toBe(true);
    const result = checkedPass(simplify, program, [weakInput]);
    expect(names(result)).toEqual(["mul"]);
  });

  it("does not treat other literal values as identities", () => {
    const program = makeProgram((x: NDArray) => [x.mul(2), x.add(1), x.div(-1), x.sub(1)])(x3());
    const result = checkedPass(simplify, program, [x3()]);
    expect(result).toBe(program);
  });

  it("neg(neg(x)) → x", () => {
    const program = makeProgram((x: NDArray) => x.neg().neg().mul(3))(x3());
    const result = checkedPass(simplify, program, [x3()]);
    const after = checkedPass(eliminateDeadCode, result, [x3()]);
    expect(names(after)).toEqual(["mul"]);
    expect(after.equations[0]!.inputs[0]).toBe(program.invars[0]);
  });

  it("transpose of transpose → one transpose with the composed permutation", () => {
    const m = np.arange(24).reshape([2, 3, 4]);
    const program = makeProgram((x: NDArray) => x.transpose([1, 0, 2]).transpose([0, 2, 1]).add(1))(
      m,
    );
    const result = checkedPass(simplify, program, [m]);
    const after = checkedPass(eliminateDeadCode, result, [m]);
    expect(names(after)).toEqual(["transpose", "add"]);
    expect(after.equations[0]!.inputs[0]).toBe(program.invars[0]);
    expect((after.equations[0]!.params as { permutation: number[] }).permutation).toEqual([
      1, 2, 0,
    ]);
  });

  it("transpose of transpose that cancels → no transpose (after another round)", () => {
    const m = np.arange(24).reshape([2, 3, 4]);
    const program = makeProgram((x: NDArray) => x.transpose([1, 2, 0]).transpose([2, 0, 1]))(m);
    let result = checkedPass(simplify, program, [m]);
    result = checkedPass(simplify, result, [m]);
    result = checkedPass(eliminateDeadCode, result, [m]);
    expect(result.equations).toEqual([]);
    expect(result.outputs).toEqual(program.invars);
  });

  it("transpose of a product → the product with swapped operands (no transpose left)", () => {
    const a = np.arange(12, undefined, undefined, { dtype: "float32" }).reshape([3, 4]);
    const b = np.arange(20, undefined, undefined, { dtype: "float32" }).reshape([4, 5]).div(7);
    const program = makeProgram((x: NDArray, y: NDArray) => np.matmul(x, y).T.mul(2))(a, b);
    const result = checkedPass(simplify, program, [a, b]);
    const after = checkedPass(eliminateDeadCode, result, [a, b]);
    expect(names(after)).toEqual(["dot_general", "mul"]);
    expect(after.equations[0]!.inputs).toEqual([program.invars[1], program.invars[0]]);
    expect(after.equations[0]!.params).toEqual({ contracting: [[0], [1]], batch: [[], []] });
  });

  it("swaps the operands of a batched product, keeping the batch axes first", () => {
    const a = np.arange(24, undefined, undefined, { dtype: "float32" }).reshape([2, 3, 4]);
    const b = np.arange(40, undefined, undefined, { dtype: "float32" }).reshape([2, 4, 5]).div(3);
    const program = makeProgram((x: NDArray, y: NDArray) => np.matmul(x, y).transpose([0, 2, 1]))(
      a,
      b,
    );
    const after = checkedPass(eliminateDeadCode, checkedPass(simplify, program, [a, b]), [a, b]);
    expect(names(after)).toEqual(["dot_general"]);
  });

  it("keeps the transpose when the product is used elsewhere or the axes are not swapped", () => {
    const a = np.arange(12, undefined, undefined, { dtype: "float32" }).reshape([3, 4]);
    const b = np.arange(20, undefined, undefined, { dtype: "float32" }).reshape([4, 5]);
    const shared = makeProgram((x: NDArray, y: NDArray) => {
      const p = np.matmul(x, y);
      return [p.T, p];
    })(a, b);
    expect(names(checkedPass(simplify, shared, [a, b]))).toEqual(["dot_general", "transpose"]);
    const c = np.arange(24, undefined, undefined, { dtype: "float32" }).reshape([2, 3, 4]);
    const d = np.arange(40, undefined, undefined, { dtype: "float32" }).reshape([2, 4, 5]);
    // Moving the batch axis is not an operand swap.
    const moved = makeProgram((x: NDArray, y: NDArray) => np.matmul(x, y).transpose([1, 0, 2]))(
      c,
      d,
    );
    expect(names(checkedPass(simplify, moved, [c, d]))).toEqual(["dot_general", "transpose"]);
  });

  it("never removes a real transpose of a square matrix (same type, different elements)", () => {
    const m = np.array([
      [1, 2],
      [3, 4],
    ]);
    const program = makeProgram((x: NDArray) => [x.T, x.T.mul(1)])(m);
    const result = checkedPass(simplify, program, [m]);
    expect(names(result)).toContain("transpose");
    expect(result.outputs).not.toContain(program.invars[0]);
  });

  it("never removes a permuting broadcast_in_dim of a square matrix", () => {
    // broadcast_in_dim with broadcastDimensions (1, 0) on a square matrix is a transpose.
    const x = new Var(f32([2, 2]));
    const program = handBuilt([x], (emit) => [
      emit(broadcastInDim, [x], { shape: [2, 2], broadcastDimensions: [1, 0] }),
      emit(broadcastInDim, [x], { shape: [2, 2], broadcastDimensions: [0, 1] }),
    ]);
    const m = np.array([
      [1, 2],
      [3, 4],
    ]);
    const result = checkedPass(simplify, program, [m]);
    expect(names(result)).toEqual(["broadcast_in_dim"]);
    expect(result.outputs[1]).toBe(x);
  });

  it("reshape of reshape → one reshape (and a no-op reshape → its input)", () => {
    const m = np.arange(6).reshape([2, 3]);
    const program = makeProgram((x: NDArray) => [
      x.reshape([3, 2]).reshape([6]).reshape([1, 6]),
      x.reshape([6]).reshape([2, 3]),
    ])(m);
    let result = checkedPass(simplify, program, [m]);
    result = checkedPass(simplify, result, [m]);
    result = checkedPass(eliminateDeadCode, result, [m]);
    expect(names(result)).toEqual(["reshape"]);
    expect(result.equations[0]!.inputs[0]).toBe(program.invars[0]);
    expect(result.outputs[1]).toBe(program.invars[0]);
  });

  it("reshape of reshape (hand-built)", () => {
    const x = new Var(f32([2, 3]));
    const program = handBuilt([x], (emit) => {
      const a = emit(reshape, [x], { newSizes: [3, 2] });
      return [emit(reshape, [a], { newSizes: [6] })];
    });
    const m = np.arange(6).reshape([2, 3]);
    const result = checkedPass(simplify, program, [m]);
    const last = result.equations[result.equations.length - 1]!;
    expect(last.primitive.name).toBe("reshape");
    expect(last.inputs[0]).toBe(x);
  });

  it("select(p, x, x) → x", () => {
    const program = makeProgram((x: NDArray) => np.where(x.gt(0), x, x).mul(2))(x3());
    const result = checkedPass(simplify, program, [x3()]);
    const after = checkedPass(eliminateDeadCode, result, [x3()]);
    expect(names(after)).toEqual(["mul"]);
  });

  it("select(p, x, y) with different branches is kept", () => {
    const p = new Var(new AbstractValue([3], "bool"));
    const x = new Var(f32([3]));
    const y = new Var(f32([3]));
    const program = handBuilt([p, x, y], (emit) => [emit(select, [p, x, y])]);
    const args = [arr([1, 0, 1], "bool"), x3(), arr([7, 8, 9])];
    expect(checkedPass(simplify, program, args)).toBe(program);
  });

  it("keeps results exact for NaN, infinities and signed zeros", () => {
    const special = np.array([NaN, Infinity, -Infinity, -0, 0, 1e-30]);
    const program = makeProgram((x: NDArray) => [
      x.mul(1),
      x.div(1),
      x.sub(0),
      x.neg().neg(),
      np.where(x.gt(0), x, x),
    ])(special);
    checkedPass(simplify, program, [special]);
  });

  it("hand-built identities on every supported primitive", () => {
    const x = new Var(f32([3]));
    const program = handBuilt([x], (emit) => [
      emit(sub, [x, lit(0)]),
      emit(div, [x, lit(1)]),
      emit(transpose, [x], { permutation: [0] }),
      emit(reshape, [x], { newSizes: [3] }),
      emit(broadcastInDim, [x], { shape: [3], broadcastDimensions: [0] }),
      emit(neg, [emit(neg, [x])]),
    ]);
    const result = checkedPass(simplify, program, [x3()]);
    expect(result.outputs).toEqual(Array(6).fill(x));
  });
});

// ----------------------------------------------------------------------------- the pipeline

describe("the pass pipeline", () => {
  const programs: [string, () => [Program, NDArray[]]][] = [
    [
      "identities, repeats and dead code",
      () => {
        const x = x3();
        const f = (x: NDArray): NDArray[] => {
          np.exp(x); // dead
          const a = np.sin(x.mul(1)).add(np.sin(x));
          return [a.neg().neg(), a.reshape([3, 1]).reshape([1, 3])];
        };
        return [makeProgram(f)(x), [x]];
      },
    ],
    [
      "constants and reductions",
      () => {
        const c = np.array([1, 2, 3]);
        const m = np.array([
          [1, 2, 3],
          [4, 5, 6],
        ]);
        const f = (x: NDArray): NDArray => x.mul(c.mul(2)).sum({ axis: 1 }).add(np.array(3).mul(4));
        return [makeProgram(f)(m), [m]];
      },
    ],
    [
      "hand-built: a reduction with a dead branch",
      () => {
        const x = new Var(f32([2, 3]));
        const program = handBuilt([x], (emit) => {
          const a = emit(exp, [x]);
          emit(cos, [a]);
          return [emit(reduceSum, [a], { axes: [1] })];
        });
        return [program, [np.arange(6).reshape([2, 3]).astype("float32")]];
      },
    ],
  ];

  for (const [name, make] of programs) {
    it(`each pass and the whole pipeline preserve values — ${name}`, () => {
      const [program, args] = make();
      let current = program;
      for (let round = 0; round < 3; round++) {
        for (const pass of passes) current = checkedPass(pass.run, current, args);
      }
      const optimized = checkedPass(optimize, program, args);
      expect(optimized.equations.length).toBeLessThanOrEqual(program.equations.length);
      // A fixed point: running the pipeline again changes nothing.
      expect(optimize(optimized)).toBe(optimized);
    });
  }
});

// ----------------------------------------------------------------------------- loop bodies

describe("optimizeBodies", () => {
  const loops = (x: NDArray, p: NDArray): NDArray[] => {
    const [scanned] = lax.scan(
      (c: NDArray, _: NDArray) => [np.transpose(np.transpose(c.mul(1))).add(0), null],
      x,
      null,
      { length: 2 },
    );
    const waited = lax.whileLoop(
      (c: NDArray) => c.neg().neg().sum().lt(100),
      (c: NDArray) => c.add(c.mul(1)),
      x,
    );
    const branched = lax.cond(
      p,
      (c: NDArray) => c.mul(1).add(0),
      (c: NDArray) => c.neg().neg(),
      x,
    );
    return [scanned, waited, branched];
  };
  const bodyOf = (program: Program, name: string): Program[] => {
    const eq = program.equations.find((e) => e.primitive.name === name)!;
    const params = eq.params as { body?: Program; cond?: Program; branches?: Program[] };
    return [params.cond, params.body, ...(params.branches ?? [])].filter(
      (b): b is Program => b !== undefined,
    );
  };

  it("optimises the bodies of scans and while loops and the branches of conds", () => {
    const x = np.array([
      [1, 2],
      [3, 4],
    ]);
    const p = np.array(true);
    const program = makeProgram(loops)(x, p);
    const result = checkedPass(optimizeBodies, program, [x, p]);
    // Identities and double transposes/negations are gone from every body.
    expect(bodyOf(program, "scan").map(names)).toEqual([["mul", "transpose", "transpose", "add"]]);
    expect(bodyOf(result, "scan").map(names)).toEqual([[]]);
    expect(bodyOf(result, "while").map(names)).toEqual([["reduce_sum", "lt"], ["add"]]);
    expect(bodyOf(result, "cond").map(names)).toEqual([[], []]);
    expect(optimizeBodies(result)).toBe(result);
    // The whole pipeline reaches the bodies too (what `.lower(…).optimized` shows).
    expect(optimize(program).toString()).toBe(result.toString());
  });
});

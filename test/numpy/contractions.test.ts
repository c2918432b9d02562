/**
 * tensordot, einsum, trace, diag and diagonal: values against NumPy (the "contractions" cases of
 * test/fixtures/linalg.json, made by test/fixtures/make_linalg_fixtures.py), agreement with
 * matmul, the staged IR (one dot_general per pair of operands), and the errors a user gets for
 * bad subscripts and mismatched shapes.
 */
import { describe, expect, it } from "vitest";
import { makeProgram, np, ShapeError, ValueError, type NDArray } from "../../src/index.js";
import { absolute, errorOf, expectClose } from "../helpers/assertions.js";
import { caseTitle, checkFixtureCase, loadFixture, type FixtureCase } from "../helpers/fixtures.js";
import { random } from "../helpers/numeric.js";

const file = "contractions.test.ts";

// ----------------------------------------------------------------------------- fixture runner

const fixture = loadFixture<{ numpy: string; contractions: FixtureCase[] }>("linalg.json");

type Fn = (...args: never[]) => unknown;
const functions: Record<string, Fn> = {
  tensordot: np.tensordot,
  einsum: np.einsum,
  trace: np.trace,
  diag: np.diag,
  diagonal: np.diagonal,
};

describe(`contractions against NumPy ${fixture.numpy}`, () => {
  fixture.contractions.forEach((c, i) => {
    const label = c.fn === "einsum" ? `einsum "${String(c.args[0])}"` : c.fn;
    it(caseTitle(c, i, label), () => checkFixtureCase(c, i, functions));
  });
});

// ----------------------------------------------------------------------------- facts

describe("einsum", () => {
  const a = random([2, 3, 4], 1);
  const b = random([2, 4, 5], 2);

  it("agrees with matmul, transpose and sum", () => {
    expectClose(np.einsum("bij,bjk->bik", a, b), np.matmul(a, b), absolute(1e-12));
    expectClose(np.einsum("bij->bji", a), np.swapaxes(a, 1, 2), absolute(0));
    expectClose(np.einsum("bij->j", a), np.sum(a, { axis: [0, 1] }), absolute(1e-12));
    expectClose(np.einsum("...ij,...jk", a, b), np.matmul(a, b), absolute(1e-12));
  });

  it("contracts a chain left to right, one dot_general per pair", () => {
    const program = makeProgram((x: NDArray, y: NDArray, z: NDArray) =>
      np.einsum("ij,jk,kl->il", x, y, z),
    )(random([2, 3], 3), random([3, 4], 4), random([4, 5], 5));
    const names = program.equations.map((e) => e.primitive.name);
    expect(names.filter((n) => n === "dot_general")).toHaveLength(2);
    expect(program.outAvals[0]!.shape).toEqual([2, 5]);
  });

  it("takes diagonals and traces without a gather", () => {
    const program = makeProgram((x: NDArray) => np.einsum("ii->", x))(random([3, 3], 6));
    expect(program.equations.map((e) => e.primitive.name)).not.toContain("gather");
    const m = random([3, 3], 7);
    expect(np.einsum("ii->", m).item()).toBeCloseTo(Number(np.trace(m).item()), 14);
  });

  it("promotes operands and keeps integers exact", () => {
    const x = np.array(
      [
        [1, 2],
        [3, 4],
      ],
      { dtype: "int32" },
    );
    expect(np.einsum("ij,jk->ik", x, x).dtype).toBe("int32");
    expect(np.einsum("ij,jk->ik", x, x).toList()).toEqual([
      [7, 10],
      [15, 22],
    ]);
    expect(np.einsum("i,i->", np.array([1, 2], { dtype: "float32" }), random([2], 8)).dtype).toBe(
      "float64",
    );
    expect(np.einsum("i,i->", np.array([true, true]), np.array([true, false])).item()).toBe(1);
  });
});

describe("tensordot, trace, diag, diagonal", () => {
  it("tensordot with integer axes is matmul for matrices", () => {
    const a = random([3, 4], 9);
    const b = random([4, 2], 10);
    expectClose(np.tensordot(a, b, { axes: 1 }), np.matmul(a, b), absolute(1e-12));
    expectClose(np.tensordot(a, b, { axes: [[1], [0]] }), np.matmul(a, b), absolute(1e-12));
  });

  it("diag builds and reads diagonals; trace is the sum of the diagonal", () => {
    const v = random([4], 11);
    for (const k of [-2, 0, 3]) expectClose(np.diag(np.diag(v, { k }), { k }), v, absolute(0));
    const m = random([2, 4, 4], 12);
    expectClose(
      np.trace(m, { axis1: 1, axis2: 2 }),
      np.sum(np.diagonal(m, { axis1: 1, axis2: 2 }), { axis: -1 }),
      absolute(1e-12),
    );
    expect(np.diag(np.array([1, 2, 3], { dtype: "int32" })).dtype).toBe("int32");
    expect(np.diag(np.array([1, 2, 3])).dtype).toBe("float32");
  });

  it("diagonal is a view-like slice: no gather in the IR", () => {
    const program = makeProgram((x: NDArray) => np.diagonal(x, { offset: 1 }))(random([3, 4], 13));
    const names = program.equations.map((e) => e.primitive.name);
    expect(names).not.toContain("gather");
    expect(program.outAvals[0]!.shape).toEqual([3]);
  });
});

// ----------------------------------------------------------------------------- errors

describe("errors name the user's line, the operands and the shapes", () => {
  const a = np.ones([2, 3]);
  const b = np.ones([4, 5]);

  it("einsum: the number of operands", () => {
    expect(errorOf(() => np.einsum("ij,jk->ik", a), ValueError, file)).toContain("2 operands");
    errorOf(() => np.einsum("ij"), ValueError, file);
  });

  it("einsum: malformed subscripts", () => {
    expect(errorOf(() => np.einsum("i1->i", a), ValueError, file)).toContain('"1"');
    errorOf(() => np.einsum("ij->i->j", a), ValueError, file);
    errorOf(() => np.einsum("i..j", a), ValueError, file);
    errorOf(() => np.einsum("....ij", a), ValueError, file);
    expect(errorOf(() => np.einsum("ij->ik", a), ValueError, file)).toContain('"k"');
    expect(errorOf(() => np.einsum("ij->ii", a), ValueError, file)).toContain("twice");
    expect(errorOf(() => np.einsum("...j->j", np.ones([2, 3, 4])), ValueError, file)).toContain(
      "...",
    );
  });

  it("einsum: subscripts that don't fit an operand's rank", () => {
    const m = errorOf(() => np.einsum("ijk->i", a), ShapeError, file);
    expect(m).toContain("operand 0");
    expect(m).toContain("[2, 3]");
    errorOf(() => np.einsum("ij,jkl->ik", a, np.ones([3, 4])), ShapeError, file);
  });

  it("einsum: sizes that disagree name both operands", () => {
    const m = errorOf(() => np.einsum("ij,jk->ik", a, b), ShapeError, file);
    expect(m).toContain('"j"');
    expect(m).toContain("operand 0 (shape [2, 3])");
    expect(m).toContain("operand 1 (shape [4, 5])");
    expect(errorOf(() => np.einsum("ii->i", a), ShapeError, file)).toContain("diagonal");
  });

  it("tensordot: paired axes of different sizes, bad axes", () => {
    const m = errorOf(() => np.tensordot(a, b, { axes: 1 }), ShapeError, file);
    expect(m).toContain("[2, 3]");
    expect(m).toContain("[4, 5]");
    errorOf(() => np.tensordot(a, b, { axes: 3 }), ShapeError, file);
    errorOf(() => np.tensordot(a, a, { axes: [[0, 1], [0]] }), ShapeError, file);
    errorOf(() => np.tensordot(a, a, { axes: [[5], [0]] }), ShapeError, file);
  });

  it("trace, diag and diagonal need the right rank and distinct axes", () => {
    expect(errorOf(() => np.trace(np.ones([3])), ShapeError, file)).toContain("[3]");
    expect(errorOf(() => np.diag(np.ones([2, 2, 2])), ShapeError, file)).toContain("np.diagonal");
    errorOf(() => np.diagonal(a, { axis1: 1, axis2: -1 }), ValueError, file);
    errorOf(() => np.trace(a, { offset: 0.5 }), ValueError, file);
  });
});

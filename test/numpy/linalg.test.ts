/**
 * np.linalg and the linear-algebra primitives (cholesky, triangular_solve, lu): values against
 * NumPy (test/fixtures/linalg.json, made by test/fixtures/make_linalg_fixtures.py), the identities
 * a user relies on (a·solve(a, b) = b, P·a = L·U, …), the derivative and batching rules against
 * finite differences and loops, and the errors a user gets for bad shapes.
 */
import { describe, expect, it } from "vitest";
import {
  DtypeError,
  makeProgram,
  np,
  ShapeError,
  ValueError,
  type NDArray,
} from "../../src/index.js";
import { bind, bind1 } from "../../src/core/trace.js";
import {
  cholesky,
  lu,
  triangularSolve,
  type TriangularSolveParams,
} from "../../src/primitives/linalg.js";
import { absolute, errorOf, expectClose } from "../helpers/assertions.js";
import { caseTitle, checkFixtureCase, loadFixture, type FixtureCase } from "../helpers/fixtures.js";
import { random } from "../helpers/numeric.js";

const file = "linalg.test.ts";

// ----------------------------------------------------------------------------- fixture runner

const fixture = loadFixture<{ numpy: string; linalg: FixtureCase[] }>("linalg.json");

type Fn = (...args: never[]) => unknown;
const functions: Record<string, Fn> = {
  "linalg.solve": np.linalg.solve,
  "linalg.inv": np.linalg.inv,
  "linalg.det": np.linalg.det,
  "linalg.slogdet": np.linalg.slogdet,
  "linalg.cholesky": np.linalg.cholesky,
  "linalg.norm": np.linalg.norm,
  "primitive.cholesky": (x: NDArray) => bind1(cholesky, [x], {}),
  "primitive.lu": (x: NDArray) => bind(lu, [x], {}),
  "primitive.triangular_solve": (a: NDArray, b: NDArray, params: TriangularSolveParams) =>
    bind1(triangularSolve, [a, b], params),
};

describe(`np.linalg and linalg primitives against NumPy ${fixture.numpy}`, () => {
  fixture.linalg.forEach((c, i) => {
    it(caseTitle(c, i), () => checkFixtureCase(c, i, functions));
  });
});

// ----------------------------------------------------------------------------- helpers

/** Well-conditioned float64 matrices: random + 3·I. */
function wellConditioned(shape: number[], seed: number): NDArray {
  const n = shape[shape.length - 1]!;
  return random(shape, seed).add(np.eye(n, { dtype: "float64" }).mul(3));
}

const dot = (x: NDArray, y: NDArray): number => Number(np.sum(x.mul(y)).item());

// ----------------------------------------------------------------------------- identities

describe("np.linalg identities in float64", () => {
  const a = wellConditioned([2, 3, 4, 4], 1);

  it("solve: a·x = b for batched a and b, vector and matrix right-hand sides", () => {
    const b = random([3, 4, 2], 2);
    const x = np.linalg.solve(a, b);
    expect(x.shape).toEqual([2, 3, 4, 2]);
    expectClose(np.matmul(a, x), np.broadcastTo(b, [2, 3, 4, 2]), absolute(1e-13));
    const v = random([4], 3);
    const y = np.linalg.solve(a, v);
    expect(y.shape).toEqual([2, 3, 4]);
    expectClose(
      np.matmul(a, y.reshape([2, 3, 4, 1])).reshape([2, 3, 4]),
      np.broadcastTo(v, [2, 3, 4]),
      absolute(1e-13),
    );
    expect(y.dtype).toBe("float64");
  });

  it("inv: a·inv(a) = I", () => {
    expectClose(
      np.matmul(a, np.linalg.inv(a)),
      np.broadcastTo(np.eye(4, { dtype: "float64" }), a.shape),
      absolute(1e-13),
    );
  });

  it("det is multiplicative, and slogdet agrees with it", () => {
    const b = wellConditioned([2, 3, 4, 4], 4);
    const lhs = np.linalg.det(np.matmul(a, b));
    expectClose(lhs, np.linalg.det(a).mul(np.linalg.det(b)), absolute(1e-9));
    const [sign, logabsdet] = np.linalg.slogdet(a);
    expectClose(sign.mul(np.exp(logabsdet)), np.linalg.det(a), absolute(1e-10));
  });

  it("cholesky: L is lower triangular and L·Lᵀ = a", () => {
    const g = random([3, 5, 5], 5);
    const spd = np.matmul(g, np.swapaxes(g, -1, -2)).add(np.eye(5, { dtype: "float64" }));
    const l = np.linalg.cholesky(spd);
    expectClose(np.matmul(l, np.swapaxes(l, -1, -2)), spd, absolute(1e-13));
    const upper = l.mul(
      np.eye(5, { k: 1, dtype: "float64" }).add(np.eye(5, { k: 2, dtype: "float64" })),
    );
    expect(Number(np.sum(np.abs(upper)).item())).toBe(0);
  });

  it("cholesky of a matrix that is not positive definite is all NaN, not an exception", () => {
    const out = np.linalg.cholesky(
      np.array([
        [1, 2],
        [2, 1],
      ]),
    );
    expect(Array.from(out.toTypedArray()).every(Number.isNaN)).toBe(true);
  });

  it("lu: a[permutation] = L·U, and the pivots compose to the permutation", () => {
    const x = random([2, 5, 3], 6);
    const [packed, pivots, permutation] = bind(lu, [x], {}) as [NDArray, NDArray, NDArray];
    expect(pivots.dtype).toBe("int32");
    expect(permutation.shape).toEqual([2, 5]);
    const values = packed.toList() as number[][][];
    const perms = permutation.toList() as number[][];
    const pivs = pivots.toList() as number[][];
    const source = x.toList() as number[][][];
    for (let b = 0; b < 2; b++) {
      const order = [0, 1, 2, 3, 4];
      pivs[b]!.forEach((p, i) => ([order[i], order[p]] = [order[p]!, order[i]!]));
      expect(order).toEqual(perms[b]);
      for (let i = 0; i < 5; i++) {
        for (let j = 0; j < 3; j++) {
          let s = 0;
          for (let k = 0; k <= Math.min(i, j); k++) {
            const l = k === i ? 1 : values[b]![i]![k]!;
            s += l * values[b]![k]![j]!;
          }
          expect(s).toBeCloseTo(source[b]![perms[b]![i]!]![j]!, 12);
        }
      }
    }
  });

  it("float32 inputs give float32 results, integers compute in float32", () => {
    const a32 = np.array(
      [
        [4, 1],
        [1, 3],
      ],
      { dtype: "float32" },
    );
    expect(np.linalg.solve(a32, np.array([1, 2], { dtype: "float32" })).dtype).toBe("float32");
    expect(
      np.linalg.inv(
        np.array(
          [
            [4, 1],
            [1, 3],
          ],
          { dtype: "int32" },
        ),
      ).dtype,
    ).toBe("float32");
    expect(
      np.linalg
        .det(
          np.array(
            [
              [4, 1],
              [1, 3],
            ],
            { dtype: "int32" },
          ),
        )
        .item(),
    ).toBeCloseTo(11, 5);
    expect(np.linalg.solve(a32, np.array([1, 2], { dtype: "float64" })).dtype).toBe("float64");
  });

  it("stages as lu and triangular_solve equations", () => {
    const program = makeProgram((x: NDArray, y: NDArray) => np.linalg.solve(x, y))(
      wellConditioned([3, 3], 7),
      random([3], 8),
    );
    const names = program.equations.map((e) => e.primitive.name);
    expect(names).toContain("lu");
    expect(names.filter((n) => n === "triangular_solve")).toHaveLength(2);
    expect(program.outAvals[0]!.shape).toEqual([3]);
  });
});

// ----------------------------------------------------------------------------- rules

/** Central difference of `f` at `x` along `t` (float64). */
function centralDifference(f: (x: NDArray) => NDArray, x: NDArray, t: NDArray): NDArray {
  const h = 1e-6;
  return f(x.add(t.mul(h)))
    .sub(f(x.sub(t.mul(h))))
    .div(2 * h);
}

describe("derivative rules against central differences (float64)", () => {
  it("cholesky", () => {
    const g = random([2, 4, 4], 11);
    const spd = np.matmul(g, np.swapaxes(g, -1, -2)).add(np.eye(4, { dtype: "float64" }));
    const t = random([2, 4, 4], 12); // not symmetric: only its lower triangle matters
    const [[out], [tangent]] = cholesky.spec.jvp([spd], [t], {});
    const f = (x: NDArray): NDArray => bind1(cholesky, [x], {});
    expectClose(out!, f(spd), absolute(1e-12));
    expectClose(tangent!, centralDifference(f, spd, t), absolute(1e-7));
  });

  it("triangular_solve, every side, triangle, transpose and unit diagonal", () => {
    for (const leftSide of [true, false]) {
      for (const lower of [true, false]) {
        for (const transposeA of [true, false]) {
          for (const unitDiagonal of [true, false]) {
            const params = { leftSide, lower, transposeA, unitDiagonal };
            const a = wellConditioned([2, 3, 3], 13);
            const b = random(leftSide ? [2, 3, 2] : [2, 2, 3], 14);
            const ta = random([2, 3, 3], 15);
            const tb = random(b.shape as number[], 16);
            const [, [tangent]] = triangularSolve.spec.jvp([a, b], [ta, tb], params);
            const f = (s: NDArray): NDArray =>
              bind1(triangularSolve, [a.add(ta.mul(s)), b.add(tb.mul(s))], params);
            const numeric = centralDifference(
              f,
              np.zeros([], { dtype: "float64" }),
              np.ones([], { dtype: "float64" }),
            );
            expectClose(tangent!, numeric, absolute(1e-7));
          }
        }
      }
    }
  });

  it("triangular_solve's transpose satisfies ⟨ct, T(b)⟩ = ⟨Tᵀ(ct), b⟩", () => {
    for (const leftSide of [true, false]) {
      for (const transposeA of [true, false]) {
        const params = { leftSide, lower: true, transposeA, unitDiagonal: false };
        const a = wellConditioned([3, 3], 17);
        const b = random(leftSide ? [3, 2] : [2, 3], 18);
        const ct = random(b.shape as number[], 19);
        const [, bBar] = triangularSolve.spec.transpose!(
          [ct],
          [a, { linear: true, aval: b.aval }],
          params,
        );
        expect(dot(ct, bind1(triangularSolve, [a, b], params))).toBeCloseTo(dot(bBar!, b), 12);
      }
    }
  });

  it("lu (square and rectangular)", () => {
    for (const shape of [
      [2, 4, 4],
      [3, 5],
      [5, 3],
    ]) {
      const x = random(shape, 21);
      const t = random(shape, 22);
      const [outs, tangents] = lu.spec.jvp([x], [t], {});
      expect(tangents[1]).toBeNull();
      expect(tangents[2]).toBeNull();
      const f = (y: NDArray): NDArray => bind(lu, [y], {})[0]!;
      expectClose(outs[0]!, f(x), absolute(1e-12));
      expectClose(tangents[0]!, centralDifference(f, x, t), absolute(1e-7));
    }
  });
});

describe("batching rules against a loop", () => {
  const stackOf = (xs: NDArray[]): NDArray => np.stack(xs);

  it("cholesky and lu with the batch axis in the middle", () => {
    const g = random([3, 4, 4], 31);
    const spd = np.matmul(g, np.swapaxes(g, -1, -2)).add(np.eye(4, { dtype: "float64" }));
    const moved = np.moveaxis(spd, 0, 1); // batch axis 1
    const [[l], [axis]] = cholesky.spec.batch([moved], [1], {});
    expect(axis).toBe(0);
    expectClose(
      l!,
      stackOf([0, 1, 2].map((i) => bind1(cholesky, [spd.get(i)], {}))),
      absolute(1e-12),
    );
    const [outs, axes] = lu.spec.batch([moved], [1], {});
    expect(axes).toEqual([0, 0, 0]);
    outs.forEach((o, k) =>
      expectClose(o, stackOf([0, 1, 2].map((i) => bind(lu, [spd.get(i)], {})[k]!)), absolute(0)),
    );
  });

  it("triangular_solve with one operand unbatched", () => {
    const params = { leftSide: true, lower: true, transposeA: false, unitDiagonal: false };
    const a = wellConditioned([3, 3], 32);
    const b = random([3, 2, 4], 33); // batch axis 2
    const [[x], [axis]] = triangularSolve.spec.batch([a, b], [null, 2], params);
    expect(axis).toBe(0);
    const loop = [0, 1, 2, 3].map((i) => bind1(triangularSolve, [a, b.get("...", i)], params));
    expectClose(x!, stackOf(loop), absolute(1e-12));
  });
});

// ----------------------------------------------------------------------------- errors

describe("errors name the user's line and the shapes", () => {
  it("non-square matrices", () => {
    expect(errorOf(() => np.linalg.inv(np.ones([2, 3])), ShapeError, file)).toContain("[2, 3]");
    expect(errorOf(() => np.linalg.det(np.ones([3])), ShapeError, file)).toContain("square");
    expect(errorOf(() => np.linalg.cholesky(np.ones([4, 2, 3])), ShapeError, file)).toContain(
      "[4, 2, 3]",
    );
    expect(
      errorOf(() => np.linalg.solve(np.ones([2, 3]), np.ones([2])), ShapeError, file),
    ).toContain("square");
    expect(errorOf(() => np.linalg.slogdet(np.ones([3, 2])), ShapeError, file)).toContain("square");
  });

  it("solve with mismatched right-hand sides or batch axes", () => {
    const m = errorOf(() => np.linalg.solve(np.eye(3), np.ones([4])), ShapeError, file);
    expect(m).toContain("np.linalg.solve");
    expect(m).toContain("[4]");
    errorOf(() => np.linalg.solve(np.eye(3), np.ones([2, 3])), ShapeError, file);
    const batch = errorOf(
      () => np.linalg.solve(np.ones([2, 3, 3]), np.ones([4, 3, 1])),
      ShapeError,
      file,
    );
    expect(batch).toContain("[2, 3, 3]");
    expect(batch).toContain("[4, 3, 1]");
  });

  it("the primitives check shapes, batch axes and dtypes", () => {
    errorOf(() => bind1(cholesky, [np.ones([2, 3])], {}), ShapeError, file);
    errorOf(() => bind1(cholesky, [np.eye(2, { dtype: "int32" })], {}), DtypeError, file);
    const params = { leftSide: true, lower: true, transposeA: false, unitDiagonal: false };
    const batch = errorOf(
      () => bind1(triangularSolve, [np.ones([2, 3, 3]), np.ones([3, 3, 1])], params),
      ShapeError,
      file,
    );
    expect(batch).toContain("batch");
    errorOf(() => bind1(triangularSolve, [np.eye(3), np.ones([2, 1])], params), ShapeError, file);
    errorOf(
      () => bind1(triangularSolve, [np.eye(3), np.ones([3, 1], { dtype: "float64" })], params),
      DtypeError,
      file,
    );
    errorOf(() => bind(lu, [np.ones([3])], {}), ShapeError, file);
  });

  it("bad orders or axes", () => {
    const m = np.ones([3, 3]);
    expect(errorOf(() => np.linalg.norm(m, { ord: 3 }), ValueError, file)).toContain('"nuc"');
    errorOf(() => np.linalg.norm(np.ones([3]), { ord: "fro" }), ValueError, file);
    errorOf(() => np.linalg.norm(np.ones([2, 2, 2]), { ord: 1 }), ValueError, file);
    errorOf(() => np.linalg.norm(m, { axis: [0, 0] }), ValueError, file);
    errorOf(() => np.linalg.norm(m, { axis: 2 }), ShapeError, file);
  });
});

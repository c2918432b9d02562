/**
 * np.linalg and the linear-algebra primitives (cholesky, triangular_solve, lu): values against
 * NumPy (test/fixtures/linalg.json, made by test/fixtures/make_linalg_fixtures.py), the identities
 * a user relies on (a·solve(a, b) = b, P·a = L·U, …), the derivative and batching rules against
 * finite differences and loops, and the errors a user gets for bad shapes.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  DtypeError,
  FluxionError,
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

// ----------------------------------------------------------------------------- fixture runner

type Scalar = number | boolean | string;
interface FixtureArray {
  dtype: string;
  shape: number[];
  data: Scalar[];
}
type FixtureValue = FixtureArray | Scalar | null | FixtureValue[] | { [key: string]: FixtureValue };
interface FixtureCase {
  fn: string;
  args: FixtureValue[];
  kwargs?: Record<string, FixtureValue>;
  expected: FixtureArray | FixtureArray[];
  rtol: number;
  atol: number;
  note?: string;
}

const fixture = JSON.parse(
  readFileSync(new URL("../fixtures/linalg.json", import.meta.url), "utf8"),
) as { numpy: string; linalg: FixtureCase[] };

const isFixtureArray = (v: unknown): v is FixtureArray =>
  typeof v === "object" && v !== null && !Array.isArray(v) && "dtype" in v && "data" in v;

function decodeNumber(v: Scalar): number {
  if (v === "nan") return NaN;
  if (v === "inf") return Infinity;
  if (v === "-inf") return -Infinity;
  return typeof v === "boolean" ? Number(v) : Number(v);
}

function decode(v: FixtureValue): unknown {
  if (isFixtureArray(v)) {
    const values = v.data.map((x) => (v.dtype === "bool" ? x === true : decodeNumber(x)));
    return np.array(values, { dtype: v.dtype as NDArray["dtype"] }).reshape(v.shape);
  }
  if (Array.isArray(v)) return v.map(decode);
  if (v === "inf" || v === "-inf" || v === "nan") return decodeNumber(v);
  if (typeof v === "object" && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decode(x)]));
  }
  return v;
}

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

/** Describes how `got` differs from `want`, or returns undefined when it matches. */
function mismatch(
  want: FixtureArray,
  got: unknown,
  rtol: number,
  atol: number,
): string | undefined {
  const x = got as NDArray;
  if (x.dtype !== want.dtype) return `dtype ${x.dtype}, expected ${want.dtype}`;
  if (JSON.stringify(x.shape) !== JSON.stringify(want.shape)) {
    return `shape [${x.shape.join(", ")}], expected [${want.shape.join(", ")}]`;
  }
  const actual = Array.from(x.toTypedArray(), Number);
  for (let i = 0; i < actual.length; i++) {
    const w = decodeNumber(want.data[i]!);
    const a = actual[i]!;
    const ok = Number.isNaN(w)
      ? Number.isNaN(a)
      : Number.isFinite(w)
        ? Math.abs(a - w) <= atol + rtol * Math.abs(w)
        : a === w;
    if (!ok) return `element ${i}: got ${a}, expected ${w} (got [${actual.join(", ")}])`;
  }
  return undefined;
}

function runCase(c: FixtureCase): void {
  const args = c.args.map(decode);
  if (c.kwargs !== undefined) args.push(decode(c.kwargs));
  const result = (functions[c.fn] as (...a: unknown[]) => unknown)(...args);
  const wants = Array.isArray(c.expected) ? c.expected : [c.expected];
  const gots = Array.isArray(c.expected) ? (result as unknown[]) : [result];
  expect(gots.length).toBe(wants.length);
  wants.forEach((w, k) => {
    const m = mismatch(w, gots[k], c.rtol, c.atol);
    if (m !== undefined)
      expect.fail(`${c.fn} ${JSON.stringify(c.kwargs ?? {})}, output ${k}: ${m}`);
  });
}

describe(`np.linalg and linalg primitives against NumPy ${fixture.numpy}`, () => {
  fixture.linalg.forEach((c, i) => {
    it(`${c.fn} #${i}${c.note !== undefined ? ` (${c.note})` : ""}`, () => runCase(c));
  });
});

// ----------------------------------------------------------------------------- helpers

/** Deterministic pseudo-random float64 values in [-1, 1). */
function random(shape: number[], seed: number): NDArray {
  let state = seed >>> 0;
  const size = shape.reduce((a, b) => a * b, 1);
  const values = Array.from({ length: size }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 31 - 1;
  });
  return np.array(values, { dtype: "float64" }).reshape(shape);
}

/** Well-conditioned float64 matrices: random + 3·I. */
function wellConditioned(shape: number[], seed: number): NDArray {
  const n = shape[shape.length - 1]!;
  return random(shape, seed).add(np.eye(n, { dtype: "float64" }).mul(3));
}

function expectClose(actual: NDArray, expected: NDArray, tol = 1e-12): void {
  expect(actual.shape).toEqual(expected.shape);
  const a = actual.toTypedArray();
  const e = expected.toTypedArray();
  const worst = Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - e[i]!)), 0);
  expect(worst).toBeLessThanOrEqual(tol);
}

/** The error `f` throws, checked to be a FluxionError of `kind` that names this test file. */
function errorOf(f: () => unknown, kind: new (...args: never[]) => FluxionError): string {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(kind);
    const message = (error as Error).message;
    expect(message).toContain("linalg.test.ts");
    return message;
  }
  throw new Error("expected an error");
}

const dot = (x: NDArray, y: NDArray): number => Number(np.sum(x.mul(y)).item());

// ----------------------------------------------------------------------------- identities

describe("np.linalg identities in float64", () => {
  const a = wellConditioned([2, 3, 4, 4], 1);

  it("solve: a·x = b for batched a and b, vector and matrix right-hand sides", () => {
    const b = random([3, 4, 2], 2);
    const x = np.linalg.solve(a, b);
    expect(x.shape).toEqual([2, 3, 4, 2]);
    expectClose(np.matmul(a, x), np.broadcastTo(b, [2, 3, 4, 2]), 1e-13);
    const v = random([4], 3);
    const y = np.linalg.solve(a, v);
    expect(y.shape).toEqual([2, 3, 4]);
    expectClose(
      np.matmul(a, y.reshape([2, 3, 4, 1])).reshape([2, 3, 4]),
      np.broadcastTo(v, [2, 3, 4]),
      1e-13,
    );
    expect(y.dtype).toBe("float64");
  });

  it("inv: a·inv(a) = I", () => {
    expectClose(
      np.matmul(a, np.linalg.inv(a)),
      np.broadcastTo(np.eye(4, { dtype: "float64" }), a.shape),
      1e-13,
    );
  });

  it("det is multiplicative, and slogdet agrees with it", () => {
    const b = wellConditioned([2, 3, 4, 4], 4);
    const lhs = np.linalg.det(np.matmul(a, b));
    expectClose(lhs, np.linalg.det(a).mul(np.linalg.det(b)), 1e-9);
    const [sign, logabsdet] = np.linalg.slogdet(a);
    expectClose(sign.mul(np.exp(logabsdet)), np.linalg.det(a), 1e-10);
  });

  it("cholesky: L is lower triangular and L·Lᵀ = a", () => {
    const g = random([3, 5, 5], 5);
    const spd = np.matmul(g, np.swapaxes(g, -1, -2)).add(np.eye(5, { dtype: "float64" }));
    const l = np.linalg.cholesky(spd);
    expectClose(np.matmul(l, np.swapaxes(l, -1, -2)), spd, 1e-13);
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
    expectClose(out!, f(spd));
    expectClose(tangent!, centralDifference(f, spd, t), 1e-7);
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
            expectClose(tangent!, numeric, 1e-7);
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
      expectClose(outs[0]!, f(x));
      expectClose(tangents[0]!, centralDifference(f, x, t), 1e-7);
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
    expectClose(l!, stackOf([0, 1, 2].map((i) => bind1(cholesky, [spd.get(i)], {}))));
    const [outs, axes] = lu.spec.batch([moved], [1], {});
    expect(axes).toEqual([0, 0, 0]);
    outs.forEach((o, k) =>
      expectClose(o, stackOf([0, 1, 2].map((i) => bind(lu, [spd.get(i)], {})[k]!)), 0),
    );
  });

  it("triangular_solve with one operand unbatched", () => {
    const params = { leftSide: true, lower: true, transposeA: false, unitDiagonal: false };
    const a = wellConditioned([3, 3], 32);
    const b = random([3, 2, 4], 33); // batch axis 2
    const [[x], [axis]] = triangularSolve.spec.batch([a, b], [null, 2], params);
    expect(axis).toBe(0);
    const loop = [0, 1, 2, 3].map((i) => bind1(triangularSolve, [a, b.get("...", i)], params));
    expectClose(x!, stackOf(loop));
  });
});

// ----------------------------------------------------------------------------- errors

describe("errors name the user's line and the shapes", () => {
  it("non-square matrices", () => {
    expect(errorOf(() => np.linalg.inv(np.ones([2, 3])), ShapeError)).toContain("[2, 3]");
    expect(errorOf(() => np.linalg.det(np.ones([3])), ShapeError)).toContain("square");
    expect(errorOf(() => np.linalg.cholesky(np.ones([4, 2, 3])), ShapeError)).toContain(
      "[4, 2, 3]",
    );
    expect(errorOf(() => np.linalg.solve(np.ones([2, 3]), np.ones([2])), ShapeError)).toContain(
      "square",
    );
    expect(errorOf(() => np.linalg.slogdet(np.ones([3, 2])), ShapeError)).toContain("square");
  });

  it("solve with mismatched right-hand sides or batch axes", () => {
    const m = errorOf(() => np.linalg.solve(np.eye(3), np.ones([4])), ShapeError);
    expect(m).toContain("np.linalg.solve");
    expect(m).toContain("[4]");
    errorOf(() => np.linalg.solve(np.eye(3), np.ones([2, 3])), ShapeError);
    const batch = errorOf(
      () => np.linalg.solve(np.ones([2, 3, 3]), np.ones([4, 3, 1])),
      ShapeError,
    );
    expect(batch).toContain("[2, 3, 3]");
    expect(batch).toContain("[4, 3, 1]");
  });

  it("the primitives check shapes, batch axes and dtypes", () => {
    errorOf(() => bind1(cholesky, [np.ones([2, 3])], {}), ShapeError);
    errorOf(() => bind1(cholesky, [np.eye(2, { dtype: "int32" })], {}), DtypeError);
    const params = { leftSide: true, lower: true, transposeA: false, unitDiagonal: false };
    const batch = errorOf(
      () => bind1(triangularSolve, [np.ones([2, 3, 3]), np.ones([3, 3, 1])], params),
      ShapeError,
    );
    expect(batch).toContain("batch");
    errorOf(() => bind1(triangularSolve, [np.eye(3), np.ones([2, 1])], params), ShapeError);
    errorOf(
      () => bind1(triangularSolve, [np.eye(3), np.ones([3, 1], { dtype: "float64" })], params),
      DtypeError,
    );
    errorOf(() => bind(lu, [np.ones([3])], {}), ShapeError);
  });

  it("norms that need singular values, and bad orders or axes", () => {
    const m = np.ones([3, 3]);
    expect(errorOf(() => np.linalg.norm(m, { ord: 2 }), ValueError)).toContain("svd");
    expect(errorOf(() => np.linalg.norm(m, { ord: "nuc" }), ValueError)).toContain("svd");
    errorOf(() => np.linalg.norm(m, { ord: 3 }), ValueError);
    errorOf(() => np.linalg.norm(np.ones([3]), { ord: "fro" }), ValueError);
    errorOf(() => np.linalg.norm(np.ones([2, 2, 2]), { ord: 1 }), ValueError);
    errorOf(() => np.linalg.norm(m, { axis: [0, 0] }), ValueError);
    errorOf(() => np.linalg.norm(m, { axis: 2 }), ShapeError);
  });
});

/**
 * Sweep examples of the linear-algebra primitives (`linalg.ts`). Their inputs are fixed values,
 * not random ones: Cholesky needs positive-definite matrices, and the solves and LU need
 * well-conditioned ones whose pivots are not close to ties (so finite differences stay on one
 * branch of the pivoting).
 */
import type { ExampleInput, PrimitiveExample } from "../core/primitive.js";
import type { TriangularSolveParams } from "./linalg.js";

type Empty = Record<string, never>;

const matrix = (shape: readonly number[], values: readonly number[]): ExampleInput => ({
  shape,
  dtype: "float32",
  values,
});

export function choleskyExamples(): PrimitiveExample<Empty>[] {
  return (
    [
      [[1, 1], [2]],
      // The upper triangle is never read: 9 stands in for the symmetric 1.
      [
        [2, 2],
        [4, 9, 1, 3],
      ],
      [
        [3, 3],
        [4, 1, 0.5, 1, 3, 0.2, 0.5, 0.2, 2],
      ],
      [
        [2, 2, 2],
        [4, 1, 1, 3, 2, -0.5, -0.5, 1],
      ],
      [
        [1, 2, 2],
        [3, -1, -1, 2],
      ],
      [[0, 0], []],
      [[2, 0, 0], []],
    ] as const
  ).map(([shape, values]) => ({ inputs: [matrix(shape, values)], params: {} }));
}

/**
 * Diagonally dominant in both triangles, so it is well conditioned read as lower or upper,
 * with or without its diagonal.
 */
const dominant = [3, 0.5, -0.4, 0.2, 2.5, 0.3, -0.6, 0.1, 2];

export function triangularSolveExamples(): PrimitiveExample<TriangularSolveParams>[] {
  const params = (
    leftSide: boolean,
    lower: boolean,
    transposeA: boolean,
    unitDiagonal = false,
  ): TriangularSolveParams => ({ leftSide, lower, transposeA, unitDiagonal });
  const cases: readonly (readonly [ExampleInput, readonly number[], TriangularSolveParams])[] = [
    [matrix([3, 3], dominant), [3, 2], params(true, true, false)],
    [matrix([3, 3], dominant), [2, 3], params(false, true, false)],
    [matrix([3, 3], dominant), [3, 2], params(true, false, true)],
    [matrix([3, 3], dominant), [2, 3], params(false, false, true, true)],
    [matrix([3, 3], dominant), [3, 1], params(true, true, true, true)],
    [matrix([3, 3], dominant), [4, 3], params(false, false, false)],
    [
      matrix([2, 2, 2], [2, 0.5, -0.3, 1.5, 1.2, 0.4, 0.7, 3]),
      [2, 2, 3],
      params(true, false, false),
    ],
    [
      matrix([2, 2, 2], [2, 0.5, -0.3, 1.5, 1.2, 0.4, 0.7, 3]),
      [2, 1, 2],
      params(false, true, true),
    ],
    [matrix([1, 1], [1.5]), [1, 1], params(true, true, false)],
    [matrix([2, 2], [2, 0.3, -0.5, 1.5]), [2, 0], params(true, true, false)],
    [matrix([3, 3], dominant), [0, 3], params(false, true, false)],
    [matrix([0, 0], []), [0, 3], params(true, true, false)],
  ];
  return cases.map(([a, b, p]) => ({
    inputs: [a, { shape: b, dtype: "float32" }],
    params: p,
    linearIn: [1],
  }));
}

export function luExamples(): PrimitiveExample<Empty>[] {
  return (
    [
      [
        [3, 3],
        [1, 2, 0.5, 4, 1, 1, 2, 3, 5],
      ],
      [
        [2, 3],
        [1, 2, 0.5, 4, 1, 1],
      ],
      [
        [3, 2],
        [1, 2, 4, 1, 2, 3],
      ],
      [
        [4, 4],
        [2, 1, 0.5, -1, 0.5, -3, 1, 0.2, 1, 0.4, 2.5, -0.5, -0.3, 1, 0.6, 4],
      ],
      [
        [2, 2, 2],
        [1, 3, 4, -1, -2, 0.5, 0.3, 1],
      ],
      [[1, 1], [2]],
      [
        [1, 3],
        [2, -1, 0.5],
      ],
      [[0, 0], []],
      [[2, 0], []],
      [[0, 3], []],
    ] as const
  ).map(([shape, values]) => ({ inputs: [matrix(shape, values)], params: {} }));
}

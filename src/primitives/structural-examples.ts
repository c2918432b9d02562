/**
 * Sweep examples of the structural primitives (`structural.ts`), kept apart so that file stays a
 * readable size. Each list covers scalars, size-0 and size-1 axes, several ranks, and the
 * parameter cases that have their own code paths (strides, cropping, interior padding, …).
 */
import type { DType } from "../core/dtype.js";
import type { ExampleInput, PrimitiveExample } from "../core/primitive.js";
import type { BroadcastParams, IotaParams, PadConfig, SliceParams } from "./structural.js";

const f32 = (shape: readonly number[]): ExampleInput => ({ shape, dtype: "float32" });
const i32 = (shape: readonly number[]): ExampleInput => ({ shape, dtype: "int32" });

/** One example per case on a float operand (linear in it), plus the int32 cases as they are. */
function unaryCases<P>(
  floatCases: readonly (readonly [readonly number[], P])[],
  intCases: readonly (readonly [readonly number[], P])[] = [],
): PrimitiveExample<P>[] {
  return [
    ...floatCases.map(([shape, params]) => ({ inputs: [f32(shape)], params, linearIn: [0] })),
    ...intCases.map(([shape, params]) => ({ inputs: [i32(shape)], params })),
  ];
}

export const broadcastExamples = (): PrimitiveExample<BroadcastParams>[] =>
  unaryCases<BroadcastParams>(
    [
      [[], { shape: [2, 3], broadcastDimensions: [] }],
      [[], { shape: [], broadcastDimensions: [] }],
      [[3], { shape: [2, 3], broadcastDimensions: [1] }],
      [[3], { shape: [3, 2], broadcastDimensions: [0] }],
      // Size-1 axes stretch; a size-1 axis may also stay size 1.
      [[2, 1], { shape: [2, 4], broadcastDimensions: [0, 1] }],
      [[1, 3], { shape: [4, 2, 3], broadcastDimensions: [0, 2] }],
      [[1], { shape: [1, 2], broadcastDimensions: [0] }],
      // Operand axes placed out of order.
      [[2, 3], { shape: [3, 4, 2], broadcastDimensions: [2, 0] }],
      [[1, 3], { shape: [3, 2], broadcastDimensions: [1, 0] }],
      // Size-0 axes, in the operand and new ones.
      [[0], { shape: [2, 0], broadcastDimensions: [1] }],
      [[2], { shape: [2, 0], broadcastDimensions: [0] }],
      [[1], { shape: [0], broadcastDimensions: [0] }],
    ],
    [[[2], { shape: [3, 2], broadcastDimensions: [1] }]],
  );

export const reshapeExamples = (): PrimitiveExample<{ newSizes: readonly number[] }>[] =>
  unaryCases<{ newSizes: readonly number[] }>(
    [
      [[2, 3], { newSizes: [3, 2] }],
      [[6], { newSizes: [2, 1, 3] }],
      [[2, 3, 4], { newSizes: [4, 6] }],
      [[], { newSizes: [1, 1] }],
      [[1], { newSizes: [] }],
      [[2, 0], { newSizes: [0, 5] }],
      [[0], { newSizes: [3, 0] }],
      [[1, 4, 1], { newSizes: [4] }],
    ],
    [[[2, 3], { newSizes: [6] }]],
  );

export const transposeExamples = (): PrimitiveExample<{ permutation: readonly number[] }>[] =>
  unaryCases<{ permutation: readonly number[] }>(
    [
      [[2, 3], { permutation: [1, 0] }],
      [[2, 3, 4], { permutation: [2, 0, 1] }],
      [[2, 3, 4], { permutation: [1, 2, 0] }],
      [[2, 3, 4], { permutation: [0, 2, 1] }],
      [[2, 3], { permutation: [0, 1] }],
      [[], { permutation: [] }],
      [[1], { permutation: [0] }],
      [[0, 3], { permutation: [1, 0] }],
      [[2, 1, 3], { permutation: [2, 1, 0] }],
    ],
    [[[2, 3], { permutation: [1, 0] }]],
  );

const sliceParams = (start: number[], limit: number[], strides: number[]): SliceParams => ({
  start,
  limit,
  strides,
});

export const sliceExamples = (): PrimitiveExample<SliceParams>[] =>
  unaryCases<SliceParams>(
    [
      [[5], sliceParams([1], [4], [1])],
      [[7], sliceParams([0], [7], [3])],
      [[6], sliceParams([1], [6], [2])],
      [[6], sliceParams([2], [5], [4])],
      [[4, 5], sliceParams([1, 0], [3, 5], [1, 2])],
      [[3, 1, 4], sliceParams([0, 0, 1], [3, 1, 4], [2, 1, 2])],
      [[], sliceParams([], [], [])],
      // Empty results, and an empty operand.
      [[3], sliceParams([2], [2], [1])],
      [[3, 2], sliceParams([3, 0], [3, 2], [2, 1])],
      [[0, 2], sliceParams([0, 0], [0, 2], [1, 1])],
    ],
    [[[5], sliceParams([1], [5], [2])]],
  );

export const revExamples = (): PrimitiveExample<{ dimensions: readonly number[] }>[] =>
  unaryCases<{ dimensions: readonly number[] }>(
    [
      [[4], { dimensions: [0] }],
      [[2, 3], { dimensions: [0, 1] }],
      [[2, 3, 2], { dimensions: [1] }],
      [[2, 3, 2], { dimensions: [2, 0] }],
      [[3], { dimensions: [] }],
      [[], { dimensions: [] }],
      [[1, 3], { dimensions: [0] }],
      [[0, 2], { dimensions: [0, 1] }],
    ],
    [[[3, 2], { dimensions: [1] }]],
  );

export const concatenateExamples = (): PrimitiveExample<{ dimension: number }>[] => {
  const cases: readonly (readonly [readonly (readonly number[])[], number])[] = [
    [[[2], [3]], 0],
    [
      [
        [2, 3],
        [1, 3],
        [4, 3],
      ],
      0,
    ],
    [
      [
        [2, 1],
        [2, 0],
        [2, 3],
      ],
      1,
    ],
    [
      [
        [2, 2, 1],
        [2, 2, 2],
        [2, 2, 1],
      ],
      2,
    ],
    [[[3]], 0],
    [
      [
        [0, 2],
        [0, 2],
      ],
      0,
    ],
    [
      [
        [0, 2],
        [0, 1],
      ],
      1,
    ],
  ];
  return [
    ...cases.map(([shapes, dimension]) => ({
      inputs: shapes.map(f32),
      params: { dimension },
      linearIn: shapes.map((_, i) => i),
    })),
    { inputs: [i32([2, 2]), i32([2, 1])], params: { dimension: 1 } },
  ];
};

export const padExamples = (): PrimitiveExample<{ config: PadConfig }>[] => {
  const cases: readonly (readonly [readonly number[], PadConfig])[] = [
    [[3], [[1, 2, 0]]],
    [[3], [[0, 0, 2]]],
    [[4], [[-1, -2, 0]]],
    [[3], [[-3, 0, 1]]],
    [[3], [[-2, -1, 2]]],
    [
      [2, 3],
      [
        [1, -1, 1],
        [-2, 0, 2],
      ],
    ],
    [
      [1, 2],
      [
        [0, 0, 5],
        [1, 1, 0],
      ],
    ],
    [[], []],
    [[0], [[2, 1, 3]]],
    [
      [2, 0],
      [
        [0, 1, 0],
        [1, 1, 1],
      ],
    ],
  ];
  const example = (
    shape: readonly number[],
    config: PadConfig,
    dtype: DType,
  ): PrimitiveExample<{ config: PadConfig }> => ({
    inputs: [
      { shape, dtype },
      { shape: [], dtype },
    ],
    params: { config },
  });
  return [
    ...cases.map(([shape, config]) => ({ ...example(shape, config, "float32"), linearIn: [0, 1] })),
    example(
      [2, 2],
      [
        [1, -1, 1],
        [0, 2, 0],
      ] as const,
      "int32",
    ),
  ];
};

export const iotaExamples = (): PrimitiveExample<IotaParams>[] =>
  (
    [
      ["int32", [5], 0],
      ["int32", [2, 1, 3], 2],
      ["uint32", [3, 2], 0],
      ["float32", [2, 3], 1],
      ["float64", [4, 2], 0],
      ["int32", [1], 0],
      ["int32", [0, 3], 1],
      ["float32", [4, 0], 0],
    ] as const
  ).map(([dtype, shape, dimension]) => ({ inputs: [], params: { dtype, shape, dimension } }));

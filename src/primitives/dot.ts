/**
 * `dot_general`: batched tensor contraction, the primitive behind matmul, dot, einsum, tensordot.
 */
import { AbstractValue } from "../core/aval.js";
import { ShapeError } from "../core/errors.js";
import type { NDArray } from "../core/array.js";
import { definePrimitive, type Primitive, type PrimitiveExample } from "../core/primitive.js";
import { formatShape } from "../core/shape.js";
import { view, type ConcreteArray } from "../runtime/concrete.js";
import * as ops from "./ops.js";
import { bilinearJvp, bilinearTranspose } from "./rules.js";
import { checkDType, checkSameDType, concrete, output } from "./util.js";

export interface DotGeneralParams {
  /** Axes summed over: `[lhsAxes, rhsAxes]`, paired in order. */
  contracting: readonly [readonly number[], readonly number[]];
  /** Batch axes: `[lhsAxes, rhsAxes]`, paired in order; they lead the output. */
  batch: readonly [readonly number[], readonly number[]];
}

/** The axes of a rank-`ndim` operand that are not in `used`, in order. */
export function freeAxes(ndim: number, used: readonly number[]): number[] {
  const free: number[] = [];
  for (let i = 0; i < ndim; i++) if (!used.includes(i)) free.push(i);
  return free;
}

/** Whether the axes are distinct and in `[0, ndim)`. */
function validAxes(axes: readonly number[], ndim: number): boolean {
  for (let i = 0; i < axes.length; i++) {
    const a = axes[i]!;
    if (!(a >= 0 && a < ndim) || axes.indexOf(a) !== i) return false;
  }
  return true;
}

/** Output shape: batch axes, then lhs free axes, then rhs free axes. */
export function dotGeneralShape(
  lhs: readonly number[],
  rhs: readonly number[],
  { contracting, batch }: DotGeneralParams,
): number[] {
  const [lc, rc] = contracting;
  const [lb, rb] = batch;
  const describe = (): string =>
    `lhs shape ${formatShape(lhs)}, rhs shape ${formatShape(rhs)}, contracting ` +
    `${JSON.stringify(contracting)}, batch ${JSON.stringify(batch)}`;
  if (lc.length !== rc.length || lb.length !== rb.length) {
    throw new ShapeError("dot_general", `axis lists of lhs and rhs must pair up (${describe()}).`);
  }
  const all = lc.concat(lb);
  const allR = rc.concat(rb);
  if (!validAxes(all, lhs.length) || !validAxes(allR, rhs.length)) {
    throw new ShapeError("dot_general", `axes out of range or repeated (${describe()}).`);
  }
  lc.forEach((a, i) => {
    if (lhs[a] !== rhs[rc[i]!]) {
      throw new ShapeError(
        "dot_general",
        `contracting axes differ: lhs axis ${a} has size ${lhs[a]}, rhs axis ${rc[i]} has size ${rhs[rc[i]!]} (${describe()}).`,
      );
    }
  });
  lb.forEach((a, i) => {
    if (lhs[a] !== rhs[rb[i]!]) {
      throw new ShapeError(
        "dot_general",
        `batch axes differ: lhs axis ${a} has size ${lhs[a]}, rhs axis ${rb[i]} has size ${rhs[rb[i]!]} (${describe()}).`,
      );
    }
  });
  const shape = lb.map((a) => lhs[a]!);
  for (const a of freeAxes(lhs.length, all)) shape.push(lhs[a]!);
  for (const a of freeAxes(rhs.length, allR)) shape.push(rhs[a]!);
  return shape;
}

/**
 * A faster implementation installed by the runtime (WebAssembly SIMD kernels); it returns
 * `undefined` for cases it does not take (integer dtypes, tiny products).
 */
type FastDot = (
  lhs: ConcreteArray,
  rhs: ConcreteArray,
  params: DotGeneralParams,
  shape: readonly number[],
) => ConcreteArray | undefined;

let fastDot: FastDot | undefined;

/** Installs the fast `dot_general` (called once by the runtime). @internal */
export function installFastDot(f: FastDot): void {
  fastDot = f;
}

function permuted(x: ConcreteArray, perm: readonly number[]): Float64Array {
  const v = view(
    x,
    perm.map((p) => x.shape[p]!),
    perm.map((p) => x.strides[p]!),
    x.offset,
  );
  return new Float64Array(v.toTypedArray());
}

/** Positions of `axes` in ascending order: `rank[i]` = place of `axes[i]` once sorted. */
function ranks(axes: readonly number[]): number[] {
  const sorted = [...axes].sort((a, b) => a - b);
  return axes.map((a) => sorted.indexOf(a));
}

/**
 * The cotangent of the first operand of a dot_general from the cotangent `ct` of its output and
 * the other operand `y`. `swap` says the first operand is the rhs (so ct's free axes are ordered
 * [batch, lhsFree, rhsFree] with the roles exchanged).
 */
function transposeOperand(
  ct: NDArray,
  y: NDArray,
  xShape: readonly number[],
  params: DotGeneralParams,
  swap: boolean,
): NDArray {
  const [lc, rc] = params.contracting;
  const [lb, rb] = params.batch;
  const [xc, yc, xb, yb] = swap ? [rc, lc, rb, lb] : [lc, rc, lb, rb];
  const xFree = freeAxes(xShape.length, [...xc, ...xb]);
  const yFree = freeAxes(y.ndim, [...yc, ...yb]);
  const nb = xb.length;
  // ct's axes are [batch (nb), lhsFree, rhsFree]; the y-free ones contract with y.
  const lhsFreeCount = swap ? yFree.length : xFree.length;
  const ctYFree = yFree.map((_, i) => nb + (swap ? i : lhsFreeCount + i));
  const batchAxes = xb.map((_, i) => i);
  const result = ops.dotGeneral(ct, y, { contracting: [ctYFree, yFree], batch: [batchAxes, yb] });
  // result axes: [batch, x free (ct order), y's remaining = yc in ascending order].
  const position = new Array<number>(xShape.length);
  xb.forEach((a, i) => (position[a] = i));
  xFree.forEach((a, i) => (position[a] = nb + i));
  const order = ranks(yc);
  xc.forEach((a, i) => (position[a] = nb + xFree.length + order[i]!));
  return ops.transpose(result, position);
}

/**
 * Sweep examples: `[lhs shape, rhs shape, contracting, batch]`. Each float case is checked twice
 * for the transpose, linear in the lhs and in the rhs.
 */
const dotCases: readonly (readonly [
  readonly number[],
  readonly number[],
  DotGeneralParams["contracting"],
  DotGeneralParams["batch"],
])[] = [
  // matmul, matrix·vector, vector·vector, outer product, scalar times a matrix
  [
    [2, 3],
    [3, 4],
    [[1], [0]],
    [[], []],
  ],
  [[2, 3], [3], [[1], [0]], [[], []]],
  [[3], [3], [[0], [0]], [[], []]],
  [[2], [3], [[], []], [[], []]],
  [[], [2, 3], [[], []], [[], []]],
  // batched matmul, and batch axes in different places on each side
  [
    [2, 3, 4],
    [2, 4, 5],
    [[2], [1]],
    [[0], [0]],
  ],
  [
    [3, 2, 4],
    [4, 5, 2],
    [[2], [0]],
    [[1], [2]],
  ],
  [
    [2, 3, 4],
    [3, 2, 4, 2],
    [[2], [2]],
    [
      [0, 1],
      [1, 0],
    ],
  ],
  // several contracting axes, paired out of order
  [
    [2, 3, 4],
    [4, 3, 5],
    [
      [1, 2],
      [1, 0],
    ],
    [[], []],
  ],
  [
    [4, 2, 3],
    [3, 4],
    [
      [2, 0],
      [0, 1],
    ],
    [[], []],
  ],
  // contracting the lhs's leading axis with the rhs's trailing one
  [
    [3, 2],
    [4, 3],
    [[0], [1]],
    [[], []],
  ],
  // size-1 and size-0 axes: an empty sum gives zeros
  [
    [1, 3],
    [3, 1],
    [[1], [0]],
    [[], []],
  ],
  [
    [2, 0],
    [0, 3],
    [[1], [0]],
    [[], []],
  ],
  [
    [0, 3],
    [3, 2],
    [[1], [0]],
    [[], []],
  ],
  [
    [2, 0, 3],
    [2, 3, 4],
    [[2], [1]],
    [[0], [0]],
  ],
];

function dotExamples(): PrimitiveExample<DotGeneralParams>[] {
  return [
    ...dotCases.flatMap(([lhs, rhs, contracting, batch]) =>
      [[0], [1]].map((linearIn) => ({
        inputs: [
          { shape: lhs, dtype: "float32" as const },
          { shape: rhs, dtype: "float32" as const },
        ],
        params: { contracting, batch },
        linearIn,
      })),
    ),
    {
      inputs: [
        { shape: [2, 3], dtype: "int32" },
        { shape: [3, 2], dtype: "int32" },
      ],
      params: { contracting: [[1], [0]], batch: [[], []] },
    },
  ];
}

export const dotGeneral: Primitive<DotGeneralParams> = definePrimitive<DotGeneralParams>({
  name: "dot_general",
  linear: true,
  examples: dotExamples,
  jvp: bilinearJvp(ops.dotGeneral),
  transpose: bilinearTranspose(
    "dot_general",
    (ct, y, x, params) => transposeOperand(ct, y, x.aval.shape, params, false),
    (ct, x, y, params) => transposeOperand(ct, x, y.aval.shape, params, true),
  ),
  batch([x, y], [ax, ay], params) {
    const [lc, rc] = params.contracting;
    const [lb, rb] = params.batch;
    const shift = (axes: readonly number[]): number[] => axes.map((a) => a + 1);
    if (ax !== null && ay !== null) {
      const out = ops.dotGeneral(ops.moveAxis(x!, ax, 0), ops.moveAxis(y!, ay, 0), {
        contracting: [shift(lc), shift(rc)],
        batch: [
          [0, ...shift(lb)],
          [0, ...shift(rb)],
        ],
      });
      return [[out], [0]];
    }
    if (ax !== null) {
      const out = ops.dotGeneral(ops.moveAxis(x!, ax, 0), y!, {
        contracting: [shift(lc), rc],
        batch: [shift(lb), rb],
      });
      return [[out], [lb.length]];
    }
    const out = ops.dotGeneral(x!, ops.moveAxis(y!, ay!, 0), {
      contracting: [lc, shift(rc)],
      batch: [lb, shift(rb)],
    });
    return [[out], [lb.length + freeAxes(x!.ndim, [...lc, ...lb]).length]];
  },
  abstractEval([lhs, rhs], params) {
    checkSameDType("dot_general", [lhs!, rhs!]);
    checkDType("dot_general", lhs!, "numeric");
    return [
      new AbstractValue(
        dotGeneralShape(lhs!.shape, rhs!.shape, params),
        lhs!.dtype,
        lhs!.weakType && rhs!.weakType,
      ),
    ];
  },
  impl(inputs, params) {
    const [lhs, rhs] = concrete(inputs) as [ConcreteArray, ConcreteArray];
    const fast = fastDot?.(lhs, rhs, params, dotGeneralShape(lhs.shape, rhs.shape, params));
    if (fast !== undefined) return [fast];
    const [lc, rc] = params.contracting;
    const [lb, rb] = params.batch;
    const lf = freeAxes(lhs.ndim, [...lc, ...lb]);
    const rf = freeAxes(rhs.ndim, [...rc, ...rb]);
    const size = (x: ConcreteArray, axes: readonly number[]): number =>
      axes.reduce((n, a) => n * x.shape[a]!, 1);
    const B = size(lhs, lb);
    const M = size(lhs, lf);
    const K = size(lhs, lc);
    const N = size(rhs, rf);
    // lhs as [B, M, K] and rhs as [B, K, N]: read where they are (strides) when each group of
    // axes is one axis or none, else copied row-major first.
    const groups = [lb, lf, lc, rb, rc, rf];
    const direct = groups.every((axes) => axes.length <= 1);
    const stride = (x: ConcreteArray, axes: readonly number[], rowMajor: number): number =>
      direct ? (axes.length === 0 ? 0 : x.strides[axes[0]!]!) : rowMajor;
    const a = direct ? lhs.data : permuted(lhs, [...lb, ...lf, ...lc]);
    const b = direct ? rhs.data : permuted(rhs, [...rb, ...rc, ...rf]);
    const [a0, b0] = direct ? [lhs.offset, rhs.offset] : [0, 0];
    const [aB, aM, aK] = [stride(lhs, lb, M * K), stride(lhs, lf, K), stride(lhs, lc, 1)];
    const [bB, bK, bN] = [stride(rhs, rb, K * N), stride(rhs, rc, N), stride(rhs, rf, 1)];
    const shape = dotGeneralShape(lhs.shape, rhs.shape, params);
    const acc = new Float64Array(B * M * N);
    for (let batch = 0; batch < B; batch++) {
      const cBase = batch * M * N;
      for (let i = 0; i < M; i++) {
        const cRow = cBase + i * N;
        const aRow = a0 + batch * aB + i * aM;
        for (let k = 0; k < K; k++) {
          const aik = a[aRow + k * aK]!;
          const bRow = b0 + batch * bB + k * bK;
          for (let j = 0; j < N; j++) acc[cRow + j] += aik * b[bRow + j * bN]!;
        }
      }
    }
    return [output(shape, lhs.dtype, lhs.weakType && rhs.weakType, (out) => out.set(acc))];
  },
});

/**
 * `dot_general`: batched tensor contraction, the primitive behind matmul, dot, einsum, tensordot.
 */
import { AbstractValue } from "../core/aval.js";
import { ShapeError } from "../core/errors.js";
import { definePrimitive } from "../core/primitive.js";
import { formatShape } from "../core/shape.js";
import { view, type ConcreteArray } from "../runtime/concrete.js";
import { checkDType, checkSameDType, concrete, output } from "./util.js";

export interface DotGeneralParams {
  /** Axes summed over: `[lhsAxes, rhsAxes]`, paired in order. */
  contracting: readonly [readonly number[], readonly number[]];
  /** Batch axes: `[lhsAxes, rhsAxes]`, paired in order; they lead the output. */
  batch: readonly [readonly number[], readonly number[]];
}

function freeAxes(ndim: number, used: readonly number[]): number[] {
  return Array.from({ length: ndim }, (_, i) => i).filter((i) => !used.includes(i));
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
  const all = [...lc, ...lb];
  const allR = [...rc, ...rb];
  if (
    all.some((a) => a < 0 || a >= lhs.length) ||
    allR.some((a) => a < 0 || a >= rhs.length) ||
    new Set(all).size !== all.length ||
    new Set(allR).size !== allR.length
  ) {
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
  return [
    ...lb.map((a) => lhs[a]!),
    ...freeAxes(lhs.length, all).map((a) => lhs[a]!),
    ...freeAxes(rhs.length, allR).map((a) => rhs[a]!),
  ];
}

function permuted(x: ConcreteArray, perm: readonly number[]): Float64Array {
  const v = view(
    x,
    perm.map((p) => x.shape[p]!),
    perm.map((p) => x.strides[p]!),
    x.offset,
  );
  return Float64Array.from(v.toTypedArray());
}

export const dotGeneral = definePrimitive<DotGeneralParams>({
  name: "dot_general",
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
    // lhs as [B, M, K] and rhs as [B, K, N], row-major.
    const a = permuted(lhs, [...lb, ...lf, ...lc]);
    const b = permuted(rhs, [...rb, ...rc, ...rf]);
    const shape = dotGeneralShape(lhs.shape, rhs.shape, params);
    const acc = new Float64Array(B * M * N);
    for (let batch = 0; batch < B; batch++) {
      const aBase = batch * M * K;
      const bBase = batch * K * N;
      const cBase = batch * M * N;
      for (let i = 0; i < M; i++) {
        const cRow = cBase + i * N;
        for (let k = 0; k < K; k++) {
          const aik = a[aBase + i * K + k]!;
          const bRow = bBase + k * N;
          for (let j = 0; j < N; j++) acc[cRow + j] += aik * b[bRow + j]!;
        }
      }
    }
    return [output(shape, lhs.dtype, lhs.weakType && rhs.weakType, (out) => out.set(acc))];
  },
});

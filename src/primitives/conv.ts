/**
 * `conv_general_dilated`: N-d convolution (cross-correlation, as in every deep-learning library)
 * with window strides, explicit padding (negative pads crop), input (lhs) dilation, kernel (rhs)
 * dilation, feature groups and batch groups, with XLA's semantics. Layouts are fixed: the input
 * is `[N, C, ...spatial]`, the kernel `[O, I, ...window]`, the output `[N', O, ...spatial']`
 * (NCHW / OIHW / NCHW); other layouts are transposes around it.
 *
 * The transpose rules follow XLA's (as JAX derives them): the input's cotangent is a
 * convolution of the output's cotangent with the spatially reversed kernel (strides become
 * input dilation), the kernel's is a convolution of the input with the output's cotangent
 * (batch and feature axes exchanged; feature groups become batch groups and back).
 */
import { AbstractValue } from "../core/aval.js";
import type { NDArray } from "../core/array.js";
import { ShapeError } from "../core/errors.js";
import { definePrimitive, type Primitive, type PrimitiveExample } from "../core/primitive.js";
import { bind1 } from "../core/trace.js";
import { formatShape } from "../core/shape.js";
import type { ConcreteArray } from "../runtime/concrete.js";
import { convImpl } from "./conv-impl.js";
import * as ops from "./ops.js";
import { bilinearJvp, bilinearTranspose } from "./rules.js";
import { concatenate, rev, slice } from "./structural.js";
import { checkDType, checkSameDType, concrete } from "./util.js";

export interface ConvParams {
  /** Step of the window in each spatial dimension. */
  windowStrides: readonly number[];
  /** `[low, high]` padding of each spatial dimension of the (dilated) input; may be negative. */
  padding: readonly (readonly [number, number])[];
  /** Input dilation: `d - 1` zeros between neighbouring input elements (transposed convolution). */
  lhsDilation: readonly number[];
  /** Kernel dilation: `d - 1` holes between kernel taps (atrous convolution). */
  rhsDilation: readonly number[];
  /** Input features in this many groups, each convolved with its own slice of the kernel. */
  featureGroupCount: number;
  /** Input batch in this many groups, each producing its own slice of the output features. */
  batchGroupCount: number;
}

/** Size of `size` elements with `d - 1` holes between neighbours. */
export const dilateDim = (size: number, d: number): number => (size === 0 ? 0 : 1 + d * (size - 1));

/** Output shape of a convolution (throws a ShapeError naming what does not fit). */
export function convShape(
  lhs: readonly number[],
  rhs: readonly number[],
  p: ConvParams,
  where = "conv",
): number[] {
  const spatial = lhs.length - 2;
  const describe = (): string =>
    `input ${formatShape(lhs)} (N, C, ...spatial), kernel ${formatShape(rhs)} (O, I, ...window)`;
  if (lhs.length !== rhs.length || lhs.length < 2) {
    throw new ShapeError(
      where,
      `the input and the kernel need the same rank (at least 2), got ${describe()}.`,
    );
  }
  for (const [name, list] of [
    ["strides", p.windowStrides],
    ["padding", p.padding],
    ["lhsDilation", p.lhsDilation],
    ["rhsDilation", p.rhsDilation],
  ] as const) {
    if (list.length !== spatial) {
      throw new ShapeError(
        where,
        `${name} needs one entry per spatial dimension (${spatial}), got ${list.length}.`,
      );
    }
  }
  for (const list of [p.windowStrides, p.lhsDilation, p.rhsDilation]) {
    if (list.some((v) => !Number.isInteger(v) || v < 1)) {
      throw new ShapeError(
        where,
        `strides and dilations must be whole numbers ≥ 1, got [${list.join(", ")}].`,
      );
    }
  }
  const [n, c] = [lhs[0]!, lhs[1]!];
  const [o, i] = [rhs[0]!, rhs[1]!];
  const g = p.featureGroupCount;
  const b = p.batchGroupCount;
  if (!Number.isInteger(g) || g < 1 || !Number.isInteger(b) || b < 1 || (g > 1 && b > 1)) {
    throw new ShapeError(
      where,
      `featureGroupCount and batchGroupCount must be whole numbers ≥ 1, at most one of them above 1 (got ${g} and ${b}).`,
    );
  }
  if (c % g !== 0 || c / g !== i) {
    throw new ShapeError(
      where,
      `the input has ${c} features; in ${g} group(s) that is ${c / g} per group, but the kernel takes ${i} (${describe()}).`,
    );
  }
  if (o % g !== 0 || o % b !== 0) {
    throw new ShapeError(
      where,
      `the kernel's ${o} output features must divide into ${Math.max(g, b)} group(s) (${describe()}).`,
    );
  }
  if (n % b !== 0) {
    throw new ShapeError(where, `the batch of ${n} does not divide into ${b} batch groups.`);
  }
  const out = lhs.slice(2).map((size, d) => {
    const padded = dilateDim(size, p.lhsDilation[d]!) + p.padding[d]![0] + p.padding[d]![1];
    if (padded < 0) {
      throw new ShapeError(
        where,
        `negative padding [${p.padding[d]!.join(", ")}] is larger than spatial dimension ${d} (size ${size}).`,
      );
    }
    const window = dilateDim(rhs[2 + d]!, p.rhsDilation[d]!);
    return Math.max(0, Math.floor((padded - window) / p.windowStrides[d]!) + 1);
  });
  return [n / b, o, ...out];
}

// ── transposes ─────────────────────────────────────────────────────────────────────────────

const conv = (lhs: NDArray, rhs: NDArray, p: ConvParams): NDArray =>
  bind1(convGeneralDilated, [lhs, rhs], p);

/** Swaps the first two axes. */
const swap01 = (x: NDArray): NDArray =>
  ops.transpose(x, [1, 0, ...Array.from({ length: x.ndim - 2 }, (_, i) => i + 2)]);

/** Splits axis `axis` into `[size, rest]`. */
function axisOutOf(axis: number, size: number, x: NDArray): NDArray {
  const shape = [...x.shape];
  shape.splice(axis, 1, size, x.shape[axis]! / size);
  return ops.reshape(x, shape);
}

/** Moves axis `src` next to (before) axis `dst` (numbered without `src`) and merges them. */
function axisInto(src: number, dst: number, x: NDArray): NDArray {
  const perm = Array.from({ length: x.ndim }, (_, i) => i).filter((i) => i !== src);
  perm.splice(dst, 0, src);
  const moved = ops.transpose(x, perm);
  const shape = perm.map((i) => x.shape[i]!);
  shape.splice(dst, 2, shape[dst]! * shape[dst + 1]!);
  return ops.reshape(moved, shape);
}

function transposeLhs(
  ct: NDArray,
  rhs: NDArray,
  lhsShape: readonly number[],
  p: ConvParams,
): NDArray {
  const spatialAxes = Array.from({ length: rhs.ndim - 2 }, (_, i) => i + 2);
  const groups = Math.max(p.featureGroupCount, p.batchGroupCount);
  let kernel = rhs;
  if (groups > 1) kernel = axisInto(0, 1, axisOutOf(0, groups, kernel));
  // Output and input features exchange roles: [I, O, ...] (grouped: [G·I, O/G, ...]).
  kernel = bind1(rev, [swap01(kernel)], { dimensions: spatialAxes });
  const padding = lhsShape.slice(2).map((size, d): [number, number] => {
    const lhsDilated = dilateDim(size, p.lhsDilation[d]!);
    const rhsDilated = dilateDim(rhs.shape[2 + d]!, p.rhsDilation[d]!);
    const outDilated = dilateDim(ct.shape[2 + d]!, p.windowStrides[d]!);
    const before = rhsDilated - p.padding[d]![0] - 1;
    return [before, lhsDilated + rhsDilated - 1 - outDilated - before];
  });
  let out = conv(ct, kernel, {
    windowStrides: p.lhsDilation,
    padding,
    lhsDilation: p.windowStrides,
    rhsDilation: p.rhsDilation,
    featureGroupCount: groups,
    batchGroupCount: 1,
  });
  if (p.batchGroupCount > 1) out = axisInto(1, 0, axisOutOf(1, p.batchGroupCount, out));
  return out;
}

function transposeRhs(
  ct: NDArray,
  lhs: NDArray,
  rhsShape: readonly number[],
  p: ConvParams,
): NDArray {
  if (ct.size === 0) return ops.fill(ops.constant(0, ct), rhsShape);
  const padding = lhs.shape.slice(2).map((size, d): [number, number] => {
    const lhsDilated = dilateDim(size, p.lhsDilation[d]!);
    const rhsDilated = dilateDim(rhsShape[2 + d]!, p.rhsDilation[d]!);
    const outDilated = dilateDim(ct.shape[2 + d]!, p.windowStrides[d]!);
    const lo = p.padding[d]![0];
    return [lo, outDilated - lhsDilated + (rhsDilated - lo - 1)];
  });
  // Batch and features exchange roles; feature groups become batch groups and back.
  const out = conv(swap01(lhs), swap01(ct), {
    windowStrides: p.rhsDilation,
    padding,
    lhsDilation: p.lhsDilation,
    rhsDilation: p.windowStrides,
    featureGroupCount: p.batchGroupCount,
    batchGroupCount: p.featureGroupCount,
  });
  return swap01(out);
}

// ── batching ───────────────────────────────────────────────────────────────────────────────

/** Merges axis 0 into axis `into` (as its major part) — `[B, ..., X, ...]` → `[..., B·X, ...]`. */
const mergeFront = (x: NDArray, into: number): NDArray => axisInto(0, into, x);

function batchConv(
  [x, w]: readonly NDArray[],
  [ax, aw]: readonly (number | null)[],
  p: ConvParams,
): [NDArray[], (number | null)[]] {
  const lhs = ax === null ? x! : ops.moveAxis(x!, ax, 0);
  const rhs = aw === null ? w! : ops.moveAxis(w!, aw, 0);
  const size = (ax === null ? rhs : lhs).shape[0]!;
  if (p.batchGroupCount === 1 && ax !== null && aw === null) {
    // The vmapped axis joins the batch.
    const out = conv(mergeFront(lhs, 0), rhs, p);
    return [[axisOutOf(0, size, out)], [0]];
  }
  if (p.batchGroupCount === 1 && ax === null && aw !== null && p.featureGroupCount === 1) {
    // The vmapped axis joins the output features.
    const out = conv(lhs, mergeFront(rhs, 0), p);
    return [[axisOutOf(1, size, out)], [1]];
  }
  if (p.batchGroupCount === 1 && ax !== null && aw !== null) {
    // Each vmapped example is its own feature group.
    const out = conv(mergeFront(lhs, 1), mergeFront(rhs, 0), {
      ...p,
      featureGroupCount: size * p.featureGroupCount,
    });
    return [[axisOutOf(1, size, out)], [1]];
  }
  // Batch groups (and kernels batched under feature groups): one convolution per example.
  const pick = (a: NDArray, batched: boolean, i: number): NDArray =>
    batched ? ops.reshape(sliceFront(a, i), a.shape.slice(1)) : a;
  const outs = Array.from({ length: size }, (_, i) => {
    const out = conv(pick(lhs, ax !== null, i), pick(rhs, aw !== null, i), p);
    return ops.reshape(out, [1, ...out.shape]);
  });
  return [[bind1(concatenate, outs, { dimension: 0 })], [0]];
}

/** `x[i:i+1]` along axis 0. */
function sliceFront(x: NDArray, i: number): NDArray {
  return bind1(slice, [x], {
    start: x.shape.map((_, d) => (d === 0 ? i : 0)),
    limit: x.shape.map((s, d) => (d === 0 ? i + 1 : s)),
    strides: x.shape.map(() => 1),
  });
}

// ── the primitive ──────────────────────────────────────────────────────────────────────────

const plain = (spatial: number): ConvParams => ({
  windowStrides: new Array<number>(spatial).fill(1),
  padding: Array.from({ length: spatial }, () => [0, 0] as const),
  lhsDilation: new Array<number>(spatial).fill(1),
  rhsDilation: new Array<number>(spatial).fill(1),
  featureGroupCount: 1,
  batchGroupCount: 1,
});

/** Sweep examples: `[input shape, kernel shape, params]`, each linear in either operand. */
const convCases: readonly (readonly [readonly number[], readonly number[], ConvParams])[] = [
  // 1-d, 2-d, no spatial dimensions
  [[2, 3, 5], [4, 3, 2], plain(1)],
  [[1, 2, 4, 5], [3, 2, 2, 3], plain(2)],
  [[2, 3], [4, 3], plain(0)],
  // strides, padding (negative crops), dilations
  [[2, 2, 7], [3, 2, 3], { ...plain(1), windowStrides: [2], padding: [[1, 2]] }],
  [[1, 2, 6], [2, 2, 2], { ...plain(1), padding: [[-1, 1]], rhsDilation: [2] }],
  [[1, 2, 4], [3, 2, 3], { ...plain(1), lhsDilation: [2], padding: [[2, 1]], windowStrides: [2] }],
  [
    [1, 1, 5, 4],
    [2, 1, 2, 2],
    {
      ...plain(2),
      windowStrides: [2, 1],
      padding: [
        [1, 0],
        [0, 1],
      ],
      rhsDilation: [1, 2],
    },
  ],
  // feature groups (depthwise when I = 1) and batch groups
  [[2, 4, 5], [6, 2, 2], { ...plain(1), featureGroupCount: 2 }],
  [[1, 3, 4], [3, 1, 3], { ...plain(1), featureGroupCount: 3, padding: [[1, 1]] }],
  [[4, 2, 5], [4, 2, 2], { ...plain(1), batchGroupCount: 2 }],
  // empty output
  [[1, 1, 2], [1, 1, 3], plain(1)],
];

function convExamples(): PrimitiveExample<ConvParams>[] {
  return [
    ...convCases.flatMap(([lhs, rhs, params]) =>
      [[0], [1]].map((linearIn) => ({
        inputs: [
          { shape: lhs, dtype: "float32" as const },
          { shape: rhs, dtype: "float32" as const },
        ],
        params,
        linearIn,
      })),
    ),
    {
      inputs: [
        { shape: [1, 2, 5], dtype: "float64" },
        { shape: [2, 2, 3], dtype: "float64" },
      ],
      params: { ...plain(1), windowStrides: [2], padding: [[1, 1]] },
    },
  ];
}

export const convGeneralDilated: Primitive<ConvParams> = definePrimitive<ConvParams>({
  name: "conv_general_dilated",
  linear: true,
  examples: convExamples,
  formatParams: (p) =>
    [
      `window_strides=(${p.windowStrides.join(",")})`,
      `padding=(${p.padding.map((q) => `(${q.join(",")})`).join(",")})`,
      ...(p.lhsDilation.some((d) => d !== 1) ? [`lhs_dilation=(${p.lhsDilation.join(",")})`] : []),
      ...(p.rhsDilation.some((d) => d !== 1) ? [`rhs_dilation=(${p.rhsDilation.join(",")})`] : []),
      ...(p.featureGroupCount > 1 ? [`feature_group_count=${p.featureGroupCount}`] : []),
      ...(p.batchGroupCount > 1 ? [`batch_group_count=${p.batchGroupCount}`] : []),
    ].join(" "),
  jvp: bilinearJvp(conv),
  transpose: bilinearTranspose(
    "conv",
    (ct, w, x, params) => transposeLhs(ct, w, x.aval.shape, params),
    (ct, x, w, params) => transposeRhs(ct, x, w.aval.shape, params),
  ),
  batch: (inputs, axes, params) => batchConv(inputs, axes, params),
  abstractEval([lhs, rhs], params) {
    checkSameDType("conv", [lhs!, rhs!]);
    checkDType("conv", lhs!, "numeric");
    return [
      new AbstractValue(
        convShape(lhs!.shape, rhs!.shape, params),
        lhs!.dtype,
        lhs!.weakType && rhs!.weakType,
      ),
    ];
  },
  impl(inputs, params) {
    const [lhs, rhs] = concrete(inputs) as [ConcreteArray, ConcreteArray];
    return [convImpl(lhs, rhs, params, convShape(lhs.shape, rhs.shape, params))];
  },
});

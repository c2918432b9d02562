/**
 * Reductions (sum, prod, max, min, and, or over axes), argmax/argmin and cumulative scans.
 */
import { AbstractValue } from "../core/aval.js";
import type { NDArray } from "../core/array.js";
import { allocate, isFloating, type DType, type TypedArray } from "../core/dtype.js";
import { ShapeError } from "../core/errors.js";
import {
  definePrimitive,
  type Primitive,
  type PrimitiveExample,
  type PrimitiveSpec,
} from "../core/primitive.js";
import { bind1 } from "../core/trace.js";
import { contiguousStrides, formatShape } from "../core/shape.js";
import type { ConcreteArray } from "../runtime/concrete.js";
import { fromAxisLast, withAxesLast } from "../runtime/layout.js";
import { reduceStrided } from "../runtime/strided.js";
import * as ops from "./ops.js";
import { linearJvp, zeroJvp } from "./rules.js";
import { iota, pad, rev } from "./structural.js";
import { checkDType, concrete, output, type DTypeClass } from "./util.js";

interface AxesParams {
  axes: readonly number[];
}

function checkAxes(name: string, aval: AbstractValue, axes: readonly number[]): void {
  for (const a of axes) {
    if (!Number.isInteger(a) || a < 0 || a >= aval.ndim) {
      throw new ShapeError(name, `axis ${a} is out of range for shape ${formatShape(aval.shape)}.`);
    }
  }
}

/** The elements of `x` with `axes` moved last, contiguous: one block per output element. */
function groupByOutput(x: ConcreteArray, axes: readonly number[]): [TypedArray, number[], number] {
  const kept = x.shape.map((d, i) => (axes.includes(i) ? -1 : d)).filter((d) => d >= 0);
  const groupSize = axes.reduce((n, a) => n * x.shape[a]!, 1);
  return [withAxesLast(x, axes), kept, groupSize];
}

/**
 * `x` reduced over `axes` with `step`, each output's elements taken in row-major order of the
 * reduced axes and accumulated in float64 (then stored in x's dtype), whatever x's layout.
 */
function reduceConcrete(
  x: ConcreteArray,
  axes: readonly number[],
  init: number,
  step: (acc: number, x: number) => number,
): ConcreteArray {
  const shape = x.shape.filter((_, i) => !axes.includes(i));
  return output(shape, x.dtype, x.weakType, (out) => {
    const acc = new Float64Array(out.length).fill(init);
    const keptStrides = contiguousStrides(shape);
    let k = 0;
    const accStrides = x.shape.map((_, i) => (axes.includes(i) ? 0 : keptStrides[k++]!));
    reduceStrided(x.shape, x, acc, accStrides, step);
    out.set(acc);
  });
}

const add = (a: number, x: number): number => a + x;

interface ReduceSpec {
  name: string;
  dtypes: DTypeClass;
  init: number;
  step: (acc: number, x: number) => number;
  /** Sweep inputs (default: floats in [-2, 2]); and whether size-0 reductions are allowed. */
  sweep?: { dtype?: DType; range?: readonly [number, number]; empty: boolean };
  /** The output tangent from input, output, input tangent and axes; `null`: zero derivative. */
  jvp: ((x: NDArray, out: NDArray, t: NDArray, axes: readonly number[]) => NDArray) | null;
  /** A faster path for some inputs (WebAssembly), computing the same values. */
  fast?: (x: ConcreteArray, axes: readonly number[]) => ConcreteArray | undefined;
}

/** `out` (reduced over `axes`) broadcast back to the shape of `x`. */
function expandBack(out: NDArray, x: NDArray, axes: readonly number[]): NDArray {
  const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  return ops.broadcast(out, x.shape, kept);
}

function shiftAxes(axes: readonly number[], batchAxis: number): number[] {
  return axes.map((a) => (a >= batchAxis ? a + 1 : a));
}

function reduceAbstractEval(name: string, dtypes: DTypeClass) {
  return ([x]: readonly AbstractValue[], { axes }: AxesParams): AbstractValue[] => {
    checkDType(name, x!, dtypes);
    checkAxes(name, x!, axes);
    return [
      new AbstractValue(
        x!.shape.filter((_, i) => !axes.includes(i)),
        x!.dtype,
        x!.weakType,
      ),
    ];
  };
}

const reductionCases: readonly (readonly [readonly number[], readonly number[]])[] = [
  [[2, 3], [1]],
  [[2, 3], [0]],
  [
    [2, 3],
    [0, 1],
  ],
  [[4], []],
  [
    [2, 1, 3],
    [0, 2],
  ],
  [[], []],
];

function reductionExamples(
  dtype: DType,
  range: readonly [number, number] | undefined,
  empty: boolean,
): PrimitiveExample<AxesParams>[] {
  const cases = empty ? [...reductionCases, [[0, 3], [0]] as const] : reductionCases;
  return cases.map(([shape, axes]) => ({
    inputs: [{ shape, dtype, ...(range && { range }) }],
    params: { axes },
  }));
}

function reduction(spec: ReduceSpec): Primitive<AxesParams> {
  const primitive: Primitive<AxesParams> = definePrimitive<AxesParams>({
    name: spec.name,
    examples: () =>
      reductionExamples(
        spec.sweep?.dtype ?? "float32",
        spec.sweep?.range,
        spec.sweep?.empty ?? false,
      ),
    abstractEval: reduceAbstractEval(spec.name, spec.dtypes),
    linear: false,
    jvp([x], [t], params) {
      const out = bind1(primitive, [x!], params);
      if (spec.jvp === null || t === null || !isFloating(out.dtype)) return [[out], [null]];
      return [[out], [spec.jvp(x!, out, t, params.axes)]];
    },
    batch([x], [axis], { axes }) {
      const out = bind1(primitive, [ops.moveAxis(x!, axis!, 0)], { axes: shiftAxes(axes, 0) });
      return [[out], [0]];
    },
    impl(inputs, { axes }) {
      const x = concrete(inputs)[0]!;
      return [spec.fast?.(x, axes) ?? reduceConcrete(x, axes, spec.init, spec.step)];
    },
  });
  return primitive;
}

const nanMax = (a: number, x: number): number => (a !== a || x !== x ? NaN : x > a ? x : a);
const nanMin = (a: number, x: number): number => (a !== a || x !== x ? NaN : x < a ? x : a);

/**
 * A faster `reduce_sum` for the cases it takes (float column sums, on WebAssembly), installed by
 * the runtime; `undefined` for the rest. It must sum in this loop's order and precision.
 */
type FastReduceSum = (x: ConcreteArray, axes: readonly number[]) => ConcreteArray | undefined;
let fastReduceSum: FastReduceSum | undefined;

/**
 * A faster `reduce_max` / `reduce_min` for the cases it takes (float arrays, on WebAssembly),
 * installed by the runtime; `undefined` for the rest. The same order and NaN rule as `nanMax`.
 */
type FastReduceExtremum = (
  op: "max" | "min",
  x: ConcreteArray,
  axes: readonly number[],
) => ConcreteArray | undefined;
let fastReduceExtremum: FastReduceExtremum | undefined;

/** Installs the fast `reduce_max` / `reduce_min` (called once by the runtime). @internal */
export function installFastReduceExtremum(f: FastReduceExtremum): void {
  fastReduceExtremum = f;
}

/** Installs the fast `reduce_sum` (called once by the runtime). @internal */
export function installFastReduceSum(f: FastReduceSum): void {
  fastReduceSum = f;
}

/** Sum over axes: linear, so it has a transpose rule (broadcasting the cotangent back). */
export const reduceSum: Primitive<AxesParams> = definePrimitive<AxesParams>({
  name: "reduce_sum",
  linear: true,
  examples: () =>
    reductionExamples("float32", undefined, true).map((e) => ({ ...e, linearIn: [0] })),
  abstractEval: reduceAbstractEval("reduce_sum", "numeric"),
  impl([x], params) {
    const c = concrete([x!])[0]!;
    const fast = fastReduceSum?.(c, params.axes);
    if (fast !== undefined) return [fast];
    return [reduceConcrete(c, params.axes, 0, add)];
  },
  jvp: (primals, tangents, params) => linearJvp(reduceSum)(primals, tangents, params),
  transpose: ([ct], [x], { axes }) => {
    if (ct === null) return [null];
    const shape = x!.aval.shape;
    const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
    return [ops.broadcast(ct, shape, kept)];
  },
  batch: ([x], [axis], { axes }) => [
    [ops.reduceSum(ops.moveAxis(x!, axis!, 0), shiftAxes(axes, 0))],
    [0],
  ],
});
/** Product over axes. Its derivative uses products of the other elements, so zeros are exact. */
export const reduceProd = reduction({
  name: "reduce_prod",
  dtypes: "numeric",
  sweep: { empty: true },
  init: 1,
  step: (a, x) => a * x,
  jvp(x, _out, t, axes) {
    // Move the reduced axes last and flatten them: [kept..., R].
    const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
    const perm = [...kept, ...axes];
    const flatShape = [...kept.map((k) => x.shape[k]!), axes.reduce((n, a) => n * x.shape[a]!, 1)];
    const xs = ops.reshape(ops.transpose(x, perm), flatShape);
    const ts = ops.reshape(ops.transpose(t, perm), flatShape);
    const last = flatShape.length - 1;
    return ops.reduceSum(ops.mul(ts, productOfOthers(xs, last)), [last]);
  },
});
/** Maximum over axes; NaN propagates; the identity of an empty reduction is -inf. */
export const reduceMax = reduction({
  name: "reduce_max",
  dtypes: "any",
  init: -Infinity,
  step: nanMax,
  jvp: (x, out, t, axes) => extremumJvp(x, out, t, axes),
  fast: (x, axes) => fastReduceExtremum?.("max", x, axes),
});
/** Minimum over axes; NaN propagates; the identity of an empty reduction is +inf. */
export const reduceMin = reduction({
  name: "reduce_min",
  dtypes: "any",
  init: Infinity,
  step: nanMin,
  jvp: (x, out, t, axes) => extremumJvp(x, out, t, axes),
  fast: (x, axes) => fastReduceExtremum?.("min", x, axes),
});
export const reduceAnd = reduction({
  name: "reduce_and",
  dtypes: "bool",
  sweep: { dtype: "bool", empty: true },
  init: 1,
  step: (a, x) => a & (x !== 0 ? 1 : 0),
  jvp: null,
});
export const reduceOr = reduction({
  name: "reduce_or",
  dtypes: "bool",
  sweep: { dtype: "bool", empty: true },
  init: 0,
  step: (a, x) => a | (x !== 0 ? 1 : 0),
  jvp: null,
});

/** The tangent of a max/min: the mean of the tangents at the places that attain it (as JAX). */
function extremumJvp(x: NDArray, out: NDArray, t: NDArray, axes: readonly number[]): NDArray {
  const hits = ops.convert(ops.eq(x, expandBack(out, x, axes)), x.dtype, false);
  const counts = ops.reduceSum(hits, axes);
  return ops.div(ops.reduceSum(ops.mul(t, hits), axes), counts);
}

/**
 * For `x` of shape `[..., n]`: `out[..., j] = prod_{k != j} x[..., k]`, from exclusive cumulative
 * products from both ends (no division, so zeros are handled exactly).
 */
function productOfOthers(x: NDArray, axis: number): NDArray {
  const n = x.shape[axis]!;
  if (n === 0) return x;
  const one = ops.constant(1, x);
  const before = bind1(pad, [bind1(cumprod, [x], { axis, reverse: false }), one], {
    config: x.shape.map(
      (_, i) => (i === axis ? [1, -1, 0] : [0, 0, 0]) as [number, number, number],
    ),
  });
  const after = bind1(pad, [bind1(cumprod, [x], { axis, reverse: true }), one], {
    config: x.shape.map(
      (_, i) => (i === axis ? [-1, 1, 0] : [0, 0, 0]) as [number, number, number],
    ),
  });
  return ops.mul(before, after);
}

interface ArgParams {
  axis: number;
  indexDType: DType;
}

function argReduction(
  name: string,
  better: (x: number, best: number) => boolean,
): Primitive<ArgParams> {
  const primitive: Primitive<ArgParams> = definePrimitive<ArgParams>({
    name,
    linear: false,
    examples: () => [
      { inputs: [{ shape: [2, 3], dtype: "float32" }], params: { axis: 1, indexDType: "int32" } },
      { inputs: [{ shape: [4], dtype: "float32" }], params: { axis: 0, indexDType: "int32" } },
      { inputs: [{ shape: [3, 2, 2], dtype: "int32" }], params: { axis: 0, indexDType: "int32" } },
    ],
    jvp: (primals, tangents, params) => zeroJvp(primitive)(primals, tangents, params),
    batch: ([x], [axis], params) => [
      [bind1(primitive, [ops.moveAxis(x!, axis!, 0)], { ...params, axis: params.axis + 1 })],
      [0],
    ],
    abstractEval([x], { axis, indexDType }) {
      checkAxes(name, x!, [axis]);
      if (x!.shape[axis] === 0) {
        throw new ShapeError(
          name,
          `cannot take ${name} over axis ${axis} of size 0 (shape ${formatShape(x!.shape)}).`,
        );
      }
      return [
        new AbstractValue(
          x!.shape.filter((_, i) => i !== axis),
          indexDType,
        ),
      ];
    },
    impl(inputs, { axis, indexDType }) {
      const x = concrete(inputs)[0]!;
      const [flat, shape, group] = groupByOutput(x, [axis]);
      return [
        output(shape, indexDType, false, (out) => {
          for (let o = 0; o < out.length; o++) {
            const base = o * group;
            let best = flat[base]!;
            let at = 0;
            for (let k = 1; k < group && best === best; k++) {
              const v = flat[base + k]!;
              if (v !== v || better(v, best)) {
                best = v;
                at = k;
              }
            }
            out[o] = at;
          }
        }),
      ];
    },
  });
  return primitive;
}

/** Index of the first maximum along `axis` (the first NaN if there is one). */
export const argmax = argReduction("argmax", (x, best) => x > best);
/** Index of the first minimum along `axis` (the first NaN if there is one). */
export const argmin = argReduction("argmin", (x, best) => x < best);

interface CumulativeParams {
  axis: number;
  reverse: boolean;
}

function cumulative(
  name: string,
  dtypes: DTypeClass,
  step: (acc: number, x: number) => number,
  rules: (
    self: () => Primitive<CumulativeParams>,
  ) => Pick<PrimitiveSpec<CumulativeParams>, "jvp" | "linear" | "transpose">,
): Primitive<CumulativeParams> {
  const primitive: Primitive<CumulativeParams> = definePrimitive<CumulativeParams>({
    name,
    examples: () => [
      {
        inputs: [{ shape: [4], dtype: "float32" }],
        params: { axis: 0, reverse: false },
        linearIn: [0],
      },
      {
        inputs: [{ shape: [2, 3], dtype: "float32" }],
        params: { axis: 1, reverse: true },
        linearIn: [0],
      },
      {
        inputs: [{ shape: [3, 2], dtype: "float32" }],
        params: { axis: 0, reverse: false },
        linearIn: [0],
      },
      {
        inputs: [{ shape: [0, 2], dtype: "float32" }],
        params: { axis: 0, reverse: false },
        linearIn: [0],
      },
      { inputs: [{ shape: [3], dtype: "int32" }], params: { axis: 0, reverse: false } },
    ],
    ...rules(() => primitive),
    batch: ([x], [axis], params) => [
      [
        bind1(primitive, [x!], {
          ...params,
          axis: params.axis >= axis! ? params.axis + 1 : params.axis,
        }),
      ],
      [axis!],
    ],
    abstractEval([x], { axis }) {
      checkDType(name, x!, dtypes);
      checkAxes(name, x!, [axis]);
      return [x!];
    },
    impl(inputs, { axis, reverse }) {
      const x = concrete(inputs)[0]!;
      const [flat, , n] = groupByOutput(x, [axis]);
      const out = allocate(x.dtype, flat.length);
      for (let base = 0; base < flat.length; base += n) {
        for (let k = 0; k < n; k++) {
          const i = base + (reverse ? n - 1 - k : k);
          const prev = base + (reverse ? n - k : k - 1);
          out[i] = k === 0 ? flat[i]! : step(out[prev]!, flat[i]!);
        }
      }
      return [fromAxisLast(out, x.shape, axis, x.dtype, x.weakType)];
    },
  } as PrimitiveSpec<CumulativeParams>);
  return primitive;
}

/** Cumulative sum along `axis` (from the end when `reverse`). Linear. */
export const cumsum = cumulative(
  "cumsum",
  "numeric",
  (a, x) => a + x,
  (self) => ({
    linear: true,
    jvp: (primals, tangents, params) => linearJvp(self())(primals, tangents, params),
    transpose: ([ct], _, { axis, reverse }) => [
      ct === null ? null : bind1(self(), [ct], { axis, reverse: !reverse }),
    ],
  }),
);

/**
 * Cumulative product along `axis`. The derivative is exact at zeros:
 * `dout[i] = sum_{j <= i} t[j] * prod_{k <= i, k != j} x[k]`, an n×n construction per row.
 */
export const cumprod: Primitive<CumulativeParams> = cumulative(
  "cumprod",
  "numeric",
  (a, x) => a * x,
  (self) => ({
    linear: false,
    jvp([x], [t], params) {
      const out = bind1(self(), [x!], params);
      if (t === null || !isFloating(out.dtype)) return [[out], [null]];
      const flip = (v: NDArray): NDArray =>
        params.reverse ? bind1(rev, [v], { dimensions: [params.axis] }) : v;
      const last = x!.ndim - 1;
      const xs = ops.moveAxis(flip(x!), params.axis, last);
      const ts = ops.moveAxis(flip(t), params.axis, last);
      const tangent = cumprodTangent(xs, ts);
      return [[out], [flip(ops.moveAxis(tangent, last, params.axis))]];
    },
  }),
);

/** The tangent of a forward cumprod along the last axis of `x` (see `cumprod`). */
function cumprodTangent(x: NDArray, t: NDArray): NDArray {
  const n = x.shape[x.ndim - 1]!;
  if (n === 0) return t;
  const last = x.ndim - 1;
  const one = ops.constant(1, x);
  // Exclusive products before j: [1, x0, x0 x1, ...].
  const before = bind1(pad, [bind1(cumprod, [x], { axis: last, reverse: false }), one], {
    config: x.shape.map(
      (_, i) => (i === last ? [1, -1, 0] : [0, 0, 0]) as [number, number, number],
    ),
  });
  // Z[..., j, i] = x[i] where i > j, else 1; Y = cumprod over i gives prod_{j < k <= i} x[k].
  const square = [...x.shape, n];
  const lead = x.shape.slice(0, -1).map((_, i) => i);
  const xi = ops.broadcast(x, square, [...lead, last + 1]);
  const rows = bind1(iota, [], { dtype: "int32", shape: square, dimension: last });
  const cols = bind1(iota, [], { dtype: "int32", shape: square, dimension: last + 1 });
  const z = ops.select(ops.gt(cols, rows), xi, ops.broadcast(one, square, []));
  const y = bind1(cumprod, [z], { axis: last + 1, reverse: false });
  const lower = ops.convert(ops.not(ops.lt(cols, rows)), x.dtype, false);
  const weights = ops.mul(ops.mul(ops.broadcast(before, square, [...lead, last]), y), lower);
  const tj = ops.broadcast(t, square, [...lead, last]);
  return ops.reduceSum(ops.mul(tj, weights), [last]);
}

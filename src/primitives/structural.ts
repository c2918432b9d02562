/**
 * Primitives that move elements without computing on them: broadcast, reshape, transpose, slice,
 * reverse, concatenate, pad, iota. Eagerly, most of them return views of their input.
 */
import { AbstractValue } from "../core/aval.js";
import { castScalar, type DType } from "../core/dtype.js";
import { ShapeError, ValueError } from "../core/errors.js";
import type { NDArray } from "../core/array.js";
import { definePrimitive, type LinearInput, type Primitive } from "../core/primitive.js";
import { bind1 } from "../core/trace.js";
import { contiguousStrides, formatShape, shapeSize } from "../core/shape.js";
import { scalar, view, type ConcreteArray } from "../runtime/concrete.js";
import * as ops from "./ops.js";
import { batchToFront, linearJvp } from "./rules.js";
import { copyStrided, copyStridedTo } from "../runtime/strided.js";
import { checkSameDType, concrete, output } from "./util.js";
import {
  broadcastExamples,
  concatenateExamples,
  iotaExamples,
  padExamples,
  reshapeExamples,
  revExamples,
  sliceExamples,
  transposeExamples,
} from "./structural-examples.js";

/**
 * `broadcast_in_dim`: places operand axis i at output axis `broadcastDimensions[i]`; every other
 * output axis is new. Operand axes of size 1 may stretch. Eagerly a view with zero strides.
 */
export interface BroadcastParams {
  shape: readonly number[];
  broadcastDimensions: readonly number[];
}
export interface SliceParams {
  start: readonly number[];
  limit: readonly number[];
  strides: readonly number[];
}
export type PadConfig = readonly (readonly [number, number, number])[];

const isLinear = (x: NDArray | LinearInput): x is LinearInput => "linear" in x && x.linear === true;

export const broadcastInDim: Primitive<BroadcastParams> = definePrimitive<BroadcastParams>({
  name: "broadcast_in_dim",
  examples: broadcastExamples,
  linear: true,
  jvp: (primals, tangents, params) => linearJvp(broadcastInDim)(primals, tangents, params),
  transpose([ct], [x], { shape, broadcastDimensions }) {
    if (ct === null) return [null];
    const operandShape = x!.aval.shape;
    const isSummed = (i: number): boolean => {
      const k = broadcastDimensions.indexOf(i);
      return k < 0 || (operandShape[k] === 1 && shape[i] !== 1);
    };
    const axes = shape.map((_, i) => i);
    const reduced = ops.reduceSum(ct, axes.filter(isSummed));
    // The kept axes are in output order; put them in operand order (broadcastDimensions need
    // not increase), then reinsert the stretched size-1 axes.
    const kept = axes.filter((i) => !isSummed(i)).map((i) => broadcastDimensions.indexOf(i));
    const order = kept.map((_, j) => j).sort((a, b) => kept[a]! - kept[b]!);
    return [ops.reshape(ops.transpose(reduced, order), operandShape)];
  },
  batch([x], [axis], { shape, broadcastDimensions }) {
    const front = ops.moveAxis(x!, axis!, 0);
    const out = bind1(broadcastInDim, [front], {
      shape: [front.shape[0]!, ...shape],
      broadcastDimensions: [0, ...broadcastDimensions.map((d) => d + 1)],
    });
    return [[out], [0]];
  },
  abstractEval([x], { shape, broadcastDimensions }) {
    if (broadcastDimensions.length !== x!.ndim) {
      throw new ShapeError(
        "broadcast_in_dim",
        `broadcastDimensions must name one output axis per operand axis.`,
      );
    }
    broadcastDimensions.forEach((d, i) => {
      const s = x!.shape[i]!;
      if (d < 0 || d >= shape.length || (s !== 1 && s !== shape[d])) {
        throw new ShapeError(
          "broadcast_in_dim",
          `cannot broadcast shape ${formatShape(x!.shape)} to ${formatShape(shape)}: operand axis ${i} ` +
            `(size ${s}) does not fit output axis ${d}.`,
        );
      }
    });
    return [new AbstractValue(shape, x!.dtype, x!.weakType)];
  },
  impl(inputs, { shape, broadcastDimensions }) {
    const x = concrete(inputs)[0]!;
    const strides = shape.map(() => 0);
    broadcastDimensions.forEach((d, i) => {
      strides[d] = x.shape[i] === 1 ? 0 : x.strides[i]!;
    });
    return [view(x, shape, strides, x.offset)];
  },
});

/** Strides of a reshape of `x` to `shape` without copying, or `undefined` when impossible. */
function reshapeStrides(x: ConcreteArray, shape: readonly number[]): number[] | undefined {
  if (x.isContiguous) return contiguousStrides(shape);
  // Merge/split axes where the old layout allows (NumPy's attempt_nocopy_reshape, simplified to
  // dropping and adding size-1 axes).
  const oldAxes = x.shape.map((d, i) => [d, x.strides[i]!] as const).filter(([d]) => d !== 1);
  const newSizes = shape.filter((d) => d !== 1);
  if (oldAxes.length !== newSizes.length || oldAxes.some(([d], i) => d !== newSizes[i]))
    return undefined;
  let k = 0;
  return shape.map((d) => (d === 1 ? 0 : oldAxes[k++]![1]));
}

/** `reshape`: same elements in row-major order, a new shape. A view when the layout allows. */
export const reshape: Primitive<{ newSizes: readonly number[] }> = definePrimitive<{
  newSizes: readonly number[];
}>({
  name: "reshape",
  examples: reshapeExamples,
  linear: true,
  jvp: (primals, tangents, params) => linearJvp(reshape)(primals, tangents, params),
  transpose: ([ct], [x]) => [ct === null ? null : ops.reshape(ct, x!.aval.shape)],
  batch([x], [axis], { newSizes }) {
    const front = ops.moveAxis(x!, axis!, 0);
    return [[ops.reshape(front, [front.shape[0]!, ...newSizes])], [0]];
  },
  abstractEval([x], { newSizes }) {
    if (shapeSize(newSizes) !== x!.size) {
      throw new ShapeError(
        "reshape",
        `cannot reshape an array of shape ${formatShape(x!.shape)} (${x!.size} elements) ` +
          `into shape ${formatShape(newSizes)} (${shapeSize(newSizes)} elements).`,
      );
    }
    return [new AbstractValue(newSizes, x!.dtype, x!.weakType)];
  },
  impl(inputs, { newSizes }) {
    const x = concrete(inputs)[0]!;
    const strides = reshapeStrides(x, newSizes);
    if (strides !== undefined) return [view(x, newSizes, strides, x.offset)];
    return [output(newSizes, x.dtype, x.weakType, (out) => copyStrided(x.shape, x.operand, out))];
  },
});

/** `transpose`: output axis i is operand axis `permutation[i]`. Eagerly a view. */
export const transpose: Primitive<{ permutation: readonly number[] }> = definePrimitive<{
  permutation: readonly number[];
}>({
  name: "transpose",
  examples: transposeExamples,
  linear: true,
  jvp: (primals, tangents, params) => linearJvp(transpose)(primals, tangents, params),
  transpose([ct], _, { permutation }) {
    if (ct === null) return [null];
    const inverse = permutation.map((_, i) => permutation.indexOf(i));
    return [ops.transpose(ct, inverse)];
  },
  batch([x], [axis], { permutation }) {
    const perm = [axis!, ...permutation.map((p) => (p >= axis! ? p + 1 : p))];
    return [[ops.transpose(x!, perm)], [0]];
  },
  abstractEval([x], { permutation }) {
    const sorted = [...permutation].sort((a, b) => a - b);
    if (permutation.length !== x!.ndim || sorted.some((p, i) => p !== i)) {
      throw new ShapeError(
        "transpose",
        `axes ${formatShape(permutation)} are not a permutation of the ${x!.ndim} axes of an array of shape ${formatShape(x!.shape)}.`,
      );
    }
    return [
      new AbstractValue(
        permutation.map((p) => x!.shape[p]!),
        x!.dtype,
        x!.weakType,
      ),
    ];
  },
  impl(inputs, { permutation }) {
    const x = concrete(inputs)[0]!;
    return [
      view(
        x,
        permutation.map((p) => x.shape[p]!),
        permutation.map((p) => x.strides[p]!),
        x.offset,
      ),
    ];
  },
});

/** `slice`: elements `start[i] ≤ k < limit[i]` with step `strides[i] > 0` on each axis. A view. */
export const slice: Primitive<SliceParams> = definePrimitive<SliceParams>({
  name: "slice",
  examples: sliceExamples,
  linear: true,
  jvp: (primals, tangents, params) => linearJvp(slice)(primals, tangents, params),
  transpose([ct], [x], { start, strides }) {
    if (ct === null) return [null];
    const shape = x!.aval.shape;
    const config = shape.map((n, i) => {
      const m = ct.shape[i]!;
      const last = m === 0 ? start[i]! : start[i]! + (m - 1) * strides[i]! + 1;
      return [start[i]!, n - last, m === 0 ? 0 : strides[i]! - 1] as const;
    });
    return [bind1(pad, [ct, ops.constant(0, ct)], { config })];
  },
  batch([x], [axis], { start, limit, strides }) {
    const front = ops.moveAxis(x!, axis!, 0);
    const out = bind1(slice, [front], {
      start: [0, ...start],
      limit: [front.shape[0]!, ...limit],
      strides: [1, ...strides],
    });
    return [[out], [0]];
  },
  abstractEval([x], { start, limit, strides }) {
    const shape = x!.shape.map((d, i) => {
      const s = start[i]!;
      const l = limit[i]!;
      const st = strides[i]!;
      if (!(0 <= s && s <= l && l <= d && st >= 1)) {
        throw new ShapeError(
          "slice",
          `slice ${s}:${l}:${st} on axis ${i} is out of range for shape ${formatShape(x!.shape)}.`,
        );
      }
      return Math.max(0, Math.ceil((l - s) / st));
    });
    if (start.length !== x!.ndim)
      throw new ShapeError("slice", "one start/limit/stride per axis is needed.");
    return [new AbstractValue(shape, x!.dtype, x!.weakType)];
  },
  impl(inputs, { start, limit, strides }) {
    const x = concrete(inputs)[0]!;
    let offset = x.offset;
    const shape = x.shape.map((_, i) => {
      offset += start[i]! * x.strides[i]!;
      return Math.max(0, Math.ceil((limit[i]! - start[i]!) / strides[i]!));
    });
    return [
      view(
        x,
        shape,
        x.strides.map((s, i) => s * strides[i]!),
        shapeSize(shape) === 0 ? x.offset : offset,
      ),
    ];
  },
});

/** `rev`: reverses the listed axes. Eagerly a view with negative strides. */
export const rev: Primitive<{ dimensions: readonly number[] }> = definePrimitive<{
  dimensions: readonly number[];
}>({
  name: "rev",
  examples: revExamples,
  linear: true,
  jvp: (primals, tangents, params) => linearJvp(rev)(primals, tangents, params),
  transpose: ([ct], _, params) => [ct === null ? null : bind1(rev, [ct], params)],
  batch: ([x], [axis], { dimensions }) => [
    [bind1(rev, [x!], { dimensions: dimensions.map((d) => (d >= axis! ? d + 1 : d)) })],
    [axis!],
  ],
  abstractEval([x], { dimensions }) {
    for (const d of dimensions) {
      if (d < 0 || d >= x!.ndim)
        throw new ShapeError("rev", `axis ${d} is out of range for rank ${x!.ndim}.`);
    }
    return [x!];
  },
  impl(inputs, { dimensions }) {
    const x = concrete(inputs)[0]!;
    if (x.size === 0) return [x];
    let offset = x.offset;
    const strides = x.strides.map((s, i) => {
      if (!dimensions.includes(i)) return s;
      offset += (x.shape[i]! - 1) * s;
      return -s;
    });
    return [view(x, x.shape, strides, offset)];
  },
});

/** `concatenate`: joins operands along `dimension`; other axes must agree. */
export const concatenate: Primitive<{ dimension: number }> = definePrimitive<{
  dimension: number;
}>({
  name: "concatenate",
  examples: concatenateExamples,
  linear: true,
  jvp: (primals, tangents, params) => linearJvp(concatenate)(primals, tangents, params),
  transpose([ct], inputs, { dimension }) {
    let offset = 0;
    return inputs.map((x) => {
      const shape = x.aval.shape;
      const lo = offset;
      offset += shape[dimension]!;
      if (ct === null || !isLinear(x)) return null;
      const start = shape.map((_, i) => (i === dimension ? lo : 0));
      const limit = shape.map((d, i) => (i === dimension ? lo + d : d));
      return bind1(slice, [ct], { start, limit, strides: shape.map(() => 1) });
    });
  },
  batch(inputs, axes, { dimension }) {
    const moved = batchToFront(inputs, axes);
    return [[bind1(concatenate, moved, { dimension: dimension + 1 })], [0]];
  },
  abstractEval(avals, { dimension }) {
    const first = avals[0]!;
    const dtype = checkSameDType("concatenate", avals);
    let total = 0;
    for (const a of avals) {
      if (
        a.ndim !== first.ndim ||
        a.shape.some((d, i) => i !== dimension && d !== first.shape[i])
      ) {
        throw new ShapeError(
          "concatenate",
          `all shapes must agree except on axis ${dimension}, got ${avals.map((x) => formatShape(x.shape)).join(", ")}.`,
        );
      }
      total += a.shape[dimension]!;
    }
    const shape = [...first.shape];
    shape[dimension] = total;
    return [
      new AbstractValue(
        shape,
        dtype,
        avals.every((a) => a.weakType),
      ),
    ];
  },
  impl(inputs, { dimension }) {
    const xs = concrete(inputs);
    const first = xs[0]!;
    const shape = [...first.shape];
    shape[dimension] = xs.reduce((n, x) => n + x.shape[dimension]!, 0);
    const outStrides = contiguousStrides(shape);
    return [
      output(
        shape,
        first.dtype,
        xs.every((x) => x.weakType),
        (out) => {
          let start = 0;
          for (const x of xs) {
            const dst = { data: out, strides: outStrides, offset: start * outStrides[dimension]! };
            copyStridedTo(x.shape, x.operand, dst);
            start += x.shape[dimension]!;
          }
        },
      ),
    ];
  },
});

/**
 * `pad`: pads with `padding value` (the second operand, a scalar); `config[i] = [low, high,
 * interior]`. Negative low/high crop.
 */
export const pad: Primitive<{ config: PadConfig }> = definePrimitive<{ config: PadConfig }>({
  name: "pad",
  examples: padExamples,
  linear: true,
  jvp: (primals, tangents, params) => linearJvp(pad)(primals, tangents, params),
  transpose([ct], [x, value], { config }) {
    if (ct === null) return [null, null];
    // Undo cropping (negative padding) with zeros, then take every (interior+1)-th element.
    const uncropped = bind1(pad, [ct, ops.constant(0, ct)], {
      config: config.map(([lo, hi]) => [Math.max(-lo, 0), Math.max(-hi, 0), 0] as const),
    });
    const shape = x!.aval.shape;
    const start = config.map(([lo]) => Math.max(lo, 0));
    const strides = config.map(([, , interior]) => interior + 1);
    const limit = shape.map((n, i) =>
      n === 0 ? start[i]! : start[i]! + (n - 1) * strides[i]! + 1,
    );
    const operandCt = bind1(slice, [uncropped], { start, limit, strides });
    const valueCt = isLinear(value!)
      ? ops.sub(
          ops.reduceSum(
            ct,
            ct.shape.map((_, i) => i),
          ),
          ops.reduceSum(
            operandCt,
            operandCt.shape.map((_, i) => i),
          ),
        )
      : null;
    return [isLinear(x!) ? operandCt : null, valueCt];
  },
  batch([x, value], [xAxis, valueAxis], { config }) {
    const size = xAxis !== null ? x!.shape[xAxis]! : value!.shape[valueAxis!]!;
    const operand = xAxis === null ? ops.broadcastAxis(x!, 0, size) : ops.moveAxis(x!, xAxis, 0);
    const batchedConfig = [[0, 0, 0] as const, ...config];
    if (valueAxis === null)
      return [[bind1(pad, [operand, value!], { config: batchedConfig })], [0]];
    // A batched padding value: pad with zeros, then select the value where padding landed.
    const padded = bind1(pad, [operand, ops.constant(0, operand)], { config: batchedConfig });
    const inside = bind1(
      pad,
      [ops.broadcast(scalar(1, "bool"), operand.shape, []), scalar(0, "bool")],
      {
        config: batchedConfig,
      },
    );
    const values = ops.broadcast(value!, padded.shape, [0]);
    return [[ops.select(inside, padded, values)], [0]];
  },
  abstractEval([x, value], { config }) {
    checkSameDType("pad", [x!, value!]);
    if (value!.ndim !== 0) throw new ShapeError("pad", "the padding value must be a scalar.");
    if (config.length !== x!.ndim)
      throw new ShapeError("pad", "one [low, high, interior] per axis is needed.");
    const shape = x!.shape.map((d, i) => {
      const [lo, hi, interior] = config[i]!;
      if (interior < 0) throw new ValueError("pad", "interior padding must be non-negative.");
      const n = lo + hi + d + Math.max(0, d - 1) * interior;
      if (n < 0)
        throw new ShapeError(
          "pad",
          `padding ${JSON.stringify(config[i])} crops axis ${i} below zero.`,
        );
      return n;
    });
    return [new AbstractValue(shape, x!.dtype, x!.weakType)];
  },
  impl(inputs, { config }) {
    const [x, value] = concrete(inputs) as [ConcreteArray, ConcreteArray];
    const shape = x.shape.map((d, i) => {
      const [lo, hi, interior] = config[i]!;
      return lo + hi + d + Math.max(0, d - 1) * interior;
    });
    const outStrides = contiguousStrides(shape);
    const v = value.item() as number;
    return [
      output(shape, x.dtype, x.weakType, (out) => {
        out.fill(typeof v === "boolean" ? Number(v) : v);
        // Write x into the strided sub-grid of out it lands on, cropping negative padding.
        const srcStart: number[] = [];
        const srcShape: number[] = [];
        let offset = 0;
        const dstStrides = outStrides.map((s, axis) => s * (config[axis]![2] + 1));
        x.shape.forEach((d, axis) => {
          const [lo, , interior] = config[axis]!;
          const step = interior + 1;
          const first = lo < 0 ? Math.ceil(-lo / step) : 0;
          let last = d;
          while (last > first && lo + (last - 1) * step >= shape[axis]!) last--;
          srcStart.push(first);
          srcShape.push(Math.max(0, last - first));
          offset += (lo + first * step) * outStrides[axis]!;
        });
        if (shapeSize(srcShape) === 0) return;
        const srcOffset = x.offset + srcStart.reduce((o, s, axis) => o + s * x.strides[axis]!, 0);
        copyStridedTo(
          srcShape,
          { data: x.data, strides: x.strides, offset: srcOffset },
          { data: out, strides: dstStrides, offset },
        );
      }),
    ];
  },
});

/** `iota`: 0, 1, 2, … along `dimension` of `shape`. */
export interface IotaParams {
  dtype: DType;
  shape: readonly number[];
  dimension: number;
}

/** `iota` has no operands, so it is never batched and its output is constant. */
export const iota: Primitive<IotaParams> = definePrimitive<IotaParams>({
  name: "iota",
  examples: iotaExamples,
  linear: false,
  jvp: (_, __, params) => [[bind1(iota, [], params)], [null]],
  batch: (_, __, params) => [[bind1(iota, [], params)], [null]],
  abstractEval(_, { dtype, shape, dimension }) {
    if (!(dimension >= 0 && dimension < shape.length)) {
      throw new ShapeError(
        "iota",
        `dimension ${dimension} is out of range for shape ${formatShape(shape)}.`,
      );
    }
    return [new AbstractValue(shape, dtype)];
  },
  impl(_, { dtype, shape, dimension }) {
    const strides = contiguousStrides(shape);
    return [
      output(shape, dtype, false, (out) => {
        for (let i = 0; i < out.length; i++) {
          out[i] = castScalar(Math.floor(i / strides[dimension]!) % shape[dimension]!, dtype);
        }
      }),
    ];
  },
});

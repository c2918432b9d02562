/**
 * Primitives that move elements without computing on them: broadcast, reshape, transpose, slice,
 * reverse, concatenate, pad, iota. Eagerly, most of them return views of their input.
 */
import { AbstractValue } from "../core/aval.js";
import { castScalar, type DType } from "../core/dtype.js";
import { ShapeError, ValueError } from "../core/errors.js";
import { definePrimitive } from "../core/primitive.js";
import { contiguousStrides, formatShape, shapeSize } from "../core/shape.js";
import { view, type ConcreteArray } from "../runtime/concrete.js";
import { copyStrided, copyStridedTo } from "../runtime/strided.js";
import { checkSameDType, concrete, output } from "./util.js";

/**
 * `broadcast_in_dim`: places operand axis i at output axis `broadcastDimensions[i]`; every other
 * output axis is new. Operand axes of size 1 may stretch. Eagerly a view with zero strides.
 */
export const broadcastInDim = definePrimitive<{
  shape: readonly number[];
  broadcastDimensions: readonly number[];
}>({
  name: "broadcast_in_dim",
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
export const reshape = definePrimitive<{ newSizes: readonly number[] }>({
  name: "reshape",
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
export const transpose = definePrimitive<{ permutation: readonly number[] }>({
  name: "transpose",
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
export const slice = definePrimitive<{
  start: readonly number[];
  limit: readonly number[];
  strides: readonly number[];
}>({
  name: "slice",
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
export const rev = definePrimitive<{ dimensions: readonly number[] }>({
  name: "rev",
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
export const concatenate = definePrimitive<{ dimension: number }>({
  name: "concatenate",
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
export const pad = definePrimitive<{ config: readonly (readonly [number, number, number])[] }>({
  name: "pad",
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
export const iota = definePrimitive<{ dtype: DType; shape: readonly number[]; dimension: number }>({
  name: "iota",
  abstractEval(_, { dtype, shape }) {
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

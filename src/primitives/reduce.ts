/**
 * Reductions (sum, prod, max, min, and, or over axes), argmax/argmin and cumulative scans.
 */
import { AbstractValue } from "../core/aval.js";
import { allocate, type DType, type TypedArray } from "../core/dtype.js";
import { ShapeError } from "../core/errors.js";
import { definePrimitive, type Primitive } from "../core/primitive.js";
import { formatShape } from "../core/shape.js";
import type { ConcreteArray } from "../runtime/concrete.js";
import { fromAxisLast, withAxesLast } from "../runtime/layout.js";
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

interface ReduceSpec {
  name: string;
  dtypes: DTypeClass;
  init: number;
  step: (acc: number, x: number) => number;
}

function reduction(spec: ReduceSpec): Primitive<AxesParams> {
  return definePrimitive<AxesParams>({
    name: spec.name,
    abstractEval([x], { axes }) {
      checkDType(spec.name, x!, spec.dtypes);
      checkAxes(spec.name, x!, axes);
      return [
        new AbstractValue(
          x!.shape.filter((_, i) => !axes.includes(i)),
          x!.dtype,
          x!.weakType,
        ),
      ];
    },
    impl(inputs, { axes }) {
      const x = concrete(inputs)[0]!;
      const [flat, shape, group] = groupByOutput(x, axes);
      return [
        output(shape, x.dtype, x.weakType, (out) => {
          for (let o = 0, i = 0; o < out.length; o++) {
            let acc = spec.init;
            for (const end = i + group; i < end; i++) acc = spec.step(acc, flat[i]!);
            out[o] = acc;
          }
        }),
      ];
    },
  });
}

const nanMax = (a: number, x: number): number => (a !== a || x !== x ? NaN : x > a ? x : a);
const nanMin = (a: number, x: number): number => (a !== a || x !== x ? NaN : x < a ? x : a);

export const reduceSum = reduction({
  name: "reduce_sum",
  dtypes: "numeric",
  init: 0,
  step: (a, x) => a + x,
});
export const reduceProd = reduction({
  name: "reduce_prod",
  dtypes: "numeric",
  init: 1,
  step: (a, x) => a * x,
});
/** Maximum over axes; NaN propagates; the identity of an empty reduction is -inf. */
export const reduceMax = reduction({
  name: "reduce_max",
  dtypes: "any",
  init: -Infinity,
  step: nanMax,
});
/** Minimum over axes; NaN propagates; the identity of an empty reduction is +inf. */
export const reduceMin = reduction({
  name: "reduce_min",
  dtypes: "any",
  init: Infinity,
  step: nanMin,
});
export const reduceAnd = reduction({
  name: "reduce_and",
  dtypes: "bool",
  init: 1,
  step: (a, x) => a & (x !== 0 ? 1 : 0),
});
export const reduceOr = reduction({
  name: "reduce_or",
  dtypes: "bool",
  init: 0,
  step: (a, x) => a | (x !== 0 ? 1 : 0),
});

interface ArgParams {
  axis: number;
  indexDType: DType;
}

function argReduction(
  name: string,
  better: (x: number, best: number) => boolean,
): Primitive<ArgParams> {
  return definePrimitive<ArgParams>({
    name,
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
): Primitive<CumulativeParams> {
  return definePrimitive<CumulativeParams>({
    name,
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
  });
}

export const cumsum = cumulative("cumsum", "numeric", (a, x) => a + x);
export const cumprod = cumulative("cumprod", "numeric", (a, x) => a * x);
export const cummax = cumulative("cummax", "numeric", nanMax);
export const cummin = cumulative("cummin", "numeric", nanMin);

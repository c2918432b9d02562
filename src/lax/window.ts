/**
 * `lax.reduceWindow`: a reduction over sliding windows (pooling).
 */
import type { ArrayLike, NDArray } from "../core/array.js";
import { isFloating } from "../core/dtype.js";
import { ValueError } from "../core/errors.js";
import { bind1 } from "../core/trace.js";
import { asArray } from "../numpy/convert.js";
import * as ops from "../primitives/ops.js";
import { pad, slice } from "../primitives/structural.js";
import { reduceWindowMax } from "../primitives/window.js";
import { windowShape, type WindowParams } from "../primitives/window-plan.js";

export interface ReduceWindowOptions {
  /** Window step per axis (default 1 everywhere). */
  strides?: readonly number[];
  /**
   * `"VALID"` (default: no padding), `"SAME"` (result size ⌈size / stride⌉, the extra padding at
   * the end), or explicit `[low, high]` pairs per axis. Padding is outside the operand: it never
   * wins a maximum or minimum, and adds zero to a sum.
   */
  padding?: "VALID" | "SAME" | readonly (readonly [number, number])[];
}

const where = "lax.reduceWindow";

function explicitPadding(
  padding: NonNullable<ReduceWindowOptions["padding"]>,
  shape: readonly number[],
  window: readonly number[],
  strides: readonly number[],
): [number, number][] {
  if (padding === "VALID") return shape.map(() => [0, 0]);
  if (padding === "SAME") {
    return shape.map((n, a) => {
      const out = Math.ceil(n / strides[a]!);
      const total = Math.max(0, (out - 1) * strides[a]! + window[a]! - n);
      return [Math.floor(total / 2), total - Math.floor(total / 2)];
    });
  }
  if (typeof padding === "string" || !Array.isArray(padding)) {
    throw new ValueError(
      where,
      `padding must be "VALID", "SAME" or [low, high] pairs, got ${JSON.stringify(padding)}.`,
    );
  }
  return padding.map((pair) => [pair[0]!, pair[1]!]);
}

/**
 * Reduces each window of `x` by `computation` (`"max"`, `"min"` or `"sum"`), as JAX's
 * `lax.reduce_window` with `lax.max`, `lax.min` or `lax.add`. `windowDimensions` has one size
 * per axis of `x` (1 for axes not reduced). Maxima and minima choose one element per window (the
 * first, in row-major window order, or the first NaN): their derivative goes to that element,
 * as in PyTorch's and XLA's max pooling.
 *
 * @example
 * const x = np.array([[1, 5, 2, 0], [3, 4, 8, 6]]);
 * console.log(lax.reduceWindow(x, "max", [2, 2], { strides: [2, 2] }).toList()); // [[5, 8]]
 * console.log(lax.reduceWindow(x, "sum", [1, 2], { padding: "SAME" }).toList()); // [[6, 7, 2, 0], [7, 12, 14, 6]]
 */
export function reduceWindow(
  x: ArrayLike,
  computation: "max" | "min" | "sum",
  windowDimensions: readonly number[],
  options: ReduceWindowOptions = {},
): NDArray {
  const operand = asArray(where, x);
  const strides = options.strides ?? operand.shape.map(() => 1);
  if (windowDimensions.length !== operand.ndim || strides.length !== operand.ndim) {
    throw new ValueError(
      where,
      `an operand of shape [${operand.shape.join(", ")}] needs ${operand.ndim} window sizes and strides, got windowDimensions ${JSON.stringify(windowDimensions)} and strides ${JSON.stringify(strides)}.`,
    );
  }
  const params: WindowParams = {
    windowDimensions: [...windowDimensions],
    windowStrides: [...strides],
    padding: explicitPadding(options.padding ?? "VALID", operand.shape, windowDimensions, strides),
  };
  const outShape = windowShape(where, operand.shape, params);
  if (outShape.includes(0)) return ops.zerosLike({ shape: outShape, dtype: operand.dtype });
  switch (computation) {
    case "max":
      return bind1(reduceWindowMax, [operand], params);
    case "min": {
      // Order-reversing maps: negation for floats, bitwise not for integers (no overflow).
      const flip = isFloating(operand.dtype) ? ops.neg : ops.not;
      return flip(bind1(reduceWindowMax, [flip(operand)], params));
    }
    case "sum":
      return windowSum(operand, params, outShape);
    default:
      throw new ValueError(
        where,
        `computation must be "max", "min" or "sum", got ${JSON.stringify(computation)}.`,
      );
  }
}

/** The sum of each window: one strided slice of the zero-padded operand per window position. */
function windowSum(x: NDArray, p: WindowParams, outShape: readonly number[]): NDArray {
  const padded = p.padding.some(([lo, hi]) => lo > 0 || hi > 0)
    ? bind1(pad, [x, ops.constant(0, x)], {
        config: p.padding.map(([lo, hi]) => [lo, hi, 0] as const),
      })
    : x;
  const count = p.windowDimensions.reduce((n, w) => n * w, 1);
  let sum: NDArray | undefined;
  for (let e = 0; e < count; e++) {
    let rest = e;
    const start = new Array<number>(x.ndim);
    for (let a = x.ndim - 1; a >= 0; a--) {
      start[a] = rest % p.windowDimensions[a]!;
      rest = Math.floor(rest / p.windowDimensions[a]!);
    }
    const limit = start.map((s, a) => s + p.windowStrides[a]! * (outShape[a]! - 1) + 1);
    const tap = bind1(slice, [padded], { start, limit, strides: p.windowStrides });
    sum = sum === undefined ? tap : ops.add(sum, tap);
  }
  return sum!;
}

/**
 * Pooling over the trailing spatial axes: `maxPool`, `avgPool`, and the layers `MaxPool1d`,
 * `MaxPool2d`, `AvgPool1d`, `AvgPool2d` (PyTorch's arguments and defaults: the stride defaults to
 * the window size). Both are `lax.reduceWindow`: max pooling is one primitive whose gradient
 * goes to each window's (first) maximum in one pass; average pooling sums strided slices of the
 * zero-padded input, which fuse like any other elementwise code.
 */
import type { NDArray } from "../core/array.js";
import { ShapeError, ValueError } from "../core/errors.js";
import * as lax from "../lax/index.js";
import * as np from "../numpy/index.js";
import { Module } from "./module.js";

export interface PoolOptions {
  /** Window step per spatial axis (a number applies to all; default: the window size). */
  stride?: number | readonly number[];
  /** Padding on both sides of each spatial axis (default 0; at most half the window). */
  padding?: number | readonly number[];
  /**
   * `avgPool` only: count the padding in each window's size (default true, as PyTorch); false
   * divides by the number of input elements in the window.
   */
  countIncludePad?: boolean;
}

interface Geometry {
  window: number[];
  stride: number[];
  padding: number[];
  out: number[];
}

function perAxis(
  where: string,
  name: string,
  value: number | readonly number[] | undefined,
  spatial: number,
  fallback: readonly number[],
  min: number,
): number[] {
  const list =
    value === undefined
      ? [...fallback]
      : typeof value === "number"
        ? new Array<number>(spatial).fill(value)
        : [...value];
  if (list.length !== spatial || list.some((v) => !Number.isInteger(v) || v < min)) {
    throw new ValueError(
      where,
      `${name} needs ${spatial} whole number(s) ≥ ${min}, got ${JSON.stringify(value)}.`,
    );
  }
  return list;
}

function geometry(
  where: string,
  x: NDArray,
  windowShape: readonly number[],
  spatial: number,
  options: PoolOptions,
): Geometry {
  if (x.ndim < spatial) {
    throw new ShapeError(
      where,
      `pools over ${spatial} trailing axes, but the input has shape [${x.shape.join(", ")}].`,
    );
  }
  const window = perAxis(where, "the window size", windowShape, spatial, [], 1);
  const stride = perAxis(where, "stride", options.stride, spatial, window, 1);
  const padding = perAxis(
    where,
    "padding",
    options.padding,
    spatial,
    window.map(() => 0),
    0,
  );
  const sizes = x.shape.slice(x.ndim - spatial);
  const out = sizes.map((n, i) => {
    if (2 * padding[i]! > window[i]!) {
      throw new ValueError(
        where,
        `padding ${padding[i]} is more than half the window (${window[i]}) on spatial axis ${i}.`,
      );
    }
    const size = Math.floor((n + 2 * padding[i]! - window[i]!) / stride[i]!) + 1;
    if (size < 1) {
      throw new ShapeError(
        where,
        `a window of ${window[i]} does not fit spatial axis ${i} of size ${n} (padding ${padding[i]}), in input shape [${x.shape.join(", ")}].`,
      );
    }
    return size;
  });
  return { window, stride, padding, out };
}

/** `lax.reduceWindow` over the trailing spatial axes (windows of 1 on the leading ones). */
function poolWindows(x: NDArray, g: Geometry, computation: "max" | "sum"): NDArray {
  const lead = x.ndim - g.window.length;
  const ones = new Array<number>(lead).fill(1);
  return lax.reduceWindow(x, computation, [...ones, ...g.window], {
    strides: [...ones, ...g.stride],
    padding: [
      ...ones.map((): [number, number] => [0, 0]),
      ...g.padding.map((p): [number, number] => [p, p]),
    ],
  });
}

/**
 * The maximum over windows of the last `windowShape.length` axes (any leading axes, e.g.
 * `[C, H, W]` or `[N, C, H, W]`); padding is -∞.
 *
 * @example
 * const x = np.arange(16, { dtype: "float32" }).reshape([1, 4, 4]);
 * console.log(nn.maxPool(x, [2, 2]).toList()); // [[[5, 7], [13, 15]]]
 */
export function maxPool(
  x: NDArray,
  windowShape: readonly number[],
  options: PoolOptions = {},
): NDArray {
  const g = geometry("nn.maxPool", x, windowShape, windowShape.length, options);
  return poolWindows(x, g, "max");
}

/**
 * The mean over windows of the last `windowShape.length` axes; padding counts as zeros in the
 * window (`countIncludePad: true`, PyTorch's default) or is left out of the count.
 *
 * @example
 * const x = np.arange(16, { dtype: "float32" }).reshape([1, 4, 4]);
 * console.log(nn.avgPool(x, [2, 2]).toList()); // [[[2.5, 4.5], [10.5, 12.5]]]
 */
export function avgPool(
  x: NDArray,
  windowShape: readonly number[],
  options: PoolOptions = {},
): NDArray {
  const spatial = windowShape.length;
  const g = geometry("nn.avgPool", x, windowShape, spatial, options);
  const sum = poolWindows(x, g, "sum");
  if (options.countIncludePad ?? true) return sum.div(g.window.reduce((n, w) => n * w, 1));
  // Elements per window: the same pooling of ones over the unpadded spatial shape.
  const ones = np.ones(x.shape.slice(x.ndim - spatial), { dtype: x.dtype });
  const counts = poolWindows(ones, g, "sum");
  return sum.div(counts);
}

/** A pooling layer: its kind and fixed settings; `forward` pools the trailing axes. */
abstract class Pool extends Module {
  readonly kind: "max" | "avg";
  readonly windowShape: readonly number[];
  readonly stride: readonly number[];
  readonly padding: readonly number[];
  /** Average pooling: whether padding counts in each window's size. */
  readonly countIncludePad: boolean;

  constructor(
    kind: "max" | "avg",
    spatial: number,
    kernelSize: number | readonly number[],
    options: PoolOptions,
  ) {
    super();
    const where = `nn.${kind === "max" ? "Max" : "Avg"}Pool${spatial}d`;
    this.kind = kind;
    this.windowShape = perAxis(where, "kernelSize", kernelSize, spatial, [], 1);
    this.stride = perAxis(where, "stride", options.stride, spatial, this.windowShape, 1);
    this.padding = perAxis(
      where,
      "padding",
      options.padding,
      spatial,
      this.windowShape.map(() => 0),
      0,
    );
    this.countIncludePad = options.countIncludePad ?? true;
  }

  forward(x: NDArray): NDArray {
    const options = { stride: this.stride, padding: this.padding };
    return this.kind === "max"
      ? maxPool(x, this.windowShape, options)
      : avgPool(x, this.windowShape, { ...options, countIncludePad: this.countIncludePad });
  }
}

/**
 * 2-d max pooling over `[C, H, W]` or `[N, C, H, W]` (PyTorch's `MaxPool2d`: the stride
 * defaults to the kernel size).
 *
 * @example
 * const pool = new nn.MaxPool2d(2);
 * console.log(pool.forward(np.ones([8, 28, 28])).shape); // [8, 14, 14]
 */
export class MaxPool2d extends Pool {
  constructor(kernelSize: number | readonly number[], options: PoolOptions = {}) {
    super("max", 2, kernelSize, options);
  }
}

/**
 * 1-d max pooling over `[C, L]` or `[N, C, L]`.
 *
 * @example
 * console.log(new nn.MaxPool1d(3, { stride: 1 }).forward(np.ones([2, 10])).shape); // [2, 8]
 */
export class MaxPool1d extends Pool {
  constructor(kernelSize: number | readonly number[], options: PoolOptions = {}) {
    super("max", 1, kernelSize, options);
  }
}

/**
 * 2-d average pooling over `[C, H, W]` or `[N, C, H, W]` (PyTorch's `AvgPool2d`).
 *
 * @example
 * const pool = new nn.AvgPool2d(2);
 * console.log(pool.forward(np.ones([3, 6, 6])).shape); // [3, 3, 3]
 */
export class AvgPool2d extends Pool {
  constructor(kernelSize: number | readonly number[], options: PoolOptions = {}) {
    super("avg", 2, kernelSize, options);
  }
}

/**
 * 1-d average pooling over `[C, L]` or `[N, C, L]`.
 *
 * @example
 * console.log(new nn.AvgPool1d(2).forward(np.ones([2, 10])).shape); // [2, 5]
 */
export class AvgPool1d extends Pool {
  constructor(kernelSize: number | readonly number[], options: PoolOptions = {}) {
    super("avg", 1, kernelSize, options);
  }
}

/** 3-d max pooling over `[C, D, H, W]` or `[N, C, D, H, W]`. */
export class MaxPool3d extends Pool {
  constructor(kernelSize: number | readonly number[], options: PoolOptions = {}) {
    super("max", 3, kernelSize, options);
  }
}

/** 3-d average pooling over `[C, D, H, W]` or `[N, C, D, H, W]`. */
export class AvgPool3d extends Pool {
  constructor(kernelSize: number | readonly number[], options: PoolOptions = {}) {
    super("avg", 3, kernelSize, options);
  }
}

/** PyTorch's adaptive windows: output i of n covers [⌊i·L/n⌋, ⌈(i + 1)·L/n⌉) of an axis of L. */
function adaptiveWindows(length: number, size: number): [number, number][] {
  return Array.from({ length: size }, (_, i) => [
    Math.floor((i * length) / size),
    Math.ceil(((i + 1) * length) / size),
  ]);
}

function checkAdaptive(operation: string, x: NDArray, outputSize: readonly number[]): void {
  if (outputSize.some((s) => !Number.isInteger(s) || s < 1)) {
    throw new ValueError(
      operation,
      `outputSize must be whole numbers ≥ 1, got ${JSON.stringify(outputSize)}.`,
    );
  }
  if (x.ndim < outputSize.length + 1) {
    throw new ShapeError(
      operation,
      `expects [C, ...spatial] or [N, C, ...spatial] with ${outputSize.length} spatial axes, got shape [${x.shape.join(", ")}].`,
    );
  }
}

/**
 * Average pooling to a fixed output size over the last `outputSize.length` axes, with PyTorch's
 * windows (`AdaptiveAvgPoolNd`): each axis is a product with a [size, length] averaging matrix,
 * so any input size works and the gradient is the transposed product.
 *
 * @example
 * const x = np.arange(16, { dtype: "float32" }).reshape([1, 4, 4]);
 * console.log(nn.adaptiveAvgPool(x, [1, 1]).toList()); // [[[7.5]]]
 */
export function adaptiveAvgPool(x: NDArray, outputSize: readonly number[]): NDArray {
  checkAdaptive("nn.adaptiveAvgPool", x, outputSize);
  let out = x;
  outputSize.forEach((size, i) => {
    const axis = x.ndim - outputSize.length + i;
    const length = x.shape[axis]!;
    const weights = new Float64Array(size * length);
    adaptiveWindows(length, size).forEach(([lo, hi], row) => {
      for (let j = lo; j < hi; j++) weights[row * length + j] = 1 / (hi - lo);
    });
    const matrix = np.array(weights, { dtype: x.dtype }).reshape([size, length]);
    out = np.moveaxis(np.tensordot(out, matrix, { axes: [[axis], [1]] }), -1, axis);
  });
  return out;
}

/**
 * Max pooling to a fixed output size over the last `outputSize.length` axes, with PyTorch's
 * windows (`AdaptiveMaxPoolNd`), one axis at a time (a maximum over a box is the maximum of the
 * per-axis maxima).
 */
export function adaptiveMaxPool(x: NDArray, outputSize: readonly number[]): NDArray {
  checkAdaptive("nn.adaptiveMaxPool", x, outputSize);
  let out = x;
  outputSize.forEach((size, i) => {
    const axis = x.ndim - outputSize.length + i;
    const windows = adaptiveWindows(out.shape[axis]!, size).map(([lo, hi]) => {
      const index = out.shape.map((): string => ":");
      index[axis] = `${lo}:${hi}`;
      return out.get(...index).max({ axis, keepdims: true });
    });
    out = np.concatenate(windows, { axis });
  });
  return out;
}

/** An adaptive pooling layer: its kind and output size. */
abstract class AdaptivePool extends Module {
  readonly kind: "max" | "avg";
  readonly outputSize: readonly number[];

  constructor(kind: "max" | "avg", spatial: number, outputSize: number | readonly number[]) {
    super();
    this.kind = kind;
    this.outputSize =
      typeof outputSize === "number"
        ? new Array<number>(spatial).fill(outputSize)
        : [...outputSize];
    if (this.outputSize.length !== spatial) {
      throw new ValueError(
        `nn.Adaptive${kind === "max" ? "Max" : "Avg"}Pool${spatial}d`,
        `outputSize needs ${spatial} entries (or one number), got ${JSON.stringify(outputSize)}.`,
      );
    }
  }

  forward(x: NDArray): NDArray {
    return this.kind === "max"
      ? adaptiveMaxPool(x, this.outputSize)
      : adaptiveAvgPool(x, this.outputSize);
  }
}

/** 1-d adaptive average pooling to `outputSize` (PyTorch's `AdaptiveAvgPool1d`). */
export class AdaptiveAvgPool1d extends AdaptivePool {
  constructor(outputSize: number | readonly number[]) {
    super("avg", 1, outputSize);
  }
}

/**
 * 2-d adaptive average pooling to `outputSize` (PyTorch's `AdaptiveAvgPool2d`); `1` is global
 * average pooling.
 *
 * @example
 * console.log(new nn.AdaptiveAvgPool2d(1).forward(np.ones([8, 7, 5])).shape); // [8, 1, 1]
 */
export class AdaptiveAvgPool2d extends AdaptivePool {
  constructor(outputSize: number | readonly number[]) {
    super("avg", 2, outputSize);
  }
}

/** 3-d adaptive average pooling to `outputSize`. */
export class AdaptiveAvgPool3d extends AdaptivePool {
  constructor(outputSize: number | readonly number[]) {
    super("avg", 3, outputSize);
  }
}

/** 1-d adaptive max pooling to `outputSize`. */
export class AdaptiveMaxPool1d extends AdaptivePool {
  constructor(outputSize: number | readonly number[]) {
    super("max", 1, outputSize);
  }
}

/** 2-d adaptive max pooling to `outputSize` (PyTorch's `AdaptiveMaxPool2d`). */
export class AdaptiveMaxPool2d extends AdaptivePool {
  constructor(outputSize: number | readonly number[]) {
    super("max", 2, outputSize);
  }
}

/** 3-d adaptive max pooling to `outputSize`. */
export class AdaptiveMaxPool3d extends AdaptivePool {
  constructor(outputSize: number | readonly number[]) {
    super("max", 3, outputSize);
  }
}

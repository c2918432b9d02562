/**
 * `lax.conv`: N-d convolution in any layout, with strides, "SAME"/"VALID" or explicit padding,
 * dilations and groups — `jax.lax.conv_general_dilated` with an options object.
 */
import type { ArrayLike, NDArray } from "../core/array.js";
import { ShapeError, ValueError } from "../core/errors.js";
import { bind1 } from "../core/trace.js";
import { promote } from "../numpy/convert.js";
import { convGeneralDilated, convShape, dilateDim, type ConvParams } from "../primitives/conv.js";
import * as ops from "../primitives/ops.js";

/** Padding of a convolution: a rule, or `[low, high]` per spatial dimension (negative crops). */
export type ConvPadding = "SAME" | "SAME_LOWER" | "VALID" | readonly (readonly [number, number])[];

export interface ConvOptions {
  /** Window step per spatial dimension (default 1 everywhere). */
  strides?: readonly number[];
  /**
   * `"VALID"` (default: no padding), `"SAME"` (output size ⌈input / stride⌉, extra padding at
   * the end), `"SAME_LOWER"` (extra padding at the start), or explicit `[low, high]` pairs.
   */
  padding?: ConvPadding;
  /** Input dilation per spatial dimension (a transposed convolution; default 1). */
  lhsDilation?: readonly number[];
  /** Kernel dilation per spatial dimension (atrous convolution; default 1). */
  rhsDilation?: readonly number[];
  /**
   * Layouts of input, kernel and output, as in JAX: e.g. `["NHWC", "HWIO", "NHWC"]`. `N` batch,
   * `C` features, `O`/`I` the kernel's output/input features, other letters spatial dimensions
   * (matched between the three by letter). Default: `["NCH…", "OIH…", "NCH…"]`.
   */
  dimensionNumbers?: readonly [string, string, string];
  /** Input features split into this many groups (e.g. depthwise convolution; default 1). */
  featureGroupCount?: number;
  /** Input batch split into this many groups (default 1). */
  batchGroupCount?: number;
}

const where = "lax.conv";

/** Permutations taking each operand to the canonical layout (N, C, spatial… / O, I, spatial…). */
function layouts(ndim: number, numbers: readonly [string, string, string] | undefined) {
  const identity = Array.from({ length: ndim }, (_, i) => i);
  if (numbers === undefined) return { lhs: identity, rhs: identity, out: identity };
  const [lhs, rhs, out] = numbers;
  for (const [spec, pair] of [
    [lhs, "NC"],
    [rhs, "OI"],
    [out, "NC"],
  ] as const) {
    const letters = new Set(spec);
    if (
      spec.length !== ndim ||
      letters.size !== ndim ||
      !letters.has(pair[0]) ||
      !letters.has(pair[1])
    ) {
      throw new ValueError(
        where,
        `dimensionNumbers ${JSON.stringify(numbers)}: each layout needs ${ndim} distinct letters, with ${pair[0]} and ${pair[1]} in "${spec}".`,
      );
    }
  }
  const spatial = [...rhs].filter((c) => c !== "O" && c !== "I");
  const same = (spec: string): boolean =>
    [...spec]
      .filter((c) => c !== "N" && c !== "C")
      .sort()
      .join("") === [...spatial].sort().join("");
  if (!same(lhs) || !same(out)) {
    throw new ValueError(
      where,
      `dimensionNumbers ${JSON.stringify(numbers)}: the three layouts must name the same spatial dimensions.`,
    );
  }
  const perm = (spec: string, first: string, second: string): number[] => [
    spec.indexOf(first),
    spec.indexOf(second),
    ...spatial.map((c) => spec.indexOf(c)),
  ];
  return { lhs: perm(lhs, "N", "C"), rhs: perm(rhs, "O", "I"), out: perm(out, "N", "C") };
}

function explicitPadding(
  padding: ConvPadding,
  input: readonly number[],
  window: readonly number[],
  strides: readonly number[],
): [number, number][] {
  if (typeof padding !== "string") {
    if (
      padding.length !== input.length ||
      padding.some((p) => p.length !== 2 || !p.every(Number.isInteger))
    ) {
      throw new ValueError(
        where,
        `padding needs one [low, high] pair of whole numbers per spatial dimension (${input.length}), got ${JSON.stringify(padding)}.`,
      );
    }
    return padding.map(([lo, hi]) => [lo, hi]);
  }
  if (padding === "VALID") return input.map(() => [0, 0]);
  if (padding !== "SAME" && padding !== "SAME_LOWER") {
    throw new ValueError(
      where,
      `padding must be "SAME", "SAME_LOWER", "VALID" or [low, high] pairs, got ${JSON.stringify(padding)}.`,
    );
  }
  return input.map((size, d) => {
    const out = Math.ceil(size / strides[d]!);
    const total = Math.max(0, (out - 1) * strides[d]! + window[d]! - size);
    const small = Math.floor(total / 2);
    return padding === "SAME" ? [small, total - small] : [total - small, small];
  });
}

/**
 * Convolution of `lhs` (the input) with `rhs` (the kernel): cross-correlation, as in deep-learning
 * libraries and `jax.lax.conv_general_dilated`. Differentiable in both operands (the gradients are
 * convolutions too), batchable with `vmap`, and compiled by `jit` (windows gathered into a patch
 * matrix and multiplied with the SIMD matmul kernels).
 *
 * @example
 * const image = np.arange(16, { dtype: "float32" }).reshape([1, 1, 4, 4]); // N, C, H, W
 * const kernel = np.ones([1, 1, 2, 2]); // O, I, H, W
 * console.log(lax.conv(image, kernel).shape); // [1, 1, 3, 3]
 * console.log(lax.conv(image, kernel, { strides: [2, 2], padding: "SAME" }).shape); // [1, 1, 2, 2]
 * const nhwc = np.ones([1, 4, 4, 3]);
 * const hwio = np.ones([3, 3, 3, 8]);
 * const y = lax.conv(nhwc, hwio, {
 *   padding: "SAME",
 *   dimensionNumbers: ["NHWC", "HWIO", "NHWC"],
 * });
 * console.log(y.shape); // [1, 4, 4, 8]
 */
export function conv(lhs: ArrayLike, rhs: ArrayLike, options: ConvOptions = {}): NDArray {
  const [x, w] = promote(where, [lhs, rhs]);
  if (x!.ndim !== w!.ndim || x!.ndim < 2) {
    throw new ShapeError(
      where,
      `the input and the kernel need the same rank (at least 2), got shapes [${x!.shape.join(", ")}] and [${w!.shape.join(", ")}].`,
    );
  }
  const ndim = x!.ndim;
  const spatial = ndim - 2;
  const perms = layouts(ndim, options.dimensionNumbers);
  const input = ops.transpose(x!, perms.lhs);
  const kernel = ops.transpose(w!, perms.rhs);
  const ones = new Array<number>(spatial).fill(1);
  const strides = options.strides ?? ones;
  const lhsDilation = options.lhsDilation ?? ones;
  const rhsDilation = options.rhsDilation ?? ones;
  const window = kernel.shape.slice(2).map((k, d) => dilateDim(k, rhsDilation[d] ?? 1));
  const params: ConvParams = {
    windowStrides: [...strides],
    padding: explicitPadding(
      options.padding ?? "VALID",
      input.shape.slice(2),
      window,
      strides.length === spatial ? strides : ones,
    ),
    lhsDilation: [...lhsDilation],
    rhsDilation: [...rhsDilation],
    featureGroupCount: options.featureGroupCount ?? 1,
    batchGroupCount: options.batchGroupCount ?? 1,
  };
  // Checked here so that the error names lax.conv and the caller's line.
  convShape(input.shape, kernel.shape, params, where);
  const out = bind1(convGeneralDilated, [input, kernel], params);
  // The output comes out canonical; put its axes where the layout says.
  const inverse = new Array<number>(ndim);
  perms.out.forEach((axis, i) => (inverse[axis] = i));
  return ops.transpose(out, inverse);
}

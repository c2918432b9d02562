/**
 * Polynomials and 1-d convolutions as NumPy has them: `polyval`, `polyfit`, `polyder`,
 * `polyint`, `vander`, `convolve`, `correlate`. Coefficients run from the highest power down.
 * Everything is composed from differentiable operations (`polyfit` through `lstsq`, the
 * convolutions through `lax.conv`), so it traces, batches and differentiates.
 */
import type { ArrayLike, NDArray } from "../core/array.js";
import { ShapeError, ValueError } from "../core/errors.js";
import { formatShape } from "../core/shape.js";
import { conv } from "../lax/conv.js";
import { asArray, convert, promote } from "./convert.js";
import { arange, ones } from "./creation.js";
import { lstsq } from "./linalg.js";
import { sqrt } from "./math.js";
import { sum } from "./reductions.js";
import { concatenate, flip, reshape, sliceAxis, stack } from "./shape.js";

function vector(operation: string, x: NDArray, name: string): NDArray {
  if (x.ndim !== 1) {
    throw new ShapeError(operation, `${name} must be 1-d, got shape ${formatShape(x.shape)}.`);
  }
  return x;
}

/**
 * The polynomial with coefficients `p` (highest power first) at `x`, by Horner's rule.
 * @example
 * np.polyval(np.array([3, 0, 1]), np.array([0, 2])).toList(); // [1, 13]
 */
export function polyval(p: ArrayLike, x: ArrayLike): NDArray {
  const [c, at] = promote("np.polyval", [p, x], true) as [NDArray, NDArray];
  vector("np.polyval", c, "p");
  if (c.size === 0) return convert(at.mul(0), at.dtype);
  let out = c.get(0).add(at.mul(0));
  for (let i = 1; i < c.size; i++) out = out.mul(at).add(c.get(i));
  return out;
}

/** Options of `vander`. */
export interface VanderOptions {
  /** Columns (default x's length). */
  n?: number;
  /** Powers increasing from the left (default false: x^(n−1) first, as NumPy). */
  increasing?: boolean;
}

/** The Vandermonde matrix of a 1-d `x`: columns of its powers. */
export function vander(x: ArrayLike, options: VanderOptions = {}): NDArray {
  const a = vector("np.vander", asArray("np.vander", x), "x");
  const n = options.n ?? a.size;
  if (!Number.isInteger(n) || n < 0) {
    throw new ValueError("np.vander", `n must be a whole number ≥ 0, got ${n}.`);
  }
  const powers: NDArray[] = [];
  let power = ones([a.size], { dtype: a.dtype });
  for (let k = 0; k < n; k++) {
    powers.push(power);
    power = power.mul(a);
  }
  if (n === 0) return reshape(a.mul(0), [a.size, 0]);
  const columns = options.increasing === true ? powers : powers.reverse();
  return stack(columns, { axis: 1 });
}

/**
 * The least-squares polynomial of degree `deg` through the points (x, y): its coefficients,
 * highest power first (NumPy's `polyfit`, with its column scaling of the Vandermonde matrix).
 */
export function polyfit(x: ArrayLike, y: ArrayLike, deg: number): NDArray {
  const operation = "np.polyfit";
  if (!Number.isInteger(deg) || deg < 0) {
    throw new ValueError(operation, `deg must be a whole number ≥ 0, got ${deg}.`);
  }
  const [xs, ys] = promote(operation, [x, y], true) as [NDArray, NDArray];
  vector(operation, xs, "x");
  vector(operation, ys, "y");
  if (xs.size !== ys.size || xs.size === 0) {
    throw new ShapeError(
      operation,
      `x and y need the same nonzero length, got ${xs.size} and ${ys.size}.`,
    );
  }
  const lhs = vander(xs, { n: deg + 1 });
  const scale = sqrt(sum(lhs.mul(lhs), { axis: 0 }));
  const [c] = lstsq(lhs.div(scale), ys);
  return c.div(scale);
}

function checkOrder(operation: string, m: number): number {
  if (!Number.isInteger(m) || m < 0) {
    throw new ValueError(operation, `m must be a whole number ≥ 0, got ${m}.`);
  }
  return m;
}

/** The m-th derivative of the polynomial `p` (default m = 1). */
export function polyder(p: ArrayLike, options: { m?: number } = {}): NDArray {
  const m = checkOrder("np.polyder", options.m ?? 1);
  let c = vector("np.polyder", promote("np.polyder", [p], true)[0]!, "p");
  for (let i = 0; i < m; i++) {
    const n = c.size - 1;
    if (n <= 0) return sliceAxis(c, 0, 0, 0);
    const factors = arange(n, 0, -1, { dtype: c.dtype });
    c = sliceAxis(c, 0, 0, n).mul(factors);
  }
  return c;
}

/** The m-th antiderivative of the polynomial `p` (default m = 1), integration constants `k` (default 0). */
export function polyint(p: ArrayLike, options: { m?: number; k?: number } = {}): NDArray {
  const m = checkOrder("np.polyint", options.m ?? 1);
  let c = vector("np.polyint", promote("np.polyint", [p], true)[0]!, "p");
  const k = options.k ?? 0;
  for (let i = 0; i < m; i++) {
    const n = c.size;
    const divisors = arange(n, 0, -1, { dtype: c.dtype });
    c = concatenate([c.div(divisors), reshape(c.get(0).mul(0).add(k), [1])]);
  }
  return c;
}

/** Modes of `convolve` and `correlate`. */
export type ConvolveMode = "full" | "same" | "valid";

/** Options of `convolve` and `correlate`. */
export interface ConvolveOptions {
  /** `"full"` (every overlap), `"same"` (the longer operand's length) or `"valid"` (full overlaps). */
  mode?: ConvolveMode;
}

function slidingProduct(
  operation: string,
  x: ArrayLike,
  y: ArrayLike,
  mode: ConvolveMode,
  reverse: boolean,
): NDArray {
  if (mode !== "full" && mode !== "same" && mode !== "valid") {
    throw new ValueError(
      operation,
      `mode must be "full", "same" or "valid", got ${JSON.stringify(mode)}.`,
    );
  }
  const [a0, v0] = promote(operation, [x, y], true) as [NDArray, NDArray];
  vector(operation, a0, "a");
  vector(operation, v0, "v");
  if (a0.size === 0 || v0.size === 0) {
    throw new ValueError(
      operation,
      `both operands must be non-empty, got lengths ${a0.size} and ${v0.size}.`,
    );
  }
  const v1 = reverse ? flip(v0) : v0;
  // Convolution commutes: slide the shorter operand over the longer one.
  const [a, v] = a0.size >= v1.size ? [a0, v1] : [v1, a0];
  const n = a.size;
  const k = v.size;
  // Full convolution = cross-correlation with the flipped kernel over zero padding of k − 1.
  const full = reshape(
    conv(reshape(a, [1, 1, n]), reshape(flip(v), [1, 1, k]), { padding: [[k - 1, k - 1]] }),
    [n + k - 1],
  );
  if (mode === "full") return full;
  if (mode === "valid") return sliceAxis(full, 0, k - 1, n);
  const start = Math.floor((k - 1) / 2);
  return sliceAxis(full, 0, start, start + n);
}

/**
 * The discrete linear convolution (a ∗ v)[n] = Σₖ a[k]·v[n − k] of two 1-d arrays (NumPy's
 * `convolve`, default mode "full").
 * @example
 * np.convolve(np.array([1, 2, 3]), np.array([0, 1, 0.5])).toList(); // [0, 1, 2.5, 4, 1.5]
 */
export function convolve(a: ArrayLike, v: ArrayLike, options: ConvolveOptions = {}): NDArray {
  return slidingProduct("np.convolve", a, v, options.mode ?? "full", false);
}

/**
 * The cross-correlation c[k] = Σₙ a[n + k]·v[n] of two real 1-d arrays (NumPy's `correlate`,
 * default mode "valid").
 */
export function correlate(a: ArrayLike, v: ArrayLike, options: ConvolveOptions = {}): NDArray {
  return slidingProduct("np.correlate", a, v, options.mode ?? "valid", true);
}

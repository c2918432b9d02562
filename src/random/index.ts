/**
 * `random`: counter-based pseudo-random numbers from explicit keys, as `jax.random` makes them
 * (Threefry-2x32, JAX's classic key derivation: `split`, `foldIn` and the raw bits are those of
 * `jax.random` with `jax_threefry_partitionable` off, bit for bit). A key is a uint32 array
 * whose last axis holds its two words (`[2]`, or `[n, 2]` for `n` keys, as `split` returns);
 * keys are plain arrays, so they pass through `jit`, `vmap` and pytrees like any other.
 *
 * @example
 * const k = random.key(0);
 * const [k1, k2] = random.split(k);
 * const x = random.normal(k1, [3]); // three standard normal float32s
 * const u = random.uniform(k2, [2, 2], { minval: -1, maxval: 1 });
 */
import type { NDArray } from "../core/array.js";
import type { DType } from "../core/dtype.js";
import { ValueError } from "../core/errors.js";
import { bind } from "../core/trace.js";
import * as np from "../numpy/index.js";
import { asArray } from "../numpy/convert.js";
import { threefry2x32 as threefryPrimitive } from "../primitives/threefry.js";

/** A key: uint32 with the two words on the last axis. */
export type Key = NDArray;

function checkShape(operation: string, shape: readonly number[]): number[] {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ValueError(
      operation,
      `shape must be a list of whole numbers ≥ 0, got ${JSON.stringify(shape)}.`,
    );
  }
  return [...shape];
}

/** The key as uint32 words, checked. */
function words(operation: string, key: Key): [NDArray, NDArray] {
  const k = asArray(operation, key);
  if (k.dtype !== "uint32" || k.ndim === 0 || k.shape[k.ndim - 1] !== 2) {
    throw new ValueError(
      operation,
      `expects a key (uint32 with a last axis of 2, from random.key or random.split), got ${k.aval.toString()}.`,
    );
  }
  if (k.ndim !== 1) {
    throw new ValueError(
      operation,
      `expects one key (shape [2]); got keys of shape [${k.shape.join(", ")}]. Map over them with vmap.`,
    );
  }
  return [k.get(0), k.get(1)];
}

/**
 * The key for an integer seed: words `[hi, lo]` of the seed, as `jax.random.PRNGKey(seed)`
 * (a negative seed is taken modulo 2³², as JAX does without 64-bit mode).
 */
export function key(seed: number): Key {
  if (!Number.isSafeInteger(seed)) {
    throw new ValueError("random.key", `the seed must be a whole number, got ${seed}.`);
  }
  const hi = seed >= 2 ** 32 ? Math.floor(seed / 2 ** 32) : 0;
  const lo = seed >= 2 ** 32 ? seed % 2 ** 32 : seed >>> 0;
  return np.array(new Uint32Array([hi, lo]));
}

/** The key's two uint32 words (the key itself: keys are uint32 arrays here). */
export function keyData(k: Key): NDArray {
  words("random.keyData", k);
  return asArray("random.keyData", k);
}

/**
 * `jax.random.threefry_2x32`: hashes `counts` (uint32, any shape) under the key words: the
 * counts are split in two halves (padded with a zero when odd) that form the blocks' two words.
 */
export function threefry2x32(keyWords: Key, counts: NDArray): NDArray {
  const [k0, k1] = words("random.threefry2x32", keyWords);
  const c = asArray("random.threefry2x32", counts);
  if (c.dtype !== "uint32") {
    throw new ValueError("random.threefry2x32", `counts must be uint32, got ${c.dtype}.`);
  }
  return hashCounts(k0, k1, c.reshape([c.size])).reshape([...c.shape]);
}

function hashCounts(k0: NDArray, k1: NDArray, flat: NDArray): NDArray {
  const n = flat.shape[0]!;
  if (n === 0) return flat;
  const odd = n % 2 === 1;
  const padded = odd ? np.concatenate([flat, np.zeros([1], { dtype: "uint32" })]) : flat;
  const half = padded.shape[0]! / 2;
  const [y0, y1] = bind(
    threefryPrimitive,
    [k0, k1, padded.get(`:${half}`), padded.get(`${half}:`)],
    {},
  );
  const out = np.concatenate([y0!, y1!]);
  return odd ? out.get(`:${n}`) : out;
}

/** `size` uint32 hashes of the counts 0, 1, …, size − 1. */
function bitsFlat(k0: NDArray, k1: NDArray, size: number): NDArray {
  return hashCounts(k0, k1, np.arange(size, { dtype: "uint32" }));
}

/** `num` new keys from `key`, as `jax.random.split`: shape `[num, 2]`. */
export function split(k: Key, num = 2): Key {
  if (!Number.isInteger(num) || num < 1) {
    throw new ValueError("random.split", `num must be a whole number ≥ 1, got ${num}.`);
  }
  const [k0, k1] = words("random.split", k);
  return bitsFlat(k0, k1, 2 * num).reshape([num, 2]);
}

/** A new key from `key` and an integer (e.g. a step number), as `jax.random.fold_in`. */
export function foldIn(k: Key, data: number | NDArray): Key {
  const [k0, k1] = words("random.foldIn", k);
  const d =
    typeof data === "number"
      ? np.array(new Uint32Array([data >>> 0]))
      : asArray("random.foldIn", data).astype("uint32").reshape([1]);
  return hashCounts(k0, k1, np.concatenate([np.zeros([1], { dtype: "uint32" }), d]));
}

/** Uniform random uint32 bits of `shape`, as `jax.random.bits`. */
export function bits(k: Key, shape: readonly number[] = []): NDArray {
  const s = checkShape("random.bits", shape);
  const [k0, k1] = words("random.bits", k);
  const size = s.reduce((n, d) => n * d, 1);
  return bitsFlat(k0, k1, size).reshape(s);
}

export interface UniformOptions {
  /** `"float32"` (default) or `"float64"`. */
  dtype?: DType;
  /** Lower bound (inclusive; default 0). */
  minval?: number | NDArray;
  /** Upper bound (exclusive; default 1). */
  maxval?: number | NDArray;
}

function floatDType(operation: string, dtype: DType | undefined): "float32" | "float64" {
  const d = dtype ?? "float32";
  if (d !== "float32" && d !== "float64") {
    throw new ValueError(operation, `dtype must be float32 or float64, got ${String(d)}.`);
  }
  return d;
}

/**
 * Uniform floats in [0, 1) from the bits: the high 23 (float32) or 52 (float64) bits as the
 * mantissa of a number in [1, 2), minus 1 — JAX's construction, computed exactly.
 */
function unitFloats(
  k: Key,
  shape: number[],
  dtype: "float32" | "float64",
  operation: string,
): NDArray {
  const [k0, k1] = words(operation, k);
  const size = shape.reduce((n, d) => n * d, 1);
  if (dtype === "float32") {
    const b = bitsFlat(k0, k1, size).astype("float64");
    return np
      .floor(b.div(512))
      .mul(2 ** -23)
      .astype("float32")
      .reshape(shape);
  }
  // 64 bits per number: the first half of the hashes are the high words.
  const b = bitsFlat(k0, k1, 2 * size).astype("float64");
  const hi = b.get(`:${size}`);
  const lo = b.get(`${size}:`);
  return hi
    .mul(2 ** 20)
    .add(np.floor(lo.div(4096)))
    .mul(2 ** -52)
    .reshape(shape);
}

/**
 * Uniform floats in [minval, maxval) of `shape`, as `jax.random.uniform` (the same numbers for
 * the same key).
 */
export function uniform(
  k: Key,
  shape: readonly number[] = [],
  options: UniformOptions = {},
): NDArray {
  const s = checkShape("random.uniform", shape);
  const dtype = floatDType("random.uniform", options.dtype);
  const lo = asArray("random.uniform", options.minval ?? 0).astype(dtype);
  const hi = asArray("random.uniform", options.maxval ?? 1).astype(dtype);
  const u = unitFloats(k, s, dtype, "random.uniform");
  return np.maximum(lo, u.mul(hi.sub(lo)).add(lo));
}

/** erf⁻¹ in the working precision (Giles' single-precision approximation, as XLA's). */
function erfInv(x: NDArray): NDArray {
  const w = np.log(np.subtract(1, x).mul(np.add(1, x))).neg();
  const polynomial = (t: NDArray, c: readonly number[]): NDArray =>
    c.slice(1).reduce((p, ci) => p.mul(t).add(ci), np.full(t.shape, c[0]!, { dtype: t.dtype }));
  const small = polynomial(
    w.sub(2.5),
    [
      2.81022636e-8, 3.43273939e-7, -3.5233877e-6, -4.39150654e-6, 0.00021858087, -0.00125372503,
      -0.00417768164, 0.246640727, 1.50140941,
    ],
  );
  const large = polynomial(
    np.sqrt(np.maximum(w, 5)).sub(3),
    [
      -0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
      0.00943887047, 1.00167406, 2.83297682,
    ],
  );
  return np.where(w.lt(5), small, large).mul(x);
}

/**
 * Standard normal floats of `shape`: √2·erf⁻¹(u) for u uniform in (−1, 1), JAX's method (the
 * same uniforms; the last bits of erf⁻¹ may differ from XLA's).
 */
export function normal(
  k: Key,
  shape: readonly number[] = [],
  options: { dtype?: DType } = {},
): NDArray {
  const s = checkShape("random.normal", shape);
  const dtype = floatDType("random.normal", options.dtype);
  // The smallest float above -1, as JAX's lower bound.
  const lo = dtype === "float32" ? -0.99999994 : -(1 - 2 ** -53);
  const u = uniform(k, s, { dtype, minval: lo, maxval: 1 });
  return erfInv(u).mul(Math.SQRT2);
}

/** `true` with probability `p` (a number or an array broadcast to `shape`). */
export function bernoulli(k: Key, p: number | NDArray = 0.5, shape?: readonly number[]): NDArray {
  const prob = asArray("random.bernoulli", p);
  const s = checkShape("random.bernoulli", shape ?? prob.shape);
  const dtype = prob.dtype === "float64" ? "float64" : "float32";
  return uniform(k, s, { dtype }).lt(prob);
}

/** `x mod m` for whole numbers 0 ≤ x < 2⁵³ in float64 (the quotient's rounding corrected). */
function mod(x: NDArray, m: number): NDArray {
  const r = x.sub(np.floor(x.div(m)).mul(m));
  return np.where(r.lt(0), r.add(m), np.where(r.ge(m), r.sub(m), r));
}

/**
 * Uniform integers in [minval, maxval) of `shape` (int32), as `jax.random.randint`: two words of
 * bits combined modulo the span, so that the bias is negligible.
 */
export function randint(k: Key, shape: readonly number[], minval: number, maxval: number): NDArray {
  const s = checkShape("random.randint", shape);
  if (!Number.isInteger(minval) || !Number.isInteger(maxval)) {
    throw new ValueError(
      "random.randint",
      `minval and maxval must be whole numbers, got ${minval} and ${maxval}.`,
    );
  }
  const span = Math.max(1, maxval - minval);
  const [ka, kb] = [split(k).get(0), split(k).get(1)];
  const size = s.reduce((n, d) => n * d, 1);
  const high = bits(ka, [size]).astype("float64");
  const low = bits(kb, [size]).astype("float64");
  // (high·2³² + low) mod span, exactly in float64: each part reduced first.
  const multiplier = 2 ** 32 % span;
  const offset = mod(mod(high, span).mul(multiplier).add(mod(low, span)), span);
  return offset.add(minval).astype("int32").reshape(s);
}

/**
 * `random`: counter-based pseudo-random numbers from explicit keys, as `jax.random` makes them
 * (Threefry-2x32, JAX's classic key derivation: `split`, `foldIn` and the raw bits are those of
 * `jax.random` with `jax_threefry_partitionable` off, bit for bit). A key is a uint32 array
 * whose last axis holds its two words (`[2]`, or `[n, 2]` for `n` keys, as `split` returns);
 * keys are plain arrays, so they pass through `jit`, `vmap` and pytrees like any other.
 *
 * @example
 * const k = random.key(0);
 * const [k1, k2, k3] = random.split(k, 3);
 * const x = random.normal(k1, [3]); // three standard normal float32s
 * const u = random.uniform(k2, [2, 2], { minval: -1, maxval: 1 });
 * const order = random.permutation(k3, 5); // 0…4 shuffled
 * console.log(x.shape, u.shape, order.shape); // [3] [2, 2] [5]
 */
import type { NDArray } from "../core/array.js";
import type { DType } from "../core/dtype.js";
import { ValueError } from "../core/errors.js";
import { bind, bind1 } from "../core/trace.js";
import { add as addP, mul as mulP, rem as remP } from "../primitives/binary.js";
import { sort as sortP } from "../primitives/sort.js";
import * as np from "../numpy/index.js";
import { asArray } from "../numpy/convert.js";
import { threefry2x32 as threefryPrimitive } from "../primitives/threefry.js";

/** A key: uint32 with the two words on the last axis. */
export type Key = NDArray;

/** A shape argument, checked. @internal */
export function checkShape(operation: string, shape: readonly number[]): number[] {
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

/** A float dtype option (float32 by default), checked. @internal */
export function floatDType(operation: string, dtype: DType | undefined): "float32" | "float64" {
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

/** erf(x) in float64: its Maclaurin series below |x| = 2.5, a continued fraction for erfc above. */
function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  if (a < 2.5) {
    let term = a;
    let sum = a;
    for (let n = 1; n < 80; n++) {
      term *= (-a * a) / n;
      const next = term / (2 * n + 1);
      sum += next;
      if (Math.abs(next) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * ((2 / Math.sqrt(Math.PI)) * sum);
  }
  if (a > 6) return Math.sign(x);
  // erfc(a) = exp(−a²)/√π · 1/(a + 1/2/(a + 1/(a + 3/2/(a + …)))), by Lentz's method.
  let f = a;
  let c = a;
  let d = 0;
  for (let n = 1; n < 200; n++) {
    const k = n / 2;
    d = 1 / (a + k * d);
    c = a + k / c;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.sign(x) * (1 - Math.exp(-a * a) / (Math.sqrt(Math.PI) * f));
}

/** The float of `dtype` next to `x` towards `to`. */
function nextAfter(x: number, to: number, dtype: "float32" | "float64"): number {
  if (x === to) return x;
  const buffer = dtype === "float32" ? new Float32Array([x]) : new Float64Array([x]);
  const ints =
    dtype === "float32" ? new Int32Array(buffer.buffer) : new BigInt64Array(buffer.buffer);
  if (x === 0) return (to > 0 ? 1 : -1) * (dtype === "float32" ? 2 ** -149 : 2 ** -1074);
  const up = to > x === x > 0;
  if (ints instanceof Int32Array) ints[0] = ints[0]! + (up ? 1 : -1);
  else ints[0] = ints[0]! + (up ? 1n : -1n);
  return buffer[0]!;
}

/**
 * Normal samples truncated to (lower, upper), as `jax.random.truncated_normal`: √2·erf⁻¹(u) for
 * u uniform between erf(lower/√2) and erf(upper/√2), clipped into the open interval.
 */
export function truncatedNormal(
  k: Key,
  lower: number,
  upper: number,
  shape: readonly number[] = [],
  options: { dtype?: DType } = {},
): NDArray {
  const s = checkShape("random.truncatedNormal", shape);
  const dtype = floatDType("random.truncatedNormal", options.dtype);
  if (Number.isNaN(lower) || Number.isNaN(upper) || !(lower < upper)) {
    throw new ValueError(
      "random.truncatedNormal",
      `needs lower < upper, got ${lower} and ${upper}.`,
    );
  }
  const round = dtype === "float32" ? Math.fround : (v: number): number => v;
  const a = round(erf(round(lower / Math.SQRT2)));
  const b = round(erf(round(upper / Math.SQRT2)));
  const out = erfInv(uniform(k, s, { dtype, minval: a, maxval: b })).mul(Math.SQRT2);
  const lo = nextAfter(round(lower), Infinity, dtype);
  const hi = nextAfter(round(upper), -Infinity, dtype);
  return np.minimum(np.maximum(out, lo), hi);
}

/** `true` with probability `p` (a number or an array broadcast to `shape`). */
export function bernoulli(k: Key, p: number | NDArray = 0.5, shape?: readonly number[]): NDArray {
  const prob = asArray("random.bernoulli", p);
  const s = checkShape("random.bernoulli", shape ?? prob.shape);
  const dtype = prob.dtype === "float64" ? "float64" : "float32";
  return uniform(k, s, { dtype }).lt(prob);
}

/** A uint32 scalar. */
const u32 = (value: number): NDArray => np.array(new Uint32Array([value >>> 0])).reshape([]);

const INT32_MAX = 2 ** 31 - 1;
const INT32_MIN = -(2 ** 31);

/**
 * Uniform int32s in [minval, maxval) of `shape`, as `jax.random.randint` (the same numbers for
 * the same key): two words of bits from split keys, combined modulo the span in uint32
 * arithmetic. `maxval ≤ minval` gives `minval`.
 */
export function randint(k: Key, shape: readonly number[], minval: number, maxval: number): NDArray {
  const s = checkShape("random.randint", shape);
  if (!Number.isInteger(minval) || !Number.isInteger(maxval)) {
    throw new ValueError(
      "random.randint",
      `minval and maxval must be whole numbers, got ${minval} and ${maxval}.`,
    );
  }
  const outOfRange = maxval > INT32_MAX;
  const lo = Math.min(Math.max(minval, INT32_MIN), INT32_MAX);
  const hi = Math.min(Math.max(maxval, INT32_MIN), INT32_MAX);
  const [ka, kb] = split(k);
  const higher = bits(ka!, s);
  const lower = bits(kb!, s);
  let span = hi <= lo ? 1 : (hi - lo) >>> 0;
  if (outOfRange && hi > lo) span = (span + 1) >>> 0;
  // (2¹⁶ mod span)² mod span, with uint32 wrap-around as XLA computes it.
  const half = 65536 % span;
  const multiplier = (Math.imul(half, half) >>> 0) % span;
  const spanArray = u32(span);
  const offset = bind1(
    remP,
    [
      bind1(
        addP,
        [
          bind1(mulP, [bind1(remP, [higher, spanArray], {}), u32(multiplier)], {}),
          bind1(remP, [lower, spanArray], {}),
        ],
        {},
      ),
      spanArray,
    ],
    {},
  );
  return bind1(addP, [offset.astype("int32"), np.array(lo, { dtype: "int32" })], {});
}

/** Gumbel(0, 1) samples of `shape`, as `jax.random.gumbel`: −log(−log(u)), u in [tiny, 1). */
export function gumbel(
  k: Key,
  shape: readonly number[] = [],
  options: { dtype?: DType } = {},
): NDArray {
  const s = checkShape("random.gumbel", shape);
  const dtype = floatDType("random.gumbel", options.dtype);
  const tiny = dtype === "float32" ? 2 ** -126 : 2 ** -1022;
  return np.log(np.log(uniform(k, s, { dtype, minval: tiny, maxval: 1 })).neg()).neg();
}

export interface CategoricalOptions {
  /** The axis of `logits` holding the categories (default −1). */
  axis?: number;
  /** The output shape: the batch shape of `logits` (without `axis`) with extra leading axes. */
  shape?: readonly number[];
}

/**
 * Category indices drawn with probabilities softmax(`logits`) along `axis`, as
 * `jax.random.categorical` (Gumbel-max: argmax of logits + Gumbel noise).
 */
export function categorical(k: Key, logits: NDArray, options: CategoricalOptions = {}): NDArray {
  const l = asArray("random.categorical", logits);
  if (l.ndim === 0) {
    throw new ValueError("random.categorical", "logits need at least one axis (the categories).");
  }
  const axis = (((options.axis ?? -1) % l.ndim) + l.ndim) % l.ndim;
  const batch = l.shape.filter((_, i) => i !== axis);
  const shape = checkShape("random.categorical", options.shape ?? batch);
  const suffix = shape.slice(shape.length - batch.length);
  if (shape.length < batch.length || suffix.some((d, i) => d !== batch[i])) {
    throw new ValueError(
      "random.categorical",
      `shape [${shape.join(", ")}] must end with the logits' batch shape [${batch.join(", ")}].`,
    );
  }
  const prefix = shape.slice(0, shape.length - batch.length);
  const sampleShape = [...prefix, ...l.shape];
  const dtype = l.dtype === "float64" ? "float64" : "float32";
  const noisy = gumbel(k, sampleShape, { dtype }).add(l.astype(dtype));
  return np.argmax(noisy, { axis: prefix.length + axis });
}

/**
 * A random permutation: of `0 … n−1` for a number, or of an array's first axis, as
 * `jax.random.permutation` (rounds of sorting by random bits).
 */
export function permutation(k: Key, nOrArray: number | NDArray): NDArray {
  if (typeof nOrArray === "number") {
    if (!Number.isInteger(nOrArray) || nOrArray < 0) {
      throw new ValueError("random.permutation", `n must be a whole number ≥ 0, got ${nOrArray}.`);
    }
    return shuffle(k, np.arange(nOrArray, { dtype: "int32" }));
  }
  const x = asArray("random.permutation", nOrArray);
  if (x.ndim === 0) {
    throw new ValueError("random.permutation", "expects a number or an array with a first axis.");
  }
  const order = shuffle(k, np.arange(x.shape[0]!, { dtype: "int32" }));
  return x.get(order);
}

function shuffle(k: Key, x: NDArray): NDArray {
  // Enough rounds that repeated sort keys are unlikely to matter (JAX's rule).
  const rounds = Math.ceil((3 * Math.log(Math.max(1, x.size))) / Math.log(2 ** 32 - 1));
  let key = k;
  let out = x;
  for (let r = 0; r < rounds; r++) {
    const [next, sub] = split(key);
    key = next!;
    const sortKeys = bits(sub!, [...out.shape]);
    out = bind(sortP, [sortKeys, out], { dimension: 0, numKeys: 1 })[1]!;
  }
  return out;
}

export interface ChoiceOptions {
  /** The output shape (default: one draw, `[]`). */
  shape?: readonly number[];
  /** Draw with replacement (default true). */
  replace?: boolean;
  /** Probabilities of the entries (default uniform). */
  p?: NDArray;
}

/**
 * Draws from `0 … n−1` (for a number) or from the first axis of an array, as
 * `jax.random.choice`: with or without replacement, uniformly or with probabilities `p`.
 */
export function choice(k: Key, a: number | NDArray, options: ChoiceOptions = {}): NDArray {
  const shape = checkShape("random.choice", options.shape ?? []);
  const arr = typeof a === "number" ? undefined : asArray("random.choice", a);
  const n = typeof a === "number" ? a : arr!.shape[0];
  if (n === undefined || !Number.isInteger(n) || n < 0) {
    throw new ValueError(
      "random.choice",
      "expects a whole number ≥ 0 or an array with a first axis.",
    );
  }
  const draws = shape.reduce((m, d) => m * d, 1);
  const replace = options.replace ?? true;
  if (!replace && draws > n) {
    throw new ValueError(
      "random.choice",
      `cannot take ${draws} draws without replacement from ${n} entries.`,
    );
  }
  let index: NDArray;
  if (options.p === undefined) {
    index = replace ? randint(k, shape, 0, n) : permutation(k, n).get(`:${draws}`).reshape(shape);
  } else {
    const p = asArray("random.choice", options.p);
    if (p.ndim !== 1 || p.shape[0] !== n) {
      throw new ValueError(
        "random.choice",
        `p must have shape [${n}], got [${p.shape.join(", ")}].`,
      );
    }
    const dtype = p.dtype === "float64" ? "float64" : "float32";
    const pf = p.astype(dtype);
    if (replace) {
      const cumulative = np.cumsum(pf);
      const total = cumulative.get(-1);
      const r = total.mul(np.subtract(1, uniform(k, shape, { dtype })));
      // searchsorted (left): how many cumulative sums are below each draw.
      index = cumulative
        .reshape([n, ...shape.map(() => 1)])
        .lt(r)
        .astype("int32")
        .sum({ axis: 0 });
    } else {
      const g = gumbel(k, [n], { dtype }).neg().sub(np.log(pf));
      index = np.argsort(g).get(`:${draws}`).reshape(shape);
    }
  }
  return arr === undefined ? index : arr.get(index);
}

export * from "./distributions.js";

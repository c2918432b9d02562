/**
 * More of `jax.random`'s distributions, each by JAX's own method from the same uniform or normal
 * draws (so a key gives JAX's numbers up to the last bits of the transcendental functions):
 * exponential, Laplace, logistic, Cauchy, Rademacher, Pareto, Weibull, log-normal, Rayleigh,
 * Maxwell, and the multivariate normal (through a Cholesky factor).
 */
import type { NDArray } from "../core/array.js";
import type { DType } from "../core/dtype.js";
import { ShapeError, ValueError } from "../core/errors.js";
import { broadcastShapes } from "../core/shape.js";
import * as np from "../numpy/index.js";
import { asArray } from "../numpy/convert.js";
import { bernoulli, checkShape, floatDType, normal, uniform, type Key } from "./index.js";

/** Options of the samplers: the float dtype (float32 unless told). */
export interface SampleOptions {
  dtype?: DType;
}

const epsilon = (dtype: "float32" | "float64"): number =>
  dtype === "float32" ? 2 ** -23 : 2 ** -52;

/** Exponential(1) samples: −log1p(−u), u uniform in [0, 1). */
export function exponential(
  k: Key,
  shape: readonly number[] = [],
  options: SampleOptions = {},
): NDArray {
  const dtype = floatDType("random.exponential", options.dtype);
  const u = uniform(k, checkShape("random.exponential", shape), { dtype });
  return np.log1p(u.neg()).neg();
}

/** Laplace(0, 1) samples: sign(u)·log1p(−|u|), u uniform in (−1, 1). */
export function laplace(
  k: Key,
  shape: readonly number[] = [],
  options: SampleOptions = {},
): NDArray {
  const dtype = floatDType("random.laplace", options.dtype);
  const lo = dtype === "float32" ? -1 + 2 ** -24 : -1 + 2 ** -53;
  const u = uniform(k, checkShape("random.laplace", shape), { dtype, minval: lo, maxval: 1 });
  return np.sign(u).mul(np.log1p(np.abs(u).neg()));
}

/** Logistic(0, 1) samples: log(u / (1 − u)), u uniform in [ε, 1). */
export function logistic(
  k: Key,
  shape: readonly number[] = [],
  options: SampleOptions = {},
): NDArray {
  const dtype = floatDType("random.logistic", options.dtype);
  const u = uniform(k, checkShape("random.logistic", shape), {
    dtype,
    minval: epsilon(dtype),
    maxval: 1,
  });
  return np.log(u.div(np.subtract(1, u)));
}

/** Standard Cauchy samples: tan(π(u − ½)), u uniform in [ε, 1). */
export function cauchy(
  k: Key,
  shape: readonly number[] = [],
  options: SampleOptions = {},
): NDArray {
  const dtype = floatDType("random.cauchy", options.dtype);
  const u = uniform(k, checkShape("random.cauchy", shape), {
    dtype,
    minval: epsilon(dtype),
    maxval: 1,
  });
  return np.tan(u.sub(0.5).mul(Math.PI));
}

/** −1 or 1 with equal probability (int32 unless told). */
export function rademacher(
  k: Key,
  shape: readonly number[] = [],
  options: SampleOptions = {},
): NDArray {
  const dtype = options.dtype ?? "int32";
  const b = bernoulli(k, 0.5, checkShape("random.rademacher", shape));
  return b.astype("int32").mul(2).sub(1).astype(dtype);
}

/** A positive parameter (number or array), checked when it is concrete. */
function parameter(
  operation: string,
  name: string,
  value: number | NDArray,
  dtype: DType,
): NDArray {
  const a = asArray(operation, value).astype(dtype);
  if (typeof value === "number" && !(value > 0)) {
    throw new ValueError(operation, `${name} must be positive, got ${value}.`);
  }
  return a;
}

/** Pareto(b) samples on [1, ∞): exp(e / b), e exponential. The shape defaults to b's. */
export function pareto(
  k: Key,
  b: number | NDArray,
  shape?: readonly number[],
  options: SampleOptions = {},
): NDArray {
  const dtype = floatDType("random.pareto", options.dtype);
  const shapeParameter = parameter("random.pareto", "b", b, dtype);
  const e = exponential(k, shape ?? shapeParameter.shape, { dtype });
  return np.exp(e.div(shapeParameter));
}

/** Weibull samples: scale·(−log1p(−u))^(1/concentration). */
export function weibullMin(
  k: Key,
  scale: number | NDArray,
  concentration: number | NDArray,
  shape: readonly number[] = [],
  options: SampleOptions = {},
): NDArray {
  const dtype = floatDType("random.weibullMin", options.dtype);
  const s = parameter("random.weibullMin", "scale", scale, dtype);
  const c = parameter("random.weibullMin", "concentration", concentration, dtype);
  const u = uniform(k, checkShape("random.weibullMin", shape), { dtype });
  return np.power(np.log1p(u.neg()).neg(), np.divide(1, c)).mul(s);
}

/** Log-normal samples: exp(σ·n), n standard normal (σ = 1 unless told). */
export function lognormal(
  k: Key,
  sigma: number | NDArray = 1,
  shape?: readonly number[],
  options: SampleOptions = {},
): NDArray {
  const dtype = floatDType("random.lognormal", options.dtype);
  const s = parameter("random.lognormal", "sigma", sigma, dtype);
  return np.exp(normal(k, shape ?? s.shape, { dtype }).mul(s));
}

/** Rayleigh samples: scale·√(−2 log u). The shape defaults to scale's. */
export function rayleigh(
  k: Key,
  scale: number | NDArray,
  shape?: readonly number[],
  options: SampleOptions = {},
): NDArray {
  const dtype = floatDType("random.rayleigh", options.dtype);
  const s = parameter("random.rayleigh", "scale", scale, dtype);
  const u = uniform(k, checkShape("random.rayleigh", shape ?? s.shape), { dtype });
  return np.sqrt(np.log(u).mul(-2)).mul(s);
}

/** One-sided Maxwell samples: the norm of three standard normals. */
export function maxwell(
  k: Key,
  shape: readonly number[] = [],
  options: SampleOptions = {},
): NDArray {
  const dtype = floatDType("random.maxwell", options.dtype);
  const n = normal(k, [...checkShape("random.maxwell", shape), 3], { dtype });
  return np.sqrt(n.mul(n).sum({ axis: -1 }));
}

/**
 * Samples of a multivariate normal with `mean` [..., n] and covariance `cov` [..., n, n]
 * (symmetric positive definite): mean + L·z with L = cholesky(cov), z standard normal. The shape
 * (without the last axis, n) defaults to the broadcast batch shape of mean and cov.
 */
export function multivariateNormal(
  k: Key,
  mean: NDArray,
  cov: NDArray,
  shape?: readonly number[],
  options: SampleOptions = {},
): NDArray {
  const dtype = floatDType("random.multivariateNormal", options.dtype);
  const m = asArray("random.multivariateNormal", mean).astype(dtype);
  const c = asArray("random.multivariateNormal", cov).astype(dtype);
  const n = m.shape[m.ndim - 1];
  if (m.ndim < 1 || c.ndim < 2 || c.shape[c.ndim - 1] !== n || c.shape[c.ndim - 2] !== n) {
    throw new ShapeError(
      "random.multivariateNormal",
      `mean must be [..., n] and cov [..., n, n], got [${m.shape.join(", ")}] and [${c.shape.join(", ")}].`,
    );
  }
  const batch = broadcastShapes(
    "random.multivariateNormal",
    m.shape.slice(0, -1),
    c.shape.slice(0, -2),
  );
  const s = checkShape("random.multivariateNormal", shape ?? batch);
  const z = normal(k, [...s, n!], { dtype });
  const factor = np.linalg.cholesky(c);
  return m.add(np.matmul(factor, z.reshape([...s, n!, 1])).reshape([...s, n!]));
}

/**
 * `nn.init`: parameter initialisers with PyTorch's rules (`torch.nn.init`). Each is
 * `(key, shape, options) → array`; fans follow PyTorch's layout, `[out, in, ...kernel]`, so
 * fanIn = in·∏kernel and fanOut = out·∏kernel for convolution weights too. All are written
 * with `np` and `random`, so they also run under `vmap` and `jit` (e.g. an ensemble of inits).
 */
import type { NDArray } from "../core/array.js";
import type { DType } from "../core/dtype.js";
import { ShapeError, ValueError } from "../core/errors.js";
import * as np from "../numpy/index.js";
import * as random from "../random/index.js";

/** Options every initialiser takes. */
export interface InitOptions {
  /** float32 (default) or float64 (zeros, ones and constant take any dtype). */
  dtype?: DType;
}

/** An initialiser: a new array of `shape` from `key` (`nn.init.zeros`, `nn.init.xavierUniform`, …). */
export type Initializer = (
  key: NDArray,
  shape: readonly number[],
  options?: InitOptions,
) => NDArray;

/** The nonlinearities `calculateGain` knows (PyTorch's names in camelCase). */
export type Nonlinearity =
  | "linear"
  | "conv1d"
  | "conv2d"
  | "conv3d"
  | "convTranspose1d"
  | "convTranspose2d"
  | "convTranspose3d"
  | "sigmoid"
  | "tanh"
  | "relu"
  | "leakyRelu"
  | "selu";

function checkShape(operation: string, shape: readonly number[]): number[] {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(
      operation,
      `shape must be a list of whole numbers ≥ 0, got ${JSON.stringify(shape)}.`,
    );
  }
  return [...shape];
}

function floatType(operation: string, dtype: DType | undefined): "float32" | "float64" {
  const d = dtype ?? "float32";
  if (d !== "float32" && d !== "float64") {
    throw new ValueError(operation, `dtype must be float32 or float64, got ${String(d)}.`);
  }
  return d;
}

/**
 * `[fanIn, fanOut]` of a weight of `shape`, as PyTorch computes them: `[in·r, out·r]` for a
 * shape `[out, in, ...kernel]` with r = ∏kernel (needs at least 2 axes).
 *
 * @example
 * console.log(nn.init.computeFans([16, 3, 5, 5])); // [75, 400]
 */
export function computeFans(shape: readonly number[]): [number, number] {
  const s = checkShape("nn.init.computeFans", shape);
  if (s.length < 2) {
    throw new ShapeError(
      "nn.init.computeFans",
      `fans need a weight with at least 2 axes ([out, in, ...kernel]), got shape [${s.join(", ")}].`,
    );
  }
  const receptive = s.slice(2).reduce((n, d) => n * d, 1);
  return [s[1]! * receptive, s[0]! * receptive];
}

/**
 * The recommended gain for a nonlinearity (PyTorch's `calculate_gain`): 1 for linear, conv and
 * sigmoid, 5/3 for tanh, √2 for relu, √(2/(1 + slope²)) for leakyRelu (`param` = negative
 * slope, default 0.01), 3/4 for selu.
 *
 * @example
 * console.log(nn.init.calculateGain("relu")); // 1.4142135623730951
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case "linear":
    case "conv1d":
    case "conv2d":
    case "conv3d":
    case "convTranspose1d":
    case "convTranspose2d":
    case "convTranspose3d":
    case "sigmoid":
      return 1;
    case "tanh":
      return 5 / 3;
    case "relu":
      return Math.SQRT2;
    case "leakyRelu": {
      const slope = param ?? 0.01;
      if (!Number.isFinite(slope)) {
        throw new ValueError(
          "nn.init.calculateGain",
          `the negative slope must be a number, got ${slope}.`,
        );
      }
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case "selu":
      return 3 / 4;
    default:
      throw new ValueError(
        "nn.init.calculateGain",
        `unknown nonlinearity ${JSON.stringify(nonlinearity)}; use one of linear, conv1d, conv2d, conv3d, convTranspose1d/2d/3d, sigmoid, tanh, relu, leakyRelu, selu.`,
      );
  }
}

/**
 * Zeros of `shape` (`key` is not used; it is there so that every initialiser is called alike).
 *
 * @example
 * console.log(nn.init.zeros(random.key(0), [2, 3]).shape); // [2, 3]
 */
export function zeros(_key: NDArray, shape: readonly number[], options: InitOptions = {}): NDArray {
  return np.zeros(checkShape("nn.init.zeros", shape), { dtype: options.dtype ?? "float32" });
}

/**
 * Ones of `shape` (`key` is not used).
 *
 * @example
 * console.log(nn.init.ones(random.key(0), [2]).toList()); // [1, 1]
 */
export function ones(_key: NDArray, shape: readonly number[], options: InitOptions = {}): NDArray {
  return np.ones(checkShape("nn.init.ones", shape), { dtype: options.dtype ?? "float32" });
}

/**
 * `value` everywhere (`key` is not used).
 *
 * @example
 * console.log(nn.init.constant(random.key(0), [2], { value: 0.5 }).toList()); // [0.5, 0.5]
 */
export function constant(
  _key: NDArray,
  shape: readonly number[],
  options: InitOptions & { value: number },
): NDArray {
  if (typeof options?.value !== "number") {
    throw new ValueError("nn.init.constant", "needs { value } (a number).");
  }
  return np.full(checkShape("nn.init.constant", shape), options.value, {
    dtype: options.dtype ?? "float32",
  });
}

/**
 * Uniform in [minval, maxval) (default [0, 1), as PyTorch's `uniform_`).
 *
 * @example
 * const w = nn.init.uniform(random.key(0), [3, 4], { minval: -1, maxval: 1 });
 * console.log(w.shape); // [3, 4]
 */
export function uniform(
  key: NDArray,
  shape: readonly number[],
  options: InitOptions & { minval?: number; maxval?: number } = {},
): NDArray {
  const minval = options.minval ?? 0;
  const maxval = options.maxval ?? 1;
  if (!(minval <= maxval)) {
    throw new ValueError("nn.init.uniform", `needs minval ≤ maxval, got ${minval} and ${maxval}.`);
  }
  return random.uniform(key, checkShape("nn.init.uniform", shape), {
    dtype: floatType("nn.init.uniform", options.dtype),
    minval,
    maxval,
  });
}

/**
 * Normal with mean `mean` (default 0) and standard deviation `std` (default 1).
 *
 * @example
 * console.log(nn.init.normal(random.key(0), [5], { std: 0.02 }).shape); // [5]
 */
export function normal(
  key: NDArray,
  shape: readonly number[],
  options: InitOptions & { mean?: number; std?: number } = {},
): NDArray {
  const std = options.std ?? 1;
  if (!(std >= 0)) throw new ValueError("nn.init.normal", `std must be ≥ 0, got ${std}.`);
  const z = random.normal(key, checkShape("nn.init.normal", shape), {
    dtype: floatType("nn.init.normal", options.dtype),
  });
  return z.mul(std).add(options.mean ?? 0);
}

/**
 * Normal with `mean` and `std`, redrawn outside [lower, upper] (absolute bounds, default
 * [−2, 2]), as PyTorch's `trunc_normal_`.
 *
 * @example
 * const w = nn.init.truncatedNormal(random.key(0), [100], { std: 0.02, lower: -0.04, upper: 0.04 });
 * console.log(w.max().item() <= 0.04); // true
 */
export function truncatedNormal(
  key: NDArray,
  shape: readonly number[],
  options: InitOptions & { mean?: number; std?: number; lower?: number; upper?: number } = {},
): NDArray {
  const { mean = 0, std = 1, lower = -2, upper = 2 } = options;
  if (!(std > 0) || !(lower < upper)) {
    throw new ValueError(
      "nn.init.truncatedNormal",
      `needs std > 0 and lower < upper, got std ${std}, bounds ${lower} and ${upper}.`,
    );
  }
  const z = random.truncatedNormal(
    key,
    (lower - mean) / std,
    (upper - mean) / std,
    checkShape("nn.init.truncatedNormal", shape),
    { dtype: floatType("nn.init.truncatedNormal", options.dtype) },
  );
  return z.mul(std).add(mean);
}

/** A fan of `shape` for an initialiser, refusing an empty one (the scale would be infinite). */
function fanOf(operation: string, shape: readonly number[], which: "fanIn" | "fanOut"): number {
  const [fanIn, fanOut] = computeFans(shape);
  const fan = which === "fanIn" ? fanIn : fanOut;
  if (fan === 0) {
    throw new ShapeError(operation, `shape [${shape.join(", ")}] has ${which} 0.`);
  }
  return fan;
}

/** Uniform in ±√3·std: the uniform distribution with standard deviation `std`. */
const uniformWithStd = (
  operation: string,
  key: NDArray,
  shape: readonly number[],
  std: number,
  dtype: DType | undefined,
): NDArray => {
  const bound = Math.sqrt(3) * std;
  return random.uniform(key, checkShape(operation, shape), {
    dtype: floatType(operation, dtype),
    minval: -bound,
    maxval: bound,
  });
};

const normalWithStd = (
  operation: string,
  key: NDArray,
  shape: readonly number[],
  std: number,
  dtype: DType | undefined,
): NDArray =>
  random.normal(key, checkShape(operation, shape), { dtype: floatType(operation, dtype) }).mul(std);

function xavierStd(operation: string, shape: readonly number[], gain: number): number {
  const [fanIn, fanOut] = computeFans(shape);
  if (fanIn + fanOut === 0)
    throw new ShapeError(operation, `shape [${shape.join(", ")}] is empty.`);
  return gain * Math.sqrt(2 / (fanIn + fanOut));
}

/**
 * Glorot/Xavier uniform: U(±gain·√(6/(fanIn + fanOut))) (PyTorch's `xavier_uniform_`; with
 * gain 1 also JAX's `glorot_uniform`).
 *
 * @example
 * console.log(nn.init.xavierUniform(random.key(0), [64, 32]).shape); // [64, 32]
 */
export function xavierUniform(
  key: NDArray,
  shape: readonly number[],
  options: InitOptions & { gain?: number } = {},
): NDArray {
  const std = xavierStd("nn.init.xavierUniform", shape, options.gain ?? 1);
  return uniformWithStd("nn.init.xavierUniform", key, shape, std, options.dtype);
}

/**
 * Glorot/Xavier normal: N(0, gain²·2/(fanIn + fanOut)) (PyTorch's `xavier_normal_`).
 *
 * @example
 * console.log(nn.init.xavierNormal(random.key(0), [64, 32]).shape); // [64, 32]
 */
export function xavierNormal(
  key: NDArray,
  shape: readonly number[],
  options: InitOptions & { gain?: number } = {},
): NDArray {
  const std = xavierStd("nn.init.xavierNormal", shape, options.gain ?? 1);
  return normalWithStd("nn.init.xavierNormal", key, shape, std, options.dtype);
}

/** Options of the Kaiming (He) initialisers, PyTorch's defaults. */
export interface KaimingOptions extends InitOptions {
  /** Negative slope of the leaky relu after this layer (default 0). */
  a?: number;
  /** Preserve the variance of the forward pass ("fanIn", default) or of the backward pass. */
  mode?: "fanIn" | "fanOut";
  /** Default "leakyRelu" (with `a` = 0, the relu gain √2). */
  nonlinearity?: Nonlinearity;
}

function kaimingStd(operation: string, shape: readonly number[], options: KaimingOptions): number {
  const mode = options.mode ?? "fanIn";
  if (mode !== "fanIn" && mode !== "fanOut") {
    throw new ValueError(operation, `mode must be "fanIn" or "fanOut", got ${String(mode)}.`);
  }
  const gain = calculateGain(options.nonlinearity ?? "leakyRelu", options.a ?? 0);
  return gain / Math.sqrt(fanOf(operation, shape, mode));
}

/**
 * Kaiming/He uniform: U(±gain·√(3/fan)) (PyTorch's `kaiming_uniform_`).
 *
 * @example
 * const w = nn.init.kaimingUniform(random.key(0), [8, 3, 3, 3], { nonlinearity: "relu" });
 * console.log(w.shape); // [8, 3, 3, 3]
 */
export function kaimingUniform(
  key: NDArray,
  shape: readonly number[],
  options: KaimingOptions = {},
): NDArray {
  const std = kaimingStd("nn.init.kaimingUniform", shape, options);
  return uniformWithStd("nn.init.kaimingUniform", key, shape, std, options.dtype);
}

/**
 * Kaiming/He normal: N(0, gain²/fan) (PyTorch's `kaiming_normal_`; JAX's `he_normal` truncates
 * instead).
 *
 * @example
 * console.log(nn.init.kaimingNormal(random.key(0), [16, 8], { mode: "fanOut" }).shape); // [16, 8]
 */
export function kaimingNormal(
  key: NDArray,
  shape: readonly number[],
  options: KaimingOptions = {},
): NDArray {
  const std = kaimingStd("nn.init.kaimingNormal", shape, options);
  return normalWithStd("nn.init.kaimingNormal", key, shape, std, options.dtype);
}

/**
 * LeCun uniform: U(±√(3/fanIn)), variance 1/fanIn (JAX's `lecun_uniform`, PyTorch's fans).
 *
 * @example
 * console.log(nn.init.lecunUniform(random.key(0), [10, 5]).shape); // [10, 5]
 */
export function lecunUniform(
  key: NDArray,
  shape: readonly number[],
  options: InitOptions = {},
): NDArray {
  const std = 1 / Math.sqrt(fanOf("nn.init.lecunUniform", shape, "fanIn"));
  return uniformWithStd("nn.init.lecunUniform", key, shape, std, options.dtype);
}

/** The standard deviation of a unit normal truncated to [−2, 2]. */
const truncatedStd = 0.87962566103423978;

/**
 * LeCun normal: a normal truncated to ±2 standard deviations, scaled to variance 1/fanIn
 * (JAX's `lecun_normal`, PyTorch's fans).
 *
 * @example
 * console.log(nn.init.lecunNormal(random.key(0), [10, 5]).shape); // [10, 5]
 */
export function lecunNormal(
  key: NDArray,
  shape: readonly number[],
  options: InitOptions = {},
): NDArray {
  const std = 1 / Math.sqrt(fanOf("nn.init.lecunNormal", shape, "fanIn")) / truncatedStd;
  return random
    .truncatedNormal(key, -2, 2, checkShape("nn.init.lecunNormal", shape), {
      dtype: floatType("nn.init.lecunNormal", options.dtype),
    })
    .mul(std);
}

/**
 * A (semi-)orthogonal matrix times `gain`, as PyTorch's `orthogonal_`: the Q of the QR
 * decomposition (signs fixed so that R has a positive diagonal) of a normal matrix
 * `[shape[0], ∏shape[1:]]`, reshaped to `shape`. Rows are orthonormal when there are fewer rows
 * than columns, columns otherwise. (Q is found by Gram–Schmidt with reorthogonalisation.)
 *
 * @example
 * const q = nn.init.orthogonal(random.key(0), [3, 3], { dtype: "float64" });
 * console.log(tree.allclose(np.matmul(q.T, q), np.eye(3), { atol: 1e-12 })); // true
 */
export function orthogonal(
  key: NDArray,
  shape: readonly number[],
  options: InitOptions & { gain?: number } = {},
): NDArray {
  const s = checkShape("nn.init.orthogonal", shape);
  if (s.length < 2) {
    throw new ShapeError(
      "nn.init.orthogonal",
      `needs at least 2 axes, got shape [${s.join(", ")}].`,
    );
  }
  const rows = s[0]!;
  const cols = s.slice(1).reduce((n, d) => n * d, 1);
  const dtype = floatType("nn.init.orthogonal", options.dtype);
  if (rows * cols === 0) return np.zeros(s, { dtype });
  const flat = random.normal(key, [rows, cols], { dtype });
  const a = rows < cols ? flat.T : flat;
  let q: NDArray | undefined;
  for (let j = 0; j < a.shape[1]!; j++) {
    let v = a.get(`:, ${j}:${j + 1}`);
    // Classical Gram–Schmidt, twice ("twice is enough"): orthogonal to working precision.
    for (let pass = 0; q !== undefined && pass < 2; pass++) {
      v = v.sub(np.matmul(q, np.matmul(q.T, v)));
    }
    const unit = v.div(np.sqrt(v.mul(v).sum()));
    q = q === undefined ? unit : np.concatenate([q, unit], { axis: 1 });
  }
  const matrix = rows < cols ? q!.T : q!;
  return matrix.reshape(s).mul(options.gain ?? 1);
}

/**
 * JAX's name for {@link xavierUniform}.
 *
 * @example
 * console.log(nn.init.glorotUniform(random.key(0), [4, 2]).shape); // [4, 2]
 */
export const glorotUniform = xavierUniform;

/**
 * JAX's name for {@link xavierNormal}.
 *
 * @example
 * console.log(nn.init.glorotNormal(random.key(0), [4, 2]).shape); // [4, 2]
 */
export const glorotNormal = xavierNormal;

/**
 * JAX's name for {@link kaimingUniform}.
 *
 * @example
 * console.log(nn.init.heUniform(random.key(0), [4, 2]).shape); // [4, 2]
 */
export const heUniform = kaimingUniform;

/**
 * JAX's name for {@link kaimingNormal} (here not truncated: PyTorch's normal).
 *
 * @example
 * console.log(nn.init.heNormal(random.key(0), [4, 2]).shape); // [4, 2]
 */
export const heNormal = kaimingNormal;

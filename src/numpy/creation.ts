/**
 * Array creation: `array`, `zeros`, `ones`, `full`, `arange`, `linspace`, `eye`, …
 */
import { NDArray, type ArrayLike } from "../core/array.js";
import {
  allocate,
  castScalar,
  checkDTypeName,
  type DType,
  type TypedArray,
} from "../core/dtype.js";
import { DtypeError, ShapeError, ValueError } from "../core/errors.js";
import { checkShape } from "../core/shape.js";
import { bind1 } from "../core/trace.js";
import { broadcastInDim } from "../primitives/structural.js";
import { fromStorage, scalar } from "../runtime/concrete.js";
import { asArray, convert } from "./convert.js";
import { concatenate, reshape } from "./shape.js";

/** Options of creation functions. */
export interface DTypeOptions {
  dtype?: DType;
}

/** What `np.array` accepts: numbers, booleans, nested JS arrays of them, typed arrays, arrays. */
export type ArrayData = number | boolean | NDArray | TypedArray | readonly ArrayData[];

function checkDTypeOption(operation: string, dtype: unknown): DType | undefined {
  return dtype === undefined ? undefined : checkDTypeName(operation, dtype);
}

function typedArrayDType(data: ArrayBufferView): DType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  if (data instanceof Uint32Array) return "uint32";
  if (
    data instanceof Int32Array ||
    data instanceof Int16Array ||
    data instanceof Int8Array ||
    data instanceof Uint16Array ||
    data instanceof Uint8Array ||
    data instanceof Uint8ClampedArray
  ) {
    return "int32";
  }
  throw new DtypeError(
    "np.array",
    `cannot make an array from a ${data.constructor.name}; use a Float32Array, Float64Array, Int32Array or Uint32Array (64-bit integers are not supported).`,
  );
}

/** Walks nested lists: their shape, and whether they hold only booleans / only integers. */
function inspectNested(
  operation: string,
  data: ArrayData,
): { shape: number[]; flat: (number | boolean)[] } {
  const shape: number[] = [];
  let probe: ArrayData = data;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    if (probe.length === 0) break;
    probe = (probe as readonly ArrayData[])[0]!;
  }
  const flat: (number | boolean)[] = [];
  const walk = (x: ArrayData, depth: number, path: number[]): void => {
    if (depth === shape.length) {
      if (typeof x !== "number" && typeof x !== "boolean") {
        const what = Array.isArray(x) ? "a nested list" : typeof x;
        throw new ShapeError(
          operation,
          `the nested lists are ragged: element ${path.map((p) => `[${p}]`).join("")} is ${what} where ` +
            `a number was expected (shape so far ${JSON.stringify(shape)}). Every row must have the same length.`,
        );
      }
      flat.push(x);
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[depth]) {
      throw new ShapeError(
        operation,
        `the nested lists are ragged: element ${path.map((p) => `[${p}]`).join("") || "at the top"} has ` +
          `${Array.isArray(x) ? `length ${x.length}` : "no list"} but length ${shape[depth]} was expected. ` +
          `Every row must have the same length.`,
      );
    }
    (x as readonly ArrayData[]).forEach((y, i) => walk(y, depth + 1, [...path, i]));
  };
  walk(data, 0, []);
  return { shape, flat };
}

/**
 * Makes an array from nested JS arrays, numbers, booleans, a typed array, or an array.
 * JS numbers give float32 and booleans bool, unless `dtype` is given (typed arrays keep theirs).
 * @example
 * const x = np.array([[1, 2], [3, 4]], { dtype: "float32" });
 */
export function array(data: ArrayData, options: DTypeOptions = {}): NDArray {
  const dtype = checkDTypeOption("np.array", options.dtype);
  if (data instanceof NDArray) return dtype === undefined ? data : convert(data, dtype);
  if (ArrayBuffer.isView(data)) {
    const typed = data as TypedArray;
    const target = dtype ?? typedArrayDType(typed);
    const out = allocate(target, typed.length);
    for (let i = 0; i < typed.length; i++) out[i] = castScalar(typed[i]!, target);
    return fromStorage(out, [typed.length], target);
  }
  if (Array.isArray(data) && data.some((d) => d instanceof NDArray)) {
    // A list of arrays is stacked.
    const parts = (data as readonly ArrayData[]).map((d) => array(d, options));
    return concatenate(
      parts.map((p) => reshape(p, [1, ...p.shape])),
      { axis: 0 },
    );
  }
  if (typeof data !== "number" && typeof data !== "boolean" && !Array.isArray(data)) {
    throw new ValueError(
      "np.array",
      `cannot make an array from ${typeof data}; give numbers, booleans or nested lists of them.`,
    );
  }
  const { shape, flat } = inspectNested("np.array", data);
  // JS has one number type, so `[1, 2]` and `[1.0, 2.0]` cannot be told apart: numbers give
  // float32 (as in TensorFlow.js and jax-js), booleans give bool. Ask for ints with `dtype`.
  const inferred: DType =
    flat.length > 0 && flat.every((v) => typeof v === "boolean") ? "bool" : "float32";
  const target = dtype ?? inferred;
  const out = allocate(target, flat.length);
  flat.forEach((v, i) => {
    out[i] = castScalar(typeof v === "boolean" ? Number(v) : v, target);
  });
  return fromStorage(out, shape, target);
}

/** As `array`, but returns arrays unchanged (no copy). */
export function asarray(data: ArrayData, options: DTypeOptions = {}): NDArray {
  if (data instanceof NDArray && (options.dtype === undefined || options.dtype === data.dtype))
    return data;
  return array(data, options);
}

/**
 * An array of `shape` filled with `value`.
 * @example
 * np.full([2, 3], 7); // float32 sevens (JS numbers give float32, as in np.array)
 */
export function full(
  shape: number | readonly number[],
  value: ArrayLike,
  options: DTypeOptions = {},
): NDArray {
  const dims = checkShape("np.full", shape);
  const dtype = checkDTypeOption("np.full", options.dtype);
  // A JS number with a dtype is taken exactly in that dtype (a uint32 above 2³¹, an int32 above
  // 2²⁴ would not survive a detour through float32).
  let v =
    typeof value === "number" && dtype !== undefined
      ? array(value, { dtype })
      : asArray("np.full", value);
  if (v.ndim !== 0)
    throw new ShapeError(
      "np.full",
      `the fill value must be a scalar, got shape [${v.shape.join(", ")}].`,
    );
  // A JS number fill gives float32, as `np.array` does; an array fill keeps its dtype.
  v = convert(v, dtype ?? (typeof value === "number" ? "float32" : v.dtype));
  return bind1(broadcastInDim, [v], { shape: dims, broadcastDimensions: [] });
}

/** An array of zeros (float32 unless `dtype` is given). */
export function zeros(shape: number | readonly number[], options: DTypeOptions = {}): NDArray {
  return full(shape, scalar(0, checkDTypeOption("np.zeros", options.dtype) ?? "float32"), {});
}

/** An array of ones (float32 unless `dtype` is given). */
export function ones(shape: number | readonly number[], options: DTypeOptions = {}): NDArray {
  return full(shape, scalar(1, checkDTypeOption("np.ones", options.dtype) ?? "float32"), {});
}

/** An array of the given shape; fluxion's arrays are immutable, so it holds zeros. */
export function empty(shape: number | readonly number[], options: DTypeOptions = {}): NDArray {
  checkDTypeOption("np.empty", options.dtype);
  return zeros(shape, options);
}

/** Zeros with the shape and dtype of `x`. */
export function zerosLike(x: ArrayLike, options: DTypeOptions = {}): NDArray {
  const a = asArray("np.zerosLike", x);
  return full(a.shape, scalar(0, checkDTypeOption("np.zerosLike", options.dtype) ?? a.dtype));
}

/** Ones with the shape and dtype of `x`. */
export function onesLike(x: ArrayLike, options: DTypeOptions = {}): NDArray {
  const a = asArray("np.onesLike", x);
  return full(a.shape, scalar(1, checkDTypeOption("np.onesLike", options.dtype) ?? a.dtype));
}

/** `value` with the shape (and dtype, unless given) of `x`. */
export function fullLike(x: ArrayLike, value: ArrayLike, options: DTypeOptions = {}): NDArray {
  const a = asArray("np.fullLike", x);
  const dtype = checkDTypeOption("np.fullLike", options.dtype) ?? a.dtype;
  // A JS number is taken exactly in the dtype (not through float32 first).
  if (typeof value === "number") return full(a.shape, value, { dtype });
  return full(a.shape, convert(asArray("np.fullLike", value), dtype));
}

/** The most elements one array may have (typed-array length limits). */
const maxLength = 2 ** 31 - 1;

function checkFinite(operation: string, name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new ValueError(operation, `${name} must be a finite number, got ${String(v)}.`);
  }
  return v;
}

/**
 * Evenly spaced values in `[start, stop)`: `arange(stop)`, `arange(start, stop)`,
 * `arange(start, stop, step)`. Integer arguments give int32, others float32.
 * @example
 * np.arange(5); // [0, 1, 2, 3, 4]
 */
export function arange(
  start: number,
  stop?: number | DTypeOptions,
  step?: number | DTypeOptions,
  options: DTypeOptions = {},
): NDArray {
  let opts = options;
  if (typeof stop === "object") [opts, stop] = [stop, undefined];
  if (typeof step === "object") [opts, step] = [step, undefined];
  let lo = checkFinite("np.arange", "start", start);
  let hi: number;
  if (stop === undefined) [lo, hi] = [0, lo];
  else hi = checkFinite("np.arange", "stop", stop);
  const inc = step === undefined ? 1 : checkFinite("np.arange", "step", step);
  if (inc === 0) throw new ValueError("np.arange", "step must not be zero.");
  const dtype =
    checkDTypeOption("np.arange", opts.dtype) ??
    ([lo, hi, inc].every(Number.isInteger) ? "int32" : "float32");
  const n = Math.max(0, Math.ceil((hi - lo) / inc));
  if (n > maxLength) {
    throw new ValueError(
      "np.arange",
      `the range has ${n} elements, more than the ${maxLength} an array can hold.`,
    );
  }
  const out = allocate(dtype, n);
  for (let i = 0; i < n; i++) out[i] = castScalar(lo + i * inc, dtype);
  return fromStorage(out, [n], dtype);
}

/** Options of `linspace`. */
export interface LinspaceOptions extends DTypeOptions {
  /** Include `stop` as the last value (default true). */
  endpoint?: boolean;
}

/**
 * `num` evenly spaced values from `start` to `stop` (inclusive unless `endpoint: false`).
 * @example
 * np.linspace(0, 1, 5); // [0, 0.25, 0.5, 0.75, 1]
 */
export function linspace(
  start: number,
  stop: number,
  num = 50,
  options: LinspaceOptions = {},
): NDArray {
  checkFinite("np.linspace", "start", start);
  checkFinite("np.linspace", "stop", stop);
  if (!Number.isInteger(num) || num < 0) {
    throw new ValueError("np.linspace", `num must be a non-negative integer, got ${num}.`);
  }
  const endpoint = options.endpoint ?? true;
  const dtype = checkDTypeOption("np.linspace", options.dtype) ?? "float32";
  const div = endpoint ? num - 1 : num;
  const step = div > 0 ? (stop - start) / div : 0;
  const out = allocate(dtype, num);
  for (let i = 0; i < num; i++) out[i] = castScalar(start + i * step, dtype);
  if (endpoint && num > 1) out[num - 1] = castScalar(stop, dtype);
  return fromStorage(out, [num], dtype);
}

/** Options of `eye`. */
export interface EyeOptions extends DTypeOptions {
  /** Number of columns (default `n`). */
  m?: number;
  /** Diagonal offset: positive above the main diagonal. */
  k?: number;
}

/**
 * A 2-D array with ones on a diagonal and zeros elsewhere.
 * @example
 * np.eye(3); // 3x3 identity, float32
 */
export function eye(n: number, options: EyeOptions = {}): NDArray {
  const m = options.m ?? n;
  const k = options.k ?? 0;
  checkShape("np.eye", [n, m]);
  const dtype = checkDTypeOption("np.eye", options.dtype) ?? "float32";
  const out = allocate(dtype, n * m);
  for (let i = 0; i < n; i++) {
    const j = i + k;
    if (j >= 0 && j < m) out[i * m + j] = 1;
  }
  return fromStorage(out, [n, m], dtype);
}

/** The `n`×`n` identity matrix. */
export function identity(n: number, options: DTypeOptions = {}): NDArray {
  return eye(n, options);
}

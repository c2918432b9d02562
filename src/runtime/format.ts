/**
 * NumPy-like printing of arrays: `array([[1., 2.],\n       [3., 4.]], dtype=float32)`.
 *
 * A port of NumPy 2.x's `arrayprint` (default options: `floatmode="maxprec"`, `sign="-"`,
 * `suppress=False`) and of its Dragon4 digit generator, so that floats print with the same digits
 * as NumPy: the shortest that identify the value in its own dtype, cut at `precision` fractional
 * digits with round-half-even.
 */
import type { DType } from "../core/dtype.js";
import { ValueError } from "../core/errors.js";

/** Printing options, as NumPy's `np.set_printoptions` names them (camelCase). */
export interface FormatOptions {
  /** Arrays with more elements than this are summarised with `...` (default 1000). */
  threshold?: number;
  /** How many items to show at each end of each axis when summarising (default 3). */
  edgeItems?: number;
  /** The most fractional digits a float prints with (default 8). */
  precision?: number;
  /** Characters per line before wrapping (default 75). */
  linewidth?: number;
}

/** Options of {@link arrayToString}: NumPy's `np.array2string` layout arguments. */
export interface ArrayToStringOptions extends FormatOptions {
  /** Between elements (default `" "`). */
  separator?: string;
  /** Text that will precede the output; continuation lines are indented by its length. */
  prefix?: string;
  /** Text that will follow the output; the last line leaves room for it. */
  suffix?: string;
}

// ------------------------------------------------------------------------------------ Dragon4

/** Decimal digits `d.ddd × 10^exponent` (the exponent is that of the first digit). */
interface Digits {
  digits: string;
  exponent: number;
}

/** A finite float as `mantissa × 2^exponent`, with what Dragon4 needs to know of its neighbours. */
interface FloatParts {
  negative: boolean;
  mantissa: bigint;
  exponent: number;
  /** Index of the highest set bit of `mantissa`. */
  mantissaBit: number;
  /** Whether the gap to the next float up is twice the gap to the next one down. */
  unequalMargins: boolean;
}

type FloatDType = "float32" | "float64";

const scratch = new DataView(new ArrayBuffer(8));

function floatParts(value: number, dtype: FloatDType): FloatParts {
  if (dtype === "float32") {
    scratch.setFloat32(0, value);
    const bits = scratch.getUint32(0);
    const fraction = bits & 0x7fffff;
    const biased = (bits >>> 23) & 0xff;
    const negative = bits >>> 31 === 1;
    if (biased === 0) {
      const bit = fraction === 0 ? 0 : 31 - Math.clz32(fraction);
      return {
        negative,
        mantissa: BigInt(fraction),
        exponent: -149,
        mantissaBit: bit,
        unequalMargins: false,
      };
    }
    return {
      negative,
      mantissa: BigInt(fraction | 0x800000),
      exponent: biased - 150,
      mantissaBit: 23,
      unequalMargins: biased !== 1 && fraction === 0,
    };
  }
  scratch.setFloat64(0, value);
  const high = scratch.getUint32(0);
  const fraction = (BigInt(high & 0xfffff) << 32n) | BigInt(scratch.getUint32(4));
  const biased = (high >>> 20) & 0x7ff;
  const negative = high >>> 31 === 1;
  if (biased === 0) {
    const bit = fraction === 0n ? 0 : fraction.toString(2).length - 1;
    return {
      negative,
      mantissa: fraction,
      exponent: -1074,
      mantissaBit: bit,
      unequalMargins: false,
    };
  }
  return {
    negative,
    mantissa: fraction | (1n << 52n),
    exponent: biased - 1075,
    mantissaBit: 52,
    unequalMargins: biased !== 1 && fraction === 0n,
  };
}

// NumPy's Dragon4 prints into a 16384-character buffer, which bounds the digits when uncut.
const bufferSize = 16384;

/**
 * The shortest digits that identify `mantissa × 2^exponent` among its neighbours (Steele & White /
 * Burger & Dybvig's free-format algorithm, as NumPy's `dragon4.c` implements it, with IEEE
 * unbiased rounding), printed to at least `cutoffMin` and at most `cutoffMax` digits: counted in
 * total, or after the decimal point. A negative cutoff means none.
 */
function dragon4(
  parts: FloatParts,
  cutoffMode: "total" | "fraction",
  cutoffMax: number,
  cutoffMin: number,
): Digits {
  const { mantissa, exponent, mantissaBit, unequalMargins } = parts;
  if (mantissa === 0n) return { digits: "0", exponent: 0 };
  const isEven = (mantissa & 1n) === 0n;

  // value = scaledValue / scale; the margins are half the gaps to the neighbouring floats.
  let scaledValue: bigint;
  let scale: bigint;
  let marginLow: bigint;
  const shift = unequalMargins ? 2 : 1;
  if (exponent > 0) {
    scaledValue = mantissa << BigInt(exponent + shift);
    scale = 1n << BigInt(shift);
    marginLow = 1n << BigInt(exponent);
  } else {
    scaledValue = mantissa << BigInt(shift);
    scale = 1n << BigInt(-exponent + shift);
    marginLow = 1n;
  }
  const marginHigh = (): bigint => (unequalMargins ? marginLow * 2n : marginLow);

  // An estimate of floor(log10(value)) + 1 that is right or one too small.
  let digitExponent = Math.ceil((mantissaBit + exponent) * 0.3010299956639812 - 0.69);
  if (cutoffMax >= 0 && cutoffMode === "fraction" && digitExponent <= -cutoffMax) {
    digitExponent = -cutoffMax + 1;
  }
  if (digitExponent > 0) {
    scale *= 10n ** BigInt(digitExponent);
  } else if (digitExponent < 0) {
    const power = 10n ** BigInt(-digitExponent);
    scaledValue *= power;
    marginLow *= power;
  }
  if (scaledValue >= scale) {
    digitExponent += 1;
  } else {
    scaledValue *= 10n;
    marginLow *= 10n;
  }

  let cutoffMaxExponent = digitExponent - bufferSize;
  if (cutoffMax >= 0) {
    const desired = cutoffMode === "total" ? digitExponent - cutoffMax : -cutoffMax;
    cutoffMaxExponent = Math.max(cutoffMaxExponent, desired);
  }
  let cutoffMinExponent = digitExponent;
  if (cutoffMin >= 0) {
    const desired = cutoffMode === "total" ? digitExponent - cutoffMin : -cutoffMin;
    cutoffMinExponent = Math.min(cutoffMinExponent, desired);
  }
  let firstExponent = digitExponent - 1;

  let digits = "";
  let digit: number;
  let low: boolean;
  let high: boolean;
  for (;;) {
    digitExponent -= 1;
    digit = Number(scaledValue / scale);
    scaledValue %= scale;
    const valueHigh = scaledValue + marginHigh();
    low = isEven ? scaledValue <= marginLow : scaledValue < marginLow;
    high = isEven ? valueHigh >= scale : valueHigh > scale;
    if (
      ((low || high) && digitExponent <= cutoffMinExponent) ||
      digitExponent === cutoffMaxExponent
    ) {
      break;
    }
    digits += String(digit);
    scaledValue *= 10n;
    marginLow *= 10n;
  }

  // Round the last digit: down if only that is exact enough, else to the nearest, ties to even.
  let roundDown = low;
  if (low === high) {
    const twice = scaledValue * 2n;
    roundDown = twice < scale || (twice === scale && digit % 2 === 0);
  }
  if (roundDown) return { digits: digits + String(digit), exponent: firstExponent };
  if (digit < 9) return { digits: digits + String(digit + 1), exponent: firstExponent };
  // Carry through the trailing nines; a carry out of the first digit makes it a 1.
  const kept = digits.replace(/9+$/, "");
  if (kept === "") {
    firstExponent += 1;
    return { digits: "1", exponent: firstExponent };
  }
  const last = kept.length - 1;
  return { digits: kept.slice(0, last) + String(Number(kept[last]) + 1), exponent: firstExponent };
}

/** `"keep"` keeps trailing zeros (NumPy's trim `'k'`); `"zeros"` trims them but not the point (`'.'`). */
type Trim = "keep" | "zeros";

interface PositionalOptions {
  precision: number;
  minDigits: number;
  trim: Trim;
  padLeft: number;
  padRight: number;
}

/** NumPy's `dragon4_positional(x, unique=True, fractional=True, ...)`. */
function formatPositional(value: number, dtype: FloatDType, options: PositionalOptions): string {
  const parts = floatParts(value, dtype);
  const sign = parts.negative ? "-" : "";
  const { digits, exponent } = dragon4(parts, "fraction", options.precision, options.minDigits);
  let whole: string;
  let fraction: string;
  if (exponent >= 0) {
    whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, "0");
    fraction = digits.slice(exponent + 1);
  } else {
    whole = "0";
    fraction = "0".repeat(-exponent - 1) + digits;
  }
  if (options.trim === "keep") {
    fraction = fraction.padEnd(Math.max(options.minDigits, 0), "0");
  } else {
    fraction = fraction.replace(/0+$/, "");
  }
  let text = `${sign}${whole}.${fraction}`;
  if (options.padRight >= fraction.length) text += " ".repeat(options.padRight - fraction.length);
  const leftWidth = whole.length + sign.length;
  if (options.padLeft > leftWidth) text = " ".repeat(options.padLeft - leftWidth) + text;
  return text;
}

interface ScientificOptions {
  precision: number;
  minDigits: number;
  trim: Trim;
  padLeft: number;
  expDigits: number;
}

/** NumPy's `dragon4_scientific(x, unique=True, ...)`. */
function formatScientific(value: number, dtype: FloatDType, options: ScientificOptions): string {
  const parts = floatParts(value, dtype);
  const sign = parts.negative ? "-" : "";
  const { digits, exponent } = dragon4(
    parts,
    "total",
    options.precision < 0 ? -1 : options.precision + 1,
    options.minDigits < 0 ? -1 : options.minDigits + 1,
  );
  let fraction = digits.slice(1);
  if (options.trim === "keep") {
    fraction = fraction.padEnd(Math.max(options.minDigits, 0), "0");
  } else {
    fraction = fraction.replace(/0+$/, "");
  }
  const pad = " ".repeat(Math.max(0, options.padLeft - 1 - sign.length));
  const expDigits = options.expDigits < 0 ? 2 : Math.min(options.expDigits, 5);
  const exponentText = String(Math.abs(exponent)).padStart(expDigits, "0");
  return `${pad}${sign}${digits[0]!}.${fraction}e${exponent < 0 ? "-" : "+"}${exponentText}`;
}

// --------------------------------------------------------------------------- element formats

type ElementFormat = (value: number) => string;

/** NumPy's `FloatingFormat`: one layout (positional or scientific, padding) for all of `data`. */
function floatFormat(data: readonly number[], dtype: FloatDType, precision: number): ElementFormat {
  const toDtype = dtype === "float32" ? Math.fround : (x: number) => x;
  const finite = data.filter(Number.isFinite);

  // Scientific notation when the non-zero magnitudes are too large, too small, or too spread out.
  // NumPy compares in the array's dtype, so float32 data is compared in float32.
  let scientific = false;
  let maxValue = -Infinity;
  let minValue = Infinity;
  for (const x of finite) {
    if (x === 0) continue;
    maxValue = Math.max(maxValue, Math.abs(x));
    minValue = Math.min(minValue, Math.abs(x));
  }
  if (maxValue !== -Infinity) {
    const cutoff = dtype === "float32" ? 1e6 : 1e8; // 10 ** min(8, finfo(dtype).precision)
    scientific =
      maxValue >= cutoff || minValue < toDtype(1e-4) || toDtype(maxValue / minValue) > 1000;
  }

  let padLeft = 0;
  let padRight = 0;
  let digits = precision;
  let minDigits = 0;
  let expDigits = -1;
  let trim: Trim = "zeros";
  const widest = (texts: string[]): number => texts.reduce((w, t) => Math.max(w, t.length), 0);
  if (finite.length > 0 && scientific) {
    const first = finite.map((x) =>
      formatScientific(x, dtype, { precision, minDigits: -1, trim, padLeft: -1, expDigits: -1 }),
    );
    const mantissas = first.map((s) => s.slice(0, s.indexOf("e")));
    expDigits = widest(first.map((s) => s.slice(s.indexOf("e") + 1))) - 1;
    trim = "keep";
    digits = minDigits = widest(mantissas.map((m) => m.slice(m.indexOf(".") + 1)));
    padLeft = widest(mantissas.map((m) => m.slice(0, m.indexOf("."))));
    padRight = expDigits + 2 + digits;
  } else if (finite.length > 0) {
    const first = finite.map((x) =>
      formatPositional(x, dtype, { precision, minDigits: -1, trim, padLeft: -1, padRight: -1 }),
    );
    padLeft = widest(first.map((s) => s.slice(0, s.indexOf("."))));
    padRight = widest(first.map((s) => s.slice(s.indexOf(".") + 1)));
  }
  if (finite.length !== data.length) {
    const negativeInfinity = data.includes(-Infinity) ? 1 : 0;
    padLeft = Math.max(padLeft, 3 - (padRight + 1), 3 + negativeInfinity - (padRight + 1));
  }

  return (x) => {
    if (!Number.isFinite(x)) {
      const text = Number.isNaN(x) ? "nan" : x < 0 ? "-inf" : "inf";
      return " ".repeat(Math.max(0, padLeft + padRight + 1 - text.length)) + text;
    }
    return scientific
      ? formatScientific(x, dtype, { precision: digits, minDigits, trim, padLeft, expDigits })
      : formatPositional(x, dtype, { precision: digits, minDigits, trim, padLeft, padRight });
  };
}

/** NumPy's `IntegerFormat`: right-aligned to the widest of the minimum and maximum. */
function integerFormat(data: readonly number[]): ElementFormat {
  let width = 0;
  for (const x of data) width = Math.max(width, String(x).length);
  return (x) => String(x).padStart(width);
}

function elementFormat(
  data: readonly number[],
  dtype: DType,
  zeroDimensional: boolean,
  precision: number,
): ElementFormat {
  switch (dtype) {
    case "float32":
    case "float64":
      return floatFormat(data, dtype, precision);
    case "int32":
    case "uint32":
      return integerFormat(data);
    case "bool":
      // " True" lines up with "False", except alone in a 0-d array.
      return (x) => (x !== 0 ? (zeroDimensional ? "True" : " True") : "False");
  }
}

// -------------------------------------------------------------------------------------- layout

interface ResolvedOptions {
  threshold: number;
  edgeItems: number;
  precision: number;
  linewidth: number;
}

function resolveOptions(operation: string, options: FormatOptions): ResolvedOptions {
  const resolved = {
    threshold: options.threshold ?? 1000,
    edgeItems: options.edgeItems ?? 3,
    precision: options.precision ?? 8,
    linewidth: options.linewidth ?? 75,
  };
  for (const [name, value] of Object.entries(resolved)) {
    const ok = name === "threshold" ? value >= 0 : Number.isSafeInteger(value) && value >= 0;
    if (!ok) {
      throw new ValueError(
        operation,
        `option ${name} must be a non-negative ${name === "threshold" ? "number" : "integer"}, ` +
          `got ${String(value)}.`,
      );
    }
  }
  return resolved;
}

/** Reads element `flat` of the array, rounded to the dtype (float32 data is exact already). */
function reader(dtype: DType, get: (flatIndex: number) => number): (flat: number) => number {
  return dtype === "float32" ? (flat) => Math.fround(get(flat)) : get;
}

/** NumPy's `array2string` on a non-empty array (`lineWidth` already leaves room for the suffix). */
function layout(
  shape: readonly number[],
  dtype: DType,
  read: (flat: number) => number,
  options: ResolvedOptions,
  separator: string,
  prefix: string,
  lineWidth: number,
): string {
  const ndim = shape.length;
  const strides = new Array<number>(ndim);
  let size = 1;
  for (let axis = ndim - 1; axis >= 0; axis--) {
    strides[axis] = size;
    size *= shape[axis]!;
  }
  const { edgeItems } = options;
  const summarize = size > options.threshold;

  // The elements that will be shown decide the format (NumPy's `_leading_trailing`).
  const shown: number[] = [];
  const collect = (axis: number, offset: number): void => {
    if (axis === ndim) {
      shown.push(read(offset));
      return;
    }
    const length = shape[axis]!;
    const visit = (from: number, to: number): void => {
      for (let i = from; i < to; i++) collect(axis + 1, offset + i * strides[axis]!);
    };
    if (summarize && length > 2 * edgeItems) {
      visit(0, edgeItems);
      visit(edgeItems === 0 ? 0 : length - edgeItems, length); // Python's a[-0:] is all of a
    } else {
      visit(0, length);
    }
  };
  collect(0, 0);
  const format = elementFormat(shown, dtype, ndim === 0, options.precision);

  // NumPy's `_formatArray`: rows wrap at the line width, higher axes are separated by blank lines.
  const recurse = (axis: number, offset: number, indent: string, width: number): string => {
    if (axis === ndim) return format(read(offset));
    const length = shape[axis]!;
    const child = (i: number): string =>
      recurse(axis + 1, offset + i * strides[axis]!, indent + " ", width - 1);
    const showSummary = summarize && 2 * edgeItems < length;
    const leading = showSummary ? edgeItems : 0;
    const trailing = showSummary ? edgeItems : length;
    let s = "";
    if (axis === ndim - 1) {
      const elementWidth = width - Math.max(separator.trimEnd().length, 1);
      let line = indent;
      const extend = (word: string): void => {
        // Wrapping a line that holds nothing but the indent would not help.
        if (line.length + word.length > elementWidth && line.length > indent.length) {
          s += line.trimEnd() + "\n";
          line = indent;
        }
        line += word;
      };
      for (let i = 0; i < leading; i++) {
        extend(child(i));
        line += separator;
      }
      if (showSummary) {
        extend("...");
        line += separator;
      }
      for (let i = trailing; i > 1; i--) {
        extend(child(length - i));
        line += separator;
      }
      extend(child(length - 1));
      s += line;
    } else {
      const lineSeparator = separator.trimEnd() + "\n".repeat(ndim - axis - 1);
      for (let i = 0; i < leading; i++) s += indent + child(i) + lineSeparator;
      if (showSummary) s += indent + "..." + lineSeparator;
      for (let i = trailing; i > 1; i--) s += indent + child(length - i) + lineSeparator;
      s += indent + child(length - 1);
    }
    return "[" + s.slice(indent.length) + "]";
  };
  return recurse(0, 0, " " + " ".repeat(prefix.length), lineWidth);
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Prints an array's elements the way NumPy's `np.array2string` (and so `str(x)`) does:
 * `[[1. 2.]\n [3. 4.]]`.
 *
 * @param shape the array's shape.
 * @param dtype the array's dtype; it decides how elements print.
 * @param get element `flatIndex` in C (row-major) order.
 * @param options printing options, plus `separator`, `prefix` and `suffix` as in NumPy.
 * @returns the text, without prefix or suffix; `"[]"` for an empty array.
 *
 * @example
 * const data = [1, 2, 3, 4];
 * arrayToString([2, 2], "float32", (i) => data[i]!); // "[[1. 2.]\n [3. 4.]]"
 */
export function arrayToString(
  shape: readonly number[],
  dtype: DType,
  get: (flatIndex: number) => number,
  options: ArrayToStringOptions = {},
): string {
  const resolved = resolveOptions("arrayToString", options);
  const suffix = options.suffix ?? "";
  if (sizeOf(shape) === 0) return "[]";
  const read = reader(dtype, get);
  const prefix = options.prefix ?? "";
  const separator = options.separator ?? " ";
  return layout(
    shape,
    dtype,
    read,
    resolved,
    separator,
    prefix,
    resolved.linewidth - suffix.length,
  );
}

/**
 * Prints an array as NumPy's `repr` does, always naming the dtype as JAX does:
 * `array([[1., 2.],\n       [3., 4.]], dtype=float32)`.
 *
 * Floats print with the fewest digits that identify them (at most `precision` after the point)
 * and switch to scientific notation when the magnitudes call for it; arrays with more than
 * `threshold` elements are summarised with `...` and their shape is added, as are empty arrays'.
 *
 * @param shape the array's shape.
 * @param dtype the array's dtype.
 * @param get element `flatIndex` in C (row-major) order.
 * @param options `threshold` (1000), `edgeItems` (3), `precision` (8), `linewidth` (75).
 * @returns the printout.
 *
 * @example
 * formatArray([3], "float32", (i) => [1, 2.5, -0.125][i]!); // "array([ 1.   ,  2.5  , -0.125], dtype=float32)"
 * formatArray([], "int32", () => 3); // "array(3, dtype=int32)"
 * formatArray([0, 3], "float32", () => 0); // "array([], shape=(0, 3), dtype=float32)"
 */
export function formatArray(
  shape: readonly number[],
  dtype: DType,
  get: (flatIndex: number) => number,
  options: FormatOptions = {},
): string {
  const resolved = resolveOptions("formatArray", options);
  const prefix = "array(";
  const size = sizeOf(shape);
  const body =
    size === 0
      ? "[]"
      : layout(shape, dtype, reader(dtype, get), resolved, ", ", prefix, resolved.linewidth - 1);
  const extras: string[] = [];
  if ((size === 0 && !(shape.length === 1 && shape[0] === 0)) || size > resolved.threshold) {
    const tuple = shape.length === 1 ? `(${shape[0]!},)` : `(${shape.join(", ")})`;
    extras.push(`shape=${tuple}`);
  }
  extras.push(`dtype=${dtype}`);
  const text = `${prefix}${body},`;
  const extraText = `${extras.join(", ")})`;
  // The extras go on a line of their own if they would make the last line too long.
  const lastLineLength = text.length - (text.lastIndexOf("\n") + 1);
  const overflows = lastLineLength + extraText.length + 1 > resolved.linewidth;
  return text + (overflows ? "\n" + " ".repeat(prefix.length) : " ") + extraText;
}

/**
 * Prints one element of `dtype` as it appears in a 0-d array's printout: `3.`, `0.1`, `1.e-05`,
 * `nan`, `-7`, `True`.
 *
 * @example
 * formatScalar(3, "float32"); // "3."
 * formatScalar(0.1, "float32"); // "0.1"
 * formatScalar(1, "bool"); // "True"
 */
export function formatScalar(value: number, dtype: DType, options: FormatOptions = {}): string {
  return arrayToString([], dtype, () => value, options);
}

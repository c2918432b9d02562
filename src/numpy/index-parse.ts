/**
 * NumPy's basic index expressions: slices, the ellipsis, `newaxis`, and a parser for the string
 * form `x.get("..., 1:3, None, ::-1")`, with Python's exact `slice.indices` semantics.
 */
import { IndexError } from "../core/errors.js";

function checkSliceBound(name: string, value: number | null): void {
  if (value === null || Number.isSafeInteger(value)) return;
  throw new IndexError(
    "np.slice",
    `slice ${name} must be an integer or null, got ${String(value)}. ` +
      `Round it first, e.g. np.slice(Math.floor(${name})).`,
  );
}

/**
 * A slice `start:stop:step`, as Python's `slice` object; `null` marks an omitted part.
 *
 * @example
 * new Slice(1, null, 2).toString(); // "1::2"
 */
export class Slice {
  /**
   * @param start first index (negative counts from the end), or `null` for the default.
   * @param stop index one past the last (negative counts from the end), or `null`.
   * @param step stride, or `null` for 1; a step of 0 throws an {@link IndexError}.
   */
  constructor(
    readonly start: number | null,
    readonly stop: number | null,
    readonly step: number | null,
  ) {
    checkSliceBound("start", start);
    checkSliceBound("stop", stop);
    checkSliceBound("step", step);
    if (step === 0) {
      throw new IndexError(
        "np.slice",
        "slice step cannot be zero. Use a positive step (np.slice(0, null, 2)) or a negative " +
          "one to go backwards (np.slice(null, null, -1)).",
      );
    }
  }

  /** The slice in NumPy's index syntax: `"1:3"`, `"::-1"`, `":"`. */
  toString(): string {
    const bounds = `${this.start ?? ""}:${this.stop ?? ""}`;
    return this.step === null ? bounds : `${bounds}:${this.step}`;
  }
}

/**
 * Makes a {@link Slice} the way Python's `slice` does: one argument is the stop.
 *
 * @example
 * slice(5).toString(); // ":5"
 * slice(1, 3).toString(); // "1:3"
 * slice(null, null, -1).toString(); // "::-1"
 */
export function slice(stop?: number | null): Slice;
export function slice(
  start: number | null | undefined,
  stop: number | null | undefined,
  step?: number | null,
): Slice;
export function slice(...args: (number | null | undefined)[]): Slice {
  if (args.length === 1) return new Slice(null, args[0] ?? null, null);
  return new Slice(args[0] ?? null, args[1] ?? null, args[2] ?? null);
}

/** The type of {@link ellipsis}; its one value is `ellipsis` itself. */
export class EllipsisType {
  static readonly instance: EllipsisType = new EllipsisType();

  // A private member makes the type nominal: without one, every object would be an `Ellipsis`.
  private readonly text = "...";

  private constructor() {
    Object.freeze(this);
  }

  /** `"..."`, as written in an index. */
  toString(): string {
    return this.text;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return "np.ellipsis";
  }
}

/**
 * NumPy's `...`: stands for as many full slices `:` as needed to index every axis.
 *
 * @example
 * parseIndex("..., 0")[0] === ellipsis; // true
 */
export const ellipsis: EllipsisType = EllipsisType.instance;
export type Ellipsis = typeof ellipsis;

/**
 * NumPy's `newaxis` (Python's `None`): inserts an axis of length 1.
 *
 * @example
 * parseIndex("None, :"); // [newaxis, slice(null, null)]
 */
export const newaxis: null = null;

/** One item of a basic index: an integer, a slice, the ellipsis, or `newaxis` (`null`). */
export type BasicIndex = number | Slice | Ellipsis | null;

/** Whether `x` is {@link ellipsis}. */
export function isEllipsis(x: unknown): x is Ellipsis {
  return x === ellipsis;
}

/** Options of {@link parseIndex}. */
export interface ParseIndexOptions {
  /** The public name of the caller, shown in errors (default `"x.get"`). */
  operation?: string;
}

const integerPattern = /^[+-]?\s*\d+$/;

/**
 * Parses NumPy's index syntax, written as a string, into its items.
 *
 * Items are separated by commas (one trailing comma is allowed, as in Python): integers (`-1`),
 * slices (`1:3`, `::-1`, `:`), `None` or `newaxis` (both give `null`), and `...`. An empty string,
 * or `()`, is the empty index `x[()]`.
 *
 * @param expr the index as it would appear between NumPy's brackets.
 * @param options `operation`: the public name shown in errors.
 * @returns the items, in order.
 * @throws IndexError naming the bad item, for anything else (a float, a second `...`, a zero step,
 *   an empty item, too many colons).
 *
 * @example
 * parseIndex("..., 1:3, None, ::-1"); // [ellipsis, slice(1, 3), null, slice(null, null, -1)]
 * parseIndex("-1"); // [-1]
 */
export function parseIndex(expr: string, options: ParseIndexOptions = {}): BasicIndex[] {
  const operation = options.operation ?? "x.get";
  const trimmed = expr.trim();
  if (trimmed === "" || trimmed === "()") return [];

  // Split at commas, remembering where each item starts so that errors can point at it.
  const pieces: { text: string; offset: number }[] = [];
  let start = 0;
  for (let i = 0; i <= expr.length; i++) {
    if (i === expr.length || expr[i] === ",") {
      pieces.push({ text: expr.slice(start, i), offset: start });
      start = i + 1;
    }
  }
  // Python allows one trailing comma: `x[1,]` is `x[(1,)]`.
  if (pieces.length > 1 && pieces[pieces.length - 1]!.text.trim() === "") pieces.pop();

  const fail = (piece: { text: string; offset: number }, why: string): never => {
    const lead = piece.text.length - piece.text.trimStart().length;
    const width = Math.max(1, piece.text.trim().length);
    const caret = " ".repeat(piece.offset + lead) + "^".repeat(width);
    throw new IndexError(
      operation,
      `could not parse "${piece.text.trim()}" in index "${expr}": ${why}\n` +
        `    ${expr}\n    ${caret}\n` +
        `An index is a comma-separated list of integers ("-1"), slices ("1:3", "::-1", ":"), ` +
        `"None" or "newaxis", and at most one "...".`,
    );
  };

  const items: BasicIndex[] = [];
  let seenEllipsis = false;
  for (const piece of pieces) {
    const text = piece.text.trim();
    if (text === "") {
      fail(piece, "the item is empty (two commas in a row, or a leading comma).");
    } else if (text === "..." || text === "Ellipsis") {
      if (seenEllipsis) fail(piece, 'an index can only have a single ellipsis ("...").');
      seenEllipsis = true;
      items.push(ellipsis);
    } else if (text === "None" || text === "newaxis" || text === "np.newaxis") {
      items.push(null);
    } else if (text.includes(":")) {
      const parts = text.split(":");
      if (parts.length > 3) {
        fail(piece, `a slice has at most two colons (start:stop:step), found ${parts.length - 1}.`);
      }
      const bounds = parts.map((part) => {
        const p = part.trim();
        return p === "" ? null : parseInteger(p, (why) => fail(piece, why), "slice bounds");
      });
      if (bounds[2] === 0) fail(piece, "slice step cannot be zero.");
      items.push(new Slice(bounds[0] ?? null, bounds[1] ?? null, bounds[2] ?? null));
    } else {
      items.push(parseInteger(text, (why) => fail(piece, why), "indices"));
    }
  }
  return items;
}

function parseInteger(text: string, fail: (why: string) => never, what: string): number {
  if (integerPattern.test(text)) {
    const value = Number(text.replace(/\s+/g, ""));
    if (!Number.isSafeInteger(value)) fail(`${text} is too large to be an index.`);
    return value === 0 ? 0 : value; // no -0
  }
  if (/^[+-]?(\d+\.\d*|\.\d+|\d+(\.\d*)?e[+-]?\d+|inf|nan)$/i.test(text)) {
    fail(`${what} must be integers, got ${text}. Write an integer, e.g. ${suggestInteger(text)}.`);
  }
  if (text === "True" || text === "False") {
    fail(
      `a boolean in an index string is not supported. To mask, pass a bool array: ` +
        `x.get(mask).`,
    );
  }
  if (/^[[(]/.test(text)) {
    fail(
      `arrays of indices cannot be written in an index string. Pass an array instead: ` +
        `x.get([0, 2]) or x.get(np.array([0, 2], { dtype: "int32" }))`,
    );
  }
  return fail(`${what} must be integers or empty, got "${text}".`);
}

function suggestInteger(text: string): string {
  const value = Number(text);
  return Number.isFinite(value) ? String(Math.trunc(value)) : "-1";
}

/**
 * Prints index items back in NumPy's syntax, for error messages.
 *
 * Items other than basic ones print as well: arrays as `int32[3] array`, booleans as `True`.
 *
 * @example
 * describeIndex([ellipsis, slice(1, 3), null, slice(null, null, -1)]); // "..., 1:3, None, ::-1"
 * describeIndex([]); // "()"
 */
export function describeIndex(items: readonly unknown[]): string {
  if (items.length === 0) return "()";
  return items.map(describeItem).join(", ");
}

function describeItem(item: unknown): string {
  if (item === null) return "None";
  if (item === ellipsis || item instanceof Slice) return item.toString();
  if (typeof item === "number") return String(item);
  if (typeof item === "boolean") return item ? "True" : "False";
  if (typeof item === "string") return JSON.stringify(item);
  if (typeof item === "object" && "shape" in item && "dtype" in item) {
    const { shape, dtype } = item as { shape: unknown; dtype: unknown };
    if (Array.isArray(shape)) return `${String(dtype)}[${shape.join(", ")}] array`;
  }
  return typeof item === "object" && item !== null && Object.getPrototypeOf(item) === null
    ? Object.prototype.toString.call(item)
    : String(item);
}

/** A slice resolved against an axis: the indices `start, start + step, …` (`length` of them). */
export interface ResolvedSlice {
  start: number;
  stop: number;
  step: number;
  length: number;
}

/**
 * Resolves a slice against an axis of `dimSize` elements with Python's `slice.indices` rules:
 * negative bounds count from the end, bounds past either end are clamped, and omitted bounds
 * default to the whole axis in the direction of `step`.
 *
 * @param s the slice.
 * @param dimSize the length of the axis (a non-negative integer).
 * @returns `start`, `stop`, `step` as `slice(...).indices(dimSize)` gives them, and the number of
 *   selected elements `length` (`len(range(start, stop, step))`).
 *
 * @example
 * resolveSlice(slice(null, null, -1), 4); // { start: 3, stop: -1, step: -1, length: 4 }
 * resolveSlice(slice(-10, 2), 5); // { start: 0, stop: 2, step: 1, length: 2 }
 */
export function resolveSlice(s: Slice, dimSize: number): ResolvedSlice {
  const step = s.step ?? 1;
  const lower = step < 0 ? -1 : 0;
  const upper = step < 0 ? dimSize - 1 : dimSize;
  const clamp = (bound: number | null, fallback: number): number => {
    if (bound === null) return fallback;
    const b = bound < 0 ? bound + dimSize : bound;
    return Math.min(Math.max(b, lower), upper);
  };
  const start = clamp(s.start, step < 0 ? upper : lower);
  const stop = clamp(s.stop, step < 0 ? lower : upper);
  const span = step < 0 ? start - stop : stop - start;
  const length = span > 0 ? Math.floor((span - 1) / Math.abs(step)) + 1 : 0;
  return { start, stop, step, length };
}

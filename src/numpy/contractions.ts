/**
 * Contractions: tensordot, einsum, and the diagonal family (diagonal, trace, diag). Every sum of
 * products is one `dot_general`; diagonals are a reshape and a strided slice (no gather).
 */
import type { ArrayLike, NDArray } from "../core/array.js";
import { ShapeError, ValueError } from "../core/errors.js";
import { formatShape, normalizeAxis } from "../core/shape.js";
import { bind1 } from "../core/trace.js";
import { dotGeneral } from "../primitives/dot.js";
import { broadcastTo, convert, promote } from "./convert.js";
import { eye, zeros } from "./creation.js";
import { where } from "./math.js";
import { sum } from "./reductions.js";
import { moveaxis, pad, reshape, sliceAxis, transpose } from "./shape.js";

/** Operands promoted to one numeric dtype (bool counts as int32, as in `np.matmul`). */
function numericOperands(operation: string, xs: readonly ArrayLike[]): NDArray[] {
  const arrays = promote(operation, xs);
  return arrays[0]?.dtype === "bool" ? arrays.map((a) => convert(a, "int32")) : arrays;
}

function checkInteger(operation: string, name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new ValueError(operation, `${name} must be an integer, got ${String(value)}.`);
  }
  return value;
}

// ----------------------------------------------------------------------------- tensordot

/** Options of `tensordot`. */
export interface TensordotOptions {
  /**
   * Which axes to sum over: `n` pairs the last `n` axes of `a` with the first `n` of `b`
   * (default 2); `[axesA, axesB]` pairs the listed axes in order (each an axis or a list).
   */
  axes?: number | readonly [number | readonly number[], number | readonly number[]];
}

/**
 * Tensor dot product: sums the products of `a` and `b` over the paired axes. The result has the
 * remaining axes of `a`, then those of `b`.
 * @param a the first array.
 * @param b the second array.
 * @param options `axes`: an integer `n` (default 2) or a pair of axis lists.
 * @returns the contracted array.
 * @example
 * np.tensordot(np.ones([2, 3, 4]), np.ones([3, 4, 5])); // shape [2, 5], every value 12
 * np.tensordot(np.ones([3, 2]), np.ones([3, 4]), { axes: [[0], [0]] }); // shape [2, 4]
 */
export function tensordot(a: ArrayLike, b: ArrayLike, options: TensordotOptions = {}): NDArray {
  const name = "np.tensordot";
  const [x, y] = numericOperands(name, [a, b]) as [NDArray, NDArray];
  const axes = options.axes ?? 2;
  let axesA: number[];
  let axesB: number[];
  if (typeof axes === "number") {
    const n = checkInteger(name, "axes", axes);
    if (n < 0 || n > x.ndim || n > y.ndim) {
      throw new ShapeError(
        name,
        `axes = ${n} needs both operands to have at least ${n} axes, got shapes ` +
          `${formatShape(x.shape)} and ${formatShape(y.shape)}.`,
      );
    }
    axesA = Array.from({ length: n }, (_, i) => x.ndim - n + i);
    axesB = Array.from({ length: n }, (_, i) => i);
  } else {
    if (!Array.isArray(axes) || axes.length !== 2) {
      throw new ValueError(
        name,
        `axes must be an integer or a pair [axesA, axesB], got ${JSON.stringify(axes)}.`,
      );
    }
    const list = (v: number | readonly number[]): number[] =>
      typeof v === "number" ? [v] : [...v];
    const [rawA, rawB] = [list(axes[0]), list(axes[1])];
    if (rawA.length !== rawB.length) {
      throw new ShapeError(
        name,
        `axes ${JSON.stringify(axes)} pair ${rawA.length} axes of a with ${rawB.length} of b; ` +
          `give the same number of axes for each.`,
      );
    }
    axesA = rawA.map((ax) => normalizeAxis(name, ax, x.ndim));
    axesB = rawB.map((ax) => normalizeAxis(name, ax, y.ndim));
  }
  axesA.forEach((ax, i) => {
    const bx = axesB[i]!;
    if (x.shape[ax] !== y.shape[bx]) {
      throw new ShapeError(
        name,
        `axis ${ax} of a (shape ${formatShape(x.shape)}) has size ${x.shape[ax]} but the axis ` +
          `it is paired with, axis ${bx} of b (shape ${formatShape(y.shape)}), has size ` +
          `${y.shape[bx]}; paired axes must have equal sizes.`,
      );
    }
  });
  if (new Set(axesA).size !== axesA.length || new Set(axesB).size !== axesB.length) {
    throw new ValueError(name, `axes ${JSON.stringify(axes)} repeats an axis.`);
  }
  return bind1(dotGeneral, [x, y], { contracting: [axesA, axesB], batch: [[], []] });
}

// ----------------------------------------------------------------------------- diagonals

/**
 * The diagonal of the last two axes (`[..., n, m]` → `[..., L]`), starting at column `offset`
 * (row `-offset` when negative): flatten the matrix and take every (m+1)-th element.
 */
function lastAxesDiagonal(a: NDArray, offset: number): NDArray {
  const n = a.shape[a.ndim - 2]!;
  const m = a.shape[a.ndim - 1]!;
  const row = Math.max(0, -offset);
  const col = Math.max(0, offset);
  const length = Math.max(0, Math.min(n - row, m - col));
  const flat = reshape(a, [...a.shape.slice(0, -2), n * m]);
  const start = length === 0 ? 0 : row * m + col;
  const limit = length === 0 ? 0 : start + (length - 1) * (m + 1) + 1;
  return sliceAxis(flat, flat.ndim - 1, start, limit, m + 1);
}

/** Options of `diagonal` and `trace`. */
export interface DiagonalOptions {
  /** Diagonal offset: positive above the main diagonal, negative below (default 0). */
  offset?: number;
  /** The axis that indexes rows (default 0). */
  axis1?: number;
  /** The axis that indexes columns (default 1). */
  axis2?: number;
}

/**
 * The diagonal of `x` taken over `axis1` and `axis2`; the diagonal becomes the last axis of the
 * result and the other axes keep their order (NumPy's `diagonal`).
 * @param x an array with at least two axes.
 * @param options `offset` (default 0), `axis1` (default 0), `axis2` (default 1).
 * @returns the diagonal elements, shape `[...other axes, L]`.
 * @example
 * np.diagonal(np.arange(9).reshape([3, 3])); // [0, 4, 8]
 * np.diagonal(np.arange(9).reshape([3, 3]), { offset: 1 }); // [1, 5]
 */
export function diagonal(x: ArrayLike, options: DiagonalOptions = {}): NDArray {
  return diagonalOf("np.diagonal", x, options);
}

function diagonalOf(operation: string, x: ArrayLike, options: DiagonalOptions): NDArray {
  const [a] = promote(operation, [x]) as [NDArray];
  if (a.ndim < 2) {
    throw new ShapeError(
      operation,
      `needs an array with at least two axes, got shape ${formatShape(a.shape)}.`,
    );
  }
  const offset = checkInteger(operation, "offset", options.offset ?? 0);
  const axis1 = normalizeAxis(operation, options.axis1 ?? 0, a.ndim);
  const axis2 = normalizeAxis(operation, options.axis2 ?? 1, a.ndim);
  if (axis1 === axis2) {
    throw new ValueError(
      operation,
      `axis1 and axis2 must be different axes, got both ${axis1} (shape ${formatShape(a.shape)}).`,
    );
  }
  return lastAxesDiagonal(moveaxis(a, [axis1, axis2], [-2, -1]), offset);
}

/**
 * The sum along a diagonal of `x` (over `axis1` and `axis2`, offset by `offset`).
 * @param x an array with at least two axes.
 * @param options `offset` (default 0), `axis1` (default 0), `axis2` (default 1).
 * @returns the sums, with the two axes removed (a scalar for a matrix). bool sums as int32.
 * @example
 * np.trace(np.eye(3)); // 3
 * np.trace(np.ones([2, 3, 3]), { axis1: 1, axis2: 2 }); // [3, 3]
 */
export function trace(x: ArrayLike, options: DiagonalOptions = {}): NDArray {
  return sum(diagonalOf("np.trace", x, options), { axis: -1 });
}

/** Options of `diag`. */
export interface DiagOptions {
  /** Which diagonal: positive above the main one, negative below (default 0). */
  k?: number;
}

/**
 * Builds a diagonal matrix from a vector, or extracts a diagonal from a matrix.
 * @param x a 1-D array (placed on diagonal `k` of a square matrix of size `len + |k|`) or a 2-D
 *   array (whose diagonal `k` is returned).
 * @param options `k`: the diagonal (default 0).
 * @returns a 2-D array for a 1-D input, a 1-D array for a 2-D input.
 * @example
 * np.diag(np.array([1, 2])); // [[1, 0], [0, 2]]
 * np.diag(np.array([[1, 2], [3, 4]]), { k: 1 }); // [2]
 */
export function diag(x: ArrayLike, options: DiagOptions = {}): NDArray {
  const name = "np.diag";
  const [a] = promote(name, [x]) as [NDArray];
  const k = checkInteger(name, "k", options.k ?? 0);
  if (a.ndim === 2) return lastAxesDiagonal(a, k);
  if (a.ndim !== 1) {
    throw new ShapeError(
      name,
      `takes a 1-D array (to build a diagonal matrix) or a 2-D array (to read a diagonal), ` +
        `got shape ${formatShape(a.shape)}. For stacks of matrices use np.diagonal.`,
    );
  }
  const n = a.shape[0]! + Math.abs(k);
  const mask = eye(n, { k, dtype: "bool" });
  // Row i of the output holds v[i] (k ≥ 0), column j holds v[j] (k < 0); pad v to length n.
  const padded = pad(a, k >= 0 ? [0, k] : [0, -k]);
  const values = broadcastTo(name, reshape(padded, k >= 0 ? [n, 1] : [1, n]), [n, n]);
  return where(mask, values, convert(zeros([], { dtype: a.dtype }), a.dtype, a.weakType));
}

// ----------------------------------------------------------------------------- einsum

/** The labels of one einsum term, with `...` expanded into labels of its own. */
interface Term {
  labels: string[];
}

/** Label of the i-th broadcast ("...") axis; never a letter, so it cannot clash with one. */
const ellipsisLabel = (i: number): string => `…${i}`;

/** Parses one term ("ij", "...ij", "i...j") into its letters around an optional ellipsis. */
function parseTerm(
  subscripts: string,
  text: string,
  what: string,
): { before: string[]; after: string[]; hasEllipsis: boolean } {
  const bad = (detail: string): never => {
    throw new ValueError("np.einsum", `invalid subscripts "${subscripts}": ${what} ${detail}.`);
  };
  const compact = text.replace(/\s+/g, "");
  const parts = compact.split("...");
  if (parts.length > 2) bad(`has more than one "..."`);
  for (const part of parts) {
    for (const c of part) {
      if (!/[a-zA-Z]/.test(c)) {
        bad(
          c === "."
            ? `has a "." that is not part of "..."`
            : `has the character "${c}"; subscripts are letters a-z, A-Z and "..."`,
        );
      }
    }
  }
  return {
    before: [...parts[0]!],
    after: parts.length === 2 ? [...parts[1]!] : [],
    hasEllipsis: parts.length === 2,
  };
}

interface ParsedEinsum {
  inputs: Term[];
  output: string[];
}

function parseEinsum(subscripts: string, operands: readonly NDArray[]): ParsedEinsum {
  const name = "np.einsum";
  const arrow = subscripts.split("->");
  if (arrow.length > 2) {
    throw new ValueError(name, `invalid subscripts "${subscripts}": "->" appears more than once.`);
  }
  const lhs = arrow[0]!;
  const terms = lhs.split(",");
  if (terms.length !== operands.length) {
    throw new ValueError(
      name,
      `the subscripts "${subscripts}" describe ${terms.length} operand${terms.length === 1 ? "" : "s"}, ` +
        `but ${operands.length} ${operands.length === 1 ? "was" : "were"} given.`,
    );
  }
  const parsed = terms.map((t, i) => parseTerm(subscripts, t, `operand ${i} ("${t.trim()}")`));
  // How many axes "..." stands for in each operand, and in all of them broadcast together.
  const spans = parsed.map((p, i) => {
    const x = operands[i]!;
    const letters = p.before.length + p.after.length;
    const span = x.ndim - letters;
    if (p.hasEllipsis ? span < 0 : span !== 0) {
      throw new ShapeError(
        name,
        `operand ${i} has shape ${formatShape(x.shape)} (${x.ndim} axes) but its subscripts ` +
          `"${terms[i]!.trim()}" name ${letters} ax${letters === 1 ? "is" : "es"}` +
          `${p.hasEllipsis ? " plus an ellipsis" : ""}; give one letter per axis, or use "..." for the leading ones.`,
      );
    }
    return p.hasEllipsis ? span : 0;
  });
  const broadcastRank = Math.max(0, ...spans);
  const ellipsisLabels = Array.from({ length: broadcastRank }, (_, i) => ellipsisLabel(i));
  const inputs: Term[] = parsed.map((p, i) => ({
    labels: [...p.before, ...ellipsisLabels.slice(broadcastRank - spans[i]!), ...p.after],
  }));
  let output: string[];
  if (arrow.length === 2) {
    const out = parseTerm(subscripts, arrow[1]!, "the output");
    const letters = [...out.before, ...out.after];
    const seen = new Set<string>();
    for (const c of letters) {
      if (seen.has(c)) {
        throw new ValueError(
          name,
          `invalid subscripts "${subscripts}": the output names "${c}" twice.`,
        );
      }
      seen.add(c);
      if (!inputs.some((t) => t.labels.includes(c))) {
        throw new ValueError(
          name,
          `invalid subscripts "${subscripts}": the output label "${c}" does not appear in any operand.`,
        );
      }
    }
    if (!out.hasEllipsis && broadcastRank > 0) {
      throw new ValueError(
        name,
        `invalid subscripts "${subscripts}": the operands' "..." stands for ${broadcastRank} ` +
          `ax${broadcastRank === 1 ? "is" : "es"}, but the output has no "..." to put them in.`,
      );
    }
    output = out.hasEllipsis ? [...out.before, ...ellipsisLabels, ...out.after] : letters;
  } else {
    // Implicit mode: the broadcast axes, then the letters used exactly once, sorted.
    const counts = new Map<string, number>();
    for (const t of parsed)
      for (const c of [...t.before, ...t.after]) counts.set(c, (counts.get(c) ?? 0) + 1);
    const once = [...counts].filter(([, n]) => n === 1).map(([c]) => c);
    output = [...ellipsisLabels, ...once.sort()];
  }
  return { inputs, output };
}

/** Human-readable label for messages: letters as they are, ellipsis axes as "...". */
function showLabel(label: string): string {
  return label.startsWith("…") ? `... axis ${label.slice(1)}` : `"${label}"`;
}

/**
 * Takes the diagonal over every label repeated within one operand ("ii->i"); the merged axis goes
 * last. Returns the new array and its labels (each now distinct).
 */
function collapseRepeats(x: NDArray, labels: readonly string[]): [NDArray, string[]] {
  let a = x;
  let current = [...labels];
  for (;;) {
    const repeated = current.find((l, i) => current.indexOf(l) !== i);
    if (repeated === undefined) return [a, current];
    const axes = current.flatMap((l, i) => (l === repeated ? [i] : []));
    const n = a.shape[axes[0]!]!;
    // Move the repeated axes last, flatten them, and take every (1 + n + n² + …)-th element.
    const rest = current.map((_, i) => i).filter((i) => !axes.includes(i));
    a = transpose(a, [...rest, ...axes]);
    const k = axes.length;
    const flat = reshape(a, [...a.shape.slice(0, rest.length), n ** k]);
    const step = n <= 1 ? 1 : (n ** k - 1) / (n - 1);
    a = sliceAxis(flat, flat.ndim - 1, 0, n === 0 ? 0 : (n - 1) * step + 1, step);
    current = [...rest.map((i) => current[i]!), repeated];
  }
}

/**
 * Einstein summation: `einsum("ij,jk->ik", a, b)` is `a @ b`. Each operand's axes are named by
 * letters; letters shared between operands are multiplied together, letters missing from the
 * output are summed over, a letter repeated within one operand takes a diagonal ("ii->i"), and
 * "..." stands for leading (broadcast) axes. Without "->" the output is the "..." axes, then
 * the letters used exactly once, in alphabetical order (NumPy's implicit mode). Operands are
 * contracted pairwise from left to right, each pair as one `dot_general`.
 * @param subscripts e.g. `"ij,jk->ik"`, `"bij,bjk->bik"`, `"ii->"`, `"...ij,...jk"`.
 * @param operands one array per comma-separated term.
 * @returns the result, with one axis per output label.
 * @example
 * np.einsum("ij,jk->ik", np.ones([2, 3]), np.ones([3, 4])); // shape [2, 4], values 3
 * np.einsum("ii->", np.eye(3)); // 3 (the trace)
 * np.einsum("...ij->...ji", np.ones([5, 2, 3])); // shape [5, 3, 2]
 */
export function einsum(subscripts: string, ...operands: ArrayLike[]): NDArray {
  const name = "np.einsum";
  if (typeof subscripts !== "string") {
    throw new ValueError(
      name,
      `the first argument must be a subscripts string such as "ij,jk->ik", got ${typeof subscripts}.`,
    );
  }
  if (operands.length === 0) {
    throw new ValueError(name, `needs at least one operand after the subscripts "${subscripts}".`);
  }
  const arrays = numericOperands(name, operands);
  const { inputs, output } = parseEinsum(subscripts, arrays);
  // The size of every label; operands disagreeing (other than in size 1) is an error.
  const sizes = new Map<string, { size: number; operand: number }>();
  inputs.forEach((t, i) => {
    const x = arrays[i]!;
    t.labels.forEach((l, axis) => {
      const d = x.shape[axis]!;
      const first = t.labels.indexOf(l);
      if (first !== axis && x.shape[first] !== d) {
        throw new ShapeError(
          name,
          `in "${subscripts}", operand ${i} (shape ${formatShape(x.shape)}) repeats label ` +
            `${showLabel(l)} on axes ${first} and ${axis}, of sizes ${x.shape[first]} and ${d}; ` +
            `a repeated label takes a diagonal, so those axes must have equal sizes.`,
        );
      }
      const known = sizes.get(l);
      if (known === undefined || known.size === 1) sizes.set(l, { size: d, operand: i });
      else if (d !== 1 && d !== known.size) {
        throw new ShapeError(
          name,
          `in "${subscripts}", label ${showLabel(l)} has size ${known.size} in operand ` +
            `${known.operand} (shape ${formatShape(arrays[known.operand]!.shape)}) but size ${d} ` +
            `in operand ${i} (shape ${formatShape(arrays[i]!.shape)}); the axes a label names ` +
            `must have equal sizes (or size 1, which broadcasts).`,
        );
      }
    });
  });
  // Per operand: diagonals, broadcasting of size-1 axes, sums over labels used nowhere else.
  const prepared = arrays.map((x, i) => {
    let [a, labels] = collapseRepeats(x, inputs[i]!.labels);
    const target = labels.map((l) => sizes.get(l)!.size);
    a = broadcastTo(name, a, target);
    const usedElsewhere = (l: string): boolean =>
      output.includes(l) || inputs.some((t, j) => j !== i && t.labels.includes(l));
    const summed = labels.flatMap((l, axis) => (usedElsewhere(l) ? [] : [axis]));
    if (summed.length > 0) {
      a = sum(a, { axis: summed });
      labels = labels.filter((l) => usedElsewhere(l));
    }
    return { array: a, labels };
  });
  let { array: result, labels } = prepared[0]!;
  for (let j = 1; j < prepared.length; j++) {
    const { array: rhs, labels: rhsLabels } = prepared[j]!;
    const neededLater = (l: string): boolean =>
      output.includes(l) || inputs.slice(j + 1).some((t) => t.labels.includes(l));
    const shared = labels.filter((l) => rhsLabels.includes(l));
    const batch = shared.filter(neededLater);
    const contracted = shared.filter((l) => !neededLater(l));
    const axesOf = (ls: readonly string[], of: readonly string[]): number[] =>
      ls.map((l) => of.indexOf(l));
    result = bind1(dotGeneral, [result, rhs], {
      contracting: [axesOf(contracted, labels), axesOf(contracted, rhsLabels)],
      batch: [axesOf(batch, labels), axesOf(batch, rhsLabels)],
    });
    labels = [
      ...batch,
      ...labels.filter((l) => !shared.includes(l)),
      ...rhsLabels.filter((l) => !shared.includes(l)),
    ];
  }
  return transpose(
    result,
    output.map((l) => labels.indexOf(l)),
  );
}

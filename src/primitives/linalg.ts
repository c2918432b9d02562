/**
 * Dense linear-algebra primitives on the last two axes, batched over the leading ones (as JAX's
 * `lax.linalg`): `cholesky`, `triangular_solve` and `lu`. Inputs are float32 or float64; every
 * kernel accumulates in float64 and rounds once when it writes its output.
 */
import type { NDArray } from "../core/array.js";
import { AbstractValue } from "../core/aval.js";
import { ShapeError } from "../core/errors.js";
import { definePrimitive, type LinearInput, type Primitive } from "../core/primitive.js";
import { formatShape, shapesEqual } from "../core/shape.js";
import { bind, bind1 } from "../core/trace.js";
import { fromStorage, type ConcreteArray } from "../runtime/concrete.js";
import * as ops from "./ops.js";
import { batchToFront, type MaybeZero } from "./rules.js";
import { iota, pad, slice } from "./structural.js";
import { checkDType, checkSameDType, concrete, output } from "./util.js";
import { choleskyExamples, luExamples, triangularSolveExamples } from "./linalg-examples.js";

type Empty = Record<string, never>;

/** Parameters of `triangular_solve`. */
export interface TriangularSolveParams {
  /** Solve `op(a)·x = b` (true) or `x·op(a) = b` (false). */
  leftSide: boolean;
  /** Read `a`'s lower triangle (true) or its upper one (false); the other is ignored. */
  lower: boolean;
  /** `op(a)` is `aᵀ` (true) or `a` (false). */
  transposeA: boolean;
  /** Take `a`'s diagonal as ones without reading it. */
  unitDiagonal: boolean;
}

// ----------------------------------------------------------------------------- rule helpers

const isLinear = (x: NDArray | LinearInput): x is LinearInput => "linear" in x && x.linear === true;

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/**
 * `pred(i, j) ? onTrue : onFalse` over the last two axes; one of the operands may be rank 0.
 * The mask is a constant, so this is a `select` in the IR.
 */
function selectWhere(
  pred: (i: number, j: number) => boolean,
  onTrue: NDArray,
  onFalse: NDArray,
): NDArray {
  const shape = onTrue.ndim > 0 ? onTrue.shape : onFalse.shape;
  const rows = shape[shape.length - 2]!;
  const cols = shape[shape.length - 1]!;
  const data = new Uint8Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) data[i * cols + j] = +pred(i, j);
  const mask = ops.broadcast(fromStorage(data, [rows, cols], "bool"), shape, [
    shape.length - 2,
    shape.length - 1,
  ]);
  return ops.select(mask, onTrue, onFalse);
}

/** `x` where `pred(i, j)`, zero elsewhere. @internal */
export const keepWhere = (pred: (i: number, j: number) => boolean, x: NDArray): NDArray =>
  selectWhere(pred, x, ops.constant(0, x));

/** `x·y` over the last two axes, with equal batch axes. @internal */
export function batchMatmul(x: NDArray, y: NDArray): NDArray {
  const nb = x.ndim - 2;
  return ops.dotGeneral(x, y, { contracting: [[nb + 1], [nb]], batch: [range(nb), range(nb)] });
}

/** The last two axes cut or zero-padded (at the end) to `size`×`size`. */
function fitSquare(x: NDArray, size: number): NDArray {
  const nb = x.ndim - 2;
  const batch = x.shape.slice(0, nb);
  const rows = Math.min(x.shape[nb]!, size);
  const cols = Math.min(x.shape[nb + 1]!, size);
  let y = x;
  if (rows < x.shape[nb]! || cols < x.shape[nb + 1]!) {
    y = bind1(slice, [y], {
      start: x.shape.map(() => 0),
      limit: [...batch, rows, cols],
      strides: x.shape.map(() => 1),
    });
  }
  if (rows < size || cols < size) {
    y = bind1(pad, [y, ops.constant(0, y)], {
      config: [
        ...batch.map(() => [0, 0, 0] as const),
        [0, size - rows, 0] as const,
        [0, size - cols, 0] as const,
      ],
    });
  }
  return y;
}

// ----------------------------------------------------------------------------- primitives

/**
 * Checks a float operand with at least two axes; returns its batch shape and matrix shape.
 * @internal
 */
export function checkMatrix(
  operation: string,
  x: AbstractValue,
  what: string,
  square: boolean,
): { batch: readonly number[]; rows: number; cols: number } {
  checkDType(operation, x, "float", what);
  if (x.ndim < 2) {
    throw new ShapeError(
      operation,
      `${what} must have at least two axes (a matrix, or a batch of them), got shape ` +
        `${formatShape(x.shape)}.`,
    );
  }
  const rows = x.shape[x.ndim - 2]!;
  const cols = x.shape[x.ndim - 1]!;
  if (square && rows !== cols) {
    throw new ShapeError(
      operation,
      `${what} must be square in its last two axes, got shape ${formatShape(x.shape)} ` +
        `(${rows}×${cols}).`,
    );
  }
  return { batch: x.shape.slice(0, -2), rows, cols };
}

/** All the elements of `x` in row-major order, in float64. @internal */
export function float64Data(x: ConcreteArray): Float64Array {
  return new Float64Array(x.contiguousData());
}

/**
 * Lower Cholesky factor `L` of a symmetric positive-definite matrix, `a = L·Lᵀ`, reading only
 * `a`'s lower triangle. The upper triangle of the output is zero. A matrix that is not positive
 * definite gives a factor full of NaN (as JAX), not an exception.
 */
export const cholesky: Primitive<Empty> = definePrimitive<Empty>({
  name: "cholesky",
  examples: choleskyExamples,
  linear: false,
  jvp([x], [t]) {
    const l = bind1(cholesky, [x!], {});
    if (t === null) return [[l], [null]];
    // The kernel reads only the lower triangle, so the symmetric matrix it sees moves by
    // tril(t) + tril(t, -1)ᵀ. Then L̇ = L·Φ(L⁻¹·Ȧ·L⁻ᵀ), Φ = lower triangle with half the diagonal.
    const nd = t.ndim;
    const swap = [...range(nd - 2), nd - 1, nd - 2];
    const symmetric = ops.add(
      keepWhere((i, j) => j <= i, t),
      ops.transpose(
        keepWhere((i, j) => j < i, t),
        swap,
      ),
    );
    const right = bind1(triangularSolve, [l, symmetric], {
      leftSide: false,
      lower: true,
      transposeA: true,
      unitDiagonal: false,
    });
    const middle = bind1(triangularSolve, [l, right], {
      leftSide: true,
      lower: true,
      transposeA: false,
      unitDiagonal: false,
    });
    const phi = selectWhere(
      (i, j) => i === j,
      ops.mul(middle, ops.constant(0.5, middle)),
      keepWhere((i, j) => j < i, middle),
    );
    return [[l], [batchMatmul(l, phi)]];
  },
  batch([x], [axis]) {
    return [[bind1(cholesky, [ops.moveAxis(x!, axis!, 0)], {})], [0]];
  },
  abstractEval([x]) {
    checkMatrix("cholesky", x!, "the operand", true);
    return [new AbstractValue(x!.shape, x!.dtype, x!.weakType)];
  },
  impl(inputs) {
    const [x] = concrete(inputs) as [ConcreteArray];
    const n = x.shape[x.ndim - 1]!;
    const a = float64Data(x);
    const count = n === 0 ? 0 : a.length / (n * n);
    const l = new Float64Array(a.length);
    for (let b = 0; b < count; b++) {
      const base = b * n * n;
      let ok = true;
      for (let j = 0; j < n && ok; j++) {
        let d = a[base + j * n + j]!;
        for (let k = 0; k < j; k++) d -= l[base + j * n + k]! ** 2;
        if (!(d > 0)) {
          ok = false;
          break;
        }
        const ljj = Math.sqrt(d);
        l[base + j * n + j] = ljj;
        for (let i = j + 1; i < n; i++) {
          let s = a[base + i * n + j]!;
          for (let k = 0; k < j; k++) s -= l[base + i * n + k]! * l[base + j * n + k]!;
          l[base + i * n + j] = s / ljj;
        }
      }
      if (!ok) l.fill(NaN, base, base + n * n);
    }
    return [output(x.shape, x.dtype, x.weakType, (out) => out.set(l))];
  },
});

function triangularSolveShape(
  a: AbstractValue,
  b: AbstractValue,
  { leftSide }: TriangularSolveParams,
): void {
  const name = "triangular_solve";
  checkMatrix(name, a, "the matrix a", true);
  checkMatrix(name, b, "the right-hand side b", false);
  checkSameDType(name, [a, b]);
  const m = a.shape[a.ndim - 1]!;
  if (!shapesEqual(a.shape.slice(0, -2), b.shape.slice(0, -2))) {
    throw new ShapeError(
      name,
      `the batch axes of a (shape ${formatShape(a.shape)}) and b (shape ${formatShape(b.shape)}) ` +
        `differ; this primitive needs equal batch axes (broadcast them first).`,
    );
  }
  const axis = leftSide ? b.ndim - 2 : b.ndim - 1;
  if (b.shape[axis] !== m) {
    throw new ShapeError(
      name,
      `a has shape ${formatShape(a.shape)}, so b (shape ${formatShape(b.shape)}) needs ${m} ` +
        `${leftSide ? "rows (leftSide: op(a)·x = b)" : "columns (x·op(a) = b)"}, got ${b.shape[axis]}.`,
    );
  }
}

/**
 * Solves `op(a)·x = b` (`leftSide`) or `x·op(a) = b` for `x`, where `a` is triangular and
 * `op(a)` is `a` or `aᵀ`. `a` is `[..., m, m]`; `b` is `[..., m, n]` (left) or `[..., n, m]`
 * (right), with the same batch axes. A zero on the diagonal gives infinities or NaN.
 */
export const triangularSolve: Primitive<TriangularSolveParams> =
  definePrimitive<TriangularSolveParams>({
    name: "triangular_solve",
    examples: triangularSolveExamples,
    linear: true,
    jvp([a, b], [ta, tb], params) {
      const x = bind1(triangularSolve, [a!, b!], params);
      let rhs: MaybeZero = tb ?? null;
      if (ta !== null && ta !== undefined) {
        // op(a)·x = b  ⇒  ẋ = op(a)⁻¹·(ḃ − op(ȧ)·x); on the right, ẋ = (ḃ − x·op(ȧ))·op(a)⁻¹.
        // Only the entries the kernel reads move: the stored triangle, less a unit diagonal.
        const { leftSide, lower, transposeA, unitDiagonal } = params;
        const read = keepWhere(
          (i, j) => (lower ? j <= i : j >= i) && !(unitDiagonal && i === j),
          ta,
        );
        const nd = ta.ndim;
        const batch = range(nd - 2);
        const product = leftSide
          ? ops.dotGeneral(read, x, {
              contracting: [[transposeA ? nd - 2 : nd - 1], [nd - 2]],
              batch: [batch, batch],
            })
          : ops.dotGeneral(x, read, {
              contracting: [[nd - 1], [transposeA ? nd - 1 : nd - 2]],
              batch: [batch, batch],
            });
        rhs = rhs === null ? ops.neg(product) : ops.sub(rhs, product);
      }
      return [[x], [rhs === null ? null : bind1(triangularSolve, [a!, rhs], params)]];
    },
    transpose([ct], [a, b], params) {
      if (isLinear(a!)) {
        throw new Error("triangular_solve is linear in b only; it cannot be transposed in a");
      }
      if (ct === null || ct === undefined || !isLinear(b!)) return [null, null];
      // x = op(a)⁻¹·b (or b·op(a)⁻¹) is linear in b; its transpose applies op(a)⁻ᵀ on the same side.
      return [null, bind1(triangularSolve, [a, ct], { ...params, transposeA: !params.transposeA })];
    },
    batch(inputs, axes, params) {
      const [a, b] = batchToFront(inputs, axes) as [NDArray, NDArray];
      return [[bind1(triangularSolve, [a, b], params)], [0]];
    },
    abstractEval([a, b], params) {
      triangularSolveShape(a!, b!, params);
      return [new AbstractValue(b!.shape, b!.dtype, a!.weakType && b!.weakType)];
    },
    impl(inputs, params) {
      const [a, b] = concrete(inputs) as [ConcreteArray, ConcreteArray];
      const { leftSide, lower, transposeA, unitDiagonal } = params;
      const m = a.shape[a.ndim - 1]!;
      const rows = b.shape[b.ndim - 2]!;
      const cols = b.shape[b.ndim - 1]!;
      // Reduce every case to T·X = B with T lower or upper, T and B row-major:
      // x·op(a) = b  ⇔  op(a)ᵀ·xᵀ = bᵀ, and each transpose swaps lower and upper.
      const transposeT = transposeA !== !leftSide;
      const lowerT = lower !== transposeT;
      const n = leftSide ? cols : rows; // right-hand sides per matrix
      const aData = float64Data(a);
      const bData = float64Data(b);
      const result = new Float64Array(bData.length);
      const count = m * m === 0 ? 0 : aData.length / (m * m);
      const t = new Float64Array(m * m);
      const x = new Float64Array(m * n);
      for (let batch = 0; batch < count; batch++) {
        const aBase = batch * m * m;
        const bBase = batch * rows * cols;
        // T[i, j] from a, reading only the stored triangle.
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < m; j++) {
            const r = transposeT ? j : i;
            const c = transposeT ? i : j;
            const stored = lower ? c <= r : c >= r;
            t[i * m + j] = r === c && unitDiagonal ? 1 : stored ? aData[aBase + r * m + c]! : 0;
          }
        }
        // X as m×n: B itself (left side) or Bᵀ (right side).
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            x[i * n + j] = leftSide ? bData[bBase + i * cols + j]! : bData[bBase + j * cols + i]!;
          }
        }
        for (let step = 0; step < m; step++) {
          const i = lowerT ? step : m - 1 - step;
          const d = t[i * m + i]!;
          const [lo, hi] = lowerT ? [0, i] : [i + 1, m];
          for (let j = 0; j < n; j++) {
            let s = x[i * n + j]!;
            for (let k = lo; k < hi; k++) s -= t[i * m + k]! * x[k * n + j]!;
            x[i * n + j] = s / d;
          }
        }
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            if (leftSide) result[bBase + i * cols + j] = x[i * n + j]!;
            else result[bBase + j * cols + i] = x[i * n + j]!;
          }
        }
      }
      return [
        output(b.shape, b.dtype, a.weakType && b.weakType, (out) => {
          out.set(result);
        }),
      ];
    },
  });

/**
 * LU decomposition with partial pivoting of `a` (`[..., m, n]`), as JAX's `lax.linalg.lu`.
 * Outputs `[lu, pivots, permutation]`: `lu` holds `U` on and above the diagonal and the unit
 * lower factor `L` below it; `pivots` (int32, `[..., min(m, n)]`) says row `i` was swapped with
 * row `pivots[i]`; `permutation` (int32, `[..., m]`) is their composition, so
 * `a[permutation] = L·U`. A singular matrix is factored without error (its `U` has a zero pivot).
 */
export const lu: Primitive<Empty> = definePrimitive<Empty>({
  name: "lu",
  examples: luExamples,
  linear: false,
  jvp([a], [t]) {
    const outs = bind(lu, [a!], {}) as [NDArray, NDArray, NDArray];
    if (t === null || t === undefined) return [outs, [null, null, null]];
    // JAX's rule: with P·a = L·U, F = L⁻¹·P·ȧ·U⁻¹ gives L̇ = L·tril(F, -1) and U̇ = triu(F)·U,
    // packed like the factors. L is m×m and U n×n (padded with identity when not square).
    const [packed, , permutation] = outs;
    const nd = t.ndim;
    const batch = t.shape.slice(0, -2);
    const m = t.shape[nd - 2]!;
    const n = t.shape[nd - 1]!;
    const k = Math.min(m, n);
    const rowsOf = ops.broadcast(permutation, [...batch, m, m], range(nd - 1));
    const columns = bind1(iota, [], { dtype: "int32", shape: [...batch, m, m], dimension: nd - 1 });
    const p = ops.convert(ops.eq(rowsOf, columns), t.dtype, false);
    const one = ops.constant(1, t);
    const l = selectWhere(
      (i, j) => i === j,
      one,
      keepWhere((i, j) => i > j, fitSquare(packed, m)),
    );
    const u = selectWhere(
      (i, j) => i === j && i >= k,
      one,
      keepWhere((i, j) => i <= j, fitSquare(packed, n)),
    );
    const left = bind1(triangularSolve, [l, batchMatmul(p, t)], {
      leftSide: true,
      lower: true,
      transposeA: false,
      unitDiagonal: true,
    });
    const f = bind1(triangularSolve, [u, left], {
      leftSide: false,
      lower: false,
      transposeA: false,
      unitDiagonal: false,
    });
    const lDot = batchMatmul(
      l,
      keepWhere((i, j) => i > j, f),
    );
    const uDot = batchMatmul(
      keepWhere((i, j) => i <= j, f),
      u,
    );
    return [outs, [ops.add(lDot, uDot), null, null]];
  },
  batch([x], [axis]) {
    return [bind(lu, [ops.moveAxis(x!, axis!, 0)], {}), [0, 0, 0]];
  },
  abstractEval([x]) {
    const { batch, rows, cols } = checkMatrix("lu", x!, "the operand", false);
    return [
      new AbstractValue(x!.shape, x!.dtype, x!.weakType),
      new AbstractValue([...batch, Math.min(rows, cols)], "int32"),
      new AbstractValue([...batch, rows], "int32"),
    ];
  },
  impl(inputs) {
    const [x] = concrete(inputs) as [ConcreteArray];
    const m = x.shape[x.ndim - 2]!;
    const n = x.shape[x.ndim - 1]!;
    const k = Math.min(m, n);
    const batch = x.shape.slice(0, -2);
    const count = batch.reduce((p, d) => p * d, 1);
    const a = float64Data(x);
    const pivots = new Int32Array(count * k);
    const permutation = new Int32Array(count * m);
    for (let b = 0; b < count; b++) {
      const base = b * m * n;
      const perm = permutation.subarray(b * m, (b + 1) * m);
      for (let i = 0; i < m; i++) perm[i] = i;
      for (let j = 0; j < k; j++) {
        // The first row at or below j with the largest |a[i, j]| (LAPACK's idamax).
        let p = j;
        let best = Math.abs(a[base + j * n + j]!);
        for (let i = j + 1; i < m; i++) {
          const v = Math.abs(a[base + i * n + j]!);
          if (v > best) {
            best = v;
            p = i;
          }
        }
        pivots[b * k + j] = p;
        if (p !== j) {
          for (let c = 0; c < n; c++) {
            const tmp = a[base + j * n + c]!;
            a[base + j * n + c] = a[base + p * n + c]!;
            a[base + p * n + c] = tmp;
          }
          const tmp = perm[j]!;
          perm[j] = perm[p]!;
          perm[p] = tmp;
        }
        const pivot = a[base + j * n + j]!;
        if (pivot === 0) continue;
        for (let i = j + 1; i < m; i++) {
          const factor = a[base + i * n + j]! / pivot;
          a[base + i * n + j] = factor;
          for (let c = j + 1; c < n; c++) a[base + i * n + c] -= factor * a[base + j * n + c]!;
        }
      }
    }
    return [
      output(x.shape, x.dtype, x.weakType, (out) => out.set(a)),
      output([...batch, k], "int32", false, (out) => out.set(pivots)),
      output([...batch, m], "int32", false, (out) => out.set(permutation)),
    ];
  },
});

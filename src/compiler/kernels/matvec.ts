/**
 * Products with at most a few rows (a recurrent cell's `h·Wᵀ`, one example through a layer) or
 * at most a few columns (a matrix times a vector), read where the operands are: nothing is packed.
 * The packed kernels of `matmul.ts` copy B into panels so that every row panel of A reuses
 * them; with one row panel that copy costs as much as the arithmetic, and a 6-row micro-kernel
 * computes mostly padding.
 *
 * - **Rows** (B's rows contiguous): a block of up to 4 rows of C × `V` vectors of columns;
 *   each step of k splats one element of each row of A and multiplies it into `V` vectors of
 *   one row of B. With few rows B is read once; with many (an outer product, k ≤ 4) B is
 *   small, and each block of rows reads it again.
 * - **Dots** (A's rows and B's columns contiguous along k): a block of `R × J` dot products,
 *   each a vector of lane-wise partial sums over k, summed `(l0 + l1) + (l2 + l3)` at the end,
 *   then the last `k mod lanes` terms in order.
 *
 * The epilogue (bias along the columns, then relu) is applied before each element is stored,
 * as in the packed kernels. Both forms take any batch, A and C strides; results do not depend
 * on how the threads split the columns or rows (each element is one sum in a fixed order).
 */
import type { FunctionBuilder, ModuleBuilder } from "../wasm/module.js";
import type { MatmulPlan } from "./matmul.js";
import {
  address,
  bump,
  loadVector,
  multiplyAdd,
  storeVector,
  vectorOps,
  zeroVector,
} from "./matmul-pack.js";

/** How a product runs without packing. */
export type MatvecForm = "rows" | "dots";

/** Products with at most this many rows (or, for dots, columns) run without packing. */
export const matvecMaximumSide = 4;

/**
 * The unpacked form for a product, or `undefined` when the packed kernels take it: rows when
 * C has few rows (or k is small) and B's rows are contiguous; dots when C has few rows or
 * columns and A's rows and B's columns run contiguously along k.
 */
export function matvecForm(plan: MatmulPlan): MatvecForm | undefined {
  const { m, n, k, lanes, a, b } = plan;
  // With few rows, or a sum of few terms (an outer product), B has no reuse to pack for.
  const thin = m <= matvecMaximumSide || k <= matvecMaximumSide;
  if (thin && b.colStride === 1 && n >= lanes) return "rows";
  const few = m <= matvecMaximumSide || n <= matvecMaximumSide;
  if (few && a.colStride === 1 && b.rowStride === 1 && k >= lanes) return "dots";
  return undefined;
}

/** Scalar instructions of a dtype (the dots' reduction tail and epilogue). */
const scalarOps = {
  float32: {
    add: (f: FunctionBuilder) => f.f32Add(),
    mul: (f: FunctionBuilder) => f.f32Mul(),
    max: (f: FunctionBuilder) => f.f32Max(),
    zero: (f: FunctionBuilder) => f.f32Const(0),
  },
  float64: {
    add: (f: FunctionBuilder) => f.f64Add(),
    mul: (f: FunctionBuilder) => f.f64Mul(),
    max: (f: FunctionBuilder) => f.f64Max(),
    zero: (f: FunctionBuilder) => f.f64Const(0),
  },
};

/** A block function `(a, b, c, bias)`: its operands' and result's first elements, the bias'. */
const addBlock = (module: ModuleBuilder, name: string, comment: string): FunctionBuilder =>
  module.addFunction(name, {
    params: ["i32", "i32", "i32", "i32"],
    paramNames: ["a", "b", "c", "bias"],
    comment,
  });

/** `for (counter = count; counter > 0; counter--) body()` over a constant count. */
function countdown(f: FunctionBuilder, counter: number, count: number, body: () => void): void {
  if (count <= 0) return;
  f.i32Const(count).localSet(counter);
  f.loop((next) => {
    body();
    f.localGet(counter).i32Const(1).i32Sub().localTee(counter).brIf(next);
  });
}

/**
 * `(a, b, c, bias)`: `rows` rows of C × `vectors` vectors of columns, the last holding `last`
 * valid lanes; `a` at A[i, 0], `b` at B[0, j], `c` at C[i, j], `bias` at bias[j].
 */
function emitRowsBlock(
  module: ModuleBuilder,
  plan: MatmulPlan,
  name: string,
  rows: number,
  vectors: number,
  last: number,
): FunctionBuilder {
  const { es, lanes, k } = plan;
  const ops = vectorOps[plan.spec.dtype];
  const f = addBlock(
    module,
    `${name}$rows_${rows}x${vectors}_${last}`,
    `C[${rows} rows × ${(vectors - 1) * lanes + last} columns] = A rows · B, B read in place`,
  );
  const [a, b, c, bias] = [0, 1, 2, 3];
  const valid = (v: number): number => (v === vectors - 1 ? last : lanes);
  const acc = Array.from({ length: rows }, (_, r) =>
    Array.from({ length: vectors }, (_, v) => f.addLocal("v128", `c${r}_${v}`)),
  );
  const splat = Array.from({ length: rows }, (_, r) => f.addLocal("v128", `a${r}`));
  const bv = f.addLocal("v128", "b");
  const counter = f.addLocal("i32", "k");
  const lda = plan.a.rowStride * es;
  f.comment(`k loop: ${k} steps, one row of B each`);
  countdown(f, counter, k, () => {
    for (let r = 0; r < rows; r++) {
      ops.splatLoad(f, address(f, a, r * lda));
      f.localSet(splat[r]!);
    }
    for (let v = 0; v < vectors; v++) {
      loadVector(f, ops, plan, b, v * 16, valid(v));
      f.localSet(bv);
      for (let r = 0; r < rows; r++) {
        multiplyAdd(f, ops, plan.fusedMultiplyAdd, splat[r]!, bv, acc[r]![v]!);
      }
    }
    bump(f, a, plan.a.colStride * es);
    bump(f, b, plan.b.rowStride * es);
  });
  f.comment("epilogue, and store the valid lanes");
  for (let v = 0; v < vectors; v++) {
    if (plan.bias) {
      loadVector(f, ops, plan, bias, v * 16, valid(v));
      f.localSet(bv);
    }
    for (let r = 0; r < rows; r++) {
      const x = acc[r]![v]!;
      if (plan.bias) {
        f.localGet(x).localGet(bv);
        ops.add(f);
        f.localSet(x);
      }
      if (plan.relu) {
        f.localGet(x).v128Const(zeroVector);
        ops.max(f);
        f.localSet(x);
      }
      storeVector(f, ops, plan, c, r * plan.c.rowStride * es + v * 16, x, valid(v));
    }
  }
  return f;
}

/**
 * `(a, b, c, bias)`: an `R × J` block of dot products; `a` at A[i, 0], `b` at B[0, j], `c` at
 * C[i, j], `bias` at bias[j].
 */
function emitDotsBlock(
  module: ModuleBuilder,
  plan: MatmulPlan,
  name: string,
  R: number,
  J: number,
): FunctionBuilder {
  const { es, lanes, k } = plan;
  const ops = vectorOps[plan.spec.dtype];
  const scalar = scalarOps[plan.spec.dtype];
  const f = addBlock(
    module,
    `${name}$dots_${R}x${J}`,
    `C[${R}×${J}] = dot products of A rows and B columns over k = ${k}, read in place`,
  );
  const [a, b, c, bias] = [0, 1, 2, 3];
  const acc = Array.from({ length: R }, (_, r) =>
    Array.from({ length: J }, (_, j) => f.addLocal("v128", `c${r}_${j}`)),
  );
  // The shorter side's vectors are loaded first and held; the other side's one at a time.
  const held = Array.from({ length: Math.min(R, J) }, (_, i) => f.addLocal("v128", `h${i}`));
  const streamed = f.addLocal("v128", "s");
  const sum = f.addLocal(plan.spec.dtype === "float32" ? "f32" : "f64", "sum");
  const counter = f.addLocal("i32", "k");
  const lda = plan.a.rowStride * es;
  const ldb = plan.b.colStride * es;
  const main = Math.floor(k / lanes);
  f.comment(`k loop: ${main} vectors of lane-wise partial sums`);
  countdown(f, counter, main, () => {
    const rowsHeld = R <= J;
    const [hold, stream] = rowsHeld
      ? [
          [a, lda, R],
          [b, ldb, J],
        ]
      : [
          [b, ldb, J],
          [a, lda, R],
        ];
    for (let i = 0; i < hold[2]!; i++) {
      f.v128Load(address(f, hold[0]!, i * hold[1]!), es);
      f.localSet(held[i]!);
    }
    for (let s = 0; s < stream[2]!; s++) {
      f.v128Load(address(f, stream[0]!, s * stream[1]!), es);
      f.localSet(streamed);
      for (let h = 0; h < hold[2]!; h++) {
        const [r, j] = rowsHeld ? [h, s] : [s, h];
        multiplyAdd(f, ops, plan.fusedMultiplyAdd, held[h]!, streamed, acc[r]![j]!);
      }
    }
    bump(f, a, 16);
    bump(f, b, 16);
  });
  f.comment(`sum the lanes, add the last ${k - main * lanes} terms, epilogue, store`);
  for (let r = 0; r < R; r++) {
    for (let j = 0; j < J; j++) {
      const x = acc[r]![j]!;
      if (lanes === 4) {
        f.localGet(x);
        ops.extractLane(f, 0);
        f.localGet(x);
        ops.extractLane(f, 1);
        scalar.add(f);
        f.localGet(x);
        ops.extractLane(f, 2);
        f.localGet(x);
        ops.extractLane(f, 3);
        scalar.add(f);
        scalar.add(f);
      } else {
        f.localGet(x);
        ops.extractLane(f, 0);
        f.localGet(x);
        ops.extractLane(f, 1);
        scalar.add(f);
      }
      f.localSet(sum);
      for (let t = 0; t < k - main * lanes; t++) {
        f.localGet(sum);
        ops.load(f, address(f, a, r * lda + t * es));
        ops.load(f, address(f, b, j * ldb + t * es));
        scalar.mul(f);
        scalar.add(f);
        f.localSet(sum);
      }
      if (plan.bias) {
        f.localGet(sum);
        ops.load(f, address(f, bias, j * es));
        scalar.add(f);
        f.localSet(sum);
      }
      if (plan.relu) {
        f.localGet(sum);
        scalar.zero(f);
        scalar.max(f);
        f.localSet(sum);
      }
      const at = address(f, c, r * plan.c.rowStride * es + j * es);
      f.localGet(sum);
      ops.store(f, at);
    }
  }
  return f;
}

/**
 * Dots blocks: `side` (≤ 4) along the short side, as many along the other as make 8–9
 * accumulators (measured on Zen 3 with Node 20, like the rows' sizes below).
 */
const across = (side: number): number => Math.min(8, Math.floor(9 / side));

/**
 * Vectors of columns per rows block, for 1–4 rows: TurboFan loads a step's B vectors before
 * its multiply-adds, so accumulators + B vectors + splats must fit 15 registers (8 vectors for
 * one row measured 40% slower than 4).
 */
const rowsVectors = [4, 4, 3, 2];

/**
 * Adds the exported `name(aPtr, bPtr, cPtr, scratchPtr[, biasPtr])` of `emitMatmul` for a
 * product that `matvecForm` gives `form` (the scratch area is not used).
 */
export function emitMatvec(
  module: ModuleBuilder,
  name: string,
  plan: MatmulPlan,
  form: MatvecForm,
  description: string,
): void {
  const { es, lanes, batch, m, n } = plan;
  const names = ["aPtr", "bPtr", "cPtr", "scratchPtr", ...(plan.bias ? ["biasPtr"] : [])];
  // Row blocks of R rows × column blocks of J columns, then the edges.
  let R: number;
  let J: number;
  let blocks: (rows: number, cols: number) => FunctionBuilder;
  if (form === "rows") {
    R = Math.min(m, matvecMaximumSide);
    const vectors = rowsVectors[R - 1]!;
    J = vectors * lanes;
    blocks = (rows, cols) =>
      emitRowsBlock(
        module,
        plan,
        name,
        rows,
        Math.ceil(cols / lanes),
        cols - (Math.ceil(cols / lanes) - 1) * lanes,
      );
  } else {
    [R, J] = m <= matvecMaximumSide ? [m, across(m)] : [across(n), n];
    blocks = (rows, cols) => emitDotsBlock(module, plan, name, rows, cols);
  }
  const fullRows = Math.floor(m / R);
  const fullCols = Math.floor(n / J);
  const rowEdge = m - fullRows * R;
  const colEdge = n - fullCols * J;
  const tiles: [rows: number, cols: number, count: [number, number], at: [number, number]][] = [];
  if (fullRows > 0 && fullCols > 0) tiles.push([R, J, [fullRows, fullCols], [0, 0]]);
  if (fullRows > 0 && colEdge > 0) tiles.push([R, colEdge, [fullRows, 1], [0, fullCols * J]]);
  if (rowEdge > 0 && fullCols > 0) tiles.push([rowEdge, J, [1, fullCols], [fullRows * R, 0]]);
  if (rowEdge > 0 && colEdge > 0)
    tiles.push([rowEdge, colEdge, [1, 1], [fullRows * R, fullCols * J]]);
  const kernels = tiles.map(([rows, cols]) => blocks(rows, cols));

  const f = module.addFunction(name, {
    params: names.map(() => "i32"),
    paramNames: names,
    export: true,
    comment: `${description}; unpacked ${form}, blocks ${R}×${J}`,
  });
  const [aPtr, bPtr, cPtr] = [0, 1, 2];
  const biasPtr = plan.bias ? 4 : -1;
  const [bi, i, j] = ["batch", "i", "j"].map((label) => f.addLocal("i32", label)) as [
    number,
    number,
    number,
  ];
  const [pa, pb, pc, pbias] = ["pa", "pb", "pc", "pbias"].map((label) =>
    f.addLocal("i32", label),
  ) as [number, number, number, number];
  const { a, b } = plan;
  const ldc = plan.c.rowStride;
  countdown(f, bi, batch, () => {
    tiles.forEach(([rows, cols, [down, over], [i0, j0]], t) => {
      countdown(f, i, down, () => {
        // Pointers at the first tile of this row of tiles.
        const row = (base: number, stride: number, into: number): void => {
          f.localGet(base)
            .i32Const(down)
            .localGet(i)
            .i32Sub()
            .i32Const((rows * stride * es) | 0)
            .i32Mul()
            .i32Add()
            .i32Const((i0 * stride * es) | 0)
            .i32Add()
            .localSet(into);
        };
        row(aPtr, a.rowStride, pa);
        row(cPtr, ldc, pc);
        f.localGet(bPtr)
          .i32Const((j0 * b.colStride * es) | 0)
          .i32Add()
          .localSet(pb);
        f.localGet(pc)
          .i32Const(j0 * es)
          .i32Add()
          .localSet(pc);
        if (plan.bias) {
          f.localGet(biasPtr)
            .i32Const(j0 * es)
            .i32Add()
            .localSet(pbias);
        }
        countdown(f, j, over, () => {
          f.localGet(pa).localGet(pb).localGet(pc);
          if (plan.bias) f.localGet(pbias);
          else f.i32Const(0);
          f.call(kernels[t]!);
          bump(f, pb, cols * b.colStride * es);
          bump(f, pc, cols * es);
          if (plan.bias) bump(f, pbias, cols * es);
        });
      });
    });
    bump(f, aPtr, a.batchStride * es);
    bump(f, bPtr, b.batchStride * es);
    bump(f, cPtr, plan.c.batchStride * es);
  });
}

/**
 * Matrix multiplication kernels in WebAssembly SIMD, specialised at compile time to static
 * shapes and strides: `C[b] = epilogue(A[b] @ B[b])` for a batch of `m×k` by `k×n` products.
 *
 * The structure is the classic GotoBLAS / BLIS one, written out as wasm:
 *
 * - **Packing** (`matmul-pack.ts`): for each `kc`-deep slice of k, B is copied into column panels
 *   `NR` wide (`kc × NR`, contiguous), and A into row panels `MR` high (`kc × MR`), zero-padded
 *   past the matrix edges. Any strides (transposes, broadcasts, views) are folded into this copy,
 *   so the compute loop only ever sees contiguous panels: `Aᵀ @ B` and `A @ Bᵀ` run as fast as
 *   `A @ B`.
 * - **Micro-kernel**: an `MR × NR` block of C lives in `MR·NR/lanes` v128 locals; each step of k
 *   loads `NR/lanes` vectors of the B panel, broadcasts `MR` scalars of the A panel
 *   (`v128.load32_splat`) and does a mul + add (or one relaxed-SIMD fused multiply-add, when
 *   the spec asks for it) per accumulator, with the offsets as load
 *   immediates and a constant trip count (kc is padded to the unroll). V8's TurboFan keeps 15
 *   xmm registers for values, and it schedules the loads of a step before the arithmetic where
 *   nothing stops it, so a block of more than 8 accumulators spills. A never-taken branch out of
 *   the loop after the first row of each step stops it: the accumulators of that row are live
 *   on the exit, so their FMAs (and the loads they need) stay before the branch, and the other
 *   rows follow in order, one broadcast register at a time. That fits the 6×8 (f32) / 6×4 (f64)
 *   default block: 12 accumulators, 2 B vectors and 1 broadcast. Its 12 independent FMA chains
 *   cover the FMA latency (4 cycles on two pipes needs 8 in flight, with no slack at 8); the
 *   micro-kernel runs at the machine's 12-chain peak that `bench/matmul-kernel.ts` prints.
 *   Without FMA (a multiply and an add, one more register for the product) the block is 4×8 /
 *   4×4. Tiles at the bottom and right edges get their
 *   own kernels, which compute only the valid rows and vectors and store only valid elements.
 * - **Cache blocking**: k is cut into `kc`-deep slices (the micro-panels stay in L1), the packed
 *   A block (`mc × kc`) is sized for L2 and the packed B block (`kc × nc`) for L2/L3.
 * - **Epilogue**: on the last k slice, the micro-kernel adds a bias row vector and applies ReLU
 *   to its tile right after storing it (reading it back from L1: done on the accumulators, the
 *   code after the loop made TurboFan spill them inside it); earlier slices accumulate into C.
 *
 * Edge sizes (`m mod MR`, `n mod NR`), strides, and the block counts are all constants of the
 * generated code; only the loop counters are run-time values.
 */
import type { FunctionBuilder, ModuleBuilder } from "../wasm/module.js";
import {
  bump,
  emitPack,
  loadVector,
  minLocal,
  multiplyAdd,
  storeVector,
  vectorOps,
  zeroVector,
} from "./matmul-pack.js";
import { emitMatvec, matvecForm, type MatvecForm } from "./matvec.js";

/** Element type: `float32` runs on f32x4, `float64` on f64x2. */
export type MatmulDtype = "float32" | "float64";

/**
 * Where the elements of an operand are, in elements (not bytes): element `(b, i, j)` is at
 * `b * batchStride + i * rowStride + j * colStride`. A transposed operand just swaps `rowStride`
 * and `colStride`; a stride of 0 broadcasts.
 */
export interface MatmulOperandLayout {
  batchStride: number;
  rowStride: number;
  colStride: number;
}

/** Where the elements of C are (rows are contiguous): `(b, i, j)` at `b·batchStride + i·rowStride + j`. */
export interface MatmulOutputLayout {
  batchStride: number;
  rowStride: number;
}

/** Register and cache blocking. The defaults are tuned for 128-bit SIMD on x86-64 (V8). */
export interface MatmulBlocking {
  /** Rows of the micro-kernel's C block (A panel height). */
  mr: number;
  /** Columns of the micro-kernel's C block (B panel width), a multiple of the lane count. */
  nr: number;
  /** Depth of one k slice (rounded so that the slices are even and a multiple of `unroll`). */
  kc: number;
  /** Rows of a packed A block (rounded up to a multiple of `mr`). */
  mc: number;
  /** Columns of a packed B block (rounded up to a multiple of `nr`). */
  nc: number;
  /** Unroll factor of the micro-kernel's k loop. */
  unroll: number;
}

/** A batched matrix product with static shapes and strides. */
export interface MatmulSpec {
  dtype: MatmulDtype;
  batch: number;
  m: number;
  n: number;
  k: number;
  /** A is `m × k`: `(b, i, p)` at `b·batchStride + i·rowStride + p·colStride`. */
  a: MatmulOperandLayout;
  /** B is `k × n`: `(b, p, j)` at `b·batchStride + p·rowStride + j·colStride`. */
  b: MatmulOperandLayout;
  /** C is `m × n`; default contiguous (`rowStride = n`, `batchStride = m·n`). */
  c?: MatmulOutputLayout;
  /**
   * Applied to each element of C before it is stored: `bias` adds `bias[j]` (a vector of n
   * elements at the extra `biasPtr` argument), then `activation` (`relu`: `max(x, 0)`).
   */
  epilogue?: { bias?: boolean; activation?: "none" | "relu" };
  /** Overrides of the default blocking (for tuning; the scratch size depends on it). */
  blocking?: Partial<MatmulBlocking>;
  /**
   * Accumulate with relaxed SIMD's `relaxed_madd` (one FMA instruction where the hardware has
   * it) instead of a multiply and an add; the engine must support relaxed SIMD. Default false.
   */
  fusedMultiplyAdd?: boolean;
  /**
   * Products with at most four rows (or columns, when the operands run along k) read their
   * operands in place, unpacked (`matvec.ts`); `false` makes them use the packed kernels too
   * (for tuning and tests). Default true.
   */
  matvec?: boolean;
}

/**
 * The default blocking of a dtype (measured on Zen 4 with Node 20; see bench/matmul-kernel.ts).
 * With fused multiply-adds the micro-kernel is 6 rows high: 12 accumulators, 12 independent
 * FMA chains (8 do not cover the FMA latency on two pipes). A multiply and an add need a
 * register for the product, and 12 accumulators then spill: 4 rows.
 */
export function defaultMatmulBlocking(
  dtype: MatmulDtype,
  fusedMultiplyAdd: boolean,
): Readonly<MatmulBlocking> {
  const mr = fusedMultiplyAdd ? 6 : 4;
  return dtype === "float32"
    ? { mr, nr: 8, kc: 256, mc: 96, nc: 1024, unroll: 1 }
    : { mr, nr: 4, kc: 256, mc: 96, nc: 512, unroll: 1 };
}

/** Everything the emitters need, in elements unless named `…Bytes`. */
export interface MatmulPlan {
  readonly spec: MatmulSpec;
  /** Bytes per element (4 or 8). */
  readonly es: number;
  /** Elements per v128 (4 or 2). */
  readonly lanes: number;
  readonly batch: number;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly mr: number;
  readonly nr: number;
  readonly mc: number;
  readonly nc: number;
  readonly unroll: number;
  /** The depth of every packed k slice (a multiple of `unroll`; 0 when k = 0). */
  readonly kc: number;
  /** Number of k slices (at least 1, so that k = 0 still writes the epilogue of zeros). */
  readonly slices: number;
  readonly a: MatmulOperandLayout;
  readonly b: MatmulOperandLayout;
  readonly c: MatmulOutputLayout;
  readonly bias: boolean;
  readonly relu: boolean;
  readonly fusedMultiplyAdd: boolean;
  /** The packed kernels, or an unpacked form for few rows or columns (`matvec.ts`). */
  readonly form: "packed" | MatvecForm;
  /** Byte offset of the packed A block in the scratch memory (B's is 0). */
  readonly packedAOffset: number;
  readonly scratchBytes: number;
}

const roundUp = (x: number, to: number): number => Math.ceil(x / to) * to;

function checkInteger(what: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`matmul: ${what} must be an integer ≥ ${min}, got ${value}.`);
  }
}

/** Validates a spec and derives the blocking, the k slices and the scratch layout. */
export function planMatmul(spec: MatmulSpec): MatmulPlan {
  if (spec.dtype !== "float32" && spec.dtype !== "float64") {
    throw new TypeError(`matmul: dtype must be float32 or float64, got ${String(spec.dtype)}.`);
  }
  const es = spec.dtype === "float32" ? 4 : 8;
  const lanes = 16 / es;
  const { batch, m, n, k } = spec;
  for (const [what, value] of Object.entries({ batch, m, n, k })) checkInteger(what, value, 0);
  const a = { ...spec.a };
  const b = { ...spec.b };
  const c = spec.c === undefined ? { batchStride: m * n, rowStride: n } : { ...spec.c };
  for (const [name, layout] of Object.entries({ a, b, c })) {
    for (const [field, value] of Object.entries(layout)) {
      if (!Number.isSafeInteger(value)) {
        throw new RangeError(`matmul: ${name}.${field} must be an integer, got ${value}.`);
      }
    }
  }
  const fusedMultiplyAdd = spec.fusedMultiplyAdd ?? false;
  const blocking = { ...defaultMatmulBlocking(spec.dtype, fusedMultiplyAdd), ...spec.blocking };
  const { mr, nr, unroll } = blocking;
  checkInteger("blocking.mr", mr, 1);
  checkInteger("blocking.nr", nr, lanes);
  checkInteger("blocking.unroll", unroll, 1);
  checkInteger("blocking.kc", blocking.kc, 1);
  if (nr % lanes !== 0) {
    throw new RangeError(`matmul: blocking.nr must be a multiple of ${lanes}, got ${nr}.`);
  }
  checkInteger("blocking.mc", blocking.mc, 1);
  checkInteger("blocking.nc", blocking.nc, 1);
  // Even slices, each a multiple of the unroll; recount so that none is empty.
  let slices = Math.max(1, Math.ceil(k / blocking.kc));
  const kc = roundUp(Math.ceil(k / slices), unroll);
  slices = k === 0 ? 1 : Math.ceil(k / kc);
  // The blocks never need to be larger than the (padded) matrix.
  // mc and nc are rounded to whole panels.
  const mc = Math.min(roundUp(blocking.mc, mr), roundUp(Math.max(m, 1), mr));
  const nc = Math.min(roundUp(blocking.nc, nr), roundUp(Math.max(n, 1), nr));
  const packedAOffset = roundUp(kc * nc * es, 64);
  const activation = spec.epilogue?.activation ?? "none";
  if (activation !== "none" && activation !== "relu") {
    throw new RangeError(`matmul: unsupported activation ${JSON.stringify(activation)}.`);
  }
  const plan = {
    spec,
    es,
    lanes,
    batch,
    m,
    n,
    k,
    mr,
    nr,
    mc,
    nc,
    unroll,
    kc,
    slices,
    a,
    b,
    c,
    bias: spec.epilogue?.bias ?? false,
    relu: activation === "relu",
    fusedMultiplyAdd,
    form: "packed" as MatmulPlan["form"],
    packedAOffset,
    scratchBytes: roundUp(packedAOffset + kc * mc * es, 16),
  };
  const form = spec.matvec === false ? undefined : matvecForm(plan);
  return form === undefined ? plan : { ...plan, form, scratchBytes: 0 };
}

/** Bytes of scratch memory the kernel needs for its packed panels (a multiple of 16). */
export function matmulScratchBytes(spec: MatmulSpec): number {
  return planMatmul(spec).scratchBytes;
}

/** Floating-point operations of the product (2·batch·m·n·k), for GFLOP/s figures. */
export function matmulFlops(spec: Pick<MatmulSpec, "batch" | "m" | "n" | "k">): number {
  return 2 * spec.batch * spec.m * spec.n * spec.k;
}

/** `mode` bits passed to the macro- and micro-kernels. */
const enum Mode {
  /** Add to what C holds (every k slice but the first). */
  Accumulate = 1,
  /** Apply the epilogue (the last k slice). */
  Epilogue = 2,
}

/**
 * The micro-kernel for an `rows × cols` tile (`rows ≤ MR`, `cols ≤ NR`):
 * `(a, b, c, bias, mode)` with `a` / `b` the packed panels, `c` the tile's top-left element and
 * `bias` the bias at the tile's first column.
 */
function emitMicroKernel(
  module: ModuleBuilder,
  plan: MatmulPlan,
  name: string,
  rows: number,
  cols: number,
): FunctionBuilder {
  const { es, lanes, mr, nr, kc, unroll } = plan;
  const ops = vectorOps[plan.spec.dtype];
  const f = module.addFunction(`${name}$micro_${rows}x${cols}`, {
    params: ["i32", "i32", "i32", "i32", "i32"],
    paramNames: ["a", "b", "c", "bias", "mode"],
    comment: `C[${rows}×${cols}] (+)= A panel[kc=${kc}×${mr}]ᵀ · B panel[${kc}×${nr}]`,
  });
  const [a, b, c, bias, mode] = [0, 1, 2, 3, 4];
  const vectors = Math.ceil(cols / lanes);
  const validIn = (v: number): number => Math.min(lanes, cols - v * lanes);
  const acc = Array.from({ length: rows }, (_, r) =>
    Array.from({ length: vectors }, (_, v) => f.addLocal("v128", `c${r}_${v}`)),
  );
  const bv = Array.from({ length: vectors }, (_, v) => f.addLocal("v128", `b${v}`));
  const av = f.addLocal("v128", "a");
  const ldc = plan.c.rowStride * es;

  f.comment("accumulate onto C after the first k slice (the locals start at zero)");
  f.localGet(mode).i32Const(Mode.Accumulate).i32And();
  f.if(() => {
    for (let r = 0; r < rows; r++) {
      for (let v = 0; v < vectors; v++) {
        loadVector(f, ops, plan, c, r * ldc + v * 16, validIn(v));
        f.localSet(acc[r]![v]!);
      }
    }
  });

  if (kc > 0) {
    const end = f.addLocal("i32", "end");
    f.localGet(a)
      .i32Const(kc * mr * es)
      .i32Add()
      .localSet(end);
    f.comment(`k loop: ${kc / unroll} × ${unroll} steps`);
    // More than 8 accumulators: a never-taken exit after the first row of each step keeps
    // TurboFan from loading every A scalar of the step up front (which spills).
    const split = rows * vectors > 8;
    f.block((exit) => {
      f.loop((top) => {
        for (let u = 0; u < unroll; u++) {
          for (let v = 0; v < vectors; v++) {
            f.localGet(b)
              .v128Load((u * nr + v * lanes) * es)
              .localSet(bv[v]!);
          }
          for (let r = 0; r < rows; r++) {
            f.localGet(a);
            ops.splatLoad(f, (u * mr + r) * es);
            f.localSet(av);
            for (let v = 0; v < vectors; v++) {
              multiplyAdd(f, ops, plan.fusedMultiplyAdd, av, bv[v]!, acc[r]![v]!);
            }
            if (split && r === 0) f.localGet(a).localGet(end).i32Eq().brIf(exit);
          }
        }
        bump(f, a, unroll * mr * es);
        bump(f, b, unroll * nr * es);
        f.localGet(a).localGet(end).i32Ne().brIf(top);
      });
    });
  }

  f.comment("store the valid part of the tile");
  for (let r = 0; r < rows; r++) {
    for (let v = 0; v < vectors; v++) {
      storeVector(f, ops, plan, c, r * ldc + v * 16, acc[r]![v]!, validIn(v));
    }
  }

  if (plan.bias || plan.relu) {
    // A pass over the stored tile (in L1) rather than over the accumulators: code after the
    // loop that keeps the accumulators live makes TurboFan spill them inside the loop.
    f.comment("epilogue on the last k slice, over the stored tile");
    f.localGet(mode).i32Const(Mode.Epilogue).i32And();
    f.if(() => {
      if (plan.bias) {
        for (let v = 0; v < vectors; v++) {
          loadVector(f, ops, plan, bias, v * 16, validIn(v));
          f.localSet(bv[v]!);
        }
      }
      if (plan.relu) f.v128Const(zeroVector).localSet(av);
      for (let r = 0; r < rows; r++) {
        for (let v = 0; v < vectors; v++) {
          loadVector(f, ops, plan, c, r * ldc + v * 16, validIn(v));
          if (plan.bias) {
            f.localGet(bv[v]!);
            ops.add(f);
          }
          if (plan.relu) {
            f.localGet(av);
            ops.max(f);
          }
          f.localSet(acc[r]![v]!);
          storeVector(f, ops, plan, c, r * ldc + v * 16, acc[r]![v]!, validIn(v));
        }
      }
    });
  }
  return f;
}

/**
 * The macro-kernel `(a, b, c, bias, rows, cols, mode)`: every micro-tile of a packed
 * `rows × kc` A block times a packed `kc × cols` B block, into C at `c`. Column panels outer
 * (one B micro-panel stays in L1), row panels inner (the A block streams from L2).
 */
function emitMacroKernel(module: ModuleBuilder, plan: MatmulPlan, name: string): FunctionBuilder {
  const { es, mr, nr, kc, m, n } = plan;
  const ldc = plan.c.rowStride * es;
  const rowEdge = m % mr;
  const colEdge = n % nr;
  const micro = (rows: number, cols: number): FunctionBuilder =>
    emitMicroKernel(module, plan, name, rows, cols);
  const full = micro(mr, nr);
  const bottom = rowEdge > 0 ? micro(rowEdge, nr) : undefined;
  const right = colEdge > 0 ? micro(mr, colEdge) : undefined;
  const corner = rowEdge > 0 && colEdge > 0 ? micro(rowEdge, colEdge) : undefined;

  const f = module.addFunction(`${name}$macro`, {
    params: ["i32", "i32", "i32", "i32", "i32", "i32", "i32"],
    paramNames: ["a", "b", "c", "bias", "rows", "cols", "mode"],
    comment: `C[rows×cols] (+)= packed A[rows×${kc}] · packed B[${kc}×cols]`,
  });
  const [a, b, c, bias, rows, cols, mode] = [0, 1, 2, 3, 4, 5, 6];
  const pa = f.addLocal("i32", "pa");
  const pc = f.addLocal("i32", "pc");
  const i = f.addLocal("i32", "i");
  const j = f.addLocal("i32", "j");
  const fullRows = f.addLocal("i32", "fullRows");
  const fullCols = f.addLocal("i32", "fullCols");
  const panelA = kc * mr * es;
  const panelB = kc * nr * es;
  // Whole panels are counted (not compared by pointer: with k = 0 the panels are empty).
  f.localGet(rows).i32Const(mr).i32DivU().localSet(fullRows);
  f.localGet(cols).i32Const(nr).i32DivU().localSet(fullCols);

  /** One column panel: the tiles down the A block, then the bottom edge tile if any. */
  const column = (kernel: FunctionBuilder, edge: FunctionBuilder | undefined): void => {
    f.localGet(a).localSet(pa);
    f.localGet(c).localSet(pc);
    f.i32Const(0).localSet(i);
    f.block((done) => {
      f.loop((next) => {
        f.localGet(i).localGet(fullRows).i32GeU().brIf(done);
        f.localGet(pa).localGet(b).localGet(pc).localGet(bias).localGet(mode).call(kernel);
        bump(f, pa, panelA);
        bump(f, pc, mr * ldc);
        bump(f, i, 1);
        f.br(next);
      });
    });
    if (edge !== undefined) {
      f.localGet(rows).i32Const(mr).i32RemU();
      f.if(() => {
        f.localGet(pa).localGet(b).localGet(pc).localGet(bias).localGet(mode).call(edge);
      });
    }
  };

  f.block((done) => {
    f.loop((next) => {
      f.localGet(j).localGet(fullCols).i32GeU().brIf(done);
      column(full, bottom);
      bump(f, b, panelB);
      bump(f, c, nr * es);
      if (plan.bias) bump(f, bias, nr * es);
      bump(f, j, 1);
      f.br(next);
    });
  });
  if (right !== undefined) {
    f.localGet(cols).i32Const(nr).i32RemU();
    f.if(() => column(right, corner));
  }
  return f;
}

/**
 * Adds the exported function `name(aPtr, bPtr, cPtr, scratchPtr[, biasPtr])` computing the
 * product of `spec`, plus its helper functions (named `name$…`). Pointers are byte offsets into
 * the module's imported memory (`importMemory` first): `aPtr` / `bPtr` / `cPtr` at element
 * `(0, 0, 0)` of each operand, `scratchPtr` at `matmulScratchBytes(spec)` bytes it overwrites
 * (16-byte aligned; 64 is best), `biasPtr` at n elements when `epilogue.bias`. C must not
 * overlap A, B, the bias or the scratch area: with k split in slices, C is written while A
 * and B are still being read.
 */
export function emitMatmul(module: ModuleBuilder, name: string, spec: MatmulSpec): void {
  if (module.memory === undefined) {
    throw new Error("emitMatmul: the module has no memory; call module.importMemory first.");
  }
  const plan = planMatmul(spec);
  const { es, batch, m, n, k, kc, mc, nc } = plan;
  const names = ["aPtr", "bPtr", "cPtr", "scratchPtr", ...(plan.bias ? ["biasPtr"] : [])];
  const description =
    `C[${batch}×${m}×${n}] = ${plan.bias ? "bias + " : ""}A[${m}×${k}] @ B[${k}×${n}]` +
    `${plan.relu ? ", relu" : ""} (${spec.dtype}; A strides ${plan.a.batchStride},${plan.a.rowStride},` +
    `${plan.a.colStride}; B strides ${plan.b.batchStride},${plan.b.rowStride},${plan.b.colStride})`;
  if (batch === 0 || m === 0 || n === 0) {
    module.addFunction(name, {
      params: names.map(() => "i32"),
      paramNames: names,
      export: true,
      comment: `${description}: empty`,
    });
    return;
  }
  if (plan.form !== "packed") {
    emitMatvec(module, name, plan, plan.form, description);
    return;
  }
  const packB =
    k > 0
      ? emitPack(module, plan, `${name}$pack_b`, plan.nr, plan.b.colStride, plan.b.rowStride)
      : undefined;
  const packA =
    k > 0
      ? emitPack(module, plan, `${name}$pack_a`, plan.mr, plan.a.rowStride, plan.a.colStride)
      : undefined;
  const macro = emitMacroKernel(module, plan, name);

  const f = module.addFunction(name, {
    params: names.map(() => "i32"),
    paramNames: names,
    export: true,
    comment: `${description}; blocks mc=${mc} nc=${nc} kc=${kc}×${plan.slices}, micro ${plan.mr}×${plan.nr}`,
  });
  const [aPtr, bPtr, cPtr, scratch] = [0, 1, 2, 3];
  const biasPtr = plan.bias ? 4 : -1;
  const local = (label: string): number => f.addLocal("i32", label);
  const [bi, jc, pc, ic] = [local("batch"), local("jc"), local("pc"), local("ic")];
  const [cols, rows, depth, mode, packedA] = [
    local("cols"),
    local("rows"),
    local("depth"),
    local("mode"),
    local("packedA"),
  ];
  const [remaining, limit] = [local("remaining"), local("limit")];
  f.localGet(scratch).i32Const(plan.packedAOffset).i32Add().localSet(packedA);

  /** `for (counter = 0; counter < end; counter += step) body()`, at least once. */
  const countedLoop = (counter: number, end: number, step: number, body: () => void): void => {
    f.i32Const(0).localSet(counter);
    if (end <= step) {
      body();
      return;
    }
    f.loop((next) => {
      body();
      bump(f, counter, step);
      f.localGet(counter).i32Const(end).i32LtS().brIf(next);
    });
  };
  /** Pushes `base + Σ counter·stride` in bytes. */
  const offsetPointer = (base: number, terms: [number, number][]): void => {
    f.localGet(base);
    for (const [counter, stride] of terms) {
      if (stride === 0) continue;
      f.localGet(counter)
        .i32Const((stride * es) | 0)
        .i32Mul()
        .i32Add();
    }
  };
  /** Pushes `min(cap, total − counter)`. */
  const clamp = (counter: number, total: number, cap: number): void => {
    f.i32Const(total).localGet(counter).i32Sub().localSet(remaining);
    f.i32Const(cap).localSet(limit);
    minLocal(f, remaining, limit);
  };

  // An A shared by the whole batch (stride 0: a convolution's kernel, a broadcast weight) that
  // is one packed block (one k slice, one block of rows) is packed once, not per product.
  const packAOnce = packA !== undefined && plan.a.batchStride === 0 && plan.slices === 1 && m <= mc;
  if (packAOnce) f.localGet(aPtr).localGet(packedA).i32Const(m).i32Const(k).call(packA);

  countedLoop(bi, batch, 1, () => {
    countedLoop(jc, n, nc, () => {
      clamp(jc, n, nc);
      f.localSet(cols);
      countedLoop(pc, k, kc, () => {
        clamp(pc, k, kc);
        f.localSet(depth);
        // mode = (pc != 0) | (pc + kc >= k) << 1
        f.localGet(pc).i32Const(0).i32Ne();
        f.localGet(pc).i32Const(kc).i32Add().i32Const(k).i32GeS().i32Const(1).i32Shl().i32Or();
        f.localSet(mode);
        if (packB !== undefined) {
          offsetPointer(bPtr, [
            [pc, plan.b.rowStride],
            [jc, plan.b.colStride],
          ]);
          f.localGet(scratch).localGet(cols).localGet(depth).call(packB);
        }
        countedLoop(ic, m, mc, () => {
          clamp(ic, m, mc);
          f.localSet(rows);
          if (packA !== undefined && !packAOnce) {
            offsetPointer(aPtr, [
              [ic, plan.a.rowStride],
              [pc, plan.a.colStride],
            ]);
            f.localGet(packedA).localGet(rows).localGet(depth).call(packA);
          }
          f.localGet(packedA).localGet(scratch);
          offsetPointer(cPtr, [
            [ic, plan.c.rowStride],
            [jc, 1],
          ]);
          if (plan.bias) offsetPointer(biasPtr, [[jc, 1]]);
          else f.i32Const(0);
          f.localGet(rows).localGet(cols).localGet(mode).call(macro);
        });
      });
    });
    bump(f, aPtr, plan.a.batchStride * es);
    bump(f, bPtr, plan.b.batchStride * es);
    bump(f, cPtr, plan.c.batchStride * es);
  });
}

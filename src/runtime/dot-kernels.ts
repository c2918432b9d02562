/**
 * Products with few outputs and a long reduction whose operands both run along it: C[o, j] =
 * Σₖ A[o, k]·B[j, k], the kernel gradients of a network's first convolutions (16 output channels ×
 * 9 taps, summed over the 100,352 pixels of a batch). The packed matmul does them poorly: its
 * micro-kernel's 8 columns are mostly empty and packing both operands costs as much as the
 * arithmetic. Here each block of 3 rows of A and 3 rows of B is nine dot products at once, nine
 * vector accumulators holding partial sums lane by lane, read straight from the operands a
 * k-block at a time (the blocks' rows stay in cache across the output blocks), nothing packed.
 *
 * Each output's lanes are summed in a fixed order ((lane 0 + lane 1) + (lane 2 + lane 3)), then
 * the reduction's last few terms that do not fill a vector, so results do not depend on how the
 * output blocks are split over the threads.
 */
import type { ModuleBuilder } from "../compiler/wasm/module.js";
import { multiplyAdd, vectorOps } from "../compiler/kernels/matmul-pack.js";
import type { KernelModule } from "./threads.js";
import { loopParts, splitRange, wakeWorkers } from "./threads.js";
import {
  addI32Function,
  compileKernel,
  kernelModuleBuilder,
  memoryView,
  runKernelParallel,
} from "./wasm-memory.js";
import { minimumParallelWork } from "./matmul.js";

/** Rows of A (and of B) per block: 3 × 3 accumulators, with 3 B vectors and an A vector live. */
const dotBlock = 3;

/** Reduction elements per k-block: 3 + 3 rows of it stay in L1 across a row of blocks. */
const kBlock = 1024;

const kernels = new Map<string, KernelModule>();

/** The kernel module of `dotProducts` for a dtype (`fusedMultiplyAdd`: relaxed SIMD madd). */
function dotKernel(dtype: "float32" | "float64", fusedMultiplyAdd: boolean): KernelModule {
  const key = `${dtype}:${fusedMultiplyAdd}`;
  let kernel = kernels.get(key);
  if (kernel === undefined) {
    kernel = compileKernel(dotModule(dtype, fusedMultiplyAdd).build({ names: false }));
    kernels.set(key, kernel);
  }
  return kernel;
}

/**
 * `dots(a, b, acc, lda, ldb, kMain, kc, ob0, ob1, nb, m, n)`: for the row blocks `[ob0, ob1)` of
 * A (rows past `m − 1` read row `m − 1`) and all `nb` of B (past `n − 1`, row `n − 1`), adds the
 * lane-wise products of elements `[0, kMain)` (a whole number of vectors), `kc` at a time, to the
 * accumulator vectors `acc[(ob·3 + r)·(nb·3) + jb·3 + c]`. `lda` and `ldb` are the rows' strides
 * in bytes.
 */
export function dotModule(dtype: "float32" | "float64", fusedMultiplyAdd: boolean): ModuleBuilder {
  const ops = vectorOps[dtype];
  const item = dtype === "float32" ? 4 : 8;
  const module = kernelModuleBuilder();
  const { f, p } = addI32Function(
    module,
    "dots",
    ["a", "b", "acc", "lda", "ldb", "kMain", "kc", "ob0", "ob1", "nb", "m", "n"],
    `3 × 3 blocks of dot products of ${dtype} rows, lane-wise partial sums` +
      (fusedMultiplyAdd ? " (fused multiply-add)" : ""),
  );
  const k0 = f.addLocal("i32", "k0");
  const bytes = f.addLocal("i32", "bytes");
  const ob = f.addLocal("i32", "ob");
  const jb = f.addLocal("i32", "jb");
  const off = f.addLocal("i32", "off");
  const at = f.addLocal("i32", "at");
  const rowA = [0, 1, 2].map((r) => f.addLocal("i32", `a${r}`));
  const rowB = [0, 1, 2].map((c) => f.addLocal("i32", `b${c}`));
  const acc = [0, 1, 2].map((r) => [0, 1, 2].map((c) => f.addLocal("v128", `acc${r}${c}`)));
  const vb = [0, 1, 2].map((c) => f.addLocal("v128", `vb${c}`));
  const va = f.addLocal("v128", "va");
  /** `for (counter = from(); counter < end(); counter += step) body()`. */
  const loop = (counter: number, end: () => void, step: () => void, body: () => void): void => {
    f.block((done) => {
      f.loop((next) => {
        f.localGet(counter);
        end();
        f.i32GeS().brIf(done);
        body();
        f.localGet(counter);
        step();
        f.i32Add().localSet(counter).br(next);
      });
    });
  };
  /** Sets `target` to the address of row min(block·3 + r, last) of the k-block at k0. */
  const rowAddress = (
    target: number,
    base: number,
    ld: number,
    block: number,
    r: number,
    count: number,
  ): void => {
    f.localGet(block).i32Const(dotBlock).i32Mul().i32Const(r).i32Add();
    f.localTee(at).localGet(count).i32Const(1).i32Sub().localGet(at).localGet(count).i32LtS();
    f.select().localGet(ld).i32Mul().localGet(base).i32Add();
    f.localGet(k0).i32Const(item).i32Mul().i32Add().localSet(target);
  };
  /** Pushes the address of accumulator (r, c) of block (ob, jb). */
  const accAddress = (r: number, c: number): void => {
    f.localGet(ob).i32Const(dotBlock).i32Mul().i32Const(r).i32Add();
    f.localGet(p.nb).i32Const(dotBlock).i32Mul().i32Mul();
    f.localGet(jb).i32Const(dotBlock).i32Mul().i32Const(c).i32Add().i32Add();
    f.i32Const(16).i32Mul().localGet(p.acc).i32Add();
  };
  f.i32Const(0).localSet(k0);
  loop(
    k0,
    () => f.localGet(p.kMain),
    () => f.localGet(p.kc),
    () => {
      // The k-block's length in bytes: min(kc, kMain − k0)·item.
      f.localGet(p.kMain).localGet(k0).i32Sub().localTee(bytes).localGet(p.kc);
      f.localGet(bytes).localGet(p.kc).i32LtS().select().i32Const(item).i32Mul().localSet(bytes);
      f.localGet(p.ob0).localSet(ob);
      loop(
        ob,
        () => f.localGet(p.ob1),
        () => f.i32Const(1),
        () => {
          f.i32Const(0).localSet(jb);
          loop(
            jb,
            () => f.localGet(p.nb),
            () => f.i32Const(1),
            () => {
              // (The k loop advances these: each block starts them again.)
              rowA.forEach((target, r) => rowAddress(target, p.a, p.lda, ob, r, p.m));
              rowB.forEach((target, c) => rowAddress(target, p.b, p.ldb, jb, c, p.n));
              acc.forEach((row, r) =>
                row.forEach((local, c) => {
                  accAddress(r, c);
                  f.v128Load(0, 4).localSet(local);
                }),
              );
              // The rows' addresses advance a vector a step (no offset added to each; unrolling
              // the loop measured slower: the engine then spills).
              f.i32Const(0).localSet(off);
              loop(
                off,
                () => f.localGet(bytes),
                () => f.i32Const(16),
                () => {
                  vb.forEach((local, c) => {
                    f.localGet(rowB[c]!).v128Load(0, 4).localSet(local);
                  });
                  rowA.forEach((address, r) => {
                    f.localGet(address).v128Load(0, 4).localSet(va);
                    vb.forEach((local, c) => {
                      multiplyAdd(f, ops, fusedMultiplyAdd, va, local, acc[r]![c]!);
                    });
                  });
                  for (const address of [...rowA, ...rowB]) {
                    f.localGet(address).i32Const(16).i32Add().localSet(address);
                  }
                },
              );
              acc.forEach((row, r) =>
                row.forEach((local, c) => {
                  accAddress(r, c);
                  f.localGet(local).v128Store(0, 4);
                }),
              );
            },
          );
        },
      );
    },
  );
  return module;
}

/** Where a dot-product kernel reads its operands and writes C (byte addresses, strides). */
export interface DotOperands {
  readonly a: number;
  readonly b: number;
  /** C[o, j] at `c + (o·ldc + j)·item`. */
  readonly c: number;
  /** Row strides in elements. */
  readonly lda: number;
  readonly ldb: number;
  readonly ldc: number;
}

/**
 * C = A·Bᵀ for `m` rows of A and `n` of B, each `k` long and contiguous (see the header), into
 * kernel memory, on the threads when it pays; `scratch` is a byte address with
 * `dotScratchBytes(m, n)` free above it.
 */
export function dotProducts(
  dtype: "float32" | "float64",
  fusedMultiplyAdd: boolean,
  m: number,
  n: number,
  k: number,
  at: DotOperands,
  scratch: number,
): void {
  const item = dtype === "float32" ? 4 : 8;
  const lanes = 16 / item;
  const kMain = k - (k % lanes);
  const [mb, nb] = [Math.ceil(m / dotBlock), Math.ceil(n / dotBlock)];
  const sums = memoryView(dtype, scratch, mb * nb * dotBlock * dotBlock * lanes);
  sums.fill(0);
  const parts = Math.min(mb, loopParts(m * n * k, minimumParallelWork));
  if (parts > 1) wakeWorkers();
  if (kMain > 0) {
    const kernel = dotKernel(dtype, fusedMultiplyAdd);
    runKernelParallel(
      "dot_general",
      kernel,
      splitRange(mb, parts, 1).map(([first, count]) => ({
        name: "dots",
        args: [
          at.a,
          at.b,
          scratch,
          at.lda * item,
          at.ldb * item,
          kMain,
          kBlock,
          first,
          first + count,
          nb,
          m,
          n,
        ],
      })),
    );
  }
  const a = memoryView(dtype, at.a, (m - 1) * at.lda + k);
  const b = memoryView(dtype, at.b, (n - 1) * at.ldb + k);
  const c = memoryView(dtype, at.c, (m - 1) * at.ldc + n);
  const round = dtype === "float32" ? Math.fround : (x: number): number => x;
  for (let o = 0; o < m; o++) {
    for (let j = 0; j < n; j++) {
      const s = (o * nb * dotBlock + j) * lanes;
      // The lanes in a fixed order, then the terms past the last whole vector.
      let total =
        lanes === 4
          ? round(round(sums[s]! + sums[s + 1]!) + round(sums[s + 2]! + sums[s + 3]!))
          : sums[s]! + sums[s + 1]!;
      for (let kk = kMain; kk < k; kk++) {
        total = round(total + round(a[o * at.lda + kk]! * b[j * at.ldb + kk]!));
      }
      c[o * at.ldc + j] = total;
    }
  }
}

/** Scratch bytes `dotProducts` needs for `m × n` outputs. */
export function dotScratchBytes(m: number, n: number): number {
  return Math.ceil(m / dotBlock) * Math.ceil(n / dotBlock) * dotBlock * dotBlock * 16;
}

/**
 * Whether `dotProducts` takes an `m × n` product over `k` better than the packed matmul: long
 * reductions to few outputs (measured: 2.3× the matmul's speed at 16 × 9 × 100,352, 1.1–1.3× at
 * 32 × 144 and 64 × 27; slower below a few thousand terms, where the sums cost more).
 */
export function prefersDots(m: number, n: number, k: number): boolean {
  return k >= 8192 && m * n <= 8192;
}

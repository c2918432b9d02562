/**
 * Eager `reduce_sum`, `reduce_max` and `reduce_min` of float arrays on WebAssembly kernels, in
 * the order and precision of the JavaScript loop (each output accumulated in float64 from its
 * first element to its last; maxima and minima propagate NaN as it does), so the results are the
 * same bit for bit: sums over leading axes (column sums, as bias gradients are) two columns at a
 * time in float64 lanes, without first transposing the input; any axes on a loop nest whose
 * innermost runs go several at a time (four or two runs side by side, or two neighbouring
 * accumulators, in float64x2 lanes).
 */
import { installFastReduceExtremum, installFastReduceSum } from "../primitives/reduce.js";
import type { FunctionBuilder } from "../compiler/wasm/function-builder.js";
import { fromStorage, type ConcreteArray } from "./concrete.js";
import type { KernelModule } from "./threads.js";
import {
  compileKernel,
  copyIn,
  copyOut,
  kernelModuleBuilder,
  layout,
  memoryView,
  reserve,
  runKernelParallel,
} from "./wasm-memory.js";
import { allocate } from "../core/dtype.js";
import { contiguousStrides, shapeSize } from "../core/shape.js";
import { emitLoopNest, maxRank, placeArrayIn, zeroFill } from "./gather-kernels.js";
import { coalesce } from "./strided.js";

/** Inputs smaller than this stay on the JavaScript loop. */
const minimumElements = 4096;

const kernels = new Map<string, KernelModule>();

/** `colsum(src, dst, rows, cols)`: `dst[j] = Σᵢ src[i·cols + j]`, accumulated in float64. */
function kernelFor(dtype: "float32" | "float64"): KernelModule {
  let kernel = kernels.get(dtype);
  if (kernel !== undefined) return kernel;
  const f32 = dtype === "float32";
  const item = f32 ? 4 : 8;
  const module = kernelModuleBuilder();
  const f = module.addFunction("colsum", {
    params: ["i32", "i32", "i32", "i32"],
    paramNames: ["src", "dst", "rows", "cols"],
    export: true,
    comment: `column sums of a ${dtype} matrix, float64 accumulation`,
  });
  const [src, dst, rows, cols] = [0, 1, 2, 3];
  const j = f.addLocal("i32", "j");
  const i = f.addLocal("i32", "i");
  const at = f.addLocal("i32", "at");
  const stride = f.addLocal("i32", "stride");
  const acc = f.addLocal("v128", "acc");
  const one = f.addLocal("f64", "one");
  f.localGet(cols).i32Const(item).i32Mul().localSet(stride);
  /** `for (i = 0, at = src + j·item; i < rows; i++, at += stride) body()`. */
  const rowsLoop = (body: () => void): void => {
    f.i32Const(0).localSet(i);
    f.localGet(src).localGet(j).i32Const(item).i32Mul().i32Add().localSet(at);
    f.block((done) => {
      f.loop((next) => {
        f.localGet(i).localGet(rows).i32GeU().brIf(done);
        body();
        f.localGet(at).localGet(stride).i32Add().localSet(at);
        f.localGet(i).i32Const(1).i32Add().localSet(i).br(next);
      });
    });
  };
  // Pairs of columns in float64x2 lanes.
  f.block((done) => {
    f.loop((next) => {
      f.localGet(j).i32Const(2).i32Add().localGet(cols).i32GtU().brIf(done);
      f.f64x2Const(0, 0).localSet(acc);
      rowsLoop(() => {
        f.localGet(acc).localGet(at);
        loadPair(f, f32);
        f.op("f64x2.add").localSet(acc);
      });
      f.localGet(dst).localGet(j).i32Const(item).i32Mul().i32Add();
      f.localGet(acc);
      if (f32) {
        f.op("f32x4.demote_f64x2_zero").laneOp("i64x2.extract_lane", 0);
        f.memoryOp("i64.store", 0, 4);
      } else f.memoryOp("v128.store", 0, 8);
      f.localGet(j).i32Const(2).i32Add().localSet(j).br(next);
    });
  });
  // A last odd column, in a scalar.
  f.localGet(j).localGet(cols).i32LtU();
  f.if(() => {
    f.f64Const(0).localSet(one);
    rowsLoop(() => {
      f.localGet(one).localGet(at);
      if (f32) f.memoryOp("f32.load", 0, 4).op("f64.promote_f32");
      else f.memoryOp("f64.load", 0, 8);
      f.op("f64.add").localSet(one);
    });
    f.localGet(dst).localGet(j).i32Const(item).i32Mul().i32Add().localGet(one);
    if (f32) f.op("f32.demote_f64").memoryOp("f32.store", 0, 4);
    else f.memoryOp("f64.store", 0, 8);
  });
  kernel = compileKernel(module.build({ names: false }));
  kernels.set(dtype, kernel);
  return kernel;
}

/** Pushes two neighbouring elements at the address on the stack as float64x2. */
function loadPair(f: FunctionBuilder, f32: boolean): void {
  if (f32) f.memoryOp("v128.load64_zero", 0, 4).op("f64x2.promote_low_f32x4");
  else f.memoryOp("v128.load", 0, 8);
}

const sumKernels = new Map<string, KernelModule>();

/** What the accumulating kernels do: add, or keep the larger / smaller (NaN propagating). */
export type Accumulation = "sum" | "max" | "min";

/**
 * `sums(src, acc, d0…d3, a0…a3)`: for every element of the contiguous `d0×…×d3` input in
 * row-major order, `acc[i0·a0 + … + i3·a3] += x` in float64 (byte strides into the
 * accumulators; 0 on summed axes) — the order and precision of the JavaScript loop. Where the
 * innermost axis is summed, its run is added in a register, one element after another, and four
 * (or two) runs bound for different accumulators (a bias gradient's channels) side by side in
 * the lanes of float64x2s — the same order for each sum, four times the additions in flight.
 */
function sumKernelFor(dtype: "float32" | "float64", op: Accumulation = "sum"): KernelModule {
  const key = `${dtype}:${op}`;
  let kernel = sumKernels.get(key);
  if (kernel !== undefined) return kernel;
  const f32 = dtype === "float32";
  const item = f32 ? 4 : 8;
  const module = kernelModuleBuilder();
  const f = module.addFunction("sums", {
    params: Array<"i32">(2 + 2 * maxRank).fill("i32"),
    paramNames: ["src", "acc", "d0", "d1", "d2", "d3", "a0", "a1", "a2", "a3"],
    export: true,
    comment: `${op} of ${dtype} elements into float64 accumulators, in input order`,
  });
  const [src, acc] = [0, 1];
  const pointers = Array.from({ length: maxRank }, (_, a) => f.addLocal("i32", `p${a}`));
  const counters = Array.from({ length: maxRank }, (_, a) => f.addLocal("i32", `i${a}`));
  const sum = f.addLocal("f64", "sum");
  const pair = f.addLocal("v128", "pair");
  const pair2 = f.addLocal("v128", "pair2");
  const next = f.addLocal("i32", "next");
  const starts = [next, ...[1, 2, 3].map((r) => f.addLocal("i32", `start${r}`))];
  /** Pushes the element at `address` (a local) as float64. */
  const loadAt = (address: number): void => {
    f.localGet(address);
    if (f32) f.memoryOp("f32.load", 0, 4).op("f64.promote_f32");
    else f.memoryOp("f64.load", 0, 8);
  };
  const scalars = [f.addLocal("f64", "held"), f.addLocal("f64", "value")] as const;
  const vectors = [f.addLocal("v128", "heldPair"), f.addLocal("v128", "valuePair")] as const;
  /**
   * [acc, x] on the stack → acc + x, or x where x > acc (x < acc for min) or x is NaN; on f64
   * values or float64x2 lanes.
   */
  const combineAs = (lanes: "f64" | "f64x2"): void => {
    if (op === "sum") {
      f.op(`${lanes}.add`);
      return;
    }
    const [held, value] = lanes === "f64" ? scalars : vectors;
    f.localSet(value).localSet(held);
    f.localGet(value).localGet(held);
    f.localGet(value)
      .localGet(held)
      .op(`${lanes}.${op === "max" ? "gt" : "lt"}`);
    f.localGet(value).localGet(value).op(`${lanes}.ne`);
    if (lanes === "f64") f.i32Or().select();
    else f.op("v128.or").op("v128.bitselect");
  };
  const combine = (): void => combineAs("f64");
  const combinePair = (): void => combineAs("f64x2");
  const loadX = (): void => {
    f.localGet(src);
    if (f32) f.memoryOp("f32.load", 0, 4).op("f64.promote_f32");
    else f.memoryOp("f64.load", 0, 8);
    f.localGet(src).i32Const(item).i32Add().localSet(src);
  };
  emitLoopNest(f, acc, pointers, counters, (axis, descend) => {
    if (axis === maxRank - 1) {
      f.localGet(pointers[axis]!);
      f.localGet(pointers[axis]!).memoryOp("f64.load", 0, 8);
      loadX();
      combine();
      f.memoryOp("f64.store", 0, 8);
    } else if (axis === maxRank - 2) {
      // A summed innermost axis: its run accumulates in a register. Where the next runs go to
      // other accumulators, four (or two) runs add side by side in the lanes of float64x2s
      // (each still in input order): four dependency chains instead of one.
      const [inner, count, stride] = [axis + 1, 2 + axis, 2 + maxRank + axis];
      /** Pushes whether the next `runs` runs are bound for accumulators of their own. */
      const sideBySide = (runs: number): void => {
        f.localGet(2 + 2 * maxRank - 1).i32Eqz();
        f.localGet(stride).i32Const(0).i32Ne().i32And();
        f.localGet(counters[axis]!)
          .i32Const(runs - 1)
          .i32Add()
          .localGet(count)
          .i32LtU()
          .i32And();
      };
      /** Pushes the address of the accumulator of run `r` from here (acc[p + r·stride]). */
      const accumulator = (r: number): void => {
        f.localGet(pointers[axis]!);
        f.localGet(stride).i32Const(r).i32Mul().i32Add();
      };
      /** Adds `runs` (2 or 4) runs side by side, then moves this axis past them. */
      const runsSideBySide = (runs: 2 | 4): void => {
        const vectors = runs === 2 ? [pair] : [pair, pair2];
        // Accumulators acc[p + r·stride] into the lanes; starts[r]: run r's first element.
        vectors.forEach((vector, v) => {
          for (const lane of [0, 1]) {
            accumulator(2 * v + lane);
            f.memoryOp("f64.load", 0, 8);
            if (lane === 0) f.op("f64x2.splat");
            else f.laneOp("f64x2.replace_lane", 1);
          }
          f.localSet(vector);
        });
        f.localGet(src).localSet(starts[0]!);
        for (let r = 1; r < runs; r++) {
          f.localGet(src)
            .localGet(2 + inner)
            .i32Const(item * r)
            .i32Mul()
            .i32Add()
            .localSet(starts[r]!);
        }
        f.i32Const(0).localSet(counters[inner]!);
        f.loop((again) => {
          vectors.forEach((vector, v) => {
            f.localGet(vector);
            loadAt(starts[2 * v]!);
            f.op("f64x2.splat");
            loadAt(starts[2 * v + 1]!);
            f.laneOp("f64x2.replace_lane", 1);
            combinePair();
            f.localSet(vector);
          });
          for (const start of starts.slice(0, runs)) {
            f.localGet(start).i32Const(item).i32Add().localSet(start);
          }
          f.localGet(counters[inner]!).i32Const(1).i32Add().localTee(counters[inner]!);
          f.localGet(2 + inner)
            .i32LtU()
            .brIf(again);
        });
        vectors.forEach((vector, v) => {
          for (const lane of [0, 1]) {
            accumulator(2 * v + lane);
            f.localGet(vector).laneOp("f64x2.extract_lane", lane).memoryOp("f64.store", 0, 8);
          }
        });
        // The last run is done: src past it, and this axis runs − 1 steps on (the nest takes
        // the last).
        f.localGet(starts[runs - 1]!).localSet(src);
        f.localGet(pointers[axis]!)
          .localGet(stride)
          .i32Const(runs - 1)
          .i32Mul()
          .i32Add();
        f.localSet(pointers[axis]!);
        f.localGet(counters[axis]!)
          .i32Const(runs - 1)
          .i32Add()
          .localSet(counters[axis]!);
      };
      sideBySide(4);
      f.if(
        () => runsSideBySide(4),
        () => {
          sideBySide(2);
          f.if(
            () => runsSideBySide(2),
            () => {
              f.localGet(2 + 2 * maxRank - 1).i32Eqz();
              f.if(
                () => {
                  f.localGet(pointers[axis]!).memoryOp("f64.load", 0, 8).localSet(sum);
                  f.i32Const(0).localSet(counters[axis + 1]!);
                  f.loop((inner) => {
                    f.localGet(sum);
                    loadX();
                    combine();
                    f.localSet(sum);
                    f.localGet(counters[axis + 1]!)
                      .i32Const(1)
                      .i32Add()
                      .localTee(counters[axis + 1]!);
                    f.localGet(2 + axis + 1)
                      .i32LtU()
                      .brIf(inner);
                  });
                  f.localGet(pointers[axis]!).localGet(sum).memoryOp("f64.store", 0, 8);
                },
                () => {
                  // A kept innermost axis with contiguous accumulators: two elements at a time.
                  f.localGet(2 + 2 * maxRank - 1)
                    .i32Const(8)
                    .i32Eq();
                  f.if(
                    () => {
                      f.localGet(pointers[axis]!).localSet(next);
                      f.i32Const(0).localSet(counters[inner]!);
                      f.block((done) => {
                        f.loop((again) => {
                          f.localGet(counters[inner]!).i32Const(2).i32Add();
                          f.localGet(2 + inner)
                            .i32GtU()
                            .brIf(done);
                          f.localGet(next);
                          f.localGet(next).memoryOp("v128.load", 0, 8);
                          f.localGet(src);
                          loadPair(f, f32);
                          combinePair();
                          f.memoryOp("v128.store", 0, 8);
                          f.localGet(src)
                            .i32Const(2 * item)
                            .i32Add()
                            .localSet(src);
                          f.localGet(next).i32Const(16).i32Add().localSet(next);
                          f.localGet(counters[inner]!)
                            .i32Const(2)
                            .i32Add()
                            .localSet(counters[inner]!);
                          f.br(again);
                        });
                      });
                      // An odd last element.
                      f.localGet(counters[inner]!)
                        .localGet(2 + inner)
                        .i32LtU();
                      f.if(() => {
                        f.localGet(next);
                        f.localGet(next).memoryOp("f64.load", 0, 8);
                        loadX();
                        combine();
                        f.memoryOp("f64.store", 0, 8);
                      });
                    },
                    () => descend(),
                  );
                },
              );
            },
          );
        },
      );
    } else {
      descend();
    }
  });
  kernel = compileKernel(module.build({ names: false }));
  sumKernels.set(key, kernel);
  return kernel;
}

/**
 * `reduce_sum` (or `reduce_max`, `reduce_min`: `op`) over any axes on the general loops;
 * undefined when they do not take it.
 */
function sumAnyAxes(
  x: ConcreteArray,
  axes: readonly number[],
  op: Accumulation = "sum",
): ConcreteArray | undefined {
  const dtype = x.dtype as "float32" | "float64";
  const shape = x.shape.filter((_, i) => !axes.includes(i));
  const outStrides = contiguousStrides(shape);
  let k = 0;
  const accStrides = x.shape.map((_, i) => (axes.includes(i) ? 0 : outStrides[k++]!));
  const [dims, [, strides]] = coalesce(x.shape, [
    { data: x.data, strides: contiguousStrides(x.shape), offset: 0 },
    { data: x.data, strides: accStrides, offset: 0 },
  ]);
  if (dims.length > maxRank) return undefined;
  const item = dtype === "float32" ? 4 : 8;
  const count = shapeSize(shape);
  const { offsets, total } = layout([x.size * item, count * 8]);
  reserve(total);
  const at = placeArrayIn(x, offsets[0]!, total);
  if (op === "sum") zeroFill(offsets[1]!, count * 8);
  else memoryView("float64", offsets[1]!, count).fill(op === "max" ? -Infinity : Infinity);
  const pad = maxRank - dims.length;
  const run = sumKernelFor(dtype, op).exports.sums as (...args: number[]) => void;
  run(
    at,
    offsets[1]!,
    ...[...Array<number>(pad).fill(1), ...dims],
    ...[...Array<number>(pad).fill(0), ...strides!.map((s) => s * 8)],
  );
  const sums = memoryView("float64", offsets[1]!, count);
  const out = allocate(dtype, count);
  out.set(sums);
  return fromStorage(out, shape, dtype, x.weakType);
}

function fastReduceSum(x: ConcreteArray, axes: readonly number[]): ConcreteArray | undefined {
  const dtype = x.dtype;
  if (dtype !== "float32" && dtype !== "float64") return undefined;
  const k = axes.length;
  if (k === 0 || x.size < minimumElements) return undefined;
  if (k === x.ndim || axes.some((a, i) => a !== i)) return sumAnyAxes(x, axes);
  const rows = x.shape.slice(0, k).reduce((n, d) => n * d, 1);
  const cols = x.size / rows;
  const item = dtype === "float32" ? 4 : 8;
  const kernel = kernelFor(dtype);
  const { offsets, total } = layout([x.size * item, cols * item]);
  reserve(total);
  copyIn(x.contiguousData(), offsets[0]!);
  runKernelParallel("reduce_sum", kernel, [
    { name: "colsum", args: [offsets[0]!, offsets[1]!, rows, cols] },
  ]);
  return fromStorage(copyOut(dtype, offsets[1]!, cols), x.shape.slice(k), dtype, x.weakType);
}

installFastReduceSum(fastReduceSum);

/** `reduce_max` / `reduce_min` of float arrays over any axes (the same loops, in input order). */
function fastReduceExtremum(
  op: "max" | "min",
  x: ConcreteArray,
  axes: readonly number[],
): ConcreteArray | undefined {
  const dtype = x.dtype;
  if (dtype !== "float32" && dtype !== "float64") return undefined;
  if (axes.length === 0 || x.size < minimumElements) return undefined;
  return sumAnyAxes(x, axes, op);
}

installFastReduceExtremum(fastReduceExtremum);

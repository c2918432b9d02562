/**
 * The windows of `reduce_window_max` and its derivatives (max pooling) on WebAssembly SIMD, for
 * float32 operands: four neighbouring windows of a row at a time, each element of the window
 * loaded for the four (one vector load at stride 1, two and a shuffle at stride 2, lane by lane
 * otherwise), compared with the best so far, and kept with its offset where it is larger or the
 * first NaN — with no branches: on activations the comparisons of a scalar loop are about as
 * unpredictable as coin flips, and their mispredictions made it slower than the copies it
 * replaces. The same elements are chosen as by the JavaScript loop (`primitives/window.ts`), so
 * results are identical. Windows that reach into the padding stay with that loop. Where the
 * windows tile the operand (2×2 max pooling at stride 2), the scatter of the derivative writes
 * every element once, its window's value or zero, by vector stores: no zero fill first and no
 * element added to lane by lane.
 */
import type { ConcreteArray } from "./concrete.js";
import type { ModuleBuilder } from "../compiler/wasm/module.js";
import { installFastWindows, runWindows, type WindowMode } from "../primitives/window.js";
import {
  cachedPlan,
  windowShape,
  type WindowParams,
  type WindowPlan,
} from "../primitives/window-plan.js";
import { shapeSize } from "../core/shape.js";
import type { TypedArray } from "../core/dtype.js";
import { placeArrayIn, zeroFill } from "./gather-kernels.js";
import { partsWaking, splitRange, type KernelModule } from "./threads.js";
import {
  addI32Function,
  compileKernel,
  copyIn,
  kernelModuleBuilder,
  layout,
  memoryView,
  reserve,
  runKernelParallel,
} from "./wasm-memory.js";

/** Operands with fewer elements stay on the JavaScript loop. */
const minimumElements = 4096;

/** Window elements visited per part when the rows are split over the threads. */
const minimumParallelWork = 256 * 1024;

/** Compiled kernels by mode, stride class and window offsets. */
const kernels = new Map<string, KernelModule>();

/**
 * A kernel for one mode, one stride along the last axis (1 and 2 by vector loads, others lane by
 * lane; `step` 0 here means any) and one window (element offsets `deltas`, constants in the
 * code): `windows(src, other, entries, first, last, n, step, dst)` runs entries `[first, last)` of
 * the int32 pairs at `entries` (a row's first window corner as an element index into the
 * float32 array at `src`, and that window's index in the result): the `n` windows of the row,
 * `step` elements apart. With each window's chosen element, `max` writes its value to
 * `dst[window]`, `gather` writes `other[element]` there, `scatter` adds `other[window]` to
 * `dst[element]`. Reads of the operand may reach `4·step` elements past a row's last window (the
 * caller leaves room); writes, and reads of `other`, stay in the rows' windows.
 */
function windowKernel(
  mode: WindowMode,
  step: number,
  deltas: Int32Array,
  tiling: boolean,
): KernelModule {
  const key = `${mode}:${step}:${deltas.join(",")}:${tiling}`;
  const cached = kernels.get(key);
  if (cached !== undefined) return cached;
  const kernel = compileKernel(windowModule(mode, step, deltas, tiling).build({ names: false }));
  kernels.set(key, kernel);
  return kernel;
}

/**
 * The module a window primitive of mode `mode` runs on a float32 operand of shape `shape`
 * (row-major, as in a compiled call), unbuilt (for its text); undefined where the JavaScript
 * loop takes it.
 */
export function plannedWindowModule(
  mode: WindowMode,
  shape: readonly number[],
  dtype: string,
  params: WindowParams,
): ModuleBuilder | undefined {
  if (shape.length === 0 || !takes(dtype, shapeSize(shape))) return undefined;
  const { step, deltas, tiling } = cachedPlan(shape, params);
  return windowModule(mode, stepClass(step), deltas, tiles(mode, tiling));
}

/** Whether the kernels take an operand of this dtype and size (else the JavaScript loop). */
const takes = (dtype: string, size: number): boolean =>
  dtype === "float32" && size >= minimumElements;

/**
 * Whether a kernel writes every element of a scatter's result (windows that tile the operand:
 * each element is its window's source value or zero), so nothing is zero-filled first and no
 * element is read back to add to.
 */
const tiles = (mode: WindowMode, tiling: boolean): boolean => mode === "scatter" && tiling;

/** The stride class a kernel is specialised for: 1 and 2 by vector loads, 0 for any other. */
const stepClass = (step: number): number => (step === 1 || step === 2 ? step : 0);

/** The module of `windowKernel`. */
function windowModule(
  mode: WindowMode,
  step: number,
  deltas: Int32Array,
  tiling: boolean,
): ModuleBuilder {
  const module = kernelModuleBuilder();
  const { f, p } = addI32Function(
    module,
    "windows",
    ["src", "other", "entries", "first", "last", "n", "step", "dst"],
    `${mode} over windows of rows of a float32 array (offsets ${deltas.join(", ")})` +
      (tiling ? ", windows tiling it: every element written" : ""),
  );
  const r = f.addLocal("i32", "r");
  const j = f.addLocal("i32", "j");
  const base = f.addLocal("i32", "base");
  const out = f.addLocal("i32", "out");
  const origin = f.addLocal("i32", "origin");
  const at = f.addLocal("i32", "at");
  const lane1 = f.addLocal("i32", "lane1");
  const lane2 = f.addLocal("i32", "lane2");
  const lane3 = f.addLocal("i32", "lane3");
  const best = f.addLocal("v128", "best");
  const choice = f.addLocal("v128", "choice");
  const v = f.addLocal("v128", "v");
  const take = f.addLocal("v128", "take");
  const lanes = f.addLocal("v128", "lanes");
  // lanes = (0, step, 2·step, 3·step): each lane's window corner relative to lane 0's.
  f.i32Const(0).op("i32x4.splat");
  for (let lane = 1; lane < 4; lane++) {
    f.localGet(p.step).i32Const(lane).i32Mul().laneOp("i32x4.replace_lane", lane);
  }
  f.localSet(lanes);
  /** Pushes element `delta` of the four windows whose lane-0 corner is at byte address `at`. */
  const load = (delta: number): void => {
    const offset = 4 * delta;
    if (step === 1) f.localGet(at).v128Load(offset, 4);
    else if (step === 2) {
      f.localGet(at).v128Load(offset, 4);
      f.localGet(at).v128Load(offset + 16, 4);
      f.i8x16Shuffle([0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27]);
    } else {
      f.localGet(at).memoryOp("f32.load", offset, 4).op("f32x4.splat");
      [lane1, lane2, lane3].forEach((address, k) => {
        f.localGet(address)
          .memoryOp("f32.load", offset, 4)
          .laneOp("f32x4.replace_lane", k + 1);
      });
    }
  };
  /** Pushes the byte address of element `index()` of the float32 array at `array`. */
  const element = (array: number, index: () => void): void => {
    f.localGet(array);
    index();
    f.i32Const(4).i32Mul().i32Add();
  };
  /**
   * The race of a vector of windows: `best` and `choice` for j (element indices, or with
   * `absolute` false the chosen offsets among `deltas`).
   */
  const choose = (absolute = true): void => {
    f.localGet(base).localGet(j).localGet(p.step).i32Mul().i32Add().localSet(origin);
    element(p.src, () => f.localGet(origin));
    f.localSet(at);
    if (step !== 1 && step !== 2) {
      [lane1, lane2, lane3].forEach((address, k) => {
        f.localGet(at)
          .localGet(p.step)
          .i32Const(4 * (k + 1))
          .i32Mul()
          .i32Add()
          .localSet(address);
      });
    }
    load(deltas[0]!);
    f.localSet(best);
    f.i32x4Constant(deltas[0]!, deltas[0]!, deltas[0]!, deltas[0]!).localSet(choice);
    for (let e = 1; e < deltas.length; e++) {
      const d = deltas[e]!;
      load(d);
      f.localSet(v);
      // take = v > best, or v is NaN and best is not (the first NaN wins and stays).
      f.localGet(v).localGet(best).op("f32x4.gt");
      f.localGet(v).localGet(v).op("f32x4.ne");
      f.localGet(best).localGet(best).op("f32x4.eq").op("v128.and").op("v128.or");
      f.localSet(take);
      f.localGet(v).localGet(best).localGet(take).op("v128.bitselect").localSet(best);
      f.i32x4Constant(d, d, d, d).localGet(choice).localGet(take).op("v128.bitselect");
      f.localSet(choice);
    }
    if (!absolute) return;
    // The chosen elements' indices: origin + lanes + offset.
    f.localGet(origin).op("i32x4.splat").localGet(lanes).op("i32x4.add");
    f.localGet(choice).op("i32x4.add").localSet(choice);
  };
  /** Pushes the byte address of element `delta` of lane `lane`'s window. */
  const laneElement = (lane: number, delta: number): void => {
    element(p.dst, () =>
      f.localGet(origin).localGet(p.step).i32Const(lane).i32Mul().i32Add().i32Const(delta).i32Add(),
    );
  };
  const source = f.addLocal("v128", "source");
  const value = f.addLocal("f32", "value");
  const chosen = f.addLocal("i32", "chosen");
  /**
   * Tiling scatters, four whole windows: each element of each window is its window's source
   * value where chosen, else zero (+ 0 turns a −0 into the +0 that adding it to zero gives).
   */
  const storeTiles = (): void => {
    choose(false);
    element(p.other, () => f.localGet(out).localGet(j).i32Add());
    f.v128Load(0, 4).f32x4Const(0, 0, 0, 0).op("f32x4.add").localSet(source);
    /** Pushes the source values of the windows whose element `e` was chosen, zeros elsewhere. */
    const masked = (e: number): void => {
      const d = deltas[e]!;
      f.localGet(source).localGet(choice).i32x4Constant(d, d, d, d).op("i32x4.eq").op("v128.and");
    };
    /** Pushes the byte address of element `delta` of lane 0's window. */
    const corner = (delta: number): void => {
      element(p.dst, () => f.localGet(origin).i32Const(delta).i32Add());
    };
    if (step === 1) {
      // Windows one element wide: the four lanes' elements are neighbours.
      deltas.forEach((d, e) => {
        corner(d);
        masked(e);
        f.v128Store(0, 4);
      });
    } else if (step === 2) {
      // Windows two wide: elements e (left column) and e + 1 (right) of the four windows
      // interleave into eight neighbours.
      for (let e = 0; e < deltas.length; e += 2) {
        for (const half of [0, 1]) {
          corner(deltas[e]!);
          masked(e);
          masked(e + 1);
          const pick = half === 0 ? [0, 4, 1, 5] : [2, 6, 3, 7];
          f.i8x16Shuffle(pick.flatMap((lane) => [0, 1, 2, 3].map((b) => 4 * lane + b)));
          f.v128Store(16 * half, 4);
        }
      }
    } else {
      for (let lane = 0; lane < 4; lane++) {
        deltas.forEach((d, e) => {
          laneElement(lane, d);
          masked(e);
          f.laneOp("f32x4.extract_lane", lane).memoryOp("f32.store", 0, 4);
        });
      }
    }
  };
  /** Tiling scatters, the windows of a row of fewer than four one by one. */
  const storeTileLanes = (): void => {
    choose(false);
    for (let lane = 0; lane < 4; lane++) {
      f.localGet(j).i32Const(lane).i32Add().localGet(p.n).i32LtS();
      f.if(() => {
        element(p.other, () => f.localGet(out).localGet(j).i32Add().i32Const(lane).i32Add());
        f.memoryOp("f32.load", 0, 4).f32Const(0).op("f32.add").localSet(value);
        f.localGet(choice).laneOp("i32x4.extract_lane", lane).localSet(chosen);
        for (const d of deltas) {
          laneElement(lane, d);
          f.localGet(value).f32Const(0).localGet(chosen).i32Const(d).i32Eq().select();
          f.memoryOp("f32.store", 0, 4);
        }
      });
    }
  };
  /** Stores four whole windows' results (max, gather). */
  const storeVector = (): void => {
    element(p.dst, () => f.localGet(out).localGet(j).i32Add());
    if (mode === "max") f.localGet(best);
    else {
      for (let lane = 0; lane < 4; lane++) {
        element(p.other, () => f.localGet(choice).laneOp("i32x4.extract_lane", lane));
        f.memoryOp("f32.load", 0, 4);
        if (lane === 0) f.op("f32x4.splat");
        else f.laneOp("f32x4.replace_lane", lane);
      }
    }
    f.v128Store(0, 4);
  };
  /** Window `out + j + lane`, lane `lane` of `best` and `choice`. */
  const storeLane = (lane: number): void => {
    const window = (): void => {
      f.localGet(out).localGet(j).i32Add().i32Const(lane).i32Add();
    };
    const chosen = (): void => {
      f.localGet(choice).laneOp("i32x4.extract_lane", lane);
    };
    if (mode === "max") {
      element(p.dst, window);
      f.localGet(best).laneOp("f32x4.extract_lane", lane).memoryOp("f32.store", 0, 4);
    } else if (mode === "gather") {
      element(p.dst, window);
      element(p.other, chosen);
      f.memoryOp("f32.load", 0, 4).memoryOp("f32.store", 0, 4);
    } else {
      element(p.dst, chosen);
      f.localTee(at);
      f.localGet(at).memoryOp("f32.load", 0, 4);
      element(p.other, window);
      f.memoryOp("f32.load", 0, 4).op("f32.add").memoryOp("f32.store", 0, 4);
    }
  };
  /** Lanes `j + lane < n` one by one. */
  const storeLanes = (): void => {
    for (let lane = 0; lane < 4; lane++) {
      f.localGet(j).i32Const(lane).i32Add().localGet(p.n).i32LtS();
      f.if(() => storeLane(lane));
    }
  };
  f.localGet(p.first).localSet(r);
  f.block((rowsDone) => {
    f.loop((nextRow) => {
      f.localGet(r).localGet(p.last).i32GeS().brIf(rowsDone);
      f.localGet(p.entries).localGet(r).i32Const(8).i32Mul().i32Add();
      f.localTee(at).memoryOp("i32.load", 0, 4).localSet(base);
      f.localGet(at).memoryOp("i32.load", 4, 4).localSet(out);
      f.i32Const(0).localSet(j);
      // Whole vectors of windows.
      f.block((done) => {
        f.loop((next) => {
          f.localGet(j).i32Const(4).i32Add().localGet(p.n).i32GtS().brIf(done);
          if (tiling) storeTiles();
          else {
            choose();
            if (mode === "scatter") storeLanes();
            else storeVector();
          }
          f.localGet(j).i32Const(4).i32Add().localSet(j).br(next);
        });
      });
      // The last 1–3: again the row's last four when it has four (the same values written
      // twice), lane by lane otherwise and for scatters that add (which must add once).
      f.localGet(j).localGet(p.n).i32LtS();
      f.if(() => {
        if (mode !== "scatter" || tiling) {
          f.localGet(p.n).i32Const(4).i32GeS();
          f.if(
            () => {
              f.localGet(p.n).i32Const(4).i32Sub().localSet(j);
              if (tiling) storeTiles();
              else {
                choose();
                storeVector();
              }
            },
            () => {
              if (tiling) storeTileLanes();
              else {
                choose();
                storeLanes();
              }
            },
          );
        } else {
          choose();
          storeLanes();
        }
      });
      f.localGet(r).i32Const(1).i32Add().localSet(r).br(nextRow);
    });
  });
  return module;
}

function fastWindows(
  mode: WindowMode,
  x: ConcreteArray,
  other: ConcreteArray | undefined,
  plan: WindowPlan,
  out: TypedArray,
  address: number | undefined,
): boolean {
  if (!takes(x.dtype, x.size)) return false;
  const { deltas, entries, step } = plan;
  const inside = plan.end - plan.first;
  const rows = entries.length / 2;
  // Scatters split over the threads only where windows do not overlap (no element is added to
  // by two of them).
  const parts =
    plan.overlapping && mode === "scatter"
      ? 1
      : partsWaking(rows * inside * deltas.length, minimumParallelWork);
  const { offsets, total } = layout([
    // Room after the operand for the reads of a row's last vector (see `windowKernel`).
    x.size * 4 + 16 * (step + 2),
    (other?.size ?? 0) * 4,
    entries.byteLength,
    address === undefined ? out.byteLength : 0,
  ]);
  reserve(total);
  const [, , entriesAt, scratch] = offsets as [number, number, number, number];
  const dst = address ?? scratch;
  const src = placeArrayIn(x, offsets[0]!, total);
  const otherAt = other === undefined ? 0 : placeArrayIn(other, offsets[1]!, total);
  copyIn(entries, entriesAt);
  const tiling = tiles(mode, plan.tiling);
  if (mode === "scatter" && !tiling) zeroFill(dst, out.byteLength);
  runKernelParallel(
    "reduce_window_max",
    windowKernel(mode, stepClass(step), deltas, tiling),
    splitRange(rows, Math.min(rows, parts), 1).map(([first, count]) => ({
      name: "windows",
      args: [src, otherAt, entriesAt, first, first + count, inside, step, dst],
    })),
  );
  // The windows in the padding are the caller's, afterwards.
  if (address === undefined) out.set(memoryView("float32", dst, out.length));
  return true;
}

/**
 * A window primitive's result written at byte `address` of kernel memory (a compiled call's
 * arena) and returned as a view of it; `undefined` for operands the kernels do not take.
 */
export function windowsInto(
  mode: WindowMode,
  x: ConcreteArray,
  other: ConcreteArray | undefined,
  params: WindowParams,
  address: number,
): ConcreteArray | undefined {
  if (x.dtype !== "float32" || x.ndim === 0) return undefined;
  const size = mode === "scatter" ? x.size : shapeSize(windowShape("windows", x.shape, params));
  const out = memoryView("float32", address, size);
  return runWindows(mode, x, other, params, { out, address });
}

installFastWindows(fastWindows);

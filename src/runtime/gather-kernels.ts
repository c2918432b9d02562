/**
 * Placing an array's elements, row-major, in kernel memory for a kernel to read. An array living
 * there already (in a compiled call's arena) is read where it is when contiguous; a strided view
 * (a pooling tap, a transpose, a broadcast bias) is gathered by a WebAssembly loop nest, from
 * where it lies or from its storage copied in first; anything else is copied in.
 */
import type { FunctionBuilder } from "../compiler/wasm/function-builder.js";
import type { ModuleBuilder } from "../compiler/wasm/module.js";
import type { ValueType } from "../compiler/wasm/opcodes.js";
import type { ConcreteArray } from "./concrete.js";
import { coalesce } from "./strided.js";
import type { KernelModule } from "./threads.js";
import {
  compileKernel,
  copyArrayIn,
  copyIn,
  isResident,
  kernelModuleBuilder,
  reserve,
  residentAddress,
} from "./wasm-memory.js";

/** Axes the gather loops handle (after merging); views with more are copied in from JavaScript. */
export const maxRank = 4;

/** Views shorter than this are copied in from JavaScript (no kernel call to pay for). */
const minimumElements = 1024;

let module: KernelModule | undefined;

/**
 * `gather<bytes>(src, dst, d0…d3, s0…s3)`: copies the `d0×d1×d2×d3` elements of `bytes` bytes at
 * `src + i0·s0 + … + i3·s3` (byte strides, any sign) to `dst`, contiguous, in row-major order.
 * `scatter<bytes>(src, dst, d0…d3, s0…s3)`: the other way, contiguous `src` to strided `dst`.
 * `zero(dst, bytes)`: `memory.fill` with zeros.
 */
function stridedCopyModule(): KernelModule {
  if (module !== undefined) return module;
  const builder = kernelModuleBuilder();
  for (const bytes of [1, 4, 8] as const) {
    for (const direction of ["gather", "scatter"] as const) {
      emitStridedCopy(builder, bytes, direction);
    }
  }
  const zero = builder.addFunction("zero", {
    params: ["i32", "i32"],
    paramNames: ["dst", "bytes"],
    export: true,
    comment: "zero-fills bytes",
  });
  zero.localGet(0).i32Const(0).localGet(1).memoryFill();
  module = compileKernel(builder.build({ names: false }));
  return module;
}

/**
 * `while (end − at ≥ room) { body(); at += size; other += step }` over byte addresses in locals:
 * the loops that copy or fill a run (a row) a vector or an element at a time.
 */
export function emitRunLoop(
  f: FunctionBuilder,
  locals: { at: number; end: number; other: number },
  room: number,
  size: number,
  step: number,
  body: () => void,
): void {
  const { at, end, other } = locals;
  f.block((done) => {
    f.loop((next) => {
      f.localGet(end).localGet(at).i32Sub().i32Const(room).i32LtS().brIf(done);
      body();
      f.localGet(at).i32Const(size).i32Add().localSet(at);
      f.localGet(other).i32Const(step).i32Add().localSet(other);
      f.br(next);
    });
  });
}

/**
 * A do-while loop nest over `maxRank` axes of a function whose parameters 2… hold the counts (each
 * ≥ 1) and then the byte strides: `pointers[axis]` starts where the enclosing axis's pointer is
 * (`base` for the outermost) and steps by that axis's stride. `body(axis, descend)` is what runs
 * in each iteration of `axis`'s loop; it calls `descend()` to run the next axis's loop there.
 */
export function emitLoopNest(
  f: FunctionBuilder,
  base: number,
  pointers: readonly number[],
  counters: readonly number[],
  body: (axis: number, descend: () => void) => void,
): void {
  const level = (axis: number): void => {
    f.localGet(axis === 0 ? base : pointers[axis - 1]!).localSet(pointers[axis]!);
    f.i32Const(0).localSet(counters[axis]!);
    f.loop((next) => {
      body(axis, () => level(axis + 1));
      f.localGet(pointers[axis]!)
        .localGet(2 + maxRank + axis)
        .i32Add()
        .localSet(pointers[axis]!);
      f.localGet(counters[axis]!).i32Const(1).i32Add().localTee(counters[axis]!);
      f.localGet(2 + axis)
        .i32LtU()
        .brIf(next);
    });
  };
  level(0);
}

function emitStridedCopy(
  builder: ModuleBuilder,
  bytes: 1 | 4 | 8,
  direction: "gather" | "scatter",
): void {
  const gather = direction === "gather";
  const f = builder.addFunction(`${direction}${bytes}`, {
    params: Array<ValueType>(2 + 2 * maxRank).fill("i32"),
    paramNames: ["src", "dst", "d0", "d1", "d2", "d3", "s0", "s1", "s2", "s3"],
    export: true,
    comment: gather
      ? `strided gather of ${bytes}-byte elements into contiguous memory`
      : `contiguous ${bytes}-byte elements scattered to strided memory`,
  });
  // The strided side walks `pointers` from its base; the contiguous side runs on.
  const [strided, run] = gather ? [0, 1] : [1, 0];
  const pointers = Array.from({ length: maxRank }, (_, a) => f.addLocal("i32", `p${a}`));
  const counters = Array.from({ length: maxRank }, (_, a) => f.addLocal("i32", `i${a}`));
  const value = f.addLocal("v128", "value");
  const end = f.addLocal("i32", "end");
  const length = 2 + maxRank - 1;
  const rowStride = 2 + 2 * maxRank - 1;
  /** Pushes the element at `pointer` as an i32 (1, 4 bytes) or i64 (8 bytes). */
  const loadElement = (pointer: number): void => {
    f.localGet(pointer);
    if (bytes === 1) f.i32Load8U(0, 1);
    else if (bytes === 4) f.i32Load(0, 1);
    else f.i64Load(0, 1);
  };
  const storeElement = (): void => {
    if (bytes === 1) f.i32Store8(0, 1);
    else if (bytes === 4) f.i32Store(0, 1);
    else f.i64Store(0, 1);
  };
  const advanceRun = (by: () => void): void => {
    f.localGet(run);
    by();
    f.i32Add().localSet(run);
  };
  const rowBytes = (): void => {
    f.localGet(length).i32Const(bytes).i32Mul();
  };
  /** A row of `d3` copies of the element at the row pointer: vector stores, then the rest. */
  const fillRow = (): void => {
    const from = pointers[maxRank - 2]!;
    loadElement(from);
    f.op(bytes === 1 ? "i8x16.splat" : bytes === 4 ? "i32x4.splat" : "i64x2.splat");
    f.localSet(value);
    f.localGet(run);
    rowBytes();
    f.i32Add().localSet(end);
    f.block((done) => {
      f.loop((next) => {
        f.localGet(run).i32Const(16).i32Add().localGet(end).i32GtU().brIf(done);
        f.localGet(run).localGet(value).v128Store(0, 1);
        advanceRun(() => f.i32Const(16));
        f.br(next);
      });
    });
    f.block((done) => {
      f.loop((next) => {
        f.localGet(run).localGet(end).i32GeU().brIf(done);
        f.localGet(run);
        loadElement(from);
        storeElement();
        advanceRun(() => f.i32Const(bytes));
        f.br(next);
      });
    });
  };
  const [to, from, stop, n] = [
    f.addLocal("i32", "to"),
    f.addLocal("i32", "from"),
    f.addLocal("i32", "stop"),
    f.addLocal("i32", "n"),
  ];
  const whileRoom = (room: number, size: number, step: number, body: () => void): void =>
    emitRunLoop(f, { at: to, end: stop, other: from }, room, size, step, body);
  /** The rest of a row, element by element (`from` stepping by `step` bytes). */
  const elements = (step: number): void =>
    whileRoom(bytes, bytes, step, () => {
      f.localGet(to);
      loadElement(from);
      storeElement();
    });
  /**
   * A contiguous row: short ones by vectors (memory.copy costs a call, more than a row of an
   * image), long ones by memory.copy.
   */
  const copyRow = (): void => {
    f.localGet(gather ? run : pointers[maxRank - 2]!).localSet(to);
    f.localGet(gather ? pointers[maxRank - 2]! : run).localSet(from);
    rowBytes();
    f.localTee(n);
    f.localGet(to).i32Add().localSet(stop);
    f.localGet(n).i32Const(longRowBytes).i32GeU();
    f.if(
      () => f.localGet(to).localGet(from).localGet(n).memoryCopy(),
      () => {
        whileRoom(16, 16, 16, () => f.localGet(to).localGet(from).v128Load(0, 1).v128Store(0, 1));
        elements(bytes);
      },
    );
    advanceRun(rowBytes);
  };
  /**
   * Gathering every other 4-byte element (a pooling tap, a stride-2 slice): two vector loads,
   * one shuffle of their even lanes, one store per 4 elements. The loads reach one element past
   * the last one taken, so the last 1–4 elements go one by one.
   */
  const everyOther = (): void => {
    f.localGet(run).localSet(to);
    f.localGet(pointers[maxRank - 2]!).localSet(from);
    f.localGet(run);
    rowBytes();
    f.i32Add().localSet(stop);
    whileRoom(20, 16, 32, () => {
      f.localGet(to);
      f.localGet(from).v128Load(0, 1);
      f.localGet(from).v128Load(16, 1);
      f.i8x16Shuffle([0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27]);
      f.v128Store(0, 1);
    });
    elements(8);
    advanceRun(rowBytes);
  };
  emitLoopNest(f, strided, pointers, counters, (axis, descend) => {
    if (axis === maxRank - 1) {
      f.localGet(gather ? run : pointers[axis]!);
      loadElement(gather ? pointers[axis]! : run);
      storeElement();
      advanceRun(() => f.i32Const(bytes));
    } else if (axis === maxRank - 2) {
      // Whole rows at once where the strided row is contiguous, or, gathering, one repeated
      // element (a broadcast: vector stores of its splat) or every other element.
      f.localGet(rowStride).i32Const(bytes).i32Eq();
      f.if(
        () => copyRow(),
        () => {
          if (!gather) {
            descend();
            return;
          }
          f.localGet(rowStride).i32Eqz();
          f.if(
            () => fillRow(),
            () => {
              if (bytes !== 4) {
                descend();
                return;
              }
              f.localGet(rowStride).i32Const(8).i32Eq();
              f.if(
                () => everyOther(),
                () => descend(),
              );
            },
          );
        },
      );
    } else {
      descend();
    }
  });
}

/**
 * A strided view is staged by copying the storage it reaches when that is at most this many
 * times its own size (else its elements are gathered one by one).
 */
export const maximumReach = 4;

/** Rows at least this long are copied by `memory.copy`, shorter ones by vectors. */
const longRowBytes = 512;

/**
 * The address of `x`'s elements in row-major order in kernel memory: where they already are
 * (a contiguous arena array), or else at byte `offset`, where they are gathered or copied.
 * `spare` is free memory past the caller's own blocks, where a strided view's storage may be
 * staged for the gather (a broadcast bias, a pooling tap of a JavaScript array).
 */
export function placeArrayIn(x: ConcreteArray, offset: number, spare: number): number {
  const address = residentAddress(x);
  if (address !== undefined) return address;
  if (!x.isContiguous && x.size >= minimumElements && gather(x, offset, spare)) return offset;
  copyArrayIn(x, offset);
  return offset;
}

/**
 * Gathers strided `x` to `offset` (its storage staged at `spare` first unless it lives in kernel
 * memory); false when it has too many axes or its storage is much larger than the view.
 */
function gather(x: ConcreteArray, offset: number, spare: number): boolean {
  const [dims, [strides]] = coalesce(x.shape, [x.operand]);
  if (dims.length > maxRank) return false;
  const item = x.data.BYTES_PER_ELEMENT;
  let base: number;
  if (isResident(x)) {
    base = x.data.byteOffset + x.offset * item;
  } else {
    const [lo, hi] = x.reach;
    if (hi - lo + 1 > maximumReach * x.size) return false;
    reserve(spare + (hi - lo + 1) * item);
    copyIn(x.data.subarray(lo, hi + 1), spare);
    base = spare + (x.offset - lo) * item;
  }
  stridedCopy("gather", item, base, offset, dims, strides!);
  return true;
}

/** Zero-fills `bytes` bytes of kernel memory at `dst` (`memory.fill`). */
export function zeroFill(dst: number, bytes: number): void {
  (stridedCopyModule().exports.zero as (dst: number, bytes: number) => void)(dst, bytes);
}

/**
 * Runs the gather (strided `src` → contiguous `dst`) or scatter (the other way) loops over
 * `dims` (at most `maxRank`) with element `strides` on the strided side.
 */
export function stridedCopy(
  direction: "gather" | "scatter",
  item: number,
  src: number,
  dst: number,
  dims: readonly number[],
  strides: readonly number[],
): void {
  const pad = maxRank - dims.length;
  const d = [...Array<number>(pad).fill(1), ...dims];
  const s = [...Array<number>(pad).fill(0), ...strides.map((stride) => stride * item)];
  const run = stridedCopyModule().exports[`${direction}${item}`] as (...args: number[]) => void;
  run(src, dst, ...d, ...s);
}

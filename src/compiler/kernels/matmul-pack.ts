/**
 * Parts of the matmul kernels (`matmul.ts`): address and vector helpers, and packing. Packing
 * copies a `rows × depth` slice of an operand, with any strides, into panels of `R` rows that
 * are contiguous over depth (`panel[p][r]`), zero-padded to `R` rows and `kc` deep. Both operands
 * use it: A with its rows as rows, B with its columns as rows.
 */
import type { FunctionBuilder, ModuleBuilder } from "../wasm/module.js";
import type { MatmulDtype, MatmulPlan } from "./matmul.js";

/**
 * Pushes the address for an access at `byteOffset` from the pointer in local `pointer` and
 * returns the memarg offset to use (immediate offsets cannot be negative).
 */
export function address(f: FunctionBuilder, pointer: number, byteOffset: number): number {
  f.localGet(pointer);
  if (byteOffset >= 0 && byteOffset < 2 ** 32) return byteOffset;
  f.i32Const(byteOffset | 0).i32Add();
  return 0;
}

/** Adds `bytes` (a constant) to the i32 local `local`. */
export function bump(f: FunctionBuilder, local: number, bytes: number): void {
  if (bytes === 0) return;
  f.localGet(local)
    .i32Const(bytes | 0)
    .i32Add()
    .localSet(local);
}

/** Pushes `min(x, y)` of two i32 locals (signed). */
export function minLocal(f: FunctionBuilder, x: number, y: number): void {
  f.localGet(x).localGet(y).localGet(x).localGet(y).i32LtS().select();
}

/** The vector instructions of a dtype. */
export interface VectorOps {
  splatLoad(f: FunctionBuilder, offset: number): void;
  mul(f: FunctionBuilder): void;
  add(f: FunctionBuilder): void;
  /** `a·b + c` of the three vectors on the stack (relaxed SIMD). */
  madd(f: FunctionBuilder): void;
  max(f: FunctionBuilder): void;
  load(f: FunctionBuilder, offset: number): void;
  store(f: FunctionBuilder, offset: number): void;
  replaceLane(f: FunctionBuilder, lane: number): void;
  extractLane(f: FunctionBuilder, lane: number): void;
}

export const vectorOps: Record<MatmulDtype, VectorOps> = {
  float32: {
    splatLoad: (f, offset) => f.v128Load32Splat(offset, 4),
    mul: (f) => f.f32x4Mul(),
    add: (f) => f.f32x4Add(),
    madd: (f) => f.f32x4RelaxedMadd(),
    max: (f) => f.f32x4Max(),
    load: (f, offset) => f.f32Load(offset, 4),
    store: (f, offset) => f.f32Store(offset, 4),
    replaceLane: (f, lane) => f.f32x4ReplaceLane(lane),
    extractLane: (f, lane) => f.f32x4ExtractLane(lane),
  },
  float64: {
    splatLoad: (f, offset) => f.v128Load64Splat(offset, 8),
    mul: (f) => f.f64x2Mul(),
    add: (f) => f.f64x2Add(),
    madd: (f) => f.f64x2RelaxedMadd(),
    max: (f) => f.f64x2Max(),
    load: (f, offset) => f.f64Load(offset, 8),
    store: (f, offset) => f.f64Store(offset, 8),
    replaceLane: (f, lane) => f.f64x2ReplaceLane(lane),
    extractLane: (f, lane) => f.f64x2ExtractLane(lane),
  },
};

export const zeroVector = new Uint8Array(16);

/**
 * `acc = acc + x·y` on three vector locals: one relaxed-SIMD fused multiply-add when `fused`,
 * else a multiply and an add.
 */
export function multiplyAdd(
  f: FunctionBuilder,
  ops: VectorOps,
  fused: boolean,
  x: number,
  y: number,
  acc: number,
): void {
  if (fused) {
    f.localGet(x).localGet(y).localGet(acc);
    ops.madd(f);
  } else {
    f.localGet(acc).localGet(x).localGet(y);
    ops.mul(f);
    ops.add(f);
  }
  f.localSet(acc);
}

/** Pushes a vector of `valid` elements at `pointer + byteOffset` (the other lanes zero). */
export function loadVector(
  f: FunctionBuilder,
  ops: VectorOps,
  plan: MatmulPlan,
  pointer: number,
  byteOffset: number,
  valid: number,
): void {
  if (valid === plan.lanes) {
    f.v128Load(address(f, pointer, byteOffset), plan.es);
    return;
  }
  f.v128Const(zeroVector);
  for (let lane = 0; lane < valid; lane++) {
    ops.load(f, address(f, pointer, byteOffset + lane * plan.es));
    ops.replaceLane(f, lane);
  }
}

/** Stores the first `valid` elements of the vector in local `vector` at `pointer + byteOffset`. */
export function storeVector(
  f: FunctionBuilder,
  ops: VectorOps,
  plan: MatmulPlan,
  pointer: number,
  byteOffset: number,
  vector: number,
  valid: number,
): void {
  if (valid === plan.lanes) {
    const offset = address(f, pointer, byteOffset);
    f.localGet(vector).v128Store(offset, plan.es);
    return;
  }
  for (let lane = 0; lane < valid; lane++) {
    const offset = address(f, pointer, byteOffset + lane * plan.es);
    f.localGet(vector);
    ops.extractLane(f, lane);
    ops.store(f, offset);
  }
}

/** Copies `bytes` contiguous bytes from `src + from` to `dst + to`, in 16/8/4-byte pieces. */
function copyContiguous(
  f: FunctionBuilder,
  src: number,
  from: number,
  dst: number,
  to: number,
  bytes: number,
): void {
  for (let done = 0; done < bytes;) {
    const size = bytes - done >= 16 ? 16 : bytes - done >= 8 ? 8 : 4;
    const storeAt = address(f, dst, to + done);
    const loadAt = address(f, src, from + done);
    if (size === 16) f.v128Load(loadAt, 1).v128Store(storeAt, 1);
    else if (size === 8) f.i64Load(loadAt, 4).i64Store(storeAt, 4);
    else f.i32Load(loadAt, 4).i32Store(storeAt, 4);
    done += size;
  }
}

/** Copies one element (as integer bits, so every value survives) from `src + from` to `dst + to`. */
function copyElement(
  f: FunctionBuilder,
  es: number,
  src: number,
  from: number,
  dst: number,
  to: number,
): void {
  const storeAt = address(f, dst, to);
  const loadAt = address(f, src, from);
  if (es === 4) f.i32Load(loadAt).i32Store(storeAt);
  else f.i64Load(loadAt).i64Store(storeAt);
}

/** Byte indices for `i8x16.shuffle` picking 32- or 64-bit `lanes` (0–3 first vector, 4–7 second). */
function pick(es: number, lanes: readonly number[]): number[] {
  return lanes.flatMap((lane) => Array.from({ length: es }, (_, byte) => lane * es + byte));
}

/**
 * Transposes the `16/es × 16/es` tile in the locals `rows` in place (`spare` are temporaries):
 * afterwards `rows[l]` holds lane `l` of every input row.
 */
function transpose(f: FunctionBuilder, es: number, rows: number[], spare: number[]): void {
  const shuffle = (x: number, y: number, lanes: number[], into: number): void => {
    f.localGet(x).localGet(y).i8x16Shuffle(pick(es, lanes)).localSet(into);
  };
  if (es === 8) {
    shuffle(rows[0]!, rows[1]!, [0, 2], spare[0]!);
    shuffle(rows[0]!, rows[1]!, [1, 3], rows[1]!);
    f.localGet(spare[0]!).localSet(rows[0]!);
    return;
  }
  const [r0, r1, r2, r3] = rows as [number, number, number, number];
  const [t0, t1, t2, t3] = spare as [number, number, number, number];
  shuffle(r0, r1, [0, 4, 1, 5], t0); // r0[0] r1[0] r0[1] r1[1]
  shuffle(r2, r3, [0, 4, 1, 5], t1); // r2[0] r3[0] r2[1] r3[1]
  shuffle(r0, r1, [2, 6, 3, 7], t2);
  shuffle(r2, r3, [2, 6, 3, 7], t3);
  shuffle(t0, t1, [0, 1, 4, 5], r0);
  shuffle(t0, t1, [2, 3, 6, 7], r1);
  shuffle(t2, t3, [0, 1, 4, 5], r2);
  shuffle(t2, t3, [2, 3, 6, 7], r3);
}

/**
 * Adds `name(src, dst, rows, depth)`: packs element `(r, p)` at `src + (r·rs + p·ds)·es` for
 * `r < rows`, `p < depth ≤ kc` into panels of `R` rows at `dst` (`panel q` at
 * `dst + q·kc·R·es`, element `(r, p)` of it at `(p·R + r)·es`), zero-padded.
 */
export function emitPack(
  module: ModuleBuilder,
  plan: MatmulPlan,
  name: string,
  R: number,
  rs: number,
  ds: number,
): FunctionBuilder {
  const { es, kc } = plan;
  const f = module.addFunction(name, {
    params: ["i32", "i32", "i32", "i32"],
    paramNames: ["src", "dst", "rows", "depth"],
    comment: `pack panels of ${R} rows × ≤${kc} deep; source strides: row ${rs}, depth ${ds}`,
  });
  const [src, dst, rows, depth] = [0, 1, 2, 3];
  const s = f.addLocal("i32", "s");
  const d = f.addLocal("i32", "d");
  const end = f.addLocal("i32", "end");
  const r = f.addLocal("i32", "r");
  const panelBytes = kc * R * es;
  const lineBytes = R * es;
  const lanes = 16 / es;
  // Rows apart and contiguous over depth (A row-major, B transposed): read lanes × lanes tiles
  // (rows past the last whole tile are copied element by element in the same loop).
  const transposeTiles = ds === 1 && rs !== 1 && R >= lanes;
  const groups = Math.floor(R / lanes);
  const tile = transposeTiles ? Array.from({ length: lanes }, () => f.addLocal("v128")) : [];
  const spare = transposeTiles ? Array.from({ length: lanes }, () => f.addLocal("v128")) : [];

  f.block((done) => {
    f.loop((nextPanel) => {
      f.localGet(rows).i32Const(0).i32LeS().brIf(done);
      f.comment("zero a partial panel first");
      f.localGet(rows).i32Const(R).i32LtS().localGet(depth).i32Const(kc).i32LtS().i32Or();
      f.if(() => {
        f.localGet(dst).i32Const(0).i32Const(panelBytes).memoryFill();
      });
      f.localGet(rows).i32Const(R).i32GeS();
      f.if(
        () => {
          f.comment(rs === 1 ? "full panel: contiguous rows" : "full panel: rows unrolled");
          f.localGet(src).localSet(s);
          f.localGet(dst).localSet(d);
          if (transposeTiles) {
            f.comment(`${lanes}×${lanes} tiles transposed in registers while the depth allows`);
            f.localGet(dst)
              .localGet(depth)
              .i32Const(-lanes)
              .i32And()
              .i32Const(lineBytes)
              .i32Mul()
              .i32Add()
              .localSet(end);
            f.block((empty) => {
              f.localGet(d).localGet(end).i32Eq().brIf(empty);
              f.loop((next) => {
                for (let group = 0; group < groups; group++) {
                  for (let l = 0; l < lanes; l++) {
                    f.v128Load(address(f, s, (group * lanes + l) * rs * es), es);
                    f.localSet(tile[l]!);
                  }
                  transpose(f, es, tile, spare);
                  for (let l = 0; l < lanes; l++) {
                    const at = address(f, d, (l * R + group * lanes) * es);
                    f.localGet(tile[l]!).v128Store(at);
                  }
                }
                for (let i = groups * lanes; i < R; i++) {
                  for (let l = 0; l < lanes; l++) {
                    copyElement(f, es, s, (i * rs + l) * es, d, (l * R + i) * es);
                  }
                }
                bump(f, s, lanes * es);
                bump(f, d, lanes * lineBytes);
                f.localGet(d).localGet(end).i32Ne().brIf(next);
              });
            });
          }
          f.localGet(dst).localGet(depth).i32Const(lineBytes).i32Mul().i32Add().localSet(end);
          f.block((empty) => {
            f.localGet(d).localGet(end).i32Eq().brIf(empty);
            f.loop((next) => {
              if (rs === 1) copyContiguous(f, s, 0, d, 0, lineBytes);
              else for (let i = 0; i < R; i++) copyElement(f, es, s, i * rs * es, d, i * es);
              bump(f, s, ds * es);
              bump(f, d, lineBytes);
              f.localGet(d).localGet(end).i32Ne().brIf(next);
            });
          });
        },
        () => {
          f.comment("partial panel: row by row");
          f.i32Const(0).localSet(r);
          f.loop((nextRow) => {
            f.localGet(src)
              .localGet(r)
              .i32Const((rs * es) | 0)
              .i32Mul()
              .i32Add()
              .localSet(s);
            f.localGet(dst).localGet(r).i32Const(es).i32Mul().i32Add().localSet(d);
            f.localGet(d).localGet(depth).i32Const(lineBytes).i32Mul().i32Add().localSet(end);
            f.block((empty) => {
              f.localGet(d).localGet(end).i32Eq().brIf(empty);
              f.loop((next) => {
                copyElement(f, es, s, 0, d, 0);
                bump(f, s, ds * es);
                bump(f, d, lineBytes);
                f.localGet(d).localGet(end).i32Ne().brIf(next);
              });
            });
            bump(f, r, 1);
            f.localGet(r).localGet(rows).i32LtS().brIf(nextRow);
          });
        },
      );
      bump(f, src, R * rs * es);
      bump(f, dst, panelBytes);
      f.localGet(rows).i32Const(R).i32Sub().localSet(rows);
      f.br(nextPanel);
    });
  });
  return f;
}

/**
 * Inline vector sin, cos and atan for `simd-math.ts`.
 *
 * sin/cos reduce x to r = x − j·π/2, |r| ≤ π/4, in f64x2 with a two-part π/2 (Cody–Waite: j·PIO2_1
 * and x − j·PIO2_1 exact), for |x| < 2^24: the error of r is below 2^-58 absolute plus an f64
 * rounding, and no float32 below 2^24 comes closer than 2^-27.8 to a multiple of π/2, so r keeps
 * a relative error below 2^-30. Lanes at or above 2^24 go through a scalar Payne–Hanek reduction
 * (96 bits of 2/π; relative error of r about 2^-48), emitted after the vector one and run only
 * when some lane needs it, so sin and cos are accurate over the whole float32 range. r is carried
 * as a float32 pair (r + c) into minimax polynomials for sin and cos on [-π/4, π/4].
 */
import type { Label } from "../wasm/function-builder.js";
import { emit, halves, type Emit, type SimdUnary } from "./simd-math-core.js";

/** sin r = r + r³·S(r²) on |r| ≤ π/4 (relative error 2^-32.5). */
const SIN_S = [
  -0.1666666716337204, 0.008333379402756691, -0.00019853064441122115, 2.8325168841547566e-6,
];
/** cos r = 1 − r²/2 + r⁴·C(r²) on |r| ≤ π/4 (relative error 2^-32.6). */
const COS_C = [0.04166664555668831, -0.001388733391650021, 2.4436440071440302e-5];
/** atan t = t + t³·A(t²) on |t| ≤ 7/16 (relative error 2^-29.4). */
const ATAN_A = [
  -0.3333330452442169, 0.19997838139533997, -0.1423136293888092, 0.10502148419618607,
  -0.058431945741176605,
];
/** Bounds of |x| between atan's reduction intervals c = 0, 1/2, 1, 3/2 (then inf at 39/16). */
const ATAN_BOUNDS = [7 / 16, 11 / 16, 19 / 16];
/** atan(1/2), atan(1), atan(3/2) as float32 [hi, lo] pairs; atan(inf) = π/2 likewise. */
const ATAN_OFFSETS: readonly (readonly [number, number])[] = [
  [0.46364760398864746, 5.01215868808913e-9],
  [0.7853981852531433, -2.1855694143368964e-8],
  [0.9827937483787537, -2.5131424052915463e-8],
];
const ATAN_INF = [1.5707963705062866, -4.371138828673793e-8] as const;

const TWO_OVER_PI = 0.6366197723675814;
/** 1.5·2^52: adding and subtracting it rounds an f64 below 2^51 to an integer. */
const ROUND_F64 = 6755399441055744;
/** π/2 rounded to 29 bits, so that j·PIO2_1 is exact in f64 for |j| < 2^24. */
const PIO2_1 = 1.570796325802803;
const PIO2_2 = 9.920935796805404e-10;
/** π/2 · 2^-62: the weight of one unit of the Payne–Hanek fixed-point remainder. */
const PIO2_2M62 = 3.4061215800865545e-19;

/**
 * 96-bit windows of the binary expansion of 2/π, `floor(2/π · 2^(8i)) mod 2^96` for i = 11 … 24,
 * each as three 32-bit words, most significant first (computed with 120-digit arithmetic).
 */
const TWO_OVER_PI_WINDOWS: readonly (readonly [number, number, number])[] = [
  [0x00a2f983, 0x6e4e4415, 0x29fc2757],
  [0xa2f9836e, 0x4e441529, 0xfc2757d1],
  [0xf9836e4e, 0x441529fc, 0x2757d1f5],
  [0x836e4e44, 0x1529fc27, 0x57d1f534],
  [0x6e4e4415, 0x29fc2757, 0xd1f534dd],
  [0x4e441529, 0xfc2757d1, 0xf534ddc0],
  [0x441529fc, 0x2757d1f5, 0x34ddc0db],
  [0x1529fc27, 0x57d1f534, 0xddc0db62],
  [0x29fc2757, 0xd1f534dd, 0xc0db6295],
  [0xfc2757d1, 0xf534ddc0, 0xdb629599],
  [0x2757d1f5, 0x34ddc0db, 0x6295993c],
  [0x57d1f534, 0xddc0db62, 0x95993c43],
  [0xd1f534dd, 0xc0db6295, 0x993c4390],
  [0xf534ddc0, 0xdb629599, 0x3c439041],
];
const FIRST_WINDOW = 11;
/** Bits of 2^24 as a float32: lanes with |x| at or above it take the Payne–Hanek path. */
const LARGE_BITS = 0x4b800000;
const INF_BITS = 0x7f800000;

interface Reduced {
  /** r rounded to float32. */
  r: number;
  /** The rest of r (r − float32(r)), float32. */
  c: number;
  /** The quadrant count j (i32 lanes; only j mod 4 matters). */
  j: number;
}

/** Reduces the f32 lanes of local `x` modulo π/2. */
function reducePio2(e: Emit, x: number): Reduced {
  const { f } = e;
  const parts: { r: number; c: number; j: number }[] = [];
  for (const half of [0, 1] as const) {
    e.get(x);
    if (half === 1) e.get(x).f.i8x16Shuffle(halves(1, 1));
    f.f64x2PromoteLowF32x4();
    const h = e.set();
    // j = nearest(x·2/π) by adding 1.5·2^52, which leaves j mod 2^32 in each lane's low word.
    e.get(h).f64(TWO_OVER_PI).f.f64x2Mul();
    e.f64(ROUND_F64).f.f64x2Add();
    const rounded = e.tee();
    e.f64(ROUND_F64).f.f64x2Sub();
    const j = e.set();
    e.get(h, j).f64(PIO2_1).f.f64x2Mul().f64x2Sub();
    e.get(j).f64(PIO2_2).f.f64x2Mul().f64x2Sub();
    const r64 = e.tee();
    f.f32x4DemoteF64x2Zero();
    const r = e.tee();
    f.f64x2PromoteLowF32x4();
    const rr = e.set();
    e.get(r64, rr).f.f64x2Sub().f32x4DemoteF64x2Zero();
    parts.push({ r, c: e.set(), j: rounded });
  }
  const join = (key: "r" | "c"): number => {
    e.get(parts[0]![key], parts[1]![key]).f.i8x16Shuffle(halves(0, 0));
    return e.set();
  };
  e.get(parts[0]!.j, parts[1]!.j);
  f.i8x16Shuffle([0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27]);
  const j = e.set();
  return { r: join("r"), c: join("c"), j };
}

/**
 * Overwrites the lanes of `red` whose |x| is in [2^24, inf) with a Payne–Hanek reduction, one
 * lane at a time (lane 0, rotating the vectors four times); skipped unless some lane needs it.
 */
function reduceLargeLanes(e: Emit, x: number, red: Reduced): void {
  const { f } = e;
  e.get(x).i32(0x7fffffff).f.v128And();
  const ax = e.tee();
  e.i32(LARGE_BITS).f.i32x4GeS();
  e.get(ax).i32(INF_BITS).f.i32x4LtS().v128And().v128AnyTrue();
  f.if(() => {
    const count = e.take("i32");
    const bits = e.take("i32");
    const idx = e.take("i32");
    const shift = e.take("i32");
    const [mm, w0, w1, w2, acc, quadrant] = [0, 0, 0, 0, 0, 0].map(() => e.take("i64"));
    const r = e.take("f64");
    const rf = e.take("f32");
    const rotate = [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3];
    f.i32Const(0).localSet(count);
    f.loop((next) => {
      e.get(ax).f.i32x4ExtractLane(0).localTee(bits);
      f.i32Const(LARGE_BITS)
        .i32Sub()
        .i32Const(INF_BITS - LARGE_BITS)
        .i32LtU();
      f.if(() => {
        // |x| = m·2^(E−150); the window of 2/π that matters ends at bit p = E − 56.
        f.localGet(bits).i32Const(23).i32ShrU().i32Const(56).i32Sub().localTee(shift);
        f.i32Const(3).i32ShrS().i32Const(FIRST_WINDOW).i32Sub().localSet(idx);
        f.localGet(bits).i32Const(0x7fffff).i32And().i32Const(0x800000).i32Or().i64ExtendI32U();
        f.localGet(shift).i32Const(7).i32And().i64ExtendI32U().i64Shl().localSet(mm);
        selectWindow(e, idx, w0, w1, w2);
        // acc = floor(mm·W / 2^32) mod 2^64: x·2/π mod 4 in fixed point with 62 fraction bits.
        f.localGet(mm).localGet(w0).i64Mul().i64Const(32).i64Shl();
        f.localGet(mm).localGet(w1).i64Mul().i64Add();
        f.localGet(mm).localGet(w2).i64Mul().i64Const(32).i64ShrU().i64Add().localSet(acc);
        f.localGet(acc)
          .i64Const(2n ** 61n)
          .i64Add()
          .i64Const(62)
          .i64ShrU()
          .localSet(quadrant);
        f.localGet(acc).localGet(quadrant).i64Const(62).i64Shl().i64Sub();
        f.f64ConvertI64S().f64Const(PIO2_2M62).f64Mul().localSet(r);
        // Negative x: r → −r, j → −j.
        e.get(x).f.i32x4ExtractLane(0).i32Const(0).i32LtS();
        f.if(() => {
          f.localGet(r).f64Neg().localSet(r);
          f.i64Const(0).localGet(quadrant).i64Sub().localSet(quadrant);
        });
        e.get(red.r).f.localGet(r).f32DemoteF64().localTee(rf).f32x4ReplaceLane(0).localSet(red.r);
        e.get(red.c).f.localGet(r).localGet(rf).f64PromoteF32().f64Sub().f32DemoteF64();
        f.f32x4ReplaceLane(0).localSet(red.c);
        e.get(red.j).f.localGet(quadrant).i32WrapI64().i32x4ReplaceLane(0).localSet(red.j);
      });
      for (const v of [x, ax, red.r, red.c, red.j]) {
        e.get(v, v).f.i8x16Shuffle(rotate).localSet(v);
      }
      f.localGet(count).i32Const(1).i32Add().localTee(count).i32Const(4).i32LtU().brIf(next);
    });
  });
}

/** Sets i64 locals w0, w1, w2 to the 2/π window number `idx` (a br_table over the windows). */
function selectWindow(e: Emit, idx: number, w0: number, w1: number, w2: number): void {
  const { f } = e;
  const n = TWO_OVER_PI_WINDOWS.length;
  const labels: Label[] = [];
  f.block((done) => {
    const nest = (k: number): void => {
      f.block((label) => {
        labels[k] = label;
        if (k < n - 1) nest(k + 1);
        else {
          f.localGet(idx);
          const targets = TWO_OVER_PI_WINDOWS.map((_, i) => labels[n - 1 - i]!);
          f.brTable(targets, labels[0]!);
        }
      });
      const words = TWO_OVER_PI_WINDOWS[n - 1 - k]!;
      f.i64Const(words[0]).localSet(w0).i64Const(words[1]).localSet(w1);
      f.i64Const(words[2]).localSet(w2);
      if (k > 0) f.br(done);
    };
    nest(0);
  });
}

/**
 * Pushes sin (quadrant offset 0) or cos (offset 1) of local `x`: quadrant q = (j + offset) mod 4
 * picks ±sin r or ±cos r.
 */
function sinCos(e: Emit, x: number, offset: 0 | 1): void {
  const red = reducePio2(e, x);
  reduceLargeLanes(e, x, red);
  const { r, c } = red;
  let q = red.j;
  if (offset === 1) {
    e.get(q).i32(1).f.i32x4Add();
    q = e.set();
  }
  e.get(r, r).f.f32x4Mul();
  const z = e.set();
  // cos(r + c) ≈ w + ((1 − w − z/2) + (z²·C(z) − r·c)), w = 1 − z/2
  e.f32(0.5).get(z).f.f32x4Mul();
  const hz = e.set();
  e.f32(1).get(hz).f.f32x4Sub();
  const w = e.tee();
  e.f32(1).get(w).f.f32x4Sub().localGet(hz).f32x4Sub();
  e.hornerF32(z, COS_C).get(z, z).f.f32x4Mul().f32x4Mul();
  e.get(r, c).f.f32x4Mul().f32x4Sub().f32x4Add().f32x4Add();
  // sin(r + c) ≈ r + (r·z·S(z) + c)
  e.get(r);
  e.hornerF32(z, SIN_S).get(z).f.f32x4Mul().localGet(r).f32x4Mul();
  e.get(c).f.f32x4Add().f32x4Add();
  // Odd quadrants take cos; quadrants 2 and 3 flip the sign.
  e.get(q).f.i32Const(31).i32x4Shl().i32Const(31).i32x4ShrS().v128Bitselect();
  e.get(q).f.i32Const(30).i32x4Shl();
  e.i32(0x80000000).f.v128And().v128Xor();
}

/** sin(x), lanewise, accurate over the whole float32 range; sin(±0) = ±0, sin(±inf) = NaN. */
export const f32x4Sin: SimdUnary = (f, scratch) =>
  emit(f, scratch, (e) => {
    const x = e.set();
    sinCos(e, x, 0);
    // sin(-0) = -0 (the reduction turns it into +0).
    e.get(x, x).f32(0).f.f32x4Ne().v128Bitselect();
  });

/** cos(x), lanewise, accurate over the whole float32 range; cos(±inf) = NaN. */
export const f32x4Cos: SimdUnary = (f, scratch) =>
  emit(f, scratch, (e) => {
    const x = e.set();
    sinCos(e, x, 1);
  });

/**
 * atan(x), lanewise, with fdlibm's reduction of |x| to |t| ≤ 7/16: atan|x| = atan c + atan t for
 * c in {0, 1/2, 1, 3/2} by the interval of |x| and t = (|x| − c)/(1 + c·|x|) (c·|x| exact but
 * for c = 3/2), or atan|x| = π/2 + atan(−1/|x|) above 39/16; then t + t³·A(t²), the offset atan c
 * added in two float32 parts looked up with a swizzle.
 */
export const f32x4Atan: SimdUnary = (f, scratch) =>
  emit(f, scratch, (e) => {
    const x = e.set();
    e.get(x).f.f32x4Abs();
    const a = e.set();
    // −(number of bounds 7/16, 11/16, 19/16 at or below |x|): the interval, 0 … 3, negated.
    for (const [i, bound] of ATAN_BOUNDS.entries()) {
      e.get(a).f32(bound).f.f32x4Ge();
      if (i > 0) f.i32x4Add();
    }
    const negIndex = e.tee();
    f.f32x4ConvertI32x4S();
    e.f32(-0.5).f.f32x4Mul();
    const c = e.set();
    e.get(a)
      .f32(39 / 16)
      .f.f32x4Ge();
    const big = e.set();
    e.f32(-1);
    e.get(a, c).f.f32x4Sub();
    e.get(big).f.v128Bitselect();
    e.get(a);
    e.f32(1).get(c, a).f.f32x4Mul().f32x4Add();
    e.get(big).f.v128Bitselect().f32x4Div();
    const t = e.set();
    e.get(t, t).f.f32x4Mul();
    const w = e.set();
    // Byte indices of lane `index` in a 16-byte table: 4·index + (0, 1, 2, 3).
    e.get(negIndex).i32(-0x04040404).f.i32x4Mul();
    e.i32(0x03020100).f.i32x4Add();
    const bytes = e.set();
    const offset = (part: 0 | 1): void => {
      e.f32(ATAN_INF[part]);
      const [o1, o2, o3] = ATAN_OFFSETS;
      f.f32x4Const(0, o1![part], o2![part], o3![part]).localGet(bytes).i8x16Swizzle();
      e.get(big).f.v128Bitselect();
    };
    // offsetHi + (t + (t·w·A(w) + offsetLo))
    offset(0);
    e.get(t);
    e.hornerF32(w, ATAN_A).get(w).f.f32x4Mul().localGet(t).f32x4Mul();
    offset(1);
    f.f32x4Add().f32x4Add().f32x4Add();
    e.signOf(x).f.v128Or();
  });

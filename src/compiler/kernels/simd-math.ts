/**
 * Vectorised float32 math functions emitted inline into WebAssembly kernels, for fused
 * elementwise loops: each takes a `FunctionBuilder` whose operand stack holds a v128 of four f32
 * lanes and replaces it with the function's value, using scratch locals (`ScratchLocals`).
 *
 * In a loop (`s` optional: without it, scratch locals are cached per function):
 *
 *     const s = new ScratchLocals(f);
 *     f.localGet(out).localGet(in).v128Load(); // v128 x
 *     f32x4Exp(f, s); // v128 exp(x)
 *     f.v128Store();
 *
 * Methods: Cody–Waite range reduction and minimax polynomials (fitted with the Remez algorithm
 * for relative error, coefficients rounded to float32 one at a time and refitted), in the style
 * of Cephes and fdlibm, in float32 arithmetic without fused multiply-add (tanh also has a variant
 * with it: `MathOptions.fusedMultiplyAdd`); error-free sums (two-sum) keep the reduced argument
 * and the last additions exact where they matter. sin/cos
 * reduce in f64x2 (Payne–Hanek for |x| ≥ 2^24) and pow runs log2 and exp2 in f64x2. tanh is a
 * rational approximation of tanh(x/2) put through the double-angle formula (one division).
 *
 * Accuracy, largest error in ulps of the exact result over all 2^32 float32 inputs (pow: over
 * 1.3M sampled pairs), subnormal inputs and results included (no flush to zero):
 * exp 0.83, expm1 1.003, log 0.84, log1p 0.87, tanh 1.99 (1.88 with fused multiply-add),
 * logistic 1.09, sin 0.90, cos 0.90, atan 0.85, pow 0.51. Special values follow `Math`: NaN in → NaN out, exp(-inf) = 0,
 * exp(inf) = inf, log(±0) = -inf, log(x < 0) = NaN, tanh(±inf) = ±1, sin/cos(±inf) = NaN, signed
 * zeros kept (tanh, expm1, log1p, sin, atan), pow with `Math.pow`'s rules (pow(1, NaN) = NaN,
 * pow(±1, ±inf) = NaN, unlike C).
 *
 * Costs: each call inlines 0.5–1 KB of code (sin, cos, pow about 1.6–1.8 KB, most of it the
 * scalar Payne–Hanek path); throughput on one x64 core is 320–590 Melem/s for the float32
 * functions, about 850 for tanh (1080 with fused multiply-add), about 135 for pow
 * (`bench/simd-math.ts`). Constants are read from the module's pool (one load each). A vector
 * with any lane |x| ≥ 2^24 makes sin/cos take the scalar path for that vector (about 2.5×
 * slower).
 */
import { emit, halves, type Emit, type SimdBinary, type SimdUnary } from "./simd-math-core.js";
import { expFunctions, type ExpPrecision } from "./simd-math-exp.js";
import { logFunctions, splitLogScaled, type LogPrecision } from "./simd-math-log.js";

export {
  ScratchLocals,
  type MathOptions,
  type SimdBinary,
  type SimdUnary,
} from "./simd-math-core.js";
export { f32x4Atan, f32x4Cos, f32x4Sin } from "./simd-math-trig.js";

/** ln 2 split so that `n·LN2_HI` is exact for |n| < 2^15 (Cephes). */
const LN2_HI = 0.693359375;
const LN2_LO = -2.1219444e-4;
const LOG2E = 1.4426950408889634;
/** 1.5·2^23: x + ROUND_F32 − ROUND_F32 rounds |x| < 2^22 to an integer (ties to even). */
const ROUND_F32 = 12582912;
const ROUND_F32_BITS = 0x4b400000;
/** 1.5·2^52, the same for f64 (the integer is then in the low word, modulo 2^32). */
const ROUND_F64 = 6755399441055744;

/**
 * expm1(r) ≈ r + r²·P(r) on |r| ≤ ln2/2 (relative error 2^-28.8 for expm1, hence also for
 * exp(r) = 1 + expm1(r)).
 */
const EXPM1_P = [
  0.5, 0.1666666567325592, 0.041666556149721146, 0.008333575911819935, 0.001392353093251586,
  0.00019719573901966214,
];

/** log((1+s)/(1-s)) = 2s + s·z·Q(z), z = s², |s| ≤ 3 − 2√2 (fdlibm's form; error 2^-30.2). */
const LOG_Q = [0.6666677594184875, 0.3997752368450165, 0.298734575510025];

/**
 * tanh(a/2) ≈ A/B for 0 ≤ a ≤ `TANH_CLAMP`, z = a²: A = a + a·z·N(z), B = 2 + z·Q(z), with
 * N = `TANH_N` and Q = `TANH_Q` (weighted minimax fit of `test/fixtures/fit_tanh.py`, rounded to
 * float32; error 2^-26.6 relative to tanh a once through the double-angle formula, and small
 * enough near the clamp that the result there rounds to exactly 1).
 */
const TANH_N = [0.029731063172221184, 0.00011332191206747666];
const TANH_Q = [0.2261287122964859, 0.0024041254073381424, 2.4183332243410405e-6];
/** Float32 tanh is 1 from 9.0109 on; the kernel gives exactly 1 from 9.066 on. */
const TANH_CLAMP = 9.2;

// ── exp, expm1, logistic ───────────────────────────────────────────────────────────────

const F32_EXP: ExpPrecision = {
  ln2Hi: LN2_HI,
  ln2Lo: LN2_LO,
  coefficients: EXPM1_P,
  round: (e, x) => {
    // Adding 1.5·2^23 rounds to an integer, which then sits in the low mantissa bits.
    e.get(x).float(LOG2E).op("mul");
    e.float(ROUND_F32).op("add");
    const rounded = e.tee();
    e.float(ROUND_F32).op("sub");
    const nf = e.set();
    e.get(rounded).i32(ROUND_F32_BITS).f.i32x4Sub();
    return { nf, n: e.set() };
  },
  scale: (e, n) => e.scaleBy2n(n),
  pow2Neg: (e, n) => {
    e.i32(0).get(n).f.i32x4Sub();
    e.i32(-100).f.i32x4MaxS();
    e.pow2();
  },
  // Beyond [-104, 89] exp is 0 or inf (n stays in [-150, 128]); expm1 rounds to -1 below -18.
  exp: [-104, 89],
  expm1: [-18, 89],
};

/**
 * exp, expm1 and the logistic sigmoid in f32x4 (see `expFunctions`); logistic is subnormal
 * below x ≈ -87.3 and 0 below -103.9.
 */
export const {
  exp: f32x4Exp,
  expm1: f32x4Expm1,
  logistic: f32x4Logistic,
} = expFunctions(F32_EXP, "f32x4");

/** Splats each of `values` (pooled constants) into a new local. */
function splats(e: Emit, values: readonly number[]): number[] {
  return values.map((value) => {
    e.f32(value);
    return e.set();
  });
}

/**
 * tanh(x), lanewise: tanh(±0) = ±0, tiny x → x, exactly ±1 from |x| = 9.067 on (also ±inf),
 * NaN → NaN; error at most 1.99 ulp (1.85 with `fusedMultiplyAdd`). On a = min(|x|, 9.2) (the
 * sign is put back at the end), t = A/B ≈ tanh(a/2) (`TANH_N`, `TANH_Q`) and the double-angle
 * formula tanh a = 2t/(1 + t²), written with one division by A² + B² in two ways whose rounding
 * errors stay small:
 *
 *     a < 1:  a − a·(A² − (2zN − zQ)·B) / (A² + B²)     (a − tanh a, errors scaled by it)
 *     a ≥ 1:  1 − (B − A)² / (A² + B²)                   (1 − tanh a)
 *
 * The first numerator is the smaller one exactly when a < 1, so a `min` picks the branch (and
 * near a = 1, where a rounding may swap them, both are accurate). With `fusedMultiplyAdd`, the
 * products that are added (Horner's steps, A, A² + B², A² − (…)·B) are fused: 24 vector
 * instructions instead of 30, about 1.3× faster.
 */
export const f32x4Tanh: SimdUnary = (f, scratch, options) =>
  emit(f, scratch, (e) => {
    const fused = options?.fusedMultiplyAdd === true;
    /** Stack `p` → `p·b + c` (`c − p·b` when `negate`), fused or as a multiply and an add. */
    const madd = (b: number, c: number, negate = false): void => {
      if (fused) {
        e.get(b, c).f.op(negate ? "f32x4.relaxed_nmadd" : "f32x4.relaxed_madd");
      } else if (negate) {
        e.get(b).f.f32x4Mul();
        const product = e.set();
        e.get(c, product).f.f32x4Sub();
      } else {
        e.get(b).f.f32x4Mul().localGet(c).f32x4Add();
      }
    };
    const x = e.set();
    const [clamp, n0, n1, q0, q1, q2, two, one] = splats(e, [
      TANH_CLAMP,
      ...TANH_N,
      ...TANH_Q,
      2,
      1,
    ]) as [number, number, number, number, number, number, number, number];
    e.get(x).f.f32x4Abs();
    const ax = e.tee();
    e.get(clamp).f.f32x4Pmin();
    const a = e.tee();
    e.get(a).f.f32x4Mul();
    const z = e.set();
    // zn = z·N(z), A = a + a·zn; w = z·Q(z), B = 2 + w.
    e.get(n1);
    madd(z, n0);
    e.get(z).f.f32x4Mul();
    const zn = e.set();
    e.get(a);
    madd(zn, a);
    const A = e.tee();
    e.get(A).f.f32x4Mul();
    const aa = e.set();
    e.get(q2);
    madd(z, q1);
    madd(z, q0);
    e.get(z).f.f32x4Mul();
    const w = e.tee();
    e.get(two).f.f32x4Add();
    const B = e.tee();
    madd(B, aa);
    const den = e.set();
    // Large: (B − A)²; small: a·(A² − (2zn − w)·B); the smaller one.
    e.get(B, A).f.f32x4Sub();
    const d = e.tee();
    e.get(d).f.f32x4Mul();
    e.get(zn, zn).f.f32x4Add().localGet(w).f32x4Sub();
    madd(B, aa, true);
    e.get(a).f.f32x4Mul().f32x4Pmin();
    e.get(den).f.f32x4Div();
    const q = e.set();
    e.get(a, one).f.f32x4Pmin();
    e.get(q).f.f32x4Sub();
    e.get(x, ax).f.v128Xor().v128Or();
  });

// ── log, log1p ───────────────────────────────────────────────────────────────────────────

/**
 * Splits the positive normal f32 lanes of local `u` into `u = 2^k·m`, m in [√½, √2); returns
 * locals with `f = m − 1` (exact) and `k` as f32.
 */
function splitLog(e: Emit, u: number): { f: number; k: number } {
  // ix = bits(u) + (1 − √½ in bits): the exponent field then counts from √½.
  e.get(u)
    .i32(0x3f800000 - 0x3f3504f3)
    .f.i32x4Add();
  const ix = e.set();
  e.get(ix).f.i32Const(23).i32x4ShrS();
  e.i32(127).f.i32x4Sub().f32x4ConvertI32x4S();
  const k = e.set();
  e.get(ix).i32(0x007fffff).f.v128And();
  e.i32(0x3f3504f3).f.i32x4Add();
  e.f32(1).f.f32x4Sub();
  const fm = e.set();
  return { f: fm, k };
}

/** What log and log1p need of float32 (`simd-math-log.ts`). */
const F32_LOG: LogPrecision = {
  ln2Hi: LN2_HI,
  ln2Lo: LN2_LO,
  coefficients: LOG_Q,
  split: splitLog,
  power: 25,
  smallestNormal: 2 ** -126,
};

/** log and log1p in f32x4 (see `logFunctions`). */
export const { log: f32x4Log, log1p: f32x4Log1p } = logFunctions(F32_LOG, "f32x4");

// ── pow ──────────────────────────────────────────────────────────────────────────────────

/** log((1+s)/(1-s)) = 2s + s·z·Q(z) in f64, z = s² ≤ (3 − 2√2)² (relative error 2^-44.9). */
const LOG_Q64 = [
  0.6666666667598744, 0.3999999555055825, 0.2857211746688068, 0.22175812599280084,
  0.1958995159238594,
];
/** 2^r = 1 + r·E(r) in f64 on |r| ≤ 1/2 (relative error 2^-32.0). */
const EXP2_E64 = [
  0.6931471838207454, 0.2402265092105265, 0.05550400366958629, 0.009618056861004226,
  0.0013341954335676096, 0.00015461391048477108, 1.3359847523196296e-5,
];

/**
 * pow(x, y) = 2^(y·log2|x|), lanewise, with `Math.pow`'s special cases: pow(x, ±0) = 1,
 * pow(±1, ±inf) = NaN, pow(1, NaN) = NaN, pow(x < 0, non-integer) = NaN, signs of odd integer
 * powers of negative x (and -0, -inf) kept. log2|x| and the product are f64 (relative error
 * about 2^-44), 2^t is f64 and rounded once to float32, subnormals included.
 */
export const f32x4Pow: SimdBinary = (f, scratch) =>
  emit(f, scratch, (e) => {
    const y = e.set();
    const x = e.set();
    e.get(x).f.f32x4Abs();
    const ax = e.set();
    // |x| = 2^k·(1 + fm), subnormals scaled by 2^24 first.
    const { f: fm, k } = splitLogScaled(e, ax, F32_LOG, 24);
    // k carries the special values into log2|x|: -inf for 0, |x| itself for inf and NaN.
    e.f32(-Infinity).get(ax).f32(0).f.f32x4Ne().v128Bitselect();
    e.get(ax).get(ax).f32(Infinity).f.f32x4Lt().v128Bitselect();
    f.localSet(k);
    const results: { p: number }[] = [];
    for (const half of [0, 1] as const) {
      const promote = (v: number): number => {
        e.get(v);
        if (half === 1) e.get(v).f.i8x16Shuffle(halves(1, 1));
        f.f64x2PromoteLowF32x4();
        return e.set();
      };
      const f64 = promote(fm);
      // s = f/(2 + f); log2|x| = k + (2s + s·z·Q(z))·log2 e
      e.get(f64).f64(2).get(f64).f.f64x2Add().f64x2Div();
      const s = e.set();
      e.get(s, s).f.f64x2Mul();
      const z = e.set();
      e.get(s, s).f.f64x2Add();
      e.get(s, z).hornerF64(z, LOG_Q64).f.f64x2Mul().f64x2Mul().f64x2Add();
      e.f64(LOG2E).f.f64x2Mul();
      e.get(promote(k)).f.f64x2Add();
      e.get(promote(y)).f.f64x2Mul();
      // 2^t = 2^n·(1 + r·E(r)), t clamped to [-160, 130] (beyond: 0 or inf in float32).
      e.f64(-160).f.f64x2Pmax();
      e.f64(130).f.f64x2Pmin();
      const t = e.tee();
      e.f64(ROUND_F64).f.f64x2Add();
      const rounded = e.tee();
      e.f64(ROUND_F64).f.f64x2Sub();
      const n = e.set();
      e.get(t, n).f.f64x2Sub();
      const r = e.set();
      e.get(r).hornerF64(r, EXP2_E64).f.f64x2Mul();
      e.f64(1).f.f64x2Add();
      // 2^n as f64: (n + 1023) << 20 in the high word of each lane (n is in the low words).
      e.get(rounded).i32(1023).f.i32x4Add().i32Const(20).i32x4Shl();
      e.i32(0).f.i8x16Shuffle([16, 17, 18, 19, 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11]);
      f.f64x2Mul().f32x4DemoteF64x2Zero();
      results.push({ p: e.set() });
    }
    e.get(results[0]!.p, results[1]!.p).f.i8x16Shuffle(halves(0, 0));
    const res = e.set();
    // y integer (±inf counts), and odd: |y| < 2^24 with the low bit of trunc(y) set.
    e.get(y).f.f32x4Nearest().localGet(y).f32x4Eq();
    const yInt = e.set();
    e.get(y).f.i32x4TruncSatF32x4S().i32Const(31).i32x4Shl().i32Const(31).i32x4ShrS();
    e.get(y).f.f32x4Abs();
    e.f32(2 ** 24)
      .f.f32x4Lt()
      .v128And();
    e.get(yInt).f.v128And();
    // Negative x (by its sign bit, so -0 and -inf too) to an odd power: negate.
    e.get(x).f.v128And();
    e.i32(0x80000000).f.v128And();
    e.get(res).f.v128Xor();
    // NaN for finite negative x to a non-integer power; 1 for y = ±0.
    e.f32(NaN);
    e.get(x).f32(0).f.f32x4Lt();
    e.get(x).f32(-Infinity).f.f32x4Ne().v128And();
    e.get(yInt).f.v128Andnot().v128Not().v128Bitselect();
    e.f32(1).get(y).f32(0).f.f32x4Ne().v128Bitselect();
  });

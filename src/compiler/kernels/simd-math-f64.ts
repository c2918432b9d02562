/**
 * Vectorised float64 math functions emitted inline into WebAssembly kernels, the f64x2
 * counterparts of `simd-math.ts`: each replaces the v128 of two f64 lanes on top of the operand
 * stack with the function's value, using scratch locals.
 *
 * Methods (fdlibm's, in two lanes at once, with no table lookups and no branches):
 *
 * - exp, expm1: x = n·ln2 + r (Cody–Waite, `LN2_HI`·n exact), |r| ≤ ln2/2, the rounding error
 *   of r carried as a correction, expm1(r) = r + r²·P(r) with the Taylor coefficients up to
 *   r¹³/13! (truncation error 2^-57.7), and the scaling by 2^n done in two exact steps (overflow
 *   gives inf, results below the normal range round once, correctly, to subnormals).
 * - log, log1p: x = 2^k·(1 + f) with 1 + f in [√½, √2), s = f/(2 + f) and fdlibm's polynomial in
 *   s² (`LOG_LG`, error 2^-58.45), combined in fdlibm's order; log1p adds the rounding error of
 *   1 + x (an exact two-sum) as c/(1 + x).
 * - tanh a = t/(t + 2) with t = expm1(2a), a = |x| (sign put back), its series below 0.3;
 *   logistic from e = exp(−|x|) as 1/(1 + e) or e/(1 + e), e and 1 + e carried exactly.
 * - atan: fdlibm's reduction by interval and polynomial (the same values as V8's `Math.atan`).
 * - sin, cos: x − n·π/2 with π/2 in four parts and exact rounding errors (|x| < 1.6e6), then
 *   fdlibm's kernels; larger, infinite or NaN lanes call `Math.sin` / `Math.cos` (the kernel
 *   module imports them: `runtime/host-functions.ts`).
 *
 * Accuracy, largest error in ulps of the exact result over 4M random inputs per function
 * (extended-precision reference) and the fixture of `test/compiler/simd-math-f64.test.ts`
 * (exact references, the sweep's worst inputs among them): exp 0.84, expm1 0.86, log 0.74,
 * log1p 0.87, tanh 1.48, logistic 1.03, atan 0.82, sin 0.77, cos 0.78. Special values follow `Math`: NaN in → NaN out,
 * exp(-inf) = 0, exp(inf) = inf, log(±0) = -inf, log(x < 0) = NaN, tanh(±inf) = ±1, signed zeros
 * kept (expm1, log1p, tanh).
 *
 * Costs: 120–180 Melem/s on one x64 core (tanh about 90), 0.9–1.9× a JS loop calling `Math` on a
 * Float64Array (`bench/simd-math.ts`); the gain in fluxion is that float64 chains with these
 * functions fuse into one WebAssembly loop, eagerly and compiled alike, and split over threads.
 */
import { emit, type Emit, type ScratchLocals, type SimdUnary } from "./simd-math-core.js";
import { expFunctions, expm1Of, type ExpPrecision } from "./simd-math-exp.js";
import { logFunctions, type LogPrecision } from "./simd-math-log.js";
import type { FunctionBuilder } from "../wasm/module.js";

/** ln 2 split so that `n·LN2_HI` is exact for |n| < 2^11 (fdlibm's ln2_hi, ln2_lo). */
const LN2_HI = 6.9314718036912381649e-1;
const LN2_LO = 1.90821492927058770002e-10;
const LOG2E = 1.4426950408889634;
/** 1.5·2^52: x + ROUND − ROUND rounds |x| < 2^51 to an integer (ties to even). */
const ROUND = 6755399441055744;
/**
 * ROUND + 1023: the bits of `k + ROUND_BIASED` (k an integer in [-1022, 1023]) shifted left by 52
 * are those of 2^k (the bits of ROUND end in 12 zero bits, so only k + 1023 is left).
 */
const ROUND_BIASED = ROUND + 1023;

/** expm1(r) = r + r²·P(r): the Taylor coefficients 1/2!, 1/3!, …, 1/13!. */
const EXPM1_P = Array.from({ length: 12 }, (_, i) => {
  let factorial = 1;
  for (let j = 2; j <= i + 2; j++) factorial *= j;
  return 1 / factorial;
});

/** fdlibm's Lg1…Lg7: log(1+f) = f − hfsq + s·(hfsq + R), R = Σ Lgᵢ·s²ⁱ. */
const LOG_LG = [
  6.66666666666673513e-1, 3.999999999940941908e-1, 2.857142874366239149e-1, 2.222219843214978396e-1,
  1.818357216161805012e-1, 1.531383769920937332e-1, 1.479819860511658591e-1,
];

/** `emit` in f64x2 lanes. */
function emit64(
  f: FunctionBuilder,
  scratch: ScratchLocals | undefined,
  body: (e: Emit) => void,
): void {
  emit(f, scratch, body, "f64x2");
}

/** Pushes the i64 lanes `high·2^32` (a pattern with a zero low word). */
function highWord(e: Emit, high: number): void {
  e.i32x4(0, high, 0, high);
}

/** Pushes 2^k for the integer-valued f64 lanes `k` on the stack, k in [-1022, 1023]. */
function pow2(e: Emit): void {
  e.f64(ROUND_BIASED).f.f64x2Add().i32Const(52).i64x2Shl();
}

/**
 * Multiplies the f64 lanes on the stack by 2^n, `n` an integer-valued f64 local in
 * [-2044, 2046], in two exact steps: overflow becomes ±inf and a result below the normal range
 * rounds once, correctly, to a subnormal or zero.
 */
function scaleBy2n(e: Emit, n: number): void {
  e.get(n).f64(0.5).f.f64x2Mul().f64x2Floor();
  const half = e.tee();
  pow2(e);
  e.f.f64x2Mul();
  e.get(n, half).f.f64x2Sub();
  pow2(e);
  e.f.f64x2Mul();
}

const F64_EXP: ExpPrecision = {
  ln2Hi: LN2_HI,
  ln2Lo: LN2_LO,
  coefficients: EXPM1_P,
  round: (e, x) => {
    e.get(x).float(LOG2E).op("mul");
    e.float(ROUND).op("add");
    e.float(ROUND).op("sub");
    const n = e.set();
    return { nf: n, n };
  },
  scale: scaleBy2n,
  pow2Neg: (e, n) => {
    // 2^-n no smaller than 2^-1000, where it no longer matters.
    e.get(n).op("neg");
    e.float(-1000).op("pmax");
    pow2(e);
  },
  // Beyond [-746, 710] exp is 0 or inf (n stays in [-1077, 1025]); expm1 rounds to -1 below -38.
  exp: [-746, 710],
  expm1: [-38, 710],
};

/** exp, expm1 and the logistic sigmoid in f64x2 (see `expFunctions`). */
export const {
  exp: f64x2Exp,
  expm1: f64x2Expm1,
  logistic: f64x2Logistic,
} = expFunctions(F64_EXP, "f64x2");

/**
 * tanh(a) = a + a³·T(a²) for |a| < `TANH_SERIES_LIMIT`: the Taylor coefficients of tanh up to
 * a²³ (truncation error 2^-57.7 at the limit).
 */
const TANH_T = [
  -0.3333333333333333, 0.13333333333333333, -0.05396825396825397, 0.021869488536155203,
  -0.008863235529902197, 0.003592128036572481, -0.0014558343870513183, 0.000590027440945586,
  -0.00023912911424355248, 9.691537956929451e-5, -3.927832388331683e-5,
];
/** Below this |x|, tanh uses its series (t/(t + 2) loses up to 2.3 ulp near 0). */
const TANH_SERIES_LIMIT = 0.3;

/**
 * tanh(x), lanewise: its series below |x| = 0.3, else t/(t + 2) with t = expm1(2|x|), the sign of
 * x put back: tanh(±0) = ±0, exactly ±1 from |x| ≈ 19.06 on (also ±inf), NaN → NaN.
 */
export const f64x2Tanh: SimdUnary = (f, scratch) =>
  emit64(f, scratch, (e) => {
    const x = e.set();
    // tanh rounds to 1 from 19.06 on; the clamp keeps t finite.
    e.get(x).f.f64x2Abs();
    e.f64(20).f.f64x2Pmin();
    const a = e.set();
    e.get(a, a).f.f64x2Add();
    const twoA = e.set();
    expm1Of(e, twoA, F64_EXP);
    const t = e.tee();
    e.get(t).f64(2).f.f64x2Add().f64x2Div();
    e.get(a, a).f.f64x2Mul();
    const z = e.set();
    e.get(a);
    e.hornerF64(z, TANH_T).get(z, a).f.f64x2Mul().f64x2Mul().f64x2Add();
    e.get(a).f64(TANH_SERIES_LIMIT).f.f64x2Ge().v128Bitselect();
    e.signOf(x).f.v128Or();
  });

/**
 * Splits the positive normal f64 lanes of local `u` into `u = 2^k·(1 + f)`, 1 + f in [√½, √2);
 * returns locals with f (exact) and k (as f64).
 */
function splitLog(e: Emit, u: number): { f: number; k: number } {
  const { f } = e;
  // ix = bits(u) + (1 − √½ in the high word): the exponent field then counts from √½.
  e.get(u);
  highWord(e, 0x3ff00000 - 0x3fe6a09e);
  f.i64x2Add();
  const ix = e.set();
  // k + 1023 + 2^52 as a double, minus 2^52 + 1023.
  e.get(ix).f.i32Const(52).i64x2ShrU();
  e.f64(2 ** 52).f.v128Or();
  e.f64(2 ** 52 + 1023).f.f64x2Sub();
  const k = e.set();
  e.get(ix).i32x4(-1, 0x000fffff, -1, 0x000fffff).f.v128And();
  highWord(e, 0x3fe6a09e);
  f.i64x2Add();
  e.f64(1).f.f64x2Sub();
  return { f: e.set(), k };
}

/** What log and log1p need of float64 (`simd-math-log.ts`). */
const F64_LOG: LogPrecision = {
  ln2Hi: LN2_HI,
  ln2Lo: LN2_LO,
  coefficients: LOG_LG,
  split: splitLog,
  power: 54,
  smallestNormal: 2 ** -1022,
};

/** log and log1p in f64x2 (see `logFunctions`). */
export const { log: f64x2Log, log1p: f64x2Log1p } = logFunctions(F64_LOG, "f64x2");

/** fdlibm's atan(1/2), atan(1), atan(3/2), atan(inf) = π/2, each as hi + lo. */
const ATAN_HI = [
  4.63647609000806093515e-1, 7.85398163397448278999e-1, 9.82793723247329054082e-1,
  1.570796326794896558,
];
const ATAN_LO = [
  2.26987774529616870924e-17, 3.06161699786838301793e-17, 1.39033110312309984516e-17,
  6.12323399573676603587e-17,
];
/** fdlibm's aT: atan t = t − t·(z·Σ aT[2i]·w^i + w·Σ aT[2i+1]·w^i), z = t², w = z² on |t| ≤ 7/16. */
const ATAN_T = [
  3.33333333333329318027e-1, -1.99999999998764832476e-1, 1.42857142725034663711e-1,
  -1.1111110405462355788e-1, 9.09088713343650656196e-2, -7.69187620504482999495e-2,
  6.66107313738753120669e-2, -5.83357013379057348645e-2, 4.97687799461593236017e-2,
  -3.6531572744216915527e-2, 1.62858201153657823623e-2,
];

/**
 * atan(x), lanewise, as fdlibm computes it (error below 1 ulp): |x| is reduced by its interval
 * (bounds 7/16, 11/16, 19/16, 39/16) to t = |x|, (2|x| − 1)/(2 + |x|), (|x| − 1)/(|x| + 1),
 * (|x| − 3/2)/(1 + 3/2·|x|) or −1/|x|, then atan|x| = hi − ((t·s − lo) − t) with hi + lo = atan
 * of the interval's point (0 for the first) and s the polynomial in t², the sign of x put back:
 * atan(±0) = ±0, atan(±inf) = ±π/2, NaN → NaN.
 */
export const f64x2Atan: SimdUnary = (f, scratch) =>
  emit64(f, scratch, (e) => {
    const x = e.set();
    e.get(x).f.f64x2Abs();
    const a = e.set();
    const masks = [7 / 16, 11 / 16, 19 / 16, 39 / 16].map((bound) => {
      e.get(a).f64(bound).f.f64x2Ge();
      return e.set();
    });
    /** The first form, replaced by each next one where |x| reaches its interval. */
    const byInterval = (forms: readonly (() => void)[]): number => {
      forms[0]!();
      let value = e.set();
      masks.forEach((mask, i) => {
        forms[i + 1]!();
        e.get(value, mask).f.v128Bitselect();
        value = e.set();
      });
      return value;
    };
    const num = byInterval([
      () => e.get(a),
      () => {
        e.get(a, a).f.f64x2Add();
        e.f64(1).f.f64x2Sub();
      },
      () => e.get(a).f64(1).f.f64x2Sub(),
      () => e.get(a).f64(1.5).f.f64x2Sub(),
      () => e.f64(-1),
    ]);
    const den = byInterval([
      () => e.f64(1),
      () => e.f64(2).get(a).f.f64x2Add(),
      () => e.get(a).f64(1).f.f64x2Add(),
      () => e.f64(1).f64(1.5).get(a).f.f64x2Mul().f64x2Add(),
      () => e.get(a),
    ]);
    const hi = byInterval([() => e.f64(0), ...ATAN_HI.map((v) => () => void e.f64(v))]);
    const lo = byInterval([() => e.f64(0), ...ATAN_LO.map((v) => () => void e.f64(v))]);
    e.get(num, den).f.f64x2Div();
    const t = e.set();
    e.get(t, t).f.f64x2Mul();
    const z = e.set();
    e.get(z, z).f.f64x2Mul();
    const w = e.set();
    const even = ATAN_T.filter((_, i) => i % 2 === 0);
    const odd = ATAN_T.filter((_, i) => i % 2 === 1);
    // hi − ((t·(z·E(w) + w·O(w)) − lo) − t)
    e.get(hi);
    e.get(t);
    e.get(z).hornerF64(w, even).f.f64x2Mul();
    e.get(w).hornerF64(w, odd).f.f64x2Mul();
    f.f64x2Add().f64x2Mul();
    e.get(lo).f.f64x2Sub();
    e.get(t).f.f64x2Sub();
    f.f64x2Sub();
    e.signOf(x).f.v128Or();
  });

// ── sin, cos ─────────────────────────────────────────────────────────────────────────────

const INV_PIO2 = 6.36619772367581382433e-1;
/** π/2 in 33-bit parts (fdlibm's pio2_1, pio2_2, pio2_3) and the rest: n·part is exact for |n| < 2^20. */
const PIO2_1 = 1.57079632673412561417;
const PIO2_2 = 6.0771005063039659766e-11;
const PIO2_3 = 2.0222662487111664558e-21;
const PIO2_3T = 8.47842766036889956997e-32;
/** Lanes with |x| below this (just under 2^20·π/2) take the vector reduction; others call Math. */
const SIN_COS_VECTOR_LIMIT = 1.6e6;
/** fdlibm's __kernel_sin and __kernel_cos coefficients (errors below 2^-58 on |r| ≤ π/4). */
const SIN_S = [
  -1.66666666666666324348e-1, 8.33333333332248946124e-3, -1.98412698298579493134e-4,
  2.75573137070700676789e-6, -2.50507602534068634195e-8, 1.58969099521155010221e-10,
];
const COS_C = [
  4.16666666666666019037e-2, -1.38888888888741095749e-3, 2.48015872894767294178e-5,
  -2.75573143513906633035e-7, 2.0875723212981748279e-9, -1.13596475577881948265e-11,
];

/**
 * Pushes a − b for locals a and b and pops it into a new local `s`; returns s and the exact
 * rounding error e = (a − b) − s (Knuth's two-sum).
 */
function twoDiff(e: Emit, a: number, b: number): { s: number; err: number } {
  const { f } = e;
  e.get(a, b).f.f64x2Sub();
  const s = e.set();
  e.get(s, a).f.f64x2Sub();
  const bb = e.set();
  // (a − (s − bb)) + (−b − bb)
  e.get(a);
  e.get(s, bb).f.f64x2Sub();
  f.f64x2Sub();
  e.get(b).f.f64x2Neg().localGet(bb).f64x2Sub();
  f.f64x2Add();
  return { s, err: e.set() };
}

/**
 * sin (offset 0) or cos (offset 1) of local `x`. x = n·π/2 + y0 + y1 with n = nearest(x·2/π):
 * x − n·PIO2_1 is exact, the next parts are subtracted with their rounding errors kept (products
 * exact), so y0 + y1 carries r to about 2^-150 absolute for |x| < 2^20·π/2; then fdlibm's kernels,
 * picked and signed by the quadrant (n + offset) mod 4. Other lanes (large, infinite or NaN) are
 * replaced by `Math.sin` / `Math.cos` through the module's `math` imports, only when some lane needs it.
 */
function sinCosF64(e: Emit, x: number, offset: 0 | 1): void {
  const { f } = e;
  e.get(x).f64(INV_PIO2).f.f64x2Mul();
  e.f64(ROUND).f.f64x2Add();
  const rounded = e.tee();
  e.f64(ROUND).f.f64x2Sub();
  const n = e.set();
  e.get(x, n).f64(PIO2_1).f.f64x2Mul().f64x2Sub();
  const a = e.set();
  e.get(n).f64(PIO2_2).f.f64x2Mul();
  const p2 = e.set();
  const first = twoDiff(e, a, p2);
  e.get(n).f64(PIO2_3).f.f64x2Mul();
  const p3 = e.set();
  const second = twoDiff(e, first.s, p3);
  e.get(first.err, second.err).f.f64x2Add();
  e.get(n).f64(PIO2_3T).f.f64x2Mul().f64x2Sub();
  const tail = e.set();
  e.get(second.s, tail).f.f64x2Add();
  const y0 = e.set();
  e.get(second.s, y0).f.f64x2Sub().localGet(tail).f64x2Add();
  const y1 = e.set();
  e.get(y0, y0).f.f64x2Mul();
  const z = e.set();
  // sin: y0 − ((z·(y1/2 − v·R) − y1) − v·S1), v = z·y0, R = S2 + z·(S3 + …)
  e.get(z, y0).f.f64x2Mul();
  const v = e.set();
  e.get(y0);
  e.f64(0.5).get(y1).f.f64x2Mul();
  e.get(v).hornerF64(z, SIN_S.slice(1)).f.f64x2Mul().f64x2Sub();
  e.get(z).f.f64x2Mul().localGet(y1).f64x2Sub();
  e.get(v).f64(SIN_S[0]!).f.f64x2Mul().f64x2Sub();
  f.f64x2Sub();
  const sin = e.set();
  // cos: w + (((1 − w) − hz) + (z·R − y0·y1)), hz = z/2, w = 1 − hz, R = z·C(z)
  e.f64(0.5).get(z).f.f64x2Mul();
  const hz = e.set();
  e.f64(1).get(hz).f.f64x2Sub();
  const w = e.tee();
  e.f64(1).get(w).f.f64x2Sub().localGet(hz).f64x2Sub();
  e.hornerF64(z, COS_C).get(z, z).f.f64x2Mul().f64x2Mul();
  e.get(y0, y1).f.f64x2Mul().f64x2Sub();
  f.f64x2Add().f64x2Add();
  const cos = e.set();
  // The quadrant q = n + offset (cos x = sin(x + π/2)) sits in the low bits of `rounded`:
  // q mod 4 = 0, 1, 2, 3 gives sin r, cos r, −sin r, −cos r.
  e.get(rounded);
  if (offset === 1) e.i32x4(1, 0, 1, 0).f.i64x2Add();
  const q = e.set();
  e.get(cos, sin);
  e.get(q).i32x4(1, 0, 1, 0).f.v128And();
  e.i32x4(1, 0, 1, 0).f.i64x2Eq().v128Bitselect();
  e.get(q).f.i32Const(62).i64x2Shl();
  e.i32x4(0, 0x80000000, 0, 0x80000000).f.v128And().v128Xor();
  const result = e.set();
  // Lanes outside the vector reduction's range: the host's Math.sin / Math.cos.
  e.get(x).f.f64x2Abs();
  e.f64(SIN_COS_VECTOR_LIMIT).f.f64x2Lt().v128Not().v128AnyTrue();
  f.if(() => {
    const host = f.imported("math", offset === 0 ? "sin" : "cos");
    for (const lane of [0, 1] as const) {
      e.get(x).f.f64x2ExtractLane(lane).f64Abs().f64Const(SIN_COS_VECTOR_LIMIT).f64Lt().i32Eqz();
      f.if(() => {
        e.get(result, x).f.f64x2ExtractLane(lane).call(host).f64x2ReplaceLane(lane);
        f.localSet(result);
      });
    }
  });
  e.get(result);
}

/** sin(x), lanewise (below 1 ulp, as fdlibm): sin(±0) = ±0, sin(±inf) = NaN. */
export const f64x2Sin: SimdUnary = (f, scratch) =>
  emit64(f, scratch, (e) => {
    const x = e.set();
    sinCosF64(e, x, 0);
    // sin(-0) = -0 (the reduction's sums turn it into +0).
    e.get(x, x).f64(0).f.f64x2Ne().v128Bitselect();
  });

/** cos(x), lanewise (below 1 ulp, as fdlibm): cos(±inf) = NaN. */
export const f64x2Cos: SimdUnary = (f, scratch) =>
  emit64(f, scratch, (e) => {
    const x = e.set();
    sinCosF64(e, x, 1);
  });

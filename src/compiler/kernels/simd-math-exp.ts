/**
 * exp, expm1 and the logistic sigmoid in either float lanes (f32x4 for `simd-math.ts`, f64x2 for
 * `simd-math-f64.ts`): x = n·ln2 + r (Cody–Waite, n·ln2Hi exact), |r| ≤ ln2/2, the rounding error
 * c of r carried as a correction, expm1(r) = r + r²·P(r), and the scaling by 2^n done in two
 * exact steps (overflow gives inf, results below the normal range round once, correctly, to
 * subnormals). The dtype gives ln2's parts, P's coefficients, how n is rounded and kept (i32
 * lanes for f32, an integer-valued float for f64), how 2^n scales, and the clamping ranges.
 */
import { emit, type Emit, type FloatLanes, type SimdUnary } from "./simd-math-core.js";

/** What exp needs to know of its float lanes. */
export interface ExpPrecision {
  /** ln 2 = ln2Hi + ln2Lo, with n·ln2Hi exact for every n the clamped inputs give. */
  ln2Hi: number;
  ln2Lo: number;
  /** P(r) = Σ cᵢ·rⁱ: expm1(r) ≈ r + r²·P(r) on |r| ≤ ln2/2. */
  coefficients: readonly number[];
  /**
   * From the clamped lanes of local `x`, the nearest integer to x·log2 e as a float (`nf`, for
   * the reduction) and in the form `scale` and `pow2Neg` take (`n`), as locals.
   */
  round: (e: Emit, x: number) => { nf: number; n: number };
  /** Multiplies the lanes on the stack by 2^n (`n` from `round`), in two exact steps. */
  scale: (e: Emit, n: number) => void;
  /** Pushes 2^-n (`n` from `round`), or a power so small that it no longer matters. */
  pow2Neg: (e: Emit, n: number) => void;
  /** exp is 0 below `exp[0]` and overflows above `exp[1]` (so n stays in `scale`'s range). */
  exp: readonly [number, number];
  /** expm1 rounds to -1 below `expm1[0]` and overflows above `expm1[1]`. */
  expm1: readonly [number, number];
}

interface ExpCore {
  /** n, as `round` gives it. */
  n: number;
  /** The reduced argument r. */
  r: number;
  /** expm1(r + c) − r, c the rounding error of r: exp(x) = 2^n·(1 + r + q). */
  q: number;
}

/**
 * Pushes `x` clamped to [lo, hi] and pops it into a new local. NaN stays NaN: pmax(x, lo) is
 * `x < lo ? lo : x` and pmin(x, hi) is `hi < x ? hi : x` (single instructions, unlike min/max).
 */
function clamp(e: Emit, x: number, [lo, hi]: readonly [number, number]): number {
  e.get(x).float(lo).op("pmax");
  e.float(hi).op("pmin");
  return e.set();
}

/**
 * Reduces the lanes of local `x` (clamped by the caller, or NaN) as x = n·ln2 + r + c with
 * n = nearest(x·log2 e), |r| ≤ ln2/2 (and a little) and c the rounding error of r, and evaluates
 * q = r²·P(r) + c·(1 + r).
 */
function expCore(e: Emit, x: number, p: ExpPrecision): ExpCore {
  const { nf, n } = p.round(e, x);
  e.get(x, nf).float(p.ln2Hi).op("mul").op("sub");
  const hi = e.tee();
  e.get(nf).float(p.ln2Lo).op("mul");
  const lo = e.tee();
  e.op("sub");
  const r = e.set();
  e.get(hi, r).op("sub");
  e.get(lo).op("sub");
  const c = e.set();
  e.horner(r, p.coefficients).get(r, r).op("mul").op("mul");
  e.get(r).float(1).op("add");
  e.get(c).op("mul").op("add");
  return { n, r, q: e.set() };
}

/** Pushes exp(x) for the lanes of local `x` (any values). */
export function expOf(e: Emit, x: number, p: ExpPrecision): void {
  const { n, r, q } = expCore(e, clamp(e, x, p.exp), p);
  e.get(r, q).op("add");
  e.float(1).op("add");
  p.scale(e, n);
}

/**
 * exp(x) of local `x` ≤ 0 (clamped to [exp's lower bound, 0]) as two locals hi + lo,
 * |lo| ≤ ulp(hi)/2 (the error of the polynomial together); scaled by 2^n, so exact unless
 * subnormal.
 */
function expSplit(e: Emit, x: number, p: ExpPrecision): { hi: number; lo: number } {
  const { n, r, q } = expCore(e, clamp(e, x, [p.exp[0], 0]), p);
  // v = r + q, then 1 + v exactly as pHi + pLo (with v's own rounding error).
  e.get(r, q).op("add");
  const v = e.set();
  e.float(1).get(v).op("add");
  const pHi = e.set();
  e.float(1).get(pHi).op("sub").get(v).op("add");
  e.get(r, v).op("sub").get(q).op("add");
  e.op("add");
  const pLo = e.set();
  e.get(pHi);
  p.scale(e, n);
  const hi = e.set();
  e.get(pLo);
  p.scale(e, n);
  return { hi, lo: e.set() };
}

/** Pushes expm1(x) for local `x`; keeps the sign of x (expm1(-0) = -0). */
export function expm1Of(e: Emit, x: number, p: ExpPrecision): void {
  const { n, r, q } = expCore(e, clamp(e, x, p.expm1), p);
  // expm1(x) = 2^n·(t + r + q) with t + tLo = 1 − 2^-n exactly (t rounds for large |n|).
  p.pow2Neg(e, n);
  const twoMinusN = e.set();
  e.float(1).get(twoMinusN).op("sub");
  const t = e.set();
  // Knuth's two-sum of 1 and −2^-n: 1 − t alone is inexact once t rounds below −2^precision.
  e.get(t).float(1).op("sub");
  const bb = e.set();
  e.float(1).get(t, bb).op("sub").op("sub");
  e.get(twoMinusN, bb).op("add").op("sub");
  const tLo = e.set();
  // Fast two-sum: sum = t + r exactly as sum + err (|t| ≥ |r| whenever t ≠ 0).
  e.get(t, r).op("add");
  const sum = e.tee();
  e.get(t).get(sum).op("sub");
  e.get(r).op("add");
  e.get(q).op("add");
  e.get(tLo).op("add");
  e.op("add");
  p.scale(e, n);
  e.signOf(x).f.v128Or();
}

/**
 * Pushes the logistic sigmoid 1/(1 + exp(−x)) of local `x`. With u = exp(−|x|) = uHi + uLo and
 * 1 + u = d + dLo (both exact splits), σ = num/(d + dLo) for num = u (x < 0) or 1, evaluated as
 * q + (numLo − q·dLo)/d, q = num/d: about the error of one division.
 */
function logisticOf(e: Emit, x: number, p: ExpPrecision): void {
  e.get(x).op("abs").op("neg");
  const u = expSplit(e, e.set(), p);
  e.float(1).get(u.hi).op("add");
  const d = e.set();
  e.float(1).get(d).op("sub").get(u.hi).op("add").get(u.lo).op("add");
  const dLo = e.set();
  e.get(x).float(0).op("lt");
  const negative = e.set();
  e.get(u.hi).float(1).get(negative).f.v128Bitselect();
  e.get(d).op("div");
  const q = e.tee();
  e.get(u.lo, negative).f.v128And();
  e.get(q, dLo).op("mul").op("sub");
  e.get(d).op("div").op("add");
}

/**
 * exp, expm1 and logistic for the lanes `lanes` with the precision `p`, lanewise: exp(-inf) = 0,
 * exp(inf) = inf, overflow → inf, subnormal results rounded once; expm1 accurate near 0,
 * expm1(-0) = -0; logistic subnormal or 0 far below 0. NaN in → NaN out.
 */
export function expFunctions(
  p: ExpPrecision,
  lanes: FloatLanes,
): { exp: SimdUnary; expm1: SimdUnary; logistic: SimdUnary } {
  const of =
    (body: typeof expOf): SimdUnary =>
    (f, scratch) =>
      emit(f, scratch, (e) => body(e, e.set(), p), lanes);
  return { exp: of(expOf), expm1: of(expm1Of), logistic: of(logisticOf) };
}

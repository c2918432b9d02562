/**
 * log and log1p in either float lanes (f32x4 for `simd-math.ts`, f64x2 for `simd-math-f64.ts`),
 * fdlibm's method: u = 2^k·(1 + f) with 1 + f in [√½, √2), s = f/(2 + f), and
 * log(1 + f) = f − (f²/2 − s·(f²/2 + R(s²))), combined with k·ln2 in two parts. The dtype gives
 * the split of u into k and f (bit manipulation of its own width), ln2's parts, R's coefficients
 * and how subnormal inputs are scaled.
 */
import { emit, type Emit, type FloatLanes, type SimdUnary } from "./simd-math-core.js";

/** What log needs to know of its float lanes. */
export interface LogPrecision {
  /** ln 2 = ln2Hi + ln2Lo, with k·ln2Hi exact for every exponent k. */
  ln2Hi: number;
  ln2Lo: number;
  /** R(z) = z·Σ cᵢ·zⁱ: log((1 + s)/(1 − s)) = 2s + s·R(s²). */
  coefficients: readonly number[];
  /** Splits the positive normal lanes of local `u` into f (exact) and k (a float), as locals. */
  split: (e: Emit, u: number) => { f: number; k: number };
  /** Subnormal inputs are multiplied by 2^power before the split, and k corrected. */
  power: number;
  /** The smallest normal number of the lanes' type. */
  smallestNormal: number;
}

/**
 * `split` of local `x` with subnormal lanes first scaled by 2^power; leaves the corrected
 * exponent `k − power·[x subnormal]` on the stack (the caller stores or uses it).
 */
export function splitLogScaled(
  e: Emit,
  x: number,
  p: LogPrecision,
  power = p.power,
): { f: number; k: number } {
  e.get(x)
    .float(2 ** power)
    .op("mul");
  e.get(x);
  e.get(x).float(p.smallestNormal).op("lt");
  const tiny = e.tee();
  e.f.v128Bitselect();
  const u = e.set();
  const split = p.split(e, u);
  e.get(split.k).float(power).get(tiny).f.v128And();
  e.op("sub");
  return split;
}

/**
 * Pushes k·ln2 + log(1 + fm) + extra, `extra` a local holding a small correction (or undefined),
 * in fdlibm's order: k·ln2Hi − ((hfsq − (s·(hfsq + R) + k·ln2Lo + extra)) − f).
 */
function logKernel(
  e: Emit,
  fm: number,
  k: number,
  extra: number | undefined,
  p: LogPrecision,
): void {
  e.get(fm).float(2).get(fm).op("add").op("div");
  const s = e.set();
  e.get(s, s).op("mul");
  const z = e.set();
  e.float(0.5).get(fm).op("mul").get(fm).op("mul");
  const hfsq = e.set();
  e.get(k).float(p.ln2Hi).op("mul");
  e.get(hfsq);
  e.get(s, hfsq).horner(z, p.coefficients).get(z).op("mul").op("add").op("mul");
  e.get(k).float(p.ln2Lo).op("mul");
  if (extra !== undefined) e.get(extra).op("add");
  e.op("add").op("sub");
  e.get(fm).op("sub").op("sub");
}

/** Pushes log(x) of local `x`: log(±0) = -inf, log(x < 0) = NaN, log(inf) = inf. */
export function logOf(e: Emit, x: number, p: LogPrecision): void {
  const { f: fm, k } = splitLogScaled(e, x, p);
  e.f.localSet(k);
  logKernel(e, fm, k, undefined, p);
  // Special cases: +inf, ±0, negatives and NaN.
  e.float(Infinity).get(x).float(Infinity).op("ne").f.v128Bitselect();
  e.float(-Infinity).get(x).float(0).op("ne").f.v128Bitselect();
  e.float(NaN).get(x).float(0).op("ge").f.v128Bitselect();
}

/** Pushes log(1 + x) of local `x`: log1p(-1) = -inf, NaN below -1, log1p(-0) = -0. */
export function log1pOf(e: Emit, x: number, p: LogPrecision): void {
  // u = 1 + x with its rounding error c (Knuth's two-sum); log(u + c) ≈ log(u) + c/u.
  e.float(1).get(x).op("add");
  const u = e.set();
  e.get(u, x).op("sub");
  const v = e.set();
  e.float(1).get(v).op("sub");
  e.get(x).get(u, v).op("sub").op("sub");
  e.op("add");
  e.get(u).op("div");
  const c = e.set();
  const { f: fm, k } = p.split(e, u);
  logKernel(e, fm, k, c, p);
  // Sign of x (exact for -0), then special cases: x = inf, x = -1, x < -1 or NaN.
  e.signOf(x).f.v128Or();
  e.float(Infinity).get(x).float(Infinity).op("ne").f.v128Bitselect();
  e.float(-Infinity).get(u).float(0).op("ne").f.v128Bitselect();
  e.float(NaN).get(u).float(0).op("ge").f.v128Bitselect();
}

/**
 * log and log1p for the lanes `lanes` with the precision `p`, lanewise: log(±0) = -inf,
 * log(x < 0) = NaN, log(inf) = inf; log1p accurate near 0, log1p(-1) = -inf, NaN below -1,
 * log1p(-0) = -0.
 */
export function logFunctions(
  p: LogPrecision,
  lanes: FloatLanes,
): { log: SimdUnary; log1p: SimdUnary } {
  const of =
    (body: typeof logOf): SimdUnary =>
    (f, scratch) =>
      emit(f, scratch, (e) => body(e, e.set(), p), lanes);
  return { log: of(logOf), log1p: of(log1pOf) };
}

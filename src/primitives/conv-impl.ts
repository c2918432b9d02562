/**
 * How `conv_general_dilated` runs: per feature/batch group, the input windows are laid out as a
 * column matrix `cols[I·K, N'·P]` (one row per input feature and kernel tap, one column per
 * example and output position; zeros in padding and dilation holes), the group's kernel
 * `[Og, I·K]` multiplies it with `dot_general` (the SIMD matmul, threaded when large), and the
 * `[Og, N'·P]` product is copied into the `[N', O, ...spatial']` output.
 *
 * Rows are filled a run at a time: along the last spatial dimension the valid output positions of
 * a tap form one range, copied by a tight loop (no per-element bounds test unless the input is
 * dilated), so building `cols` costs about as much as copying it.
 */
import { allocate, allocateUninitialized, type TypedArray } from "../core/dtype.js";
import { fromStorage, type ConcreteArray } from "../runtime/concrete.js";
import { dotGeneral } from "./dot.js";
import type { ConvParams } from "./conv.js";

const rowMajorStrides = (shape: readonly number[]): number[] => {
  const s = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) s[d] = s[d + 1]! * shape[d + 1]!;
  return s;
};

/** The geometry of one convolution, with at least one spatial dimension. */
interface Geometry {
  inSpatial: number[];
  kSpatial: number[];
  outSpatial: number[];
  strides: number[];
  padLow: number[];
  lhsDilation: number[];
  rhsDilation: number[];
}

/**
 * Fills `cols` rows `[c·K + t]` for input features `c0 … c0 + I` and examples `n0 … n0 + outN`
 * of `x` (`[N, C, ...inSpatial]`, contiguous).
 */
function im2col(
  x: TypedArray,
  xShape: readonly number[],
  g: Geometry,
  c0: number,
  I: number,
  n0: number,
  outN: number,
  cols: TypedArray,
): void {
  const spatial = g.inSpatial.length;
  const last = spatial - 1;
  const K = g.kSpatial.reduce((a, b) => a * b, 1);
  const P = g.outSpatial.reduce((a, b) => a * b, 1);
  const outW = g.outSpatial[last]!;
  const outer = P / outW; // output positions over all but the last spatial dimension
  const inStrides = rowMajorStrides(xShape);
  const kStrides = rowMajorStrides(g.kSpatial);
  const outStrides = rowMajorStrides(g.outSpatial);
  const rowLength = outN * P;
  const kd = new Array<number>(spatial).fill(0);
  const offsets = new Int32Array(outer);
  for (let c = 0; c < I; c++) {
    for (let t = 0; t < K; t++) {
      for (let d = 0; d < spatial; d++) kd[d] = Math.floor(t / kStrides[d]!) % g.kSpatial[d]!;
      const row = (c * K + t) * rowLength;
      // Along the last dimension: input position = ow·s + kw·rd - pad (in the dilated input).
      const s = g.strides[last]!;
      const ld = g.lhsDilation[last]!;
      const shift = kd[last]! * g.rhsDilation[last]! - g.padLow[last]!;
      const dilatedW = (g.inSpatial[last]! - 1) * ld + 1;
      // Valid ow: 0 ≤ ow·s + shift ≤ dilatedW - 1.
      const lo = Math.min(outW, Math.max(0, Math.ceil(-shift / s)));
      const hi = Math.max(lo, Math.min(outW, Math.floor((dilatedW - 1 - shift) / s) + 1));
      const wStride = inStrides[2 + last]!;
      for (let q = 0; q < outer; q++) {
        // The input offset of the outer coordinates within a (n, c) plane, or -1 when in padding.
        let offset = 0;
        for (let d = 0; d < last; d++) {
          const od = Math.floor(q / (outStrides[d]! / outW)) % g.outSpatial[d]!;
          const pos = od * g.strides[d]! + kd[d]! * g.rhsDilation[d]! - g.padLow[d]!;
          const ldd = g.lhsDilation[d]!;
          if (pos < 0 || pos > (g.inSpatial[d]! - 1) * ldd || pos % ldd !== 0) {
            offset = -1;
            break;
          }
          offset += (pos / ldd) * inStrides[2 + d]!;
        }
        offsets[q] = offset;
      }
      for (let n = 0; n < outN; n++) {
        const planeStart = (n0 + n) * inStrides[0]! + (c0 + c) * inStrides[1]!;
        for (let q = 0; q < outer; q++) {
          const to = row + n * P + q * outW;
          const offset = offsets[q]!;
          if (offset < 0) {
            for (let ow = 0; ow < outW; ow++) cols[to + ow] = 0;
            continue;
          }
          const plane = planeStart + offset;
          for (let ow = 0; ow < lo; ow++) cols[to + ow] = 0;
          for (let ow = hi; ow < outW; ow++) cols[to + ow] = 0;
          if (ld === 1) {
            let from = plane + (lo * s + shift) * wStride;
            const step = s * wStride;
            for (let ow = lo; ow < hi; ow++, from += step) cols[to + ow] = x[from]!;
          } else {
            for (let ow = lo; ow < hi; ow++) {
              const pos = ow * s + shift;
              cols[to + ow] = pos % ld === 0 ? x[plane + (pos / ld) * wStride]! : 0;
            }
          }
        }
      }
    }
  }
}

/**
 * A faster convolution for the cases it takes (installed by the runtime); `undefined` for the
 * rest. It must compute what the path below computes, with the same matmul.
 */
type FastConv = (
  lhs: ConcreteArray,
  rhs: ConcreteArray,
  p: ConvParams,
  shape: readonly number[],
) => ConcreteArray | undefined;
let fastConv: FastConv | undefined;

/** Installs the fast convolution (called once by the runtime). @internal */
export function installFastConv(f: FastConv): void {
  fastConv = f;
}

/** `conv_general_dilated` on concrete arrays (NCH… input, OIH… kernel, NCH… output). */
export function convImpl(
  lhs: ConcreteArray,
  rhs: ConcreteArray,
  p: ConvParams,
  shape: readonly number[],
): ConcreteArray {
  const fast = fastConv?.(lhs, rhs, p, shape);
  if (fast !== undefined) return fast;
  const x = lhs.toTypedArray();
  const w = rhs.toTypedArray();
  // No spatial dimension: one of size 1.
  const extra = lhs.ndim === 2 ? [1] : [];
  const g: Geometry = {
    inSpatial: [...lhs.shape.slice(2), ...extra],
    kSpatial: [...rhs.shape.slice(2), ...extra],
    outSpatial: [...shape.slice(2), ...extra],
    strides: [...p.windowStrides, ...extra],
    padLow: [...p.padding.map(([low]) => low), ...extra.map(() => 0)],
    lhsDilation: [...p.lhsDilation, ...extra],
    rhsDilation: [...p.rhsDilation, ...extra],
  };
  const xShape = [lhs.shape[0]!, lhs.shape[1]!, ...g.inSpatial];
  const P = g.outSpatial.reduce((a, b) => a * b, 1);
  const K = g.kSpatial.reduce((a, b) => a * b, 1);
  const [O, I] = [rhs.shape[0]!, rhs.shape[1]!];
  const G = p.featureGroupCount;
  const B = p.batchGroupCount;
  const groups = Math.max(G, B);
  const outN = lhs.shape[0]! / B;
  const Og = O / groups;
  const result = allocate(lhs.dtype, outN * O * P);
  if (result.length === 0 || I * K === 0) return fromStorage(result, shape, lhs.dtype, false);
  const cols = allocateUninitialized(lhs.dtype, I * K * outN * P);
  for (let group = 0; group < groups; group++) {
    im2col(x, xShape, g, G > 1 ? group * I : 0, I, B > 1 ? group * outN : 0, outN, cols);
    const kernel = fromStorage(
      w.subarray(group * Og * I * K, (group + 1) * Og * I * K),
      [Og, I * K],
      rhs.dtype,
      false,
    );
    const matrix = fromStorage(cols, [I * K, outN * P], lhs.dtype, false);
    const product = dotGeneral.spec.impl([kernel, matrix], {
      contracting: [[1], [0]],
      batch: [[], []],
    })[0] as ConcreteArray;
    const values = product.toTypedArray();
    // [Og, N'·P] → result[n, group·Og + o, :]
    for (let o = 0; o < Og; o++) {
      for (let n = 0; n < outN; n++) {
        const from = o * outN * P + n * P;
        result.set(values.subarray(from, from + P), (n * O + group * Og + o) * P);
      }
    }
  }
  return fromStorage(result, shape, lhs.dtype, lhs.weakType && rhs.weakType);
}

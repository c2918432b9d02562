/**
 * `pad` in kernel memory, for compiled calls: the result (in the call's arena) is filled with the
 * padding value, then the operand is scattered into the strided sub-grid it lands on by a
 * WebAssembly loop nest. This is the backward pass of every strided slice (a pooling tap), so a
 * training step of a convolutional network runs many of them.
 */
import { itemSize } from "../core/dtype.js";
import { contiguousStrides, shapeSize } from "../core/shape.js";
import type { PadConfig } from "../primitives/structural.js";
import { fromStorage, type ConcreteArray } from "./concrete.js";
import { maxRank, placeArrayIn, stridedCopy, zeroFill } from "./gather-kernels.js";
import { coalesce } from "./strided.js";
import { layout, memoryView, reserve } from "./wasm-memory.js";

/**
 * `pad(x, value)` written at byte `output` of kernel memory and returned as a view of it;
 * `undefined` for what the loops do not take (negative padding, which crops; too many axes).
 */
export function padInto(
  x: ConcreteArray,
  value: number,
  config: PadConfig,
  output: number,
): ConcreteArray | undefined {
  if (config.some(([lo, hi]) => lo < 0 || hi < 0)) return undefined;
  const shape = x.shape.map((d, i) => {
    const [lo, hi, interior] = config[i]!;
    return lo + hi + d + Math.max(0, d - 1) * interior;
  });
  const outStrides = contiguousStrides(shape);
  const placeStrides = outStrides.map((s, axis) => s * (config[axis]![2] + 1));
  const [dims, [, strides]] = coalesce(x.shape, [
    { data: x.data, strides: contiguousStrides(x.shape), offset: 0 },
    { data: x.data, strides: placeStrides, offset: 0 },
  ]);
  if (dims.length > maxRank) return undefined;
  const item = itemSize(x.dtype);
  const out = memoryView(x.dtype, output, shapeSize(shape));
  // Zeros (the usual padding) by memory.fill; other values element by element.
  if (Object.is(value, 0)) zeroFill(output, out.byteLength);
  else out.fill(value);
  if (x.size > 0) {
    const { offsets, total } = layout([x.size * item]);
    reserve(total);
    const source = placeArrayIn(x, offsets[0]!, total);
    const start = config.reduce((offset, [lo], axis) => offset + lo * outStrides[axis]!, 0);
    stridedCopy("scatter", item, source, output + start * item, dims, strides!);
  }
  return fromStorage(out, shape, x.dtype, x.weakType);
}

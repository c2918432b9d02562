/**
 * Placing arrays in kernel memory (src/runtime/gather-kernels.ts): strided views — transposes,
 * flips, stride-2 taps, broadcasts (rows of one repeated element, rows copied whole) — are
 * gathered by WebAssembly loops, from kernel memory or from their storage staged there first,
 * and land exactly as a row-major copy would; views the loops do not take are copied in.
 */
import { describe, expect, it } from "vitest";
import type { DType } from "../../src/core/dtype.js";
import { np } from "../../src/index.js";
import { asConcrete, fromStorage, view, type ConcreteArray } from "../../src/runtime/concrete.js";
import { placeArrayIn } from "../../src/runtime/gather-kernels.js";
import { copyIn, isResident, layout, memoryView, reserve } from "../../src/runtime/wasm-memory.js";

/** `x`'s elements as the kernel would read them after placing it. */
function placed(x: ConcreteArray): number[] {
  const item = x.data.BYTES_PER_ELEMENT;
  const { offsets, total } = layout([x.size * item]);
  reserve(total);
  const at = placeArrayIn(x, offsets[0]!, total);
  return Array.from(memoryView(x.dtype, at, x.size) as ArrayLike<number>, Number);
}

const rowMajor = (x: ConcreteArray): number[] =>
  Array.from(x.toTypedArray() as ArrayLike<number>, Number);

function filled(shape: number[], dtype: DType): ConcreteArray {
  const size = shape.reduce((a, b) => a * b, 1);
  const values = Array.from({ length: size }, (_, i) =>
    dtype === "bool" ? i % 3 === 0 : dtype === "int32" ? i - 500 : Math.sin(i) * 100,
  );
  return asConcrete(np.array(values as number[], { dtype }).reshape(shape));
}

/** A copy of `x` living in kernel memory (as an arena array does), past `layout`'s blocks. */
function resident(x: ConcreteArray): ConcreteArray {
  const data = x.toTypedArray();
  const { offsets, total } = layout([0, 4 * 1024 * 1024, data.byteLength]);
  reserve(total);
  copyIn(data, offsets[2]!);
  return fromStorage(memoryView(x.dtype, offsets[2]!, x.size), x.shape, x.dtype);
}

const transposed = (x: ConcreteArray, perm: number[]): ConcreteArray =>
  view(
    x,
    perm.map((p) => x.shape[p]!),
    perm.map((p) => x.strides[p]!),
    x.offset,
  );

describe.each(["float32", "float64", "int32", "bool"] as const)("placeArrayIn (%s)", (dtype) => {
  it("transposes, flips and stride-2 taps land row-major, from JS storage and from memory", () => {
    const inJs = filled([6, 8, 28, 29], dtype);
    for (const [base, inMemory] of [
      [inJs, false],
      [resident(inJs), true],
    ] as const) {
      expect(isResident(base)).toBe(inMemory);
      const views = [
        transposed(base, [0, 1, 3, 2]),
        transposed(base, [3, 2, 1, 0]),
        asConcrete(np.flip(base, { axis: 3 })),
        view(base, [6, 8, 14, 14], [base.strides[0]!, base.strides[1]!, 2 * 29, 2], 29 + 1),
      ];
      for (const v of views) expect(placed(v)).toEqual(rowMajor(v));
    }
  });

  it("stride-2 rows and contiguous rows of every length from 1 to 140 elements", () => {
    // Every other element: vectors of four, then the last 1–4 one by one; contiguous rows:
    // vectors, the rest one by one, and memory.copy from 512 bytes on.
    // Enough rows that the view is gathered by the loops (short views are copied in from JS).
    const base = filled([1100, 2 * 140 + 3], dtype);
    const inMemory = resident(base);
    for (let n = 1; n <= 140; n++) {
      const rows = Math.ceil(1100 / n);
      for (const step of [2, 1]) {
        const v = view(base, [rows, n], [base.strides[0]!, step], 1);
        expect(placed(v), `${n} elements, stride ${step}`).toEqual(rowMajor(v));
        const w = view(inMemory, [rows, n], [base.strides[0]!, step], 1);
        expect(placed(w), `${n} elements, stride ${step}`).toEqual(rowMajor(v));
      }
    }
  });

  it("broadcasts: one repeated element per row (any length), and rows copied whole", () => {
    const bias = filled([16], dtype);
    const cases = [
      view(bias, [8, 16, 9, 9], [0, 1, 0, 0], 0),
      view(bias, [3, 16, 7, 33], [0, 1, 0, 0], 0),
      view(bias, [80, 16], [0, 1], 0),
      view(filled([1], dtype), [40, 41], [0, 0], 0),
      view(filled([37], dtype), [50, 37], [0, 1], 0),
    ];
    for (const v of cases) {
      expect(placed(v)).toEqual(rowMajor(v));
      expect(placed(view(resident(bias), [8, 16, 9, 9], [0, 1, 0, 0], 0))).toEqual(
        rowMajor(cases[0]!),
      );
    }
  });

  it("views with more axes than the loops take, or of much larger storage, are copied in", () => {
    const big = filled([3, 4, 5, 6, 7], dtype);
    const fiveAxes = transposed(big, [4, 2, 0, 3, 1]);
    expect(placed(fiveAxes)).toEqual(rowMajor(fiveAxes));
    const wide = filled([256, 256], dtype);
    const sparse = view(wide, [64, 64], [4 * 256, 4], 0); // storage 16× the view
    expect(placed(sparse)).toEqual(rowMajor(sparse));
  });
});

/**
 * `pad` in compiled calls (src/runtime/pad-kernels.ts) writes its result into the call's arena
 * with WebAssembly loops: the same elements as eager `pad`, bit for bit, for interior, low and high
 * padding, any padding value and dtype; cropping (negative) padding and views with more axes than
 * the loops take run eagerly.
 */
import { describe, expect, it } from "vitest";
import type { DType } from "../../src/core/dtype.js";
import { bind1 } from "../../src/core/trace.js";
import { grad, jit, np, type NDArray } from "../../src/index.js";
import { pad, type PadConfig } from "../../src/primitives/structural.js";

function filled(shape: number[], dtype: DType): NDArray {
  const size = shape.reduce((a, b) => a * b, 1);
  const values = Array.from({ length: size }, (_, i) =>
    dtype === "bool" ? i % 3 === 0 : dtype === "int32" ? i - 700 : Math.sin(i) * 100,
  );
  return np.array(values as number[], { dtype }).reshape(shape);
}

const configs: [string, number[], PadConfig][] = [
  [
    "interior (a pooling tap's gradient)",
    [4, 6, 14, 14],
    [
      [0, 0, 0],
      [0, 0, 0],
      [0, 1, 1],
      [1, 0, 1],
    ],
  ],
  [
    "low and high",
    [3, 40, 30],
    [
      [1, 2, 0],
      [0, 3, 0],
      [4, 0, 0],
    ],
  ],
  [
    "interior and edges on one axis",
    [64, 50],
    [
      [0, 0, 0],
      [2, 3, 2],
    ],
  ],
  [
    "cropping (runs eagerly)",
    [20, 60],
    [
      [-1, 2, 0],
      [0, -3, 1],
    ],
  ],
  [
    "five axes that do not merge",
    [3, 4, 5, 6, 7],
    [
      [0, 0, 1],
      [1, 0, 0],
      [0, 1, 1],
      [0, 0, 0],
      [1, 1, 1],
    ],
  ],
];

describe.each(["float32", "float64", "int32", "bool"] as const)("pad compiled (%s)", (dtype) => {
  it.each(configs)("%s: the same as eagerly", (_, shape, config) => {
    const x = filled(shape, dtype);
    const value = dtype === "bool" ? np.array(true) : np.array(7, { dtype });
    const f = (x: NDArray, v: NDArray): NDArray => bind1(pad, [x, v], { config });
    const compiled = jit(f)(x, value);
    const eager = f(x, value);
    expect(compiled.shape).toEqual(eager.shape);
    expect(Array.from(compiled.toTypedArray() as ArrayLike<number>)).toEqual(
      Array.from(eager.toTypedArray() as ArrayLike<number>),
    );
  });
});

describe("pad compiled", () => {
  it("is the gradient of strided slices, inside a compiled training-like step", () => {
    const x = filled([8, 16, 28, 28], "float32");
    const taps = (a: NDArray): NDArray =>
      np
        .maximum(
          np.maximum(a.get(":, :, ::2, ::2"), a.get(":, :, 1::2, ::2")),
          np.maximum(a.get(":, :, ::2, 1::2"), a.get(":, :, 1::2, 1::2")),
        )
        .sum();
    const g = grad((a: NDArray) => taps(np.tanh(a.mul(0.01))));
    const compiled = jit(g)(x);
    const eager = g(x);
    expect(Array.from(compiled.toTypedArray() as Float32Array)).toEqual(
      Array.from(eager.toTypedArray() as Float32Array),
    );
    expect(jit(g).lower(x).program.toString()).toContain("pad[");
  });
});

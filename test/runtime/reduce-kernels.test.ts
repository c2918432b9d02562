/**
 * Eager column sums (`reduce_sum` over leading axes) on the WebAssembly kernel
 * (src/runtime/reduce-kernels.ts) equal the float64 loop over rows in order, bit for bit.
 */
import { describe, expect, it } from "vitest";
import { jit, np, type NDArray } from "../../src/index.js";

const specials = [NaN, Infinity, -Infinity, -0, 0, 1e-40, 3e38, -3e38];

function values(n: number, withSpecials: boolean): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sin(i * 1.37) * 10 ** ((i % 9) - 4);
  if (withSpecials) specials.forEach((v, k) => (out[(k * 977) % n] = v));
  return out;
}

/** The loop's result: each column summed in float64 from the first row, then rounded. */
function reference(x: NDArray, leading: number): number[] {
  const rows = x.shape.slice(0, leading).reduce((a, b) => a * b, 1);
  const cols = x.size / rows;
  const data = x.toTypedArray();
  const round = x.dtype === "float32" ? Math.fround : (v: number): number => v;
  return Array.from({ length: cols }, (_, j) => {
    let acc = 0;
    for (let i = 0; i < rows; i++) acc += data[i * cols + j]!;
    return round(acc);
  });
}

describe("column sums on the kernel", () => {
  for (const dtype of ["float32", "float64"] as const) {
    it(`${dtype}: leading axes of several shapes, odd column counts, special values`, () => {
      for (const [shape, leading] of [
        [[128, 256], 1],
        [[64, 33], 1],
        [[4, 16, 129], 2],
        [[300, 3], 1],
        [[5000, 1], 1],
        [[2, 3, 700, 2], 3],
      ] as const) {
        const size = shape.reduce((a: number, b: number) => a * b, 1);
        for (const withSpecials of [false, true]) {
          const x = np.array(values(size, withSpecials), { dtype }).reshape([...shape]);
          const axes = Array.from({ length: leading }, (_, i) => i);
          const got = Array.from(x.sum({ axis: axes }).toTypedArray());
          const want = reference(x, leading);
          got.forEach((v, j) => {
            if (!Object.is(v, want[j])) expect.fail(`${shape} column ${j}: ${v} vs ${want[j]}`);
          });
          expect(x.sum({ axis: axes }).shape).toEqual(shape.slice(leading));
        }
      }
    });
  }

  it("reads strided views and keeps weak types; jit gives the same bits", () => {
    const base = np.array(values(200 * 60, false), { dtype: "float32" }).reshape([200, 60]);
    const view = base.get("::2, 1:50");
    const want = reference(np.array(view.toTypedArray()).reshape(view.shape), 1);
    expect(Array.from(view.sum({ axis: 0 }).toTypedArray())).toEqual(want);
    const f = jit((x: NDArray) => x.sum({ axis: 0 }));
    expect(Array.from(f(base).toTypedArray())).toEqual(
      Array.from(base.sum({ axis: 0 }).toTypedArray()),
    );
  });
});

/** Steps of the reductions: add; keep the larger / smaller, NaN propagating. */
const steps = {
  sum: { init: 0, step: (a: number, x: number): number => a + x },
  max: {
    init: -Infinity,
    step: (a: number, x: number): number => (a !== a || x !== x ? NaN : x > a ? x : a),
  },
  min: {
    init: Infinity,
    step: (a: number, x: number): number => (a !== a || x !== x ? NaN : x < a ? x : a),
  },
};

/**
 * The loop's result over any axes: every element combined into its output in row-major order
 * (added, or the larger / smaller kept).
 */
function referenceAny(
  x: NDArray,
  axes: readonly number[],
  op: keyof typeof steps = "sum",
): number[] {
  const shape = x.shape.filter((_, i) => !axes.includes(i));
  const count = shape.reduce((a, b) => a * b, 1);
  const { init, step } = steps[op];
  const acc = new Float64Array(count).fill(init);
  const data = x.toTypedArray();
  const index = new Array<number>(x.ndim).fill(0);
  for (let flat = 0; flat < x.size; flat++) {
    let rest = flat;
    for (let axis = x.ndim - 1; axis >= 0; axis--) {
      index[axis] = rest % x.shape[axis]!;
      rest = Math.floor(rest / x.shape[axis]!);
    }
    let out = 0;
    x.shape.forEach((_, axis) => {
      if (!axes.includes(axis)) out = out * x.shape[axis]! + index[axis]!;
    });
    acc[out] = step(acc[out]!, data[flat]!);
  }
  const round = x.dtype === "float32" ? Math.fround : (v: number): number => v;
  return Array.from(acc, round);
}

describe("sums, maxima and minima over any axes on the kernel", () => {
  for (const dtype of ["float32", "float64"] as const) {
    it(`${dtype}: inner, middle, all and mixed axes, strided inputs, special values`, () => {
      for (const [shape, axes] of [
        [
          [8, 16, 14, 14],
          [0, 2, 3],
        ], // a convolution's bias gradient (runs of four channels side by side)
        [
          [6, 7, 9, 9],
          [0, 2, 3],
        ], // 7 channels: four side by side, then two, then one
        [[64, 100], [1]],
        [
          [5, 6, 7, 8],
          [1, 3],
        ],
        [
          [40, 130],
          [0, 1],
        ],
        [
          [3, 4, 5, 6, 7],
          [0, 2, 4],
        ],
        // Kept innermost axes of odd and even length (two accumulators at a time, then one).
        [[30, 20, 11], [1]],
        [[9, 700], [0]],
      ] as const) {
        const size = shape.reduce((a, b) => a * b, 1);
        const x = np.array(values(size, true), { dtype }).reshape([...shape]);
        for (const input of [x, np.transpose(x)]) {
          const ax = input === x ? axes : axes.map((a) => shape.length - 1 - a);
          const got = Array.from(np.sum(input, { axis: [...ax] }).toTypedArray() as Float32Array);
          expect(got).toEqual(referenceAny(input, ax));
          expect(
            Array.from(
              jit((a: NDArray) => np.sum(a, { axis: [...ax] }))(
                input,
              ).toTypedArray() as Float32Array,
            ),
          ).toEqual(got);
          // Maxima and minima on the same loops: the JavaScript loop's values, NaN included.
          for (const op of ["max", "min"] as const) {
            const reduce = (a: NDArray): NDArray => np[op](a, { axis: [...ax] });
            const extremum = Array.from(reduce(input).toTypedArray() as Float32Array);
            expect(extremum, `${op} over ${ax.join(",")}`).toEqual(referenceAny(input, ax, op));
            expect(Array.from(jit(reduce)(input).toTypedArray() as Float32Array)).toEqual(extremum);
          }
        }
      }
    });
  }
});

/**
 * `lax.conv` against an independent oracle: PyTorch's convolutions and autograd
 * (test/fixtures/conv.json, made by test/fixtures/make_conv_fixtures.py, which also checks every
 * forward value against a direct-loop NumPy transcription of XLA's semantics). For each case:
 * the float64 forward value and the gradients of sum(out · ct) with respect to the input and the
 * kernel, the float32 forward value, and `jit` against eager bit for bit. Then the shapes of the
 * documented example, the errors a user gets for bad arguments, and `vmap` against loops.
 */
import { describe, expect, it } from "vitest";
import {
  grad,
  jit,
  lax,
  np,
  ShapeError,
  ValueError,
  vjp,
  vmap,
  type NDArray,
} from "../../src/index.js";
import type { ConvOptions } from "../../src/lax/conv.js";
import { expectClose, expectTypedError } from "../helpers/assertions.js";
import { decode, loadFixture, type FixtureArray, type FixtureValue } from "../helpers/fixtures.js";
import { random, values } from "../helpers/numeric.js";

const file = "conv.test.ts";

// ----------------------------------------------------------------------------- fixture

interface ConvCase {
  name: string;
  note?: string;
  x: FixtureArray;
  w: FixtureArray;
  options: FixtureValue;
  ct: FixtureArray;
  out: FixtureArray;
  dx: FixtureArray;
  dw: FixtureArray;
}

const fixture = loadFixture<{ torch: string; numpy: string; cases: ConvCase[] }>("conv.json");

const array = (a: FixtureArray): NDArray => decode(a) as NDArray;
const optionsOf = (c: ConvCase): ConvOptions => decode(c.options) as ConvOptions;

/** Each element as text that tells -0 from 0 and keeps NaN. */
function bits(x: NDArray): string[] {
  return Array.from(x.toTypedArray() as ArrayLike<number>, (v) =>
    Object.is(v, -0) ? "-0" : String(v),
  );
}

/**
 * `actual` has `expected`'s shape and `|a - e| <= rtol · (|e| + max|e|)` elementwise: relative
 * to each element, with an absolute floor relative to the largest (outputs near zero are sums
 * that cancel, whose rounding is that of their terms).
 */
function expectNear(actual: NDArray, expected: FixtureArray, rtol: number, label: string): void {
  expect(actual.shape, `${label}: shape`).toEqual(expected.shape);
  const want = values(array(expected));
  const scale = Math.max(1, ...want.map(Math.abs));
  const got = values(actual);
  const bad: string[] = [];
  got.forEach((a, i) => {
    const e = want[i]!;
    if (!(Math.abs(a - e) <= rtol * (Math.abs(e) + scale))) bad.push(`[${i}] ${a} vs ${e}`);
  });
  expect(bad, `${label}: ${bad.length}/${want.length} elements off (rtol ${rtol})`).toEqual([]);
}

describe(`lax.conv against PyTorch ${fixture.torch}`, () => {
  it("has the cases the generator promises", () => {
    expect(fixture.cases.length).toBeGreaterThanOrEqual(15);
  });

  fixture.cases.forEach((c, i) => {
    const title = `#${i} ${c.name}${c.note !== undefined ? ` (${c.note})` : ""}`;

    it(`${title}: float64 value and gradients`, () => {
      const options = optionsOf(c);
      const [out, back] = vjp(
        (x: NDArray, w: NDArray) => lax.conv(x, w, options),
        array(c.x),
        array(c.w),
      );
      expect(out.dtype).toBe("float64");
      expectNear(out, c.out, 1e-12, "forward");
      const [dx, dw] = back(array(c.ct));
      expectNear(dx!, c.dx, 1e-12, "d/dx");
      expectNear(dw!, c.dw, 1e-12, "d/dw");
    });

    it(`${title}: float32 value`, () => {
      const out = lax.conv(
        array(c.x).astype("float32"),
        array(c.w).astype("float32"),
        optionsOf(c),
      );
      expect(out.dtype).toBe("float32");
      expectNear(out, c.out, 1e-5, "float32 forward");
    });
  });
});

describe("lax.conv under jit equals eager, bit for bit", () => {
  const picked = [
    "conv2d featureGroupCount 2",
    "conv2d batchGroupCount 3",
    "NHWC / HWIO / NHWC, SAME",
    "conv_transpose2d",
    "conv3d strides",
    "conv2d negative padding (crop)",
  ];
  for (const prefix of picked) {
    const c = fixture.cases.find((k) => k.name.startsWith(prefix))!;
    it(c.name, () => {
      const options = optionsOf(c);
      const ct = array(c.ct);
      const forward = (x: NDArray, w: NDArray): NDArray => lax.conv(x, w, options);
      const loss = (x: NDArray, w: NDArray): NDArray => forward(x, w).mul(ct).sum();
      const gradient = grad<NDArray[]>(loss, { argnums: [0, 1] });
      for (const dtype of ["float64", "float32"] as const) {
        const x = array(c.x).astype(dtype);
        const w = array(c.w).astype(dtype);
        expect(bits(jit(forward)(x, w)), `forward ${dtype}`).toEqual(bits(forward(x, w)));
      }
      const [x, w] = [array(c.x), array(c.w)];
      const compiled = jit(gradient)(x, w);
      const eager = gradient(x, w);
      expect(bits(compiled[0]!), "d/dx").toEqual(bits(eager[0]!));
      expect(bits(compiled[1]!), "d/dw").toEqual(bits(eager[1]!));
      expectNear(eager[0]!, c.dx, 1e-12, "grad d/dx");
      expectNear(eager[1]!, c.dw, 1e-12, "grad d/dw");
    });
  }
});

// ----------------------------------------------------------------------------- hand-written

describe("lax.conv shapes", () => {
  it("the documented example", () => {
    const image = np.arange(16, { dtype: "float32" }).reshape([1, 1, 4, 4]);
    const kernel = np.ones([1, 1, 2, 2]);
    expect(lax.conv(image, kernel).shape).toEqual([1, 1, 3, 3]);
    expect(lax.conv(image, kernel, { strides: [2, 2], padding: "SAME" }).shape).toEqual([
      1, 1, 2, 2,
    ]);
    const nhwc = np.ones([1, 4, 4, 3]);
    const hwio = np.ones([3, 3, 3, 8]);
    const y = lax.conv(nhwc, hwio, { padding: "SAME", dimensionNumbers: ["NHWC", "HWIO", "NHWC"] });
    expect(y.shape).toEqual([1, 4, 4, 8]);
    // Every output sums the 3 × 3 window's in-bounds positions over 3 features.
    expect(values(y.get(0).get(0).get(0))).toEqual(new Array<number>(8).fill(12));
    expect(values(y.get(0).get(1).get(1))).toEqual(new Array<number>(8).fill(27));
    // 2 × 2 windows of 0..15: the top-left one is 0 + 1 + 4 + 5.
    expect(values(lax.conv(image, kernel)).slice(0, 3)).toEqual([10, 14, 18]);
  });
});

describe("lax.conv errors", () => {
  const x = random([1, 4, 5, 5], 1);
  const w = random([6, 2, 3, 3], 2);

  it("mismatched ranks", () => {
    expectTypedError(
      () => lax.conv(x, random([6, 4, 3], 3)),
      ShapeError,
      file,
      "lax.conv",
      "same rank",
      "[1, 4, 5, 5]",
      "[6, 4, 3]",
    );
  });

  it("input features that do not match the kernel's I × featureGroupCount", () => {
    expectTypedError(() => lax.conv(x, w), ShapeError, file, "lax.conv", "4 features", "takes 2");
    expectTypedError(
      () => lax.conv(x, w, { featureGroupCount: 3 }),
      ShapeError,
      file,
      "lax.conv",
      "3 group(s)",
    );
    expect(lax.conv(x, w, { featureGroupCount: 2 }).shape).toEqual([1, 6, 3, 3]);
  });

  it("the wrong number of strides, padding pairs or dilations", () => {
    expectTypedError(
      () => lax.conv(x, w, { featureGroupCount: 2, strides: [1, 1, 1] }),
      ShapeError,
      file,
      "lax.conv",
      "strides",
      "one entry per spatial dimension (2), got 3",
    );
    expectTypedError(
      () => lax.conv(x, w, { featureGroupCount: 2, rhsDilation: [2] }),
      ShapeError,
      file,
      "lax.conv",
      "rhsDilation",
    );
    expectTypedError(
      () => lax.conv(x, w, { featureGroupCount: 2, padding: [[1, 1]] }),
      ValueError,
      file,
      "lax.conv",
      "padding",
      "one [low, high] pair",
    );
    expectTypedError(
      () => lax.conv(x, w, { featureGroupCount: 2, strides: [0, 1] }),
      ShapeError,
      file,
      "lax.conv",
      "≥ 1",
    );
  });

  it("a padding string that is not a rule", () => {
    expectTypedError(
      () => lax.conv(x, w, { featureGroupCount: 2, padding: "same" as "SAME" }),
      ValueError,
      file,
      "lax.conv",
      '"SAME", "SAME_LOWER", "VALID"',
      '"same"',
    );
  });

  it("dimensionNumbers with bad letters", () => {
    const nhwc = random([1, 5, 5, 4], 4);
    const hwio = random([3, 3, 4, 2], 5);
    expectTypedError(
      () => lax.conv(nhwc, hwio, { dimensionNumbers: ["NHWC", "HWIX", "NHWC"] }),
      ValueError,
      file,
      "lax.conv",
      "dimensionNumbers",
      "HWIX",
    );
    expectTypedError(
      () => lax.conv(nhwc, hwio, { dimensionNumbers: ["NHWC", "HWIO", "NHW"] }),
      ValueError,
      file,
      "lax.conv",
      "4 distinct letters",
    );
    expectTypedError(
      () => lax.conv(nhwc, hwio, { dimensionNumbers: ["NHHC", "HWIO", "NHWC"] }),
      ValueError,
      file,
      "lax.conv",
      "NHHC",
    );
    expectTypedError(
      () => lax.conv(nhwc, hwio, { dimensionNumbers: ["NHWC", "HDIO", "NHWC"] }),
      ValueError,
      file,
      "lax.conv",
      "same spatial dimensions",
    );
    expect(lax.conv(nhwc, hwio, { dimensionNumbers: ["NHWC", "HWIO", "NHWC"] }).shape).toEqual([
      1, 3, 3, 2,
    ]);
  });

  it("negative padding larger than the input", () => {
    expectTypedError(
      () =>
        lax.conv(x, w, {
          featureGroupCount: 2,
          padding: [
            [-3, -3],
            [0, 0],
          ],
        }),
      ShapeError,
      file,
      "lax.conv",
      "negative padding [-3, -3]",
      "size 5",
    );
  });

  it("batch groups that do not divide the batch", () => {
    expectTypedError(
      () => lax.conv(random([3, 2, 5], 6), random([4, 2, 2], 7), { batchGroupCount: 2 }),
      ShapeError,
      file,
      "lax.conv",
      "batch of 3",
    );
  });
});

describe("lax.conv under vmap equals a loop", () => {
  const stack = (xs: NDArray[]): NDArray => np.stack(xs);

  it("a batch of kernels, one input (with strides, padding and dilation)", () => {
    const x = random([2, 3, 7, 6], 11);
    const ws = random([4, 5, 3, 3, 2], 12);
    const options: ConvOptions = {
      strides: [2, 1],
      padding: [
        [1, 2],
        [0, 1],
      ],
      rhsDilation: [1, 2],
    };
    const f = (w: NDArray): NDArray => lax.conv(x, w, options);
    const batched = vmap(f)(ws);
    const looped = stack([0, 1, 2, 3].map((i) => f(ws.get(i))));
    expectClose(batched, looped, { rtol: 1e-12, atol: 1e-12 });
  });

  it("a batch of kernels in NHWC / HWIO, with feature groups, kernels on the last axis", () => {
    const x = random([1, 5, 6, 4], 13);
    const ws = random([3, 2, 2, 4, 3], 14); // H, W, I, O, batch
    const options: ConvOptions = {
      featureGroupCount: 2,
      padding: "SAME",
      dimensionNumbers: ["NHWC", "HWIO", "NHWC"],
    };
    const f = (w: NDArray): NDArray => lax.conv(x, w, options);
    const batched = vmap(f, { inAxes: 4 })(ws);
    const looped = stack([0, 1, 2].map((i) => f(ws.transpose([4, 0, 1, 2, 3]).get(i))));
    expectClose(batched, looped, { rtol: 1e-12, atol: 1e-12 });
  });

  it("inputs and kernels batched together, and batch groups", () => {
    const xs = random([3, 4, 2, 6], 15);
    const ws = random([3, 4, 2, 3], 16);
    for (const options of [{ padding: "SAME" }, { batchGroupCount: 2 }] as ConvOptions[]) {
      const f = (x: NDArray, w: NDArray): NDArray => lax.conv(x, w, options);
      const batched = vmap(f)(xs, ws);
      const looped = stack([0, 1, 2].map((i) => f(xs.get(i), ws.get(i))));
      expectClose(batched, looped, { rtol: 1e-12, atol: 1e-12 });
    }
  });

  it("gradients of a batch of kernels", () => {
    const x = random([2, 2, 6], 17);
    const ws = random([3, 3, 2, 2], 18);
    const loss = (w: NDArray): NDArray => np.tanh(lax.conv(x, w, { padding: [[1, 0]] })).sum();
    const batched = vmap(grad(loss))(ws);
    const looped = stack([0, 1, 2].map((i) => grad(loss)(ws.get(i))));
    expectClose(batched, looped, { rtol: 1e-12, atol: 1e-12 });
  });
});

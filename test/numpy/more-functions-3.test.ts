/**
 * NumPy's extra functions, third batch (polyval, polyfit, polyder, polyint, convolve, correlate,
 * isin, intersect1d, union1d, setdiff1d, setxor1d, vander) beyond their values, which
 * test/fixtures/numpy.json checks against NumPy (reference.test.ts): derivatives against central
 * differences (float64, order 2), jit against eager, the set functions (whose output shape depends
 * on the values) refusing jit, and the errors for bad arguments.
 */
import { describe, expect, it } from "vitest";
import { checkGrads, jit, np, type NDArray } from "../../src/index.js";
import { expectClose, expectJitExact, thrown } from "../helpers/assertions.js";
import { f64, random } from "../helpers/numeric.js";

const i32 = (values: number[] | number[][]): NDArray => np.array(values, { dtype: "int32" });
const f32 = (values: number[]): NDArray => np.array(values, { dtype: "float32" });
const order2 = { order: 2 } as const;
const modes = ["full", "same", "valid"] as const;

describe("derivatives (float64, order 2, forward and reverse)", () => {
  it("polyval with respect to p and to x (and both together)", () => {
    const p = f64([0.7, -1.2, 0.4, 2.1]);
    const x = random([2, 3], 31).mul(1.5);
    checkGrads((c: NDArray) => np.polyval(c, x), [p], order2);
    checkGrads((v: NDArray) => np.polyval(p, v), [x], order2);
    checkGrads((c: NDArray, v: NDArray) => np.polyval(c, v), [p, x], order2);
  });

  it("polyfit with respect to y (degrees 1 and 3)", () => {
    const x = f64([-1.4, -1.1, -0.6, -0.2, 0.1, 0.5, 0.9, 1.3]);
    const y = random([8], 32).mul(2);
    checkGrads((u: NDArray) => np.polyfit(x, u, 1), [y], order2);
    checkGrads((u: NDArray) => np.polyfit(x, u, 3), [y], order2);
  });

  for (const mode of modes) {
    it(`convolve and correlate with respect to both operands, mode "${mode}" (longer a, longer v)`, () => {
      const long = random([7], 33);
      const short = random([4], 34);
      for (const [a, v] of [
        [long, short],
        [short, long],
      ] as const) {
        checkGrads((x: NDArray, w: NDArray) => np.convolve(x, w, { mode }), [a, v], order2);
        checkGrads((x: NDArray, w: NDArray) => np.correlate(x, w, { mode }), [a, v], order2);
      }
    });
  }
});

describe("jit gives what eager gives", () => {
  const close = (f: (...args: NDArray[]) => NDArray, ...args: NDArray[]): void => {
    const eager = f(...args);
    const compiled = jit(f);
    for (let call = 0; call < 2; call++) {
      const out = compiled(...args);
      expect(out.dtype).toBe(eager.dtype);
      expect(out.shape).toEqual(eager.shape);
      expectClose(out, eager, { rtol: 1e-6, atol: 1e-6 });
    }
  };

  it("polyval within rounding (float32 and int32 inputs)", () => {
    const p = f32([1.5, -0.5, 2, 0.25]);
    const x = f32([-2, -0.75, 0, 0.5, 1.25, 3]).reshape([2, 3]);
    close((c, v) => np.polyval(c, v), p, x);
    close((c, v) => np.polyval(c, v), i32([2, -3, 0, 1]), i32([-2, 0, 1, 3]));
  });

  it("convolve within rounding, every mode, both length orders", () => {
    const a = f32([1, -2, 0.5, 3, 0.25, -1, 2]);
    const v = f32([0.5, 1.5, -1, 2]);
    for (const mode of modes) {
      close((x, w) => np.convolve(x, w, { mode }), a, v);
      close((x, w) => np.convolve(x, w, { mode }), v, a);
    }
  });

  it("isin (both inverts) and vander (n, increasing), bit for bit", () => {
    const e = f32([1.5, -2, 0, 3.25, 1.5, 7]).reshape([2, 3]);
    const t = f32([0, 1.5, 9, -2]);
    expectJitExact((x: NDArray, s: NDArray) => np.isin(x, s), e, t);
    expectJitExact((x: NDArray, s: NDArray) => np.isin(x, s, { invert: true }), e, t);
    expectJitExact(
      (x: NDArray, s: NDArray) => np.isin(x, s),
      i32([
        [0, 1, 2],
        [3, 4, 5],
      ]),
      i32([
        [5, 0],
        [9, 2],
      ]),
    );
    const x = f32([0.5, -1.25, 2, 3]);
    expectJitExact((v: NDArray) => np.vander(v), x);
    expectJitExact((v: NDArray) => np.vander(v, { n: 6, increasing: true }), x);
    expectJitExact((v: NDArray) => np.vander(v, { n: 2 }), i32([2, -1, 0, 3]));
  });
});

describe("the set functions (output shape depends on the values) refuse jit", () => {
  const a = i32([5, 1, 3, 3, -2, 8, 1, 0]);
  const b = i32([3, 0, 0, 7, 1, -4, 7]);
  const eagerOnly: [string, (x: NDArray, y: NDArray) => NDArray][] = [
    ["intersect1d", (x, y) => np.intersect1d(x, y)],
    ["union1d", (x, y) => np.union1d(x, y)],
    ["setdiff1d", (x, y) => np.setdiff1d(x, y)],
    ["setxor1d", (x, y) => np.setxor1d(x, y)],
  ];
  for (const [name, f] of eagerOnly) {
    it(`${name} under jit throws a clear error (and works eagerly)`, () => {
      expect(() => f(a, b)).not.toThrow();
      const message = thrown(() => jit(f)(a, b)).message;
      expect(message).toMatch(/intersect1d|union1d|setdiff1d|setxor1d/);
      expect(message).toMatch(/traced|jit|transform/i);
    });
  }
});

describe("errors", () => {
  it("convolve of a 2-d array (either operand)", () => {
    expect(() => np.convolve(np.zeros([2, 3]), np.ones([2]))).toThrow(/1-d/);
    expect(() => np.convolve(np.ones([3]), np.zeros([2, 2]))).toThrow(/1-d/);
  });

  it("convolve with an empty operand", () => {
    expect(() => np.convolve(np.zeros([0]), np.ones([3]))).toThrow();
    expect(() => np.convolve(np.ones([3]), np.zeros([0]))).toThrow();
  });

  it("convolve and correlate with a bad mode", () => {
    const bad = { mode: "middle" } as unknown as { mode: "full" };
    expect(() => np.convolve(np.ones([4]), np.ones([2]), bad)).toThrow(/mode/);
    expect(() => np.correlate(np.ones([4]), np.ones([2]), bad)).toThrow(/mode/);
  });

  it("polyfit with deg < 0", () => {
    const x = f64([0, 1, 2, 3]);
    expect(() => np.polyfit(x, x, -1)).toThrow(/deg/);
  });

  it("polyfit with x and y of different lengths", () => {
    expect(() => np.polyfit(f64([0, 1, 2, 3]), f64([1, 2, 3]), 1)).toThrow();
  });
});

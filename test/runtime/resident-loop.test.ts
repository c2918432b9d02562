/**
 * Loop state in kernel memory (src/runtime/resident-loop.ts, the loop steps of
 * runtime/executor.ts): a scan's or while loop's constants are copied into kernel memory once and
 * its carries stay there between steps. Results equal those of the loop that copies everything in
 * and out per step (runtimes without shared memory run that one), bit for bit, whatever the body
 * does with its carries: passes them on, swaps them, returns a constant or a view.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grad, jit, lax, np, type NDArray } from "../../src/index.js";
import { asConcrete } from "../../src/runtime/concrete.js";
import { ResidentLoop } from "../../src/runtime/resident-loop.js";
import {
  holdArena,
  isResident,
  releaseArena,
  residentAddress,
  setArenasEnabled,
} from "../../src/runtime/wasm-memory.js";
import { expectClose, expectIdentical } from "../helpers/assertions.js";

function data(shape: number[], seed: number): NDArray {
  const size = shape.reduce((p, q) => p * q, 1);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = Math.sin(seed * 7.1 + i * 0.37) * 0.2;
  return np.array(out).reshape(shape);
}

const values = (x: NDArray): number[] => Array.from(x.toTypedArray() as ArrayLike<number>);

describe("ResidentLoop", () => {
  it("copies constants and the initial carry into kernel memory, and swaps banks per step", () => {
    const w = data([4, 4], 1);
    const c0 = np.array([1, 2, 3]);
    const flag = np.array([true, false]);
    const loop = new ResidentLoop([w], [c0, flag]);
    try {
      expect(isResident(loop.consts[0]!)).toBe(true);
      expect(values(loop.consts[0]!)).toEqual(values(w));
      const first = loop.carry.map((c) => residentAddress(c));
      expect(first.every((a) => a !== undefined)).toBe(true);
      expect(values(loop.carry[0]!)).toEqual([1, 2, 3]);
      expect(values(loop.carry[1]!)).toEqual([1, 0]);
      // A step's results from JavaScript arrays land in the other bank.
      loop.advance([np.array([4, 5, 6]), np.array([false, true])]);
      const second = loop.carry.map((c) => residentAddress(c));
      expect(second).not.toEqual(first);
      expect(values(loop.carry[0]!)).toEqual([4, 5, 6]);
      expect(values(loop.carry[1]!)).toEqual([0, 1]);
      // Results that are views of kernel memory (the carries themselves, passed on) are copied.
      loop.advance([loop.carry[0]!, loop.carry[1]!]);
      expect(loop.carry.map((c) => residentAddress(c))).toEqual(first);
      expect(values(loop.carry[0]!)).toEqual([4, 5, 6]);
      // A strided view of kernel memory is gathered.
      loop.advance([loop.consts[0]!.T.get(0, np.slice(0, 3)), flag]);
      expect(values(loop.carry[0]!)).toEqual(values(w.T.get(0)).slice(0, 3));
      const final = loop.finalCarry();
      expect(final.map(isResident)).toEqual([false, false]);
      expect(values(final[1]!)).toEqual([1, 0]);
    } finally {
      loop.release();
    }
  });

  it("leaves constants already in kernel memory where they are, and gives its memory back", () => {
    const before = holdArena(0);
    releaseArena(before);
    const outer = new ResidentLoop([data([8], 2)], []);
    const inner = new ResidentLoop([outer.consts[0]!], [np.zeros([2])]);
    expect(inner.consts[0]).toBe(outer.consts[0]);
    inner.release();
    outer.release();
    const after = holdArena(0);
    releaseArena(after);
    expect(after).toBe(before);
  });
});

describe.each([
  ["in kernel memory", true],
  ["copied per step (runtimes without shared memory)", false],
])("compiled loops with their state %s", (_, arenas) => {
  beforeAll(() => setArenasEnabled(arenas));
  afterAll(() => setArenasEnabled(true));

  // A 160×160 weight: large enough for the executor (programs whose values all have at most
  // 16384 elements run as one generated JavaScript function instead).
  const n = 160;
  const w = data([n, n], 3);
  const xs = data([12, 1, n], 4);
  const rnn = (w: NDArray, xs: NDArray, reverse = false): NDArray =>
    lax
      .scan(
        (h: NDArray, x: NDArray): [NDArray, NDArray] => {
          const next = np.tanh(np.matmul(x.add(h), w.T));
          return [next, next.sum()];
        },
        np.zeros([1, n]),
        xs,
        { reverse },
      )[1]
      .sum();

  it("a recurrent network and its gradient equal eager execution", () => {
    for (const reverse of [false, true]) {
      const f = (w: NDArray): NDArray => rnn(w, xs, reverse);
      expectClose(jit(f)(w), f(w), { rtol: 1e-5, atol: 1e-5 });
      expectClose(jit(grad(f))(w), grad(f)(w), { rtol: 1e-4, atol: 1e-5 });
    }
  });

  it("carries passed on, swapped, replaced by a constant or by a view", () => {
    const f = (w: NDArray, a: NDArray, b: NDArray) =>
      lax.scan(
        ([a, b, kept, i, mask]: NDArray[], x: NDArray) => {
          const mixed = np.tanh(np.matmul(a.add(x), w));
          // b and the product swap; kept goes on unchanged; the counter and the mask step.
          return [
            [mixed, b, kept, i.add(1), np.logicalNot(mask)],
            [a.T, w.get(0)],
          ];
        },
        [a, b, np.ones([n, 1]), np.array(0, { dtype: "int32" }), np.array([true, false])],
        xs,
      );
    const a = data([1, n], 5);
    const b = data([1, n], 6);
    const [carry, ys] = jit(f)(w, a, b);
    const [eagerCarry, eagerYs] = f(w, a, b);
    expectClose(carry, eagerCarry, { rtol: 1e-5, atol: 1e-6 });
    expectClose(ys, eagerYs, { rtol: 1e-5, atol: 1e-6 });
    expect((carry as NDArray[])[3]!.item()).toBe(12);
    expect((carry as NDArray[])[4]!.toList()).toEqual([true, false]);
    for (const c of carry as NDArray[]) expect(isResident(asConcrete(c))).toBe(false);
  });

  it("empty scans, nested scans and a product of the enclosing call as a constant", () => {
    const nested = (w: NDArray, x: NDArray): NDArray => {
      const v = np.tanh(np.matmul(x, w)); // written by the outer call's kernels
      const [out] = lax.scan(
        (c: NDArray, _: NDArray) => {
          const [inner] = lax.scan(
            (d: NDArray, _: NDArray) => [np.tanh(np.matmul(d, w)).add(v), null],
            c,
            null,
            { length: 3 },
          );
          return [inner.mul(0.5), null];
        },
        x,
        null,
        { length: 4 },
      );
      return out;
    };
    const x = data([2, n], 7);
    expectClose(jit(nested)(w, x), nested(w, x), { rtol: 1e-4, atol: 1e-5 });
    const empty = (w: NDArray, x: NDArray) =>
      lax.scan((c: NDArray, y: NDArray) => [np.matmul(c, w), y.sum()], x, data([0, 2, n], 8));
    const [c, ys] = jit(empty)(w, x);
    expect(values(c)).toEqual(values(x));
    expect(ys.shape).toEqual([0]);
  });

  it("a while loop over a product equals eager execution", () => {
    const f = (w: NDArray, x: NDArray) =>
      lax.whileLoop(
        ([i]: NDArray[]) => i.lt(5),
        ([i, v]: NDArray[]) => [i.add(1), np.tanh(np.matmul(v, w)).add(v)],
        [np.array(0, { dtype: "int32" }), x],
      );
    const x = data([3, n], 9);
    const [i, v] = jit(f)(w, x);
    expect(i.item()).toBe(5);
    expectClose(v, f(w, x)[1], { rtol: 1e-5, atol: 1e-6 });
  });
});

describe("loop state in kernel memory", () => {
  it("gives the same bits as the loop that copies its state per step", () => {
    const w = data([160, 160], 10);
    const xs = data([6, 2, 160], 11);
    const f = (w: NDArray, xs: NDArray): NDArray[] =>
      lax.scan(
        (h: NDArray, x: NDArray): [NDArray, NDArray] => {
          const next = np.tanh(np.matmul(x.add(h), w));
          return [next, np.matmul(next, w.T)];
        },
        np.zeros([2, 160]),
        xs,
      );
    const resident = jit(f)(w, xs);
    setArenasEnabled(false);
    try {
      expectIdentical(jit(f)(w, xs), resident);
    } finally {
      setArenasEnabled(true);
    }
    const summary = jit(f)
      .lower(w, xs)
      .report()
      .kernels.find((k) => k.control)?.control?.summary;
    expect(summary).toContain("its constants and carries stay in WebAssembly memory");
  });
});

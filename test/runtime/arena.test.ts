/**
 * A compiled call's arena (src/runtime/arena.ts, runtime/executor.ts): arrays written by its
 * WebAssembly kernels stay in kernel memory between kernels. The plan shares bytes only between
 * arrays whose lifetimes (views included) do not overlap; results never stay views of kernel
 * memory, survive later calls, and equal eager execution, nested loops and branches included.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grad, jit, lax, np, valueAndGrad, type NDArray } from "../../src/index.js";
import { AbstractValue } from "../../src/core/aval.js";
import { Literal, Var } from "../../src/core/ir.js";
import type { Kernel } from "../../src/compiler/schedule.js";
import { planArena } from "../../src/runtime/arena.js";
import { asConcrete } from "../../src/runtime/concrete.js";
import { isResident, setArenasEnabled } from "../../src/runtime/wasm-memory.js";
import { expectClose, expectIdentical } from "../helpers/assertions.js";

const v = (size: number): Var => new Var(new AbstractValue([size], "float32", false));

function kernel(inputs: Var[], outputs: Var[], inPlace: [Var, Var][] = []): Kernel {
  return { kind: "fused", equations: [], inputs, outputs, flops: 0, bytes: 0, inPlace };
}

/** Whether the `bytes`-long ranges planned for `a` and `b` overlap. */
function overlap(offsets: ReadonlyMap<Var, number>, a: Var, b: Var, bytes: number): boolean {
  const x = offsets.get(a)!;
  const y = offsets.get(b)!;
  return x < y + bytes && y < x + bytes;
}

/** Every output of a kernel in `placed` goes to the arena, `bytes` long. */
const placing =
  (placed: readonly Var[], bytes = 256) =>
  (k: Kernel): Map<Var, number> =>
    new Map(k.outputs.filter((o) => placed.includes(o)).map((o) => [o, bytes]));

describe("planArena", () => {
  it("reuses the bytes of an array once nothing reads it", () => {
    // a → b → c → d, each read only by the next kernel: a and c can share, so can b and d.
    const [x, a, b, c, d] = [v(8), v(64), v(64), v(64), v(64)];
    const kernels = [kernel([x], [a]), kernel([a], [b]), kernel([b], [c]), kernel([c], [d])];
    const plan = planArena(kernels, placing([a, b, c, d]), [d]);
    expect(plan.bytes).toBe(512);
    expect(overlap(plan.offsets, a, b, 256)).toBe(false);
    expect(overlap(plan.offsets, b, c, 256)).toBe(false);
    expect(overlap(plan.offsets, c, d, 256)).toBe(false);
  });

  it("keeps an array alive while a view of it (another kernel's output) is read", () => {
    // k1 writes a; k2 (not in the arena: a reshape, say) may return a view r of a; k3 writes b
    // while r is still to be read by k4: a and b must not share bytes.
    const [x, a, r, b, out] = [v(8), v(64), v(64), v(64), v(64)];
    const kernels = [kernel([x], [a]), kernel([a], [r]), kernel([x], [b]), kernel([r, b], [out])];
    const plan = planArena(kernels, placing([a, b]), [out]);
    expect(overlap(plan.offsets, a, b, 256)).toBe(false);
    expect(plan.offsets.has(r)).toBe(false);
  });

  it("an elementwise kernel's result takes the bytes of the input that dies there", () => {
    const [x, a, b, c, r] = [v(8), v(64), v(64), v(64), v(64)];
    const all = (): boolean => true;
    // b written over a (a dies at k2), c over b: one slot for the three.
    const chain = [kernel([x], [a]), kernel([a], [b], [[a, b]]), kernel([b], [c], [[b, c]])];
    const plan = planArena(chain, placing([a, b, c]), [c], all);
    expect(plan.offsets.get(a)).toBe(plan.offsets.get(b));
    expect(plan.offsets.get(b)).toBe(plan.offsets.get(c));
    expect(plan.bytes).toBe(256);
    // Not for kernels that are not elementwise (a product), nor when a lives on.
    expect(planArena(chain, placing([a, b, c]), [c]).bytes).toBe(512);
    const livesOn = planArena(chain, placing([a, b, c]), [a, c], all);
    expect(overlap(livesOn.offsets, a, b, 256)).toBe(false);
    // Nor when another input of the kernel views a's bytes (r: a reshape of a, say).
    const viewed = [
      kernel([x], [a]),
      kernel([a], [r]),
      kernel([a, r], [b], [[a, b]]),
      kernel([b], [c]),
    ];
    const plan2 = planArena(viewed, placing([a, b, c]), [c], all);
    expect(overlap(plan2.offsets, a, b, 256)).toBe(false);
  });

  it("an input staged into the arena lives from the start to its last reader", () => {
    const [x, a, b, c] = [v(64), v(64), v(64), v(64)];
    const kernels = [kernel([x], [a]), kernel([a], [b]), kernel([b, x], [c])];
    const plan = planArena(kernels, placing([a, b, c]), [c], undefined, new Map([[x, 256]]));
    for (const other of [a, b, c]) expect(overlap(plan.offsets, x, other, 256)).toBe(false);
    // Read only by the first kernel, its bytes are free for the second one's result.
    const early = planArena(
      kernels.slice(0, 2),
      placing([a, b]),
      [b],
      undefined,
      new Map([[x, 256]]),
    );
    expect(early.bytes).toBe(512);
  });

  it("keeps program outputs (and what they view) to the end, and ignores literals", () => {
    const [x, a, b, c] = [v(8), v(64), v(64), v(64)];
    const kernels = [kernel([x], [a]), kernel([x], [b]), kernel([b], [c])];
    const literal = new Literal(1, new AbstractValue([], "float32", true));
    const plan = planArena(kernels, placing([a, b, c]), [a, literal, c]);
    expect(overlap(plan.offsets, a, b, 256)).toBe(false);
    expect(overlap(plan.offsets, a, c, 256)).toBe(false);
    expect(plan.bytes).toBe(768);
  });
});

function data(shape: number[], seed: number): NDArray {
  const size = shape.reduce((p, q) => p * q, 1);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = Math.sin(seed * 7.1 + i * 0.37);
  return np.array(out).reshape(shape);
}

describe.each([
  ["with an arena", true],
  ["without (runtimes without shared memory)", false],
])("compiled calls %s", (_, arenas) => {
  beforeAll(() => setArenasEnabled(arenas));
  afterAll(() => setArenasEnabled(true));

  const w1 = data([96, 80], 1);
  const w2 = data([80, 64], 2);
  const x = data([70, 96], 3);
  const mlp = (w1: NDArray, w2: NDArray, x: NDArray): NDArray =>
    np.tanh(np.matmul(np.tanh(np.matmul(x, w1).mul(2)), w2)).sum();

  it("give results of their own, which later calls leave alone", () => {
    const f = jit((x: NDArray) => {
      const h = np.tanh(np.matmul(x, w1).mul(2).add(1));
      return [h, h.reshape([70 * 80]), np.transpose(h), np.matmul(h, w2)];
    });
    const first = f(x);
    for (const out of first) expect(isResident(asConcrete(out))).toBe(false);
    const copies = first.map((a) => Array.from(a.toTypedArray() as Float32Array));
    f(data([70, 96], 9));
    first.forEach((a, i) =>
      expect(Array.from(a.toTypedArray() as Float32Array)).toEqual(copies[i]),
    );
    const h = np.tanh(np.matmul(x, w1).mul(2).add(1));
    expectClose(first[0], h, { rtol: 1e-5, atol: 1e-6 });
    expectClose(first[2], np.transpose(h), { rtol: 1e-5, atol: 1e-6 });
    expectClose(first[3], np.matmul(h, w2), { rtol: 1e-4, atol: 1e-5 });
  });

  it("the report says how large the arena is", () => {
    const report = jit(grad(mlp, { argnums: [0, 1] }))
      .lower(w1, w2, x)
      .report();
    if (arenas) {
      // At least the largest value kept between kernels (the first layer's 70×80 float32).
      expect(report.arenaBytes).toBeGreaterThanOrEqual(70 * 80 * 4);
      expect(report.toString()).toMatch(/arena: \d+ bytes of WebAssembly memory/);
    } else {
      expect(report.arenaBytes).toBeUndefined();
      expect(report.toString()).not.toContain("arena:");
    }
  });

  it("equal eager execution through products, fused loops and gradients", () => {
    expectClose(jit(mlp)(w1, w2, x), mlp(w1, w2, x), { rtol: 1e-5, atol: 1e-5 });
    const grad = valueAndGrad(mlp, { argnums: [0, 1] });
    const compiled = jit(grad)(w1, w2, x);
    expectClose(compiled, grad(w1, w2, x), { rtol: 1e-4, atol: 1e-4 });
    expectIdentical(jit(grad)(w1, w2, x), compiled);
  });

  it("nest: a loop body's or a branch's arena lies above the caller's", () => {
    const looped = (w1: NDArray, w2: NDArray, x: NDArray): NDArray => {
      const h = np.tanh(np.matmul(x, w1)); // in the outer arena while the loop runs
      const [carry] = lax.scan(
        (c: NDArray, _: NDArray) => [np.tanh(np.matmul(c, np.matmul(w1, w1.T)).mul(0.1)), c],
        x,
        np.zeros([3]),
      );
      return np.matmul(h, w2).sum().add(np.matmul(carry, w1).sum());
    };
    expectClose(jit(looped)(w1, w2, x), looped(w1, w2, x), { rtol: 1e-4 });
    const branch = (w1: NDArray, x: NDArray, pred: NDArray): NDArray => {
      const h = np.tanh(np.matmul(x, w1));
      const inner = lax.cond(
        pred,
        (h: NDArray) => np.matmul(h, w1.T).mul(2),
        (h: NDArray) => np.matmul(h, w1.T),
        h,
      );
      return np.tanh(inner).add(np.matmul(h, w1.T));
    };
    for (const pred of [true, false]) {
      const p = np.array(pred);
      expectClose(jit(branch)(w1, x, p), branch(w1, x, p), { rtol: 1e-4, atol: 1e-5 });
    }
  });
});

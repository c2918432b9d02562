/**
 * Loops under jit and reverse mode through bounded while loops: the whole-loop WebAssembly form
 * of scans (and when it applies), the report of loops, and recursive checkpointing.
 */
import { describe, expect, it } from "vitest";
import { grad, jit, lax, makeProgram, np, type NDArray } from "../../src/index.js";
import { expectClose } from "../helpers/assertions.js";

const bits = (x: NDArray): string[] =>
  Array.from(x.toTypedArray() as ArrayLike<number>, (v) => (Object.is(v, -0) ? "-0" : String(v)));

describe("scans compiled as one WebAssembly loop", () => {
  const step = (x: NDArray): NDArray => x.mul(0.99).add(np.sin(x));
  const loop = (n: number) => (x: NDArray) =>
    lax.foriLoop(0, n, (_i: NDArray, c: NDArray) => step(c), x);
  const x = np.linspace(-2, 2, 64);

  it("runs a foriLoop over a fused float body as one loop, bit for bit as eagerly", () => {
    const f = jit(loop(300));
    const report = f.lower(x).report();
    expect(report.kernels).toHaveLength(1);
    expect(report.kernels[0]!.control?.summary).toBe(
      "300 steps, one WebAssembly loop, carries updated in place",
    );
    expect(report.toString()).toMatch(/body:\n\s+kernel\s+equations/);
    expect(bits(f(x))).toEqual(bits(loop(300)(x)));
    let y = x;
    for (let i = 0; i < 300; i++) y = step(y);
    expect(bits(f(x))).toEqual(bits(y));
  });

  it("counts FLOPs of every step", () => {
    const report = jit(loop(10)).lower(x).report();
    const body = report.kernels[0]!.control!.bodies[0]!;
    const perStep = body.kernels.reduce((n, k) => n + k.flops, 0);
    expect(report.kernels[0]!.flops).toBe(10 * perStep);
  });

  it("keeps the counter of a foriLoop exact (and wrapping as int32)", () => {
    const f = jit(
      (c: NDArray) =>
        lax.scan(
          ([i, v]: [NDArray, NDArray]) =>
            [[i.add(1), v.mul(1.5)] as [NDArray, NDArray], null] as const,
          [np.array(2 ** 31 - 3, { dtype: "int32" }), c] as [NDArray, NDArray],
          null,
          { length: 5 },
        )[0],
    );
    const [i, v] = f(np.ones([8]));
    expect(i.item()).toBe(-(2 ** 31) + 2);
    expect(v.toList()).toEqual(new Array(8).fill(1.5 ** 5));
  });

  it("falls back to the compiled body per step when the loop has xs or ys, with the same values", () => {
    // Large enough for the executor (small programs run as one generated function instead).
    const f = (xs: NDArray) =>
      lax.scan(
        (c: NDArray, x: NDArray) => [c.mul(x).add(1), c.sum()] as const,
        np.ones([6000]),
        xs,
      );
    const xs = np.linspace(0.5, 1.5, 18000).reshape([3, 6000]);
    const compiled = jit(f);
    expect(
      compiled
        .lower(xs)
        .report()
        .kernels.find((k) => k.control)?.control?.summary,
    ).toBe(
      "3 steps, the compiled body called per step; its constants and carries stay in WebAssembly memory for the whole loop",
    );
    const [c1, ys1] = compiled(xs);
    const [c2, ys2] = f(xs);
    expect(bits(c1)).toEqual(bits(c2));
    expect(bits(ys1)).toEqual(bits(ys2));
  });

  it("reports while loops and conds with their bodies", () => {
    const w = jit((x: NDArray) =>
      lax.whileLoop(
        (v: NDArray) => v.sum().lt(10),
        (v: NDArray) => v.mul(2),
        x,
      ),
    );
    const text = w
      .lower(np.ones([2]))
      .report()
      .toString();
    expect(text).toContain("until the condition fails");
    expect(text).toContain("condition:");
    expect(text).toContain("body:");
    expect(w(np.ones([2])).toList()).toEqual([8, 8]);
    const c = jit((x: NDArray) =>
      lax.cond(
        x.sum().gt(0),
        (v: NDArray) => v.neg(),
        (v: NDArray) => v,
        x,
      ),
    );
    const report = c.lower(np.ones([2])).report();
    expect(report.toString()).toContain("one of 2 branches");
    expect(report.toString()).toContain("branch 1:");
  });
});

describe("whileLoop with maxSteps and checkpoints", () => {
  const w = np.array([0.3, 0.5, 0.7], { dtype: "float64" });
  const f =
    (options: { maxSteps: number; checkpoints?: number }) =>
    (weights: NDArray): NDArray =>
      lax
        .whileLoop(
          (s: NDArray) => s.sum().lt(50),
          (s: NDArray) => np.sin(s).mul(weights).add(s.mul(1.1)).add(0.5),
          np.ones([3], { dtype: "float64" }),
          options,
        )
        .sum();

  it("gives the same value and gradient with and without checkpoints", () => {
    const plain = f({ maxSteps: 40 });
    for (const checkpoints of [2, 3, 7, 100]) {
      const ck = f({ maxSteps: 40, checkpoints });
      expect(ck(w).item()).toBe(plain(w).item());
      expectClose(grad(ck)(w), grad(plain)(w), { rtol: 1e-12, atol: 1e-12 });
    }
  });

  it("stops at maxSteps when the condition still holds", () => {
    const count = (options: { maxSteps: number; checkpoints?: number }) =>
      lax.whileLoop(
        (n: NDArray) => n.lt(1000),
        (n: NDArray) => n.add(1),
        np.array(0, { dtype: "int32" }),
        options,
      );
    expect(count({ maxSteps: 17 }).item()).toBe(17);
    expect(count({ maxSteps: 17, checkpoints: 3 }).item()).toBe(17);
    expect(count({ maxSteps: 0 }).item()).toBe(0);
  });

  it("keeps only segment starts on the forward pass (checkpoints = 4 of 64 steps)", () => {
    const program = makeProgram(grad(f({ maxSteps: 64, checkpoints: 4 })))(w).toString();
    // The outermost forward scan has 4 segments; each keeps its starting state for the
    // backward pass, which recomputes the segment.
    expect(program).toMatch(/scan\[length=4 /);
    expect(program).not.toMatch(/f64\[64,3\]/);
  });

  it("rejects bad options", () => {
    expect(() => f({ maxSteps: -1 })(w)).toThrow(/maxSteps must be a whole number ≥ 0/);
    expect(() => f({ maxSteps: 10, checkpoints: 1 })(w)).toThrow(
      /checkpoints must be a whole number ≥ 2/,
    );
  });
});

/**
 * Worker threads (src/runtime/threads.ts): the setting, the splitting of work, and results that do
 * not depend on how many threads computed them.
 */
import { afterEach, describe, expect, it } from "vitest";
import { config, FluxionError, jit, lax, np, ValueError, type NDArray } from "../../src/index.js";
import { matmulKernel, splitMatmul } from "../../src/runtime/matmul.js";
import { splitRange, threadsSupported, wakeWorkers } from "../../src/runtime/threads.js";
import {
  compileKernel,
  kernelMemory,
  kernelModuleBuilder,
  runKernelParallel,
} from "../../src/runtime/wasm-memory.js";
import type { MatmulSpec } from "../../src/compiler/kernels/matmul.js";

const initial = config().threads;
afterEach(() => {
  config({ threads: initial });
});

/** `f()` computed on one thread and on `threads`, as typed arrays. */
function onBoth(f: () => NDArray, threads = 2): [ArrayLike<number>, ArrayLike<number>] {
  config({ threads: 1 });
  const one = f().toTypedArray();
  config({ threads });
  const many = f().toTypedArray();
  return [one, many];
}

function expectIdentical(a: ArrayLike<number>, b: ArrayLike<number>): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) expect.fail(`element ${i}: ${a[i]} vs ${b[i]}`);
  }
}

/** A deterministic float32 array of `n` values in [-4, 4]. */
function values(n: number, seed = 1): NDArray {
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = 4 * Math.sin(seed * 12.9898 + i * 0.618);
  return np.array(data);
}

describe("config", () => {
  it("reads and sets the thread count", () => {
    expect(config().threads).toBeGreaterThanOrEqual(1);
    expect(config({ threads: 1 }).threads).toBe(1);
    expect(config().threads).toBe(1);
    if (threadsSupported) expect(config({ threads: 3 }).threads).toBe(3);
  });

  it("rejects a bad count and keeps the setting", () => {
    config({ threads: 1 });
    for (const bad of [0, -2, 1.5, NaN, Infinity]) {
      expect(() => config({ threads: bad })).toThrow(ValueError);
      expect(() => config({ threads: bad })).toThrow(/threads must be a whole number ≥ 1/);
      expect(config().threads).toBe(1);
    }
  });

  it("uses fused multiply-add in Node.js by default, and can turn it off", () => {
    const fused = config().fusedMultiplyAdd;
    expect(fused).toBe(true);
    const a = np.reshape(values(96 * 80, 1), [96, 80]);
    const b = np.reshape(values(80 * 72, 2), [80, 72]);
    const product = (): Float32Array => np.matmul(a, b).toTypedArray() as Float32Array;
    const withFma = product();
    try {
      expect(config({ fusedMultiplyAdd: false }).fusedMultiplyAdd).toBe(false);
      const without = product();
      // Same products either way up to rounding; the kernels are built for each setting.
      for (let i = 0; i < without.length; i++) {
        expect(Math.abs(withFma[i]! - without[i]!)).toBeLessThanOrEqual(1e-4 * 80 * 16);
      }
    } finally {
      config({ fusedMultiplyAdd: fused });
    }
  });

  it("runs tanh with fused multiply-add by default, eagerly and compiled alike, and follows a change", () => {
    const fused = config().fusedMultiplyAdd;
    const x = values(4096, 7).mul(2);
    const small = values(500, 8).mul(2);
    const f = (a: NDArray): NDArray => np.tanh(a.mul(1.5)).mul(a);
    const loop = (a: NDArray): NDArray =>
      lax.foriLoop(0, 3, (_, c: NDArray) => np.tanh(c.mul(3)), a);
    const [jf, jloop] = [jit(f), jit(loop)];
    const bits = (a: NDArray): Uint32Array =>
      new Uint32Array((a.toTypedArray() as Float32Array).slice().buffer);
    /** Compiled (a big kernel, a small inline program, a whole loop) equals eager, bit for bit. */
    const agree = (): Uint32Array => {
      const eager = bits(f(x));
      expect(bits(jf(x))).toEqual(eager);
      expect(bits(jf(small))).toEqual(bits(f(small)));
      expect(bits(jloop(x))).toEqual(bits(loop(x)));
      return eager;
    };
    const withFma = agree();
    try {
      config({ fusedMultiplyAdd: false });
      const without = agree();
      // The variants differ in the last bits of some elements, never by more than a few ulps.
      expect(without).not.toEqual(withFma);
      const a = new Float32Array(withFma.buffer);
      const b = new Float32Array(without.buffer);
      for (let i = 0; i < a.length; i++) {
        expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(2 ** -18);
      }
      config({ fusedMultiplyAdd: true });
      expect(agree()).toEqual(withFma);
    } finally {
      config({ fusedMultiplyAdd: fused });
    }
  });

  it("rejects a bad fusedMultiplyAdd and changes nothing, threads included", () => {
    config({ threads: 1 });
    const fused = config().fusedMultiplyAdd;
    const bad = { threads: 2, fusedMultiplyAdd: "yes" as unknown as boolean };
    expect(() => config(bad)).toThrow(/fusedMultiplyAdd must be true or false, got yes/);
    expect(config()).toEqual({ threads: 1, fusedMultiplyAdd: fused });
  });

  it("uses every core by default in Node.js", () => {
    expect(threadsSupported).toBe(true);
    expect(initial).toBeGreaterThanOrEqual(1);
  });
});

describe("splitRange", () => {
  it("covers the range in order with parts that are multiples (but the last)", () => {
    for (const [count, parts, multiple] of [
      [10, 2, 4],
      [1_000_003, 2, 4],
      [7, 4, 4],
      [3, 8, 1],
      [64, 3, 8],
    ] as const) {
      const ranges = splitRange(count, parts, multiple);
      expect(ranges.length).toBeLessThanOrEqual(parts);
      let next = 0;
      ranges.forEach(([start, length], i) => {
        expect(start).toBe(next);
        expect(length).toBeGreaterThan(0);
        if (i < ranges.length - 1) expect(length % multiple).toBe(0);
        next += length;
      });
      expect(next).toBe(count);
    }
  });
});

describe("splitMatmul", () => {
  const spec = (m: number, n: number, batch = 1): MatmulSpec => ({
    dtype: "float32",
    batch,
    m,
    n,
    k: 5,
    a: { batchStride: m * 5, rowStride: 5, colStride: 1 },
    b: { batchStride: 5 * n, rowStride: n, colStride: 1 },
  });

  it("splits along rows, columns or the batch, covering C once, in C's layout", () => {
    for (const [s, axis] of [
      [spec(100, 20), "m"],
      [spec(4, 100), "n"],
      [spec(4, 4, 6), "batch"],
    ] as const) {
      // Contiguous C, and a C with 7 spare columns per row and 5 spare elements per matrix.
      const wide = { rowStride: s.n + 7, batchStride: s.m * (s.n + 7) + 5 };
      for (const c of [undefined, wide]) {
        const parts = splitMatmul(c === undefined ? s : { ...s, c }, 2);
        expect(parts).toHaveLength(2);
        const { rowStride, batchStride } = c ?? { rowStride: s.n, batchStride: s.m * s.n };
        const covered: number[] = [];
        for (const part of parts) {
          expect(part.spec[axis]).toBeLessThan(s[axis]);
          if (c !== undefined) expect(part.spec.c).toEqual(c);
          for (let b = 0; b < part.spec.batch; b++)
            for (let i = 0; i < part.spec.m; i++)
              for (let j = 0; j < part.spec.n; j++)
                covered.push(part.c + b * batchStride + i * rowStride + j);
        }
        const expected: number[] = [];
        for (let b = 0; b < s.batch; b++)
          for (let i = 0; i < s.m; i++)
            for (let j = 0; j < s.n; j++) expected.push(b * batchStride + i * rowStride + j);
        // Each element of C once.
        expect(covered.sort((x, y) => x - y)).toEqual(expected);
      }
    }
  });

  it("keeps a product too small to split whole", () => {
    expect(splitMatmul(spec(3, 3), 2)).toHaveLength(1);
    expect(splitMatmul(spec(100, 100), 1)).toHaveLength(1);
  });
});

describe("matmulKernel", () => {
  const spec: MatmulSpec = {
    dtype: "float32",
    batch: 1,
    m: 40,
    n: 24,
    k: 16,
    a: { batchStride: 0, rowStride: 16, colStride: 1 },
    b: { batchStride: 0, rowStride: 24, colStride: 1 },
  };

  it("compiles a spec once and tells apart specs that differ in any field", () => {
    const kernel = matmulKernel(spec, 1);
    expect(matmulKernel({ ...spec, a: { ...spec.a } }, 1)).toBe(kernel);
    const variants: MatmulSpec[] = [
      { ...spec, dtype: "float64" },
      { ...spec, batch: 2, a: { ...spec.a, batchStride: 640 }, b: { ...spec.b, batchStride: 384 } },
      { ...spec, m: 41 },
      { ...spec, n: 25 },
      { ...spec, k: 15 },
      { ...spec, a: { batchStride: 0, rowStride: 1, colStride: 40 } },
      { ...spec, b: { batchStride: 0, rowStride: 1, colStride: 16 } },
      { ...spec, c: { batchStride: 0, rowStride: 32 } },
      { ...spec, epilogue: { bias: true } },
      { ...spec, epilogue: { activation: "relu" } },
      { ...spec, blocking: { kc: 8 } },
    ];
    const kernels = new Set([kernel, ...variants.map((v) => matmulKernel(v, 1))]);
    expect(kernels.size).toBe(variants.length + 1);
    expect(matmulKernel(spec, 2)).not.toBe(kernel);
    // The scratch each part needs is worked out once, with the kernel.
    expect(kernel.scratchBytes).toHaveLength(kernel.parts.length);
    expect(kernel.scratchBytes[0]).toBeGreaterThan(0);
  });
});

describe("results do not depend on the thread count", () => {
  it("matmul split along rows, columns and batch, with transposed operands", () => {
    const a = values(300 * 200).reshape([300, 200]);
    const b = values(200 * 260, 2).reshape([200, 260]);
    expectIdentical(...onBoth(() => np.matmul(a, b)));
    expectIdentical(...onBoth(() => np.matmul(b.T, a.T)));
    const wide = values(16 * 300, 3).reshape([16, 300]);
    const tall = values(300 * 2000, 4).reshape([300, 2000]);
    expectIdentical(...onBoth(() => np.matmul(wide, tall)));
    // Too short and narrow to split along rows or columns: split along the batch.
    const x = values(64 * 8 * 512, 5).reshape([64, 8, 512]);
    const y = values(64 * 512 * 16, 6).reshape([64, 512, 16]);
    expectIdentical(...onBoth(() => np.matmul(x, y)));
    expectIdentical(...onBoth(() => np.matmul(x, y), 3));
  });

  it("eager tanh/exp on long arrays (odd lengths too)", () => {
    for (const n of [100_003, 65_536]) {
      const x = values(n);
      expectIdentical(...onBoth(() => np.tanh(x)));
      expectIdentical(...onBoth(() => np.exp(x)));
    }
  });

  it("compiled fused loops, with and without vector math", () => {
    const f = jit((x: NDArray, y: NDArray) => np.tanh(x.mul(2).add(1)).mul(y));
    const g = jit((x: NDArray, y: NDArray) => x.mul(y).add(x).sub(1.5));
    for (const n of [300_001, 40_000]) {
      const x = values(n);
      const y = values(n, 3);
      expectIdentical(...onBoth(() => f(x, y)));
      expectIdentical(...onBoth(() => g(x, y)));
      expectIdentical(onBoth(() => f(x, y))[1], np.tanh(x.mul(2).add(1)).mul(y).toTypedArray());
    }
  });
});

describe("runKernelParallel", () => {
  const module = kernelModuleBuilder();
  // store(pointer, value): writes one int32; trap(): unreachable.
  const store = module.addFunction("store", { params: ["i32", "i32"], export: true });
  store.localGet(0).localGet(1).i32Store();
  const trap = module.addFunction("trap", { params: ["i32"], export: true });
  trap.op("unreachable");
  const kernel = compileKernel(module.build());

  it("runs each call once, on this thread and on workers, woken ahead of it or not", () => {
    config({ threads: 1 });
    wakeWorkers(); // one thread: nothing to wake
    for (const threads of [2, 3, 2]) {
      config({ threads });
      for (const [round, woken] of [false, true, true].entries()) {
        // Woken twice: the second call finds them awake already.
        if (woken) for (let k = 0; k < 2; k++) wakeWorkers();
        const calls = Array.from({ length: 10 }, (_, i) => ({
          name: "store",
          args: [64 + 4 * i, 100 * threads + 10 * round + i],
        }));
        runKernelParallel("test", kernel, calls);
        const memory = new Int32Array(kernelMemory().buffer, 64, 10);
        expect(Array.from(memory)).toEqual(calls.map((c) => c.args[1]));
      }
    }
  });

  it("turns a trap in a worker into a FluxionError", () => {
    config({ threads: 2 });
    const run = (): void =>
      runKernelParallel("a test kernel", kernel, [
        { name: "store", args: [64, 1] },
        { name: "trap", args: [0] },
      ]);
    expect(run).toThrow(FluxionError);
    expect(run).toThrow(/a test kernel.*stopped with "unreachable/s);
    // The pool still works afterwards.
    runKernelParallel("test", kernel, [
      { name: "store", args: [64, 1] },
      { name: "store", args: [68, 2] },
    ]);
  });

  it("turns a trap on the calling thread into a FluxionError too", () => {
    expect(() => runKernelParallel("a test kernel", kernel, [{ name: "trap", args: [0] }])).toThrow(
      /a test kernel.*stopped with "unreachable/s,
    );
  });
});

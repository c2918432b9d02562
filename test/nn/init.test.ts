/**
 * nn.init: fans and gains are PyTorch's (from the fixture); each initialiser has the mean,
 * standard deviation and bounds its rule gives (statistically, on large shapes); orthogonal
 * gives QᵀQ = I; all take a dtype, are functions of the key, and run under vmap and jit.
 */
import { describe, expect, it } from "vitest";
import {
  jit,
  nn,
  np,
  random,
  vmap,
  ShapeError,
  ValueError,
  type NDArray,
} from "../../src/index.js";
import { expectClose, expectTypedError } from "../helpers/assertions.js";
import { fixture } from "./layer-fixtures.js";

const file = "init.test.ts";
const key = random.key(0);
const stats = (x: NDArray): { mean: number; std: number; max: number; min: number } => ({
  mean: x.mean().item() as number,
  std: np.std(x).item() as number,
  max: x.max().item() as number,
  min: x.min().item() as number,
});
const camel = (name: string): nn.init.Nonlinearity =>
  name.replace(/_(\w)/g, (_, c: string) => c.toUpperCase()) as nn.init.Nonlinearity;

describe("PyTorch's rules", () => {
  it("fans: [in·∏kernel, out·∏kernel] for weights [out, in, ...kernel]", () => {
    for (const { shape, fanIn, fanOut } of fixture.init.fans) {
      expect(nn.init.computeFans(shape)).toEqual([fanIn, fanOut]);
    }
  });

  it("gains", () => {
    for (const { nonlinearity, param, gain } of fixture.init.gains) {
      expect(nn.init.calculateGain(camel(nonlinearity), param ?? undefined)).toBeCloseTo(gain, 14);
    }
  });
});

describe("distributions", () => {
  const shape = [256, 128];
  const n = 256 * 128;
  // A sample standard deviation is within ~1% of the true one here; allow 4%.
  const near = (actual: number, expected: number): void =>
    expect(Math.abs(actual - expected)).toBeLessThan(0.04 * expected);

  it("uniform-based: xavier, kaiming, lecun are U(±√3·std) with their rule's std", () => {
    const [fanIn, fanOut] = [128, 256];
    const cases: [string, NDArray, number][] = [
      ["xavierUniform", nn.init.xavierUniform(key, shape), Math.sqrt(2 / (fanIn + fanOut))],
      [
        "xavierUniform gain 2",
        nn.init.xavierUniform(key, shape, { gain: 2 }),
        2 * Math.sqrt(2 / (fanIn + fanOut)),
      ],
      ["kaimingUniform", nn.init.kaimingUniform(key, shape), Math.sqrt(2 / fanIn)],
      [
        "kaimingUniform fanOut tanh",
        nn.init.kaimingUniform(key, shape, { mode: "fanOut", nonlinearity: "tanh" }),
        5 / 3 / Math.sqrt(fanOut),
      ],
      [
        "kaimingUniform a = √5 (PyTorch's Linear)",
        nn.init.kaimingUniform(key, shape, { a: Math.sqrt(5) }),
        1 / Math.sqrt(3 * fanIn),
      ],
      ["lecunUniform", nn.init.lecunUniform(key, shape), 1 / Math.sqrt(fanIn)],
      ["glorotUniform", nn.init.glorotUniform(key, shape), Math.sqrt(2 / (fanIn + fanOut))],
    ];
    for (const [name, w, std] of cases) {
      const s = stats(w);
      const bound = Math.sqrt(3) * std;
      expect(w.shape, name).toEqual(shape);
      expect(Math.abs(s.mean), name).toBeLessThan(0.02 * std);
      near(s.std, std);
      expect(s.max, name).toBeLessThanOrEqual(bound * (1 + 1e-6));
      expect(s.max, name).toBeGreaterThan(0.99 * bound);
      expect(s.min, name).toBeGreaterThanOrEqual(-bound * (1 + 1e-6));
    }
  });

  it("normal-based: xavier, kaiming, lecun (truncated), normal, truncatedNormal", () => {
    const [fanIn, fanOut] = [128, 256];
    const cases: [string, NDArray, number, number][] = [
      ["xavierNormal", nn.init.xavierNormal(key, shape), Math.sqrt(2 / (fanIn + fanOut)), 0],
      ["kaimingNormal", nn.init.kaimingNormal(key, shape), Math.sqrt(2 / fanIn), 0],
      [
        "heNormal relu fanOut",
        nn.init.heNormal(key, shape, { mode: "fanOut", nonlinearity: "relu" }),
        Math.sqrt(2 / fanOut),
        0,
      ],
      ["lecunNormal", nn.init.lecunNormal(key, shape), 1 / Math.sqrt(fanIn), 0],
      ["normal", nn.init.normal(key, shape, { mean: 3, std: 0.5 }), 0.5, 3],
      // A unit normal truncated to ±2 has standard deviation 0.8796.
      ["truncatedNormal", nn.init.truncatedNormal(key, shape), 0.87962566, 0],
    ];
    for (const [name, w, std, mean] of cases) {
      const s = stats(w);
      expect(Math.abs(s.mean - mean), name).toBeLessThan(0.02 * std);
      near(s.std, std);
    }
    const lecun = stats(nn.init.lecunNormal(key, shape));
    expect(lecun.max).toBeLessThanOrEqual(2 / 0.87962566 / Math.sqrt(128) + 1e-6);
    const t = nn.init.truncatedNormal(key, [n], { mean: 1, std: 2, lower: 0, upper: 3 });
    expect(stats(t).min).toBeGreaterThanOrEqual(0);
    expect(stats(t).max).toBeLessThanOrEqual(3);
    // The mean of N(1, 2²) truncated to [0, 3]: 1 + 2(φ(−0.5) − φ(1))/(Φ(1) − Φ(−0.5)).
    near(stats(t).mean, 1.41326);
  });

  it("fans of convolution weights count the kernel", () => {
    const w = nn.init.kaimingUniform(key, [64, 16, 5, 5], { nonlinearity: "relu" });
    const bound = Math.SQRT2 * Math.sqrt(3 / (16 * 25));
    expect(stats(w).max).toBeLessThanOrEqual(bound);
    expect(stats(w).max).toBeGreaterThan(0.99 * bound);
  });

  it("constants and uniform", () => {
    expect(nn.init.zeros(key, [2]).toList()).toEqual([0, 0]);
    expect(nn.init.ones(key, [2], { dtype: "int32" }).dtype).toBe("int32");
    expect(nn.init.constant(key, [2], { value: 3 }).toList()).toEqual([3, 3]);
    const u = stats(nn.init.uniform(key, [n], { minval: -2, maxval: 4 }));
    expect(u.min).toBeGreaterThanOrEqual(-2);
    expect(u.max).toBeLessThan(4);
    expect(Math.abs(u.mean - 1)).toBeLessThan(0.05);
    expect(stats(nn.init.uniform(key, [n])).min).toBeGreaterThanOrEqual(0);
  });
});

describe("orthogonal", () => {
  it("tall: orthonormal columns; wide: orthonormal rows; conv shapes flatten; gain scales", () => {
    const tall = nn.init.orthogonal(key, [9, 4], { dtype: "float64" });
    expectClose(np.matmul(tall.T, tall), np.eye(4), { atol: 1e-12 });
    const wide = nn.init.orthogonal(key, [3, 7], { dtype: "float64" });
    expectClose(np.matmul(wide, wide.T), np.eye(3), { atol: 1e-12 });
    const conv = nn.init.orthogonal(key, [4, 2, 3], { dtype: "float64", gain: 2 });
    expect(conv.shape).toEqual([4, 2, 3]);
    const flat = conv.reshape([4, 6]);
    expectClose(np.matmul(flat, flat.T), np.eye(4).mul(4), { atol: 1e-12 });
    const square = nn.init.orthogonal(random.key(1), [64, 64]);
    expectClose(np.matmul(square.T, square), np.eye(64), { atol: 1e-5 });
    // Q of the QR of the same normal matrix, with R's diagonal positive (PyTorch's convention).
    const a = random.normal(key, [9, 4], { dtype: "float64" });
    const r = np.matmul(tall.T, a);
    expectClose(np.matmul(tall, r), a, { atol: 1e-12 });
    const diag = np.diagonal(r);
    expect(Array.from(diag.toTypedArray()).every((v) => v > 0)).toBe(true);
    const below = (r.toList() as number[][]).flatMap((row, i) => row.slice(0, i));
    expect(Math.max(...below.map(Math.abs))).toBeLessThan(1e-12);
  });

  it("runs under jit", () => {
    const f = (k: NDArray): NDArray => nn.init.orthogonal(k, [5, 3], { dtype: "float64" });
    expectClose(jit(f)(key), f(key), { atol: 1e-12 });
  });
});

describe("all initialisers", () => {
  it("take a dtype, depend only on the key, and batch over keys with vmap", () => {
    expect(nn.init.xavierNormal(key, [3, 2], { dtype: "float64" }).dtype).toBe("float64");
    expect(nn.init.lecunUniform(key, [3, 2]).dtype).toBe("float32");
    const a = nn.init.kaimingNormal(random.key(5), [4, 3]);
    expect(nn.init.kaimingNormal(random.key(5), [4, 3]).toList()).toEqual(a.toList());
    expect(nn.init.kaimingNormal(random.key(6), [4, 3]).toList()).not.toEqual(a.toList());
    const keys = random.split(key, 3);
    const stacked = vmap((k: NDArray) => nn.init.xavierUniform(k, [4, 2]))(keys);
    expect(stacked.shape).toEqual([3, 4, 2]);
    expectClose(stacked.get(1), nn.init.xavierUniform(keys.get(1), [4, 2]));
  });

  it("reject shapes without fans, bad dtypes and bad options", () => {
    expectTypedError(
      () => nn.init.xavierUniform(key, [5]),
      ShapeError,
      file,
      "at least 2 axes",
      "[5]",
    );
    expectTypedError(
      () => nn.init.kaimingNormal(key, [0, 3], { mode: "fanOut" }),
      ShapeError,
      file,
      "fanOut 0",
    );
    expectTypedError(
      () => nn.init.normal(key, [2], { dtype: "int32" }),
      ValueError,
      file,
      "float32 or float64",
    );
    expectTypedError(
      () => nn.init.kaimingUniform(key, [2, 2], { mode: "fan_in" as "fanIn" }),
      ValueError,
      file,
      "fanIn",
    );
    expectTypedError(
      () => nn.init.calculateGain("gelu" as nn.init.Nonlinearity),
      ValueError,
      file,
      "unknown nonlinearity",
    );
    expectTypedError(() => nn.init.orthogonal(key, [4]), ShapeError, file, "at least 2 axes");
    expectTypedError(
      () => nn.init.constant(key, [2], {} as { value: number }),
      ValueError,
      file,
      "value",
    );
    expectTypedError(
      () => nn.init.uniform(key, [2], { minval: 1, maxval: 0 }),
      ValueError,
      file,
      "minval",
    );
    expectTypedError(() => nn.init.zeros(key, [2.5]), ShapeError, file, "whole numbers");
  });
});

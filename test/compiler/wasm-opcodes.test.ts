/**
 * Every instruction without immediates computes what the specification says: each is compiled
 * into its own exported function and compared with a JavaScript reference. A wrong opcode number
 * fails validation or gives another operation's result; a table entry without a reference fails
 * the coverage test.
 */
import { describe, expect, it } from "vitest";
import { ModuleBuilder } from "../../src/compiler/wasm/module.js";
import type { OpName } from "../../src/compiler/wasm/function-builder.js";
import { miscOpcodes, plainOpcodes, type ValueType } from "../../src/compiler/wasm/opcodes.js";
import { simdOpcodes } from "../../src/compiler/wasm/simd-opcodes.js";
import { relaxedSimdSupported } from "../../src/runtime/relaxed-simd.js";
import { WebAssembly } from "../../src/runtime/webassembly.js";

relaxedSimdSupported(); // relaxed SIMD is behind a flag in Node.js 20, which this switches on

type Scalar = number | bigint;
type ScalarType = Exclude<ValueType, "v128">;
type Reference = (...args: never[]) => Scalar | boolean;

interface ScalarCase {
  op: OpName;
  params: ScalarType[];
  result: ScalarType;
  reference: Reference;
  inputs: Scalar[][];
}

const u32 = (x: number): number => x >>> 0;
const u64 = (x: bigint): bigint => BigInt.asUintN(64, x);
const bits = new DataView(new ArrayBuffer(8));

function nearest(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function copysign(a: number, b: number): number {
  return b < 0 || Object.is(b, -0) ? -Math.abs(a) : Math.abs(a);
}

function saturate(x: number, low: number, high: number): number {
  return Number.isNaN(x) ? 0 : Math.min(Math.max(Math.trunc(x), low), high);
}

function saturate64(x: number, signed: boolean): bigint {
  if (Number.isNaN(x)) return 0n;
  const [low, high] = signed ? [-(2n ** 63n), 2n ** 63n - 1n] : [0n, 2n ** 64n - 1n];
  if (!Number.isFinite(x)) return x > 0 ? high : low;
  const t = BigInt(Math.trunc(x));
  return t < low ? low : t > high ? high : t;
}

const clz64 = (a: bigint): bigint => (u64(a) === 0n ? 64n : BigInt(64 - u64(a).toString(2).length));
const ctz64 = (a: bigint): bigint => {
  const s = u64(a).toString(2);
  return u64(a) === 0n ? 64n : BigInt(s.length - 1 - s.lastIndexOf("1"));
};
const rotl64 = (a: bigint, b: bigint): bigint => {
  const k = b & 63n;
  return (u64(a) << k) | (u64(a) >> ((64n - k) & 63n));
};

const cases: ScalarCase[] = [];
function family(
  prefix: string,
  params: ScalarType[],
  result: ScalarType,
  inputs: Scalar[][],
  references: Record<string, Reference>,
): void {
  for (const [name, reference] of Object.entries(references)) {
    cases.push({ op: `${prefix}.${name}` as OpName, params, result, reference, inputs });
  }
}

const i32Pairs = [
  [7, 3],
  [-7, 3],
  [0x7fffffff, 1],
  [-1, 31],
  [123456789, -987],
  [0, 5],
  [-5, -1],
];
family("i32", ["i32"], "i32", [[0], [1], [-1], [0x00f0f000], [0x80], [0x8000]], {
  eqz: (a: number) => a === 0,
  clz: (a: number) => Math.clz32(a),
  ctz: (a: number) => (a === 0 ? 32 : 31 - Math.clz32(a & -a)),
  popcnt: (a: number) => u32(a).toString(2).split("1").length - 1,
  extend8_s: (a: number) => (a << 24) >> 24,
  extend16_s: (a: number) => (a << 16) >> 16,
});
family("i32", ["i32", "i32"], "i32", i32Pairs, {
  add: (a: number, b: number) => a + b,
  sub: (a: number, b: number) => a - b,
  mul: (a: number, b: number) => Math.imul(a, b),
  div_s: (a: number, b: number) => Math.trunc(a / b),
  div_u: (a: number, b: number) => Math.trunc(u32(a) / u32(b)),
  rem_s: (a: number, b: number) => a % b,
  rem_u: (a: number, b: number) => u32(a) % u32(b),
  and: (a: number, b: number) => a & b,
  or: (a: number, b: number) => a | b,
  xor: (a: number, b: number) => a ^ b,
  shl: (a: number, b: number) => a << b,
  shr_s: (a: number, b: number) => a >> b,
  shr_u: (a: number, b: number) => a >>> b,
  rotl: (a: number, b: number) => (a << (b & 31)) | (a >>> ((32 - (b & 31)) & 31)),
  rotr: (a: number, b: number) => (a >>> (b & 31)) | (a << ((32 - (b & 31)) & 31)),
  eq: (a: number, b: number) => a === b,
  ne: (a: number, b: number) => a !== b,
  lt_s: (a: number, b: number) => a < b,
  lt_u: (a: number, b: number) => u32(a) < u32(b),
  gt_s: (a: number, b: number) => a > b,
  gt_u: (a: number, b: number) => u32(a) > u32(b),
  le_s: (a: number, b: number) => a <= b,
  le_u: (a: number, b: number) => u32(a) <= u32(b),
  ge_s: (a: number, b: number) => a >= b,
  ge_u: (a: number, b: number) => u32(a) >= u32(b),
});

const i64Singles = [[0n], [1n], [-1n], [0x00f0f000_0000n], [0x80n], [0x8000_0000n]];
family("i64", ["i64"], "i64", i64Singles, {
  clz: clz64,
  ctz: ctz64,
  popcnt: (a: bigint) => BigInt(u64(a).toString(2).split("1").length - 1),
  extend8_s: (a: bigint) => BigInt.asIntN(8, a),
  extend16_s: (a: bigint) => BigInt.asIntN(16, a),
  extend32_s: (a: bigint) => BigInt.asIntN(32, a),
});
family("i64", ["i64"], "i32", i64Singles, { eqz: (a: bigint) => a === 0n });
const i64Pairs = [
  [7n, 3n],
  [-7n, 3n],
  [2n ** 63n - 1n, 2n],
  [-1n, 63n],
  [123456789012345n, -987n],
  [0n, 5n],
];
family("i64", ["i64", "i64"], "i64", i64Pairs, {
  add: (a: bigint, b: bigint) => a + b,
  sub: (a: bigint, b: bigint) => a - b,
  mul: (a: bigint, b: bigint) => a * b,
  div_s: (a: bigint, b: bigint) => a / b,
  div_u: (a: bigint, b: bigint) => u64(a) / u64(b),
  rem_s: (a: bigint, b: bigint) => a % b,
  rem_u: (a: bigint, b: bigint) => u64(a) % u64(b),
  and: (a: bigint, b: bigint) => a & b,
  or: (a: bigint, b: bigint) => a | b,
  xor: (a: bigint, b: bigint) => a ^ b,
  shl: (a: bigint, b: bigint) => a << (b & 63n),
  shr_s: (a: bigint, b: bigint) => a >> (b & 63n),
  shr_u: (a: bigint, b: bigint) => u64(a) >> (b & 63n),
  rotl: rotl64,
  rotr: (a: bigint, b: bigint) => rotl64(a, 64n - (b & 63n)),
});
family("i64", ["i64", "i64"], "i32", i64Pairs, {
  eq: (a: bigint, b: bigint) => a === b,
  ne: (a: bigint, b: bigint) => a !== b,
  lt_s: (a: bigint, b: bigint) => a < b,
  lt_u: (a: bigint, b: bigint) => u64(a) < u64(b),
  gt_s: (a: bigint, b: bigint) => a > b,
  gt_u: (a: bigint, b: bigint) => u64(a) > u64(b),
  le_s: (a: bigint, b: bigint) => a <= b,
  le_u: (a: bigint, b: bigint) => u64(a) <= u64(b),
  ge_s: (a: bigint, b: bigint) => a >= b,
  ge_u: (a: bigint, b: bigint) => u64(a) >= u64(b),
});

const floatSingles = [[2.5], [-2.5], [-0.4], [3.7], [-1.5], [0.5], [1e10], [16], [-0]];
const floatPairs = [
  [1.5, -2.25],
  [-0, 0],
  [3.7, 3.7],
  [-5.5, 0.1],
  [1e30, 1e-30],
  [2.5, -1.5],
];
for (const t of ["f32", "f64"] as const) {
  family(t, [t], t, floatSingles, {
    abs: Math.abs,
    neg: (a: number) => -a,
    ceil: Math.ceil,
    floor: Math.floor,
    trunc: Math.trunc,
    nearest,
    sqrt: Math.sqrt,
  });
  family(t, [t, t], t, floatPairs, {
    add: (a: number, b: number) => a + b,
    sub: (a: number, b: number) => a - b,
    mul: (a: number, b: number) => a * b,
    div: (a: number, b: number) => a / b,
    min: Math.min,
    max: Math.max,
    copysign,
  });
  family(t, [t, t], "i32", floatPairs, {
    eq: (a: number, b: number) => a === b,
    ne: (a: number, b: number) => a !== b,
    lt: (a: number, b: number) => a < b,
    gt: (a: number, b: number) => a > b,
    le: (a: number, b: number) => a <= b,
    ge: (a: number, b: number) => a >= b,
  });
}

function conversion(
  op: string,
  from: ScalarType,
  to: ScalarType,
  inputs: Scalar[],
  reference: Reference,
): void {
  cases.push({
    op: op as OpName,
    params: [from],
    result: to,
    reference,
    inputs: inputs.map((x) => [x]),
  });
}
const toI64 = (x: number): bigint => BigInt(Math.trunc(x));
conversion("i32.wrap_i64", "i64", "i32", [2n ** 40n + 5n, -3n], (a: bigint) =>
  Number(BigInt.asIntN(32, a)),
);
conversion("i32.trunc_f32_s", "f32", "i32", [-3.7, 1e9], Math.trunc);
conversion("i32.trunc_f32_u", "f32", "i32", [3.7, 3e9], Math.trunc);
conversion("i32.trunc_f64_s", "f64", "i32", [-3.7, -2147483648.9], Math.trunc);
conversion("i32.trunc_f64_u", "f64", "i32", [3.7, 4294967295.5], Math.trunc);
conversion("i64.extend_i32_s", "i32", "i64", [-5, 7], (a: number) => BigInt(a));
conversion("i64.extend_i32_u", "i32", "i64", [-5, 7], (a: number) => BigInt(u32(a)));
conversion("i64.trunc_f32_s", "f32", "i64", [-3.7, 1e12], toI64);
conversion("i64.trunc_f32_u", "f32", "i64", [3.7, 1e12], toI64);
conversion("i64.trunc_f64_s", "f64", "i64", [-3.7, -1e18], toI64);
conversion("i64.trunc_f64_u", "f64", "i64", [3.7, 1.5e19], toI64);
conversion("f32.convert_i32_s", "i32", "f32", [-123456789, 7], (a: number) => a);
conversion("f32.convert_i32_u", "i32", "f32", [-1, 7], u32);
conversion("f32.convert_i64_s", "i64", "f32", [-123456789n, 2n ** 40n + 1n], Number);
conversion("f32.convert_i64_u", "i64", "f32", [5n, -1n], (a: bigint) => Number(u64(a)));
conversion("f32.demote_f64", "f64", "f32", [0.1, -1e300], (a: number) => a);
conversion("f64.convert_i32_s", "i32", "f64", [-123456789, 7], (a: number) => a);
conversion("f64.convert_i32_u", "i32", "f64", [-1, 7], u32);
conversion("f64.convert_i64_s", "i64", "f64", [-(2n ** 53n), 12345n], Number);
conversion("f64.convert_i64_u", "i64", "f64", [5n, -1n], (a: bigint) => Number(u64(a)));
conversion("f64.promote_f32", "f32", "f64", [0.1, -3], (a: number) => a);
conversion("i32.reinterpret_f32", "f32", "i32", [1, -0.1], (a: number) => {
  bits.setFloat32(0, a);
  return bits.getInt32(0);
});
conversion("i64.reinterpret_f64", "f64", "i64", [1, -0.1], (a: number) => {
  bits.setFloat64(0, a);
  return bits.getBigInt64(0);
});
conversion("f32.reinterpret_i32", "i32", "f32", [0x3f800000, -0x40800000], (a: number) => {
  bits.setInt32(0, a);
  return bits.getFloat32(0);
});
conversion("f64.reinterpret_i64", "i64", "f64", [0x3ff0000000000000n, -1n], (a: bigint) => {
  bits.setBigInt64(0, a);
  return bits.getFloat64(0);
});
const satInputs = [1e10, -1e10, NaN, -3.7, 3.7, Infinity];
for (const from of ["f32", "f64"] as const) {
  conversion(`i32.trunc_sat_${from}_s`, from, "i32", satInputs, (a: number) =>
    saturate(a, -(2 ** 31), 2 ** 31 - 1),
  );
  conversion(`i32.trunc_sat_${from}_u`, from, "i32", satInputs, (a: number) =>
    saturate(a, 0, 2 ** 32 - 1),
  );
  conversion(`i64.trunc_sat_${from}_s`, from, "i64", [...satInputs, 1e30], (a: number) =>
    saturate64(a, true),
  );
  conversion(`i64.trunc_sat_${from}_u`, from, "i64", [...satInputs, 1e30], (a: number) =>
    saturate64(a, false),
  );
}

/** Rounds a reference result to what the wasm function returns. */
function normalise(value: Scalar | boolean, type: ScalarType): Scalar {
  const v = typeof value === "boolean" ? Number(value) : value;
  switch (type) {
    case "i32":
      return Number(v) | 0;
    case "i64":
      return BigInt.asIntN(64, BigInt(v));
    case "f32":
      return Math.fround(Number(v));
    case "f64":
      return Number(v);
  }
}

describe("scalar instructions", () => {
  const m = new ModuleBuilder();
  cases.forEach((c, i) => {
    const f = m.addFunction(`case${i}`, { params: c.params, results: [c.result], export: true });
    c.params.forEach((_, k) => f.localGet(k));
    f.op(c.op);
  });
  const exports = new WebAssembly.Instance(new WebAssembly.Module(m.build())).exports as Record<
    string,
    (...args: Scalar[]) => Scalar
  >;

  it.each(cases.map((c, i) => [c.op, c, i] as const))("%s", (_, c, i) => {
    for (const input of c.inputs) {
      const args = input.map((x, k) => (c.params[k] === "f32" ? Math.fround(Number(x)) : x));
      const expected = normalise((c.reference as (...a: Scalar[]) => Scalar)(...args), c.result);
      expect(exports[`case${i}`]!(...args), `${c.op}(${args.join(", ")})`).toEqual(expected);
    }
  });

  it("covers every numeric instruction in the tables", () => {
    const control = ["unreachable", "nop", "return", "drop", "select"];
    const numeric = [...Object.keys(plainOpcodes), ...Object.keys(miscOpcodes)].filter(
      (name) => !control.includes(name),
    );
    expect(numeric.filter((name) => !cases.some((c) => c.op === name))).toEqual([]);
  });
});

// ── SIMD ─────────────────────────────────────────────────────────────────────────────────────

type Vector = Uint8Array;
const A = 0;
const B = 16;
const C = 32;
const OUT = 48;

function f32x4(...lanes: number[]): Vector {
  return new Uint8Array(new Float32Array(lanes).buffer);
}
function f64x2(...lanes: number[]): Vector {
  return new Uint8Array(new Float64Array(lanes).buffer);
}
function i32x4(...lanes: number[]): Vector {
  return new Uint8Array(new Int32Array(lanes).buffer);
}
function i64x2(...lanes: bigint[]): Vector {
  return new Uint8Array(new BigInt64Array(lanes).buffer);
}
function lanes(v: Vector, shape: string): Scalar[] {
  const buffer = v.slice().buffer;
  if (shape === "f32x4") return Array.from(new Float32Array(buffer));
  if (shape === "f64x2") return Array.from(new Float64Array(buffer));
  if (shape === "i64x2") return Array.from(new BigInt64Array(buffer));
  return Array.from(new Int32Array(buffer));
}
function map(shape: string, f: (...lanes: never[]) => Scalar | boolean, ...vs: Vector[]): Vector {
  const inputs = vs.map((v) => lanes(v, shape));
  const results = inputs[0]!.map((_, i) =>
    (f as (...a: Scalar[]) => Scalar | boolean)(...inputs.map((l) => l[i]!)),
  );
  const out = results.map((r) => (typeof r === "boolean" ? (r ? -1 : 0) : r));
  if (inputs[0]!.length === 4 && out.some((_, i) => typeof results[i] === "boolean")) {
    return i32x4(...out.map((x) => Number(x)));
  }
  if (inputs[0]!.length === 2 && out.some((_, i) => typeof results[i] === "boolean")) {
    return i64x2(...out.map((x) => BigInt(x)));
  }
  if (shape === "f32x4") return f32x4(...(out as number[]));
  if (shape === "f64x2") return f64x2(...(out as number[]));
  if (shape === "i64x2") return i64x2(...out.map((x) => BigInt.asIntN(64, BigInt(x))));
  return i32x4(...out.map((x) => Number(x) | 0));
}

/** A SIMD case: operands in memory (A, B, C) or a scalar, and the expected vector or i32. */
interface SimdCase {
  inputs: Vector[];
  scalar?: { type: ScalarType; value: Scalar };
  expected: Vector | number;
  /** Further operands (same scalar) and results, to tell similar instructions apart. */
  more?: { inputs: Vector[]; expected: Vector | number }[];
}

const fA = f32x4(1.5, -2.5, 3.75, -0.4);
const fB = f32x4(2, -2.5, -1, 0.5);
const dA = f64x2(2.5, -1.5);
const dB = f64x2(-0.5, 4);
// Signed zeros separate min from pmin and max from pmax; these lanes separate the roundings.
const fZeros = [f32x4(0, -0, 1, -1), f32x4(-0, 0, -1, 1)] as const;
const dZeros = [f64x2(0, -0), f64x2(-0, 0)] as const;
const fRound = f32x4(2.5, -1.5, 3.75, -0.4);
const dRound = [f64x2(2.7, -1.5), f64x2(2.5, -0.4)] as const;
const iA = i32x4(1, -2, 0x7fffffff, -0x80000000);
const iB = i32x4(3, 5, 1, -1);
const simdCases: Partial<Record<keyof typeof simdOpcodes, SimdCase>> = {};
const floatBinary = {
  add: (a: number, b: number) => a + b,
  sub: (a: number, b: number) => a - b,
  mul: (a: number, b: number) => a * b,
  div: (a: number, b: number) => a / b,
  min: Math.min,
  max: Math.max,
  pmin: (a: number, b: number) => (b < a ? b : a),
  pmax: (a: number, b: number) => (a < b ? b : a),
  eq: (a: number, b: number) => a === b,
  ne: (a: number, b: number) => a !== b,
  lt: (a: number, b: number) => a < b,
  gt: (a: number, b: number) => a > b,
  le: (a: number, b: number) => a <= b,
  ge: (a: number, b: number) => a >= b,
};
const floatUnary = {
  abs: Math.abs,
  neg: (a: number) => -a,
  sqrt: Math.sqrt,
  floor: Math.floor,
  ceil: Math.ceil,
  trunc: Math.trunc,
  nearest,
};
for (const [shape, a, b, [za, zb], rounding] of [
  ["f32x4", fA, fB, fZeros, [fRound]],
  ["f64x2", dA, dB, dZeros, dRound],
] as const) {
  for (const [name, f] of Object.entries(floatBinary)) {
    simdCases[`${shape}.${name}` as keyof typeof simdOpcodes] = {
      inputs: [a, b],
      expected: map(shape, f, a, b),
      more: [{ inputs: [za, zb], expected: map(shape, f, za, zb) }],
    };
  }
  for (const [name, f] of Object.entries(floatUnary)) {
    simdCases[`${shape}.${name}` as keyof typeof simdOpcodes] = {
      inputs: [a],
      expected: map(shape, f, a),
      more: rounding.map((r) => ({ inputs: [r], expected: map(shape, f, r) })),
    };
  }
}
const intBinary = {
  add: (a: number, b: number) => a + b,
  sub: (a: number, b: number) => a - b,
  mul: Math.imul,
  min_s: Math.min,
  max_s: Math.max,
  eq: (a: number, b: number) => a === b,
  ne: (a: number, b: number) => a !== b,
  lt_s: (a: number, b: number) => a < b,
  gt_s: (a: number, b: number) => a > b,
  le_s: (a: number, b: number) => a <= b,
  ge_s: (a: number, b: number) => a >= b,
};
for (const [name, f] of Object.entries(intBinary)) {
  simdCases[`i32x4.${name}` as keyof typeof simdOpcodes] = {
    inputs: [iA, iB],
    expected: map("i32x4", f, iA, iB),
  };
}
simdCases["i32x4.abs"] = { inputs: [iA], expected: map("i32x4", Math.abs, iA) };
simdCases["i32x4.neg"] = { inputs: [iA], expected: map("i32x4", (a: number) => -a, iA) };
const shift = (value: number) => ({ type: "i32" as const, value });
simdCases["i32x4.shl"] = {
  inputs: [iA],
  scalar: shift(33),
  expected: map("i32x4", (a: number) => a << 1, iA),
};
simdCases["i32x4.shr_s"] = {
  inputs: [iA],
  scalar: shift(3),
  expected: map("i32x4", (a: number) => a >> 3, iA),
};
simdCases["i32x4.shr_u"] = {
  inputs: [iA],
  scalar: shift(3),
  expected: map("i32x4", (a: number) => a >>> 3, iA),
};
simdCases["i32x4.all_true"] = { inputs: [iA], expected: 1 };
simdCases["i32x4.bitmask"] = { inputs: [iA], expected: 0b1010 };
simdCases["v128.any_true"] = { inputs: [new Uint8Array(16)], expected: 0 };
const lA = i64x2(5n, -(2n ** 63n));
const lB = i64x2(7n, -1n);
simdCases["i64x2.add"] = {
  inputs: [lA, lB],
  expected: map("i64x2", (a: bigint, b: bigint) => a + b, lA, lB),
};
simdCases["i64x2.sub"] = {
  inputs: [lA, lB],
  expected: map("i64x2", (a: bigint, b: bigint) => a - b, lA, lB),
};
simdCases["i64x2.eq"] = {
  inputs: [lA, i64x2(5n, 0n)],
  expected: i64x2(-1n, 0n),
};
simdCases["i64x2.ne"] = {
  inputs: [lA, i64x2(5n, 0n)],
  expected: i64x2(0n, -1n),
};
simdCases["i64x2.shl"] = {
  inputs: [lA],
  scalar: shift(65),
  expected: map("i64x2", (a: bigint) => a << 1n, lA),
};
simdCases["i64x2.shr_s"] = {
  inputs: [lA],
  scalar: shift(3),
  expected: map("i64x2", (a: bigint) => a >> 3n, lA),
};
simdCases["i64x2.shr_u"] = {
  inputs: [lA],
  scalar: shift(3),
  expected: map("i64x2", (a: bigint) => BigInt.asUintN(64, a) >> 3n, lA),
};
const bitwise = {
  and: (a: number, b: number) => a & b,
  or: (a: number, b: number) => a | b,
  xor: (a: number, b: number) => a ^ b,
};
for (const [name, f] of Object.entries(bitwise)) {
  simdCases[`v128.${name}` as keyof typeof simdOpcodes] = {
    inputs: [iA, iB],
    expected: map("i32x4", f, iA, iB),
  };
}
simdCases["v128.andnot"] = {
  inputs: [iA, iB],
  expected: map("i32x4", (a: number, b: number) => a & ~b, iA, iB),
};
simdCases["v128.not"] = { inputs: [iA], expected: map("i32x4", (a: number) => ~a, iA) };
const mask = i32x4(-1, 0, 0x0000ffff, 0);
simdCases["v128.bitselect"] = {
  inputs: [iA, iB, mask],
  expected: map("i32x4", (a: number, b: number, c: number) => (a & c) | (b & ~c), iA, iB, mask),
};
const satA = f32x4(1e10, -1e10, NaN, -3.7);
simdCases["f32x4.convert_i32x4_s"] = {
  inputs: [iA],
  expected: f32x4(...(lanes(iA, "i32x4") as number[])),
};
simdCases["i32x4.trunc_sat_f32x4_s"] = {
  inputs: [satA],
  expected: i32x4(2 ** 31 - 1, -(2 ** 31), 0, -3),
};
simdCases["f64x2.promote_low_f32x4"] = { inputs: [fA], expected: f64x2(1.5, -2.5) };
simdCases["f32x4.demote_f64x2_zero"] = {
  inputs: [f64x2(0.1, -1e300)],
  expected: f32x4(0.1, -Infinity, 0, 0),
};
// a·b + c with exact products and sums, so fused and unfused agree.
simdCases["f32x4.relaxed_madd"] = {
  inputs: [f32x4(1.5, -2.5, 3.75, 0.5), fB, f32x4(1, 2, 3, 4)],
  expected: f32x4(4, 8.25, -0.75, 4.25),
};
simdCases["f32x4.relaxed_nmadd"] = {
  inputs: [f32x4(1.5, -2.5, 3.75, 0.5), fB, f32x4(1, 2, 3, 4)],
  expected: f32x4(-2, -4.25, 6.75, 3.75),
};
simdCases["f64x2.relaxed_madd"] = { inputs: [dA, dB, f64x2(1, 2)], expected: f64x2(-0.25, -4) };
simdCases["f64x2.convert_low_i32x4_s"] = { inputs: [iA], expected: f64x2(1, -2) };
simdCases["i32x4.trunc_sat_f64x2_s_zero"] = {
  inputs: [f64x2(-1e12, 7.9)],
  expected: i32x4(-(2 ** 31), 7, 0, 0),
};
simdCases["i8x16.splat"] = {
  inputs: [],
  scalar: { type: "i32", value: 0x1ff },
  expected: new Uint8Array(16).fill(0xff),
};
simdCases["i16x8.splat"] = {
  inputs: [],
  scalar: { type: "i32", value: 0x10203 },
  expected: new Uint8Array(new Uint16Array(8).fill(0x0203).buffer),
};
simdCases["i32x4.splat"] = {
  inputs: [],
  scalar: { type: "i32", value: -7 },
  expected: i32x4(-7, -7, -7, -7),
};
simdCases["i64x2.splat"] = {
  inputs: [],
  scalar: { type: "i64", value: -7n },
  expected: i64x2(-7n, -7n),
};
simdCases["f32x4.splat"] = {
  inputs: [],
  scalar: { type: "f32", value: 0.1 },
  expected: f32x4(0.1, 0.1, 0.1, 0.1),
};
simdCases["f64x2.splat"] = {
  inputs: [],
  scalar: { type: "f64", value: 0.1 },
  expected: f64x2(0.1, 0.1),
};
const bytes = Uint8Array.from({ length: 16 }, (_, i) => 100 + i);
const indices = Uint8Array.from([15, 0, 1, 16, 200, 3, 3, 3, 0, 0, 0, 0, 0, 0, 0, 2]);
simdCases["i8x16.swizzle"] = {
  inputs: [bytes, indices],
  expected: indices.map((i) => (i < 16 ? bytes[i]! : 0)),
};

describe("SIMD instructions", () => {
  const names = Object.keys(simdCases) as (keyof typeof simdOpcodes)[];
  const m = new ModuleBuilder();
  m.importMemory();
  for (const name of names) {
    const c = simdCases[name]!;
    const scalarResult = typeof c.expected === "number";
    const f = m.addFunction(name, {
      params: c.scalar === undefined ? [] : [c.scalar.type],
      results: scalarResult ? ["i32"] : [],
      export: true,
    });
    if (!scalarResult) f.i32Const(OUT);
    c.inputs.forEach((_, k) => f.i32Const([A, B, C][k]!).v128Load());
    if (c.scalar !== undefined) f.localGet(0);
    f.op(name);
    if (!scalarResult) f.v128Store();
  }
  const memory = new WebAssembly.Memory({ initial: 1 });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(m.build()), { env: { memory } });
  const exports = instance.exports as Record<string, (x?: Scalar) => number>;
  const heap = new Uint8Array(memory.buffer);

  it.each(names)("%s", (name) => {
    const c = simdCases[name]!;
    // Comparisons give integer masks; NaN lanes are compared as NaN (their bits may differ).
    const compare = /\.(eq|ne|[lg][te]|[lg][te]_s)$/.test(name);
    const shape = /^(f32x4|f64x2|i64x2)/.exec(name)?.[1] ?? "i32x4";
    const laneShape = compare ? (shape === "f64x2" ? "i64x2" : "i32x4") : shape;
    for (const check of [c, ...(c.more ?? [])]) {
      heap.fill(0);
      check.inputs.forEach((v, k) => heap.set(v, [A, B, C][k]!));
      const returned = exports[name]!(c.scalar?.value);
      if (typeof check.expected === "number") {
        expect(returned).toBe(check.expected);
      } else {
        const actual = lanes(heap.slice(OUT, OUT + 16), laneShape);
        expect(actual).toEqual(lanes(check.expected, laneShape));
      }
    }
  });

  it("covers every SIMD instruction without immediates", () => {
    expect(Object.keys(simdOpcodes).filter((name) => !(name in simdCases))).toEqual([]);
  });
});

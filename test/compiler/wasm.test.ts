/**
 * fluxion's WebAssembly emitter: byte encodings, modules the engine accepts and runs (loops over
 * memory, SIMD kernels with scalar remainders, control flow, calls, imports, globals, shared
 * memory and atomics) compared with JavaScript, the text rendering, and build speed.
 */
import { describe, expect, it } from "vitest";
import {
  ByteBuffer,
  ByteReader,
  encodeF32,
  encodeF64,
  encodeName,
  encodeS32,
  encodeS64,
  encodeU32,
  encodeU64,
} from "../../src/compiler/wasm/encoding.js";
import { ModuleBuilder, type FunctionBuilder } from "../../src/compiler/wasm/module.js";
import { toText } from "../../src/compiler/wasm/text.js";
import { WebAssembly, type WasmGlobal, type WasmImports } from "../../src/runtime/webassembly.js";

type Exported = Record<string, (...args: (number | bigint)[]) => number | bigint>;

function instantiate(m: ModuleBuilder, imports: WasmImports = {}): Exported {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(m.build()), imports);
  return instance.exports as Exported;
}

const hex = (bytes: Uint8Array): string =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");

describe("encoding", () => {
  it("writes unsigned LEB128", () => {
    expect(hex(encodeU32(0))).toBe("00");
    expect(hex(encodeU32(127))).toBe("7f");
    expect(hex(encodeU32(128))).toBe("80 01");
    expect(hex(encodeU32(624485))).toBe("e5 8e 26");
    expect(hex(encodeU32(2 ** 32 - 1))).toBe("ff ff ff ff 0f");
    expect(hex(encodeU64(2n ** 64n - 1n))).toBe("ff ff ff ff ff ff ff ff ff 01");
    expect(hex(encodeU64(2 ** 40))).toBe("80 80 80 80 80 20");
  });

  it("writes signed LEB128", () => {
    expect(hex(encodeS32(-123456))).toBe("c0 bb 78");
    expect(hex(encodeS32(0))).toBe("00");
    expect(hex(encodeS32(-1))).toBe("7f");
    expect(hex(encodeS32(63))).toBe("3f");
    expect(hex(encodeS32(64))).toBe("c0 00");
    expect(hex(encodeS32(-64))).toBe("40");
    expect(hex(encodeS32(-65))).toBe("bf 7f");
    expect(hex(encodeS32(2 ** 31 - 1))).toBe("ff ff ff ff 07");
    expect(hex(encodeS32(-(2 ** 31)))).toBe("80 80 80 80 78");
    expect(hex(encodeS64(-(2n ** 63n)))).toBe("80 80 80 80 80 80 80 80 80 7f");
    expect(hex(encodeS64(2n ** 63n - 1n))).toBe("ff ff ff ff ff ff ff ff ff 00");
    expect(hex(encodeS64(-123456))).toBe("c0 bb 78");
  });

  it("rejects values outside the encoded range", () => {
    expect(() => encodeU32(-1)).toThrow(RangeError);
    expect(() => encodeU32(2 ** 32)).toThrow(RangeError);
    expect(() => encodeU32(1.5)).toThrow(RangeError);
    expect(() => encodeS32(2 ** 31)).toThrow(RangeError);
    expect(() => encodeS64(2n ** 63n)).toThrow(RangeError);
    expect(() => encodeU64(-1n)).toThrow(RangeError);
  });

  it("writes little-endian floats and UTF-8 names", () => {
    expect(hex(encodeF32(1))).toBe("00 00 80 3f");
    expect(hex(encodeF32(-0.1))).toBe("cd cc cc bd");
    expect(hex(encodeF64(1))).toBe("00 00 00 00 00 00 f0 3f");
    expect(hex(encodeName("env"))).toBe("03 65 6e 76");
    expect(hex(encodeName("héllo"))).toBe("06 68 c3 a9 6c 6c 6f");
  });

  it("reads back what it writes, across buffer growth", () => {
    const buffer = new ByteBuffer(16);
    const u32s = [0, 1, 127, 128, 624485, 2 ** 31, 2 ** 32 - 1];
    const s32s = [0, -1, 63, -64, 64, -65, -123456, 2 ** 31 - 1, -(2 ** 31)];
    const s64s = [0n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 1234567890123n];
    buffer.vector(u32s, (b, v) => b.u32(v));
    for (const v of s32s) buffer.s32(v);
    for (const v of s64s) buffer.s64(v);
    buffer.f32(0.1).f64(0.1).name("∑ résumé");
    const reader = new ByteReader(buffer.toBytes());
    expect(Array.from({ length: reader.u32() }, () => reader.u32())).toEqual(u32s);
    expect(s32s.map(() => reader.s32())).toEqual(s32s);
    expect(s64s.map(() => reader.s64())).toEqual(s64s);
    expect([reader.f32(), reader.f64(), reader.name()]).toEqual([
      Math.fround(0.1),
      0.1,
      "∑ résumé",
    ]);
    expect(reader.done).toBe(true);
  });
});

describe("module structure", () => {
  it("an empty module is the 8-byte header", () => {
    expect(hex(new ModuleBuilder().build({ names: false }))).toBe("00 61 73 6d 01 00 00 00");
  });

  it("deduplicates function types and orders sections as the spec requires", () => {
    const m = new ModuleBuilder();
    m.importFunction("env", "log", { params: ["f64"] });
    m.importMemory();
    for (const name of ["a", "b", "c"]) m.addFunction(name, { params: ["f64"], export: true });
    m.addFunction("d", { params: ["i32"], results: ["i32"] }).localGet(0);
    m.addGlobal("i32", 7, { mutable: true });
    expect(m.types).toEqual([
      { params: ["f64"], results: [] },
      { params: ["i32"], results: ["i32"] },
    ]);
    const bytes = m.build();
    const reader = new ByteReader(bytes, 8);
    const ids: number[] = [];
    while (!reader.done) {
      ids.push(reader.byte());
      reader.take(reader.u32());
    }
    expect(ids).toEqual([1, 2, 3, 6, 7, 10, 0]);
    const module = new WebAssembly.Module(bytes);
    expect(WebAssembly.Module.imports(module).map((i) => i.kind)).toEqual(["function", "memory"]);
    expect(WebAssembly.Module.customSections(module, "name")).toHaveLength(1);
  });

  it("names functions in stack traces (name section)", () => {
    const m = new ModuleBuilder();
    m.addFunction("explodes", { export: true }).unreachable();
    const { explodes } = instantiate(m);
    expect(() => explodes!()).toThrow(WebAssembly.RuntimeError);
    try {
      explodes!();
    } catch (error) {
      expect((error as Error).stack).toContain("explodes");
    }
  });
});

/** out = Σ x[i] over n float64s at `pointer`: the scalar loop pattern. */
function sumF64(m: ModuleBuilder): FunctionBuilder {
  const f = m.addFunction("sum", { params: ["i32", "i32"], results: ["f64"], export: true });
  const [pointer, n] = [0, 1];
  const end = f.addLocal("i32", "end");
  const total = f.addLocal("f64", "total");
  f.localGet(pointer).localGet(n).i32Const(3).i32Shl().i32Add().localSet(end);
  f.block((done) => {
    f.loop((next) => {
      f.localGet(pointer).localGet(end).i32GeU().brIf(done);
      f.localGet(total).localGet(pointer).f64Load().f64Add().localSet(total);
      f.localGet(pointer).i32Const(8).i32Add().localSet(pointer);
      f.br(next);
    });
  });
  return f.localGet(total);
}

/**
 * out[i] = a[i] * b[i] + c[i] over n float32s: an f32x4 loop over 4 elements at a time, then a
 * scalar loop for the remaining n mod 4.
 */
function fmaF32(m: ModuleBuilder): FunctionBuilder {
  const f = m.addFunction("fma", {
    params: ["i32", "i32", "i32", "i32", "i32"],
    paramNames: ["a", "b", "c", "out", "n"],
    export: true,
    comment: "out = add(mul(a, b), c)  ;; f32[n]",
  });
  const [a, b, c, out, n] = [0, 1, 2, 3, 4];
  const i = f.addLocal("i32", "i");
  const vectorEnd = f.addLocal("i32", "vectorEnd");
  const offset = f.addLocal("i32");
  f.localGet(n).i32Const(-4).i32And().localSet(vectorEnd);
  const element = (body: () => void): void => {
    f.localGet(i).i32Const(2).i32Shl().localSet(offset);
    body();
    f.localGet(i)
      .i32Const(body === vectorBody ? 4 : 1)
      .i32Add()
      .localSet(i);
  };
  const address = (base: number): FunctionBuilder => f.localGet(base).localGet(offset).i32Add();
  const vectorBody = (): void => {
    f.comment("4 lanes: a*b+c");
    address(out);
    address(a).v128Load();
    address(b).v128Load(0, 4);
    f.f32x4Mul();
    address(c).v128Load();
    f.f32x4Add().v128Store();
  };
  const scalarBody = (): void => {
    address(out);
    address(a).f32Load().localGet(b).localGet(offset).i32Add().f32Load().f32Mul();
    address(c).f32Load().f32Add().f32Store();
  };
  f.block((done) => {
    f.loop((next) => {
      f.localGet(i).localGet(vectorEnd).i32GeU().brIf(done);
      element(vectorBody);
      f.br(next);
    });
  });
  f.comment("remainder");
  f.block((done) => {
    f.loop((next) => {
      f.localGet(i).localGet(n).i32GeU().brIf(done);
      element(scalarBody);
      f.br(next);
    });
  });
  return f;
}

describe("programs", () => {
  it("sums a float64 array in memory with a scalar loop", () => {
    const m = new ModuleBuilder();
    m.importMemory({ minPages: 1 });
    sumF64(m);
    const memory = new WebAssembly.Memory({ initial: 1 });
    const { sum } = instantiate(m, { env: { memory } });
    const x = Float64Array.from({ length: 1001 }, (_, i) => Math.sin(i) * 1e3);
    new Float64Array(memory.buffer, 64).set(x);
    let expected = 0;
    for (const v of x) expected += v;
    expect(sum!(64, x.length)).toBe(expected);
    expect(sum!(64, 0)).toBe(0);
  });

  it("computes a*b+c with f32x4 and a scalar remainder, as float32 JS does", () => {
    const m = new ModuleBuilder();
    m.importMemory({ minPages: 1 });
    fmaF32(m);
    const memory = new WebAssembly.Memory({ initial: 1 });
    const { fma } = instantiate(m, { env: { memory } });
    for (const n of [0, 3, 4, 1027]) {
      const heap = new Float32Array(memory.buffer);
      const [a, b, c, out] = [0, 2048, 4096, 6144];
      for (let i = 0; i < n; i++) {
        heap[a + i] = Math.cos(i) * 3;
        heap[b + i] = 1 / (i + 1);
        heap[c + i] = i - 7.25;
      }
      heap.fill(-1, out, out + n + 4);
      fma!(4 * a, 4 * b, 4 * c, 4 * out, n);
      const expected = Array.from({ length: n }, (_, i) =>
        Math.fround(Math.fround(heap[a + i]! * heap[b + i]!) + heap[c + i]!),
      );
      expect(Array.from(heap.subarray(out, out + n))).toEqual(expected);
      expect(heap[out + n]).toBe(-1); // nothing written past the end
    }
  });

  it("runs f64x2 kernels, lane access, constants, splats and shuffles", () => {
    const m = new ModuleBuilder();
    m.importMemory();
    // out[0..1] = sqrt(|x|) * y - min(x, y), then lanes swapped by a shuffle
    const f = m.addFunction("kernel", { params: ["i32", "i32", "i32"], export: true });
    f.localGet(2);
    f.localGet(0).v128Load().f64x2Abs().f64x2Sqrt().localGet(1).v128Load().f64x2Mul();
    f.localGet(0).v128Load().localGet(1).v128Load().f64x2Min().f64x2Sub();
    f.v128Const(new Uint8Array(16)).i8x16Shuffle([
      8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7,
    ]);
    f.v128Store(16);
    const lanes = m.addFunction("lanes", { params: ["f64"], results: ["f64"], export: true });
    lanes.f64x2Const(1.5, -2).localGet(0).f64x2ReplaceLane(0).f64x2ExtractLane(0);
    lanes.f32x4Const(1, 2, 3, 4.5).f32x4ExtractLane(3).f64PromoteF32().f64Add();
    lanes.i32x4Const(7, 8, 9, -10).i32x4ExtractLane(3).f64ConvertI32S().f64Add();
    lanes
      .i32Const(5)
      .i32x4Splat()
      .i32Const(-1)
      .i32x4ReplaceLane(2)
      .i32x4ExtractLane(2)
      .f64ConvertI32S()
      .f64Add();
    const loads = m.addFunction("loads", { params: ["i32"], export: true });
    loads.localGet(0).localGet(0).v128Load32Splat().v128Store(16);
    loads.localGet(0).localGet(0).v128Load64Splat().v128Store(32);
    loads.localGet(0).localGet(0).v128Load32Zero().v128Store(48);
    loads.localGet(0).localGet(0).v128Load64Zero().v128Store(64);
    const memory = new WebAssembly.Memory({ initial: 1 });
    const exported = instantiate(m, { env: { memory } });
    const heap = new Float64Array(memory.buffer);
    heap.set([-4, 9], 0);
    heap.set([0.5, -3], 2);
    exported.kernel!(0, 16, 32);
    const expected = [2 * 0.5 - Math.min(-4, 0.5), 3 * -3 - Math.min(9, -3)];
    expect([heap[6], heap[7]]).toEqual([expected[1], expected[0]]);
    expect(exported.lanes!(0.25)).toBe(0.25 + 4.5 - 10 - 1);
    const words = new Int32Array(memory.buffer, 1024, 20);
    words.set([11, 22]);
    exported.loads!(1024);
    expect(Array.from(words.subarray(4, 20))).toEqual([
      ...[11, 11, 11, 11],
      ...[11, 22, 11, 22],
      ...[11, 0, 0, 0],
      ...[11, 22, 0, 0],
    ]);
  });

  it("converts between integer and float lanes and scalars", () => {
    const m = new ModuleBuilder();
    m.importMemory();
    const f = m.addFunction("convert", { params: ["i32"], export: true });
    f.localGet(0).localGet(0).v128Load().f32x4ConvertI32x4S().v128Store(16);
    f.localGet(0).localGet(0).v128Load(16).i32x4TruncSatF32x4S().v128Store(32);
    f.localGet(0).localGet(0).v128Load(16).f64x2PromoteLowF32x4().v128Store(48);
    f.localGet(0).localGet(0).v128Load(48).f32x4DemoteF64x2Zero().v128Store(64);
    const memory = new WebAssembly.Memory({ initial: 1 });
    const { convert } = instantiate(m, { env: { memory } });
    new Int32Array(memory.buffer, 0, 4).set([1, -2, 16777217, -7]);
    convert!(0);
    const f32 = new Float32Array(memory.buffer, 0, 20);
    const i32 = new Int32Array(memory.buffer, 0, 20);
    expect(Array.from(f32.subarray(4, 8))).toEqual([1, -2, 16777216, -7]);
    expect(Array.from(i32.subarray(8, 12))).toEqual([1, -2, 16777216, -7]);
    expect(Array.from(new Float64Array(memory.buffer, 48, 2))).toEqual([1, -2]);
    expect(Array.from(f32.subarray(16, 20))).toEqual([1, -2, 0, 0]);
  });

  it("branches with br_table, if/else, select and early return", () => {
    const m = new ModuleBuilder();
    const classify = m.addFunction("classify", { params: ["i32"], results: ["i32"], export: true });
    classify.block((otherwise) => {
      classify.block((two) => {
        classify.block((one) => {
          classify.block((zero) => {
            classify.localGet(0).brTable([zero, one, two], otherwise);
          });
          classify.i32Const(100).return();
        });
        classify.i32Const(101).return();
      });
      classify.i32Const(102).return();
    });
    classify.i32Const(-1);
    const sign = m.addFunction("sign", { params: ["f64"], results: ["f64"], export: true });
    sign.localGet(0).f64Const(0).f64Lt();
    sign.if(
      "f64",
      () => sign.f64Const(-1),
      () => {
        sign.localGet(0).f64Const(0).f64Gt();
        sign.if(
          "f64",
          () => sign.f64Const(1),
          () => sign.f64Const(0),
        );
      },
    );
    const max = m.addFunction("max", { params: ["i32", "i32"], results: ["i32"], export: true });
    max.localGet(0).localGet(1).localGet(0).localGet(1).i32GtS().select();
    const clamp = m.addFunction("clampToTen", { params: ["i32"], results: ["i32"], export: true });
    clamp
      .localGet(0)
      .i32Const(10)
      .i32GtS()
      .if(() => clamp.i32Const(10).return());
    clamp.localGet(0).localTee(0).i32Const(99).drop();
    const e = instantiate(m);
    expect([0, 1, 2, 3, -1, 1000].map((x) => e.classify!(x))).toEqual([100, 101, 102, -1, -1, -1]);
    expect([-3, 0, 2].map((x) => e.sign!(x))).toEqual([-1, 0, 1]);
    expect([e.max!(3, -4), e.max!(-5, 9)]).toEqual([3, 9]);
    expect([e.clampToTen!(7), e.clampToTen!(70)]).toEqual([7, 10]);
  });

  it("calls functions, recursively and on the host", () => {
    const m = new ModuleBuilder();
    const log = m.importFunction("host", "log", { params: ["f64", "i32"], results: ["f64"] });
    const square = m.addFunction("square", { params: ["f64"], results: ["f64"] });
    square.localGet(0).localGet(0).f64Mul();
    const factorial = m.addFunction("factorial", {
      params: ["i64"],
      results: ["i64"],
      export: true,
    });
    factorial.localGet(0).i64Const(1).i64LeS();
    factorial.if(
      "i64",
      () => factorial.i64Const(1),
      () => factorial.localGet(0).localGet(0).i64Const(1).i64Sub().call(factorial).i64Mul(),
    );
    const main = m.addFunction("main", { params: ["f64"], results: ["f64"], export: true });
    main.localGet(0).call(square).i32Const(42).call(log);
    const seen: [number, number][] = [];
    const e = instantiate(m, {
      host: { log: (x: number, tag: number) => (seen.push([x, tag]), x + 0.5) },
    });
    expect(e.main!(3)).toBe(9.5);
    expect(seen).toEqual([[9, 42]]);
    expect(e.factorial!(20n)).toBe(2432902008176640000n);
  });

  it("reads and writes globals, and exports them", () => {
    const m = new ModuleBuilder();
    const counter = m.addGlobal("i32", 0, { mutable: true, name: "counter", export: "counter" });
    const scale = m.addGlobal("f64", 2.5, { name: "scale" });
    const big = m.addGlobal("i64", 2n ** 40n, { export: "big" });
    m.addGlobal("f32", 0.1, { export: "tenth" });
    const tick = m.addFunction("tick", { params: ["f64"], results: ["f64"], export: true });
    tick.globalGet(counter).i32Const(1).i32Add().globalSet(counter);
    tick.localGet(0).globalGet(scale).f64Mul();
    const getBig = m.addFunction("getBig", { results: ["i64"], export: true });
    getBig.globalGet(big);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(m.build()));
    const e = instance.exports as Exported & Record<string, WasmGlobal>;
    expect([e.tick!(2), e.tick!(4)]).toEqual([5, 10]);
    expect(e.counter!.value).toBe(2);
    expect(e.big!.value).toBe(2n ** 40n);
    expect(e.getBig!()).toBe(2n ** 40n);
    expect(e.tenth!.value).toBe(Math.fround(0.1));
  });

  it("pools v128 constants as one immutable global per distinct value, shown with its value", () => {
    const m = new ModuleBuilder();
    const f = m.addFunction("dot", { params: ["f64"], results: ["f64"], export: true });
    const twos = new Uint8Array(new Float64Array([2, 2]).buffer);
    const lanes = new Uint8Array(new Float64Array([0.5, 3]).buffer);
    // ((x, x)·(2, 2) + (0.5, 3))·(2, 2), lanes summed: (2, 2) is one global, used twice.
    f.localGet(0).f64x2Splat().v128Constant(twos).f64x2Mul().v128Constant(lanes).f64x2Add();
    f.f64x2Constant(2, 2).f64x2Mul();
    const sum = f.addLocal("v128");
    f.localTee(sum).f64x2ExtractLane(0).localGet(sum).f64x2ExtractLane(1).f64Add();
    expect(m.globals.map((g) => [g.type, g.mutable])).toEqual([
      ["v128", false],
      ["v128", false],
    ]);
    expect(instantiate(m).dot!(1)).toBe((1 * 2 + 0.5) * 2 + (1 * 2 + 3) * 2);
    const text = toText(m);
    expect(text).toContain("(global $const_0 v128 (v128.const f64x2 2 2))");
    expect(text).toContain("global.get $const_1 ;; v128.const f64x2 0.5 3");
    expect(() => m.addGlobal("v128", 1)).toThrow(/not a valid v128 initial value/);
  });

  it("finds imported functions by module and field, and says when one is missing", () => {
    const m = new ModuleBuilder();
    m.importFunction("math", "sin", { params: ["f64"], results: ["f64"] });
    const f = m.addFunction("twiceSin", { params: ["f64"], results: ["f64"], export: true });
    f.localGet(0).call(f.imported("math", "sin")).f64Const(2).f64Mul();
    expect(() => f.imported("math", "cos")).toThrow(
      /twiceSin: the module does not import math\.cos; declare it with importFunction/,
    );
    const e = instantiate(m, { math: { sin: Math.sin } });
    expect(e.twiceSin!(1)).toBe(2 * Math.sin(1));
  });

  it("imports a shared memory and uses atomics, bytes, bulk memory and growth", () => {
    const m = new ModuleBuilder();
    m.importMemory({ minPages: 1, maxPages: 2, shared: true });
    const bump = m.addFunction("bump", { params: ["i32", "i32"], results: ["i32"], export: true });
    bump.localGet(0).localGet(1).i32AtomicRmwAdd();
    const swap = m.addFunction("swap", {
      params: ["i32", "i32", "i32"],
      results: ["i32"],
      export: true,
    });
    swap.localGet(0).localGet(1).localGet(2).i32AtomicRmwCmpxchg().atomicFence();
    const wait = m.addFunction("wait", { params: ["i32", "i32"], results: ["i32"], export: true });
    wait.localGet(0).localGet(1).i64Const(0).memoryAtomicWait32();
    const notify = m.addFunction("notify", { params: ["i32"], results: ["i32"], export: true });
    notify.localGet(0).i32Const(1).memoryAtomicNotify();
    const bytes = m.addFunction("bytes", { params: ["i32"], results: ["i32"], export: true });
    bytes.localGet(0).i32Const(0x1ff).i32Store8(3);
    bytes.localGet(0).i32Const(7).i32Const(3).memoryFill();
    bytes.localGet(0).i32Const(16).i32Add().localGet(0).i32Const(4).memoryCopy();
    bytes.localGet(0).i32Load8U(19).localGet(0).i32AtomicLoad(16).i32Add();
    const grow = m.addFunction("grow", { results: ["i32"], export: true });
    grow.i32Const(1).memoryGrow().memorySize().i32Const(16).i32Shl().i32Add();
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true });
    expect(memory.buffer).toBeInstanceOf(SharedArrayBuffer);
    const e = instantiate(m, { env: { memory } });
    const words = new Int32Array(memory.buffer);
    expect([e.bump!(64, 5), e.bump!(64, 2), words[16]]).toEqual([0, 5, 7]);
    expect([e.swap!(64, 7, 1), e.swap!(64, 7, 2), words[16]]).toEqual([7, 1, 1]);
    expect([e.wait!(64, 99), e.wait!(64, 1), e.notify!(64)]).toEqual([1, 2, 0]);
    expect(e.bytes!(128)).toBe((255 + 0xff070707) | 0);
    expect(new Uint8Array(memory.buffer, 128, 20).slice(16)).toEqual(
      Uint8Array.from([7, 7, 7, 255]),
    );
    expect(e.grow!()).toBe(1 + (2 << 16)); // old size 1 page, new size 2 pages
    expect(e.grow!()).toBe(-1 + (2 << 16)); // at maximum: -1
  });
});

describe("builder errors", () => {
  it("say what is wrong and how to fix it", () => {
    const m = new ModuleBuilder();
    const f = m.addFunction("f", { params: ["i32"] });
    f.beginBlock();
    expect(() => m.build()).toThrow(/f: 1 block\(s\) still open \(block\); call end\(\)/);
    f.end();
    expect(() => f.end()).toThrow(/end\(\) without an open block/);
    expect(() => f.else()).toThrow(/else\(\) needs an open if/);
    let escaped: Parameters<FunctionBuilder["br"]>[0] = 0;
    f.block((label) => (escaped = label));
    expect(() => f.br(escaped)).toThrow(/no longer open/);
    expect(() => f.br(1)).toThrow(/branch depth 1 is outside \[0, 0\]/);
    expect(() => f.block(() => f.beginLoop())).toThrow(/left a block open/);
    expect(() => m.importFunction("env", "late")).toThrow(/import functions before adding any/);
    expect(() => f.f64Load(0, 16)).toThrow(/align must be a power of two up to 8 bytes, got 16/);
    expect(() => f.i32AtomicLoad(0, 1)).toThrow(/align must be exactly 4 bytes/);
    expect(() => f.f32x4ExtractLane(4)).toThrow(/lane must be an integer in \[0, 4\)/);
    expect(() => f.i32Const(2 ** 32)).toThrow(/not a 32-bit integer/);
    expect(() => f.i64Const(2 ** 60)).toThrow(/pass a bigint/);
    expect(() => f.localType(5)).toThrow(/no local 5/);
    expect(() => m.importMemory({ shared: true })).toThrow(/shared memory needs maxPages/);
    expect(() => m.importMemory({ minPages: 3, maxPages: 2 })).toThrow(/below minPages/);
    m.exportFunction("f", f);
    expect(() => m.exportFunction("f", f)).toThrow(/already exported/);
  });

  it("accepts unsigned i32 bit patterns and chosen alignments", () => {
    const m = new ModuleBuilder();
    m.importMemory();
    const f = m.addFunction("f", { results: ["i32"], export: true });
    f.i32Const(0).i32Const(0xffffffff).i32Store(0, 1).i32Const(0).i32Load(0, 2);
    const memory = new WebAssembly.Memory({ initial: 1 });
    expect(instantiate(m, { env: { memory } }).f!()).toBe(-1);
  });
});

describe("toText", () => {
  it("renders WAT with names, labels, immediates and comments", () => {
    const m = new ModuleBuilder();
    m.importMemory({ minPages: 1, maxPages: 2, shared: true });
    const log = m.importFunction("env", "log", { params: ["f32"] });
    const g = m.addGlobal("f64", 0.5, { mutable: true, name: "acc" });
    fmaF32(m);
    const f = m.addFunction("misc", { params: ["i32"], results: ["f32"], export: "miscExport" });
    f.localGet(0).v128Load(16, 16).f32x4ExtractLane(1).f32Const(0.1).f32Add();
    f.f32Const(-Infinity).call(log).i64Const(-5n).drop().globalGet(g).globalSet(g);
    f.f32x4Const(1, 0.5, -2, 0).f64x2Const(0.25, -3).v128Xor().drop();
    f.localGet(0)
      .i32x4Const(1, 2, 3, -1)
      .drop()
      .if(
        "f32",
        () => f.f32Const(1),
        () => f.f32Const(2),
      );
    f.f32Max();
    f.comment("trailing comment");
    const text = toText(m);
    expect(text).toContain('(import "env" "memory" (memory (;0;) 1 2 shared))');
    expect(text).toContain('(import "env" "log" (func $log (param f32)))');
    expect(text).toContain("(global $acc (mut f64) (f64.const 0.5))");
    expect(text).toContain('(export "fma" (func $fma))');
    expect(text).toContain('(export "miscExport" (func $misc))');
    expect(text).toContain("  ;; out = add(mul(a, b), c)  ;; f32[n]\n  (func $fma (param $a i32)");
    expect(text).toContain("    (local $vectorEnd i32)\n    (local $l7 i32)");
    expect(text).toContain("      loop $L1\n");
    expect(text).toContain(
      "        local.get $i\n        local.get $vectorEnd\n        i32.ge_u\n",
    );
    expect(text).toContain("        br_if $B0\n");
    expect(text).toContain("        ;; 4 lanes: a*b+c\n");
    expect(text).toContain("        v128.load align=4\n        f32x4.mul\n");
    expect(text).toContain("f32x4.add\n        v128.store align=16\n");
    expect(text).toContain("    ;; remainder\n    block $B2\n");
    expect(text).toContain("  (func $misc (param $p0 i32) (result f32)\n    local.get 0\n");
    expect(text).toContain("    v128.load offset=16 align=16\n    f32x4.extract_lane 1\n");
    expect(text).toContain("    f32.const 0.1\n");
    expect(text).toContain("    f32.const -inf\n    call $log\n    i64.const -5\n");
    expect(text).toContain("    global.get $acc\n    global.set $acc\n");
    expect(text).toContain("    v128.const i32x4 0x00000001 0x00000002 0x00000003 0xffffffff\n");
    expect(text).toContain("    v128.const f32x4 1 0.5 -2 0\n    v128.const f64x2 0.25 -3\n");
    expect(text).toContain(
      "    if $I0 (result f32)\n      f32.const 1\n    else\n      f32.const 2\n    end\n",
    );
    expect(text).toMatch(/ {4}f32\.max\n {4};; trailing comment\)\n\)$/);
  });

  it("renders a small module exactly", () => {
    const m = new ModuleBuilder();
    const f = m.addFunction("double", {
      params: ["f64"],
      results: ["f64"],
      export: true,
      comment: "y = 2x",
    });
    f.comment("x + x").localGet(0).localGet(0).f64Add();
    expect(toText(m)).toBe(
      [
        "(module",
        "  (type (;0;) (func (param f64) (result f64)))",
        '  (export "double" (func $double))',
        "  ;; y = 2x",
        "  (func $double (param $p0 f64) (result f64)",
        "    ;; x + x",
        "    local.get 0",
        "    local.get 0",
        "    f64.add)",
        ")",
      ].join("\n"),
    );
  });
});

describe("build speed", () => {
  /** A module like one jit compile makes: ~20 small elementwise kernels with comments. */
  function buildKernels(): Uint8Array {
    const m = new ModuleBuilder();
    m.importMemory({ minPages: 1 });
    for (let k = 0; k < 20; k++) {
      const f = m.addFunction(`kernel${k}`, {
        params: ["i32", "i32", "i32"],
        export: true,
        comment: `out = tanh(x${k}) * y`,
      });
      const i = f.addLocal("i32");
      f.block((done) => {
        f.loop((next) => {
          f.localGet(i).localGet(2).i32GeU().brIf(done);
          f.comment("body").localGet(0).localGet(i).i32Add();
          f.localGet(0).localGet(i).i32Add().v128Load().localGet(1).localGet(i).i32Add().v128Load();
          f.f32x4Mul().f32x4Const(1, 1, 1, 1).f32x4Add().v128Store();
          f.localGet(i).i32Const(16).i32Add().localSet(i).br(next);
        });
      });
    }
    return m.build();
  }

  it("builds a valid 20-function module, the same bytes every time", () => {
    const bytes = buildKernels();
    expect(Array.from(buildKernels())).toEqual(Array.from(bytes));
    const module = new WebAssembly.Module(bytes);
    expect(WebAssembly.Module.exports(module)).toHaveLength(20);
  });
});

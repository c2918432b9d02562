/**
 * Vector constants for `FunctionBuilder`: written inline (`v128.const`, `f32x4Const`, …) or read
 * from the module's pool of immutable globals (`v128Constant`, `f32x4Constant`, …), lanes
 * little-endian with lane 0 first. Also the references a builder takes and what it asks of its
 * module.
 */
import { ByteBuffer } from "./encoding.js";
import { Opcode } from "./opcodes.js";
import { SimdOpcode } from "./simd-opcodes.js";

/** Anything with a function index (a `FunctionBuilder`, an imported function), or the index. */
export type FunctionRef = number | { readonly index: number };

/** Anything with a global index (what `ModuleBuilder.addGlobal` returns), or the index. */
export type GlobalRef = number | { readonly index: number };

/** What a function builder asks of its module. */
export interface ModuleServices {
  /** The global holding a v128 constant (one per distinct value). */
  constant(bytes: Uint8Array): GlobalRef;
  /** The imported function `module.field`, if the module declares it. */
  imported(module: string, field: string): FunctionRef | undefined;
}

const v128Scratch = new DataView(new ArrayBuffer(16));
const v128Bytes = new Uint8Array(v128Scratch.buffer);

/** The 16 bytes of four i32 lanes (a shared scratch: use them before the next call). */
function i32x4Bytes(a: number, b: number, c: number, d: number): Uint8Array {
  [a, b, c, d].forEach((v, i) => v128Scratch.setInt32(4 * i, v | 0, true));
  return v128Bytes;
}

/** The 16 bytes of four f32 lanes (shared scratch). */
function f32x4Bytes(a: number, b: number, c: number, d: number): Uint8Array {
  [a, b, c, d].forEach((v, i) => v128Scratch.setFloat32(4 * i, v, true));
  return v128Bytes;
}

/** The 16 bytes of two f64 lanes (shared scratch). */
function f64x2Bytes(a: number, b: number): Uint8Array {
  v128Scratch.setFloat64(0, a, true);
  v128Scratch.setFloat64(8, b, true);
  return v128Bytes;
}

/** The code buffer of a function and the vector constants written into it. */
export class VectorConstants {
  /** The instruction bytes written so far (without the final `end`). */
  readonly code = new ByteBuffer(128);

  constructor(
    /** What the function needs of its module (the constant pool, its imports). */
    protected readonly moduleServices: ModuleServices,
  ) {}

  /** Pushes a v128 from its 16 bytes (lane 0 first, little-endian). */
  v128Const(bytes: ArrayLike<number>): this {
    if (bytes.length !== 16)
      throw new RangeError(`v128Const: expected 16 bytes, got ${bytes.length}.`);
    this.code.byte(Opcode.simdPrefix).u32(SimdOpcode.const).bytes(bytes);
    return this;
  }

  /** Pushes a v128 with four i32 lanes. */
  i32x4Const(a: number, b: number, c: number, d: number): this {
    return this.v128Const(i32x4Bytes(a, b, c, d));
  }

  /** Pushes a v128 with four f32 lanes. */
  f32x4Const(a: number, b: number, c: number, d: number): this {
    return this.v128Const(f32x4Bytes(a, b, c, d));
  }

  /** Pushes a v128 with two f64 lanes. */
  f64x2Const(a: number, b: number): this {
    return this.v128Const(f64x2Bytes(a, b));
  }

  /**
   * Pushes the v128 `bytes` from the module's pool of constants: an immutable global per
   * distinct value, read with `global.get`. V8 rebuilds a `v128.const` at each use, even in a
   * loop, with three instructions (two on the vector units), which dominates code that uses many
   * constants (polynomials); a global it reads with one load, shared by the uses in a loop body.
   */
  v128Constant(bytes: Uint8Array): this {
    const global = this.moduleServices.constant(bytes);
    this.code.byte(Opcode.globalGet).u32(typeof global === "number" ? global : global.index);
    return this;
  }

  /** Like `i32x4Const`, from the module's pool of constants (see `v128Constant`). */
  i32x4Constant(a: number, b: number, c: number, d: number): this {
    return this.v128Constant(i32x4Bytes(a, b, c, d));
  }

  /** Like `f32x4Const`, from the module's pool of constants (see `v128Constant`). */
  f32x4Constant(a: number, b: number, c: number, d: number): this {
    return this.v128Constant(f32x4Bytes(a, b, c, d));
  }

  /** Like `f64x2Const`, from the module's pool of constants (see `v128Constant`). */
  f64x2Constant(a: number, b: number): this {
    return this.v128Constant(f64x2Bytes(a, b));
  }
}

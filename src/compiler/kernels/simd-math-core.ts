/**
 * Shared machinery of the inline vector math functions (`simd-math.ts`): scratch locals and the
 * small emitters every function uses (splatted constants, Horner's rule, scaling by 2^n).
 * Constants come from the module's pool (`FunctionBuilder.v128Constant`: one load each, where V8
 * would rebuild a `v128.const` with three instructions at every use).
 */
import type { OpName } from "../wasm/function-builder.js";
import type { FunctionBuilder } from "../wasm/module.js";
import type { ValueType } from "../wasm/opcodes.js";

/** How a math function may compute. */
export interface MathOptions {
  /**
   * Use relaxed SIMD's `f32x4.relaxed_madd` / `relaxed_nmadd` where the function has a variant
   * that does (one fused instruction for `a·b + c` on x64 and arm64). The module then needs an
   * engine with relaxed SIMD, and results differ from the default's in the last bits (each
   * variant has its own accuracy bound). Default: false.
   */
  fusedMultiplyAdd?: boolean;
}

/**
 * Emits code that replaces the v128 on top of `f`'s operand stack (four f32 lanes) with the
 * function's value lane by lane. It uses scratch locals from `scratch` and leaves nothing else on
 * the stack.
 */
export type SimdUnary = (
  f: FunctionBuilder,
  scratch?: ScratchLocals,
  options?: MathOptions,
) => void;

/** Like `SimdUnary` for two operands: the stack holds `x` then `y` (on top); it leaves `f(x, y)`. */
export type SimdBinary = (
  f: FunctionBuilder,
  scratch?: ScratchLocals,
  options?: MathOptions,
) => void;

/**
 * Scratch locals of one function, reused between uses: each math function takes what it needs
 * and gives it back when it ends, so a kernel that calls `f32x4Exp` ten times declares its
 * temporaries once, and functions applied one after another share them.
 */
export class ScratchLocals {
  private readonly pools = new Map<ValueType, number[]>();
  private readonly used = new Map<ValueType, number>();

  constructor(
    /** The function whose locals these are. */
    readonly f: FunctionBuilder,
  ) {}

  /** A free local of `type` (v128 by default), declared on first need. */
  take(type: ValueType = "v128"): number {
    const pool = this.pools.get(type) ?? [];
    this.pools.set(type, pool);
    const n = this.used.get(type) ?? 0;
    if (n === pool.length) pool.push(this.f.addLocal(type, `math_${type}_${n}`));
    this.used.set(type, n + 1);
    return pool[n]!;
  }

  /** Runs `body`, then frees every local taken during it. */
  scope<T>(body: () => T): T {
    const saved = new Map(this.used);
    try {
      return body();
    } finally {
      for (const type of this.used.keys()) this.used.set(type, saved.get(type) ?? 0);
    }
  }

  /** Number of scratch locals declared so far (all types), for tests and statistics. */
  get declared(): number {
    let n = 0;
    for (const pool of this.pools.values()) n += pool.length;
    return n;
  }
}

const scratchByFunction = new WeakMap<FunctionBuilder, ScratchLocals>();

/** The scratch locals to use: the given ones, or those cached for `f`. */
export function scratchFor(f: FunctionBuilder, scratch: ScratchLocals | undefined): ScratchLocals {
  if (scratch !== undefined) {
    if (scratch.f !== f) throw new Error("ScratchLocals belong to another function.");
    return scratch;
  }
  let cached = scratchByFunction.get(f);
  if (cached === undefined) {
    cached = new ScratchLocals(f);
    scratchByFunction.set(f, cached);
  }
  return cached;
}

/** The float lanes a math function computes in. */
export type FloatLanes = "f32x4" | "f64x2";

/** Float-lane instructions without immediates that `Emit.op` names by their suffix. */
export type FloatOp =
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "eq"
  | "ne"
  | "lt"
  | "le"
  | "gt"
  | "ge"
  | "pmin"
  | "pmax"
  | "abs"
  | "neg";

/** The emitting context of one math function: the builder, its scratch locals, its lanes. */
export class Emit {
  constructor(
    readonly f: FunctionBuilder,
    readonly s: ScratchLocals,
    /** The float lanes of the function (f32x4 unless told): what `float`, `op`, `horner` use. */
    readonly lanes: FloatLanes = "f32x4",
  ) {}

  /** Pushes every lane of `value` in the function's float lanes. */
  float(value: number): this {
    return this.lanes === "f32x4" ? this.f32(value) : this.f64(value);
  }

  /** Emits the float-lane instruction `name` (`add` is `f32x4.add` or `f64x2.add`). */
  op(name: FloatOp): this {
    this.f.op(`${this.lanes}.${name}` as OpName);
    return this;
  }

  /** Horner's rule in the function's float lanes (see `hornerF32`). */
  horner(z: number, coefficients: readonly number[]): this {
    return this.lanes === "f32x4"
      ? this.hornerF32(z, coefficients)
      : this.hornerF64(z, coefficients);
  }

  /** Pushes four f32 lanes of `value` (rounded to float32), from the module's constants. */
  f32(value: number): this {
    this.f.f32x4Constant(value, value, value, value);
    return this;
  }

  /** Pushes four i32 lanes of `value` (signed, or an unsigned bit pattern). */
  i32(value: number): this {
    return this.i32x4(value, value, value, value);
  }

  /** Pushes the i32 lanes (signed, or unsigned bit patterns) a, b, c, d. */
  i32x4(a: number, b: number, c: number, d: number): this {
    this.f.i32x4Constant(a, b, c, d);
    return this;
  }

  /** Pushes two f64 lanes of `value`. */
  f64(value: number): this {
    this.f.f64x2Constant(value, value);
    return this;
  }

  /** A free scratch local of `type` (v128 unless told). */
  take(type: ValueType = "v128"): number {
    return this.s.take(type);
  }

  /** Pops the top of the stack into a new scratch local (v128 unless told) and returns it. */
  set(type: ValueType = "v128"): number {
    const local = this.s.take(type);
    this.f.localSet(local);
    return local;
  }

  /** Like `set`, keeping the value on the stack. */
  tee(type: ValueType = "v128"): number {
    const local = this.s.take(type);
    this.f.localTee(local);
    return local;
  }

  /** Pushes locals, in order. */
  get(...locals: number[]): this {
    for (const local of locals) this.f.localGet(local);
    return this;
  }

  /**
   * Horner's rule in f32x4: pushes `c[0] + z·(c[1] + z·(…))`, `z` a local.
   */
  hornerF32(z: number, coefficients: readonly number[]): this {
    const n = coefficients.length;
    this.f32(coefficients[n - 1]!);
    for (let i = n - 2; i >= 0; i--) {
      this.f.localGet(z).f32x4Mul();
      this.f32(coefficients[i]!).f.f32x4Add();
    }
    return this;
  }

  /** Horner's rule in f64x2. */
  hornerF64(z: number, coefficients: readonly number[]): this {
    const n = coefficients.length;
    this.f64(coefficients[n - 1]!);
    for (let i = n - 2; i >= 0; i--) {
      this.f.localGet(z).f64x2Mul();
      this.f64(coefficients[i]!).f.f64x2Add();
    }
    return this;
  }

  /**
   * Pushes `2^n` as f32 lanes for the i32 lanes `n` on the stack, valid for n in [-126, 127].
   */
  pow2(): this {
    this.i32(127).f.i32x4Add().i32Const(23).i32x4Shl();
    return this;
  }

  /**
   * Multiplies the f32 lanes on the stack by 2^n, `n` an i32x4 local with lanes in [-252, 254]:
   * two exact steps, so results that overflow become ±inf and results below the normal range
   * round once, correctly, to subnormals or zero.
   */
  scaleBy2n(n: number): this {
    const half = this.s.take();
    this.f.localGet(n).i32Const(1).i32x4ShrS().localTee(half);
    this.pow2().f.f32x4Mul();
    this.f.localGet(n).localGet(half).i32x4Sub();
    this.pow2().f.f32x4Mul();
    return this;
  }

  /** Pushes the float lanes of local `x` with the sign bit only (`x & -0`). */
  signOf(x: number): this {
    this.f.localGet(x);
    if (this.lanes === "f32x4") this.i32(0x80000000);
    else this.i32x4(0, 0x80000000, 0, 0x80000000);
    this.f.v128And();
    return this;
  }
}

/** Runs `body` with an `Emit` over `f` and its scratch locals, freeing them after. */
export function emit(
  f: FunctionBuilder,
  scratch: ScratchLocals | undefined,
  body: (e: Emit) => void,
  lanes: FloatLanes = "f32x4",
): void {
  const s = scratchFor(f, scratch);
  s.scope(() => body(new Emit(f, s, lanes)));
}

/** `i8x16.shuffle` lanes taking 64-bit half `a` (0 low, 1 high) of the first operand, then half `b` of the second. */
export function halves(a: 0 | 1, b: 0 | 1): number[] {
  const lanes: number[] = [];
  for (let i = 0; i < 8; i++) lanes.push(8 * a + i);
  for (let i = 0; i < 8; i++) lanes.push(16 + 8 * b + i);
  return lanes;
}

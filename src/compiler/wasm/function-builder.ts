/**
 * `FunctionBuilder`: writes one function's code as bytes while it is described, one method per
 * instruction (`f.localGet(0)`, `f.f32x4Add()`, `f.loop(...)`), with structured control flow
 * through callbacks and labels, and comments kept beside the bytes for the text printer.
 */
import { ByteBuffer } from "./encoding.js";
import {
  AtomicOpcode,
  atomicOpcodes,
  MiscOpcode,
  miscOpcodes,
  memoryOpcodes,
  methodName,
  Opcode,
  plainOpcodes,
  valueTypeCodes,
  type AtomicOpName,
  type MemoryOpName,
  type MethodName,
  type MiscOpName,
  type PlainOpName,
  type ValueType,
} from "./opcodes.js";
import {
  VectorConstants,
  type FunctionRef,
  type GlobalRef,
  type ModuleServices,
} from "./vector-constants.js";
import {
  SimdOpcode,
  simdLaneOpcodes,
  simdMemoryOpcodes,
  simdOpcodes,
  type SimdLaneOpName,
  type SimdMemoryOpName,
  type SimdOpName,
} from "./simd-opcodes.js";

/** The type of a block's result: a value type, or `undefined` for none. */
export type BlockType = ValueType | undefined;

export type { FunctionRef, GlobalRef, ModuleServices } from "./vector-constants.js";

/** A comment attached to the instruction that starts at byte `offset` of a function's code. */
export interface InstructionComment {
  readonly offset: number;
  readonly text: string;
}

/** Instructions without immediates, one method each, named after the text format. */
type PlainMethods = {
  [K in PlainOpName | MiscOpName | SimdOpName as MethodName<K>]: () => FunctionBuilder;
};

/**
 * Loads and stores: `offset` is added to the address operand; `align` is a promise about the
 * address, in bytes (a power of two, at most the access size, which is the default).
 */
type MemoryMethods = {
  [K in MemoryOpName | SimdMemoryOpName | AtomicOpName as MethodName<K>]: (
    offset?: number,
    align?: number,
  ) => FunctionBuilder;
};

/** Lane accessors: `lane` is the lane index. */
type LaneMethods = {
  [K in SimdLaneOpName as MethodName<K>]: (lane: number) => FunctionBuilder;
};

/** Text name of any instruction `FunctionBuilder.op` emits. */
export type OpName = PlainOpName | MiscOpName | SimdOpName;

/** Text name of any instruction `FunctionBuilder.memoryOp` emits. */
export type AnyMemoryOpName = MemoryOpName | SimdMemoryOpName | AtomicOpName;

/**
 * A branch target: the block, loop or if that opened it. `br(label)` computes the relative depth,
 * so code never counts nesting by hand; a label can only be used while its block is open.
 */
export class Label {
  /** Whether it is still open (between its start and its `end`). */
  open = true;

  constructor(
    /** The construct that opened it (`if` becomes `else` past its `else`). */
    public kind: "block" | "loop" | "if" | "else",
    /** How many blocks enclose it: its index in the control stack. */
    readonly level: number,
  ) {}
}

interface MemoryOpInfo {
  prefix: number;
  code: number;
  align: number;
  atomic: boolean;
}

const plainBytes = new Map<string, readonly number[]>();
const memoryInfo = new Map<string, MemoryOpInfo>();

function prefixed(prefix: number, code: number): number[] {
  const bytes = new ByteBuffer(8).byte(prefix).u32(code).toBytes();
  return Array.from(bytes);
}

for (const [name, code] of Object.entries(plainOpcodes)) plainBytes.set(name, [code]);
for (const [name, code] of Object.entries(miscOpcodes)) {
  plainBytes.set(name, prefixed(Opcode.miscPrefix, code));
}
for (const [name, code] of Object.entries(simdOpcodes)) {
  plainBytes.set(name, prefixed(Opcode.simdPrefix, code));
}
for (const [name, [code, align]] of Object.entries(memoryOpcodes)) {
  memoryInfo.set(name, { prefix: -1, code, align, atomic: false });
}
for (const [name, [code, align]] of Object.entries(simdMemoryOpcodes)) {
  memoryInfo.set(name, { prefix: Opcode.simdPrefix, code, align, atomic: false });
}
for (const [name, [code, align]] of Object.entries(atomicOpcodes)) {
  memoryInfo.set(name, { prefix: Opcode.atomicPrefix, code, align, atomic: true });
}

/**
 * The hand-written part of `FunctionBuilder`: locals, comments, control flow and the
 * instructions with immediates (vector constants: `VectorConstants`). Use `FunctionBuilder`, which adds one method per table entry.
 */
export class FunctionBuilderCore extends VectorConstants {
  /** Per-instruction comments, in code order. */
  readonly comments: InstructionComment[] = [];
  /** Declared locals after the parameters, by local index minus the parameter count. */
  readonly locals: ValueType[] = [];
  /** Optional names of parameters and locals, by local index (for the text and name section). */
  readonly localNames: (string | undefined)[] = [];
  /** A comment about the whole function (e.g. the IR equations it came from), or undefined. */
  description: string | undefined;
  private readonly labels: Label[] = [];

  constructor(
    /** The function index in the module (imported functions come first). */
    readonly index: number,
    /** The function's name (in the name section and the text). */
    readonly name: string,
    readonly params: readonly ValueType[],
    readonly results: readonly ValueType[],
    /** Index of its signature in the module's type section. */
    readonly typeIndex: number,
    /** What the function needs of its module (see `v128Constant`, `imported`). */
    moduleServices: ModuleServices,
  ) {
    super(moduleServices);
  }

  /** Number of locals, parameters included. */
  get localCount(): number {
    return this.params.length + this.locals.length;
  }

  /** The type of local `index` (parameters first). */
  localType(index: number): ValueType {
    const type =
      index < this.params.length ? this.params[index] : this.locals[index - this.params.length];
    if (type === undefined) {
      throw new RangeError(`${this.name}: no local ${index} (it has ${this.localCount}).`);
    }
    return type;
  }

  /** Declares a local of `type` (zero-initialised) and returns its index. */
  addLocal(type: ValueType, name?: string): number {
    const index = this.localCount;
    this.locals.push(type);
    if (name !== undefined) this.localNames[index] = name;
    return index;
  }

  /** Attaches `text` as a comment before the next instruction (shown by `toText`). */
  comment(text: string): this {
    this.comments.push({ offset: this.code.length, text });
    return this;
  }

  // ── structured control flow ──────────────────────────────────────────────────────────────

  /** `block … end`: `br(label)` inside jumps past the end. */
  block(body: (label: Label) => void): this;
  block(type: BlockType, body: (label: Label) => void): this;
  block(a: BlockType | ((label: Label) => void), b?: (label: Label) => void): this {
    return this.structured(Opcode.block, "block", a, b);
  }

  /** `loop … end`: `br(label)` inside jumps back to the start. */
  loop(body: (label: Label) => void): this;
  loop(type: BlockType, body: (label: Label) => void): this;
  loop(a: BlockType | ((label: Label) => void), b?: (label: Label) => void): this {
    return this.structured(Opcode.loop, "loop", a, b);
  }

  /** `if … else … end` on the i32 condition on the stack; `otherwise` is optional. */
  if(then: (label: Label) => void, otherwise?: (label: Label) => void): this;
  if(type: BlockType, then: (label: Label) => void, otherwise?: (label: Label) => void): this;
  if(
    a: BlockType | ((label: Label) => void),
    b?: (label: Label) => void,
    c?: (label: Label) => void,
  ): this {
    const typed = typeof a !== "function";
    const type = typed ? a : undefined;
    const then = typed ? b! : a;
    const otherwise = typed ? c : b;
    const label = this.beginIf(type);
    then(label);
    if (otherwise !== undefined) {
      this.expectTop(label, "if");
      this.else();
      otherwise(label);
    }
    this.expectTop(label, "if");
    return this.end();
  }

  /** Opens a `block` (close it with `end()`); returns its label. */
  beginBlock(type?: BlockType): Label {
    return this.open(Opcode.block, "block", type);
  }

  /** Opens a `loop` (close it with `end()`); returns its label. */
  beginLoop(type?: BlockType): Label {
    return this.open(Opcode.loop, "loop", type);
  }

  /** Opens an `if` on the i32 condition on the stack (close it with `end()`); returns its label. */
  beginIf(type?: BlockType): Label {
    return this.open(Opcode.if, "if", type);
  }

  /** Starts the `else` branch of the innermost `if`. */
  else(): this {
    const top = this.labels[this.labels.length - 1];
    if (top?.kind !== "if") {
      throw new Error(`${this.name}: else() needs an open if, found ${top?.kind ?? "none"}.`);
    }
    top.kind = "else";
    this.code.byte(Opcode.else);
    return this;
  }

  /** Closes the innermost open block, loop or if. */
  end(): this {
    const label = this.labels.pop();
    if (label === undefined) throw new Error(`${this.name}: end() without an open block.`);
    label.open = false;
    this.code.byte(Opcode.end);
    return this;
  }

  /** Branches to `target`: a label, or a relative depth (0 = innermost). */
  br(target: Label | number): this {
    this.code.byte(Opcode.br).u32(this.depthOf(target));
    return this;
  }

  /** Branches to `target` if the i32 on the stack is nonzero. */
  brIf(target: Label | number): this {
    this.code.byte(Opcode.brIf).u32(this.depthOf(target));
    return this;
  }

  /** Branches to `targets[i]` for the i32 `i` on the stack, or to `otherwise` if out of range. */
  brTable(targets: readonly (Label | number)[], otherwise: Label | number): this {
    this.code.byte(Opcode.brTable).u32(targets.length);
    for (const target of targets) this.code.u32(this.depthOf(target));
    this.code.u32(this.depthOf(otherwise));
    return this;
  }

  /** Calls a function (defined or imported). */
  call(target: FunctionRef): this {
    this.code.byte(Opcode.call).u32(typeof target === "number" ? target : target.index);
    return this;
  }

  // ── variables ────────────────────────────────────────────────────────────────────────────

  /** Pushes local `index`. */
  localGet(index: number): this {
    this.code.byte(Opcode.localGet).u32(index);
    return this;
  }

  /** Pops into local `index`. */
  localSet(index: number): this {
    this.code.byte(Opcode.localSet).u32(index);
    return this;
  }

  /** Stores the top of the stack into local `index`, keeping it on the stack. */
  localTee(index: number): this {
    this.code.byte(Opcode.localTee).u32(index);
    return this;
  }

  /** Pushes a global. */
  globalGet(global: GlobalRef): this {
    this.code.byte(Opcode.globalGet).u32(typeof global === "number" ? global : global.index);
    return this;
  }

  /** Pops into a (mutable) global. */
  globalSet(global: GlobalRef): this {
    this.code.byte(Opcode.globalSet).u32(typeof global === "number" ? global : global.index);
    return this;
  }

  // ── constants ────────────────────────────────────────────────────────────────────────────

  /** Pushes an i32; `value` may be signed or an unsigned bit pattern (up to 2³² − 1). */
  i32Const(value: number): this {
    if (!Number.isInteger(value) || value < -0x80000000 || value > 0xffffffff) {
      throw new RangeError(`i32Const: ${value} is not a 32-bit integer.`);
    }
    this.code.byte(Opcode.i32Const).s32(value | 0);
    return this;
  }

  /** Pushes an i64 (a `bigint`, or a safe integer). */
  i64Const(value: bigint | number): this {
    if (typeof value === "number" && !Number.isSafeInteger(value)) {
      throw new RangeError(`i64Const: ${value} is not a safe integer; pass a bigint.`);
    }
    this.code.byte(Opcode.i64Const).s64(value);
    return this;
  }

  /** Pushes `value` rounded to float32. */
  f32Const(value: number): this {
    this.code.byte(Opcode.f32Const).f32(value);
    return this;
  }

  /** Pushes a float64. */
  f64Const(value: number): this {
    this.code.byte(Opcode.f64Const).f64(value);
    return this;
  }

  /**
   * The function the module imports as `module.field`, for `call`. Imports come before every
   * defined function, so code that needs one asks for it here and the module's creator declares
   * it (`runtime/wasm-memory.ts` does for the kernel modules).
   */
  imported(module: string, field: string): FunctionRef {
    const found = this.moduleServices.imported(module, field);
    if (found === undefined) {
      throw new Error(
        `${this.name}: the module does not import ${module}.${field}; declare it with ` +
          `importFunction before adding functions.`,
      );
    }
    return found;
  }

  // ── memory and tables of instructions ────────────────────────────────────────────────────

  /** `memory.size`: the memory's size in 64 KiB pages. */
  memorySize(): this {
    this.code.byte(Opcode.memorySize).byte(0);
    return this;
  }

  /** `memory.grow`: grows by the i32 on the stack (pages); pushes the old size or -1. */
  memoryGrow(): this {
    this.code.byte(Opcode.memoryGrow).byte(0);
    return this;
  }

  /** `memory.copy`: copies n bytes (dest, src, n on the stack; regions may overlap). */
  memoryCopy(): this {
    this.code.byte(Opcode.miscPrefix).u32(MiscOpcode.memoryCopy).byte(0).byte(0);
    return this;
  }

  /** `memory.fill`: sets n bytes to a value (dest, value, n on the stack). */
  memoryFill(): this {
    this.code.byte(Opcode.miscPrefix).u32(MiscOpcode.memoryFill).byte(0);
    return this;
  }

  /** `atomic.fence`: orders memory accesses between threads. */
  atomicFence(): this {
    this.code.byte(Opcode.atomicPrefix).u32(AtomicOpcode.fence).byte(0);
    return this;
  }

  /** `i8x16.shuffle`: picks 16 bytes from two vectors by index (0–15 first, 16–31 second). */
  i8x16Shuffle(lanes: readonly number[]): this {
    if (lanes.length !== 16 || lanes.some((l) => !Number.isInteger(l) || l < 0 || l > 31)) {
      throw new RangeError(
        `i8x16Shuffle: expected 16 lane indices in [0, 32), got [${lanes.join(", ")}].`,
      );
    }
    this.code.byte(Opcode.simdPrefix).u32(SimdOpcode.shuffle).bytes(lanes);
    return this;
  }

  /** Emits an instruction without immediates by its text name (`"f32x4.add"`). */
  op(name: OpName): this {
    const bytes = plainBytes.get(name);
    if (bytes === undefined) throw new Error(`op: unknown instruction ${JSON.stringify(name)}.`);
    this.code.bytes(bytes);
    return this;
  }

  /** Emits a load or store by its text name, with a byte `offset` and an `align` in bytes. */
  memoryOp(name: AnyMemoryOpName, offset = 0, align?: number): this {
    const info = memoryInfo.get(name);
    if (info === undefined) {
      throw new Error(`memoryOp: unknown instruction ${JSON.stringify(name)}.`);
    }
    return this.memarg(name, info, offset, align);
  }

  /** Writes a memory instruction and its memarg (alignment as log₂, then the offset). */
  private memarg(
    name: string,
    info: MemoryOpInfo,
    offset: number,
    align: number | undefined,
  ): this {
    let alignLog2 = info.align;
    if (align !== undefined) {
      alignLog2 = 31 - Math.clz32(align);
      const allowed = info.atomic ? alignLog2 === info.align : alignLog2 <= info.align;
      if (align <= 0 || 2 ** alignLog2 !== align || !allowed) {
        const rule = info.atomic ? "exactly" : "a power of two up to";
        throw new RangeError(
          `${name}: align must be ${rule} ${2 ** info.align} bytes, got ${align}.`,
        );
      }
    }
    if (info.prefix >= 0) this.code.byte(info.prefix);
    this.code.u32(info.code).u32(alignLog2).u32(offset);
    return this;
  }

  /** Emits a lane accessor by its text name. */
  laneOp(name: SimdLaneOpName, lane: number): this {
    const [code, lanes] = simdLaneOpcodes[name];
    if (!Number.isInteger(lane) || lane < 0 || lane >= lanes) {
      throw new RangeError(`${name}: lane must be an integer in [0, ${lanes}), got ${lane}.`);
    }
    this.code.byte(Opcode.simdPrefix).u32(code).byte(lane);
    return this;
  }

  /** Throws unless every block is closed; the module calls it when it builds. */
  checkComplete(): void {
    if (this.labels.length > 0) {
      const kinds = this.labels.map((l) => l.kind).join(", ");
      throw new Error(
        `${this.name}: ${this.labels.length} block(s) still open (${kinds}); call end().`,
      );
    }
  }

  private open(opcode: number, kind: Label["kind"], type: BlockType): Label {
    this.code.byte(opcode).byte(type === undefined ? 0x40 : valueTypeCodes[type]);
    const label = new Label(kind, this.labels.length);
    this.labels.push(label);
    return label;
  }

  private structured(
    opcode: number,
    kind: "block" | "loop",
    a: BlockType | ((label: Label) => void),
    b: ((label: Label) => void) | undefined,
  ): this {
    const typed = typeof a !== "function";
    const label = this.open(opcode, kind, typed ? a : undefined);
    (typed ? b! : a)(label);
    this.expectTop(label, kind);
    return this.end();
  }

  private expectTop(label: Label, kind: Label["kind"]): void {
    if (this.labels[this.labels.length - 1] !== label) {
      throw new Error(`${this.name}: a ${kind} body left a block open; close it with end().`);
    }
  }

  private depthOf(target: Label | number): number {
    if (typeof target === "number") {
      if (!Number.isInteger(target) || target < 0 || target > this.labels.length) {
        throw new RangeError(
          `${this.name}: branch depth ${target} is outside [0, ${this.labels.length}].`,
        );
      }
      return target;
    }
    if (!target.open || this.labels[target.level] !== target) {
      throw new Error(`${this.name}: branch to a ${target.kind} label that is no longer open.`);
    }
    return this.labels.length - 1 - target.level;
  }
}

/**
 * Writes one function's code. Besides the methods of `FunctionBuilderCore`, it has one method
 * per instruction in the opcode tables, named after the text format: `f32.add` → `f32Add()`,
 * `f64.load` → `f64Load(offset?, align?)`, `f32x4.extract_lane` → `f32x4ExtractLane(lane)`.
 * Every method returns the builder, so instructions chain. Create it with
 * `ModuleBuilder.addFunction` (whose example shows one in use).
 */
export interface FunctionBuilder
  extends FunctionBuilderCore, PlainMethods, MemoryMethods, LaneMethods {}

/** The private memarg writer, for the generated memory methods. */
interface MemargWriter {
  memarg(
    name: string,
    info: MemoryOpInfo,
    offset: number,
    align: number | undefined,
  ): FunctionBuilderCore;
}

const prototype = FunctionBuilderCore.prototype as unknown as Record<string, unknown>;
for (const [name, bytes] of plainBytes) {
  const [first, second, third] = bytes;
  prototype[methodName(name)] =
    bytes.length === 1
      ? function (this: FunctionBuilderCore) {
          this.code.byte(first!);
          return this;
        }
      : function (this: FunctionBuilderCore) {
          this.code.byte(first!).byte(second!);
          if (third !== undefined) this.code.byte(third);
          return this;
        };
}
for (const [name, info] of memoryInfo) {
  prototype[methodName(name)] = function (this: FunctionBuilderCore, offset = 0, align?: number) {
    return (this as unknown as MemargWriter).memarg(name, info, offset, align);
  };
}
for (const name of Object.keys(simdLaneOpcodes)) {
  prototype[methodName(name)] = function (this: FunctionBuilderCore, lane: number) {
    return this.laneOp(name as SimdLaneOpName, lane);
  };
}

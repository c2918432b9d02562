/**
 * `ModuleBuilder`: collects function types, imports (the `env.memory` memory, host functions),
 * functions, globals and exports, and writes them as a WebAssembly binary module with its
 * sections in the order the specification requires. No dependency, no validation pass: the
 * engine validates when the bytes are compiled, and building takes microseconds.
 */
import { ByteBuffer } from "./encoding.js";
import {
  FunctionBuilderCore,
  type FunctionBuilder,
  type FunctionRef,
  type GlobalRef,
} from "./function-builder.js";
import { Opcode, valueTypeCodes, type ValueType } from "./opcodes.js";
import { SimdOpcode } from "./simd-opcodes.js";

export type { FunctionBuilder } from "./function-builder.js";

/** A function signature: parameter and result types. */
export interface FunctionType {
  readonly params: readonly ValueType[];
  readonly results: readonly ValueType[];
}

/** How `addFunction` declares a function. */
export interface FunctionOptions {
  /** Parameter types (locals 0 … n−1); none if omitted. */
  params?: readonly ValueType[];
  /** Result types; none if omitted. */
  results?: readonly ValueType[];
  /** Names for the parameters, shown by `toText` and kept in the name section. */
  paramNames?: readonly (string | undefined)[];
  /** Export it: `true` under its own name, or a string for another export name. */
  export?: boolean | string;
  /** A comment about the whole function, e.g. the IR equations it computes. */
  comment?: string;
}

/** How `importMemory` declares the imported linear memory. */
export interface MemoryImportOptions {
  /** Import module name; default `"env"`. */
  module?: string;
  /** Import field name; default `"memory"`. */
  name?: string;
  /** Minimum size in 64 KiB pages; default 1. */
  minPages?: number;
  /** Maximum size in pages; required when `shared`. */
  maxPages?: number;
  /** A shared memory (a `SharedArrayBuffer`, for worker threads and atomics). */
  shared?: boolean;
}

/** The imported memory, as declared. */
export interface MemoryImport {
  readonly module: string;
  readonly name: string;
  readonly minPages: number;
  readonly maxPages: number | undefined;
  readonly shared: boolean;
}

/** An imported (host) function; pass it to `FunctionBuilder.call`. */
export interface ImportedFunction extends FunctionType {
  /** Its function index (imports come before defined functions). */
  readonly index: number;
  readonly module: string;
  readonly field: string;
  /** The name the text and the name section use. */
  readonly name: string;
  readonly typeIndex: number;
}

/** A global variable; pass it to `globalGet` / `globalSet`. */
export interface Global {
  readonly index: number;
  readonly type: ValueType;
  readonly mutable: boolean;
  /** The initial value: a number or bigint, or for v128 its 16 bytes. */
  readonly init: number | bigint | Uint8Array;
  readonly name: string | undefined;
}

/** An export: a name and the function, global or memory it names. */
export interface Export {
  readonly name: string;
  readonly kind: "func" | "memory" | "global";
  readonly index: number;
}

const exportKindCodes = { func: 0x00, memory: 0x02, global: 0x03 } as const;

const enum Section {
  Custom = 0,
  Type = 1,
  Import = 2,
  Function = 3,
  Global = 6,
  Export = 7,
  Code = 10,
}

/**
 * Builds a WebAssembly module: declare imports first, then functions, globals and exports, then
 * call `build()` for the bytes (`new WebAssembly.Module(bytes)` compiles them).
 *
 * @example
 * const m = new ModuleBuilder();
 * m.importMemory({ minPages: 1 });
 * const sum = m.addFunction("sum", {
 *   params: ["i32", "i32"], // pointer to float64 data, element count
 *   results: ["f64"],
 *   export: true,
 *   comment: "out = reduce_sum(x)",
 * });
 * const i = sum.addLocal("i32");
 * const total = sum.addLocal("f64");
 * sum.block((done) => {
 *   sum.loop((next) => {
 *     sum.localGet(i).localGet(1).i32GeU().brIf(done);
 *     sum.localGet(total).localGet(0).localGet(i).i32Const(3).i32Shl().i32Add().f64Load().f64Add();
 *     sum.localSet(total);
 *     sum.localGet(i).i32Const(1).i32Add().localSet(i).br(next);
 *   });
 * });
 * sum.localGet(total);
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * new Float64Array(memory.buffer).set([1, 2, 3.5]);
 * const instance = new WebAssembly.Instance(new WebAssembly.Module(m.build()), { env: { memory } });
 * if ((instance.exports.sum as (p: number, n: number) => number)(0, 3) !== 6.5) throw new Error();
 */
export class ModuleBuilder {
  /** The deduplicated function types, by type index. */
  readonly types: FunctionType[] = [];
  /** Imported functions, by function index. */
  readonly importedFunctions: ImportedFunction[] = [];
  /** Defined functions; function index = imported count + position. */
  readonly functions: FunctionBuilder[] = [];
  readonly globals: Global[] = [];
  readonly exports: Export[] = [];
  private memoryImport: MemoryImport | undefined;
  private readonly typeKeys = new Map<string, number>();
  private readonly exportNames = new Set<string>();

  /** The imported memory, if `importMemory` was called. */
  get memory(): MemoryImport | undefined {
    return this.memoryImport;
  }

  /** The index of the type `(params) → (results)`, adding it if new. */
  typeIndex(params: readonly ValueType[], results: readonly ValueType[]): number {
    const key = `${params.join(",")}>${results.join(",")}`;
    let index = this.typeKeys.get(key);
    if (index === undefined) {
      index = this.types.length;
      this.types.push({ params: [...params], results: [...results] });
      this.typeKeys.set(key, index);
    }
    return index;
  }

  /** Imports the linear memory (memory 0) that loads and stores address. */
  importMemory(options: MemoryImportOptions = {}): this {
    if (this.memoryImport !== undefined)
      throw new Error("importMemory: the memory is already imported.");
    const { module = "env", name = "memory", minPages = 1, maxPages, shared = false } = options;
    checkPages("minPages", minPages);
    if (maxPages !== undefined) {
      checkPages("maxPages", maxPages);
      if (maxPages < minPages) {
        throw new RangeError(
          `importMemory: maxPages (${maxPages}) is below minPages (${minPages}).`,
        );
      }
    }
    if (shared && maxPages === undefined) {
      throw new Error(
        "importMemory: a shared memory needs maxPages (e.g. { shared: true, maxPages: 256 }).",
      );
    }
    this.memoryImport = { module, name, minPages, maxPages, shared };
    return this;
  }

  /**
   * Imports a host function `module.field` with the signature in `options` (and a `name` for
   * the text, default `field`); `call` it by the returned handle. Import functions before adding
   * any: imports take the first function indices.
   */
  importFunction(
    module: string,
    field: string,
    options: { params?: readonly ValueType[]; results?: readonly ValueType[]; name?: string } = {},
  ): ImportedFunction {
    if (this.functions.length > 0) {
      throw new Error(
        `importFunction(${JSON.stringify(field)}): import functions before adding any with addFunction, ` +
          "since imported functions take the first indices.",
      );
    }
    const params = [...(options.params ?? [])];
    const results = [...(options.results ?? [])];
    const imported: ImportedFunction = {
      index: this.importedFunctions.length,
      module,
      field,
      name: options.name ?? field,
      params,
      results,
      typeIndex: this.typeIndex(params, results),
    };
    this.importedFunctions.push(imported);
    return imported;
  }

  /** Adds a function and returns the builder that writes its code. */
  addFunction(name: string, options: FunctionOptions = {}): FunctionBuilder {
    const params = [...(options.params ?? [])];
    const results = [...(options.results ?? [])];
    const index = this.importedFunctions.length + this.functions.length;
    const f = new FunctionBuilderCore(
      index,
      name,
      params,
      results,
      this.typeIndex(params, results),
      {
        constant: (bytes) => this.constantGlobal(bytes),
        imported: (module, field) =>
          this.importedFunctions.find((f) => f.module === module && f.field === field),
      },
    ) as FunctionBuilder;
    options.paramNames?.forEach((paramName, i) => {
      if (paramName !== undefined) f.localNames[i] = paramName;
    });
    f.description = options.comment;
    this.functions.push(f);
    if (options.export !== undefined && options.export !== false) {
      this.exportFunction(options.export === true ? name : options.export, f);
    }
    return f;
  }

  private readonly constantGlobals = new Map<string, Global>();

  /**
   * The global holding the v128 constant `bytes` (one per distinct value in the module): see
   * `FunctionBuilder.v128Constant`.
   */
  constantGlobal(bytes: Uint8Array): Global {
    let key = "";
    for (const b of bytes) key += b.toString(16).padStart(2, "0");
    let global = this.constantGlobals.get(key);
    if (global === undefined) {
      global = this.addGlobal("v128", bytes.slice(), {
        mutable: false,
        name: `const_${this.constantGlobals.size}`,
      });
      this.constantGlobals.set(key, global);
    }
    return global;
  }

  /** Adds a global of `type` starting at `init`; immutable unless `mutable`. */
  addGlobal(
    type: Global["type"],
    init: number | bigint | Uint8Array,
    options: { mutable?: boolean; name?: string; export?: string } = {},
  ): Global {
    if (
      type === "v128"
        ? !(init instanceof Uint8Array && init.length === 16)
        : type === "i64"
          ? init instanceof Uint8Array || (typeof init === "number" && !Number.isSafeInteger(init))
          : typeof init !== "number"
    ) {
      throw new TypeError(`addGlobal: ${String(init)} is not a valid ${type} initial value.`);
    }
    const global: Global = {
      index: this.globals.length,
      type,
      mutable: options.mutable ?? false,
      init,
      name: options.name,
    };
    this.globals.push(global);
    if (options.export !== undefined) this.exportGlobal(options.export, global);
    return global;
  }

  /** Exports a function under `name`. */
  exportFunction(name: string, target: FunctionRef): this {
    return this.addExport(name, "func", typeof target === "number" ? target : target.index);
  }

  /** Exports a global under `name`. */
  exportGlobal(name: string, target: GlobalRef): this {
    return this.addExport(name, "global", typeof target === "number" ? target : target.index);
  }

  /** Exports the imported memory under `name`. */
  exportMemory(name: string): this {
    if (this.memoryImport === undefined) throw new Error("exportMemory: call importMemory first.");
    return this.addExport(name, "memory", 0);
  }

  /** The name of function `index` (imported or defined). */
  functionName(index: number): string {
    const imported = this.importedFunctions[index];
    if (imported !== undefined) return imported.name;
    const defined = this.functions[index - this.importedFunctions.length];
    if (defined === undefined) throw new RangeError(`functionName: no function ${index}.`);
    return defined.name;
  }

  /**
   * The binary module. `names` (default true) adds a name section, so engines show function
   * names in stack traces and profiles.
   */
  build(options: { names?: boolean } = {}): Uint8Array {
    let codeBytes = 0;
    for (const f of this.functions) {
      f.checkComplete();
      codeBytes += f.code.length + 16;
    }
    const out = new ByteBuffer(codeBytes + 64 * (this.functions.length + this.types.length) + 256);
    const section = new ByteBuffer(codeBytes + 256);
    out.bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    const emit = (id: Section, write: (s: ByteBuffer) => void): void => {
      write(section.reset());
      out.byte(id).sized(section);
    };
    if (this.types.length > 0) {
      emit(Section.Type, (s) =>
        s.vector(this.types, (b, type) => {
          b.byte(0x60);
          b.vector(type.params, writeValueType);
          b.vector(type.results, writeValueType);
        }),
      );
    }
    const memory = this.memoryImport;
    if (this.importedFunctions.length > 0 || memory !== undefined) {
      emit(Section.Import, (s) => {
        s.u32(this.importedFunctions.length + (memory === undefined ? 0 : 1));
        for (const f of this.importedFunctions)
          s.name(f.module).name(f.field).byte(0x00).u32(f.typeIndex);
        if (memory !== undefined) {
          s.name(memory.module).name(memory.name).byte(0x02);
          s.byte(memory.shared ? 0x03 : memory.maxPages === undefined ? 0x00 : 0x01).u32(
            memory.minPages,
          );
          if (memory.maxPages !== undefined) s.u32(memory.maxPages);
        }
      });
    }
    if (this.functions.length > 0) {
      emit(Section.Function, (s) => s.vector(this.functions, (b, f) => b.u32(f.typeIndex)));
    }
    if (this.globals.length > 0) {
      emit(Section.Global, (s) =>
        s.vector(this.globals, (b, g) => {
          b.byte(valueTypeCodes[g.type]).byte(g.mutable ? 1 : 0);
          writeConst(b, g.type, g.init);
          b.byte(Opcode.end);
        }),
      );
    }
    if (this.exports.length > 0) {
      emit(Section.Export, (s) =>
        s.vector(this.exports, (b, e) => b.name(e.name).byte(exportKindCodes[e.kind]).u32(e.index)),
      );
    }
    if (this.functions.length > 0) {
      const locals = new ByteBuffer(64);
      emit(Section.Code, (s) =>
        s.vector(this.functions, (b, f) => {
          writeLocals(locals.reset(), f.locals);
          b.u32(locals.length + f.code.length + 1);
          b.bytes(locals.view()).bytes(f.code.view()).byte(Opcode.end);
        }),
      );
    }
    if (options.names ?? true) emit(Section.Custom, (s) => this.writeNames(s));
    return out.toBytes();
  }

  private addExport(name: string, kind: Export["kind"], index: number): this {
    if (this.exportNames.has(name))
      throw new Error(`export: the name ${JSON.stringify(name)} is already exported.`);
    this.exportNames.add(name);
    this.exports.push({ name, kind, index });
    return this;
  }

  /** The `name` custom section: function names (1), local names (2), global names (7). */
  private writeNames(s: ByteBuffer): void {
    s.name("name");
    const sub = new ByteBuffer(256);
    const subsection = (id: number): void => {
      s.byte(id).sized(sub);
      sub.reset();
    };
    sub.u32(this.importedFunctions.length + this.functions.length);
    for (const f of this.importedFunctions) sub.u32(f.index).name(f.name);
    for (const f of this.functions) sub.u32(f.index).name(f.name);
    subsection(1);
    const named = this.functions.filter((f) => f.localNames.length > 0);
    if (named.length > 0) {
      sub.vector(named, (b, f) => {
        const entries = f.localNames.flatMap((n, i) => (n === undefined ? [] : [[i, n] as const]));
        b.u32(f.index).vector(entries, (c, [i, n]) => c.u32(i).name(n));
      });
      subsection(2);
    }
    const globals = this.globals.filter((g) => g.name !== undefined);
    if (globals.length > 0) {
      sub.vector(globals, (b, g) => b.u32(g.index).name(g.name!));
      subsection(7);
    }
  }
}

function checkPages(what: string, pages: number): void {
  if (!Number.isInteger(pages) || pages < 0 || pages > 65536) {
    throw new RangeError(
      `importMemory: ${what} must be an integer number of 64 KiB pages in [0, 65536], got ${pages}.`,
    );
  }
}

function writeValueType(b: ByteBuffer, type: ValueType): void {
  b.byte(valueTypeCodes[type]);
}

function writeConst(b: ByteBuffer, type: Global["type"], value: Global["init"]): void {
  if (value instanceof Uint8Array) {
    b.byte(Opcode.simdPrefix).u32(SimdOpcode.const).bytes(value);
    return;
  }
  switch (type) {
    case "i32":
      b.byte(Opcode.i32Const).s32(Number(value) | 0);
      return;
    case "i64":
      b.byte(Opcode.i64Const).s64(value);
      return;
    case "f32":
      b.byte(Opcode.f32Const).f32(Number(value));
      return;
    case "f64":
      b.byte(Opcode.f64Const).f64(Number(value));
      return;
  }
}

/** Local declarations: runs of equal types as (count, type) pairs. */
function writeLocals(b: ByteBuffer, locals: readonly ValueType[]): void {
  let runs = 0;
  for (let i = 0; i < locals.length; i++) if (i === 0 || locals[i] !== locals[i - 1]) runs++;
  b.u32(runs);
  for (let i = 0; i < locals.length;) {
    let j = i + 1;
    while (j < locals.length && locals[j] === locals[i]) j++;
    b.u32(j - i).byte(valueTypeCodes[locals[i]!]);
    i = j;
  }
}

/**
 * A readable WebAssembly text rendering of a `ModuleBuilder` (what `jit(f).lower(...).code`
 * shows): WAT in the flat style, one instruction per line, blocks indented, labels named, and the
 * comments attached while building as `;;` lines. It decodes the bytes the builder wrote, so it
 * shows exactly what the engine compiles.
 */
import { ByteReader } from "./encoding.js";
import type { FunctionBuilder } from "./function-builder.js";
import type { ModuleBuilder } from "./module.js";
import {
  AtomicOpcode,
  atomicOpcodes,
  MiscOpcode,
  miscOpcodes,
  memoryOpcodes,
  Opcode,
  plainOpcodes,
  valueTypeCodes,
  type ValueType,
} from "./opcodes.js";
import { SimdOpcode, simdLaneOpcodes, simdMemoryOpcodes, simdOpcodes } from "./simd-opcodes.js";

type Immediate = "none" | "memarg" | "lane";
interface Decoded {
  readonly name: string;
  readonly immediate: Immediate;
  /** Natural alignment (log₂ bytes) of a memory access. */
  readonly align: number;
}

function table(
  entries: Record<string, number | readonly [number, number]>,
  immediate: Immediate,
): Map<number, Decoded> {
  const map = new Map<number, Decoded>();
  for (const [name, value] of Object.entries(entries)) {
    const [code, align] = typeof value === "number" ? [value, 0] : value;
    map.set(code, { name, immediate, align });
  }
  return map;
}

const single = new Map([...table(plainOpcodes, "none"), ...table(memoryOpcodes, "memarg")]);
const simd = new Map([
  ...table(simdOpcodes, "none"),
  ...table(simdMemoryOpcodes, "memarg"),
  ...table(simdLaneOpcodes, "lane"),
]);
const misc = table(miscOpcodes, "none");
const atomic = table(atomicOpcodes, "memarg");
const typeNames = new Map(
  Object.entries(valueTypeCodes).map(([name, code]) => [code, name as ValueType]),
);

/** The text of a whole module: types, imports, globals, exports, then each function. */
export function toText(module: ModuleBuilder): string {
  const names = functionIds(module);
  const lines = ["(module"];
  module.types.forEach((type, i) =>
    lines.push(`  (type (;${i};) (func${signature(type.params, type.results)}))`),
  );
  for (const f of module.importedFunctions) {
    const sig = signature(f.params, f.results);
    lines.push(`  (import ${quote(f.module)} ${quote(f.field)} (func ${names[f.index]}${sig}))`);
  }
  const memory = module.memory;
  if (memory !== undefined) {
    const limits = `${memory.minPages}${memory.maxPages === undefined ? "" : ` ${memory.maxPages}`}`;
    const shared = memory.shared ? " shared" : "";
    lines.push(
      `  (import ${quote(memory.module)} ${quote(memory.name)} (memory (;0;) ${limits}${shared}))`,
    );
  }
  for (const g of module.globals) {
    const type = g.mutable ? `(mut ${g.type})` : g.type;
    const init =
      g.init instanceof Uint8Array
        ? vectorConstant(g.init)
        : `${g.type}.const ${formatNumber(g.type, g.init)}`;
    lines.push(`  (global ${globalId(module, g.index)} ${type} (${init}))`);
  }
  for (const e of module.exports) {
    const target =
      e.kind === "func" ? names[e.index] : e.kind === "global" ? globalId(module, e.index) : "0";
    lines.push(`  (export ${quote(e.name)} (${e.kind} ${target}))`);
  }
  for (const f of module.functions) lines.push(functionToText(module, f, names));
  lines.push(")");
  return lines.join("\n");
}

/** The text of one function of `module`, indented as inside `(module …)`. */
export function functionToText(
  module: ModuleBuilder,
  f: FunctionBuilder,
  names: readonly string[] = functionIds(module),
): string {
  const lines: string[] = [];
  if (f.description !== undefined) {
    for (const line of f.description.split("\n")) lines.push(`  ;; ${line}`.trimEnd());
  }
  const localId = (i: number): string => {
    const name = f.localNames[i];
    return name === undefined ? `$${i < f.params.length ? "p" : "l"}${i}` : `$${identifier(name)}`;
  };
  const params = f.params.map((type, i) => ` (param ${localId(i)} ${type})`).join("");
  const results = f.results.length > 0 ? ` (result ${f.results.join(" ")})` : "";
  lines.push(`  (func ${names[f.index]}${params}${results}`);
  f.locals.forEach((type, k) => lines.push(`    (local ${localId(f.params.length + k)} ${type})`));

  const reader = new ByteReader(f.code.view());
  const labels: string[] = [];
  let counter = 0;
  let comment = 0;
  let indent = "    ";
  const local = (i: number): string => (f.localNames[i] === undefined ? String(i) : localId(i));
  const label = (depth: number): string => labels[labels.length - 1 - depth] ?? String(depth);
  const flushComments = (offset: number): void => {
    while (comment < f.comments.length && f.comments[comment]!.offset <= offset) {
      for (const line of f.comments[comment]!.text.split("\n"))
        lines.push(`${indent};; ${line}`.trimEnd());
      comment++;
    }
  };
  while (!reader.done) {
    flushComments(reader.position);
    const op = reader.byte();
    switch (op) {
      case Opcode.block:
      case Opcode.loop:
      case Opcode.if: {
        const kind = op === Opcode.block ? "block" : op === Opcode.loop ? "loop" : "if";
        const id = `$${kind[0]!.toUpperCase()}${counter++}`;
        const type = reader.byte();
        const result = type === 0x40 ? "" : ` (result ${typeNames.get(type) ?? `type ${type}`})`;
        lines.push(`${indent}${kind} ${id}${result}`);
        labels.push(id);
        indent += "  ";
        break;
      }
      case Opcode.else:
        lines.push(`${indent.slice(2)}else`);
        break;
      case Opcode.end:
        labels.pop();
        indent = indent.slice(2);
        lines.push(`${indent}end`);
        break;
      case Opcode.br:
      case Opcode.brIf:
        lines.push(`${indent}${op === Opcode.br ? "br" : "br_if"} ${label(reader.u32())}`);
        break;
      case Opcode.brTable: {
        const targets = Array.from({ length: reader.u32() + 1 }, () => label(reader.u32()));
        lines.push(`${indent}br_table ${targets.join(" ")}`);
        break;
      }
      case Opcode.call:
        lines.push(`${indent}call ${names[reader.u32()] ?? "?"}`);
        break;
      case Opcode.localGet:
      case Opcode.localSet:
      case Opcode.localTee: {
        const name = op === Opcode.localGet ? "get" : op === Opcode.localSet ? "set" : "tee";
        lines.push(`${indent}local.${name} ${local(reader.u32())}`);
        break;
      }
      case Opcode.globalGet:
      case Opcode.globalSet: {
        const index = reader.u32();
        const init = module.globals[index]?.init;
        // A vector constant from the module's pool shows its value.
        const value = init instanceof Uint8Array ? ` ;; ${vectorConstant(init)}` : "";
        lines.push(
          `${indent}global.${op === Opcode.globalGet ? "get" : "set"} ${globalId(module, index)}${value}`,
        );
        break;
      }
      case Opcode.memorySize:
      case Opcode.memoryGrow:
        reader.byte();
        lines.push(`${indent}memory.${op === Opcode.memorySize ? "size" : "grow"}`);
        break;
      case Opcode.i32Const:
        lines.push(`${indent}i32.const ${reader.s32()}`);
        break;
      case Opcode.i64Const:
        lines.push(`${indent}i64.const ${reader.s64()}`);
        break;
      case Opcode.f32Const:
        lines.push(`${indent}f32.const ${formatNumber("f32", reader.f32())}`);
        break;
      case Opcode.f64Const:
        lines.push(`${indent}f64.const ${formatNumber("f64", reader.f64())}`);
        break;
      case Opcode.miscPrefix:
      case Opcode.simdPrefix:
      case Opcode.atomicPrefix:
        lines.push(indent + prefixed(op, reader));
        break;
      default: {
        const decoded = single.get(op);
        lines.push(
          indent +
            (decoded === undefined ? `unknown 0x${hex(op, 2)}` : instruction(decoded, reader)),
        );
      }
    }
  }
  flushComments(Infinity);
  lines[lines.length - 1] += ")";
  return lines.join("\n");
}

function prefixed(prefix: number, reader: ByteReader): string {
  const code = reader.u32();
  if (prefix === Opcode.miscPrefix) {
    if (code === MiscOpcode.memoryCopy) {
      reader.take(2);
      return "memory.copy";
    }
    if (code === MiscOpcode.memoryFill) {
      reader.byte();
      return "memory.fill";
    }
  }
  if (prefix === Opcode.atomicPrefix && code === AtomicOpcode.fence) {
    reader.byte();
    return "atomic.fence";
  }
  if (prefix === Opcode.simdPrefix && code === SimdOpcode.const)
    return vectorConstant(reader.take(16));
  if (prefix === Opcode.simdPrefix && code === SimdOpcode.shuffle) {
    return `i8x16.shuffle ${Array.from(reader.take(16)).join(" ")}`;
  }
  const decoded = (
    prefix === Opcode.simdPrefix ? simd : prefix === Opcode.miscPrefix ? misc : atomic
  ).get(code);
  if (decoded === undefined) return `unknown 0x${hex(prefix, 2)} ${code}`;
  return instruction(decoded, reader);
}

function instruction(decoded: Decoded, reader: ByteReader): string {
  switch (decoded.immediate) {
    case "none":
      return decoded.name;
    case "lane":
      return `${decoded.name} ${reader.byte()}`;
    case "memarg": {
      const align = reader.u32();
      const offset = reader.u32();
      return `${decoded.name}${offset === 0 ? "" : ` offset=${offset}`} align=${2 ** align}`;
    }
  }
}

/**
 * `v128.const` in the shape whose lanes read as plain numbers (`f64x2 0.5 -2`, `f32x4 1 1 1 1`),
 * else as four hexadecimal i32 lanes. The bytes are the same whichever shape is shown.
 */
function vectorConstant(bytes: Uint8Array): string {
  const view = new DataView(bytes.slice().buffer);
  const plain = (v: number, smallestNormal: number, text: string): boolean =>
    v === 0 || (Number.isFinite(v) && Math.abs(v) >= smallestNormal && text.length <= 10);
  const f64 = [view.getFloat64(0, true), view.getFloat64(8, true)];
  const f64Text = f64.map((v) => formatNumber("f64", v));
  if (f64.every((v, i) => plain(v, 2 ** -1022, f64Text[i]!)) && f64.some((v) => v !== 0)) {
    return `v128.const f64x2 ${f64Text.join(" ")}`;
  }
  const f32 = [0, 4, 8, 12].map((at) => view.getFloat32(at, true));
  const f32Text = f32.map((v) => formatNumber("f32", v));
  if (f32.every((v, i) => plain(v, 2 ** -126, f32Text[i]!)) && f32.some((v) => v !== 0)) {
    return `v128.const f32x4 ${f32Text.join(" ")}`;
  }
  const lanes = [0, 4, 8, 12].map((at) => `0x${hex(view.getUint32(at, true), 8)}`);
  return `v128.const i32x4 ${lanes.join(" ")}`;
}

function hex(value: number, digits: number): string {
  return value.toString(16).padStart(digits, "0");
}

function signature(params: readonly ValueType[], results: readonly ValueType[]): string {
  return (
    (params.length > 0 ? ` (param ${params.join(" ")})` : "") +
    (results.length > 0 ? ` (result ${results.join(" ")})` : "")
  );
}

function quote(text: string): string {
  return JSON.stringify(text);
}

/** A WAT identifier character set: printable ASCII except space, quotes, `,;[]{}()`. */
function identifier(name: string): string {
  return name.replace(/[^0-9A-Za-z!#$%&'*+\-./:<=>?@\\^_`|~]/g, "_") || "_";
}

/** `$name` of every function by index, made unique. */
function functionIds(module: ModuleBuilder): string[] {
  const seen = new Set<string>();
  const count = module.importedFunctions.length + module.functions.length;
  return Array.from({ length: count }, (_, i) => {
    let id = `$${identifier(module.functionName(i))}`;
    if (seen.has(id)) id = `${id}_${i}`;
    seen.add(id);
    return id;
  });
}

function globalId(module: ModuleBuilder, index: number): string {
  const name = module.globals[index]?.name;
  return name === undefined ? `$g${index}` : `$${identifier(name)}`;
}

/** A constant as WAT writes it: shortest round-tripping decimal, `nan`, `inf`. */
function formatNumber(type: ValueType, value: number | bigint): string {
  if (typeof value === "bigint" || type === "i32" || type === "i64") return String(value);
  if (Number.isNaN(value)) return "nan";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  if (Object.is(value, -0)) return "-0";
  if (type === "f32") {
    const rounded = Math.fround(value);
    for (let digits = 1; digits <= 9; digits++) {
      const text = String(Number(rounded.toPrecision(digits)));
      if (Math.fround(Number(text)) === rounded) return text;
    }
  }
  return String(value);
}

/**
 * Models in the safetensors format (https://github.com/huggingface/safetensors): an 8-byte
 * little-endian header length, a JSON header naming each tensor's dtype, shape and byte range,
 * then the raw little-endian data. Tensors are named by their path in the model
 * (`layers.0.weight`), so other tools can read the files, and a file loads back into a model of
 * the same structure.
 */
import { NDArray } from "../core/array.js";
import type { DType, TypedArray } from "../core/dtype.js";
import { FluxionError } from "../core/errors.js";
import * as tree from "../core/tree.js";
import * as np from "../numpy/index.js";

/** A file or buffer that is not a model of the expected structure, or cannot be read or written. */
export class SerializationError extends FluxionError {}

const codes: Record<DType, string> = {
  float32: "F32",
  float64: "F64",
  int32: "I32",
  uint32: "U32",
  bool: "BOOL",
};
const dtypesByCode = Object.fromEntries(Object.entries(codes).map(([d, c]) => [c, d])) as Record<
  string,
  DType
>;

/** Dotted names of a path: `["layers"][0].weight` → `layers.0.weight`. */
function nameOf(path: tree.KeyPath): string {
  return path
    .map((entry) =>
      entry.kind === "key" ? entry.key : entry.kind === "index" ? String(entry.index) : entry.name,
    )
    .join(".");
}

function arraysOf(operation: string, model: unknown): [string, NDArray][] {
  const [pairs] = tree.flattenWithPath(model);
  return pairs.map(([path, leaf]) => {
    if (!(leaf instanceof NDArray)) {
      throw new SerializationError(
        operation,
        `every leaf must be an array; ${nameOf(path) || "the root"} is ${typeof leaf}.`,
      );
    }
    return [nameOf(path), leaf];
  });
}

/** The model's arrays as safetensors bytes (`metadata` goes in the header's `__metadata__`). */
export function serialize(model: unknown, metadata: Record<string, string> = {}): Uint8Array {
  const tensors = arraysOf("nn.serialize", model);
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  const blocks: Uint8Array[] = [];
  for (const [name, x] of tensors) {
    const data = x.toTypedArray();
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    header[name] = {
      dtype: codes[x.dtype],
      shape: x.shape,
      data_offsets: [offset, offset + bytes.length],
    };
    blocks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so that the data starts 8-byte aligned.
  json += " ".repeat((8 - ((8 + new TextEncoder().encode(json).length) % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const block of blocks) {
    out.set(block, at);
    at += block.length;
  }
  return out;
}

interface Entry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** The header and data section of safetensors bytes, checked. */
function parse(
  operation: string,
  bytes: Uint8Array,
  source: string,
): [Record<string, Entry>, Uint8Array] {
  const fail = (why: string): never => {
    throw new SerializationError(operation, `${source} is not a valid safetensors file: ${why}.`);
  };
  if (bytes.length < 8) fail(`it has ${bytes.length} bytes, fewer than the 8 of the header length`);
  const size = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (8 + size > bytes.length) fail(`the header claims ${size} bytes but the file is truncated`);
  let header: unknown;
  try {
    header = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + size)),
    );
  } catch {
    fail("the header is not JSON");
  }
  if (header === null || typeof header !== "object" || Array.isArray(header))
    fail("the header is not an object");
  const data = bytes.subarray(8 + size);
  const entries: Record<string, Entry> = {};
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") continue;
    const e = value as Entry;
    const [begin, end] = Array.isArray(e?.data_offsets) ? e.data_offsets : [NaN, NaN];
    if (!(e?.dtype in dtypesByCode))
      fail(`tensor ${name} has an unsupported dtype ${JSON.stringify(e?.dtype)}`);
    if (!Array.isArray(e.shape) || e.shape.some((d) => !Number.isInteger(d) || d < 0))
      fail(`tensor ${name} has a bad shape`);
    if (!Number.isInteger(begin) || !Number.isInteger(end) || begin > end || end > data.length)
      fail(
        `tensor ${name}'s bytes [${begin}, ${end}) lie outside the ${data.length} data bytes (truncated?)`,
      );
    entries[name] = e;
  }
  return [entries, data];
}

/**
 * A model like `like` (same structure, shapes and dtypes) with the arrays of safetensors `bytes`.
 */
export function deserialize<T>(bytes: Uint8Array, like: T, source = "the buffer"): T {
  const operation = "nn.deserialize";
  const [entries, data] = parse(operation, bytes, source);
  const [, treedef] = tree.flatten(like);
  const wanted = arraysOf(operation, like);
  const arrays = wanted.map(([name, x]) => {
    const e = entries[name];
    if (e === undefined) {
      throw new SerializationError(
        operation,
        `${source} has no tensor ${name} (it has: ${Object.keys(entries).join(", ") || "none"}).`,
      );
    }
    const dtype = dtypesByCode[e.dtype]!;
    if (dtype !== x.dtype || e.shape.join() !== x.shape.join()) {
      throw new SerializationError(
        operation,
        `tensor ${name} in ${source} is ${dtype}[${e.shape.join(", ")}] but the model has ${x.dtype}[${x.shape.join(", ")}].`,
      );
    }
    const [begin, end] = e.data_offsets;
    // A fresh, aligned copy (a Node Buffer's `slice` shares a pooled buffer).
    const copy = new Uint8Array(end - begin);
    copy.set(data.subarray(begin, end));
    const size = e.shape.reduce((n, d) => n * d, 1);
    const item = { float32: 4, float64: 8, int32: 4, uint32: 4, bool: 1 }[dtype];
    if (end - begin !== size * item) {
      throw new SerializationError(
        operation,
        `tensor ${name} in ${source} has ${end - begin} bytes for ${size} elements.`,
      );
    }
    const typed: TypedArray =
      dtype === "float32"
        ? new Float32Array(copy.buffer, 0, size)
        : dtype === "float64"
          ? new Float64Array(copy.buffer, 0, size)
          : dtype === "int32"
            ? new Int32Array(copy.buffer, 0, size)
            : dtype === "uint32"
              ? new Uint32Array(copy.buffer, 0, size)
              : new Uint8Array(copy.buffer, 0, size);
    const array = dtype === "bool" ? np.array(Array.from(typed, (v) => v !== 0)) : np.array(typed);
    return array.reshape([...e.shape]);
  });
  return tree.unflatten(treedef, arrays) as T;
}

interface FsModule {
  readFileSync(path: string): Uint8Array;
  writeFileSync(path: string, data: Uint8Array): void;
  renameSync(from: string, to: string): void;
  rmSync(path: string, options: { force: boolean }): void;
}

function fs(operation: string): FsModule {
  const process = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } })
    .process;
  const module = process?.getBuiltinModule?.("node:fs") as FsModule | undefined;
  if (module === undefined) {
    throw new SerializationError(
      operation,
      "needs Node.js's file system; use nn.serialize / nn.deserialize with bytes elsewhere.",
    );
  }
  return module;
}

/**
 * Writes the model's arrays to `path` in the safetensors format. The file is written beside the
 * target and renamed into place, so a failure never leaves a half-written model behind.
 */
export function save(path: string, model: unknown, metadata: Record<string, string> = {}): void {
  const files = fs("nn.save");
  const bytes = serialize(model, metadata);
  const temporary = `${path}.tmp-${Math.random().toString(36).slice(2)}`;
  try {
    files.writeFileSync(temporary, bytes);
    files.renameSync(temporary, path);
  } catch (error) {
    files.rmSync(temporary, { force: true });
    throw new SerializationError("nn.save", `could not write ${path}: ${(error as Error).message}`);
  }
}

/** Reads a model saved with `save` (or any safetensors file with the same tensor names). */
export function load<T>(path: string, like: T): T {
  const files = fs("nn.load");
  let bytes: Uint8Array;
  try {
    bytes = files.readFileSync(path);
  } catch (error) {
    throw new SerializationError("nn.load", `could not read ${path}: ${(error as Error).message}`);
  }
  return deserialize(bytes, like, path);
}

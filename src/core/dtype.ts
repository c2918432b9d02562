/**
 * Data types and JAX's type-promotion lattice, with weak types for JS numbers.
 */
import { DtypeError } from "./errors.js";

/** The element types fluxion arrays can hold. */
export type DType = "float32" | "float64" | "int32" | "uint32" | "bool";

/** Every dtype, in a stable order (used for tables and tests). */
export const dtypes: readonly DType[] = ["bool", "int32", "uint32", "float32", "float64"];

/** The typed array that stores each dtype. `bool` is stored as 0/1 bytes. */
export type TypedArray = Float32Array | Float64Array | Int32Array | Uint32Array | Uint8Array;

export function isDType(x: unknown): x is DType {
  return typeof x === "string" && (dtypes as readonly string[]).includes(x);
}

/** `dtype` if it names a dtype, else a `DtypeError` naming `operation`. */
export function checkDTypeName(operation: string, dtype: unknown): DType {
  if (!isDType(dtype)) {
    throw new DtypeError(
      operation,
      `unknown dtype ${JSON.stringify(dtype)}; use "float32", "float64", "int32", "uint32" or "bool".`,
    );
  }
  return dtype;
}

export function isFloating(dtype: DType): boolean {
  return dtype === "float32" || dtype === "float64";
}

export function isInteger(dtype: DType): boolean {
  return dtype === "int32" || dtype === "uint32";
}

/** Allocates zeroed storage for `size` elements of `dtype`. */
export function allocate(dtype: DType, size: number): TypedArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(size);
    case "float64":
      return new Float64Array(size);
    case "int32":
      return new Int32Array(size);
    case "uint32":
      return new Uint32Array(size);
    case "bool":
      return new Uint8Array(size);
  }
}

/** Node's `Buffer.allocUnsafeSlow`, where it exists (storage that is not zeroed first). */
const allocUnsafeSlow = (
  globalThis as { Buffer?: { allocUnsafeSlow?: (bytes: number) => Uint8Array } }
).Buffer?.allocUnsafeSlow;

/** Below this many bytes, zeroed storage costs about the same. */
const uninitializedMinimumBytes = 64 * 1024;

/**
 * Storage for `size` elements of `dtype` that the caller overwrites entirely before anyone reads
 * it. Large blocks come unzeroed from Node's allocator, which reuses freed memory instead of
 * faulting in fresh pages (a 4 MB result costs 0.2 ms instead of 1 ms); elsewhere it is
 * `allocate`.
 */
export function allocateUninitialized(dtype: DType, size: number): TypedArray {
  const bytes = size * itemSize(dtype);
  if (allocUnsafeSlow === undefined || bytes < uninitializedMinimumBytes) {
    return allocate(dtype, size);
  }
  const buffer = allocUnsafeSlow(bytes).buffer;
  switch (dtype) {
    case "float32":
      return new Float32Array(buffer, 0, size);
    case "float64":
      return new Float64Array(buffer, 0, size);
    case "int32":
      return new Int32Array(buffer, 0, size);
    case "uint32":
      return new Uint32Array(buffer, 0, size);
    case "bool":
      return new Uint8Array(buffer, 0, size);
  }
}

/** Size in bytes of one element. */
export function itemSize(dtype: DType): number {
  return dtype === "float64" ? 8 : dtype === "bool" ? 1 : 4;
}

/** Converts a JS number to the value `dtype` stores (wrapping integers like a cast in C). */
export function castScalar(value: number, dtype: DType): number {
  switch (dtype) {
    case "float32":
      return Math.fround(value);
    case "float64":
      return value;
    case "int32":
      return Number.isFinite(value) ? Math.trunc(value) | 0 : 0;
    case "uint32":
      return Number.isFinite(value) ? Math.trunc(value) >>> 0 : 0;
    case "bool":
      return value !== 0 ? 1 : 0;
  }
}

/**
 * A node of the promotion lattice: a dtype, possibly weak. A weak type is what a JS number gets:
 * it takes the other operand's dtype, as in JAX (`float32 array + 2` stays float32).
 */
export interface TypeNode {
  dtype: DType;
  weak: boolean;
}

// The lattice, as JAX draws it restricted to fluxion's dtypes:
//   bool → i* → {int32, uint32};  {int32, uint32} → f* → float32 → float64;  i* → f*.
// `i*` is a weak int32 and `f*` a weak float32. int32 ⊔ uint32 has no 32-bit home (JAX's is int64);
// like JAX without 64-bit integers, fluxion takes int32.
type LatticeNode = "bool" | "i*" | "int32" | "uint32" | "f*" | "float32" | "float64";

const parents: Record<LatticeNode, LatticeNode[]> = {
  bool: ["i*"],
  "i*": ["int32", "uint32"],
  int32: ["f*"],
  uint32: ["f*"],
  "f*": ["float32"],
  float32: ["float64"],
  float64: [],
};

function upperSet(node: LatticeNode): Set<LatticeNode> {
  const seen = new Set<LatticeNode>([node]);
  const stack = [node];
  while (stack.length > 0) {
    for (const p of parents[stack.pop()!]) {
      if (!seen.has(p)) {
        seen.add(p);
        stack.push(p);
      }
    }
  }
  return seen;
}

const order: LatticeNode[] = ["bool", "i*", "int32", "uint32", "f*", "float32", "float64"];
const uppers = new Map(order.map((n) => [n, upperSet(n)]));

function toNode(t: TypeNode): LatticeNode {
  if (t.weak) {
    if (t.dtype === "bool") return "bool";
    return isFloating(t.dtype) ? "f*" : "i*";
  }
  return t.dtype;
}

function fromNode(n: LatticeNode): TypeNode {
  if (n === "i*") return { dtype: "int32", weak: true };
  if (n === "f*") return { dtype: "float32", weak: true };
  return { dtype: n, weak: false };
}

function join(a: LatticeNode, b: LatticeNode): LatticeNode {
  if (a === b) return a;
  if ((a === "int32" && b === "uint32") || (a === "uint32" && b === "int32")) return "int32";
  const ua = uppers.get(a)!;
  const ub = uppers.get(b)!;
  // The least upper bound: the first common upper node in topological order.
  for (const n of order) if (ua.has(n) && ub.has(n)) return n;
  return "float64";
}

/** Joins type nodes in the promotion lattice. A weak float meeting float64 gives float64, etc. */
export function promoteTypeNodes(...types: TypeNode[]): TypeNode {
  if (types.length === 0) throw new Error("promoteTypeNodes needs at least one type");
  let node = toNode(types[0]!);
  for (let i = 1; i < types.length; i++) node = join(node, toNode(types[i]!));
  const result = fromNode(node);
  // A weak result keeps the width of weak float64 inputs (weak f64 + weak f64 stays f64).
  if (
    result.weak &&
    result.dtype === "float32" &&
    types.some((t) => t.weak && t.dtype === "float64")
  ) {
    return { dtype: "float64", weak: true };
  }
  return result;
}

/** The dtype two or more strong dtypes promote to (`np.promoteTypes`). */
export function promoteTypes(...types: DType[]): DType {
  types.forEach((t) => checkDTypeName("np.promoteTypes", t));
  return promoteTypeNodes(...types.map((dtype) => ({ dtype, weak: false }))).dtype;
}

/** The dtype of a float result from an input dtype (`int32 → float32`, `float64 → float64`). */
export function toFloatDType(dtype: DType): DType {
  return dtype === "float64" ? "float64" : "float32";
}

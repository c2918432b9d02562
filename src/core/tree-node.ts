/**
 * Internals of `tree.ts`: the nodes a `TreeDef` is made of, the registry of container classes,
 * and structural equality. Users import from `tree.ts`, which re-exports the public types.
 */

/** One step of a path from a tree's root to a leaf; see `keystr`. */
export type PathEntry =
  | { readonly kind: "key"; readonly key: string }
  | { readonly kind: "index"; readonly index: number }
  | { readonly kind: "attr"; readonly name: string };

/** The path from a tree's root to one of its nodes. */
export type KeyPath = readonly PathEntry[];

/** Decides, for every node (the root included), whether to treat it as a leaf. */
export type IsLeaf = (node: unknown) => boolean;

/** The keys a registered class's `flatten` may give its children. */
export type ChildKeys = readonly (string | number)[];

/**
 * How to take apart and rebuild instances of a registered class. `flatten` returns the
 * children (subtrees), auxiliary data (static, compared with deep equality; part of the
 * structure) and optionally one key per child: a string key shows in paths as `.name`, a number
 * as `[i]`.
 */
export interface Registration<T> {
  flatten(instance: T): readonly [children: readonly unknown[], auxData: unknown, keys?: ChildKeys];
  unflatten(auxData: unknown, children: unknown[]): T;
}

export interface LeafNode {
  readonly kind: "leaf";
  readonly numLeaves: 1;
}
export interface EmptyNode {
  readonly kind: "null" | "undefined";
  readonly numLeaves: 0;
}
export interface ArrayNode {
  readonly kind: "array";
  readonly children: readonly Node[];
  readonly numLeaves: number;
}
export interface ObjectNode {
  readonly kind: "object";
  readonly keys: readonly string[];
  readonly nullPrototype: boolean;
  readonly children: readonly Node[];
  readonly numLeaves: number;
}
export interface CustomNode {
  readonly kind: "custom";
  readonly prototype: object;
  readonly registration: Registration<unknown>;
  readonly auxData: unknown;
  readonly keys: ChildKeys | undefined;
  readonly children: readonly Node[];
  readonly numLeaves: number;
}
export type ContainerNode = ArrayNode | ObjectNode | CustomNode;
export type Node = LeafNode | EmptyNode | ContainerNode;

export const leafNode: LeafNode = { kind: "leaf", numLeaves: 1 };
export const nullNode: EmptyNode = { kind: "null", numLeaves: 0 };
export const undefinedNode: EmptyNode = { kind: "undefined", numLeaves: 0 };

/** Whether `node` has children (is not a leaf, `null` or `undefined`). */
export function isContainerNode(node: Node): node is ContainerNode {
  return node.kind === "array" || node.kind === "object" || node.kind === "custom";
}

/** The path entry of the `i`th child of `node`. */
export function childEntry(node: ContainerNode, i: number): PathEntry {
  if (node.kind === "array") return { kind: "index", index: i };
  if (node.kind === "object") return { kind: "key", key: node.keys[i]! };
  return customEntry(node.keys, i);
}

/** The path entry of the `i`th child of a registered class's instance with these keys. */
export function customEntry(keys: ChildKeys | undefined, i: number): PathEntry {
  const key = keys === undefined ? i : keys[i]!;
  return typeof key === "string" ? { kind: "attr", name: key } : { kind: "index", index: key };
}

// ---------------------------------------------------------------------------------------------
// Registry

const registry = new Map<object, Registration<unknown>>();

/** Records `registration` for instances of `prototype`; `false` if it already has one. */
export function addRegistration(prototype: object, registration: Registration<unknown>): boolean {
  if (registry.has(prototype)) return false;
  registry.set(prototype, registration);
  return true;
}

/** The registration of `prototype` or of the nearest prototype in its chain that has one. */
export function findRegistration(prototype: object): Registration<unknown> | undefined {
  for (let p: object | null = prototype; p !== null && p !== Object.prototype;) {
    const found = registry.get(p);
    if (found !== undefined) return found;
    p = Object.getPrototypeOf(p) as object | null;
  }
  return undefined;
}

/** Whether `x` is a plain object (prototype `Object.prototype` or `null`). */
export function isPlainObject(x: object): x is Record<string, unknown> {
  const prototype = Object.getPrototypeOf(x) as object | null;
  return prototype === Object.prototype || prototype === null;
}

/** Whether the array `x` is an instance of a registered `Array` subclass (so not an array node). */
export function isRegisteredArray(x: readonly unknown[]): boolean {
  const prototype = Object.getPrototypeOf(x) as object | null;
  return prototype !== null && findRegistration(prototype) !== undefined;
}

/** Whether `x` is a container: a plain object, an array or an instance of a registered class. */
export function isContainer(x: unknown): x is object {
  if (typeof x !== "object" || x === null) return false;
  const prototype = Object.getPrototypeOf(x) as object | null;
  return (
    prototype === null ||
    prototype === Object.prototype ||
    Array.isArray(x) ||
    findRegistration(prototype) !== undefined
  );
}

// ---------------------------------------------------------------------------------------------
// Equality

/** Whether two structures are the same (see `TreeDef.equals`). */
export function nodesEqual(a: Node, b: Node): boolean {
  if (a === b) return true;
  if (a.kind !== b.kind || a.numLeaves !== b.numLeaves) return false;
  if (!isContainerNode(a)) return true;
  const other = b as ContainerNode;
  if (a.children.length !== other.children.length) return false;
  if (a.kind === "object") {
    const keys = (other as ObjectNode).keys;
    if (!a.keys.every((key, i) => keys[i] === key)) return false;
  } else if (a.kind === "custom") {
    const o = other as CustomNode;
    if (a.prototype !== o.prototype || !auxEqual(a.auxData, o.auxData)) return false;
    if (!auxEqual(a.keys, o.keys)) return false;
  }
  return a.children.every((child, i) => nodesEqual(child, other.children[i]!));
}

/**
 * Deep equality of auxiliary data: arrays and plain objects by content, anything else by
 * identity (`Object.is`). Depth-limited so cyclic data cannot recurse forever.
 */
export function auxEqual(a: unknown, b: unknown, depth = 0): boolean {
  if (Object.is(a, b)) return true;
  if (depth > 32 || typeof a !== "object" || typeof b !== "object" || a === null || b === null) {
    return false;
  }
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => auxEqual(x, b[i], depth + 1));
  }
  if (!isPlainObject(a) || !isPlainObject(b)) return false;
  const keysA = Object.keys(a);
  if (keysA.length !== Object.keys(b).length) return false;
  return keysA.every((key) => Object.hasOwn(b, key) && auxEqual(a[key], b[key], depth + 1));
}

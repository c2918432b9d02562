/**
 * Internals of `tree.ts`: text for paths (`keystr`), structures (`TreeDef.toString`) and the
 * values that error messages mention.
 */
import {
  findRegistration,
  isPlainObject,
  isRegisteredArray,
  type KeyPath,
  type Node,
} from "./tree-node.js";

const identifier = /^[A-Za-z_$][\w$]*$/;

/**
 * A path as text, JAX-style: `["name"]` for object keys, `[0]` for indices, `.name` for the
 * named children (attributes) of registered classes.
 *
 * @param path entries from `tree.flattenWithPath` or `tree.mapWithPath`.
 * @returns the text (`""` for the root).
 * @example
 * tree.keystr([{ kind: "key", key: "layers" }, { kind: "index", index: 0 }, { kind: "attr", name: "weight" }]);
 * // '["layers"][0].weight'
 */
export function keystr(path: KeyPath): string {
  let out = "";
  for (const entry of path) {
    if (entry.kind === "key") out += `[${JSON.stringify(entry.key)}]`;
    else if (entry.kind === "index") out += `[${entry.index}]`;
    else out += `.${entry.name}`;
  }
  return out;
}

/** `` `path` `` for a path's text, or "the root" for the empty path. */
export function pathOrRoot(path: string): string {
  return path === "" ? "the root" : `\`${path}\``;
}

/** A structure as `TreeDef.toString` prints it, e.g. `PyTreeDef({a: *, b: [*, null]})`. */
export function formatTreeDef(root: Node): string {
  return `PyTreeDef(${formatNode(root)})`;
}

function formatNode(node: Node): string {
  switch (node.kind) {
    case "leaf":
      return "*";
    case "null":
    case "undefined":
      return node.kind;
    case "array":
      return `[${node.children.map(formatNode).join(", ")}]`;
    case "object": {
      const entries = node.keys.map(
        (key, i) => `${formatKey(key)}: ${formatNode(node.children[i]!)}`,
      );
      return `{${entries.join(", ")}}`;
    }
    case "custom": {
      const aux = node.auxData === undefined ? "" : `[${formatValue(node.auxData, 2)}]`;
      const children = node.children.map((child, i) => {
        const key = node.keys?.[i];
        return typeof key === "string"
          ? `${formatKey(key)}=${formatNode(child)}`
          : formatNode(child);
      });
      return `${className(node.prototype)}${aux}(${children.join(", ")})`;
    }
  }
}

function formatKey(key: string): string {
  return identifier.test(key) ? key : JSON.stringify(key);
}

/** A short, safe printout of a value (auxiliary data, mostly) for messages. */
export function formatValue(x: unknown, depth: number): string {
  let text: string;
  if (typeof x === "string") text = JSON.stringify(x);
  else if (typeof x === "function") text = `<function ${x.name || "anonymous"}>`;
  else if (typeof x !== "object" || x === null) text = String(x);
  else if (depth <= 0) text = Array.isArray(x) ? "[…]" : "{…}";
  else if (Array.isArray(x)) text = `[${x.map((v) => formatValue(v, depth - 1)).join(", ")}]`;
  else if (isPlainObject(x)) {
    const entries = Object.keys(x).map((k) => `${formatKey(k)}: ${formatValue(x[k], depth - 1)}`);
    text = `{${entries.join(", ")}}`;
  } else text = `<${className(Object.getPrototypeOf(x) as object | null)}>`;
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}

/** The name of the class whose prototype this is, or "anonymous class". */
export function className(prototype: object | null): string {
  const ctor: unknown =
    prototype === null ? undefined : (prototype as { constructor?: unknown }).constructor;
  return typeof ctor === "function" && ctor.name !== "" ? ctor.name : "anonymous class";
}

/** What kind of container `x` is: "array", "object" or "Name instance". */
export function describeKind(x: object): string {
  if (Array.isArray(x)) return "array";
  return isPlainObject(x)
    ? "object"
    : `${className(Object.getPrototypeOf(x) as object | null)} instance`;
}

/** What a value is, for messages: "an array of length 3", "the number 2", … */
export function describe(x: unknown): string {
  if (x === null || x === undefined) return String(x);
  switch (typeof x) {
    case "number":
    case "boolean":
    case "bigint":
      return `the ${typeof x} ${String(x)}`;
    case "string":
      return `the string ${formatValue(x, 0)}`;
    case "symbol":
      return `the symbol ${String(x)}`;
    case "function":
      return `the function ${x.name || "(anonymous)"}`;
    default:
      break;
  }
  if (Array.isArray(x) && !isRegisteredArray(x)) return `an array of length ${x.length}`;
  if (isPlainObject(x)) return `an object with keys {${Object.keys(x).join(", ")}}`;
  const prototype = Object.getPrototypeOf(x) as object | null;
  const registered = prototype !== null && findRegistration(prototype) !== undefined;
  return `an instance of ${className(prototype)}${registered ? "" : " (a leaf)"}`;
}

/** A description of how a node of `x` fails to match: "at `path`, expected … but got …". */
export function mismatch(path: KeyPath, expected: string, x: unknown, note?: string): string {
  const got = note === undefined ? describe(x) : `${describe(x)} (${note})`;
  return `at ${pathOrRoot(keystr(path))}, expected ${expected} but got ${got}`;
}

/** How the actual keys differ from the expected ones ("missing b; unexpected c"), if they do. */
export function compareKeys(
  expected: readonly string[],
  actual: readonly string[],
): string | undefined {
  if (expected.length === actual.length && expected.every((key, i) => actual[i] === key)) {
    return undefined;
  }
  const actualSet = new Set(actual);
  const expectedSet = new Set(expected);
  const missing = expected.filter((key) => !actualSet.has(key));
  const extra = actual.filter((key) => !expectedSet.has(key));
  if (missing.length === 0 && extra.length === 0) return undefined; // same keys, other order
  const parts: string[] = [];
  if (missing.length > 0) parts.push(`missing ${missing.join(", ")}`);
  if (extra.length > 0) parts.push(`unexpected ${extra.join(", ")}`);
  return parts.join("; ");
}

/**
 * Internals of `tree.ts`: the walks that take trees apart into leaves and a structure, cut
 * them at another structure's leaves, and rebuild them.
 */
import { TreeError } from "./errors.js";
import {
  className,
  compareKeys,
  describe,
  describeKind,
  formatTreeDef,
  formatValue,
  keystr,
  mismatch,
  pathOrRoot,
} from "./tree-format.js";
import {
  auxEqual,
  childEntry,
  customEntry,
  findRegistration,
  isContainer,
  isContainerNode,
  isPlainObject,
  isRegisteredArray,
  leafNode,
  nullNode,
  undefinedNode,
  type ChildKeys,
  type IsLeaf,
  type KeyPath,
  type Node,
  type PathEntry,
  type Registration,
} from "./tree-node.js";

// Thrown inside the recursion and turned into a TreeError at the top of the walk, so the error's
// stack (and so its user call site) is short.
class TreeProblem {
  constructor(readonly detail: string) {}
}
const cycleFound = new TreeProblem("cycle");

function rethrow(operation: string, e: unknown): never {
  if (e instanceof TreeProblem) throw new TreeError(operation, `${e.detail}.`);
  throw e;
}

/**
 * The leaves of `tree` (depth first, left to right) and its structure; throws a `TreeError`
 * naming `operation` for a reference cycle or a broken registered `flatten`.
 */
export function flattenTree(
  operation: string,
  tree: unknown,
  isLeaf: IsLeaf | undefined,
): [unknown[], Node] {
  try {
    return walk(tree, isLeaf);
  } catch (e) {
    return rethrow(operation, e);
  }
}

/** `tree`'s structure as text, for messages; never throws for a cycle. */
export function structureText(tree: unknown): string {
  try {
    return formatTreeDef(walk(tree, undefined)[1]);
  } catch (e) {
    if (e instanceof TreeProblem) return "(no structure: it contains a reference cycle)";
    throw e;
  }
}

function walk(tree: unknown, isLeaf: IsLeaf | undefined): [unknown[], Node] {
  const leaves: unknown[] = [];
  // The containers on the way from the root to the current node.
  const visiting = new Set<object>();

  const visitChildren = (container: object, values: readonly unknown[]): [Node[], number] => {
    if (visiting.has(container)) throw cycleFound;
    visiting.add(container);
    // A loop, not `map`, so that holes in sparse arrays count as `undefined`.
    const children = new Array<Node>(values.length);
    let numLeaves = 0;
    for (let i = 0; i < values.length; i++) {
      children[i] = visit(values[i]);
      numLeaves += children[i]!.numLeaves;
    }
    visiting.delete(container);
    return [children, numLeaves];
  };

  const visit = (x: unknown): Node => {
    if (isLeaf?.(x)) {
      leaves.push(x);
      return leafNode;
    }
    if (x === null) return nullNode;
    if (x === undefined) return undefinedNode;
    if (typeof x !== "object") {
      leaves.push(x);
      return leafNode;
    }
    const prototype = Object.getPrototypeOf(x) as object | null;
    if (prototype === Object.prototype || prototype === null) {
      const keys = Object.keys(x);
      const values = keys.map((key) => (x as Record<string, unknown>)[key]);
      const [children, numLeaves] = visitChildren(x, values);
      return { kind: "object", keys, nullPrototype: prototype === null, children, numLeaves };
    }
    const registration = findRegistration(prototype);
    if (registration !== undefined) {
      const [values, auxData, keys] = callFlatten(registration, x, prototype);
      const [children, numLeaves] = visitChildren(x, values);
      return { kind: "custom", prototype, registration, auxData, keys, children, numLeaves };
    }
    if (Array.isArray(x)) {
      const [children, numLeaves] = visitChildren(x, x);
      return { kind: "array", children, numLeaves };
    }
    leaves.push(x);
    return leafNode;
  };

  try {
    return [leaves, visit(tree)];
  } catch (e) {
    if (e === cycleFound) throw new TreeProblem(describeCycle(tree, isLeaf));
    throw e;
  }
}

function callFlatten(
  registration: Registration<unknown>,
  instance: object,
  prototype: object,
): [readonly unknown[], unknown, ChildKeys | undefined] {
  const out: unknown = registration.flatten(instance);
  const name = className(prototype);
  if (!Array.isArray(out) || !Array.isArray(out[0])) {
    throw new TreeProblem(
      `the flatten function registered for ${name} returned ${describe(out)}; it must return ` +
        `[children, auxData] or [children, auxData, keys] with children an array`,
    );
  }
  const children = out[0] as readonly unknown[];
  const keys: unknown = out[2];
  if (keys !== undefined && (!Array.isArray(keys) || keys.length !== children.length)) {
    throw new TreeProblem(
      `the flatten function registered for ${name} returned ${children.length} children but ` +
        `keys ${describe(keys)}; give one string or number key per child, or no keys`,
    );
  }
  return [children, out[1], keys as ChildKeys | undefined];
}

// The slow walk, with paths, that runs only to explain a cycle the fast walk found.
function describeCycle(tree: unknown, isLeaf: IsLeaf | undefined): string {
  const ancestors = new Map<object, string>();
  const visit = (x: unknown, path: string): string | undefined => {
    if (isLeaf?.(x) || !isContainer(x)) return undefined;
    const first = ancestors.get(x);
    if (first !== undefined) {
      return (
        `the tree contains a reference cycle: the ${describeKind(x)} at ${pathOrRoot(first)} is ` +
        `reached again at ${pathOrRoot(path)}. A pytree must be a finite tree; remove the ` +
        `back-reference (keep an index or id instead), or make that node a leaf with isLeaf`
      );
    }
    ancestors.set(x, path);
    const [children, entries] = childrenWithPaths(x);
    for (let i = 0; i < children.length; i++) {
      const found = visit(children[i], path + keystr([entries[i]!]));
      if (found !== undefined) return found;
    }
    ancestors.delete(x);
    return undefined;
  };
  return visit(tree, "") ?? "the tree contains a reference cycle";
}

function childrenWithPaths(x: object): [readonly unknown[], PathEntry[]] {
  if (isPlainObject(x)) {
    const keys = Object.keys(x);
    return [keys.map((key) => x[key]), keys.map((key) => ({ kind: "key", key }))];
  }
  const prototype = Object.getPrototypeOf(x) as object;
  const registration = findRegistration(prototype);
  if (registration !== undefined) {
    const [children, , keys] = callFlatten(registration, x, prototype);
    return [children, children.map((_, i) => customEntry(keys, i))];
  }
  const array = x as readonly unknown[];
  return [array, Array.from(array, (_, index) => ({ kind: "index", index }))];
}

/**
 * The subtrees of `x` at the leaves of `root` (JAX's `flatten_up_to`), or, if `x` does not have
 * `root` as a prefix, a description of the first mismatch and its path.
 */
export function flattenUpTo(operation: string, root: Node, x: unknown): unknown[] | string {
  const out: unknown[] = [];
  try {
    return upTo(root, x, out, []) ?? out;
  } catch (e) {
    return rethrow(operation, e);
  }
}

function upTo(node: Node, x: unknown, out: unknown[], path: PathEntry[]): string | undefined {
  let values: readonly unknown[];
  let keys: ChildKeys | undefined; // of a registered class's instance
  switch (node.kind) {
    case "leaf":
      out.push(x);
      return undefined;
    case "null":
    case "undefined":
      return (node.kind === "null" ? x === null : x === undefined)
        ? undefined
        : mismatch(path, node.kind, x);
    case "array": {
      if (!Array.isArray(x) || isRegisteredArray(x) || x.length !== node.children.length) {
        return mismatch(path, `an array of length ${node.children.length}`, x);
      }
      values = x;
      break;
    }
    case "object": {
      const expected = `an object with keys {${node.keys.join(", ")}}`;
      if (typeof x !== "object" || x === null || !isPlainObject(x)) {
        return mismatch(path, expected, x);
      }
      const problem = compareKeys(node.keys, Object.keys(x));
      if (problem !== undefined) return mismatch(path, expected, x, problem);
      values = node.keys.map((key) => x[key]);
      break;
    }
    case "custom": {
      const name = className(node.prototype);
      if (typeof x !== "object" || x === null || Object.getPrototypeOf(x) !== node.prototype) {
        return mismatch(path, `an instance of ${name}`, x);
      }
      let auxData: unknown;
      [values, auxData, keys] = callFlatten(node.registration, x, node.prototype);
      if (!auxEqual(node.auxData, auxData)) {
        return mismatch(
          path,
          `an instance of ${name} with auxiliary data ${formatValue(node.auxData, 2)}`,
          x,
          `its auxiliary data is ${formatValue(auxData, 2)}`,
        );
      }
      if (values.length !== node.children.length) {
        return mismatch(
          path,
          `an instance of ${name} with ${node.children.length} children`,
          x,
          `it has ${values.length}`,
        );
      }
      break;
    }
  }
  for (let i = 0; i < values.length; i++) {
    path.push(node.kind === "custom" ? customEntry(keys, i) : childEntry(node, i));
    const problem = upTo(node.children[i]!, values[i], out, path);
    if (problem !== undefined) return problem;
    path.pop();
  }
  return undefined;
}

/** A new tree of structure `root` with the given leaves (exactly `root.numLeaves` of them). */
export function buildTree(root: Node, leaves: readonly unknown[]): unknown {
  let next = 0;
  const build = (node: Node): unknown => {
    switch (node.kind) {
      case "leaf":
        return leaves[next++];
      case "null":
        return null;
      case "undefined":
        return undefined;
      case "array":
        return node.children.map(build);
      case "object": {
        const out: Record<string, unknown> = node.nullPrototype ? Object.create(null) : {};
        node.keys.forEach((key, i) => {
          const value = build(node.children[i]!);
          // Plain assignment to "__proto__" would set the prototype instead of a key.
          if (key !== "__proto__") out[key] = value;
          else {
            Object.defineProperty(out, key, {
              value,
              enumerable: true,
              writable: true,
              configurable: true,
            });
          }
        });
        return out;
      }
      case "custom":
        return node.registration.unflatten(node.auxData, node.children.map(build));
    }
  };
  return build(root);
}

/** The path of every leaf of `root`, in leaf order. */
export function pathsOf(root: Node): KeyPath[] {
  const out: KeyPath[] = [];
  const visit = (node: Node, path: KeyPath): void => {
    if (node.kind === "leaf") out.push(path);
    else if (isContainerNode(node)) {
      node.children.forEach((child, i) => visit(child, [...path, childEntry(node, i)]));
    }
  };
  visit(root, []);
  return out;
}

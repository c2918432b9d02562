/**
 * Pytrees, as in JAX's `jax.tree_util`: nested containers whose leaves transforms act on.
 *
 * Containers are plain objects (prototype `Object.prototype` or `null`), JS arrays, `null` and
 * `undefined` (empty subtrees: no leaves, but part of the structure), and instances of classes
 * registered with {@link register}. Everything else is a leaf: arrays of numbers (`NDArray`),
 * JS numbers, booleans, strings, functions, typed arrays, instances of unregistered classes.
 *
 * Unlike JAX, which sorts dict keys, object keys keep their insertion order (`Object.keys`), so
 * `{a, b}` and `{b, a}` have different structures. `map` and `allclose` match the keys of later
 * trees by name, so key order only matters to `TreeDef.equals` and to the order of the leaves.
 * Symbol-keyed and non-enumerable properties are not part of a tree.
 *
 * This file is the public API; the work is done in `tree-node.ts` (the structure's nodes and the
 * registry), `tree-walk.ts` (flattening and rebuilding), `tree-format.ts` (text for paths,
 * structures and messages) and `tree-compare.ts` (`allclose`).
 */
import { TreeError } from "./errors.js";
import { describe, formatTreeDef } from "./tree-format.js";
import {
  addRegistration,
  findRegistration,
  nodesEqual,
  type IsLeaf,
  type KeyPath,
  type Node,
  type Registration,
} from "./tree-node.js";
import { buildTree, flattenTree, flattenUpTo, pathsOf, structureText } from "./tree-walk.js";

export { allclose, type AllcloseOptions } from "./tree-compare.js";
export { keystr } from "./tree-format.js";
export type { IsLeaf, KeyPath, PathEntry, Registration } from "./tree-node.js";

// Set by TreeDef's static block: the only ways to make a TreeDef or read its root.
let makeTreeDef: (root: Node) => TreeDef;
let rootOf: (treedef: TreeDef) => Node;

/**
 * The structure of a pytree, without its leaves: what {@link flatten} returns and
 * {@link unflatten} rebuilds from.
 *
 * @example
 * const [, treedef] = tree.flatten({ a: 1, b: [2, 3] });
 * treedef.numLeaves; // 3
 * treedef.toString(); // "PyTreeDef({a: *, b: [*, *]})"
 */
export class TreeDef {
  readonly #root: Node;

  private constructor(root: Node) {
    this.#root = root;
  }

  static {
    makeTreeDef = (root) => new TreeDef(root);
    rootOf = (treedef) => treedef.#root;
  }

  /** The number of leaves a tree of this structure has. */
  get numLeaves(): number {
    return this.#root.numLeaves;
  }

  /**
   * Whether `other` is the same structure: same containers, same object keys in the same order,
   * same registered classes with equal auxiliary data.
   *
   * @example
   * tree.structure([1, { a: 2 }]).equals(tree.structure([3, { a: 4 }])); // true
   */
  equals(other: TreeDef): boolean {
    return this === other || nodesEqual(this.#root, other.#root);
  }

  /**
   * The subtrees of `tree` at this structure's leaves, in leaf order: `tree` must have this
   * structure as a prefix (a leaf here may be any subtree there).
   *
   * @param tree the tree to take apart.
   * @param options.operation the name used in the error message (default `"TreeDef.flattenUpTo"`).
   * @returns one subtree per leaf of this structure.
   * @example
   * tree.structure([1, 2]).flattenUpTo([{ a: 1 }, 3]); // [{ a: 1 }, 3]
   */
  flattenUpTo(tree: unknown, options: { operation?: string } = {}): unknown[] {
    const operation = options.operation ?? "TreeDef.flattenUpTo";
    const out = flattenUpTo(operation, this.#root, tree);
    if (typeof out === "string") {
      throw new TreeError(
        operation,
        `the tree does not have the expected structure: ${out}.\n` +
          `  expected: ${this.toString()}\n  received: ${structureText(tree)}`,
      );
    }
    return out;
  }

  /** Readable form, e.g. `PyTreeDef({a: *, b: [*, null]})`; leaves show as `*`. */
  toString(): string {
    return formatTreeDef(this.#root);
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

// ---------------------------------------------------------------------------------------------
// Registry

/**
 * Registers a class as a pytree container; subclasses use it too unless registered themselves.
 *
 * @param Class the class whose instances become containers (not `Object` or `Array`).
 * @param registration `flatten(instance) → [children, auxData, keys?]` and
 *   `unflatten(auxData, children) → instance`.
 * @returns nothing; throws a `TreeError` if `Class` is not a class or is already registered.
 * @example
 * class Point { constructor(readonly x: number, readonly y: number) {} }
 * tree.register(Point, {
 *   flatten: (p) => [[p.x, p.y], undefined, ["x", "y"]],
 *   unflatten: (_aux, [x, y]) => new Point(x as number, y as number),
 * });
 * tree.leaves([new Point(1, 2), 3]); // [1, 2, 3]
 */
export function register<T extends object>(
  Class: abstract new (...args: never[]) => T,
  registration: Registration<T>,
): void {
  const prototype = prototypeOf(Class);
  if (prototype === undefined) {
    throw new TreeError(
      "tree.register",
      `expected a class, got ${describe(Class)}. Pass the class itself: tree.register(MyClass, {flatten, unflatten}).`,
    );
  }
  if (prototype === Object.prototype || prototype === Array.prototype) {
    throw new TreeError(
      "tree.register",
      `${Class.name} is a built-in container already; register your own class instead.`,
    );
  }
  if (
    typeof registration !== "object" ||
    typeof registration.flatten !== "function" ||
    typeof registration.unflatten !== "function"
  ) {
    throw new TreeError(
      "tree.register",
      `expected {flatten, unflatten} functions for ${Class.name}, got ${describe(registration)}.`,
    );
  }
  if (!addRegistration(prototype, registration as Registration<unknown>)) {
    throw new TreeError(
      "tree.register",
      `${Class.name} is already registered; register each class once (subclasses inherit it).`,
    );
  }
}

/**
 * Whether instances of `Class` are pytree containers, through its own registration or a base
 * class's.
 *
 * @param Class any value; non-classes give `false`.
 * @returns `true` if {@link flatten} takes instances of `Class` apart.
 * @example
 * class Point { constructor(readonly x: number, readonly y: number) {} }
 * tree.isRegistered(Point); // false
 * tree.register(Point, { flatten: (p) => [[p.x, p.y], null], unflatten: (_, [x, y]) => new Point(x as number, y as number) });
 * tree.isRegistered(Point); // true
 */
export function isRegistered(Class: unknown): boolean {
  const prototype = prototypeOf(Class);
  return prototype !== undefined && findRegistration(prototype) !== undefined;
}

// The `prototype` object of a class, or undefined for anything else.
function prototypeOf(Class: unknown): object | undefined {
  if (typeof Class !== "function") return undefined;
  const prototype: unknown = (Class as { prototype?: unknown }).prototype;
  return typeof prototype === "object" && prototype !== null ? prototype : undefined;
}

// ---------------------------------------------------------------------------------------------
// Flattening

/**
 * Takes a pytree apart into its leaves (depth first, left to right) and its structure.
 *
 * @param tree any value; see the module comment for what is a container.
 * @param isLeaf optional predicate, called on every node, that stops the descent where it is true.
 * @returns `[leaves, treedef]`; `unflatten(treedef, leaves)` rebuilds the tree.
 * @example
 * tree.flatten({ a: 1, b: [2, null] }); // [[1, 2], PyTreeDef({a: *, b: [*, null]})]
 */
export function flatten(tree: unknown, isLeaf?: IsLeaf): [unknown[], TreeDef] {
  const [leaves, root] = flattenTree("tree.flatten", tree, isLeaf);
  return [leaves, makeTreeDef(root)];
}

/**
 * The leaves of a pytree, in the order {@link flatten} gives them.
 *
 * @param tree any value.
 * @param isLeaf optional predicate that stops the descent where it is true.
 * @returns the leaves.
 * @example
 * tree.leaves([1, { a: 2, b: undefined }, [[3]]]); // [1, 2, 3]
 */
export function leaves(tree: unknown, isLeaf?: IsLeaf): unknown[] {
  return flattenTree("tree.leaves", tree, isLeaf)[0];
}

/**
 * The structure of a pytree (its {@link TreeDef}), without its leaves.
 *
 * @param tree any value.
 * @param isLeaf optional predicate that stops the descent where it is true.
 * @returns the treedef.
 * @example
 * tree.structure({ w: 1, b: 2 }).toString(); // "PyTreeDef({w: *, b: *})"
 */
export function structure(tree: unknown, isLeaf?: IsLeaf): TreeDef {
  return makeTreeDef(flattenTree("tree.structure", tree, isLeaf)[1]);
}

/**
 * Like {@link flatten}, but each leaf comes with its path from the root.
 *
 * @param tree any value.
 * @param isLeaf optional predicate that stops the descent where it is true.
 * @returns `[[path, leaf], ...]` in leaf order, and the treedef.
 * @example
 * const [pairs] = tree.flattenWithPath({ w: [5] });
 * tree.keystr(pairs[0]![0]); // '["w"][0]'
 */
export function flattenWithPath(tree: unknown, isLeaf?: IsLeaf): [[KeyPath, unknown][], TreeDef] {
  const [leaves, root] = flattenTree("tree.flattenWithPath", tree, isLeaf);
  const paths = pathsOf(root);
  return [leaves.map((leaf, i): [KeyPath, unknown] => [paths[i]!, leaf]), makeTreeDef(root)];
}

/**
 * Rebuilds a pytree of the given structure from its leaves.
 *
 * @param treedef the structure, from {@link flatten} or {@link structure}.
 * @param leaves exactly `treedef.numLeaves` values, in leaf order.
 * @returns a new tree (containers are new; leaves are the given values).
 * @example
 * const [leaves, treedef] = tree.flatten({ a: 1, b: [2, 3] });
 * tree.unflatten(treedef, leaves.map((x) => (x as number) * 10)); // { a: 10, b: [20, 30] }
 */
export function unflatten(treedef: TreeDef, leaves: readonly unknown[]): unknown {
  if (!(treedef instanceof TreeDef)) {
    throw new TreeError(
      "tree.unflatten",
      `expected a TreeDef as the first argument, got ${describe(treedef)}. ` +
        `Get one from tree.flatten(x) or tree.structure(x).`,
    );
  }
  if (!Array.isArray(leaves) || leaves.length !== treedef.numLeaves) {
    const got = Array.isArray(leaves) ? countLeaves(leaves.length) : describe(leaves);
    throw new TreeError(
      "tree.unflatten",
      `the structure ${treedef.toString()} has ${countLeaves(treedef.numLeaves)}, but got ${got}. ` +
        `Pass exactly one value per leaf, in the order tree.flatten returned them.`,
    );
  }
  return buildTree(rootOf(treedef), leaves);
}

function countLeaves(n: number): string {
  return n === 1 ? "1 leaf" : `${n} leaves`;
}

// ---------------------------------------------------------------------------------------------
// Mapping

/**
 * Applies `f` to every leaf of `tree` (and the matching subtrees of `rest`), keeping the structure.
 *
 * @param f called as `f(leaf, ...restLeaves)`, once per leaf of `tree`.
 * @param tree the tree whose structure the result has.
 * @param rest more trees with `tree`'s structure as a prefix: where `tree` has a leaf, they
 *   may have a whole subtree, which `f` receives. Object keys are matched by name.
 * @returns a new tree of `tree`'s structure holding `f`'s results.
 * @example
 * tree.map((x: number, y: number) => x + y, { a: 1, b: [2] }, { a: 10, b: [20] });
 * // { a: 11, b: [22] }
 */
export function map<Leaf>(
  f: (leaf: Leaf, ...rest: never[]) => unknown,
  tree: unknown,
  ...rest: unknown[]
): unknown {
  const [leaves, root] = flattenTree("tree.map", tree, undefined);
  const others = restLeaves("tree.map", root, rest);
  const g = f as (...args: unknown[]) => unknown;
  return buildTree(
    root,
    leaves.map((leaf, i) => g(leaf, ...others.map((r) => r[i]))),
  );
}

/**
 * Like {@link map}, but `f` also receives each leaf's path from the root.
 *
 * @param f called as `f(path, leaf, ...restLeaves)`; `keystr(path)` gives e.g.
 *   `["layers"][0].weight`.
 * @param tree the tree whose structure the result has.
 * @param rest more trees with `tree`'s structure as a prefix.
 * @returns a new tree of `tree`'s structure holding `f`'s results.
 * @example
 * tree.mapWithPath((path) => tree.keystr(path), { a: [1, 2] }); // { a: ['["a"][0]', '["a"][1]'] }
 */
export function mapWithPath<Leaf>(
  f: (path: KeyPath, leaf: Leaf, ...rest: never[]) => unknown,
  tree: unknown,
  ...rest: unknown[]
): unknown {
  const [leaves, root] = flattenTree("tree.mapWithPath", tree, undefined);
  const others = restLeaves("tree.mapWithPath", root, rest);
  const paths = pathsOf(root);
  const g = f as (...args: unknown[]) => unknown;
  return buildTree(
    root,
    leaves.map((leaf, i) => g(paths[i], leaf, ...others.map((r) => r[i]))),
  );
}

const ordinals = ["first", "second", "third", "fourth", "fifth", "sixth"];

// The leaves of each rest tree, cut at the leaves of `root`. (A loop, not `map`, so the error's
// stack stays short enough to reach the user's call site.)
function restLeaves(operation: string, root: Node, rest: readonly unknown[]): unknown[][] {
  const all: unknown[][] = [];
  for (let r = 0; r < rest.length; r++) {
    const out = flattenUpTo(operation, root, rest[r]);
    if (typeof out === "string") {
      const which = ordinals[r + 1] ?? `${r + 2}th`;
      throw new TreeError(
        operation,
        `the ${which} tree does not have the first tree's structure: ${out}.\n` +
          `  first tree:${" ".repeat(Math.max(1, which.length - 4))}${formatTreeDef(root)}\n` +
          `  ${which} tree: ${structureText(rest[r])}\n` +
          `Every tree after the first must have the first tree's structure (a leaf of the ` +
          `first may stand for a whole subtree of the others); make the trees match.`,
      );
    }
    all.push(out);
  }
  return all;
}

/**
 * `nn.Module`: models as immutable pytrees, as Equinox has them. Subclass `Module`, set fields in
 * the constructor; fields that hold arrays (or modules, or lists and objects of them) are the
 * pytree's children — the parameters `grad`, `jit` and optimisers see — and every other field
 * (sizes, flags, activation functions) is static structure. A module is frozen once used (a
 * method called, flattened, printed): changing it afterwards is an error; `nn.treeAt` makes a
 * changed copy instead.
 */
import { NDArray } from "../core/array.js";
import { AbstractValue } from "../core/aval.js";
import { FluxionError, ShapeError } from "../core/errors.js";
import * as tree from "../core/tree.js";

/** A module field changed after the module was built, or a module misused. */
export class ModuleError extends FluxionError {}

/** Modules that may no longer change. */
const frozen = new WeakSet<object>();

function refuse(target: object, prop: string | symbol): never {
  const name = (target.constructor as { name?: string }).name ?? "Module";
  throw new ModuleError(
    `${name}.${String(prop)}`,
    `modules are immutable once used: make a changed copy with nn.treeAt((m) => m.${String(prop)}, model, value) instead of assigning.`,
  );
}

const handler: ProxyHandler<object> = {
  set(target, prop, value, receiver) {
    if (frozen.has(target)) refuse(target, prop);
    return Reflect.set(target, prop, value, receiver);
  },
  defineProperty(target, prop, descriptor) {
    if (frozen.has(target)) refuse(target, prop);
    return Reflect.defineProperty(target, prop, descriptor);
  },
  deleteProperty(target, prop) {
    if (frozen.has(target)) refuse(target, prop);
    return Reflect.deleteProperty(target, prop);
  },
  get(target, prop, receiver) {
    const value: unknown = Reflect.get(target, prop, receiver);
    // Calling a method is using the module: its fields are final from here on.
    if (typeof value === "function" && prop !== "constructor") frozen.add(target);
    return value;
  },
};

/**
 * Whether a field's value holds arrays (then it is a child, else static structure). `null` counts
 * as a child: it is where `partition` leaves an array out, and an absent parameter (a bias
 * turned off) is one too.
 */
function holdsArrays(value: unknown): boolean {
  // AbstractValue: what evalShape puts where arrays would be.
  if (
    value === null ||
    value instanceof NDArray ||
    value instanceof AbstractValue ||
    value instanceof Module
  )
    return true;
  if (Array.isArray(value)) return value.some(holdsArrays);
  if (
    value !== null &&
    typeof value === "object" &&
    Object.getPrototypeOf(value) === Object.prototype
  )
    return Object.values(value).some(holdsArrays);
  return false;
}

/** The base class of models and layers. */
export abstract class Module {
  constructor() {
    // Every module is seen through a proxy that refuses changes once it is frozen.
    return new Proxy(this, handler) as this;
  }

  /** A readable listing of the fields (arrays as dtype and shape) and the parameter count. */
  toString(): string {
    return `${describeModule(this, "")}  # ${parameterCount(this)} parameters`;
  }
}

interface ModuleAux {
  prototype: object;
  /** Every field in order: `[name, isChild, static value]`. */
  fields: readonly (readonly [string, boolean, unknown])[];
}

tree.register(Module, {
  flatten(m: Module) {
    frozen.add(m);
    const fields = Object.keys(m).map((key) => {
      const value = (m as unknown as Record<string, unknown>)[key];
      const child = holdsArrays(value);
      return [key, child, child ? undefined : value] as const;
    });
    const children = fields
      .filter(([, child]) => child)
      .map(([key]) => (m as unknown as Record<string, unknown>)[key]);
    const aux: ModuleAux = { prototype: Object.getPrototypeOf(m) as object, fields };
    return [children, aux, fields.filter(([, child]) => child).map(([key]) => key)];
  },
  unflatten(aux: unknown, children: readonly unknown[]) {
    const { prototype, fields } = aux as ModuleAux;
    const obj = Object.create(prototype) as Record<string, unknown>;
    let k = 0;
    for (const [key, child, value] of fields) obj[key] = child ? children[k++] : value;
    frozen.add(obj);
    return new Proxy(obj, handler) as unknown as Module;
  },
});

const shapeText = (x: NDArray): string =>
  `${x.dtype === "float32" ? "f32" : x.dtype}[${x.shape.join(", ")}]`;

function describeValue(value: unknown, indent: string): string {
  if (value instanceof NDArray) return shapeText(value);
  if (value instanceof Module) return describeModule(value, indent);
  if (Array.isArray(value)) {
    if (!holdsArrays(value)) return JSON.stringify(value) ?? String(value);
    const inner = `${indent}  `;
    return `[\n${value.map((v) => `${inner}${describeValue(v, inner)},`).join("\n")}\n${indent}]`;
  }
  if (typeof value === "function") return value.name === "" ? "<function>" : value.name;
  if (typeof value === "string") return JSON.stringify(value);
  if (value !== null && typeof value === "object" && holdsArrays(value)) {
    const inner = `${indent}  `;
    const entries = Object.entries(value).map(
      ([k, v]) => `${inner}${k}: ${describeValue(v, inner)},`,
    );
    return `{\n${entries.join("\n")}\n${indent}}`;
  }
  return String(value);
}

function describeModule(m: Module, indent: string): string {
  const name = (Object.getPrototypeOf(m) as { constructor: { name: string } }).constructor.name;
  const inner = `${indent}  `;
  const entries = Object.keys(m).map(
    (key) =>
      `${inner}${key}: ${describeValue((m as unknown as Record<string, unknown>)[key], inner)},`,
  );
  return entries.length === 0 ? `${name}()` : `${name}(\n${entries.join("\n")}\n${indent})`;
}

/** The number of array elements in a pytree (a model's parameter count). */
export function parameterCount(t: unknown): number {
  return tree
    .leaves(t)
    .filter((leaf): leaf is NDArray => leaf instanceof NDArray)
    .reduce((n, x) => n + x.size, 0);
}

// ── filters ────────────────────────────────────────────────────────────────────────────────

/** Whether a leaf is an array. */
export const isArray = (x: unknown): x is NDArray => x instanceof NDArray;

/** Whether a leaf is a floating-point array (what gradients are taken with respect to). */
export const isInexactArray = (x: unknown): x is NDArray =>
  x instanceof NDArray && (x.dtype === "float32" || x.dtype === "float64");

const nullIsLeaf = (x: unknown): boolean => x === null;

/**
 * Splits a pytree in two of the same structure: the leaves `filter` accepts (others null), and
 * the rest (those null). `combine` puts them back together.
 */
export function partition<T>(t: T, filter: (leaf: unknown) => boolean): [T, T] {
  const [leaves, treedef] = tree.flatten(t, nullIsLeaf);
  const keep = leaves.map((leaf) => leaf !== null && filter(leaf));
  return [
    tree.unflatten(
      treedef,
      leaves.map((leaf, i) => (keep[i] ? leaf : null)),
    ) as T,
    tree.unflatten(
      treedef,
      leaves.map((leaf, i) => (keep[i] ? null : leaf)),
    ) as T,
  ];
}

/** The leaves of pytrees of one structure, each taken from the first tree where it is not null. */
export function combine<T>(...trees: T[]): T {
  if (trees.length === 0) throw new ModuleError("nn.combine", "needs at least one tree.");
  const flat = trees.map((t) => tree.flatten(t, nullIsLeaf));
  const [first, treedef] = flat[0]!;
  flat.forEach(([leaves, def], i) => {
    if (leaves.length !== first.length || !def.equals(treedef)) {
      throw new ModuleError(
        "nn.combine",
        `tree ${i} has another structure:\n  tree 0: ${treedef.toString()}\n  tree ${i}: ${def.toString()}`,
      );
    }
  });
  const leaves = first.map((_, j) => flat.map(([l]) => l[j]).find((leaf) => leaf !== null) ?? null);
  return tree.unflatten(treedef, leaves) as T;
}

/**
 * A copy of `model` with the node(s) `where` picks replaced: `treeAt((m) => m.layers[0].weight,
 * model, w)` (`where` may return an array of nodes and `replacement` an array of values). A
 * replaced array must keep its shape and dtype.
 */
export function treeAt<T>(where: (model: T) => unknown, model: T, replacement: unknown): T {
  const picked = where(model);
  const targets = Array.isArray(picked) ? picked : [picked];
  const values = Array.isArray(picked) ? (replacement as unknown[]) : [replacement];
  if (!Array.isArray(values) || values.length !== targets.length) {
    throw new ModuleError(
      "nn.treeAt",
      `where picked ${targets.length} nodes; give as many replacements.`,
    );
  }
  const isTarget = (x: unknown): boolean => targets.includes(x);
  const [leaves, treedef] = tree.flatten(model, (x) => isTarget(x) || x === null);
  let found = 0;
  const replaced = leaves.map((leaf) => {
    const i = targets.indexOf(leaf);
    if (i < 0) return leaf;
    found++;
    const value = values[i];
    if (leaf instanceof NDArray) {
      const v = value as NDArray;
      if (
        !(v instanceof NDArray) ||
        v.dtype !== leaf.dtype ||
        v.shape.join() !== leaf.shape.join()
      ) {
        throw new ShapeError(
          "nn.treeAt",
          `the replacement for a ${shapeText(leaf)} parameter must have the same shape and dtype, got ${v instanceof NDArray ? shapeText(v) : typeof v}.`,
        );
      }
    }
    return value;
  });
  if (found < targets.length) {
    throw new ModuleError(
      "nn.treeAt",
      "where must return nodes of the model itself (an array or sub-module field), not a copy or a number.",
    );
  }
  return tree.unflatten(treedef, replaced) as T;
}

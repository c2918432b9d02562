/**
 * The shape of every optimiser: a {@link GradientTransformation} is a pair of pure functions,
 * `init(params) → state` and `update(updates, state, params?) → [updates, state]`, over pytrees of
 * arrays (Optax's `GradientTransformation`). States are pytrees of arrays too, so a whole training
 * step — gradient, update, `applyUpdates` — can be compiled with `jit`.
 *
 * Every transformation made here checks its arguments once, at the outermost call: the updates,
 * parameters and state must have the structure `init` gives for these parameters, or a `TreeError`
 * names the optimiser and shows both structures. Nothing is half-updated on an error: the state is
 * never mutated, and the checks run before any work.
 */
import { NDArray } from "../core/array.js";
import { ShapeError, TreeError, ValueError } from "../core/errors.js";
import * as tree from "../core/tree.js";
import { evalShape } from "../transforms/jacobian.js";
import type { AbstractValue } from "../core/aval.js";

/** An optimiser state: a pytree of arrays (objects and lists of arrays). */
export type OptState = unknown;

/**
 * A gradient transformation (Optax's `GradientTransformation`): `init` makes the state for some
 * parameters, `update` turns gradients (or the updates of an earlier transformation) into
 * updates and a new state. Both are pure: nothing they are given is changed.
 */
export interface GradientTransformation<State = OptState> {
  /** The initial state for `params` (a pytree of arrays). */
  init(params: unknown): State;
  /**
   * Transforms `updates` (a pytree shaped like the parameters) and advances the state.
   * @param updates the gradients, or the output of the previous transformation in a chain.
   * @param state the state from `init` or from the previous `update`.
   * @param params the current parameters (needed by weight decay and trust ratios).
   * @returns `[newUpdates, newState]`; add the updates to the parameters with `applyUpdates`.
   */
  update<U>(updates: U, state: State, params?: unknown): [U, State];
}

/** The state of a transformation that keeps none (Optax's `EmptyState`). */
export type EmptyState = Record<string, never>;

// Above zero while a checked transformation runs: the transformations inside it (a chain's
// links, a wrapper's inner optimiser) skip the checks their caller already made, and their
// errors name the outermost one (what the user called). Reset by try/finally, so an error never
// leaves them set.
let depth = 0;
let outermost: string | undefined;

function inside<T>(operation: string, f: () => T): T {
  if (depth === 0) outermost = operation;
  depth++;
  try {
    return f();
  } finally {
    depth--;
    if (depth === 0) outermost = undefined;
  }
}

/**
 * The name for an error raised by `operation`: itself when the user called it, or
 * `"optim.adamw (in optim.addDecayedWeights)"` when it runs inside what the user called.
 */
export function errorName(operation: string): string {
  return outermost === undefined || outermost === operation
    ? operation
    : `${outermost} (in ${operation})`;
}

/**
 * A transformation named `operation` (e.g. `"optim.adam"`) from plain `init` and `update`
 * functions, with the argument checks every public transformation makes.
 */
export function transformation<State>(
  operation: string,
  init: (params: unknown) => State,
  update: (updates: unknown, state: State, params: unknown) => [unknown, State],
): GradientTransformation<State> {
  return {
    init(params: unknown): State {
      if (depth === 0) checkArrayTree(operation, params, "parameters");
      return inside(operation, () => init(params));
    },
    update<U>(updates: U, state: State, params?: unknown): [U, State] {
      if (depth === 0) checkUpdate(operation, init, updates, state, params);
      return inside(operation, () => update(updates, state, params)) as [U, State];
    },
  };
}

function describe(x: unknown): string {
  if (x === null) return "null";
  if (x instanceof NDArray) return `an array ${x.aval.toString()}`;
  if (typeof x === "object") return `an object (${x.constructor?.name ?? "Object"})`;
  return `${typeof x} ${String(x)}`;
}

/** Throws unless `t` is a gradient transformation (`{init, update}`); `what` names it. */
export function checkTransformation(operation: string, t: unknown, what: string): void {
  const candidate = t as { init?: unknown; update?: unknown } | null;
  if (
    typeof candidate !== "object" ||
    candidate === null ||
    typeof candidate.init !== "function" ||
    typeof candidate.update !== "function"
  ) {
    throw new ValueError(
      operation,
      `${what} must be a gradient transformation ({init, update}, e.g. optim.adam(…)), got ${describe(t)}.`,
    );
  }
}

/** Every leaf of `x` is an array. */
function checkArrayTree(operation: string, x: unknown, role: string): void {
  const [pairs] = tree.flattenWithPath(x);
  for (const [path, leaf] of pairs) {
    if (!(leaf instanceof NDArray)) {
      throw new TreeError(
        operation,
        `every leaf of the ${role} must be an array, but the leaf at ${tree.keystr(path) || "the root"} ` +
          `is ${describe(leaf)}. Wrap numbers with np.array(…) or keep them out of the tree.`,
      );
    }
  }
}

function sameStructure(a: unknown, b: unknown): boolean {
  return tree.structure(a).equals(tree.structure(b));
}

/** The checks of `update`: array leaves, parameters shaped like updates, the state init gives. */
function checkUpdate<State>(
  operation: string,
  init: (params: unknown) => State,
  updates: unknown,
  state: unknown,
  params: unknown,
): void {
  checkArrayTree(operation, updates, "updates");
  if (params !== undefined) {
    checkArrayTree(operation, params, "parameters");
    if (!sameStructure(updates, params)) {
      throw new TreeError(
        operation,
        `the updates and the parameters differ in structure.\n` +
          `  updates:    ${tree.structure(updates).toString()}\n` +
          `  parameters: ${tree.structure(params).toString()}\n` +
          `Pass the gradients of these parameters (grad(loss)(params) has their structure).`,
      );
    }
  }
  const like = params ?? updates;
  const expected = inside(operation, () => evalShape((p: unknown) => init(p), like));
  if (!sameStructure(expected, state)) {
    throw new TreeError(
      operation,
      `the optimiser state does not fit these ${params === undefined ? "updates" : "parameters"}.\n` +
        `  expected state (what init gives for them): ${tree.structure(expected).toString()}\n` +
        `  received state:                            ${tree.structure(state).toString()}\n` +
        `Pass the state that this optimiser's init(params) returned for these parameters ` +
        `(or the state its last update returned).`,
    );
  }
  const [want] = tree.flattenWithPath(expected);
  const got = tree.leaves(state);
  want.forEach(([path, aval], i) => {
    const leaf = got[i];
    const shape = (aval as AbstractValue).shape;
    if (!(leaf instanceof NDArray)) {
      throw new TreeError(
        operation,
        `the state leaf at ${tree.keystr(path)} must be an array, got ${describe(leaf)}.`,
      );
    }
    if (leaf.shape.length !== shape.length || leaf.shape.some((d, k) => d !== shape[k])) {
      throw new ShapeError(
        operation,
        `the state leaf at ${tree.keystr(path)} has shape [${leaf.shape.join(", ")}], but these ` +
          `${params === undefined ? "updates" : "parameters"} need [${shape.join(", ")}]. ` +
          `Make the state with init(params) for parameters of these shapes.`,
      );
    }
  });
}

/**
 * `params + updates`, leaf by leaf, each result keeping its parameter's dtype (Optax's
 * `apply_updates`).
 *
 * @param params a pytree of arrays.
 * @param updates a pytree of the same structure, e.g. from an optimiser's `update`.
 * @returns the new parameters, with `params`' structure and dtypes.
 * @example
 * const p = applyUpdates({ w: np.array([1, 2]) }, { w: np.array([0.5, -1]) });
 * console.log(p.w.toList()); // [1.5, 1]
 */
export function applyUpdates<P>(params: P, updates: unknown): P {
  checkArrayTree("optim.applyUpdates", params, "parameters");
  checkArrayTree("optim.applyUpdates", updates, "updates");
  if (!sameStructure(params, updates)) {
    throw new TreeError(
      "optim.applyUpdates",
      `the parameters and the updates differ in structure.\n` +
        `  parameters: ${tree.structure(params).toString()}\n` +
        `  updates:    ${tree.structure(updates).toString()}\n` +
        `Pass the updates that the optimiser's update returned for these parameters.`,
    );
  }
  return tree.map((p: NDArray, u: NDArray) => p.add(u).astype(p.dtype), params, updates) as P;
}

/** The transformation that changes nothing and keeps no state (Optax's `identity`). */
export function identity(): GradientTransformation<EmptyState> {
  return transformation(
    "optim.identity",
    () => ({}),
    (updates, state) => [updates, state],
  );
}

type StateOf<T> = T extends GradientTransformation<infer S> ? S : never;

/** The state of `chain(...transforms)`: one state per link, in order. */
export type ChainState<T extends readonly GradientTransformation<unknown>[]> = {
  -readonly [K in keyof T]: StateOf<T[K]>;
};

/**
 * Applies transformations one after the other, each on the updates of the one before (Optax's
 * `chain`). The state is the list of their states.
 *
 * @param transforms the links, first applied first.
 * @returns one transformation.
 * @example
 * // A transformation is any {init, update}; this one doubles the updates.
 * const double = {
 *   init: () => ({}),
 *   update: (u: any, s: any) => [tree.map((x: NDArray) => x.mul(2), u), s],
 * } as GradientTransformation;
 * const t = chain(double, identity(), double);
 * const [u, state] = t.update({ w: np.array([1, 2]) }, t.init({ w: np.array([0, 0]) }));
 * console.log(u.w.toList(), state); // [4, 8] [{}, {}, {}]
 */
export function chain<const T extends readonly GradientTransformation<unknown>[]>(
  ...transforms: T
): GradientTransformation<ChainState<T>> {
  transforms.forEach((t, i) => checkTransformation("optim.chain", t, `argument ${i + 1}`));
  return transformation(
    "optim.chain",
    (params) => transforms.map((t) => t.init(params)) as ChainState<T>,
    (updates, state, params) => {
      const states = state as unknown[];
      const next: unknown[] = [];
      let u = updates;
      transforms.forEach((t, i) => {
        const [out, s] = t.update(u, states[i], params);
        u = out;
        next.push(s);
      });
      return [u, next as ChainState<T>];
    },
  );
}

/** Gives `t` another name for its messages (the aliases are chains named as the user called them). */
export function named<State>(
  operation: string,
  t: GradientTransformation<State>,
): GradientTransformation<State> {
  return transformation(
    operation,
    (params) => t.init(params),
    (updates, state, params) => t.update(updates, state, params),
  );
}

/**
 * Terms of `dy/dt`: `ODETerm` wraps a vector field `(t, y, args) => dy`; `MultiTerm` sums several.
 */
import { NDArray } from "../core/array.js";
import { ShapeError, TreeError, ValueError } from "../core/errors.js";
import * as tree from "../core/tree.js";
import * as np from "../numpy/index.js";
import type { PyTree, Term } from "./types.js";

/** A vector field: the derivative of `y` at time `t` (a pytree shaped like `y`). */
export type VectorField = (t: NDArray, y: never, args: never) => unknown;

const shapeText = (shape: readonly number[]): string => `[${shape.join(", ")}]`;

/**
 * `dy/dt = f(t, y, args)`. `y` is any pytree of float arrays; `f` returns a pytree with the same
 * structure and shapes (JS numbers and other float dtypes are converted to `y`'s dtypes).
 *
 * @example
 * const decay = new ode.ODETerm((t: NDArray, y: NDArray) => y.neg());
 * console.log(decay.vf(np.array(0), np.array([1, 2]), null).toList()); // [-1, -2]
 */
export class ODETerm implements Term {
  /**
   * @param vectorField `(t, y, args) => dy`: `t` is a float scalar array, `args` whatever was
   *   passed to `solve` as `args`.
   */
  constructor(readonly vectorField: VectorField) {
    if (typeof vectorField !== "function") {
      throw new ValueError(
        "ode.ODETerm",
        `expected a vector field (t, y, args) => dy/dt, got ${typeof vectorField}.`,
      );
    }
  }

  /** The vector field at `(t, y)`, checked against `y`'s structure and shapes. */
  vf(t: NDArray, y: PyTree, args: unknown): PyTree {
    const out = this.vectorField(t, y as never, args as never);
    return conformTo("ode.ODETerm", y, out);
  }
}

/**
 * The sum of several terms: `dy/dt = Σ term.vf(t, y, args)`.
 *
 * @example
 * const both = new ode.MultiTerm(new ode.ODETerm((t: NDArray, y: NDArray) => y.neg()), new ode.ODETerm(() => 1));
 * console.log(both.vf(np.array(0), np.array([1, 2]), null).toList()); // [0, -1]
 */
export class MultiTerm implements Term {
  readonly terms: readonly Term[];

  /** @param terms the terms to add (at least one). */
  constructor(...terms: Term[]) {
    if (terms.length === 0 || terms.some((t) => typeof (t as Partial<Term>).vf !== "function")) {
      throw new ValueError(
        "ode.MultiTerm",
        "expects one or more terms, e.g. new ode.MultiTerm(new ode.ODETerm(f), new ode.ODETerm(g)).",
      );
    }
    this.terms = terms;
  }

  /** The sum of the terms' vector fields at `(t, y)`. */
  vf(t: NDArray, y: PyTree, args: unknown): PyTree {
    const parts = this.terms.map((term) => term.vf(t, y, args));
    return parts.slice(1).reduce((sum, part) => addTrees(sum, part), parts[0]);
  }
}

function addTrees(a: PyTree, b: PyTree): PyTree {
  return tree.map((x: NDArray, y: NDArray) => x.add(y), a, b);
}

/**
 * `out` checked to have `y`'s structure and leaf shapes, with its leaves converted to `y`'s
 * dtypes (numbers become arrays). Throws a `TreeError` or `ShapeError` saying what differs.
 */
export function conformTo(operation: string, y: PyTree, out: unknown): PyTree {
  const [yLeaves, yTree] = tree.flatten(y);
  const [outLeaves, outTree] = tree.flatten(out);
  if (!yTree.equals(outTree)) {
    throw new TreeError(
      operation,
      `the vector field must return a pytree with the structure of y.\n  y:            ${yTree.toString()}\n  vector field: ${outTree.toString()}\nReturn one derivative per leaf of y, in the same containers.`,
    );
  }
  return tree.unflatten(
    yTree,
    outLeaves.map((leaf, i) => {
      const target = yLeaves[i] as NDArray;
      if (typeof leaf === "number") return np.full(target.shape, leaf, { dtype: target.dtype });
      if (!(leaf instanceof NDArray)) {
        throw new TreeError(
          operation,
          `the vector field returned a leaf that is not an array or a number (${typeof leaf}) where y has an array of shape ${shapeText(target.shape)}.`,
        );
      }
      if (leaf.ndim !== target.ndim || leaf.shape.some((d, k) => d !== target.shape[k])) {
        const path = tree.keystr(tree.flattenWithPath(y)[0][i]![0]);
        throw new ShapeError(
          operation,
          `the vector field returned shape ${shapeText(leaf.shape)} for y${path}, whose shape is ${shapeText(target.shape)}. dy/dt must have y's shape.`,
        );
      }
      return leaf.dtype === target.dtype && !leaf.weakType ? leaf : leaf.astype(target.dtype);
    }),
  );
}

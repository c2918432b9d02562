/**
 * Reverse mode for users: `vjp`, `linearize`, `grad`, `valueAndGrad`.
 */
import type { NDArray } from "../core/array.js";
import { isFloating } from "../core/dtype.js";
import { DtypeError, ShapeError, TreeError, ValueError } from "../core/errors.js";
import { formatShape, shapesEqual } from "../core/shape.js";
import * as tree from "../core/tree.js";
import * as ops from "../primitives/ops.js";
import { JVPTracer } from "./jvp.js";
import { toArrayLeaf } from "./leaves.js";
import { linearizeFlat, transposeProgram, type Linearized } from "./linearize.js";
import { evalProgram } from "../core/ir.js";

/** Options of `grad` and `valueAndGrad`. */
export interface GradOptions {
  /** Which positional argument(s) to differentiate with respect to (default 0). */
  argnums?: number | readonly number[];
  /** `f` returns `[output, aux]`; aux is passed through undifferentiated. */
  hasAux?: boolean;
}

interface Flat {
  leaves: NDArray[];
  treedef: tree.TreeDef;
}

function flattenArgs(operation: string, args: readonly unknown[]): Flat {
  const [leaves, treedef] = tree.flatten([...args]);
  return { leaves: leaves.map((l) => toArrayLeaf(operation, l, "argument")), treedef };
}

function splitAux(operation: string, result: unknown, hasAux: boolean): [unknown, unknown] {
  if (!hasAux) return [result, undefined];
  if (!Array.isArray(result) || result.length !== 2) {
    throw new TreeError(
      operation,
      `with hasAux: true the function must return a pair [output, aux], but it returned ` +
        `${Array.isArray(result) ? `a list of length ${result.length}` : typeof result}.`,
    );
  }
  return [result[0], result[1]];
}

/** Linearizes `f` at `args` (flattened), with aux split off when asked. */
function linearizeArgs(
  operation: string,
  f: (...args: never[]) => unknown,
  args: readonly unknown[],
  hasAux: boolean,
): [Linearized, Flat, unknown] {
  const flat = flattenArgs(operation, args);
  let aux: unknown;
  const lin = linearizeFlat((leaves) => {
    const [out, a] = splitAux(
      operation,
      f(...(tree.unflatten(flat.treedef, leaves) as never[])),
      hasAux,
    );
    aux = a;
    return out;
  }, flat.leaves);
  // Aux values were computed under the finished JVP level: keep their primal parts.
  const primalAux = tree.map(
    (leaf: unknown) => (leaf instanceof JVPTracer ? leaf.primal : leaf),
    aux,
  );
  return [lin, flat, primalAux];
}

/** Checks a cotangent pytree against the outputs and returns its flat leaves. */
function flatCotangents(operation: string, lin: Linearized, cotangent: unknown): NDArray[] {
  const [leaves, treedef] = tree.flatten(cotangent);
  if (!treedef.equals(lin.outTree)) {
    throw new TreeError(
      operation,
      `the cotangent must have the structure of the output, ${lin.outTree.toString()}, but has ${treedef.toString()}.`,
    );
  }
  return leaves.map((leaf, i) => {
    const ct = toArrayLeaf(operation, leaf, "cotangent");
    const out = lin.outs[i]!;
    if (!shapesEqual(ct.shape, out.shape)) {
      throw new ShapeError(
        operation,
        `cotangent ${i} has shape ${formatShape(ct.shape)} but the output has shape ${formatShape(out.shape)}.`,
      );
    }
    return isFloating(out.dtype) ? ops.convert(ct, out.dtype, false) : ct;
  });
}

/** Input cotangents (zeros where none flowed, and for integer inputs) unflattened per argument. */
function inputCotangents(lin: Linearized, flat: Flat, cts: readonly (NDArray | null)[]): NDArray[] {
  let k = 0;
  const leaves = flat.leaves.map((p, i) => {
    const ct = lin.differentiable[i] ? (cts[k++] ?? null) : null;
    return ct ?? ops.zerosLike(p);
  });
  return tree.unflatten(flat.treedef, leaves) as NDArray[];
}

/**
 * Evaluates `f(...primals)` and returns `[out, vjpFn]`, where `vjpFn(cotangent)` gives the
 * cotangent of each argument (a list, one pytree per argument).
 * @example
 * const [y, back] = vjp((x: NDArray) => x.mul(x).sum(), np.array([1, 2]));
 * back(np.array(1)); // [[2, 4]]
 */
export function vjp<Out = NDArray>(
  f: (...args: never[]) => Out,
  ...primals: unknown[]
): [Out, (cotangent: Out) => NDArray[]] {
  const [lin, flat] = linearizeArgs("vjp", f, primals, false);
  const out = tree.unflatten(lin.outTree, lin.outs) as Out;
  const back = (cotangent: Out): NDArray[] => {
    const cts = transposeProgram(lin.program, flatCotangents("vjp", lin, cotangent));
    return inputCotangents(lin, flat, cts);
  };
  return [out, back];
}

/**
 * Evaluates `f(...primals)` and returns `[out, jvpFn]`, where `jvpFn(...tangents)` gives the
 * output tangent without re-running `f`'s nonlinear parts.
 */
export function linearize<Out = NDArray>(
  f: (...args: never[]) => Out,
  ...primals: unknown[]
): [Out, (...tangents: unknown[]) => Out] {
  const [lin, flat] = linearizeArgs("linearize", f, primals, false);
  const out = tree.unflatten(lin.outTree, lin.outs) as Out;
  const forward = (...tangents: unknown[]): Out => {
    const [tLeaves, tTree] = tree.flatten([...tangents]);
    if (!tTree.equals(flat.treedef)) {
      throw new TreeError(
        "linearize",
        `tangents must have the structure of the primals, ${flat.treedef.toString()}.`,
      );
    }
    const ts = tLeaves
      .map((t, i) => {
        const tangent = toArrayLeaf("linearize", t, "tangent");
        const primal = flat.leaves[i]!;
        if (!shapesEqual(tangent.shape, primal.shape)) {
          throw new ShapeError(
            "linearize",
            `tangent ${i} has shape ${formatShape(tangent.shape)} but its primal has shape ${formatShape(primal.shape)}; they must match.`,
          );
        }
        return tangent;
      })
      .filter((_, i) => lin.differentiable[i])
      .map((t, i) => ops.convert(t, lin.program.invars[i]!.aval.dtype, false));
    const outs = evalProgram(lin.program, ts, (value, aval) => ops.constant(value, aval.dtype));
    return tree.unflatten(lin.outTree, outs) as Out;
  };
  return [out, forward];
}

function normalizeArgnums(
  operation: string,
  argnums: number | readonly number[],
  count: number,
): number[] {
  const list = typeof argnums === "number" ? [argnums] : [...argnums];
  for (const a of list) {
    if (!Number.isInteger(a) || a < 0 || a >= count) {
      throw new ValueError(
        operation,
        `argnums ${JSON.stringify(argnums)} is out of range: the function was called with ${count} argument(s).`,
      );
    }
  }
  return list;
}

function valueAndGradImpl(
  operation: string,
  f: (...args: never[]) => unknown,
  options: GradOptions,
  args: readonly unknown[],
): [unknown, unknown, unknown] {
  const argnums = normalizeArgnums(operation, options.argnums ?? 0, args.length);
  for (const a of argnums) {
    for (const leaf of tree.leaves(args[a])) {
      const x = toArrayLeaf(operation, leaf, "argument");
      if (!isFloating(x.dtype)) {
        throw new DtypeError(
          operation,
          `argument ${a} has dtype ${x.dtype}; gradients are only defined for float inputs. ` +
            `Convert it with x.astype("float32"), or leave it out of argnums.`,
        );
      }
    }
  }
  const partial = (...diff: unknown[]): unknown => {
    const full = [...args];
    argnums.forEach((a, i) => (full[a] = diff[i]));
    return f(...(full as never[]));
  };
  const [lin, flat, aux] = linearizeArgs(
    operation,
    partial,
    argnums.map((a) => args[a]),
    options.hasAux === true,
  );
  if (lin.outs.length !== 1 || lin.outs[0]!.ndim !== 0) {
    const shapes = lin.outs.map((o) => formatShape(o.shape)).join(", ");
    throw new ShapeError(
      operation,
      `the function must return a scalar (shape []), but it returned ${lin.outs.length === 1 ? `shape ${shapes}` : `${lin.outs.length} arrays (${shapes})`}. ` +
        `Reduce it first (e.g. with .sum() or .mean()), or use vjp or jacrev for non-scalar outputs.`,
    );
  }
  const out = lin.outs[0]!;
  if (!isFloating(out.dtype)) {
    throw new DtypeError(
      operation,
      `the function must return a float scalar, but it returned ${out.dtype}.`,
    );
  }
  const cts = transposeProgram(lin.program, [ops.constant(1, out.dtype, false)]);
  const grads = inputCotangents(lin, flat, cts);
  const value = tree.unflatten(lin.outTree, lin.outs);
  return [value, typeof options.argnums === "object" ? grads : grads[0], aux];
}

/**
 * The gradient of a scalar function: `grad(f)(x)` has the structure of `x`. With `argnums` a
 * list, returns a list of gradients; with `hasAux`, returns `[grads, aux]`.
 * @example
 * const df = grad((x: NDArray) => np.sin(x).sum());
 * df(np.array([0, 1])); // cos([0, 1])
 */
export function grad<G = NDArray>(
  f: (...args: never[]) => unknown,
  options: GradOptions = {},
): (...args: unknown[]) => G {
  return (...args: unknown[]): G => {
    const [, grads, aux] = valueAndGradImpl("grad", f, options, args);
    return (options.hasAux === true ? [grads, aux] : grads) as G;
  };
}

/**
 * `f`'s value and gradient together: `[value, grads]` (with `hasAux`: `[[value, aux], grads]`).
 */
export function valueAndGrad<G = NDArray>(
  f: (...args: never[]) => unknown,
  options: GradOptions = {},
): (...args: unknown[]) => [NDArray | [NDArray, unknown], G] {
  return (...args: unknown[]) => {
    const [value, grads, aux] = valueAndGradImpl("valueAndGrad", f, options, args);
    const v = value as NDArray;
    return [options.hasAux === true ? [v, aux] : v, grads as G];
  };
}

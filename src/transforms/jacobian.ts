/**
 * Jacobians and Hessians: `jacfwd` (vmap of jvp over an input basis), `jacrev` (vmap of the
 * transposed linearization over an output basis), `hessian` (jacfwd of jacrev), and `evalShape`.
 */
import type { AbstractValue } from "../core/aval.js";
import type { NDArray } from "../core/array.js";
import { isFloating } from "../core/dtype.js";
import { DtypeError, ValueError } from "../core/errors.js";
import { bind1 } from "../core/trace.js";
import * as tree from "../core/tree.js";
import * as ops from "../primitives/ops.js";
import { iota } from "../primitives/structural.js";
import { slice } from "../primitives/structural.js";
import { jvpFlat } from "./jvp.js";
import { toArrayLeaf } from "./leaves.js";
import { linearizeFlat, transposeProgram } from "./linearize.js";
import { leafAval, stage } from "./staging.js";
import { vmapFlat } from "./vmap.js";

/** Options of `jacfwd`, `jacrev` and `hessian`. */
export interface JacobianOptions {
  /** Which positional argument(s) to differentiate with respect to (default 0). */
  argnums?: number | readonly number[];
}

interface Prepared {
  argnums: number[];
  leaves: NDArray[];
  argTree: tree.TreeDef;
  /** f as a function of the flat leaves of the differentiated arguments. */
  flatF: (leaves: NDArray[]) => unknown;
}

function prepare(
  operation: string,
  f: (...args: never[]) => unknown,
  options: JacobianOptions,
  args: readonly unknown[],
): Prepared {
  const list = typeof options.argnums === "object" ? [...options.argnums] : [options.argnums ?? 0];
  for (const a of list) {
    if (!Number.isInteger(a) || a < 0 || a >= args.length) {
      throw new ValueError(
        operation,
        `argnums ${JSON.stringify(options.argnums)} is out of range for ${args.length} argument(s).`,
      );
    }
  }
  const diff = list.map((a) => args[a]);
  const [rawLeaves, argTree] = tree.flatten(diff);
  const leaves = rawLeaves.map((l) => toArrayLeaf(operation, l, "argument"));
  leaves.forEach((l) => {
    if (!isFloating(l.dtype)) {
      throw new DtypeError(
        operation,
        `differentiated arguments must be float, but one leaf has dtype ${l.dtype}.`,
      );
    }
  });
  const flatF = (ls: NDArray[]): unknown => {
    const full = [...args];
    const parts = tree.unflatten(argTree, ls) as unknown[];
    list.forEach((a, i) => (full[a] = parts[i]));
    return f(...(full as never[]));
  };
  return { argnums: list, leaves, argTree, flatF };
}

/** A basis of `total` unit vectors, split into one array of shape `[total, ...shape]` per leaf. */
function basis(
  total: number,
  shapes: readonly { shape: readonly number[]; dtype: NDArray["dtype"] }[],
): NDArray[] {
  let offset = 0;
  return shapes.map(({ shape, dtype }) => {
    const size = shape.reduce((n, d) => n * d, 1);
    const rows = bind1(iota, [], { dtype: "int32", shape: [total, size], dimension: 0 });
    const cols = bind1(iota, [], { dtype: "int32", shape: [total, size], dimension: 1 });
    const eye = ops.eq(rows, ops.add(cols, ops.constant(offset, "int32")));
    offset += size;
    return ops.reshape(ops.convert(eye, dtype, false), [total, ...shape]);
  });
}

/** Rows `[lo, hi)` of `x` (shape `[total, ...rest]`). */
function rows(x: NDArray, lo: number, hi: number): NDArray {
  return bind1(slice, [x], {
    start: x.shape.map((_, i) => (i === 0 ? lo : 0)),
    limit: x.shape.map((d, i) => (i === 0 ? hi : d)),
    strides: x.shape.map(() => 1),
  });
}

/** Assembles Jacobian blocks: `block(outLeaf, inLeaf)` → the pytree jacfwd/jacrev return. */
function assemble(
  prepared: Prepared,
  outTree: tree.TreeDef,
  outCount: number,
  single: boolean,
  block: (o: number, i: number) => NDArray,
): unknown {
  const perOut = Array.from({ length: outCount }, (_, o) => {
    const byArg = tree.unflatten(
      prepared.argTree,
      prepared.leaves.map((_, i) => block(o, i)),
    ) as unknown[];
    return single ? byArg[0] : byArg;
  });
  return tree.unflatten(outTree, perOut);
}

const sizeOf = (x: { shape: readonly number[] }): number => x.shape.reduce((n, d) => n * d, 1);

/**
 * The Jacobian by forward mode: one JVP per input element, vectorised with vmap. For an output of
 * shape `O` and an input of shape `I`, the block has shape `[...O, ...I]`.
 * @example
 * jacfwd((x: NDArray) => np.sin(x))(np.array([0, 1])); // diag(cos([0, 1]))
 */
export function jacfwd<J = NDArray>(
  f: (...args: never[]) => unknown,
  options: JacobianOptions = {},
): (...args: unknown[]) => J {
  return (...args: unknown[]): J => {
    const prepared = prepare("jacfwd", f, options, args);
    const total = prepared.leaves.reduce((n, l) => n + sizeOf(l), 0);
    const directions = basis(total, prepared.leaves);
    let outTree: tree.TreeDef | undefined;
    const [tangents, axes] = vmapFlat(
      (ts) => {
        const [po, to, tr] = jvpFlat(prepared.flatF, prepared.leaves, ts);
        outTree = tr;
        return to.map((t, i) => t ?? ops.zerosLike(po[i]!));
      },
      directions,
      directions.map(() => 0),
    );
    const outs = tangents.map((t, i) =>
      axes[i] === null ? ops.broadcastAxis(t, 0, total) : ops.moveAxis(t, axes[i]!, 0),
    );
    const offsets = prefixSums(prepared.leaves.map(sizeOf));
    return assemble(
      prepared,
      outTree!,
      outs.length,
      typeof options.argnums !== "object",
      (o, i) => {
        const out = outs[o]!;
        const inShape = prepared.leaves[i]!.shape;
        const block = rows(out, offsets[i]!, offsets[i]! + sizeOf(prepared.leaves[i]!));
        // [inSize, ...outShape] → [...outShape, ...inShape]
        const outShape = out.shape.slice(1);
        const moved = ops.moveAxis(block, 0, outShape.length);
        return ops.reshape(moved, [...outShape, ...inShape]);
      },
    ) as J;
  };
}

function prefixSums(sizes: readonly number[]): number[] {
  const out: number[] = [];
  let s = 0;
  for (const n of sizes) {
    out.push(s);
    s += n;
  }
  return out;
}

/**
 * The Jacobian by reverse mode: one VJP per output element, vectorised with vmap. Blocks have
 * shape `[...O, ...I]`, as with `jacfwd`.
 */
export function jacrev<J = NDArray>(
  f: (...args: never[]) => unknown,
  options: JacobianOptions = {},
): (...args: unknown[]) => J {
  return (...args: unknown[]): J => {
    const prepared = prepare("jacrev", f, options, args);
    const lin = linearizeFlat(prepared.flatF, prepared.leaves);
    const outs = lin.outs;
    const total = outs.reduce((n, o) => n + sizeOf(o), 0);
    outs.forEach((o) => {
      if (!isFloating(o.dtype))
        throw new DtypeError("jacrev", `outputs must be float, but one has dtype ${o.dtype}.`);
    });
    const cotangents = basis(
      total,
      outs.map((o) => ({ shape: o.shape, dtype: o.dtype })),
    );
    const [cts, axes] = vmapFlat(
      (cs) =>
        transposeProgram(lin.program, cs).map(
          (c, i) => c ?? ops.zerosLike(lin.program.invars[i]!.aval),
        ),
      cotangents,
      cotangents.map(() => 0),
    );
    const grads = cts.map((c, i) =>
      axes[i] === null ? ops.broadcastAxis(c, 0, total) : ops.moveAxis(c, axes[i]!, 0),
    );
    const offsets = prefixSums(outs.map(sizeOf));
    return assemble(
      prepared,
      lin.outTree,
      outs.length,
      typeof options.argnums !== "object",
      (o, i) => {
        const block = rows(grads[i]!, offsets[o]!, offsets[o]! + sizeOf(outs[o]!));
        return ops.reshape(block, [...outs[o]!.shape, ...prepared.leaves[i]!.shape]);
      },
    ) as J;
  };
}

/**
 * The Hessian: `jacfwd(jacrev(f))`. For a scalar function of `x` with shape `I`, shape `[...I, ...I]`.
 * @example
 * hessian((x: NDArray) => x.mul(x).sum())(np.array([1, 2])); // 2 * eye(2)
 */
export function hessian<H = NDArray>(
  f: (...args: never[]) => unknown,
  options: JacobianOptions = {},
): (...args: unknown[]) => H {
  return jacfwd<H>(jacrev(f, options) as (...args: never[]) => unknown, options);
}

/**
 * The shapes and dtypes `f` would return for these arguments, without computing anything.
 * @example
 * evalShape((x: NDArray) => np.matmul(x, x.T), np.ones([3, 4])); // AbstractValue f32[3,3]
 */
export function evalShape(f: (...args: never[]) => unknown, ...args: unknown[]): unknown {
  const [leaves, inTree] = tree.flatten(args);
  const avals = leaves.map((l) => leafAval("evalShape", l));
  const [program, outTree] = stage("evalShape", f, avals, inTree);
  return tree.unflatten(outTree, program.outAvals as AbstractValue[]);
}

/**
 * Structured control flow: `cond`, `switch`, `scan`, `foriLoop`, `whileLoop`, `map`, `select`.
 * Bodies are plain functions of pytrees; each is staged once into a sub-program (printed nested
 * in the IR), so the loop or branch works the same eagerly, under `jit`, `grad`, `jvp` and `vmap`.
 */
import type { AbstractValue } from "../core/aval.js";
import type { ArrayLike, NDArray } from "../core/array.js";
import { ShapeError, TreeError, ValueError } from "../core/errors.js";
import { Program, Var } from "../core/ir.js";
import { bind, bind1 } from "../core/trace.js";
import { and } from "../primitives/binary.js";
import * as tree from "../core/tree.js";
import { asArray, convert } from "../numpy/convert.js";
import * as ops from "../primitives/ops.js";
import { stage } from "../transforms/staging.js";
import { checkpoint } from "../transforms/custom.js";
import { toArrayLeaf } from "../transforms/leaves.js";
import { cond as condP, scan as scanP, whileLoop as whileP } from "./control-primitives.js";
import { closeProgram, type Closed } from "./programs.js";

/** A function's name for messages: `"stepFn"`, or the role when it has none. */
const nameOf = (f: unknown, role: string): string => {
  const name = typeof f === "function" ? f.name : "";
  return name === "" || name === "anonymous" ? role : `${role} ${name}`;
};

const typesText = (avals: readonly AbstractValue[]): string =>
  avals.map((a) => a.toString()).join(", ");

/** `x != 0` as bool (bool stays as it is). */
const nonzero = (x: NDArray): NDArray =>
  x.dtype === "bool" ? x : ops.not(ops.eq(x, ops.constant(0, x.dtype, x.weakType)));

function checkFunction(operation: string, f: unknown, role: string): void {
  if (typeof f !== "function") {
    throw new ValueError(operation, `the ${role} must be a function, got ${typeof f}.`);
  }
}

/** Leaves of a pytree as arrays (numbers become weak scalars). */
function arrayLeaves(operation: string, value: unknown, role: string): [NDArray[], tree.TreeDef] {
  const [leaves, treedef] = tree.flatten(value);
  return [leaves.map((leaf) => toArrayLeaf(operation, leaf, role)), treedef];
}

interface Traced extends Closed {
  outTree: tree.TreeDef;
}

/** Stages `f` on arguments of these types and structure; its captures become leading inputs. */
function trace(
  operation: string,
  f: (...args: never[]) => unknown,
  avals: readonly AbstractValue[],
  inTree: tree.TreeDef,
): Traced {
  const [program, outTree] = stage(operation, f, avals, inTree);
  return { ...closeProgram(program), outTree };
}

/** Checks that a body returned the structure and types it must. */
function checkSame(
  operation: string,
  what: string,
  expected: { tree: tree.TreeDef; avals: readonly AbstractValue[]; label: string },
  got: { tree: tree.TreeDef; avals: readonly AbstractValue[]; label: string },
): void {
  if (!expected.tree.equals(got.tree)) {
    throw new TreeError(
      operation,
      `${what} differ in structure:\n  ${expected.label}: ${expected.tree.toString()}\n  ${got.label}: ${got.tree.toString()}`,
    );
  }
  if (!expected.avals.every((a, i) => a.equals(got.avals[i]!))) {
    throw new ShapeError(
      operation,
      `${what} differ in shape or dtype:\n  ${expected.label}: ${typesText(expected.avals)}\n  ${got.label}: ${typesText(got.avals)}`,
    );
  }
}

// ── cond, switch ───────────────────────────────────────────────────────────────────────────

function branchesCall(
  operation: string,
  index: NDArray,
  fns: readonly ((...args: never[]) => unknown)[],
  labels: readonly string[],
  operands: readonly unknown[],
): unknown {
  const [leaves, inTree] = arrayLeaves(operation, operands, "operand");
  const avals = leaves.map((x) => x.aval);
  const traced = fns.map((f) => trace(operation, f, avals, inTree));
  traced.forEach((t, i) => {
    checkSame(
      operation,
      "the branches' results",
      { tree: traced[0]!.outTree, avals: traced[0]!.program.outAvals, label: labels[0]! },
      { tree: t.outTree, avals: t.program.outAvals, label: labels[i]! },
    );
  });
  // Every branch takes every branch's captured values (ignoring the others').
  const captured = traced.flatMap((t) => t.consts);
  const branches = traced.map((t, i) => {
    const before = traced.slice(0, i).flatMap((o) => o.consts.map((c) => new Var(c.aval)));
    const after = traced.slice(i + 1).flatMap((o) => o.consts.map((c) => new Var(c.aval)));
    const { program } = t;
    return new Program(
      program.constvars,
      program.consts,
      [
        ...before,
        ...program.invars.slice(0, t.consts.length),
        ...after,
        ...program.invars.slice(t.consts.length),
      ],
      program.equations,
      program.outputs,
    );
  });
  const outs = bind(condP, [index, ...captured, ...leaves], { branches });
  return tree.unflatten(traced[0]!.outTree, outs);
}

/**
 * `trueFn(...operands)` if `pred` is true (nonzero), else `falseFn(...operands)`. Both branches
 * are staged (they must return the same structure, shapes and dtypes); only the taken one runs,
 * unless `pred` is batched under `vmap` (then both run and the results are selected per
 * example). Differentiable in the operands.
 *
 * @example
 * const f = (x: NDArray) => lax.cond(x.sum().gt(0), (v: NDArray) => v.mul(2), (v: NDArray) => v.neg(), x);
 * console.log(f(np.array([1, 2])).toList()); // [2, 4]
 * console.log(grad((x: NDArray) => f(x).sum())(np.array([-1, -2])).toList()); // [-1, -1]
 */
export function cond<T>(
  pred: ArrayLike,
  trueFn: (...operands: never[]) => T,
  falseFn: (...operands: never[]) => T,
  ...operands: unknown[]
): T {
  checkFunction("lax.cond", trueFn, "true branch");
  checkFunction("lax.cond", falseFn, "false branch");
  const p = asArray("lax.cond", pred);
  if (p.ndim !== 0) {
    throw new ShapeError(
      "lax.cond",
      `the predicate must be a scalar, got shape [${p.shape.join(", ")}]. Use np.where for elementwise choices.`,
    );
  }
  const index = convert(nonzero(p), "int32");
  return branchesCall(
    "lax.cond",
    index,
    [falseFn, trueFn],
    [nameOf(falseFn, "false branch"), nameOf(trueFn, "true branch")],
    operands,
  ) as T;
}

/**
 * `branches[index](...operands)`. The index is clamped to the branches (as in JAX): below 0
 * runs the first, past the end the last.
 *
 * @example
 * const pick = (i: number, x: NDArray) =>
 *   lax.switch(i, [(v: NDArray) => v, (v: NDArray) => v.mul(10), (v: NDArray) => v.neg()], x);
 * console.log(pick(1, np.array([1, 2])).toList()); // [10, 20]
 * console.log(pick(7, np.array([1, 2])).toList()); // [-1, -2] (clamped to the last)
 */
export function switchBranches<T>(
  index: ArrayLike,
  branches: readonly ((...operands: never[]) => T)[],
  ...operands: unknown[]
): T {
  if (!Array.isArray(branches) || branches.length === 0) {
    throw new ValueError("lax.switch", "needs a non-empty array of branch functions.");
  }
  branches.forEach((b, i) => checkFunction("lax.switch", b, `branch ${i}`));
  const i = asArray("lax.switch", index);
  const integral =
    i.dtype === "int32" ||
    i.dtype === "uint32" ||
    (typeof index === "number" && Number.isInteger(index));
  if (i.ndim !== 0 || !integral) {
    throw new ShapeError(
      "lax.switch",
      `the index must be an integer scalar, got ${i.aval.toString()}.`,
    );
  }
  return branchesCall(
    "lax.switch",
    convert(i, "int32"),
    branches,
    branches.map((b, k) => nameOf(b, `branch ${k}`)),
    operands,
  ) as T;
}

// ── scan, map, foriLoop ────────────────────────────────────────────────────────────────────

export interface ScanOptions {
  /** The number of steps; required when `xs` is null, else it must equal their leading length. */
  length?: number;
  /** Walk `xs` from the last slice to the first (the stacked `ys` keep `xs`' order). */
  reverse?: boolean;
}

/** Carry leaves as strongly typed arrays (the carry's type is fixed through the loop). */
const strong = (leaves: readonly NDArray[]): NDArray[] =>
  leaves.map((x) => (x.weakType ? ops.convert(x, x.dtype, false) : x));

/**
 * Weakly typed carry leaves (JS numbers) converted to the dtype the body returns for them, as
 * JAX promotes them (`scan((c, x) => [c.add(x), …], 0, floats)` carries floats); `undefined` when
 * nothing changes.
 */
function promoteWeak(
  weak: readonly boolean[],
  carry: readonly NDArray[],
  out: readonly AbstractValue[],
): NDArray[] | undefined {
  const change = carry.map(
    (c, i) =>
      weak[i] === true &&
      out[i] !== undefined &&
      out[i]!.dtype !== c.dtype &&
      out[i]!.shape.length === c.ndim &&
      out[i]!.shape.every((d, k) => d === c.shape[k]),
  );
  if (!change.some(Boolean)) return undefined;
  return carry.map((c, i) => (change[i] ? ops.convert(c, out[i]!.dtype, false) : c));
}

/** Checks a loop body's new carry against the carry it got (structure, shapes, dtypes). */
function checkCarry(operation: string, body: unknown, before: unknown, after: unknown): void {
  const [inLeaves, inTree] = arrayLeaves(operation, before, "carry");
  const [outLeaves, outTree] = tree.flatten(after);
  const outAvals = outTree.equals(inTree)
    ? outLeaves.map((l) => toArrayLeaf(operation, l, "carry").aval)
    : [];
  checkSame(
    operation,
    `the carry going into and out of the ${nameOf(body, "body")}`,
    { tree: inTree, avals: inLeaves.map((x) => x.aval), label: "in " },
    { tree: outTree, avals: outAvals, label: "out" },
  );
}

/**
 * Loops `f(carry, x) → [carry, y]` over the leading axis of `xs`, returning the final carry and
 * the `y`s stacked: `jax.lax.scan`. `xs` and `ys` are pytrees; `xs` may be null (give `length`).
 * Differentiable (reverse mode runs a scan backwards over saved residuals) and batchable.
 *
 * @example
 * const cumsum = (xs: NDArray) => lax.scan((c: NDArray, x: NDArray) => [c.add(x), c.add(x)], np.array(0), xs);
 * const [total, running] = cumsum(np.array([1, 2, 3, 4]));
 * console.log(total.item(), running.toList()); // 10 [1, 3, 6, 10]
 */
export function scan<C, X, Y>(
  f: (carry: C, x: X) => readonly [C, Y],
  init: C,
  xs?: X | null,
  options: ScanOptions = {},
): [C, Y] {
  const operation = "lax.scan";
  checkFunction(operation, f, "body");
  const [initLeaves, carryTree] = arrayLeaves(operation, init, "carry");
  const weak = initLeaves.map((x) => x.weakType);
  let carry = strong(initLeaves);
  const [xLeaves, xTree] = arrayLeaves(operation, xs ?? null, "xs");
  const lengths = xLeaves.map((x) => (x.ndim === 0 ? undefined : x.shape[0]));
  if (xLeaves.some((x) => x.ndim === 0)) {
    throw new ShapeError(
      operation,
      `every xs leaf needs a leading axis to scan over; one is a scalar.`,
    );
  }
  const length = options.length ?? lengths[0];
  if (length === undefined) {
    throw new ValueError(operation, "with no xs, pass { length } (the number of steps).");
  }
  if (!Number.isInteger(length) || length < 0) {
    throw new ValueError(operation, `length must be a whole number ≥ 0, got ${length}.`);
  }
  if (lengths.some((n) => n !== length)) {
    throw new ShapeError(
      operation,
      `the xs leaves disagree on the leading length${options.length === undefined ? "" : ` (length: ${length})`}: ${xLeaves.map((x) => `[${x.shape.join(", ")}]`).join(", ")}.`,
    );
  }
  const sliceAvals = xLeaves.map((x) => x.aval.withShape(x.shape.slice(1)));
  let carryAvals = carry.map((c) => c.aval);
  const [, argsTree] = tree.flatten([
    tree.unflatten(carryTree, carry),
    tree.unflatten(xTree, xLeaves),
  ]);
  const body = (c: C, x: X): unknown => {
    const out = f(c, x);
    if (!Array.isArray(out) || out.length !== 2) {
      throw new TreeError(
        operation,
        `the ${nameOf(f, "body")} must return [carry, y] (y may be null), got ${Array.isArray(out) ? `an array of ${out.length}` : typeof out}.`,
      );
    }
    return out;
  };
  let traced = trace(operation, body as never, [...carryAvals, ...sliceAvals], argsTree);
  const nk = carry.length;
  // A weakly typed init (a JS number) takes the type the body gives the carry, as in JAX.
  const promoted = promoteWeak(weak, carry, traced.program.outAvals.slice(0, nk));
  if (promoted !== undefined) {
    carry = promoted;
    carryAvals = carry.map((c) => c.aval);
    traced = trace(operation, body as never, [...carryAvals, ...sliceAvals], argsTree);
  }
  // The output is [carry, y]: check the carry part.
  const [outCarryTree, yTree] = splitPair(traced.outTree);
  checkSame(
    operation,
    `the carry going into and out of the ${nameOf(f, "body")}`,
    { tree: carryTree, avals: carryAvals, label: "in " },
    { tree: outCarryTree, avals: traced.program.outAvals.slice(0, nk), label: "out" },
  );
  const outs = bind(scanP, [...traced.consts, ...carry, ...xLeaves], {
    body: traced.program,
    length,
    reverse: options.reverse ?? false,
    numConsts: traced.consts.length,
    numCarry: nk,
  });
  return [
    tree.unflatten(carryTree, outs.slice(0, nk)) as C,
    tree.unflatten(yTree, outs.slice(nk)) as Y,
  ];
}

/** The structures of `[a, b]` from the structure of the pair. */
function splitPair(pair: tree.TreeDef): [tree.TreeDef, tree.TreeDef] {
  const placeholder = tree.unflatten(pair, new Array(pair.numLeaves).fill(0)) as [unknown, unknown];
  return [tree.structure(placeholder[0]), tree.structure(placeholder[1])];
}

/**
 * `f` applied to each slice of `xs` along its leading axis, results stacked: `jax.lax.map`
 * (a scan, so one staged body rather than a JS loop under `jit`).
 *
 * @example
 * console.log(lax.map((row: NDArray) => row.sum(), np.ones([3, 4])).toList()); // [4, 4, 4]
 */
export function map<X, Y>(f: (x: X) => Y, xs: X): Y {
  checkFunction("lax.map", f, "function");
  return scan((_: null, x: X) => [null, f(x)] as const, null, xs)[1];
}

/**
 * `for (i = lower; i < upper; i++) carry = body(i, carry)`, returning the final carry. With JS
 * numbers as bounds the trip count is static and this is a scan (differentiable both ways);
 * with array bounds it is a while loop (forward-mode only).
 *
 * @example
 * const factorial = (n: number) => lax.foriLoop(1, n + 1, (i: NDArray, acc: NDArray) => acc.mul(i), np.array(1));
 * console.log(factorial(5).item()); // 120
 */
export function foriLoop<C>(
  lower: number | NDArray,
  upper: number | NDArray,
  body: (i: NDArray, carry: C) => C,
  init: C,
): C {
  checkFunction("lax.foriLoop", body, "body");
  const checkedBody = (i: NDArray, c: C): C => {
    const next = body(i, c);
    checkCarry("lax.foriLoop", body, c, next);
    return next;
  };
  if (typeof lower === "number" && typeof upper === "number") {
    if (!Number.isInteger(lower) || !Number.isInteger(upper)) {
      throw new ValueError(
        "lax.foriLoop",
        `the bounds must be whole numbers, got ${lower} and ${upper}.`,
      );
    }
    const start = ops.constant(lower, "int32", false);
    const [[, final]] = scan(
      ([i, c]: [NDArray, C]): [[NDArray, C], null] => [
        [ops.add(i, ops.constant(1, "int32", false)), checkedBody(i, c)],
        null,
      ],
      [start, init] as [NDArray, C],
      null,
      { length: Math.max(0, upper - lower) },
    ) as unknown as [[NDArray, C]];
    return final;
  }
  const lo = convert(asArray("lax.foriLoop", lower), "int32");
  const hi = convert(asArray("lax.foriLoop", upper), "int32");
  const [, , final] = whileLoop(
    ([i, n]: [NDArray, NDArray, C]) => ops.lt(i, n),
    ([i, n, c]: [NDArray, NDArray, C]) =>
      [ops.add(i, ops.constant(1, "int32", false)), n, checkedBody(i, c)] as [NDArray, NDArray, C],
    [lo, hi, init] as [NDArray, NDArray, C],
  );
  return final;
}

// ── whileLoop ──────────────────────────────────────────────────────────────────────────────

export interface WhileLoopOptions {
  /**
   * An upper bound on the number of steps. With it the loop is a scan of `maxSteps` steps in
   * which finished steps keep the carry, so reverse mode (`grad`, `vjp`) works (memory grows
   * with `maxSteps`); without it only forward mode does. A loop that has not finished after
   * `maxSteps` steps returns the carry it has.
   */
  maxSteps?: number;
  /**
   * With `maxSteps`: keep at most about this many carries per level for the backward pass
   * (recursive checkpointing; see `whileLoop`). Default: every step's values are kept.
   */
  checkpoints?: number;
}

/**
 * `while (cond(carry)) carry = body(carry)`, returning the final carry: `jax.lax.while_loop`.
 * `cond` returns a scalar (true/nonzero to go on). Differentiable in forward mode; give
 * `maxSteps` for reverse mode. Under `vmap` with a batched condition, it runs until every example
 * has stopped (each keeps its own final carry).
 *
 * @example
 * const halve = (x: NDArray) => lax.whileLoop((v: NDArray) => v.gt(1), (v: NDArray) => v.div(2), x);
 * console.log(halve(np.array(40)).item()); // 0.625
 */
export function whileLoop<C>(
  condFn: (carry: C) => ArrayLike,
  body: (carry: C) => C,
  init: C,
  options: WhileLoopOptions = {},
): C {
  const operation = "lax.whileLoop";
  checkFunction(operation, condFn, "condition");
  checkFunction(operation, body, "body");
  const [initLeaves, carryTree] = arrayLeaves(operation, init, "carry");
  let carry = strong(initLeaves);
  // The functions take one argument: the carry.
  const argsTree = tree.structure([tree.unflatten(carryTree, carry)]);
  let bodyTraced = trace(
    operation,
    body as never,
    carry.map((c) => c.aval),
    argsTree,
  );
  const promoted = promoteWeak(
    initLeaves.map((x) => x.weakType),
    carry,
    bodyTraced.program.outAvals,
  );
  if (promoted !== undefined) {
    carry = promoted;
    bodyTraced = trace(
      operation,
      body as never,
      carry.map((c) => c.aval),
      argsTree,
    );
  }
  const carryAvals = carry.map((c) => c.aval);
  const predicate = (c: C): NDArray => {
    const p = asArray(operation, condFn(c));
    if (p.ndim !== 0) {
      throw new ShapeError(
        operation,
        `the ${nameOf(condFn, "condition")} must return a scalar, got shape [${p.shape.join(", ")}].`,
      );
    }
    return p.dtype === "bool" ? p : nonzero(p);
  };
  if (options.maxSteps !== undefined) {
    const checked = (c: C): C => {
      const next = body(c);
      checkCarry(operation, body, c, next);
      return next;
    };
    return boundedLoop(
      operation,
      predicate,
      checked,
      tree.unflatten(carryTree, carry) as C,
      options,
    );
  }
  const condTraced = trace(operation, ((c: C) => predicate(c)) as never, carryAvals, argsTree);
  checkSame(
    operation,
    `the carry going into and out of the ${nameOf(body, "body")}`,
    { tree: carryTree, avals: carryAvals, label: "in " },
    { tree: bodyTraced.outTree, avals: bodyTraced.program.outAvals, label: "out" },
  );
  const outs = bind(whileP, [...condTraced.consts, ...bodyTraced.consts, ...carry], {
    cond: condTraced.program,
    body: bodyTraced.program,
    condConsts: condTraced.consts.length,
    bodyConsts: bodyTraced.consts.length,
  });
  return tree.unflatten(carryTree, outs) as C;
}

/**
 * `whileLoop` with `maxSteps`: scans of masked steps (a step that finds the condition false, or
 * comes after `maxSteps`, keeps the carry), so reverse mode works. With `checkpoints` = c the
 * steps are cut into c segments, each checkpointed (only its starting carry is kept; the
 * backward pass recomputes it), recursively while a segment is longer than c: memory about
 * c·log_c(maxSteps) carries instead of maxSteps, for about log_c(maxSteps) extra forward passes.
 */
function boundedLoop<C>(
  operation: string,
  predicate: (c: C) => NDArray,
  body: (c: C) => C,
  init: C,
  options: WhileLoopOptions,
): C {
  const maxSteps = options.maxSteps!;
  if (!Number.isInteger(maxSteps) || maxSteps < 0) {
    throw new ValueError(operation, `maxSteps must be a whole number ≥ 0, got ${maxSteps}.`);
  }
  const slots = options.checkpoints;
  if (slots !== undefined && (!Number.isInteger(slots) || slots < 2)) {
    throw new ValueError(operation, `checkpoints must be a whole number ≥ 2, got ${slots}.`);
  }
  const limit = ops.constant(maxSteps, "int32", false);
  const one = ops.constant(1, "int32", false);
  type State = [NDArray, C];
  // One masked step; the step count stops the loop at maxSteps however the segments round.
  const step = ([k, c]: State): [State, null] => {
    const going = bind1(and, [predicate(c), ops.lt(k, limit)], {});
    const next = body(c);
    const [nextLeaves] = tree.flatten(next);
    const [leaves, treedef] = tree.flatten(c);
    const chosen = leaves.map((l, i) => {
      const a = toArrayLeaf(operation, l, "carry");
      const b = toArrayLeaf(operation, nextLeaves[i], "carry");
      return ops.select(ops.fill(going, a.shape), b, a);
    });
    return [[ops.add(k, one), tree.unflatten(treedef, chosen) as C], null];
  };
  const run = (steps: number, state: State): State => {
    if (slots === undefined || steps <= slots) {
      return scan(step, state, null, { length: steps })[0];
    }
    const length = Math.ceil(steps / slots);
    const segment = checkpoint((s: State): State => run(length, s));
    return scan((s: State): [State, null] => [segment(s), null], state, null, {
      length: Math.ceil(steps / length),
    })[0];
  };
  return run(maxSteps, [ops.constant(0, "int32", false), init])[1];
}

// ── select ─────────────────────────────────────────────────────────────────────────────────

/**
 * Elementwise `pred ? onTrue : onFalse` for a bool `pred` of the operands' shape (or a scalar):
 * `jax.lax.select` (no broadcasting of the operands; `np.where` broadcasts).
 *
 * @example
 * console.log(lax.select(np.array([true, false]), np.array([1, 2]), np.array([3, 4])).toList()); // [1, 4]
 */
export function select(pred: ArrayLike, onTrue: ArrayLike, onFalse: ArrayLike): NDArray {
  const p = asArray("lax.select", pred);
  const a = asArray("lax.select", onTrue, 1);
  const b = asArray("lax.select", onFalse, 2);
  if (p.dtype !== "bool") {
    throw new ShapeError("lax.select", `the predicate must be bool, got ${p.aval.toString()}.`);
  }
  if (!a.aval.equals(b.aval)) {
    throw new ShapeError(
      "lax.select",
      `both cases need the same shape and dtype, got ${a.aval.toString()} and ${b.aval.toString()}.`,
    );
  }
  if (p.ndim !== 0 && (p.ndim !== a.ndim || !p.shape.every((d, i) => d === a.shape[i]))) {
    throw new ShapeError(
      "lax.select",
      `the predicate must be a scalar or have the cases' shape [${a.shape.join(", ")}], got [${p.shape.join(", ")}].`,
    );
  }
  return ops.select(ops.fill(p, a.shape), a, b);
}

/**
 * `BacksolveAdjoint`: reverse mode by the continuous adjoint ("optimise then discretise"). The
 * forward solve keeps nothing but the saved values; the backward pass solves the augmented system
 *
 *   dy/dt = f(t, y, θ),   da/dt = −a·∂f/∂y,   dg/dt = −a·∂f/∂θ
 *
 * from `t1` back to `t0` with the same solver and step-size controller, starting from
 * `y(t1)`, `a(t1) = ∂L/∂y(t1)` and `g(t1) = 0`; then `∂L/∂y0 = a(t0)` and `∂L/∂θ = g(t0)`.
 * `θ` is the float arrays in `args`. Memory does not grow with the number of steps.
 */
import { NDArray } from "../core/array.js";
import { isFloating } from "../core/dtype.js";
import { SolverError } from "../core/errors.js";
import * as tree from "../core/tree.js";
import * as np from "../numpy/index.js";
import { customVjp } from "../transforms/custom.js";
import { vjp } from "../transforms/grad.js";
import { ForwardMode, type Adjoint } from "./adjoints.js";
import type { SolveOptions } from "./options.js";
import { SaveAt } from "./save.js";
import { Solution } from "./solution.js";
import { StepTo } from "./step-size.js";
import { concreteValue } from "./tree-math.js";
import type { PyTree, Term } from "./types.js";

const owner = "ode.BacksolveAdjoint";

/**
 * Reverse mode (`grad`, `vjp`) by solving the adjoint equations backwards in time, as Diffrax's
 * `BacksolveAdjoint`: memory is constant in the number of steps, since the forward solve keeps
 * nothing for the backward pass. Gradients flow to `y0` and to the float arrays in `args`
 * (not to the times, nor to arrays a vector field captures in a closure). Works with `SaveAt`
 * `t0`, `t1` and `ts` (not `steps` or `dense`), and without events.
 *
 * Known inexactness: the gradient is that of the exact solution, approximated by a second
 * solve, so it is accurate only to about the solver's tolerance (it is not the exact gradient of
 * the computed solution, as `RecursiveCheckpointAdjoint`'s is); and `y` is reconstructed by
 * solving backwards in time, which is unstable for problems that contract strongly forwards
 * (e.g. stiff ones: their backward solve blows up). The state is reset to the forward solve's
 * saved values at each time in `SaveAt({ ts })`, which limits the drift between save times.
 *
 * @example
 * // d/dk of y(1) for y' = −k·y, y(0) = 1: −e^{−k} (= −0.6065 at k = 0.5).
 * const final = (k: NDArray) =>
 *   (
 *     ode.solve({
 *       terms: new ode.ODETerm((t: NDArray, y: NDArray, a: { k: NDArray }) => y.mul(a.k).neg()),
 *       solver: new ode.Tsit5(),
 *       t0: 0,
 *       t1: 1,
 *       dt0: 0.1,
 *       y0: np.array([1], { dtype: "float64" }),
 *       args: { k },
 *       stepSizeController: new ode.PIDController({ rtol: 1e-8, atol: 1e-8 }),
 *       adjoint: new ode.BacksolveAdjoint(),
 *     }).ys as NDArray
 *   ).sum();
 * console.log(grad(final)(np.array(0.5, { dtype: "float64" })).item().toFixed(4)); // -0.6065
 */
export class BacksolveAdjoint implements Adjoint {
  readonly name = "BacksolveAdjoint";
  /** The loop of each of its solves: `ForwardMode`'s (nothing is kept for reverse mode). */
  readonly loop: Adjoint["loop"];

  constructor() {
    const forward = new ForwardMode();
    this.loop = forward.loop.bind(forward);
  }
}

/** `args` split into the float arrays that gradients flow to and a function that puts them back. */
function splitArgs(args: unknown): [NDArray[], (params: readonly NDArray[]) => unknown] {
  const [leaves, treedef] = tree.flatten(args);
  const positions: number[] = [];
  leaves.forEach((leaf, i) => {
    if (leaf instanceof NDArray && isFloating(leaf.dtype)) positions.push(i);
  });
  const params = positions.map((i) => leaves[i] as NDArray);
  const rebuild = (values: readonly NDArray[]): unknown => {
    const filled = [...leaves];
    positions.forEach((position, k) => (filled[position] = values[k]));
    return tree.unflatten(treedef, filled);
  };
  return [params, rebuild];
}

const zerosLike = (x: PyTree): PyTree => tree.map((leaf: NDArray) => np.zerosLike(leaf), x);
const addTrees = (a: PyTree, b: PyTree): PyTree =>
  tree.map((x: NDArray, y: NDArray) => x.add(y), a, b);
/** Row `i` of each leaf (leaves stacked along a leading time axis). */
const row = (stacked: PyTree, i: number): PyTree =>
  tree.map((leaf: NDArray) => leaf.get(i), stacked);
/** Rows `[0, n)` of each leaf. */
const firstRows = (stacked: PyTree, n: number): PyTree =>
  tree.map((leaf: NDArray) => leaf.get(np.slice(0, n)), stacked);

/** The augmented state of the backward solve. */
interface Augmented {
  y: PyTree;
  a: PyTree;
  g: NDArray[];
}

/** `d(y, a, g)/dt` of the adjoint system, with the parameters `θ` passed as args. */
function adjointTerm(term: Term, rebuild: (params: readonly NDArray[]) => unknown): Term {
  return {
    vf: (t: NDArray, state: PyTree, params: unknown): PyTree => {
      const { y, a } = state as Augmented;
      const [fy, pullback] = vjp(
        (yy: PyTree, pp: NDArray[]) => term.vf(t, yy, rebuild(pp)),
        y,
        params as NDArray[],
      );
      const [ay, ap] = pullback(a) as [PyTree, NDArray[]];
      return {
        y: fy,
        a: tree.map((x: NDArray) => x.neg(), ay),
        g: ap.map((x) => x.neg()),
      };
    },
  };
}

/**
 * Options of the solves a backsolve runs (the forward one and each backward segment): plain
 * loops (nothing kept for reverse mode), failures reported in `result` rather than thrown.
 */
function innerOptions(options: SolveOptions, changes: Partial<SolveOptions>): SolveOptions {
  return { ...options, adjoint: new ForwardMode(), throwOnFailure: false, ...changes };
}

/**
 * A solve differentiated by the continuous adjoint: `solveWith` runs one solve (the driver's,
 * without failure handling); this wraps the forward solve in a `customVjp` whose backward pass
 * solves the adjoint system backwards in segments between the saved times (resetting `y` to the
 * saved values, adding each time's cotangent to `a`).
 *
 * @param options the user's solve options (with `adjoint: new BacksolveAdjoint()`).
 * @param solveWith the driver's solve, called for the forward solve and each backward segment.
 * @returns the forward solve's `Solution`, whose `ys` are differentiable in `y0` and `args`.
 */
export function backsolveSolve(
  options: SolveOptions,
  solveWith: (options: SolveOptions) => Solution,
): Solution {
  const saveAt = options.saveAt ?? new SaveAt();
  if (saveAt.steps || saveAt.dense) {
    throw new SolverError(
      owner,
      "supports SaveAt({ t0, t1, ts }) only, not steps or dense (the backward pass needs the saved times in advance). Use RecursiveCheckpointAdjoint for those.",
    );
  }
  if (options.event !== undefined) {
    throw new SolverError(
      owner,
      "does not support events. Use RecursiveCheckpointAdjoint to differentiate a solve that stops at an event.",
    );
  }
  const controller = options.stepSizeController;
  if (controller instanceof StepTo && saveAt.ts !== null) {
    throw new SolverError(
      owner,
      "with StepTo, save only t0 and t1 (the backward pass retraces StepTo's steps in one piece).",
    );
  }
  const [params, rebuild] = splitArgs(options.args);
  // The forward solve always keeps y(t1): the backward pass starts there.
  const forwardSaveAt = new SaveAt({
    t0: saveAt.t0,
    ...(saveAt.ts === null ? {} : { ts: saveAt.ts }),
    t1: true,
  });
  const userRows = (saveAt.t0 ? 1 : 0) + (saveAt.ts?.shape[0] ?? 0) + (saveAt.t1 ? 1 : 0);
  const solveForward = (y0: PyTree, values: NDArray[]): Solution =>
    solveWith(innerOptions(options, { y0, args: rebuild(values), saveAt: forwardSaveAt }));
  const userFacing = (sol: Solution): Solution => {
    if (saveAt.t1) return sol;
    return new Solution(
      {
        ...sol,
        ts: sol.ts === null || userRows === 0 ? null : sol.ts.get(np.slice(0, userRows)),
        ys: sol.ys === null || userRows === 0 ? null : firstRows(sol.ys, userRows),
      },
      sol.solver,
    );
  };

  interface Residuals {
    ts: NDArray;
    ys: PyTree;
    values: NDArray[];
    t0: NDArray;
  }
  const solved = customVjp((y0: PyTree, values: NDArray[]) => userFacing(solveForward(y0, values)));
  solved.defVjp(
    (y0: PyTree, values: NDArray[]): [Solution, Residuals] => {
      const sol = solveForward(y0, values);
      return [userFacing(sol), { ts: sol.ts!, ys: sol.ys, values, t0: sol.t0 }];
    },
    (residuals: Residuals, cotangent: Solution): unknown[] =>
      backward(options, solveWith, rebuild, residuals, cotangent.ys, userRows),
  );
  return solved(options.y0, params);
}

/** The backward pass: `[∂L/∂y0, ∂L/∂θ]` from the cotangent of the saved values. */
function backward(
  options: SolveOptions,
  solveWith: (options: SolveOptions) => Solution,
  rebuild: (params: readonly NDArray[]) => unknown,
  residuals: { ts: NDArray; ys: PyTree; values: NDArray[]; t0: NDArray },
  cotangentYs: PyTree,
  userRows: number,
): unknown[] {
  const { ts, ys, values, t0 } = residuals;
  const rows = ts.shape[0]!;
  const term = adjointTerm(options.terms, rebuild);
  const dt0 = options.dt0 ?? null;
  const backwardDt0 = dt0 === null ? null : typeof dt0 === "number" ? -dt0 : dt0.neg();
  const controller =
    options.stepSizeController instanceof StepTo
      ? new StepTo({ ts: np.flip(options.stepSizeController.ts) })
      : options.stepSizeController;
  // The cotangent of row i (rows the user did not ask for get none).
  const cotangentRow = (i: number): PyTree =>
    i < userRows ? row(cotangentYs, i) : zerosLike(row(ys, i));

  let state: Augmented = {
    y: row(ys, rows - 1),
    a: zerosLike(row(ys, rows - 1)),
    g: values.map((v) => np.zerosLike(v)),
  };
  let time = ts.get(rows - 1);
  let failed: NDArray = np.array(false);
  for (let i = rows - 1; i >= -1; i--) {
    const target = i >= 0 ? ts.get(i) : t0;
    if (i < rows - 1 || i === -1) {
      const sol = solveWith(
        innerOptions(options, {
          terms: term,
          t0: time,
          t1: target,
          dt0: backwardDt0,
          y0: state,
          args: state.g.length === 0 ? [] : values,
          saveAt: new SaveAt({ t1: true }),
          stepSizeController: controller,
        }),
      );
      const end = row(sol.ys, 0) as Augmented;
      failed = np.logicalOr(failed, sol.result.ne(0));
      state = { y: end.y, a: end.a, g: end.g };
    }
    if (i >= 0) {
      // At a saved time: reset y to the forward solve's value and add that time's cotangent.
      state = { y: row(ys, i), a: addTrees(state.a, cotangentRow(i)), g: state.g };
    }
    time = target;
  }
  const code = concreteValue(failed);
  if (code === true) {
    throw new SolverError(
      owner,
      "the backward (adjoint) solve failed. Reconstructing y backwards in time is unstable for strongly contracting (stiff) problems: save more times with SaveAt({ ts }) (y is reset at each), or use RecursiveCheckpointAdjoint.",
    );
  }
  const guard = (x: NDArray): NDArray => (code === false ? x : np.where(failed, NaN, x));
  return [tree.map(guard, state.a), state.g.map(guard)];
}

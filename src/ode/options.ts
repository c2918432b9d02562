/**
 * `solve`'s options: their types, defaults, and the checks that turn a mistake into an error that
 * says what to change.
 */
import { NDArray } from "../core/array.js";
import type { DType } from "../core/dtype.js";
import { DtypeError, ValueError } from "../core/errors.js";
import * as tree from "../core/tree.js";
import * as np from "../numpy/index.js";
import { RecursiveCheckpointAdjoint, type Adjoint } from "./adjoints.js";
import type { Event } from "./events.js";
import { SaveAt } from "./save.js";
import { ConstantStepSize, StepTo, type StepSizeController } from "./step-size.js";
import { concreteValue } from "./tree-math.js";
import type { PyTree, Solver, Term } from "./types.js";

/** The options of `solve`. */
export interface SolveOptions {
  /** What to integrate: an `ODETerm`, or a `MultiTerm` of several. */
  terms: Term;
  /** How to step: `new ode.Tsit5()`, `new ode.Dopri5()`, … */
  solver: Solver;
  /** Start time (a number, or a float scalar array: traced under `jit`). */
  t0: number | NDArray;
  /** End time; below `t0` to solve backwards in time (with a negative `dt0`). */
  t1: number | NDArray;
  /** The first step (required by `ConstantStepSize`; chosen automatically by `PIDController`). */
  dt0?: number | NDArray | null;
  /** The initial state: a pytree of float arrays. */
  y0: PyTree;
  /** Passed to the vector field and the event condition as their third argument. */
  args?: unknown;
  /** What to save (default: the final state, `new SaveAt({ t1: true })`). */
  saveAt?: SaveAt;
  /** How steps are chosen (default `new ConstantStepSize()`). */
  stepSizeController?: StepSizeController;
  /** How the solve is differentiated (default `new RecursiveCheckpointAdjoint()`). */
  adjoint?: Adjoint;
  /** An event: stops the solve there (or, non-terminating, records its crossings in `sol.events`). */
  event?: Event;
  /** The most steps (accepted + rejected) before giving up (default 4096). */
  maxSteps?: number;
  /**
   * Throw a `SolverError` when the solve fails (default true). Under `jit` nothing can be thrown
   * at run time: the saved values are NaN instead, and `sol.result` says why.
   */
  throwOnFailure?: boolean;
}

/** The options, checked, with defaults filled in and times as arrays of the state's float dtype. */
export interface Normalized {
  terms: Term;
  solver: Solver;
  t0: NDArray;
  t1: NDArray;
  dt0: NDArray | null;
  y0: PyTree;
  args: unknown;
  saveAt: SaveAt;
  controller: StepSizeController;
  adjoint: Adjoint;
  event: Event | null;
  maxSteps: number;
  throwOnFailure: boolean;
  /** The dtype of times: float64 if any leaf of `y0` is, else float32. */
  timeDtype: DType;
  /** `1` or `-1` when known while tracing; an array when `t0`, `t1` are traced. */
  direction: number | NDArray;
}

const fail = (detail: string): never => {
  throw new ValueError("ode.solve", detail);
};

function isFloatDtype(dtype: DType): boolean {
  return dtype === "float32" || dtype === "float64";
}

/** `y0` with numbers as float32 arrays; non-float leaves are a `DtypeError`. */
function checkState(y0: PyTree): PyTree {
  const [leaves, treedef] = tree.flatten(y0);
  if (leaves.length === 0)
    fail("y0 has no arrays; pass the initial state, e.g. y0: np.array([1, 0]).");
  return tree.unflatten(
    treedef,
    leaves.map((leaf, i) => {
      if (typeof leaf === "number") return np.array(leaf);
      if (!(leaf instanceof NDArray)) {
        return fail(`every leaf of y0 must be an array or a number; leaf ${i} is ${typeof leaf}.`);
      }
      if (!isFloatDtype(leaf.dtype)) {
        throw new DtypeError(
          "ode.solve",
          `y0 must hold floats, but leaf ${i} is ${leaf.dtype}. Convert it, e.g. y0: x.astype("float64").`,
        );
      }
      return leaf;
    }),
  );
}

function timeArray(name: string, value: unknown, dtype: DType): NDArray {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) fail(`${name} must be finite, got ${value}.`);
    return np.array(value, { dtype });
  }
  if (value instanceof NDArray) {
    if (value.ndim !== 0) fail(`${name} must be a scalar, got shape [${value.shape.join(", ")}].`);
    const v = concreteValue(value);
    if (typeof v === "number" && !Number.isFinite(v)) fail(`${name} must be finite, got ${v}.`);
    return value.astype(dtype);
  }
  return fail(`${name} must be a number or a scalar array, got ${typeof value}.`);
}

/** Checks `options` and fills in the defaults. */
/**
 * An implicit solver whose Newton tolerances the user left unset takes the adaptive controller's
 * `rtol`/`atol`, as Diffrax's do; other solvers are returned as they are.
 */
function withNewtonTolerances(solver: Solver, controller: StepSizeController): Solver {
  const implicit = solver as Solver & {
    withControllerTolerances?: (t: { rtol: number; atol: number }) => Solver;
  };
  const tolerances = controller as Partial<{ rtol: number; atol: number }>;
  if (
    typeof implicit.withControllerTolerances !== "function" ||
    typeof tolerances.rtol !== "number" ||
    typeof tolerances.atol !== "number"
  ) {
    return solver;
  }
  return implicit.withControllerTolerances({ rtol: tolerances.rtol, atol: tolerances.atol });
}

export function normalize(options: SolveOptions): Normalized {
  if (typeof options !== "object" || options === null) {
    fail("expects an options object: solve({ terms, solver, t0, t1, dt0, y0, ... }).");
  }
  const { terms, solver } = options;
  if (typeof (terms as Partial<Term> | undefined)?.vf !== "function") {
    fail("terms must be a term, e.g. terms: new ode.ODETerm((t, y, args) => dy).");
  }
  const s = solver as Partial<Solver> | undefined;
  if (
    typeof s?.step !== "function" ||
    typeof s.init !== "function" ||
    typeof s.interpolate !== "function"
  ) {
    fail("solver must be a solver, e.g. solver: new ode.Tsit5().");
  }
  const y0 = checkState(options.y0);
  const timeDtype: DType = (tree.leaves(y0) as NDArray[]).some((l) => l.dtype === "float64")
    ? "float64"
    : "float32";
  const t0 = timeArray("t0", options.t0, timeDtype);
  const t1 = timeArray("t1", options.t1, timeDtype);
  const dt0 =
    options.dt0 === undefined || options.dt0 === null
      ? null
      : timeArray("dt0", options.dt0, timeDtype);
  const saveAt = options.saveAt ?? new SaveAt();
  if (!(saveAt instanceof SaveAt))
    fail("saveAt must be a SaveAt, e.g. saveAt: new ode.SaveAt({ ts }).");
  const controller = options.stepSizeController ?? new ConstantStepSize();
  if (typeof (controller as Partial<StepSizeController>).adapt !== "function") {
    fail(
      "stepSizeController must be a controller, e.g. new ode.PIDController({ rtol: 1e-6, atol: 1e-6 }).",
    );
  }
  controller.check(solver, dt0 !== null);
  const adjoint = options.adjoint ?? new RecursiveCheckpointAdjoint();
  if (typeof (adjoint as Partial<Adjoint>).loop !== "function") {
    fail(
      "adjoint must be an adjoint, e.g. new ode.RecursiveCheckpointAdjoint() or new ode.ForwardMode().",
    );
  }
  const maxSteps = options.maxSteps ?? 4096;
  if (!Number.isInteger(maxSteps) || maxSteps < 1) {
    fail(`maxSteps must be a whole number ≥ 1, got ${String(maxSteps)}.`);
  }
  const direction = checkDirection(t0, t1, dt0);
  checkTimes(saveAt, controller, t0, t1, direction);
  return {
    terms,
    solver: withNewtonTolerances(solver, controller),
    t0,
    t1,
    dt0,
    y0,
    args: options.args,
    saveAt,
    controller,
    adjoint,
    event: options.event ?? null,
    maxSteps,
    throwOnFailure: options.throwOnFailure ?? true,
    timeDtype,
    direction,
  };
}

/** `1` forwards, `-1` backwards (an array when the times are traced); checks dt0's sign. */
function checkDirection(t0: NDArray, t1: NDArray, dt0: NDArray | null): number | NDArray {
  const a = concreteValue(t0);
  const b = concreteValue(t1);
  const h = dt0 === null ? undefined : concreteValue(dt0);
  if (h !== undefined && h === 0)
    fail("dt0 must not be 0; give the first step's size, e.g. dt0: 0.01.");
  if (typeof a === "number" && typeof b === "number") {
    const direction = b >= a ? 1 : -1;
    if (typeof h === "number" && a !== b && Math.sign(h) !== direction) {
      fail(
        direction === 1
          ? `dt0 = ${h} is negative but t1 (${b}) is after t0 (${a}). Use a positive dt0 to solve forwards in time.`
          : `t1 (${b}) is before t0 (${a}) but dt0 = ${h} is positive. To solve backwards in time give a negative dt0 (e.g. dt0: ${-h}); otherwise swap t0 and t1.`,
      );
    }
    return direction;
  }
  return np.where(t1.ge(t0), 1, -1).astype(t0.dtype);
}

/** Checks SaveAt's and StepTo's times against `[t0, t1]` when they are concrete. */
function checkTimes(
  saveAt: SaveAt,
  controller: StepSizeController,
  t0: NDArray,
  t1: NDArray,
  direction: number | NDArray,
): void {
  const a = concreteValue(t0);
  const b = concreteValue(t1);
  if (typeof a !== "number" || typeof b !== "number" || typeof direction !== "number") return;
  const [lo, hi] = direction === 1 ? [a, b] : [b, a];
  const slack = 1e-12 * Math.max(1, Math.abs(a), Math.abs(b));
  if (saveAt.ts !== null) {
    const ts = concreteTimes(saveAt.ts);
    if (ts !== undefined) {
      if (ts.some((t) => t < lo - slack || t > hi + slack)) {
        fail(`SaveAt's ts must lie in [t0, t1] = [${a}, ${b}]; got [${ts.join(", ")}].`);
      }
      if (ts.some((t, i) => i > 0 && (t - ts[i - 1]!) * direction < 0)) {
        fail(`SaveAt's ts must be in order from t0 to t1; got [${ts.join(", ")}].`);
      }
    }
  }
  if (controller instanceof StepTo) {
    const ts = concreteTimes(controller.ts);
    if (
      ts !== undefined &&
      (Math.abs(ts[0]! - a) > slack || Math.abs(ts[ts.length - 1]! - b) > slack)
    ) {
      fail(`StepTo's ts must start at t0 (${a}) and end at t1 (${b}); got [${ts.join(", ")}].`);
    }
  }
}

function concreteTimes(ts: NDArray): number[] | undefined {
  try {
    return ts.toList() as number[];
  } catch {
    return undefined;
  }
}

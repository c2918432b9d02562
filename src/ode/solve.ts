/**
 * `solve`: the driver. One `lax.whileLoop`-like loop (chosen by the adjoint) steps the solver,
 * asks the step-size controller whether to keep each step, saves what `SaveAt` asks for and
 * watches for events; the solver, the controller and the saving never look inside each other.
 */
import type { NDArray } from "../core/array.js";
import { SolverError } from "../core/errors.js";
import * as lax from "../lax/index.js";
import * as np from "../numpy/index.js";
import { stopGradient } from "../transforms/custom.js";
import { evalShape } from "../transforms/jacobian.js";
import { backsolveSolve, BacksolveAdjoint } from "./backsolve.js";
import { crossed, locateEvent, type Event, type EventRecord, type EventStep } from "./events.js";
import { normalize, type Normalized, type SolveOptions } from "./options.js";
import { isFailure, resultMessage } from "./result.js";
import {
  acceptedRecords,
  blankRecord,
  initTsBuffer,
  rowMask,
  saveTs,
  type StepRecord,
} from "./save.js";
import { Solution, type DenseSteps } from "./solution.js";
import { StepTo } from "./step-size.js";
import { allFinite, concreteValue, mapArrays, scaleTree, whereTree } from "./tree-math.js";
import { Result, type PyTree, type Term } from "./types.js";

export type { SolveOptions } from "./options.js";

/** The event part of the loop's state. */
interface EventState {
  /** The condition at `tPrev`. */
  before: NDArray;
  /** The condition at the start of the last accepted step. */
  lastBefore: NDArray;
  hit: NDArray;
  /** The last accepted step and its dense output (where the event is located). */
  lastT0: NDArray;
  lastT1: NDArray;
  lastDense: PyTree;
  /** The crossings recorded so far (non-terminating events only). */
  record: EventRecord | null;
}

/** Everything the loop carries (a pytree of arrays). */
interface Carry {
  tPrev: NDArray;
  tNext: NDArray;
  y: PyTree;
  solverState: unknown;
  controllerState: unknown;
  numSteps: NDArray;
  numAccepted: NDArray;
  numRejected: NDArray;
  numEvaluations: NDArray;
  result: NDArray;
  /** Values at SaveAt's `ts` (null when there are none). */
  tsYs: PyTree | null;
  event: EventState | null;
}

const int32 = (value: number): NDArray => np.array(value, { dtype: "int32" });

/** The term in the loop's time `τ = direction · t`: `dy/dτ = direction · f(direction · τ, y)`. */
function directed(term: Term, direction: number | NDArray): Term {
  if (direction === 1) return term;
  return {
    vf: (tau, y, args) => scaleTree(term.vf(tau.mul(direction), y, args), direction),
  };
}

/** `term` that counts the calls made while tracing (each runs once: outside the loop). */
function counting(term: Term): [Term, () => number] {
  let calls = 0;
  return [
    {
      vf: (t, y, args) => {
        calls += 1;
        return term.vf(t, y, args);
      },
    },
    () => calls,
  ];
}

/**
 * The record with the crossing in the accepted step `[tPrev, tNext]` added (when `crossing`):
 * located as a terminating event is, stored in slot `count` while there is room, always counted.
 */
function recordCrossing(
  event: Event,
  record: EventRecord,
  crossing: NDArray,
  step: EventStep,
): EventRecord {
  const { solver, direction, args } = step;
  const found = (
    tPrev: NDArray,
    tNext: NDArray,
    dense: PyTree,
    before: NDArray,
  ): [NDArray, PyTree] => {
    const t = locateEvent(event, { solver, tPrev, tNext, dense, before, direction, args });
    return [t, solver.interpolate(tPrev, tNext, dense, t)];
  };
  const skip = (tPrev: NDArray, tNext: NDArray, dense: PyTree): [NDArray, PyTree] => [
    tNext,
    solver.interpolate(tPrev, tNext, dense, tNext),
  ];
  // The recorded crossings are not differentiated (stopGradient keeps them out of the tangents).
  const [tau, y] = lax.cond(
    crossing,
    found,
    skip,
    ...stopGradient([step.tPrev, step.tNext, step.dense, step.before] as [
      NDArray,
      NDArray,
      PyTree,
      NDArray,
    ]),
  );
  const t = direction === null ? tau : tau.mul(direction);
  const slot = np.logicalAnd(
    crossing,
    np.arange(record.ts.shape[0]!, { dtype: "int32" }).eq(record.count),
  );
  return {
    ts: np.where(slot, t.astype(record.ts.dtype), record.ts),
    ys: mapArrays((b, v) => np.where(rowMask(slot, b), v.astype(b.dtype), b), record.ys, y),
    count: record.count.add(crossing.astype("int32")).astype("int32"),
  };
}

/** `next` clipped to `end`, and snapped to it when closer than a few hundred ulps. */
function clipToEnd(next: NDArray, start: NDArray, end: NDArray): NDArray {
  const eps = next.dtype === "float64" ? 2.2e-14 : 1.2e-5;
  const tolerance = np
    .abs(end)
    .add(np.abs(end.sub(start)))
    .mul(eps);
  return np.where(next.gt(end.sub(tolerance)), end, next);
}

/**
 * The solve itself, without the failure handling of `solve` (it never throws for a failed solve;
 * `result` says how it ended). Differentiable as the adjoint allows. Exported for adjoints that
 * run solves of their own (`BacksolveAdjoint`).
 */
export function solveWith(options: SolveOptions): Solution {
  return run(normalize(options));
}

function run(o: Normalized): Solution {
  const { solver, args, saveAt, event, maxSteps, direction } = o;
  const tau = (t: NDArray): NDArray => (direction === 1 ? t : t.mul(direction));
  const term = directed(o.terms, direction);
  const [countingTerm, initCalls] = counting(term);
  const t0 = tau(o.t0);
  const tEnd = tau(o.t1);
  const dt0 = o.dt0 === null ? null : tau(o.dt0);
  const controller =
    o.controller instanceof StepTo && direction !== 1
      ? o.controller.inDirection(direction)
      : o.controller;
  const ts = saveAt.ts === null ? null : tau(saveAt.ts.astype(o.timeDtype));

  const [firstEnd, controllerState] = controller.init({
    term: countingTerm,
    solver,
    t0,
    t1: tEnd,
    y0: o.y0,
    dt0,
    args,
  });
  const tNext0 = clipToEnd(np.minimum(firstEnd, tEnd), t0, tEnd);
  const solverState = solver.init(countingTerm, t0, tNext0, o.y0, args);
  const noJump = np.array(false);
  const denseTemplate =
    saveAt.dense || event !== null
      ? evalShape(
          (a: NDArray, b: NDArray, y: PyTree, s: unknown) =>
            solver.step(term, a, b, y, args, s, noJump).dense,
          t0,
          tNext0,
          o.y0,
          solverState,
        )
      : null;
  // The direction as an array for what maps times back (null when forwards).
  const userDirection =
    typeof direction !== "number"
      ? direction
      : direction === 1
        ? null
        : np.array(direction, { dtype: o.timeDtype });
  const zerosOf = (template: PyTree): PyTree =>
    mapArrays((a) => np.zeros(a.shape as number[], { dtype: a.dtype }), template);
  const eventState: EventState | null =
    event === null
      ? null
      : {
          before: event.evaluate(t0, userDirection, o.y0, args),
          lastBefore: event.evaluate(t0, userDirection, o.y0, args),
          hit: np.array(false),
          lastT0: t0,
          lastT1: t0,
          lastDense: zerosOf(denseTemplate),
          record: event.terminate
            ? null
            : {
                ts: np.full([event.maxEvents], Infinity, { dtype: o.timeDtype }),
                ys: mapArrays(
                  (y) => np.full([event.maxEvents, ...y.shape], Infinity, { dtype: y.dtype }),
                  o.y0,
                ),
                count: int32(0),
              },
        };

  const init: Carry = {
    tPrev: t0,
    tNext: tNext0,
    y: o.y0,
    solverState,
    controllerState,
    numSteps: int32(0),
    numAccepted: int32(0),
    numRejected: int32(0),
    numEvaluations: int32(initCalls()),
    result: int32(Result.successful),
    tsYs: ts === null ? null : initTsBuffer(ts, t0, o.y0),
    event: eventState,
  };

  const going = (c: Carry): NDArray => {
    let on = np.logicalAnd(c.result.eq(Result.successful), c.tPrev.lt(tEnd));
    on = np.logicalAnd(on, c.numSteps.lt(maxSteps));
    return c.event === null ? on : np.logicalAnd(on, np.logicalNot(c.event.hit));
  };

  const keepSteps = saveAt.steps || saveAt.dense;
  const body = (c: Carry): [Carry, StepRecord | null] => {
    const out = solver.step(term, c.tPrev, c.tNext, c.y, args, c.solverState, noJump);
    const decision = controller.adapt({
      t0: c.tPrev,
      t1: c.tNext,
      y0: c.y,
      y1: out.y1,
      yError: out.yError,
      errorOrder: solver.errorOrder,
      state: c.controllerState,
    });
    const finite = allFinite(out.y1);
    const stepOk = out.result.eq(Result.successful);
    const keep = decision.keepStep;
    const accepted = np.logicalAnd(keep, np.logicalAnd(finite, stepOk));
    const nextT0 = np.where(accepted, c.tNext, c.tPrev);
    const nextT1 = clipToEnd(np.minimum(decision.nextT1, tEnd), nextT0, tEnd);
    // A kept step that failed ends the solve; so does a rejected one with no room left to shrink.
    const stuck = np.logicalAnd(np.logicalNot(accepted), np.logicalNot(nextT1.gt(nextT0)));
    let result = decision.result;
    result = np.where(np.logicalAnd(keep, np.logicalNot(stepOk)), out.result, result);
    result = np.where(np.logicalAnd(keep, np.logicalNot(finite)), Result.nanDetected, result);
    result = np
      .where(
        np.logicalAnd(stuck, result.eq(Result.successful)),
        np.where(finite, Result.dtMinReached, Result.nanDetected),
        result,
      )
      .astype("int32");
    const tsYs =
      ts === null || c.tsYs === null
        ? null
        : saveTs(c.tsYs, ts, {
            solver,
            tPrev: c.tPrev,
            tNext: c.tNext,
            dense: out.dense,
            accepted,
          });
    const record: StepRecord | null = keepSteps
      ? {
          t1: np.where(accepted, c.tNext, Infinity),
          t0: saveAt.dense ? c.tPrev : null,
          y1: saveAt.steps ? out.y1 : null,
          dense: saveAt.dense ? out.dense : null,
        }
      : null;
    let eventState: EventState | null = null;
    if (event !== null && c.event !== null) {
      const after = event.evaluate(c.tNext, userDirection, out.y1, args);
      const value = np.where(accepted, after, c.event.before);
      const crossing = np.logicalAnd(accepted, crossed(c.event.before, after));
      const before = value.dtype === "bool" ? value : value.astype(c.event.before.dtype);
      eventState =
        c.event.record === null
          ? {
              before,
              lastBefore: np.where(accepted, c.event.before, c.event.lastBefore),
              hit: crossing,
              lastT0: np.where(accepted, c.tPrev, c.event.lastT0),
              lastT1: np.where(accepted, c.tNext, c.event.lastT1),
              lastDense: whereTree(accepted, out.dense, c.event.lastDense),
              record: null,
            }
          : {
              // Non-terminating: never stops the loop; the crossing is recorded now.
              ...c.event,
              before,
              record: recordCrossing(event, c.event.record, crossing, {
                solver,
                tPrev: c.tPrev,
                tNext: c.tNext,
                dense: out.dense,
                before: c.event.before,
                direction: userDirection,
                args,
              }),
            };
    }
    const next: Carry = {
      tPrev: nextT0,
      tNext: nextT1,
      y: whereTree(accepted, out.y1, c.y),
      solverState: c.solverState === null ? null : whereTree(accepted, out.state, c.solverState),
      controllerState: decision.state,
      numSteps: c.numSteps.add(1),
      numAccepted: c.numAccepted.add(accepted.astype("int32")),
      numRejected: c.numRejected.add(np.logicalNot(accepted).astype("int32")),
      numEvaluations: c.numEvaluations.add(out.evaluations).astype("int32"),
      result: np.where(c.result.eq(Result.successful), result, c.result).astype("int32"),
      tsYs,
      event: eventState,
    };
    return [next, record];
  };

  const blank = keepSteps ? blankRecord(saveAt, t0, o.y0, denseTemplate) : null;
  const [final, records] = o.adjoint.loop(going, body, init, maxSteps, blank);
  return finish(o, final, records === null ? null : acceptedRecords(records), {
    t0,
    tEnd,
    ts,
    userDirection,
  });
}

/** Assembles the `Solution` from the loop's final state (and locates the event, if one fired). */
function finish(
  o: Normalized,
  c: Carry,
  steps: StepRecord | null,
  where: { t0: NDArray; tEnd: NDArray; ts: NDArray | null; userDirection: NDArray | null },
): Solution {
  const { solver, saveAt, event, direction, args } = o;
  const { t0, ts, userDirection } = where;
  const unfinished = np.logicalAnd(c.result.eq(Result.successful), c.tPrev.lt(where.tEnd));
  let result = np.where(unfinished, Result.maxStepsReached, c.result).astype("int32");
  let tFinal = c.tPrev;
  let yFinal = c.y;
  let hit: NDArray | null = null;
  if (event !== null && c.event !== null && event.terminate) {
    const e = c.event;
    hit = e.hit;
    const [tEvent, yEvent] = locate(event, e, { solver, userDirection, args });
    tFinal = np.where(hit, tEvent, tFinal);
    yFinal = whereTree(hit, yEvent, yFinal);
    result = np.where(hit, Result.eventOccurred, result).astype("int32");
  }
  const user = (t: NDArray): NDArray =>
    direction === 1 ? t : np.where(np.isinf(t), Infinity, t.mul(direction));
  const times: NDArray[] = [];
  const values: PyTree[] = [];
  if (saveAt.t0) {
    times.push(user(t0).reshape([1]));
    values.push(mapArrays((y) => y.reshape([1, ...y.shape]), o.y0));
  }
  if (ts !== null && c.tsYs !== null) {
    const after =
      hit === null ? np.zerosLike(ts).astype("bool") : np.logicalAnd(hit, ts.gt(tFinal));
    times.push(np.where(after, Infinity, user(ts)));
    values.push(mapArrays((b) => np.where(rowMask(after, b), Infinity, b), c.tsYs));
  }
  // With an event, the last accepted step ends at the event instead.
  const last = np.maximum(c.numAccepted.sub(1), 0).astype("int32");
  const atEvent = (x: NDArray, value: NDArray): NDArray =>
    hit === null ? x : x.at(last).set(np.where(hit, value, x.get(last)));
  const stepEnds = steps === null ? null : atEvent(steps.t1, tFinal);
  if (saveAt.steps && steps !== null && stepEnds !== null) {
    times.push(user(stepEnds));
    values.push(mapArrays((b, y) => atEvent(b, y), steps.y1, yFinal));
  }
  if (saveAt.t1) {
    times.push(user(tFinal).reshape([1]));
    values.push(mapArrays((y) => y.reshape([1, ...y.shape]), yFinal));
  }
  const dense: DenseSteps | null =
    saveAt.dense && steps !== null && steps.t0 !== null && stepEnds !== null
      ? {
          t0: steps.t0,
          t1: stepEnds,
          data: steps.dense,
          direction: userDirection ?? np.array(1, { dtype: o.timeDtype }),
        }
      : null;
  return new Solution(
    {
      ts: times.length === 0 ? null : times.length === 1 ? times[0]! : np.concatenate(times),
      ys:
        values.length === 0
          ? null
          : values.length === 1
            ? values[0]
            : mapArrays((...leaves) => np.concatenate(leaves), values[0], ...values.slice(1)),
      stats: {
        numSteps: c.numSteps,
        numAcceptedSteps: c.numAccepted,
        numRejectedSteps: c.numRejected,
        numFunctionEvaluations: c.numEvaluations,
      },
      result,
      t0: user(t0),
      t1: user(tFinal),
      dense,
      events: c.event === null ? null : c.event.record,
    },
    solver,
  );
}

/** The event time and state in the last accepted step (computed only when the event fired). */
function locate(
  event: Event,
  e: EventState,
  context: { solver: Normalized["solver"]; userDirection: NDArray | null; args: unknown },
): [NDArray, PyTree] {
  const { solver, userDirection, args } = context;
  const found = (
    lastT0: NDArray,
    lastT1: NDArray,
    lastDense: PyTree,
    before: NDArray,
  ): [NDArray, PyTree] => {
    const tEvent = locateEvent(event, {
      solver,
      tPrev: lastT0,
      tNext: lastT1,
      dense: lastDense,
      before,
      direction: userDirection,
      args,
    });
    return [tEvent, solver.interpolate(lastT0, lastT1, lastDense, tEvent)];
  };
  const skip = (lastT0: NDArray, lastT1: NDArray, lastDense: PyTree): [NDArray, PyTree] => [
    lastT1,
    solver.interpolate(lastT0, lastT1, lastDense, lastT1),
  ];
  return lax.cond(e.hit, found, skip, e.lastT0, e.lastT1, e.lastDense, e.lastBefore);
}

/**
 * Solves an ODE `dy/dt = f(t, y, args)` from `t0` to `t1`, as Diffrax's `diffeqsolve`: the
 * solver steps, the controller picks the steps, `saveAt` says what to keep. The whole solve is
 * one loop, so `jit(solve)` compiles to one loop; it also works eagerly, under `grad` (through the
 * adjoint), `jvp` and `vmap`.
 *
 * When the solve fails (too many steps, a NaN in the state, …) it throws a `SolverError` saying
 * why, unless `throwOnFailure: false`. Under `jit` it can't throw: failed solves return NaN in
 * `ys` (with `throwOnFailure`, the default) and `sol.result` holds the code.
 *
 * @example
 * const sol = ode.solve({
 *   terms: new ode.ODETerm((t: NDArray, y: NDArray, k: number) => y.mul(-k)),
 *   solver: new ode.Tsit5(),
 *   t0: 0,
 *   t1: 1,
 *   dt0: 0.1,
 *   y0: np.array([1, 2], { dtype: "float64" }),
 *   args: 2,
 *   saveAt: new ode.SaveAt({ ts: [0, 0.5, 1] }),
 *   stepSizeController: new ode.PIDController({ rtol: 1e-8, atol: 1e-8 }),
 * });
 * console.log(sol.ys.shape, sol.ys.get(2, 0).item().toFixed(6)); // [3, 2] 0.135335
 */
export function solve(options: SolveOptions): Solution {
  const o = normalize(options);
  const sol = o.adjoint instanceof BacksolveAdjoint ? backsolveSolve(options, solveWith) : run(o);
  return handleFailure(sol, o.throwOnFailure);
}

/**
 * What `solve` does with a failed solve: throws a `SolverError` when the result is concrete;
 * under `jit` (a traced result) fills `ys` with NaN where it failed.
 */
export function handleFailure(sol: Solution, throwOnFailure: boolean): Solution {
  if (!throwOnFailure) return sol;
  const code = concreteValue(sol.result);
  if (typeof code === "number") {
    if (isFailure(code)) {
      const steps = Number(sol.stats.numSteps.item());
      const t = Number(sol.t1.item());
      throw new SolverError(
        "ode.solve",
        `${resultMessage(code)} (It stopped at t = ${t} after ${steps} steps; pass throwOnFailure: false to get the partial solution instead.)`,
      );
    }
    return sol;
  }
  if (sol.ys === null) return sol;
  const failed = np.logicalAnd(
    sol.result.ne(Result.successful),
    sol.result.ne(Result.eventOccurred),
  );
  return new Solution(
    { ...sol, ys: mapArrays((y) => np.where(failed, NaN, y), sol.ys) },
    sol.solver,
  );
}

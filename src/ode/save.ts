/**
 * What a solve saves (`SaveAt`), and the buffers that hold it while the loop runs.
 */
import { NDArray } from "../core/array.js";
import { ValueError } from "../core/errors.js";
import * as tree from "../core/tree.js";
import * as np from "../numpy/index.js";
import { vmap } from "../transforms/vmap.js";
import { mapArrays } from "./tree-math.js";
import type { PyTree, Solver } from "./types.js";

/** Options of `SaveAt`. */
export interface SaveAtOptions {
  /** Save the initial value (default false). */
  t0?: boolean;
  /** Save the final value (default true when nothing else is saved). */
  t1?: boolean;
  /** Save at these times (interpolated with the solver's dense output), in `[t0, t1]`, in order. */
  ts?: NDArray | readonly number[];
  /** Save after every accepted step (default false). */
  steps?: boolean;
  /** Keep every step's dense output, for `sol.evaluate(t)` and `sol.derivative(t)` (default false). */
  dense?: boolean;
}

/**
 * What to save. `sol.ts` is, in this order: `t0` (if asked), the `ts`, the end of every accepted
 * step (if `steps`; padded to `maxSteps` entries with `inf`), then the final time (if `t1`);
 * `sol.ys` has the matching values, each leaf stacked along a leading time axis (padding rows
 * are `inf`). Times after an event are `inf` too.
 *
 * @example
 * const sol = ode.solve({ terms: new ode.ODETerm((t: NDArray, y: NDArray) => y.neg()), solver: new ode.Tsit5(), t0: 0, t1: 1, dt0: 0.1, y0: np.array(1, { dtype: "float64" }), saveAt: new ode.SaveAt({ t0: true, ts: [0.5], t1: true }) });
 * console.log(sol.ts.toList()); // [0, 0.5, 1]
 * console.log(sol.ys.toList().map((y) => y.toFixed(4))); // ["1.0000", "0.6065", "0.3679"]
 */
export class SaveAt {
  readonly t0: boolean;
  readonly t1: boolean;
  readonly ts: NDArray | null;
  readonly steps: boolean;
  readonly dense: boolean;

  constructor(options: SaveAtOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new ValueError(
        "ode.SaveAt",
        "expects an options object, e.g. new ode.SaveAt({ ts: [0, 0.5, 1] }).",
      );
    }
    const { ts } = options;
    if (ts !== undefined) {
      if (ts instanceof NDArray) {
        if (ts.ndim !== 1) {
          throw new ValueError(
            "ode.SaveAt",
            `ts must be a 1-d array of times, got shape [${ts.shape.join(", ")}].`,
          );
        }
      } else if (
        !Array.isArray(ts) ||
        ts.some((v) => typeof v !== "number" || !Number.isFinite(v))
      ) {
        throw new ValueError(
          "ode.SaveAt",
          "ts must be an array of finite numbers (or a 1-d NDArray).",
        );
      }
    }
    this.ts =
      ts === undefined
        ? null
        : ts instanceof NDArray
          ? ts
          : np.array([...ts], { dtype: "float64" });
    this.t0 = options.t0 ?? false;
    this.steps = options.steps ?? false;
    this.dense = options.dense ?? false;
    this.t1 = options.t1 ?? (!this.t0 && this.ts === null && !this.steps && !this.dense);
  }
}

/** The values at `ts` while the loop runs: each leaf `[K, ...shape]`, `inf` until reached. */
export type TsBuffer = PyTree;

/** Values at `ts` before the loop: `y0` where `ts == t0`, `inf` elsewhere. */
export function initTsBuffer(ts: NDArray, t0: NDArray, y0: PyTree): TsBuffer {
  return mapArrays((y) => {
    const atStart = ts.le(t0).reshape([ts.shape[0]!, ...y.shape.map(() => 1)]);
    return np.where(atStart, y, Infinity).astype(y.dtype);
  }, y0);
}

/** The buffer with the `ts` inside the accepted step `(tPrev, tNext]` filled by interpolation. */
export function saveTs(
  buffer: TsBuffer,
  ts: NDArray,
  step: { solver: Solver; tPrev: NDArray; tNext: NDArray; dense: PyTree; accepted: NDArray },
): TsBuffer {
  const { solver, tPrev, tNext, dense, accepted } = step;
  const inStep = np.logicalAnd(accepted, np.logicalAnd(ts.gt(tPrev), ts.le(tNext)));
  const clipped = np.clip(ts, tPrev, tNext);
  const values = vmap((t: NDArray) => solver.interpolate(tPrev, tNext, dense, t))(clipped);
  return mapArrays((b, v) => np.where(rowMask(inStep, b), v.astype(b.dtype), b), buffer, values);
}

/** A `[rows]` bool mask shaped to broadcast against `[rows, ...]`. */
export const rowMask = (mask: NDArray, like: NDArray): NDArray =>
  mask.reshape([mask.shape[0]!, ...like.shape.slice(1).map(() => 1)]);

/**
 * What each step hands out of the loop when every step is kept (`steps` or `dense`): the step's
 * end (`inf` unless it was accepted), and its start, end state and dense output as asked.
 */
export interface StepRecord {
  t1: NDArray;
  t0: NDArray | null;
  y1: PyTree | null;
  dense: PyTree | null;
}

/** The record of a step that did not run (the shape of a real one, `t1 = inf`). */
export function blankRecord(
  saveAt: SaveAt,
  t0: NDArray,
  y0: PyTree,
  denseTemplate: PyTree,
): StepRecord {
  return {
    t1: np.full([], Infinity, { dtype: t0.dtype }),
    t0: saveAt.dense ? np.zerosLike(t0) : null,
    y1: saveAt.steps ? mapArrays((y) => np.zerosLike(y), y0) : null,
    dense: saveAt.dense
      ? tree.map(
          (a: { shape: number[]; dtype: "float32" }) => np.zeros(a.shape, { dtype: a.dtype }),
          denseTemplate,
        )
      : null,
  };
}

/**
 * The accepted steps' records, in order, from the records of every step (`[maxSteps, ...]`):
 * sorted by end time (rejected and skipped steps end at `inf`), padded with `inf`.
 */
export function acceptedRecords(records: StepRecord): StepRecord {
  const order = np.argsort(records.t1);
  const t1 = records.t1.get(order);
  const reached = np.isfinite(t1);
  const pick = (x: NDArray, pad: number): NDArray =>
    np.where(rowMask(reached, x), x.get(order), pad);
  return {
    t1,
    t0: records.t0 === null ? null : pick(records.t0, Infinity),
    y1: records.y1 === null ? null : mapArrays((x) => pick(x, Infinity), records.y1),
    dense: records.dense === null ? null : mapArrays((x) => pick(x, 0), records.dense),
  };
}

/**
 * How a solve is differentiated: the adjoint chooses the loop the solve runs in.
 * `RecursiveCheckpointAdjoint` (the default) differentiates through the solver's own operations in
 * both modes; `ForwardMode` allows only forward mode (`jvp`, `jacfwd`) and runs a plain while loop.
 */
import type { NDArray } from "../core/array.js";
import { ValueError } from "../core/errors.js";
import * as lax from "../lax/index.js";
import * as tree from "../core/tree.js";
import * as np from "../numpy/index.js";
import { checkpoint } from "../transforms/custom.js";

/**
 * The loop a solve runs in: `while (cond(carry)) [carry, out] = body(carry)`, at most `maxSteps`
 * times. When `blank` is not null, every step's `out` is kept: the result's second part stacks
 * them `[maxSteps, ...]`, with `blank` in the rows of steps that did not run.
 */
export interface Adjoint {
  readonly name: string;
  loop<C, O>(
    cond: (carry: C) => NDArray,
    body: (carry: C) => [C, O],
    init: C,
    maxSteps: number,
    blank: O | null,
  ): [C, O | null];
}

/**
 * `maxSteps` masked steps as nested scans of at most `slots` steps each; a step or a segment that
 * finds `cond` false is skipped by `lax.cond`. With `remat`, each segment is checkpointed.
 */
function segmentedLoop<C, O>(
  cond: (carry: C) => NDArray,
  body: (carry: C) => [C, O],
  init: C,
  maxSteps: number,
  blank: O | null,
  slots: number,
  remat: boolean,
): [C, O | null] {
  const idle = (c: C): [C, O | null] => [c, blank];
  const step = (c: C): [C, O | null] => lax.cond(cond(c), body, idle, c);
  const run = (steps: number, carry: C): [C, unknown] => {
    if (steps <= slots) return lax.scan(step, carry, null, { length: steps });
    const length = Math.ceil(steps / slots);
    const count = Math.ceil(steps / length);
    const inner = (c: C): [C, unknown] => run(length, c);
    const segment = remat ? checkpoint(inner) : inner;
    const blankSegment = (c: C): [C, unknown] => [c, stackBlank(blank, length)];
    const outer = (c: C): [C, unknown] => lax.cond(cond(c), segment, blankSegment, c);
    const [final, outs] = lax.scan(outer, carry, null, { length: count });
    // [count, length, ...] → [count · length, ...]
    return [
      final,
      tree.map((x: NDArray) => x.reshape([count * length, ...x.shape.slice(2)]), outs),
    ];
  };
  const [final, outs] = run(maxSteps, init);
  if (blank === null) return [final, null];
  return [final, tree.map((x: NDArray) => x.get(np.slice(0, maxSteps)), outs) as O];
}

/** `blank` repeated `rows` times along a new leading axis. */
function stackBlank(blank: unknown, rows: number): unknown {
  return tree.map((x: NDArray) => np.broadcastTo(x, [rows, ...x.shape]), blank);
}

/** Options of `RecursiveCheckpointAdjoint`. */
export interface RecursiveCheckpointAdjointOptions {
  /**
   * How many carries each level of the backward pass keeps (≥ 2). Fewer use less memory and
   * recompute more. Default: about √maxSteps (two levels).
   */
  checkpoints?: number;
}

/**
 * Reverse mode (and forward mode) through the solver's operations ("discretise then optimise"),
 * with recursive checkpointing: the loop is cut into segments of at most `checkpoints` steps,
 * recursively; the backward pass keeps each segment's starting state and recomputes the rest, so
 * memory is about `checkpoints · log(maxSteps)` states. Segments after the solve has finished
 * are skipped (`lax.cond`), so a forward pass costs the steps taken plus about `checkpoints`
 * skipped ones per level. Under `vmap` every step up to `maxSteps` runs (masked); pass a
 * smaller `maxSteps`, or `ForwardMode`, when batching solves that need no reverse mode.
 *
 * @example
 * const loss = (a: NDArray) =>
 *   ode.solve({ terms: new ode.ODETerm((t: NDArray, y: NDArray) => y.mul(a)), solver: new ode.Tsit5(), t0: 0, t1: 1, dt0: 0.1, y0: np.array(1, { dtype: "float64" }), adjoint: new ode.RecursiveCheckpointAdjoint({ checkpoints: 4 }) }).ys.sum();
 * console.log(grad(loss)(np.array(0.5, { dtype: "float64" })).item().toFixed(4)); // 1.6487
 */
export class RecursiveCheckpointAdjoint implements Adjoint {
  readonly name = "RecursiveCheckpointAdjoint";
  readonly checkpoints: number | undefined;

  constructor(options: RecursiveCheckpointAdjointOptions = {}) {
    const c = options.checkpoints;
    if (c !== undefined && (!Number.isInteger(c) || c < 2)) {
      throw new ValueError(
        "ode.RecursiveCheckpointAdjoint",
        `checkpoints must be a whole number ≥ 2, got ${String(c)}.`,
      );
    }
    this.checkpoints = c;
  }

  loop<C, O>(
    cond: (carry: C) => NDArray,
    body: (carry: C) => [C, O],
    init: C,
    maxSteps: number,
    blank: O | null,
  ): [C, O | null] {
    const slots = this.checkpoints ?? Math.max(2, Math.ceil(Math.sqrt(maxSteps)));
    return segmentedLoop(cond, body, init, maxSteps, blank, slots, true);
  }
}

/**
 * Forward mode only (`jvp`, `jacfwd`): the solve is a plain `lax.whileLoop` with nothing kept for
 * a backward pass (`grad` through it throws); under `vmap` it stops when every lane has. (Saving
 * every step, `SaveAt({ steps })` or `{ dense }`, makes it a loop of `maxSteps` masked steps.)
 *
 * @example
 * const final = (a: NDArray) =>
 *   ode.solve({ terms: new ode.ODETerm((t: NDArray, y: NDArray) => y.mul(a)), solver: new ode.Tsit5(), t0: 0, t1: 1, dt0: 0.1, y0: np.array(1, { dtype: "float64" }), adjoint: new ode.ForwardMode() }).ys.sum();
 * const [, slope] = jvp(final, [np.array(0.5, { dtype: "float64" })], [np.array(1, { dtype: "float64" })]);
 * console.log(slope.item().toFixed(4)); // 1.6487
 */
export class ForwardMode implements Adjoint {
  readonly name = "ForwardMode";

  loop<C, O>(
    cond: (carry: C) => NDArray,
    body: (carry: C) => [C, O],
    init: C,
    maxSteps: number,
    blank: O | null,
  ): [C, O | null] {
    if (blank === null) return [lax.whileLoop(cond, (c: C) => body(c)[0], init), null];
    const slots = Math.max(2, Math.ceil(Math.sqrt(maxSteps)));
    return segmentedLoop(cond, body, init, maxSteps, blank, slots, false);
  }
}

/**
 * The Butcher tableau of an explicit Runge–Kutta method: its data and the facts the engine reads
 * off it (stages, first-same-as-last).
 */
import { ValueError } from "../core/errors.js";

/** The coefficients of an explicit Runge–Kutta method with `s` stages. */
export interface TableauData {
  /** Rows 2..s of the strictly lower-triangular matrix `a` (row `i` has `i` entries). */
  a: readonly (readonly number[])[];
  /** The weights of the solution, `s` entries. */
  b: readonly number[];
  /** `b - bEmbedded` (the weights of the error estimate), `s` entries; omit for none. */
  bError?: readonly number[];
  /** The nodes of stages 2..s (`c[0] = 0` is implied). */
  c: readonly number[];
}

/**
 * A Butcher tableau. `c`, `a`, `b` as usual (`c` includes `c₁ = 0`; `a[i]` is row `i + 1` of the
 * strictly lower-triangular matrix, with `i + 1` entries); `bError = b − b̂` gives the embedded
 * error estimate. FSAL ("first same as last") holds when the last stage is evaluated at
 * `(t1, y1)`, so it is the next step's first.
 *
 * @example
 * const heun = new ode.ButcherTableau({ a: [[1]], b: [0.5, 0.5], bError: [0.5, -0.5], c: [1] });
 * console.log(heun.stages, heun.fsal); // 2 false
 */
export class ButcherTableau {
  readonly a: readonly (readonly number[])[];
  readonly b: readonly number[];
  readonly bError: readonly number[] | null;
  /** All `s` nodes, starting with 0. */
  readonly c: readonly number[];
  /** The number of stages `s`. */
  readonly stages: number;
  /** The last stage is `f(t1, y1)` (its row of `a` is `b` and its node is 1). */
  readonly fsal: boolean;

  constructor(data: TableauData) {
    const stages = data.b.length;
    const fail = (what: string): never => {
      throw new ValueError("ode.ButcherTableau", what);
    };
    if (data.c.length !== stages - 1 || data.a.length !== stages - 1) {
      fail(
        `a ${stages}-stage tableau needs ${stages - 1} nodes c and ${stages - 1} rows of a, got ${data.c.length} and ${data.a.length}.`,
      );
    }
    data.a.forEach((row, i) => {
      if (row.length !== i + 1)
        fail(`row ${i + 2} of a must have ${i + 1} entries, got ${row.length}.`);
    });
    if (data.bError !== undefined && data.bError.length !== stages) {
      fail(`bError must have ${stages} entries (one per stage), got ${data.bError.length}.`);
    }
    this.a = data.a;
    this.b = data.b;
    this.bError = data.bError ?? null;
    this.c = [0, ...data.c];
    this.stages = stages;
    const last = data.a[stages - 2];
    this.fsal =
      last !== undefined &&
      this.c[stages - 1] === 1 &&
      data.b[stages - 1] === 0 &&
      last.every((v, j) => v === data.b[j]);
  }
}

/**
 * `Primitive`: one object holding every rule of one primitive operation. Each primitive is
 * defined once with `definePrimitive`, which also registers it, so sweeps over all primitives
 * (gradient checks, batching checks) need no edits when one is added.
 */
import type { AbstractValue } from "./aval.js";
import type { NDArray } from "./array.js";
import type { DType } from "./dtype.js";

/** Parameters of an equation: plain data (numbers, strings, booleans, lists, records). */
export type Params = object;

/** Computes the output abstract values from the input ones; throws ShapeError/DtypeError. */
export type AbstractEvalRule<P> = (inputs: readonly AbstractValue[], params: P) => AbstractValue[];

/** Computes concrete outputs from concrete inputs (eager execution). */
export type ImplRule<P> = (inputs: readonly NDArray[], params: P) => NDArray[];

/**
 * Forward-mode rule: output primals and tangents from input primals and tangents. A `null`
 * tangent is a symbolic zero.
 */
export type JvpRule<P> = (
  primals: readonly NDArray[],
  tangents: readonly (NDArray | null)[],
  params: P,
) => [NDArray[], (NDArray | null)[]];

/** Batching rule: inputs with their batch axis (`null` = not batched) → outputs and theirs. */
export type BatchRule<P> = (
  inputs: readonly NDArray[],
  batchAxes: readonly (number | null)[],
  params: P,
) => [NDArray[], (number | null)[]];

/**
 * Transpose rule of a linear primitive: cotangents of the outputs → cotangents of the linear
 * inputs (`null` for inputs that are not linear or whose cotangent is zero).
 */
export type TransposeRule<P> = (
  cotangents: readonly (NDArray | null)[],
  inputs: readonly (NDArray | LinearInput)[],
  params: P,
) => (NDArray | null)[];

/** Stands for a linear (undefined) input of a transposed primitive: only its aval is known. */
export interface LinearInput {
  readonly linear: true;
  readonly aval: AbstractValue;
}

/** One input of a sweep example: its type, and where its values are drawn from. */
export interface ExampleInput {
  shape: readonly number[];
  dtype: DType;
  /** Values are drawn uniformly from `[low, high]` (default `[-2, 2]`; integers are rounded). */
  range?: readonly [number, number];
  /** Fixed values (row-major), e.g. valid indices; overrides `range`. */
  values?: readonly number[];
}

/**
 * A sample application of a primitive, used by the registry sweep (`test/gradcheck/`): every
 * primitive is checked on its examples against finite differences, vmap against a loop, and
 * (when linear) its JVP against its transpose.
 */
export interface PrimitiveExample<P> {
  inputs: readonly ExampleInput[];
  params: P;
  /** Indices of the inputs to differentiate (default: the float inputs). */
  differentiable?: readonly number[];
  /** Indices of the inputs the primitive is linear in (for the transpose check). */
  linearIn?: readonly number[];
  /** Derivative modes to check (default both; `while` has no reverse mode). */
  modes?: readonly ("fwd" | "rev")[];
}

interface PrimitiveSpecBase<P extends Params> {
  /** The name printed in the IR, snake_case as in JAX (`reduce_sum`, `dot_general`). */
  name: string;
  abstractEval: AbstractEvalRule<P>;
  impl: ImplRule<P>;
  /** The forward-mode derivative. Reverse mode is derived from it (linearize + transpose). */
  jvp: JvpRule<P>;
  /** How the primitive maps over a batch axis (vmap). */
  batch: BatchRule<P>;
  /** Formats params for the IR printer; the default prints them as `key=value`. */
  formatParams?: (params: P) => string;
  /**
   * For elementwise primitives: the function of one element, given the input dtypes. The
   * compiler fuses chains of these into one loop; eager execution uses the same functions.
   */
  scalar?: (inputDTypes: readonly DType[], params: P) => (...xs: number[]) => number;
  /** Sample applications for the registry sweep (the sweep fails for a primitive without). */
  examples?: () => readonly PrimitiveExample<P>[];
}

/**
 * Everything that defines a primitive. Linear primitives (linear in the inputs marked by the
 * transpose rule) must give a transpose rule; the types make `tsc` reject one without.
 */
export type PrimitiveSpec<P extends Params> = PrimitiveSpecBase<P> &
  ({ linear: true; transpose: TransposeRule<P> } | { linear: false; transpose?: undefined });

/** A registered primitive. Bind it with `bind` from `core/trace.ts`. */
export class Primitive<P extends Params = Params> {
  constructor(readonly spec: PrimitiveSpec<P>) {}

  get name(): string {
    return this.spec.name;
  }

  formatParams(params: P): string {
    if (this.spec.formatParams !== undefined) return this.spec.formatParams(params);
    return Object.entries(params)
      .map(([k, v]) => `${k}=${formatParamValue(v)}`)
      .join(" ");
  }

  toString(): string {
    return this.name;
  }
}

function formatParamValue(v: unknown): string {
  if (Array.isArray(v)) return `(${v.map(formatParamValue).join(",")})`;
  if (v === null || v === undefined) return "None";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

const registry = new Map<string, Primitive>();

/** Defines and registers a primitive. Names are unique. */
export function definePrimitive<P extends Params>(spec: PrimitiveSpec<P>): Primitive<P> {
  if (registry.has(spec.name)) throw new Error(`primitive ${spec.name} is defined twice`);
  const p = new Primitive(spec);
  registry.set(spec.name, p as unknown as Primitive);
  return p;
}

/** Every registered primitive, in definition order. */
export function allPrimitives(): Primitive[] {
  return [...registry.values()];
}

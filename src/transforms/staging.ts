/**
 * Staging: running a function on tracers that record every primitive into a `Program`.
 * `makeProgram(f)(...args)` shows the IR of any function written with fluxion's API.
 */
import { AbstractValue } from "../core/aval.js";
import { NDArray } from "../core/array.js";
import { ValueError } from "../core/errors.js";
import { Equation, Literal, Program, Var, type Atom } from "../core/ir.js";
import type { Params, Primitive } from "../core/primitive.js";
import { equationSource, Trace, Tracer, withDynamicTrace, type MainTrace } from "../core/trace.js";
import * as tree from "../core/tree.js";
import { toArrayLeaf } from "./leaves.js";

/** A value being staged: it stands for a `Var` of the program under construction. */
export class StagingTracer extends Tracer {
  constructor(
    readonly trace: StagingTrace,
    readonly aval: AbstractValue,
  ) {
    super();
  }
}

/** Whether programs staged now record call sites (see `withoutSources`). */
let recordingSources = true;

/**
 * Runs `f` with call sites left out of every program it stages (loop bodies included): for
 * programs only compiled, never shown, since capturing a stack per operation is a large part of
 * tracing time. `jit(f).lower(...)` stages with them.
 */
export function withoutSources<T>(f: () => T): T {
  const saved = recordingSources;
  recordingSources = false;
  try {
    return f();
  } finally {
    recordingSources = saved;
  }
}

/** Collects equations, constants and variables while a function is staged. */
export class ProgramBuilder {
  readonly equations: Equation[] = [];

  /** @param recordSources capture each equation's user call site (for programs users see). */
  constructor(readonly recordSources = recordingSources) {}

  readonly tracerToVar = new Map<StagingTracer, Var>();
  readonly constTracers = new Map<NDArray, StagingTracer>();
  readonly constVals = new Map<Var, NDArray>();

  newTracer(trace: StagingTrace, aval: AbstractValue): StagingTracer {
    const t = new StagingTracer(trace, aval);
    this.tracerToVar.set(t, new Var(aval));
    return t;
  }

  getVar(t: StagingTracer): Var {
    return this.tracerToVar.get(t)!;
  }

  addConst(trace: StagingTrace, value: NDArray): StagingTracer {
    let t = this.constTracers.get(value);
    if (t === undefined) {
      t = this.newTracer(trace, value.aval);
      this.constTracers.set(value, t);
      this.constVals.set(this.getVar(t), value);
    }
    return t;
  }

  /** Builds the program; scalar constants become inline literals. */
  build(inTracers: readonly StagingTracer[], outTracers: readonly StagingTracer[]): Program {
    const literals = new Map<Var, Literal>();
    const constvars: Var[] = [];
    const consts: NDArray[] = [];
    for (const [v, value] of this.constVals) {
      if (value.ndim === 0 && !(value instanceof Tracer)) {
        literals.set(v, new Literal(Number(value.item()), value.aval));
      } else {
        constvars.push(v);
        consts.push(value);
      }
    }
    const atom = (v: Var): Atom => literals.get(v) ?? v;
    const equations = this.equations.map(
      (eq) =>
        new Equation(
          eq.primitive,
          eq.inputs.map((a) => (a instanceof Var ? atom(a) : a)),
          eq.outputs,
          eq.params,
          eq.source,
        ),
    );
    return new Program(
      constvars,
      consts,
      inTracers.map((t) => this.getVar(t)),
      equations,
      outTracers.map((t) => atom(this.getVar(t))),
    );
  }
}

export class StagingTrace extends Trace {
  get builder(): ProgramBuilder {
    return this.main.globalData as ProgramBuilder;
  }

  pure(value: NDArray): NDArray {
    return this.builder.addConst(this, value);
  }

  lift(value: NDArray): NDArray {
    return this.builder.addConst(this, value);
  }

  processPrimitive(primitive: Primitive, inputs: readonly NDArray[], params: Params): NDArray[] {
    const tracers = inputs as readonly StagingTracer[];
    const outAvals = primitive.spec.abstractEval(
      tracers.map((t) => t.aval),
      params,
    );
    const outs = outAvals.map((aval) => this.builder.newTracer(this, aval));
    this.builder.equations.push(
      new Equation(
        primitive,
        tracers.map((t) => this.builder.getVar(t)),
        outs.map((t) => this.builder.getVar(t)),
        params,
        this.builder.recordSources ? equationSource() : undefined,
      ),
    );
    return outs;
  }
}

/** The abstract value of an argument leaf: arrays keep theirs, JS numbers are weak scalars. */
export function leafAval(operation: string, leaf: unknown): AbstractValue {
  return toArrayLeaf(operation, leaf, "argument").aval;
}

/**
 * Stages `f` on abstract values of the flattened arguments. Returns the program and the output
 * tree structure.
 * @internal
 */
export function stage(
  operation: string,
  f: (...args: never[]) => unknown,
  inAvals: readonly AbstractValue[],
  inTree: tree.TreeDef,
): [Program, tree.TreeDef] {
  const builder = new ProgramBuilder();
  return withDynamicTrace(
    (main: MainTrace) => new StagingTrace(main),
    builder,
    (main) => {
      const trace = new StagingTrace(main);
      const inTracers = inAvals.map((aval) => builder.newTracer(trace, aval));
      const args = tree.unflatten(inTree, inTracers) as never[];
      const out = f(...args);
      const [outLeaves, outTree] = tree.flatten(out);
      const outTracers = outLeaves.map((leaf) => {
        const x = toArrayLeaf(operation, leaf, "output");
        // A constant output (or a value of an outer trace) is staged as a constant.
        return x instanceof StagingTracer && x.trace.main === main ? x : builder.addConst(trace, x);
      });
      return [builder.build(inTracers, outTracers), outTree] as [Program, tree.TreeDef];
    },
  );
}

/**
 * Stages `f` and returns its IR: `makeProgram(f)(...args)` is a `Program` whose `toString()`
 * prints like a jaxpr. Arguments are pytrees of arrays and numbers (their values are not used,
 * only their shapes and dtypes).
 * @example
 * const program = makeProgram((x: NDArray) => np.sin(x).mul(2))(np.ones([3]));
 * console.log(program.toString());
 */
export function makeProgram<Args extends unknown[]>(
  f: (...args: Args) => unknown,
): (...args: Args) => Program {
  if (typeof f !== "function") {
    throw new ValueError("makeProgram", `expects a function, got ${typeof f}.`);
  }
  return (...args: Args): Program => {
    const [leaves, inTree] = tree.flatten(args);
    const avals = leaves.map((leaf) => leafAval("makeProgram", leaf));
    return stage("makeProgram", f as (...a: never[]) => unknown, avals, inTree)[0];
  };
}

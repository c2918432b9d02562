/**
 * The trace stack and `bind`: the only mutable global state of fluxion.
 *
 * Every array operation binds a primitive. `bind` finds the innermost active trace among its
 * inputs (and the dynamic trace), lifts every input into it, and lets that trace decide what the
 * operation means: compute now (eager), carry a tangent (jvp), record an equation (staging) or add
 * a batch axis (vmap). Transforms nest because each trace hands what it cannot handle to the one
 * below it.
 */
import type { AbstractValue } from "./aval.js";
import { NDArray } from "./array.js";
import { SourceInfo, TracerError } from "./errors.js";
import type { Params, Primitive } from "./primitive.js";

/** A trace level on the stack. `active` turns false when its transform returns. */
export class MainTrace {
  active = true;
  constructor(
    readonly level: number,
    readonly makeTrace: (main: MainTrace) => Trace,
    readonly globalData: unknown,
  ) {}
}

/** How one transform interprets primitives. */
export abstract class Trace {
  constructor(readonly main: MainTrace) {}
  /** Wraps a value from outside every transform at this level (a constant). */
  abstract pure(value: NDArray): NDArray;
  /** Wraps a tracer of a lower level. */
  abstract lift(value: NDArray): NDArray;
  /** Interprets one primitive application on values of this trace. */
  abstract processPrimitive(
    primitive: Primitive,
    inputs: readonly NDArray[],
    params: Params,
  ): NDArray[];
}

/** A value standing for an array under a transform. */
export abstract class Tracer extends NDArray {
  abstract readonly trace: Trace;

  /** A tracer has no data unless its trace has it (jvp does, staging does not). */
  concrete(operation: string): NDArray {
    throw new TracerError(
      operation,
      `this value is traced (${this.aval.toString()}), so it has no concrete value here. ` +
        `Under jit or vmap, use np.where or lax.cond instead of a JS if, lax.whileLoop or ` +
        `lax.foriLoop instead of a JS loop over traced values, or mark the argument static ` +
        `with jit(f, {staticArgnums}).`,
    );
  }
}

/** Eager evaluation: the bottom of the stack. Values are concrete arrays. */
class EvalTrace extends Trace {
  pure(value: NDArray): NDArray {
    return value;
  }
  lift(value: NDArray): NDArray {
    return value;
  }
  processPrimitive(primitive: Primitive, inputs: readonly NDArray[], params: Params): NDArray[] {
    // Check shapes and dtypes first, so eager errors are the same as traced ones.
    primitive.spec.abstractEval(
      inputs.map((x) => x.aval),
      params,
    );
    return primitive.spec.impl(inputs, params);
  }
}

const bottom = new MainTrace(0, (main) => new EvalTrace(main), null);
const stack: MainTrace[] = [bottom];
let dynamic: MainTrace = bottom;

/** Runs `fn` with a new trace level on top of the stack; the level is popped even on error. */
export function withMainTrace<T>(
  makeTrace: (main: MainTrace) => Trace,
  globalData: unknown,
  fn: (main: MainTrace) => T,
): T {
  const main = new MainTrace(stack.length, makeTrace, globalData);
  stack.push(main);
  try {
    return fn(main);
  } finally {
    main.active = false;
    stack.pop();
  }
}

/**
 * As `withMainTrace`, and the new level is also the dynamic trace: every bind goes to it, even one
 * whose inputs are all constants (this is how staging records everything).
 */
export function withDynamicTrace<T>(
  makeTrace: (main: MainTrace) => Trace,
  globalData: unknown,
  fn: (main: MainTrace) => T,
): T {
  return withMainTrace(makeTrace, globalData, (main) => {
    const previous = dynamic;
    dynamic = main;
    try {
      return fn(main);
    } finally {
      dynamic = previous;
    }
  });
}

/** The number of active trace levels above eager evaluation (0 when nothing is being traced). */
export function traceDepth(): number {
  return stack.length - 1;
}

function checkLive(x: Tracer, operation: string): void {
  if (!x.trace.main.active) {
    throw new TracerError(
      operation,
      `a traced value (${x.aval.toString()}) escaped from the transform that made it, for example ` +
        `by being stored in an outer variable, and was used after that transform returned. ` +
        `Return values from the transformed function instead of storing them outside it.`,
    );
  }
}

function findTopMain(inputs: readonly NDArray[], operation: string): MainTrace {
  let top = dynamic;
  for (const x of inputs) {
    if (x instanceof Tracer) {
      checkLive(x, operation);
      if (x.trace.main.level > top.level) top = x.trace.main;
    }
  }
  return top;
}

function raise(trace: Trace, x: NDArray, operation: string): NDArray {
  if (!(x instanceof Tracer)) return trace.pure(x);
  const level = x.trace.main.level;
  if (x.trace.main === trace.main) return x;
  if (level < trace.main.level) return trace.lift(x);
  throw new TracerError(
    operation,
    `a traced value (${x.aval.toString()}) from another transform at the same level was mixed in; ` +
      `it probably escaped from an earlier transform. Pass it as an argument instead.`,
  );
}

/** The innermost active trace among `inputs` (and the dynamic trace). */
export function topTrace(inputs: readonly NDArray[], operation: string): Trace {
  const main = findTopMain(inputs, operation);
  return main.makeTrace(main);
}

/** `x` lifted into `trace` (a constant, or a tracer of a lower level). */
export function raiseTo(trace: Trace, x: NDArray, operation: string): NDArray {
  return raise(trace, x, operation);
}

/** Applies `primitive` to `inputs` under the innermost active transform. */
export function bind<P extends Params>(
  primitive: Primitive<P>,
  inputs: readonly NDArray[],
  params: NoInfer<P>,
): NDArray[] {
  const main = findTopMain(inputs, primitive.name);
  const trace = main.makeTrace(main);
  const raised = inputs.map((x) => raise(trace, x, primitive.name));
  bindDepth++;
  try {
    return trace.processPrimitive(primitive as unknown as Primitive, raised, params);
  } finally {
    if (--bindDepth === 0) sharedSource = undefined;
  }
}

/** Binds in progress (a transform's rule binds inside the bind it serves). */
let bindDepth = 0;
/** The call site shared by the equations staged for the outermost bind in progress. */
let sharedSource: SourceInfo | undefined;

/**
 * The user call site of an equation being staged now: every equation a transform stages for one
 * user operation (its JVP, its batched form, …) shares the operation's call site, captured once.
 */
export function equationSource(): SourceInfo {
  sharedSource ??= new SourceInfo();
  return sharedSource;
}

/**
 * Runs `f` with `source` as the call site of the equations it stages (a transform re-running a
 * program's equation: its transpose, its evaluation under another transform).
 */
export function withSource<T>(source: SourceInfo | undefined, f: () => T): T {
  if (source === undefined) return f();
  const [savedSource, savedDepth] = [sharedSource, bindDepth];
  sharedSource = source;
  bindDepth++;
  try {
    return f();
  } finally {
    sharedSource = savedSource;
    bindDepth = savedDepth;
  }
}

/** `bind` for primitives with one output. */
export function bind1<P extends Params>(
  primitive: Primitive<P>,
  inputs: readonly NDArray[],
  params: NoInfer<P>,
): NDArray {
  return bind(primitive, inputs, params)[0]!;
}

/** The abstract values of inputs, for rules that only need shapes and dtypes. */
export function avalsOf(values: readonly NDArray[]): AbstractValue[] {
  return values.map((v) => v.aval);
}

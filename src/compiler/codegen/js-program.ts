/**
 * A whole program as one generated JavaScript function, for programs whose arrays are small
 * (issues #4, #7): no executor steps, no environment lookups, no array objects per operation.
 * Values of at most `elementsLimit` elements live in local variables (one per element; slices,
 * reshapes, stacks and broadcasts of them are just other names for the same locals); larger ones
 * in typed arrays allocated once, when the function is made. Kernels run inline, in the order of
 * the schedule, each under its header comment; fused elementwise kernels over typed arrays are one
 * loop; `while`, `scan` and `cond` are JavaScript loops and branches in the same function, their
 * bodies inline. Equations with no inline form call their primitive's eager implementation.
 *
 * Every element is computed as eager execution computes it — the same scalar function, in the
 * same order (reductions and sums from the first element, in float64), rounded as storage rounds
 * (Math.fround for float32, wrapping for integers) — so results are identical bit for bit.
 */
import type { AbstractValue } from "../../core/aval.js";
import {
  Literal,
  Var,
  variableNames,
  type Atom,
  type Equation,
  type Program,
} from "../../core/ir.js";
import type { NDArray } from "../../core/array.js";
import type { Kernel, Schedule } from "../schedule.js";
import { isElementwise } from "../schedule.js";
import {
  Emitter,
  elementExpression,
  literal,
  mathNames,
  typedArrayOf,
  type Rep,
} from "./js-emitter.js";
import { emitDot, emitReduction, emitStructural, reductionNames } from "./js-data.js";
import { structuralNames } from "./js-structural.js";
import { emitCond, emitScan, emitWhile } from "./js-control.js";
import { emitGather, emitScatter } from "./js-indexing.js";

/** What the generator needs from the rest of the compiler and the runtime. */
export interface JsProgramContext {
  /** Values of at most this many elements are held in local variables. */
  elementsLimit: number;
  /** A loop body or branch, optimised (cached). */
  optimize: (program: Program) => Program;
  /** A program's kernels (cached). */
  schedule: (program: Program) => Schedule;
  /** Kernel names as the report prints them. */
  kernelName: (kernel: Kernel, index: number) => string;
  /** How a loop or branch runs, as the report says it. */
  summary: (eq: Equation) => string;
  /** Products eager execution computes with its plain loop (not the matmul kernels). */
  inlineDot: (eq: Equation) => boolean;
  /** Float functions whose eager form is vectorised code (they call the eager implementation). */
  vectorised: (eq: Equation) => boolean;
  runtime: {
    /** `asConcrete(x).contiguousData()`. */
    contiguous: (x: NDArray) => ArrayLike<number>;
    /** Wraps contiguous storage as an array of `aval`. */
    wrapper: (aval: AbstractValue) => (data: ArrayLike<number>) => NDArray;
    /** A rank-0 array holding a literal. */
    scalar: (value: number, aval: AbstractValue) => NDArray;
    /** A constant's elements, contiguous. */
    elementsOf: (x: NDArray) => ArrayLike<number>;
    /** The vectorised kernel of a function in a float dtype (see `vectorised`): `(source, target)`. */
    vectorised: (
      name: string,
      dtype: "float32" | "float64",
    ) => (source: Float32Array | Float64Array, target: Float32Array | Float64Array) => void;
  };
}

export interface JsProgramCode {
  /** `(bound…) => { …; return function kernels(args) { … } }`. */
  source: string;
  /** The source with every kernel's header and IR equations as comments (made on demand). */
  commented: () => string;
  names: readonly string[];
  values: readonly unknown[];
  /** Bytes of the typed arrays allocated once. */
  pooledBytes: number;
}

const controlFlow = new Set(["while", "scan", "cond"]);

/**
 * An equation as the IR printer prints it; loops and branches without their bodies, which follow
 * as kernels of their own.
 */
function equationLine(name: (v: Var) => string, eq: Equation): string {
  const outs = eq.outputs.map((v) => `${name(v)}:${v.aval.toString()}`).join(" ");
  const control = controlFlow.has(eq.primitive.name);
  const params = control ? "…" : eq.primitive.formatParams(eq.params);
  const args = eq.inputs.map((a) => (a instanceof Literal ? a.toString() : name(a))).join(" ");
  const head = params === "" ? eq.primitive.name : `${eq.primitive.name}[${params}]`;
  return `${outs} = ${head} ${args}`.trimEnd();
}

/** Whether an equation is elementwise with an inline form (its own loop or element locals). */
function inlineElementwise(eq: Equation, context: JsProgramContext): boolean {
  return isElementwise(eq) && !context.vectorised(eq);
}

/** Generates the function; `undefined` when it would be too long. */
export function generateJsProgram(
  program: Program,
  context: JsProgramContext,
  maxLines = 40000,
): JsProgramCode | undefined {
  const g = new Generator(context, maxLines);
  try {
    g.top(program);
  } catch (error) {
    if (error instanceof TooLong) return undefined;
    throw error;
  }
  const e = g.emitter;
  return {
    source: e.source(false),
    commented: () => e.source(true),
    names: e.names,
    values: e.values,
    pooledBytes: e.pooledBytes,
  };
}

class TooLong extends Error {}

type Scope = Map<Var, Rep>;

export class Generator {
  readonly emitter = new Emitter();

  constructor(
    readonly context: JsProgramContext,
    private readonly maxLines: number,
  ) {}

  /** Whether `aval`'s elements live in locals. */
  small(aval: AbstractValue): boolean {
    return aval.size <= this.context.elementsLimit;
  }

  rep(scope: Scope, a: Atom): Rep {
    if (a instanceof Literal) return { kind: "elements", items: [literal(a.value, a.aval.dtype)] };
    const rep = scope.get(a);
    if (rep === undefined) throw new Error("fluxion: a value is used before it is computed");
    return rep;
  }

  /** Element `k` of an operand of an elementwise equation (rank-0 operands broadcast). */
  item(scope: Scope, a: Atom, k: number): string {
    const rep = this.rep(scope, a);
    if (rep.kind === "buffer") return `${rep.name}[${k}]`;
    return rep.items[a.aval.size === 1 ? 0 : k]!;
  }

  /** Emits `const name = expression;` and returns the name. */
  constant(expression: string, prefix = "v"): string {
    const name = this.emitter.fresh(prefix);
    this.emitter.line(`const ${name} = ${expression};`);
    return name;
  }

  /** The value as a typed array (elements are copied into one allocated once). */
  buffer(rep: Rep, aval: AbstractValue): string {
    if (rep.kind === "buffer") return rep.name;
    const name = this.emitter.allocate(aval);
    rep.items.forEach((item, k) => this.emitter.line(`${name}[${k}] = ${item};`));
    return name;
  }

  /** Reads a typed array into element locals. */
  unpack(source: string, aval: AbstractValue, offset = ""): { kind: "elements"; items: string[] } {
    const items: string[] = [];
    for (let k = 0; k < aval.size; k++) items.push(this.constant(`${source}[${offset}${k}]`));
    return { kind: "elements", items };
  }

  top(program: Program): void {
    const e = this.emitter;
    const contiguous = e.bind(this.context.runtime.contiguous, "contiguous");
    const inputs = program.invars.map((v, i) => {
      const data = this.constant(`${contiguous}(args[${i}])`, "a");
      return this.small(v.aval)
        ? this.unpack(data, v.aval)
        : { kind: "buffer" as const, name: data };
    });
    const outputs = this.program(program, inputs);
    const results = program.outputs.map((a, i) => {
      const j = a instanceof Var ? program.invars.indexOf(a) : -1;
      if (j >= 0) return `args[${j}]`;
      const wrap = e.bind(this.context.runtime.wrapper(a.aval), "wrap");
      const rep = outputs[i]!;
      if (rep.kind === "buffer") return `${wrap}(${rep.name}.slice())`;
      const data = e.fresh("out");
      e.line(`const ${data} = new ${typedArrayOf[a.aval.dtype]}(${a.aval.size});`);
      rep.items.forEach((item, k) => e.line(`${data}[${k}] = ${item};`));
      return `${wrap}(${data})`;
    });
    e.line(`return [${results.join(", ")}];`);
  }

  /** Emits a program's kernels with its inputs bound to `inputs`; returns its outputs. */
  program(program: Program, inputs: readonly Rep[]): Rep[] {
    const scope: Scope = new Map();
    program.constvars.forEach((v, i) => scope.set(v, this.constantRep(program.consts[i]!, v)));
    program.invars.forEach((v, i) => scope.set(v, inputs[i]!));
    const schedule = this.context.schedule(program);
    let name: ((v: Var) => string) | undefined;
    schedule.kernels.forEach((k, i) => {
      this.emitter.comment(() => {
        name ??= variableNames(program);
        return [
          `${this.context.kernelName(k, i)}: ${k.equations.length} equation(s), ${k.flops} FLOPs`,
          ...k.equations.map((eq) => `  ${equationLine(name!, eq)}`),
        ];
      });
      this.kernel(k, scope);
      if (this.emitter.lineCount > this.maxLines) throw new TooLong();
    });
    return program.outputs.map((a) => this.rep(scope, a));
  }

  private constantRep(value: NDArray, v: Var): Rep {
    const data = this.context.runtime.elementsOf(value);
    if (this.small(v.aval)) {
      return { kind: "elements", items: Array.from(data, (x) => literal(x, v.aval.dtype, false)) };
    }
    return { kind: "buffer", name: this.emitter.bind(data, "constant") };
  }

  private kernel(k: Kernel, scope: Scope): void {
    const last = k.equations[k.equations.length - 1]!;
    const body = reductionNames.has(last.primitive.name) ? k.equations.slice(0, -1) : k.equations;
    if (
      k.kind === "fused" &&
      body.length > 0 &&
      !this.small(body[0]!.outputs[0]!.aval) &&
      body.every((eq) => inlineElementwise(eq, this.context))
    ) {
      this.fusedLoop(k, body, scope);
      if (body.length < k.equations.length) this.equation(last, scope);
      return;
    }
    for (const eq of k.equations) this.equation(eq, scope);
  }

  /**
   * Elementwise equations over typed arrays in one loop: intermediates are loop locals; values
   * read after the kernel (and a trailing reduction's operand) are written out.
   */
  private fusedLoop(k: Kernel, body: readonly Equation[], scope: Scope): void {
    const e = this.emitter;
    const n = body[0]!.outputs[0]!.aval.size;
    const last = k.equations[k.equations.length - 1]!;
    const written = new Set<Var>(k.outputs.filter((v) => body.some((eq) => eq.outputs[0] === v)));
    if (body.length < k.equations.length) written.add(last.inputs[0] as Var);
    const targets = new Map([...written].map((v) => [v, e.allocate(v.aval)]));
    const local = new Map<Var, string>();
    e.block(`for (let e = 0; e < ${n}; e++)`, () => {
      const loaded = new Map<Var, string>();
      const arg = (a: Atom): string => {
        if (a instanceof Literal) return literal(a.value, a.aval.dtype);
        const inner = local.get(a);
        if (inner !== undefined) return inner;
        const rep = this.rep(scope, a);
        if (rep.kind === "elements") return rep.items[0]!;
        let name = loaded.get(a);
        if (name === undefined) {
          name = this.constant(`${rep.name}[e]`, "x");
          loaded.set(a, name);
        }
        return name;
      };
      for (const eq of body) {
        const args = eq.inputs.map(arg);
        const out = eq.outputs[0]!;
        local.set(out, this.constant(this.elementwise(eq, args), "t"));
      }
      for (const [v, target] of targets) e.line(`${target}[e] = ${local.get(v)!};`);
    });
    for (const [v, target] of targets) scope.set(v, { kind: "buffer", name: target });
  }

  /** The stored value of one element of an elementwise equation. */
  elementwise(eq: Equation, args: readonly string[]): string {
    return elementExpression(eq, args, () => {
      const f = eq.primitive.spec.scalar!(
        eq.inputs.map((a) => a.aval.dtype),
        eq.params,
      );
      return mathNames.get(f) ?? this.emitter.bind(f, "f");
    });
  }

  equation(eq: Equation, scope: Scope): void {
    const name = eq.primitive.name;
    if (name === "while") return emitWhile(this, eq, scope);
    if (name === "scan") return emitScan(this, eq, scope);
    if (name === "cond") return emitCond(this, eq, scope);
    if (inlineElementwise(eq, this.context)) return this.elementwiseEquation(eq, scope);
    if (isElementwise(eq) && this.context.vectorised(eq)) return this.vectorisedEquation(eq, scope);
    if (structuralNames.has(name)) return emitStructural(this, eq, scope);
    if (reductionNames.has(name)) return emitReduction(this, eq, scope);
    if (name === "iota") return this.iota(eq, scope);
    if (name === "dot_general" && this.context.inlineDot(eq)) return emitDot(this, eq, scope);
    if (name === "gather") return emitGather(this, eq, scope);
    if (name === "scatter") return emitScatter(this, eq, scope);
    this.eager(eq, scope);
  }

  private elementwiseEquation(eq: Equation, scope: Scope): void {
    const out = eq.outputs[0]!;
    if (this.small(out.aval)) {
      const items: string[] = [];
      for (let k = 0; k < out.aval.size; k++) {
        const args = eq.inputs.map((a) => this.item(scope, a, k));
        items.push(this.constant(this.elementwise(eq, args)));
      }
      scope.set(out, { kind: "elements", items });
      return;
    }
    const target = this.emitter.allocate(out.aval);
    this.emitter.block(`for (let e = 0; e < ${out.aval.size}; e++)`, () => {
      const args = eq.inputs.map((a) => {
        const rep = this.rep(scope, a);
        return rep.kind === "buffer" ? this.constant(`${rep.name}[e]`, "x") : rep.items[0]!;
      });
      this.emitter.line(`${target}[e] = ${this.elementwise(eq, args)};`);
    });
    scope.set(out, { kind: "buffer", name: target });
  }

  /**
   * A float function eager execution runs on its vectorised WebAssembly kernel: the same
   * kernel (a function of two operands, by its eager implementation, which calls it).
   */
  private vectorisedEquation(eq: Equation, scope: Scope): void {
    if (eq.inputs.length !== 1) return this.eager(eq, scope);
    const x = eq.inputs[0]!;
    const out = eq.outputs[0]!;
    const dtype = x.aval.dtype as "float32" | "float64";
    const kernel = this.emitter.bind(
      this.context.runtime.vectorised(eq.primitive.name, dtype),
      "simd_",
    );
    const source = this.buffer(this.rep(scope, x), x.aval);
    const target = this.emitter.allocate(out.aval);
    this.emitter.line(`${kernel}(${source}, ${target});`);
    scope.set(
      out,
      this.small(out.aval) ? this.unpack(target, out.aval) : { kind: "buffer", name: target },
    );
  }

  private iota(eq: Equation, scope: Scope): void {
    const out = eq.outputs[0]!;
    const data = this.context.runtime.elementsOf(eq.primitive.spec.impl([], eq.params)[0]!);
    const rep: Rep = this.small(out.aval)
      ? { kind: "elements", items: Array.from(data, (x) => literal(x, out.aval.dtype, false)) }
      : { kind: "buffer", name: this.emitter.bind(data, "constant") };
    scope.set(out, rep);
  }

  /** An equation with no inline form: its primitive's eager implementation. */
  private eager(eq: Equation, scope: Scope): void {
    const e = this.emitter;
    const { runtime } = this.context;
    const args = eq.inputs.map((a) => {
      if (a instanceof Literal) return e.bind(runtime.scalar(a.value, a.aval), "literal");
      const rep = this.rep(scope, a);
      const wrap = e.bind(runtime.wrapper(a.aval), "wrap");
      if (rep.kind === "buffer") return `${wrap}(${rep.name})`;
      return `${wrap}(${typedArrayOf[a.aval.dtype]}.of(${rep.items.join(", ")}))`;
    });
    const impl = e.bind(eq.primitive.spec.impl, `${eq.primitive.name.replace(/\W/g, "_")}_`);
    const params = e.bind(eq.params, "params");
    const result = this.constant(`${impl}([${args.join(", ")}], ${params})`, "r");
    const contiguous = e.bind(runtime.contiguous, "contiguous");
    eq.outputs.forEach((v, i) => {
      const data = this.constant(`${contiguous}(${result}[${i}])`, "d");
      scope.set(v, this.small(v.aval) ? this.unpack(data, v.aval) : { kind: "buffer", name: data });
    });
  }
}

/**
 * The IR: a `Program` is a list of `Equation`s over typed `Var`s, printed like a jaxpr.
 */
import type { AbstractValue } from "./aval.js";
import type { NDArray } from "./array.js";
import type { SourceInfo } from "./errors.js";
import type { Params, Primitive } from "./primitive.js";
import { bind, withSource } from "./trace.js";

/** A variable of the IR: defined once, typed by an abstract value. */
export class Var {
  constructor(readonly aval: AbstractValue) {}
}

/** A scalar constant inlined into an equation. */
export class Literal {
  constructor(
    readonly value: number,
    readonly aval: AbstractValue,
  ) {}

  toString(): string {
    const v =
      this.aval.dtype === "bool"
        ? this.value !== 0
          ? "True"
          : "False"
        : formatNumber(this.value, this.aval.dtype);
    return `${v}:${this.aval.toString()}`;
  }
}

function formatNumber(value: number, dtype: string): string {
  if (dtype.startsWith("float") && Number.isInteger(value)) return `${value}.0`;
  return String(value);
}

export type Atom = Var | Literal;

/** One primitive application: `outputs = primitive[params](inputs)`, from `source` in user code. */
export class Equation {
  constructor(
    readonly primitive: Primitive,
    readonly inputs: readonly Atom[],
    readonly outputs: readonly Var[],
    readonly params: Params,
    readonly source: SourceInfo | undefined,
  ) {}
}

/**
 * A staged program. `constvars` are bound to `consts` (arrays the function closed over); `invars`
 * are the flattened arguments; `outputs` the flattened results.
 */
export class Program {
  constructor(
    readonly constvars: readonly Var[],
    readonly consts: readonly NDArray[],
    readonly invars: readonly Var[],
    readonly equations: readonly Equation[],
    readonly outputs: readonly Atom[],
  ) {}

  get inAvals(): AbstractValue[] {
    return this.invars.map((v) => v.aval);
  }
  get outAvals(): AbstractValue[] {
    return this.outputs.map((v) => v.aval);
  }

  /** A jaxpr-like printout, e.g. `{ lambda ; a:f32[3]. let b:f32[3] = sin a in (b) }`. */
  toString(): string {
    return printProgram(this, { sourceInfo: false });
  }

  /** The printout with each equation's user call site as a trailing comment. */
  toStringWithSources(): string {
    return printProgram(this, { sourceInfo: true });
  }
}

/** Names variables a, b, …, z, ba, bb, … in order of first appearance. */
class Namer {
  private readonly names = new Map<Var, string>();
  name(v: Var): string {
    let n = this.names.get(v);
    if (n === undefined) {
      n = alphabetic(this.names.size);
      this.names.set(v, n);
    }
    return n;
  }
  atom(a: Atom): string {
    return a instanceof Literal ? a.toString() : this.name(a);
  }
  binder(v: Var): string {
    return `${this.name(v)}:${v.aval.toString()}`;
  }
}

function alphabetic(i: number): string {
  let s = "";
  do {
    s = String.fromCharCode(97 + (i % 26)) + s;
    i = Math.floor(i / 26);
  } while (i > 0);
  return s;
}

/**
 * Each equation of `program` printed as in `program.toString()` (same variable names), for
 * reports and generated-code comments.
 */
export function equationLines(program: Program): Map<Equation, string> {
  const line = equationPrinter(program);
  return new Map(program.equations.map((eq) => [eq, line(eq)]));
}

function printEquation(namer: Namer, eq: Equation): string {
  const outs = eq.outputs.map((v) => namer.binder(v)).join(" ");
  const params = eq.primitive.formatParams(eq.params);
  const args = eq.inputs.map((a) => namer.atom(a)).join(" ");
  const head = params === "" ? eq.primitive.name : `${eq.primitive.name}[${params}]`;
  return `${outs} = ${head} ${args}`.trimEnd();
}

/**
 * Prints an equation of `program` as `equationLines` does, on demand (for the few equations a
 * compiler comments; printing a loop's equation prints its whole body).
 */
export function equationPrinter(program: Program): (eq: Equation) => string {
  const namer = new Namer();
  // The names printProgram gives: arguments first, then each equation's outputs in order.
  for (const v of [...program.constvars, ...program.invars]) namer.name(v);
  for (const eq of program.equations) for (const v of eq.outputs) namer.name(v);
  return (eq) => printEquation(namer, eq);
}

/** The printed name of each variable of `program`, as `program.toString()` names them. */
export function variableNames(program: Program): (v: Var) => string {
  const namer = new Namer();
  for (const v of [...program.constvars, ...program.invars]) namer.name(v);
  for (const eq of program.equations) for (const v of eq.outputs) namer.name(v);
  return (v) => namer.name(v);
}

function printProgram(program: Program, options: { sourceInfo: boolean }): string {
  const namer = new Namer();
  const consts = program.constvars.map((v) => namer.binder(v)).join(", ");
  const ins = program.invars.map((v) => namer.binder(v)).join(", ");
  const lines = [`{ lambda ${consts}${consts === "" ? "" : " "}; ${ins}. let`];
  for (const eq of program.equations) {
    let line = `    ${printEquation(namer, eq)}`;
    if (options.sourceInfo && eq.source !== undefined) {
      const site = eq.source.toString();
      if (site !== "") line += `    # ${site}`;
    }
    lines.push(line);
  }
  lines.push(`  in (${program.outputs.map((a) => namer.atom(a)).join(", ")}) }`);
  return lines.join("\n");
}

/** An invalid program (a var used before definition, defined twice, or a type mismatch). */
export class ProgramValidationError extends Error {}

/**
 * Checks that every var is defined once before use and that each equation's output types are
 * what its primitive's abstract evaluation gives.
 */
export function validateProgram(program: Program): void {
  const defined = new Set<Var>();
  const define = (v: Var, where: string): void => {
    if (defined.has(v)) throw new ProgramValidationError(`${where}: a variable is defined twice`);
    defined.add(v);
  };
  const use = (a: Atom, where: string): void => {
    if (a instanceof Var && !defined.has(a)) {
      throw new ProgramValidationError(`${where}: a variable is used before it is defined`);
    }
  };
  if (program.constvars.length !== program.consts.length) {
    throw new ProgramValidationError("the number of constvars and consts differ");
  }
  program.constvars.forEach((v, i) => {
    define(v, "constvar");
    if (!v.aval.equals(program.consts[i]!.aval)) {
      throw new ProgramValidationError(`constvar ${i} has the wrong type`);
    }
  });
  for (const v of program.invars) define(v, "invar");
  program.equations.forEach((eq, i) => {
    const where = `equation ${i} (${eq.primitive.name})`;
    for (const a of eq.inputs) use(a, where);
    const expected = eq.primitive.spec.abstractEval(
      eq.inputs.map((a) => a.aval),
      eq.params,
    );
    if (expected.length !== eq.outputs.length) {
      throw new ProgramValidationError(`${where}: expected ${expected.length} outputs`);
    }
    eq.outputs.forEach((v, j) => {
      if (!v.aval.equals(expected[j]!)) {
        throw new ProgramValidationError(
          `${where}: output ${j} is ${v.aval.toString()} but the primitive gives ${expected[j]!.toString()}`,
        );
      }
      define(v, where);
    });
  });
  for (const a of program.outputs) use(a, "outputs");
}

/**
 * Evaluates `program` on `args` by binding each equation in turn, so it runs under whatever
 * transforms are active (eagerly when none are).
 */
export function evalProgram(
  program: Program,
  args: readonly NDArray[],
  literal: (value: number, aval: AbstractValue) => NDArray,
): NDArray[] {
  const env = new Map<Var, NDArray>();
  const read = (a: Atom): NDArray =>
    a instanceof Literal ? literal(a.value, a.aval) : env.get(a)!;
  program.constvars.forEach((v, i) => env.set(v, program.consts[i]!));
  program.invars.forEach((v, i) => env.set(v, args[i]!));
  for (const eq of program.equations) {
    const outs = withSource(eq.source, () => bind(eq.primitive, eq.inputs.map(read), eq.params));
    eq.outputs.forEach((v, i) => env.set(v, outs[i]!));
  }
  return program.outputs.map(read);
}

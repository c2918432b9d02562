/**
 * Shared machinery of IR passes: substituting atoms for variables through a program.
 */
import { Equation, Literal, Program, Var, type Atom } from "../../core/ir.js";

/** Variables replaced by other atoms; lookups follow chains (a → b → c). */
export class Substitution {
  private readonly map = new Map<Var, Atom>();

  set(from: Var, to: Atom): void {
    this.map.set(from, to);
  }

  get size(): number {
    return this.map.size;
  }

  apply(a: Atom): Atom {
    let current: Atom = a;
    while (current instanceof Var) {
      const next = this.map.get(current);
      if (next === undefined) break;
      current = next;
    }
    return current;
  }

  equation(eq: Equation, inputs: readonly Atom[] = eq.inputs): Equation {
    return new Equation(
      eq.primitive,
      inputs.map((a) => this.apply(a)),
      eq.outputs,
      eq.params,
      eq.source,
    );
  }
}

/** A copy of `program` with new equations (and optionally constants), outputs substituted. */
export function withEquations(
  program: Program,
  equations: readonly Equation[],
  substitution: Substitution,
  constvars: readonly Var[] = program.constvars,
  consts = program.consts,
): Program {
  return new Program(
    constvars,
    consts,
    program.invars,
    equations,
    program.outputs.map((a) => substitution.apply(a)),
  );
}

/** A stable key for an atom (identity for vars, value and type for literals). */
export function atomKey(a: Atom, ids: Map<Var, number>): string {
  if (a instanceof Literal) {
    const value = Object.is(a.value, -0) ? "-0" : String(a.value);
    return `${value}:${a.aval.toString()}:${a.aval.weakType ? "w" : ""}`;
  }
  let id = ids.get(a);
  if (id === undefined) {
    id = ids.size;
    ids.set(a, id);
  }
  return `v${id}`;
}

const functionIds = new WeakMap<object, number>();

/**
 * A stable key for params: plain data by value (with -0, NaN and ±inf distinct); functions and
 * programs (loop bodies, branches) by identity — a body is not walked (nor its constants
 * serialised) each time a pass looks at its loop.
 */
export function paramsKey(params: object): string {
  let key = paramsKeys.get(params);
  if (key === undefined) {
    key = serialise(params);
    paramsKeys.set(params, key);
  }
  return key;
}

/** Keys already made: params are immutable, and each pass round asks again for the same ones. */
const paramsKeys = new WeakMap<object, string>();

function serialise(params: object): string {
  return JSON.stringify(params, (_, v: unknown) => {
    if (typeof v === "function" || v instanceof Program) {
      let id = functionIds.get(v);
      if (id === undefined) {
        id = nextFunctionId++;
        functionIds.set(v, id);
      }
      return `<${typeof v === "function" ? "fn" : "program"} ${id}>`;
    }
    if (typeof v === "number" && (!Number.isFinite(v) || Object.is(v, -0)))
      return `<number ${Object.is(v, -0) ? "-0" : String(v)}>`;
    return v;
  });
}

let nextFunctionId = 0;

/**
 * The pieces the whole-program JavaScript generator (`js-program.ts`) writes with: how a value is
 * held (its elements in local variables, or a typed array), literals, the rounding each dtype's
 * storage applies, and an emitter that tracks indentation, fresh names, values bound into the
 * generated function, and the typed arrays it allocates once.
 */
import type { AbstractValue } from "../../core/aval.js";
import { castScalar, itemSize, type DType } from "../../core/dtype.js";
import type { Equation } from "../../core/ir.js";

/**
 * How the generated code holds a value: `elements` — one JavaScript expression per element
 * (local variable names or number literals), row-major; `buffer` — the name of a local holding a
 * contiguous typed array of exactly the value's elements (read only by everything but the code
 * that defines the value).
 */
export type Rep = { kind: "elements"; items: string[] } | { kind: "buffer"; name: string };

export const typedArrayOf: Record<DType, string> = {
  float32: "Float32Array",
  float64: "Float64Array",
  int32: "Int32Array",
  uint32: "Uint32Array",
  bool: "Uint8Array",
};

/**
 * A number as JavaScript source (negative values parenthesised), cast to `dtype` as a literal of
 * the IR is (`cast: false` for elements read from storage, which hold what they hold).
 */
export function literal(value: number, dtype: DType, cast = true): string {
  const v = cast ? castScalar(value, dtype) : value;
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "Infinity";
  if (v === -Infinity) return "(-Infinity)";
  if (Object.is(v, -0)) return "(-0)";
  return v < 0 ? `(${v})` : String(v);
}

/** The expression that rounds a freshly computed value to what `dtype` storage would hold. */
export function store(dtype: DType, expression: string): string {
  switch (dtype) {
    case "float32":
      return `fround(${expression})`;
    case "float64":
      return expression;
    case "int32":
      return `(${expression}) | 0`;
    case "uint32":
      return `(${expression}) >>> 0`;
    case "bool":
      // What a Uint8Array stores (ToUint8).
      return `(${expression}) & 255`;
  }
}

const comparisons: Record<string, string> = {
  eq: "===",
  ne: "!==",
  lt: "<",
  le: "<=",
  gt: ">",
  ge: ">=",
};

const isFloat = (dtype: DType): boolean => dtype === "float32" || dtype === "float64";

/**
 * One element of an elementwise equation, from its operands' elements (names or literals, so
 * they may be repeated): the same scalar function eager execution applies, inlined where it is
 * a single operator, then rounded as the output's storage rounds.
 */
export function elementExpression(
  eq: Equation,
  args: readonly string[],
  call: () => string,
): string {
  const name = eq.primitive.name;
  const inType = eq.inputs[0]!.aval.dtype;
  const outType = eq.outputs[0]!.aval.dtype;
  const [a, b] = args;
  const op = comparisons[name];
  if (op !== undefined) return `(${a} ${op} ${b} ? 1 : 0)`;
  if (name === "select") return `(${args[0]} !== 0 ? ${args[1]} : ${args[2]})`;
  if (name === "not" && inType === "bool") return `(${a} === 0 ? 1 : 0)`;
  if ((name === "and" || name === "or") && inType === "bool") {
    return `(${a} ${name === "and" ? "&" : "|"} ${b})`;
  }
  let core: string | undefined;
  if (name === "add") core = `${a} + ${b}`;
  else if (name === "sub") core = `${a} - ${b}`;
  else if (name === "neg") core = `-${a}`;
  else if (isFloat(inType)) {
    if (name === "mul") core = `${a} * ${b}`;
    else if (name === "div") core = `${a} / ${b}`;
    else if (name === "max")
      core = `${a} !== ${a} || ${b} !== ${b} ? NaN : ${a} > ${b} ? ${a} : ${b}`;
    else if (name === "min")
      core = `${a} !== ${a} || ${b} !== ${b} ? NaN : ${a} < ${b} ? ${a} : ${b}`;
  }
  core ??= `${call()}(${args.join(", ")})`;
  return outType === "float64" ? core : store(outType, core);
}

/** `Math`'s functions by identity: a scalar function that is one of them is called by name. */
export const mathNames: ReadonlyMap<unknown, string> = new Map(
  Object.getOwnPropertyNames(Math)
    .filter((key) => typeof (Math as unknown as Record<string, unknown>)[key] === "function")
    .map((key) => [(Math as unknown as Record<string, unknown>)[key], `Math.${key}`]),
);

/** Writes JavaScript source line by line, and keeps what the generated function closes over. */
export class Emitter {
  /** Lines, and comments made only when the commented source is asked for. */
  private readonly body: (string | { depth: number; lines: () => string[] })[] = [];
  private depth = 2;
  private counter = 0;
  private readonly bound = new Map<unknown, string>();
  /** Factory parameters and the values they are bound to. */
  readonly names: string[] = [];
  readonly values: unknown[] = [];
  /** Typed arrays allocated once, when the function is instantiated. */
  private readonly pool: string[] = [];
  /** Bytes of the typed arrays allocated once. */
  pooledBytes = 0;

  line(text: string): void {
    this.body.push(`${"  ".repeat(this.depth)}${text}`);
  }

  /** Comment lines (`// …`), made only for the commented source. */
  comment(lines: () => string[]): void {
    this.body.push({ depth: this.depth, lines });
  }

  /** `head {`, the body indented, then `}`. */
  block(head: string, inside: () => void, tail = "}"): void {
    this.line(head === "" ? "{" : `${head} {`);
    this.depth++;
    inside();
    this.depth--;
    this.line(tail);
  }

  fresh(prefix: string): string {
    return `${prefix}${this.counter++}`;
  }

  /** A factory parameter bound to `value` (the same object is bound once). */
  bind(value: unknown, prefix: string): string {
    const known = this.bound.get(value);
    if (known !== undefined) return known;
    const name = this.fresh(prefix);
    this.bound.set(value, name);
    this.names.push(name);
    this.values.push(value);
    return name;
  }

  /** A typed array for `aval`'s elements, allocated once when the function is made. */
  allocate(aval: AbstractValue | { dtype: DType; size: number }): string {
    const name = this.fresh("B");
    this.pool.push(`const ${name} = new ${typedArrayOf[aval.dtype]}(${aval.size});`);
    this.pooledBytes += aval.size * itemSize(aval.dtype);
    return name;
  }

  get lineCount(): number {
    return this.body.length;
  }

  /** `head {`, then `} else {`, then `}`. */
  ifElse(head: string, then: () => void, otherwise: () => void): void {
    this.line(`${head} {`);
    this.depth++;
    then();
    this.depth--;
    this.line("} else {");
    this.depth++;
    otherwise();
    this.depth--;
    this.line("}");
  }

  /**
   * The factory: `(bound…) => { pool…; return function kernels(args) { body } }`, with the
   * comments or without (what runs).
   */
  source(comments: boolean): string {
    const body = this.body.flatMap((line) => {
      if (typeof line === "string") return [line];
      if (!comments) return [];
      const indent = "  ".repeat(line.depth);
      return line.lines().map((text) => `${indent}// ${text}`);
    });
    return [
      `(${this.names.join(", ")}) => {`,
      "  const fround = Math.fround;",
      ...this.pool.map((line) => `  ${line}`),
      "  return function kernels(args) {",
      ...body,
      "  };",
      "}",
    ].join("\n");
  }
}

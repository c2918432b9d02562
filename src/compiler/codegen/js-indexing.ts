/**
 * Indexing with traced indices in the whole-program JavaScript code: `gather` (out-of-range
 * indices clamped) and `scatter` (out-of-range rows dropped, rows applied in order, each combined
 * element stored as the operand's dtype stores it), as eager execution computes them, over typed
 * arrays with the strides and offsets worked out at compile time.
 */
import type { AbstractValue } from "../../core/aval.js";
import type { Equation, Var } from "../../core/ir.js";
import { contiguousStrides } from "../../core/shape.js";
import { literal, store, type Rep } from "./js-emitter.js";
import type { Generator } from "./js-program.js";

type Scope = Map<Var, Rep>;

interface Layout {
  /** Index rows (the indices' leading axes) and index entries per row. */
  rows: number;
  k: number;
  /** Elements per row: the operand's axes that are not indexed. */
  block: number;
  /** Offsets of a row's elements from its first, in row-major order; `undefined` when 0, 1, 2, … */
  rest: Int32Array | undefined;
  /** Per indexed axis: its length and stride. */
  axes: { n: number; stride: number }[];
}

function layoutOf(
  operand: AbstractValue,
  indices: AbstractValue,
  indexed: readonly number[],
): Layout {
  const strides = contiguousStrides(operand.shape);
  const restAxes = operand.shape.map((_, i) => i).filter((i) => !indexed.includes(i));
  const restShape = restAxes.map((a) => operand.shape[a]!);
  const block = restShape.reduce((n, d) => n * d, 1);
  const rest = new Int32Array(block);
  const index = restShape.map(() => 0);
  for (let q = 0; q < block; q++) {
    rest[q] = restAxes.reduce((n, a, i) => n + index[i]! * strides[a]!, 0);
    for (let i = restShape.length - 1; i >= 0; i--) {
      if (++index[i]! < restShape[i]!) break;
      index[i] = 0;
    }
  }
  return {
    rows: indices.shape.slice(0, -1).reduce((n, d) => n * d, 1),
    k: indexed.length,
    block,
    rest: rest.every((o, q) => o === q) ? undefined : rest,
    axes: indexed.map((a) => ({ n: operand.shape[a]!, stride: strides[a]! })),
  };
}

/** `x[i]` for the row offset `o` and element `q` (names or numbers). */
function element(g: Generator, x: string, o: string, q: string, layout: Layout): string {
  const rest = layout.rest === undefined ? q : `${g.emitter.bind(layout.rest, "rest")}[${q}]`;
  return `${x}[${o} + ${rest}]`;
}

export function emitGather(g: Generator, eq: Equation, scope: Scope): void {
  const e = g.emitter;
  const [operand, indices] = eq.inputs as [Var, Var];
  const out = eq.outputs[0]!;
  const { indexedAxes } = eq.params as { indexedAxes: readonly number[] };
  const layout = layoutOf(operand.aval, indices.aval, indexedAxes);
  if (operand.aval.size === 0) {
    // Nothing to read: zeros, as eagerly.
    const zero = literal(0, out.aval.dtype);
    const rep: Rep = g.small(out.aval)
      ? { kind: "elements", items: Array.from({ length: out.aval.size }, () => zero) }
      : { kind: "buffer", name: e.allocate(out.aval) };
    scope.set(out, rep);
    return;
  }
  const source = g.buffer(g.rep(scope, operand), operand.aval);
  const index = g.buffer(g.rep(scope, indices), indices.aval);
  /** Emits the clamped offset of row `r` (a number or a name) into `o`. */
  const offset = (r: string, o: string): void => {
    e.line(`let ${o} = 0;`);
    layout.axes.forEach(({ n, stride }, j) => {
      const i = e.fresh("i");
      e.line(`const ${i} = ${index}[${r} * ${layout.k} + ${j}];`);
      e.line(`${o} += (${i} < 0 ? 0 : ${i} >= ${n} ? ${n - 1} : ${i}) * ${stride};`);
    });
  };
  if (g.small(out.aval)) {
    const items: string[] = [];
    for (let r = 0; r < layout.rows; r++) {
      const o = e.fresh("o");
      offset(String(r), o);
      for (let q = 0; q < layout.block; q++) {
        items.push(g.constant(element(g, source, o, String(q), layout)));
      }
    }
    scope.set(out, { kind: "elements", items });
    return;
  }
  const target = e.allocate(out.aval);
  e.block(`for (let r = 0; r < ${layout.rows}; r++)`, () => {
    offset("r", "o");
    e.line(
      `for (let q = 0; q < ${layout.block}; q++) ${target}[r * ${layout.block} + q] = ${element(g, source, "o", "q", layout)};`,
    );
  });
  scope.set(out, { kind: "buffer", name: target });
}

const combine: Record<string, (old: string, update: string) => string> = {
  set: (_, u) => u,
  add: (t, u) => `${t} + ${u}`,
  mul: (t, u) => `${t} * ${u}`,
  min: (t, u) => `${t} !== ${t} || ${u} !== ${u} ? NaN : Math.min(${t}, ${u})`,
  max: (t, u) => `${t} !== ${t} || ${u} !== ${u} ? NaN : Math.max(${t}, ${u})`,
};

export function emitScatter(g: Generator, eq: Equation, scope: Scope): void {
  const e = g.emitter;
  const [operand, indices, updates] = eq.inputs as [Var, Var, Var];
  const out = eq.outputs[0]!;
  const { indexedAxes, mode } = eq.params as { indexedAxes: readonly number[]; mode: string };
  const layout = layoutOf(operand.aval, indices.aval, indexedAxes);
  const target = e.allocate(out.aval);
  const initial = g.rep(scope, operand);
  if (initial.kind === "buffer") e.line(`${target}.set(${initial.name});`);
  else initial.items.forEach((item, k) => e.line(`${target}[${k}] = ${item};`));
  if (out.aval.size > 0 && layout.rows > 0 && layout.block > 0) {
    const index = g.buffer(g.rep(scope, indices), indices.aval);
    const update = g.buffer(g.rep(scope, updates), updates.aval);
    e.block(`for (let r = 0; r < ${layout.rows}; r++)`, () => {
      e.line("let o = 0;");
      layout.axes.forEach(({ n, stride }, j) => {
        e.line(`const i${j} = ${index}[r * ${layout.k} + ${j}];`);
        // Rows with an index out of range are dropped.
        e.line(`if (i${j} < 0 || i${j} >= ${n}) continue;`);
        e.line(`o += i${j} * ${stride};`);
      });
      e.block(`for (let q = 0; q < ${layout.block}; q++)`, () => {
        const rest = layout.rest === undefined ? "q" : `${e.bind(layout.rest, "rest")}[q]`;
        e.line(`const p = o + ${rest};`);
        const value = combine[mode]!(`${target}[p]`, `${update}[r * ${layout.block} + q]`);
        e.line(`${target}[p] = ${store(out.aval.dtype, value)};`);
      });
    });
  }
  scope.set(out, g.small(out.aval) ? g.unpack(target, out.aval) : { kind: "buffer", name: target });
}

/**
 * Data movement and reductions in the whole-program JavaScript code: rearrangements (reshape,
 * broadcast, transpose, slice, reversal, concatenation, padding) rename element locals or copy
 * elements by index maps computed at compile time; reductions accumulate in float64 from the
 * identity, each output's elements in row-major order, as eager execution does.
 */
import type { Atom, Equation, Var } from "../../core/ir.js";
import { contiguousStrides } from "../../core/shape.js";
import { store, type Rep } from "./js-emitter.js";
import type { Generator } from "./js-program.js";
import { indexMap, reductionOffsets, runsOf } from "./js-structural.js";

type Scope = Map<Var, Rep>;

/** Copies run as separate statements up to this many runs; beyond, through index tables. */
const maximumRuns = 8;

export function emitStructural(g: Generator, eq: Equation, scope: Scope): void {
  const e = g.emitter;
  const out = eq.outputs[0]!;
  const name = eq.primitive.name;
  const first = g.rep(scope, eq.inputs[0]!);
  if (name === "reshape" || name === "stop_gradient") {
    scope.set(out, first.kind === "elements" ? { kind: "elements", items: first.items } : first);
    return;
  }
  const map = indexMap(eq);
  const sources = eq.inputs.map((a) => g.rep(scope, a));
  if (g.small(out.aval)) {
    const reads = new Map<string, string>();
    const items = Array.from(map.sources, (s, k) => {
      const source = sources[s]!;
      const index = map.indices[k]!;
      if (source.kind === "elements") return source.items[index]!;
      const key = `${s}:${index}`;
      let item = reads.get(key);
      if (item === undefined) {
        item = g.constant(`${source.name}[${index}]`);
        reads.set(key, item);
      }
      return item;
    });
    scope.set(out, { kind: "elements", items });
    return;
  }
  const target = e.allocate(out.aval);
  sources.forEach((source, s) => {
    const positions: number[] = [];
    map.sources.forEach((from, k) => {
      if (from === s) positions.push(k);
    });
    if (positions.length === 0) return;
    if (source.kind === "elements") {
      // Each element of a small source, to the positions it lands on.
      source.items.forEach((item, index) => {
        const at = positions.filter((k) => map.indices[k] === index);
        if (at.length === 0) return;
        const contiguous = at[at.length - 1]! - at[0]! === at.length - 1;
        if (at.length > 4 && contiguous) {
          e.line(`${target}.fill(${item}, ${at[0]!}, ${at[0]! + at.length});`);
        } else if (at.length <= 4) {
          for (const k of at) e.line(`${target}[${k}] = ${item};`);
        } else {
          const table = e.bind(Int32Array.from(at), "at");
          e.line(`for (let k = 0; k < ${at.length}; k++) ${target}[${table}[k]] = ${item};`);
        }
      });
      return;
    }
    const runs = runsOf(positions, map);
    if (runs.length <= maximumRuns) {
      for (const [to, from, length] of runs) {
        if (length === 1) e.line(`${target}[${to}] = ${source.name}[${from}];`);
        else {
          e.line(
            `for (let k = 0; k < ${length}; k++) ${target}[${to} + k] = ${source.name}[${from} + k];`,
          );
        }
      }
      return;
    }
    const to = e.bind(Int32Array.from(positions), "to");
    const from = e.bind(
      Int32Array.from(positions, (k) => map.indices[k]!),
      "from",
    );
    e.line(
      `for (let k = 0; k < ${positions.length}; k++) ${target}[${to}[k]] = ${source.name}[${from}[k]];`,
    );
  });
  scope.set(out, { kind: "buffer", name: target });
}

export const reductionNames = new Set([
  "reduce_sum",
  "reduce_prod",
  "reduce_max",
  "reduce_min",
  "reduce_and",
  "reduce_or",
]);

const identities: Record<string, string> = {
  reduce_sum: "0",
  reduce_prod: "1",
  reduce_max: "-Infinity",
  reduce_min: "Infinity",
  reduce_and: "1",
  reduce_or: "0",
};

/** The accumulation step `acc ∘ x` of a reduction (operands are names, so may repeat). */
function step(name: string, acc: string, x: string): string {
  switch (name) {
    case "reduce_sum":
      return `${acc} + ${x}`;
    case "reduce_prod":
      return `${acc} * ${x}`;
    case "reduce_max":
      return `${acc} !== ${acc} || ${x} !== ${x} ? NaN : ${x} > ${acc} ? ${x} : ${acc}`;
    case "reduce_min":
      return `${acc} !== ${acc} || ${x} !== ${x} ? NaN : ${x} < ${acc} ? ${x} : ${acc}`;
    case "reduce_and":
      return `${acc} & (${x} !== 0 ? 1 : 0)`;
    default:
      return `${acc} | (${x} !== 0 ? 1 : 0)`;
  }
}

export function emitReduction(g: Generator, eq: Equation, scope: Scope): void {
  const e = g.emitter;
  const name = eq.primitive.name;
  const x = eq.inputs[0]!;
  const out = eq.outputs[0]!;
  const dtype = out.aval.dtype;
  const axes = (eq.params as { axes: readonly number[] }).axes;
  const { bases, offsets } = reductionOffsets(x.aval.shape, axes);
  const source = g.rep(scope, x);
  const init = identities[name]!;
  const contiguous = offsets.every((o, r) => o === r);
  if (source.kind === "elements") {
    const items = Array.from(bases, (base) => {
      if (offsets.length === 0) return g.constant(store(dtype, init));
      if (name === "reduce_sum" || name === "reduce_prod") {
        // ((0 + x0) + x1) + …: the identity is added too (0 + -0 is 0, as eagerly).
        let acc = init;
        for (const o of offsets) acc = `(${step(name, acc, source.items[base + o]!)})`;
        return g.constant(store(dtype, acc));
      }
      const acc = e.fresh("acc");
      e.line(`let ${acc} = ${init};`);
      for (const o of offsets) e.line(`${acc} = ${step(name, acc, source.items[base + o]!)};`);
      return g.constant(store(dtype, acc));
    });
    scope.set(out, { kind: "elements", items });
    return;
  }
  const table = contiguous ? undefined : e.bind(offsets, "offsets");
  const at = (base: string): string =>
    `${source.name}[${base} + ${table === undefined ? "r" : `${table}[r]`}]`;
  const accumulate = (base: string, acc: string): void => {
    e.line(`let ${acc} = ${init};`);
    e.line(
      `for (let r = 0; r < ${offsets.length}; r++) { const x = ${at(base)}; ${acc} = ${step(name, acc, "x")}; }`,
    );
  };
  if (g.small(out.aval)) {
    const items = Array.from(bases, (base) => {
      const acc = e.fresh("acc");
      accumulate(String(base), acc);
      return g.constant(store(dtype, acc));
    });
    scope.set(out, { kind: "elements", items });
    return;
  }
  const target = e.allocate(out.aval);
  const baseTable = e.bind(bases, "bases");
  e.block(`for (let o = 0; o < ${bases.length}; o++)`, () => {
    accumulate(`${baseTable}[o]`, "acc");
    e.line(`${target}[o] = ${store(dtype, "acc")};`);
  });
  scope.set(out, { kind: "buffer", name: target });
}

interface DotParams {
  contracting: readonly [readonly number[], readonly number[]];
  batch: readonly [readonly number[], readonly number[]];
}

/**
 * Flat row-major offsets, in `shape`'s storage, of every index over `axes` (in that order, the
 * last fastest): the contribution of those axes to an element's position.
 */
function axisOffsets(shape: readonly number[], axes: readonly number[]): Int32Array {
  const strides = contiguousStrides(shape);
  const sizes = axes.map((a) => shape[a]!);
  const out = new Int32Array(sizes.reduce((n, d) => n * d, 1));
  const index = sizes.map(() => 0);
  for (let e = 0; e < out.length; e++) {
    out[e] = axes.reduce((n, a, i) => n + index[i]! * strides[a]!, 0);
    for (let i = sizes.length - 1; i >= 0; i--) {
      if (++index[i]! < sizes[i]!) break;
      index[i] = 0;
    }
  }
  return out;
}

/** The step of offsets that start at 0 and advance by a fixed amount, if they do. */
function fixedStep(offsets: Int32Array): number | undefined {
  const d = offsets.length > 1 ? offsets[1]! - offsets[0]! : 0;
  return offsets.every((o, k) => o === k * d) ? d : undefined;
}

const freeAxes = (ndim: number, used: readonly number[]): number[] =>
  Array.from({ length: ndim }, (_, i) => i).filter((i) => !used.includes(i));

/**
 * `dot_general` as eager execution computes products too small for the matmul kernels: each
 * output element is `((0 + a₀b₀) + a₁b₁) + …` over the contracted index in order, in float64,
 * then stored in the output's dtype.
 */
export function emitDot(g: Generator, eq: Equation, scope: Scope): void {
  const e = g.emitter;
  const [lhs, rhs] = eq.inputs as [Atom, Atom];
  const out = eq.outputs[0]!;
  const { contracting, batch } = eq.params as DotParams;
  const [lc, rc] = contracting;
  const [lb, rb] = batch;
  const ls = lhs.aval.shape;
  const rs = rhs.aval.shape;
  const tables = {
    lb: axisOffsets(ls, lb),
    lf: axisOffsets(ls, freeAxes(ls.length, [...lc, ...lb])),
    lc: axisOffsets(ls, lc),
    rb: axisOffsets(rs, rb),
    rc: axisOffsets(rs, rc),
    rf: axisOffsets(rs, freeAxes(rs.length, [...rc, ...rb])),
  };
  const [B, M, K, N] = [tables.lb.length, tables.lf.length, tables.lc.length, tables.rf.length];
  const dtype = out.aval.dtype;
  const left = g.rep(scope, lhs);
  const right = g.rep(scope, rhs);
  if (left.kind === "elements" && right.kind === "elements" && g.small(out.aval)) {
    const items: string[] = [];
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < M; i++) {
        for (let j = 0; j < N; j++) {
          let acc = "0";
          for (let k = 0; k < K; k++) {
            const x = left.items[tables.lb[b]! + tables.lf[i]! + tables.lc[k]!]!;
            const y = right.items[tables.rb[b]! + tables.rc[k]! + tables.rf[j]!]!;
            acc = `(${acc} + ${x} * ${y})`;
          }
          items.push(g.constant(store(dtype, acc)));
        }
      }
    }
    scope.set(out, { kind: "elements", items });
    return;
  }
  const l = g.buffer(left, lhs.aval);
  const r = g.buffer(right, rhs.aval);
  const target = e.allocate(out.aval);
  const t = Object.fromEntries(Object.entries(tables).map(([k, v]) => [k, e.bind(v, k)]));
  const [sl, sr] = [fixedStep(tables.lc), fixedStep(tables.rc)];
  e.block(`for (let b = 0, o = 0; b < ${B}; b++)`, () => {
    e.block(`for (let i = 0; i < ${M}; i++)`, () => {
      e.line(`const lo = ${t.lb}[b] + ${t.lf}[i];`);
      e.block(`for (let j = 0; j < ${N}; j++, o++)`, () => {
        e.line(`const ro = ${t.rb}[b] + ${t.rf}[j];`);
        e.line("let acc = 0;");
        if (sl !== undefined && sr !== undefined) {
          // Contracted elements a fixed step apart in both operands: no offset tables.
          e.line(
            `for (let k = 0, p = lo, q = ro; k < ${K}; k++, p += ${sl}, q += ${sr}) ` +
              `acc += ${l}[p] * ${r}[q];`,
          );
        } else {
          e.line(
            `for (let k = 0; k < ${K}; k++) acc += ${l}[lo + ${t.lc}[k]] * ${r}[ro + ${t.rc}[k]];`,
          );
        }
        e.line(`${target}[o] = ${store(dtype, "acc")};`);
      });
    });
  });
  scope.set(out, g.small(out.aval) ? g.unpack(target, out.aval) : { kind: "buffer", name: target });
}

/**
 * Loops and branches in the whole-program JavaScript code (`js-program.ts`): `while` and `scan`
 * are JavaScript loops whose bodies are emitted inline, `cond` is an `if`/`switch`. Carried values
 * are element locals (`let`, updated through temporaries where one carry takes another's value)
 * or typed arrays, two per carry: the step's result is copied into the one not being read, then
 * the two swap, so no carry is overwritten while the step still reads it.
 */
import type { AbstractValue } from "../../core/aval.js";
import type { Equation, Program, Var } from "../../core/ir.js";
import type { Rep } from "./js-emitter.js";
import type { Generator } from "./js-program.js";

type Scope = Map<Var, Rep>;

/**
 * Loop-carried values: element locals (`let`), or two typed arrays each (the current carry,
 * and the one the next is copied into, swapped after every step).
 */
function makeCarries(
  g: Generator,
  avals: readonly AbstractValue[],
  inits: readonly Rep[],
): Carry[] {
  const e = g.emitter;
  return avals.map((aval, k) => {
    const init = inits[k]!;
    if (g.small(aval)) {
      const items = init.kind === "elements" ? init.items : g.unpack(init.name, aval).items;
      const names = items.map((item) => {
        const name = e.fresh("c");
        e.line(`let ${name} = ${item};`);
        return name;
      });
      return { aval, rep: { kind: "elements", items: names } };
    }
    const current = e.fresh("c");
    const next = e.fresh("n");
    const [a, b] = [e.allocate(aval), e.allocate(aval)];
    e.line(`let ${current} = ${a}, ${next} = ${b};`);
    e.line(`${current}.set(${g.buffer(init, aval)});`);
    return { aval, rep: { kind: "buffer", name: current }, next };
  });
}

/** Copies a step's results into the carries (through temporaries where they read carries). */
function updateCarries(g: Generator, carries: readonly Carry[], outs: readonly Rep[]): void {
  const e = g.emitter;
  const carryNames = new Set(
    carries.flatMap((c) => (c.rep.kind === "elements" ? c.rep.items : [])),
  );
  const pending: [string, string][] = [];
  carries.forEach((c, k) => {
    const out = outs[k]!;
    if (c.rep.kind === "buffer") {
      e.line(`${c.next!}.set(${g.buffer(out, c.aval)});`);
      return;
    }
    const items = out.kind === "elements" ? out.items : g.unpack(out.name, c.aval).items;
    const names = c.rep.items;
    items.forEach((item, i) => {
      if (item !== names[i]) pending.push([names[i]!, item]);
    });
  });
  if (pending.some(([, item]) => carryNames.has(item))) {
    const temps = pending.map(([, item]) => g.constant(item, "s"));
    pending.forEach(([name], i) => e.line(`${name} = ${temps[i]!};`));
  } else for (const [name, item] of pending) e.line(`${name} = ${item};`);
  for (const c of carries) {
    if (c.rep.kind !== "buffer") continue;
    const swap = e.fresh("w");
    e.line(`const ${swap} = ${c.rep.name}; ${c.rep.name} = ${c.next!}; ${c.next!} = ${swap};`);
  }
}

/** Carries as values after the loop (typed arrays captured: the locals swap). */
function settle(g: Generator, carries: readonly Carry[]): Rep[] {
  return carries.map((c) =>
    c.rep.kind === "buffer" ? { kind: "buffer", name: g.constant(c.rep.name, "r") } : c.rep,
  );
}

function header(g: Generator, eq: Equation): void {
  g.emitter.comment(() => [g.context.summary(eq)]);
}

export function emitWhile(g: Generator, eq: Equation, scope: Scope): void {
  const p = eq.params as { cond: Program; body: Program; condConsts: number; bodyConsts: number };
  const inputs = eq.inputs.map((a) => g.rep(scope, a));
  const condConsts = inputs.slice(0, p.condConsts);
  const bodyConsts = inputs.slice(p.condConsts, p.condConsts + p.bodyConsts);
  const cond = g.context.optimize(p.cond);
  const body = g.context.optimize(p.body);
  header(g, eq);
  const carries = makeCarries(
    g,
    eq.outputs.map((v) => v.aval),
    inputs.slice(p.condConsts + p.bodyConsts),
  );
  const label = g.emitter.fresh("loop");
  g.emitter.block(`${label}: for (;;)`, () => {
    g.emitter.comment(() => ["condition:"]);
    g.emitter.block("", () => {
      const [going] = g.program(cond, [...condConsts, ...carries.map((c) => c.rep)]);
      const flag = going!.kind === "elements" ? going!.items[0]! : `${going!.name}[0]`;
      g.emitter.line(`if (${flag} === 0) break ${label};`);
    });
    g.emitter.comment(() => ["body:"]);
    const outs = g.program(body, [...bodyConsts, ...carries.map((c) => c.rep)]);
    updateCarries(g, carries, outs);
  });
  settle(g, carries).forEach((rep, k) => scope.set(eq.outputs[k]!, rep));
}

export function emitScan(g: Generator, eq: Equation, scope: Scope): void {
  const p = eq.params as {
    body: Program;
    length: number;
    reverse: boolean;
    numConsts: number;
    numCarry: number;
  };
  const e = g.emitter;
  const inputs = eq.inputs.map((a) => g.rep(scope, a));
  const body = g.context.optimize(p.body);
  const consts = inputs.slice(0, p.numConsts);
  const xs = eq.inputs.slice(p.numConsts + p.numCarry);
  const sliceAvals = body.invars.slice(p.numConsts + p.numCarry).map((v) => v.aval);
  const yOutputs = eq.outputs.slice(p.numCarry);
  header(g, eq);
  const xsData = xs.map((a, j) => g.buffer(inputs[p.numConsts + p.numCarry + j]!, a.aval));
  const ys = yOutputs.map((v) => e.allocate(v.aval));
  const carries = makeCarries(
    g,
    eq.outputs.slice(0, p.numCarry).map((v) => v.aval),
    inputs.slice(p.numConsts, p.numConsts + p.numCarry),
  );
  const i = e.fresh("i");
  const t = e.fresh("t");
  e.block(`for (let ${i} = 0; ${i} < ${p.length}; ${i}++)`, () => {
    e.line(`const ${t} = ${p.reverse ? `${p.length - 1} - ${i}` : i};`);
    const slices = sliceAvals.map((aval, j) => {
      const offset = `${t} * ${aval.size} + `;
      if (g.small(aval)) return g.unpack(xsData[j]!, aval, offset);
      const target = e.allocate(aval);
      e.line(`for (let k = 0; k < ${aval.size}; k++) ${target}[k] = ${xsData[j]!}[${offset}k];`);
      return { kind: "buffer" as const, name: target };
    });
    e.comment(() => ["body:"]);
    const outs = g.program(body, [...consts, ...carries.map((c) => c.rep), ...slices]);
    outs.slice(p.numCarry).forEach((y, j) => {
      const n = body.outputs[p.numCarry + j]!.aval.size;
      const at = `${t} * ${n} + `;
      if (y.kind === "elements")
        y.items.forEach((item, k) => e.line(`${ys[j]!}[${at}${k}] = ${item};`));
      else e.line(`for (let k = 0; k < ${n}; k++) ${ys[j]!}[${at}k] = ${y.name}[k];`);
    });
    updateCarries(g, carries, outs.slice(0, p.numCarry));
  });
  settle(g, carries).forEach((rep, k) => scope.set(eq.outputs[k]!, rep));
  yOutputs.forEach((v, j) =>
    scope.set(v, g.small(v.aval) ? g.unpack(ys[j]!, v.aval) : { kind: "buffer", name: ys[j]! }),
  );
}

export function emitCond(g: Generator, eq: Equation, scope: Scope): void {
  const e = g.emitter;
  const { branches } = eq.params as { branches: readonly Program[] };
  const [index, ...operands] = eq.inputs.map((a) => g.rep(scope, a));
  const which = index!.kind === "elements" ? index!.items[0]! : `${index!.name}[0]`;
  header(g, eq);
  const results: Rep[] = eq.outputs.map((v) => {
    if (g.small(v.aval)) {
      const items = Array.from({ length: v.aval.size }, () => e.fresh("o"));
      e.line(`let ${items.join(", ")};`);
      return { kind: "elements", items };
    }
    const name = e.fresh("o");
    e.line(`let ${name};`);
    return { kind: "buffer", name };
  });
  const branch = (b: number): void => {
    e.comment(() => [`branch ${b}:`]);
    const outs = g.program(g.context.optimize(branches[b]!), operands);
    outs.forEach((out, k) => {
      const result = results[k]!;
      if (result.kind === "buffer") {
        e.line(`${result.name} = ${g.buffer(out, eq.outputs[k]!.aval)};`);
        return;
      }
      const items =
        out.kind === "elements" ? out.items : g.unpack(out.name, eq.outputs[k]!.aval).items;
      items.forEach((item, i) => e.line(`${result.items[i]!} = ${item};`));
    });
  };
  if (branches.length === 1) branch(0);
  else if (branches.length === 2) {
    e.ifElse(
      `if (${which} > 0)`,
      () => branch(1),
      () => branch(0),
    );
  } else {
    e.block(`switch (Math.min(Math.max(${which}, 0), ${branches.length - 1}))`, () => {
      branches.forEach((_, b) => {
        e.block(`case ${b}:`, () => {
          branch(b);
          e.line("break;");
        });
      });
    });
  }
  eq.outputs.forEach((v, k) => scope.set(v, results[k]!));
}

interface Carry {
  aval: AbstractValue;
  rep: Rep;
  /** For typed-array carries: the local holding the array the next value is copied into. */
  next?: string;
}

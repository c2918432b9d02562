/**
 * Scheduling an optimised program into kernels: elementwise chains fuse into one loop (and a
 * trailing reduction over the same elements joins them), a matrix product takes a following bias
 * add and relu as its epilogue, everything else is a kernel of its own.
 * The schedule also carries what the report shows: FLOPs and bytes per kernel, buffers updated
 * in place, and the peak memory of a call.
 */
import type { AbstractValue } from "../core/aval.js";
import { itemSize } from "../core/dtype.js";
import { Literal, Var, type Atom, type Equation, type Program } from "../core/ir.js";
import { shapesEqual } from "../core/shape.js";

/** One kernel: equations run together. */
export interface Kernel {
  /**
   * `"fused"`: elementwise equations in one loop; `"matmul"`: a `dot_general` whose kernel also
   * adds a bias along the last axis (and then applies relu) before storing; `"single"`: one
   * equation on its own.
   */
  kind: "fused" | "matmul" | "single";
  equations: readonly Equation[];
  /** Values read from outside the kernel. */
  inputs: readonly Var[];
  /** Values the kernel produces that are used after it (or are program outputs). */
  outputs: readonly Var[];
  flops: number;
  bytes: number;
  /** Output buffers written over an input buffer that dies here: `[input, output]`. */
  inPlace: readonly (readonly [Var, Var])[];
}

export interface Schedule {
  program: Program;
  kernels: readonly Kernel[];
  /** Bytes live at the worst point of a call (inputs, constants and outputs included). */
  peakBytes: number;
  /** Arguments whose buffers the caller donated. */
  donated: ReadonlySet<Var>;
}

const elementwiseNames = new Set([
  "neg",
  "abs",
  "sign",
  "floor",
  "ceil",
  "round",
  "exp",
  "exp2",
  "log",
  "log1p",
  "expm1",
  "sqrt",
  "cbrt",
  "sin",
  "cos",
  "tan",
  "asin",
  "acos",
  "atan",
  "sinh",
  "cosh",
  "tanh",
  "asinh",
  "acosh",
  "atanh",
  "logistic",
  "is_finite",
  "not",
  "add",
  "sub",
  "mul",
  "div",
  "rem",
  "pow",
  "max",
  "min",
  "atan2",
  "and",
  "or",
  "xor",
  "eq",
  "ne",
  "lt",
  "le",
  "gt",
  "ge",
  "select",
  "convert_element_type",
]);

/** Whether an equation can join a fused elementwise loop. */
export function isElementwise(eq: Equation): boolean {
  return eq.primitive.spec.scalar !== undefined && elementwiseNames.has(eq.primitive.name);
}

const bytesOf = (aval: AbstractValue): number => aval.size * itemSize(aval.dtype);

const windowPrimitives = new Set([
  "reduce_window_max",
  "select_and_gather_add",
  "select_and_scatter_add",
]);

/**
 * FLOPs of one equation: one per output element for elementwise work; 2mnk for contractions
 * (convolutions: 2 × outputs × kernel taps per output); one comparison per window element for
 * max pooling and its derivatives.
 */
export function equationFlops(eq: Equation): number {
  const name = eq.primitive.name;
  if (isElementwise(eq)) return eq.outputs[0]!.aval.size;
  if (name === "dot_general") {
    const out = eq.outputs[0]!.aval.size;
    const params = eq.params as { contracting: readonly [readonly number[], readonly number[]] };
    const k = params.contracting[0].reduce((n, a) => n * eq.inputs[0]!.aval.shape[a]!, 1);
    return 2 * out * k;
  }
  if (name === "conv_general_dilated") {
    // Each output element sums I·window products (I = the kernel's input features).
    const kernel = eq.inputs[1]!.aval.shape;
    const taps = kernel.slice(1).reduce((n, d) => n * d, 1);
    return 2 * eq.outputs[0]!.aval.size * taps;
  }
  if (windowPrimitives.has(name)) {
    // A comparison per window element; the scatter also adds once per window.
    const { windowDimensions } = eq.params as { windowDimensions: readonly number[] };
    const windows = (name === "select_and_scatter_add" ? eq.inputs[0]! : eq.outputs[0]!).aval.size;
    const taps = windowDimensions.reduce((n, d) => n * d, 1);
    return windows * (taps + (name === "select_and_scatter_add" ? 1 : 0));
  }
  if (name.startsWith("reduce_") || name.startsWith("cum") || name.startsWith("arg")) {
    return eq.inputs[0]!.aval.size;
  }
  return 0;
}

const reductionNames = new Set(["reduce_sum", "reduce_max", "reduce_min"]);

/** A sum/max/min over the trailing axes: it can end a fused loop (one output per block). */
export function isTrailingReduction(eq: Equation): boolean {
  if (!reductionNames.has(eq.primitive.name)) return false;
  const axes = (eq.params as { axes: readonly number[] }).axes;
  const ndim = eq.inputs[0]!.aval.ndim;
  return axes.every((a, i) => a === ndim - axes.length + i);
}

/** Positions of the equations that read each variable. */
function usesOf(program: Program): Map<Var, number[]> {
  const uses = new Map<Var, number[]>();
  program.equations.forEach((eq, i) => {
    for (const a of eq.inputs) {
      if (a instanceof Var) {
        const list = uses.get(a) ?? [];
        list.push(i);
        uses.set(a, list);
      }
    }
  });
  return uses;
}

interface Group {
  members: number[];
  shape: readonly number[];
  /** A reduction ends the group: nothing may join after it. */
  closed: boolean;
  /** Equations seen so far that read the group's results from outside it. */
  readers: Set<number>;
}

const newGroup = (members: number[], shape: readonly number[], closed: boolean): Group => ({
  members,
  shape,
  closed,
  readers: new Set(),
});

const isLiteralZero = (a: Atom): boolean => a instanceof Literal && Object.is(a.value, 0);

/**
 * Matrix products with an epilogue: `dot_general` (float, B with one free axis) whose result is
 * read only by `add(result, broadcast_in_dim(bias))` with the bias along the last axis, and
 * optionally that sum only by `max(sum, 0)` (relu; `max(0, x)` differs from it at -0, so only
 * this order). Returns the member positions of each, keyed by the product's position.
 */
function matmulEpilogues(program: Program, uses: Map<Var, number[]>): Map<number, number[]> {
  const defining = new Map<Var, Equation>();
  program.equations.forEach((eq) => eq.outputs.forEach((v) => defining.set(v, eq)));
  const programOutputs = new Set(program.outputs);
  const onlyUse = (v: Var): number | undefined => {
    const list = uses.get(v) ?? [];
    return list.length === 1 && !programOutputs.has(v) ? list[0] : undefined;
  };
  const groups = new Map<number, number[]>();
  program.equations.forEach((eq, i) => {
    if (eq.primitive.name !== "dot_general") return;
    const out = eq.outputs[0]!;
    const dtype = out.aval.dtype;
    if (dtype !== "float32" && dtype !== "float64") return;
    const { contracting, batch } = eq.params as {
      contracting: readonly [readonly number[], readonly number[]];
      batch: readonly [readonly number[], readonly number[]];
    };
    if (eq.inputs[1]!.aval.ndim - contracting[1].length - batch[1].length !== 1) return;
    const at = onlyUse(out);
    const add = at === undefined ? undefined : program.equations[at]!;
    if (add?.primitive.name !== "add" || add.inputs[0] !== out) return;
    const other = add.inputs[1];
    const broadcast = other instanceof Var ? defining.get(other) : undefined;
    const bias = broadcast?.inputs[0];
    const dims = (broadcast?.params as { broadcastDimensions?: readonly number[] } | undefined)
      ?.broadcastDimensions;
    if (
      broadcast?.primitive.name !== "broadcast_in_dim" ||
      !(bias instanceof Var) ||
      bias.aval.ndim !== 1 ||
      dims?.[0] !== out.aval.ndim - 1
    )
      return;
    const members = [i, at!];
    const next = onlyUse(add.outputs[0]!);
    const relu = next === undefined ? undefined : program.equations[next]!;
    if (
      relu?.primitive.name === "max" &&
      relu.inputs[0] === add.outputs[0] &&
      isLiteralZero(relu.inputs[1]!)
    )
      members.push(next!);
    groups.set(i, members);
  });
  return groups;
}

/** Greedy producer–consumer fusion over the equation list. */
function fuse(program: Program, uses: Map<Var, number[]>): number[][] {
  const groupOf = new Map<number, Group>();
  const groups: Group[] = [];
  const defining = new Map<Var, number>();
  program.equations.forEach((eq, i) => eq.outputs.forEach((v) => defining.set(v, i)));
  const epilogues = matmulEpilogues(program, uses);
  const claimed = new Set([...epilogues.values()].flatMap((members) => members.slice(1)));
  /** Records equation i as a reader of the other groups whose results it reads. */
  const read = (eq: Equation, i: number): void => {
    for (const a of eq.inputs) {
      const producer = a instanceof Var ? defining.get(a) : undefined;
      const group = producer === undefined ? undefined : groupOf.get(producer);
      if (group !== undefined && group !== groupOf.get(i)) group.readers.add(i);
    }
  };
  const place = (eq: Equation, i: number): void => {
    if (claimed.has(i)) return;
    const epilogue = epilogues.get(i);
    if (epilogue !== undefined) {
      const group = newGroup(epilogue, [], true);
      groups.push(group);
      for (const m of epilogue) groupOf.set(m, group);
      return;
    }
    const elementwise = isElementwise(eq);
    const reduction = isTrailingReduction(eq);
    if (!elementwise && !reduction) {
      const group = newGroup([i], [], true);
      groups.push(group);
      groupOf.set(i, group);
      return;
    }
    const shape = elementwise ? eq.outputs[0]!.aval.shape : eq.inputs[0]!.aval.shape;
    // Join (and merge) the groups of producers with the same loop shape, if every value the
    // merged group exports to other consumers is read after this equation (so the fused kernel
    // can run here): no equation before this one, outside the merged group, reads it.
    const candidates: Group[] = [];
    for (const a of eq.inputs) {
      if (!(a instanceof Var)) continue;
      const producer = defining.get(a);
      const group = producer === undefined ? undefined : groupOf.get(producer);
      if (group === undefined || group.closed || !shapesEqual(group.shape, shape)) continue;
      if (!candidates.includes(group)) candidates.push(group);
    }
    const exportsLater = (merged: readonly Group[]): boolean =>
      merged.every((g) => [...g.readers].every((r) => merged.includes(groupOf.get(r)!)));
    // Try all candidates together, then each alone (the first that works).
    let chosen: Group[] = exportsLater(candidates) ? candidates : [];
    if (chosen.length === 0) {
      const single = candidates.find((g) => exportsLater([g]));
      chosen = single === undefined ? [] : [single];
    }
    let joined: Group;
    if (chosen.length === 0) {
      joined = newGroup([], shape, false);
      groups.push(joined);
    } else {
      joined = chosen[0]!;
      for (const other of chosen.slice(1)) {
        joined.members.push(...other.members);
        for (const m of other.members) groupOf.set(m, joined);
        for (const r of other.readers) joined.readers.add(r);
        groups.splice(groups.indexOf(other), 1);
      }
      for (const r of joined.readers) if (groupOf.get(r) === joined) joined.readers.delete(r);
      joined.members.sort((x, y) => x - y);
    }
    joined.members.push(i);
    if (reduction) joined.closed = true;
    groupOf.set(i, joined);
  };
  program.equations.forEach((eq, i) => {
    place(eq, i);
    read(eq, i);
  });
  return groups.map((g) => g.members);
}

/**
 * Builds the schedule of an (optimised) program. `donated[i]` says the caller gave up argument
 * i's buffer, so it may be reused in place.
 */
export function schedule(program: Program, donated: readonly boolean[] = []): Schedule {
  const uses = usesOf(program);
  const programOutputs = new Set(program.outputs.filter((a): a is Var => a instanceof Var));
  const memberLists = fuse(program, uses);
  // Kernels run in the order of their last member.
  memberLists.sort((a, b) => a[a.length - 1]! - b[b.length - 1]!);
  const kernels = memberLists.map((members): Kernel => {
    const equations = members.map((m) => program.equations[m]!);
    const defined = new Set(equations.flatMap((eq) => eq.outputs));
    const inputs = [
      ...new Set(
        equations
          .flatMap((eq) => eq.inputs)
          .filter((a): a is Var => a instanceof Var && !defined.has(a)),
      ),
    ];
    const last = members[members.length - 1]!;
    const inside = new Set(members);
    const outputs = [...defined].filter(
      (v) => programOutputs.has(v) || (uses.get(v) ?? []).some((u) => u > last || !inside.has(u)),
    );
    const flops = equations.reduce((n, eq) => n + equationFlops(eq), 0);
    const kind =
      equations[0]!.primitive.name === "dot_general"
        ? members.length > 1
          ? "matmul"
          : "single"
        : members.length > 1 || isElementwise(equations[0]!)
          ? "fused"
          : "single";
    // Views (reshape, transpose, …) move no data.
    const isView = members.length === 1 && viewPrimitives.has(equations[0]!.primitive.name);
    // A matmul kernel reads the bias vector, not its broadcast.
    const read =
      kind === "matmul"
        ? [...equations[0]!.inputs, equations[1]!.outputs[0]!.aval.shape.at(-1)!]
        : inputs;
    const bytes = isView
      ? 0
      : read.reduce(
          (n: number, a) =>
            n + (typeof a === "number" ? a * itemSize(outputs[0]!.aval.dtype) : bytesOf(a.aval)),
          0,
        ) + outputs.reduce((n, v) => n + bytesOf(v.aval), 0);
    return {
      kind,
      equations,
      inputs,
      outputs,
      flops,
      bytes,
      inPlace: [],
    };
  });
  return planMemory(
    program,
    kernels,
    programOutputs,
    new Set(program.invars.filter((_, i) => donated[i] === true)),
  );
}

/** Primitives whose eager result may be a view sharing its input's storage (or the input). */
const viewPrimitives = new Set([
  "broadcast_in_dim",
  "reshape",
  "transpose",
  "slice",
  "rev",
  "stop_gradient",
]);

/**
 * Liveness over kernels. Views share storage, so liveness is tracked per buffer (the root value a
 * chain of views starts from): a buffer is live from the kernel that writes it to the last reader
 * of it or of any view of it. A kernel's output may take over an input buffer of the same size
 * that dies at that kernel (and is not an argument, constant or output of the program): an
 * in-place update. Peak memory counts buffers, not views.
 */
function planMemory(
  program: Program,
  kernels: Kernel[],
  programOutputs: Set<Var>,
  donated: Set<Var>,
): Schedule {
  const root = new Map<Var, Var>();
  const rootOf = (v: Var): Var => root.get(v) ?? v;
  for (const k of kernels) {
    const eq = k.equations[0]!;
    if (
      k.kind === "single" &&
      viewPrimitives.has(eq.primitive.name) &&
      eq.inputs[0] instanceof Var
    ) {
      root.set(eq.outputs[0]!, rootOf(eq.inputs[0]));
    }
  }
  const lastUse = new Map<Var, number>();
  kernels.forEach((k, i) => k.inputs.forEach((v) => lastUse.set(rootOf(v), i)));
  const pinned = new Set<Var>([
    ...program.invars.filter((v) => !donated.has(v)),
    ...program.constvars,
    ...[...programOutputs].map(rootOf),
  ]);
  let live = [...program.invars, ...program.constvars].reduce((n, v) => n + bytesOf(v.aval), 0);
  let peak = live;
  const planned = kernels.map((k, i) => {
    const isView = k.kind === "single" && viewPrimitives.has(k.equations[0]!.primitive.name);
    const dying = [...new Set(k.inputs.map(rootOf))].filter(
      (r) => lastUse.get(r) === i && !pinned.has(r),
    );
    const inPlace: [Var, Var][] = [];
    const free = [...dying];
    let allocated = 0;
    if (!isView) {
      for (const out of k.outputs) {
        const donor = k.inputs.find((v) => {
          const r = rootOf(v);
          return (
            free.includes(r) &&
            bytesOf(r.aval) === bytesOf(out.aval) &&
            r.aval.dtype === out.aval.dtype
          );
        });
        if (donor !== undefined && reusable(k, donor, out)) {
          inPlace.push([donor, out]);
          free.splice(free.indexOf(rootOf(donor)), 1);
        } else allocated += bytesOf(out.aval);
      }
    }
    live += allocated;
    peak = Math.max(peak, live);
    live -= free.reduce((n, v) => n + bytesOf(v.aval), 0);
    return { ...k, inPlace };
  });
  return { program, kernels: planned, peakBytes: peak, donated };
}

/**
 * Whether `out` may overwrite `input` inside kernel `k`: elementwise loops read each element
 * before writing it, and scatter updates its operand.
 */
function reusable(k: Kernel, input: Var, out: Var): boolean {
  if (k.kind === "fused") return k.equations.every(isElementwise);
  const eq = k.equations[0]!;
  return eq.primitive.name === "scatter" && eq.inputs[0] === input && eq.outputs[0] === out;
}

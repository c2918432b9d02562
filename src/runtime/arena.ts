/**
 * The arena of a compiled call: the arrays its WebAssembly kernels (fused loops, matrix
 * products) produce stay in kernel memory from the kernel that writes them to the last step that
 * reads them, so the next kernel reads them where they are instead of each kernel copying its
 * operands in and its results out. Offsets are planned once per program; arrays whose lifetimes
 * do not overlap share bytes.
 *
 * Other steps (JavaScript loops, single operations, loops and branches) may return views of
 * their inputs (a reshape, a transpose, a loop carry passed through), so their outputs are taken
 * to keep every arena array their inputs keep alive; a program output keeps its arrays alive to
 * the end of the call, when it is copied out.
 */
import { Literal, type Atom, type Var } from "../core/ir.js";
import type { Kernel } from "../compiler/schedule.js";
import { align16 } from "./wasm-memory.js";

/** Where each arena array lives, in bytes from the arena's start, and the arena's size. */
export interface ArenaPlan {
  readonly offsets: ReadonlyMap<Var, number>;
  readonly bytes: number;
}

interface Slot {
  vars: Var[];
  bytes: number;
  first: number;
  last: number;
}

/**
 * Plans the arena of a schedule's kernels. `placed(kernel)` gives the outputs a kernel writes
 * into the arena, with their sizes in bytes (none for kernels that do not). A kernel for which
 * `elementwise(kernel)` holds reads element i of each input before writing element i of each
 * output, so an output it writes over an input that dies there (the schedule's `inPlace` pairs)
 * takes that input's bytes. `staged` inputs are copied into the arena when the call starts.
 */
export function planArena(
  kernels: readonly Kernel[],
  placed: (kernel: Kernel) => ReadonlyMap<Var, number>,
  outputs: readonly Atom[],
  elementwise: (kernel: Kernel) => boolean = () => false,
  staged: ReadonlyMap<Var, number> = new Map(),
): ArenaPlan {
  const slots = new Map<Var, Slot>();
  // The arena arrays whose storage a value may reference.
  const holds = new Map<Var, ReadonlySet<Var>>();
  // Inputs copied into the arena when the call starts (before the first kernel).
  for (const [v, bytes] of staged) {
    slots.set(v, { vars: [v], bytes: align16(bytes), first: -1, last: -1 });
    holds.set(v, new Set([v]));
  }
  const use = (v: Var, step: number): void => {
    for (const held of holds.get(v) ?? []) {
      const slot = slots.get(held)!;
      slot.last = Math.max(slot.last, step);
    }
  };
  kernels.forEach((kernel, step) => {
    for (const v of kernel.inputs) use(v, step);
    const own = placed(kernel);
    for (const [v, bytes] of own) {
      slots.set(v, { vars: [v], bytes: align16(bytes), first: step, last: step });
      holds.set(v, new Set([v]));
    }
    const inherited = new Set(kernel.inputs.flatMap((v) => [...(holds.get(v) ?? [])]));
    if (inherited.size === 0) return;
    for (const v of kernel.outputs) if (!own.has(v)) holds.set(v, inherited);
  });
  for (const a of outputs) if (!(a instanceof Literal)) use(a, kernels.length);
  kernels.forEach((kernel, step) => {
    if (!elementwise(kernel)) return;
    for (const [input, output] of kernel.inPlace) {
      const from = slots.get(input);
      const to = slots.get(output);
      if (from === undefined || to === undefined || from === to) continue;
      if (from.last !== step || to.first !== step || from.bytes !== to.bytes) continue;
      // No other input may read the dying array's bytes (a view of it at another offset).
      const others = kernel.inputs.filter((u) => u !== input);
      if (others.some((u) => from.vars.some((v) => holds.get(u)?.has(v) === true))) continue;
      from.last = to.last;
      for (const v of to.vars) {
        from.vars.push(v);
        slots.set(v, from);
      }
    }
  });
  return pack([...new Set(slots.values())]);
}

/**
 * Offsets for the slots, largest first, each at the lowest offset where it overlaps no slot
 * placed before it in both bytes and lifetime.
 */
function pack(slots: Slot[]): ArenaPlan {
  const offsets = new Map<Var, number>();
  const placed: (Slot & { offset: number })[] = [];
  let bytes = 0;
  slots.sort((a, b) => b.bytes - a.bytes || a.first - b.first);
  for (const slot of slots) {
    const conflicts = placed
      .filter((p) => p.first <= slot.last && slot.first <= p.last)
      .sort((a, b) => a.offset - b.offset);
    let offset = 0;
    for (const p of conflicts) {
      if (offset + slot.bytes <= p.offset) break;
      offset = Math.max(offset, p.offset + p.bytes);
    }
    placed.push({ ...slot, offset });
    for (const v of slot.vars) offsets.set(v, offset);
    bytes = Math.max(bytes, offset + slot.bytes);
  }
  return { offsets, bytes };
}

/**
 * Running compiled programs: a schedule's kernels are instantiated once (fused loops become
 * JavaScript functions) and each call then runs them in order, with no tracing and no dispatch
 * through the trace stack.
 */
import type { NDArray } from "../core/array.js";
import { allocate, allocateUninitialized, itemSize } from "../core/dtype.js";
import { Literal, Var, type Atom, type Equation, type Program } from "../core/ir.js";
import type { CondParams, ScanParams, WhileParams } from "../lax/control-primitives.js";
import type { ScanLoop } from "./scan-loop.js";
import type { DotGeneralParams } from "../primitives/dot.js";
import { matmulWithEpilogue, ProductSite } from "./matmul.js";
import type { FusedKernelCode } from "../compiler/codegen/fused.js";
import type { WasmFusedKernel } from "../compiler/codegen/wasm-fused.js";
import {
  arenasEnabled,
  copyArrayIn,
  copyOut,
  copyOutInto,
  holdArena,
  isResident,
  ownedCopy,
  layout,
  memoryView,
  releaseArena,
  reserve,
  residentAddress,
  runKernelParallel,
} from "./wasm-memory.js";
import { placeArrayIn } from "./gather-kernels.js";
import { planArena } from "./arena.js";
import { fastConv } from "./conv-kernels.js";
import { padInto } from "./pad-kernels.js";
import { windowsInto } from "./window-kernels.js";
import type { WindowMode } from "../primitives/window.js";
import type { WindowParams } from "../primitives/window-plan.js";
import type { PadConfig } from "../primitives/structural.js";
import type { ConvParams } from "../primitives/conv.js";
import { partsWaking, splitRange, type KernelModule } from "./threads.js";
import type { Kernel, Schedule } from "../compiler/schedule.js";
import { scatterInto, type ScatterParams } from "../primitives/indexing.js";
import { asConcrete, fromStorage, scalar, view, type ConcreteArray } from "./concrete.js";
import { ResidentLoop } from "./resident-loop.js";

type Step = (env: Map<Var, ConcreteArray>) => void;

/** A compiled program: call it with concrete arrays (the flattened arguments). */
export type Executable = (args: readonly NDArray[]) => NDArray[];

/** A compiled loop body or branch. */
export interface CompiledBody {
  run: Executable;
  /**
   * The same call with its results left where its kernels wrote them: arena arrays stay views
   * of kernel memory, valid only until the next kernel runs, so the caller copies them on at
   * once (a loop into its carries). Absent where the body does not run through the executor.
   */
  resident?: (args: readonly NDArray[]) => ConcreteArray[];
}

function literal(a: Literal): ConcreteArray {
  return scalar(a.value, a.aval.dtype, a.aval.weakType);
}

/** Buffers this call allocated (or was given by donation): only these may be overwritten. */
type Owned = Set<unknown>;

/** `x`'s storage, if `x` is exactly that whole buffer (so writing it in place is safe). */
function wholeBuffer(
  x: ConcreteArray | undefined,
  owned: Owned,
  size: number,
): ConcreteArray["data"] | undefined {
  if (x === undefined || !owned.has(x.data)) return undefined;
  return x.isContiguous && x.offset === 0 && x.data.length === size ? x.data : undefined;
}

function singleStep(kernel: Kernel, owned: Owned): Step {
  const eq = kernel.equations[0]!;
  const impl = eq.primitive.spec.impl;
  const literals = eq.inputs.map((a) => (a instanceof Literal ? literal(a) : undefined));
  const inPlace = kernel.inPlace.length > 0 && eq.primitive.name === "scatter";
  return (env) => {
    const inputs = eq.inputs.map((a, i) => literals[i] ?? env.get(a as Var)!);
    if (inPlace) {
      const out = eq.outputs[0]!;
      const target = wholeBuffer(inputs[0], owned, out.aval.size);
      // The indices and updates must not be read from the buffer being written.
      const shared =
        target !== undefined && inputs.slice(1).some((x) => x.data.buffer === target.buffer);
      if (target !== undefined && !shared) {
        scatterInto(target, out.aval.shape, inputs[1]!, inputs[2]!, eq.params as ScatterParams);
        env.set(out, fromStorage(target, out.aval.shape, out.aval.dtype, out.aval.weakType));
        return;
      }
    }
    const outs = impl(inputs, eq.params);
    eq.outputs.forEach((v, i) => env.set(v, asConcrete(outs[i]!)));
  };
}

function fusedStep(kernel: Kernel, code: FusedKernelCode, owned: Owned): Step {
  const factory = new Function(`return ${code.source}`)() as (
    ...fs: ((...xs: number[]) => number)[]
  ) => (...args: unknown[]) => void;
  const run = factory(...code.functions);
  const reuse = new Map(kernel.inPlace.map(([input, output]) => [output, input]));
  return (env) => {
    const args: unknown[] = code.inputs.map((v) => {
      const x = env.get(v)!;
      return v.aval.ndim === 0 ? x.data[x.offset] : x.contiguousData();
    });
    const outs = code.outputs.map((v) => {
      const donor = reuse.get(v);
      const buffer =
        donor === undefined ? undefined : wholeBuffer(env.get(donor), owned, v.aval.size);
      // Element e is read before it is written, but only through the donor itself: another
      // input viewing the same storage at other offsets would see overwritten values.
      const aliased =
        buffer !== undefined &&
        code.inputs.some(
          (u, k) =>
            u !== donor &&
            typeof args[k] === "object" &&
            (args[k] as { buffer: unknown }).buffer === buffer.buffer,
        );
      return buffer !== undefined && !aliased ? buffer : allocate(v.aval.dtype, v.aval.size);
    });
    run(...args, ...outs);
    code.outputs.forEach((v, i) => {
      owned.add(outs[i]);
      env.set(v, fromStorage(outs[i]!, v.aval.shape, v.aval.dtype, v.aval.weakType));
    });
  };
}

/** A fused kernel compiled to WebAssembly, and the compiled module that exports it. */
export interface WasmStep {
  kernel: WasmFusedKernel;
  module: KernelModule;
}

/**
 * Loops at least this long are split over the threads (shorter ones when they evaluate
 * exp/log/tanh/…, which cost more per element).
 */
const minimumParallelElements = { plain: 256 * 1024, math: 32 * 1024 };

/** Where a call's arena starts (set at the start of each call that has one). */
interface ArenaContext {
  start: number;
  readonly offsets: ReadonlyMap<Var, number>;
}

/**
 * A fused kernel compiled to WebAssembly. Operands living in the call's arena are read where they
 * are, others are copied into scratch space; results go to their arena slots (views of kernel
 * memory until the call's end), or without an arena are copied out.
 */
function wasmFusedStep(
  kernel: Kernel,
  { kernel: wasm, module }: WasmStep,
  owned: Owned,
  arena: ArenaContext,
): Step {
  const reuse = new Map(kernel.inPlace.map(([input, output]) => [output, input]));
  const item = wasm.itemBytes;
  // Element counts: each array input, each output (a reduction's has one per block), then the
  // reduction's temporary; bool arrays (masks) have one byte per element.
  const counts = [
    ...wasm.arrays.map(() => wasm.count),
    ...wasm.outputs.map((v) => (v === wasm.reduction?.output ? wasm.reduction.blocks : wasm.count)),
    ...(wasm.reduction === undefined ? [] : [wasm.count]),
  ];
  const itemOf = [...wasm.arrays, ...wasm.outputs].map((v) => (v.aval.dtype === "bool" ? 1 : item));
  const sizes = counts.map((n, i) => n * (itemOf[i] ?? item));
  // Outputs with an arena slot take no scratch space.
  wasm.outputs.forEach((v, i) => {
    if (arena.offsets.has(v)) sizes[wasm.arrays.length + i] = 0;
  });
  const minimumParallel = wasm.usesMath
    ? minimumParallelElements.math
    : minimumParallelElements.plain;
  return (env) => {
    // Read per call: the thread count is a setting that may change between calls.
    const parts = wasm.reduction === undefined ? partsWaking(wasm.count, minimumParallel) : 1;
    const { offsets, total } = layout(sizes);
    reserve(total);
    wasm.arrays.forEach((v, i) => (offsets[i] = placeArrayIn(env.get(v)!, offsets[i]!, total)));
    wasm.outputs.forEach((v, i) => {
      const slot = arena.offsets.get(v);
      if (slot !== undefined) offsets[wasm.arrays.length + i] = arena.start + slot;
    });
    const scalars = wasm.scalars.map((v) => {
      const x = env.get(v)!;
      return x.data[x.offset]!;
    });
    const pointers = offsets.slice(0, wasm.arrays.length + wasm.outputs.length);
    if (parts === 1) {
      runKernelParallel("a fused kernel", module, [
        { name: wasm.name, args: [...offsets, ...scalars, wasm.count * item] },
      ]);
    } else {
      // Whole vectors per part, so that no two parts write the same 16 bytes.
      const calls = splitRange(wasm.count, parts, 16 / item).map(([start, length]) => ({
        name: wasm.name,
        args: [...pointers.map((p, k) => p + start * itemOf[k]!), ...scalars, length * item],
      }));
      runKernelParallel("a fused kernel", module, calls);
    }
    wasm.outputs.forEach((v, i) => {
      const offset = offsets[wasm.arrays.length + i]!;
      const count = counts[wasm.arrays.length + i]!;
      let data: ConcreteArray["data"];
      if (arena.offsets.has(v)) {
        data = memoryView(v.aval.dtype, offset, count);
      } else {
        // The operands are already copied in, so a dying input's buffer can take the result.
        const donor = reuse.get(v);
        const target = donor === undefined ? undefined : wholeBuffer(env.get(donor), owned, count);
        data =
          target === undefined ? copyOut(v.aval.dtype, offset, count) : copyOutInto(target, offset);
        owned.add(data);
      }
      env.set(v, fromStorage(data, v.aval.shape, v.aval.dtype, v.aval.weakType));
    });
  };
}

/**
 * A kernel whose result `place` writes at a byte address of kernel memory (its arena slot) or,
 * without one, anywhere it likes; where `place` does not take the case (`undefined`), the
 * kernel's equations run one by one, as eagerly.
 */
function placedStep(
  kernel: Kernel,
  arena: ArenaContext,
  owned: Owned,
  place: (env: Map<Var, ConcreteArray>, address: number | undefined) => ConcreteArray | undefined,
): Step {
  const out = kernel.equations[kernel.equations.length - 1]!.outputs[0]!;
  const slot = arena.offsets.get(out);
  const eagerly = kernel.equations.map((eq) => singleStep({ ...kernel, equations: [eq] }, owned));
  return (env) => {
    const result = place(env, slot === undefined ? undefined : arena.start + slot);
    if (result === undefined) for (const step of eagerly) step(env);
    else env.set(out, result);
  };
}

/**
 * A product (a lone `dot_general`, or one with its bias and relu epilogue in one matmul kernel);
 * small or integer products run as eagerly.
 */
function matmulStep(kernel: Kernel, arena: ArenaContext, owned: Owned): Step {
  const [dot, add, relu] = kernel.equations as [Equation, Equation?, Equation?];
  const broadcastOf = add?.inputs[1] as Var | undefined;
  const site = new ProductSite();
  return placedStep(kernel, arena, owned, (env, address) => {
    const [lhs, rhs] = dot.inputs.map((a) => env.get(a as Var));
    if (lhs === undefined || rhs === undefined) return undefined;
    let bias: ConcreteArray | undefined;
    if (broadcastOf !== undefined) {
      // The broadcast is a view of the bias vector: its last axis walks the bias.
      const broadcast = env.get(broadcastOf)!;
      const n = broadcast.shape[broadcast.ndim - 1]!;
      bias = view(broadcast, [n], [broadcast.strides[broadcast.ndim - 1]!], broadcast.offset);
    }
    const params = dot.params as DotGeneralParams;
    const shape = dot.outputs[0]!.aval.shape;
    const epilogue = { bias, relu: relu !== undefined };
    return matmulWithEpilogue(lhs, rhs, params, shape, epilogue, address, site);
  });
}

/** Whether a kernel is a product the matmul kernels may take (float operands). */
function isProduct(kernel: Kernel): boolean {
  const eq = kernel.equations[0]!;
  const dtype = eq.outputs[0]!.aval.dtype;
  return (
    (kernel.kind === "matmul" ||
      (kernel.kind === "single" && eq.primitive.name === "dot_general")) &&
    (dtype === "float32" || dtype === "float64")
  );
}

/** A convolution, written straight into its arena slot. */
function convStep(kernel: Kernel, arena: ArenaContext, owned: Owned): Step {
  const eq = kernel.equations[0]!;
  return placedStep(kernel, arena, owned, (env, address) => {
    const [lhs, rhs] = eq.inputs.map((a) => env.get(a as Var));
    if (lhs === undefined || rhs === undefined || address === undefined) return undefined;
    return fastConv(lhs, rhs, eq.params as ConvParams, eq.outputs[0]!.aval.shape, address);
  });
}

/** A `pad`, written straight into its arena slot. */
function padStep(kernel: Kernel, arena: ArenaContext, owned: Owned): Step {
  const eq = kernel.equations[0]!;
  const [operand, padding] = eq.inputs;
  const { config } = eq.params as { config: PadConfig };
  return placedStep(kernel, arena, owned, (env, address) => {
    const x = env.get(operand as Var);
    const value = padding instanceof Literal ? literal(padding) : env.get(padding!);
    if (x === undefined || value === undefined || address === undefined) return undefined;
    return padInto(x, Number(value.data[value.offset]), config, address);
  });
}

/** Window primitives (max pooling and its derivatives) and what each does with its windows. */
const windowModes: Record<string, WindowMode> = {
  reduce_window_max: "max",
  select_and_gather_add: "gather",
  select_and_scatter_add: "scatter",
};

/** Whether a kernel is one float32 window primitive (which can write into the arena). */
const isWindow = (kernel: Kernel): boolean =>
  kernel.kind === "single" &&
  windowModes[kernel.equations[0]!.primitive.name] !== undefined &&
  kernel.equations[0]!.outputs[0]!.aval.dtype === "float32";

/** A window primitive, written straight into its arena slot. */
function windowStep(kernel: Kernel, arena: ArenaContext, owned: Owned): Step {
  const eq = kernel.equations[0]!;
  const mode = windowModes[eq.primitive.name]!;
  return placedStep(kernel, arena, owned, (env, address) => {
    const inputs = eq.inputs.map((a) => env.get(a as Var));
    if (inputs.includes(undefined) || address === undefined) return undefined;
    // reduce_window_max(x); select_and_*(other, x).
    const [x, other] = inputs.length === 1 ? [inputs[0]!] : [inputs[1]!, inputs[0]!];
    return windowsInto(mode, x, other, eq.params as WindowParams, address);
  });
}

const isPad = (kernel: Kernel): boolean =>
  kernel.kind === "single" && kernel.equations[0]!.primitive.name === "pad";

/** Whether a kernel is one float convolution (which can write its result into the arena). */
function isConv(kernel: Kernel): boolean {
  const eq = kernel.equations[0]!;
  const dtype = eq.outputs[0]!.aval.dtype;
  return (
    kernel.kind === "single" &&
    eq.primitive.name === "conv_general_dilated" &&
    (dtype === "float32" || dtype === "float64")
  );
}

/** How control-flow kernels get their compiled bodies. */
export interface Subprograms {
  /** A sub-program (a loop body or a branch), compiled. */
  compileSub: (program: Program) => CompiledBody;
  /** A scan as one WebAssembly loop, when its body allows. */
  wholeLoop: (eq: Equation) => ScanLoop | undefined;
}

const controlFlow = new Set(["cond", "scan", "while"]);

/** `x[t]` along axis 0, as a view. */
function sliceAt(x: ConcreteArray, t: number): ConcreteArray {
  return view(x, x.shape.slice(1), x.strides.slice(1), x.offset + t * (x.strides[0] ?? 0));
}

/**
 * A loop or branch: its bodies are compiled once (fused kernels and all), and each iteration
 * calls the compiled body with no tracing or per-operation dispatch. Where the loop body runs
 * through the executor's arena, the loop's constants and carries stay in kernel memory
 * (`ResidentLoop`) for the whole loop.
 */
function controlStep(kernel: Kernel, { compileSub, wholeLoop }: Subprograms): Step {
  const eq = kernel.equations[0]!;
  const literals = eq.inputs.map((a) => (a instanceof Literal ? literal(a) : undefined));
  const read = (env: Map<Var, ConcreteArray>): ConcreteArray[] =>
    eq.inputs.map((a, i) => literals[i] ?? env.get(a as Var)!);
  const write = (env: Map<Var, ConcreteArray>, outs: readonly NDArray[]): void =>
    eq.outputs.forEach((v, i) => env.set(v, asConcrete(outs[i]!)));
  if (eq.primitive.name === "cond") {
    const { branches } = eq.params as CondParams;
    const compiled = branches.map((b) => compileSub(b).run);
    return (env) => {
      const [index, ...operands] = read(env);
      const i = Math.min(Math.max(Number(index!.data[index!.offset]), 0), branches.length - 1);
      write(env, compiled[i]!(operands));
    };
  }
  if (eq.primitive.name === "while") {
    const p = eq.params as WhileParams;
    const cond = compileSub(p.cond);
    const body = compileSub(p.body);
    const test = (outs: readonly NDArray[]): boolean => {
      const going = asConcrete(outs[0]!);
      return going.data[going.offset] !== 0;
    };
    return (env) => {
      const inputs = read(env);
      const condConsts = inputs.slice(0, p.condConsts);
      const bodyConsts = inputs.slice(p.condConsts, p.condConsts + p.bodyConsts);
      const initial = inputs.slice(p.condConsts + p.bodyConsts);
      const resident = body.resident;
      if (resident === undefined || !arenasEnabled()) {
        let carry: NDArray[] = initial;
        while (test(cond.run([...condConsts, ...carry])))
          carry = body.run([...bodyConsts, ...carry]);
        write(env, carry);
        return;
      }
      const loop = new ResidentLoop([...condConsts, ...bodyConsts], initial);
      try {
        const consts = [loop.consts.slice(0, p.condConsts), loop.consts.slice(p.condConsts)];
        const check = cond.resident ?? cond.run;
        while (test(check([...consts[0]!, ...loop.carry])))
          loop.advance(resident([...consts[1]!, ...loop.carry]));
        write(env, loop.finalCarry());
      } finally {
        loop.release();
      }
    };
  }
  const p = eq.params as ScanParams;
  const whole = wholeLoop(eq);
  if (whole !== undefined) return (env) => write(env, whole(read(env)));
  const body = compileSub(p.body);
  const yAvals = p.body.outAvals.slice(p.numCarry);
  return (env) => {
    const inputs = read(env);
    const xs = inputs.slice(p.numConsts + p.numCarry);
    // Every element is written below (one slice a step).
    const ys = yAvals.map((a) => allocateUninitialized(a.dtype, p.length * a.size));
    const stack = (outs: readonly NDArray[], t: number): void =>
      outs.forEach((y, i) => ys[i]!.set(asConcrete(y).contiguousData(), t * yAvals[i]!.size));
    const time = (step: number): number => (p.reverse ? p.length - 1 - step : step);
    const resident = body.resident;
    let carry: NDArray[];
    if (resident === undefined || !arenasEnabled()) {
      const consts = inputs.slice(0, p.numConsts);
      carry = inputs.slice(p.numConsts, p.numConsts + p.numCarry);
      for (let step = 0; step < p.length; step++) {
        const t = time(step);
        const outs = body.run([...consts, ...carry, ...xs.map((x) => sliceAt(x, t))]);
        carry = outs.slice(0, p.numCarry);
        stack(outs.slice(p.numCarry), t);
      }
    } else {
      const loop = new ResidentLoop(
        inputs.slice(0, p.numConsts),
        inputs.slice(p.numConsts, p.numConsts + p.numCarry),
      );
      try {
        for (let step = 0; step < p.length; step++) {
          const t = time(step);
          const outs = resident([...loop.consts, ...loop.carry, ...xs.map((x) => sliceAt(x, t))]);
          // The step's results are read before the next kernel runs.
          stack(outs.slice(p.numCarry), t);
          loop.advance(outs.slice(0, p.numCarry));
        }
        carry = loop.finalCarry();
      } finally {
        loop.release();
      }
    }
    write(env, [
      ...carry,
      ...ys.map((data, i) =>
        fromStorage(data, [p.length, ...yAvals[i]!.shape], yAvals[i]!.dtype, yAvals[i]!.weakType),
      ),
    ]);
  };
}

/**
 * Instantiates a schedule; `fused` gives the generated code of each fused kernel. `arenaBytes`
 * is the size of each call's arena (0: none).
 */
export function instantiate(
  schedule: Schedule,
  fused: ReadonlyMap<Kernel, FusedKernelCode>,
  wasm: ReadonlyMap<Kernel, WasmStep> = new Map(),
  subprograms?: Subprograms,
): CompiledBody & { arenaBytes: number } {
  const { program } = schedule;
  const owned: Owned = new Set();
  const staged = arenasEnabled() ? stagedInputs(schedule, wasm) : new Map<Var, number>();
  const plan = arenasEnabled()
    ? planArena(
        schedule.kernels,
        (k) => arenaOutputs(k, wasm.get(k)),
        program.outputs,
        (k) => wasm.get(k)?.kernel.reduction === undefined && wasm.has(k),
        staged,
      )
    : { offsets: new Map<Var, number>(), bytes: 0 };
  const stagedSlots = [...staged.keys()].map((v) => [v, plan.offsets.get(v)!] as const);
  const arena: ArenaContext = { start: 0, offsets: plan.offsets };
  const arenaBytes = plan.bytes;
  const steps = schedule.kernels.map((k) => {
    const compiled = wasm.get(k);
    if (compiled !== undefined) return wasmFusedStep(k, compiled, owned, arena);
    if (k.kind === "matmul" || isProduct(k)) return matmulStep(k, arena, owned);
    if (isConv(k)) return convStep(k, arena, owned);
    if (isPad(k) && arena.offsets.size > 0) return padStep(k, arena, owned);
    if (isWindow(k) && arena.offsets.size > 0) return windowStep(k, arena, owned);
    if (subprograms !== undefined && controlFlow.has(k.equations[0]!.primitive.name))
      return controlStep(k, subprograms);
    const code = fused.get(k);
    return code === undefined ? singleStep(k, owned) : fusedStep(k, code, owned);
  });
  const consts = program.consts.map(asConcrete);
  const read = (env: Map<Var, ConcreteArray>, a: Atom, resident: boolean): ConcreteArray => {
    if (a instanceof Literal) return literal(a);
    const x = env.get(a)!;
    // Arena arrays live only until the call returns: an output gets storage of its own, unless
    // the caller takes it on at once.
    return !resident && isResident(x) ? ownedCopy(x) : x;
  };
  const call = (args: readonly NDArray[], resident: boolean): ConcreteArray[] => {
    owned.clear();
    const env = new Map<Var, ConcreteArray>();
    program.constvars.forEach((v, i) => env.set(v, consts[i]!));
    program.invars.forEach((v, i) => {
      const x = asConcrete(args[i]!);
      env.set(v, x);
      // A donated argument's buffer may be reused (when it holds exactly this array, and no
      // other argument shares it).
      const sharedWithAnother = args.some(
        (y, j) => j !== i && asConcrete(y).data.buffer === x.data.buffer,
      );
      if (schedule.donated.has(v) && !sharedWithAnother && !x.sharesStorage) owned.add(x.data);
    });
    if (arenaBytes === 0) {
      for (const step of steps) step(env);
      return program.outputs.map((a) => read(env, a, resident));
    }
    arena.start = holdArena(arenaBytes);
    try {
      // Inputs several kernels read are copied in once (unless they are in kernel memory).
      for (const [v, slot] of stagedSlots) {
        const x = env.get(v)!;
        if (residentAddress(x) !== undefined) continue;
        const at = arena.start + slot;
        copyArrayIn(x, at);
        env.set(v, fromStorage(memoryView(x.dtype, at, x.size), x.shape, x.dtype, x.weakType));
      }
      for (const step of steps) step(env);
      return program.outputs.map((a) => read(env, a, resident));
    } finally {
      releaseArena(arena.start);
    }
  };
  return {
    run: (args) => call(args, false),
    resident: (args) => call(args, true),
    arenaBytes,
  };
}

/** Kernels that read their operands from kernel memory. */
const readsKernelMemory = (k: Kernel, wasm: ReadonlyMap<Kernel, WasmStep>): boolean =>
  wasm.has(k) || isProduct(k) || isConv(k) || isPad(k) || isWindow(k);

/** Inputs staged smaller than this are left where they are (copying them costs little). */
const minimumStagedBytes = 16 * 1024;

/**
 * Arguments and constants that several kernels read from kernel memory (a weight matrix used by
 * the forward product, the backward one and the update), with their sizes in bytes: the call
 * copies each into its arena once instead of each kernel copying it in. Donated arguments stay
 * where they are (their buffers may be updated in place).
 */
function stagedInputs(schedule: Schedule, wasm: ReadonlyMap<Kernel, WasmStep>): Map<Var, number> {
  const { program, kernels } = schedule;
  const staged = new Map<Var, number>();
  for (const v of [...program.constvars, ...program.invars]) {
    const bytes = v.aval.size * itemSize(v.aval.dtype);
    if (bytes < minimumStagedBytes || schedule.donated.has(v)) continue;
    const readers = kernels.filter((k) => k.inputs.includes(v) && readsKernelMemory(k, wasm));
    if (readers.length >= 2) staged.set(v, bytes);
  }
  return staged;
}

/** The outputs a kernel writes into the call's arena, with their sizes in bytes. */
function arenaOutputs(kernel: Kernel, compiled: WasmStep | undefined): Map<Var, number> {
  const bytes = (v: Var, count = v.aval.size): number => count * itemSize(v.aval.dtype);
  if (compiled !== undefined) {
    const { reduction, outputs } = compiled.kernel;
    return new Map(
      outputs.map((v) => [v, bytes(v, v === reduction?.output ? reduction.blocks : undefined)]),
    );
  }
  if (isProduct(kernel) || isConv(kernel) || isPad(kernel) || isWindow(kernel)) {
    const out = kernel.equations[kernel.equations.length - 1]!.outputs[0]!;
    return new Map([[out, bytes(out)]]);
  }
  return new Map();
}

/**
 * `jit`: stage a function into the IR once per input signature, optimise and compile it, and run
 * the compiled code on later calls with no tracing. `g.lower(...args)` shows every stage.
 */
import type { AbstractValue } from "../core/aval.js";
import { NDArray } from "../core/array.js";
import { ValueError } from "../core/errors.js";
import type { Program } from "../core/ir.js";
import { bind, topTrace, Tracer } from "../core/trace.js";
import * as tree from "../core/tree.js";
import { toArrayLeaf } from "./leaves.js";
import { stage, StagingTrace, withoutSources } from "./staging.js";
import { jitCall } from "./jit-call.js";
import { closeProgram } from "../lax/programs.js";

/** Options of `jit`. */
export interface JitOptions {
  /** Positional arguments that are compile-time constants (any value; a change retraces). */
  staticArgnums?: number | readonly number[];
  /** Arguments whose buffers the compiled code may reuse (do not use them after the call). */
  donateArgnums?: number | readonly number[];
  /** Log why a call had to retrace. */
  explainCacheMisses?: boolean;
}

/** FLOPs and bytes moved by one call of compiled code. */
export interface CostAnalysis {
  flops: number;
  bytesAccessed: number;
}

/** One row of the compile report: a kernel and what it costs. */
export interface KernelReport {
  kernel: string;
  /** The IR equations it computes, in order (primitive names). */
  equations: string[];
  /** Buffers written in place, as `input → output` variable names. */
  inPlace: string[];
  /** For a scan: FLOPs of all its steps; for a while loop: of one step; for cond: the costliest branch. */
  flops: number;
  bytes: number;
  /**
   * Loops and branches: how they run (`"1000 steps, one WebAssembly loop, carries in place"`)
   * and the reports of their compiled bodies (one per branch for `cond`).
   */
  control?: { summary: string; bodies: CompileReport[] };
}

/** The compile report: kernels, and the peak memory of a call. */
export interface CompileReport {
  kernels: KernelReport[];
  peakBytes: number;
  /**
   * How the kernels run when not one by one through the executor: small programs run as one
   * generated JavaScript function (the kernels inline, in order; see `.code`).
   */
  runsAs?: string;
  /**
   * Bytes of WebAssembly memory a call holds for its kernels' results between kernels (its
   * arena); absent when they are copied out after each kernel.
   */
  arenaBytes?: number;
  /** A table for people. */
  toString(): string;
}

/** What the compiler gives the jit for one program. */
export interface CompiledProgram {
  run: (args: readonly NDArray[]) => NDArray[];
  /** Readable generated code, one function per kernel, with the IR it came from as comments. */
  code: string;
  report: CompileReport;
  cost: CostAnalysis;
}

/** The compiler, installed by the package root (transforms do not import the compiler). */
export interface JitBackend {
  optimize(program: Program): Program;
  compile(program: Program, donated: readonly boolean[]): CompiledProgram;
}

let backend: JitBackend | undefined;

/** Installs the compiler used by `jit`. @internal */
export function installJitBackend(b: JitBackend): void {
  backend = b;
}

function theBackend(): JitBackend {
  if (backend === undefined) throw new Error("fluxion: import jit through the package root");
  return backend;
}

/** The stages of compiling one signature, for introspection. */
export class Lowered {
  private compiledProgram: CompiledProgram | undefined;

  constructor(
    /** The IR as staged. */
    readonly program: Program,
    /** The IR after the optimisation passes. */
    readonly optimized: Program,
    private readonly donated: readonly boolean[],
  ) {}

  /** Compiles (once) and returns the compiled program. */
  compile(): Compiled {
    this.compiledProgram ??= theBackend().compile(this.optimized, this.donated);
    return new Compiled(this.compiledProgram);
  }

  /** The generated code, readable, one function per kernel with its IR equations as comments. */
  get code(): string {
    return this.compile().code;
  }

  /** Kernels, fused equations, in-place buffers, FLOPs and bytes per kernel, peak memory. */
  report(): CompileReport {
    return this.compile().report();
  }
}

/** A compiled program. */
export class Compiled {
  constructor(private readonly compiled: CompiledProgram) {}

  /** FLOPs and bytes accessed by one call. */
  costAnalysis(): CostAnalysis {
    return { ...this.compiled.cost };
  }

  /** The generated code. */
  get code(): string {
    return this.compiled.code;
  }

  /** Kernels, fused equations, in-place buffers, FLOPs and bytes per kernel, peak memory. */
  report(): CompileReport {
    return this.compiled.report;
  }

  /** @internal */
  get run(): CompiledProgram["run"] {
    return this.compiled.run;
  }
}

/** A jitted function: call it, inspect it with `lower`, and count its compiled signatures. */
export type Jitted<F extends (...args: never[]) => unknown> = F & {
  /** Stages and optimises for these arguments (values are not used, only shapes and dtypes). */
  lower(...args: Parameters<F>): Lowered;
  /** How many signatures have been compiled. */
  cacheSize(): number;
};

interface Entry {
  lowered: Lowered;
  compiled: Compiled;
  outTree: tree.TreeDef;
  signature: string[];
}

const objectIds = new WeakMap<object, number>();
let nextObjectId = 0;

/**
 * A key for a static argument: plain data by value (with NaN, ±inf, -0, undefined and bigint kept
 * distinct), other objects and functions by identity.
 */
function staticKey(value: unknown): string {
  if (typeof value === "number") return Object.is(value, -0) ? "-0" : String(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "string") return JSON.stringify(value);
  if (value === null || value === undefined || typeof value === "boolean") return String(value);
  if (typeof value === "object" && isPlainData(value)) {
    if (Array.isArray(value)) return `[${value.map(staticKey).join(",")}]`;
    return `{${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)}:${staticKey(v)}`)
      .join(",")}}`;
  }
  let id = objectIds.get(value as object);
  if (id === undefined) {
    id = nextObjectId++;
    objectIds.set(value as object, id);
  }
  return `<object #${id}>`;
}

function isPlainData(value: unknown): boolean {
  if (value === null || typeof value !== "object") return typeof value !== "function";
  if (Array.isArray(value)) return value.every(isPlainData);
  const proto = Object.getPrototypeOf(value) as unknown;
  return (proto === Object.prototype || proto === null) && Object.values(value).every(isPlainData);
}

const avalKeys = new WeakMap<AbstractValue, string>();

function avalKey(aval: AbstractValue): string {
  let key = avalKeys.get(aval);
  if (key === undefined) {
    key = `${aval.toString()}${aval.weakType ? " (weak)" : ""}`;
    avalKeys.set(aval, key);
  }
  return key;
}

/** The printed structure of a pytree that is one array (the same for every array). */
let arrayTreeKey: string | undefined;

function normalizeArgnums(name: string, argnums: number | readonly number[] | undefined): number[] {
  const list = argnums === undefined ? [] : typeof argnums === "number" ? [argnums] : [...argnums];
  for (const a of list) {
    if (!Number.isInteger(a) || a < 0) {
      throw new ValueError(
        "jit",
        `${name} must be non-negative integers, got ${JSON.stringify(argnums)}.`,
      );
    }
  }
  return list;
}

/**
 * Compiles `f`: the first call with a new signature (pytree structure, shapes, dtypes, static
 * values) stages and compiles it; later calls with that signature run the compiled code directly.
 * @example
 * const step = jit((x: NDArray) => np.tanh(x.mul(2).add(1)).mul(x));
 * step(np.ones([4])); // traces and compiles
 * step(np.zeros([4])); // runs the compiled code
 */
export function jit<F extends (...args: never[]) => unknown>(
  f: F,
  options: JitOptions = {},
): Jitted<F> {
  const statics = normalizeArgnums("staticArgnums", options.staticArgnums);
  const donate = normalizeArgnums("donateArgnums", options.donateArgnums);
  const cache = new Map<string, Entry>();
  let lastSignature: string[] | undefined;
  const name = f.name || "f";

  /** The flat array leaves of the dynamic arguments and the call's signature (one pass). */
  const split = (args: readonly unknown[]): { leaves: NDArray[]; signature: string[] } => {
    for (const s of statics) {
      if (s >= args.length) {
        throw new ValueError(
          "jit",
          `staticArgnums names argument ${s}, but ${name} was called with ${args.length} argument(s).`,
        );
      }
    }
    const leaves: NDArray[] = [];
    const signature = args.map((a, i) => {
      if (statics.includes(i)) return `static ${staticKey(a)}`;
      // An array argument (the common case) is its own single leaf: no tree to walk.
      if (a instanceof NDArray) {
        leaves.push(a);
        arrayTreeKey ??= tree.structure(a).toString();
        return `${arrayTreeKey} ${avalKey(a.aval)}`;
      }
      const [argLeaves, argTree] = tree.flatten(a);
      const arrays = argLeaves.map((l) => toArrayLeaf(`jit(${name})`, l, "argument"));
      leaves.push(...arrays);
      return `${argTree.toString()} ${arrays.map((l) => avalKey(l.aval)).join(", ")}`;
    });
    return { leaves, signature };
  };

  /** The structure of the dynamic arguments (statics replaced by null). */
  const inTreeOf = (args: readonly unknown[]): tree.TreeDef =>
    tree.structure(args.map((a, i) => (statics.includes(i) ? null : a)));

  /** f staged on the types of `leaves` (the dynamic arguments), statics filled in. */
  const stageCall = (
    args: readonly unknown[],
    leaves: readonly NDArray[],
    inTree: tree.TreeDef,
  ): [Program, tree.TreeDef] => {
    const full = (...dynamicArgs: unknown[]): unknown =>
      f(...(args.map((a, i) => (statics.includes(i) ? a : dynamicArgs[i])) as never[]));
    return stage(
      `jit(${name})`,
      full as (...a: never[]) => unknown,
      leaves.map((l) => l.aval),
      inTree,
    );
  };

  const lowerWith = (
    args: readonly unknown[],
    leaves: readonly NDArray[],
    inTree: tree.TreeDef,
  ): [Lowered, tree.TreeDef] | undefined => {
    const [program, outTree] = stageCall(args, leaves, inTree);
    // f closed over a value of an enclosing transform (grad, vmap, jit): nothing to compile.
    if (program.consts.some((c) => c instanceof Tracer)) return undefined;
    const donated = leaves.map(() => false);
    let k = 0;
    args.forEach((a, i) => {
      const count = statics.includes(i) ? 0 : tree.leaves(a).length;
      for (let j = 0; j < count; j++, k++) donated[k] = donate.includes(i);
    });
    return [new Lowered(program, theBackend().optimize(program), donated), outTree];
  };

  const explain = (signature: string[]): void => {
    if (lastSignature === undefined) {
      console.log(`jit(${name}): compiling for the first time.`);
      return;
    }
    const previous = lastSignature;
    const changed = signature
      .map((s, i) => [s, previous[i], i] as const)
      .filter(([s, p]) => s !== p);
    const what =
      signature.length !== previous.length
        ? `the number of arguments changed from ${previous.length} to ${signature.length}`
        : changed.map(([s, p, i]) => `argument ${i} changed from ${p} to ${s}`).join("; ");
    console.log(`jit(${name}): retracing because ${what}.`);
  };

  /**
   * Programs staged for calls inside an enclosing staging (an outer jit, a loop body), by
   * signature; null where f closes over a value traced there (then it is traced through).
   */
  const traced = new Map<
    string,
    { program: Program; consts: NDArray[]; outTree: tree.TreeDef } | null
  >();
  const stagedCall = (args: readonly unknown[], leaves: NDArray[], signature: string[]) => {
    const key = signature.join(" | ");
    let entry = traced.get(key);
    if (entry === undefined) {
      const [program, outTree] = stageCall(args, leaves, inTreeOf(args));
      const closesOverTracers = program.consts.some((c) => c instanceof Tracer);
      entry = closesOverTracers ? null : { ...closeProgram(program), outTree };
      traced.set(key, entry);
    }
    if (entry === null) return f(...(args as never[]));
    const outs = bind(jitCall, [...entry.consts, ...leaves], { name, program: entry.program });
    return tree.unflatten(entry.outTree, outs);
  };

  const jitted = ((...args: unknown[]) => {
    const { leaves, signature } = split(args);
    if (leaves.some((l) => l instanceof Tracer)) {
      // Inside an enclosing staging (an outer jit, a loop body): one equation, staged once.
      if (topTrace(leaves, `jit(${name})`) instanceof StagingTrace) {
        return stagedCall(args, leaves, signature);
      }
      // Under another transform (grad, vmap), trace through f itself.
      return f(...(args as never[]));
    }
    const key = signature.join(" | ");
    let entry = cache.get(key);
    if (entry === undefined) {
      if (options.explainCacheMisses === true) explain(signature);
      // Compiled only (lower() stages again to show call sites).
      const staged = withoutSources(() => lowerWith(args, leaves, inTreeOf(args)));
      // f closed over a value of an enclosing transform: trace through f itself.
      if (staged === undefined) return f(...(args as never[]));
      const [lowered, outTree] = staged;
      entry = { lowered, compiled: lowered.compile(), outTree, signature };
      cache.set(key, entry);
    }
    lastSignature = entry.signature;
    const outs = entry.compiled.run(leaves);
    return tree.unflatten(entry.outTree, outs);
  }) as unknown as Jitted<F>;

  jitted.lower = (...args: Parameters<F>): Lowered => {
    const { leaves } = split(args);
    const staged = lowerWith(args, leaves, inTreeOf(args));
    if (staged === undefined) {
      throw new ValueError(
        `jit(${name}).lower`,
        "the function closes over a value traced by an enclosing transform, so it cannot be compiled on its own; pass that value as an argument.",
      );
    }
    return staged[0];
  };
  jitted.cacheSize = () => cache.size;
  return jitted;
}

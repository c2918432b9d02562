/**
 * The compiler behind `jit`: optimisation passes, scheduling into kernels, code generation, and
 * instantiation into something callable. Installed into the jit transform when the package loads.
 */
import {
  equationLines,
  equationPrinter,
  variableNames,
  Var,
  type Equation,
  type Program,
} from "../core/ir.js";
import type { CondParams, ScanParams, WhileParams } from "../lax/control-primitives.js";
import { compileScanLoop, type ScanLoop } from "./scan-loop.js";
import { generateFused, type FusedKernelCode } from "../compiler/codegen/fused.js";
import {
  generateWasmFused,
  usesVectorMath,
  type WasmFusedKernel,
} from "../compiler/codegen/wasm-fused.js";
import { optimize } from "../compiler/passes/pipeline.js";
import { equationFlops, schedule, type Kernel, type Schedule } from "../compiler/schedule.js";
import { itemSize } from "../core/dtype.js";
import {
  installJitBackend,
  type CompiledProgram,
  type CompileReport,
  type KernelReport,
} from "../transforms/jit.js";
import { instantiate, type CompiledBody, type WasmStep } from "./executor.js";

/** A compiled program, with the executor's resident entry where it runs through the executor. */
type Compiled = CompiledProgram & Pick<CompiledBody, "resident">;
import { arenasEnabled, compileKernel, kernelModuleBuilder } from "./wasm-memory.js";
import { useFusedMultiplyAdd } from "./config.js";
import { functionToText } from "../compiler/wasm/text.js";
import type { ModuleBuilder } from "../compiler/wasm/module.js";
import { compileWholeFunction, elementsLimit, qualifies } from "./program-function.js";
import { matmulMinimumWork } from "./matmul.js";
import { convCode, otherCode, productCode } from "./kernel-code.js";

/** How a program runs: through the executor, or as one generated JavaScript function. */
type Mode = "executor" | "inline";

/** Schedules of programs run inline (the generated code and the report follow them). */
const schedules = new WeakMap<Program, Schedule>();

function scheduleOf(program: Program): Schedule {
  let result = schedules.get(program);
  if (result === undefined) {
    result = schedule(program);
    schedules.set(program, result);
  }
  return result;
}

/** How a loop or branch runs inside a generated function. */
function inlineSummary(eq: Equation): string {
  const name = eq.primitive.name;
  const where = "a JavaScript loop in the generated function";
  if (name === "scan") {
    const p = eq.params as ScanParams;
    return `${p.length} steps${p.reverse ? " (reversed)" : ""}, ${where}`;
  }
  if (name === "while")
    return `until the condition fails: condition, then body, per step, ${where}`;
  return `one of ${(eq.params as CondParams).branches.length} branches, chosen in the generated function`;
}

/** Reports of loop bodies and branches that run inline, once per program object. */
const inlineReports = new WeakMap<Program, CompileReport>();

function inlineReport(program: Program): CompileReport {
  let report = inlineReports.get(program);
  if (report === undefined) {
    report = reportOf(
      scheduleOf(optimize(program)),
      "inline",
      "inline, in the enclosing generated function",
    );
    inlineReports.set(program, report);
  }
  return report;
}

function kernelName(k: Kernel, i: number): string {
  if (k.kind === "fused") return `kernel${i}_fused`;
  if (k.kind === "matmul")
    return `kernel${i}_matmul_${k.equations.length > 2 ? "bias_relu" : "bias"}`;
  return `kernel${i}_${k.equations[0]!.primitive.name}`;
}

/** What a loop whose body is `body` keeps in kernel memory across its steps (`ResidentLoop`). */
function residentState(body: Program): string {
  return arenasEnabled() && subprogram(body).resident !== undefined
    ? "; its constants and carries stay in WebAssembly memory for the whole loop"
    : "";
}

/** How a loop or branch kernel runs, and its bodies' reports. */
function controlOf(k: Kernel, mode: Mode): KernelReport["control"] {
  const eq = k.equations[0]!;
  const name = eq.primitive.name;
  if (mode === "inline") {
    if (name !== "scan" && name !== "while" && name !== "cond") return undefined;
    const p = eq.params as Partial<WhileParams & ScanParams & CondParams>;
    const bodies =
      name === "while" ? [p.cond!, p.body!] : name === "scan" ? [p.body!] : p.branches!;
    return { summary: inlineSummary(eq), bodies: bodies.map(inlineReport) };
  }
  if (name === "scan") {
    const p = eq.params as ScanParams;
    const whole = wholeLoop(eq) !== undefined;
    const perStep = `the compiled body called per step${residentState(p.body)}`;
    return {
      summary: `${p.length} steps${p.reverse ? " (reversed)" : ""}, ${whole ? "one WebAssembly loop, carries updated in place" : perStep}`,
      bodies: [subprogram(p.body).report],
    };
  }
  if (name === "while") {
    const p = eq.params as WhileParams;
    return {
      summary: `until the condition fails: condition, then body, per step${residentState(p.body)}`,
      bodies: [subprogram(p.cond).report, subprogram(p.body).report],
    };
  }
  if (name === "cond") {
    const { branches } = eq.params as CondParams;
    return {
      summary: `one of ${branches.length} branches`,
      bodies: branches.map((b) => subprogram(b).report),
    };
  }
  return undefined;
}

const totalFlops = (r: CompileReport): number => r.kernels.reduce((n, k) => n + k.flops, 0);

function reportOf(s: Schedule, mode: Mode, runsAs?: string, arenaBytes = 0): CompileReport {
  const name = variableNames(s.program);
  const kernels: KernelReport[] = s.kernels.map((k, i) => {
    const control = controlOf(k, mode);
    const eq = k.equations[0]!;
    const flops =
      control === undefined
        ? k.flops
        : eq.primitive.name === "scan"
          ? (eq.params as ScanParams).length * totalFlops(control.bodies[0]!)
          : Math.max(...control.bodies.map(totalFlops));
    return {
      kernel: kernelName(k, i),
      equations: k.equations.map((eq) => eq.primitive.name),
      inPlace: k.inPlace.map(([input, output]) => `${name(input)} → ${name(output)}`),
      flops,
      bytes: k.bytes,
      ...(control !== undefined && { control }),
    };
  });
  const peakBytes = s.peakBytes;
  return {
    kernels,
    peakBytes,
    ...(runsAs !== undefined && { runsAs }),
    ...(arenaBytes > 0 && { arenaBytes }),
    toString() {
      const header = ["kernel", "equations", "in place", "FLOPs", "bytes"];
      const rows = kernels.map((k) => [
        k.kernel,
        k.equations.join(" → "),
        k.inPlace.join(", ") || "-",
        String(k.flops),
        String(k.bytes),
      ]);
      const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
      const line = (cells: string[]): string =>
        cells
          .map((cell, c) => cell.padEnd(widths[c]!))
          .join("  ")
          .trimEnd();
      const lines = [line(header)];
      kernels.forEach((k, i) => {
        lines.push(line(rows[i]!));
        if (k.control === undefined) return;
        lines.push(`  ${k.control.summary}`);
        const labels =
          k.equations[0] === "while"
            ? ["condition", "body"]
            : k.equations[0] === "cond"
              ? k.control.bodies.map((_, b) => `branch ${b}`)
              : ["body"];
        k.control.bodies.forEach((body, b) => {
          lines.push(`  ${labels[b]}:`);
          for (const text of body.toString().split("\n")) lines.push(`    ${text}`);
        });
      });
      if (runsAs !== undefined) lines.push(`runs as ${runsAs}`);
      lines.push(`peak memory: ${peakBytes} bytes`);
      if (arenaBytes > 0) {
        lines.push(
          `arena: ${arenaBytes} bytes of WebAssembly memory hold kernel results between kernels`,
        );
      }
      return lines.join("\n");
    },
  };
}

function codeOf(
  s: Schedule,
  fused: ReadonlyMap<Kernel, FusedKernelCode>,
  wasm: ReadonlyMap<Kernel, WasmFusedKernel>,
  module: ModuleBuilder,
): string {
  const lines = equationLines(s.program);
  const definitions = new Map(s.program.equations.flatMap((eq) => eq.outputs.map((v) => [v, eq])));
  const definition = (v: Var): Equation | undefined => definitions.get(v);
  return s.kernels
    .map((k, i) => {
      const header = [
        `// ${kernelName(k, i)}: ${k.equations.length} equation(s), ${k.flops} FLOPs, ${k.bytes} bytes`,
        ...k.equations.flatMap((eq) =>
          lines
            .get(eq)!
            .split("\n")
            .map((line) => `//   ${line}`),
        ),
      ];
      const compiled = wasm.get(k);
      const code = fused.get(k);
      const control = controlOf(k, "executor");
      const body =
        control !== undefined
          ? controlCode(k, control)
          : compiled !== undefined
            ? functionToText(module, compiled.function)
            : (productCode(k, kernelName(k, i), definition) ??
              convCode(k, kernelName(k, i)) ??
              (code === undefined ? otherCode(k) : code.source));
      return [...header, body].join("\n");
    })
    .join("\n\n");
}

/** A loop's or branch's generated code: how it runs, then each compiled body, indented. */
function controlCode(k: Kernel, control: NonNullable<KernelReport["control"]>): string {
  const eq = k.equations[0]!;
  const programs =
    eq.primitive.name === "scan"
      ? [(eq.params as ScanParams).body]
      : eq.primitive.name === "while"
        ? [(eq.params as WhileParams).cond, (eq.params as WhileParams).body]
        : (eq.params as CondParams).branches;
  const labels =
    eq.primitive.name === "while"
      ? ["condition", "body"]
      : eq.primitive.name === "cond"
        ? programs.map((_, i) => `branch ${i}`)
        : ["body"];
  return [
    `// ${control.summary}`,
    ...programs.flatMap((p, i) => [
      `// ${labels[i]}:`,
      ...subprogram(p)
        .code.split("\n")
        .map((line) => `  ${line}`),
    ]),
  ].join("\n");
}

/** Fused loops shorter than this stay JavaScript (compiling a module costs more than it saves). */
const minimumWasmElements = 512;

const loopSize = (k: Kernel): number =>
  Math.max(...k.equations.flatMap((eq) => [...eq.inputs, ...eq.outputs].map((a) => a.aval.size)));

/** Whether a kernel uses a float32 function whose eager form runs the vectorised code. */
function usesSimdMath(k: Kernel): boolean {
  return k.equations.some(usesVectorMath);
}

/** A kernel's equations as single-equation kernels (each runs its primitive's kernel). */
function unfuse(k: Kernel): Kernel[] {
  return k.equations.map((eq) => {
    const inputs = eq.inputs.filter((a): a is Var => a instanceof Var);
    const bytes = [...inputs, ...eq.outputs].reduce(
      (n, v) => n + v.aval.size * itemSize(v.aval.dtype),
      0,
    );
    return {
      kind: "single" as const,
      equations: [eq],
      inputs,
      outputs: eq.outputs,
      flops: equationFlops(eq),
      bytes,
      inPlace: [],
    };
  });
}

function inlineDot(eq: Equation): boolean {
  const dtype = eq.outputs[0]!.aval.dtype;
  if (dtype !== "float32" && dtype !== "float64") return true;
  if (eq.inputs[1]!.aval.dtype !== eq.inputs[0]!.aval.dtype) return false;
  const { contracting } = eq.params as {
    contracting: readonly [readonly number[], readonly number[]];
  };
  const k = contracting[0].reduce((n, a) => n * eq.inputs[0]!.aval.shape[a]!, 1);
  // Smaller products (and integer ones) run eagerly on the plain loop, which the generated code
  // inlines; larger ones on the matmul kernels.
  return eq.outputs[0]!.aval.size * k < matmulMinimumWork;
}

/** A program as one generated JavaScript function (see `program-function.ts`). */
function compileInline(program: Program): CompiledProgram | undefined {
  const planned = scheduleOf(program);
  const whole = compileWholeFunction(program, {
    optimize,
    schedule: scheduleOf,
    kernelName,
    summary: inlineSummary,
    inlineDot,
    vectorised: usesVectorMath,
  });
  if (whole === undefined) return undefined;
  const runsAs =
    `one generated JavaScript function: the kernels above run inline in it, in order, loops and ` +
    `branches as JavaScript loops and branches; values of at most ${elementsLimit} elements live ` +
    `in local variables, larger ones in typed arrays allocated once (${whole.pooledBytes} bytes)`;
  let report: CompileReport | undefined;
  let code: string | undefined;
  return {
    run: whole.run,
    get code() {
      return (code ??= [
        `// The whole program as one generated JavaScript function (\`kernels\`): the kernels of the`,
        `// schedule run inline, each under its header, with its IR equations as comments.`,
        whole.source(),
      ].join("\n"));
    },
    get report() {
      return (report ??= reportOf(planned, "inline", runsAs));
    },
    cost: {
      flops: planned.kernels.reduce((n, k) => n + k.flops, 0),
      bytesAccessed: planned.kernels.reduce((n, k) => n + k.bytes, 0),
    },
  };
}

function compile(program: Program, donated: readonly boolean[]): Compiled {
  // Donated buffers are reused by the executor's kernels; otherwise small programs run inline.
  const options = {
    optimize,
    straightLineLimit: minimumWasmElements,
    ownLoop: (eq: Equation) => wholeLoop(eq) !== undefined,
  };
  if (!donated.some(Boolean) && qualifies(program, options)) {
    const inline = compileInline(program);
    if (inline !== undefined) return inline;
  }
  const initial = schedule(program, donated);
  const fused = new Map<Kernel, FusedKernelCode>();
  const wasm = new Map<Kernel, WasmFusedKernel>();
  const line = equationPrinter(program);
  const kernels: Kernel[] = [];
  // Every WebAssembly kernel of the program goes into one module (compiled once).
  const module = kernelModuleBuilder();
  for (const k of initial.kernels) {
    if (k.kind !== "fused") {
      kernels.push(k);
      continue;
    }
    const comment = k.equations.map(line).join("\n");
    // Small arithmetic loops are cheaper as JavaScript than as a module to compile; float32
    // exp/log/tanh/… always run the vectorised code (as they do eagerly).
    const wanted = loopSize(k) >= minimumWasmElements || usesSimdMath(k);
    const compiled = wanted
      ? generateWasmFused(k, comment, module, `kernel${kernels.length}_fused`, {
          fusedMultiplyAdd: useFusedMultiplyAdd(),
        })
      : undefined;
    if (compiled !== undefined) {
      wasm.set(k, compiled);
      kernels.push(k);
    } else if (usesSimdMath(k)) {
      // A JavaScript loop would call Math.* where eager float32 runs the vectorised code.
      kernels.push(...unfuse(k));
    } else {
      fused.set(k, generateFused(k));
      kernels.push(k);
    }
  }
  const planned: Schedule = { ...initial, kernels };
  const steps = new Map<Kernel, WasmStep>();
  if (wasm.size > 0) {
    const compiledModule = compileKernel(module.build({ names: false }));
    for (const [k, compiled] of wasm) steps.set(k, { kernel: compiled, module: compiledModule });
  }
  const { run, resident, arenaBytes } = instantiate(planned, fused, steps, {
    compileSub,
    wholeLoop,
  });
  let code: string | undefined;
  let report: CompileReport | undefined;
  const flops = planned.kernels.reduce((n, k) => n + k.flops, 0);
  const bytesAccessed = planned.kernels.reduce((n, k) => n + k.bytes, 0);
  return {
    run,
    resident,
    // The text and the report are made only when someone asks (they are not needed to run).
    get code() {
      return (code ??= codeOf(planned, fused, wasm, module));
    },
    get report() {
      return (report ??= reportOf(planned, "executor", undefined, arenaBytes));
    },
    cost: { flops, bytesAccessed },
  };
}

/**
 * A compiled program that follows the `fusedMultiplyAdd` setting: the math functions' variants
 * are chosen when kernels are generated, so a call after the setting changed runs the program
 * compiled again under the new one (as eager execution would).
 */
function compileFollowingSettings(program: Program, donated: readonly boolean[]): CompiledProgram {
  const fusedMultiplyAdd = useFusedMultiplyAdd();
  const compiled = compile(program, donated);
  const run = compiled.run;
  let other: CompiledProgram | undefined;
  compiled.run = (args) =>
    useFusedMultiplyAdd() === fusedMultiplyAdd
      ? run(args)
      : (other ??= compile(program, donated)).run(args);
  return compiled;
}

/** Loop bodies and branches, compiled once per program object and `fusedMultiplyAdd` setting. */
const compiledSubs = [new WeakMap<Program, Compiled>(), new WeakMap<Program, Compiled>()];

function subprogram(program: Program): Compiled {
  const cache = compiledSubs[Number(useFusedMultiplyAdd())]!;
  let compiled = cache.get(program);
  if (compiled === undefined) {
    compiled = compile(optimize(program), []);
    cache.set(program, compiled);
  }
  return compiled;
}

const compileSub = (program: Program): CompiledBody => subprogram(program);

/** Whole-loop scans, built once per equation and `fusedMultiplyAdd` setting. */
const wholeLoops = [
  new WeakMap<Equation, ScanLoop | null>(),
  new WeakMap<Equation, ScanLoop | null>(),
];

function wholeLoop(eq: Equation): ScanLoop | undefined {
  const cache = wholeLoops[Number(useFusedMultiplyAdd())]!;
  let loop = cache.get(eq);
  if (loop === undefined) {
    loop = compileScanLoop(eq, optimize) ?? null;
    cache.set(eq, loop);
  }
  return loop ?? undefined;
}

installJitBackend({ optimize, compile: compileFollowingSettings });

/**
 * Scans that run entirely in WebAssembly: when a loop body (no xs, no ys) is one fused
 * elementwise kernel updating float carries, plus counters (`i + 1`, as `foriLoop` makes), the
 * whole loop is one exported function that calls the kernel `length` times over carry buffers
 * updated in place — no call back into JavaScript per iteration.
 */
import { Equation, Literal, Program, Var } from "../core/ir.js";
import type { ScanParams } from "../lax/control-primitives.js";
import { generateWasmFused } from "../compiler/codegen/wasm-fused.js";
import { schedule } from "../compiler/schedule.js";
import type { NDArray } from "../core/array.js";
import { asConcrete, fromStorage, scalar } from "./concrete.js";
import { useFusedMultiplyAdd } from "./config.js";
import {
  compileKernel,
  copyIn,
  copyOut,
  kernelModuleBuilder,
  layout,
  reserve,
  runKernelParallel,
} from "./wasm-memory.js";

/** A compiled whole-loop scan: call it with the scan's inputs, get its outputs. */
export type ScanLoop = (inputs: readonly NDArray[]) => NDArray[];

/** Carries the body only counts with (`c + 1`, read nowhere else): index → step. */
function counters(body: Program, numConsts: number, numCarry: number): Map<number, number> {
  const found = new Map<number, number>();
  const uses = new Map<Var, number>();
  for (const eq of body.equations)
    for (const a of eq.inputs) if (a instanceof Var) uses.set(a, (uses.get(a) ?? 0) + 1);
  for (let k = 0; k < numCarry; k++) {
    const v = body.invars[numConsts + k]!;
    const out = body.outputs[k];
    if (v.aval.ndim !== 0 || v.aval.dtype !== "int32" || !(out instanceof Var)) continue;
    const eq = body.equations.find((e) => e.outputs[0] === out);
    const [a, b] = eq?.inputs ?? [];
    if (eq?.primitive.name !== "add" || a !== v || !(b instanceof Literal)) continue;
    if (uses.get(v) !== 1 || (uses.get(out) ?? 0) !== 0) continue;
    found.set(k, b.value);
  }
  return found;
}

/**
 * The whole-loop form of a scan equation, or `undefined` when its body does not fit (then the
 * executor calls the compiled body per iteration).
 */
export function compileScanLoop(
  eq: Equation,
  optimize: (p: Program) => Program,
): ScanLoop | undefined {
  const p = eq.params as ScanParams;
  const { numConsts: nc, numCarry: nk, length } = p;
  const body = optimize(p.body);
  if (body.invars.length !== nc + nk || body.outputs.length !== nk || body.consts.length > 0)
    return undefined;
  const counted = counters(body, nc, nk);
  const carryIndices = Array.from({ length: nk }, (_, k) => k).filter((k) => !counted.has(k));
  if (carryIndices.length === 0) return undefined;
  // The body without its counters must be exactly one fused kernel writing the other carries.
  const countOuts = new Set([...counted.keys()].map((k) => body.outputs[k]));
  const inner = new Program(
    [],
    [],
    body.invars.filter((_, i) => i < nc || carryIndices.includes(i - nc)),
    body.equations.filter((e) => !countOuts.has(e.outputs[0])),
    carryIndices.map((k) => body.outputs[k]!),
  );
  const s = schedule(inner);
  if (s.kernels.length !== 1 || s.kernels[0]!.kind !== "fused") return undefined;
  const kernel = s.kernels[0]!;
  const carryVars = carryIndices.map((k) => body.invars[nc + k]!);
  const shape = carryVars[0]!.aval.shape;
  if (
    carryVars.some((v) => v.aval.ndim === 0 || v.aval.size !== carryVars[0]!.aval.size) ||
    inner.outputs.some(
      (o, j) =>
        !(o instanceof Var) || !kernel.outputs.includes(o) || !o.aval.equals(carryVars[j]!.aval),
    ) ||
    kernel.outputs.length !== carryIndices.length
  ) {
    return undefined;
  }
  const module = kernelModuleBuilder();
  const fused = generateWasmFused(kernel, "scan body", module, "body", {
    fusedMultiplyAdd: useFusedMultiplyAdd(),
  });
  if (fused === undefined || fused.reduction !== undefined) return undefined;
  // Inputs of the kernel: carries (their buffers) or array consts; scalars are consts.
  const constVars = body.invars.slice(0, nc);
  if (fused.arrays.some((v) => !carryVars.includes(v) && !constVars.includes(v))) return undefined;
  // Masks (bool arrays) are not carried in the whole loop.
  if ([...fused.arrays, ...fused.outputs].some((v) => v.aval.dtype === "bool")) return undefined;
  if (fused.scalars.some((v) => !constVars.includes(v))) return undefined;
  const arrayConsts = constVars.filter((v) => fused.arrays.includes(v));
  const scalarType = carryVars[0]!.aval.dtype === "float64" ? "f64" : "f32";
  // loop(carryPtr…, constPtr…, scalar…, bytes, n)
  const loop = module.addFunction("loop", {
    params: [
      ...carryVars.map(() => "i32" as const),
      ...arrayConsts.map(() => "i32" as const),
      ...fused.scalars.map(() => scalarType),
      "i32",
      "i32",
    ],
    export: true,
    comment: `scan of ${length} steps over the fused body, carries updated in place`,
  });
  const pointerOf = (v: Var): number =>
    carryVars.includes(v) ? carryVars.indexOf(v) : carryVars.length + arrayConsts.indexOf(v);
  const bytesParam = carryVars.length + arrayConsts.length + fused.scalars.length;
  const step = loop.addLocal("i32");
  loop.block((done) => {
    loop.loop((next) => {
      loop
        .localGet(step)
        .localGet(bytesParam + 1)
        .i32GeU()
        .brIf(done);
      for (const v of fused.arrays) loop.localGet(pointerOf(v));
      for (const out of fused.outputs) loop.localGet(carryVars.indexOf(carryOf(out)));
      fused.scalars.forEach((_, i) => loop.localGet(carryVars.length + arrayConsts.length + i));
      loop.localGet(bytesParam).call(fused.function);
      loop.localGet(step).i32Const(1).i32Add().localSet(step).br(next);
    });
  });
  function carryOf(out: Var): Var {
    return carryVars[inner.outputs.indexOf(out)]!;
  }
  const compiled = compileKernel(module.build({ names: false }));
  const item = scalarType === "f64" ? 8 : 4;
  const count = carryVars[0]!.aval.size;
  const sizes = [...carryVars.map(() => count * item), ...arrayConsts.map(() => count * item)];
  return (inputs) => {
    const { offsets, total } = layout(sizes);
    reserve(total);
    carryIndices.forEach((k, j) =>
      copyIn(asConcrete(inputs[nc + k]!).contiguousData(), offsets[j]!),
    );
    arrayConsts.forEach((v, j) =>
      copyIn(
        asConcrete(inputs[constVars.indexOf(v)]!).contiguousData(),
        offsets[carryVars.length + j]!,
      ),
    );
    const scalars = fused.scalars.map((v) => {
      const x = asConcrete(inputs[constVars.indexOf(v)]!);
      return x.data[x.offset]!;
    });
    runKernelParallel("a scan loop", compiled, [
      {
        name: "loop",
        args: [
          ...offsets.slice(0, carryVars.length + arrayConsts.length),
          ...scalars,
          count * item,
          length,
        ],
      },
    ]);
    return Array.from({ length: nk }, (_, k) => {
      const input = asConcrete(inputs[nc + k]!);
      const by = counted.get(k);
      if (by !== undefined) {
        // int32 steps wrap; so does their sum.
        return scalar(
          (Number(input.data[input.offset]) + by * length) | 0,
          "int32",
          input.weakType,
        );
      }
      const j = carryIndices.indexOf(k);
      const aval = carryVars[j]!.aval;
      return fromStorage(copyOut(aval.dtype, offsets[j]!, count), shape, aval.dtype, aval.weakType);
    });
  };
}

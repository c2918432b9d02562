/**
 * The code `.code` shows for the executor's kernels that are not fused loops: the WebAssembly of
 * the matmul kernel a product runs, of a convolution's im2col and product, of the windows kernel,
 * or a line saying what runs instead (a view, a JavaScript loop).
 */
import type { AbstractValue } from "../core/aval.js";
import { Var, type Atom, type Equation } from "../core/ir.js";
import { contiguousStrides } from "../core/shape.js";
import { emitMatmul, planMatmul, type MatmulSpec } from "../compiler/kernels/matmul.js";
import { ModuleBuilder } from "../compiler/wasm/module.js";
import { functionToText } from "../compiler/wasm/text.js";
import type { Kernel } from "../compiler/schedule.js";
import type { ConvParams } from "../primitives/conv.js";
import type { DotGeneralParams } from "../primitives/dot.js";
import type { WindowMode } from "../primitives/window.js";
import type { WindowParams } from "../primitives/window-plan.js";
import { useFusedMultiplyAdd } from "./config.js";
import { planConv } from "./conv-kernels.js";
import { dotModule } from "./dot-kernels.js";
import { im2colModule } from "./im2col-kernels.js";
import { plannedProductSpec } from "./matmul.js";
import { threadCount } from "./threads.js";
import { plannedWindowModule } from "./window-kernels.js";

/**
 * The element strides of `a` when it is a transpose of a row-major array (a view the kernels
 * read in place), given the equation that defines each variable; undefined when row-major.
 */
export function viewStrides(
  a: Atom,
  definition: (v: Var) => Equation | undefined,
): number[] | undefined {
  const eq = a instanceof Var ? definition(a) : undefined;
  if (eq?.primitive.name !== "transpose") return undefined;
  const base = contiguousStrides(eq.inputs[0]!.aval.shape);
  return (eq.params as { permutation: readonly number[] }).permutation.map((p) => base[p]!);
}

/**
 * A product's code: the WebAssembly of the matmul kernel it runs (its operands row-major, as a
 * compiled call's are, or transposes of such), or what runs it instead; undefined for other
 * kernels.
 */
export function productCode(
  k: Kernel,
  name: string,
  definition: (v: Var) => Equation | undefined = () => undefined,
): string | undefined {
  const [dot, add, relu] = k.equations as [Equation, Equation?, Equation?];
  if (dot.primitive.name !== "dot_general" || (k.kind !== "matmul" && k.kind !== "single")) {
    return undefined;
  }
  const [lhs, rhs] = dot.inputs.map((a) => a.aval) as [AbstractValue, AbstractValue];
  const epilogue = { bias: add !== undefined, relu: relu !== undefined };
  const strides = dot.inputs.map((a) => viewStrides(a, definition)) as [number[]?, number[]?];
  const spec = plannedProductSpec(lhs, rhs, dot.params as DotGeneralParams, epilogue, strides);
  if (spec === undefined)
    return "// a plain loop (an integer product, or too small for the kernel)";
  const { mr, nr, form } = planMatmul(spec);
  const applied = [epilogue.bias && "adds the bias", epilogue.relu && "applies relu"].filter(
    Boolean,
  );
  const how =
    form === "rows"
      ? "the SIMD matmul kernel for few rows or short sums, unpacked: rows of B read in place" +
        " against splatted elements of A"
      : form === "dots"
        ? "the SIMD matmul kernel for few rows or columns, unpacked: blocks of dot products" +
          " of A's rows and B's columns, read in place"
        : `the SIMD matmul kernel: A and B packed into panels, a ${mr}×${nr} register-blocked` +
          " micro-kernel";
  return [
    `// ${how}${applied.length > 0 ? `; its epilogue ${applied.join(" and ")}` : ""}` +
      `; on several threads a large product is split by rows, columns or batch`,
    ...matmulText(spec, name),
  ].join("\n");
}

/** Primitives whose results view their operand's storage (reshape: where the layout allows). */
const viewPrimitives = new Set(["broadcast_in_dim", "reshape", "transpose", "slice", "rev"]);

/** What runs a kernel that has no generated code of its own. */
export function otherCode(k: Kernel): string {
  const name = k.equations[0]!.primitive.name;
  if (k.equations.length === 1 && viewPrimitives.has(name)) {
    return name === "reshape"
      ? "// a view of its operand (no code runs), or a copy where its layout cannot be viewed"
      : "// a view of its operand: it shares its storage, and no code runs";
  }
  const mode = windowModes[name];
  if (mode !== undefined) {
    // The operand whose windows are searched: the first input of reduce_window_max, the
    // second of its derivatives (`select_and_…_add(t, x)`).
    const x = k.equations[0]!.inputs[mode === "max" ? 0 : 1]!.aval;
    const params = k.equations[0]!.params as WindowParams;
    const module = plannedWindowModule(mode, x.shape, x.dtype, params);
    if (module === undefined) return "// a JavaScript loop over the windows";
    return [
      "// the SIMD windows kernel: four windows of a row at a time, without branches; windows " +
        "that reach into the padding run on the JavaScript loop",
      ...moduleText(module),
    ].join("\n");
  }
  return `// runs the ${name} kernel`;
}

/** The window primitives and the mode of the windows kernel each runs. */
const windowModes: Record<string, WindowMode | undefined> = {
  reduce_window_max: "max",
  select_and_gather_add: "gather",
  select_and_scatter_add: "scatter",
};

/** Each function of a kernel module, as text. */
const moduleText = (module: ModuleBuilder): string[] =>
  module.functions.map((f) => functionToText(module, f));

/** The functions of a matmul kernel module for `spec`, as text. */
function matmulText(spec: MatmulSpec, name: string): string[] {
  const module = new ModuleBuilder();
  module.importMemory({ minPages: 1 });
  emitMatmul(module, name, spec);
  return moduleText(module);
}

/**
 * A convolution's code: how its blocks of examples run, the im2col module that lays out their
 * columns, and the matmul kernel of a whole block (for this configuration's threads); undefined
 * for other kernels.
 */
export function convCode(k: Kernel, name: string): string | undefined {
  const eq = k.equations[0]!;
  if (eq.primitive.name !== "conv_general_dilated") return undefined;
  const [lhs, rhs] = eq.inputs.map((a) => a.aval) as [AbstractValue, AbstractValue];
  const shape = eq.outputs[0]!.aval.shape;
  const plan = planConv(lhs, rhs, eq.params as ConvParams, shape, threadCount());
  if (plan === undefined) {
    return "// a JavaScript loop over the windows (the kernels do not take this case)";
  }
  const { block, lanes, outN, rows, P, direct, transposed } = plan;
  const im2col = im2colModule(plan.dtype);
  if (plan.dots) {
    return [
      `// im2col lays out a column matrix of ${plan.columns} rows (output windows) of ` +
        `${rows} elements for all ${outN} examples; the [O, N·P] product is ` +
        `${plan.Og} × ${plan.columns} dot products ${rows} long, reordered to NCHW after`,
      "// im2col:",
      ...moduleText(im2col),
      "// the dot products:",
      ...moduleText(dotModule(plan.dtype, useFusedMultiplyAdd())),
    ].join("\n");
  }
  const spec = plan.spec(block);
  const { mr, nr } = planMatmul(spec);
  return [
    `// im2col lays out a column matrix of ${rows} rows for a block of ${block} of the ` +
      `${outN} examples${transposed ? " (transposed: its rows are output windows)" : ""}, ` +
      `${lanes > 1 ? `${lanes} blocks side by side on the threads` : "one block at a time"}; ` +
      `the matmul kernel (${mr}×${nr} micro-kernel) multiplies the kernel by it and writes ` +
      (direct
        ? `each example's ${P} output positions straight into the NCHW result`
        : "an [O, N·P] product, reordered to NCHW after"),
    "// im2col:",
    ...moduleText(im2col),
    "// the product of a block:",
    ...matmulText(spec, `${name}$product`),
  ].join("\n");
}

/**
 * Code for fused elementwise kernels: one loop computes a chain of elementwise equations (and an
 * optional trailing reduction) without materialising intermediates. Each element goes through the
 * same scalar functions as eager execution, with the same rounding after every step (Math.fround
 * for float32, wrapping for integers), so compiled and eager results agree bit for bit.
 */
import type { DType } from "../../core/dtype.js";
import { Literal, Var, type Atom } from "../../core/ir.js";
import type { Kernel } from "../schedule.js";
import { isTrailingReduction } from "../schedule.js";

/** A fused kernel as JavaScript source, with the values it needs bound at instantiation. */
export interface FusedKernelCode {
  /** `function kernel(in0, …, out0, …, n, blocks)` in JavaScript. */
  source: string;
  /** The scalar functions the source calls as `f0`, `f1`, … */
  functions: ((...xs: number[]) => number)[];
  /** Kernel inputs in argument order; rank-0 inputs are passed as numbers. */
  inputs: readonly Var[];
  outputs: readonly Var[];
  /** Elements per loop iteration block (the reduced size when the kernel ends in a reduction). */
  blockSize: number;
  /** The loop runs over this many elements. */
  loopSize: number;
}

/** The expression that rounds a freshly computed value to what `dtype` storage would hold. */
function store(dtype: DType, expression: string): string {
  switch (dtype) {
    case "float32":
      return `fround(${expression})`;
    case "float64":
      return expression;
    case "int32":
      return `(${expression}) | 0`;
    case "uint32":
      return `(${expression}) >>> 0`;
    case "bool":
      return `((${expression}) !== 0 ? 1 : 0)`;
  }
}

function literalSource(a: Literal): string {
  const v = a.value;
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "Infinity";
  if (v === -Infinity) return "-Infinity";
  return Object.is(v, -0) ? "-0" : String(v);
}

const reductionInit: Record<string, string> = {
  reduce_sum: "0",
  reduce_max: "-Infinity",
  reduce_min: "Infinity",
};

const reductionStep: Record<string, (acc: string, v: string) => string> = {
  reduce_sum: (acc, v) => `${acc} + ${v}`,
  reduce_max: (acc, v) =>
    `(${acc} !== ${acc} || ${v} !== ${v} ? NaN : ${v} > ${acc} ? ${v} : ${acc})`,
  reduce_min: (acc, v) =>
    `(${acc} !== ${acc} || ${v} !== ${v} ? NaN : ${v} < ${acc} ? ${v} : ${acc})`,
};

/** Generates the loop of a fused kernel. */
export function generateFused(kernel: Kernel): FusedKernelCode {
  const last = kernel.equations[kernel.equations.length - 1]!;
  const reduction = isTrailingReduction(last) ? last : undefined;
  const body = reduction === undefined ? kernel.equations : kernel.equations.slice(0, -1);
  const loopShape =
    reduction !== undefined ? reduction.inputs[0]!.aval.shape : last.outputs[0]!.aval.shape;
  const loopSize = loopShape.reduce((n, d) => n * d, 1);
  const blockSize =
    reduction === undefined
      ? 1
      : (reduction.params as { axes: readonly number[] }).axes.reduce(
          (n, a) => n * loopShape[a]!,
          1,
        );

  const names = new Map<Var, string>();
  const inputs = kernel.inputs;
  inputs.forEach((v, i) => names.set(v, v.aval.ndim === 0 ? `s${i}` : `in${i}[e]`));
  const functions: ((...xs: number[]) => number)[] = [];
  const lines: string[] = [];
  const ref = (a: Atom): string => (a instanceof Literal ? literalSource(a) : names.get(a)!);
  body.forEach((eq, k) => {
    const scalar = eq.primitive.spec.scalar!(
      eq.inputs.map((a) => a.aval.dtype),
      eq.params,
    );
    functions.push(scalar);
    const out = eq.outputs[0]!;
    const name = `v${k}`;
    lines.push(
      `      const ${name} = ${store(out.aval.dtype, `f${k}(${eq.inputs.map(ref).join(", ")})`)}; // ${eq.primitive.name}`,
    );
    names.set(out, name);
  });

  const outputs = kernel.outputs;
  const params = [
    ...inputs.map((v, i) => (v.aval.ndim === 0 ? `s${i}` : `in${i}`)),
    ...outputs.map((_, i) => `out${i}`),
  ];
  const fnParams = functions.map((_, k) => `f${k}`);
  let loop: string;
  if (reduction === undefined) {
    const writes = outputs.map((v, i) => `      out${i}[e] = ${names.get(v)!};`);
    loop = [`    for (let e = 0; e < ${loopSize}; e++) {`, ...lines, ...writes, "    }"].join("\n");
  } else {
    const name = reduction.primitive.name;
    const value = ref(reduction.inputs[0]!);
    // Intermediates used elsewhere are written element by element inside the loop.
    const elementWrites = outputs
      .map((v, i) => [v, i] as const)
      .filter(([v]) => v !== reduction.outputs[0])
      .map(([v, i]) => `        out${i}[e] = ${names.get(v)!};`);
    const result = outputs.indexOf(reduction.outputs[0]!);
    loop = [
      `    for (let b = 0, e = 0; b < ${reduction.outputs[0]!.aval.size}; b++) {`,
      `      let acc = ${reductionInit[name]!};`,
      `      for (let r = 0; r < ${blockSize}; r++, e++) {`,
      ...lines.map((l) => `  ${l}`),
      ...elementWrites,
      `        acc = ${reductionStep[name]!("acc", value)};`,
      "      }",
      ...(result >= 0 ? [`      out${result}[b] = acc;`] : []),
      "    }",
    ].join("\n");
  }
  const source = [
    `(${fnParams.join(", ")}) => {`,
    "  const fround = Math.fround;",
    `  return function kernel(${params.join(", ")}) {`,
    loop,
    "  };",
    "}",
  ].join("\n");
  return { source, functions, inputs, outputs, blockSize, loopSize };
}

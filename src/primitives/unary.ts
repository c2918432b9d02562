/**
 * Unary elementwise primitives: negation, absolute value, rounding, exponentials and logarithms,
 * trigonometric and hyperbolic functions, finiteness and logical not. Each gives its derivative
 * as a factor of the tangent, and the domain the registry sweep draws its inputs from.
 */
import { AbstractValue } from "../core/aval.js";
import type { NDArray } from "../core/array.js";
import type { DType } from "../core/dtype.js";
import { isFloating } from "../core/dtype.js";
import { definePrimitive, type Primitive, type PrimitiveExample } from "../core/primitive.js";
import type { ConcreteArray } from "../runtime/concrete.js";
import { mapUnary } from "../runtime/strided.js";
import * as ops from "./ops.js";
import { checkDType, concrete, output, type DTypeClass } from "./util.js";

interface UnarySpec {
  name: string;
  dtypes: DTypeClass;
  /** The float (or generic) kernel. */
  f: (x: number) => number;
  /** Kernel per integer dtype when it differs from `f`. */
  int32?: (x: number) => number;
  uint32?: (x: number) => number;
  /** Output dtype when it is not the input's (e.g. `bool` for `is_finite`). */
  outDType?: DType;
  /**
   * The derivative as a factor of the tangent, from the input `x` and the output `y`; `null` for
   * piecewise-constant functions (zero derivative).
   */
  derivative: ((x: NDArray, y: NDArray) => NDArray) | null;
  /** Where the sweep draws inputs from (inside the domain; default [-2, 2]). */
  range?: readonly [number, number];
}

export type Empty = Record<string, never>;

const sweepShapes: readonly (readonly number[])[] = [[], [3], [2, 3], [0, 2]];

/** Sweep dtypes of a dtype class: one float, plus an integer/bool where the class allows. */
export function sweepDTypes(dtypes: DTypeClass): DType[] {
  if (dtypes === "integral") return ["bool", "int32"];
  if (dtypes === "int") return ["int32"];
  if (dtypes === "bool") return ["bool"];
  return dtypes === "float" ? ["float32"] : ["float32", "int32"];
}

function unaryExamples(
  dtypes: DTypeClass,
  range?: readonly [number, number],
): PrimitiveExample<Empty>[] {
  return sweepDTypes(dtypes).flatMap((dtype) =>
    sweepShapes.map((shape) => ({
      inputs: [{ shape, dtype, ...(range && { range }) }],
      params: {},
    })),
  );
}

/**
 * Vectorised implementations installed by the runtime (float32 transcendental functions on
 * WebAssembly SIMD, shared with compiled kernels); `undefined` for cases they do not take.
 */
type FastUnary = (name: string, x: ConcreteArray) => ConcreteArray | undefined;
let fastUnary: FastUnary | undefined;

/** Installs the fast unary functions (called once by the runtime). @internal */
export function installFastUnary(f: FastUnary): void {
  fastUnary = f;
}

function kernelFor(spec: UnarySpec, dtype: DType): (x: number) => number {
  return (dtype === "int32" ? spec.int32 : dtype === "uint32" ? spec.uint32 : undefined) ?? spec.f;
}

function unary(spec: UnarySpec): Primitive<Empty> {
  const primitive: Primitive<Empty> = definePrimitive<Empty>({
    name: spec.name,
    linear: false,
    examples: () => unaryExamples(spec.dtypes, spec.range),
    jvp([x], [t]) {
      const y = ops.unary(primitive, x!);
      if (spec.derivative === null || t === null || !isFloating(y.dtype)) return [[y], [null]];
      return [[y], [ops.mul(t, spec.derivative(x!, y))]];
    },
    batch: (inputs, axes) => [[ops.unary(primitive, inputs[0]!)], [axes[0]!]],
    abstractEval([x]) {
      checkDType(spec.name, x!, spec.dtypes);
      const dtype = spec.outDType ?? x!.dtype;
      return [new AbstractValue(x!.shape, dtype, spec.outDType === undefined && x!.weakType)];
    },
    scalar: ([dtype]) => kernelFor(spec, dtype!),
    impl(inputs) {
      const [x] = concrete(inputs);
      const fast = fastUnary?.(spec.name, x!);
      if (fast !== undefined) return [fast];
      const dtype = spec.outDType ?? x!.dtype;
      const f = kernelFor(spec, x!.dtype);
      return [
        output(x!.shape, dtype, spec.outDType === undefined && x!.weakType, (out) =>
          mapUnary(x!.shape, x!.operand, out, f),
        ),
      ];
    },
  });
  return primitive;
}

const c = (value: number, like: NDArray): NDArray => ops.constant(value, like);
const u = (p: Primitive<Empty>, x: NDArray): NDArray => ops.unary(p, x);

const negate = (v: number): number => -v;

/** Negation: linear, so it also has a transpose rule. */
export const neg: Primitive<Empty> = definePrimitive<Empty>({
  name: "neg",
  linear: true,
  examples: () => unaryExamples("numeric").map((e) => ({ ...e, linearIn: [0] })),
  abstractEval([x]) {
    checkDType("neg", x!, "numeric");
    return [x!];
  },
  scalar: () => negate,
  impl(inputs) {
    const [x] = concrete(inputs);
    return [
      output(x!.shape, x!.dtype, x!.weakType, (out) => mapUnary(x!.shape, x!.operand, out, negate)),
    ];
  },
  jvp: ([x], [t]) => [[ops.neg(x!)], [t === null ? null : ops.neg(t)]],
  transpose: ([ct]) => [ct === null ? null : ops.neg(ct)],
  batch: (inputs, axes) => [[ops.neg(inputs[0]!)], [axes[0]!]],
});
export const abs = unary({
  name: "abs",
  range: [0.2, 2],
  dtypes: "numeric",
  f: Math.abs,
  derivative: (x) => u(sign, x),
});
export const sign = unary({
  name: "sign",
  dtypes: "numeric",
  f: (x) => (x > 0 ? 1 : x < 0 ? -1 : x),
  derivative: null,
});
export const floor = unary({ name: "floor", dtypes: "float", f: Math.floor, derivative: null });
export const ceil = unary({ name: "ceil", dtypes: "float", f: Math.ceil, derivative: null });
/** Rounds half to even, as NumPy does. */
export const round = unary({
  name: "round",
  dtypes: "float",
  f: (x) => {
    const r = Math.round(x);
    return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  },
  derivative: null,
});
const float = "float" as const;
const one = (x: NDArray): NDArray => c(1, x);
/** `1 / sqrt(v)`. */
const rsqrt = (v: NDArray): NDArray => ops.div(one(v), u(sqrt, v));
export const exp = unary({ name: "exp", dtypes: float, f: Math.exp, derivative: (_, y) => y });
export const exp2 = unary({
  name: "exp2",
  dtypes: float,
  f: (x) => Math.pow(2, x),
  derivative: (x, y) => ops.mul(y, c(Math.LN2, x)),
});
export const log = unary({
  name: "log",
  range: [0.3, 3],
  dtypes: float,
  f: Math.log,
  derivative: (x) => ops.div(one(x), x),
});
export const log1p = unary({
  name: "log1p",
  range: [-0.5, 2],
  dtypes: float,
  f: Math.log1p,
  derivative: (x) => ops.div(one(x), ops.add(one(x), x)),
});
export const expm1 = unary({
  name: "expm1",
  dtypes: float,
  f: Math.expm1,
  derivative: (x, y) => ops.add(y, one(x)),
});
export const sqrt = unary({
  name: "sqrt",
  range: [0.3, 3],
  dtypes: float,
  f: Math.sqrt,
  derivative: (x, y) => ops.div(c(0.5, x), y),
});
export const cbrt = unary({
  name: "cbrt",
  range: [0.3, 3],
  dtypes: float,
  f: Math.cbrt,
  derivative: (x, y) => ops.div(one(x), ops.mul(c(3, x), ops.mul(y, y))),
});
export const sin = unary({ name: "sin", dtypes: float, f: Math.sin, derivative: (x) => u(cos, x) });
export const cos = unary({
  name: "cos",
  dtypes: float,
  f: Math.cos,
  derivative: (x) => ops.neg(u(sin, x)),
});
export const tan = unary({
  name: "tan",
  range: [-1.2, 1.2],
  dtypes: float,
  f: Math.tan,
  derivative: (x, y) => ops.add(one(x), ops.mul(y, y)),
});
export const asin = unary({
  name: "asin",
  range: [-0.9, 0.9],
  dtypes: float,
  f: Math.asin,
  derivative: (x) => rsqrt(ops.sub(one(x), ops.mul(x, x))),
});
export const acos = unary({
  name: "acos",
  range: [-0.9, 0.9],
  dtypes: float,
  f: Math.acos,
  derivative: (x) => ops.neg(rsqrt(ops.sub(one(x), ops.mul(x, x)))),
});
export const atan = unary({
  name: "atan",
  dtypes: float,
  f: Math.atan,
  derivative: (x) => ops.div(one(x), ops.add(one(x), ops.mul(x, x))),
});
export const sinh = unary({
  name: "sinh",
  dtypes: float,
  f: Math.sinh,
  derivative: (x) => u(cosh, x),
});
export const cosh = unary({
  name: "cosh",
  dtypes: float,
  f: Math.cosh,
  derivative: (x) => u(sinh, x),
});
export const tanh = unary({
  name: "tanh",
  dtypes: float,
  f: Math.tanh,
  derivative: (x, y) => ops.sub(one(x), ops.mul(y, y)),
});
/**
 * The logistic sigmoid σ(x) = 1 / (1 + e^(−x)), JAX's `lax.logistic`. One primitive, so that its
 * derivative is finite everywhere (the chain through `exp` and a division gives inf/inf = NaN
 * below x ≈ −89 in float32): σ(x)·σ(−x), which keeps both tails accurate where y·(1 − y)
 * rounds to 0 for x ≳ 17.
 */
export const logistic = unary({
  name: "logistic",
  range: [-4, 4],
  dtypes: float,
  f: (x) => {
    if (x >= 0) return 1 / (1 + Math.exp(-x));
    const e = Math.exp(x);
    return e / (1 + e);
  },
  derivative: (x, y) => ops.mul(y, u(logistic, ops.neg(x))),
});
export const asinh = unary({
  name: "asinh",
  dtypes: float,
  f: Math.asinh,
  derivative: (x) => rsqrt(ops.add(ops.mul(x, x), one(x))),
});
export const acosh = unary({
  name: "acosh",
  range: [1.2, 3],
  dtypes: float,
  f: Math.acosh,
  derivative: (x) =>
    ops.div(one(x), ops.mul(u(sqrt, ops.sub(x, one(x))), u(sqrt, ops.add(x, one(x))))),
});
export const atanh = unary({
  name: "atanh",
  range: [-0.9, 0.9],
  dtypes: float,
  f: Math.atanh,
  derivative: (x) => ops.div(one(x), ops.sub(one(x), ops.mul(x, x))),
});
export const isFinite = unary({
  name: "is_finite",
  dtypes: float,
  f: (x) => (Number.isFinite(x) ? 1 : 0),
  outDType: "bool",
  derivative: null,
});
/** Logical not on bool, bitwise not on integers. */
export const not = unary({
  name: "not",
  dtypes: "integral",
  f: (x) => (x === 0 ? 1 : 0),
  int32: (x) => ~x,
  uint32: (x) => ~x >>> 0,
  derivative: null,
});

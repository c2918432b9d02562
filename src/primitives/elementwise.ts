/**
 * Elementwise primitives: unary math, binary arithmetic, comparisons, logic, select and casts.
 * Operands have equal shapes (rank-0 operands broadcast) and equal dtypes; the numpy layer
 * broadcasts and promotes before binding.
 */
import { AbstractValue } from "../core/aval.js";
import type { NDArray } from "../core/array.js";
import { castScalar, isFloating, type DType } from "../core/dtype.js";
import {
  definePrimitive,
  type LinearInput,
  type PrimitiveExample,
  type Primitive,
  type TransposeRule,
} from "../core/primitive.js";
import { bind1 } from "../core/trace.js";
import type { ConcreteArray } from "../runtime/concrete.js";
import * as ops from "./ops.js";
import {
  addTangents,
  batchElementwise,
  instantiate,
  scaleTangent,
  type MaybeZero,
} from "./rules.js";
import { mapBinary, mapTernary, mapUnary } from "../runtime/strided.js";
import {
  alignedOperand,
  checkDType,
  checkSameDType,
  concrete,
  elementwiseShape,
  output,
  type DTypeClass,
} from "./util.js";

type Empty = Record<string, never>;

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

const sweepShapes: readonly (readonly number[])[] = [[], [3], [2, 3], [0, 2]];

/** Sweep dtypes of a dtype class: one float, plus an integer/bool where the class allows. */
function sweepDTypes(dtypes: DTypeClass): DType[] {
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
    impl(inputs) {
      const [x] = concrete(inputs);
      const dtype = spec.outDType ?? x!.dtype;
      const f =
        (x!.dtype === "int32" ? spec.int32 : x!.dtype === "uint32" ? spec.uint32 : undefined) ??
        spec.f;
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

/** Negation: linear, so it also has a transpose rule. */
export const neg: Primitive<Empty> = definePrimitive<Empty>({
  name: "neg",
  linear: true,
  examples: () => unaryExamples("numeric").map((e) => ({ ...e, linearIn: [0] })),
  abstractEval([x]) {
    checkDType("neg", x!, "numeric");
    return [x!];
  },
  impl(inputs) {
    const [x] = concrete(inputs);
    return [
      output(x!.shape, x!.dtype, x!.weakType, (out) =>
        mapUnary(x!.shape, x!.operand, out, (v) => -v),
      ),
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

interface BinarySpec {
  name: string;
  dtypes: DTypeClass;
  f: (x: number, y: number) => number;
  int32?: (x: number, y: number) => number;
  uint32?: (x: number, y: number) => number;
  bool?: (x: number, y: number) => number;
  /** Comparisons give `bool`. */
  outDType?: DType;
  /**
   * The output tangent from the primal inputs, output and input tangents (at least one tangent is
   * non-zero); `null` for functions with a zero derivative.
   */
  jvp: ((x: NDArray, y: NDArray, tx: MaybeZero, ty: MaybeZero, out: NDArray) => MaybeZero) | null;
  /** For primitives linear in (some of) their operands: the transpose rule. */
  transpose?: TransposeRule<Empty>;
  /** Where the sweep draws each operand from (default [-2, 2]). */
  ranges?: readonly [readonly [number, number], readonly [number, number]];
  /** Sweep examples for each operand the primitive is linear in (one example set each). */
  linearIn?: readonly (readonly number[])[];
}

const binaryShapes: readonly (readonly [readonly number[], readonly number[]])[] = [
  [
    [2, 3],
    [2, 3],
  ],
  [[], [3]],
  [[3], []],
  [
    [0, 2],
    [0, 2],
  ],
];

function binaryExamples(spec: BinarySpec): PrimitiveExample<Empty>[] {
  const dtypes =
    spec.outDType === "bool" ? ["float32" as const, "int32" as const] : sweepDTypes(spec.dtypes);
  return dtypes.flatMap((dtype) =>
    binaryShapes.flatMap(([a, b]) =>
      (spec.linearIn ?? [undefined]).map((linearIn) => ({
        inputs: [a, b].map((shape, i) => ({
          shape,
          dtype,
          ...(spec.ranges && { range: spec.ranges[i]! }),
        })),
        params: {},
        ...(linearIn && isFloating(dtype) && { linearIn }),
      })),
    ),
  );
}

function binary(spec: BinarySpec): Primitive<Empty> {
  const rules =
    spec.transpose === undefined
      ? ({ linear: false } as const)
      : ({ linear: true, transpose: spec.transpose } as const);
  const primitive: Primitive<Empty> = definePrimitive<Empty>({
    name: spec.name,
    ...rules,
    examples: () => binaryExamples(spec),
    jvp([x, y], [tx, ty]) {
      const out = bind1(primitive, [x!, y!], {});
      if (spec.jvp === null || !isFloating(out.dtype)) return [[out], [null]];
      const t = spec.jvp(x!, y!, tx!, ty!, out);
      return [[out], [t === null ? null : ops.fill(t, out.shape)]];
    },
    batch: (inputs, axes, params) => batchElementwise(primitive)(inputs, axes, params),
    abstractEval(avals) {
      const shape = elementwiseShape(spec.name, avals);
      const dtype = checkSameDType(spec.name, avals);
      checkDType(spec.name, avals[0]!, spec.dtypes, "the first operand");
      const weak = spec.outDType === undefined && avals.every((a) => a.weakType);
      return [new AbstractValue(shape, spec.outDType ?? dtype, weak)];
    },
    impl(inputs) {
      const [x, y] = concrete(inputs);
      const shape = x!.ndim > 0 ? x!.shape : y!.shape;
      const dtype = x!.dtype;
      const f =
        (dtype === "int32"
          ? spec.int32
          : dtype === "uint32"
            ? spec.uint32
            : dtype === "bool"
              ? spec.bool
              : undefined) ?? spec.f;
      const weak = spec.outDType === undefined && x!.weakType && y!.weakType;
      return [
        output(shape, spec.outDType ?? dtype, weak, (out) =>
          mapBinary(shape, alignedOperand(x!, shape), alignedOperand(y!, shape), out, f),
        ),
      ];
    },
  });
  return primitive;
}

const shapeOf = (x: NDArray | LinearInput): readonly number[] => x.aval.shape;
const isLinear = (x: NDArray | LinearInput): x is LinearInput => "linear" in x && x.linear === true;

function intPow(base: number, exponent: number, wrap: (x: number) => number): number {
  if (exponent < 0) return base === 1 ? 1 : base === -1 ? (exponent % 2 === 0 ? 1 : -1) : 0;
  let result = 1;
  let b = base;
  let e = exponent;
  while (e > 0) {
    if (e & 1) result = wrap(Math.imul(result, b));
    b = wrap(Math.imul(b, b));
    e = Math.floor(e / 2);
  }
  return result;
}

const toInt32 = (x: number): number => x | 0;
const toUint32 = (x: number): number => x >>> 0;

export const add = binary({
  name: "add",
  linearIn: [[0, 1]],
  dtypes: "numeric",
  f: (x, y) => x + y,
  jvp: (_x, _y, tx, ty) => addTangents(tx, ty),
  transpose: ([ct], [x, y]) => [
    ct === null || !isLinear(x!) ? null : ops.sumToShape(ct, shapeOf(x!)),
    ct === null || !isLinear(y!) ? null : ops.sumToShape(ct, shapeOf(y!)),
  ],
});
export const sub = binary({
  name: "sub",
  linearIn: [[0, 1]],
  dtypes: "numeric",
  f: (x, y) => x - y,
  jvp: (_x, _y, tx, ty) => (ty === null ? tx : tx === null ? ops.neg(ty) : ops.sub(tx, ty)),
  transpose: ([ct], [x, y]) => [
    ct === null || !isLinear(x!) ? null : ops.sumToShape(ct, shapeOf(x!)),
    ct === null || !isLinear(y!) ? null : ops.sumToShape(ops.neg(ct), shapeOf(y!)),
  ],
});
export const mul = binary({
  name: "mul",
  linearIn: [[0], [1]],
  dtypes: "numeric",
  f: (x, y) => x * y,
  int32: Math.imul,
  uint32: (x, y) => Math.imul(x, y) >>> 0,
  jvp: (x, y, tx, ty) => addTangents(scaleTangent(tx, y), ty === null ? null : ops.mul(x, ty)),
  transpose([ct], [x, y]) {
    if (isLinear(x!) && isLinear(y!)) throw new Error("mul is not linear in both operands at once");
    if (ct === null) return [null, null];
    return isLinear(x!)
      ? [ops.sumToShape(ops.mul(ct, y as NDArray), shapeOf(x!)), null]
      : [null, ops.sumToShape(ops.mul(x as NDArray, ct), shapeOf(y!))];
  },
});
/** True division for floats; integer division rounds toward zero (division by zero gives 0). */
export const div = binary({
  name: "div",
  linearIn: [[0]],
  ranges: [
    [-2, 2],
    [0.5, 2],
  ],
  dtypes: "numeric",
  f: (x, y) => x / y,
  int32: (x, y) => (y === 0 ? 0 : Math.trunc(x / y)),
  uint32: (x, y) => (y === 0 ? 0 : Math.trunc(x / y)),
  jvp: (_x, y, tx, ty, out) =>
    addTangents(
      tx === null ? null : ops.div(tx, y),
      ty === null ? null : ops.neg(ops.div(ops.mul(ty, out), y)),
    ),
  transpose([ct], [x, y]) {
    if (isLinear(y!)) throw new Error("div is not linear in its divisor");
    return [ct === null ? null : ops.sumToShape(ops.div(ct, y as NDArray), shapeOf(x!)), null];
  },
});
/** Remainder with the sign of the dividend (C's fmod); integer remainder by zero gives 0. */
export const rem = binary({
  name: "rem",
  ranges: [
    [0.1, 0.6],
    [1, 1.3],
  ],
  dtypes: "numeric",
  f: (x, y) => x % y,
  int32: (x, y) => (y === 0 ? 0 : x % y),
  uint32: (x, y) => (y === 0 ? 0 : x % y),
  // d/dx = 1, d/dy = -trunc(x / y).
  jvp: (x, y, tx, ty) => {
    if (ty === null) return tx;
    const q = ops.div(x, y);
    const truncated = ops.select(ops.lt(q, c(0, q)), u(ceil, q), u(floor, q));
    return addTangents(tx, ops.neg(ops.mul(ty, truncated)));
  },
});
export const pow = binary({
  name: "pow",
  ranges: [
    [0.5, 2],
    [-1.5, 1.5],
  ],
  dtypes: "numeric",
  f: Math.pow,
  int32: (x, y) => intPow(x, y, toInt32),
  uint32: (x, y) => intPow(x, y, toUint32),
  // d/dx = y x^(y-1) (0 where y = 0); d/dy = log(x) x^y (0 where x = 0).
  jvp: (x, y, tx, ty, out) => {
    let t: MaybeZero = null;
    if (tx !== null) {
      const yIsZero = ops.eq(y, c(0, y));
      const safeY = ops.select(yIsZero, one(y), y);
      const dx = ops.select(
        yIsZero,
        c(0, y),
        ops.mul(safeY, bind1(pow, [x, ops.sub(safeY, one(y))], {})),
      );
      t = ops.mul(tx, dx);
    }
    if (ty !== null) {
      const xIsZero = ops.eq(x, c(0, x));
      const logX = u(log, ops.select(xIsZero, one(x), x));
      t = addTangents(t, ops.mul(ty, ops.mul(logX, out)));
    }
    return t;
  },
});
const chooseFirst = (x: NDArray, y: NDArray, pick: (x: NDArray, y: NDArray) => NDArray): NDArray =>
  // 1 where x wins, 0 where y wins, 1/2 on ties (as JAX, so max(x, x) has derivative 1).
  ops.select(ops.eq(x, y), c(0.5, x), ops.select(pick(x, y), one(x), c(0, x)));
const extremumJvp =
  (pick: (x: NDArray, y: NDArray) => NDArray) =>
  (x: NDArray, y: NDArray, tx: MaybeZero, ty: MaybeZero): MaybeZero => {
    const wx = chooseFirst(x, y, pick);
    return addTangents(scaleTangent(tx, wx), scaleTangent(ty, ops.sub(one(wx), wx)));
  };
/** Maximum, propagating NaN. */
export const max = binary({
  name: "max",
  dtypes: "any",
  f: (x, y) => (x !== x || y !== y ? NaN : x > y ? x : y),
  jvp: extremumJvp((x, y) => ops.gt(x, y)),
});
/** Minimum, propagating NaN. */
export const min = binary({
  name: "min",
  dtypes: "any",
  f: (x, y) => (x !== x || y !== y ? NaN : x < y ? x : y),
  jvp: extremumJvp((x, y) => ops.lt(x, y)),
});
/** `atan2(x, y)`: the angle of the point `(y, x)`. */
export const atan2 = binary({
  name: "atan2",
  dtypes: "float",
  f: Math.atan2,
  jvp: (x, y, tx, ty) => {
    const r2 = ops.add(ops.mul(x, x), ops.mul(y, y));
    return addTangents(scaleTangent(tx, ops.div(y, r2)), scaleTangent(ty, ops.neg(ops.div(x, r2))));
  },
});
/** Logical on bool, bitwise on integers. */
export const and = binary({
  name: "and",
  dtypes: "integral",
  f: (x, y) => x & y,
  uint32: (x, y) => (x & y) >>> 0,
  jvp: null,
});
export const or = binary({
  name: "or",
  dtypes: "integral",
  f: (x, y) => x | y,
  uint32: (x, y) => (x | y) >>> 0,
  jvp: null,
});
export const xor = binary({
  name: "xor",
  dtypes: "integral",
  f: (x, y) => x ^ y,
  uint32: (x, y) => (x ^ y) >>> 0,
  jvp: null,
});

const compare = (name: string, f: (x: number, y: number) => boolean): Primitive<Empty> =>
  binary({ name, dtypes: "any", f: (x, y) => (f(x, y) ? 1 : 0), outDType: "bool", jvp: null });
export const eq = compare("eq", (x, y) => x === y);
export const ne = compare("ne", (x, y) => x !== y);
export const lt = compare("lt", (x, y) => x < y);
export const le = compare("le", (x, y) => x <= y);
export const gt = compare("gt", (x, y) => x > y);
export const ge = compare("ge", (x, y) => x >= y);

/** `select(pred, onTrue, onFalse)`: elementwise choice; `pred` is bool. */
export const select: Primitive<Empty> = definePrimitive<Empty>({
  name: "select",
  linear: true,
  examples: () =>
    [
      [
        [2, 3],
        [2, 3],
        [2, 3],
      ],
      [[], [3], [3]],
      [[3], [], [3]],
      [[0], [0], [0]],
    ].map(([p, a, b]) => ({
      inputs: [
        { shape: p!, dtype: "bool" as const },
        { shape: a!, dtype: "float32" as const },
        { shape: b!, dtype: "float32" as const },
      ],
      params: {},
      linearIn: [1, 2],
    })),
  jvp([p, a, b], [, ta, tb]) {
    const out = ops.select(p!, a!, b!);
    if (!isFloating(out.dtype) || (ta === null && tb === null)) return [[out], [null]];
    const fill = (t: MaybeZero, like: NDArray): NDArray =>
      ops.fill(instantiate(t, like), out.shape);
    return [[out], [ops.select(p!, fill(ta!, a!), fill(tb!, b!))]];
  },
  transpose([ct], [p, a, b]) {
    if (isLinear(p!)) throw new Error("select is not linear in its predicate");
    if (ct === null) return [null, null, null];
    const zeros = ops.zerosLike(ct);
    const pred = p as NDArray;
    return [
      null,
      isLinear(a!) ? ops.sumToShape(ops.select(pred, ct, zeros), shapeOf(a!)) : null,
      isLinear(b!) ? ops.sumToShape(ops.select(pred, zeros, ct), shapeOf(b!)) : null,
    ];
  },
  batch: (inputs, axes, params) => batchElementwise(select)(inputs, axes, params),
  abstractEval(avals) {
    const [pred, a, b] = avals as [AbstractValue, AbstractValue, AbstractValue];
    checkDType("select", pred, "bool", "the predicate");
    const shape = elementwiseShape("select", avals);
    const dtype = checkSameDType("select", [a, b]);
    return [new AbstractValue(shape, dtype, a.weakType && b.weakType)];
  },
  impl(inputs) {
    const [pred, a, b] = concrete(inputs) as [ConcreteArray, ConcreteArray, ConcreteArray];
    const all = [pred, a, b] as const;
    const shape = all.find((x) => x.ndim > 0)?.shape ?? [];
    const operands = all.map((x) => alignedOperand(x, shape));
    return [
      output(shape, a.dtype, a.weakType && b.weakType, (out) =>
        mapTernary(shape, operands[0]!, operands[1]!, operands[2]!, out, (p, x, y) =>
          p !== 0 ? x : y,
        ),
      ),
    ];
  },
});

interface ConvertParams {
  newDType: DType;
  weakType: boolean;
}

/** Converts to `newDType` (floats to ints truncate toward zero; NaN to int gives 0). */
export const convertElementType: Primitive<ConvertParams> = definePrimitive<ConvertParams>({
  name: "convert_element_type",
  linear: true,
  examples: () => [
    {
      inputs: [{ shape: [2, 3], dtype: "float32" }],
      params: { newDType: "float64", weakType: false },
      linearIn: [0],
    },
    {
      inputs: [{ shape: [3], dtype: "float64" }],
      params: { newDType: "float32", weakType: false },
      linearIn: [0],
    },
    { inputs: [{ shape: [3], dtype: "float32" }], params: { newDType: "int32", weakType: false } },
    { inputs: [{ shape: [2], dtype: "int32" }], params: { newDType: "float32", weakType: false } },
    { inputs: [{ shape: [], dtype: "bool" }], params: { newDType: "float32", weakType: false } },
  ],
  jvp([x], [t], params) {
    const out = bind1(convertElementType, [x!], params);
    const differentiable = isFloating(x!.dtype) && isFloating(params.newDType);
    return [[out], [differentiable && t !== null ? bind1(convertElementType, [t], params) : null]];
  },
  transpose: ([ct], [x]) => [
    ct === null
      ? null
      : bind1(convertElementType, [ct], { newDType: x!.aval.dtype, weakType: x!.aval.weakType }),
  ],
  batch: (inputs, axes, params) => [[bind1(convertElementType, [inputs[0]!], params)], [axes[0]!]],
  abstractEval([x], { newDType, weakType }) {
    return [new AbstractValue(x!.shape, newDType, weakType)];
  },
  impl(inputs, { newDType, weakType }) {
    const [x] = concrete(inputs);
    const f =
      newDType === "bool"
        ? (v: number) => (v !== 0 ? 1 : 0)
        : (v: number) => castScalar(v, newDType);
    return [output(x!.shape, newDType, weakType, (out) => mapUnary(x!.shape, x!.operand, out, f))];
  },
});

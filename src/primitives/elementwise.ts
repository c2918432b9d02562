/**
 * Elementwise primitives: unary math, binary arithmetic, comparisons, logic, select and casts.
 * Operands have equal shapes (rank-0 operands broadcast) and equal dtypes; the numpy layer
 * broadcasts and promotes before binding.
 */
import { AbstractValue } from "../core/aval.js";
import { castScalar, type DType } from "../core/dtype.js";
import { definePrimitive, type Primitive } from "../core/primitive.js";
import type { ConcreteArray } from "../runtime/concrete.js";
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
}

function unary(spec: UnarySpec): Primitive<Empty> {
  return definePrimitive<Empty>({
    name: spec.name,
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
}

export const neg = unary({ name: "neg", dtypes: "numeric", f: (x) => -x });
export const abs = unary({ name: "abs", dtypes: "numeric", f: Math.abs });
export const sign = unary({
  name: "sign",
  dtypes: "numeric",
  f: (x) => (x > 0 ? 1 : x < 0 ? -1 : x),
});
export const floor = unary({ name: "floor", dtypes: "float", f: Math.floor });
export const ceil = unary({ name: "ceil", dtypes: "float", f: Math.ceil });
/** Rounds half to even, as NumPy does. */
export const round = unary({
  name: "round",
  dtypes: "float",
  f: (x) => {
    const r = Math.round(x);
    return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  },
});
export const exp = unary({ name: "exp", dtypes: "float", f: Math.exp });
export const exp2 = unary({ name: "exp2", dtypes: "float", f: (x) => Math.pow(2, x) });
export const log = unary({ name: "log", dtypes: "float", f: Math.log });
export const log1p = unary({ name: "log1p", dtypes: "float", f: Math.log1p });
export const expm1 = unary({ name: "expm1", dtypes: "float", f: Math.expm1 });
export const sqrt = unary({ name: "sqrt", dtypes: "float", f: Math.sqrt });
export const cbrt = unary({ name: "cbrt", dtypes: "float", f: Math.cbrt });
export const sin = unary({ name: "sin", dtypes: "float", f: Math.sin });
export const cos = unary({ name: "cos", dtypes: "float", f: Math.cos });
export const tan = unary({ name: "tan", dtypes: "float", f: Math.tan });
export const asin = unary({ name: "asin", dtypes: "float", f: Math.asin });
export const acos = unary({ name: "acos", dtypes: "float", f: Math.acos });
export const atan = unary({ name: "atan", dtypes: "float", f: Math.atan });
export const sinh = unary({ name: "sinh", dtypes: "float", f: Math.sinh });
export const cosh = unary({ name: "cosh", dtypes: "float", f: Math.cosh });
export const tanh = unary({ name: "tanh", dtypes: "float", f: Math.tanh });
export const asinh = unary({ name: "asinh", dtypes: "float", f: Math.asinh });
export const acosh = unary({ name: "acosh", dtypes: "float", f: Math.acosh });
export const atanh = unary({ name: "atanh", dtypes: "float", f: Math.atanh });
export const isFinite = unary({
  name: "is_finite",
  dtypes: "float",
  f: (x) => (Number.isFinite(x) ? 1 : 0),
  outDType: "bool",
});
/** Logical not on bool, bitwise not on integers. */
export const not = unary({
  name: "not",
  dtypes: "integral",
  f: (x) => (x === 0 ? 1 : 0),
  int32: (x) => ~x,
  uint32: (x) => ~x >>> 0,
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
}

function binary(spec: BinarySpec): Primitive<Empty> {
  return definePrimitive<Empty>({
    name: spec.name,
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
}

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

export const add = binary({ name: "add", dtypes: "numeric", f: (x, y) => x + y });
export const sub = binary({ name: "sub", dtypes: "numeric", f: (x, y) => x - y });
export const mul = binary({
  name: "mul",
  dtypes: "numeric",
  f: (x, y) => x * y,
  int32: Math.imul,
  uint32: (x, y) => Math.imul(x, y) >>> 0,
});
/** True division for floats; integer division rounds toward zero (division by zero gives 0). */
export const div = binary({
  name: "div",
  dtypes: "numeric",
  f: (x, y) => x / y,
  int32: (x, y) => (y === 0 ? 0 : Math.trunc(x / y)),
  uint32: (x, y) => (y === 0 ? 0 : Math.trunc(x / y)),
});
/** Remainder with the sign of the dividend (C's fmod); integer remainder by zero gives 0. */
export const rem = binary({
  name: "rem",
  dtypes: "numeric",
  f: (x, y) => x % y,
  int32: (x, y) => (y === 0 ? 0 : x % y),
  uint32: (x, y) => (y === 0 ? 0 : x % y),
});
export const pow = binary({
  name: "pow",
  dtypes: "numeric",
  f: Math.pow,
  int32: (x, y) => intPow(x, y, toInt32),
  uint32: (x, y) => intPow(x, y, toUint32),
});
/** Maximum, propagating NaN. */
export const max = binary({
  name: "max",
  dtypes: "any",
  f: (x, y) => (x !== x || y !== y ? NaN : x > y ? x : y),
});
/** Minimum, propagating NaN. */
export const min = binary({
  name: "min",
  dtypes: "any",
  f: (x, y) => (x !== x || y !== y ? NaN : x < y ? x : y),
});
export const atan2 = binary({ name: "atan2", dtypes: "float", f: Math.atan2 });
/** Logical on bool, bitwise on integers. */
export const and = binary({
  name: "and",
  dtypes: "integral",
  f: (x, y) => x & y,
  uint32: (x, y) => (x & y) >>> 0,
});
export const or = binary({
  name: "or",
  dtypes: "integral",
  f: (x, y) => x | y,
  uint32: (x, y) => (x | y) >>> 0,
});
export const xor = binary({
  name: "xor",
  dtypes: "integral",
  f: (x, y) => x ^ y,
  uint32: (x, y) => (x ^ y) >>> 0,
});

const compare = (name: string, f: (x: number, y: number) => boolean): Primitive<Empty> =>
  binary({ name, dtypes: "any", f: (x, y) => (f(x, y) ? 1 : 0), outDType: "bool" });
export const eq = compare("eq", (x, y) => x === y);
export const ne = compare("ne", (x, y) => x !== y);
export const lt = compare("lt", (x, y) => x < y);
export const le = compare("le", (x, y) => x <= y);
export const gt = compare("gt", (x, y) => x > y);
export const ge = compare("ge", (x, y) => x >= y);

/** `select(pred, onTrue, onFalse)`: elementwise choice; `pred` is bool. */
export const select = definePrimitive<Empty>({
  name: "select",
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
    const ops = all.map((x) => alignedOperand(x, shape));
    return [
      output(shape, a.dtype, a.weakType && b.weakType, (out) =>
        mapTernary(shape, ops[0]!, ops[1]!, ops[2]!, out, (p, x, y) => (p !== 0 ? x : y)),
      ),
    ];
  },
});

/** Converts to `newDType` (floats to ints truncate toward zero; NaN to int gives 0). */
export const convertElementType = definePrimitive<{ newDType: DType; weakType: boolean }>({
  name: "convert_element_type",
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

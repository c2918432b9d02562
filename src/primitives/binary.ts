/**
 * Binary elementwise primitives: arithmetic, powers, extrema, atan2, bitwise/logical operations
 * and comparisons. Operands have equal shapes (rank-0 operands broadcast) and equal dtypes; the
 * numpy layer broadcasts and promotes before binding.
 */
import { AbstractValue } from "../core/aval.js";
import type { NDArray } from "../core/array.js";
import { isFloating, type DType } from "../core/dtype.js";
import {
  definePrimitive,
  type LinearInput,
  type Primitive,
  type PrimitiveExample,
  type TransposeRule,
} from "../core/primitive.js";
import { bind1 } from "../core/trace.js";
import type { ConcreteArray } from "../runtime/concrete.js";
import { mapBinary } from "../runtime/strided.js";
import * as ops from "./ops.js";
import {
  addTangents,
  batchElementwise,
  isLinearInput,
  scaleTangent,
  type MaybeZero,
} from "./rules.js";
import { ceil, floor, log, sweepDTypes, type Empty } from "./unary.js";
import {
  alignedOperand,
  checkDType,
  checkSameDType,
  concrete,
  elementwiseShape,
  output,
  type DTypeClass,
} from "./util.js";

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

function kernelFor(spec: BinarySpec, dtype: DType): (x: number, y: number) => number {
  const specific =
    dtype === "int32"
      ? spec.int32
      : dtype === "uint32"
        ? spec.uint32
        : dtype === "bool"
          ? spec.bool
          : undefined;
  return specific ?? spec.f;
}

/**
 * Fast elementwise arithmetic for long float arrays, installed by the runtime (WebAssembly SIMD,
 * rounding exactly like the loops below); `undefined` for cases it does not take.
 */
type FastBinary = (name: string, x: ConcreteArray, y: ConcreteArray) => ConcreteArray | undefined;
let fastBinary: FastBinary | undefined;

/** Installs the fast binary operations (called once by the runtime). @internal */
export function installFastBinary(f: FastBinary): void {
  fastBinary = f;
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
    scalar: ([dtype]) => kernelFor(spec, dtype!),
    impl(inputs) {
      const [x, y] = concrete(inputs);
      const fast = fastBinary?.(spec.name, x!, y!);
      if (fast !== undefined) return [fast];
      const shape = x!.ndim > 0 ? x!.shape : y!.shape;
      const dtype = x!.dtype;
      const f = kernelFor(spec, dtype);
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
const isLinear = isLinearInput;
const c = (value: number, like: NDArray): NDArray => ops.constant(value, like);
const one = (x: NDArray): NDArray => c(1, x);
const u = (p: Primitive<Empty>, x: NDArray): NDArray => ops.unary(p, x);

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

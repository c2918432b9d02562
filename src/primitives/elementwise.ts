/**
 * Elementwise primitives. The unary and binary families live in `unary.ts` and `binary.ts`;
 * this file adds `select` (elementwise choice) and `convert_element_type` (casts).
 */
import { AbstractValue } from "../core/aval.js";
import type { NDArray } from "../core/array.js";
import { castScalar, isFloating, type DType } from "../core/dtype.js";
import { definePrimitive, type LinearInput, type Primitive } from "../core/primitive.js";
import { bind1 } from "../core/trace.js";
import type { ConcreteArray } from "../runtime/concrete.js";
import { mapTernary, mapUnary } from "../runtime/strided.js";
import * as ops from "./ops.js";
import { batchElementwise, instantiate, isLinearInput, type MaybeZero } from "./rules.js";
import type { Empty } from "./unary.js";
import {
  alignedOperand,
  checkDType,
  checkSameDType,
  concrete,
  elementwiseShape,
  output,
} from "./util.js";

export * from "./unary.js";
export * from "./binary.js";

const choose = (p: number, x: number, y: number): number => (p !== 0 ? x : y);

/** The element conversion of `convert_element_type`. */
function caster(newDType: DType): (v: number) => number {
  return newDType === "bool" ? (v) => (v !== 0 ? 1 : 0) : (v) => castScalar(v, newDType);
}

const shapeOf = (x: NDArray | LinearInput): readonly number[] => x.aval.shape;
const isLinear = isLinearInput;

/**
 * Faster `select` and float32 ↔ float64 conversion for long arrays, installed by the runtime
 * (WebAssembly SIMD, the same values as the loops below); `undefined` for cases they do not take.
 * @internal
 */
export interface FastElementwise {
  select(pred: ConcreteArray, a: ConcreteArray, b: ConcreteArray): ConcreteArray | undefined;
  convert(x: ConcreteArray, dtype: DType, weakType: boolean): ConcreteArray | undefined;
}
let fast: FastElementwise | undefined;

/** Installs the fast `select` and conversions (called once by the runtime). @internal */
export function installFastElementwise(f: FastElementwise): void {
  fast = f;
}

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
  scalar: () => choose,
  abstractEval(avals) {
    const [pred, a, b] = avals as [AbstractValue, AbstractValue, AbstractValue];
    checkDType("select", pred, "bool", "the predicate");
    const shape = elementwiseShape("select", avals);
    const dtype = checkSameDType("select", [a, b]);
    return [new AbstractValue(shape, dtype, a.weakType && b.weakType)];
  },
  impl(inputs) {
    const [pred, a, b] = concrete(inputs) as [ConcreteArray, ConcreteArray, ConcreteArray];
    const quick = fast?.select(pred, a, b);
    if (quick !== undefined) return [quick];
    const all = [pred, a, b] as const;
    const shape = all.find((x) => x.ndim > 0)?.shape ?? [];
    const operands = all.map((x) => alignedOperand(x, shape));
    return [
      output(shape, a.dtype, a.weakType && b.weakType, (out) =>
        mapTernary(shape, operands[0]!, operands[1]!, operands[2]!, out, choose),
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
  scalar: (_, { newDType }) => caster(newDType),
  abstractEval([x], { newDType, weakType }) {
    return [new AbstractValue(x!.shape, newDType, weakType)];
  },
  impl(inputs, { newDType, weakType }) {
    const [x] = concrete(inputs);
    const quick = fast?.convert(x!, newDType, weakType);
    if (quick !== undefined) return [quick];
    return [
      output(x!.shape, newDType, weakType, (out) =>
        mapUnary(x!.shape, x!.operand, out, caster(newDType)),
      ),
    ];
  },
});

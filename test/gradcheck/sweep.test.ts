/**
 * The registry sweep: every registered primitive, on each of its examples, is checked
 *  - against central differences in float64, forward and reverse, to order 2 (checkGrads);
 *  - under vmap against a loop of single applications, with the batch on axis 0, on the last
 *    axis, and unbatched (inAxes null) for each input in turn;
 *  - if linear, its JVP against its transpose: ⟨u, J v⟩ = ⟨Jᵀ u, v⟩;
 *  - staged (makeProgram + evalProgram) and compiled (jit) against eager, bit for bit.
 * A primitive added later is swept with no edit here; one without examples fails.
 */
import { describe, expect, it } from "vitest";
import { checkGrads, jit, jvp, makeProgram, np, vjp, vmap, type NDArray } from "../../src/index.js";
import { isFloating, type DType } from "../../src/core/dtype.js";
import { evalProgram } from "../../src/core/ir.js";
import {
  allPrimitives,
  type ExampleInput,
  type Params,
  type Primitive,
} from "../../src/core/primitive.js";
import { bind } from "../../src/core/trace.js";
import { scalar } from "../../src/runtime/concrete.js";
import { generator } from "../../src/transforms/check.js";

/** An input array for an example; floats in float64 when `wide` (for gradient checks). */
function makeInput(
  input: ExampleInput,
  next: () => number,
  wide: boolean,
  batch?: number,
): NDArray {
  const shape = batch === undefined ? [...input.shape] : [batch, ...input.shape];
  const size = shape.reduce((n, d) => n * d, 1);
  const dtype: DType = wide && isFloating(input.dtype) ? "float64" : input.dtype;
  const [lo, hi] = input.range ?? [-2, 2];
  const data: number[] = [];
  for (let i = 0; i < size; i++) {
    if (input.values !== undefined) data.push(input.values[i % input.values.length]!);
    else {
      const v = lo + (hi - lo) * next();
      data.push(
        dtype === "bool" ? Number(v > (lo + hi) / 2) : isFloating(dtype) ? v : Math.round(v),
      );
    }
  }
  return np.array(data, { dtype }).reshape(shape);
}

function apply(primitive: Primitive, params: Params, inputs: readonly NDArray[]): NDArray[] {
  return bind(primitive, inputs, params);
}

function close(a: NDArray, b: NDArray, tol: number): void {
  expect(a.shape).toEqual(b.shape);
  expect(a.dtype).toBe(b.dtype);
  const x = Array.from(a.toTypedArray(), Number);
  const y = Array.from(b.toTypedArray(), Number);
  x.forEach((v, i) => {
    const w = y[i]!;
    if (Number.isNaN(v) || Number.isNaN(w)) expect(Number.isNaN(v)).toBe(Number.isNaN(w));
    else expect(Math.abs(v - w)).toBeLessThanOrEqual(tol * (1 + Math.abs(w)));
  });
}

const primitives = allPrimitives();

describe("the registry", () => {
  it("has examples for every primitive", () => {
    const missing = primitives.filter(
      (p) => p.spec.examples === undefined || p.spec.examples().length === 0,
    );
    expect(missing.map((p) => p.name)).toEqual([]);
  });
});

for (const primitive of primitives) {
  const examples = primitive.spec.examples?.() ?? [];
  describe(primitive.name, () => {
    examples.forEach((example, k) => {
      const label = `${k}: ${example.inputs.map((i) => `${i.dtype}[${i.shape.join(",")}]`).join(", ")}`;
      const params = example.params as Params;
      const floatInputs = example.inputs
        .map((input, i) => (isFloating(input.dtype) ? i : -1))
        .filter((i) => i >= 0);
      const differentiable = example.differentiable ?? floatInputs;

      it(`derivatives match finite differences (order 2) — ${label}`, () => {
        const next = generator(17 + k);
        const inputs = example.inputs.map((input) => makeInput(input, next, true));
        const outputs = apply(primitive, params, inputs);
        if (differentiable.length === 0 || !outputs.some((o) => isFloating(o.dtype))) return;
        const f = (...diff: NDArray[]): NDArray[] => {
          const all = [...inputs];
          differentiable.forEach((i, j) => (all[i] = diff[j]!));
          return apply(primitive, params, all).filter((o) => isFloating(o.dtype));
        };
        checkGrads(
          f,
          differentiable.map((i) => inputs[i]!),
          { order: 2, atol: 1e-5, rtol: 1e-4, ...(example.modes && { modes: example.modes }) },
        );
      });

      it(`vmap agrees with a loop — ${label}`, () => {
        const next = generator(101 + k);
        const batch = 3;
        example.inputs.forEach((_, batched) => {
          for (const where of ["first", "last"] as const) {
            const inputs = example.inputs.map((input, i) =>
              makeInput(input, next, false, i === batched ? batch : undefined),
            );
            const axis = where === "first" ? 0 : example.inputs[batched]!.shape.length;
            const moved = inputs.map((x, i) => (i === batched ? np.moveaxis(x, 0, axis) : x));
            const inAxes = moved.map((_, i) => (i === batched ? axis : null));
            const mapped = vmap((...xs: NDArray[]) => apply(primitive, params, xs), { inAxes })(
              ...moved,
            );
            for (let b = 0; b < batch; b++) {
              const single = inputs.map((x, i) => (i === batched ? x.get(b) : x));
              const expected = apply(primitive, params, single);
              expected.forEach((e, o) => close(mapped[o]!.get(b), e, 1e-6));
            }
          }
        });
      });

      it(`compiled (jit) equals eager — ${label}`, () => {
        const next = generator(59 + k);
        const inputs = example.inputs.map((input) => makeInput(input, next, false));
        const eager = apply(primitive, params, inputs);
        const compiled = jit((...xs: NDArray[]) => apply(primitive, params, xs))(...inputs);
        eager.forEach((e, o) => close(compiled[o]!, e, 0));
      });

      it(`staged evaluation equals eager — ${label}`, () => {
        const next = generator(7 + k);
        const inputs = example.inputs.map((input) => makeInput(input, next, false));
        const eager = apply(primitive, params, inputs);
        const program = makeProgram((...xs: NDArray[]) => apply(primitive, params, xs))(...inputs);
        const staged = evalProgram(program, inputs, (value, aval) =>
          scalar(value, aval.dtype, aval.weakType),
        );
        eager.forEach((e, o) => close(staged[o]!, e, 0));
      });

      if (primitive.spec.linear && example.linearIn !== undefined) {
        it(`JVP and transpose agree: <u, J v> = <J^T u, v> — ${label}`, () => {
          const next = generator(31 + k);
          const inputs = example.inputs.map((input) => makeInput(input, next, true));
          const linearIn = example.linearIn!;
          const f = (...xs: NDArray[]): NDArray[] => {
            const all = [...inputs];
            linearIn.forEach((i, j) => (all[i] = xs[j]!));
            return apply(primitive, params, all);
          };
          const primals = linearIn.map((i) => inputs[i]!);
          const v = linearIn.map((i) => makeInput(example.inputs[i]!, next, true));
          const [outs, tangents] = jvp(f, primals, v);
          const u = outs.map((o) => makeInput({ shape: o.shape, dtype: o.dtype }, next, true));
          const [, back] = vjp(f, ...primals);
          const cts = back(u);
          const dot = (a: readonly NDArray[], b: readonly NDArray[]): number =>
            a.reduce((s, x, i) => s + (np.sum(x.mul(b[i]!)).item() as number), 0);
          const lhs = dot(u, tangents);
          const rhs = dot(cts, v);
          // Exact in float64; outputs in float32 (casts) round once.
          const tol = outs.every((o) => o.dtype === "float64") ? 1e-9 : 1e-5;
          expect(Math.abs(lhs - rhs)).toBeLessThanOrEqual(tol * (1 + Math.abs(lhs)));
        });
      }
    });
  });
}

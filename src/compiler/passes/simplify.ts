/**
 * Algebraic simplification, as small rewrite rules: x*1, 1*x, x+0, 0+x, x-0, x/1 → x;
 * neg(neg(x)) → x; transpose of transpose → one transpose (or none); reshape of reshape → one
 * reshape; no-op reshapes, casts and broadcasts, and stop_gradient → their input; select(p, x, x) → x; a transpose
 * that swaps the two operands' axes of a product used nowhere else → the product with its
 * operands swapped (Cᵀ = Bᵀ·Aᵀ: the matmul kernels read transposed operands for free, so the
 * transposed result costs no copy — reverse mode makes these for every weight gradient); an
 * elementwise operand that is a broadcast scalar, beside a full-shape operand → the scalar
 * (elementwise primitives take rank-0 operands: the kernel splats the value instead of reading
 * an array of it, which derivatives of relu, sums and means make as large as the activations).
 */
import { Equation, Literal, Var, type Program, type Atom } from "../../core/ir.js";
import type { Params } from "../../core/primitive.js";
import type { DotGeneralParams } from "../../primitives/dot.js";
import { isElementwise } from "../schedule.js";
import { Substitution, withEquations } from "./rewrite.js";

const isLiteral = (a: Atom, value: number): boolean => a instanceof Literal && a.value === value;

/** `a` can replace an output of type `out` (same shape, dtype and weak type). */
const sameType = (a: Atom, out: Var): boolean => a.aval.strictlyEquals(out.aval);

type Rule = (
  eq: Equation,
  definition: (a: Atom) => Equation | undefined,
  uses: (a: Atom) => number,
) => Atom | Equation | undefined;

const isIdentityPermutation = (p: readonly number[]): boolean => p.every((v, i) => v === i);

/** Rules whose result is one of the inputs (applied only when the types match exactly). */
const identityRules: Record<string, (inputs: readonly Atom[], params: Params) => Atom | undefined> =
  {
    mul: ([x, y]) => (isLiteral(y!, 1) ? x : isLiteral(x!, 1) ? y : undefined),
    add: ([x, y]) => (isLiteral(y!, 0) ? x : isLiteral(x!, 0) ? y : undefined),
    sub: ([x, y]) => (isLiteral(y!, 0) ? x : undefined),
    div: ([x, y]) => (isLiteral(y!, 1) ? x : undefined),
    select: ([, x, y]) => (x === y ? x : undefined),
    // Same shape means same row-major elements.
    reshape: ([x]) => x,
    convert_element_type: ([x]) => x,
    // Compiled programs are run, never differentiated again: stopping gradients is the identity.
    stop_gradient: ([x]) => x,
    // Only the identity permutation / placement leaves the elements where they are.
    broadcast_in_dim: ([x], p) =>
      isIdentityPermutation((p as { broadcastDimensions: readonly number[] }).broadcastDimensions)
        ? x
        : undefined,
    transpose: ([x], p) =>
      isIdentityPermutation((p as { permutation: readonly number[] }).permutation) ? x : undefined,
  };

const rules: Rule[] = [
  // Identities: the result is one of the inputs, when it has the output's exact type.
  (eq) => {
    const rule = identityRules[eq.primitive.name];
    const candidate = rule?.(eq.inputs, eq.params);
    return candidate !== undefined && eq.outputs.length === 1 && sameType(candidate, eq.outputs[0]!)
      ? candidate
      : undefined;
  },
  // neg(neg(x)) → x.
  (eq, definition) => {
    if (eq.primitive.name !== "neg") return undefined;
    const inner = definition(eq.inputs[0]!);
    return inner?.primitive.name === "neg" ? inner.inputs[0] : undefined;
  },
  // transpose(transpose(x, p), q) → transpose(x, p∘q).
  (eq, definition) => {
    if (eq.primitive.name !== "transpose") return undefined;
    const inner = definition(eq.inputs[0]!);
    if (inner?.primitive.name !== "transpose") return undefined;
    const p = (inner.params as { permutation: readonly number[] }).permutation;
    const q = (eq.params as { permutation: readonly number[] }).permutation;
    const permutation = q.map((i) => p[i]!);
    return withInputs(eq, [inner.inputs[0]!], { permutation });
  },
  // transpose(dot_general(a, b)) → dot_general(b, a) when the permutation swaps the free axes.
  (eq, definition, uses) => {
    if (eq.primitive.name !== "transpose") return undefined;
    const inner = definition(eq.inputs[0]!);
    if (inner?.primitive.name !== "dot_general" || uses(eq.inputs[0]!) !== 1) return undefined;
    const { contracting, batch } = inner.params as DotGeneralParams;
    const [a, b] = inner.inputs;
    const nb = batch[0].length;
    const nl = a!.aval.ndim - nb - contracting[0].length;
    const nr = b!.aval.ndim - nb - contracting[1].length;
    const range = (start: number, n: number): number[] =>
      Array.from({ length: n }, (_, i) => start + i);
    const swap = [...range(0, nb), ...range(nb + nl, nr), ...range(nb, nl)];
    const q = (eq.params as { permutation: readonly number[] }).permutation;
    if (swap.some((v, i) => v !== q[i])) return undefined;
    const params: DotGeneralParams = {
      contracting: [contracting[1], contracting[0]],
      batch: [batch[1], batch[0]],
    };
    return new Equation(inner.primitive, [b!, a!], eq.outputs, params, eq.source);
  },
  // op(…, broadcast_in_dim(s), …) → op(…, s, …) for a scalar s, beside a full-shape operand
  // (not a predicate: select's mask stays an array, as the vector kernels read masks).
  (eq, definition) => {
    if (!isElementwise(eq)) return undefined;
    const scalars = eq.inputs.map((a) => {
      const inner = definition(a);
      return inner?.primitive.name === "broadcast_in_dim" &&
        inner.inputs[0]!.aval.ndim === 0 &&
        a.aval.dtype !== "bool"
        ? inner.inputs[0]!
        : undefined;
    });
    const keeps = eq.inputs.some((a, i) => a.aval.ndim > 0 && scalars[i] === undefined);
    if (!keeps || scalars.every((s) => s === undefined)) return undefined;
    return withInputs(
      eq,
      eq.inputs.map((a, i) => scalars[i] ?? a),
      eq.params,
    );
  },
  // reshape(reshape(x)) → reshape(x).
  (eq, definition) => {
    if (eq.primitive.name !== "reshape") return undefined;
    const inner = definition(eq.inputs[0]!);
    return inner?.primitive.name === "reshape"
      ? withInputs(eq, [inner.inputs[0]!], eq.params)
      : undefined;
  },
];

function withInputs(eq: Equation, inputs: readonly Atom[], params: Params): Equation {
  return new Equation(eq.primitive, inputs, eq.outputs, params, eq.source);
}

export function simplify(program: Program): Program {
  const substitution = new Substitution();
  const definitions = new Map<Var, Equation>();
  const definition = (a: Atom): Equation | undefined =>
    a instanceof Literal ? undefined : definitions.get(a);
  const counts = new Map<Var, number>();
  const count = (a: Atom): void => {
    if (a instanceof Var) counts.set(a, (counts.get(a) ?? 0) + 1);
  };
  for (const eq of program.equations) eq.inputs.forEach(count);
  program.outputs.forEach(count);
  const uses = (a: Atom): number => (a instanceof Var ? (counts.get(a) ?? 0) : 0);
  const equations: Equation[] = [];
  let changed = false;
  for (const original of program.equations) {
    let eq = substitution.equation(original);
    let replaced: Atom | undefined;
    for (const rule of rules) {
      const result = rule(eq, definition, uses);
      if (result === undefined) continue;
      changed = true;
      if (result instanceof Equation) eq = result;
      else {
        replaced = result;
        break;
      }
    }
    if (replaced !== undefined) {
      substitution.set(eq.outputs[0]!, replaced);
      continue;
    }
    for (const v of eq.outputs) definitions.set(v, eq);
    equations.push(eq);
  }
  if (!changed) return program;
  return withEquations(program, equations, substitution);
}

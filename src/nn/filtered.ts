/**
 * Transforms over models that hold more than arrays: only the floating-point arrays are
 * differentiated (`filterGrad`, `filterValueAndGrad`) and traced (`filterJit`); everything else
 * passes through as static structure.
 */
import { grad, valueAndGrad } from "../transforms/grad.js";
import { jit } from "../transforms/jit.js";
import { combine, isArray, isInexactArray, partition } from "./module.js";

/**
 * `grad` with respect to the floating-point arrays of the first argument (a model): the result
 * has the model's structure, with null where a leaf is not differentiable.
 */
export function filterGrad<M, A extends unknown[]>(
  f: (model: M, ...args: A) => unknown,
): (model: M, ...args: A) => M {
  return (model, ...args) => {
    const [params, rest] = partition(model, isInexactArray);
    return grad((p: M, ...a: A) => f(combine(p, rest), ...a) as never)(params, ...args) as M;
  };
}

/** `[value, filterGrad(f)(model, ...args)]` in one pass. */
export function filterValueAndGrad<M, A extends unknown[], V = unknown>(
  f: (model: M, ...args: A) => V,
): (model: M, ...args: A) => [V, M] {
  return (model, ...args) => {
    const [params, rest] = partition(model, isInexactArray);
    return valueAndGrad((p: M, ...a: A) => f(combine(p, rest), ...a) as never)(params, ...args) as [
      V,
      M,
    ];
  };
}

/**
 * `jit` where only the arrays in the arguments are traced: numbers, strings, functions and other
 * leaves are static (a change recompiles), so a model's sizes and activations stay plain values.
 */
export function filterJit<A extends unknown[], R>(f: (...args: A) => R): (...args: A) => R {
  const compiled = jit((dynamic: A, fixed: A) => f(...combine(dynamic, fixed)), {
    staticArgnums: 1,
  });
  return (...args: A) => {
    const [dynamic, fixed] = partition(args, isArray);
    return compiled(dynamic, fixed) as R;
  };
}

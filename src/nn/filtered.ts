/**
 * Transforms over models that hold more than arrays: only the floating-point arrays are
 * differentiated (`filterGrad`, `filterValueAndGrad`), traced (`filterJit`) and batched
 * (`filterVmap`); everything else passes through as static structure.
 */
import * as tree from "../core/tree.js";
import { grad, valueAndGrad } from "../transforms/grad.js";
import { jit } from "../transforms/jit.js";
import { vmap, type AxisSpec } from "../transforms/vmap.js";
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
  // jit tells static arguments apart by identity, and partition makes a new one per call: reuse
  // the first static part equal to this one (same structure, same leaves), so that a model
  // updated by a training step (new arrays, same configuration) runs the compiled code.
  const seen: { structure: tree.TreeDef; leaves: unknown[]; fixed: A }[] = [];
  const canonical = (fixed: A): A => {
    const [leaves, structure] = tree.flatten(fixed);
    const match = seen.find(
      (s) =>
        s.leaves.length === leaves.length &&
        s.leaves.every((leaf, i) => Object.is(leaf, leaves[i])) &&
        s.structure.equals(structure),
    );
    if (match !== undefined) return match.fixed;
    seen.push({ structure, leaves, fixed });
    return fixed;
  };
  return (...args: A) => {
    const [dynamic, fixed] = partition(args, isArray);
    return compiled(dynamic, canonical(fixed)) as R;
  };
}

/** Options of {@link filterVmap}. */
export interface FilterVmapOptions {
  /**
   * The mapped axis of each argument's arrays (default 0 for every array): a number, `null`
   * (not mapped), or a list / pytree prefix of the arguments, as `vmap`'s `inAxes`. Leaves that
   * are not arrays are never mapped.
   */
  inAxes?: AxisSpec;
  /** Where the batch axis goes in the output's arrays (default 0), as `vmap`'s `outAxes`. */
  outAxes?: AxisSpec;
  /** The batch size, needed when no array is mapped. */
  axisSize?: number;
}

/**
 * `vmap` over the arrays of the arguments only (Equinox's `filter_vmap`): numbers, strings,
 * functions and a module's static fields pass through unbatched, and the output may hold them
 * too (a model, say). Maps axis 0 of every array by default.
 *
 * @example
 * const model = new nn.Linear(3, 2, { key: random.key(0) });
 * const perExample = nn.filterVmap((m: nn.Linear, x: NDArray) => m.forward(x), { inAxes: [null, 0] });
 * console.log(perExample(model, np.ones([5, 3])).shape); // [5, 2]
 * // An ensemble: one model per key, their arrays stacked on axis 0.
 * const makeLinear = (k: NDArray) => new nn.Linear(3, 2, { key: k });
 * const ensemble = nn.filterVmap(makeLinear)(random.split(random.key(1), 4));
 * console.log(ensemble.weight.shape); // [4, 2, 3]
 */
export function filterVmap<A extends unknown[], R>(
  f: (...args: A) => R,
  options: FilterVmapOptions = {},
): (...args: A) => R {
  return (...args: A) => {
    const [dynamic, fixed] = partition(args, isArray);
    let staticOut: R | undefined;
    const mapped = vmap(
      (...dyn: A) => {
        const [arrays, rest] = partition(f(...combine(dyn, fixed)), isArray);
        staticOut = rest;
        return arrays;
      },
      {
        inAxes: options.inAxes ?? 0,
        outAxes: options.outAxes ?? 0,
        ...(options.axisSize === undefined ? {} : { axisSize: options.axisSize }),
      },
    );
    const arrays = mapped(...dynamic);
    return combine(arrays, staticOut as R);
  };
}

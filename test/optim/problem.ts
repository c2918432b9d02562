/**
 * The problem of the optimiser fixtures (test/fixtures/optim.json, made by
 * test/fixtures/make_optim_fixtures.py): a float64 quadratic in two parameter arrays, its loss,
 * and a training step (gradient, update, applyUpdates) for any optimiser.
 */
import { grad, type NDArray } from "../../src/index.js";
import * as optim from "../../src/optim/index.js";
import { decode, loadFixture, type FixtureArray } from "../helpers/fixtures.js";

/** The parameters: `w` of shape [3], `v` of shape [2, 3]. */
export interface Params {
  w: NDArray;
  v: NDArray;
}

/** One recorded trajectory. */
export interface OptimCase {
  name: string;
  /** An optimiser of `optim` called with `options`, or "custom" (built from `build`). */
  optimizer: string;
  options: Record<string, unknown>;
  /** Where the trajectory comes from (torch.optim or numpy Optax equations). */
  reference: string;
  build?: string;
  /** The parameters after each step. */
  trajectory: { w: FixtureArray; v: FixtureArray }[];
}

export interface OptimFixture {
  steps: number;
  problem: {
    A: FixtureArray;
    b: FixtureArray;
    c: FixtureArray;
    d: FixtureArray;
    coupling: number;
    w0: FixtureArray;
    v0: FixtureArray;
  };
  cases: OptimCase[];
}

export const fixture = loadFixture<OptimFixture>("optim.json");

const array = (a: FixtureArray): NDArray => decode(a) as NDArray;
const { A, b, c, d, coupling } = {
  A: array(fixture.problem.A),
  b: array(fixture.problem.b),
  c: array(fixture.problem.c),
  d: array(fixture.problem.d),
  coupling: fixture.problem.coupling,
};

/** ½wᵀAw − bᵀw + ½Σc·v² − Σd·v + coupling·w₀·v₁₂. */
export function loss(p: Params): NDArray {
  const { w, v } = p;
  return w
    .mul(A.matmul(w))
    .sum()
    .mul(0.5)
    .sub(b.mul(w).sum())
    .add(c.mul(v).mul(v).sum().mul(0.5))
    .sub(d.mul(v).sum())
    .add(w.get(0).mul(v.get(1, 2)).mul(coupling));
}

/** The starting parameters. */
export function initialParams(): Params {
  return { w: array(fixture.problem.w0), v: array(fixture.problem.v0) };
}

/** The recorded parameters after step `i` (0-based) of `c`. */
export function recorded(c: OptimCase, i: number): Params {
  const p = c.trajectory[i]!;
  return { w: array(p.w), v: array(p.v) };
}

/** One training step of `opt`: gradient, update, applyUpdates. */
export function trainStep(
  opt: optim.GradientTransformation,
): (params: Params, state: unknown) => [Params, unknown] {
  return (params, state) => {
    const g = grad(loss)(params) as unknown as Params;
    const [updates, next] = opt.update(g, state, params);
    return [optim.applyUpdates(params, updates), next];
  };
}

type Builder = (options: Record<string, unknown>) => optim.GradientTransformation;

const custom: Record<string, Builder> = {
  sgd_schedule: (o) =>
    optim.sgd({
      learningRate: optim.schedules.piecewiseConstant(o as never),
      momentum: 0.9,
    }),
  clip_adam: (o) =>
    optim.chain(
      optim.clipByGlobalNorm(o.maxNorm as number),
      optim.adam({ learningRate: o.learningRate as number }),
    ),
  clip_sgd: (o) =>
    optim.chain(
      optim.clip(o.maxDelta as number),
      optim.sgd({ learningRate: o.learningRate as number }),
    ),
};

/** The optimiser a case describes. */
export function optimizerOf(c: OptimCase): optim.GradientTransformation {
  const options = decode(c.options as never) as Record<string, unknown>;
  if (c.optimizer === "custom") {
    const build = custom[c.name];
    if (build === undefined) throw new Error(`no builder for the custom case ${c.name}`);
    return build(options);
  }
  const make = (optim as unknown as Record<string, Builder>)[c.optimizer];
  if (make === undefined) throw new Error(`optim.${c.optimizer} does not exist`);
  return make(options);
}

/**
 * Mistakes a user can make with an optimiser, and what they get: a typed error at their own
 * line that names the optimiser they called and shows what was expected and what was given —
 * and a state that is still good afterwards (nothing half-updated).
 */
import { describe, expect, it } from "vitest";
import { jit, np, ShapeError, tree, TreeError, ValueError, type NDArray } from "../../src/index.js";
import * as optim from "../../src/optim/index.js";
import { expectIdentical, expectTypedError } from "../helpers/assertions.js";
import { random } from "../helpers/numeric.js";

const file = "errors.test.ts";
const params = { w: random([3], 1), v: random([2, 3], 2) };
const grads = { w: random([3], 3), v: random([2, 3], 4) };

/** The values of a pytree of arrays, for checking that nothing changed. */
const snapshot = (t: unknown): unknown => tree.map((x: NDArray) => x.toList(), t);

describe("a state that does not fit the parameters", () => {
  it("is a TreeError naming the optimiser and showing both state structures", () => {
    const opt = optim.adam({ learningRate: 0.1 });
    const otherState = opt.init({ w: params.w });
    const error = expectTypedError(
      () => opt.update(grads, otherState, params),
      TreeError,
      file,
      "optim.adam",
      "expected state (what init gives for them): PyTreeDef([{count: *, mu: {w: *, v: *}, nu: {w: *, v: *}}, {}])",
      "received state:                            PyTreeDef([{count: *, mu: {w: *}, nu: {w: *}}, {}])",
    );
    expect(error.message).toContain("init(params)");
  });

  it("another optimiser's state is caught too, as is a state for parameters of other shapes", () => {
    const sgdState = optim.sgd({ learningRate: 0.1 }).init(params);
    expectTypedError(
      () => optim.lion({ learningRate: 0.1 }).update(grads, sgdState, params),
      TreeError,
      file,
      "optim.lion",
      "PyTreeDef([{}, {}])",
    );
    const opt = optim.adamw({ learningRate: 0.1 });
    const wide = opt.init({ w: random([4], 1), v: params.v });
    expectTypedError(
      () => opt.update(grads, wide, params),
      ShapeError,
      file,
      "optim.adamw",
      '[0]["mu"]["w"] has shape [4]',
      "need [3]",
    );
  });

  it("gradients of another structure than the state (no params given) are a TreeError", () => {
    const opt = optim.rmsprop({ learningRate: 0.1 });
    const state = opt.init(params);
    expectTypedError(
      () => opt.update({ w: grads.w }, state),
      TreeError,
      file,
      "optim.rmsprop",
      "PyTreeDef([{nu: {w: *}}, {}, {}])",
      "PyTreeDef([{nu: {w: *, v: *}}, {}, {}])",
    );
  });

  it("gradients of another structure than the parameters are a TreeError showing both", () => {
    const opt = optim.sgd({ learningRate: 0.1, momentum: 0.9 });
    expectTypedError(
      () => opt.update({ w: grads.w, x: grads.v }, opt.init(params), params),
      TreeError,
      file,
      "optim.sgd",
      "updates:    PyTreeDef({w: *, x: *})",
      "parameters: PyTreeDef({w: *, v: *})",
    );
  });

  it("leaves that are not arrays are a TreeError naming the leaf", () => {
    const opt = optim.adam({ learningRate: 0.1 });
    expectTypedError(
      () => opt.update({ w: grads.w, v: 3 }, opt.init(params)),
      TreeError,
      file,
      "optim.adam",
      'the leaf at ["v"] is number 3',
    );
    expectTypedError(
      () => opt.init({ w: [1, 2] }),
      TreeError,
      file,
      "optim.adam",
      'leaf at ["w"][0]',
    );
  });

  it("leaves the state untouched: the next good update is as if the bad one never happened", () => {
    const opt = optim.adam({ learningRate: 0.1 });
    const [, state] = opt.update(grads, opt.init(params), params);
    const before = snapshot(state);
    expect(() => opt.update({ w: grads.w }, state, params)).toThrow(TreeError);
    expect(() => opt.update({ w: grads.w, v: "x" }, state, params)).toThrow(TreeError);
    expect(() => optim.adamw({ learningRate: 0.1 }).update(grads, state)).toThrow(TreeError);
    expect(snapshot(state)).toEqual(before);
    const [u, s] = opt.update(grads, state, params);
    const fresh = optim.adam({ learningRate: 0.1 });
    const [u2, s2] = fresh.update(
      grads,
      fresh.update(grads, fresh.init(params), params)[1],
      params,
    );
    expectIdentical([u, s], [u2, s2]);
  });

  it("the checks hold under jit too (they run while tracing)", () => {
    const opt = optim.adam({ learningRate: 0.1 });
    const step = jit((g: unknown, s: unknown) => opt.update(g, s, params));
    expectTypedError(() => step({ w: grads.w }, opt.init(params)), TreeError, file, "optim.adam");
  });
});

describe("parameters that must be given", () => {
  it("weight decay without params names the optimiser that was called", () => {
    const opt = optim.adamw({ learningRate: 0.1 });
    expectTypedError(
      () => opt.update(grads, opt.init(params)),
      ValueError,
      file,
      "optim.adamw (in optim.addDecayedWeights)",
      "update(grads, state, params)",
    );
  });

  it("applyUpdates checks that the updates fit the parameters", () => {
    expectTypedError(
      () => optim.applyUpdates(params, { w: grads.w }),
      TreeError,
      file,
      "optim.applyUpdates",
      "parameters: PyTreeDef({w: *, v: *})",
      "updates:    PyTreeDef({w: *})",
    );
  });
});

describe("hyperparameters out of range are a ValueError naming the optimiser", () => {
  const cases: [string, () => unknown, string][] = [
    ["negative learning rate", () => optim.adam({ learningRate: -1e-3 }), "optim.adam"],
    ["NaN learning rate", () => optim.sgd({ learningRate: NaN }), "optim.sgd"],
    ["missing learning rate", () => optim.lion({} as never), "optim.lion"],
    ["b1 = 1", () => optim.adam({ learningRate: 0.1, b1: 1 }), "optim.adam"],
    ["b2 < 0", () => optim.lamb({ learningRate: 0.1, b2: -0.5 }), "optim.lamb"],
    ["negative eps", () => optim.adamax({ learningRate: 0.1, eps: -1 }), "optim.adamax"],
    ["momentum > 1", () => optim.sgd({ learningRate: 0.1, momentum: 1.5 }), "optim.sgd"],
    [
      "negative weight decay",
      () => optim.adamw({ learningRate: 0.1, weightDecay: -1 }),
      "optim.adamw",
    ],
    ["decay > 1", () => optim.rmsprop({ learningRate: 0.1, decay: 2 }), "optim.rmsprop"],
    [
      "negative accumulator",
      () => optim.adagrad({ learningRate: 0.1, initialAccumulatorValue: -1 }),
      "optim.adagrad",
    ],
    ["no options", () => optim.adam(undefined as never), "optim.adam"],
    ["non-boolean flag", () => optim.sgd({ learningRate: 1, nesterov: 1 as never }), "optim.sgd"],
    ["maxNorm 0", () => optim.clipByGlobalNorm(0), "optim.clipByGlobalNorm"],
    ["negative maxDelta", () => optim.clip(-1), "optim.clip"],
    ["k = 0", () => optim.multiSteps(optim.sgd({ learningRate: 1 }), 0), "optim.multiSteps"],
    [
      "fractional error count",
      () => optim.applyIfFinite(optim.sgd({ learningRate: 1 }), 1.5),
      "optim.applyIfFinite",
    ],
    ["not a transformation", () => optim.chain(optim.clip(1), {} as never), "optim.chain"],
  ];
  for (const [what, make, name] of cases) {
    it(what, () => {
      expectTypedError(make, ValueError, file, name);
    });
  }

  it("the message says what was expected and what was given", () => {
    expectTypedError(
      () => optim.adam({ learningRate: 0.1, b1: 1 }),
      ValueError,
      file,
      "b1 must be a finite number ≥ 0 and < 1, got 1",
    );
    expectTypedError(
      () => optim.sgd({ learningRate: -2 }),
      ValueError,
      file,
      "learningRate must be a finite number ≥ 0, got -2",
    );
  });

  it("a schedule that returns something else fails at the update, naming the optimiser", () => {
    const opt = optim.sgd({ learningRate: (() => "fast") as never });
    expectTypedError(
      () => opt.update(grads, opt.init(params), params),
      ValueError,
      file,
      "optim.sgd (in optim.scaleByLearningRate)",
      "must return a number or a scalar array",
    );
  });
});

describe("masks", () => {
  it("a mask of the wrong structure is a TreeError showing both structures", () => {
    const opt = optim.masked(optim.scale(2), { w: true });
    expectTypedError(() => opt.init(params), TreeError, file, "optim.masked", "{w: *}");
  });

  it("mask leaves must be booleans (not arrays: masks are static)", () => {
    const opt = optim.masked(optim.scale(2), { w: np.array(true), v: false });
    expectTypedError(
      () => opt.init(params),
      TreeError,
      file,
      "optim.masked",
      'the leaf at ["w"] is an array or object',
    );
  });
});

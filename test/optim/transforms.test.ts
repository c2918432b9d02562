/**
 * What the building blocks and wrappers do, as facts a user relies on: chains compose and keep
 * one state per link; clipping bounds the updates; `masked` touches only the selected leaves and
 * keeps state only for them; `applyIfFinite` skips NaN/inf updates and counts them; `multiSteps`
 * makes k mini-steps equal one step on their mean gradient. Each under `jit` as well.
 */
import { describe, expect, it } from "vitest";
import { jit, np, tree, type NDArray } from "../../src/index.js";
import * as optim from "../../src/optim/index.js";
import { expectClose, expectIdentical } from "../helpers/assertions.js";
import { random } from "../helpers/numeric.js";

const f64 = (x: number | number[] | number[][]): NDArray => np.array(x, { dtype: "float64" });

interface Pair {
  w: NDArray;
  v: NDArray;
}
const params: Pair = { w: random([3], 1), v: random([2, 3], 2) };
const grads = (seed: number): Pair => ({ w: random([3], seed), v: random([2, 3], seed + 1) });

/** Runs `opt` on the gradient sequence, eagerly and compiled; returns the eager updates. */
function runBoth(opt: optim.GradientTransformation, gs: unknown[], p: unknown = params): unknown[] {
  const step = (g: unknown, state: unknown): [unknown, unknown] => opt.update(g, state, p);
  const compiled = jit(step);
  let eager = opt.init(p);
  let staged = opt.init(p);
  const out: unknown[] = [];
  for (const g of gs) {
    const [u, s] = step(g, eager);
    const [us, ss] = compiled(g, staged);
    expectIdentical([us, ss], [u, s]);
    out.push(u);
    eager = s;
    staged = ss;
  }
  return out;
}

describe("chain", () => {
  it("applies the links in order and keeps one state per link", () => {
    const adam = optim.adam({ learningRate: 0.1 });
    const manual = optim.chain(optim.scaleByAdam(), optim.scaleByLearningRate(0.1));
    expect(tree.structure(adam.init(params)).toString()).toBe(
      "PyTreeDef([{count: *, mu: {w: *, v: *}, nu: {w: *, v: *}}, {}])",
    );
    const [a, sa] = adam.update(grads(3), adam.init(params));
    const [m, sm] = manual.update(grads(3), manual.init(params));
    expectIdentical([a, sa], [m, sm]);
    // Scaling twice multiplies.
    const [u] = optim.chain(optim.scale(2), optim.scale(-3)).update(grads(3), [{}, {}]);
    expectIdentical(
      u,
      tree.map((g: NDArray) => g.mul(-6), grads(3)),
    );
  });

  it("sgd without momentum keeps no momentum state; with it, a trace", () => {
    expect(tree.structure(optim.sgd({ learningRate: 1 }).init(params)).toString()).toBe(
      "PyTreeDef([{}, {}])",
    );
    expect(
      tree.structure(optim.sgd({ learningRate: 1, momentum: 0.5 }).init(params)).toString(),
    ).toBe("PyTreeDef([{trace: {w: *, v: *}}, {}])");
  });

  it("applyUpdates adds leaf by leaf and keeps each parameter's dtype", () => {
    const p = { a: np.array([1, 2]), b: f64([1]) };
    const out = optim.applyUpdates(p, { a: f64([0.5, 0.25]), b: f64([2]) });
    expect(out.a.dtype).toBe("float32");
    expect(out.a.toList()).toEqual([1.5, 2.25]);
    expect(out.b.toList()).toEqual([3]);
  });
});

describe("clipping", () => {
  it("clip bounds every element to [−maxDelta, maxDelta]", () => {
    const g = { w: f64([-3, -0.2, 0, 0.5, 7]) };
    const [u] = runBoth(optim.clip(0.5), [g], g) as [{ w: NDArray }];
    expect(u.w.toList()).toEqual([-0.5, -0.2, 0, 0.5, 0.5]);
  });

  it("clipByGlobalNorm rescales to the bound when above it and leaves smaller updates alone", () => {
    const g = { w: f64([3, 0]), v: f64([[0, 4]]) }; // global norm 5
    const [clipped] = runBoth(optim.clipByGlobalNorm(1), [g], g) as [typeof g];
    expectClose(clipped, { w: f64([0.6, 0]), v: f64([[0, 0.8]]) }, { rtol: 1e-15, atol: 0 });
    expect(optim.globalNorm(clipped).item()).toBeCloseTo(1, 15);
    const [same] = runBoth(optim.clipByGlobalNorm(5.5), [g], g);
    expectIdentical(same, g);
  });
});

describe("masked", () => {
  const inner = (): optim.GradientTransformation => optim.adam({ learningRate: 0.1 });

  it("transforms only the selected leaves; the others pass through unchanged", () => {
    const opt = optim.masked(inner(), { w: true, v: false });
    const gs = [grads(5), grads(7), grads(9)];
    const out = runBoth(opt, gs) as Pair[];
    const alone = runBoth(
      inner(),
      gs.map((g) => ({ w: g.w })),
      { w: params.w },
    ) as Pair[];
    out.forEach((u, i) => {
      expectIdentical(u.v, gs[i]!.v);
      expectIdentical(u.w, alone[i]!.w);
    });
  });

  it("keeps inner state only for the selected leaves", () => {
    const state = optim.masked(inner(), { w: true, v: false }).init(params);
    expect(tree.structure(state).toString()).toBe(
      "PyTreeDef({innerState: [{count: *, mu: {w: *, v: null}, nu: {w: *, v: null}}, {}]})",
    );
  });

  it("takes a function of the parameters, and a prefix mask standing for whole subtrees", () => {
    const nested = { layer: { kernel: random([2, 2], 3), bias: random([2], 4) }, scale: f64([2]) };
    const g = {
      layer: {
        kernel: f64([
          [1, 2],
          [3, 4],
        ]),
        bias: f64([1, 1]),
      },
      scale: f64([1]),
    };
    const byRank = optim.masked(optim.scale(10), (p: typeof nested) =>
      tree.map((x: NDArray) => x.ndim > 1, p),
    );
    const [u1] = runBoth(byRank, [g], nested) as [typeof g];
    expect(u1.layer.kernel.toList()).toEqual([
      [10, 20],
      [30, 40],
    ]);
    expectIdentical([u1.layer.bias, u1.scale], [g.layer.bias, g.scale]);
    const prefix = optim.masked(optim.scale(10), { layer: true, scale: false });
    const [u2] = runBoth(prefix, [g], nested) as [typeof g];
    expect(u2.layer.bias.toList()).toEqual([10, 10]);
    expectIdentical(u2.scale, g.scale);
  });

  it("adamw's mask decays only the selected parameters", () => {
    const g = { w: np.zeros([3], { dtype: "float64" }), v: np.zeros([2, 3], { dtype: "float64" }) };
    const opt = optim.adamw({ learningRate: 0.5, weightDecay: 0.1, mask: { w: true, v: false } });
    const [u] = runBoth(opt, [g]) as [Pair];
    expectClose(u.w, params.w.mul(-0.05), { rtol: 1e-15, atol: 0 });
    expect(np.abs(u.v).max().item()).toBe(0); // −lr · 0: the zero gradient, not decayed
  });
});

describe("applyIfFinite", () => {
  const inner = (): optim.GradientTransformation => optim.sgd({ learningRate: 1, momentum: 0.9 });
  const nan = (): Pair => ({ w: f64([1, NaN, 0]), v: random([2, 3], 8) });
  const inf = (): Pair => ({
    w: random([3], 9),
    v: f64([
      [0, 0, 0],
      [0, Infinity, 0],
    ]),
  });

  it("skips non-finite updates (zero update, inner state kept) and counts them", () => {
    const opt = optim.applyIfFinite(inner(), 2);
    const gs = [grads(3), nan(), inf(), grads(5)];
    runBoth(opt, gs);
    let state = opt.init(params) as optim.ApplyIfFiniteState<unknown>;
    const counts: number[][] = [];
    let previousInner = state.innerState;
    let last: Pair | undefined;
    gs.forEach((g, i) => {
      const [u, next] = opt.update(g, state, params) as [Pair, optim.ApplyIfFiniteState<unknown>];
      const finite = i === 0 || i === 3;
      if (!finite) {
        expect(u.w.toList()).toEqual([0, 0, 0]);
        expect(u.v.toList()).toEqual(np.zeros([2, 3]).toList());
        expectIdentical(next.innerState, previousInner);
      }
      expect(next.lastFinite.item()).toBe(finite);
      counts.push([Number(next.notfiniteCount.item()), Number(next.totalNotfinite.item())]);
      previousInner = next.innerState;
      state = next;
      last = u;
    });
    expect(counts).toEqual([
      [0, 0],
      [1, 1],
      [2, 2],
      [0, 2],
    ]);
    // The finite steps are exactly the inner optimiser's, as if the skipped ones never happened.
    const plain = inner();
    const [, s1] = plain.update(grads(3), plain.init(params), params);
    const [u2] = plain.update(grads(5), s1, params);
    expectIdentical(last, u2);
  });

  it("gives up after maxConsecutiveErrors skipped updates in a row", () => {
    const opt = optim.applyIfFinite(inner(), 1);
    const out = runBoth(opt, [nan(), nan(), nan()]) as Pair[];
    expect(out[0]!.w.toList()).toEqual([0, 0, 0]);
    expect(Number.isNaN((out[1]!.w.toList() as number[])[1])).toBe(true);
  });
});

describe("multiSteps", () => {
  it("k mini-steps equal one inner step on the mean gradient; zero updates in between", () => {
    const k = 3;
    const inner = (): optim.GradientTransformation => optim.adam({ learningRate: 0.1 });
    const opt = optim.multiSteps(inner(), k);
    const gs = [2, 4, 6, 8, 10, 12].map(grads);
    const out = runBoth(opt, gs) as Pair[];
    const mean = (part: Pair[]): Pair =>
      tree.map(
        (...xs: NDArray[]) => xs.reduce((a, b) => a.add(b)).div(xs.length),
        ...(part as [Pair]),
      ) as Pair;
    const plain = inner();
    const [first, s1] = plain.update(mean(gs.slice(0, 3)), plain.init(params), params);
    const [second] = plain.update(mean(gs.slice(3, 6)), s1, params);
    const zeros = {
      w: np.zeros([3], { dtype: "float64" }),
      v: np.zeros([2, 3], { dtype: "float64" }),
    };
    for (const i of [0, 1, 3, 4]) expectIdentical(out[i], zeros);
    expectClose(out[2], first, { rtol: 1e-13, atol: 1e-15 });
    expectClose(out[5], second, { rtol: 1e-13, atol: 1e-15 });
  });

  it("counts mini-steps and real steps, and resets the accumulator", () => {
    const opt = optim.multiSteps(optim.sgd({ learningRate: 1 }), 2);
    let state = opt.init(params) as optim.MultiStepsState<unknown>;
    const seen: number[][] = [];
    for (let i = 0; i < 5; i++) {
      [, state] = opt.update(grads(i), state, params) as [unknown, optim.MultiStepsState<unknown>];
      seen.push([Number(state.miniStep.item()), Number(state.gradientStep.item())]);
    }
    expect(seen).toEqual([
      [1, 0],
      [0, 1],
      [1, 1],
      [0, 2],
      [1, 2],
    ]);
    expectIdentical((state.accGrads as Pair).w, grads(4).w);
  });

  it("sums instead of averaging with useGradMean false, and takes k from a schedule", () => {
    const summed = optim.multiSteps(optim.sgd({ learningRate: 1 }), () => 2, {
      useGradMean: false,
    });
    const out = runBoth(summed, [grads(1), grads(2)]) as Pair[];
    expectClose(
      out[1],
      tree.map((a: NDArray, b: NDArray) => a.add(b).neg(), grads(1), grads(2)),
      {
        rtol: 1e-15,
        atol: 0,
      },
    );
  });
});

describe("other building blocks", () => {
  it("scaleByTrustRatio uses ‖param‖/‖update‖ per leaf, and 1 where a norm is zero", () => {
    const p = { a: f64([3, 4]), z: f64([0, 0]) };
    const [u] = optim.scaleByTrustRatio().update({ a: f64([0, 1]), z: f64([1, 1]) }, {}, p);
    expect(u.a.toList()).toEqual([0, 5]);
    expect(u.z.toList()).toEqual([1, 1]);
  });

  it("addDecayedWeights adds weightDecay · params", () => {
    const [u] = optim.addDecayedWeights(0.5).update({ w: f64([1, 1]) }, {}, { w: f64([2, -4]) });
    expect(u.w.toList()).toEqual([2, -1]);
  });

  it("float32 parameters keep float32 state and updates", () => {
    const p = { w: np.array([1, 2]) };
    const opt = optim.adam({ learningRate: 0.1 });
    const [u, s] = opt.update({ w: np.array([0.5, -1]) }, opt.init(p), p);
    expect(u.w.dtype).toBe("float32");
    for (const leaf of tree.leaves(s)) {
      expect(["float32", "int32"]).toContain((leaf as NDArray).dtype);
    }
  });
});

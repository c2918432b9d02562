/**
 * BatchNorm and nn.State: training and inference steps equal PyTorch's (outputs, running
 * statistics, gradients; float64); the state is an immutable pytree that passes through jit,
 * vmap and serialisation; misuse is a typed error.
 */
import { describe, expect, it } from "vitest";
import {
  jit,
  nn,
  np,
  random,
  tree,
  ShapeError,
  ValueError,
  type NDArray,
} from "../../src/index.js";
import { expectClose, expectTypedError } from "../helpers/assertions.js";
import { arrayOf, checkAgainstTorch, fixture, float64Options } from "./layer-fixtures.js";

const file = "batch-norm.test.ts";

describe("BatchNorm against PyTorch", () => {
  for (const c of fixture.batchNorm) {
    it(c.name, () => {
      const { inputSize, ...options } = float64Options(c, random.key(0));
      const [layer] = nn.makeWithState(nn.BatchNorm, inputSize as number, options);
      const before = {
        runningMean: arrayOf(c.state!.runningMean),
        runningVar: arrayOf(c.state!.runningVar),
      };
      checkAgainstTorch(c, layer, (m, i) => {
        const state = new nn.State(m).set(m.stateIndex, before);
        const [y, next] = m.forward(i.x!, state);
        const { runningMean, runningVar } = next.get<nn.BatchNormState>(m.stateIndex);
        return [y, runningMean, runningVar];
      });
    });
  }
});

describe("BatchNorm", () => {
  const x = random.normal(random.key(1), [8, 3, 4]).mul(2).add(1);

  it("starts with weight ones, bias zeros, running mean 0 and variance 1", () => {
    const [bn, state] = nn.makeWithState(nn.BatchNorm, 3);
    expect(bn.weight!.toList()).toEqual([1, 1, 1]);
    expect(bn.bias!.toList()).toEqual([0, 0, 0]);
    expect(bn.momentum).toBe(0.1);
    const { runningMean, runningVar } = state.get<nn.BatchNormState>(bn.stateIndex);
    expect(runningMean.toList()).toEqual([0, 0, 0]);
    expect(runningVar.toList()).toEqual([1, 1, 1]);
    expect(nn.parameterCount(bn)).toBe(6);
    expect(new nn.BatchNorm(3, { channelwiseAffine: false }).weight).toBeNull();
  });

  it("training normalises with the batch statistics and moves the running ones", () => {
    const [bn, state] = nn.makeWithState(nn.BatchNorm, 3, { momentum: 0.5 });
    const [y, next] = bn.forward(x, state);
    expectClose(y.mean({ axis: [0, 2] }), np.zeros([3]), { atol: 1e-5 });
    expectClose(np.var(y, { axis: [0, 2] }), np.ones([3]), { rtol: 1e-3 });
    const stats = next.get<nn.BatchNormState>(bn.stateIndex);
    const batchMean = x.mean({ axis: [0, 2] });
    expectClose(stats.runningMean, batchMean.mul(0.5), { rtol: 1e-5, atol: 1e-6 });
    const unbiased = np.var(x, { axis: [0, 2], ddof: 1 });
    expectClose(stats.runningVar, unbiased.mul(0.5).add(0.5), { rtol: 1e-5 });
    // The old state is unchanged (states are immutable).
    expect(state.get<nn.BatchNormState>(bn.stateIndex).runningMean.toList()).toEqual([0, 0, 0]);
  });

  it("inference uses the running statistics and returns the state unchanged", () => {
    const [bn, state] = nn.makeWithState(nn.BatchNorm, 3, { inference: true });
    const [y, next] = bn.forward(x, state);
    expect(next).toBe(state);
    expectClose(y, x.div(Math.sqrt(1 + 1e-5)), { rtol: 1e-6 });
    // The call's option overrides the layer's setting, both ways.
    const [, trained] = bn.forward(x, state, { inference: false });
    expect(trained).not.toBe(state);
    const training = new nn.BatchNorm(3);
    const [yInference] = training.forward(x, new nn.State(training), { inference: true });
    expectClose(yInference, y, { rtol: 1e-6 });
  });

  it("the state is a pytree: jit, tree.map and serialisation carry it", () => {
    const [bn, state] = nn.makeWithState(nn.BatchNorm, 3);
    expect(tree.leaves(state)).toHaveLength(2);
    const step = (m: nn.BatchNorm, s: nn.State, v: NDArray): [NDArray, nn.State] => m.forward(v, s);
    const [y, next] = step(bn, state, x);
    const [yJit, nextJit] = jit(step)(bn, state, x);
    expectClose(yJit, y, { rtol: 1e-5, atol: 1e-6 });
    expect(nextJit).toBeInstanceOf(nn.State);
    expectClose(nextJit, next, { rtol: 1e-5, atol: 1e-7 });
    const doubled = tree.map((a: NDArray) => a.mul(2), next) as nn.State;
    expectClose(
      doubled.get<nn.BatchNormState>(bn.stateIndex).runningVar,
      next.get<nn.BatchNormState>(bn.stateIndex).runningVar.mul(2),
    );
    const restored = nn.deserialize(nn.serialize(next), state);
    expectClose(restored, next);
    expect(String(next)).toContain("StateIndex(BatchNorm");
  });

  it("makeWithState collects every stateful layer of a model", () => {
    class Net extends nn.Module {
      readonly first = new nn.BatchNorm(3);
      readonly linear = new nn.Linear(4, 4, { key: random.key(2) });
      readonly second = new nn.BatchNorm(3, { momentum: 0.2 });
      forward(v: NDArray, s: nn.State): [NDArray, nn.State] {
        const [h, s1] = this.first.forward(v, s);
        const [out, s2] = this.second.forward(this.linear.forward(h), s1);
        return [out, s2];
      }
    }
    const [net, state] = nn.makeWithState(Net);
    expect(state.indices()).toEqual([net.first.stateIndex, net.second.stateIndex]);
    const [out, next] = net.forward(x, state);
    expect(out.shape).toEqual([8, 3, 4]);
    expect(next.get<nn.BatchNormState>(net.second.stateIndex).runningMean.shape).toEqual([3]);
    // Gradients in training mode: d sum(out) / d bias is the count per channel.
    const g = nn.filterGrad((m: Net, v: NDArray) => m.forward(v, state)[0].sum())(net, x);
    expect(g.second.bias!.toList()).toEqual([32, 32, 32]);
    expect(g.first.weight!.shape).toEqual([3]);
  });

  it("rejects bad inputs, states and options", () => {
    const [bn, state] = nn.makeWithState(nn.BatchNorm, 3);
    expectTypedError(
      () => bn.forward(np.ones([8, 4]), state),
      ShapeError,
      file,
      "nn.BatchNorm.forward",
      "[batch, 3, ...]",
      "[8, 4]",
    );
    expectTypedError(() => bn.forward(np.ones([3]), state), ShapeError, file, "[3]");
    expectTypedError(() => bn.forward(np.ones([1, 3]), state), ShapeError, file, "more than one");
    const [, other] = nn.makeWithState(nn.BatchNorm, 3);
    expectTypedError(() => bn.forward(x, other), nn.ModuleError, file, "no entry");
    expectTypedError(
      () => bn.forward(x, undefined as unknown as nn.State),
      nn.ModuleError,
      file,
      "nn.makeWithState",
    );
    expectTypedError(
      () => state.set(bn.stateIndex, { runningMean: np.zeros([4]), runningVar: np.ones([3]) }),
      ShapeError,
      file,
      "nn.State.set",
      "float32[4]",
    );
    expectTypedError(() => new nn.BatchNorm(3, { momentum: 1.5 }), ValueError, file, "momentum");
    expectTypedError(() => new nn.BatchNorm(0), ValueError, file, "inputSize");
  });
});

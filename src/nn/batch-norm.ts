/**
 * Layers with state that is not trained (BatchNorm's running statistics), kept outside the model
 * as Equinox keeps it: `nn.State`, an immutable pytree mapping each stateful layer's
 * `StateIndex` to its current value. `nn.makeWithState(Model, ...args)` builds a model and its
 * initial state; `layer.forward(x, state)` returns `[y, newState]`.
 */
import type { NDArray } from "../core/array.js";
import type { DType } from "../core/dtype.js";
import { ShapeError, ValueError } from "../core/errors.js";
import * as tree from "../core/tree.js";
import * as np from "../numpy/index.js";
import { checkSize } from "./layers.js";
import { Module, ModuleError } from "./module.js";

let nextIndex = 0;

/**
 * A stateful layer's handle on its entry in a `State`: a static field of the layer, compared by
 * identity (copies of a model made by `tree.map`, `treeAt`, `jit` keep the same index).
 *
 * @example
 * const index = new nn.StateIndex("Counter");
 * console.log(index.toString().startsWith("StateIndex(Counter")); // true
 */
export class StateIndex {
  /** A number for messages (unique in this process). */
  readonly id: number;

  /** @param layer the layer's name, for messages. */
  constructor(readonly layer: string) {
    this.id = nextIndex++;
    Object.freeze(this);
  }

  toString(): string {
    return `StateIndex(${this.layer} #${this.id})`;
  }
}

/** What a layer needs to keep state in a `State`. */
export interface StatefulLayer {
  readonly stateIndex: StateIndex;
  /** The state before any step (a pytree of arrays). */
  initialState(): unknown;
}

function isStateful(x: unknown): x is StatefulLayer {
  return (
    x instanceof Module &&
    (x as Partial<StatefulLayer>).stateIndex instanceof StateIndex &&
    typeof (x as Partial<StatefulLayer>).initialState === "function"
  );
}

const describeLeaf = (x: unknown): string =>
  x !== null && typeof x === "object" && "shape" in x && "dtype" in x
    ? `${String(x.dtype)}[${(x.shape as number[]).join(", ")}]`
    : typeof x;

// Set in State's static block: builds a State from entries (not a public constructor).
let stateOf: (entries: Map<StateIndex, unknown>) => State;

/**
 * The state of a model's stateful layers (e.g. BatchNorm's running mean and variance), apart
 * from its parameters. Immutable: `set` returns a new State. A pytree (its leaves are the state
 * arrays), so it passes through `jit`, `vmap`, `tree.map` and `nn.save`.
 *
 * @example
 * const [bn, state] = nn.makeWithState(nn.BatchNorm, 3);
 * const [y, next] = bn.forward(random.normal(random.key(0), [8, 3]), state);
 * console.log(y.shape); // [8, 3]
 * console.log(next.get<{ runningMean: NDArray }>(bn.stateIndex).runningMean.shape); // [3]
 */
export class State {
  readonly #entries: Map<StateIndex, unknown>;

  /** The initial state of every stateful layer in `model` (any pytree of modules). */
  constructor(model: unknown) {
    this.#entries = new Map();
    for (const leaf of tree.leaves(model, isStateful)) {
      if (isStateful(leaf) && !this.#entries.has(leaf.stateIndex)) {
        this.#entries.set(leaf.stateIndex, leaf.initialState());
      }
    }
  }

  static {
    stateOf = (entries) => {
      const made = new State(null);
      for (const [k, v] of entries) made.#entries.set(k, v);
      return made;
    };
  }

  /** The value kept for `index`. */
  get<T = unknown>(index: StateIndex): T {
    if (!this.#entries.has(index)) {
      throw new ModuleError(
        "nn.State.get",
        `this State has no entry for ${String(index)}: make the state from the same model, with nn.makeWithState(...) or new nn.State(model).`,
      );
    }
    return this.#entries.get(index) as T;
  }

  /** A new State with `value` for `index` (same structure, shapes and dtypes as before). */
  set(index: StateIndex, value: unknown): State {
    const old = this.get(index);
    const [oldLeaves, oldTree] = tree.flatten(old);
    const [newLeaves, newTree] = tree.flatten(value);
    const same =
      oldTree.equals(newTree) &&
      oldLeaves.every((x, i) => describeLeaf(x) === describeLeaf(newLeaves[i]));
    if (!same) {
      throw new ShapeError(
        "nn.State.set",
        `the new value for ${String(index)} must have the structure, shapes and dtypes of the old one: ` +
          `old ${oldTree.toString()} of ${oldLeaves.map(describeLeaf).join(", ")}, ` +
          `new ${newTree.toString()} of ${newLeaves.map(describeLeaf).join(", ")}.`,
      );
    }
    const entries = new Map(this.#entries);
    entries.set(index, value);
    return stateOf(entries);
  }

  /** The indices held, in order. */
  indices(): StateIndex[] {
    return [...this.#entries.keys()];
  }

  toString(): string {
    const lines = [...this.#entries].map(
      ([index, value]) => `  ${String(index)}: ${tree.leaves(value).map(describeLeaf).join(", ")},`,
    );
    return lines.length === 0 ? "State()" : `State(\n${lines.join("\n")}\n)`;
  }
}

tree.register(State, {
  flatten: (state: State) => {
    const indices = state.indices();
    return [indices.map((i) => state.get(i)), indices, indices.map((_, k) => k)];
  },
  unflatten: (indices, values) =>
    stateOf(new Map((indices as StateIndex[]).map((index, k) => [index, values[k]]))),
});

/**
 * Builds `new Model(...args)` and its initial state: `[model, new nn.State(model)]` (Equinox's
 * `make_with_state`).
 *
 * @example
 * const [bn, state] = nn.makeWithState(nn.BatchNorm, 4, { momentum: 0.2 });
 * console.log(bn.momentum, state.indices().length); // 0.2 1
 */
export function makeWithState<A extends unknown[], M>(
  Model: new (...args: A) => M,
  ...args: A
): [M, State] {
  if (typeof Model !== "function") {
    throw new ValueError("nn.makeWithState", "expects a class (a module) and its arguments.");
  }
  const model = new Model(...args);
  return [model, new State(model)];
}

export interface BatchNormOptions {
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
  /**
   * Weight of the new batch in the running statistics (PyTorch's convention, default 0.1):
   * running = (1 − momentum)·running + momentum·batch.
   */
  momentum?: number;
  /** Learn a scale and a shift per channel, initially ones and zeros (default true). */
  channelwiseAffine?: boolean;
  /** Normalise with the running statistics instead of the batch's (default false). */
  inference?: boolean;
  dtype?: DType;
}

/** The running statistics of a `BatchNorm`, as kept in a `State`. */
export interface BatchNormState {
  runningMean: NDArray;
  runningVar: NDArray;
}

/**
 * Batch normalisation over channel-first batches `[N, C, ...]` (PyTorch's BatchNorm1d/2d/3d):
 * each channel normalised with its mean and variance over the batch and spatial axes, then scaled
 * and shifted. Training uses the batch's statistics (biased variance) and moves the running
 * statistics, kept in a `State`, towards them (unbiased variance, as PyTorch); inference uses
 * the running statistics. Running mean starts at 0, running variance at 1.
 *
 * @example
 * const [bn, state] = nn.makeWithState(nn.BatchNorm, 2);
 * const x = random.normal(random.key(0), [16, 2, 4, 4]);
 * const [y, next] = bn.forward(x, state);
 * console.log(y.shape); // [16, 2, 4, 4]
 * const [yTest] = bn.forward(x, next, { inference: true });
 * console.log(yTest.shape); // [16, 2, 4, 4]
 */
export class BatchNorm extends Module implements StatefulLayer {
  readonly weight: NDArray | null;
  readonly bias: NDArray | null;
  readonly stateIndex: StateIndex;
  readonly inputSize: number;
  readonly eps: number;
  readonly momentum: number;
  readonly inference: boolean;
  readonly dtype: DType;

  constructor(inputSize: number, options: BatchNormOptions = {}) {
    super();
    checkSize("nn.BatchNorm", "inputSize", inputSize);
    const { eps = 1e-5, momentum = 0.1 } = options;
    if (typeof eps !== "number" || !(eps >= 0)) {
      throw new ValueError("nn.BatchNorm", `eps must be a number ≥ 0, got ${String(eps)}.`);
    }
    if (typeof momentum !== "number" || !(momentum >= 0 && momentum <= 1)) {
      throw new ValueError(
        "nn.BatchNorm",
        `momentum must be in [0, 1] (PyTorch's convention: the weight of the new batch), got ${String(momentum)}.`,
      );
    }
    this.inputSize = inputSize;
    this.eps = eps;
    this.momentum = momentum;
    this.inference = options.inference === true;
    this.dtype = options.dtype ?? "float32";
    const affine = options.channelwiseAffine !== false;
    this.weight = affine ? np.ones([inputSize], { dtype: this.dtype }) : null;
    this.bias = affine ? np.zeros([inputSize], { dtype: this.dtype }) : null;
    this.stateIndex = new StateIndex("BatchNorm");
  }

  /** Running mean zeros, running variance ones. */
  initialState(): BatchNormState {
    return {
      runningMean: np.zeros([this.inputSize], { dtype: this.dtype }),
      runningVar: np.ones([this.inputSize], { dtype: this.dtype }),
    };
  }

  /**
   * Normalises the batch `x` (`[N, inputSize, ...]`); returns `[y, newState]` (the state is
   * unchanged in inference). `options.inference` overrides the layer's setting.
   */
  forward(
    x: NDArray,
    state: State,
    options: { inference?: boolean; key?: NDArray } = {},
  ): [NDArray, State] {
    if (x.ndim < 2 || x.shape[1] !== this.inputSize) {
      throw new ShapeError(
        "nn.BatchNorm.forward",
        `expects a batch [batch, ${this.inputSize}, ...] (channels on axis 1), got shape [${x.shape.join(", ")}].`,
      );
    }
    if (!(state instanceof State)) {
      throw new ModuleError(
        "nn.BatchNorm.forward",
        "needs the model's nn.State as its second argument: const [model, state] = nn.makeWithState(nn.BatchNorm, size); then const [y, newState] = model.forward(x, state).",
      );
    }
    const { runningMean, runningVar } = state.get<BatchNormState>(this.stateIndex);
    const axis = [0, ...x.shape.slice(2).map((_, i) => i + 2)];
    const perChannel = [this.inputSize, ...x.shape.slice(2).map(() => 1)];
    let mean: NDArray;
    let variance: NDArray;
    let next = state;
    if (options.inference ?? this.inference) {
      mean = runningMean.reshape(perChannel);
      variance = runningVar.reshape(perChannel);
    } else {
      const count = x.size / this.inputSize;
      if (count < 2) {
        throw new ShapeError(
          "nn.BatchNorm.forward",
          `training needs more than one value per channel, got shape [${x.shape.join(", ")}]; use a larger batch or { inference: true }.`,
        );
      }
      mean = x.mean({ axis, keepdims: true });
      const centered = x.sub(mean);
      variance = centered.mul(centered).mean({ axis, keepdims: true });
      const m = this.momentum;
      // (The running statistics are state, not part of the output: differentiate y only.)
      const batchMean = mean.reshape([this.inputSize]);
      const unbiased = variance.reshape([this.inputSize]).mul(count / (count - 1));
      next = state.set(this.stateIndex, {
        runningMean: runningMean
          .mul(1 - m)
          .add(batchMean.mul(m))
          .astype(runningMean.dtype),
        runningVar: runningVar
          .mul(1 - m)
          .add(unbiased.mul(m))
          .astype(runningVar.dtype),
      });
    }
    let y = x.sub(mean).div(np.sqrt(variance.add(this.eps)));
    if (this.weight !== null && this.bias !== null) {
      y = y.mul(this.weight.reshape(perChannel)).add(this.bias.reshape(perChannel));
    }
    return [y, next];
  }
}

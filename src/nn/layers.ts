/**
 * Layers: `Linear`, `MLP`, `Sequential`, `Lambda`, initialised as PyTorch and Equinox do (the
 * convolutions are in conv.ts).
 * `forward(x)` takes one example or a batch (leading axes are kept).
 */
import type { NDArray } from "../core/array.js";
import type { DType } from "../core/dtype.js";
import { ValueError } from "../core/errors.js";
import * as np from "../numpy/index.js";
import * as random from "../random/index.js";
import { relu } from "./functional.js";
import { Module, ModuleError } from "./module.js";

/** Options of `forward`: a key for layers that are random (dropout); others ignore it. */
export interface ForwardOptions {
  key?: NDArray;
}

export function checkSize(layer: string, name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new ValueError(layer, `${name} must be a whole number ≥ 1, got ${String(value)}.`);
  }
}

export function needKey(layer: string, key: NDArray | undefined): NDArray {
  if (key === undefined) {
    throw new ValueError(
      layer,
      "needs { key } (from random.key or random.split) to initialise its parameters.",
    );
  }
  return key;
}

/**
 * A weight of `shape` and an optional bias of `biasSize` (default: the weight's first
 * dimension), both uniform in ±1/√fanIn (PyTorch's default for linear and convolution layers).
 */
export function uniformParameters(
  layer: string,
  key: NDArray | undefined,
  shape: number[],
  fanIn: number,
  options: { useBias?: boolean; dtype?: DType },
  biasSize: number = shape[0]!,
): { weight: NDArray; bias: NDArray | null } {
  const [wKey, bKey] = random.split(needKey(layer, key));
  const bound = {
    dtype: options.dtype ?? "float32",
    minval: -1 / Math.sqrt(fanIn),
    maxval: 1 / Math.sqrt(fanIn),
  };
  return {
    weight: random.uniform(wKey!, shape, bound),
    bias: options.useBias === false ? null : random.uniform(bKey!, [biasSize], bound),
  };
}

export interface LinearOptions {
  key: NDArray;
  /** Add a bias (default true). */
  useBias?: boolean;
  dtype?: DType;
}

/**
 * `y = x·Wᵀ + b` with `W` of shape `[outFeatures, inFeatures]`; weights and bias uniform in
 * ±1/√inFeatures (PyTorch's and Equinox's default).
 *
 * @example
 * const layer = new nn.Linear(3, 2, { key: random.key(0) });
 * console.log(layer.forward(np.ones([3])).shape); // [2]
 * console.log(layer.forward(np.ones([8, 3])).shape); // [8, 2]
 */
export class Linear extends Module {
  readonly weight: NDArray;
  readonly bias: NDArray | null;
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions) {
    super();
    checkSize("nn.Linear", "inFeatures", inFeatures);
    checkSize("nn.Linear", "outFeatures", outFeatures);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    ({ weight: this.weight, bias: this.bias } = uniformParameters(
      "nn.Linear",
      options?.key,
      [outFeatures, inFeatures],
      inFeatures,
      options ?? {},
    ));
  }

  forward(x: NDArray, _options: ForwardOptions = {}): NDArray {
    if (x.ndim === 0 || x.shape[x.ndim - 1] !== this.inFeatures) {
      throw new ModuleError(
        "nn.Linear.forward",
        `expects inputs with a last axis of ${this.inFeatures} features, got shape [${x.shape.join(", ")}].`,
      );
    }
    const y = np.matmul(x, this.weight.T);
    return this.bias === null ? y : y.add(this.bias);
  }
}

/** A layer-like function of an array. */
export type Activation = (x: NDArray) => NDArray;

const identity: Activation = (x) => x;

export interface MLPOptions {
  inSize: number;
  outSize: number;
  /** Width of the hidden layers. */
  widthSize: number;
  /** Number of hidden layers (0: a single Linear). */
  depth: number;
  /** Between layers (default relu). */
  activation?: Activation;
  /** After the last layer (default none). */
  finalActivation?: Activation;
  key: NDArray;
  dtype?: DType;
}

/**
 * A multi-layer perceptron: `depth` hidden layers of `widthSize`, as Equinox's `MLP`.
 *
 * @example
 * const mlp = new nn.MLP({ inSize: 4, outSize: 2, widthSize: 8, depth: 2, key: random.key(1) });
 * console.log(mlp.forward(np.ones([4])).shape); // [2]
 */
export class MLP extends Module {
  readonly layers: Linear[];
  readonly activation: Activation;
  readonly finalActivation: Activation;

  constructor(options: MLPOptions) {
    super();
    checkSize("nn.MLP", "inSize", options.inSize);
    checkSize("nn.MLP", "outSize", options.outSize);
    checkSize("nn.MLP", "widthSize", options.widthSize);
    if (!Number.isInteger(options.depth) || options.depth < 0) {
      throw new ValueError(
        "nn.MLP",
        `depth must be a whole number ≥ 0, got ${String(options.depth)}.`,
      );
    }
    const keys = [...random.split(needKey("nn.MLP", options.key), options.depth + 1)];
    const sizes = [
      options.inSize,
      ...new Array<number>(options.depth).fill(options.widthSize),
      options.outSize,
    ];
    this.layers = keys.map(
      (key, i) =>
        new Linear(sizes[i]!, sizes[i + 1]!, {
          key,
          ...(options.dtype && { dtype: options.dtype }),
        }),
    );
    this.activation = options.activation ?? relu;
    this.finalActivation = options.finalActivation ?? identity;
  }

  forward(x: NDArray, _options: ForwardOptions = {}): NDArray {
    let h = x;
    this.layers.forEach((layer, i) => {
      h = layer.forward(h);
      h = i < this.layers.length - 1 ? this.activation(h) : this.finalActivation(h);
    });
    return h;
  }
}

/** A module or a function, as `Sequential` takes them. */
export type Layer = { forward(x: NDArray, options?: ForwardOptions): NDArray } | Activation;

/**
 * Layers applied in order (functions too, kept as `Lambda` modules so that the model stays a
 * pytree of parameters); a `key` is split among them.
 *
 * @example
 * const net = new nn.Sequential([new nn.Linear(3, 4, { key: random.key(0) }), nn.relu]);
 * console.log(net.forward(np.ones([3])).shape); // [4]
 */
export class Sequential extends Module {
  readonly layers: { forward(x: NDArray, options?: ForwardOptions): NDArray }[];

  constructor(layers: Layer[]) {
    super();
    if (!Array.isArray(layers))
      throw new ValueError("nn.Sequential", "expects an array of layers.");
    this.layers = layers.map((layer) => (typeof layer === "function" ? new Lambda(layer) : layer));
  }

  forward(x: NDArray, options: ForwardOptions = {}): NDArray {
    const keys =
      options.key === undefined
        ? []
        : [...random.split(options.key, Math.max(1, this.layers.length))];
    return this.layers.reduce<NDArray>(
      (h, layer, i) => layer.forward(h, keys[i] === undefined ? {} : { key: keys[i] }),
      x,
    );
  }
}

/** A function as a (parameter-free) module, e.g. inside `Sequential`. */
export class Lambda extends Module {
  readonly fn: Activation;

  constructor(fn: Activation) {
    super();
    if (typeof fn !== "function") throw new ValueError("nn.Lambda", "expects a function.");
    this.fn = fn;
  }

  forward(x: NDArray, _options: ForwardOptions = {}): NDArray {
    return this.fn(x);
  }
}

/** The identity: returns its input (a placeholder in `Sequential`, as PyTorch's `Identity`). */
export class Identity extends Module {
  forward(x: NDArray, _options: ForwardOptions = {}): NDArray {
    return x;
  }
}

/** Options of {@link Flatten}. */
export interface FlattenOptions {
  /** The first axis merged (default 1: a batch axis is kept, as PyTorch). */
  startDim?: number;
  /** The last axis merged (default −1). */
  endDim?: number;
}

/**
 * Merges the axes `startDim`…`endDim` into one (PyTorch's `Flatten`: by default every axis
 * after the first).
 *
 * @example
 * console.log(new nn.Flatten().forward(np.ones([4, 8, 7, 7])).shape); // [4, 392]
 */
export class Flatten extends Module {
  readonly startDim: number;
  readonly endDim: number;

  constructor(options: FlattenOptions = {}) {
    super();
    this.startDim = options.startDim ?? 1;
    this.endDim = options.endDim ?? -1;
    for (const [name, v] of [
      ["startDim", this.startDim],
      ["endDim", this.endDim],
    ] as const) {
      if (!Number.isInteger(v))
        throw new ValueError("nn.Flatten", `${name} must be an integer, got ${v}.`);
    }
  }

  forward(x: NDArray, _options: ForwardOptions = {}): NDArray {
    const start = this.startDim < 0 ? this.startDim + x.ndim : this.startDim;
    const end = this.endDim < 0 ? this.endDim + x.ndim : this.endDim;
    if (start < 0 || end >= x.ndim || start > end) {
      throw new ModuleError(
        "nn.Flatten.forward",
        `axes ${this.startDim}…${this.endDim} do not fit an input of shape [${x.shape.join(", ")}].`,
      );
    }
    const merged = x.shape.slice(start, end + 1).reduce((n, d) => n * d, 1);
    return x.reshape([...x.shape.slice(0, start), merged, ...x.shape.slice(end + 1)]);
  }
}

/** Options of {@link PReLU}. */
export interface PReLUOptions {
  /** One slope per channel, or one shared by all (default 1). */
  numParameters?: number;
  /** The channel axis of the input, with several slopes (default 1, as PyTorch's [N, C, …]). */
  channelAxis?: number;
  /** The initial slope (default 0.25, as PyTorch). */
  init?: number;
  dtype?: DType;
}

/**
 * ReLU with a learned slope for negative inputs (PyTorch's `PReLU`): `max(x, 0) + a·min(x, 0)`,
 * one slope shared, or one per channel along `channelAxis` (1 by default: [N, C, …]; give 0 for
 * unbatched [C, …] inputs).
 *
 * @example
 * const prelu = new nn.PReLU();
 * console.log(prelu.forward(np.array([-2, 3])).toList()); // [-0.5, 3]
 */
export class PReLU extends Module {
  readonly weight: NDArray;
  readonly channelAxis: number;

  constructor(options: PReLUOptions = {}) {
    super();
    const n = options.numParameters ?? 1;
    checkSize("nn.PReLU", "numParameters", n);
    this.channelAxis = options.channelAxis ?? 1;
    if (!Number.isInteger(this.channelAxis)) {
      throw new ValueError("nn.PReLU", `channelAxis must be an integer, got ${this.channelAxis}.`);
    }
    this.weight = np.full([n], options.init ?? 0.25, { dtype: options.dtype ?? "float32" });
  }

  forward(x: NDArray, _options: ForwardOptions = {}): NDArray {
    const n = this.weight.size;
    let slope = this.weight;
    if (n > 1) {
      const axis = this.channelAxis < 0 ? this.channelAxis + x.ndim : this.channelAxis;
      if (axis < 0 || axis >= x.ndim || x.shape[axis] !== n) {
        throw new ModuleError(
          "nn.PReLU.forward",
          `has ${n} slopes but the input's channel axis has ${String(x.shape[axis])}: shape [${x.shape.join(", ")}].`,
        );
      }
      slope = slope.reshape([n, ...new Array<number>(x.ndim - axis - 1).fill(1)]);
    }
    return np.maximum(x, 0).add(slope.mul(np.minimum(x, 0)));
  }
}

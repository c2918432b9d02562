/**
 * Convolution layers over channel-first inputs: `Conv` (N-d), `Conv1d`, `Conv2d`, and the
 * transposed convolutions `ConvTranspose`, `ConvTranspose1d`, `ConvTranspose2d`, with PyTorch's
 * arguments, weight layouts and initialisation, on `lax.conv`.
 */
import type { NDArray } from "../core/array.js";
import type { DType } from "../core/dtype.js";
import { ValueError } from "../core/errors.js";
import * as lax from "../lax/index.js";
import * as np from "../numpy/index.js";
import { checkSize, uniformParameters, type ForwardOptions } from "./layers.js";
import { Module, ModuleError } from "./module.js";

/** A per-spatial-dimension setting: a number for all, or one whole number each. */
function perDimension(
  layer: string,
  spatial: number,
  what: string,
  v: number | number[] | undefined,
  fallback: number,
): number[] {
  const list =
    v === undefined
      ? new Array<number>(spatial).fill(fallback)
      : typeof v === "number"
        ? new Array<number>(spatial).fill(v)
        : v;
  const min = what === "padding" || what === "outputPadding" ? 0 : 1;
  if (list.length !== spatial || list.some((d) => !Number.isInteger(d) || d < min)) {
    throw new ValueError(
      layer,
      `${what} needs ${spatial} whole number(s) ≥ ${min}, got ${JSON.stringify(v)}.`,
    );
  }
  return list;
}

/** Checks that `groups` divides both channel counts. */
function checkGroups(layer: string, groups: number, inChannels: number, outChannels: number): void {
  if (
    !Number.isInteger(groups) ||
    groups < 1 ||
    inChannels % groups !== 0 ||
    outChannels % groups !== 0
  ) {
    throw new ValueError(
      layer,
      `groups must divide both channel counts (${inChannels}, ${outChannels}), got ${groups}.`,
    );
  }
}

/** `[C, ...spatial]` as a batch of one, or `[N, C, ...spatial]` as it is; throws otherwise. */
function asBatch(layer: string, spatial: number, x: NDArray): [NDArray, boolean] {
  const single = x.ndim === spatial + 1;
  if (!single && x.ndim !== spatial + 2) {
    throw new ModuleError(
      `${layer}.forward`,
      `expects [channels, ...${spatial} spatial] or [batch, channels, ...spatial], got shape [${x.shape.join(", ")}].`,
    );
  }
  return [single ? x.reshape([1, ...x.shape]) : x, single];
}

/** `y + bias` along the channel axis (1) of `[N, C, ...spatial]`. */
function addChannelBias(y: NDArray, bias: NDArray | null, spatial: number): NDArray {
  if (bias === null) return y;
  return y.add(bias.reshape([bias.shape[0]!, ...new Array<number>(spatial).fill(1)]));
}

export interface ConvOptions {
  key: NDArray;
  /** Window step per spatial dimension (a number applies to all; default 1). */
  stride?: number | number[];
  /** Zero padding per spatial dimension, or "SAME"/"VALID" (default 0). */
  padding?: number | number[] | "SAME" | "VALID";
  /** Kernel dilation (default 1). */
  dilation?: number | number[];
  /** Channel groups (default 1; equal to the input channels for depthwise). */
  groups?: number;
  /** Add a bias per output channel (default true). */
  useBias?: boolean;
  dtype?: DType;
}

/**
 * N-d convolution over channel-first inputs (`[C, ...spatial]`, or `[N, C, ...spatial]` for a
 * batch), weight `[outChannels, inChannels / groups, ...kernel]`; weights and bias uniform in
 * ±1/√(fan-in) as PyTorch initialises them.
 */
export class Conv extends Module {
  readonly weight: NDArray;
  readonly bias: NDArray | null;
  readonly spatial: number;
  readonly stride: number[];
  readonly padding: [number, number][] | "SAME" | "VALID";
  readonly dilation: number[];
  readonly groups: number;

  constructor(
    spatial: number,
    inChannels: number,
    outChannels: number,
    kernelSize: number | number[],
    options: ConvOptions,
  ) {
    super();
    const name = `nn.Conv${spatial}d`;
    checkSize(name, "inChannels", inChannels);
    checkSize(name, "outChannels", outChannels);
    const perDim = (what: string, v: number | number[] | undefined, fallback: number) =>
      perDimension(name, spatial, what, v, fallback);
    const kernel = perDim("kernelSize", kernelSize, 1);
    const groups = options.groups ?? 1;
    checkGroups(name, groups, inChannels, outChannels);
    this.spatial = spatial;
    this.stride = perDim("stride", options.stride, 1);
    this.dilation = perDim("dilation", options.dilation, 1);
    this.padding =
      options.padding === "SAME" || options.padding === "VALID"
        ? options.padding
        : perDim("padding", options.padding, 0).map((p): [number, number] => [p, p]);
    this.groups = groups;
    const fanIn = (inChannels / groups) * kernel.reduce((n, k) => n * k, 1);
    ({ weight: this.weight, bias: this.bias } = uniformParameters(
      name,
      options.key,
      [outChannels, inChannels / groups, ...kernel],
      fanIn,
      options,
    ));
  }

  forward(x: NDArray, _options: ForwardOptions = {}): NDArray {
    const [input, single] = asBatch(`nn.Conv${this.spatial}d`, this.spatial, x);
    const y = addChannelBias(
      lax.conv(input, this.weight, {
        strides: this.stride,
        padding: this.padding,
        rhsDilation: this.dilation,
        featureGroupCount: this.groups,
      }),
      this.bias,
      this.spatial,
    );
    return single ? y.reshape(y.shape.slice(1)) : y;
  }
}

/**
 * 2-d convolution (`Conv` with two spatial dimensions).
 *
 * @example
 * const conv = new nn.Conv2d(1, 8, 3, { key: random.key(0), padding: 1 });
 * console.log(conv.forward(np.ones([1, 28, 28])).shape); // [8, 28, 28]
 * console.log(conv.forward(np.ones([4, 1, 28, 28])).shape); // [4, 8, 28, 28]
 */
export class Conv2d extends Conv {
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: number | number[],
    options: ConvOptions,
  ) {
    super(2, inChannels, outChannels, kernelSize, options);
  }
}

/** 1-d convolution (`Conv` with one spatial dimension). */
export class Conv1d extends Conv {
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: number | number[],
    options: ConvOptions,
  ) {
    super(1, inChannels, outChannels, kernelSize, options);
  }
}

export interface ConvTransposeOptions {
  key: NDArray;
  /** Input step per spatial dimension (the upsampling factor; default 1). */
  stride?: number | number[];
  /** Removed from both sides of the output (PyTorch's `padding`; default 0). */
  padding?: number | number[];
  /** Added to the high side of the output to pick among the sizes a stride allows (default 0). */
  outputPadding?: number | number[];
  /** Kernel dilation (default 1). */
  dilation?: number | number[];
  /** Channel groups (default 1). */
  groups?: number;
  /** Add a bias per output channel (default true). */
  useBias?: boolean;
  dtype?: DType;
}

/**
 * N-d transposed convolution (the gradient of `Conv` with respect to its input, used to
 * upsample) over `[C, ...spatial]` or `[N, C, ...spatial]`, as PyTorch's `ConvTransposeNd`:
 * weight `[inChannels, outChannels / groups, ...kernel]`, output size
 * `(in - 1)·stride - 2·padding + dilation·(kernel - 1) + outputPadding + 1`; weights and bias
 * uniform in ±1/√(outChannels / groups · kernel size), as PyTorch initialises them.
 */
export class ConvTranspose extends Module {
  readonly weight: NDArray;
  readonly bias: NDArray | null;
  readonly spatial: number;
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[];
  readonly outputPadding: number[];
  readonly dilation: number[];
  readonly groups: number;

  constructor(
    spatial: number,
    inChannels: number,
    outChannels: number,
    kernelSize: number | number[],
    options: ConvTransposeOptions,
  ) {
    super();
    const name = `nn.ConvTranspose${spatial}d`;
    checkSize(name, "inChannels", inChannels);
    checkSize(name, "outChannels", outChannels);
    const perDim = (what: string, v: number | number[] | undefined, fallback: number) =>
      perDimension(name, spatial, what, v, fallback);
    this.spatial = spatial;
    this.kernelSize = perDim("kernelSize", kernelSize, 1);
    this.stride = perDim("stride", options.stride, 1);
    this.padding = perDim("padding", options.padding, 0);
    this.outputPadding = perDim("outputPadding", options.outputPadding, 0);
    this.dilation = perDim("dilation", options.dilation, 1);
    this.outputPadding.forEach((p, d) => {
      if (p >= Math.max(this.stride[d]!, this.dilation[d]!)) {
        throw new ValueError(
          name,
          `outputPadding must be smaller than the stride or the dilation, got ${p} on spatial dimension ${d}.`,
        );
      }
    });
    this.groups = options.groups ?? 1;
    checkGroups(name, this.groups, inChannels, outChannels);
    const kernelVolume = this.kernelSize.reduce((n, k) => n * k, 1);
    ({ weight: this.weight, bias: this.bias } = uniformParameters(
      name,
      options.key,
      [inChannels, outChannels / this.groups, ...this.kernelSize],
      (outChannels / this.groups) * kernelVolume,
      options,
      outChannels,
    ));
  }

  forward(x: NDArray, _options: ForwardOptions = {}): NDArray {
    const name = `nn.ConvTranspose${this.spatial}d`;
    const [input, single] = asBatch(name, this.spatial, x);
    // The convolution whose input gradient this is: input dilated by the stride, the kernel
    // flipped with its in/out axes swapped per group, padding dilation·(k - 1) - padding.
    const [inChannels, perGroupOut] = [this.weight.shape[0]!, this.weight.shape[1]!];
    const g = this.groups;
    const spatialAxes = this.kernelSize.map((_, d) => d + 2);
    const kernel = np.flip(
      this.weight
        .reshape([g, inChannels / g, perGroupOut, ...this.kernelSize])
        .transpose([0, 2, 1, ...spatialAxes.map((a) => a + 1)])
        .reshape([g * perGroupOut, inChannels / g, ...this.kernelSize]),
      { axis: spatialAxes },
    );
    const y = lax.conv(input, kernel, {
      strides: this.kernelSize.map(() => 1),
      lhsDilation: this.stride,
      rhsDilation: this.dilation,
      padding: this.kernelSize.map((k, d): [number, number] => {
        const edge = this.dilation[d]! * (k - 1) - this.padding[d]!;
        return [edge, edge + this.outputPadding[d]!];
      }),
      featureGroupCount: g,
    });
    const out = addChannelBias(y, this.bias, this.spatial);
    return single ? out.reshape(out.shape.slice(1)) : out;
  }
}

/**
 * 2-d transposed convolution (`ConvTranspose` with two spatial dimensions).
 *
 * @example
 * const up = new nn.ConvTranspose2d(8, 4, 2, { key: random.key(0), stride: 2 });
 * console.log(up.forward(np.ones([8, 7, 7])).shape); // [4, 14, 14]
 */
export class ConvTranspose2d extends ConvTranspose {
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: number | number[],
    options: ConvTransposeOptions,
  ) {
    super(2, inChannels, outChannels, kernelSize, options);
  }
}

/**
 * 1-d transposed convolution (`ConvTranspose` with one spatial dimension).
 *
 * @example
 * const up = new nn.ConvTranspose1d(2, 3, 4, { key: random.key(0), stride: 2, padding: 1 });
 * console.log(up.forward(np.ones([2, 10])).shape); // [3, 20]
 */
export class ConvTranspose1d extends ConvTranspose {
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: number | number[],
    options: ConvTransposeOptions,
  ) {
    super(1, inChannels, outChannels, kernelSize, options);
  }
}

/** 3-d convolution (`Conv` with three spatial dimensions) over `[C, D, H, W]` or `[N, C, D, H, W]`. */
export class Conv3d extends Conv {
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: number | number[],
    options: ConvOptions,
  ) {
    super(3, inChannels, outChannels, kernelSize, options);
  }
}

/** 3-d transposed convolution (`ConvTranspose` with three spatial dimensions). */
export class ConvTranspose3d extends ConvTranspose {
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: number | number[],
    options: ConvTransposeOptions,
  ) {
    super(3, inChannels, outChannels, kernelSize, options);
  }
}

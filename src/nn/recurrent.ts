/**
 * Recurrent cells: one step of a GRU or an LSTM, with PyTorch's gate equations, parameters and
 * initialisation (every weight and bias uniform in ±1/√hiddenSize). Run a sequence with
 * `lax.scan` over the steps.
 */
import type { NDArray } from "../core/array.js";
import type { DType } from "../core/dtype.js";
import { ShapeError } from "../core/errors.js";
import * as np from "../numpy/index.js";
import * as random from "../random/index.js";
import { sigmoid } from "./functional.js";
import { checkSize, needKey, type ForwardOptions } from "./layers.js";
import { Module } from "./module.js";

export interface RecurrentCellOptions {
  key: NDArray;
  /** Add the input-side and hidden-side biases (default true). */
  useBias?: boolean;
  dtype?: DType;
}

interface CellParameters {
  weightIh: NDArray;
  weightHh: NDArray;
  biasIh: NDArray | null;
  biasHh: NDArray | null;
}

/** PyTorch's RNN-cell parameters for `gates` gates, all uniform in ±1/√hiddenSize. */
function cellParameters(
  layer: string,
  inputSize: number,
  hiddenSize: number,
  gates: number,
  options: RecurrentCellOptions,
): CellParameters {
  checkSize(layer, "inputSize", inputSize);
  checkSize(layer, "hiddenSize", hiddenSize);
  const keys = [...random.split(needKey(layer, options?.key), 4)];
  const bound = 1 / Math.sqrt(hiddenSize);
  const draw = (k: number, shape: number[]): NDArray =>
    random.uniform(keys[k]!, shape, {
      dtype: options.dtype ?? "float32",
      minval: -bound,
      maxval: bound,
    });
  const useBias = options.useBias !== false;
  return {
    weightIh: draw(0, [gates * hiddenSize, inputSize]),
    weightHh: draw(1, [gates * hiddenSize, hiddenSize]),
    biasIh: useBias ? draw(2, [gates * hiddenSize]) : null,
    biasHh: useBias ? draw(3, [gates * hiddenSize]) : null,
  };
}

const shapeText = (shape: readonly number[]): string => `[${shape.join(", ")}]`;

/** Checks `x` ([..., inputSize]) against each hidden array ([..., hiddenSize], same leading axes). */
function checkStep(
  layer: string,
  x: NDArray,
  hidden: readonly NDArray[],
  inputSize: number,
  hiddenSize: number,
): void {
  const lead = x.shape.slice(0, -1);
  const fits = (a: NDArray, size: number, sameLead: boolean): boolean =>
    a.ndim >= 1 &&
    a.shape[a.ndim - 1] === size &&
    (!sameLead || (a.ndim - 1 === lead.length && lead.every((d, i) => a.shape[i] === d)));
  if (!fits(x, inputSize, false)) {
    throw new ShapeError(
      `${layer}.forward`,
      `expects an input [${inputSize}] or [batch, ${inputSize}], got shape ${shapeText(x.shape)}.`,
    );
  }
  for (const h of hidden) {
    if (!fits(h, hiddenSize, true)) {
      throw new ShapeError(
        `${layer}.forward`,
        `expects a hidden state ${shapeText([...lead, hiddenSize])} for the input of shape ${shapeText(x.shape)}, got ${shapeText(h.shape)}.`,
      );
    }
  }
}

/** `x·Wᵀ + b` (b may be absent). */
const affine = (x: NDArray, weight: NDArray, bias: NDArray | null): NDArray => {
  const y = np.matmul(x, weight.T);
  return bias === null ? y : y.add(bias);
};

/**
 * One step of a gated recurrent unit (PyTorch's `GRUCell`):
 * r = σ(W_ir·x + b_ir + W_hr·h + b_hr), z = σ(W_iz·x + b_iz + W_hz·h + b_hz),
 * n = tanh(W_in·x + b_in + r·(W_hn·h + b_hn)), h' = (1 − z)·n + z·h.
 * `weightIh` is `[3·hidden, input]` with the gates in the order r, z, n; likewise `weightHh`,
 * `biasIh`, `biasHh`. `forward(x, h)` takes one step `[input]` or a batch `[N, input]`.
 *
 * @example
 * const cell = new nn.GRUCell(3, 5, { key: random.key(0) });
 * const h = cell.forward(np.ones([3]), np.zeros([5]));
 * console.log(h.shape); // [5]
 * const [last] = lax.scan((hidden: NDArray, x: NDArray) => {
 *   const next = cell.forward(x, hidden);
 *   return [next, next];
 * }, np.zeros([5]), np.ones([7, 3]));
 * console.log(last.shape); // [5]
 */
export class GRUCell extends Module {
  readonly weightIh: NDArray;
  readonly weightHh: NDArray;
  readonly biasIh: NDArray | null;
  readonly biasHh: NDArray | null;
  readonly inputSize: number;
  readonly hiddenSize: number;

  constructor(inputSize: number, hiddenSize: number, options: RecurrentCellOptions) {
    super();
    ({
      weightIh: this.weightIh,
      weightHh: this.weightHh,
      biasIh: this.biasIh,
      biasHh: this.biasHh,
    } = cellParameters("nn.GRUCell", inputSize, hiddenSize, 3, options));
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
  }

  /** The next hidden state, the shape of `hidden`. */
  forward(x: NDArray, hidden: NDArray, _options: ForwardOptions = {}): NDArray {
    checkStep("nn.GRUCell", x, [hidden], this.inputSize, this.hiddenSize);
    const [ir, iz, inew] = np.split(affine(x, this.weightIh, this.biasIh), 3, { axis: -1 });
    const [hr, hz, hnew] = np.split(affine(hidden, this.weightHh, this.biasHh), 3, { axis: -1 });
    const reset = sigmoid(ir!.add(hr!));
    const update = sigmoid(iz!.add(hz!));
    const candidate = np.tanh(inew!.add(reset.mul(hnew!)));
    return candidate.add(update.mul(hidden.sub(candidate)));
  }
}

/**
 * One step of a long short-term memory unit (PyTorch's `LSTMCell`): with
 * [i, f, g, o] = W_ih·x + b_ih + W_hh·h + b_hh (gates in that order along `4·hidden`),
 * c' = σ(f)·c + σ(i)·tanh(g) and h' = σ(o)·tanh(c'). The hidden state is the pair `[h, c]`;
 * `forward(x, [h, c])` takes one step `[input]` or a batch `[N, input]` and returns `[h', c']`.
 *
 * @example
 * const cell = new nn.LSTMCell(3, 4, { key: random.key(0) });
 * const [h, c] = cell.forward(np.ones([2, 3]), [np.zeros([2, 4]), np.zeros([2, 4])]);
 * console.log(h.shape, c.shape); // [2, 4] [2, 4]
 */
export class LSTMCell extends Module {
  readonly weightIh: NDArray;
  readonly weightHh: NDArray;
  readonly biasIh: NDArray | null;
  readonly biasHh: NDArray | null;
  readonly inputSize: number;
  readonly hiddenSize: number;

  constructor(inputSize: number, hiddenSize: number, options: RecurrentCellOptions) {
    super();
    ({
      weightIh: this.weightIh,
      weightHh: this.weightHh,
      biasIh: this.biasIh,
      biasHh: this.biasHh,
    } = cellParameters("nn.LSTMCell", inputSize, hiddenSize, 4, options));
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
  }

  /** The next `[h, c]`. */
  forward(
    x: NDArray,
    hidden: readonly [NDArray, NDArray],
    _options: ForwardOptions = {},
  ): [NDArray, NDArray] {
    if (!Array.isArray(hidden) || hidden.length !== 2) {
      throw new ShapeError(
        "nn.LSTMCell.forward",
        "expects the hidden state as a pair [h, c] (start from [np.zeros([hiddenSize]), np.zeros([hiddenSize])]).",
      );
    }
    const [h, c] = hidden;
    checkStep("nn.LSTMCell", x, [h, c], this.inputSize, this.hiddenSize);
    const gates = affine(x, this.weightIh, this.biasIh).add(affine(h, this.weightHh, this.biasHh));
    const [i, f, g, o] = np.split(gates, 4, { axis: -1 });
    const cNext = sigmoid(f!)
      .mul(c)
      .add(sigmoid(i!).mul(np.tanh(g!)));
    return [sigmoid(o!).mul(np.tanh(cNext)), cNext];
  }
}

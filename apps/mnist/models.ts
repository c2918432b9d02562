/**
 * The two classifiers of the main job: a small convolutional network (the default) and a
 * multi-layer perceptron. Both take a batch of flat images `[n, 784]` and return logits `[n, 10]`.
 */
import { nn, random, type NDArray } from "../../src/index.js";
import { pixels } from "./data.js";

/**
 * conv 3×3 (1 → 16) → relu → max-pool 2 → conv 3×3 (16 → 32) → relu → max-pool 2 →
 * linear (32·7·7 → 128) → relu → linear (128 → 10).
 */
export class CNN extends nn.Module {
  readonly conv1: nn.Conv2d;
  readonly conv2: nn.Conv2d;
  readonly pool: nn.MaxPool2d;
  readonly hidden: nn.Linear;
  readonly output: nn.Linear;

  constructor(key: NDArray) {
    super();
    const [k1, k2, k3, k4] = random.split(key, 4);
    this.conv1 = new nn.Conv2d(1, 16, 3, { key: k1!, padding: 1 });
    this.conv2 = new nn.Conv2d(16, 32, 3, { key: k2!, padding: 1 });
    this.pool = new nn.MaxPool2d(2);
    this.hidden = new nn.Linear(32 * 7 * 7, 128, { key: k3! });
    this.output = new nn.Linear(128, 10, { key: k4! });
  }

  forward(images: NDArray): NDArray {
    const n = images.shape[0]!;
    let x = images.reshape([n, 1, 28, 28]);
    x = this.pool.forward(nn.relu(this.conv1.forward(x)));
    x = this.pool.forward(nn.relu(this.conv2.forward(x)));
    return this.output.forward(nn.relu(this.hidden.forward(x.reshape([n, 32 * 7 * 7]))));
  }
}

export type ModelKind = "cnn" | "mlp";

/** A classifier and its one-line description (for the plot title and the saved file). */
export function makeModel(kind: ModelKind, key: NDArray): { model: CNN | nn.MLP; title: string } {
  return kind === "cnn"
    ? { model: new CNN(key), title: "CNN conv16-conv32-128-10" }
    : {
        model: new nn.MLP({ inSize: pixels, outSize: 10, widthSize: 256, depth: 2, key }),
        title: "MLP 784-256-256-10",
      };
}

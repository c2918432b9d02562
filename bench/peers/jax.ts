/**
 * jax-js on its wasm backend. Arrays are reference counted: every argument is consumed, so arrays
 * used again are passed as `.ref`; results are realised with `blockUntilReady` (or `data()`, which
 * also consumes) and disposed.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import {
  blockUntilReady,
  defaultDevice,
  init,
  jit,
  nn,
  numpy as jnp,
  tree,
  valueAndGrad,
} from "@jax-js/jax";
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

type Params = Record<ParamName, jnp.Array>;

function toParams(data: MlpData): Params {
  const p = {} as Params;
  for (const name of paramNames) {
    p[name] = jnp.array(data.params[name]).reshape([...mlpShapes[name]]);
  }
  return p;
}

function loss(p: Params, x: jnp.Array, y: jnp.Array): jnp.Array {
  const h1 = jnp.tanh(jnp.matmul(x, p.w1).add(p.b1));
  const h2 = jnp.tanh(jnp.matmul(h1, p.w2).add(p.b2));
  const logits = jnp.matmul(h2, p.w3).add(p.b3);
  return nn.logsumexp(logits.ref, -1).sub(logits.mul(y).sum(-1)).mean();
}

function sgdStep(p: Params, x: jnp.Array, y: jnp.Array): [Params, jnp.Array] {
  const [value, grads] = valueAndGrad(loss)(tree.ref(p), x, y);
  const next = tree.map((w: jnp.Array, g: jnp.Array) => w.sub(g.mul(MLP.lr)), p, grads as Params);
  return [next as Params, value];
}

const inputs = (data: MlpData): [jnp.Array, jnp.Array] => [
  jnp.array(data.x).reshape([MLP.batch, MLP.input]),
  jnp.array(data.y).reshape([MLP.batch, MLP.classes]),
];

/** Reads a scalar and consumes the array. */
async function scalar(a: jnp.Array): Promise<number> {
  return (await a.data())[0]!;
}

const tanhChain = (x: jnp.Array): jnp.Array => jnp.tanh(x.ref.mul(2).add(1)).mul(x);

function version(): string {
  const require = createRequire(import.meta.url);
  const entry = require.resolve("@jax-js/jax");
  const pkg = JSON.parse(readFileSync(join(dirname(entry), "..", "package.json"), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

export const jaxjs: Peer = {
  name: "jax-js",

  async setup() {
    const devices = await init("wasm");
    defaultDevice("wasm");
    // Threads need a global Worker, which Node does not have: the wasm backend is single-threaded.
    const threads = typeof (globalThis as { Worker?: unknown }).Worker === "undefined" ? 1 : "n";
    return `@jax-js/jax ${version()}, device wasm (of ${devices.join(", ")}), threads: ${threads}`;
  },

  matmul(n, a, b): Case {
    const x = jnp.array(a).reshape([n, n]);
    const y = jnp.array(b).reshape([n, n]);
    return {
      run: async () => {
        const c = jnp.matmul(x.ref, y.ref);
        await c.blockUntilReady();
        c.dispose();
      },
      dispose: () => {
        x.dispose();
        y.dispose();
      },
    };
  },

  async mlpStep(data): Promise<MlpCase> {
    const [x, y] = inputs(data);
    const step = jit(sgdStep);
    let params = toParams(data);
    const advance = async (): Promise<number> => {
      let l: jnp.Array;
      [params, l] = step(params, x.ref, y.ref);
      return scalar(l);
    };
    const losses: [number, number] = [await advance(), await advance()];
    return {
      run: advance,
      losses,
      dispose: () => {
        tree.dispose(params);
        x.dispose();
        y.dispose();
        step.dispose();
      },
    };
  },

  mlpFirstCall(data): Case {
    const [x, y] = inputs(data);
    const params = toParams(data);
    return {
      run: async () => {
        const step = jit(sgdStep);
        const [next, l] = step(tree.ref(params), x.ref, y.ref);
        const value = await scalar(l);
        tree.dispose(next);
        step.dispose();
        return value;
      },
      dispose: () => {
        tree.dispose(params);
        x.dispose();
        y.dispose();
      },
    };
  },

  elementwise(data): Case {
    const x = jnp.array(data);
    const f = jit(tanhChain);
    return {
      run: async () => {
        const out = f(x.ref);
        await out.blockUntilReady();
        out.dispose();
      },
      dispose: () => {
        x.dispose();
        f.dispose();
      },
    };
  },

  loop(data, steps): Case {
    const x = jnp.array(data);
    const step = jit((x: jnp.Array) => x.ref.mul(0.99).add(jnp.sin(x)));
    return {
      run: async () => {
        let y = x.ref;
        for (let i = 0; i < steps; i++) y = step(y);
        await y.blockUntilReady();
        y.dispose();
      },
      dispose: () => {
        x.dispose();
        step.dispose();
      },
      note: "a JS loop over a jitted step (no compiled loops)",
    };
  },

  loopEager(data, steps): Case {
    const x = jnp.array(data);
    return {
      run: async () => {
        let y = x.ref;
        for (let i = 0; i < steps; i++) y = y.ref.mul(0.99).add(jnp.sin(y));
        await y.blockUntilReady();
        y.dispose();
      },
      dispose: () => x.dispose(),
    };
  },

  elementwiseEager(data): Case {
    const x = jnp.array(data);
    return {
      run: async () => {
        const out = tanhChain(x.ref);
        await out.blockUntilReady();
        out.dispose();
      },
      dispose: () => x.dispose(),
    };
  },

  eagerAdd(a, b, ops): Case {
    const x = jnp.array(a);
    const y = jnp.array(b);
    return {
      run: async () => {
        const outs: jnp.Array[] = [];
        for (let k = 0; k < ops; k++) outs.push(x.ref.add(y.ref));
        await blockUntilReady(outs);
        tree.dispose(outs);
      },
      dispose: () => {
        x.dispose();
        y.dispose();
      },
    };
  },
};

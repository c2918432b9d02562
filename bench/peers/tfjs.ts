/**
 * TensorFlow.js on its wasm backend (XNNPACK). Its kernels run synchronously on wasm; results are
 * still synced with `await data()` (a read-back copy is included in the time), then disposed.
 * No jit: the compiled-mode rows run the same eager ops.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import type { Case } from "../measure.js";
import {
  MLP,
  mlpShapes,
  paramNames,
  type MlpCase,
  type ParamName,
  type Peer,
} from "../workloads.js";

function tanhChain(x: tf.Tensor): Case["run"] {
  return async () => {
    const out = tf.tidy(() => tf.mul(tf.tanh(tf.add(tf.mul(x, 2), 1)), x));
    await out.data();
    out.dispose();
  };
}

export const tfjs: Peer = {
  name: "tfjs-wasm",

  async setup() {
    // In Node the backend must be told where its .wasm binaries are: the package's dist/ folder.
    const require = createRequire(import.meta.url);
    const pkgDir = dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json"));
    setWasmPaths(join(pkgDir, "dist") + "/");
    if (!(await tf.setBackend("wasm"))) throw new Error("tfjs: the wasm backend did not start");
    await tf.ready();
    const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
    const threads = await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT");
    return `@tensorflow/tfjs ${tf.version_core}, backend ${tf.getBackend()}, SIMD: ${String(simd)}, threads: ${String(threads)}`;
  },

  matmul(n, a, b): Case {
    const x = tf.tensor2d(a, [n, n]);
    const y = tf.tensor2d(b, [n, n]);
    return {
      run: async () => {
        const c = tf.matMul(x, y);
        await c.data();
        c.dispose();
      },
      dispose: () => tf.dispose([x, y]),
    };
  },

  async mlpStep(data): Promise<MlpCase> {
    const x = tf.tensor2d(data.x, [MLP.batch, MLP.input]);
    const y = tf.tensor2d(data.y, [MLP.batch, MLP.classes]);
    const p = {} as Record<ParamName, tf.Variable>;
    for (const name of paramNames) {
      p[name] = tf.variable(
        tf.tensor(data.params[name], [...mlpShapes[name]]),
        true,
        `mlp_${name}`,
      );
    }
    const vars = paramNames.map((name) => p[name]);
    const optimizer = tf.train.sgd(MLP.lr);
    const loss = (): tf.Scalar => {
      const h1 = tf.tanh(tf.add(tf.matMul(x, p.w1), p.b1));
      const h2 = tf.tanh(tf.add(tf.matMul(h1, p.w2), p.b2));
      const logits = tf.add(tf.matMul(h2, p.w3), p.b3);
      return tf.mean(tf.sub(tf.logSumExp(logits, 1), tf.sum(tf.mul(logits, y), 1)));
    };
    const step = async (): Promise<number> => {
      const cost = optimizer.minimize(loss, true, vars)!;
      const value = (await cost.data())[0]!;
      cost.dispose();
      return value;
    };
    const losses: [number, number] = [await step(), await step()];
    return {
      run: step,
      losses,
      dispose: () => {
        optimizer.dispose();
        tf.dispose([x, y, ...vars]);
      },
    };
  },

  elementwise(data): Case {
    const x = tf.tensor1d(data);
    return { run: tanhChain(x), dispose: () => x.dispose(), note: "no jit in tfjs: eager ops" };
  },

  loop(data, steps): Case {
    const x = tf.tensor1d(data);
    return {
      run: loopRun(x, steps),
      dispose: () => x.dispose(),
      note: "no compiled loops in tfjs: eager ops",
    };
  },

  loopEager(data, steps): Case {
    const x = tf.tensor1d(data);
    return { run: loopRun(x, steps), dispose: () => x.dispose() };
  },

  elementwiseEager(data): Case {
    const x = tf.tensor1d(data);
    return { run: tanhChain(x), dispose: () => x.dispose() };
  },

  eagerAdd(a, b, ops): Case {
    const x = tf.tensor1d(a);
    const y = tf.tensor1d(b);
    return {
      run: async () => {
        const outs: tf.Tensor[] = [];
        for (let k = 0; k < ops; k++) outs.push(tf.add(x, y));
        await outs[outs.length - 1]!.data();
        tf.dispose(outs);
      },
      dispose: () => tf.dispose([x, y]),
    };
  },
};

/** `steps` eager steps of x·0.99 + sin(x), intermediates freed as they go. */
function loopRun(x: tf.Tensor1D, steps: number): () => Promise<void> {
  return async () => {
    const y = tf.tidy(() => {
      let v: tf.Tensor = x;
      for (let i = 0; i < steps; i++) v = tf.add(tf.mul(v, 0.99), tf.sin(v));
      return v;
    });
    await y.data();
    y.dispose();
  };
}

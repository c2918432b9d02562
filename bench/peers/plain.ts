/**
 * Plain JavaScript: hand-written loops over Float32Arrays, the floor any JS library should reach.
 * The MLP step is a hand-derived forward and backward pass with in-place SGD.
 */
import type { Case } from "../measure.js";
import {
  MLP,
  paramNames,
  type MlpCase,
  type MlpData,
  type MlpParams,
  type Peer,
} from "../workloads.js";

/** c[m, n] (+)= a[m, k] @ b[k, n] (i-k-j order, contiguous inner loop). */
function matmulNN(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  m: number,
  k: number,
  n: number,
): void {
  c.fill(0);
  for (let i = 0; i < m; i++) {
    const ci = i * n;
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p]!;
      const bp = p * n;
      for (let j = 0; j < n; j++) c[ci + j]! += aip * b[bp + j]!;
    }
  }
}

/** c[k, n] = a[m, k]ᵀ @ b[m, n]. */
function matmulTN(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  m: number,
  k: number,
  n: number,
): void {
  c.fill(0);
  for (let i = 0; i < m; i++) {
    const bi = i * n;
    for (let p = 0; p < k; p++) {
      const api = a[i * k + p]!;
      const cp = p * n;
      for (let j = 0; j < n; j++) c[cp + j]! += api * b[bi + j]!;
    }
  }
}

/** c[m, k] = a[m, n] @ b[k, n]ᵀ. */
function matmulNT(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  m: number,
  n: number,
  k: number,
): void {
  for (let i = 0; i < m; i++) {
    const ai = i * n;
    for (let p = 0; p < k; p++) {
      const bp = p * n;
      let acc = 0;
      for (let j = 0; j < n; j++) acc += a[ai + j]! * b[bp + j]!;
      c[i * k + p] = acc;
    }
  }
}

/** Buffers of one MLP step, allocated once. */
class PlainMlp {
  readonly p: MlpParams;
  private readonly z1 = new Float32Array(MLP.batch * MLP.hidden);
  private readonly z2 = new Float32Array(MLP.batch * MLP.hidden);
  private readonly logits = new Float32Array(MLP.batch * MLP.classes);
  private readonly d1 = new Float32Array(MLP.batch * MLP.hidden);
  private readonly d2 = new Float32Array(MLP.batch * MLP.hidden);
  private readonly g: MlpParams;

  constructor(
    initial: MlpParams,
    private readonly x: Float32Array,
    private readonly y: Float32Array,
  ) {
    this.p = {} as MlpParams;
    this.g = {} as MlpParams;
    for (const name of paramNames) {
      this.p[name] = initial[name].slice();
      this.g[name] = new Float32Array(initial[name].length);
    }
  }

  /** One SGD step; returns the loss before the update. */
  step(): number {
    const { batch: B, input: I, hidden: H, classes: C, lr } = MLP;
    const { p, g, x, y, z1, z2, logits, d1, d2 } = this;
    // Forward: h1 = tanh(x w1 + b1) (kept in z1), h2 = tanh(h1 w2 + b2) (in z2), logits.
    matmulNN(x, p.w1, z1, B, I, H);
    for (let i = 0; i < B * H; i++) z1[i] = Math.tanh(z1[i]! + p.b1[i % H]!);
    matmulNN(z1, p.w2, z2, B, H, H);
    for (let i = 0; i < B * H; i++) z2[i] = Math.tanh(z2[i]! + p.b2[i % H]!);
    matmulNN(z2, p.w3, logits, B, H, C);
    // Softmax cross-entropy; logits become d loss / d logits.
    let loss = 0;
    for (let r = 0; r < B; r++) {
      const o = r * C;
      let max = -Infinity;
      for (let c = 0; c < C; c++) {
        logits[o + c]! += p.b3[c]!;
        max = Math.max(max, logits[o + c]!);
      }
      let sum = 0;
      for (let c = 0; c < C; c++) sum += Math.exp(logits[o + c]! - max);
      const lse = max + Math.log(sum);
      for (let c = 0; c < C; c++) {
        loss += (lse - logits[o + c]!) * y[o + c]!;
        logits[o + c] = (Math.exp(logits[o + c]! - lse) - y[o + c]!) / B;
      }
    }
    // Backward.
    matmulTN(z2, logits, g.w3, B, H, C);
    columnSums(logits, g.b3, B, C);
    matmulNT(logits, p.w3, d2, B, C, H);
    for (let i = 0; i < B * H; i++) d2[i] = d2[i]! * (1 - z2[i]! * z2[i]!);
    matmulTN(z1, d2, g.w2, B, H, H);
    columnSums(d2, g.b2, B, H);
    matmulNT(d2, p.w2, d1, B, H, H);
    for (let i = 0; i < B * H; i++) d1[i] = d1[i]! * (1 - z1[i]! * z1[i]!);
    matmulTN(x, d1, g.w1, B, I, H);
    columnSums(d1, g.b1, B, H);
    // SGD, in place.
    for (const name of paramNames) {
      const w = p[name];
      const gw = g[name];
      for (let i = 0; i < w.length; i++) w[i]! -= lr * gw[i]!;
    }
    return loss / B;
  }
}

function columnSums(a: Float32Array, out: Float32Array, m: number, n: number): void {
  out.fill(0);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[j]! += a[i * n + j]!;
}

function tanhLoop(x: Float32Array, out: Float32Array): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    out[i] = Math.tanh(2 * v + 1) * v;
  }
}

export const plain: Peer = {
  name: "plain JS",

  setup: () => Promise.resolve(`node ${process.version}, single thread, Float32Array loops`),

  matmul(n, a, b): Case {
    const c = new Float32Array(n * n);
    return { run: () => matmulNN(a, b, c, n, n, n) };
  },

  mlpStep(data: MlpData): Promise<MlpCase> {
    const mlp = new PlainMlp(data.params, data.x, data.y);
    const losses: [number, number] = [mlp.step(), mlp.step()];
    return Promise.resolve({ run: () => mlp.step(), losses });
  },

  elementwise(x): Case {
    const out = new Float32Array(x.length);
    return { run: () => tanhLoop(x, out), note: "one fused loop into a preallocated buffer" };
  },

  loop(x, steps): Case {
    const y = new Float32Array(x.length);
    return {
      run: () => {
        y.set(x);
        for (let s = 0; s < steps; s++)
          for (let i = 0; i < y.length; i++) y[i] = y[i]! * 0.99 + Math.sin(y[i]!);
        return y;
      },
      note: "a double loop over one Float32Array",
    };
  },

  eagerAdd(a, b, ops): Case {
    return {
      run: () => {
        const outs: Float32Array[] = [];
        for (let k = 0; k < ops; k++) {
          const o = new Float32Array(a.length);
          for (let i = 0; i < a.length; i++) o[i] = a[i]! + b[i]!;
          outs.push(o);
        }
        return outs;
      },
    };
  },
};

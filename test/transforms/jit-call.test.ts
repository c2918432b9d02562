/**
 * A jitted function called inside staged code (an outer jit, a loop body) is one `jit_call`
 * equation, staged once per signature and reused: the IR shows the call, the compiler inlines it,
 * and every transform of the enclosing function sees through it.
 */
import { describe, expect, it } from "vitest";
import { grad, jit, lax, np, vmap, type NDArray } from "../../src/index.js";
import { expectClose } from "../helpers/assertions.js";

const x = np.linspace(-1, 1, 32).reshape([4, 8]);
const w = np.linspace(-0.5, 0.7, 64).reshape([8, 8]);
const tol = { rtol: 1e-5, atol: 1e-6 };

function tracedLayer(): { layer: (x: NDArray, w: NDArray) => NDArray; traces: () => number } {
  let count = 0;
  const layer = jit(function layer(x: NDArray, w: NDArray) {
    count++;
    return np.tanh(np.matmul(x, w));
  });
  return { layer, traces: () => count };
}

describe("jit_call", () => {
  it("stages a jitted function once for repeated calls inside an outer jit", () => {
    const { layer, traces } = tracedLayer();
    const model = (x: NDArray, w: NDArray): NDArray => {
      let h = x;
      for (let i = 0; i < 6; i++) h = layer(h, w);
      return h.sum();
    };
    const lowered = jit(model).lower(x, w);
    expect(traces()).toBe(1);
    const text = lowered.program.toString();
    expect(text.match(/jit_call\[name=layer/g)).toHaveLength(6);
    expect(lowered.optimized.toString()).not.toContain("jit_call");
    expect(lowered.optimized.toString().match(/tanh/g)).toHaveLength(6);
    expectClose(jit(model)(x, w), model(x, w), tol);
    // Another shape is another signature: staged once more.
    jit(model).lower(x.get("0:2"), w);
    expect(traces()).toBe(3); // + the eager call's own compile above
  });

  it("differentiates, batches and loops through the call", () => {
    const { layer } = tracedLayer();
    const scanned = (x: NDArray, w: NDArray): NDArray =>
      lax.scan((h: NDArray, _: NDArray) => [layer(h, w), h], x, np.zeros([3]))[0].sum();
    const unrolled = (x: NDArray, w: NDArray): NDArray => {
      let h = x;
      for (let i = 0; i < 3; i++) h = np.tanh(np.matmul(h, w));
      return h.sum();
    };
    const gw = grad(unrolled, { argnums: 1 })(x, w);
    expectClose(grad(scanned, { argnums: 1 })(x, w), gw, tol);
    expectClose(jit(grad(scanned, { argnums: 1 }))(x, w), gw, tol);
    expectClose(grad(jit(scanned), { argnums: 1 })(x, w), gw, tol);
    const batch = np.stack([x, x.mul(2)]);
    const want = np.stack([unrolled(x, w), unrolled(x.mul(2), w)]);
    expectClose(vmap((b: NDArray) => scanned(b, w))(batch), want, tol);
    expectClose(jit(vmap((b: NDArray) => scanned(b, w)))(batch), want, tol);
  });

  it("a jitted function closing over a value the outer staging traces is traced through", () => {
    const outer = (x: NDArray, scale: NDArray): NDArray => {
      const inner = jit((y: NDArray) => y.mul(scale)); // closes over a traced value
      return inner(x).sum();
    };
    const lowered = jit(outer).lower(x, np.array(3));
    expect(lowered.program.toString()).not.toContain("jit_call");
    expectClose(jit(outer)(x, np.array(3)), x.mul(3).sum(), tol);
  });
});

describe("jit_call with static arguments", () => {
  it("stages once per static value inside an outer jit", () => {
    let traces = 0;
    const power = jit(
      (x: NDArray, k: number) => {
        traces++;
        let y = x;
        for (let i = 1; i < k; i++) y = y.mul(x);
        return y;
      },
      { staticArgnums: 1 },
    );
    const outer = (x: NDArray): NDArray => power(x, 2).add(power(x, 3)).add(power(x, 2));
    const lowered = jit(outer).lower(x);
    expect(traces).toBe(2);
    expect(lowered.program.toString().match(/jit_call/g)).toHaveLength(3);
    expectClose(jit(outer)(x), x.mul(x).mul(2).add(x.mul(x).mul(x)), tol);
  });
});

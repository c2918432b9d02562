/**
 * GRUCell and LSTMCell: one step equals PyTorch's GRUCell/LSTMCell (outputs and gradients with
 * respect to input, hidden state and every weight, float64); PyTorch's initialisation; batches,
 * lax.scan over a sequence, jit and vmap; bad shapes are typed errors.
 */
import { describe, expect, it } from "vitest";
import {
  jit,
  lax,
  nn,
  np,
  random,
  vmap,
  ShapeError,
  ValueError,
  type NDArray,
} from "../../src/index.js";
import { expectClose, expectTypedError } from "../helpers/assertions.js";
import { checkAgainstTorch, fixture, float64Options } from "./layer-fixtures.js";

const file = "recurrent.test.ts";

describe("against PyTorch", () => {
  for (const c of fixture.gru) {
    it(`GRUCell: ${c.name}`, () => {
      const { inputSize, hiddenSize, ...options } = float64Options(c, random.key(0));
      const cell = new nn.GRUCell(
        inputSize as number,
        hiddenSize as number,
        options as unknown as nn.RecurrentCellOptions,
      );
      checkAgainstTorch(c, cell, (m, i) => [m.forward(i.x!, i.h!)]);
    });
  }
  for (const c of fixture.lstm) {
    it(`LSTMCell: ${c.name}`, () => {
      const { inputSize, hiddenSize, ...options } = float64Options(c, random.key(0));
      const cell = new nn.LSTMCell(
        inputSize as number,
        hiddenSize as number,
        options as unknown as nn.RecurrentCellOptions,
      );
      checkAgainstTorch(c, cell, (m, i) => m.forward(i.x!, [i.h!, i.c!]));
    });
  }
});

describe("recurrent cells", () => {
  it("are initialised uniform in ±1/√hiddenSize, with PyTorch's parameter shapes", () => {
    const gru = new nn.GRUCell(5, 16, { key: random.key(1) });
    expect(gru.weightIh.shape).toEqual([48, 5]);
    expect(gru.weightHh.shape).toEqual([48, 16]);
    expect(gru.biasIh!.shape).toEqual([48]);
    const lstm = new nn.LSTMCell(5, 16, { key: random.key(2), useBias: false });
    expect(lstm.weightIh.shape).toEqual([64, 5]);
    expect(lstm.biasIh).toBeNull();
    expect(lstm.biasHh).toBeNull();
    for (const w of [gru.weightIh, gru.weightHh, gru.biasHh!, lstm.weightHh]) {
      const abs = Array.from(w.toTypedArray(), Math.abs);
      expect(Math.max(...abs)).toBeLessThanOrEqual(0.25);
      expect(Math.max(...abs)).toBeGreaterThan(0.2);
    }
  });

  it("run a sequence with lax.scan; jit and vmap over a batch agree with the batched step", () => {
    const cell = new nn.LSTMCell(3, 4, { key: random.key(3) });
    const xs = random.normal(random.key(4), [6, 2, 3]);
    const zero = np.zeros([2, 4]);
    const run = (m: nn.LSTMCell, seq: NDArray): NDArray =>
      lax.scan(
        (hidden: [NDArray, NDArray], x: NDArray) => {
          const next = m.forward(x, hidden);
          return [next, next[0]];
        },
        [zero, zero] as [NDArray, NDArray],
        seq,
      )[1];
    let hidden: [NDArray, NDArray] = [zero, zero];
    const hs: NDArray[] = [];
    for (let t = 0; t < 6; t++) {
      hidden = cell.forward(xs.get(t), hidden);
      hs.push(hidden[0]);
    }
    expectClose(run(cell, xs), np.stack(hs), { rtol: 1e-5, atol: 1e-6 });
    expectClose(jit(run)(cell, xs), np.stack(hs), { rtol: 1e-5, atol: 1e-6 });
    const gru = new nn.GRUCell(3, 4, { key: random.key(5) });
    const h = random.normal(random.key(6), [2, 4]);
    expectClose(
      vmap((x: NDArray, hh: NDArray) => gru.forward(x, hh))(xs.get(0), h),
      gru.forward(xs.get(0), h),
      { rtol: 1e-5, atol: 1e-6 },
    );
  });

  it("reject bad shapes and a missing key", () => {
    const gru = new nn.GRUCell(3, 4, { key: random.key(7) });
    expectTypedError(
      () => gru.forward(np.ones([2]), np.zeros([4])),
      ShapeError,
      file,
      "nn.GRUCell.forward",
      "[3]",
    );
    expectTypedError(
      () => gru.forward(np.ones([2, 3]), np.zeros([4])),
      ShapeError,
      file,
      "hidden state [2, 4]",
    );
    const lstm = new nn.LSTMCell(3, 4, { key: random.key(8) });
    expectTypedError(
      () => lstm.forward(np.ones([3]), np.zeros([4]) as unknown as [NDArray, NDArray]),
      ShapeError,
      file,
      "pair [h, c]",
    );
    expectTypedError(
      () => lstm.forward(np.ones([3]), [np.zeros([4]), np.zeros([5])]),
      ShapeError,
      file,
      "[5]",
    );
    expectTypedError(
      () => new nn.GRUCell(3, 4, {} as nn.RecurrentCellOptions),
      ValueError,
      file,
      "needs { key }",
    );
    expectTypedError(
      () => new nn.LSTMCell(3, 0, { key: random.key(0) }),
      ValueError,
      file,
      "hiddenSize",
    );
  });
});

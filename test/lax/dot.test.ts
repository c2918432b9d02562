/**
 * `lax.dotGeneral`: batched and plain contractions against `np.matmul`/`np.einsum`, gradients by
 * central differences, `vmap`, `jit`, and the errors for axes that do not pair up.
 */
import { describe, expect, it } from "vitest";
import {
  checkGrads,
  jit,
  lax,
  np,
  ShapeError,
  ValueError,
  vmap,
  type NDArray,
} from "../../src/index.js";
import { expectClose, expectTypedError } from "../helpers/assertions.js";
import { random } from "../helpers/numeric.js";

const file = "dot.test.ts";

describe("lax.dotGeneral", () => {
  it("a batched matmul, a transposed contraction and an outer product equal their np forms", () => {
    const a = random([2, 3, 4], 1);
    const b = random([2, 4, 5], 2);
    expectClose(
      lax.dotGeneral(a, b, { contracting: [[2], [1]], batch: [[0], [0]] }),
      np.matmul(a, b),
    );
    const c = random([5, 4], 3);
    expectClose(lax.dotGeneral(a, c, { contracting: [[2], [1]] }), np.einsum("bij,kj->bik", a, c));
    const u = random([3], 4);
    const v = random([2], 5);
    expectClose(lax.dotGeneral(u, v), np.outer(u, v));
    expect(lax.dotGeneral(u, v).shape).toEqual([3, 2]);
  });

  it("small products of views (read through their strides) equal those of contiguous copies", () => {
    // Below the kernels' size: the plain loop, which reads transposed, reversed, sliced and
    // broadcast operands where they are.
    const copy = (x: NDArray): NDArray => np.array(x.toTypedArray()).reshape([...x.shape]);
    for (const dtype of ["float32", "int32"] as const) {
      const base = random([6, 5], 4).mul(10).astype(dtype);
      const other = random([5, 4], 5).mul(10).astype(dtype);
      const views = [base.T.T, base.get("::-1, 1:"), base.get("1:5, ::-2")];
      for (const x of views) {
        const y = other.get(`:${x.shape[1]}`);
        expect(np.matmul(x, y).toTypedArray()).toEqual(np.matmul(copy(x), y).toTypedArray());
        expect(np.matmul(y.T, x.T).toTypedArray()).toEqual(
          np.matmul(copy(y.T), copy(x.T)).toTypedArray(),
        );
      }
      // A batch axis broadcast (stride 0) against a batched operand, and a two-axis contraction
      // (copied row-major first).
      const row = np.broadcastTo(base.get("None"), [3, 6, 5]);
      const batched = random([3, 5, 2], 6).mul(10).astype(dtype);
      expect(np.matmul(row, batched).toTypedArray()).toEqual(
        np.matmul(copy(row), batched).toTypedArray(),
      );
      const cube = random([3, 4, 5], 7).mul(10).astype(dtype);
      const slab = random([3, 5, 2], 8).mul(10).astype(dtype);
      const pair = lax.dotGeneral(cube, slab, {
        contracting: [
          [0, 2],
          [0, 1],
        ],
      });
      const [c, s] = [cube.toTypedArray(), slab.toTypedArray()];
      const expected = Array.from({ length: 8 }, (_, o) => {
        let sum = 0;
        for (let i = 0; i < 3; i++) {
          for (let k = 0; k < 5; k++) {
            sum += c[(i * 4 + Math.floor(o / 2)) * 5 + k]! * s[(i * 5 + k) * 2 + (o % 2)]!;
          }
        }
        return sum;
      });
      expectClose(pair, np.array(expected).reshape([4, 2]).astype(dtype), { rtol: 1e-6 });
    }
  });

  it("differentiates in both operands (order 2), batches and compiles", () => {
    const a = random([2, 3, 4], 6);
    const b = random([2, 4, 5], 7);
    const f = (x: NDArray, y: NDArray): NDArray =>
      lax.dotGeneral(x, y, { contracting: [[2], [1]], batch: [[0], [0]] });
    checkGrads((x: NDArray, y: NDArray) => f(x, y).sum(), [a, b], { order: 2 });
    const as = np.stack([a, a.mul(2)]);
    const bs = np.stack([b, b.neg()]);
    expectClose(vmap(f)(as, bs), np.stack([f(a, b), f(a.mul(2), b.neg())]));
    expectClose(jit(f)(a, b), f(a, b));
  });

  it("axes that do not pair up or are malformed are typed errors at the caller's line", () => {
    const a = np.ones([2, 3]);
    const b = np.ones([4, 3]);
    expectTypedError(
      () => lax.dotGeneral(a, b, { contracting: [[0], [0]] }),
      ShapeError,
      file,
      "contracting axes differ",
    );
    expectTypedError(
      () => lax.dotGeneral(a, b, { contracting: [[1], [5]] }),
      ShapeError,
      file,
      "out of range",
    );
    expectTypedError(
      () => lax.dotGeneral(a, b, { contracting: [[1]] as never }),
      ValueError,
      file,
      "contracting must be [lhsAxes, rhsAxes]",
    );
  });
});

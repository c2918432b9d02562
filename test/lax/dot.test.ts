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

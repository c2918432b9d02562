/**
 * Products: matmul, dot, vdot, outer, inner (tensordot, einsum, trace and diag live in
 * `contractions.ts`).
 */
import type { ArrayLike, NDArray } from "../core/array.js";
import { ShapeError } from "../core/errors.js";
import { broadcastShapes, formatShape } from "../core/shape.js";
import { bind1 } from "../core/trace.js";
import { dotGeneral } from "../primitives/dot.js";
import { broadcastTo, convert, promote } from "./convert.js";
import { multiply } from "./math.js";
import { ravel, reshape } from "./shape.js";

function numericOperands(name: string, x: ArrayLike, y: ArrayLike): [NDArray, NDArray] {
  let [a, b] = promote(name, [x, y]) as [NDArray, NDArray];
  if (a.dtype === "bool") {
    a = convert(a, "int32");
    b = convert(b, "int32");
  }
  return [a, b];
}

/**
 * Matrix product with NumPy's rules: 1-D operands are promoted to matrices and the added axis
 * removed; leading axes broadcast as batch axes.
 * @example
 * np.matmul(np.ones([2, 3]), np.ones([3, 4])); // shape [2, 4]
 */
export function matmul(x: ArrayLike, y: ArrayLike): NDArray {
  const [a0, b0] = numericOperands("np.matmul", x, y);
  if (a0.ndim === 0 || b0.ndim === 0) {
    throw new ShapeError(
      "np.matmul",
      `operands must have at least one axis, got shapes ${formatShape(a0.shape)} and ${formatShape(b0.shape)}; use np.multiply for scalars.`,
    );
  }
  const a = a0.ndim === 1 ? reshape(a0, [1, a0.shape[0]!]) : a0;
  const b = b0.ndim === 1 ? reshape(b0, [b0.shape[0]!, 1]) : b0;
  const k1 = a.shape[a.ndim - 1]!;
  const k2 = b.shape[b.ndim - 2]!;
  if (k1 !== k2) {
    const hint =
      b.ndim >= 2 && b.shape[b.ndim - 1] === k1
        ? " Did you mean b.T?"
        : a.ndim >= 2 && a.shape[a.ndim - 2] === k2
          ? " Did you mean a.T?"
          : "";
    throw new ShapeError(
      "np.matmul",
      `the contracting dimensions differ — a has shape ${formatShape(a0.shape)} (last axis ${k1}), ` +
        `b has shape ${formatShape(b0.shape)} (${b0.ndim === 1 ? "only" : "second-to-last"} axis ${k2}).${hint}`,
    );
  }
  const batch = broadcastShapes("np.matmul", a.shape.slice(0, -2), b.shape.slice(0, -2));
  const aa = broadcastTo("np.matmul", a, [...batch, ...a.shape.slice(-2)]);
  const bb = broadcastTo("np.matmul", b, [...batch, ...b.shape.slice(-2)]);
  const nb = batch.length;
  const batchAxes = batch.map((_, i) => i);
  let out = bind1(dotGeneral, [aa, bb], {
    contracting: [[nb + 1], [nb]],
    batch: [batchAxes, batchAxes],
  });
  if (a0.ndim === 1) out = reshape(out, [...out.shape.slice(0, -2), out.shape[out.ndim - 1]!]);
  if (b0.ndim === 1) out = reshape(out, out.shape.slice(0, -1));
  return out;
}

/**
 * NumPy's `dot`: scalars multiply, 1-D·1-D is the inner product, N-D·1-D sums over the last
 * axis, N-D·M-D sums the last axis of `x` with the second-to-last of `y`.
 */
export function dot(x: ArrayLike, y: ArrayLike): NDArray {
  const [a, b] = numericOperands("np.dot", x, y);
  if (a.ndim === 0 || b.ndim === 0) return multiply(a, b);
  const ka = a.ndim - 1;
  const kb = b.ndim === 1 ? 0 : b.ndim - 2;
  if (a.shape[ka] !== b.shape[kb]) {
    throw new ShapeError(
      "np.dot",
      `shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} are not aligned: axis ${ka} of x has size ${a.shape[ka]} but axis ${kb} of y has size ${b.shape[kb]}.`,
    );
  }
  return bind1(dotGeneral, [a, b], { contracting: [[ka], [kb]], batch: [[], []] });
}

/** The inner product of the flattened arrays. */
export function vdot(x: ArrayLike, y: ArrayLike): NDArray {
  const [a, b] = numericOperands("np.vdot", x, y);
  if (a.size !== b.size) {
    throw new ShapeError(
      "np.vdot",
      `the arrays have ${a.size} and ${b.size} elements; vdot needs equal sizes.`,
    );
  }
  return bind1(dotGeneral, [ravel(a), ravel(b)], { contracting: [[0], [0]], batch: [[], []] });
}

/** The outer product of the flattened arrays: `out[i, j] = x[i] * y[j]`. */
export function outer(x: ArrayLike, y: ArrayLike): NDArray {
  const [a, b] = numericOperands("np.outer", x, y);
  return multiply(reshape(a, [-1, 1]), reshape(b, [1, -1]));
}

/** Sum product over the last axes of `x` and `y`. */
export function inner(x: ArrayLike, y: ArrayLike): NDArray {
  const [a, b] = numericOperands("np.inner", x, y);
  if (a.ndim === 0 || b.ndim === 0) return multiply(a, b);
  if (a.shape[a.ndim - 1] !== b.shape[b.ndim - 1]) {
    throw new ShapeError(
      "np.inner",
      `the last axes differ: x has shape ${formatShape(a.shape)} and y has shape ${formatShape(b.shape)}.`,
    );
  }
  return bind1(dotGeneral, [a, b], { contracting: [[a.ndim - 1], [b.ndim - 1]], batch: [[], []] });
}

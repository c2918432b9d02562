/**
 * `vmap`: the batched function equals a loop of single applications stacked, for every way of
 * choosing axes (`inAxes`/`outAxes` as numbers, `null`, or pytrees of them, and `axisSize`),
 * nested, with closures, and composed with the derivative transforms. Converting a batched value
 * to a JS number is a TracerError naming the line; bad axes give typed errors naming this file.
 */
import { describe, expect, it } from "vitest";
import {
  FluxionError,
  ShapeError,
  TracerError,
  TreeError,
  ValueError,
  grad,
  jvp,
  np,
  vmap,
  type NDArray,
} from "../../src/index.js";
import {
  expectClose,
  expectCleanState,
  expectTypedError,
  lineHere,
} from "../helpers/assertions.js";
import { f64, numericGrad, values } from "../helpers/numeric.js";

const file = "vmap.test.ts";
const exact = { rtol: 1e-12, atol: 1e-12 };

/** `x` sliced at `i` along `axis`. */
function take(x: NDArray, i: number, axis: number): NDArray {
  return np.moveaxis(x, axis, 0).get(i);
}

const m = f64([
  [0.5, -1, 2],
  [1.5, 0.25, -0.75],
  [3, 1, 0],
  [-2, 0.5, 1],
]);

describe("vmap equals a loop", () => {
  it("maps over axis 0 by default", () => {
    const f = (row: NDArray): NDArray => np.sqrt(row.mul(row).sum()).add(np.sin(row).max());
    const batched = vmap(f)(m);
    expect(batched.shape).toEqual([4]);
    expectClose(batched, np.stack([0, 1, 2, 3].map((i) => f(m.get(i)))), exact);
  });

  it("inAxes 1 and -1 map over columns", () => {
    const f = (col: NDArray): NDArray => col.mul(np.arange(4, { dtype: "float64" })).sum();
    const looped = np.stack([0, 1, 2].map((j) => f(take(m, j, 1))));
    expectClose(vmap(f, { inAxes: 1 })(m), looped, exact);
    expectClose(vmap(f, { inAxes: -1 })(m), looped, exact);
  });

  it("inAxes as a list with null broadcasts an argument to every element", () => {
    const w = f64([1, 10, 100]);
    const f = (weights: NDArray, row: NDArray): NDArray => np.matmul(row, weights);
    const batched = vmap(f, { inAxes: [null, 0] })(w, m);
    expectClose(batched, np.stack([0, 1, 2, 3].map((i) => f(w, m.get(i)))), exact);
  });

  it("inAxes as a pytree of axes for pytree arguments", () => {
    type Args = { a: NDArray; pair: [NDArray, NDArray] };
    const f = (args: Args, scale: NDArray): NDArray =>
      args.a.mul(args.pair[0]).sum().add(args.pair[1].mul(scale));
    const a = m; // mapped over axis 0 (4 rows)
    const first = m.T; // [3, 4]: mapped over axis 1
    const second = f64([1, 2, 3, 4]); // mapped over axis 0
    const scale = f64(0.5); // unmapped
    const batched = vmap(f, { inAxes: [{ a: 0, pair: [1, 0] }, null] })(
      { a, pair: [first, second] },
      scale,
    );
    const looped = np.stack(
      [0, 1, 2, 3].map((i) => f({ a: a.get(i), pair: [take(first, i, 1), second.get(i)] }, scale)),
    );
    expect(batched.shape).toEqual([4]);
    expectClose(batched, looped, exact);
  });

  it("an inAxes entry that is a prefix applies to the whole subtree", () => {
    const f = (p: { x: NDArray; y: NDArray }): NDArray => p.x.add(p.y);
    const p = { x: m, y: m.mul(2) };
    const batched = vmap(f, { inAxes: [0] })(p);
    expectClose(batched, m.mul(3), exact);
    expectClose(vmap(f, { inAxes: [{ x: 1, y: 1 }] })(p), m.mul(3).T, exact);
  });

  it("outAxes as a number, negative, or a pytree", () => {
    const f = (row: NDArray): { sum: NDArray; doubled: NDArray } => ({
      sum: row.sum(),
      doubled: row.mul(2),
    });
    const out = vmap(f, { outAxes: { sum: 0, doubled: 1 } })(m);
    expectClose(out.sum, m.sum({ axis: 1 }), exact);
    expectClose(out.doubled, m.mul(2).T, exact);
    expectClose(vmap((row: NDArray) => row.mul(2), { outAxes: -1 })(m), m.mul(2).T, exact);
    expectClose(vmap((row: NDArray) => row.mul(2), { outAxes: 1 })(m), m.mul(2).T, exact);
  });

  it("outAxes null leaves an unbatched output unbatched", () => {
    const f = (row: NDArray): [NDArray, NDArray] => [row.sum(), f64([7, 8])];
    const [sums, constant] = vmap(f, { outAxes: [0, null] })(m);
    expectClose(sums, m.sum({ axis: 1 }), exact);
    expectClose(constant, f64([7, 8]), exact);
  });

  it("top-level outAxes: null leaves every (unbatched) output unbatched", () => {
    const f = (_row: NDArray): NDArray => f64([7, 8]);
    const out = vmap(f, { outAxes: null })(m);
    expect(out.shape).toEqual([2]);
    expectClose(out, f64([7, 8]), exact);
  });

  it("an unbatched output is broadcast along the batch axis by default", () => {
    const out = vmap((_row: NDArray) => f64([7, 8]))(m);
    expect(out.shape).toEqual([4, 2]);
    expectClose(out, np.stack([0, 1, 2, 3].map(() => f64([7, 8]))), exact);
    // A JS number output becomes an array (vmap's static type keeps f's return type).
    const constant = vmap((_row: NDArray) => 1)(m) as unknown as NDArray;
    expect(values(constant)).toEqual([1, 1, 1, 1]);
  });

  it("axisSize sets the batch size when no argument is mapped (inAxes [null])", () => {
    const out = vmap((x: NDArray) => x.mul(2), { inAxes: [null], axisSize: 3 })(f64([1, 2]));
    expect(out.shape).toEqual([3, 2]);
    expectClose(out, np.stack([0, 1, 2].map(() => f64([2, 4]))), exact);
  });

  it("axisSize with top-level inAxes: null", () => {
    const out = vmap((x: NDArray) => x.mul(2), { inAxes: null, axisSize: 3 })(f64([1, 2]));
    expect(out.shape).toEqual([3, 2]);
    expectClose(out, np.stack([0, 1, 2].map(() => f64([2, 4]))), exact);
  });

  it("axisSize equal to the mapped size is accepted", () => {
    expectClose(vmap((r: NDArray) => r.sum(), { axisSize: 4 })(m), m.sum({ axis: 1 }), exact);
  });

  it("JS numbers pass through unmapped arguments", () => {
    const f = (row: NDArray, s: number): NDArray => row.mul(s);
    expectClose(vmap(f, { inAxes: [0, null] })(m, 3), m.mul(3), exact);
  });

  it("batched matmul, with one operand unbatched", () => {
    const a = np.arange(24, { dtype: "float64" }).reshape([4, 2, 3]);
    const b = np.arange(12, { dtype: "float64" }).reshape([3, 4]).div(10);
    const out = vmap((x: NDArray, y: NDArray) => np.matmul(x, y), { inAxes: [0, null] })(a, b);
    expect(out.shape).toEqual([4, 2, 4]);
    expectClose(out, np.stack([0, 1, 2, 3].map((i) => np.matmul(a.get(i), b))), exact);
  });
});

describe("nesting and closures", () => {
  it("nested vmap builds an outer product", () => {
    const a = f64([1, 2, 3]);
    const b = f64([10, 20]);
    const mul = (x: NDArray, y: NDArray): NDArray => x.mul(y);
    const table = vmap(vmap(mul, { inAxes: [null, 0] }), { inAxes: [0, null] })(a, b);
    expect(table.shape).toEqual([3, 2]);
    expectClose(table, np.outer(a, b), exact);
  });

  it("an inner vmap may close over the outer batched value", () => {
    const a = f64([1, 2, 3]);
    const b = f64([10, 20, 30, 40]);
    const table = vmap((x: NDArray) => vmap((y: NDArray) => x.mul(y).add(x))(b))(a);
    expect(table.shape).toEqual([3, 4]);
    expectClose(table, np.outer(a, b).add(a.reshape([3, 1])), exact);
  });

  it("a function that closes over arrays (constants) is batched only in its argument", () => {
    const w = f64([
      [1, 0],
      [0, 2],
      [1, 1],
    ]);
    const bias = f64([0.5, -0.5]);
    const layer = (row: NDArray): NDArray => np.tanh(np.matmul(row, w).add(bias));
    expectClose(vmap(layer)(m), np.tanh(np.matmul(m, w).add(bias)), exact);
  });

  it("per-example gradients: vmap of grad equals a loop of grads (and central differences)", () => {
    const w = f64([0.3, -0.2, 0.5]);
    const lossOf = (weights: NDArray, row: NDArray): NDArray =>
      np.tanh(weights.mul(row).sum()).pow(2);
    const perExample = vmap(grad(lossOf), { inAxes: [null, 0] })(w, m);
    expect(perExample.shape).toEqual([4, 3]);
    const looped = np.stack([0, 1, 2, 3].map((i) => grad(lossOf)(w, m.get(i))));
    expectClose(perExample, looped, exact);
    expectClose(looped.get(1), numericGrad(lossOf, [w, m.get(1)]), { rtol: 1e-6, atol: 1e-8 });
  });

  it("grad of a vmapped loss that closes over the differentiated weights", () => {
    const w = f64([0.3, -0.2, 0.5]);
    const total = (weights: NDArray): NDArray =>
      vmap((row: NDArray) => np.tanh(weights.mul(row).sum()).pow(2))(m).sum();
    expectClose(grad(total)(w), numericGrad(total, [w]), { rtol: 1e-6, atol: 1e-8 });
  });

  it("vmap of jvp and jvp of vmap agree with a loop", () => {
    const f = (x: NDArray): NDArray => np.sin(x).mul(x.sum());
    const t = f64([1, 0, -1]);
    const viaVmap = vmap((row: NDArray) => jvp(f, [row], [t])[1])(m);
    const looped = np.stack([0, 1, 2, 3].map((i) => jvp(f, [m.get(i)], [t])[1]));
    expectClose(viaVmap, looped, exact);
    const tangents = np.stack([0, 1, 2, 3].map(() => t));
    const [, outer] = jvp(vmap(f), [m], [tangents]);
    expectClose(outer, looped, exact);
  });
});

describe("converting a batched value to a JS number is a TracerError at the user's line", () => {
  const rows = f64([
    [1, 2],
    [3, 4],
  ]);

  function expectTracerErrorAt(run: () => unknown, line: number): void {
    const error = expectTypedError(run, TracerError, file, "np.where", "lax.cond");
    expect(error.message).toContain(`${file}:${line}:`);
    expect(error.site?.line).toBe(line);
  }

  it("x.item()", () => {
    const line = lineHere() + 1;
    const f = (row: NDArray): number => row.sum().item() as number;
    expectTracerErrorAt(() => vmap(f)(rows), line);
  });

  it("+x", () => {
    const line = lineHere() + 1;
    const f = (row: NDArray): NDArray => (+row.sum() > 0 ? row : row.neg());
    expectTracerErrorAt(() => vmap(f)(rows), line);
  });

  it("Number(x)", () => {
    const line = lineHere() + 1;
    const f = (row: NDArray): NDArray => row.mul(Number(row.max()));
    expectTracerErrorAt(() => vmap(f)(rows), line);
  });

  it("inside grad inside vmap, too", () => {
    const line = lineHere() + 1;
    const f = (x: NDArray): NDArray => ((x.sum().item() as number) > 0 ? x.sum() : x.sum().neg());
    expectTracerErrorAt(() => vmap(grad(f))(rows), line);
  });

  it("an unbatched value closed over can still be read", () => {
    const scale = f64(3);
    const out = vmap((row: NDArray) => row.mul(scale.item() as number))(rows);
    expectClose(out, rows.mul(3), exact);
  });
});

describe("bad axes", () => {
  const a = f64([
    [1, 2, 3],
    [4, 5, 6],
  ]);

  it("an inAxes axis out of range: ShapeError naming the shape", () => {
    const f = (x: NDArray): NDArray => x.sum();
    expectTypedError(() => vmap(f, { inAxes: 2 })(a), ShapeError, file, "[2, 3]");
    expectTypedError(() => vmap(f, { inAxes: -3 })(a), ShapeError, file);
    expectTypedError(() => vmap(f)(f64(1)), ShapeError, file);
  });

  it("mapped axes of different sizes across arguments: ShapeError naming both sizes", () => {
    const f = (x: NDArray, y: NDArray): NDArray => x.sum().add(y.sum());
    const e = expectTypedError(() => vmap(f)(a, f64([1, 2, 3])), ShapeError, file);
    expect(e.message).toContain("2");
    expect(e.message).toContain("3");
    expectTypedError(() => vmap(f, { inAxes: [1, 0] })(a, f64([1, 2])), ShapeError, file);
  });

  it("inAxes with the wrong number of entries: ValueError", () => {
    const f = (x: NDArray, y: NDArray): NDArray => x.add(y);
    expectTypedError(() => vmap(f, { inAxes: [0] })(a, a), ValueError, file, "inAxes");
    expectTypedError(() => vmap(f, { inAxes: [0, 0, 0] })(a, a), ValueError, file, "inAxes");
  });

  it("inAxes whose structure does not match the arguments: ValueError", () => {
    const f = (p: { x: NDArray }): NDArray => p.x;
    expectTypedError(() => vmap(f, { inAxes: [{ y: 0 }] })({ x: a }), ValueError, file);
    expectTypedError(() => vmap(f, { inAxes: { x: 0 } })({ x: a }), ValueError, file);
  });

  it("an inAxes entry that is not an integer or null: a typed error", () => {
    const f = (x: NDArray): NDArray => x;
    expectTypedError(() => vmap(f, { inAxes: ["0" as unknown as number] })(a), FluxionError, file);
    expectTypedError(() => vmap(f, { inAxes: 0.5 })(a), FluxionError, file);
  });

  it("no mapped argument and no axisSize: ValueError suggesting axisSize", () => {
    const f = (x: NDArray): NDArray => x.mul(2);
    expectTypedError(() => vmap(f, { inAxes: [null] })(a), ValueError, file, "axisSize");
  });

  it("top-level inAxes: null and no axisSize: ValueError suggesting axisSize", () => {
    const f = (x: NDArray): NDArray => x.mul(2);
    expectTypedError(() => vmap(f, { inAxes: null })(a), ValueError, file, "axisSize");
  });

  it("axisSize that disagrees with the mapped size: a typed error", () => {
    expectTypedError(() => vmap((x: NDArray) => x, { axisSize: 5 })(a), FluxionError, file);
  });

  it("outAxes null on a batched output: ValueError", () => {
    const f = (x: NDArray): NDArray => x.mul(2);
    expectTypedError(() => vmap(f, { outAxes: [null] })(a), FluxionError, file);
    expectTypedError(
      () => vmap((x: NDArray) => [x, x], { outAxes: [0, null] })(a),
      ValueError,
      file,
    );
  });

  it("outAxes out of range or of the wrong structure: typed errors", () => {
    expectTypedError(() => vmap((x: NDArray) => x, { outAxes: 3 })(a), ShapeError, file);
    const f = (x: NDArray): { s: NDArray; d: NDArray } => ({ s: x.sum(), d: x });
    expectTypedError(() => vmap(f, { outAxes: { s: 0 } })(a), ValueError, file);
  });

  it("a non-array argument or output leaf: TreeError", () => {
    expectTypedError(() => vmap((x: unknown) => x)("text"), TreeError, file, "string");
    expectTypedError(() => vmap((_x: NDArray) => "text")(a), TreeError, file, "string");
  });

  it("a traced value that escapes vmap cannot be used afterwards: TracerError", () => {
    let leaked: NDArray | undefined;
    vmap((x: NDArray) => {
      leaked = x;
      return x;
    })(a);
    expectTypedError(() => leaked!.mul(2), TracerError, file, "escaped");
  });

  it("a shape error inside the mapped function names the line in this file", () => {
    expectTypedError(() => vmap((x: NDArray) => x.add(np.ones([7])))(a), ShapeError, file);
    expectCleanState();
  });
});

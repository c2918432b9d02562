/**
 * Structured control flow (`lax.cond`, `lax.switch`, `lax.scan`, `lax.map`, `lax.foriLoop`,
 * `lax.whileLoop`, `lax.select`): values against plain JS loops and unrolled fluxion code,
 * derivatives (grad, vjp, jvp, second order) against the same computation unrolled, vmap against a
 * loop over examples, jit against eager (bit for bit), the nested bodies in the IR printout, that
 * only the taken branch runs eagerly, and typed errors naming this file for every misuse.
 */
import { describe, expect, it } from "vitest";
import {
  FluxionError,
  ShapeError,
  TreeError,
  ValueError,
  checkGrads,
  grad,
  hessian,
  jit,
  jvp,
  lax,
  makeProgram,
  np,
  tree,
  vjp,
  vmap,
  type NDArray,
} from "../../src/index.js";
import { definePrimitive, type Primitive } from "../../src/core/primitive.js";
import { bind } from "../../src/core/trace.js";
import {
  expectClose,
  expectIdentical,
  expectJitExact,
  expectTypedError,
  lineHere,
} from "../helpers/assertions.js";
import { f64, random, values } from "../helpers/numeric.js";

const file = "control.test.ts";
const exact = { rtol: 0, atol: 0 };
const tight = { rtol: 1e-12, atol: 1e-12 };

// ----------------------------------------------------------------------------- helpers

const i32 = (data: number | number[]): NDArray => np.array(data, { dtype: "int32" });

/**
 * What `lax.scan` means, as a plain JS loop: slice every xs leaf with `.get(t)`, call `f`, and
 * stack the ys with `np.stack` (so derivatives of it are those of the unrolled ops).
 */
function scanRef<C, X, Y>(
  f: (carry: C, x: X) => readonly [C, Y],
  init: C,
  xs: X | null,
  options: { length?: number; reverse?: boolean } = {},
): [C, Y] {
  const [xLeaves, xTree] = tree.flatten(xs);
  const length = options.length ?? (xLeaves[0] as NDArray).shape[0]!;
  let carry = init;
  const ys: Y[] = new Array<Y>(length);
  for (let step = 0; step < length; step++) {
    const t = options.reverse === true ? length - 1 - step : step;
    const x = tree.unflatten(
      xTree,
      xLeaves.map((leaf) => (leaf as NDArray).get(t)),
    ) as X;
    const [next, y] = f(carry, x);
    carry = next;
    ys[t] = y;
  }
  const [first, yTree] = tree.flatten(ys[0]);
  const stacked = first.map((_, i) => np.stack(ys.map((y) => tree.leaves(y)[i] as NDArray)));
  return [carry, tree.unflatten(yTree, stacked) as Y];
}

/** `while (cond(c)) c = body(c)` in JS, reading the condition as a JS boolean. */
function whileRef<C>(
  condFn: (c: C) => NDArray,
  body: (c: C) => C,
  init: C,
  maxSteps = Infinity,
): C {
  let carry = init;
  for (let k = 0; k < maxSteps && (condFn(carry).item() as boolean); k++) carry = body(carry);
  return carry;
}

/** A JS number where the types want an array (a carry leaf may be a number). */
const jsNumber = (n: number): NDArray => n as unknown as NDArray;

// Float64 data of a small recurrent cell.
const W = random([3, 3], 1).mul(0.6);
const u = random([3], 2);
const h0 = random([3], 3);
const xs5 = random([5, 3], 4);

/** One RNN step: the next state, and a y per step. `w` may be captured by closure. */
const rnnStep =
  (w: NDArray) =>
  (h: NDArray, x: NDArray): readonly [NDArray, NDArray] => {
    const next = np.tanh(w.matmul(h).add(x.mul(u)));
    return [next, next.mul(next).sum().add(np.sin(x).mul(h).sum())] as const;
  };

type ScanLike = typeof scanRef;

/** A scalar loss of an RNN run by `scanImpl` (lax.scan or the unrolled reference). */
const rnnLoss =
  (scanImpl: ScanLike, reverse = false) =>
  (h: NDArray, xs: NDArray, w: NDArray): NDArray => {
    const [final, ys] = scanImpl(rnnStep(w), h, xs, { reverse });
    return final
      .mul(f64([1, -2, 0.5]))
      .sum()
      .add(ys.mul(np.arange(5).astype("float64")).sum());
  };

// A primitive that records when it is *executed* (its eager impl), not when it is staged, so that
// tests can see which branches and how many loop steps actually run. It is the identity with
// correct rules and an example, so a registry sweep that happened to see it would pass.
const executed: string[] = [];
const probe: Primitive<{ tag: string }> = definePrimitive<{ tag: string }>({
  name: "control_test_probe",
  linear: false,
  abstractEval: (avals) => [...avals],
  impl: (inputs, { tag }) => {
    executed.push(tag);
    return [...inputs];
  },
  jvp: (primals, tangents, params): [NDArray[], (NDArray | null)[]] => [
    bind(probe, primals, params),
    [...tangents],
  ],
  batch: (inputs, axes, params) => [bind(probe, inputs, params), [...axes]],
  examples: () => [{ inputs: [{ shape: [2], dtype: "float64" }], params: { tag: "example" } }],
});
const tap = (tag: string, x: NDArray): NDArray => bind(probe, [x], { tag })[0]!;

// ============================================================================= values

describe("lax.cond and lax.switch: values", () => {
  const x = f64([1, -2, 3]);
  const double = (v: NDArray): NDArray => v.mul(2);
  const negate = (v: NDArray): NDArray => v.neg();

  it("takes the true branch for a true/nonzero predicate and the false one otherwise", () => {
    const cases: [Parameters<typeof lax.cond>[0], boolean][] = [
      [true, true],
      [false, false],
      [np.array(true), true],
      [np.array(false), false],
      [3, true],
      [0, false],
      [f64(-2.5), true],
      [f64(0), false],
      [i32(7), true],
      [i32(0), false],
      [np.array(NaN), true],
    ];
    for (const [pred, taken] of cases) {
      const out = lax.cond(pred, double, negate, x);
      expectClose(out, taken ? x.mul(2) : x.neg(), { ...exact, label: String(pred) });
      expect(out.dtype).toBe("float64");
    }
  });

  it("passes several operands and pytree operands, and returns pytrees", () => {
    const a = f64([1, 2]);
    const b = f64([3, 5]);
    const onTrue = (p: NDArray, q: { r: NDArray; s: NDArray[] }) => ({
      sum: p.add(q.r),
      pair: [p.mul(q.s[0]!), q.s[1]!] as [NDArray, NDArray],
    });
    const onFalse = (p: NDArray, q: { r: NDArray; s: NDArray[] }) => ({
      sum: p.sub(q.r),
      pair: [q.s[0]!, p.mul(3)] as [NDArray, NDArray],
    });
    const ops = { r: b, s: [a.mul(10), f64([4, 5])] };
    for (const pred of [true, false]) {
      const got = lax.cond(pred, onTrue as never, onFalse as never, a, ops);
      const want = pred ? onTrue(a, ops) : onFalse(a, ops);
      expectClose(got, want, exact);
    }
  });

  it("branches may take no operands and read captured values (arrays and int outputs)", () => {
    const w = f64([2, 4]);
    const n = i32([1, 2]);
    const pick = (p: boolean) =>
      lax.cond(
        p,
        () => [w.mul(2), n.add(1)] as [NDArray, NDArray],
        () => [w.sub(1), n.mul(3)] as [NDArray, NDArray],
      );
    const [a, b] = pick(true);
    expect(a.toList()).toEqual([4, 8]);
    expect(b.toList()).toEqual([2, 3]);
    expect(b.dtype).toBe("int32");
    const [c, d] = pick(false);
    expect(c.toList()).toEqual([1, 3]);
    expect(d.toList()).toEqual([3, 6]);
  });

  const branches = [
    (v: NDArray): NDArray => v.add(100),
    (v: NDArray): NDArray => v.mul(10),
    (v: NDArray): NDArray => v.neg(),
  ];

  it("switch runs branches[index] for JS numbers and int32/uint32 arrays", () => {
    const want = [x.add(100), x.mul(10), x.neg()];
    for (let i = 0; i < 3; i++) {
      expectClose(lax.switch(i, branches, x), want[i], exact);
      expectClose(lax.switch(i32(i), branches, x), want[i], exact);
      expectClose(lax.switch(np.array(i, { dtype: "uint32" }), branches, x), want[i], exact);
    }
  });

  it("switch clamps the index: below 0 runs the first branch, past the end the last", () => {
    for (const i of [-1, -100, i32(-5)]) {
      expectClose(lax.switch(i, branches, x), x.add(100), { ...exact, label: String(i) });
    }
    for (const i of [3, 99, i32(2 ** 31 - 1)]) {
      expectClose(lax.switch(i, branches, x), x.neg(), { ...exact, label: String(i) });
    }
  });

  it("switch with one branch always runs it, with pytree operands", () => {
    const only = [({ a, b }: { a: NDArray; b: NDArray }) => a.mul(b)];
    for (const i of [-3, 0, 4]) {
      expectClose(lax.switch(i, only, { a: x, b: x }), x.mul(x), exact);
    }
  });
});

describe("lax.scan: values", () => {
  it("a cumulative sum equals a JS loop (final carry and stacked ys)", () => {
    const data = [1.5, -2, 3.25, 4, 0.5];
    const [total, running] = lax.scan(
      (c: NDArray, x: NDArray) => [c.add(x), c.add(x)] as const,
      f64(0),
      f64(data),
    );
    const expected: number[] = [];
    let s = 0;
    for (const d of data) expected.push((s += d));
    expect(total.item()).toBe(s);
    expect(running.toList()).toEqual(expected);
    expect(running.shape).toEqual([5]);
  });

  it("an RNN over rows equals the unrolled loop, bit for bit", () => {
    expectIdentical(lax.scan(rnnStep(W), h0, xs5), scanRef(rnnStep(W), h0, xs5));
  });

  it("pytree carries and xs (objects and arrays of arrays), pytree ys", () => {
    type Carry = { h: NDArray; n: NDArray };
    type Xs = { a: NDArray; b: [NDArray, NDArray] };
    const step = ({ h, n }: Carry, { a, b: [b0, b1] }: Xs) =>
      [
        { h: h.mul(a).add(b1.sum()), n: n.add(b0.gt(0).astype("int32")) },
        [h.sum(), { n, ab: a.mul(b0) }],
      ] as const;
    const init = { h: f64([1, 2]), n: i32(0) };
    const xs: Xs = {
      a: random([4, 2], 5),
      b: [random([4], 6), random([4, 3], 7)],
    };
    const got = lax.scan(step, init, xs);
    expectIdentical(got, scanRef(step, init, xs));
    const [carry, [sums, rest]] = got;
    expect(carry.n.dtype).toBe("int32");
    expect(carry.n.item()).toBe(values(xs.b[0]).filter((v) => v > 0).length);
    expect(sums.shape).toEqual([4]);
    expect(rest.n.toList()).toEqual(
      [0, 1, 2, 3].map(
        (t) =>
          values(xs.b[0])
            .slice(0, t)
            .filter((v) => v > 0).length,
      ),
    );
    expect(rest.ab.shape).toEqual([4, 2]);
  });

  it("xs = null with { length } runs that many steps", () => {
    const [c, ys] = lax.scan((v: NDArray) => [v.mul(2), v] as const, f64(1), null, { length: 6 });
    expect(c.item()).toBe(64);
    expect(ys.toList()).toEqual([1, 2, 4, 8, 16, 32]);
  });

  it("{ length } equal to the xs' leading length is accepted", () => {
    const xs = f64([1, 2, 3]);
    const f = (c: NDArray, x: NDArray) => [c.add(x), c] as const;
    expectIdentical(lax.scan(f, f64(0), xs, { length: 3 }), lax.scan(f, f64(0), xs));
  });

  it("length 0: the carry comes back unchanged and the ys have a leading 0", () => {
    const init = { a: f64([1, 2]), n: i32(5) };
    const [c, ys] = lax.scan(
      ({ a, n }: { a: NDArray; n: NDArray }, x: NDArray) =>
        [{ a: a.add(x), n: n.add(1) }, [x.mul(a), n]] as const,
      init,
      np.zeros([0, 2], { dtype: "float64" }),
    );
    expectIdentical(c, init);
    expect(ys[0].shape).toEqual([0, 2]);
    expect(ys[0].dtype).toBe("float64");
    expect(ys[1].shape).toEqual([0]);
    expect(ys[1].dtype).toBe("int32");
    const [c2, ys2] = lax.scan(
      (v: NDArray) => [v.mul(2), v.reshape([1, 2])] as const,
      f64([3, 4]),
      null,
      {
        length: 0,
      },
    );
    expect(c2.toList()).toEqual([3, 4]);
    expect(ys2.shape).toEqual([0, 1, 2]);
  });

  it("reverse walks from the last slice; the ys keep the xs' order", () => {
    const xs = f64([1, 2, 3, 4]);
    const step = (c: NDArray, x: NDArray) => [c.add(x), c.add(x)] as const;
    const [total, suffix] = lax.scan(step, f64(0), xs, { reverse: true });
    expect(total.item()).toBe(10);
    expect(suffix.toList()).toEqual([10, 9, 7, 4]);
    // The same as scanning the flipped xs and flipping the ys back.
    const [, forward] = lax.scan(step, f64(0), np.flip(xs));
    expect(np.flip(forward).toList()).toEqual(suffix.toList());
    expectIdentical(
      lax.scan(rnnStep(W), h0, xs5, { reverse: true }),
      scanRef(rnnStep(W), h0, xs5, { reverse: true }),
    );
  });

  it("JS-number carries become strong scalars and keep their type", () => {
    const [n, ys] = lax.scan((c: NDArray) => [c.mul(2).add(1), c] as const, jsNumber(1), null, {
      length: 4,
    });
    expect(n.dtype).toBe("int32");
    expect(n.weakType).toBe(false);
    expect(n.item()).toBe(31);
    expect(ys.toList()).toEqual([1, 3, 7, 15]);
    const [h] = lax.scan(
      (c: NDArray, x: NDArray) => [c.mul(x), null] as const,
      jsNumber(0.5),
      np.array([2, 3]),
    );
    expect(h.dtype).toBe("float32");
    expect(h.item()).toBe(3);
    // Mixed: a JS number next to arrays in a pytree carry.
    const [[k, v]] = lax.scan(
      ([i, a]: [NDArray, NDArray], x: NDArray) =>
        [[i.add(1), a.add(x.mul(i))] as [NDArray, NDArray], null] as const,
      [jsNumber(0), f64(0)] as [NDArray, NDArray],
      f64([1, 1, 1]),
    );
    expect(k.item()).toBe(3);
    expect(v.item()).toBe(0 + 1 + 2);
  });

  // A JS number init takes the type the body gives the carry (JAX promotes weak types too).
  it("a JS number 0 as the init of a float accumulation is promoted (as in JAX)", () => {
    const [total] = lax.scan(
      (c: NDArray, x: NDArray) => [c.add(x), null] as const,
      jsNumber(0),
      f64([1, 2]),
    );
    expect(total.item()).toBe(3);
  });

  it("int carries: Fibonacci in int32, the previous value as y", () => {
    const [[a, b], ys] = lax.scan(
      ([p, q]: [NDArray, NDArray]) => [[q, p.add(q)], p] as const,
      [i32(0), i32(1)] as [NDArray, NDArray],
      null,
      { length: 10 },
    );
    expect(a.dtype).toBe("int32");
    expect([a.item(), b.item()]).toEqual([55, 89]);
    expect(ys.toList()).toEqual([0, 1, 1, 2, 3, 5, 8, 13, 21, 34]);
  });

  it("several ys, and ys = null", () => {
    const xs = f64([1, 2, 3]);
    const [c, [p, q, r]] = lax.scan(
      (c: NDArray, x: NDArray) => [c.add(x), [x.mul(c), x.add(c), c.gt(1)]] as const,
      f64(0),
      xs,
    );
    expect(c.item()).toBe(6);
    expect(p.toList()).toEqual([0, 2, 9]);
    expect(q.toList()).toEqual([1, 3, 6]);
    expect(r.dtype).toBe("bool");
    expect(r.toList()).toEqual([false, false, true]);
    const [c2, none] = lax.scan((c: NDArray, x: NDArray) => [c.add(x), null] as const, f64(0), xs);
    expect(c2.item()).toBe(6);
    expect(none).toBeNull();
  });
});

describe("lax.map, lax.foriLoop, lax.whileLoop, lax.select: values", () => {
  it("map applies f to each slice along the leading axis (pytrees in and out)", () => {
    const m = random([4, 3], 11);
    expectIdentical(
      lax.map((row: NDArray) => np.sin(row).sum(), m),
      np.stack([0, 1, 2, 3].map((i) => np.sin(m.get(i)).sum())),
    );
    const out = lax.map(
      ({ a, b }: { a: NDArray; b: NDArray }) => [a.mul(b), b.sum()] as [NDArray, NDArray],
      { a: m, b: m.add(1) },
    );
    expectIdentical(out, [m.mul(m.add(1)), m.add(1).sum({ axis: 1 })]);
  });

  it("foriLoop with JS bounds: factorial, a sum over i, and an int32 counter", () => {
    const factorial = lax.foriLoop(1, 6, (i: NDArray, acc: NDArray) => acc.mul(i), i32(1));
    expect(factorial.item()).toBe(120);
    const squares = lax.foriLoop(
      3,
      7,
      (i: NDArray, s: NDArray) => s.add(i.mul(i).astype("float64")),
      f64(0),
    );
    expect(squares.item()).toBe(9 + 16 + 25 + 36);
    const seen = lax.foriLoop(
      -2,
      2,
      (i: NDArray, c: { idx: NDArray; sum: NDArray }) => ({ idx: i, sum: c.sum.add(i) }),
      { idx: i32(99), sum: i32(0) },
    );
    expect(seen.idx.dtype).toBe("int32");
    expect([seen.idx.item(), seen.sum.item()]).toEqual([1, -2]);
  });

  it("foriLoop with lower >= upper returns the init", () => {
    const init = f64([1, 2]);
    expectIdentical(
      lax.foriLoop(5, 2, (_i: NDArray, c: NDArray) => c.mul(3), init),
      init,
    );
    expectIdentical(
      lax.foriLoop(4, 4, (_i: NDArray, c: NDArray) => c.mul(3), init),
      init,
    );
    expectIdentical(
      lax.foriLoop(i32(5), i32(2), (_i: NDArray, c: NDArray) => c.mul(3), init),
      init,
    );
  });

  it("foriLoop with array bounds (a while loop) equals the one with JS bounds", () => {
    const body = (i: NDArray, c: NDArray): NDArray => np.sin(c).add(i.astype("float64").mul(0.1));
    const init = random([3], 12);
    expectIdentical(lax.foriLoop(i32(2), i32(9), body, init), lax.foriLoop(2, 9, body, init));
    expectIdentical(lax.foriLoop(np.array(2), 9, body, init), lax.foriLoop(2, 9, body, init));
    let ref = init;
    for (let i = 2; i < 9; i++) ref = body(i32(i), ref);
    expectIdentical(lax.foriLoop(2, 9, body, init), ref);
  });

  it("whileLoop equals a JS while loop (float halving, Collatz with int carries)", () => {
    const halve = (x: NDArray) =>
      lax.whileLoop(
        (v: NDArray) => v.gt(1),
        (v: NDArray) => v.div(2),
        x,
      );
    expect(halve(f64(40)).item()).toBe(0.625);
    let n = 27;
    let steps = 0;
    while (n !== 1) {
      n = n % 2 === 0 ? n / 2 : 3 * n + 1;
      steps++;
    }
    const [last, count] = lax.whileLoop(
      ([v]: [NDArray, NDArray]) => v.ne(1),
      ([v, k]: [NDArray, NDArray]) =>
        [np.where(np.mod(v, 2).eq(0), np.floorDivide(v, 2), v.mul(3).add(1)), k.add(1)] as [
          NDArray,
          NDArray,
        ],
      [i32(27), i32(0)] as [NDArray, NDArray],
    );
    expect([last.item(), count.item()]).toEqual([1, steps]);
    expect(steps).toBe(111);
  });

  it("whileLoop: pytree carry, a numeric (nonzero) condition, and a condition false at once", () => {
    const init = { i: i32(0), acc: f64([1, 1]) };
    const out = lax.whileLoop(
      ({ i }: typeof init) => i32(4).sub(i), // nonzero until i = 4
      ({ i, acc }: typeof init) => ({ i: i.add(1), acc: acc.mul(f64([2, 3])) }),
      init,
    );
    expect(out.i.item()).toBe(4);
    expect(out.acc.toList()).toEqual([16, 81]);
    const same = lax.whileLoop(
      () => false,
      ({ i, acc }: typeof init) => ({ i: i.add(1), acc }),
      init,
    );
    expectIdentical(same, init);
  });

  it("whileLoop with maxSteps: the same result when the loop ends in time, else stops at maxSteps", () => {
    const condFn = (v: NDArray): NDArray => v.sum().lt(50);
    const body = (v: NDArray): NDArray => v.mul(1.5).add(1);
    const x = f64([1, 2]);
    const free = lax.whileLoop(condFn, body, x);
    expectIdentical(lax.whileLoop(condFn, body, x, { maxSteps: 100 }), free);
    expectIdentical(lax.whileLoop(condFn, body, x, { maxSteps: 100, checkpoints: 3 }), free);
    expectIdentical(lax.whileLoop(condFn, body, x, { maxSteps: 3 }), body(body(body(x))));
    expectIdentical(
      lax.whileLoop(condFn, body, x, { maxSteps: 3, checkpoints: 2 }),
      body(body(body(x))),
    );
    expectIdentical(lax.whileLoop(condFn, body, x, { maxSteps: 0 }), x);
    expectIdentical(free, whileRef(condFn, body, x));
  });

  it("select picks elementwise, with a bool array or scalar predicate", () => {
    const a = f64([1, 2, 3]);
    const b = f64([-1, -2, -3]);
    expect(lax.select(np.array([true, false, true]), a, b).toList()).toEqual([1, -2, 3]);
    expect(lax.select(true, a, b).toList()).toEqual([1, 2, 3]);
    expect(lax.select(np.array(false), a, b).toList()).toEqual([-1, -2, -3]);
    const ints = lax.select(np.array([false, true]), i32([1, 2]), i32([3, 4]));
    expect(ints.dtype).toBe("int32");
    expect(ints.toList()).toEqual([3, 2]);
  });
});

// ============================================================================= derivatives

describe("derivatives through lax.scan", () => {
  const viaScan = rnnLoss(lax.scan as ScanLike);
  const unrolled = rnnLoss(scanRef);

  it("grad w.r.t. the init, the xs and a value captured by the body equals the unrolled loop", () => {
    const g = grad(viaScan, { argnums: [0, 1, 2] })(h0, xs5, W);
    const want = grad(unrolled, { argnums: [0, 1, 2] })(h0, xs5, W);
    expectClose(g, want, tight);
  });

  it("a reverse scan's grad equals the unrolled reverse loop", () => {
    const g = grad(rnnLoss(lax.scan as ScanLike, true), { argnums: [0, 1, 2] })(h0, xs5, W);
    const want = grad(rnnLoss(scanRef, true), { argnums: [0, 1, 2] })(h0, xs5, W);
    expectClose(g, want, tight);
  });

  it("vjp with cotangents for the carry and the stacked ys (pytrees)", () => {
    const run = (impl: ScanLike) => (h: NDArray, xs: NDArray) =>
      impl(
        (c: { h: NDArray; k: NDArray }, x: NDArray) => {
          const [next, y] = rnnStep(W)(c.h, x);
          return [
            { h: next, k: c.k.mul(x.sum()) },
            { y, z: next.mul(c.k) },
          ] as const;
        },
        { h, k: f64(1) },
        xs,
      );
    const [out, back] = vjp(run(lax.scan as ScanLike), h0, xs5);
    const [want, backRef] = vjp(run(scanRef), h0, xs5);
    expectClose(out, want, tight);
    const ct = [
      { h: f64([0.3, -1, 2]), k: f64(0.7) },
      { y: random([5], 20), z: random([5, 3], 21) },
    ] as typeof out;
    expectClose(back(ct), backRef(ct as typeof want), tight);
  });

  it("jvp equals the unrolled jvp", () => {
    const th = random([3], 30);
    const tx = random([5, 3], 31);
    const tw = random([3, 3], 32);
    const [out, tan] = jvp(viaScan, [h0, xs5, W], [th, tx, tw]);
    const [outRef, tanRef] = jvp(unrolled, [h0, xs5, W], [th, tx, tw]);
    expectClose(out, outRef, tight);
    expectClose(tan, tanRef, tight);
  });

  it("second order: the Hessian w.r.t. the init equals the unrolled one; checkGrads to order 2", () => {
    const f = (h: NDArray) => viaScan(h, xs5, W);
    const g = (h: NDArray) => unrolled(h, xs5, W);
    expectClose(hessian(f)(h0), hessian(g)(h0), { rtol: 1e-10, atol: 1e-12 });
    expect(() => checkGrads(viaScan, [h0, xs5, W], { order: 2 })).not.toThrow();
    expect(() =>
      checkGrads(rnnLoss(lax.scan as ScanLike, true), [h0, xs5, W], { order: 2 }),
    ).not.toThrow();
  });

  it("grad through a carry that also holds an int counter and a JS number", () => {
    const f = (x: NDArray) =>
      lax.scan(
        ([i, v]: [NDArray, NDArray], row: NDArray) =>
          [[i.add(1), v.mul(row).add(i.astype("float64"))] as [NDArray, NDArray], v.sum()] as const,
        [jsNumber(0), x] as [NDArray, NDArray],
        xs5,
      );
    const loss = (x: NDArray) => {
      const [[, v], ys] = f(x);
      return v.sum().add(ys.sum());
    };
    const loop = (x: NDArray) => {
      let v = x;
      let total = f64(0);
      for (let t = 0; t < 5; t++) {
        total = total.add(v.sum());
        v = v.mul(xs5.get(t)).add(t);
      }
      return v.sum().add(total);
    };
    expectClose(loss(h0), loop(h0), tight);
    expectClose(grad(loss)(h0), grad(loop)(h0), tight);
  });

  it("lax.map is differentiable (grad w.r.t. the xs and a captured value)", () => {
    const m = random([4, 3], 40);
    const f = (xs: NDArray, w: NDArray) =>
      lax.map((r: NDArray) => np.tanh(w.matmul(r)).sum(), xs).sum();
    const g = (xs: NDArray, w: NDArray) =>
      [0, 1, 2, 3].map((i) => np.tanh(w.matmul(xs.get(i))).sum()).reduce((a, b) => a.add(b));
    expectClose(grad(f, { argnums: [0, 1] })(m, W), grad(g, { argnums: [0, 1] })(m, W), tight);
  });
});

describe("derivatives through lax.cond and lax.switch", () => {
  const onTrue = (v: NDArray): NDArray => np.sin(v).mul(v);
  const onFalse = (v: NDArray): NDArray => v.mul(v).mul(v).sub(v);
  const f = (x: NDArray): NDArray => lax.cond(x.sum().gt(0), onTrue, onFalse, x).sum();
  const pos = f64([0.5, 1.2, -0.3]);
  const neg = f64([-0.5, 0.2, -1.3]);

  it("grad and jvp equal those of the taken branch", () => {
    expectClose(grad(f)(pos), grad((v: NDArray) => onTrue(v).sum())(pos), tight);
    expectClose(grad(f)(neg), grad((v: NDArray) => onFalse(v).sum())(neg), tight);
    const t = f64([1, -2, 0.5]);
    expectClose(
      jvp(f, [pos], [t]),
      jvp((v: NDArray) => onTrue(v).sum(), [pos], [t]),
      tight,
    );
    expectClose(
      jvp(f, [neg], [t]),
      jvp((v: NDArray) => onFalse(v).sum(), [neg], [t]),
      tight,
    );
  });

  it("checkGrads to order 2 on both sides", () => {
    expect(() => checkGrads(f, [pos], { order: 2 })).not.toThrow();
    expect(() => checkGrads(f, [neg], { order: 2 })).not.toThrow();
  });

  it("grad w.r.t. values captured by one branch only (zero when the other is taken)", () => {
    const x = f64([1, 2]);
    const h = (p: boolean) => (a: NDArray, b: NDArray) =>
      lax.cond(
        p,
        (v: NDArray) => v.mul(a).sum(),
        (v: NDArray) => np.exp(v.mul(b)).sum(),
        x,
      );
    const a = f64(0.7);
    const b = f64(-0.3);
    const [ga, gb] = grad<NDArray[]>(h(true), { argnums: [0, 1] })(a, b);
    expect(ga!.item()).toBe(3);
    expect(gb!.item()).toBe(0);
    const [ga2, gb2] = grad<NDArray[]>(h(false), { argnums: [0, 1] })(a, b);
    expect(ga2!.item()).toBe(0);
    expectClose(gb2, x.mul(np.exp(x.mul(b))).sum(), tight);
  });

  it("vjp with a pytree output and several operands", () => {
    const g = (p: boolean) => (a: NDArray, b: NDArray) =>
      lax.cond(
        p,
        (x: NDArray, y: NDArray) => ({ s: x.mul(y), t: np.cos(x).sum() }),
        (x: NDArray, y: NDArray) => ({ s: y.sub(x), t: x.mul(y).sum() }),
        a,
        b,
      );
    const a = f64([0.3, 1.1]);
    const b = f64([2, -1]);
    const ct = { s: f64([1, 2]), t: f64(0.5) };
    for (const p of [true, false]) {
      const [out, back] = vjp(g(p), a, b);
      const direct = (x: NDArray, y: NDArray) =>
        p ? { s: x.mul(y), t: np.cos(x).sum() } : { s: y.sub(x), t: x.mul(y).sum() };
      const [want, backRef] = vjp(direct, a, b);
      expectClose(out, want, exact);
      expectClose(back(ct), backRef(ct), tight);
    }
  });

  it("switch: grad equals each branch's (clamped indices included); checkGrads to order 2", () => {
    const bs = [
      (v: NDArray): NDArray => np.sin(v).sum(),
      (v: NDArray): NDArray => v.mul(v).sum(),
      (v: NDArray): NDArray => np.exp(v.mul(0.5)).mul(v).sum(),
    ];
    const x = f64([0.4, -1.2, 2]);
    for (const [i, k] of [
      [-2, 0],
      [0, 0],
      [1, 1],
      [2, 2],
      [9, 2],
    ] as const) {
      const f = (v: NDArray) => lax.switch(i, bs, v);
      expectClose(grad(f)(x), grad(bs[k]!)(x), { ...tight, label: `index ${i}` });
      expect(() => checkGrads(f, [x], { order: 2 })).not.toThrow();
    }
  });
});

describe("derivatives through lax.foriLoop and lax.whileLoop", () => {
  const body = (i: NDArray, c: NDArray): NDArray =>
    np.sin(c.mul(W.get(0))).add(c.mul(i.astype("float64").mul(0.1)));
  const x = f64([0.3, -0.8, 1.1]);

  it("foriLoop with JS bounds: grad and jvp equal the unrolled loop; checkGrads to order 2", () => {
    const f = (c: NDArray) => lax.foriLoop(1, 5, body, c).sum();
    const g = (c: NDArray) => {
      let v = c;
      for (let i = 1; i < 5; i++) v = body(i32(i), v);
      return v.sum();
    };
    expectClose(grad(f)(x), grad(g)(x), tight);
    const t = f64([1, 0.5, -1]);
    expectClose(jvp(f, [x], [t]), jvp(g, [x], [t]), tight);
    expect(() => checkGrads(f, [x], { order: 2 })).not.toThrow();
  });

  const condFn = (v: NDArray): NDArray => v.sum().lt(10);
  const step =
    (w: NDArray) =>
    (v: NDArray): NDArray =>
      v.mul(w).add(np.sin(v));

  it("whileLoop with maxSteps: grad w.r.t. the init and a captured value equals the unrolled loop", () => {
    const w = f64(1.3);
    const init = f64([0.5, 1.5]);
    const f = (opts: { maxSteps: number; checkpoints?: number }) => (c: NDArray, w: NDArray) =>
      lax
        .whileLoop(condFn, step(w), c, opts)
        .mul(f64([1, 2]))
        .sum();
    const g = (c: NDArray, w: NDArray) =>
      whileRef(condFn, step(w), c)
        .mul(f64([1, 2]))
        .sum();
    const want = grad(g, { argnums: [0, 1] })(init, w);
    expectClose(grad(f({ maxSteps: 50 }), { argnums: [0, 1] })(init, w), want, tight);
    expectClose(
      grad(f({ maxSteps: 50, checkpoints: 3 }), { argnums: [0, 1] })(init, w),
      want,
      tight,
    );
    // Stopped by maxSteps before the condition turns false: the gradient of 2 steps.
    const two = (c: NDArray, w: NDArray) =>
      whileRef(condFn, step(w), c, 2)
        .mul(f64([1, 2]))
        .sum();
    expectClose(
      grad(f({ maxSteps: 2 }), { argnums: [0, 1] })(init, w),
      grad(two, { argnums: [0, 1] })(init, w),
      tight,
    );
    expect(() => checkGrads(f({ maxSteps: 50 }), [init, w], { order: 2 })).not.toThrow();
  });

  it("jvp through whileLoop without maxSteps works and equals the unrolled loop", () => {
    const w = f64(1.3);
    const init = f64([0.5, 1.5]);
    const f = (c: NDArray, w: NDArray) => lax.whileLoop(condFn, step(w), c);
    const g = (c: NDArray, w: NDArray) => whileRef(condFn, step(w), c);
    const tangents = [f64([1, -0.5]), f64(0.25)];
    expectClose(jvp(f, [init, w], tangents), jvp(g, [init, w], tangents), tight);
    expect(() => checkGrads(f, [init, w], { order: 2, modes: ["fwd"] })).not.toThrow();
    // foriLoop with array bounds is a while loop: forward mode works there too.
    const fl = (c: NDArray) => lax.foriLoop(i32(1), i32(5), body, c);
    const gl = (c: NDArray) => lax.foriLoop(1, 5, body, c);
    expectClose(jvp(fl, [x], [f64([1, 2, 3])]), jvp(gl, [x], [f64([1, 2, 3])]), tight);
  });

  it("grad/vjp through whileLoop without maxSteps is a WhileLoopReverseError suggesting maxSteps", () => {
    const f = (c: NDArray) => lax.whileLoop(condFn, step(f64(1.3)), c).sum();
    const run = () => grad(f)(f64([0.5, 1.5]));
    const line = lineHere() - 1;
    const e = expectTypedError(run, lax.WhileLoopReverseError, file, "lax.whileLoop", "maxSteps");
    expect(e).toBeInstanceOf(ValueError);
    expect(e.message).toMatch(/^lax\.whileLoop/);
    expect(e.site?.line).toBe(line);
    expectTypedError(
      () =>
        vjp((c: NDArray) => lax.whileLoop(condFn, step(f64(1.3)), c), f64([0.5, 1.5]))[1](
          f64([1, 1]),
        ),
      lax.WhileLoopReverseError,
      file,
      "maxSteps",
    );
    // foriLoop with array bounds is a while loop too.
    expectTypedError(
      () => grad((c: NDArray) => lax.foriLoop(i32(0), i32(3), body, c).sum())(x),
      lax.WhileLoopReverseError,
      file,
      "maxSteps",
    );
  });
});

// ============================================================================= vmap

describe("vmap", () => {
  const rows = random([5, 3], 50);

  it("cond with an unbatched predicate and batched operands", () => {
    for (const p of [true, false]) {
      const f = (r: NDArray) =>
        lax.cond(
          p,
          (v: NDArray) => np.sin(v),
          (v: NDArray) => v.mul(2),
          r,
        );
      expectIdentical(vmap(f)(rows), p ? np.sin(rows) : rows.mul(2));
    }
  });

  it("cond with a batched predicate picks per example", () => {
    const f = (r: NDArray) =>
      lax.cond(
        r.sum().gt(0),
        (v: NDArray) => np.exp(v),
        (v: NDArray) => v.neg(),
        r,
      );
    const got = vmap(f)(rows);
    const want = np.stack([0, 1, 2, 3, 4].map((i) => f(rows.get(i))));
    expectIdentical(got, want);
    const sums = values(rows.sum({ axis: 1 }));
    expect(sums.some((s) => s > 0) && sums.some((s) => s <= 0)).toBe(true);
  });

  it("cond with a batched predicate but unbatched operands, and with a pytree output", () => {
    const preds = np.array([true, false, true]);
    const a = f64([1, 2]);
    const f = (p: NDArray) =>
      lax.cond(
        p,
        (v: NDArray) => ({ x: v.mul(3), n: i32(1) }),
        (v: NDArray) => ({ x: v.sub(1), n: i32(2) }),
        a,
      );
    const got = vmap(f)(preds);
    expect(got.x.toList()).toEqual([
      [3, 6],
      [0, 1],
      [3, 6],
    ]);
    expect(got.n.toList()).toEqual([1, 2, 1]);
  });

  it("switch with a batched index, clamped per example", () => {
    const bs = [
      (v: NDArray): NDArray => v.add(100),
      (v: NDArray): NDArray => v.mul(10),
      (v: NDArray): NDArray => v.neg(),
    ];
    const idx = i32([-3, 0, 1, 2, 7]);
    const got = vmap((i: NDArray, r: NDArray) => lax.switch(i, bs, r))(idx, rows);
    const want = np.stack([0, 1, 2, 3, 4].map((k) => lax.switch(idx.get(k), bs, rows.get(k))));
    expectIdentical(got, want);
    expectIdentical(got.get(0), rows.get(0).add(100));
    expectIdentical(got.get(4), rows.get(4).neg());
    // Batched index, unbatched operand.
    const one = f64([1, 2, 3]);
    const g = vmap((i: NDArray) => lax.switch(i, bs, one))(idx);
    expectIdentical(g, np.stack([one.add(100), one.add(100), one.mul(10), one.neg(), one.neg()]));
  });

  it("scan with batched xs, batched init, or both, equals a loop over examples", () => {
    const xsB = random([4, 5, 3], 51);
    const initB = random([4, 3], 52);
    const run = (h: NDArray, xs: NDArray) => lax.scan(rnnStep(W), h, xs);
    const perExample = (hs: (k: number) => NDArray, xs: (k: number) => NDArray) => {
      const outs = [0, 1, 2, 3].map((k) => run(hs(k), xs(k)));
      return [np.stack(outs.map((o) => o[0])), np.stack(outs.map((o) => o[1]))];
    };
    expectClose(
      vmap(run, { inAxes: [null, 0] })(h0, xsB),
      perExample(
        () => h0,
        (k) => xsB.get(k),
      ),
      tight,
    );
    expectClose(
      vmap(run, { inAxes: [0, null] })(initB, xs5),
      perExample(
        (k) => initB.get(k),
        () => xs5,
      ),
      tight,
    );
    expectClose(
      vmap(run)(initB, xsB),
      perExample(
        (k) => initB.get(k),
        (k) => xsB.get(k),
      ),
      tight,
    );
    // xs batched along axis 1 of the argument.
    expectClose(
      vmap(run, { inAxes: [null, 1] })(h0, np.moveaxis(xsB, 0, 1)),
      perExample(
        () => h0,
        (k) => xsB.get(k),
      ),
      tight,
    );
  });

  it("whileLoop with a batched predicate: each lane stops at its own step", () => {
    const collatz = (n: NDArray) =>
      lax.whileLoop(
        ([v]: [NDArray, NDArray]) => v.ne(1),
        ([v, k]: [NDArray, NDArray]) =>
          [np.where(np.mod(v, 2).eq(0), np.floorDivide(v, 2), v.mul(3).add(1)), k.add(1)] as [
            NDArray,
            NDArray,
          ],
        [n, i32(0)] as [NDArray, NDArray],
      );
    const starts = [1, 2, 3, 6, 7, 27];
    const [last, steps] = vmap(collatz)(i32(starts));
    expect(last.toList()).toEqual(starts.map(() => 1));
    const want = starts.map((s) => collatz(i32(s))[1].item());
    expect(steps.toList()).toEqual(want);
    expect(want).toEqual([0, 1, 7, 8, 16, 111]);
  });

  it("whileLoop with a float carry and batched predicate, with and without maxSteps", () => {
    const f = (x: NDArray, opts = {}) =>
      lax.whileLoop(
        (v: NDArray) => v.sum().lt(10),
        (v: NDArray) => v.mul(1.7),
        x,
        opts,
      );
    const xs = f64([
      [0.1, 0.2],
      [1, 2],
      [20, 1],
      [3, 0.5],
    ]);
    const want = np.stack([0, 1, 2, 3].map((k) => f(xs.get(k))));
    expectIdentical(vmap((x: NDArray) => f(x))(xs), want);
    expectIdentical(vmap((x: NDArray) => f(x, { maxSteps: 40 }))(xs), want);
    const capped = np.stack([0, 1, 2, 3].map((k) => f(xs.get(k), { maxSteps: 3 })));
    expectIdentical(vmap((x: NDArray) => f(x, { maxSteps: 3 }))(xs), capped);
  });

  it("foriLoop and map under vmap", () => {
    const body = (i: NDArray, c: NDArray): NDArray => c.mul(0.9).add(i.astype("float64"));
    expectIdentical(
      vmap((r: NDArray) => lax.foriLoop(0, 4, body, r))(rows),
      np.stack([0, 1, 2, 3, 4].map((k) => lax.foriLoop(0, 4, body, rows.get(k)))),
    );
    const m = random([2, 4, 3], 53);
    expectIdentical(
      vmap((x: NDArray) => lax.map((r: NDArray) => r.sum(), x))(m),
      m.sum({ axis: 2 }),
    );
  });

  it("vmap of grad of scan equals per-example gradients", () => {
    const xsB = random([3, 5, 3], 54);
    const g = grad<NDArray[]>(rnnLoss(lax.scan as ScanLike), { argnums: [0, 2] });
    const got = vmap((xs: NDArray) => g(h0, xs, W))(xsB);
    const each = [0, 1, 2].map((k) => g(h0, xsB.get(k), W));
    expectClose(
      got,
      [0, 1].map((j) => np.stack(each.map((e) => e[j]!))),
      tight,
    );
  });

  it("vmap of grad of cond with a batched predicate", () => {
    const f = (x: NDArray) =>
      lax.cond(
        x.sum().gt(0),
        (v: NDArray) => np.sin(v).sum(),
        (v: NDArray) => v.mul(v).sum(),
        x,
      );
    const got = vmap(grad(f))(rows);
    expectClose(got, np.stack([0, 1, 2, 3, 4].map((k) => grad(f)(rows.get(k)))), tight);
  });
});

// ============================================================================= jit

describe("jit", () => {
  const x = random([4], 60);

  it("cond and switch: jit equals eager bit for bit, for every branch", () => {
    const f = (p: NDArray, v: NDArray) =>
      lax.cond(
        p,
        (a: NDArray) => np.sin(a).mul(a),
        (a: NDArray) => np.exp(a).sub(1),
        v,
      );
    const g = jit(f);
    for (const p of [true, false]) {
      expectIdentical(g(np.array(p), x), f(np.array(p), x));
    }
    const bs = [
      (a: NDArray): NDArray => np.tanh(a),
      (a: NDArray): NDArray => a.mul(a).add(1),
      (a: NDArray): NDArray => np.cos(a),
    ];
    const s = jit((i: NDArray, v: NDArray) => lax.switch(i, bs, v));
    for (const i of [-4, 0, 1, 2, 5]) {
      expectIdentical(s(i32(i), x), lax.switch(i32(i), bs, x));
    }
  });

  it("scan (pytrees, reverse, several ys) and map: jit equals eager bit for bit", () => {
    expectJitExact((h: NDArray, xs: NDArray) => lax.scan(rnnStep(W), h, xs), h0, xs5);
    expectJitExact(
      (h: NDArray, xs: NDArray) => lax.scan(rnnStep(W), h, xs, { reverse: true }),
      h0,
      xs5,
    );
    expectJitExact(
      (c: { a: NDArray; n: NDArray }, xs: [NDArray, NDArray]) =>
        lax.scan(
          ({ a, n }: { a: NDArray; n: NDArray }, [p, q]: [NDArray, NDArray]) =>
            [{ a: a.mul(p).add(q.sum()), n: n.add(1) }, [a.sum(), n]] as const,
          c,
          xs,
        ),
      { a: f64([1, 2]), n: i32(0) },
      [random([6, 2], 61), random([6, 3], 62)] as [NDArray, NDArray],
    );
    expectJitExact((m: NDArray) => lax.map((r: NDArray) => np.sin(r).sum(), m), random([5, 3], 63));
    expectJitExact(
      (v: NDArray) => lax.scan((c: NDArray) => [c.mul(2), c] as const, v, null, { length: 0 }),
      x,
    );
  });

  it("foriLoop (JS and traced bounds), whileLoop (with and without maxSteps) and select", () => {
    const body = (i: NDArray, c: NDArray): NDArray => np.sin(c).add(i.astype("float64"));
    expectJitExact((v: NDArray) => lax.foriLoop(0, 6, body, v), x);
    const traced = jit((lo: NDArray, hi: NDArray, v: NDArray) => lax.foriLoop(lo, hi, body, v));
    for (const [lo, hi] of [
      [0, 6],
      [2, 5],
      [4, 1],
    ]) {
      expectIdentical(traced(i32(lo!), i32(hi!), x), lax.foriLoop(lo!, hi!, body, x));
    }
    const cond = (v: NDArray) => v.sum().lt(100);
    const grow = (v: NDArray) => v.mul(1.5).add(1);
    expectJitExact((v: NDArray) => lax.whileLoop(cond, grow, v), x);
    expectJitExact((v: NDArray) => lax.whileLoop(cond, grow, v, { maxSteps: 5 }), x);
    expectJitExact(
      (v: NDArray) => lax.whileLoop(cond, grow, v, { maxSteps: 50, checkpoints: 4 }),
      x,
    );
    expectJitExact(
      (p: NDArray, a: NDArray, b: NDArray) => lax.select(p, a, b),
      x.gt(0),
      x,
      x.neg(),
    );
  });

  it("jit of grad of scan equals eager grad", () => {
    const g = grad(rnnLoss(lax.scan as ScanLike), { argnums: [0, 1, 2] });
    const compiled = jit(g);
    expectClose(compiled(h0, xs5, W), g(h0, xs5, W), { rtol: 1e-14, atol: 1e-15 });
    expectClose(compiled(h0.mul(2), xs5, W), g(h0.mul(2), xs5, W), { rtol: 1e-14, atol: 1e-15 });
  });

  it("makeProgram prints the nested bodies", () => {
    const v = f64([1, 2, 3]);
    const scanText = makeProgram((a: NDArray) =>
      lax.scan((c: NDArray, y: NDArray) => [c.add(y), c.mul(y)] as const, a.sum(), a),
    )(v).toString();
    expect(scanText).toContain("scan[");
    expect(scanText).toContain("length=3");
    expect(scanText).toMatch(/body=\{ lambda/);
    const reversed = makeProgram((a: NDArray) =>
      lax.scan((c: NDArray, y: NDArray) => [c.add(y), null] as const, a.sum(), a, {
        reverse: true,
      }),
    )(v).toString();
    expect(reversed).toContain("reverse=True");
    const condText = makeProgram((a: NDArray) =>
      lax.cond(
        a.sum().gt(0),
        (b: NDArray) => b.mul(2),
        (b: NDArray) => b.neg(),
        a,
      ),
    )(v).toString();
    expect(condText).toContain("cond[");
    expect(condText).toMatch(/branches=\(\s*\{ lambda/);
    expect(condText.match(/\{ lambda/g)).toHaveLength(3);
    const switchText = makeProgram((i: NDArray, a: NDArray) =>
      lax.switch(i, [(b: NDArray) => b, (b: NDArray) => b.mul(3), (b: NDArray) => np.sin(b)], a),
    )(i32(0), v).toString();
    expect(switchText.match(/\{ lambda/g)).toHaveLength(4);
    expect(switchText).toContain("sin");
    const whileText = makeProgram((a: NDArray) =>
      lax.whileLoop(
        (b: NDArray) => b.sum().lt(10),
        (b: NDArray) => b.mul(2),
        a,
      ),
    )(v).toString();
    expect(whileText).toContain("while[");
    expect(whileText).toMatch(/cond=\{ lambda/);
    expect(whileText).toMatch(/body=\{ lambda/);
    // foriLoop: a scan with JS bounds, a while loop with array bounds.
    const fori = (lo: number | NDArray) =>
      makeProgram((a: NDArray) => lax.foriLoop(lo, 4, (_i: NDArray, c: NDArray) => c.mul(2), a))(
        v,
      ).toString();
    expect(fori(0)).toContain("scan[");
    expect(fori(0)).not.toContain("while[");
    expect(fori(i32(0))).toContain("while[");
    // Bounded whileLoop: a scan.
    const bounded = makeProgram((a: NDArray) =>
      lax.whileLoop(
        (b: NDArray) => b.sum().lt(10),
        (b: NDArray) => b.mul(2),
        a,
        { maxSteps: 8 },
      ),
    )(v).toString();
    expect(bounded).toContain("scan[length=8");
  });

  it("a body is staged once however many steps run", () => {
    let traces = 0;
    const body = (c: NDArray) => {
      traces++;
      return [c.add(1), c] as const;
    };
    lax.scan(body, f64(0), null, { length: 25 });
    expect(traces).toBe(1);
    traces = 0;
    jit((v: NDArray) => lax.scan(body, v, null, { length: 25 }))(f64(0));
    expect(traces).toBe(1);
  });
});

// ============================================================================= only the taken branch runs

describe("eagerly, only what is taken runs", () => {
  it("cond and switch execute only the chosen branch (both are staged)", () => {
    let staged = 0;
    const branch = (tag: string) => (v: NDArray) => {
      staged++;
      return tap(tag, v.mul(2));
    };
    executed.length = 0;
    lax.cond(true, branch("true"), branch("false"), f64(1));
    expect(staged).toBe(2);
    expect(executed).toEqual(["true"]);
    executed.length = 0;
    lax.cond(false, branch("true"), branch("false"), f64(1));
    expect(executed).toEqual(["false"]);
    executed.length = 0;
    lax.switch(7, [branch("0"), branch("1"), branch("2")], f64(1));
    expect(executed).toEqual(["2"]);
  });

  it("a branch that would give NaN is not evaluated into the result or its gradient", () => {
    const f = (x: NDArray) =>
      lax.cond(
        x.gt(0),
        (v: NDArray) => np.sqrt(v),
        (v: NDArray) => np.sqrt(v.neg()),
        x,
      );
    expect(f(f64(4)).item()).toBe(2);
    expect(grad(f)(f64(4)).item()).toBe(0.25);
    expect(f(f64(-9)).item()).toBe(3);
  });

  it("whileLoop runs the body once per step and the condition once more", () => {
    executed.length = 0;
    lax.whileLoop(
      (v: NDArray) => tap("cond", v).lt(3),
      (v: NDArray) => tap("body", v.add(1)),
      f64(0),
    );
    expect(executed.filter((t) => t === "body")).toHaveLength(3);
    expect(executed.filter((t) => t === "cond")).toHaveLength(4);
  });

  it("under vmap with a batched predicate both branches run (results selected per example)", () => {
    executed.length = 0;
    const out = vmap((p: NDArray) =>
      lax.cond(
        p,
        () => tap("true", f64(1)),
        () => tap("false", f64(2)),
      ),
    )(np.array([true, false]));
    expect(out.toList()).toEqual([1, 2]);
    expect([...executed].sort()).toEqual(["false", "true"]);
  });
});

// ============================================================================= errors

describe("misuse is a typed error naming the operation and this file's line", () => {
  const x = f64([1, 2, 3]);
  const id = (v: NDArray): NDArray => v;

  it("cond branches returning different structures: TreeError showing both", () => {
    const line = lineHere() + 2;
    const e = expectTypedError(
      () => lax.cond(true, ((v: NDArray) => [v]) as never, id, x),
      TreeError,
      file,
      "lax.cond",
      "structure",
      "false branch id: PyTreeDef(*)",
      "true branch: PyTreeDef([*])",
    );
    expect(e.site?.line).toBe(line);
  });

  it("cond branches returning different shapes or dtypes: ShapeError showing both", () => {
    expectTypedError(
      () => lax.cond(false, (v: NDArray) => v.get("1:"), id, x),
      ShapeError,
      file,
      "lax.cond",
      "f64[3]",
      "f64[2]",
    );
    expectTypedError(
      function namedTrue() {
        return lax.cond(
          true,
          function double(v: NDArray) {
            return v.astype("float32");
          },
          id,
          x,
        );
      },
      ShapeError,
      file,
      "true branch double: f32[3]",
      "false branch id: f64[3]",
    );
  });

  it("switch branches differing: the offending branch is named", () => {
    expectTypedError(
      () => lax.switch(0, [id, id, (v: NDArray) => v.sum()], x),
      ShapeError,
      file,
      "lax.switch",
      "branch 0 id: f64[3]",
      "branch 2: f64[]",
    );
  });

  it("a non-scalar cond predicate is a ShapeError pointing to np.where", () => {
    expectTypedError(
      () => lax.cond(np.array([true, false]), id, id, x),
      ShapeError,
      file,
      "lax.cond",
      "[2]",
      "np.where",
    );
  });

  it("switch with an empty list, a non-array, or a non-integer index", () => {
    expectTypedError(() => lax.switch(0, [], x), ValueError, file, "lax.switch", "non-empty");
    expectTypedError(() => lax.switch(0, id as never, x), ValueError, file, "lax.switch");
    expectTypedError(
      () => lax.switch(np.array(1.5), [id], x),
      ShapeError,
      file,
      "lax.switch",
      "integer",
    );
    expectTypedError(
      () => lax.switch(i32([0, 1]), [id], x),
      ShapeError,
      file,
      "lax.switch",
      "scalar",
    );
    expectTypedError(() => lax.switch(0, [id, 3 as never], x), ValueError, file, "branch 1");
  });

  // A JS number index must be a whole number (JAX rejects non-integer indices).
  it("switch with a fractional JS number index is an error", () => {
    expectTypedError(() => lax.switch(0.5, [id, id], x), ShapeError, file, "lax.switch", "integer");
  });

  it("scan body changing the carry's shape, dtype or structure", () => {
    const xs = np.ones([2, 3], { dtype: "float64" });
    expectTypedError(
      () => lax.scan((c: NDArray, y: NDArray) => [c.get("1:"), y] as const, x, xs),
      ShapeError,
      file,
      "lax.scan",
      "carry",
      "in : f64[3]",
      "out: f64[2]",
    );
    expectTypedError(
      () => lax.scan((c: NDArray, y: NDArray) => [c.astype("float32"), y] as const, x, xs),
      ShapeError,
      file,
      "in : f64[3]",
      "out: f32[3]",
    );
    expectTypedError(
      () => lax.scan((c: NDArray, y: NDArray) => [[c, c], y] as never, x, xs),
      TreeError,
      file,
      "lax.scan",
      "PyTreeDef(*)",
      "PyTreeDef([*, *])",
    );
  });

  it("scan xs leaves with different leading lengths, or disagreeing with { length }", () => {
    const f = (c: NDArray) => [c, null] as const;
    expectTypedError(
      () => lax.scan(f, x, { a: np.ones([2]), b: np.ones([3, 4]) }),
      ShapeError,
      file,
      "lax.scan",
      "[2], [3, 4]",
    );
    expectTypedError(
      () => lax.scan(f, x, np.ones([2]), { length: 3 }),
      ShapeError,
      file,
      "length: 3",
      "[2]",
    );
    expectTypedError(() => lax.scan(f, x, [np.ones([2]), np.array(1)]), ShapeError, file, "scalar");
  });

  it("scan without xs or length, or with a bad length", () => {
    const f = (c: NDArray) => [c, null] as const;
    expectTypedError(() => lax.scan(f, x, null), ValueError, file, "lax.scan", "length");
    expectTypedError(() => lax.scan(f, x), ValueError, file, "length");
    expectTypedError(() => lax.scan(f, x, null, { length: -1 }), ValueError, file, "-1");
    expectTypedError(() => lax.scan(f, x, null, { length: 2.5 }), ValueError, file, "2.5");
  });

  it("scan body not returning a [carry, y] pair", () => {
    const xs = np.ones([2]);
    expectTypedError(
      () => lax.scan((c: NDArray) => c as never, x, xs),
      TreeError,
      file,
      "lax.scan",
      "[carry, y]",
      "object",
    );
    expectTypedError(
      () =>
        lax.scan(
          function stepFn(c: NDArray) {
            return [c, c, c] as never;
          },
          x,
          xs,
        ),
      TreeError,
      file,
      "body stepFn",
      "an array of 3",
    );
  });

  it("whileLoop: a non-scalar condition, and a body changing the carry", () => {
    expectTypedError(
      () => lax.whileLoop((v: NDArray) => v.lt(2), id, x),
      ShapeError,
      file,
      "lax.whileLoop",
      "scalar",
      "[3]",
    );
    expectTypedError(
      () =>
        lax.whileLoop(
          (v: NDArray) => v.sum().lt(2),
          (v: NDArray) => v.get(":2"),
          x,
        ),
      ShapeError,
      file,
      "lax.whileLoop",
      "in : f64[3]",
      "out: f64[2]",
    );
    expectTypedError(
      () =>
        lax.whileLoop(
          (v: NDArray) => v.sum().lt(2),
          (v: NDArray) => v.astype("int32"),
          x,
        ),
      ShapeError,
      file,
      "out: i32[3]",
    );
    expectTypedError(
      () =>
        lax.whileLoop(
          (v: NDArray) => v.sum().lt(2),
          (v: NDArray) => ({ v }) as never,
          x,
        ),
      TreeError,
      file,
      "lax.whileLoop",
    );
    // The same checks with maxSteps (a scan underneath): still named lax.whileLoop.
    expectTypedError(
      () => lax.whileLoop((v: NDArray) => v.lt(2), id, x, { maxSteps: 3 }),
      ShapeError,
      file,
      "lax.whileLoop",
      "scalar",
    );
  });

  // With maxSteps the body's carry is checked against the init, as without.
  it("whileLoop with maxSteps: a body changing the carry's shape or dtype names lax.whileLoop", () => {
    const c = (v: NDArray) => v.sum().lt(2);
    expectTypedError(
      () => lax.whileLoop(c, (v: NDArray) => v.get(":2"), x, { maxSteps: 3 }),
      ShapeError,
      file,
      "lax.whileLoop",
      "in : f64[3]",
      "out: f64[2]",
    );
    expectTypedError(
      () => lax.whileLoop(c, (v: NDArray) => v.astype("int32"), x, { maxSteps: 3 }),
      ShapeError,
      file,
      "lax.whileLoop",
      "out: i32[3]",
    );
  });

  // With maxSteps a body returning another structure is a TreeError, as without.
  it("whileLoop with maxSteps: a body changing the carry's structure is a TreeError", () => {
    const c = (v: NDArray) => v.sum().lt(20);
    expectTypedError(
      () => lax.whileLoop(c, (v: NDArray) => ({ v: v.mul(2) }) as never, x, { maxSteps: 5 }),
      TreeError,
      file,
      "lax.whileLoop",
    );
    expectTypedError(
      () => lax.whileLoop(c, (v: NDArray) => [v.mul(2), v] as never, x, { maxSteps: 5 }),
      TreeError,
      file,
      "lax.whileLoop",
    );
  });

  it("foriLoop body changing the carry is a typed error showing both sides", () => {
    const body = (_i: NDArray, acc: NDArray): NDArray => acc.get(":2");
    expectTypedError(() => lax.foriLoop(0, 3, body, x), ShapeError, file, "f64[3]", "f64[2]");
    expectTypedError(() => lax.foriLoop(i32(0), 3, body, x), ShapeError, file, "f64[3]", "f64[2]");
    expectTypedError(
      () => lax.foriLoop(0, 3, (_i: NDArray, acc: NDArray) => [acc] as never, x),
      TreeError,
      file,
    );
  });

  // foriLoop's carry errors name lax.foriLoop and show only the user's carry.
  it("foriLoop body changing the carry: the error names lax.foriLoop and only the carry", () => {
    const body = (_i: NDArray, acc: NDArray): NDArray => acc.get(":2");
    expectTypedError(
      () => lax.foriLoop(0, 3, body, x),
      ShapeError,
      file,
      "lax.foriLoop",
      "in : f64[3]",
    );
  });

  it("whileLoop with a bad maxSteps or checkpoints", () => {
    const c = (v: NDArray) => v.sum().lt(2);
    expectTypedError(
      () => lax.whileLoop(c, id, x, { maxSteps: -1 }),
      ValueError,
      file,
      "maxSteps",
      "-1",
    );
    expectTypedError(
      () => lax.whileLoop(c, id, x, { maxSteps: 1.5 }),
      ValueError,
      file,
      "maxSteps",
    );
    expectTypedError(
      () => lax.whileLoop(c, id, x, { maxSteps: 4, checkpoints: 1 }),
      ValueError,
      file,
      "checkpoints",
    );
  });

  it("select with mismatched shapes or dtypes, a non-bool predicate, or a predicate of another shape", () => {
    expectTypedError(
      () => lax.select(np.array([true, false]), f64([1, 2]), f64([1, 2, 3])),
      ShapeError,
      file,
      "lax.select",
      "f64[2]",
      "f64[3]",
    );
    expectTypedError(
      () => lax.select(np.array([true, false]), f64([1, 2]), i32([1, 2])),
      ShapeError,
      file,
      "f64[2]",
      "i32[2]",
    );
    expectTypedError(
      () => lax.select(np.array([1, 0]), f64([1, 2]), f64([1, 2])),
      ShapeError,
      file,
      "lax.select",
      "bool",
    );
    expectTypedError(
      () => lax.select(np.array([true, false, true]), f64([1, 2]), f64([1, 2])),
      ShapeError,
      file,
      "[2]",
      "[3]",
    );
  });

  it("non-function bodies and branches are ValueErrors naming the role", () => {
    const n = 3 as never;
    expectTypedError(
      () => lax.cond(true, n, id, x),
      ValueError,
      file,
      "lax.cond",
      "true branch",
      "number",
    );
    expectTypedError(() => lax.cond(true, id, n, x), ValueError, file, "lax.cond", "false branch");
    expectTypedError(
      () => lax.scan(n, x, null, { length: 2 }),
      ValueError,
      file,
      "lax.scan",
      "body",
    );
    expectTypedError(() => lax.map(n, x), ValueError, file, "lax.map");
    expectTypedError(() => lax.foriLoop(0, 3, n, x), ValueError, file, "lax.foriLoop", "body");
    expectTypedError(() => lax.whileLoop(n, id, x), ValueError, file, "lax.whileLoop", "condition");
    expectTypedError(
      () => lax.whileLoop(() => false, n, x),
      ValueError,
      file,
      "lax.whileLoop",
      "body",
    );
  });

  it("foriLoop with fractional bounds; non-array leaves in a carry", () => {
    expectTypedError(
      () => lax.foriLoop(0, 2.5, (_i: NDArray, c: NDArray) => c, x),
      ValueError,
      file,
      "lax.foriLoop",
      "2.5",
    );
    expectTypedError(
      () => lax.scan((c: NDArray) => [c, null] as const, "text" as never, null, { length: 1 }),
      TreeError,
      file,
      "lax.scan",
      "string",
    );
  });

  it("errors raised under jit, grad and vmap still name this file and the operation", () => {
    const bad = (v: NDArray) => lax.cond(v.sum().gt(0), (a: NDArray) => a.sum(), id, v);
    expectTypedError(() => jit(bad)(x), ShapeError, file, "lax.cond");
    expectTypedError(() => grad((v: NDArray) => bad(v).sum())(x), ShapeError, file, "lax.cond");
    expectTypedError(() => vmap(bad)(np.ones([2, 3])), ShapeError, file, "lax.cond");
  });

  it("error classes are FluxionErrors", () => {
    expect(new lax.WhileLoopReverseError("lax.whileLoop", "x")).toBeInstanceOf(FluxionError);
  });
});

/**
 * Differentiating nested control flow whose inner bodies capture, by JS closure, arrays that
 * depend on the differentiated input (the captured value's tangent then flows into the inner
 * loop or branch as an operand): reverse mode (eager and under jit) against central differences
 * and checkGrads in float64; the partial evaluation that splits a loop or branch by which inputs
 * are known; and the typed errors reverse mode gives where it cannot go (a whileLoop without
 * maxSteps, a derivative rule that is not linear).
 */
import { describe, expect, it } from "vitest";
import {
  ValueError,
  checkGrads,
  grad,
  jit,
  jvp,
  lax,
  linearize,
  makeProgram,
  np,
  ode,
  vjp,
  type NDArray,
} from "../../src/index.js";
import type { Program } from "../../src/core/ir.js";
import { definePrimitive, type Primitive } from "../../src/core/primitive.js";
import { bind } from "../../src/core/trace.js";
import { partialEval, runProgram } from "../../src/lax/programs.js";
import { expectClose, expectTypedError, lineHere } from "../helpers/assertions.js";
import { f64, numericGrad } from "../helpers/numeric.js";

const file = "control-ad.test.ts";

/** A broken primitive: its JVP rule's primal output reads the tangent. */
const leaky: Primitive = definePrimitive({
  name: "control_ad_test_leaky",
  linear: false,
  abstractEval: (avals) => [...avals],
  impl: (inputs) => [...inputs],
  jvp: (primals, tangents) => [[primals[0]!.add(tangents[0]!)], [tangents[0]!]],
  batch: (inputs, axes) => [[...inputs], [...axes]],
});

/** Broken primitives whose JVP rules are not linear in the tangent (`sin t`, `|t|`). */
const bent = (name: string, tangent: (t: NDArray) => NDArray): Primitive =>
  definePrimitive({
    name,
    linear: false,
    abstractEval: (avals) => [...avals],
    impl: (inputs) => [...inputs],
    jvp: (primals, tangents) => [[...primals], [tangent(tangents[0]!)]],
    batch: (inputs, axes) => [[...inputs], [...axes]],
  });
const sinTangent = bent("control_ad_test_sin_tangent", (t) => np.sin(t));
const absTangent = bent("control_ad_test_abs_tangent", (t) => lax.select(t.gt(0), t, t.neg()));
const tight = { rtol: 1e-12, atol: 1e-12 };
const numeric = { rtol: 1e-6, atol: 1e-8 };

type Scalar = (a: NDArray) => NDArray;

/** grad(f) at `a` against central differences, and jit(grad(f)) against grad(f). */
function expectGradRight(f: Scalar, a: NDArray): void {
  const g = grad(f)(a);
  expectClose(g, numericGrad(f, [a]), numeric);
  expectClose(jit(grad(f))(a), g, tight);
}

/**
 * `√a` by Newton's method in a whileLoop without maxSteps whose body captures `a` (so `a`'s
 * tangent flows into the loop), then one more Newton step from the root with the root's
 * gradient stopped: the value is the root, and its derivative 1/(2√a) comes from that last step
 * (the implicit function theorem), as the ODE engine's implicit stages do.
 */
function newtonSqrt(a: NDArray, x0: NDArray): NDArray {
  const [, root] = lax.whileLoop(
    ([k, x]: NDArray[]) => np.logicalAnd(k!.lt(50), np.abs(x!.mul(x!).sub(a)).gt(a.mul(1e-15))),
    ([k, x]: NDArray[]) => [k!.add(1), x!.sub(x!.mul(x!).sub(a).div(x!.mul(2)))],
    [np.array(0, { dtype: "int32" }), x0],
  );
  const r = lax.stopGradient(root!);
  return r.sub(r.mul(r).sub(a).div(r.mul(2)));
}

describe("captured differentiated arrays inside nested control flow (reverse mode)", () => {
  const a = f64(1.3);

  // Each case: the inner loop or branch captures `a` (or the outer loop's carry) by closure.
  const cases: [string, Scalar][] = [
    [
      "cond in scan",
      (a) =>
        lax.scan(
          (c: NDArray) =>
            [
              lax.cond(
                c.gt(0),
                (x: NDArray) => x.mul(a),
                (x: NDArray) => x.add(a),
                c,
              ),
              null,
            ] as const,
          f64(0.5),
          null,
          { length: 3 },
        )[0],
    ],
    [
      "whileLoop with maxSteps in scan",
      (a) =>
        lax.scan(
          (c: NDArray) =>
            [
              lax.whileLoop(
                (x: NDArray) => x.lt(5),
                (x: NDArray) => x.mul(a).add(0.1),
                c,
                { maxSteps: 10 },
              ),
              null,
            ] as const,
          f64(0.5),
          null,
          { length: 3 },
        )[0],
    ],
    [
      "whileLoop with maxSteps in cond",
      (a) =>
        lax.cond(
          a.gt(0),
          (c: NDArray) =>
            lax.whileLoop(
              (x: NDArray) => x.lt(5),
              (x: NDArray) => np.sin(x.mul(a)).add(x),
              c,
              { maxSteps: 10 },
            ),
          (c: NDArray) => c,
          f64(0.5),
        ),
    ],
    [
      "scan in cond",
      (a) =>
        lax.cond(
          a.gt(0),
          (c: NDArray) =>
            lax.scan((x: NDArray) => [np.sin(x.mul(a)), null] as const, c, null, { length: 3 })[0],
          (c: NDArray) => c,
          f64(0.5),
        ),
    ],
    [
      "cond in whileLoop with maxSteps, capturing the loop's input",
      (a) => {
        const b = np.exp(a.mul(0.5));
        return lax.whileLoop(
          (x: NDArray) => x.lt(4),
          (x: NDArray) =>
            lax.cond(
              x.gt(1),
              (y: NDArray) => y.mul(b),
              (y: NDArray) => y.add(b),
              x,
            ),
          f64(0.25),
          { maxSteps: 8 },
        );
      },
    ],
    [
      "scan in scan in cond",
      (a) =>
        lax.cond(
          a.gt(0),
          (c: NDArray) =>
            lax.scan(
              (x: NDArray) =>
                [
                  lax.scan((y: NDArray) => [np.tanh(y.mul(a).add(x)), null] as const, x, null, {
                    length: 2,
                  })[0],
                  null,
                ] as const,
              c,
              null,
              { length: 2 },
            )[0],
          (c: NDArray) => c,
          f64(0.5),
        ),
    ],
  ];

  for (const [name, f] of cases) {
    it(`${name}: grad and jit(grad) match central differences; checkGrads to order 2`, () => {
      expectGradRight(f, a);
      expect(() => checkGrads(f, [a], { order: 2 })).not.toThrow();
    });
  }

  // A whileLoop without maxSteps cannot be transposed, but its result can be used with its
  // gradient stopped: before, partial evaluation of the enclosing body made every output of the
  // loop (the primal root included) depend on the captured tangent, an internal error.
  const implicit: [string, Scalar][] = [
    ["Newton whileLoop at the top level", (a) => newtonSqrt(a, f64(1))],
    [
      "Newton whileLoop in cond",
      (a) =>
        lax.cond(
          a.gt(0),
          (x0: NDArray) => newtonSqrt(a, x0).mul(a),
          (x0: NDArray) => x0,
          f64(1),
        ),
    ],
    [
      "Newton whileLoop in scan, capturing the carry",
      (a) =>
        lax.scan((c: NDArray) => [newtonSqrt(c.mul(a), c).add(c), null] as const, f64(1.5), null, {
          length: 3,
        })[0],
    ],
    [
      "Newton whileLoop in cond in scan",
      (a) =>
        lax.scan(
          (c: NDArray) =>
            [
              lax.cond(
                c.gt(0),
                (x: NDArray) => newtonSqrt(x.mul(a), f64(1)),
                (x: NDArray) => x,
                c,
              ),
              null,
            ] as const,
          f64(2),
          null,
          { length: 2 },
        )[0],
    ],
    [
      "Newton whileLoop in whileLoop with maxSteps",
      (a) =>
        lax.whileLoop(
          (c: NDArray) => c.lt(3),
          (c: NDArray) => newtonSqrt(a.mul(c), f64(1)).add(c),
          f64(0.5),
          { maxSteps: 6 },
        ),
    ],
  ];

  for (const [name, f] of implicit) {
    it(`${name}: grad, jit(grad) and jvp are right; checkGrads (order 1)`, () => {
      expectGradRight(f, a);
      const [, slope] = jvp(f, [a], [f64(1)]);
      expectClose(slope, grad(f)(a), { rtol: 1e-12, atol: 1e-14 });
      expect(() => checkGrads(f, [a], { order: 1 })).not.toThrow();
    });
  }

  it("the top-level case's gradient is exactly 1/(2√a)", () => {
    expectClose(
      grad((x: NDArray) => newtonSqrt(x, f64(1)))(f64(2)),
      f64(1 / (2 * Math.sqrt(2))),
      tight,
    );
  });

  it("the loop's stopped result times the input: grad is the stopped result", () => {
    // Before, the staged primal loop put `stopGradient(root)·a` into the linear program as a
    // product of two "linear" values ("mul is not linear in both operands at once").
    const loop = (a: NDArray): NDArray =>
      lax.whileLoop(
        (x: NDArray) => x.lt(5),
        (x: NDArray) => x.mul(a).add(0.1),
        f64(0.5),
      );
    const f = (a: NDArray): NDArray => lax.stopGradient(loop(a)).mul(a);
    expectClose(grad(f)(a), loop(a), tight);
    expectClose(jit(grad(f))(a), loop(a), tight);
  });

  it("linearize through a captured-tangent whileLoop gives the forward derivative", () => {
    const f = (a: NDArray): NDArray =>
      lax.cond(
        a.gt(0),
        (c: NDArray) =>
          lax.whileLoop(
            (x: NDArray) => x.lt(5),
            (x: NDArray) => x.mul(a).add(0.1),
            c,
          ),
        (c: NDArray) => c,
        f64(0.5),
      );
    const [out, lin] = linearize(f, a);
    expectClose(out, f(a), tight);
    expectClose(lin(f64(1)), jvp(f, [a], [f64(1)])[1], tight);
    expectClose(lin(f64(1)), numericGrad(f, [a]), numeric);
  });

  it("an implicit ODE solver whose vector field captures the differentiated array", () => {
    const solve = (a: NDArray, viaArgs: boolean): NDArray =>
      (
        ode.solve({
          terms: new ode.ODETerm(
            viaArgs
              ? (_t: NDArray, y: NDArray, args: unknown) => y.mul(args as NDArray).neg()
              : (_t: NDArray, y: NDArray) => y.mul(a).neg(),
          ),
          solver: new ode.Kvaerno3(),
          t0: 0,
          t1: 0.5,
          dt0: 0.125,
          y0: f64([1]),
          args: viaArgs ? a : undefined,
        }).ys as NDArray
      ).sum();
    const x = f64(0.7);
    const captured = grad((a: NDArray) => solve(a, false))(x);
    expectClose(captured, grad((a: NDArray) => solve(a, true))(x), tight);
    expectClose(
      captured,
      numericGrad((a: NDArray) => solve(a, false), [x]),
      numeric,
    );
    expectClose(jit(grad((a: NDArray) => solve(a, false)))(x), captured, tight);
    expect(() => checkGrads((a: NDArray) => solve(a, false), [x], { order: 1 })).not.toThrow();
  }, 60_000);
});

describe("reverse mode through whileLoop without maxSteps is a WhileLoopReverseError", () => {
  const x = f64(1.2);

  /** The loop's int (or bool) carry decides a select after the loop. */
  const withCounter = (x: NDArray): NDArray => {
    const [i, y] = lax.whileLoop(
      ([i]: NDArray[]) => i!.lt(3),
      ([i, y]: NDArray[]) => [i!.add(1), y!.mul(x)],
      [np.array(0), x],
    );
    return lax.select(i!.gt(2), y!, y!.mul(2)).sum();
  };
  const withFlag = (x: NDArray): NDArray => {
    const [b, y] = lax.whileLoop(
      ([, y]: NDArray[]) => y!.lt(3),
      ([, y]: NDArray[]) => [y!.gt(1), y!.mul(x)],
      [np.array(false), x],
    );
    return lax.select(b!, y!, y!.mul(2)).sum();
  };
  const inScan = (x: NDArray): NDArray =>
    lax.scan(
      (c: NDArray) => {
        const [i, y] = lax.whileLoop(
          ([i]: NDArray[]) => i!.lt(2),
          ([i, y]: NDArray[]) => [i!.add(1), np.sin(y!.mul(x))],
          [np.array(0), c],
        );
        return [lax.select(i!.gt(1), y!, y!.mul(2)), null] as const;
      },
      x,
      null,
      { length: 2 },
    )[0];

  for (const [name, f] of [
    ["an int carry used by a select after the loop", withCounter],
    ["a bool carry used by a select after the loop", withFlag],
    ["an int carry used by a select, in a scan", inScan],
  ] as const) {
    it(`${name}: grad, vjp and jit(grad) throw it, naming this line and maxSteps`, () => {
      const line = lineHere() + 1;
      const e = expectTypedError(() => grad(f)(x), lax.WhileLoopReverseError, file, "maxSteps");
      expect(e.site?.line).toBe(line);
      expect(e).toBeInstanceOf(ValueError);
      expectTypedError(
        () => vjp(f, x)[1](f64(1)),
        lax.WhileLoopReverseError,
        file,
        "lax.whileLoop",
      );
      expectTypedError(() => jit(grad(f))(x), lax.WhileLoopReverseError, file, "maxSteps");
    });

    it(`${name}: forward mode works and matches central differences`, () => {
      expectClose(jvp(f, [x], [f64(1)])[1], numericGrad(f, [x]), numeric);
    });
  }

  it("a whileLoop that captures the tangent inside a cond or scan: the typed error too", () => {
    const loop = (a: NDArray, c: NDArray): NDArray =>
      lax.whileLoop(
        (v: NDArray) => v.lt(5),
        (v: NDArray) => v.mul(a).add(0.1),
        c,
      );
    const inCond = (a: NDArray): NDArray =>
      lax.cond(
        a.gt(0),
        (c: NDArray) => loop(a, c),
        (c: NDArray) => c,
        f64(0.5),
      );
    const inScan = (a: NDArray): NDArray =>
      lax.scan((c: NDArray) => [loop(a, c), null] as const, f64(0.5), null, { length: 2 })[0];
    for (const f of [inCond, inScan]) {
      expectTypedError(() => grad(f)(f64(1.3)), lax.WhileLoopReverseError, file, "maxSteps");
      expectTypedError(() => jit(grad(f))(f64(1.3)), lax.WhileLoopReverseError, file, "maxSteps");
      // Forward mode went through the same partial evaluation (an internal error before).
      expectClose(jvp(f, [f64(1.3)], [f64(1)])[1], numericGrad(f, [f64(1.3)]), numeric);
    }
  });

  it("with maxSteps the same functions differentiate (checkGrads to order 2)", () => {
    const bounded = (x: NDArray): NDArray => {
      const [i, y] = lax.whileLoop(
        ([i]: NDArray[]) => i!.lt(3),
        ([i, y]: NDArray[]) => [i!.add(1), y!.mul(x)],
        [np.array(0), x],
        { maxSteps: 5 },
      );
      return lax.select(i!.gt(2), y!, y!.mul(2)).sum();
    };
    expectGradRight(bounded, x);
    expect(() => checkGrads(bounded, [x], { order: 2 })).not.toThrow();
  });
});

describe("int and bool outputs of cond and scan carry no tangent", () => {
  const x = f64(1.2);
  const cases: [string, Scalar][] = [
    [
      "cond returning an int, then a select on it",
      (x) => {
        const [i, y] = lax.cond(
          x.gt(0),
          (v: NDArray) => [np.array(1), v.mul(2)],
          (v: NDArray) => [np.array(2), v.mul(3)],
          x,
        ) as NDArray[];
        return lax.select(i!.gt(1), y!, y!.mul(y!)).sum();
      },
    ],
    [
      "scan with an int and a bool carry, then a select on them",
      (x) => {
        const [[i, b, y]] = lax.scan(
          ([i, , y]: NDArray[]): [NDArray[], null] => [
            [i!.add(1), y!.gt(0.5), np.sin(y!.mul(x))],
            null,
          ],
          [np.array(0), np.array(false), x],
          null,
          { length: 3 },
        ) as unknown as [NDArray[]];
        return lax.select(np.logicalAnd(i!.gt(2), b!), y!, y!.mul(y!)).sum();
      },
    ],
  ];
  for (const [name, f] of cases) {
    it(`${name}: grad and jit(grad) are right; checkGrads to order 2`, () => {
      expectGradRight(f, x);
      expect(() => checkGrads(f, [x], { order: 2 })).not.toThrow();
    });
  }
});

describe("what reverse mode through a loop saves per step", () => {
  // An RNN-like scan whose step reads Wᵀ (in both branches of a cond): the backward pass needs Wᵀ
  // at every step, but it is a view of the loop constant W, so the forward scan stacks no copy of
  // it (50 of them); the gradient is the unrolled loop's.
  const steps = 50;
  const w = np.arange(9).reshape([3, 3]).astype("float64").mul(0.1);
  const xs = np.linspace(-1, 1, steps * 3, { dtype: "float64" }).reshape([steps, 1, 3]);
  const step = (w: NDArray, h: NDArray, x: NDArray, positive: boolean): NDArray =>
    positive ? np.tanh(np.matmul(x.add(h), w.T)) : np.matmul(h, w.T).mul(0.5);
  const loss = (w: NDArray): NDArray =>
    lax
      .scan(
        (h: NDArray, x: NDArray): [NDArray, NDArray] => {
          const next = lax.cond(
            x.sum().gt(0),
            (hh: NDArray) => step(w, hh, x, true),
            (hh: NDArray) => step(w, hh, x, false),
            h,
          ) as NDArray;
          return [next, next.sum()];
        },
        np.zeros([1, 3], { dtype: "float64" }),
        xs,
      )[1]
      .sum();
  /** The scans' loss as a JavaScript loop: Σₜ sum(hₜ), hₜ = next(hₜ₋₁, xₜ) from h₀ = 0. */
  const unrolledLoss = (next: (h: NDArray, x: NDArray) => NDArray): NDArray => {
    let h = np.zeros([1, 3], { dtype: "float64" });
    let total = np.array(0, { dtype: "float64" });
    for (let t = 0; t < steps; t++) {
      h = next(h, xs.get(t));
      total = total.add(h.sum());
    }
    return total;
  };
  const unrolled = (w: NDArray): NDArray =>
    unrolledLoss((h, x) => step(w, h, x, (x.sum().item() as number) > 0));

  it("stacks no per-step copy of a view of a loop constant; the gradient is the loop's", () => {
    const text = makeProgram(grad(loss))(w).toString();
    expect(text).not.toContain(`f64[${steps},3,3]`);
    expectClose(grad(loss)(w), grad(unrolled)(w), tight);
    expectClose(jit(grad(loss))(w), grad(unrolled)(w), tight);
  });

  it("computes what the step derives from loop constants alone once, before the loop", () => {
    // Wᵀ·W and softplus(b) are the same every step: the backward pass reads one copy of each.
    const b = np.array([0.3, -0.2, 0.1], { dtype: "float64" });
    const cell = (w: NDArray, b: NDArray, h: NDArray, x: NDArray): NDArray =>
      np.tanh(np.matmul(x.add(h), w.T.matmul(w)).add(np.logaddexp(b, 0)));
    const rnn = (w: NDArray, b: NDArray): NDArray =>
      lax
        .scan(
          (h: NDArray, x: NDArray): [NDArray, NDArray] => {
            const next = cell(w, b, h, x);
            return [next, next.sum()];
          },
          np.zeros([1, 3], { dtype: "float64" }),
          xs,
        )[1]
        .sum();
    const rolledOut = (w: NDArray, b: NDArray): NDArray => unrolledLoss((h, x) => cell(w, b, h, x));
    const both = { argnums: [0, 1] };
    const text = makeProgram(grad(rnn, both))(w, b).toString();
    expect(text).not.toContain(`f64[${steps},3,3]`);
    const expected = grad(rolledOut, both)(w, b) as unknown as NDArray[];
    expectClose(grad(rnn, both)(w, b) as unknown as NDArray[], expected, tight);
    expectClose(jit(grad(rnn, both))(w, b) as unknown as NDArray[], expected, tight);
  });

  it("treats a carry every step passes on unchanged (parameters in the carry) as a constant", () => {
    const carried = (w: NDArray): NDArray =>
      lax
        .scan(
          ([ww, h]: NDArray[], x: NDArray): [NDArray[], NDArray] => {
            const next = np.tanh(np.matmul(x.add(h!), ww!.T.matmul(ww!)));
            return [[ww!, next], next.sum()];
          },
          [w, np.zeros([1, 3], { dtype: "float64" })],
          xs,
        )[1]
        .sum();
    const rolledOut = (w: NDArray): NDArray =>
      unrolledLoss((h, x) => np.tanh(np.matmul(x.add(h), w.T.matmul(w))));
    expect(makeProgram(grad(carried))(w).toString()).not.toContain(`f64[${steps},3,3]`);
    expectClose(grad(carried)(w), grad(rolledOut)(w), tight);
    expectClose(jit(grad(carried))(w), grad(rolledOut)(w), tight);
  });
});

describe("partial evaluation of loops and branches with some unknown inputs", () => {
  /** Runs `program`, and its split by `knownInputs`, on `args`: both give the same outputs. */
  function expectSplitAgrees(
    program: Program,
    knownInputs: boolean[],
    knownOutputs: boolean[],
    args: NDArray[],
  ): void {
    const split = partialEval(program, knownInputs, knownOutputs);
    const knownOuts = runProgram(
      split.known,
      args.filter((_, i) => knownInputs[i]),
    );
    const nKnown = knownOutputs.filter(Boolean).length;
    const unknownOuts = runProgram(split.unknown, [
      ...knownOuts.slice(nKnown),
      ...args.filter((_, i) => !knownInputs[i]),
    ]);
    const expected = runProgram(program, args);
    let k = 0;
    let u = 0;
    const got = expected.map((_, i) => (knownOutputs[i] ? knownOuts[k++]! : unknownOuts[u++]!));
    expectClose(got, expected, tight);
    // Nothing the known program computes reads an unknown input.
    expect(split.known.invars.length).toBe(knownInputs.filter(Boolean).length);
  }

  const a = f64(0.7);
  const b = f64(-0.4);

  it("a scan's carries that stay known are computed without the unknown ones (a fixed point)", () => {
    // Carry 0 reads only itself and `a`; carry 1 reads `b`; carry 2 becomes unknown a step after
    // carry 1 reaches it, so only carry 0 and the y from it are known.
    const f = (a: NDArray, b: NDArray) =>
      lax.scan(
        ([p, q, r]: NDArray[]): [NDArray[], NDArray[]] => [
          [np.sin(p!.add(a)), q!.mul(b), r!.add(q!)],
          [p!.mul(2), r!],
        ],
        [f64(0.1), f64(0.2), f64(0.3)],
        null,
        { length: 4 },
      );
    const program = makeProgram(f)(a, b);
    expectSplitAgrees(program, [true, false], [true, false, false, true, false], [a, b]);
  });

  it("a while loop's known carries, with the condition on a known one", () => {
    const f = (a: NDArray, b: NDArray) =>
      lax.whileLoop(
        ([k]: NDArray[]) => k!.lt(5),
        ([k, p, q]: NDArray[]) => [k!.add(1), p!.mul(a), q!.add(p!.mul(b))],
        [np.array(0), f64(1), f64(0)],
      );
    const program = makeProgram(f)(a, b);
    expectSplitAgrees(program, [true, false], [true, true, false], [a, b]);
  });

  it("a cond's outputs that every branch computes from known operands", () => {
    const f = (a: NDArray, b: NDArray) =>
      lax.cond(
        a.gt(0),
        (x: NDArray, y: NDArray) => [x.mul(2), x.add(y)],
        (x: NDArray, y: NDArray) => [np.sin(x), y],
        a,
        b,
      );
    const program = makeProgram(f)(a, b);
    expectSplitAgrees(program, [true, false], [true, false], [a, b]);
  });

  it("a residual that is a view of a known input is computed again, not saved", () => {
    // tanh(x·Wᵀ): the tangent reads Wᵀ; the split saves W (an input) and transposes it again.
    const w = np.arange(6).reshape([2, 3]).astype("float64").mul(0.1);
    const x = np.array([[0.5, -1, 2]], { dtype: "float64" });
    const jvpOf = makeProgram(
      (w: NDArray, x: NDArray, dx: NDArray) =>
        jvp((xx: NDArray) => np.tanh(np.matmul(xx, w.T)), [x], [dx])[1],
    )(w, x, x);
    const split = partialEval(jvpOf, [true, true, false], [false]);
    expect(split.residuals.map((v) => v.aval.shape)).not.toContainEqual([3, 2]);
    expect(split.residuals).toContain(jvpOf.invars[0]);
    expectSplitAgrees(jvpOf, [true, true, false], [false], [w, x, x.mul(-2)]);
  });

  it("an output expected known that depends on an unknown input is a typed error", () => {
    // A primitive whose JVP rule computes its primal output from the tangent, inside a scan.
    const f = (x: NDArray) =>
      lax.scan((c: NDArray) => [bind(leaky, [c], {})[0]!, null] as const, x, null, {
        length: 2,
      })[0];
    expectTypedError(() => grad(f)(f64(1)), ValueError, file, "primal", "JVP rule");
    expectTypedError(() => jvp(f, [f64(1)], [f64(1)]), ValueError, file, "tangent");
    // Outside a body, linearize finds it.
    const g = (x: NDArray) => bind(leaky, [x], {})[0]!.sum();
    expectTypedError(() => grad(g)(f64(1)), ValueError, file, "primal", "JVP rule");
  });

  it("a linear program that is not linear is a typed error naming what is not", () => {
    const viaSin = (x: NDArray) => bind(sinTangent, [x], {})[0]!.sum();
    expectTypedError(() => grad(viaSin)(f64([1, 2])), ValueError, file, "sin", "not linear");
    const viaAbs = (x: NDArray) => bind(absTangent, [x], {})[0]!.sum();
    expectTypedError(
      () => grad(viaAbs)(f64([1, 2])),
      ValueError,
      file,
      "bool value that gt computed from a tangent",
    );
  });
});

/**
 * Programs whose arrays are small run as one generated JavaScript function (issues #4, #7):
 * values of a few elements in local variables, larger ones in typed arrays allocated once, loops
 * and branches as JavaScript loops and branches. Every case here checks that the compiled result
 * equals the eager one bit for bit (dtype, shape, -0, NaN), on the first and a second call, that
 * a second call with other arguments leaves the first call's results intact, and that the program
 * really ran as one function (the report says so).
 */
import { describe, expect, it } from "vitest";
import { jit, lax, np, ode, type NDArray } from "../../src/index.js";
import { expectIdentical } from "../helpers/assertions.js";
import { random } from "../helpers/numeric.js";
import { bind } from "../../src/core/trace.js";
import { gather, scatter } from "../../src/primitives/indexing.js";

const f32 = (data: number[] | number[][]): NDArray => np.array(data, { dtype: "float32" });
const f64 = (data: number[] | number[][]): NDArray => np.array(data, { dtype: "float64" });
const i32 = (data: number[] | number[][]): NDArray => np.array(data, { dtype: "int32" });

/** Awkward floats: signed zeros, NaN, infinities, a float32 subnormal, large and small values. */
const awkward = [-0, 0, NaN, Infinity, -Infinity, -2.5, 1e-40, 3.75, 1e30, -7];

const runsInline = (f: (...args: never[]) => unknown, args: unknown[]): boolean =>
  jit(f)
    .lower(...(args as never[]))
    .report().runsAs !== undefined;

/**
 * `jit(f)` runs as one generated function and equals `f` bit for bit; results of a call survive
 * a later call with `other` arguments (buffers allocated once are never handed out).
 */
function expectInline<A extends unknown[]>(f: (...args: A) => unknown, args: A, other?: A): void {
  expect(runsInline(f as never, args), "runs as one generated function").toBe(true);
  const g = jit(f);
  const eager = f(...args);
  const first = g(...args);
  expectIdentical(first, eager);
  if (other !== undefined) expectIdentical(g(...other), f(...other));
  expectIdentical(g(...args), eager);
  expectIdentical(first, eager);
}

describe("elementwise", () => {
  const chain = (x: NDArray, y: NDArray): NDArray[] => [
    x.mul(3).add(1).div(x.sub(0.5)),
    np.maximum(x, y),
    np.minimum(y, x),
    x.neg().sub(y),
    np.where(x.gt(y), x, y.mul(-0)),
    np.sqrt(np.abs(x)).add(np.floor(y)).sub(np.ceil(x)),
  ];

  it("float32 and float64 chains, with -0, NaN, infinities and subnormals", () => {
    for (const make of [f32, f64]) {
      const x = make(awkward);
      const y = make([...awkward].reverse());
      expectInline(chain, [x, y], [y, x]);
      // Arrays of more than 16 elements live in typed arrays (one fused loop).
      const big = make([...awkward, ...awkward, ...awkward]);
      const bigY = make([...awkward, ...awkward, ...awkward].map((v, i) => v * (i % 3) - 1));
      expectInline(chain, [big, bigY], [bigY, big]);
    }
  });

  it("rank-0 operands broadcast, JS numbers are weak literals", () => {
    const f = (x: NDArray, s: NDArray): NDArray[] => [x.mul(s).add(2.5), s.sub(x), x.add(s).mul(s)];
    expectInline(f, [f32([1, 2, 3]), f32([]).reshape([0]).sum().add(0.1)]);
    expectInline(f, [f64(awkward), np.array(-0, { dtype: "float64" })]);
    expectInline(f, [random([6, 7], 3), np.array(1.5, { dtype: "float64" })]);
  });

  it("scalar functions without an inline form: pow, atan2, sign, round, exp2, cbrt, is_finite", () => {
    const f = (x: NDArray, y: NDArray): NDArray[] => [
      np.power(np.abs(x), y),
      np.arctan2(x, y),
      np.sign(x),
      np.round(x.mul(2.5)),
      np.exp2(y),
      np.cbrt(x),
      np.isfinite(x.mul(y)),
      np.tanh(x),
    ];
    expectInline(f, [random([5], 1), random([5], 2)]);
    expectInline(f, [random([4, 6], 1), random([4, 6], 2)]);
  });

  it("float32 exp, log, tanh, sin, cos, atan run the vectorised code, as eagerly", () => {
    const f = (x: NDArray): NDArray[] => [
      np.exp(x),
      np.log(np.abs(x).add(1)),
      np.tanh(x.mul(2)),
      np.sin(x).add(np.cos(x)),
      np.arctan(x),
      np.expm1(x).mul(np.log1p(np.abs(x))),
    ];
    expectInline(f, [f32([0.5, -1.25, 3, -0, 7.5, 1e-3])]);
    expectInline(f, [random([20], 4).astype("float32")]);
  });

  it("float64 exp, log, log1p, expm1, tanh, logistic, sin, cos, atan run the vectorised code, as eagerly", () => {
    const f = (x: NDArray): NDArray[] => [
      np.exp(x),
      np.log(np.abs(x).add(1)),
      np.tanh(x.mul(2)),
      lax.logistic(x),
      np.arctan(x),
      np.sin(x).add(np.cos(x.mul(1e7))),
      np.expm1(x).mul(np.log1p(np.abs(x))),
    ];
    expectInline(f, [f64([0.5, -1.25, 3, -0, 7.5, 1e-3, -40])]);
    expectInline(f, [random([21], 4)]);
  });

  it("int32 and uint32 wrap, divide by zero to 0, and compare", () => {
    const f = (x: NDArray, y: NDArray): NDArray[] => [
      x.add(y),
      x.sub(y),
      x.mul(y),
      x.div(y),
      np.mod(x, y),
      x.neg(),
      np.maximum(x, y),
      x.lt(y),
      x.eq(y),
      np.logicalAnd(x.gt(0), y.gt(0)),
    ];
    const x = i32([2 ** 31 - 1, -(2 ** 31), 7, -7, 0, 123456789]);
    const y = i32([1, -1, 0, 2, 5, 987654]);
    expectInline(f, [x, y], [y, x]);
    const u = np.array([4000000000, 3, 0, 7], { dtype: "uint32" });
    const v = np.array([1, 5, 2, 4000000000], { dtype: "uint32" });
    expectInline((a: NDArray, b: NDArray) => [a.add(b), a.sub(b), a.mul(b), a.div(b)], [u, v]);
  });

  it("bools and casts (NaN to int is 0, floats truncate, bools to floats)", () => {
    const f = (x: NDArray): NDArray[] => {
      const p = x.gt(0);
      return [
        x.astype("int32"),
        x.astype("uint32"),
        x.astype("float32"),
        p,
        np.logicalNot(p),
        np.logicalXor(p, x.lt(2)),
        p.astype("float64").add(1),
        p.any(),
        p.all(),
      ];
    };
    expectInline(f, [f64([NaN, -2.7, 2.7, 1e10, -0, 0.5, Infinity])]);
  });
});

describe("data movement", () => {
  it("slices, transposes, reversals, concatenations, stacks, pads and broadcasts", () => {
    const f = (x: NDArray): NDArray[] => [
      x.get("1:, ::2"),
      x.T,
      np.flip(x, { axis: 1 }),
      np.concatenate([x, x.mul(2)], { axis: 1 }),
      np.stack([x.get(0), x.get(1)]),
      np.pad(x, [
        [1, 0],
        [2, 1],
      ]),
      np.broadcastTo(x.get(":, 0:1"), [x.shape[0]!, 5]),
      x.reshape([-1]).get("::-3"),
      np.arange(x.shape[1]!).astype(x.dtype).add(x),
    ];
    expectInline(f, [random([3, 4], 5)]); // 12 elements: all in locals
    expectInline(f, [random([6, 9], 6)]); // 54 elements: typed arrays
    expectInline(f, [random([3, 4], 5).astype("float32")]);
  });

  it("gathers clamp indices, scatters drop rows out of range and apply repeated rows in order", () => {
    const at = (values: number[], shape: number[]): NDArray =>
      np.array(values, { dtype: "int32" }).reshape(shape);
    const cases: [number[], number[], NDArray][] = [
      [[5], [0], at([0, 4, 2, 7, -1], [5, 1])],
      [[4, 3], [0], at([1, 1, 5, -1], [4, 1])],
      [[3, 4], [1], at([3, 0], [2, 1])],
      [[3, 4, 2], [2, 0], at([1, 2, 0, 0, -3, 1, 1, 2, 0, 5, 1, 2], [2, 3, 2])],
      [[6, 8], [0], at([5, 0, 5, 9, 2], [5, 1])], // typed arrays
    ];
    for (const [shape, indexedAxes, indices] of cases) {
      const operand = random(shape, shape.length).astype("float32");
      const gathered = bind(gather, [operand, indices], { indexedAxes })[0]!;
      const updates = random([...gathered.shape], 9).astype("float32");
      for (const mode of ["set", "add", "mul", "min", "max"] as const) {
        const f = (x: NDArray, i: NDArray, u: NDArray): NDArray[] => [
          bind(gather, [x, i], { indexedAxes })[0]!,
          bind(scatter, [x, i, u], { indexedAxes, mode })[0]!,
        ];
        expectInline(f, [operand, indices, updates]);
      }
    }
  });

  it("indexing with traced indices, scatters, sorts and cumulative sums (eager kernels)", () => {
    const f = (x: NDArray, i: NDArray): NDArray[] => [
      x.get(i),
      x.at(i).set(-1),
      x.at(0).add(x.get(1)),
      np.sort(x),
      np.cumsum(x),
      np.argmax(x),
    ];
    expectInline(f, [f64([3, -1, 4, 1, 5, -9, 2]), np.array(4, { dtype: "int32" })]);
    expectInline(f, [random([40], 9), np.array(17, { dtype: "int32" })]);
  });
});

describe("reductions", () => {
  it("sums from 0 in float64 (so a sum of -0 is 0), NaN propagates through max and min", () => {
    const f = (x: NDArray): NDArray[] => [
      x.sum(),
      x.sum({ axis: 0 }),
      x.sum({ axis: 1 }),
      np.prod(x, { axis: 0 }),
      np.max(x, { axis: 1 }),
      np.min(x),
      np.mean(x, { axis: 0 }),
    ];
    expectInline(f, [
      f32([
        [-0, -0, 1e-40],
        [NaN, 2, -3],
      ]),
    ]);
    expectInline(f, [
      f64([
        [-0, -0],
        [-0, -0],
      ]),
    ]);
    expectInline(f, [random([16, 24], 7)]); // typed arrays, reduced over leading and trailing axes
    expectInline(f, [random([16, 24], 8).astype("float32")]);
  });

  it("adds in row-major order, whatever the axes (the order decides the rounding)", () => {
    const f = (x: NDArray): NDArray[] => [x.sum(), x.sum({ axis: [0, 2] }), x.sum({ axis: 0 })];
    const tricky = [1e16, 1, -1e16, 1, 3, -1e16, 1e16, 0.5];
    expectInline(f, [f64(tricky).reshape([2, 2, 2])]);
    const many = Array.from({ length: 96 }, (_, i) => tricky[i % 8]! * (1 + (i % 5)));
    expectInline(f, [f64(many).reshape([4, 6, 4])]);
  });

  it("empty reductions give the identities", () => {
    const f = (x: NDArray): NDArray[] => [
      x.sum({ axis: 0 }),
      np.prod(x, { axis: 0 }),
      x.gt(0).all({ axis: 0 }),
      x.gt(0).any({ axis: 0 }),
    ];
    expectInline(f, [np.zeros([0, 3], { dtype: "float32" })]);
  });
});

describe("products", () => {
  it("small products add the terms from 0 in order, in float64", () => {
    const f = (a: NDArray, b: NDArray): NDArray[] => [np.matmul(a, b), np.matmul(b.T, a.T)];
    expectInline(f, [random([2, 3], 1), random([3, 2], 2)]);
    expectInline(f, [random([2, 3], 1).astype("float32"), random([3, 2], 2).astype("float32")]);
    expectInline(f, [random([9, 12], 3), random([12, 8], 4)]); // typed arrays
    expectInline(f, [
      i32([
        [1, 2],
        [3, -4],
      ]),
      i32([
        [2 ** 30, 1],
        [5, 2 ** 20],
      ]),
    ]);
    const batched = (a: NDArray, b: NDArray): NDArray => np.matmul(a, b);
    expectInline(batched, [random([3, 2, 4], 5), random([3, 4, 5], 6)]);
    // Two contracted axes apart in one operand (its terms are not a fixed step apart).
    const apart = (a: NDArray, b: NDArray): NDArray =>
      np.tensordot(a, b, {
        axes: [
          [0, 2],
          [0, 1],
        ],
      });
    expectInline(apart, [random([3, 4, 5], 7), random([3, 5, 6], 8)]);
  });

  it("agrees with eager execution on both sides of the matmul kernels' threshold", () => {
    // 3·32·32 multiply-adds run on the plain loop, 4·32·32 on the matmul kernels.
    for (const m of [3, 4]) {
      const f = (a: NDArray, b: NDArray): NDArray =>
        lax.foriLoop(0, 2, (_i: NDArray, c: NDArray) => np.matmul(c, b).mul(0.5), a);
      const a = random([m, 32], 1).astype("float32");
      const b = random([32, 32], 2).astype("float32");
      expectInline(f, [a, b]);
    }
  });
});

describe("loops and branches", () => {
  it("while loops with carries in locals and in typed arrays", () => {
    const f = (x: NDArray, v: NDArray): unknown =>
      lax.whileLoop(
        ([i, s]: [NDArray, NDArray, NDArray]) => np.logicalAnd(i.lt(20), s.sum().lt(1e6)),
        ([i, s, w]: [NDArray, NDArray, NDArray]): [NDArray, NDArray, NDArray] => [
          i.add(1),
          s.mul(1.1).add(w.sum()),
          w.mul(0.9).add(s.sum()),
        ],
        [np.array(0, { dtype: "int32" }), x, v] as [NDArray, NDArray, NDArray],
      );
    expectInline(f, [f64([1, 2, 3]), random([30], 1)], [f64([0.5, -1, 2]), random([30], 2)]);
    expectInline(f, [f32([1, 2, 3]), random([30], 1).astype("float32")]);
  });

  it("carries that swap, and carries passed through unchanged", () => {
    const swap = (a: NDArray, b: NDArray, c: NDArray, d: NDArray): unknown =>
      lax.foriLoop(0, 3, (_i: NDArray, [p, q, r, s]: NDArray[]) => [q, p, s, r], [a, b, c, d]);
    expectInline(swap, [f64([1, 2]), f64([3, 4]), random([20], 1), random([20], 2)]);
    const f = (a: NDArray, b: NDArray, c: NDArray, d: NDArray): unknown =>
      lax.foriLoop(0, 5, (_i: NDArray, [p, q, r, s]: NDArray[]) => [q, p.add(1), s, r.mul(2)], [
        a,
        b,
        c,
        d,
      ]);
    expectInline(f, [f64([1, 2]), f64([3, 4]), random([20], 1), random([20], 2)]);
    const g = (a: NDArray, b: NDArray): unknown =>
      lax.whileLoop(
        ([i]: NDArray[]) => i.lt(4),
        ([i, p, q]: NDArray[]) => [i.add(1), p, q.add(p)],
        [np.array(0, { dtype: "int32" }), a, b],
      );
    expectInline(g, [random([25], 3), random([25], 4)]);
  });

  it("scans with xs and ys, forwards and reversed, small and large slices", () => {
    for (const reverse of [false, true]) {
      const f = (xs: NDArray, big: NDArray): unknown =>
        lax.scan(
          ([c, w]: NDArray[], [x, b]: NDArray[]) => [
            [c.mul(x).add(1), w.add(b)],
            [c.sum(), w.mul(b)],
          ],
          [np.ones([4], { dtype: "float64" }), np.zeros([20], { dtype: "float64" })],
          [xs, big],
          { reverse },
        );
      expectInline(
        f,
        [random([3, 4], 1), random([3, 20], 2)],
        [random([3, 4], 3), random([3, 20], 4)],
      );
    }
  });

  it("conds and switches, with the index clamped, branches returning operands and constants", () => {
    const f = (x: NDArray, k: NDArray): unknown => [
      lax.cond(
        x.sum().gt(0),
        (v: NDArray) => v.mul(2),
        (v: NDArray) => v,
        x,
      ),
      lax.switch(
        k,
        [
          (v: NDArray) => v.neg(),
          (v: NDArray) => v.add(1),
          () => np.zeros(x.shape, { dtype: x.dtype }),
        ],
        x,
      ),
    ];
    for (const k of [-3, 0, 1, 2, 9]) {
      expectInline(f, [f64([1, -2, 3]), np.array(k, { dtype: "int32" })]);
      expectInline(f, [random([24], k + 10), np.array(k, { dtype: "int32" })]);
    }
    expectInline(f, [f64([-1, -2, 3]), np.array(1, { dtype: "int32" })]);
  });

  it("long loop bodies and branches", () => {
    const long = (v: NDArray): NDArray => {
      // cbrt has no vector form: the loops stay in the generated function (not WebAssembly).
      for (let k = 0; k < 30; k++) v = v.mul(1.01).add(np.cbrt(v).mul(0.1));
      return v;
    };
    const f = (x: NDArray, xs: NDArray): unknown => [
      lax.foriLoop(0, 3, (_i: NDArray, c: NDArray) => long(c), x),
      lax.scan((c: NDArray, y: NDArray) => [long(c.add(y)), c.sum()] as const, x, xs),
      lax.cond(x.sum().gt(0), long, (v: NDArray) => long(v.neg()), x),
    ];
    const x = random([16], 1);
    expectInline(f, [x, random([3, 16], 2)], [x.neg(), random([3, 16], 3)]);
  });

  it("nested loops and a branch inside a loop", () => {
    const f = (x: NDArray): NDArray =>
      lax.foriLoop(
        0,
        6,
        (i: NDArray, c: NDArray) =>
          lax.cond(
            i.lt(3),
            (v: NDArray) =>
              lax.whileLoop(
                (w: NDArray) => w.sum().lt(50),
                (w: NDArray) => w.mul(1.5).add(1),
                v,
              ),
            (v: NDArray) => v.sub(np.sin(v)),
            c,
          ),
        x,
      );
    expectInline(f, [f64([0.5, 1, 2])], [f64([3, -1, 0])]);
    expectInline(f, [random([18], 2)]);
  });
});

describe("calls and results", () => {
  it("returns arguments, literals, constants and repeated values", () => {
    const c = f64([1, 2, 3]);
    const f = (x: NDArray): unknown => ({
      same: x,
      twice: [x.add(c), x.add(c)],
      zero: np.zeros([2]),
    });
    expectInline(f, [f64([4, 5, 6])]);
    const g = jit(f);
    const x = f64([4, 5, 6]);
    expect((g(x) as { same: NDArray }).same).toBe(x);
  });

  it("reads views and broadcast arguments", () => {
    const base = random([4, 6], 1);
    const f = (x: NDArray, y: NDArray): NDArray => x.mul(y).add(1);
    expectInline(f, [base.T.get(":3"), np.broadcastTo(f64([1, 2, 3, 4]), [3, 4])]);
  });

  it("large programs keep the executor; loop bodies of theirs may still run inline", () => {
    const large = (x: NDArray): NDArray => np.exp(x.mul(2)).add(1);
    expect(runsInline(large, [random([5000], 1)])).toBe(false);
    // A small loop next to a large array: the loop's body is compiled on its own, inline.
    const mixed = (big: NDArray, y: NDArray): NDArray[] => [
      big.mul(2),
      lax.whileLoop(
        (v: NDArray) => v.sum().lt(100),
        (v: NDArray) => v.mul(1.3).add(0.5),
        y,
      ),
    ];
    const args = [random([20000], 2), f64([1, 2, 3])] as const;
    expect(runsInline(mixed, [...args])).toBe(false);
    expectIdentical(jit(mixed)(...args), mixed(...args));
    // Donated arguments are reused by the executor's kernels.
    expect(
      jit((x: NDArray) => x.mul(2), { donateArgnums: 0 })
        .lower(f64([1, 2]))
        .report().runsAs,
    ).toBeUndefined();
  });
});

describe("ODE solves", () => {
  const lorenz = new ode.ODETerm((_t: NDArray, y: NDArray) => {
    const [a, b, c] = [y.get(0), y.get(1), y.get(2)];
    return np.stack([
      a.neg().add(b).mul(10),
      a.mul(c.neg().add(28)).sub(b),
      a.mul(b).sub(c.mul(8 / 3)),
    ]);
  });
  const decay = new ode.ODETerm((_t: NDArray, y: NDArray) => y.neg());

  it("Tsit5 with a PID controller: compiled equals eager bit for bit", () => {
    const solve = (term: ode.ODETerm, saveAt?: ode.SaveAt) => (y0: NDArray) =>
      ode.solve({
        terms: term,
        solver: new ode.Tsit5(),
        t0: 0,
        t1: 0.5,
        y0,
        ...(saveAt !== undefined && { saveAt }),
        stepSizeController: new ode.PIDController({ rtol: 1e-8, atol: 1e-8 }),
        adjoint: new ode.ForwardMode(),
        maxSteps: 1000,
      });
    const y0 = f64([1, 1, 1]);
    const leaves = (s: unknown): unknown => {
      const sol = s as { ts: NDArray; ys: NDArray; stats: Record<string, NDArray> };
      return [sol.ts, sol.ys, sol.stats.numSteps, sol.stats.numAcceptedSteps];
    };
    for (const [term, y] of [
      [lorenz, y0],
      [decay, f64([1])],
    ] as const) {
      const f = solve(term, undefined);
      expect(runsInline(f, [y])).toBe(true);
      expectIdentical(leaves(jit(f)(y)), leaves(f(y)));
    }
    const saved = solve(lorenz, new ode.SaveAt({ ts: np.linspace(0, 0.5, 11) }));
    expect(runsInline(saved, [y0])).toBe(true);
    expectIdentical(leaves(jit(saved)(y0)), leaves(saved(y0)));
  });
});

describe("introspection", () => {
  const f = (x: NDArray): NDArray =>
    lax.whileLoop(
      (v: NDArray) => v.sum().lt(10),
      (v: NDArray) => v.mul(2).add(np.sin(v)),
      x,
    );

  it("the report lists the kernels and says they run as one generated function", () => {
    const report = jit(f)
      .lower(f64([1, 2]))
      .report();
    expect(report.runsAs).toMatch(/^one generated JavaScript function/);
    const text = report.toString();
    expect(text).toContain("runs as one generated JavaScript function");
    expect(text).toContain("a JavaScript loop in the generated function");
    expect(text.split("\n").at(-1)).toMatch(/^peak memory: \d+ bytes$/);
  });

  it("the code is the generated function, each kernel under its header with its equations", () => {
    const lowered = jit(f).lower(f64([1, 2]));
    const code = lowered.code;
    expect(code).toContain("function kernels(args)");
    for (const k of lowered.report().kernels) expect(code).toContain(`// ${k.kernel}:`);
    for (const body of lowered.report().kernels[0]!.control!.bodies) {
      for (const k of body.kernels) expect(code).toContain(`// ${k.kernel}:`);
    }
    // Top-level equations as printed (a loop's body follows as kernels of its own).
    const lines = lowered.optimized.toString().split("\n").slice(1, -1);
    for (const line of lines.filter((l) => /^ {4}\w/.test(l) && !l.includes("while["))) {
      expect(code).toContain(`//   ${line.trim()}`);
    }
    expect(code).toMatch(/\/\/ {3}b:f64\[2\] = while\[…\] a/);
    expect(code).toContain("for (;;)");
  });
});

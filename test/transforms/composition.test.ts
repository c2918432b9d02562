/**
 * Composition of transforms, in the manner of Autodidax's test: for each of a set of small float64
 * functions, every composition of up to three of grad, vmap, jvp, vjp, jacfwd and jacrev agrees
 * with the same composition computed another way, where each transform is replaced by an
 * independent route to the same mathematical object:
 *  - jacfwd ↔ jacrev;
 *  - grad (of the output weighted by a fixed array) and vjp (with a fixed cotangent) ↔ the
 *    forward-mode Jacobian contracted with that array over the output axes;
 *  - jvp (along a fixed direction) ↔ the forward-mode Jacobian (one JVP per basis vector)
 *    contracted with that direction over the input axes;
 *  - vmap ↔ a loop over the batch, stacked.
 * Both routes must give the same shape, float64 values within rtol 1e-8, and a strongly typed
 * result (a float64 derivative must not turn float32 beside a float32 array). Then the identities
 * users rely on are checked directly (grad = vjp(1) = jacrev = jacfwd; the Hessian by every pair
 * of Jacobians; ⟨u, J v⟩ = ⟨Jᵀu, v⟩; vmap of grad and hessian = a loop), and first to third
 * derivatives are checked against central differences with `checkGrads`.
 */
import { describe, expect, it } from "vitest";
import {
  jit,
  checkGrads,
  grad,
  hessian,
  jacfwd,
  jacrev,
  jvp,
  lax,
  np,
  vjp,
  vmap,
  type NDArray,
} from "../../src/index.js";
import { expectClose } from "../helpers/assertions.js";

/** A function of one array: what each transform below takes and returns. */
type ArrayFunction = (x: NDArray) => NDArray;

const sizeOf = (shape: readonly number[]): number => shape.reduce((n, d) => n * d, 1);

/** A fixed float64 array of `shape`, the same on every call (weights, directions, cotangents). */
function pattern(shape: readonly number[], salt: number): NDArray {
  const data = Array.from({ length: sizeOf(shape) }, (_, i) => Math.sin(1.3 * i + salt) + 0.25);
  return np.array(data, { dtype: "float64" }).reshape([...shape]);
}

/**
 * A float64 input of `shape`: magnitudes in [0.35, 1.25], all distinct (so max and sort have no
 * ties) and away from zero (so `where(x > 0)` and products are smooth nearby), with mixed signs.
 */
function sample(shape: readonly number[], seed: number): NDArray {
  const data = Array.from({ length: sizeOf(shape) }, (_, i) => {
    const magnitude = 0.35 + 0.9 * (((i + 1) * 0.6180339887 + seed * 0.25) % 1);
    return (i * 7 + seed) % 3 === 0 ? -magnitude : magnitude;
  });
  return np.array(data, { dtype: "float64" }).reshape([...shape]);
}

const indices = (values: number[]): NDArray => np.array(values, { dtype: "int32" });

// ---------------------------------------------------------------------------------------------
// The functions: each maps a float64 array of a fixed small shape to a scalar or a small array.

interface Case {
  name: string;
  shape: number[];
  f: ArrayFunction;
}

const weights1 = pattern([3, 3], 1);
const bias1 = pattern([3], 2);
const weights2 = pattern([2, 3], 3);
const left = pattern([2, 2], 5);
const right = pattern([2, 2], 6);
const targets = np
  .exp(pattern([2, 3], 7))
  .div(np.exp(pattern([2, 3], 7)).sum({ axis: 1, keepdims: true }));
const sortWeights = pattern([4], 8);

const cases: Case[] = [
  {
    name: "cubic polynomial (elementwise)",
    shape: [3],
    f: (x) => x.pow(3).mul(0.5).sub(x.mul(x).mul(2)).add(x.mul(1.5)),
  },
  {
    name: "tanh MLP with closed-over weights",
    shape: [3],
    f: (x) => np.tanh(weights2.matmul(np.tanh(weights1.matmul(x).add(bias1)))),
  },
  {
    name: "softmax cross-entropy via logsumexp",
    shape: [2, 3],
    f: (x) =>
      targets
        .mul(x.sub(np.logsumexp(x, { axis: 1, keepdims: true })))
        .sum()
        .neg(),
  },
  {
    name: "matmul chain B·x·A·xᵀ",
    shape: [2, 2],
    f: (x) => left.matmul(x).matmul(right).matmul(x.T),
  },
  {
    name: "sum, mean and max with keepdims",
    shape: [2, 2],
    f: (x) =>
      x
        .sum({ axis: 1, keepdims: true })
        .mul(x.mean({ axis: 0, keepdims: true }))
        .add(x.max({ axis: 1, keepdims: true }).mul(x)),
  },
  {
    name: "indexing with get (slices, None, reversed, integer arrays)",
    shape: [2, 3],
    f: (x) => {
      const block = x.get(":, 1:").mul(x.get(":, 0, None"));
      return x
        .get(1)
        .get(indices([2, 0, 2]))
        .mul(block.sum())
        .add(x.get("0, ::-1"));
    },
  },
  {
    name: "functional updates with at().add (a slice, repeated integer indices)",
    shape: [3],
    f: (x) =>
      x
        .at("1:")
        .add(np.sin(x.get(":2")).mul(x.get("1:")))
        .at(indices([0, 2, 0]))
        .add(x.mul(x)),
  },
  {
    name: "np.where",
    shape: [3],
    f: (x) => np.where(x.gt(0), x.mul(x).mul(x), np.sin(x).mul(x.sum())),
  },
  {
    name: "concatenate and stack",
    shape: [2],
    f: (x) => np.stack([np.concatenate([x, x.mul(x)]), np.concatenate([np.exp(x), np.sin(x)])]),
  },
  {
    name: "cumsum (along an axis and flattened)",
    shape: [2, 2],
    f: (x) => np.cumsum(x.mul(x), { axis: 1 }).mul(np.cumsum(np.sin(x)).reshape([2, 2])),
  },
  {
    name: "sort-based (a weighted order statistic)",
    shape: [4],
    f: (x) => np.sort(x.mul(x).add(x)).mul(sortWeights).sum(),
  },
  {
    name: "product",
    shape: [2, 2],
    f: (x) => np.prod(x, { axis: 1, keepdims: true }).mul(x),
  },
  {
    name: "pow, exp and log",
    shape: [2],
    f: (x) => {
      const positive = x.mul(x).add(1);
      return np
        .log(positive)
        .mul(np.exp(x.mul(-0.5)))
        .add(np.power(positive, np.sin(x)));
    },
  },
  {
    name: "layer norm (mean and variance with keepdims)",
    shape: [3],
    f: (x) => {
      const centred = x.sub(x.mean({ axis: -1, keepdims: true }));
      const variance = centred.mul(centred).mean({ axis: -1, keepdims: true });
      return centred.div(np.sqrt(variance.add(0.1)));
    },
  },
  {
    name: "lax.scan (an RNN over the rows of a closed-over input)",
    shape: [3],
    f: (x) =>
      lax.scan(
        (h: NDArray, row: NDArray) => {
          const next = np.tanh(weights1.matmul(h).add(row.mul(x)));
          return [next, next.sum()] as const;
        },
        x.mul(0.5),
        pattern([4, 3], 9),
      )[1],
  },
  {
    name: "lax.cond and lax.foriLoop (a branch per sign, a fixed-count loop)",
    shape: [3],
    f: (x) =>
      lax.foriLoop(
        0,
        3,
        (i: NDArray, c: NDArray) =>
          lax.cond(
            c.sum().gt(0),
            (v: NDArray) => np.sin(v).mul(v).add(i.astype("float64").mul(0.1)),
            (v: NDArray) => v.mul(v).sub(v.mul(0.3)),
            c,
          ),
        x,
      ),
  },
  {
    name: "scalar input",
    shape: [],
    f: (x) =>
      np
        .sin(x)
        .mul(x.mul(x))
        .add(np.exp(x.mul(0.3))),
  },
];

// ---------------------------------------------------------------------------------------------
// The transforms, each as an operator on functions of one array, with an independent route.

/** `jac` (shape `[...O, ...I]`) contracted with `w` (shape `O`) over the output axes: shape `I`. */
function contractOutputs(jac: NDArray, w: NDArray, inShape: readonly number[]): NDArray {
  const inSize = sizeOf(inShape);
  const rows = jac.reshape([sizeOf(jac.shape) / inSize, inSize]);
  return w
    .reshape([1, sizeOf(w.shape)])
    .matmul(rows)
    .reshape([...inShape]);
}

/** `jac` (shape `[...O, ...I]`) contracted with `v` (shape `I`) over the input axes: shape `O`. */
function contractInputs(jac: NDArray, v: NDArray): NDArray {
  const outShape = jac.shape.slice(0, jac.ndim - v.ndim);
  const inSize = sizeOf(v.shape);
  const rows = jac.reshape([sizeOf(outShape), inSize]);
  return rows.matmul(v.reshape([inSize, 1])).reshape(outShape);
}

const batchSize = 2;
const weightsFor = (shape: readonly number[]): NDArray => pattern(shape, 11);
const cotangentFor = (shape: readonly number[]): NDArray => pattern(shape, 12);
const directionFor = (shape: readonly number[]): NDArray => pattern(shape, 13);

interface Transform {
  /** How the composition is printed: `name(f)`. */
  name: string;
  /** How the reference route is printed. */
  reference: string;
  apply: (f: ArrayFunction) => ArrayFunction;
  alternative: (f: ArrayFunction) => ArrayFunction;
  /** Whether it adds a leading batch axis to the input. */
  batches: boolean;
}

const transforms: Transform[] = [
  {
    name: "grad",
    reference: "wᵀ·jacfwd",
    apply: (f) => (x) =>
      grad((z: NDArray) => {
        const y = f(z);
        return y.mul(weightsFor(y.shape)).sum();
      })(x),
    alternative: (f) => (x) => {
      const jac = jacfwd(f)(x);
      return contractOutputs(jac, weightsFor(jac.shape.slice(0, jac.ndim - x.ndim)), x.shape);
    },
    batches: false,
  },
  {
    name: "vjp",
    reference: "uᵀ·jacfwd",
    apply: (f) => (x) => {
      const [y, back] = vjp(f, x);
      return back(cotangentFor(y.shape))[0]!;
    },
    alternative: (f) => (x) => {
      const jac = jacfwd(f)(x);
      return contractOutputs(jac, cotangentFor(jac.shape.slice(0, jac.ndim - x.ndim)), x.shape);
    },
    batches: false,
  },
  {
    name: "jvp",
    reference: "jacfwd·v",
    apply: (f) => (x) => jvp(f, [x], [directionFor(x.shape)])[1],
    alternative: (f) => (x) => contractInputs(jacfwd(f)(x), directionFor(x.shape)),
    batches: false,
  },
  {
    name: "jacfwd",
    reference: "jacrev",
    apply: (f) => (x) => jacfwd(f)(x),
    alternative: (f) => (x) => jacrev(f)(x),
    batches: false,
  },
  {
    name: "jacrev",
    reference: "jacfwd",
    apply: (f) => (x) => jacrev(f)(x),
    alternative: (f) => (x) => jacfwd(f)(x),
    batches: false,
  },
  {
    name: "jit",
    reference: "eager",
    apply: (f) => jit(f),
    alternative: (f) => f,
    batches: false,
  },
  {
    name: "vmap",
    reference: "loop",
    apply: (f) => vmap(f),
    alternative: (f) => (xs) =>
      np.stack(Array.from({ length: xs.shape[0]! }, (_, b) => f(xs.get(b)))),
    batches: true,
  },
];

function compositions(maxDepth: number): Transform[][] {
  let level: Transform[][] = [[]];
  const all: Transform[][] = [];
  for (let depth = 1; depth <= maxDepth; depth++) {
    level = level.flatMap((sequence) => transforms.map((t) => [...sequence, t]));
    all.push(...level);
  }
  return all;
}

/** `sequence[0](sequence[1](…(f)))`, each transform by `route`. */
function compose(
  sequence: readonly Transform[],
  route: "apply" | "alternative",
  f: ArrayFunction,
): ArrayFunction {
  return sequence.reduceRight((g, t) => t[route](g), f);
}

const describeComposition = (sequence: readonly Transform[], key: "name" | "reference"): string =>
  sequence.reduceRight((inner, t) => `${t[key]}(${inner})`, "f");

// ---------------------------------------------------------------------------------------------
// Comparison.

/** Both routes agree when `|got − want| ≤ absoluteTolerance + relativeTolerance·|want|`. */
const relativeTolerance = 1e-8;
const absoluteTolerance = 1e-10;

/** `got` and `want` are float64 arrays of one shape that agree within the tolerances above. */
function expectAgree(got: NDArray, want: NDArray, label: string): void {
  expect(got.shape, `${label}: shape`).toEqual(want.shape);
  expect(got.dtype, `${label}: dtype`).toBe("float64");
  expect(want.dtype, `${label}: dtype of the reference`).toBe("float64");
  expectClose(got, want, { rtol: relativeTolerance, atol: absoluteTolerance, label });
}

const scalarized =
  (f: ArrayFunction): ArrayFunction =>
  (x) => {
    const y = f(x);
    return y.mul(weightsFor(y.shape)).sum();
  };

// ---------------------------------------------------------------------------------------------
// The tests.

const sequences = compositions(3);

cases.forEach((testCase, caseIndex) => {
  describe(testCase.name, () => {
    describe("every composition of up to three transforms agrees with another route", () => {
      // Results that are weakly typed, on either route: collected here and reported once, by the
      // test after all compositions, so that one cause does not fail hundreds of tests.
      const weaklyTyped: string[] = [];
      for (const sequence of sequences) {
        const label = `${describeComposition(sequence, "name")} = ${describeComposition(sequence, "reference")}`;
        it(label, () => {
          const batchAxes = sequence.filter((t) => t.batches).length;
          const x = sample(
            [...Array<number>(batchAxes).fill(batchSize), ...testCase.shape],
            caseIndex,
          );
          const got = compose(sequence, "apply", testCase.f)(x);
          const want = compose(sequence, "alternative", testCase.f)(x);
          expectAgree(got, want, label);
          if (got.weakType || want.weakType) {
            weaklyTyped.push(`${label} (weak: ${got.weakType}, ${want.weakType})`);
          }
        });
      }

      it("every result is strongly typed float64, like the input (a float64 derivative stays float64 beside float32)", () => {
        const first = weaklyTyped.slice(0, 3).join("; ");
        expect(weaklyTyped.length, `weakly typed results, e.g. ${first}`).toBe(0);
      });
    });

    const x = sample(testCase.shape, caseIndex);
    const s = scalarized(testCase.f);

    it("grad(s) = vjp(s)(1) = jacrev(s) = jacfwd(s) for the scalarized s", () => {
      const g = grad(s)(x);
      const [y, back] = vjp(s, x);
      expectAgree(back(np.onesLike(y))[0]!, g, "vjp(s)(1)");
      expectAgree(jacrev(s)(x), g, "jacrev(s)");
      expectAgree(jacfwd(s)(x), g, "jacfwd(s)");
    });

    it("hessian = jacfwd∘jacrev = jacrev∘jacfwd = jacfwd∘jacfwd = jacrev∘jacrev, symmetric", () => {
      const h = hessian(s)(x);
      expect(h.shape).toEqual([...testCase.shape, ...testCase.shape]);
      expectAgree(jacfwd(jacrev(s))(x), h, "jacfwd(jacrev(s))");
      expectAgree(jacrev(jacfwd(s))(x), h, "jacrev(jacfwd(s))");
      expectAgree(jacfwd(jacfwd(s))(x), h, "jacfwd(jacfwd(s))");
      expectAgree(jacrev(jacrev(s))(x), h, "jacrev(jacrev(s))");
      const n = sizeOf(testCase.shape);
      const square = h.reshape([n, n]);
      expectAgree(square.T, square, "hessianᵀ");
    });

    it("jvp(f, v) = jacfwd(f)·v and ⟨u, jvp(f, v)⟩ = ⟨vjp(f)(u), v⟩", () => {
      const v = directionFor(x.shape);
      const [y, tangent] = jvp(testCase.f, [x], [v]);
      expectAgree(tangent, contractInputs(jacfwd(testCase.f)(x), v), "jacfwd(f)·v");
      const u = cotangentFor(y.shape);
      const [, back] = vjp(testCase.f, x);
      expectAgree(u.mul(tangent).sum(), back(u)[0]!.mul(v).sum(), "⟨u, J v⟩ vs ⟨Jᵀu, v⟩");
    });

    it("vmap(grad(s)) and vmap(hessian(s)) equal a per-example loop", () => {
      const xs = sample([3, ...testCase.shape], caseIndex + 100);
      const examples = [0, 1, 2].map((b) => xs.get(b));
      expectAgree(
        vmap(grad(s) as ArrayFunction)(xs),
        np.stack(examples.map((e) => grad(s)(e))),
        "vmap(grad(s))",
      );
      expectAgree(
        vmap(hessian(s) as ArrayFunction)(xs),
        np.stack(examples.map((e) => hessian(s)(e))),
        "vmap(hessian(s))",
      );
    });

    it("f matches central differences to second order", () => {
      checkGrads(testCase.f, [x], { order: 2, atol: 1e-6, rtol: 1e-6 });
    });

    it("grad(s) matches central differences to second order (third derivatives of s)", () => {
      checkGrads(grad(s) as ArrayFunction, [x], { order: 2, atol: 1e-6, rtol: 1e-6 });
    });
  });
});

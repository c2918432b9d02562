/**
 * The engine of the ESDIRK methods: one step of a tableau, each implicit stage solved by chord
 * iterations (one Jacobian per step, as Diffrax's `VeryChord`), FSAL, an embedded error
 * estimate, and dense output. Works on `y` flattened to one vector, so the Jacobian is a matrix.
 */
import { NDArray } from "../core/array.js";
import { isFloating, promoteTypes, type DType } from "../core/dtype.js";
import { SolverError } from "../core/errors.js";
import * as tree from "../core/tree.js";
import * as lax from "../lax/index.js";
import * as np from "../numpy/index.js";
import { stopGradient } from "../transforms/custom.js";
import { jacfwd } from "../transforms/jacobian.js";
import type { EsdirkTableau } from "./implicit-tableaus.js";
import { chordSolve, epsilonOf, type NewtonSettings } from "./newton.js";
import { Result, type PyTree, type StepOutput, type Term } from "./types.js";

/** What an ESDIRK solver carries between steps: `f(t0, y0)` of the next step (FSAL). */
export interface EsdirkState {
  f0: PyTree;
}

/** A pytree `y` as one vector and back: leaves raveled, concatenated, cast to one float dtype. */
export class Flattener {
  readonly dtype: DType;
  readonly size: number;
  private readonly treedef: tree.TreeDef;
  private readonly shapes: (readonly number[])[];
  private readonly dtypes: DType[];
  private readonly sizes: number[];

  /**
   * @param owner the public name for messages, e.g. `"ode.Kvaerno5"`.
   * @param y a pytree of float arrays (the state).
   */
  constructor(
    private readonly owner: string,
    y: PyTree,
  ) {
    const [leaves, treedef] = tree.flatten(y);
    if (leaves.length === 0) {
      throw new SolverError(owner, "the state y has no arrays in it; give y0 as a float array.");
    }
    leaves.forEach((leaf, i) => {
      if (!(leaf instanceof NDArray) || !isFloating(leaf.dtype)) {
        const got = leaf instanceof NDArray ? `dtype ${leaf.dtype}` : typeof leaf;
        throw new SolverError(
          owner,
          `every leaf of y must be a float array, but leaf ${i} is ${got}. ` +
            `Give y0 as e.g. np.array([1, 0], { dtype: "float64" }).`,
        );
      }
    });
    const arrays = leaves as NDArray[];
    this.treedef = treedef;
    this.shapes = arrays.map((x) => x.shape);
    this.dtypes = arrays.map((x) => x.dtype);
    this.sizes = arrays.map((x) => x.size);
    this.dtype = promoteTypes(...this.dtypes);
    this.size = this.sizes.reduce((n, s) => n + s, 0);
  }

  /** A pytree like `y` (checked: structure and shapes) as one vector of `size` elements. */
  ravel(value: PyTree, what: string): NDArray {
    const [leaves, treedef] = tree.flatten(value);
    if (!treedef.equals(this.treedef)) {
      throw new SolverError(
        this.owner,
        `${what} has structure ${treedef.toString()}, but y has ${this.treedef.toString()}; ` +
          "the vector field must return a pytree like y.",
      );
    }
    const parts = leaves.map((leaf, i) => {
      const shape = this.shapes[i]!;
      const x =
        typeof leaf === "number" ? np.full(shape, leaf, { dtype: this.dtype }) : (leaf as NDArray);
      if (!(x instanceof NDArray) || x.shape.join(",") !== shape.join(",")) {
        const got = x instanceof NDArray ? `[${x.shape.join(", ")}]` : typeof leaf;
        throw new SolverError(
          this.owner,
          `${what}: leaf ${i} has shape ${got}, but y's leaf ${i} has shape [${shape.join(", ")}].`,
        );
      }
      const flat = x.reshape([x.size]);
      return flat.dtype === this.dtype ? flat : flat.astype(this.dtype);
    });
    return parts.length === 1 ? parts[0]! : np.concatenate(parts);
  }

  /** A vector of `size` elements as a pytree like `y` (each leaf in its own dtype). */
  unravel(v: NDArray): PyTree {
    let offset = 0;
    const leaves = this.shapes.map((shape, i) => {
      const size = this.sizes[i]!;
      const part = this.shapes.length === 1 ? v : v.get(np.slice(offset, offset + size));
      offset += size;
      const leaf = part.reshape([...shape]);
      return leaf.dtype === this.dtypes[i] ? leaf : leaf.astype(this.dtypes[i]!);
    });
    return tree.unflatten(this.treedef, leaves);
  }
}

/** `stopGradient` on the array leaves of a pytree (other leaves, e.g. strings, pass through). */
export function stopGradients<T>(value: T): T {
  return tree.map(
    (leaf: unknown) => (leaf instanceof NDArray ? stopGradient(leaf) : leaf),
    value,
  ) as T;
}

/** `Σ_j weights[j]·vectors[j]` over the nonzero weights (a zero vector when all are 0). */
function combine(weights: readonly number[], vectors: readonly NDArray[]): NDArray {
  let sum: NDArray | undefined;
  weights.forEach((w, j) => {
    if (w === 0) return;
    const term = vectors[j]!.mul(w);
    sum = sum === undefined ? term : sum.add(term);
  });
  return sum ?? np.zerosLike(vectors[0]!);
}

/** How an ESDIRK solver interpolates inside a step. */
export type DenseKind = "hermite" | "linear";

/** Everything `esdirkStep` needs besides the step's inputs. */
export interface EsdirkMethod {
  /** The public name for messages, e.g. `"ode.Kvaerno5"`. */
  owner: string;
  tableau: EsdirkTableau;
  newton: NewtonSettings;
  dense: DenseKind;
}

/** `f(t0, y0)`, the state before the first step. */
export function esdirkInit(
  method: EsdirkMethod,
  term: Term,
  t0: NDArray,
  y0: PyTree,
  args: unknown,
): EsdirkState {
  const flat = new Flattener(method.owner, y0);
  const f0 = flat.ravel(term.vf(t0, y0, args), "the vector field's value");
  return { f0: flat.unravel(f0) };
}

/**
 * One step of an ESDIRK method from `(t0, y0)` to `t1`.
 *
 * Each implicit stage solves `F(f) = f − vf(t_i, yPartial + γ·dt·f) = 0` for the stage
 * derivative `f` by chord iterations with `M = I − γ·dt·J`, `J` the Jacobian of the vector field
 * at the step's start (one per step). The iterations see no gradients; the stage is
 * then `f* − M*⁻¹·F(f*)` with `M*` the exact `F'` at the root (held constant), which adds one
 * Newton step to the value and gives first derivatives by the implicit function theorem. So
 * `jvp`, `grad` and `vmap` of a step work, and nothing differentiates through the loop.
 */
export function esdirkStep(
  method: EsdirkMethod,
  term: Term,
  t0: NDArray,
  t1: NDArray,
  y0: PyTree,
  args: unknown,
  state: EsdirkState,
  madeJump: NDArray,
): StepOutput<EsdirkState> {
  const { owner, tableau, newton } = method;
  const flat = new Flattener(owner, y0);
  const { dtype, size } = flat;
  const vf = (t: NDArray, v: NDArray, a: unknown): NDArray =>
    flat.ravel(term.vf(t, flat.unravel(v), a), "the vector field's value");
  const dt = t1.sub(t0);
  const y0v = flat.ravel(y0, "y0");
  const fStored = flat.ravel(state.f0, "the solver state's f0");
  const f0 = lax.cond(
    madeJump,
    () => vf(t0, y0v, args),
    () => fStored,
  );
  const eye = np.eye(size, { dtype });
  // Roundoff in a Newton step is about ε·|Δy|: the tolerance must stay well above it, or noise
  // would read as a stalled (diverging) iteration. The iterations still stop at kappa·rtol.
  const rtol = Math.max(newton.rtol, 1e4 * epsilonOf(dtype));
  const settings = { ...newton, rtol };
  const constantArgs = stopGradients(args);
  const gammaDt = dt.mul(tableau.gamma);
  const constantGammaDt = stopGradient(gammaDt);
  const iterationMatrix = (t: NDArray, z: NDArray): NDArray =>
    stopGradient(eye.sub(jacfwd((v: NDArray) => vf(t, v, constantArgs))(z).mul(constantGammaDt)));
  // One chord matrix per step, with the Jacobian at the step's start (as Hairer & Wanner's
  // codes): a known point, unlike a predicted stage value, which is poor across fast transients.
  const matrix = iterationMatrix(stopGradient(t0), stopGradient(y0v));
  // Newton steps are measured on the stage values z = yPartial + γ·dt·f, in units of
  // atol + rtol·|y0| (fixed during the iterations, so successive sizes give the rate).
  const scale = np.abs(stopGradient(y0v)).mul(rtol).add(settings.atol);
  const scaledSize = (df: NDArray): NDArray => np.max(np.abs(df.mul(constantGammaDt)).div(scale));

  const fs = [f0];
  let result = np.array(Result.successful, { dtype: "int32" });
  let evaluations = np.asarray(madeJump).astype("int32").add(1);
  for (let i = 1; i < tableau.bSol.length; i++) {
    const yPartial = y0v.add(dt.mul(combine(tableau.aLower[i - 1]!, fs)));
    const prediction = combine(tableau.predictor[i - 1]!, fs);
    const c = tableau.c[i - 1]!;
    const ti = c === 1 ? t1 : t0.add(dt.mul(c));
    const constantTi = stopGradient(ti);
    const constantPartial = stopGradient(yPartial);
    const solution = chordSolve(
      {
        residual: (f) =>
          f.sub(vf(constantTi, constantPartial.add(constantGammaDt.mul(f)), constantArgs)),
        matrix,
        x0: stopGradient(prediction),
        scaledSize,
      },
      settings,
    );
    // The iterations carry no derivative: a vector field that closes over a differentiated
    // array would otherwise send its tangent into the loop, which reverse mode cannot transpose.
    // The correction below has zero derivative in the root (M* is F' there), so the stage's
    // first derivatives are the same either way.
    const root = stopGradient(solution.root);
    const z = yPartial.add(gammaDt.mul(root));
    const exact = iterationMatrix(constantTi, stopGradient(z));
    fs.push(root.sub(np.linalg.solve(exact, root.sub(vf(ti, z, args)))));
    result = np.where(result.eq(Result.successful), solution.result, result);
    // The iterations, the exact Jacobian (counted as one evaluation) and the final residual.
    evaluations = evaluations.add(solution.iterations).add(2);
  }
  const fLast = fs[fs.length - 1]!;
  const ok = result.eq(Result.successful);
  // A failed stage solve makes the error infinite, so an adaptive controller rejects the step,
  // and leaves y where it was (no NaN from a diverged iteration reaches the state).
  const y1 = np.where(ok, y0v.add(dt.mul(combine(tableau.bSol, fs))), y0v);
  const yError = np.where(ok, dt.mul(combine(tableau.bError, fs)), Infinity);
  const y1Tree = flat.unravel(y1);
  const dense =
    method.dense === "hermite"
      ? { y0, y1: y1Tree, k0: flat.unravel(dt.mul(f0)), k1: flat.unravel(dt.mul(fLast)) }
      : { y0, y1: y1Tree };
  return {
    y1: y1Tree,
    yError: flat.unravel(yError),
    dense,
    state: { f0: flat.unravel(fLast) },
    result,
    evaluations,
  };
}

/** `(t − t0)/(t1 − t0)`, 0 on an empty step. */
function fraction(t0: NDArray, t1: NDArray, t: NDArray): NDArray {
  const dt = t1.sub(t0);
  const empty = dt.eq(0);
  return np.where(empty, 0, t.sub(t0).div(np.where(empty, 1, dt)));
}

/** Hermite dense data of a step: both ends and `dt·f` at both ends. */
interface HermiteDense {
  y0: PyTree;
  y1: PyTree;
  k0: PyTree;
  k1: PyTree;
}

/**
 * The cubic Hermite interpolant through `y0`, `y1` with slopes `k0/dt`, `k1/dt` at `t` (third
 * order, as Diffrax's `ThirdOrderHermitePolynomialInterpolation`); linear for `"linear"` data.
 */
export function esdirkInterpolate(
  kind: DenseKind,
  t0: NDArray,
  t1: NDArray,
  dense: PyTree,
  t: NDArray,
): PyTree {
  const s = fraction(t0, t1, t);
  if (kind === "linear") {
    const { y0, y1 } = dense as { y0: PyTree; y1: PyTree };
    return tree.map((a: NDArray, b: NDArray) => a.add(b.sub(a).mul(s)), y0, y1);
  }
  const { y0, y1, k0, k1 } = dense as HermiteDense;
  const s2 = s.mul(s);
  const s3 = s2.mul(s);
  const h00 = s3.mul(2).sub(s2.mul(3)).add(1);
  const h10 = s3.sub(s2.mul(2)).add(s);
  const h01 = s2.mul(3).sub(s3.mul(2));
  const h11 = s3.sub(s2);
  return tree.map(
    (a: NDArray, b: NDArray, ka: NDArray, kb: NDArray) =>
      a.mul(h00).add(ka.mul(h10)).add(b.mul(h01)).add(kb.mul(h11)),
    y0,
    y1,
    k0,
    k1,
  );
}

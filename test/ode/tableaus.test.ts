/**
 * The tableaus satisfy their order conditions: for every rooted tree τ with at most p vertices,
 * Σ b_i Φ_i(τ) = 1/γ(τ) (Butcher's conditions, generated here rather than listed by hand), and the
 * embedded weights b − bError do so one order lower; the nodes are the row sums of a.
 */
import { describe, expect, it } from "vitest";
import { np, ode, type NDArray } from "../../src/index.js";
import { dopri8Weights } from "../../src/ode/dopri8.js";
import { tsit5Weights } from "../../src/ode/tableaus.js";

/** A rooted tree as the sorted list of its subtrees (canonical, so equal trees print equally). */
type RootedTree = RootedTree[];
const key = (t: RootedTree): string => `[${t.map(key).sort().join("")}]`;
const size = (t: RootedTree): number => 1 + t.reduce((n, u) => n + size(u), 0);
const density = (t: RootedTree): number => size(t) * t.reduce((g, u) => g * density(u), 1);

/** Every rooted tree with `order` vertices (grow each smaller tree by a leaf at every vertex). */
function treesOfOrder(order: number): RootedTree[] {
  if (order === 1) return [[]];
  const grown = new Map<string, RootedTree>();
  const grow = (t: RootedTree): RootedTree[] => [
    [...t, []],
    ...t.flatMap((child, i) => grow(child).map((g) => t.map((u, k) => (k === i ? g : u)))),
  ];
  for (const t of treesOfOrder(order - 1)) for (const g of grow(t)) grown.set(key(g), g);
  return [...grown.values()];
}

/** Φ_i(τ) for every stage i: Π over subtrees u of Σ_j a_ij Φ_j(u). */
function elementaryWeights(t: RootedTree, a: number[][]): number[] {
  const s = a.length;
  let phi = new Array<number>(s).fill(1);
  for (const u of t) {
    const inner = elementaryWeights(u, a);
    phi = phi.map((p, i) => p * a[i]!.reduce((sum, aij, j) => sum + aij * inner[j]!, 0));
  }
  return phi;
}

/** The full s×s matrix a (zeros on and above the diagonal). */
function fullMatrix(tableau: ode.ButcherTableau): number[][] {
  const s = tableau.stages;
  return Array.from({ length: s }, (_, i) =>
    Array.from({ length: s }, (_, j) => (i > 0 && j < i ? tableau.a[i - 1]![j]! : 0)),
  );
}

/** The largest |Σ b Φ(τ) − 1/γ(τ)| over the trees of one order. */
function orderResidual(tableau: ode.ButcherTableau, b: readonly number[], order: number): number {
  const a = fullMatrix(tableau);
  return Math.max(
    ...treesOfOrder(order).map((t) => {
      const phi = elementaryWeights(t, a);
      return Math.abs(b.reduce((sum, bi, i) => sum + bi * phi[i]!, 0) - 1 / density(t));
    }),
  );
}

const solvers = [
  new ode.Euler(),
  new ode.Heun(),
  new ode.Midpoint(),
  new ode.Ralston(),
  new ode.Bosh3(),
  new ode.Tsit5(),
  new ode.Dopri5(),
  new ode.Dopri8(),
];

describe("rooted trees", () => {
  it("are counted as in OEIS A000081 (1, 1, 2, 4, 9, 20, 48, 115)", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => treesOfOrder(n).length)).toEqual([
      1, 1, 2, 4, 9, 20, 48, 115,
    ]);
  });
});

describe("explicit tableaus", () => {
  for (const solver of solvers) {
    const { tableau } = solver;
    it(`${solver.name}: c is the row sums of a`, () => {
      tableau.a.forEach((row, i) => {
        expect(Math.abs(row.reduce((x, y) => x + y, 0) - tableau.c[i + 1]!)).toBeLessThan(1e-14);
      });
    });

    it(`${solver.name}: order ${solver.order} conditions hold, order ${solver.order + 1} ones do not all`, () => {
      // Dopri8's coefficients are ratios of 10-digit integers: its conditions hold to ~1e-12.
      const tolerance = solver.name === "Dopri8" ? 1e-11 : 1e-13;
      for (let p = 1; p <= solver.order; p++) {
        expect(orderResidual(tableau, tableau.b, p), `order ${p}`).toBeLessThan(tolerance);
      }
      expect(orderResidual(tableau, tableau.b, solver.order + 1)).toBeGreaterThan(1e-6);
    });

    if (tableau.bError !== null) {
      it(`${solver.name}: the embedded method has order ${solver.order - 1}`, () => {
        const embedded = tableau.b.map((b, i) => b - tableau.bError![i]!);
        const tolerance = solver.name === "Dopri8" ? 1e-11 : 1e-13;
        for (let p = 1; p < solver.order; p++) {
          expect(orderResidual(tableau, embedded, p), `order ${p}`).toBeLessThan(tolerance);
        }
        expect(orderResidual(tableau, embedded, solver.order)).toBeGreaterThan(1e-8);
      });
    }
  }

  it("FSAL is detected exactly for Bosh3, Tsit5, Dopri5 and Dopri8", () => {
    expect(solvers.filter((s) => s.tableau.fsal).map((s) => s.name)).toEqual([
      "Bosh3",
      "Tsit5",
      "Dopri5",
      "Dopri8",
    ]);
  });

  it("only Euler lacks an error estimate", () => {
    expect(solvers.filter((s) => s.errorOrder === null).map((s) => s.name)).toEqual(["Euler"]);
  });

  it("every solver names its source", () => {
    for (const s of solvers) expect(s.citation.length).toBeGreaterThan(10);
  });

  it("a malformed tableau is a ValueError that says what is wrong", () => {
    expect(() => new ode.ButcherTableau({ a: [[1, 2]], b: [0.5, 0.5], c: [1] })).toThrow(
      /row 2 of a must have 1 entries/,
    );
    expect(() => new ode.ButcherTableau({ a: [[1]], b: [0.5, 0.5], c: [] })).toThrow(
      /needs 1 nodes/,
    );
  });
});

describe("dense-output weight polynomials", () => {
  /** The largest |Σ w_i(θ) Φ_i(τ) − θ^|τ|/γ(τ)| over the trees of one order (continuous RK). */
  function continuousResidual(
    solver: ode.ExplicitRungeKutta,
    weights: number[],
    theta: number,
    order: number,
  ): number {
    const a = fullMatrix(solver.tableau);
    return Math.max(
      ...treesOfOrder(order).map((t) => {
        const phi = elementaryWeights(t, a);
        return Math.abs(
          weights.reduce((s, w, i) => s + w * phi[i]!, 0) - theta ** order / density(t),
        );
      }),
    );
  }
  // Tsit5's interpolant is a continuous extension of order 4, Dopri8's (Bogacki–Shampine's, as
  // in Diffrax) of order 5: their dense outputs err by O(h^5) and O(h^6).
  const cases: [ode.ExplicitRungeKutta, (t: NDArray) => NDArray[], number][] = [
    [new ode.Tsit5(), tsit5Weights, 4],
    [new ode.Dopri8(), dopri8Weights, 5],
  ];
  for (const [solver, weightsAt, order] of cases) {
    it(`${solver.name}: a continuous extension of order ${order}, equal to b at θ = 1`, () => {
      for (const theta of [0.25, 0.5, 0.9]) {
        const w = weightsAt(np.array(theta, { dtype: "float64" })).map((x) => x.item() as number);
        for (let p = 1; p <= order; p++) {
          expect(continuousResidual(solver, w, theta, p), `θ = ${theta}, order ${p}`).toBeLessThan(
            1e-12,
          );
        }
        expect(continuousResidual(solver, w, theta, order + 1)).toBeGreaterThan(1e-7);
      }
      const atOne = weightsAt(np.array(1, { dtype: "float64" })).map((x) => x.item() as number);
      atOne.forEach((w, i) => expect(Math.abs(w - solver.tableau.b[i]!)).toBeLessThan(1e-12));
    });
  }
});

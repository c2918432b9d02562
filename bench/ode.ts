/**
 * The differential-equation benchmarks of `npm run bench` (ids start with "ode"; `npm run bench --
 * ode` runs only these). They do not fit the table of bench/workloads.ts, whose columns are array
 * libraries: here each row is one solver implementation, measured on the same problem.
 *
 * - `ode-lorenz-*`: the Lorenz system (σ = 10, ρ = 28, β = 8/3, y(0) = (1, 1, 1)) on t ∈ [0, 100] in
 *   float64 with rtol = atol = 1e-8, final state only: fluxion's `jit(ode.solve)` with Tsit5 and
 *   Dopri5 (PIDController), against the npm packages `odex` (Hairer and Wanner's ODEX:
 *   Gragg–Bulirsch–Stoer extrapolation, so few, expensive steps) and `ode45-cash-karp` (an
 *   embedded 5(4) Runge–Kutta pair, as Tsit5 and Dopri5; its error norm set to the same RMS of
 *   err / (atol + rtol·|y|)). Time per solve, accepted steps, steps/s, µs per accepted step and per
 *   evaluation of the vector field, and the fluxion/peer ratios.
 * - `ode-first-call`: a fresh `jit` of the Tsit5 Lorenz solve, first call (trace + compile + run).
 * - `ode-neural-grad`: one `jit(nn.filterValueAndGrad(loss))` call for the neural ODE of
 *   examples/neural-ode.ts (the same model, data and loss, at the initial parameters).
 */
import { createRequire } from "node:module";
import { jit, NDArray, nn, np, ode, random, tree } from "../src/index.js";
import { measure } from "./measure.js";
import { fmt } from "./report.js";

const require = createRequire(import.meta.url);

/** The parts of odex's API used here (the package ships no type declarations). */
interface OdexSolver {
  absoluteTolerance: number;
  relativeTolerance: number;
  maxSteps: number;
  solve(
    f: (x: number, y: number[]) => number[],
    x0: number,
    y0: number[],
    xEnd: number,
  ): { y: number[]; outcome: number; nAccept: number; nReject: number; nEval: number };
}
const odex = require("odex") as { Solver: new (n: number) => OdexSolver };

/** The parts of ode45-cash-karp's API used here. */
interface CashKarp {
  t: number;
  y: Float64Array;
  step(tLimit: number): boolean;
}
const ode45 = require("ode45-cash-karp") as (
  y0: Float64Array,
  deriv: (dydt: Float64Array, y: Float64Array, t: number) => void,
  t0: number,
  dt0: number,
  options: Record<string, unknown>,
) => CashKarp;

const version = (name: string): string =>
  (require(`${name}/package.json`) as { version: string }).version;

// ---------------------------------------------------------------------------------------------
// The problem.

const LORENZ = { sigma: 10, rho: 28, beta: 8 / 3, y0: [1, 1, 1], t1: 100, tol: 1e-8 } as const;
const { sigma, rho, beta } = LORENZ;

const lorenzTerm = new ode.ODETerm((_t: NDArray, y: NDArray) => {
  const [a, b, c] = [y.get(0), y.get(1), y.get(2)];
  return np.stack([b.sub(a).mul(sigma), a.mul(c.neg().add(rho)).sub(b), a.mul(b).sub(c.mul(beta))]);
});

const lorenzSolve =
  (solver: ode.Solver) =>
  (y0: NDArray): ode.Solution =>
    ode.solve({
      terms: lorenzTerm,
      solver,
      t0: 0,
      t1: LORENZ.t1,
      y0,
      stepSizeController: new ode.PIDController({ rtol: LORENZ.tol, atol: LORENZ.tol }),
      maxSteps: 100_000,
    });

// ---------------------------------------------------------------------------------------------
// Results.

export interface SolverRow {
  id: string;
  name: string;
  fluxion: boolean;
  msPerSolve: number;
  minMs: number;
  reps: number;
  acceptedSteps: number;
  rejectedSteps: number;
  evaluations: number;
  stepsPerSecond: number;
  usPerAcceptedStep: number;
  usPerEvaluation: number;
  final: number[];
  note?: string;
}

export interface OdeResults {
  lorenz: {
    problem: typeof LORENZ;
    rows: SolverRow[];
    /** fluxion row / peer row, in time (> 1: fluxion slower). */
    ratios: {
      fluxion: string;
      peer: string;
      perSolve: number;
      perAcceptedStep: number;
      perEvaluation: number;
    }[];
  };
  firstCall: {
    /** The first of them in this process. */
    coldMs: number;
    medianMs: number;
    reps: number;
    traceMs: number;
    compileMs: number;
    targetMs: number;
  } | null;
  neuralGrad: {
    msPerStep: number;
    minMs: number;
    reps: number;
    firstCallMs: number;
    acceptedSteps: number;
    parameters: number;
  } | null;
  errors: Record<string, string>;
  libraries: Record<string, string>;
  seconds: number;
}

const message = (e: unknown): string =>
  (e instanceof Error ? e.message : String(e)).split("\n")[0]!.slice(0, 160);
const log = (s: string): void => void process.stderr.write(s);

function row(
  id: string,
  name: string,
  timing: { medianMs: number; minMs: number; reps: number },
  counts: { accepted: number; rejected: number; evaluations: number; final: number[] },
  note?: string,
): SolverRow {
  const { medianMs } = timing;
  return {
    id,
    name,
    fluxion: id.startsWith("ode-lorenz-fluxion"),
    msPerSolve: medianMs,
    minMs: timing.minMs,
    reps: timing.reps,
    acceptedSteps: counts.accepted,
    rejectedSteps: counts.rejected,
    evaluations: counts.evaluations,
    stepsPerSecond: counts.accepted / (medianMs / 1000),
    usPerAcceptedStep: (medianMs * 1000) / counts.accepted,
    usPerEvaluation: (medianMs * 1000) / counts.evaluations,
    final: counts.final,
    ...(note === undefined ? {} : { note }),
  };
}

// ---------------------------------------------------------------------------------------------
// The cases.

async function fluxionLorenz(id: string, name: string, solver: ode.Solver): Promise<SolverRow> {
  const y0 = np.array([...LORENZ.y0], { dtype: "float64" });
  const solve = jit(lorenzSolve(solver));
  const sol = solve(y0);
  if (sol.result.item() !== ode.Result.successful) throw new Error(sol.message);
  const timing = await measure(() => (solve(y0).ys as NDArray).toTypedArray(), {
    warmup: 1,
    minReps: 3,
    maxReps: 9,
    budgetMs: 3000,
  });
  return row(id, name, timing, {
    accepted: sol.stats.numAcceptedSteps.item() as number,
    rejected: sol.stats.numRejectedSteps.item() as number,
    evaluations: sol.stats.numFunctionEvaluations.item() as number,
    final: Array.from((sol.ys as NDArray).toTypedArray()),
  });
}

const lorenzArray = (_x: number, y: number[]): number[] => [
  sigma * (y[1]! - y[0]!),
  y[0]! * (rho - y[2]!) - y[1]!,
  y[0]! * y[1]! - beta * y[2]!,
];

async function odexLorenz(): Promise<SolverRow> {
  const solve = () => {
    const solver = new odex.Solver(3);
    solver.absoluteTolerance = LORENZ.tol;
    solver.relativeTolerance = LORENZ.tol;
    solver.maxSteps = 1_000_000;
    return solver.solve(lorenzArray, 0, [...LORENZ.y0], LORENZ.t1);
  };
  const result = solve();
  if (result.outcome !== 0) throw new Error(`odex outcome ${result.outcome}`);
  const timing = await measure(solve, { warmup: 20, minReps: 15, maxReps: 101, budgetMs: 1500 });
  return row(
    "ode-lorenz-odex",
    `odex ${version("odex")} (GBS extrapolation)`,
    timing,
    {
      accepted: result.nAccept,
      rejected: result.nReject,
      evaluations: result.nEval,
      final: result.y,
    },
    `extrapolation, ${Math.round(result.nEval / result.nAccept)} evaluations per accepted step: ` +
      "per step it is not like for like, compare per evaluation",
  );
}

async function cashKarpLorenz(): Promise<SolverRow> {
  const n = 3;
  let evaluations = 0;
  const deriv = (dy: Float64Array, y: Float64Array): void => {
    evaluations++;
    dy[0] = sigma * (y[1]! - y[0]!);
    dy[1] = y[0]! * (rho - y[2]!) - y[1]!;
    dy[2] = y[0]! * y[1]! - beta * y[2]!;
  };
  const options = {
    // The step is accepted when RMS(err / (atol + rtol·|y|)) < 1, as Diffrax's controller does.
    tol: 1,
    errorScaleFunction: (_i: number, _dt: number, y: number) =>
      LORENZ.tol + LORENZ.tol * Math.abs(y),
    errorReduceFunction: (_i: number, acc: number, e: number) => acc + e * e,
    errorPostFunction: (acc: number) => Math.sqrt(acc / n),
    verbose: false,
  };
  const solve = () => {
    evaluations = 0;
    const integrator = ode45(Float64Array.from(LORENZ.y0), deriv, 0, 1e-4, options);
    let accepted = 1; // step() returns false after the step that reaches t1
    while (integrator.step(LORENZ.t1)) accepted++;
    return { accepted, evaluations, t: integrator.t, y: Array.from(integrator.y) };
  };
  const result = solve();
  if (Math.abs(result.t - LORENZ.t1) > 1e-9) throw new Error(`stopped at t = ${result.t}`);
  const timing = await measure(solve, { warmup: 20, minReps: 15, maxReps: 101, budgetMs: 1500 });
  // Each step evaluates f once at its start, then 5 stages per try.
  const tries = (result.evaluations - result.accepted) / 5;
  return row("ode-lorenz-cash-karp", `ode45-cash-karp ${version("ode45-cash-karp")}`, timing, {
    accepted: result.accepted,
    rejected: tries - result.accepted,
    evaluations: result.evaluations,
    final: result.y,
  });
}

async function firstCall(): Promise<NonNullable<OdeResults["firstCall"]>> {
  const y0 = np.array([...LORENZ.y0], { dtype: "float64" });
  const once = (): number => {
    const start = performance.now();
    (jit(lorenzSolve(new ode.Tsit5()))(y0).ys as NDArray).toTypedArray();
    return performance.now() - start;
  };
  const coldMs = once();
  const timing = await measure(once, { warmup: 0, minReps: 2, maxReps: 5, budgetMs: 3000 });
  // Its parts: staging and optimising the program (lower), then compiling it.
  const trace: number[] = [];
  const compile: number[] = [];
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    const lowered = jit(lorenzSolve(new ode.Tsit5())).lower(y0);
    const traced = performance.now();
    lowered.compile();
    trace.push(traced - start);
    compile.push(performance.now() - traced);
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  return {
    coldMs,
    medianMs: timing.medianMs,
    reps: timing.reps,
    traceMs: median(trace),
    compileMs: median(compile),
    targetMs: 100,
  };
}

/** The neural ODE of examples/neural-ode.ts: data, model and loss as there. */
async function neuralGrad(): Promise<NonNullable<OdeResults["neuralGrad"]>> {
  const t1 = 6;
  const ts = np.linspace(0, t1, 40);
  const A = np.array([
    [-0.1, 2],
    [-2, -0.1],
  ]);
  const data = ode.solve({
    terms: new ode.ODETerm((_t: NDArray, y: NDArray) => np.matmul(A, y)),
    solver: new ode.Tsit5(),
    t0: 0,
    t1,
    y0: np.array([2, 0]),
    saveAt: new ode.SaveAt({ ts }),
    stepSizeController: new ode.PIDController({ rtol: 1e-6, atol: 1e-6 }),
  }).ys as NDArray;
  const field = new ode.ODETerm((_t: NDArray, y: NDArray, mlp: nn.MLP) => mlp.forward(y));
  const solve = (mlp: nn.MLP, times: NDArray, y0: NDArray): ode.Solution =>
    ode.solve({
      terms: field,
      solver: new ode.Tsit5(),
      t0: 0,
      t1,
      dt0: 0.1,
      y0,
      args: mlp,
      saveAt: new ode.SaveAt({ ts: times }),
      stepSizeController: new ode.PIDController({ rtol: 1e-3, atol: 1e-6 }),
      maxSteps: 64,
    });
  const loss = (mlp: nn.MLP, ts: NDArray, ys: NDArray): NDArray =>
    np.square((solve(mlp, ts, ys.get(0)).ys as NDArray).sub(ys)).mean();
  const model = new nn.MLP({
    inSize: 2,
    outSize: 2,
    widthSize: 32,
    depth: 2,
    activation: nn.softplus,
    key: random.key(0),
  });
  const step = jit(nn.filterValueAndGrad(loss));
  const run = (): number => step(model, ts, data)[0].item() as number;
  const start = performance.now();
  run();
  const firstCallMs = performance.now() - start;
  const timing = await measure(run, { warmup: 3, minReps: 10, maxReps: 40, budgetMs: 2000 });
  const stats = jit(solve)(model, ts, data.get(0)).stats;
  const parameters = tree
    .leaves(model)
    .reduce<number>((n, leaf) => n + (leaf instanceof NDArray ? leaf.size : 0), 0);
  return {
    msPerStep: timing.medianMs,
    minMs: timing.minMs,
    reps: timing.reps,
    firstCallMs,
    acceptedSteps: stats.numAcceptedSteps.item() as number,
    parameters,
  };
}

// ---------------------------------------------------------------------------------------------
// The run and its report.

const ids = [
  "ode-first-call",
  "ode-lorenz-fluxion-tsit5",
  "ode-lorenz-fluxion-dopri5",
  "ode-lorenz-odex",
  "ode-lorenz-cash-karp",
  "ode-neural-grad",
] as const;

/** Whether any ODE benchmark is selected by these id prefixes (none: all are). */
export const odeSelected = (only: readonly string[]): boolean =>
  ids.some((id) => only.length === 0 || only.some((prefix) => id.startsWith(prefix)));

/** Runs the selected ODE benchmarks, prints their tables to stdout and returns the results. */
export async function runOde(only: readonly string[]): Promise<OdeResults> {
  const started = performance.now();
  const wanted = (id: string): boolean =>
    only.length === 0 || only.some((prefix) => id.startsWith(prefix));
  const errors: Record<string, string> = {};
  const attempt = async <T>(id: string, title: string, f: () => Promise<T>): Promise<T | null> => {
    if (!wanted(id)) return null;
    log(`${title} ... `);
    try {
      const value = await f();
      log("done\n");
      return value;
    } catch (e) {
      errors[id] = message(e);
      log(`error: ${errors[id]}\n`);
      return null;
    }
  };

  const first = await attempt("ode-first-call", "Lorenz Tsit5, first call", firstCall);
  const rows: SolverRow[] = [];
  const cases: [string, string, () => Promise<SolverRow>][] = [
    [
      "ode-lorenz-fluxion-tsit5",
      "fluxion jit(solve), Tsit5",
      () => fluxionLorenz("ode-lorenz-fluxion-tsit5", "fluxion jit(solve), Tsit5", new ode.Tsit5()),
    ],
    [
      "ode-lorenz-fluxion-dopri5",
      "fluxion jit(solve), Dopri5",
      () =>
        fluxionLorenz("ode-lorenz-fluxion-dopri5", "fluxion jit(solve), Dopri5", new ode.Dopri5()),
    ],
    ["ode-lorenz-odex", "odex", odexLorenz],
    ["ode-lorenz-cash-karp", "ode45-cash-karp", cashKarpLorenz],
  ];
  for (const [id, title, make] of cases) {
    const r = await attempt(id, `Lorenz · ${title}`, make);
    if (r !== null) rows.push(r);
  }
  const grad = await attempt("ode-neural-grad", "neural ODE gradient", neuralGrad);

  const ratios: OdeResults["lorenz"]["ratios"] = [];
  for (const f of rows.filter((r) => r.fluxion)) {
    for (const p of rows.filter((r) => !r.fluxion)) {
      ratios.push({
        fluxion: f.name,
        peer: p.name,
        perSolve: f.msPerSolve / p.msPerSolve,
        perAcceptedStep: f.usPerAcceptedStep / p.usPerAcceptedStep,
        perEvaluation: f.usPerEvaluation / p.usPerEvaluation,
      });
    }
  }

  const out: string[] = [];
  if (rows.length > 0) {
    out.push(
      `Lorenz (σ=${sigma}, ρ=${rho}, β=8/3, y0=(1,1,1)), t ∈ [0, ${LORENZ.t1}], float64, ` +
        `rtol = atol = ${LORENZ.tol}, final state only`,
    );
    const header = ["solver", "ms/solve", "accepted", "rejected", "f evals", "steps/s"];
    header.push("µs/step", "µs/f eval", "y(100)");
    const cells = rows.map((r) => [
      r.name,
      fmt(r.msPerSolve),
      String(r.acceptedSteps),
      String(r.rejectedSteps),
      String(r.evaluations),
      fmt(r.stepsPerSecond),
      fmt(r.usPerAcceptedStep),
      fmt(r.usPerEvaluation),
      r.final.map((v) => v.toFixed(2)).join(", "),
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)) + 2);
    const line = (cols: string[]): string =>
      cols.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("");
    out.push(line(header), "-".repeat(widths.reduce((a, b) => a + b, 0)));
    for (const c of cells) out.push(line(c));
    out.push(
      "Medians of timed solves after warm-up; fluxion's end at reading y(100) back. Steps are",
      "accepted steps; Lorenz is chaotic, so y(100) differs between solvers.",
      ...rows.flatMap((r) => (r.note === undefined ? [] : [`${r.name}: ${r.note}.`])),
    );
    if (ratios.length > 0) {
      out.push("", "Ratios fluxion/peer in time (> 1: fluxion takes that many times longer):");
      for (const r of ratios) {
        out.push(
          `  ${r.fluxion} / ${r.peer}: per accepted step ${fmt(r.perAcceptedStep)}x, ` +
            `per f evaluation ${fmt(r.perEvaluation)}x, per solve ${fmt(r.perSolve)}x`,
        );
      }
    }
    out.push("");
  }
  if (first !== null) {
    out.push(
      `Lorenz Tsit5, first call of a fresh jit (trace + compile + run): ${fmt(first.coldMs)} ms ` +
        `the first time in this process, median ${fmt(first.medianMs)} ms (${first.reps} runs); ` +
        `of which trace + optimise ${fmt(first.traceMs)} ms, compile ${fmt(first.compileMs)} ms ` +
        `(target ≤ ${first.targetMs} ms).`,
    );
  }
  if (grad !== null) {
    out.push(
      `Neural ODE (examples/neural-ode.ts: MLP 2-32-32-2, ${grad.parameters} parameters, Tsit5 ` +
        `over 40 saved times, ${grad.acceptedSteps} accepted steps at the initial parameters): ` +
        `jit(filterValueAndGrad(loss)) ${fmt(grad.msPerStep)} ms per call (median of ` +
        `${grad.reps}), first call ${fmt(grad.firstCallMs)} ms.`,
    );
  }
  for (const [id, reason] of Object.entries(errors)) out.push(`${id}: error (${reason})`);
  console.log(out.join("\n"));

  return {
    lorenz: { problem: LORENZ, rows, ratios },
    firstCall: first,
    neuralGrad: grad,
    errors,
    libraries: {
      odex: `odex ${version("odex")}`,
      "ode45-cash-karp": `ode45-cash-karp ${version("ode45-cash-karp")}`,
    },
    seconds: (performance.now() - started) / 1000,
  };
}

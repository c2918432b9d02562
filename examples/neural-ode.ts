/**
 * A neural ODE, as in Diffrax's example: the vector field is an `nn.MLP` on the 2-d state, fitted
 * so that `ode.solve` from the first data point goes through a spiral. The data are samples of the
 * linear ODE y' = A·y, A = [[-0.1, 2], [-2, -0.1]]. The loss (mean squared error at the sample
 * times) is differentiated through the solver with `nn.filterValueAndGrad`, optimised with Adam,
 * and the whole training step runs under `jit`. Writes `out/neural-ode.svg` (data vs the fit).
 *
 *     npx tsx examples/neural-ode.ts [--steps 300] [--out out]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Presets, SingleBar } from "cli-progress";
import * as vega from "vega";
import * as vl from "vega-lite";
import { jit, nn, np, ode, optim, random, type NDArray } from "../src/index.js";

const { values: flags } = parseArgs({
  args: process.argv.slice(2),
  options: { steps: { type: "string", default: "300" }, out: { type: "string", default: "out" } },
});
const steps = Number(flags.steps);
if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps must be a whole number ≥ 1`);

// The data: 40 samples of the spiral on t ∈ [0, 6], from y(0) = (2, 0).
const t1 = 6;
const ts = np.linspace(0, t1, 40);
const A = np.array([
  [-0.1, 2],
  [-2, -0.1],
]);
const spiral = new ode.ODETerm((_t: NDArray, y: NDArray) => np.matmul(A, y));
const data = ode.solve({
  terms: spiral,
  solver: new ode.Tsit5(),
  t0: 0,
  t1,
  y0: np.array([2, 0]),
  saveAt: new ode.SaveAt({ ts }),
  stepSizeController: new ode.PIDController({ rtol: 1e-6, atol: 1e-6 }),
}).ys as NDArray;

// The model: dy/dt = mlp(y); the MLP is passed to the vector field as `args`.
const field = new ode.ODETerm((_t: NDArray, y: NDArray, mlp: nn.MLP) => mlp.forward(y));
const trajectory = (mlp: nn.MLP, times: NDArray, y0: NDArray): NDArray =>
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
  }).ys as NDArray;
const loss = (mlp: nn.MLP, ts: NDArray, ys: NDArray): NDArray =>
  np.square(trajectory(mlp, ts, ys.get(0)).sub(ys)).mean();

let model = new nn.MLP({
  inSize: 2,
  outSize: 2,
  widthSize: 32,
  depth: 2,
  activation: nn.softplus,
  key: random.key(0),
});
const optimizer = optim.adam({ learningRate: 1e-2 });
let state = optimizer.init(model);
const step = jit((m: nn.MLP, s: typeof state, ts: NDArray, ys: NDArray) => {
  const [value, grads] = nn.filterValueAndGrad(loss)(m, ts, ys);
  const [updates, next] = optimizer.update(grads, s, m);
  return [optim.applyUpdates(m, updates), next, value] as const;
});

const progress = process.stderr.isTTY === true;
const bar = new SingleBar(
  { format: "|{bar}| {value}/{total} steps  loss {loss}  {rate} steps/s", hideCursor: true },
  Presets.shades_classic,
);
if (progress) bar.start(steps, 0, { loss: "-", rate: "-" });
const losses: number[] = [];
const started = performance.now();
for (let i = 0; i < steps; i++) {
  let value: NDArray;
  [model, state, value] = step(model, state, ts, data);
  losses.push(value.item() as number);
  const rate = ((i + 1) / ((performance.now() - started) / 1000)).toFixed(1);
  if (progress) bar.update(i + 1, { loss: losses[i]!.toPrecision(3), rate });
  else if ((i + 1) % 50 === 0) console.log(`step ${i + 1}: loss ${losses[i]!.toPrecision(3)}`);
}
if (progress) bar.stop();
const seconds = (performance.now() - started) / 1000;
console.log(
  `loss ${losses[0]!.toPrecision(3)} → ${losses[steps - 1]!.toPrecision(3)} in ${steps} steps (${seconds.toFixed(1)} s)`,
);

// The plot: the data points and the fitted trajectory in the phase plane.
const fine = np.linspace(0, t1, 200);
const fitted = trajectory(model, fine, data.get(0)).toList() as number[][];
const points = (data.toList() as number[][]).map(([a, b], i) => ({ a, b, i, series: "data" }));
const curve = fitted.map(([a, b], i) => ({ a, b, i, series: "neural ODE" }));
const encoding = {
  x: { field: "a", type: "quantitative", title: "y₁" },
  y: { field: "b", type: "quantitative", title: "y₂" },
  color: { field: "series", type: "nominal", title: null },
} as const;
const spec = vl.compile({
  $schema: "https://vega.github.io/schema/vega-lite/v5.json",
  title: `Neural ODE fitted to a spiral (${steps} steps, loss ${losses[steps - 1]!.toPrecision(3)})`,
  width: 360,
  height: 360,
  layer: [
    { data: { values: curve }, mark: "line", encoding: { ...encoding, order: { field: "i" } } },
    { data: { values: points }, mark: { type: "point", filled: true }, encoding },
  ],
}).spec;
const svg = await new vega.View(vega.parse(spec), { renderer: "none" }).toSVG();
mkdirSync(flags.out, { recursive: true });
writeFileSync(join(flags.out, "neural-ode.svg"), svg);
console.log(`wrote ${join(flags.out, "neural-ode.svg")}`);

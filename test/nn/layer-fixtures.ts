/**
 * The PyTorch reference cases of test/fixtures/nn.json (made by make_nn_fixtures.py): their
 * types, and the check that copies a case's torch parameters into a fluxion layer and compares
 * the forward results and the gradients (of Σ sum(output · ct), through nn.filterGrad) with
 * torch's, in float64.
 */
import { expect } from "vitest";
import { jit, nn, np, type NDArray } from "../../src/index.js";
import { expectClose } from "../helpers/assertions.js";
import { decode, loadFixture, type FixtureArray, type FixtureValue } from "../helpers/fixtures.js";

/** One layer case (see the script's docstring). */
export interface LayerCase {
  name: string;
  options: Record<string, FixtureValue>;
  params: Record<string, FixtureArray>;
  inputs: Record<string, FixtureArray>;
  outputs: FixtureArray[];
  cts: (FixtureArray | null)[];
  grads: { params: Record<string, FixtureArray>; inputs: Record<string, FixtureArray> };
  /** Attention: the boolean mask. */
  mask?: FixtureArray;
  /** BatchNorm: the running statistics before the step. */
  state?: { runningMean: FixtureArray; runningVar: FixtureArray };
}

export interface NNFixture {
  torch: string;
  layerNorm: LayerCase[];
  rmsNorm: LayerCase[];
  groupNorm: LayerCase[];
  batchNorm: LayerCase[];
  embedding: LayerCase[];
  attention: LayerCase[];
  gru: LayerCase[];
  lstm: LayerCase[];
  init: {
    fans: { shape: number[]; fanIn: number; fanOut: number }[];
    gains: { nonlinearity: string; param: number | null; gain: number }[];
  };
}

export const fixture = loadFixture<NNFixture>("nn.json");

/** A fixture array as an NDArray. */
export const arrayOf = (a: FixtureArray): NDArray => decode(a) as NDArray;

/** The inputs of a case as NDArrays. */
export function inputsOf(c: LayerCase): Record<string, NDArray> {
  return Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, arrayOf(v)]));
}

/** The node at a dotted field path of a module, e.g. "queryProj.weight". */
export function at(model: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], model);
}

/** `model` with the case's torch parameters copied in (by field path, through nn.treeAt). */
export function withTorchParams<M>(model: M, c: LayerCase): M {
  const paths = Object.keys(c.params);
  return nn.treeAt(
    (m: M) => paths.map((p) => at(m, p)),
    model,
    paths.map((p) => arrayOf(c.params[p]!)),
  );
}

const tolerance = { rtol: 1e-9, atol: 1e-11 };

/**
 * Copies the case's parameters into `model`, runs `run(model, inputs)` (eagerly and under jit)
 * and compares the outputs and the gradients with torch's.
 */
export function checkAgainstTorch<M>(
  c: LayerCase,
  model: M,
  run: (m: M, inputs: Record<string, NDArray>) => NDArray[],
): void {
  const m = withTorchParams(model, c);
  const inputs = inputsOf(c);
  const expected = c.outputs.map(arrayOf);
  expectClose(run(m, inputs), expected, { ...tolerance, label: `${c.name}: forward` });
  expectClose(jit(run)(m, inputs), expected, { ...tolerance, label: `${c.name}: jit forward` });
  const cts = c.cts.map((ct) => (ct === null ? null : arrayOf(ct)));
  const loss = (both: { model: M; inputs: Record<string, NDArray> }): NDArray =>
    run(both.model, both.inputs).reduce(
      (total, out, i) => {
        const ct = cts[i];
        return ct === null || ct === undefined ? total : total.add(out.mul(ct).sum());
      },
      np.zeros([], { dtype: "float64" }),
    );
  const grads = nn.filterGrad(loss)({ model: m, inputs });
  for (const [path, g] of Object.entries(c.grads.params)) {
    expectClose(at(grads.model, path), arrayOf(g), { ...tolerance, label: `${c.name}: d${path}` });
  }
  for (const [name, g] of Object.entries(c.grads.inputs)) {
    expectClose(grads.inputs[name], arrayOf(g), { ...tolerance, label: `${c.name}: d${name}` });
  }
  expect(Object.keys(c.grads.params).length + Object.keys(c.grads.inputs).length).toBeGreaterThan(
    0,
  );
}

/** The fixture options as constructor options in float64 (plus a key). */
export function float64Options(c: LayerCase, key: NDArray): Record<string, unknown> {
  return {
    ...(decode(c.options as FixtureValue) as Record<string, unknown>),
    dtype: "float64",
    key,
  };
}

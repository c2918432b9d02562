/**
 * Every optimiser against reference trajectories (test/fixtures/optim.json: torch.optim where its
 * equations are Optax's, numpy implementations of Optax's equations elsewhere; each case says
 * which), in float64 to 1e-10; and the whole training step under `jit` against eager execution,
 * bit for bit, parameters and optimiser state alike.
 */
import { describe, expect, it } from "vitest";
import { jit } from "../../src/index.js";
import { expectClose, expectIdentical } from "../helpers/assertions.js";
import {
  fixture,
  initialParams,
  optimizerOf,
  recorded,
  trainStep,
  type Params,
} from "./problem.js";

describe("optimiser trajectories match the references", () => {
  for (const c of fixture.cases) {
    it(`${c.name}: ${c.reference}`, () => {
      const opt = optimizerOf(c);
      const step = trainStep(opt);
      let params: Params = initialParams();
      let state = opt.init(params);
      for (let i = 0; i < fixture.steps; i++) {
        [params, state] = step(params, state);
        expect(params.w.dtype).toBe("float64");
        expectClose(params, recorded(c, i), { rtol: 1e-10, atol: 1e-12, label: `step ${i + 1}` });
      }
    });
  }
});

describe("a jitted training step is bit-identical to the eager one", () => {
  for (const c of fixture.cases) {
    it(c.name, () => {
      const opt = optimizerOf(c);
      const step = trainStep(opt);
      const compiled = jit(step);
      let eager: [Params, unknown] = [initialParams(), opt.init(initialParams())];
      let staged: [Params, unknown] = [initialParams(), opt.init(initialParams())];
      for (let i = 0; i < fixture.steps; i++) {
        eager = step(...eager);
        staged = compiled(...staged);
        expectIdentical(staged, eager);
      }
      expect(compiled.cacheSize()).toBe(1);
    });
  }
});

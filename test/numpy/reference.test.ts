/**
 * fluxion's `np` against NumPy: every case in test/fixtures/numpy.json (made by
 * test/fixtures/make_numpy_fixtures.py) is run and its dtype, shape and values are compared.
 * Expected dtypes are JAX's (float32 / int32 defaults), not NumPy's 64-bit ones.
 */
import { describe, it } from "vitest";
import { caseTitle, checkFixtureCase, loadFixture, type FixtureCase } from "../helpers/fixtures.js";

const fixture = loadFixture<{ numpy: string; cases: FixtureCase[] }>("numpy.json");

describe(`np against NumPy ${fixture.numpy} (test/fixtures/numpy.json)`, () => {
  fixture.cases.forEach((c, i) => {
    it(caseTitle(c, i), () => checkFixtureCase(c, i));
  });
});

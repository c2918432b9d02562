/**
 * `random`: Threefry-2x32 against the Random123 known-answer vectors, and keys, bits and
 * samples against values JAX produces (classic, non-partitionable key derivation). Where each
 * expected value comes from is written beside it.
 */
import { describe, expect, it } from "vitest";
import { jit, np, random, ValueError, vmap, type NDArray } from "../../src/index.js";
import { threefryBlock } from "../../src/primitives/threefry.js";

const u32 = (values: number[]): NDArray => np.array(new Uint32Array(values));

describe("threefry2x32", () => {
  // Random123's kat_vectors (threefry2x32, 20 rounds: counter words, key words → output), which
  // JAX's tests/random_test.py (testThreefry2x32) also checks.
  const vectors: [number[], number[], number[]][] = [
    [
      [0, 0],
      [0, 0],
      [0x6b200159, 0x99ba4efe],
    ],
    [
      [0xffffffff, 0xffffffff],
      [0xffffffff, 0xffffffff],
      [0x1cb996fc, 0xbb002be7],
    ],
    [
      [0x243f6a88, 0x85a308d3],
      [0x13198a2e, 0x03707344],
      [0xc4923a9c, 0x483df7a0],
    ],
  ];

  it("matches the Random123 known-answer vectors (one block)", () => {
    for (const [counter, key, want] of vectors) {
      expect(threefryBlock(key[0]!, key[1]!, counter[0]!, counter[1]!)).toEqual(want);
    }
  });

  it("random.threefry2x32 hashes a count array as JAX's threefry_2x32 does", () => {
    for (const [counter, key, want] of vectors) {
      expect(random.threefry2x32(u32(key), u32(counter)).toList()).toEqual(want);
    }
    // Many blocks at once, and an odd count (padded with a zero word, dropped after).
    const n = 1001;
    const counts = np.concatenate([
      np.full([n], 0x243f6a88, { dtype: "uint32" }),
      np.full([n], 0x85a308d3, { dtype: "uint32" }),
    ]);
    const out = random.threefry2x32(u32([0x13198a2e, 0x03707344]), counts).toTypedArray();
    expect(out.slice(0, n).every((v) => v === 0xc4923a9c)).toBe(true);
    expect(out.slice(n).every((v) => v === 0x483df7a0)).toBe(true);
    expect(random.threefry2x32(u32([1, 2]), u32([5, 6, 7])).shape).toEqual([3]);
  });
});

describe("keys", () => {
  const k = random.key(1701);

  it("key(seed) holds the seed's words", () => {
    expect(k.toList()).toEqual([0, 1701]);
    expect(k.dtype).toBe("uint32");
    expect(random.key(2 ** 33 + 5).toList()).toEqual([2, 5]);
    expect(random.key(-1).toList()).toEqual([0, 0xffffffff]);
    expect(random.keyData(k).toList()).toEqual([0, 1701]);
  });

  it("split and foldIn give JAX's keys", () => {
    // Values from Nx's port of jax.random (Nx.Random doc tests), equal to JAX's
    // random.split(PRNGKey(1701)) and random.fold_in(PRNGKey(1701), 1234).
    expect(random.split(k).toList()).toEqual([
      [56197195, 1801093307],
      [961309823, 1704866707],
    ]);
    expect(random.split(k, 3).toList()).toEqual([
      [927208350, 3916705582],
      [1835323421, 676898860],
      [3164047411, 4010691890],
    ]);
    expect(random.foldIn(k, 1234).toList()).toEqual([3803315293, 1414594004]);
    // JAX's documentation: random.split(random.PRNGKey(0)); keys unpack like arrays.
    const [a, b] = random.split(random.key(0));
    expect([a!.toList(), b!.toList()]).toEqual([
      [4146024105, 967050713],
      [2718843009, 1272950319],
    ]);
    expect(random.foldIn(k, np.array(1234, { dtype: "int32" })).toList()).toEqual([
      3803315293, 1414594004,
    ]);
  });

  it("bits are JAX's random bits", () => {
    // JAX tests/random_test.py, testRngRandomBits: _random_bits(PRNGKey(1701), 32, (3,)).
    expect(random.bits(k, [3]).toList()).toEqual([56197195, 4200222568, 961309823]);
    expect(random.bits(k, [2, 2]).shape).toEqual([2, 2]);
    expect(random.bits(k, [0]).shape).toEqual([0]);
  });
});

describe("samples", () => {
  it("uniform: JAX's numbers for the same key", () => {
    // jax.random.uniform(PRNGKey(1701), (4,)): 1 + (bits >> 9)·2⁻²³ − 1 of the bits above.
    const u = random.uniform(random.key(1701), [4]).toTypedArray();
    const bitsOf = [56197195, 1801093307, 961309823, 1704866707];
    expect(Array.from(u)).toEqual(bitsOf.map((b) => Math.floor(b / 512) * 2 ** -23));
    expect(Array.from(u, (v) => Number(v.toPrecision(8)))).toEqual([
      0.013084412, 0.41934967, 0.22382236, 0.39694512,
    ]);
  });

  it("uniform: bounds, dtypes and shapes", () => {
    const k = random.key(7);
    const u = random.uniform(k, [1000], { minval: -2, maxval: 3 });
    expect(u.dtype).toBe("float32");
    expect(u.min().item()).toBeGreaterThanOrEqual(-2);
    expect(u.max().item()).toBeLessThan(3);
    const d = random.uniform(k, [2000], { dtype: "float64" });
    expect(d.dtype).toBe("float64");
    expect(Math.abs((d.mean().item() as number) - 0.5)).toBeLessThan(0.03);
    expect(random.uniform(k).shape).toEqual([]);
  });

  it("normal: JAX's samples (to within an ulp) and the right moments", () => {
    // The doctest of a JAX-based package: random.normal(PRNGKey(0), (3, 2)).
    const want = [0.18784384, -1.2833426, 0.6494181, 1.2490594, 0.24447003, -0.11744965];
    const got = random.normal(random.key(0), [3, 2]).toTypedArray();
    got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(1.2e-7));
    const n = random.normal(random.key(3), [20000]);
    expect(Math.abs(n.mean().item() as number)).toBeLessThan(0.03);
    expect(Math.abs((n.mul(n).mean().item() as number) - 1)).toBeLessThan(0.05);
    expect(random.normal(random.key(3), [4], { dtype: "float64" }).dtype).toBe("float64");
  });

  it("bernoulli and randint", () => {
    const b = random.bernoulli(random.key(1), 0.3, [5000]);
    expect(b.dtype).toBe("bool");
    const rate = b.astype("float32").mean().item() as number;
    expect(Math.abs(rate - 0.3)).toBeLessThan(0.03);
    const r = random.randint(random.key(2), [3000], 5, 10);
    expect(r.dtype).toBe("int32");
    const values = Array.from(r.toTypedArray());
    expect(Math.min(...values)).toBe(5);
    expect(Math.max(...values)).toBe(9);
    for (let v = 5; v < 10; v++) {
      const count = values.filter((x) => x === v).length;
      expect(count).toBeGreaterThan(500);
    }
    expect(random.randint(random.key(2), [4], 3, 3).toList()).toEqual([3, 3, 3, 3]);
  });
});

describe("more distributions", () => {
  it("truncatedNormal stays inside the open interval with the truncated moments", () => {
    const t = random.truncatedNormal(random.key(0), -2, 2, [20000]);
    expect(t.min().item()).toBeGreaterThan(-2);
    expect(t.max().item()).toBeLessThan(2);
    // The standard normal truncated to ±2 has standard deviation 0.8796.
    expect(Math.abs((np.sqrt(t.mul(t).mean()).item() as number) - 0.8796)).toBeLessThan(0.015);
    const narrow = random.truncatedNormal(random.key(1), 1, 1.5, [500], { dtype: "float64" });
    expect(narrow.min().item()).toBeGreaterThan(1);
    expect(narrow.max().item()).toBeLessThan(1.5);
    expect(() => random.truncatedNormal(random.key(1), 1, 1)).toThrow(/lower < upper/);
  });

  it("gumbel and categorical (frequencies follow softmax of the logits)", () => {
    const g = random.gumbel(random.key(2), [20000]);
    // The Gumbel(0, 1) mean is the Euler–Mascheroni constant.
    expect(Math.abs((g.mean().item() as number) - 0.5772)).toBeLessThan(0.03);
    const p = [0.1, 0.2, 0.7];
    const c = random
      .categorical(random.key(5), np.log(np.array(p)), { shape: [20000] })
      .toTypedArray();
    p.forEach((pi, v) => {
      const rate = c.filter((x) => x === v).length / 20000;
      expect(Math.abs(rate - pi)).toBeLessThan(0.015);
    });
    // Batched logits: one draw per row by default, along another axis on request.
    const logits = np.log(
      np.array([
        [0.5, 0.5],
        [0.001, 0.999],
      ]),
    );
    expect(random.categorical(random.key(0), logits).shape).toEqual([2]);
    expect(random.categorical(random.key(0), logits, { shape: [7, 2] }).shape).toEqual([7, 2]);
    expect(random.categorical(random.key(0), logits, { axis: 0 }).shape).toEqual([2]);
    expect(() => random.categorical(random.key(0), logits, { shape: [3] })).toThrow(/batch shape/);
  });

  it("permutation and choice", () => {
    const perm = random.permutation(random.key(0), 50).toTypedArray();
    expect([...perm].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(Array.from(perm)).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
    const rows = random.permutation(random.key(0), np.arange(6).reshape([3, 2]));
    expect((rows.toList() as number[][]).map((r) => r[1]! - r[0]!)).toEqual([1, 1, 1]);
    const unique = random.choice(random.key(1), 10, { shape: [10], replace: false }).toTypedArray();
    expect(new Set(unique).size).toBe(10);
    const weighted = random
      .choice(random.key(1), np.array([10, 20, 30]), { shape: [300], p: np.array([0, 0.5, 0.5]) })
      .toTypedArray();
    expect(weighted.includes(10)).toBe(false);
    expect(weighted.includes(20) && weighted.includes(30)).toBe(true);
    const noReplace = random.choice(random.key(3), 4, {
      shape: [4],
      replace: false,
      p: np.array([0.1, 0.2, 0.3, 0.4]),
    });
    expect(new Set(noReplace.toTypedArray()).size).toBe(4);
    expect(() => random.choice(random.key(1), 3, { shape: [4], replace: false })).toThrow(
      /without replacement/,
    );
    expect(() => random.choice(random.key(1), 3, { p: np.array([1, 0]) })).toThrow(
      /p must have shape \[3\]/,
    );
  });

  it("randint keeps full-range spans in uint32 arithmetic, as JAX", () => {
    const wide = random.randint(random.key(0), [2000], -(2 ** 31), 2 ** 31 - 1).toTypedArray();
    expect(Math.min(...wide)).toBeLessThan(-(2 ** 30));
    expect(Math.max(...wide)).toBeGreaterThan(2 ** 30);
    const big = random.randint(random.key(0), [2000], 0, 100_000).toTypedArray();
    expect(Math.min(...big)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...big)).toBeLessThan(100_000);
  });
});

describe("under transforms", () => {
  it("jit gives the same numbers; vmap over keys equals a loop", () => {
    const k = random.key(11);
    const f = (key: NDArray) => random.normal(key, [3]);
    expect(jit(f)(k).toList()).toEqual(f(k).toList());
    const keys = random.split(k, 4);
    const batched = vmap(f)(keys).toList() as number[][];
    for (let i = 0; i < 4; i++) expect(batched[i]).toEqual(f(keys.get(i)).toList());
    const splitAll = vmap((key: NDArray) => random.split(key))(keys);
    expect(splitAll.shape).toEqual([4, 2, 2]);
    expect((splitAll.toList() as number[][][])[2]).toEqual(random.split(keys.get(2)).toList());
  });
});

describe("bad input", () => {
  it("names the function and the problem", () => {
    expect(() => random.key(1.5)).toThrow(ValueError);
    expect(() => random.split(np.ones([2]))).toThrow(/random.split.*expects a key/);
    expect(() => random.split(random.split(random.key(0)))).toThrow(/one key.*vmap/);
    expect(() => random.split(random.key(0), 0)).toThrow(/num must be a whole number/);
    expect(() => random.uniform(random.key(0), [2, -1])).toThrow(/shape must be a list/);
    expect(() => random.uniform(random.key(0), [2], { dtype: "int32" })).toThrow(
      /float32 or float64/,
    );
    expect(() => random.randint(random.key(0), [2], 0.5, 3)).toThrow(/whole numbers/);
  });
});

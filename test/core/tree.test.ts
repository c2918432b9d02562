import { describe, expect, it } from "vitest";
import { TreeError } from "../../src/core/errors.js";
import {
  TreeDef,
  allclose,
  flatten,
  flattenWithPath,
  isRegistered,
  keystr,
  leaves,
  map,
  mapWithPath,
  register,
  structure,
  unflatten,
  type KeyPath,
} from "../../src/core/tree.js";
import { thrown } from "../helpers/assertions.js";

// A stand-in for NDArray: allclose only needs `shape` and `toTypedArray()`.
class FakeArray {
  constructor(
    readonly shape: number[],
    private readonly data: number[],
  ) {}
  toTypedArray(): Float64Array {
    return Float64Array.from(this.data);
  }
}

// Registered with keys: paths show `.weight`, `.bias`.
class Linear {
  constructor(
    readonly weight: unknown,
    readonly bias: unknown,
    readonly activation = "relu",
  ) {}
}
register(Linear, {
  flatten: (l) => [[l.weight, l.bias], l.activation, ["weight", "bias"]],
  unflatten: (activation, [weight, bias]) => new Linear(weight, bias, activation as string),
});

// Registered without keys; a subclass that inherits the registration, and one with its own.
class Pair {
  constructor(
    readonly first: unknown,
    readonly second: unknown,
  ) {}
}
register(Pair, {
  flatten: (p) => [[p.first, p.second], undefined],
  unflatten: (_aux, [first, second]) => new Pair(first, second),
});
class NamedPair extends Pair {}
class Triple extends Pair {
  constructor(
    first: unknown,
    second: unknown,
    readonly third: unknown,
  ) {
    super(first, second);
  }
}
register(Triple, {
  flatten: (t) => [[t.first, t.second, t.third], undefined],
  unflatten: (_aux, [a, b, c]) => new Triple(a, b, c),
});

class Unregistered {
  constructor(readonly value: number) {}
}

describe("flatten and unflatten", () => {
  it("takes nested objects and arrays apart depth first, keys in insertion order", () => {
    const [xs, treedef] = flatten({ b: [1, 2], a: { c: 3, d: [4] } });
    expect(xs).toEqual([1, 2, 3, 4]);
    expect(treedef.numLeaves).toBe(4);
    expect(treedef.toString()).toBe("PyTreeDef({b: [*, *], a: {c: *, d: [*]}})");
  });

  it("round-trips through unflatten with new containers and the given leaves", () => {
    const original = { a: [1, { b: 2 }], c: null, d: undefined, e: [] as number[], f: {} };
    const [xs, treedef] = flatten(original);
    const rebuilt = unflatten(treedef, xs);
    expect(rebuilt).toEqual(original);
    expect(rebuilt).not.toBe(original);
    expect(unflatten(treedef, [10, 20])).toEqual({ ...original, a: [10, { b: 20 }] });
  });

  it("treats null and undefined as empty subtrees whose place is remembered", () => {
    const [xs, treedef] = flatten([null, 1, undefined]);
    expect(xs).toEqual([1]);
    expect(treedef.toString()).toBe("PyTreeDef([null, *, undefined])");
    expect(unflatten(treedef, [5])).toEqual([null, 5, undefined]);
    expect(structure(null).numLeaves).toBe(0);
    expect(structure(null).equals(structure(undefined))).toBe(false);
  });

  it("treats numbers, booleans, strings, functions, typed arrays and unregistered instances as leaves", () => {
    const fn = (): number => 1;
    const data = new Float32Array([1, 2]);
    const instance = new Unregistered(3);
    const tree = [1, true, "s", fn, data, instance, 10n];
    expect(leaves(tree)).toEqual(tree);
    expect(leaves(tree)[3]).toBe(fn);
    expect(leaves(tree)[5]).toBe(instance);
    expect(structure(5).toString()).toBe("PyTreeDef(*)");
  });

  it("keeps null-prototype objects and keys that need quoting", () => {
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { x: 1 });
    const tree = { "my key": bare };
    const [xs, treedef] = flatten(tree);
    expect(treedef.toString()).toBe('PyTreeDef({"my key": {x: *}})');
    const rebuilt = unflatten(treedef, xs) as Record<string, object>;
    expect(Object.getPrototypeOf(rebuilt["my key"])).toBeNull();
  });

  it("rebuilds an own __proto__ key as a key, not a prototype", () => {
    const tree = JSON.parse('{"__proto__": 1, "a": 2}') as Record<string, unknown>;
    const [xs, treedef] = flatten(tree);
    const rebuilt = unflatten(treedef, xs) as Record<string, unknown>;
    expect(Object.getPrototypeOf(rebuilt)).toBe(Object.prototype);
    expect(Object.keys(rebuilt)).toEqual(["__proto__", "a"]);
  });

  it("stops where isLeaf says so, the root and null included", () => {
    const tree = { a: [1, 2], b: null };
    expect(leaves(tree, Array.isArray)).toEqual([[1, 2]]);
    expect(leaves(tree, (x) => x === null)).toEqual([1, 2, null]);
    expect(leaves(tree, (x) => x === tree)).toEqual([tree]);
    const [xs, treedef] = flatten(tree, Array.isArray);
    expect(treedef.toString()).toBe("PyTreeDef({a: *, b: null})");
    expect(unflatten(treedef, xs)).toEqual(tree);
  });

  it("treats the holes of sparse arrays as undefined", () => {
    const sparse: unknown[] = [1];
    sparse[2] = 3;
    const [xs, treedef] = flatten(sparse);
    expect(xs).toEqual([1, 3]);
    expect(treedef.toString()).toBe("PyTreeDef([*, undefined, *])");
  });

  it("flattens a shared subtree once per place it appears", () => {
    const shared = [1, 2];
    expect(leaves({ a: shared, b: shared })).toEqual([1, 2, 1, 2]);
  });

  it("throws a TreeError naming both leaf counts when unflatten gets the wrong number", () => {
    const treedef = structure({ a: 1, b: [2, 3] });
    const error = thrown(() => unflatten(treedef, [1, 2]));
    expect(error).toBeInstanceOf(TreeError);
    expect(error.message).toContain("tree.unflatten");
    expect(error.message).toContain("has 3 leaves, but got 2 leaves");
    expect(error.message).toContain("PyTreeDef({a: *, b: [*, *]})");
    expect(error.message).toContain("tree.test.ts");
  });

  it("throws a TreeError when unflatten gets something other than a TreeDef", () => {
    const error = thrown(() => unflatten({} as TreeDef, []));
    expect(error).toBeInstanceOf(TreeError);
    expect(error.message).toContain("expected a TreeDef");
  });
});

describe("TreeDef", () => {
  it("equals the structure of trees that differ only in their leaves", () => {
    const a = structure({ x: [1, null], y: new Linear(1, 2) });
    const b = structure(
      { x: ["a", null], y: new Linear([3], 4) },
      (v) => Array.isArray(v) && v.length === 1,
    );
    expect(a.equals(structure({ x: [5, null], y: new Linear(6, 7) }))).toBe(true);
    expect(a.equals(b)).toBe(true);
    expect(a.equals(a)).toBe(true);
  });

  it("differs for other containers, key orders, lengths, classes and auxiliary data", () => {
    const base = structure({ a: 1, b: 2 });
    expect(base.equals(structure({ b: 1, a: 2 }))).toBe(false);
    expect(base.equals(structure({ a: 1, c: 2 }))).toBe(false);
    expect(base.equals(structure([1, 2]))).toBe(false);
    expect(structure([1, 2]).equals(structure([1, 2, 3]))).toBe(false);
    expect(structure([1, null]).equals(structure([1, undefined]))).toBe(false);
    expect(structure(new Pair(1, 2)).equals(structure(new NamedPair(1, 2)))).toBe(false);
    expect(structure(new Linear(1, 2, "relu")).equals(structure(new Linear(1, 2, "tanh")))).toBe(
      false,
    );
  });

  it("prints registered classes with their keys and auxiliary data", () => {
    expect(structure(new Linear(1, 2)).toString()).toBe(
      'PyTreeDef(Linear["relu"](weight=*, bias=*))',
    );
    expect(structure(new Pair(1, [2, 3])).toString()).toBe("PyTreeDef(Pair(*, [*, *]))");
  });

  it("takes a tree apart up to its own leaves with flattenUpTo", () => {
    const prefix = structure({ a: 0, b: 0 });
    expect(prefix.flattenUpTo({ a: [1, 2], b: { c: 3 } })).toEqual([[1, 2], { c: 3 }]);
    const error = thrown(() => prefix.flattenUpTo({ a: 1 }, { operation: "vmap" }));
    expect(error).toBeInstanceOf(TreeError);
    expect(error.message).toContain("vmap");
    expect(error.message).toContain("missing b");
  });
});

describe("registered classes", () => {
  it("are containers whose children are flattened and rebuilt with unflatten", () => {
    const layer = new Linear([1, 2], 3, "tanh");
    const [xs, treedef] = flatten({ layer });
    expect(xs).toEqual([1, 2, 3]);
    const rebuilt = unflatten(treedef, [4, 5, 6]) as { layer: Linear };
    expect(rebuilt.layer).toBeInstanceOf(Linear);
    expect(rebuilt.layer.weight).toEqual([4, 5]);
    expect(rebuilt.layer.bias).toBe(6);
    expect(rebuilt.layer.activation).toBe("tanh");
  });

  it("cover subclasses through the base class's registration", () => {
    const [xs, treedef] = flatten(new NamedPair(1, 2));
    expect(xs).toEqual([1, 2]);
    expect(treedef.toString()).toBe("PyTreeDef(NamedPair(*, *))");
    expect(isRegistered(NamedPair)).toBe(true);
  });

  it("prefer a subclass's own registration to its base class's", () => {
    expect(leaves(new Triple(1, 2, 3))).toEqual([1, 2, 3]);
    expect(unflatten(structure(new Triple(1, 2, 3)), [4, 5, 6])).toEqual(new Triple(4, 5, 6));
  });

  it("are reported by isRegistered; other values are not", () => {
    expect(isRegistered(Linear)).toBe(true);
    expect(isRegistered(Unregistered)).toBe(false);
    expect(isRegistered(Object)).toBe(false);
    expect(isRegistered(42)).toBe(false);
    expect(isRegistered(() => 1)).toBe(false);
  });

  it("can be registered after instances were first seen as leaves", () => {
    class Late {
      constructor(readonly value: number) {}
    }
    expect(leaves([new Late(1)])).toHaveLength(1);
    expect(leaves([new Late(1)])[0]).toBeInstanceOf(Late);
    register(Late, {
      flatten: (l) => [[l.value], undefined],
      unflatten: (_aux, [value]) => new Late(value as number),
    });
    expect(leaves([new Late(1)])).toEqual([1]);
  });

  it("reject non-classes, built-in containers, bad registrations and duplicates", () => {
    const arrow = (() => 1) as unknown as new () => object;
    const registration = { flatten: () => [[], undefined] as const, unflatten: () => ({}) };
    for (const [fn, text] of [
      [() => register(arrow, registration), "expected a class"],
      [() => register(Object, registration), "built-in container"],
      [() => register(Array, registration), "built-in container"],
      [() => register(Linear, registration), "already registered"],
      [
        () =>
          register(
            class Fresh {
              readonly id = 1;
            },
            {} as typeof registration,
          ),
        "expected {flatten, unflatten}",
      ],
    ] as const) {
      const error = thrown(fn);
      expect(error).toBeInstanceOf(TreeError);
      expect(error.message).toContain("tree.register");
      expect(error.message).toContain(text);
      expect(error.message).toContain("tree.test.ts");
    }
  });

  it("report a flatten function that returns the wrong shape of result", () => {
    class Broken {
      readonly id = 1;
    }
    register(Broken, {
      flatten: () => "nope" as unknown as [unknown[], unknown],
      unflatten: () => new Broken(),
    });
    class BadKeys {
      readonly id = 2;
    }
    register(BadKeys, {
      flatten: () => [[1, 2], undefined, ["only one"]],
      unflatten: () => new BadKeys(),
    });
    const broken = thrown(() => flatten({ a: new Broken() }));
    expect(broken).toBeInstanceOf(TreeError);
    expect(broken.message).toContain("the flatten function registered for Broken");
    expect(broken.message).toContain("tree.test.ts");
    const badKeys = thrown(() => leaves(new BadKeys()));
    expect(badKeys.message).toContain("returned 2 children");
  });
});

describe("paths", () => {
  it("names object keys, array indices and registered attributes", () => {
    const model = { layers: [new Linear(1, 2)], "my key": [new Pair(3, 4)] };
    const [pairs, treedef] = flattenWithPath(model);
    expect(pairs.map(([path, leaf]) => [keystr(path), leaf])).toEqual([
      ['["layers"][0].weight', 1],
      ['["layers"][0].bias', 2],
      ['["my key"][0][0]', 3],
      ['["my key"][0][1]', 4],
    ]);
    expect(treedef.equals(structure(model))).toBe(true);
    expect(pairs[0]![0]).toEqual([
      { kind: "key", key: "layers" },
      { kind: "index", index: 0 },
      { kind: "attr", name: "weight" },
    ]);
  });

  it("formats each kind of entry with keystr", () => {
    const path: KeyPath = [
      { kind: "key", key: "layers" },
      { kind: "index", index: 0 },
      { kind: "attr", name: "weight" },
      { kind: "key", key: "0abc" },
      { kind: "attr", name: "$ok_1" },
    ];
    expect(keystr(path)).toBe('["layers"][0].weight["0abc"].$ok_1');
    expect(keystr([{ kind: "key", key: "layers" }])).toBe('["layers"]');
    expect(
      keystr([
        { kind: "attr", name: "weight" },
        { kind: "index", index: 2 },
      ]),
    ).toBe(".weight[2]");
    expect(keystr([{ kind: "key", key: 'a "quoted" key' }])).toBe('["a \\"quoted\\" key"]');
    expect(keystr([])).toBe("");
  });

  it("stops at isLeaf nodes", () => {
    const [pairs] = flattenWithPath({ a: [1, 2], b: 3 }, Array.isArray);
    expect(pairs.map(([path]) => keystr(path))).toEqual(['["a"]', '["b"]']);
  });
});

describe("map", () => {
  it("applies f to every leaf and keeps the structure", () => {
    const tree = { a: [1, 2], b: null, c: new Linear(3, 4) };
    const doubled = map((x: number) => 2 * x, tree) as typeof tree;
    expect(doubled.a).toEqual([2, 4]);
    expect(doubled.b).toBeNull();
    expect(doubled.c).toBeInstanceOf(Linear);
    expect([doubled.c.weight, doubled.c.bias]).toEqual([6, 8]);
  });

  it("passes the matching leaves of several trees", () => {
    const sum = map(
      (x: number, y: number, z: number) => x + y + z,
      { a: 1, b: [2] },
      { a: 10, b: [20] },
      { a: 100, b: [200] },
    );
    expect(sum).toEqual({ a: 111, b: [222] });
  });

  it("matches object keys of later trees by name, whatever their order", () => {
    expect(map((x: number, y: number) => x - y, { a: 5, b: 7 }, { b: 1, a: 2 })).toEqual({
      a: 3,
      b: 6,
    });
  });

  it("passes whole subtrees of later trees where the first tree has a leaf", () => {
    const seen: unknown[] = [];
    map((x: unknown, y: unknown) => seen.push([x, y]), { a: 1, b: 2 }, { a: [1, 2], b: { c: 3 } });
    expect(seen).toEqual([
      [1, [1, 2]],
      [2, { c: 3 }],
    ]);
  });

  it("throws a TreeError showing both structures when a later tree differs", () => {
    const error = thrown(() =>
      map((x: number, y: number) => x + y, { a: 1, b: [2, 3] }, { a: 1, b: [2] }),
    );
    expect(error).toBeInstanceOf(TreeError);
    expect(error.message).toContain("tree.map");
    expect(error.message).toContain("the second tree does not have the first tree's structure");
    expect(error.message).toContain(
      'at `["b"]`, expected an array of length 2 but got an array of length 1',
    );
    expect(error.message).toContain("first tree:  PyTreeDef({a: *, b: [*, *]})");
    expect(error.message).toContain("second tree: PyTreeDef({a: *, b: [*]})");
    expect(error.message).toContain("tree.test.ts");
  });

  it("names the tree, the path and the mismatch for each kind of container", () => {
    const f = (): number => 0;
    const message = (first: unknown, ...rest: unknown[]): string =>
      thrown(() => map(f, first, ...rest)).message;
    expect(message([1], [1], { a: 1 })).toContain("the third tree");
    expect(message([1], [1], { a: 1 })).toContain("at the root, expected an array of length 1");
    expect(message({ a: 1, b: 2 }, { a: 1, c: 2 })).toContain("missing b; unexpected c");
    expect(message({ a: null }, { a: 0 })).toContain(
      'at `["a"]`, expected null but got the number 0',
    );
    expect(message([undefined], [null])).toContain("expected undefined but got null");
    expect(message({ p: new Pair(1, 2) }, { p: [1, 2] })).toContain(
      'at `["p"]`, expected an instance of Pair but got an array of length 2',
    );
    expect(message(new Pair(1, 2), new NamedPair(1, 2))).toContain("expected an instance of Pair");
    expect(message(new Linear(1, 2), new Linear(1, 2, "tanh"))).toContain(
      'auxiliary data "relu" but got an instance of Linear (its auxiliary data is "tanh")',
    );
    expect(message({ l: new Linear([1], 2) }, { l: new Linear([], 2) })).toContain(
      'at `["l"].weight`, expected an array of length 1',
    );
  });
});

describe("mapWithPath", () => {
  it("passes each leaf's path, then the leaves of every tree", () => {
    const out = mapWithPath(
      (path: KeyPath, x: number, y: number) => `${keystr(path)}=${x + y}`,
      { layers: [new Linear(1, 2)] },
      { layers: [new Linear(10, 20)] },
    );
    expect(out).toEqual({
      layers: [new Linear('["layers"][0].weight=11', '["layers"][0].bias=22')],
    });
  });

  it("throws a TreeError naming mapWithPath when a later tree differs", () => {
    const error = thrown(() => mapWithPath(() => 0, [1, 2], [1]));
    expect(error).toBeInstanceOf(TreeError);
    expect(error.message).toContain("tree.mapWithPath");
  });
});

describe("reference cycles", () => {
  it("throw a TreeError naming where the cycle closes instead of overflowing the stack", () => {
    const node: { name: string; children: unknown[] } = { name: "root", children: [] };
    node.children.push({ parent: node });
    for (const fn of [
      () => flatten(node),
      () => leaves(node),
      () => structure(node),
      () => map((x: unknown) => x, node),
      () => allclose(node, node),
    ]) {
      const error = thrown(fn);
      expect(error).toBeInstanceOf(TreeError);
      expect(error.message).toContain(
        'the tree contains a reference cycle: the object at the root is reached again at `["children"][0]["parent"]`',
      );
      expect(error.message).toContain("tree.test.ts");
    }
  });

  it("are found through registered classes and arrays too", () => {
    const list: unknown[] = [1];
    const pair = new Pair(list, 2);
    list.push(pair);
    const error = thrown(() => flatten({ pair }));
    expect(error.message).toContain(
      'the Pair instance at `["pair"]` is reached again at `["pair"][0][1]`',
    );
  });

  it("do not trouble isLeaf nodes", () => {
    const node: Record<string, unknown> = {};
    node.self = node;
    expect(leaves({ node }, (x) => x === node)).toEqual([node]);
  });

  it("name the later tree in map without a structure for it", () => {
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    const message = thrown(() => map((x: unknown) => x, [[1, 2]], cyclic)).message;
    expect(message).toContain("second tree: (no structure: it contains a reference cycle)");
  });
});

describe("allclose", () => {
  it("compares number leaves with atol + rtol * |b|", () => {
    expect(allclose({ a: 1, b: [2] }, { a: 1 + 1e-9, b: [2] })).toBe(true);
    expect(allclose(1, 1.001)).toBe(false);
    expect(allclose(1, 1.001, { rtol: 1e-2 })).toBe(true);
    expect(allclose(0, 1e-3, { atol: 1e-2 })).toBe(true);
    expect(allclose(0, 1e-3, { atol: 1e-4 })).toBe(false);
    // rtol scales with b, not a.
    expect(allclose(100, 1, { rtol: 0.99, atol: 0 })).toBe(false);
    expect(allclose(1, 100, { rtol: 0.99, atol: 0 })).toBe(true);
  });

  it("treats NaN as unequal unless equalNan, and infinities as close only to themselves", () => {
    expect(allclose(Number.NaN, Number.NaN)).toBe(false);
    expect(allclose(Number.NaN, Number.NaN, { equalNan: true })).toBe(true);
    expect(allclose(Number.NaN, 1, { equalNan: true })).toBe(false);
    expect(allclose(Infinity, Infinity)).toBe(true);
    expect(allclose(Infinity, -Infinity)).toBe(false);
    expect(allclose(Infinity, 1e300, { rtol: 1 })).toBe(false);
  });

  it("compares array-like leaves by exact shape and elementwise values", () => {
    const a = new FakeArray([2, 2], [1, 2, 3, 4]);
    expect(allclose({ w: a }, { w: new FakeArray([2, 2], [1, 2, 3, 4 + 1e-7]) })).toBe(true);
    expect(allclose({ w: a }, { w: new FakeArray([2, 2], [1, 2, 3, 5]) })).toBe(false);
    expect(allclose(a, new FakeArray([4], [1, 2, 3, 4]))).toBe(false);
    expect(allclose(a, new FakeArray([1, 4], [1, 2, 3, 4]))).toBe(false);
    expect(allclose(new FakeArray([], [3]), 3)).toBe(true);
    expect(allclose(new FakeArray([1], [3]), 3)).toBe(false);
    expect(allclose(new Float32Array([1, 2]), new FakeArray([2], [1, 2]))).toBe(true);
    const nan = new FakeArray([2], [Number.NaN, 1]);
    expect(allclose(nan, nan)).toBe(false);
    expect(allclose(nan, nan, { equalNan: true })).toBe(true);
  });

  it("compares other leaves by identity", () => {
    const fn = (): number => 1;
    expect(allclose(["s", fn, true], ["s", fn, true])).toBe(true);
    expect(allclose(["s"], ["t"])).toBe(false);
    expect(allclose([fn], [() => 1])).toBe(false);
    expect(allclose(["1"], [1])).toBe(false);
  });

  it("returns false, without throwing, for different structures", () => {
    expect(allclose([1, 2], [1, 2, 3])).toBe(false);
    expect(allclose({ a: 1 }, { b: 1 })).toBe(false);
    expect(allclose({ a: 1 }, { a: [1] })).toBe(false);
    expect(allclose({ a: [1] }, { a: 1 })).toBe(false);
    expect(allclose([1, null], [1, 2])).toBe(false);
    expect(allclose([1, 2], [1, null])).toBe(false);
    expect(allclose(new Pair(1, 2), new NamedPair(1, 2))).toBe(false);
    expect(allclose(new Linear(1, 2), new Linear(1, 2, "tanh"))).toBe(false);
  });

  it("matches object keys by name and walks registered classes", () => {
    expect(allclose({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(true);
    expect(allclose(new Linear([1, 2], 3), new Linear([1, 2], 3 + 1e-9))).toBe(true);
    expect(allclose([null, undefined], [null, undefined])).toBe(true);
  });
});

/**
 * `NDArray`: the one array type users see. A value is either concrete (typed-array storage, in
 * `runtime/`) or a tracer standing for a value under a transform (`core/trace.ts`); both are
 * NDArrays, so user code is written once for both.
 *
 * Methods mirror `np` and are installed by the numpy layer (`installArrayMethods`), which keeps
 * this file free of imports from the layers above it.
 */
import type { AbstractValue } from "./aval.js";
import type { DType, TypedArray } from "./dtype.js";
import type { BasicIndex } from "../numpy/index-parse.js";

/** What array operations accept: an array, or a JS number/boolean (weakly typed). */
export type ArrayLike = NDArray | number | boolean;

/** One item of an index: an int, a slice, `...`, `null` (new axis), or an index/mask array. */
export type IndexItem = BasicIndex | NDArray | readonly number[];

/** Options of reductions. */
export interface ReduceOptions {
  axis?: number | readonly number[] | null;
  keepdims?: boolean;
}

/** The functional updates of `x.at(index)`. Each returns a new array; `x` is unchanged. */
export interface AtUpdater {
  /** `x` with the indexed elements replaced by `values` (broadcast). */
  set(values: ArrayLike): NDArray;
  /** `x` with `values` added at the index (repeated indices accumulate). */
  add(values: ArrayLike): NDArray;
  /** `x` with the indexed elements multiplied by `values`. */
  multiply(values: ArrayLike): NDArray;
  /** `x` with the indexed elements replaced by their minimum with `values`. */
  min(values: ArrayLike): NDArray;
  /** `x` with the indexed elements replaced by their maximum with `values`. */
  max(values: ArrayLike): NDArray;
  /** The indexed elements (the same as `x.get(index)`). */
  get(): NDArray;
}

/** Nested JS arrays of numbers or booleans, as `toList()` returns them. */
export type NestedList = number | boolean | NestedList[];

/** The numpy-layer functions behind NDArray's methods. */
export interface ArrayMethods {
  add(x: ArrayLike, y: ArrayLike): NDArray;
  subtract(x: ArrayLike, y: ArrayLike): NDArray;
  multiply(x: ArrayLike, y: ArrayLike): NDArray;
  divide(x: ArrayLike, y: ArrayLike): NDArray;
  power(x: ArrayLike, y: ArrayLike): NDArray;
  negative(x: ArrayLike): NDArray;
  matmul(x: ArrayLike, y: ArrayLike): NDArray;
  reshape(x: ArrayLike, shape: readonly number[]): NDArray;
  transpose(x: ArrayLike, axes?: readonly number[]): NDArray;
  sum(x: ArrayLike, options?: ReduceOptions): NDArray;
  prod(x: ArrayLike, options?: ReduceOptions): NDArray;
  mean(x: ArrayLike, options?: ReduceOptions): NDArray;
  max(x: ArrayLike, options?: ReduceOptions): NDArray;
  min(x: ArrayLike, options?: ReduceOptions): NDArray;
  all(x: ArrayLike, options?: ReduceOptions): NDArray;
  any(x: ArrayLike, options?: ReduceOptions): NDArray;
  astype(x: ArrayLike, dtype: DType): NDArray;
  less(x: ArrayLike, y: ArrayLike): NDArray;
  lessEqual(x: ArrayLike, y: ArrayLike): NDArray;
  greater(x: ArrayLike, y: ArrayLike): NDArray;
  greaterEqual(x: ArrayLike, y: ArrayLike): NDArray;
  equal(x: ArrayLike, y: ArrayLike): NDArray;
  notEqual(x: ArrayLike, y: ArrayLike): NDArray;
  get(x: NDArray, index: readonly (IndexItem | string)[]): NDArray;
  at(x: NDArray, index: readonly (IndexItem | string)[]): AtUpdater;
}

let methods: ArrayMethods | undefined;

/** Called once by the numpy layer when it loads. */
export function installArrayMethods(table: ArrayMethods): void {
  methods = table;
}

function m(): ArrayMethods {
  if (methods === undefined) throw new Error("fluxion: import arrays through the package root");
  return methods;
}

/**
 * An n-dimensional array. Immutable: every operation returns a new array (basic indexing and
 * reshapes return views that share storage, which is safe because nothing writes to it).
 */
export abstract class NDArray {
  /** The abstract value (shape, dtype, weak type). */
  abstract readonly aval: AbstractValue;

  /**
   * The concrete array behind this value. A tracer without one throws a `TracerError` that names
   * `operation`. @internal
   */
  abstract concrete(operation: string): NDArray;

  /** The dimensions, e.g. `[2, 3]`. */
  get shape(): readonly number[] {
    return this.aval.shape;
  }
  /** The element type. */
  get dtype(): DType {
    return this.aval.dtype;
  }
  /** The number of dimensions. */
  get ndim(): number {
    return this.aval.shape.length;
  }
  /** The number of elements. */
  get size(): number {
    return this.aval.size;
  }
  /** Whether this value is weakly typed (it came from a JS number). */
  get weakType(): boolean {
    return this.aval.weakType;
  }

  /** The elements as nested JS arrays (numbers, or booleans for `bool`). */
  toList(): NestedList {
    return this.concrete("x.toList()").toList();
  }
  /** A fresh contiguous copy of the elements, in row-major order. */
  toTypedArray(): TypedArray {
    return this.concrete("x.toTypedArray()").toTypedArray();
  }
  /** The single element of a size-1 array, as a JS number (or boolean for `bool`). */
  item(): number | boolean {
    return this.concrete("x.item()").item();
  }
  /** A NumPy-like printout. */
  toString(): string {
    return this.concrete("x.toString()").toString();
  }
  /** `+x`, `x > 0` and template strings work on concrete arrays of one element. */
  [Symbol.toPrimitive](hint: string): number | string {
    if (hint === "string") return this.toString();
    return Number(this.concrete("a JS comparison or arithmetic on an array").item());
  }

  /** `x + y`, broadcasting. */
  add(y: ArrayLike): NDArray {
    return m().add(this, y);
  }
  /** `x - y`, broadcasting. */
  sub(y: ArrayLike): NDArray {
    return m().subtract(this, y);
  }
  /** `x * y`, broadcasting. */
  mul(y: ArrayLike): NDArray {
    return m().multiply(this, y);
  }
  /** `x / y` (true division), broadcasting. */
  div(y: ArrayLike): NDArray {
    return m().divide(this, y);
  }
  /** `x ** y`, broadcasting. */
  pow(y: ArrayLike): NDArray {
    return m().power(this, y);
  }
  /** `-x`. */
  neg(): NDArray {
    return m().negative(this);
  }
  /** Matrix product, as `np.matmul`. */
  matmul(y: ArrayLike): NDArray {
    return m().matmul(this, y);
  }
  /** The same elements in a new shape; one entry may be -1. A view when possible. */
  reshape(shape: readonly number[]): NDArray {
    return m().reshape(this, shape);
  }
  /** Permutes the axes (reverses them by default). A view. */
  transpose(axes?: readonly number[]): NDArray {
    return m().transpose(this, axes);
  }
  /**
   * The sub-arrays along the first axis, in order, as NumPy iterates: `const [k1, k2] =
   * random.split(key)`, `for (const row of matrix)`. A 0-d array yields nothing (NumPy raises
   * there; JavaScript tools such as test matchers iterate whatever is iterable, so it must not
   * throw) — use `item()` for its value.
   */
  *[Symbol.iterator](): Iterator<NDArray> {
    const rows = this.ndim === 0 ? 0 : this.shape[0]!;
    for (let i = 0; i < rows; i++) yield this.get(i);
  }
  /** The transpose (axes reversed). */
  get T(): NDArray {
    return m().transpose(this);
  }
  /** Sum over `axis` (all axes by default). */
  sum(options?: ReduceOptions): NDArray {
    return m().sum(this, options);
  }
  /** Product over `axis` (all axes by default). */
  prod(options?: ReduceOptions): NDArray {
    return m().prod(this, options);
  }
  /** Mean over `axis` (all axes by default). */
  mean(options?: ReduceOptions): NDArray {
    return m().mean(this, options);
  }
  /** Maximum over `axis` (all axes by default). */
  max(options?: ReduceOptions): NDArray {
    return m().max(this, options);
  }
  /** Minimum over `axis` (all axes by default). */
  min(options?: ReduceOptions): NDArray {
    return m().min(this, options);
  }
  /** Whether every element is true (nonzero) over `axis` (all axes by default). */
  all(options?: ReduceOptions): NDArray {
    return m().all(this, options);
  }
  /** Whether any element is true (nonzero) over `axis` (all axes by default). */
  any(options?: ReduceOptions): NDArray {
    return m().any(this, options);
  }
  /** A copy converted to `dtype`. */
  astype(dtype: DType): NDArray {
    return m().astype(this, dtype);
  }
  /** Elementwise `x < y`. */
  lt(y: ArrayLike): NDArray {
    return m().less(this, y);
  }
  /** Elementwise `x <= y`. */
  le(y: ArrayLike): NDArray {
    return m().lessEqual(this, y);
  }
  /** Elementwise `x > y`. */
  gt(y: ArrayLike): NDArray {
    return m().greater(this, y);
  }
  /** Elementwise `x >= y`. */
  ge(y: ArrayLike): NDArray {
    return m().greaterEqual(this, y);
  }
  /** Elementwise `x == y`. */
  eq(y: ArrayLike): NDArray {
    return m().equal(this, y);
  }
  /** Elementwise `x != y`. */
  ne(y: ArrayLike): NDArray {
    return m().notEqual(this, y);
  }

  /**
   * NumPy indexing: `x.get("..., 1:3, None")`, `x.get(0, np.slice(1, 3))`, `x.get(indexArray)`,
   * `x.get(boolMask)`. Ints, slices, `...` and `null` give a view.
   */
  get(...index: (IndexItem | string)[]): NDArray {
    return m().get(this, index);
  }

  /** Functional updates at an index: `x.at("..., 0").set(1)` returns a new array. */
  at(...index: (IndexItem | string)[]): AtUpdater {
    return m().at(this, index);
  }
}

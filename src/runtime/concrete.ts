/**
 * Concrete arrays: typed-array storage with shape, strides and offset. Views (basic indexing,
 * transposes, reshapes of contiguous data, broadcasts) share storage with their base; nothing
 * ever writes to storage after an array is built, so sharing is safe.
 */
import { AbstractValue } from "../core/aval.js";
import { NDArray, type NestedList } from "../core/array.js";
import { allocate, castScalar, type DType, type TypedArray } from "../core/dtype.js";
import { ValueError } from "../core/errors.js";
import { contiguousStrides, shapeSize, type Shape } from "../core/shape.js";
import { formatArray } from "./format.js";
import { copyStrided, type Operand } from "./strided.js";

export class ConcreteArray extends NDArray {
  readonly aval: AbstractValue;
  /** @internal Whether another array views the same storage (so it must never be written). */
  sharesStorage = false;

  /** @internal Use `np.array` and friends to make arrays. */
  constructor(
    aval: AbstractValue,
    /** @internal */ readonly data: TypedArray,
    /** @internal */ readonly strides: readonly number[],
    /** @internal */ readonly offset: number,
  ) {
    super();
    this.aval = aval;
  }

  /** @internal */
  concrete(): NDArray {
    return this;
  }

  /** @internal Whether the elements lie row-major and contiguous from `offset`. */
  get isContiguous(): boolean {
    const expected = contiguousStrides(this.shape);
    for (let i = 0; i < expected.length; i++) {
      if (this.shape[i] !== 1 && this.strides[i] !== expected[i]) return false;
    }
    return true;
  }

  /** @internal The elements `[lo, hi]` of the storage this view reaches (inclusive). */
  get reach(): [number, number] {
    let [lo, hi] = [this.offset, this.offset];
    this.shape.forEach((d, i) => {
      const step = (d - 1) * this.strides[i]!;
      if (step < 0) lo += step;
      else hi += step;
    });
    return [lo, hi];
  }

  /** @internal The operand form used by the strided loops. */
  get operand(): Operand {
    return { data: this.data, strides: this.strides, offset: this.offset };
  }

  /** @internal Contiguous storage of exactly `size` elements: the storage itself when possible. */
  contiguousData(): TypedArray {
    const size = this.size;
    if (this.isContiguous) {
      if (this.offset === 0 && this.data.length === size) return this.data;
      return this.data.subarray(this.offset, this.offset + size);
    }
    const out = allocate(this.dtype, size);
    copyStrided(this.shape, this.operand, out);
    return out;
  }

  /** @internal The element at a flat row-major index. */
  elementAt(flat: number): number {
    let offset = this.offset;
    for (let axis = this.ndim - 1; axis >= 0; axis--) {
      const d = this.shape[axis]!;
      offset += (flat % d) * this.strides[axis]!;
      flat = Math.floor(flat / d);
    }
    return this.data[offset]!;
  }

  override toTypedArray(): TypedArray {
    const out = allocate(this.dtype, this.size);
    copyStrided(this.shape, this.operand, out);
    return out;
  }

  override toList(): NestedList {
    const flat = this.contiguousData();
    const isBool = this.dtype === "bool";
    const shape = this.shape;
    const build = (axis: number, start: number): NestedList => {
      if (axis === shape.length) return isBool ? flat[start] !== 0 : flat[start]!;
      const stride = shapeSize(shape.slice(axis + 1));
      const out: NestedList[] = [];
      for (let i = 0; i < shape[axis]!; i++) out.push(build(axis + 1, start + i * stride));
      return out;
    };
    return build(0, 0);
  }

  override item(): number | boolean {
    if (this.size !== 1) {
      throw new ValueError(
        "x.item()",
        `only arrays with one element can be converted to a JS value; this one has shape ` +
          `[${this.shape.join(", ")}] (${this.size} elements). Index it first, e.g. x.get(0).item().`,
      );
    }
    const v = this.data[this.offset]!;
    return this.dtype === "bool" ? v !== 0 : v;
  }

  override toString(): string {
    const flat = this.contiguousData();
    return formatArray(this.shape, this.dtype, (i) => flat[i]!);
  }
}

/** Wraps contiguous storage as an array (no copy). */
export function fromStorage(
  data: TypedArray,
  shape: Shape,
  dtype: DType,
  weakType = false,
): ConcreteArray {
  return new ConcreteArray(
    new AbstractValue(shape, dtype, weakType),
    data,
    contiguousStrides(shape),
    0,
  );
}

/** A 0-d array holding `value` (cast to `dtype`). */
export function scalar(value: number, dtype: DType, weakType = false): ConcreteArray {
  const data = allocate(dtype, 1);
  data[0] = castScalar(value, dtype);
  return fromStorage(data, [], dtype, weakType);
}

/** Asserts that an eager value is concrete (impl rules only ever see concrete inputs). */
export function asConcrete(x: NDArray): ConcreteArray {
  if (x instanceof ConcreteArray) return x;
  return x.concrete("eager evaluation") as ConcreteArray;
}

/** A view of `base` with a new shape/strides/offset over the same storage. */
export function view(
  base: ConcreteArray,
  shape: Shape,
  strides: readonly number[],
  offset: number,
): ConcreteArray {
  const result = new ConcreteArray(
    new AbstractValue(shape, base.dtype, base.weakType),
    base.data,
    strides,
    offset,
  );
  base.sharesStorage = true;
  result.sharesStorage = true;
  return result;
}

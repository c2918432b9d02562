/**
 * Abstract values: what tracing knows about an array (shape, dtype, weak type) without its data.
 */
import type { DType } from "./dtype.js";
import { shapeSize, shapesEqual, type Shape } from "./shape.js";

const shortNames: Record<DType, string> = {
  float32: "f32",
  float64: "f64",
  int32: "i32",
  uint32: "u32",
  bool: "bool",
};

/** The shape and dtype of an array; `weakType` marks values that came from JS numbers. */
export class AbstractValue {
  readonly shape: readonly number[];
  constructor(
    shape: Shape,
    readonly dtype: DType,
    readonly weakType = false,
  ) {
    this.shape = Object.freeze([...shape]);
  }

  get ndim(): number {
    return this.shape.length;
  }

  get size(): number {
    return shapeSize(this.shape);
  }

  /** Same shape and dtype (weak type ignored). */
  equals(other: AbstractValue): boolean {
    return this.dtype === other.dtype && shapesEqual(this.shape, other.shape);
  }

  /** Same shape, dtype and weak type. */
  strictlyEquals(other: AbstractValue): boolean {
    return this.equals(other) && this.weakType === other.weakType;
  }

  withWeakType(weakType: boolean): AbstractValue {
    return weakType === this.weakType ? this : new AbstractValue(this.shape, this.dtype, weakType);
  }

  /** The same dtype and weak type with another shape. */
  withShape(shape: Shape): AbstractValue {
    return new AbstractValue(shape, this.dtype, this.weakType);
  }

  /** Short form used in the IR printer: `f32[3,4]`. */
  toString(): string {
    return `${shortNames[this.dtype]}[${this.shape.join(",")}]`;
  }
}

export function shortDTypeName(dtype: DType): string {
  return shortNames[dtype];
}

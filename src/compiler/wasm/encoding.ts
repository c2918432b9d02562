/**
 * The byte-level encodings of the WebAssembly binary format: LEB128 integers, little-endian
 * floats, UTF-8 names and length-prefixed vectors, written into a growable buffer (and read back
 * by `ByteReader`, which the text printer and the tests use).
 */

const scratch = new DataView(new ArrayBuffer(8));
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/**
 * A growable byte buffer that the encoders append to. Appending never allocates unless the
 * buffer is full, when its capacity doubles.
 *
 * @example
 * const buffer = new ByteBuffer();
 * buffer.u32(624485);
 * if (buffer.toBytes().join(",") !== "229,142,38") throw new Error("bad LEB128");
 */
export class ByteBuffer {
  private data: Uint8Array;
  /** Bytes written so far. */
  length = 0;

  /** `capacity`: bytes allocated up front (it grows as needed). */
  constructor(capacity = 256) {
    this.data = new Uint8Array(Math.max(capacity, 16));
  }

  /** Appends one byte (`value & 0xff`). */
  byte(value: number): this {
    if (this.length === this.data.length) this.grow(1);
    this.data[this.length++] = value;
    return this;
  }

  /** Appends bytes as they are. */
  bytes(values: ArrayLike<number>): this {
    const n = values.length;
    if (this.length + n > this.data.length) this.grow(n);
    if (values instanceof Uint8Array) {
      this.data.set(values, this.length);
    } else {
      for (let i = 0; i < n; i++) this.data[this.length + i] = values[i]!;
    }
    this.length += n;
    return this;
  }

  /** Appends an unsigned LEB128 integer; `value` must be an integer in [0, 2³²). */
  u32(value: number): this {
    if (value >>> 0 !== value) {
      throw new RangeError(`u32 LEB128: expected an integer in [0, 2^32), received ${value}.`);
    }
    if (this.length + 5 > this.data.length) this.grow(5);
    const data = this.data;
    let at = this.length;
    let v = value;
    while (v >= 0x80) {
      data[at++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    data[at++] = v;
    this.length = at;
    return this;
  }

  /** Appends a signed LEB128 integer; `value` must be an integer in [-2³¹, 2³¹). */
  s32(value: number): this {
    if ((value | 0) !== value) {
      throw new RangeError(`s32 LEB128: expected an integer in [-2^31, 2^31), received ${value}.`);
    }
    if (this.length + 5 > this.data.length) this.grow(5);
    const data = this.data;
    let at = this.length;
    let v = value;
    for (;;) {
      const b = v & 0x7f;
      v >>= 7;
      if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
        data[at++] = b;
        this.length = at;
        return this;
      }
      data[at++] = b | 0x80;
    }
  }

  /** Appends a signed LEB128 integer of up to 64 bits (a `bigint` in [-2⁶³, 2⁶³), or an int). */
  s64(value: bigint | number): this {
    if (typeof value === "number" && (value | 0) === value) return this.s32(value);
    let v = BigInt(value);
    if (v < -(1n << 63n) || v >= 1n << 63n) {
      throw new RangeError(`s64 LEB128: ${value} is outside [-2^63, 2^63).`);
    }
    for (;;) {
      const b = Number(v & 0x7fn);
      v >>= 7n;
      if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) return this.byte(b);
      this.byte(b | 0x80);
    }
  }

  /** Appends an unsigned LEB128 integer of up to 64 bits (a `bigint` in [0, 2⁶⁴), or an int). */
  u64(value: bigint | number): this {
    if (typeof value === "number" && value >>> 0 === value) return this.u32(value);
    let v = BigInt(value);
    if (v < 0n || v >= 1n << 64n)
      throw new RangeError(`u64 LEB128: ${value} is outside [0, 2^64).`);
    while (v >= 0x80n) {
      this.byte(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    return this.byte(Number(v));
  }

  /** Appends the 4 little-endian bytes of `value` rounded to float32. */
  f32(value: number): this {
    scratch.setFloat32(0, value, true);
    if (this.length + 4 > this.data.length) this.grow(4);
    for (let i = 0; i < 4; i++) this.data[this.length++] = scratch.getUint8(i);
    return this;
  }

  /** Appends the 8 little-endian bytes of the float64 `value`. */
  f64(value: number): this {
    scratch.setFloat64(0, value, true);
    if (this.length + 8 > this.data.length) this.grow(8);
    for (let i = 0; i < 8; i++) this.data[this.length++] = scratch.getUint8(i);
    return this;
  }

  /** Appends a name: its UTF-8 byte length (u32) then the bytes. */
  name(text: string): this {
    let ascii = true;
    for (let i = 0; i < text.length; i++) {
      if (text.charCodeAt(i) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (!ascii) {
      const encoded = utf8.encode(text);
      return this.u32(encoded.length).bytes(encoded);
    }
    this.u32(text.length);
    if (this.length + text.length > this.data.length) this.grow(text.length);
    for (let i = 0; i < text.length; i++) this.data[this.length++] = text.charCodeAt(i);
    return this;
  }

  /** Appends a vector: the item count (u32), then each item as `write` encodes it. */
  vector<T>(items: readonly T[], write: (buffer: this, item: T, index: number) => void): this {
    this.u32(items.length);
    for (let i = 0; i < items.length; i++) write(this, items[i]!, i);
    return this;
  }

  /** Appends another buffer's bytes, prefixed with their count (u32): a section or a body. */
  sized(content: ByteBuffer): this {
    this.u32(content.length);
    return this.bytes(content.view());
  }

  /** The bytes written so far, without copying (valid until the next write). */
  view(): Uint8Array {
    return this.data.subarray(0, this.length);
  }

  /** A copy of the bytes written so far. */
  toBytes(): Uint8Array {
    return this.data.slice(0, this.length);
  }

  /** Forgets the contents, keeping the capacity. */
  reset(): this {
    this.length = 0;
    return this;
  }

  private grow(needed: number): void {
    let capacity = this.data.length * 2;
    while (capacity < this.length + needed) capacity *= 2;
    const data = new Uint8Array(capacity);
    data.set(this.data.subarray(0, this.length));
    this.data = data;
  }
}

/**
 * Reads the encodings `ByteBuffer` writes, from a position that advances.
 *
 * @example
 * const reader = new ByteReader(new Uint8Array([0xc0, 0xbb, 0x78]));
 * if (reader.s32() !== -123456) throw new Error("bad LEB128");
 */
export class ByteReader {
  /** The next byte to read. */
  position: number;

  constructor(
    readonly bytes: Uint8Array,
    position = 0,
  ) {
    this.position = position;
  }

  /** Whether every byte has been read. */
  get done(): boolean {
    return this.position >= this.bytes.length;
  }

  /** Reads one byte. */
  byte(): number {
    if (this.position >= this.bytes.length) {
      throw new RangeError(`ByteReader: read past the end (${this.bytes.length} bytes).`);
    }
    return this.bytes[this.position++]!;
  }

  /** Reads `count` bytes (a view, not a copy). */
  take(count: number): Uint8Array {
    if (this.position + count > this.bytes.length) {
      throw new RangeError(`ByteReader: read past the end (${this.bytes.length} bytes).`);
    }
    const view = this.bytes.subarray(this.position, this.position + count);
    this.position += count;
    return view;
  }

  /** Reads an unsigned LEB128 integer of up to 32 bits. */
  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) return result;
    }
  }

  /** Reads a signed LEB128 integer of up to 32 bits. */
  s32(): number {
    return Number(this.s64());
  }

  /** Reads a signed LEB128 integer of up to 64 bits. */
  s64(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if ((b & 0x80) === 0) {
        return (b & 0x40) !== 0 ? result - (1n << shift) : result;
      }
    }
  }

  /** Reads an unsigned LEB128 integer of up to 64 bits. */
  u64(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if ((b & 0x80) === 0) return result;
    }
  }

  /** Reads a little-endian float32. */
  f32(): number {
    const b = this.take(4);
    for (let i = 0; i < 4; i++) scratch.setUint8(i, b[i]!);
    return scratch.getFloat32(0, true);
  }

  /** Reads a little-endian float64. */
  f64(): number {
    const b = this.take(8);
    for (let i = 0; i < 8; i++) scratch.setUint8(i, b[i]!);
    return scratch.getFloat64(0, true);
  }

  /** Reads a name (length-prefixed UTF-8). */
  name(): string {
    return utf8Decoder.decode(this.take(this.u32()));
  }
}

/** The unsigned LEB128 bytes of `value` (an integer in [0, 2³²)). */
export function encodeU32(value: number): Uint8Array {
  return new ByteBuffer(16).u32(value).toBytes();
}

/** The signed LEB128 bytes of `value` (an integer in [-2³¹, 2³¹)). */
export function encodeS32(value: number): Uint8Array {
  return new ByteBuffer(16).s32(value).toBytes();
}

/** The signed LEB128 bytes of a 64-bit integer. */
export function encodeS64(value: bigint | number): Uint8Array {
  return new ByteBuffer(16).s64(value).toBytes();
}

/** The unsigned LEB128 bytes of a 64-bit integer. */
export function encodeU64(value: bigint | number): Uint8Array {
  return new ByteBuffer(16).u64(value).toBytes();
}

/** The 4 little-endian bytes of `value` as a float32. */
export function encodeF32(value: number): Uint8Array {
  return new ByteBuffer(16).f32(value).toBytes();
}

/** The 8 little-endian bytes of `value` as a float64. */
export function encodeF64(value: number): Uint8Array {
  return new ByteBuffer(16).f64(value).toBytes();
}

/** A name as the binary format stores it: UTF-8 byte length (u32), then the UTF-8 bytes. */
export function encodeName(text: string): Uint8Array {
  return new ByteBuffer(16).name(text).toBytes();
}

/**
 * SIMD (128-bit vector) opcodes: each is the `0xfd` prefix followed by a sub-opcode encoded as a
 * u32 LEB128 (so sub-opcodes from 0x80 take two bytes). Numbers are those of the WebAssembly 2.0
 * specification's instruction index.
 */

/** Vector instructions without immediates: text name → sub-opcode. */
export const simdOpcodes = {
  "i8x16.swizzle": 0x0e,
  "i8x16.splat": 0x0f,
  "i16x8.splat": 0x10,
  "i32x4.splat": 0x11,
  "i64x2.splat": 0x12,
  "f32x4.splat": 0x13,
  "f64x2.splat": 0x14,
  "i32x4.eq": 0x37,
  "i32x4.ne": 0x38,
  "i32x4.lt_s": 0x39,
  "i32x4.gt_s": 0x3b,
  "i32x4.le_s": 0x3d,
  "i32x4.ge_s": 0x3f,
  "f32x4.eq": 0x41,
  "f32x4.ne": 0x42,
  "f32x4.lt": 0x43,
  "f32x4.gt": 0x44,
  "f32x4.le": 0x45,
  "f32x4.ge": 0x46,
  "f64x2.eq": 0x47,
  "f64x2.ne": 0x48,
  "f64x2.lt": 0x49,
  "f64x2.gt": 0x4a,
  "f64x2.le": 0x4b,
  "f64x2.ge": 0x4c,
  "v128.not": 0x4d,
  "v128.and": 0x4e,
  "v128.andnot": 0x4f,
  "v128.or": 0x50,
  "v128.xor": 0x51,
  "v128.bitselect": 0x52,
  "v128.any_true": 0x53,
  "f32x4.demote_f64x2_zero": 0x5e,
  "f64x2.promote_low_f32x4": 0x5f,
  "f32x4.ceil": 0x67,
  "f32x4.floor": 0x68,
  "f32x4.trunc": 0x69,
  "f32x4.nearest": 0x6a,
  "f64x2.ceil": 0x74,
  "f64x2.floor": 0x75,
  "f64x2.trunc": 0x7a,
  "f64x2.nearest": 0x94,
  "i32x4.abs": 0xa0,
  "i32x4.neg": 0xa1,
  "i32x4.all_true": 0xa3,
  "i32x4.bitmask": 0xa4,
  "i32x4.shl": 0xab,
  "i32x4.shr_s": 0xac,
  "i32x4.shr_u": 0xad,
  "i32x4.add": 0xae,
  "i32x4.sub": 0xb1,
  "i32x4.mul": 0xb5,
  "i32x4.min_s": 0xb6,
  "i32x4.max_s": 0xb8,
  "i64x2.shl": 0xcb,
  "i64x2.shr_s": 0xcc,
  "i64x2.shr_u": 0xcd,
  "i64x2.add": 0xce,
  "i64x2.sub": 0xd1,
  "i64x2.eq": 0xd6,
  "i64x2.ne": 0xd7,
  "f32x4.abs": 0xe0,
  "f32x4.neg": 0xe1,
  "f32x4.sqrt": 0xe3,
  "f32x4.add": 0xe4,
  "f32x4.sub": 0xe5,
  "f32x4.mul": 0xe6,
  "f32x4.div": 0xe7,
  "f32x4.min": 0xe8,
  "f32x4.max": 0xe9,
  "f32x4.pmin": 0xea,
  "f32x4.pmax": 0xeb,
  "f64x2.abs": 0xec,
  "f64x2.neg": 0xed,
  "f64x2.sqrt": 0xef,
  "f64x2.add": 0xf0,
  "f64x2.sub": 0xf1,
  "f64x2.mul": 0xf2,
  "f64x2.div": 0xf3,
  "f64x2.min": 0xf4,
  "f64x2.max": 0xf5,
  "f64x2.pmin": 0xf6,
  "f64x2.pmax": 0xf7,
  "i32x4.trunc_sat_f32x4_s": 0xf8,
  "f32x4.convert_i32x4_s": 0xfa,
  "i32x4.trunc_sat_f64x2_s_zero": 0xfc,
  "f64x2.convert_low_i32x4_s": 0xfe,
  // Relaxed SIMD: a·b + c, fused or not as the hardware does it (see runtime/relaxed-simd.ts).
  "f32x4.relaxed_madd": 0x105,
  "f32x4.relaxed_nmadd": 0x106,
  "f64x2.relaxed_madd": 0x107,
} as const;

/**
 * Vector loads and stores: text name → [sub-opcode, natural alignment as log₂ of bytes].
 * `load32_splat` / `load64_splat` broadcast one element to every lane; `load32_zero` /
 * `load64_zero` fill lane 0 and zero the rest.
 */
export const simdMemoryOpcodes = {
  "v128.load": [0x00, 4],
  "v128.load32_splat": [0x09, 2],
  "v128.load64_splat": [0x0a, 3],
  "v128.store": [0x0b, 4],
  "v128.load32_zero": [0x5c, 2],
  "v128.load64_zero": [0x5d, 3],
} as const;

/** Lane accessors (one lane-index byte): text name → [sub-opcode, number of lanes]. */
export const simdLaneOpcodes = {
  "i32x4.extract_lane": [0x1b, 4],
  "i32x4.replace_lane": [0x1c, 4],
  "i64x2.extract_lane": [0x1d, 2],
  "i64x2.replace_lane": [0x1e, 2],
  "f32x4.extract_lane": [0x1f, 4],
  "f32x4.replace_lane": [0x20, 4],
  "f64x2.extract_lane": [0x21, 2],
  "f64x2.replace_lane": [0x22, 2],
} as const;

/** Sub-opcodes of the vector instructions with other immediates. */
export const SimdOpcode = {
  /** `v128.const`: 16 immediate bytes. */
  const: 0x0c,
  /** `i8x16.shuffle`: 16 lane indices, each < 32. */
  shuffle: 0x0d,
} as const;

/** Text name of a vector instruction without immediates. */
export type SimdOpName = keyof typeof simdOpcodes;
/** Text name of a vector load or store. */
export type SimdMemoryOpName = keyof typeof simdMemoryOpcodes;
/** Text name of a lane accessor. */
export type SimdLaneOpName = keyof typeof simdLaneOpcodes;

/**
 * `threefry2x32`: the Threefry-2x32 block cipher with 20 rounds (Salmon et al., "Parallel random
 * numbers: as easy as 1, 2, 3", 2011), the counter-based generator behind `random`, as JAX
 * uses it. Operands: the two key words and the two counter words (uint32; rank-0 operands
 * broadcast); outputs: the two words of each encrypted block.
 */
import { AbstractValue } from "../core/aval.js";
import { DtypeError } from "../core/errors.js";
import { definePrimitive, type Primitive, type PrimitiveExample } from "../core/primitive.js";
import type { Empty } from "./unary.js";
import { batchElementwise, zeroJvp } from "./rules.js";
import { concrete, elementwiseShape } from "./util.js";
import { fromStorage } from "../runtime/concrete.js";

const ROTATIONS = [13, 15, 26, 6, 17, 29, 16, 24] as const;
/** The key-schedule parity constant of Threefish. */
const PARITY = 0x1bd11bda;

const rotl = (x: number, r: number): number => ((x << r) | (x >>> (32 - r))) >>> 0;

/** One block: key (k0, k1), counter (x0, x1) → the two output words. */
export function threefryBlock(k0: number, k1: number, x0: number, x1: number): [number, number] {
  const ks = [k0 >>> 0, k1 >>> 0, (PARITY ^ k0 ^ k1) >>> 0];
  let a = (x0 + ks[0]!) >>> 0;
  let b = (x1 + ks[1]!) >>> 0;
  for (let block = 0; block < 5; block++) {
    const rot = block % 2 === 0 ? ROTATIONS.slice(0, 4) : ROTATIONS.slice(4);
    for (const r of rot) {
      a = (a + b) >>> 0;
      b = rotl(b, r) ^ a;
    }
    // Key injection after every four rounds.
    a = (a + ks[(block + 1) % 3]!) >>> 0;
    b = (b + ks[(block + 2) % 3]! + block + 1) >>> 0;
  }
  return [a, b];
}

function examples(): PrimitiveExample<Empty>[] {
  return [
    {
      inputs: [
        { shape: [], dtype: "uint32", values: [0x13198a2e] },
        { shape: [], dtype: "uint32", values: [0x03707344] },
        { shape: [3], dtype: "uint32", values: [0x243f6a88, 0, 7] },
        { shape: [3], dtype: "uint32", values: [0x85a308d3, 1, 9] },
      ],
      params: {},
    },
  ];
}

export const threefry2x32: Primitive<Empty> = definePrimitive<Empty>({
  name: "threefry2x32",
  examples,
  linear: false,
  jvp: (primals, tangents, params) => zeroJvp(threefry2x32)(primals, tangents, params),
  batch: (inputs, axes, params) => batchElementwise(threefry2x32)(inputs, axes, params),
  abstractEval(avals) {
    if (avals.some((a) => a.dtype !== "uint32")) {
      throw new DtypeError(
        "threefry2x32",
        `keys and counts must be uint32, got ${avals.map((a) => a.dtype).join(", ")}.`,
      );
    }
    const shape = elementwiseShape("threefry2x32", avals);
    return [new AbstractValue(shape, "uint32"), new AbstractValue(shape, "uint32")];
  },
  impl(inputs) {
    const xs = concrete(inputs);
    const shape = xs.find((x) => x.ndim > 0)?.shape ?? [];
    const n = shape.reduce((size, d) => size * d, 1);
    const words = xs.map((x) => (x.ndim === 0 ? undefined : x.toTypedArray()));
    const scalars = xs.map((x) => (x.ndim === 0 ? Number(x.item()) : 0));
    const a = new Uint32Array(n);
    const b = new Uint32Array(n);
    const w = (i: number, e: number): number => words[i]?.[e] ?? scalars[i]!;
    for (let e = 0; e < n; e++) {
      const [y0, y1] = threefryBlock(w(0, e), w(1, e), w(2, e), w(3, e));
      a[e] = y0;
      b[e] = y1;
    }
    return [fromStorage(a, shape, "uint32", false), fromStorage(b, shape, "uint32", false)];
  },
});

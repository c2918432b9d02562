/**
 * Loop state kept in kernel memory. A scan or while loop whose body runs through the executor
 * copies its constants into kernel memory once per loop, and keeps its carries there between
 * steps, in two banks: each step reads one bank and its results are copied into the other. The
 * body's kernels then read the weights and the state where they are, instead of copying them in
 * every step, and a step allocates nothing for its carries.
 */
import type { NDArray } from "../core/array.js";
import { itemSize } from "../core/dtype.js";
import { asConcrete, fromStorage, type ConcreteArray } from "./concrete.js";
import {
  align16,
  copyArrayIn,
  holdArena,
  kernelMemory,
  memoryView,
  ownedCopy,
  releaseArena,
  residentAddress,
} from "./wasm-memory.js";

const bytesOf = (x: ConcreteArray): number => align16(x.size * itemSize(x.dtype));

/** A loop's constants and carries in kernel memory, for the duration of one loop. */
export class ResidentLoop {
  /** The constants: views of kernel memory (those already there are left where they are). */
  readonly consts: ConcreteArray[];
  private readonly start: number;
  private readonly banks: readonly [ConcreteArray[], ConcreteArray[]];
  private current = 0;

  /** Holds the memory (above any arena in use) and copies `consts` and the initial `carry` in. */
  constructor(consts: readonly NDArray[], carry: readonly NDArray[]) {
    const constants = consts.map(asConcrete);
    const initial = carry.map(asConcrete);
    const copied = constants.filter((x) => residentAddress(x) === undefined);
    const total =
      copied.reduce((n, x) => n + bytesOf(x), 0) + 2 * initial.reduce((n, x) => n + bytesOf(x), 0);
    this.start = holdArena(total);
    let at = this.start;
    const slot = (x: ConcreteArray): ConcreteArray => {
      const placed = fromStorage(memoryView(x.dtype, at, x.size), x.shape, x.dtype, x.weakType);
      at += bytesOf(x);
      return placed;
    };
    this.consts = constants.map((x) => {
      if (residentAddress(x) !== undefined) return x;
      const placed = slot(x);
      copyArrayIn(x, placed.data.byteOffset);
      return placed;
    });
    this.banks = [initial.map(slot), initial.map(slot)];
    initial.forEach((x, k) => copyArrayIn(x, this.banks[0][k]!.data.byteOffset));
  }

  /** The carries the next step reads. */
  get carry(): readonly ConcreteArray[] {
    return this.banks[this.current]!;
  }

  /**
   * Takes a step's carries (which may be views of kernel memory that the next kernel would
   * overwrite): copies them into the other bank, which the next step then reads.
   */
  advance(outs: readonly NDArray[]): void {
    const next = this.banks[1 - this.current]!;
    let bytes: Uint8Array | undefined;
    outs.forEach((out, k) => {
      const x = asConcrete(out);
      const to = next[k]!.data.byteOffset;
      const from = residentAddress(x);
      if (from === undefined) {
        copyArrayIn(x, to);
      } else if (from !== to) {
        bytes ??= new Uint8Array(kernelMemory().buffer);
        bytes.copyWithin(to, from, from + x.size * itemSize(x.dtype));
      }
    });
    this.current = 1 - this.current;
  }

  /** The carries in storage of their own (call before `release`). */
  finalCarry(): ConcreteArray[] {
    return this.carry.map(ownedCopy);
  }

  /** Gives the memory back (and any arena held after it). */
  release(): void {
    releaseArena(this.start);
  }
}

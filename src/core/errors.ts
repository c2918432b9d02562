/**
 * The error classes a user can catch, and how fluxion finds the user's own line in a stack.
 */
import { fileURLToPath } from "node:url";
import { dirname, basename } from "node:path";

// fluxion's own source root (src/ or dist/): frames inside it are never the user's.
const ownRoot = dirname(dirname(fileURLToPath(import.meta.url)));

/** A place in the user's code: `file:line:column`. */
export interface CallSite {
  file: string;
  line: number;
  column: number;
}

const framePattern = /\(?((?:file:\/\/)?[^\s()]+):(\d+):(\d+)\)?\s*$/;

function isOwnFrame(file: string): boolean {
  const path = file.startsWith("file://") ? fileURLToPath(file) : file;
  return (
    path.startsWith(ownRoot) ||
    path.startsWith("node:") ||
    path.includes("/node_modules/") ||
    !path.includes("/")
  );
}

/** The first frame of `stack` outside fluxion (and outside node's internals and node_modules). */
export function userFrameOf(stack: string | undefined): CallSite | undefined {
  if (stack === undefined) return undefined;
  for (const line of stack.split("\n").slice(1)) {
    const m = framePattern.exec(line.trim());
    if (m === null) continue;
    const file = m[1]!;
    if (isOwnFrame(file)) continue;
    return {
      file: file.startsWith("file://") ? fileURLToPath(file) : file,
      line: Number(m[2]),
      column: Number(m[3]),
    };
  }
  return undefined;
}

/**
 * A captured call stack whose user frame is found only when asked (V8 formats stacks lazily,
 * so capturing one per staged equation is cheap).
 */
export class SourceInfo {
  private readonly captured = captureStack();
  private resolved: CallSite | null | undefined;

  /** The user's call site, or `undefined` when the whole stack is fluxion's own. */
  get site(): CallSite | undefined {
    if (this.resolved === undefined) this.resolved = userFrameOf(this.captured.stack) ?? null;
    return this.resolved ?? undefined;
  }

  /** `file.ts:14:9`, or `""` when unknown. */
  toString(): string {
    return formatSite(this.site);
  }
}

export function formatSite(site: CallSite | undefined): string {
  return site === undefined ? "" : `${basename(site.file)}:${site.line}:${site.column}`;
}

/** Frames to capture: deep enough to get past fluxion's own frames under nested transforms. */
const stackDepth = 64;

function captureStack(): Error {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = stackDepth;
  try {
    return new Error();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** The user's call site right now. */
export function currentSite(): CallSite | undefined {
  return userFrameOf(captureStack().stack);
}

/** Base class of every error a user can cause. `site` is the user's line that caused it. */
export class FluxionError extends Error {
  readonly site: CallSite | undefined;

  /**
   * @param operation the public name of what was called, e.g. `"np.matmul"`.
   * @param detail what was wrong, what was given, and the fix, in plain words.
   */
  constructor(operation: string, detail: string, site: CallSite | undefined = currentSite()) {
    const where = site === undefined ? "" : ` at ${formatSite(site)}`;
    super(`${operation}${where}: ${detail}`);
    this.site = site;
    this.name = new.target.name;
  }
}

/** Shapes that do not fit together (broadcasting, matmul, reshape, concatenate, …). */
export class ShapeError extends FluxionError {}
/** A dtype that the operation does not accept. */
export class DtypeError extends FluxionError {}
/** An index out of range, or a malformed index expression. */
export class IndexError extends FluxionError {}
/** A traced value used where a concrete one is needed (`if (x)`, `x.item()` under `jit`). */
export class TracerError extends FluxionError {}
/** A pytree of the wrong structure, or a leaf of the wrong kind. */
export class TreeError extends FluxionError {}
/** Derivatives that disagree with finite differences (thrown by `checkGrads`). */
export class GradientCheckError extends FluxionError {}
/** A differential-equation solve that failed. */
export class SolverError extends FluxionError {}
/** A value of the wrong kind given to a function (a string where a number was expected, …). */
export class ValueError extends FluxionError {}

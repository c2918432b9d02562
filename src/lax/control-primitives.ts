/**
 * Control-flow primitives whose bodies are sub-programs: `cond` (pick a branch by index), `scan`
 * (a loop over the leading axis of its inputs, with a carry), and `while` (loop while a
 * predicate holds). Each has every rule:
 *
 * - JVP splits into a primal loop/branch that also returns the residuals the tangent needs, and
 *   a tangent loop/branch that is linear in the tangents. Under `grad` the first runs now and
 *   only the second is staged, so reverse mode transposes a linear loop: a scan backwards.
 * - Batching vmaps the bodies (a batched `cond` predicate becomes a select over all branches; a
 *   batched `while` predicate runs until every lane has stopped).
 * - `while` has no transpose (the trip count is unknown): reverse mode goes through
 *   `whileLoop(..., { maxSteps })`, a scan. Its JVP under `grad` computes the primal carry by a
 *   loop on the primals alone, so only the loop carrying tangents is staged (and refused when
 *   transposed, unless its tangents are unused, e.g. behind `stopGradient`).
 * - Partial evaluation (splitting a JVP body into what the primals determine and what needs the
 *   tangents) has a rule for each: a loop or branch with some unknown inputs — for example a
 *   tangent that a nested body captured by closure — computes its known outputs (loop-carried
 *   knownness found as a fixed point) from the known inputs, and the rest by the whole loop.
 */
export { cond, type CondParams } from "./cond-primitive.js";
export { scan, type ScanParams } from "./scan-primitive.js";
export { whileLoop, WhileLoopReverseError, type WhileParams } from "./while-primitive.js";

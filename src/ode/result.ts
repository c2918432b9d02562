/**
 * What each way a solve can end means, in words: `ode.resultMessage(code)`.
 */
import type { NDArray } from "../core/array.js";
import { ValueError } from "../core/errors.js";
import { Result, type ResultCode } from "./types.js";

const messages: Record<ResultCode, string> = {
  [Result.successful]: "The solve finished successfully.",
  [Result.maxStepsReached]: "The maximum number of steps was reached. Try increasing `maxSteps`.",
  [Result.dtMinReached]:
    "The step size fell below `dtmin`. Try a smaller `dtmin`, looser tolerances, or an implicit solver if the problem is stiff.",
  [Result.nanDetected]:
    "A NaN or infinity appeared in the state, and shrinking the step did not remove it. Check the vector field for an overflow or an invalid operation (log of a negative, 0/0), or try an implicit solver if the problem is stiff.",
  [Result.implicitDivergence]:
    "The implicit solver's Newton iteration diverged. Try a smaller step (tighter tolerances or a smaller dt0).",
  [Result.implicitNonconvergence]:
    "The implicit solver's Newton iteration did not converge within its maximum number of iterations. Try a smaller step, or allow more iterations.",
  [Result.eventOccurred]: "The solve stopped because an event occurred.",
};

/**
 * The text of a result code (a `Result` member, a `Solution`'s `result`, or a concrete int32
 * scalar array).
 *
 * @param code the code: `ode.Result.maxStepsReached`, or `sol.result`.
 * @returns one sentence saying what happened and what to change.
 * @example
 * console.log(ode.resultMessage(ode.Result.maxStepsReached)); // The maximum number of steps was reached. Try increasing `maxSteps`.
 */
export function resultMessage(code: ResultCode | number | NDArray): string {
  const value = typeof code === "number" ? code : Number(code.item());
  const text = messages[value as ResultCode] as string | undefined;
  if (text === undefined) {
    throw new ValueError(
      "ode.resultMessage",
      `${value} is not a result code; the codes are ${Object.values(Result).join(", ")} (see ode.Result).`,
    );
  }
  return text;
}

/** Whether a result code means the solve went wrong (not success, not a terminating event). */
export function isFailure(code: number): boolean {
  return code !== Result.successful && code !== Result.eventOccurred;
}

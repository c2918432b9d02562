/**
 * Checks of optimiser and schedule hyperparameters, made when the optimiser is built so that a
 * bad value fails at the user's line rather than as NaNs many steps later.
 */
import { NDArray } from "../core/array.js";
import { ValueError } from "../core/errors.js";
import { errorName } from "./base.js";

/** A learning-rate schedule as the optimisers call it: the step count (int32) to a scalar. */
export type ScheduleFunction = (step: NDArray) => NDArray | number;

/** A fixed number, or a schedule of the step count. */
export type ScalarOrSchedule = number | ScheduleFunction;

/** The allowed range of a number: bounds are inclusive unless marked open. */
export interface Range {
  min?: number;
  max?: number;
  minOpen?: boolean;
  maxOpen?: boolean;
  integer?: boolean;
}

function rangeText(range: Range): string {
  const parts: string[] = [];
  if (range.min !== undefined) parts.push(`${range.minOpen === true ? ">" : "≥"} ${range.min}`);
  if (range.max !== undefined) parts.push(`${range.maxOpen === true ? "<" : "≤"} ${range.max}`);
  const kind = range.integer === true ? "a whole number" : "a finite number";
  return parts.length === 0 ? kind : `${kind} ${parts.join(" and ")}`;
}

/** `value` checked to be a number in `range`; `name` is the option as the user wrote it. */
export function checkNumber(
  operation: string,
  name: string,
  value: unknown,
  range: Range = {},
): number {
  const ok =
    typeof value === "number" &&
    Number.isFinite(value) &&
    (range.integer !== true || Number.isInteger(value)) &&
    (range.min === undefined ||
      (range.minOpen === true ? value > range.min : value >= range.min)) &&
    (range.max === undefined || (range.maxOpen === true ? value < range.max : value <= range.max));
  if (!ok) {
    const got = typeof value === "number" ? String(value) : `${typeof value} ${String(value)}`;
    throw new ValueError(operation, `${name} must be ${rangeText(range)}, got ${got}.`);
  }
  return value as number;
}

/** A decay rate in [0, 1) (b1, b2 of Adam: 1 would divide by zero in the bias correction). */
export const unitOpen: Range = { min: 0, max: 1, maxOpen: true };
/** A rate in [0, 1]. */
export const unitClosed: Range = { min: 0, max: 1 };
/** A number ≥ 0. */
export const nonNegative: Range = { min: 0 };

/** A learning rate: a number ≥ 0 or a schedule function. */
export function checkScalarOrSchedule(
  operation: string,
  name: string,
  value: unknown,
): ScalarOrSchedule {
  if (typeof value === "function") return value as ScheduleFunction;
  if (typeof value === "number") return checkNumber(operation, name, value, nonNegative);
  throw new ValueError(
    operation,
    `${name} must be a number ≥ 0 or a schedule (a function of the step count, e.g. ` +
      `optim.schedules.cosineDecay({…})), got ${value === undefined ? "nothing" : `${typeof value} ${String(value)}`}.`,
  );
}

/** The options object of `operation`, checked to be an object. */
export function optionsOf<T extends object>(operation: string, options: T | undefined): T {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new ValueError(
      operation,
      `expects an options object, e.g. ${operation}({ learningRate: 1e-3 }), got ${options === null ? "null" : typeof options}.`,
    );
  }
  return options;
}

/** `value` checked to be a boolean (for flags such as `nesterov`). */
export function checkFlag(operation: string, name: string, value: unknown): boolean {
  if (typeof value !== "boolean") {
    throw new ValueError(
      operation,
      `${name} must be true or false, got ${typeof value} ${String(value)}.`,
    );
  }
  return value;
}

/** The value of a schedule at a step, checked to be a number or an array. */
export function scheduleValue(
  operation: string,
  schedule: ScheduleFunction,
  step: NDArray,
): NDArray | number {
  const value: unknown = schedule(step);
  if (typeof value !== "number" && !(value instanceof NDArray)) {
    throw new ValueError(
      errorName(operation),
      `the schedule must return a number or a scalar array, got ${value === null ? "null" : typeof value}.`,
    );
  }
  return value;
}

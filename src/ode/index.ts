/**
 * `ode`: differential-equation solvers in the style of Diffrax. `solve` integrates terms with a
 * solver (explicit Runge–Kutta methods are tableaus over one engine), a step-size controller,
 * what to save, an adjoint (how to differentiate) and an optional event, as one loop.
 */
export {
  Result,
  type PyTree,
  type Term,
  type Solver,
  type StepOutput,
  type ResultCode,
} from "./types.js";
export { resultMessage } from "./result.js";
export { ODETerm, MultiTerm, type VectorField } from "./terms.js";
export { ButcherTableau, type TableauData } from "./tableau.js";
export { ExplicitRungeKutta, type ExplicitRungeKuttaSpec } from "./runge-kutta.js";
export {
  linearInterpolant,
  hermiteInterpolant,
  quarticInterpolant,
  weightsInterpolant,
  type Interpolant,
  type RungeKuttaDense,
} from "./interpolation.js";
export { Euler, Heun, Midpoint, Ralston, Bosh3, Dopri5, Tsit5, Dopri8 } from "./solvers.js";
export {
  ConstantStepSize,
  StepTo,
  PIDController,
  type StepSizeController,
  type StepToOptions,
  type PIDControllerOptions,
  type PIDState,
  type ControllerStart,
  type ControllerStep,
  type ControllerDecision,
} from "./step-size.js";
export { SaveAt, type SaveAtOptions } from "./save.js";
export { Solution, type SolveStats, type DenseSteps } from "./solution.js";
export { Event, type EventOptions } from "./events.js";
export {
  RecursiveCheckpointAdjoint,
  ForwardMode,
  type Adjoint,
  type RecursiveCheckpointAdjointOptions,
} from "./adjoints.js";
export { solve, type SolveOptions } from "./solve.js";
export {
  ImplicitEuler,
  Kvaerno3,
  Kvaerno4,
  Kvaerno5,
  type ImplicitSolverOptions,
  type ControllerTolerances,
} from "./implicit.js";
export { BacksolveAdjoint } from "./backsolve.js";

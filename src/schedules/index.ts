/**
 * Schedules: functions `(step) => number` (step 0 is the first update) to
 * pass wherever a hyperparameter is expected. Each mirrors the optax
 * schedule of the same name.
 *
 * @module schedules
 */
export {
  type ExponentialDecayOptions,
  type PiecewiseConstantOptions,
  type PolynomialOptions,
  constant,
  exponentialDecay,
  linear,
  piecewiseConstant,
  polynomial,
} from './decay.js'
export { type CosineDecayOptions, type WarmupCosineDecayOptions, cosineDecay, warmupCosineDecay } from './cosine.js'
export { joinSchedules } from './join.js'

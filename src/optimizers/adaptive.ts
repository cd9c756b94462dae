/**
 * Lasagne's `adagrad`, `rmsprop` and `adadelta`.
 *
 * @module optimizers
 */
import { type GradientTransformation, chain } from '../core/index.js'
import {
  type Hyperparameter,
  type ScaleByAdadeltaOptions,
  type ScaleByAdadeltaState,
  type ScaleByAdagradOptions,
  type ScaleByAdagradState,
  type ScaleByRmsOptions,
  type ScaleByRmsState,
  type ScaleState,
  type TraceState,
  scaleByAdadelta,
  scaleByAdagrad,
  scaleByLearningRate,
  scaleByRms,
  trace,
} from '../transforms/index.js'
import { KNOBS, booleanOption, checkKnobs, flavorOf, withKnobs } from '../transforms/flavor.js'
import { type LearningRateOptions, learningRateOf, optionsOf } from './options.js'

/**
 * Options of {@link adagrad}: `learningRate` (default 1.0) and `epsilon` (default 1e-6).
 * @category model
 */
export interface AdagradOptions extends LearningRateOptions, ScaleByAdagradOptions {}

/**
 * Options of {@link rmsprop}: `learningRate` (default 1.0), `rho` (0.9) and `epsilon` (1e-6).
 * @category model
 */
export interface RmspropOptions extends LearningRateOptions, ScaleByRmsOptions {
  /** optax: Nesterov momentum on the scaled step (with `momentum`); default false. */
  readonly nesterov?: boolean
}

/**
 * State of {@link rmsprop}: the block's and the learning rate's, and under
 * optax and Keras with `momentum` the trace's of the scaled step.
 * @category model
 */
export type RmspropState = readonly [ScaleByRmsState, ScaleState] | readonly [ScaleByRmsState, ScaleState, TraceState]

/**
 * Options of {@link adadelta}: `learningRate` (default 1.0), `rho` (0.95) and `epsilon` (1e-6).
 * @category model
 */
export interface AdadeltaOptions extends LearningRateOptions, ScaleByAdadeltaOptions {}

/**
 * Adagrad, Lasagne `adagrad` (Duchi et al. 2011):
 * `chain(scaleByAdagrad({ epsilon }), scaleByLearningRate(learningRate))`.
 *
 * - `accu' = accu + g²`
 * - `u = −learningRate · g / sqrt(accu' + epsilon)`
 *
 * Defaults `learningRate = 1`, `epsilon = 1e-6` (inside the root). `accu`
 * starts at 0 (optax and TensorFlow.js start it at 0.1).
 *
 * @example
 * const tx = adagrad({ learningRate: 0.1 }) // or adagrad(0.1)
 * @category optimizers
 */
export function adagrad(options?: AdagradOptions | Hyperparameter): GradientTransformation<readonly [ScaleByAdagradState, ScaleState]> {
  const keys = ['learningRate', 'epsilon', 'flavor', 'initialAccumulatorValue', 'lrDecay', 'weightDecay', 'maximize']
  const { learningRate, ...rest } = optionsOf<AdagradOptions>('adagrad', options, keys)
  const flavor = flavorOf('adagrad', rest.flavor)
  checkKnobs('adagrad', flavor, rest, KNOBS.adagrad)
  const lr = learningRateOf('adagrad', flavor, learningRate, { lasagne: 1, torch: 1e-2, optax: undefined, tensorflow: 1e-3 })
  return chain(scaleByAdagrad(rest), scaleByLearningRate(lr))
}

/**
 * RMSprop, Lasagne `rmsprop` (Tieleman & Hinton 2012):
 * `chain(scaleByRms({ rho, epsilon }), scaleByLearningRate(learningRate))`.
 *
 * - `accu' = rho · accu + (1 − rho) · g²`
 * - `u = −learningRate · g / sqrt(accu' + epsilon)`
 *
 * Defaults `learningRate = 1`, `rho = 0.9`, `epsilon = 1e-6` (inside the
 * root; PyTorch adds its 1e-8 outside).
 *
 * @example
 * const tx = rmsprop({ learningRate: 0.01, rho: 0.9 })
 * @category optimizers
 */
export function rmsprop(options?: RmspropOptions | Hyperparameter): GradientTransformation<RmspropState> {
  const keys = ['learningRate', 'rho', 'epsilon', 'flavor', 'centered', 'momentum', 'nesterov', 'epsInSqrt', 'biasCorrection', 'weightDecay', 'maximize']
  const { learningRate, momentum, nesterov, ...rest } = optionsOf<RmspropOptions>('rmsprop', options, keys)
  const flavor = flavorOf('rmsprop', rest.flavor)
  // torch's momentum is the block's; optax's and Keras's a trace after the learning rate
  checkKnobs('rmsprop', flavor, { momentum, nesterov, ...rest }, withKnobs(KNOBS.rms, { optax: ['momentum', 'nesterov'], tensorflow: ['momentum'] }))
  const lr = learningRateOf('rmsprop', flavor, learningRate, { lasagne: 1, torch: 1e-2, optax: undefined, tensorflow: 1e-3 })
  // torch keeps its momentum buffer in the block, in gradient units; optax and Keras trace the scaled step
  if (flavor === 'torch') return chain(scaleByRms({ ...rest, momentum }), scaleByLearningRate(lr))
  if (momentum === undefined || momentum === 0) return chain(scaleByRms(rest), scaleByLearningRate(lr))
  return chain(scaleByRms(rest), scaleByLearningRate(lr), trace({ momentum, nesterov: booleanOption('rmsprop.nesterov', nesterov) }))
}

/**
 * Adadelta, Lasagne `adadelta` (Zeiler 2012):
 * `chain(scaleByAdadelta({ rho, epsilon }), scaleByLearningRate(learningRate))`.
 *
 * - `accu' = rho · accu + (1 − rho) · g²`
 * - `Δ = g · sqrt(deltaAccu + epsilon) / sqrt(accu' + epsilon)` (the old `deltaAccu`)
 * - `deltaAccu' = rho · deltaAccu + (1 − rho) · Δ²`
 * - `u = −learningRate · Δ`
 *
 * Defaults `learningRate = 1`, `rho = 0.95`, `epsilon = 1e-6`.
 *
 * @example
 * const tx = adadelta() // Lasagne's defaults
 * @category optimizers
 */
export function adadelta(options?: AdadeltaOptions | Hyperparameter): GradientTransformation<readonly [ScaleByAdadeltaState, ScaleState]> {
  const keys = ['learningRate', 'rho', 'epsilon', 'flavor', 'weightDecay', 'maximize']
  const { learningRate, ...rest } = optionsOf<AdadeltaOptions>('adadelta', options, keys)
  const flavor = flavorOf('adadelta', rest.flavor)
  checkKnobs('adadelta', flavor, rest, KNOBS.adadelta)
  const lr = learningRateOf('adadelta', flavor, learningRate, { lasagne: 1, torch: 1, optax: undefined, tensorflow: 1e-3 })
  return chain(scaleByAdadelta(rest), scaleByLearningRate(lr))
}

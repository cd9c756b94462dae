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
  scaleByAdadelta,
  scaleByAdagrad,
  scaleByLearningRate,
  scaleByRms,
} from '../transforms/index.js'
import { type LearningRateOptions, optionsOf } from './options.js'

/**
 * Options of {@link adagrad}: `learningRate` (default 1.0) and `epsilon` (default 1e-6).
 * @category model
 */
export interface AdagradOptions extends LearningRateOptions, ScaleByAdagradOptions {}

/**
 * Options of {@link rmsprop}: `learningRate` (default 1.0), `rho` (0.9) and `epsilon` (1e-6).
 * @category model
 */
export interface RmspropOptions extends LearningRateOptions, ScaleByRmsOptions {}

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
  const { learningRate = 1, ...rest } = optionsOf<AdagradOptions>('adagrad', options, ['learningRate', 'epsilon'])
  return chain(scaleByAdagrad(rest), scaleByLearningRate(learningRate))
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
export function rmsprop(options?: RmspropOptions | Hyperparameter): GradientTransformation<readonly [ScaleByRmsState, ScaleState]> {
  const { learningRate = 1, ...rest } = optionsOf<RmspropOptions>('rmsprop', options, ['learningRate', 'rho', 'epsilon'])
  return chain(scaleByRms(rest), scaleByLearningRate(learningRate))
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
  const { learningRate = 1, ...rest } = optionsOf<AdadeltaOptions>('adadelta', options, ['learningRate', 'rho', 'epsilon'])
  return chain(scaleByAdadelta(rest), scaleByLearningRate(learningRate))
}

/**
 * Lasagne's `adam`, `adamax` and `amsgrad`.
 *
 * @module optimizers
 */
import { type GradientTransformation, chain } from '../core/index.js'
import {
  type Hyperparameter,
  type ScaleByAdamOptions,
  type ScaleByAdamState,
  type ScaleByAdamaxState,
  type ScaleByAmsgradState,
  type ScaleState,
  scaleByAdam,
  scaleByAdamax,
  scaleByAmsgrad,
  scaleByLearningRate,
} from '../transforms/index.js'
import { KNOBS, booleanOption, checkKnobs, flavorOf, withKnobs } from '../transforms/flavor.js'
import { type LearningRateOptions, learningRateOf, optionsOf } from './options.js'

/**
 * Options of {@link adam}, {@link adamax} and {@link amsgrad}: `learningRate`, `beta1` (0.9), `beta2` (0.999), `epsilon` (1e-8).
 * @category model
 */
export interface AdamOptions extends LearningRateOptions, ScaleByAdamOptions {
  /** torch and Keras `amsgrad=True` on `adam`: the same as {@link amsgrad} in that flavor; default false. */
  readonly amsgrad?: boolean
}

const ADAM_KEYS = ['learningRate', 'beta1', 'beta2', 'epsilon', 'flavor', 'epsRoot', 'weightDecay', 'maximize', 'amsgrad'] as const
const ADAMAX_KEYS = ['learningRate', 'beta1', 'beta2', 'epsilon', 'flavor', 'weightDecay', 'maximize'] as const

/**
 * Adam, Lasagne `adam` (Kingma & Ba 2014):
 * `chain(scaleByAdam({ beta1, beta2, epsilon }), scaleByLearningRate(learningRate))`.
 *
 * - `t = count + 1` (one count for all leaves; the first step has `t = 1`)
 * - `mu' = beta1 · mu + (1 − beta1) · g`
 * - `nu' = beta2 · nu + (1 − beta2) · g²`
 * - `u = −learningRate · sqrt(1 − beta2^t) / (1 − beta1^t) · mu' / (sqrt(nu') + epsilon)`
 *
 * Defaults `learningRate = 1e-3`, `beta1 = 0.9`, `beta2 = 0.999`,
 * `epsilon = 1e-8`. Epsilon is added to the uncorrected `sqrt(nu')`, unlike
 * PyTorch, optax and TensorFlow.js; the results differ when `|g| ≲ 1e-6`.
 *
 * @example
 * const tx = adam({ learningRate: 1e-3 }) // or adam(1e-3)
 * @category optimizers
 */
export function adam(options?: AdamOptions | Hyperparameter): GradientTransformation<readonly [ScaleByAdamState, ScaleState]> {
  const { learningRate, amsgrad: withMax, ...rest } = optionsOf<AdamOptions>('adam', options, ADAM_KEYS)
  const flavor = flavorOf('adam', rest.flavor)
  checkKnobs('adam', flavor, { ...rest, amsgrad: withMax }, withKnobs(KNOBS.adam, { torch: ['amsgrad'], tensorflow: ['amsgrad'] }))
  const lr = learningRateOf('adam', flavor, learningRate, { lasagne: 1e-3, torch: 1e-3, optax: undefined, tensorflow: 1e-3 })
  // AMSGrad's state holds Adam's and one tree more
  const block = booleanOption('adam.amsgrad', withMax) ? (scaleByAmsgrad(rest) as GradientTransformation<ScaleByAdamState>) : scaleByAdam(rest)
  return chain(block, scaleByLearningRate(lr))
}

/**
 * Adamax, Lasagne `adamax` (Kingma & Ba 2014, §7.1):
 * `chain(scaleByAdamax({ beta1, beta2, epsilon }), scaleByLearningRate(learningRate))`.
 *
 * - `t = count + 1`
 * - `mu' = beta1 · mu + (1 − beta1) · g`
 * - `u' = max(beta2 · u, |g|)`
 * - `update = −learningRate / (1 − beta1^t) · mu' / (u' + epsilon)`
 *
 * Defaults `learningRate = 2e-3`, `beta1 = 0.9`, `beta2 = 0.999`,
 * `epsilon = 1e-8` (outside the max; PyTorch and optax put it inside).
 *
 * @example
 * const tx = adamax() // Lasagne's defaults
 * @category optimizers
 */
export function adamax(options?: AdamOptions | Hyperparameter): GradientTransformation<readonly [ScaleByAdamaxState, ScaleState]> {
  const { learningRate, ...rest } = optionsOf<AdamOptions>('adamax', options, ADAMAX_KEYS)
  const flavor = flavorOf('adamax', rest.flavor)
  checkKnobs('adamax', flavor, rest, KNOBS.adamax)
  const lr = learningRateOf('adamax', flavor, learningRate, { lasagne: 2e-3, torch: 2e-3, optax: undefined, tensorflow: 1e-3 })
  return chain(scaleByAdamax(rest), scaleByLearningRate(lr))
}

/**
 * AMSGrad, Lasagne `amsgrad` (Reddi et al. 2018):
 * `chain(scaleByAmsgrad({ beta1, beta2, epsilon }), scaleByLearningRate(learningRate))`.
 *
 * - `t = count + 1`
 * - `mu' = beta1 · mu + (1 − beta1) · g`, `nu' = beta2 · nu + (1 − beta2) · g²`
 * - `nuMax' = max(nuMax, nu')` (over the raw `nu`)
 * - `u = −learningRate · sqrt(1 − beta2^t) / (1 − beta1^t) · mu' / (sqrt(nuMax') + epsilon)`
 *
 * Defaults as {@link adam}. optax takes the maximum over the bias-corrected
 * `nu` instead, which differs when gradients shrink.
 *
 * @example
 * const tx = amsgrad({ learningRate: 1e-3 })
 * @category optimizers
 */
export function amsgrad(options?: AdamOptions | Hyperparameter): GradientTransformation<readonly [ScaleByAmsgradState, ScaleState]> {
  const { learningRate, ...rest } = optionsOf<AdamOptions>('amsgrad', options, ADAM_KEYS)
  const flavor = flavorOf('amsgrad', rest.flavor)
  checkKnobs('amsgrad', flavor, rest, KNOBS.amsgrad)
  const lr = learningRateOf('amsgrad', flavor, learningRate, { lasagne: 1e-3, torch: 1e-3, optax: undefined, tensorflow: 1e-3 })
  return chain(scaleByAmsgrad(rest), scaleByLearningRate(lr))
}

/**
 * Adagrad's scaling: divide by the root of the accumulated squared gradients.
 *
 * @module transforms
 */
import { type GradientTransformation, type Params } from '../core/index.js'
import { checkNumber } from '../errors/index.js'
import { adagradRecurrence, adaptiveScalars } from './adaptiveFamily.js'
import { recurrentBlock } from './block.js'
import { type Flavor, KNOBS, booleanOption, checkKnobs, flavorOf } from './flavor.js'
import { type Hyperparameter, NON_NEGATIVE, hyperparameters } from './hyper.js'

/**
 * State of {@link scaleByAdagrad}.
 * @category model
 */
export interface ScaleByAdagradState {
  /** Number of updates made so far (a plain integer); the schedule step of the next update. */
  readonly count: number
  /** Tree like the params (same shapes and dtypes): `accu`, the sum of every squared gradient so far. Starts at 0. */
  readonly accu: Params
}

/**
 * Options of {@link scaleByAdagrad}.
 * @category model
 */
export interface ScaleByAdagradOptions {
  /** Added to `accu'` inside the square root (torch: to the root); `>= 0`, default 1e-6 (Lasagne; torch 1e-10, optax and Keras 1e-7). */
  readonly epsilon?: Hyperparameter
  /** Whose numerics; default `'lasagne'`. */
  readonly flavor?: Flavor
  /** torch, optax, Keras: the starting value of `accu`; `>= 0`, default 0 (torch) or 0.1 (optax, Keras). */
  readonly initialAccumulatorValue?: number
  /** torch `lr_decay`: the update is divided by `1 + (t − 1) · lrDecay`; default 0. */
  readonly lrDecay?: Hyperparameter
  /** torch `weight_decay` (coupled): `g ← g + weightDecay · p`; default 0. */
  readonly weightDecay?: Hyperparameter
  /** torch `maximize`; default false. */
  readonly maximize?: boolean
}

/**
 * Scales each gradient by the inverse root of its accumulated squares
 * (Lasagne `adagrad` without the learning rate):
 *
 * - `accu' = accu + g²`
 * - `u = g / sqrt(accu' + epsilon)`
 *
 * `accu` starts at 0 (optax starts it at 0.1, TensorFlow.js at 0.1 too).
 *
 * @example
 * const tx = chain(scaleByAdagrad({ epsilon: 1e-6 }), scaleByLearningRate(1)) // = adagrad()
 * @category transforms
 */
export function scaleByAdagrad(options: ScaleByAdagradOptions = {}): GradientTransformation<ScaleByAdagradState> {
  const flavor = flavorOf('scaleByAdagrad', options.flavor)
  checkKnobs('scaleByAdagrad', flavor, options, KNOBS.adagrad)
  const epsilon = { lasagne: 1e-6, torch: 1e-10, optax: 1e-7, tensorflow: 1e-7 }[flavor]
  const spec = { epsilon: [epsilon, NON_NEGATIVE], lrDecay: [0, NON_NEGATIVE], weightDecay: [0, NON_NEGATIVE] } as const
  const at = hyperparameters('scaleByAdagrad', options, spec, ['flavor', 'initialAccumulatorValue', 'maximize'])
  const initial = checkNumber('initialAccumulatorValue', options.initialAccumulatorValue ?? (flavor === 'optax' || flavor === 'tensorflow' ? 0.1 : 0), { min: 0 })
  const maximize = booleanOption('scaleByAdagrad.maximize', options.maximize)
  const r = adagradRecurrence(flavor, options.weightDecay !== undefined)
  return recurrentBlock(r, at, (round, h, count) => adaptiveScalars(round, flavor, h, count, maximize), { accu: initial })
}

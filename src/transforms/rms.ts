/**
 * RMSprop's scaling: divide by the root of a moving average of squared
 * gradients.
 *
 * @module transforms
 */
import { type GradientTransformation, type Params } from '../core/index.js'
import { adaptiveScalars, rmsRecurrence } from './adaptiveFamily.js'
import { recurrentBlock } from './block.js'
import { type Flavor, KNOBS, booleanOption, checkKnobs, flavorOf } from './flavor.js'
import { DECAY, type Hyperparameter, NON_NEGATIVE, hyperparameters } from './hyper.js'

/**
 * State of {@link scaleByRms}.
 * @category model
 */
export interface ScaleByRmsState {
  /** Number of updates made so far (a plain integer); the schedule step of the next update. */
  readonly count: number
  /** Tree like the params (same shapes and dtypes): `accu`, the moving average of `g²`. Starts at 0. */
  readonly accu: Params
  /** Centered RMSprop only (`centered: true`): `gradAvg`, the moving average of `g`. Starts at 0. */
  readonly gradAvg?: Params
  /** torch with `momentum > 0` only: the momentum buffer, in gradient units. Starts at 0. */
  readonly velocity?: Params
}

/**
 * Options of {@link scaleByRms}.
 * @category model
 */
export interface ScaleByRmsOptions {
  /** Decay of the moving average, in `[0, 1)`; default 0.9 (Lasagne). */
  readonly rho?: Hyperparameter
  /** Added to `accu'` inside the square root; `>= 0`, default 1e-6 (Lasagne; torch and optax 1e-8, outside the root for torch; Keras 1e-7). */
  readonly epsilon?: Hyperparameter
  /** Whose numerics; default `'lasagne'` (its `rho` default: torch 0.99, the others 0.9). */
  readonly flavor?: Flavor
  /** torch, optax, Keras: divide by the root of the variance `accu' − gradAvg'²` (centered RMSprop); default false. */
  readonly centered?: boolean
  /** torch: the momentum of its buffer inside the block (`buf' = momentum · buf + g / avg`); default 0. */
  readonly momentum?: Hyperparameter
  /** optax `eps_in_sqrt`: epsilon inside the root (`true`, default) or added to it. */
  readonly epsInSqrt?: boolean
  /** optax `bias_correction`: divide the moments by `1 − rho^t` (as Adam does); default false. */
  readonly biasCorrection?: boolean
  /** torch `weight_decay` (coupled): `g ← g + weightDecay · p`; default 0. */
  readonly weightDecay?: Hyperparameter
  /** torch `maximize`; default false. */
  readonly maximize?: boolean
}

/**
 * Scales each gradient by the inverse root of a moving average of its
 * squares (Lasagne `rmsprop` without the learning rate; Tieleman & Hinton):
 *
 * - `accu' = rho · accu + (1 − rho) · g²`
 * - `u = g / sqrt(accu' + epsilon)`
 *
 * `accu` starts at 0. No bias correction, no centring.
 *
 * @example
 * const tx = chain(scaleByRms({ rho: 0.9 }), scaleByLearningRate(0.01)) // = rmsprop(0.01)
 * @category transforms
 */
export function scaleByRms(options: ScaleByRmsOptions = {}): GradientTransformation<ScaleByRmsState> {
  const flavor = flavorOf('scaleByRms', options.flavor)
  checkKnobs('scaleByRms', flavor, options, KNOBS.rms)
  const rho = flavor === 'torch' ? 0.99 : 0.9
  const epsilon = { lasagne: 1e-6, torch: 1e-8, optax: 1e-8, tensorflow: 1e-7 }[flavor]
  const spec = { rho: [rho, DECAY], epsilon: [epsilon, NON_NEGATIVE], momentum: [0, DECAY], weightDecay: [0, NON_NEGATIVE] } as const
  const at = hyperparameters('scaleByRms', options, spec, ['flavor', 'centered', 'epsInSqrt', 'biasCorrection', 'maximize'])
  const maximize = booleanOption('scaleByRms.maximize', options.maximize)
  const shape = {
    centered: booleanOption('scaleByRms.centered', options.centered),
    velocity: options.momentum !== undefined && options.momentum !== 0,
    epsInSqrt: options.epsInSqrt === undefined ? true : booleanOption('scaleByRms.epsInSqrt', options.epsInSqrt),
    decay: options.weightDecay !== undefined,
    biasCorrection: booleanOption('scaleByRms.biasCorrection', options.biasCorrection),
  }
  return recurrentBlock(rmsRecurrence(flavor, shape), at, (round, h, count) => adaptiveScalars(round, flavor, h, count, maximize))
}

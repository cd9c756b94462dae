/**
 * Adadelta's scaling: the ratio of the RMS of past updates to the RMS of
 * gradients.
 *
 * @module transforms
 */
import { type GradientTransformation, type Params } from '../core/index.js'
import { adadeltaRecurrence, adaptiveScalars } from './adaptiveFamily.js'
import { recurrentBlock } from './block.js'
import { type Flavor, KNOBS, booleanOption, checkKnobs, flavorOf } from './flavor.js'
import { DECAY, type Hyperparameter, NON_NEGATIVE, hyperparameters } from './hyper.js'

/**
 * State of {@link scaleByAdadelta}.
 * @category model
 */
export interface ScaleByAdadeltaState {
  /** Number of updates made so far (a plain integer); the schedule step of the next update. */
  readonly count: number
  /** Tree like the params (same shapes and dtypes): `accu`, the moving average of `g²`. Starts at 0. */
  readonly accu: Params
  /** Tree like the params (same shapes and dtypes): `deltaAccu`, the moving average of `Δ²` (before any learning rate). Starts at 0. */
  readonly deltaAccu: Params
}

/**
 * Options of {@link scaleByAdadelta}.
 * @category model
 */
export interface ScaleByAdadeltaOptions {
  /** Decay of both moving averages, in `[0, 1)`; default 0.95 (Lasagne; torch and optax use 0.9). */
  readonly rho?: Hyperparameter
  /** Added inside both square roots; `>= 0`, default 1e-6 (Lasagne, torch, optax; Keras 1e-7). */
  readonly epsilon?: Hyperparameter
  /** Whose numerics; default `'lasagne'` (its `rho` default: torch and optax 0.9, Keras 0.95). */
  readonly flavor?: Flavor
  /** torch `weight_decay` (coupled): `g ← g + weightDecay · p`; default 0. */
  readonly weightDecay?: Hyperparameter
  /** torch `maximize`; default false. */
  readonly maximize?: boolean
}

/**
 * Adadelta's scaling (Lasagne `adadelta` without the learning rate;
 * Zeiler 2012):
 *
 * - `accu' = rho · accu + (1 − rho) · g²`
 * - `Δ = g · sqrt(deltaAccu + epsilon) / sqrt(accu' + epsilon)` (the old `deltaAccu`)
 * - `deltaAccu' = rho · deltaAccu + (1 − rho) · Δ²`
 * - `u = Δ`
 *
 * Both accumulators start at 0, so the first step is about
 * `g · sqrt(epsilon) / sqrt((1 − rho) · g² + epsilon)`.
 *
 * @example
 * const tx = chain(scaleByAdadelta(), scaleByLearningRate(1)) // = adadelta()
 * @category transforms
 */
export function scaleByAdadelta(options: ScaleByAdadeltaOptions = {}): GradientTransformation<ScaleByAdadeltaState> {
  const flavor = flavorOf('scaleByAdadelta', options.flavor)
  checkKnobs('scaleByAdadelta', flavor, options, KNOBS.adadelta)
  const rho = flavor === 'torch' || flavor === 'optax' ? 0.9 : 0.95
  const epsilon = flavor === 'tensorflow' ? 1e-7 : 1e-6
  const spec = { rho: [rho, DECAY], epsilon: [epsilon, NON_NEGATIVE], weightDecay: [0, NON_NEGATIVE] } as const
  const at = hyperparameters('scaleByAdadelta', options, spec, ['flavor', 'maximize'])
  const maximize = booleanOption('scaleByAdadelta.maximize', options.maximize)
  const r = adadeltaRecurrence(flavor, options.weightDecay !== undefined)
  return recurrentBlock(r, at, (round, h, count) => adaptiveScalars(round, flavor, h, count, maximize))
}

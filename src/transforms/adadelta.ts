/**
 * Adadelta's scaling: the ratio of the RMS of past updates to the RMS of
 * gradients.
 *
 * @module transforms
 */
import { type GradientTransformation, type Params } from '../core/index.js'
import { add, div, mul, recurrence, sqrt, store } from '../kernel/index.js'
import { recurrentBlock } from './block.js'
import { rmsScalars } from './rms.js'
import { DECAY, type Hyperparameter, NON_NEGATIVE, hyperparameters } from './hyper.js'

/** Adadelta's recurrence: epsilon inside both roots, and the OLD `deltaAccu` in the step, as Lasagne. */
const ADADELTA = recurrence({
  name: 'adadelta',
  state: ['accu', 'deltaAccu'],
  scalars: ['rho', 'oneMinusRho', 'epsilon'],
  step: ({ g, accu, deltaAccu }, { rho, oneMinusRho, epsilon }) => {
    const accu1 = store(add(mul(rho, accu), mul(oneMinusRho, mul(g, g))))
    const delta = store(div(mul(g, sqrt(add(deltaAccu, epsilon))), sqrt(add(accu1, epsilon))))
    const deltaAccu1 = store(add(mul(rho, deltaAccu), mul(oneMinusRho, mul(delta, delta))))
    return { update: delta, accu: accu1, deltaAccu: deltaAccu1 }
  },
})

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
  /** Added inside both square roots; `>= 0`, default 1e-6 (Lasagne). */
  readonly epsilon?: Hyperparameter
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
  const at = hyperparameters('scaleByAdadelta', options, { rho: [0.95, DECAY], epsilon: [1e-6, NON_NEGATIVE] })
  return recurrentBlock(ADADELTA, at, (round, h) => rmsScalars(round, h.rho, h.epsilon))
}

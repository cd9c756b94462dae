/**
 * RMSprop's scaling: divide by the root of a moving average of squared
 * gradients.
 *
 * @module transforms
 */
import { type GradientTransformation, type Params } from '../core/index.js'
import { add, div, mul, recurrence, sqrt, store } from '../kernel/index.js'
import { recurrentBlock } from './block.js'
import { DECAY, type Hyperparameter, NON_NEGATIVE, hyperparameters } from './hyper.js'

/**
 * The per-update scalars of RMSprop and Adadelta, rounded to a dtype as Lasagne computes them in `floatX`.
 * @category model
 */
export interface RmsScalars {
  readonly rho: number
  /** `1 − rho`, with `rho` rounded first (Lasagne's `one - rho`). */
  readonly oneMinusRho: number
  readonly epsilon: number
}

/** {@link RmsScalars} of `rho` and `epsilon` in the dtype of `round`. */
export function rmsScalars(round: (x: number) => number, rho: number, epsilon: number): RmsScalars {
  const r = round(rho)
  return { rho: r, oneMinusRho: round(1 - r), epsilon: round(epsilon) }
}

/** RMSprop's recurrence: epsilon inside the root, as Lasagne. */
const RMS = recurrence({
  name: 'rms',
  state: ['accu'],
  scalars: ['rho', 'oneMinusRho', 'epsilon'],
  step: ({ g, accu }, { rho, oneMinusRho, epsilon }) => {
    const accu1 = store(add(mul(rho, accu), mul(oneMinusRho, mul(g, g))))
    return { update: div(g, sqrt(add(accu1, epsilon))), accu: accu1 }
  },
})

/**
 * State of {@link scaleByRms}.
 * @category model
 */
export interface ScaleByRmsState {
  /** Number of updates made so far (a plain integer); the schedule step of the next update. */
  readonly count: number
  /** Tree like the params (same shapes and dtypes): `accu`, the moving average of `g²`. Starts at 0. */
  readonly accu: Params
}

/**
 * Options of {@link scaleByRms}.
 * @category model
 */
export interface ScaleByRmsOptions {
  /** Decay of the moving average, in `[0, 1)`; default 0.9 (Lasagne). */
  readonly rho?: Hyperparameter
  /** Added to `accu'` inside the square root; `>= 0`, default 1e-6 (Lasagne). */
  readonly epsilon?: Hyperparameter
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
  const at = hyperparameters('scaleByRms', options, { rho: [0.9, DECAY], epsilon: [1e-6, NON_NEGATIVE] })
  return recurrentBlock(RMS, at, (round, h) => rmsScalars(round, h.rho, h.epsilon))
}

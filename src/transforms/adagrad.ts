/**
 * Adagrad's scaling: divide by the root of the accumulated squared gradients.
 *
 * @module transforms
 */
import { type GradientTransformation, type Params } from '../core/index.js'
import { add, div, mul, recurrence, sqrt, store } from '../kernel/index.js'
import { recurrentBlock } from './block.js'
import { type Hyperparameter, NON_NEGATIVE, hyperparameters } from './hyper.js'

/** Adagrad's recurrence: epsilon inside the root, as Lasagne. */
const ADAGRAD = recurrence({
  name: 'adagrad',
  state: ['accu'],
  scalars: ['epsilon'],
  step: ({ g, accu }, { epsilon }) => {
    const accu1 = store(add(accu, mul(g, g)))
    return { update: div(g, sqrt(add(accu1, epsilon))), accu: accu1 }
  },
})

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
  /** Added to `accu'` inside the square root; `>= 0`, default 1e-6 (Lasagne). */
  readonly epsilon?: Hyperparameter
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
  const at = hyperparameters('scaleByAdagrad', options, { epsilon: [1e-6, NON_NEGATIVE] })
  return recurrentBlock(ADAGRAD, at, (round, h) => ({ epsilon: round(h.epsilon) }))
}

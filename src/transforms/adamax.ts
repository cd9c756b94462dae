/**
 * Adamax's scaling: the first moment over an exponentially weighted infinity
 * norm.
 *
 * @module transforms
 */
import { type GradientTransformation, type Params } from '../core/index.js'
import { type ScaleByAdamOptions, adamFamilyOptions, adamFamilyScalars, adamaxRecurrence } from './adamFamily.js'
import { recurrentBlock } from './block.js'
import { KNOBS } from './flavor.js'

/**
 * State of {@link scaleByAdamax}.
 * @category model
 */
export interface ScaleByAdamaxState {
  /** Number of updates made so far (a plain integer): the `t` of the next update is `count + 1`. */
  readonly count: number
  /** Tree like the params (same shapes and dtypes): `mu`, the moving average of `g`. Starts at 0. */
  readonly mu: Params
  /** Tree like the params (same shapes and dtypes): `u`, the weighted infinity norm `max(beta2 · u, |g|)`. Starts at 0. */
  readonly u: Params
}

/**
 * Adamax's scaling (Lasagne `adamax` without the learning rate; Kingma & Ba
 * §7.1):
 *
 * - `t = count + 1`
 * - `mu' = beta1 · mu + (1 − beta1) · g`
 * - `u' = max(beta2 · u, |g|)`
 * - `out = a_t · mu' / (u' + epsilon)`, `a_t = 1 / (1 − beta1^t)`
 *
 * PyTorch and optax put epsilon inside the max (`max(beta2 · u, |g| + epsilon)`)
 * and divide by `u'` alone. A NaN stays in `u` for good (the max propagates it).
 *
 * @example
 * const tx = chain(scaleByAdamax(), scaleByLearningRate(2e-3)) // = adamax()
 * @category transforms
 */
export function scaleByAdamax(options: ScaleByAdamOptions = {}): GradientTransformation<ScaleByAdamaxState> {
  const f = adamFamilyOptions('scaleByAdamax', options, KNOBS.adamax)
  return recurrentBlock(adamaxRecurrence(f.flavor, f.decay), (count) => count, (round, count) => adamFamilyScalars(round, f, count))
}

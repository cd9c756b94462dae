/**
 * Adamax's scaling: the first moment over an exponentially weighted infinity
 * norm.
 *
 * @module transforms
 */
import { type GradientTransformation, type Params } from '../core/index.js'
import { abs, add, div, max, mul, recurrence, store } from '../kernel/index.js'
import { ADAM_SPEC, type ScaleByAdamOptions } from './adam.js'
import { recurrentBlock } from './block.js'
import { hyperparameters } from './hyper.js'

/** The per-update scalars of Adamax, rounded to a dtype. */
interface AdamaxScalars {
  readonly beta1: number
  readonly oneMinusBeta1: number
  readonly beta2: number
  readonly epsilon: number
  /** `1 / (1 − beta1^t)`: Lasagne's `a_t` without the learning rate. */
  readonly a: number
}

function adamaxScalars(round: (x: number) => number, h: { beta1: number; beta2: number; epsilon: number }, t: number): AdamaxScalars {
  const beta1 = round(h.beta1)
  return { beta1, oneMinusBeta1: round(1 - beta1), beta2: round(h.beta2), epsilon: round(h.epsilon), a: round(1 / round(1 - round(beta1 ** t))) }
}

/** Adamax's recurrence: epsilon outside the maximum, as Lasagne. */
const ADAMAX = recurrence({
  name: 'adamax',
  state: ['mu', 'u'],
  scalars: ['beta1', 'oneMinusBeta1', 'beta2', 'epsilon', 'a'],
  step: ({ g, mu, u }, { beta1, oneMinusBeta1, beta2, epsilon, a }) => {
    const mu1 = store(add(mul(beta1, mu), mul(oneMinusBeta1, g)))
    const u1 = store(max(mul(beta2, u), abs(g)))
    return { update: div(mul(a, mu1), add(u1, epsilon)), mu: mu1, u: u1 }
  },
})

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
  const at = hyperparameters('scaleByAdamax', options, ADAM_SPEC)
  return recurrentBlock(ADAMAX, at, (round, h, count) => adamaxScalars(round, h, count + 1))
}

/**
 * Adam's and AMSGrad's scaling: bias-corrected first moment over the root of
 * the second moment, with Lasagne's epsilon placement.
 *
 * @module transforms
 */
import { type GradientTransformation, type Params } from '../core/index.js'
import { add, div, max, mul, recurrence, sqrt, store } from '../kernel/index.js'
import { recurrentBlock } from './block.js'
import { DECAY, type Hyperparameter, NON_NEGATIVE, hyperparameters } from './hyper.js'

/**
 * Options of {@link scaleByAdam}, {@link scaleByAmsgrad} and {@link scaleByAdamax}.
 * @category model
 */
export interface ScaleByAdamOptions {
  /** Decay of the first moment `mu`, in `[0, 1)`; default 0.9 (Lasagne). */
  readonly beta1?: Hyperparameter
  /** Decay of the second moment (or of the infinity norm for Adamax), in `[0, 1)`; default 0.999 (Lasagne). */
  readonly beta2?: Hyperparameter
  /** Added to the denominator; `>= 0`, default 1e-8 (Lasagne). */
  readonly epsilon?: Hyperparameter
}

/** How the three options are read (defaults and domains), shared by the Adam family. */
export const ADAM_SPEC = Object.freeze({ beta1: [0.9, DECAY], beta2: [0.999, DECAY], epsilon: [1e-8, NON_NEGATIVE] } as const)

/** The per-update scalars of Adam, rounded to a dtype as Lasagne computes them in `floatX`. */
interface AdamScalars {
  readonly beta1: number
  readonly oneMinusBeta1: number
  readonly beta2: number
  readonly oneMinusBeta2: number
  readonly epsilon: number
  /** `sqrt(1 − beta2^t) / (1 − beta1^t)`: Lasagne's `a_t` without the learning rate. */
  readonly a: number
}

function adamScalars(round: (x: number) => number, h: { beta1: number; beta2: number; epsilon: number }, t: number): AdamScalars {
  const beta1 = round(h.beta1)
  const beta2 = round(h.beta2)
  const a = round(round(Math.sqrt(round(1 - round(beta2 ** t)))) / round(1 - round(beta1 ** t)))
  return { beta1, oneMinusBeta1: round(1 - beta1), beta2, oneMinusBeta2: round(1 - beta2), epsilon: round(h.epsilon), a }
}

const ADAM_SCALARS = ['beta1', 'oneMinusBeta1', 'beta2', 'oneMinusBeta2', 'epsilon', 'a'] as const

/** Adam's recurrence: epsilon on the uncorrected root, as Lasagne. */
const ADAM = recurrence({
  name: 'adam',
  state: ['mu', 'nu'],
  scalars: ADAM_SCALARS,
  step: ({ g, mu, nu }, { beta1, oneMinusBeta1, beta2, oneMinusBeta2, epsilon, a }) => {
    const mu1 = store(add(mul(beta1, mu), mul(oneMinusBeta1, g)))
    const nu1 = store(add(mul(beta2, nu), mul(oneMinusBeta2, mul(g, g))))
    return { update: div(mul(a, mu1), add(sqrt(nu1), epsilon)), mu: mu1, nu: nu1 }
  },
})

/** AMSGrad's recurrence: the maximum over the raw `nu`, as Lasagne (optax: over the corrected one). */
const AMSGRAD = recurrence({
  name: 'amsgrad',
  state: ['mu', 'nu', 'nuMax'],
  scalars: ADAM_SCALARS,
  step: ({ g, mu, nu, nuMax }, { beta1, oneMinusBeta1, beta2, oneMinusBeta2, epsilon, a }) => {
    const mu1 = store(add(mul(beta1, mu), mul(oneMinusBeta1, g)))
    const nu1 = store(add(mul(beta2, nu), mul(oneMinusBeta2, mul(g, g))))
    const nuMax1 = max(nuMax, nu1)
    return { update: div(mul(a, mu1), add(sqrt(nuMax1), epsilon)), mu: mu1, nu: nu1, nuMax: nuMax1 }
  },
})

/**
 * State of {@link scaleByAdam}.
 * @category model
 */
export interface ScaleByAdamState {
  /** Number of updates made so far (a plain integer): the `t` of the next update is `count + 1`. */
  readonly count: number
  /** Tree like the params (same shapes and dtypes): `mu`, the moving average of `g`. Starts at 0. */
  readonly mu: Params
  /** Tree like the params (same shapes and dtypes): `nu`, the moving average of `g²`. Starts at 0. */
  readonly nu: Params
}

/**
 * Adam's scaling (Lasagne `adam` without the learning rate; Kingma & Ba,
 * the "efficient" form of §2):
 *
 * - `t = count + 1`
 * - `mu' = beta1 · mu + (1 − beta1) · g`
 * - `nu' = beta2 · nu + (1 − beta2) · g²`
 * - `u = a_t · mu' / (sqrt(nu') + epsilon)`, `a_t = sqrt(1 − beta2^t) / (1 − beta1^t)`
 *
 * `epsilon` is added to the uncorrected `sqrt(nu')` (PyTorch, optax and
 * TensorFlow.js add it after bias correction), so its effect is
 * `1/sqrt(1 − beta2^t)` times larger: 31.6× at `t = 1`. `mu` and `nu` start
 * at 0; `count` is shared by every leaf.
 *
 * @example
 * const tx = chain(scaleByAdam({ beta1: 0.9, beta2: 0.999 }), scaleByLearningRate(1e-3)) // = adam()
 * @category transforms
 */
export function scaleByAdam(options: ScaleByAdamOptions = {}): GradientTransformation<ScaleByAdamState> {
  const at = hyperparameters('scaleByAdam', options, ADAM_SPEC)
  return recurrentBlock(ADAM, at, (round, h, count) => adamScalars(round, h, count + 1))
}

/**
 * State of {@link scaleByAmsgrad}.
 * @category model
 */
export interface ScaleByAmsgradState extends ScaleByAdamState {
  /** Tree like the params (same shapes and dtypes): `nuMax`, the running maximum of the raw `nu`. Starts at 0. */
  readonly nuMax: Params
}

/**
 * AMSGrad's scaling (Lasagne `amsgrad` without the learning rate; Reddi et
 * al. 2018): Adam with a running maximum of the raw second moment.
 *
 * - `t = count + 1`
 * - `mu' = beta1 · mu + (1 − beta1) · g`
 * - `nu' = beta2 · nu + (1 − beta2) · g²`
 * - `nuMax' = max(nuMax, nu')`
 * - `u = a_t · mu' / (sqrt(nuMax') + epsilon)`, `a_t = sqrt(1 − beta2^t) / (1 − beta1^t)`
 *
 * The maximum is over the uncorrected `nu` (as PyTorch; optax takes it over
 * the bias-corrected one). A NaN stays in `nuMax` for good.
 *
 * @example
 * const tx = chain(scaleByAmsgrad(), scaleByLearningRate(1e-3)) // = amsgrad()
 * @category transforms
 */
export function scaleByAmsgrad(options: ScaleByAdamOptions = {}): GradientTransformation<ScaleByAmsgradState> {
  const at = hyperparameters('scaleByAmsgrad', options, ADAM_SPEC)
  return recurrentBlock(AMSGRAD, at, (round, h, count) => adamScalars(round, h, count + 1))
}

/**
 * Adam's and AMSGrad's scaling: bias-corrected first moment over the root of
 * the second moment, with Lasagne's epsilon placement.
 *
 * @module transforms
 */
import { type GradientTransformation, type Params } from '../core/index.js'
import { type ScaleByAdamOptions, adamFamilyOptions, adamFamilyScalars, adamRecurrence } from './adamFamily.js'
import { recurrentBlock } from './block.js'
import { KNOBS } from './flavor.js'

export type { ScaleByAdamOptions } from './adamFamily.js'

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
  const f = adamFamilyOptions('scaleByAdam', options, KNOBS.adam)
  return recurrentBlock(adamRecurrence(f.flavor, false, f.decay, f.nesterov), (count) => count, (round, count) => adamFamilyScalars(round, f, count))
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
  const f = adamFamilyOptions('scaleByAmsgrad', options, KNOBS.amsgrad)
  return recurrentBlock(adamRecurrence(f.flavor, true, f.decay), (count) => count, (round, count) => adamFamilyScalars(round, f, count))
}

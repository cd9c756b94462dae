/**
 * Lasagne's `sgd`, `momentum`, `nesterov_momentum`, `apply_momentum` and
 * `apply_nesterov_momentum`.
 *
 * @module optimizers
 */
import { type GradientTransformation, chain, checkTransformation } from '../core/index.js'
import { checkOptions } from '../errors/index.js'
import { type RecurrentState } from '../transforms/block.js'
import { KNOBS, booleanOption, checkKnobs, flavorOf, withKnobs } from '../transforms/flavor.js'
import { type Flavor, type Hyperparameter, type ScaleState, type TorchGradientOptions, type TraceState, scaleByLearningRate, torchGradient, trace } from '../transforms/index.js'
import { type LearningRateOptions, learningRateOf, optionsOf } from './options.js'

/**
 * Options of {@link sgd}.
 * @category model
 */
export interface SgdOptions extends LearningRateOptions, TorchGradientOptions {
  /** Step size (required under Lasagne and optax; torch: 1e-3, Keras: 0.01); any finite number (negative is ascent), or a schedule of the step. */
  readonly learningRate?: Hyperparameter
  /** Whose numerics; default `'lasagne'`. They differ in defaults and knobs only: plain SGD is `p − learningRate · g` everywhere. */
  readonly flavor?: Flavor
}

/**
 * State of {@link sgd}: the learning rate's step count, behind torch's
 * gradient stage when `weightDecay` or `maximize` is set.
 * @category model
 */
export type SgdState = ScaleState | readonly [RecurrentState<never>, ScaleState]

/**
 * State of {@link momentum} and {@link nesterovMomentum}: the learning
 * rate's and the trace's, behind torch's gradient stage when `weightDecay`
 * or `maximize` is set.
 * @category model
 */
export type MomentumState = readonly [ScaleState, TraceState] | readonly [TraceState, ScaleState] | readonly [RecurrentState<never>, TraceState, ScaleState]

/**
 * Options of {@link momentum} and {@link nesterovMomentum}.
 * @category model
 */
export interface MomentumOptions extends LearningRateOptions, TorchGradientOptions {
  /** Step size (required under Lasagne and optax; torch: 1e-3, Keras: 0.01); any finite number (negative is ascent), or a schedule of the step. */
  readonly learningRate?: Hyperparameter
  /** Whose numerics; default `'lasagne'`. */
  readonly flavor?: Flavor
  /** torch `dampening` in `[0, 1]`; default 0. */
  readonly dampening?: Hyperparameter
  /** `μ` in `[0, 1)`; default 0.9 (Lasagne). */
  readonly momentum?: Hyperparameter
}

/**
 * Options of {@link applyMomentum} and {@link applyNesterovMomentum}.
 * @category model
 */
export interface ApplyMomentumOptions {
  /** `μ` in `[0, 1)`; default 0.9 (Lasagne). */
  readonly momentum?: Hyperparameter
}

/**
 * Stochastic gradient descent, Lasagne `sgd`: the update is
 * `u = −learningRate · g` (so `p' = p − learningRate · g`). `learningRate` is
 * required. Identical to torch `SGD(lr)` and optax `sgd(lr)`. The options may
 * be given as a bare learning rate: `sgd(0.1)`.
 *
 * @example
 * const opt = optimizer(sgd({ learningRate: 0.1 }))
 * let state = opt.init(params)
 * ;[params, state] = opt.step(params, grads, state)
 * @category optimizers
 */
export function sgd(options: SgdOptions | Hyperparameter): GradientTransformation<SgdState> {
  const o = optionsOf<SgdOptions>('sgd', options, ['learningRate', 'flavor', 'weightDecay', 'maximize'])
  const flavor = flavorOf('sgd', o.flavor)
  checkKnobs('sgd', flavor, o, KNOBS.sgd)
  const lr = learningRateOf('sgd', flavor, o.learningRate, { lasagne: undefined, torch: 1e-3, optax: undefined, tensorflow: 0.01 })
  const decays = o.weightDecay !== undefined || booleanOption('sgd.maximize', o.maximize)
  // torch's maximize and weight decay come first, in a stage that reads the params
  return decays ? chain(torchGradient({ weightDecay: o.weightDecay, maximize: o.maximize }), scaleByLearningRate(lr)) : scaleByLearningRate(lr)
}

/**
 * Adds momentum to any transformation, Lasagne `apply_momentum`:
 * `chain(tx, trace({ momentum }))`. With `Δ` the update of `tx`:
 * `v' = momentum · v + Δ`, update `v'`. `momentum` lies in `[0, 1)`,
 * default 0.9. `applyMomentum(sgd(o))` is exactly `momentum(o)`.
 *
 * @example
 * const tx = applyMomentum(rmsprop({ learningRate: 0.01 }), { momentum: 0.9 })
 * @category optimizers
 */
export function applyMomentum<S>(tx: GradientTransformation<S>, options: ApplyMomentumOptions = {}): GradientTransformation<readonly [S, TraceState]> {
  checkTransformation('tx', tx)
  checkOptions('applyMomentum', options, ['momentum'])
  return chain(tx, trace({ momentum: options.momentum }))
}

/**
 * Adds Nesterov momentum to any transformation, Lasagne
 * `apply_nesterov_momentum` (the pylearn2 form, gradient taken at the current
 * params): `chain(tx, trace({ momentum, nesterov: true }))`. With `Δ` the
 * update of `tx`: `v' = momentum · v + Δ`, update `momentum · v' + Δ`.
 * `momentum` lies in `[0, 1)`, default 0.9.
 *
 * @example
 * const tx = applyNesterovMomentum(rmsprop({ learningRate: 0.01 }))
 * @category optimizers
 */
export function applyNesterovMomentum<S>(
  tx: GradientTransformation<S>,
  options: ApplyMomentumOptions = {},
): GradientTransformation<readonly [S, TraceState]> {
  checkTransformation('tx', tx)
  checkOptions('applyNesterovMomentum', options, ['momentum'])
  return chain(tx, trace({ momentum: options.momentum, nesterov: true }))
}

/**
 * SGD with momentum, Lasagne `momentum`:
 * `chain(scaleByLearningRate(learningRate), trace({ momentum }))`, i.e.
 * `v' = momentum · v − learningRate · g`, update `v'`. `learningRate` is
 * required, `momentum` defaults to 0.9. Equal to torch
 * `SGD(lr, momentum)` while the learning rate is constant (torch keeps the
 * velocity in gradient units, so a changing learning rate rescales it).
 *
 * @example
 * const tx = momentum({ learningRate: 0.1, momentum: 0.9 })
 * @category optimizers
 */
export function momentum(options: MomentumOptions | Hyperparameter): GradientTransformation<MomentumState> {
  return heavyBall('momentum', options, false)
}

/**
 * SGD with Nesterov momentum, Lasagne `nesterov_momentum`:
 * `chain(scaleByLearningRate(learningRate), trace({ momentum, nesterov: true }))`,
 * i.e. `v' = momentum · v − learningRate · g`, update
 * `momentum · v' − learningRate · g`. `learningRate` is required, `momentum`
 * defaults to 0.9.
 *
 * @example
 * const tx = nesterovMomentum({ learningRate: 0.1 })
 * @category optimizers
 */
export function nesterovMomentum(options: MomentumOptions | Hyperparameter): GradientTransformation<MomentumState> {
  return heavyBall('nesterovMomentum', options, true)
}

/**
 * `momentum` and `nesterovMomentum` in every flavor. Lasagne, optax and
 * Keras: the learning rate, then the trace (optax traces the raw gradient
 * and scales after; its trace is linear, so the two orders differ only in
 * rounding while the learning rate is constant). torch: its own buffer in
 * gradient units, then the learning rate, behind its gradient stage when
 * `weightDecay` or `maximize` is set.
 */
function heavyBall(owner: string, options: MomentumOptions | Hyperparameter, nesterov: boolean): GradientTransformation<MomentumState> {
  const o = optionsOf<MomentumOptions>(owner, options, ['learningRate', 'momentum', 'flavor', 'dampening', 'weightDecay', 'maximize'])
  const flavor = flavorOf(owner, o.flavor)
  checkKnobs(owner, flavor, o, withKnobs(KNOBS.trace, KNOBS.sgd))
  const lr = learningRateOf(owner, flavor, o.learningRate, { lasagne: undefined, torch: 1e-3, optax: undefined, tensorflow: 0.01 })
  const mu = o.momentum ?? { lasagne: 0.9, torch: 0, optax: 0, tensorflow: 0 }[flavor]
  if (flavor !== 'torch') return chain(scaleByLearningRate(lr), trace({ momentum: mu, nesterov }))
  // torch keeps its buffer in gradient units and scales by the learning rate last
  const buffer = trace({ momentum: mu, nesterov, flavor, dampening: o.dampening })
  const decays = o.weightDecay !== undefined || booleanOption(`${owner}.maximize`, o.maximize)
  return decays ? chain(torchGradient({ weightDecay: o.weightDecay, maximize: o.maximize }), buffer, scaleByLearningRate(lr)) : chain(buffer, scaleByLearningRate(lr))
}

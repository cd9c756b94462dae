/**
 * optax's small elementwise transformations, each its recurrence:
 * weight decay, the sign of the updates, clipping, keeping the params
 * non-negative, and the exponential moving average of the updates.
 *
 * @module transforms
 */
import { type GradientTransformation } from '../core/index.js'
import { ConfigError, describe } from '../errors/index.js'
import { type Expr, add, div, fround, max, min, mul, neg, recurrence, store, where } from '../kernel/index.js'
import { type RecurrentState, recurrentBlock } from './block.js'
import { DECAY, type Hyperparameter, NON_NEGATIVE, hyperparameters } from './hyper.js'
import { type LeafSpec, type MaskedState, masked } from './select.js'

/** `sign(x)`: 1, −1, or `x` itself for ±0 and NaN (as `jnp.sign`). */
export function signOf(x: Expr): Expr {
  return where('lt', 0, x, 1, where('lt', x, 0, -1, x))
}

/** `u + weightDecay · p`, rounded where optax rounds. */
const DECAYED = recurrence({
  name: 'add_decayed_weights',
  state: [],
  scalars: ['weightDecay'],
  params: true,
  step: ({ g, p }, { weightDecay }) => ({ update: store(add(g, store(mul(weightDecay, p)))) }),
})

/**
 * Options of {@link addDecayedWeights}.
 * @category model
 */
export interface AddDecayedWeightsOptions {
  /** `λ >= 0`, or a schedule; default 0. */
  readonly weightDecay?: Hyperparameter
  /** Which leaves decay: a tree of booleans like the params, or `(path, leaf) => boolean` (as {@link masked}); default every leaf. */
  readonly mask?: LeafSpec<boolean>
}

/**
 * Decoupled weight decay: `u ← u + weightDecay · p` on the leaves `mask`
 * selects (optax `add_decayed_weights`). Placed before the learning rate
 * it is AdamW's decay (Loshchilov & Hutter 2019): the step subtracts
 * `lr · weightDecay · p`. Reads the params. A NaN or infinite param makes
 * its update NaN or infinite, as in optax.
 *
 * @example
 * const adamwLike = chain(scaleByAdam({ flavor: 'optax' }), addDecayedWeights({ weightDecay: 1e-4 }), scaleByLearningRate(1e-3))
 * const matricesOnly = addDecayedWeights({ weightDecay: 1e-4, mask: (path, leaf) => leaf.shape.length >= 2 })
 * addDecayedWeights(1e-4) // a bare number is the weight decay
 * @category transforms
 */
export function addDecayedWeights(
  options: AddDecayedWeightsOptions | Hyperparameter = {},
): GradientTransformation<RecurrentState<never> | MaskedState<RecurrentState<never>>> {
  // a bare number or schedule is the weight decay
  if (typeof options === 'number' || typeof options === 'function') options = { weightDecay: options }
  const at = hyperparameters('addDecayedWeights', options, { weightDecay: [0, NON_NEGATIVE] }, ['mask'])
  const tx = recurrentBlock(DECAYED, at, (round, h) => ({ weightDecay: round(h.weightDecay) }))
  return options.mask === undefined ? tx : masked(tx, options.mask)
}

/** `sign(u)`. */
const SIGN = recurrence({ name: 'scale_by_sign', state: [], scalars: [], step: ({ g }) => ({ update: signOf(g) }) })

/**
 * The sign of the updates, elementwise: 1, −1, and ±0 and NaN kept
 * (optax `scale_by_sign`, `jnp.sign`): signSGD's step.
 *
 * @example
 * const signSgd = chain(scaleBySign(), scaleByLearningRate(1e-3))
 * @category transforms
 */
export function scaleBySign(): GradientTransformation<RecurrentState<never>> {
  return recurrentBlock(SIGN, () => ({}), () => ({}))
}

/** `clip(u, −maxDelta, maxDelta)`. */
const CLIP = recurrence({ name: 'clip', state: [], scalars: ['maxDelta'], step: ({ g }, { maxDelta }) => ({ update: min(max(g, neg(maxDelta)), maxDelta) }) })

/**
 * Clips every update into `[−maxDelta, maxDelta]`, elementwise (optax
 * `clip`); NaN stays NaN. `maxDelta >= 0` (a number or a schedule).
 *
 * @example
 * const tx = chain(clip(0.5), sgd(0.1))
 * @category transforms
 */
export function clip(maxDelta: Hyperparameter): GradientTransformation<RecurrentState<never>> {
  if (maxDelta === undefined) throw new ConfigError('maxDelta', 'a required argument is missing')
  const at = hyperparameters('clip', { maxDelta }, { maxDelta: [0, NON_NEGATIVE] })
  return recurrentBlock(CLIP, at, (round, h) => ({ maxDelta: round(h.maxDelta) }))
}

/** `p + u < 0 ? −p : u`. */
const NONNEGATIVE = recurrence({
  name: 'keep_params_nonnegative',
  state: [],
  scalars: [],
  params: true,
  step: ({ g, p }) => ({ update: where('lt', store(add(p, g)), 0, neg(p), g) }),
})

/**
 * Keeps the params non-negative: an update that would take `p + u` below 0
 * becomes `−p` (the step lands on 0), optax `keep_params_nonnegative`.
 * Put it last in a chain (after the learning rate). Reads the params.
 *
 * @example
 * const tx = chain(adam({ learningRate: 0.01, flavor: 'optax' }), keepParamsNonnegative())
 * @category transforms
 */
export function keepParamsNonnegative(): GradientTransformation<RecurrentState<never>> {
  return recurrentBlock(NONNEGATIVE, () => ({}), () => ({}))
}

/** The moving average `ema' = (1 − decay) · u + decay · ema`, and the update `ema'` or its debiased `ema' / (1 − decay^t)`. */
const emaRecurrence = (debias: boolean, float32: boolean) =>
  recurrence({
    name: `ema${debias ? ' (debiased)' : ''}${float32 ? ' (float32 accumulator)' : ''}`,
    state: ['ema'],
    scalars: ['decay', 'oneMinusDecay', 'correction'],
    step: ({ g, ema }, { decay, oneMinusDecay, correction }) => {
      // beside a float32 accumulator, jax computes `decay · ema` in float32
      const ema1 = store(add(store(mul(oneMinusDecay, g)), float32 ? fround(mul(decay, ema)) : store(mul(decay, ema))))
      // the update is the leaf-dtype average; the state keeps it as the accumulator's dtype holds it
      return { update: debias ? store(div(ema1, correction)) : ema1, ema: float32 ? fround(ema1) : ema1 }
    },
  })

/**
 * Options of {@link ema}.
 * @category model
 */
export interface EmaOptions {
  /** `decay` in `[0, 1)`, or a schedule. Required. */
  readonly decay: Hyperparameter
  /** Divide by `1 − decay^t` (as Adam's bias correction); default true. */
  readonly debias?: boolean
  /** optax `accumulator_dtype`: `'float32'` keeps the average rounded to float32 (in a tensor of the leaf's dtype) beside float64 leaves; default the leaf dtype. */
  readonly accumulatorDtype?: 'float32'
}

/**
 * The exponential moving average of the updates (optax `ema`):
 * `ema' = (1 − decay) · u + decay · ema`, emitted as `ema'` or, with
 * `debias` (the default), `ema' / (1 − decay^t)`. The state keeps the
 * biased average; `ema` starts at 0.
 *
 * @example
 * const smoothed = chain(ema({ decay: 0.9 }), scaleByLearningRate(0.01))
 * @category transforms
 */
export function ema(options: EmaOptions): GradientTransformation<RecurrentState<'ema'>> {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', `expected { decay, debias? }, got ${describe(options)}`)
  if (options.decay === undefined) throw new ConfigError('ema.decay', 'a required option is missing')
  const at = hyperparameters('ema', options, { decay: [0, DECAY] }, ['debias', 'accumulatorDtype'])
  const debias = options.debias ?? true
  if (typeof debias !== 'boolean') throw new ConfigError('debias', `expected a boolean, got ${describe(debias)}`)
  const float32 = options.accumulatorDtype !== undefined
  if (float32 && options.accumulatorDtype !== 'float32') throw new ConfigError('ema.accumulatorDtype', `expected 'float32', got ${describe(options.accumulatorDtype)}`)
  return recurrentBlock(emaRecurrence(debias, float32), at, (round, h, count) => ({
    decay: float32 ? Math.fround(h.decay) : round(h.decay),
    oneMinusDecay: round(1 - h.decay),
    correction: round(1 - h.decay ** (count + 1)),
  }))
}

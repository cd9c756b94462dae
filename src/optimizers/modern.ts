/**
 * The modern catalog's optimizers, each a short chain recipe of the
 * catalog's blocks, in optax's numerics (and torch's where the flavor says
 * so and torch has the optimizer).
 *
 * @module optimizers
 */
import { type GradientTransformation, chain } from '../core/index.js'
import { ConfigError, describe } from '../errors/index.js'
import {
  type AddDecayedWeightsOptions,
  type AddNoiseOptions,
  addNoise,
  type Flavor,
  type Hyperparameter,
  addDecayedWeights,
  scaleByAdam,
  scaleByAmsgrad,
  scaleByBelief,
  scaleByLearningRate,
  scaleByLion,
  scaleByRadam,
  type ScaleByRpropOptions,
  scaleByRprop,
  scale,
  clipByBlockRms,
  ema,
  scaleByFactoredRms,
  scaleByParamBlockRms,
  scaleByTorchAdafactor,
  scaleByTorchNadam,
  scaleByTorchRadam,
  scaleByTrustRatio,
  scaleByYogi,
  masked,
  trace,
} from '../transforms/index.js'
import { booleanOption, checkKnobs, flavorOf } from '../transforms/flavor.js'
import { type LearningRateOptions, learningRateOf, optionsOf } from './options.js'

/**
 * Options of {@link adamw}, {@link nadam} and {@link nadamw}.
 * @category model
 */
export interface AdamwOptions extends LearningRateOptions {
  /** Decay of `mu`, in `[0, 1)`; default 0.9. */
  readonly beta1?: Hyperparameter
  /** Decay of `nu`, in `[0, 1)`; default 0.999. */
  readonly beta2?: Hyperparameter
  /** Added to the root; `>= 0`, default 1e-8. */
  readonly epsilon?: Hyperparameter
  /** optax: added inside the root; default 0. */
  readonly epsRoot?: Hyperparameter
  /** Decoupled weight decay `λ >= 0`; default 1e-4 (optax; torch `AdamW`: 1e-2). */
  readonly weightDecay?: Hyperparameter
  /** The leaves that decay (as {@link addDecayedWeights}); default every leaf. */
  readonly mask?: AddDecayedWeightsOptions['mask']
  /** `'optax'` (the default) or `'torch'` (`torch.optim.AdamW`, `torch.optim.NAdam`). */
  readonly flavor?: Flavor
  /** torch `AdamW(amsgrad=True)`: AMSGrad's running maximum ({@link adamw} under `'torch'` only); default false. */
  readonly amsgrad?: boolean
  /** torch `NAdam(momentum_decay)` ({@link nadam}, {@link nadamw} under `'torch'` only); default 4e-3. */
  readonly momentumDecay?: number
}

/** optax has no default learning rate (nor torch, for the optimizers here where it is not given). */
const NO_DEFAULT = { lasagne: undefined, torch: undefined, optax: undefined, tensorflow: undefined } as const

/** The flavor of a catalog optimizer: optax's unless `torch` is given and allowed. */
function catalogFlavor(owner: string, value: unknown, torch: boolean): 'optax' | 'torch' {
  const flavor = value === undefined ? 'optax' : flavorOf(owner, value)
  if (flavor === 'optax' || (flavor === 'torch' && torch)) return flavor
  throw new ConfigError(`${owner}.flavor`, `expected ${torch ? "'optax' or 'torch'" : "'optax'"}, got ${describe(value)}`)
}

const ADAMW_KEYS = ['learningRate', 'beta1', 'beta2', 'epsilon', 'epsRoot', 'weightDecay', 'mask', 'flavor']

/**
 * AdamW (Loshchilov & Hutter 2019): Adam with decoupled weight decay.
 * optax `adamw`: `chain(scaleByAdam, addDecayedWeights, scaleByLearningRate)`,
 * `u = −lr · (mû / (sqrt(nû + epsRoot) + epsilon) + weightDecay · p)`. With
 * `flavor: 'torch'`, `torch.optim.AdamW` (`weightDecay` 1e-2, learning rate
 * 1e-3; torch's Adam moments, the same decay).
 *
 * @example
 * const opt = optimizer(adamw({ learningRate: 1e-3, weightDecay: 1e-2 }))
 * @category optimizers
 */
export function adamw(options: AdamwOptions | Hyperparameter): GradientTransformation<unknown> {
  const o = optionsOf<AdamwOptions>('adamw', options, [...ADAMW_KEYS, 'amsgrad'])
  const flavor = catalogFlavor('adamw', o.flavor, true)
  checkKnobs('adamw', flavor, o, { optax: ['epsRoot'], torch: ['amsgrad'] })
  const lr = learningRateOf('adamw', flavor, o.learningRate, { lasagne: undefined, torch: 1e-3, optax: undefined, tensorflow: undefined })
  const moments = { beta1: o.beta1, beta2: o.beta2, epsilon: o.epsilon, epsRoot: o.epsRoot, flavor }
  const scaling = booleanOption('adamw.amsgrad', o.amsgrad) ? scaleByAmsgrad(moments) : scaleByAdam(moments)
  const decay = addDecayedWeights({ weightDecay: o.weightDecay ?? (flavor === 'torch' ? 1e-2 : 1e-4), mask: o.mask })
  return chain(scaling, decay, scaleByLearningRate(lr))
}

/**
 * NAdam (Dozat 2016), optax `nadam`: Adam with Nesterov's look-ahead on
 * the first moment, `mû = beta1 · mu' / (1 − beta1^(t+1)) + (1 − beta1) · g / (1 − beta1^t)`.
 * With `flavor: 'torch'`, `torch.optim.NAdam` (learning rate 2e-3; its
 * momentum schedule `momentumDecay`, see {@link scaleByTorchNadam}; `weightDecay`
 * is torch's coupled L2 decay, default 0).
 *
 * @example
 * const opt = optimizer(nadam({ learningRate: 1e-3 }))
 * const torchLike = nadam({ learningRate: 2e-3, flavor: 'torch', momentumDecay: 4e-3 })
 * @category optimizers
 */
export function nadam(options: Omit<AdamwOptions, 'mask'> | Hyperparameter): GradientTransformation<unknown> {
  const o = optionsOf<AdamwOptions>('nadam', options, ['learningRate', 'beta1', 'beta2', 'epsilon', 'epsRoot', 'weightDecay', 'momentumDecay', 'flavor'])
  const flavor = catalogFlavor('nadam', o.flavor, true)
  checkKnobs('nadam', flavor, o, { optax: ['epsRoot'], torch: ['weightDecay', 'momentumDecay'] })
  const lr = learningRateOf('nadam', flavor, o.learningRate, { ...NO_DEFAULT, torch: 2e-3 })
  return chain(nadamScaling(o, flavor, o.weightDecay), scaleByLearningRate(lr))
}

/** NAdam's scaling: optax's Nesterov Adam, or torch's NAdam (with its coupled `weightDecay`). */
function nadamScaling(o: AdamwOptions, flavor: 'optax' | 'torch', coupled?: Hyperparameter): GradientTransformation<unknown> {
  if (flavor === 'torch') {
    const weightDecay = coupled as number | undefined
    return scaleByTorchNadam({ beta1: o.beta1, beta2: o.beta2, epsilon: o.epsilon, momentumDecay: o.momentumDecay, ...(weightDecay === undefined ? {} : { weightDecay }) })
  }
  return scaleByAdam({ beta1: o.beta1, beta2: o.beta2, epsilon: o.epsilon, epsRoot: o.epsRoot, flavor: 'optax', nesterov: true })
}

/**
 * NAdamW, optax `nadamw`: {@link nadam} with decoupled weight decay
 * (`weightDecay` 1e-4), as {@link adamw} adds it to Adam. With
 * `flavor: 'torch'`, `torch.optim.NAdam(decoupled_weight_decay=True)`
 * (learning rate 2e-3, `weightDecay` 0 as torch).
 *
 * @example
 * const opt = optimizer(nadamw({ learningRate: 1e-3, weightDecay: 1e-2 }))
 * @category optimizers
 */
export function nadamw(options: AdamwOptions | Hyperparameter): GradientTransformation<unknown> {
  const o = optionsOf<AdamwOptions>('nadamw', options, [...ADAMW_KEYS, 'momentumDecay'])
  const flavor = catalogFlavor('nadamw', o.flavor, true)
  checkKnobs('nadamw', flavor, o, { optax: ['epsRoot'], torch: ['momentumDecay'] })
  const lr = learningRateOf('nadamw', flavor, o.learningRate, { ...NO_DEFAULT, torch: 2e-3 })
  const decay = addDecayedWeights({ weightDecay: o.weightDecay ?? (flavor === 'torch' ? 0 : 1e-4), mask: o.mask })
  return chain(nadamScaling(o, flavor), decay, scaleByLearningRate(lr))
}

/**
 * Options of {@link lion}.
 * @category model
 */
export interface LionOptions extends LearningRateOptions {
  /** Interpolation of the step between gradient and momentum, in `[0, 1)`; default 0.9. */
  readonly beta1?: Hyperparameter
  /** Decay of the momentum, in `[0, 1)`; default 0.99. */
  readonly beta2?: Hyperparameter
  /** Decoupled weight decay; default 1e-3 (optax). */
  readonly weightDecay?: Hyperparameter
  /** The leaves that decay; default every leaf. */
  readonly mask?: AddDecayedWeightsOptions['mask']
}

/**
 * Lion (Chen et al. 2023), optax `lion`:
 * `chain(scaleByLion, addDecayedWeights, scaleByLearningRate)`.
 *
 * @example
 * const opt = optimizer(lion({ learningRate: 1e-4 }))
 * @category optimizers
 */
export function lion(options: LionOptions | Hyperparameter): GradientTransformation<unknown> {
  const o = optionsOf<LionOptions>('lion', options, ['learningRate', 'beta1', 'beta2', 'weightDecay', 'mask'])
  const lr = learningRateOf('lion', 'optax', o.learningRate, NO_DEFAULT)
  return chain(scaleByLion({ beta1: o.beta1, beta2: o.beta2 }), addDecayedWeights({ weightDecay: o.weightDecay ?? 1e-3, mask: o.mask }), scaleByLearningRate(lr))
}

/**
 * Options of {@link yogi}, {@link adabelief} and {@link radam}.
 * @category model
 */
export interface MomentsOptions extends LearningRateOptions {
  /** Decay of the first moment, in `[0, 1)`; default 0.9. */
  readonly beta1?: Hyperparameter
  /** Decay of the second moment, in `[0, 1)`; default 0.999. */
  readonly beta2?: Hyperparameter
  /** Added to the root; `>= 0` (the optimizer's optax default). */
  readonly epsilon?: Hyperparameter
  /** Added inside the root; `>= 0` (the optimizer's optax default). */
  readonly epsRoot?: Hyperparameter
}

/**
 * Yogi (Zaheer et al. 2018), optax `yogi`: `chain(scaleByYogi, scaleByLearningRate)`
 * (epsilon 1e-3, accumulators from 1e-6).
 *
 * @example
 * const opt = optimizer(yogi({ learningRate: 1e-2 }))
 * @category optimizers
 */
export function yogi(options: MomentsOptions | Hyperparameter): GradientTransformation<unknown> {
  const { learningRate, ...rest } = optionsOf<MomentsOptions>('yogi', options, ['learningRate', 'beta1', 'beta2', 'epsilon', 'epsRoot'])
  const lr = learningRateOf('yogi', 'optax', learningRate, NO_DEFAULT)
  return chain(scaleByYogi(rest), scaleByLearningRate(lr))
}

/**
 * AdaBelief (Zhuang et al. 2020), optax `adabelief`:
 * `chain(scaleByBelief, scaleByLearningRate)` (epsilon and epsRoot 1e-16).
 *
 * @example
 * const opt = optimizer(adabelief({ learningRate: 1e-3 }))
 * @category optimizers
 */
export function adabelief(options: MomentsOptions | Hyperparameter): GradientTransformation<unknown> {
  const { learningRate, ...rest } = optionsOf<MomentsOptions>('adabelief', options, ['learningRate', 'beta1', 'beta2', 'epsilon', 'epsRoot'])
  const lr = learningRateOf('adabelief', 'optax', learningRate, NO_DEFAULT)
  return chain(scaleByBelief(rest), scaleByLearningRate(lr))
}

/**
 * RAdam (Liu et al. 2020), optax `radam`: `chain(scaleByRadam, scaleByLearningRate)`.
 * With `flavor: 'torch'`, `torch.optim.RAdam` (`chain(scaleByTorchRadam, scaleByLearningRate)`,
 * learning rate 1e-3, `weightDecay` coupled).
 *
 * @example
 * const opt = optimizer(radam({ learningRate: 1e-3 }))
 * @category optimizers
 */
export function radam(options: (MomentsOptions & { readonly threshold?: number; readonly flavor?: Flavor; readonly weightDecay?: number }) | Hyperparameter): GradientTransformation<unknown> {
  const keys = ['learningRate', 'beta1', 'beta2', 'epsilon', 'epsRoot', 'threshold', 'flavor', 'weightDecay']
  const { learningRate, flavor: f, ...rest } = optionsOf<MomentsOptions & { threshold?: number; flavor?: Flavor; weightDecay?: number }>('radam', options, keys)
  const flavor = catalogFlavor('radam', f, true)
  checkKnobs('radam', flavor, rest, { optax: ['epsRoot', 'threshold'], torch: ['weightDecay'] })
  const lr = learningRateOf('radam', flavor, learningRate, { lasagne: undefined, torch: 1e-3, optax: undefined, tensorflow: undefined })
  return chain(flavor === 'torch' ? scaleByTorchRadam(rest) : scaleByRadam(rest), scaleByLearningRate(lr))
}

/**
 * Options of {@link lamb}.
 * @category model
 */
export interface LambOptions extends MomentsOptions {
  /** Decoupled weight decay; default 0. */
  readonly weightDecay?: Hyperparameter
  /** The leaves that decay; default every leaf. */
  readonly mask?: AddDecayedWeightsOptions['mask']
}

/**
 * LAMB (You et al. 2020), optax `lamb`:
 * `chain(scaleByAdam({ flavor: 'optax', epsilon: 1e-6 }), addDecayedWeights, scaleByTrustRatio(), scaleByLearningRate)`.
 *
 * @example
 * const opt = optimizer(lamb({ learningRate: 1e-3, weightDecay: 1e-2 }))
 * @category optimizers
 */
export function lamb(options: LambOptions | Hyperparameter): GradientTransformation<unknown> {
  const o = optionsOf<LambOptions>('lamb', options, ['learningRate', 'beta1', 'beta2', 'epsilon', 'epsRoot', 'weightDecay', 'mask'])
  const lr = learningRateOf('lamb', 'optax', o.learningRate, NO_DEFAULT)
  const scaling = scaleByAdam({ beta1: o.beta1, beta2: o.beta2, epsilon: o.epsilon ?? 1e-6, epsRoot: o.epsRoot, flavor: 'optax' })
  return chain(scaling, addDecayedWeights({ weightDecay: o.weightDecay ?? 0, mask: o.mask }), scaleByTrustRatio(), scaleByLearningRate(lr))
}

/**
 * Options of {@link lars}.
 * @category model
 */
export interface LarsOptions extends LearningRateOptions {
  /** Decoupled weight decay; default 0. */
  readonly weightDecay?: Hyperparameter
  /** The leaves that decay; default every leaf. */
  readonly weightDecayMask?: AddDecayedWeightsOptions['mask']
  /** The trust ratio's multiplier; default 0.001. */
  readonly trustCoefficient?: number
  /** Added to the update's norm in the trust ratio; default 0. */
  readonly epsilon?: number
  /** The leaves the trust ratio scales; default every leaf. */
  readonly trustRatioMask?: AddDecayedWeightsOptions['mask']
  /** Momentum of the trace after the learning rate; default 0.9. */
  readonly momentum?: Hyperparameter
  /** Nesterov momentum; default false. */
  readonly nesterov?: boolean
}

/**
 * LARS (You et al. 2017), optax `lars`:
 * `chain(addDecayedWeights, scaleByTrustRatio({ trustCoefficient: 0.001 }), scaleByLearningRate, trace({ momentum: 0.9 }))`.
 *
 * @example
 * const opt = optimizer(lars({ learningRate: 0.1 }))
 * @category optimizers
 */
export function lars(options: LarsOptions | Hyperparameter): GradientTransformation<unknown> {
  const keys = ['learningRate', 'weightDecay', 'weightDecayMask', 'trustCoefficient', 'epsilon', 'trustRatioMask', 'momentum', 'nesterov']
  const o = optionsOf<LarsOptions>('lars', options, keys)
  const lr = learningRateOf('lars', 'optax', o.learningRate, NO_DEFAULT)
  const trust = scaleByTrustRatio({ trustCoefficient: o.trustCoefficient ?? 0.001, epsilon: o.epsilon ?? 0 })
  return chain(
    addDecayedWeights({ weightDecay: o.weightDecay ?? 0, mask: o.weightDecayMask }),
    o.trustRatioMask === undefined ? trust : masked(trust, o.trustRatioMask),
    scaleByLearningRate(lr),
    trace({ momentum: o.momentum ?? 0.9, nesterov: o.nesterov }),
  )
}

/**
 * Rprop, optax `rprop` (or, with `flavor: 'torch'`, `torch.optim.Rprop`,
 * learning rate 1e-2): {@link scaleByRprop}, whose update is already
 * scaled (the learning rate is the initial step size).
 *
 * @example
 * const opt = optimizer(rprop({ learningRate: 0.01 }))
 * @category optimizers
 */
export function rprop(options: (Omit<ScaleByRpropOptions, 'learningRate'> & { readonly learningRate?: number }) | number): GradientTransformation<unknown> {
  const o = typeof options === 'number' ? { learningRate: options } : options
  const flavor = catalogFlavor('rprop', o?.flavor, true)
  const lr = o?.learningRate ?? (flavor === 'torch' ? 1e-2 : undefined)
  if (lr === undefined) throw new ConfigError('rprop.learningRate', 'a required option is missing (optax has no default learning rate here)')
  return scaleByRprop({ ...o, learningRate: lr, flavor })
}

/**
 * Options of {@link adafactor}. optax's knobs by default; under
 * `flavor: 'torch'`, torch's (`beta2Decay`, `epsilon`, `epsilon2`, `d`,
 * `weightDecay`, `maximize`).
 * @category model
 */
export interface AdafactorOptions extends LearningRateOptions {
  /** optax: factor only where the second-largest dimension is at least this; default 128. */
  readonly minDimSizeToFactor?: number
  /** optax: the exponent of the decay `1 − t^(−decayRate)`; default 0.8. */
  readonly decayRate?: number
  /** optax: subtracted from the step in the decay; default 0. */
  readonly decayOffset?: number
  /** optax: scale the step by each param's RMS; default true. */
  readonly multiplyByParameterScale?: boolean
  /** optax: clip each leaf's update to this RMS, `null` for none; default 1. */
  readonly clippingThreshold?: number | null
  /** optax: momentum of an EMA of the updates (no debiasing), `null` for none; default none. */
  readonly momentum?: number | null
  /** optax: decoupled weight decay after the scaling, `null` for none; default none. */
  readonly weightDecayRate?: Hyperparameter | null
  /** optax: the leaves that decay; default every leaf. */
  readonly weightDecayMask?: AddDecayedWeightsOptions['mask']
  /** optax: added to each squared gradient (default 1e-30); torch: `ε1`, the root's floor (default the dtype's machine epsilon). */
  readonly epsilon?: number
  /** optax: factor the second moment at all; default true. */
  readonly factored?: boolean
  /** torch: `τ`, `1 − β̂2_t = t^τ`; default −0.8. */
  readonly beta2Decay?: number
  /** torch: `ε2`, the floor of the params' RMS; default 1e-3. */
  readonly epsilon2?: number
  /** torch: the update's RMS clipping threshold; default 1. */
  readonly d?: number
  /** torch: decoupled weight decay `p ← p · (1 − lr · λ)`; default 0. */
  readonly weightDecay?: number
  /** torch: ascend; default false. */
  readonly maximize?: boolean
  /** `'optax'` (the default) or `'torch'` (`torch.optim.Adafactor`). */
  readonly flavor?: Flavor
}

const ADAFACTOR_KNOBS = {
  optax: ['minDimSizeToFactor', 'decayRate', 'decayOffset', 'multiplyByParameterScale', 'clippingThreshold', 'momentum', 'weightDecayRate', 'weightDecayMask', 'factored'],
  torch: ['beta2Decay', 'epsilon2', 'd', 'weightDecay', 'maximize'],
}

/**
 * Adafactor (Shazeer & Stern 2018), optax `adafactor`:
 * `chain(scaleByFactoredRms, clipByBlockRms(clippingThreshold), scale(learningRate),
 * scaleByParamBlockRms(), ema(momentum), addDecayedWeights(weightDecayRate), scale(−1))`,
 * each stage present when its option is (the learning rate is optional, as
 * in optax). With `flavor: 'torch'`, `torch.optim.Adafactor`
 * ({@link scaleByTorchAdafactor}, learning rate 1e-2): torch factors every
 * leaf of rank ≥ 2 over its last two axes, steps by
 * `max(ε2, RMS(p)) · min(lr, 1/√t)` and clips the update's RMS to `d`.
 *
 * @example
 * const opt = optimizer(adafactor({ learningRate: 1e-2 }))
 * const torchLike = adafactor({ flavor: 'torch' })
 * @category optimizers
 */
export function adafactor(options: AdafactorOptions | Hyperparameter = {}): GradientTransformation<unknown> {
  const o = optionsOf<AdafactorOptions>('adafactor', options, ['learningRate', 'epsilon', 'flavor', ...ADAFACTOR_KNOBS.optax, ...ADAFACTOR_KNOBS.torch])
  const flavor = catalogFlavor('adafactor', o.flavor, true)
  checkKnobs('adafactor', flavor, o, ADAFACTOR_KNOBS)
  if (flavor === 'torch') {
    const lr = learningRateOf('adafactor', flavor, o.learningRate, { ...NO_DEFAULT, torch: 1e-2 })
    if (typeof lr !== 'number') throw new ConfigError('adafactor.learningRate', `torch's Adafactor takes a number, got ${describe(lr)}`)
    const { beta2Decay, epsilon, epsilon2, d, weightDecay, maximize } = o
    return scaleByTorchAdafactor({ learningRate: lr, beta2Decay, epsilon, epsilon2, d, weightDecay, maximize })
  }
  const stages: GradientTransformation<unknown>[] = [
    scaleByFactoredRms({ factored: o.factored, decayRate: o.decayRate, stepOffset: o.decayOffset, minDimSizeToFactor: o.minDimSizeToFactor, epsilon: o.epsilon }),
  ]
  const threshold = o.clippingThreshold === undefined ? 1 : o.clippingThreshold
  if (threshold !== null) stages.push(clipByBlockRms(threshold))
  if (o.learningRate !== undefined) stages.push(scale(o.learningRate))
  if (o.multiplyByParameterScale ?? true) stages.push(scaleByParamBlockRms())
  if (o.momentum !== undefined && o.momentum !== null) stages.push(ema({ decay: o.momentum, debias: false, accumulatorDtype: 'float32' })) // optax's dtype_momentum
  if (o.weightDecayRate !== undefined && o.weightDecayRate !== null) stages.push(addDecayedWeights({ weightDecay: o.weightDecayRate, mask: o.weightDecayMask }))
  stages.push(scale(-1))
  return chain(...stages)
}

/**
 * Options of {@link noisySgd}.
 * @category model
 */
export interface NoisySgdOptions extends LearningRateOptions, AddNoiseOptions {}

/**
 * Noisy SGD (Neelakantan et al. 2015), optax `noisy_sgd`:
 * `chain(addNoise({ eta, gamma, seed }), scaleByLearningRate)`, so
 * `u = −lr · (g + sqrt(eta / (1 + t)^gamma) · z)`. The noise comes from a
 * documented counter-based generator keyed by the seed and step held in
 * the state ({@link normal}), so a checkpoint resumes it bit for bit; its
 * samples are not jax's.
 *
 * @example
 * const opt = optimizer(noisySgd({ learningRate: 0.1, eta: 0.01, seed: 7 }))
 * @category optimizers
 */
export function noisySgd(options: NoisySgdOptions | Hyperparameter): GradientTransformation<unknown> {
  const o = optionsOf<NoisySgdOptions>('noisySgd', options, ['learningRate', 'eta', 'gamma', 'seed'])
  const lr = learningRateOf('noisySgd', 'optax', o.learningRate, NO_DEFAULT)
  return chain(addNoise({ eta: o.eta, gamma: o.gamma, seed: o.seed }), scaleByLearningRate(lr))
}

/**
 * The scalings of the modern catalog, in optax's numerics: Lion, Yogi,
 * AdaBelief and RAdam, each its recurrence. In float32, every operation is
 * rounded as jax rounds it; `1 − β` and the bias corrections are computed
 * in double precision (jax with x64) and rounded once.
 *
 * @module transforms
 */
import { type GradientTransformation } from '../core/index.js'
import { ConfigError, checkNumber, checkOptions, describe } from '../errors/index.js'
import { type Expr, add, div, max, min, mul, neg, recurrence, sqrt, store as r, sub, where } from '../kernel/index.js'
import { type RecurrentState, recurrentBlock } from './block.js'
import { signOf } from './catalog.js'
import { type Flavor, flavorOf } from './flavor.js'
import { flavoredGradient } from './torchGradient.js'
import { DECAY, type Hyperparameter, NON_NEGATIVE, hyperparameters, runningProduct } from './hyper.js'

/** The moment scalars of step `t = count + 1` for decays `b1`, `b2`. */
function moments(round: (x: number) => number, b1: number, b2: number, count: number) {
  const t = count + 1
  return { b1: round(b1), c1: round(1 - b1), b2: round(b2), c2: round(1 - b2), bc1: round(1 - b1 ** t), bc2: round(1 - b2 ** t) }
}

const MOMENT_SCALARS = ['b1', 'c1', 'b2', 'c2', 'bc1', 'bc2', 'epsilon', 'epsRoot'] as const

/** Lion: `u = sign((1 − b1) · g + b1 · mu)`, `mu' = (1 − b2) · g + b2 · mu`. */
const LION = recurrence({
  name: 'lion',
  state: ['mu'],
  scalars: MOMENT_SCALARS,
  step: ({ g, mu }, { b1, c1, b2, c2 }) => ({
    update: signOf(r(add(r(mul(c1, g)), r(mul(b1, mu))))),
    mu: r(add(r(mul(c2, g)), r(mul(b2, mu)))),
  }),
})

/**
 * Options of {@link scaleByLion}.
 * @category model
 */
export interface ScaleByLionOptions {
  /** Interpolation between the gradient and the momentum for the step, in `[0, 1)`; default 0.9. */
  readonly beta1?: Hyperparameter
  /** Decay of the momentum `mu`, in `[0, 1)`; default 0.99. */
  readonly beta2?: Hyperparameter
}

/**
 * Lion's scaling (Chen et al. 2023; optax `scale_by_lion`):
 * `u = sign((1 − beta1) · g + beta1 · mu)`, then
 * `mu' = (1 − beta2) · g + beta2 · mu`. Every update is ±1 (or ±0, NaN),
 * so Lion wants a learning rate 3–10× smaller than Adam's.
 *
 * @example
 * const lionLike = chain(scaleByLion(), addDecayedWeights({ weightDecay: 1e-3 }), scaleByLearningRate(1e-4))
 * @category transforms
 */
export function scaleByLion(options: ScaleByLionOptions = {}): GradientTransformation<RecurrentState<'mu'>> {
  const at = hyperparameters('scaleByLion', options, { beta1: [0.9, DECAY], beta2: [0.99, DECAY] })
  return recurrentBlock(LION, at, (round, h, count) => ({ ...moments(round, h.beta1, h.beta2, count), epsilon: 0, epsRoot: 0 }))
}

/**
 * The options the moment-based scalings share ({@link scaleByYogi},
 * {@link scaleByBelief}, {@link scaleByRadam}); each block states its defaults.
 * @category model
 */
export interface ScaleByMomentsOptions {
  /** Decay of `mu`, in `[0, 1)`. */
  readonly beta1?: Hyperparameter
  /** Decay (or rate) of `nu`, in `[0, 1)`. */
  readonly beta2?: Hyperparameter
  /** Added to the root; `>= 0`. */
  readonly epsilon?: Hyperparameter
  /** Added inside the root (AdaBelief: to `nu'`); `>= 0`. */
  readonly epsRoot?: Hyperparameter
}

/** The hyperparameters of a moment-based scaling, with its defaults of `epsilon` and `epsRoot`. */
function momentSpec(epsilon: number, epsRoot: number) {
  return { beta1: [0.9, DECAY], beta2: [0.999, DECAY], epsilon: [epsilon, NON_NEGATIVE], epsRoot: [epsRoot, NON_NEGATIVE] } as const
}

/** Yogi: `nu' = nu − (1 − b2) · sign(nu − g²) · g²`, the step as Adam's. */
const YOGI = recurrence({
  name: 'yogi',
  state: ['mu', 'nu'],
  scalars: MOMENT_SCALARS,
  step: ({ g, mu, nu }, { b1, c1, c2, bc1, bc2, epsilon, epsRoot }) => {
    const mu1 = r(add(r(mul(c1, g)), r(mul(b1, mu))))
    const g2 = r(mul(g, g))
    const nu1 = r(sub(nu, r(mul(r(mul(c2, signOf(r(sub(nu, g2))))), g2))))
    const update = r(div(r(div(mu1, bc1)), r(add(r(sqrt(r(add(r(div(nu1, bc2)), epsRoot)))), epsilon))))
    return { update, mu: mu1, nu: nu1 }
  },
})

/**
 * Options of {@link scaleByYogi}: defaults 0.9, 0.999, `epsilon` 1e-3, `epsRoot` 0.
 * @category model
 */
export interface ScaleByYogiOptions extends ScaleByMomentsOptions {
  /** The starting value of `mu` and `nu`; default 1e-6. */
  readonly initialAccumulatorValue?: number
}

/**
 * Yogi's scaling (Zaheer et al. 2018; optax `scale_by_yogi`): Adam with an
 * additive second moment, `nu' = nu − (1 − beta2) · sign(nu − g²) · g²`, and
 * `u = mû / (sqrt(nû + epsRoot) + epsilon)`. `mu` and `nu` start at
 * `initialAccumulatorValue`.
 *
 * @example
 * const tx = chain(scaleByYogi(), scaleByLearningRate(1e-2))
 * @category transforms
 */
export function scaleByYogi(options: ScaleByYogiOptions = {}): GradientTransformation<RecurrentState<'mu' | 'nu'>> {
  const at = hyperparameters('scaleByYogi', options, momentSpec(1e-3, 0), ['initialAccumulatorValue'])
  const initial = options.initialAccumulatorValue ?? 1e-6
  return recurrentBlock(YOGI, at, (round, h, count) => ({ ...moments(round, h.beta1, h.beta2, count), epsilon: round(h.epsilon), epsRoot: round(h.epsRoot) }), { mu: initial, nu: initial })
}

/** AdaBelief: the second moment of `g − mu'`, plus `epsRoot`, stored. */
const BELIEF = recurrence({
  name: 'belief',
  state: ['mu', 'nu'],
  scalars: MOMENT_SCALARS,
  step: ({ g, mu, nu }, { b1, c1, b2, c2, bc1, bc2, epsilon, epsRoot }) => {
    const mu1 = r(add(r(mul(c1, g)), r(mul(b1, mu))))
    const e = r(sub(g, mu1))
    const nu1 = r(add(r(add(r(mul(c2, r(mul(e, e)))), r(mul(b2, nu)))), epsRoot))
    const update = r(div(r(div(mu1, bc1)), r(add(r(sqrt(r(div(nu1, bc2)))), epsilon))))
    return { update, mu: mu1, nu: nu1 }
  },
})

/**
 * Options of {@link scaleByBelief}: defaults 0.9, 0.999, `epsilon` and `epsRoot` 1e-16.
 * @category model
 */
export type ScaleByBeliefOptions = ScaleByMomentsOptions

/**
 * AdaBelief's scaling (Zhuang et al. 2020; optax `scale_by_belief`):
 * `mu' = (1 − beta1) · g + beta1 · mu`,
 * `nu' = (1 − beta2) · (g − mu')² + beta2 · nu + epsRoot`,
 * `u = mû / (sqrt(nû) + epsilon)`.
 *
 * @example
 * const tx = chain(scaleByBelief(), scaleByLearningRate(1e-3))
 * @category transforms
 */
export function scaleByBelief(options: ScaleByBeliefOptions = {}): GradientTransformation<RecurrentState<'mu' | 'nu'>> {
  const at = hyperparameters('scaleByBelief', options, momentSpec(1e-16, 1e-16))
  return recurrentBlock(BELIEF, at, (round, h, count) => ({ ...moments(round, h.beta1, h.beta2, count), epsilon: round(h.epsilon), epsRoot: round(h.epsRoot) }))
}

/** RAdam: Adam's moments; the rectified step where the variance is tractable, else `mû`. */
const RADAM = recurrence({
  name: 'radam',
  state: ['mu', 'nu'],
  scalars: [...MOMENT_SCALARS, 'rectifier', 'tractable'],
  step: ({ g, mu, nu }, { b1, c1, b2, c2, bc1, bc2, epsilon, epsRoot, rectifier, tractable }) => {
    const mu1 = r(add(r(mul(c1, g)), r(mul(b1, mu))))
    const nu1 = r(add(r(mul(c2, r(mul(g, g)))), r(mul(b2, nu))))
    const muHat = r(div(mu1, bc1))
    const rectified = r(div(r(mul(rectifier, muHat)), r(add(r(sqrt(r(add(r(div(nu1, bc2)), epsRoot)))), epsilon))))
    return { update: where('lt', 0, tractable, rectified, muHat), mu: mu1, nu: nu1 }
  },
})

/**
 * Options of {@link scaleByRadam}: defaults 0.9, 0.999, `epsilon` 1e-8, `epsRoot` 0.
 * @category model
 */
export interface ScaleByRadamOptions extends ScaleByMomentsOptions {
  /** The length of the approximated SMA above which the step is rectified; default 5. */
  readonly threshold?: number
}

/**
 * RAdam's scaling (Liu et al. 2020; optax `scale_by_radam`): with
 * `ρ∞ = 2 / (1 − beta2) − 1` and `ρ_t = ρ∞ − 2t·beta2^t / (1 − beta2^t)`,
 * the update is `r_t · mû / (sqrt(nû + epsRoot) + epsilon)` where
 * `ρ_t >= threshold`, `r_t = sqrt((ρ_t − 4)(ρ_t − 2)ρ∞ / ((ρ∞ − 4)(ρ∞ − 2)ρ_t))`,
 * and `mû` (momentum SGD) before.
 *
 * @example
 * const tx = chain(scaleByRadam(), scaleByLearningRate(1e-3))
 * @category transforms
 */
export function scaleByRadam(options: ScaleByRadamOptions = {}): GradientTransformation<RecurrentState<'mu' | 'nu'>> {
  const at = hyperparameters('scaleByRadam', options, momentSpec(1e-8, 0), ['threshold'])
  const threshold = options.threshold ?? 5
  return recurrentBlock(RADAM, at, (round, h, count) => {
    const t = count + 1
    const rhoInf = 2 / (1 - h.beta2) - 1
    const b2t = h.beta2 ** t
    const rho = rhoInf - (2 * t * b2t) / (1 - b2t)
    const rectifier = rho >= threshold ? Math.sqrt(((rho - 4) * (rho - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rho)) : 0
    return { ...moments(round, h.beta1, h.beta2, count), epsilon: round(h.epsilon), epsRoot: round(h.epsRoot), rectifier: round(rectifier), tractable: rho >= threshold ? 1 : 0 }
  })
}

/** optax's Rprop, before its `scale(−1)`: the step sizes adapt to the sign of `g · prev`, the update is the previous one (as optax computes it). */
const RPROP_OPTAX = recurrence({
  name: 'rprop (optax)',
  state: ['stepSize', 'prev'],
  scalars: ['etaMinus', 'etaPlus', 'minStep', 'maxStep'],
  step: ({ g, stepSize, prev }, { etaMinus, etaPlus, minStep, maxStep }) => {
    const s = r(mul(g, prev))
    const scaled = r(mul(stepSize, where('lt', 0, s, etaPlus, etaMinus)))
    const step1 = where('eq', s, 0, stepSize, min(max(scaled, minStep), maxStep))
    const prev1 = where('lt', s, 0, 0, r(mul(step1, signOf(g))))
    return { update: neg(where('lt', s, 0, 0, prev)), stepSize: step1, prev: prev1 }
  },
})

/** torch's Rprop: the step sizes times `etaPlus`, `etaMinus` or 1 by the sign of `g · prev`, clamped; `g` zeroed where the sign flipped. */
const RPROP_TORCH = recurrence({
  name: 'rprop (torch)',
  state: ['stepSize', 'prev'],
  scalars: ['etaMinus', 'etaPlus', 'minStep', 'maxStep'],
  step: ({ g, stepSize, prev }, { etaMinus, etaPlus, minStep, maxStep }) => {
    const s = signOf(r(mul(g, prev)))
    const factor = where('lt', 0, s, etaPlus, where('lt', s, 0, etaMinus, 1))
    const step1 = min(max(r(mul(stepSize, factor)), minStep), maxStep)
    const kept = where('lt', s, 0, 0, g)
    return { update: neg(r(mul(signOf(kept), step1))), stepSize: step1, prev: kept }
  },
})

/**
 * Options of {@link scaleByRprop}.
 * @category model
 */
export interface ScaleByRpropOptions {
  /** The initial step size (a number). Required. */
  readonly learningRate: number
  /** The factor of a step size whose gradient changed sign; default 0.5. */
  readonly etaMinus?: number
  /** The factor of a step size whose gradient kept its sign; default 1.2. */
  readonly etaPlus?: number
  /** The smallest step size; default 1e-6. */
  readonly minStepSize?: number
  /** The largest step size; default 50. */
  readonly maxStepSize?: number
  /** `'optax'` (the default, optax `scale_by_rprop` then `scale(−1)`) or `'torch'` (`torch.optim.Rprop`). */
  readonly flavor?: Flavor
}

/**
 * Rprop (Riedmiller & Braun 1993): per-element step sizes that grow by
 * `etaPlus` while the gradient keeps its sign and shrink by `etaMinus`
 * when it flips, within `[minStepSize, maxStepSize]`; the update is
 * `−sign(g) · stepSize`, 0 after a flip. The update is already scaled
 * (the learning rate is the initial step size). optax's form emits the
 * previous step's update (as optax 0.2 computes it); torch's the current
 * one, and torch also clamps a step size whose sign product is 0.
 *
 * @example
 * const opt = optimizer(scaleByRprop({ learningRate: 0.01 })) // = rprop(0.01)
 * @category transforms
 */
export function scaleByRprop(options: ScaleByRpropOptions): GradientTransformation<RecurrentState<'stepSize' | 'prev'>> {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', `expected { learningRate, ... }, got ${describe(options)}`)
  checkOptions('scaleByRprop', options, ['learningRate', 'etaMinus', 'etaPlus', 'minStepSize', 'maxStepSize', 'flavor'])
  const flavor = flavorOf('scaleByRprop', options.flavor ?? 'optax')
  if (flavor !== 'optax' && flavor !== 'torch') throw new ConfigError('scaleByRprop.flavor', `expected 'optax' or 'torch', got ${describe(options.flavor)}`)
  const lr = checkNumber('learningRate', options.learningRate, { min: 0 })
  const etaMinus = checkNumber('etaMinus', options.etaMinus ?? 0.5, { min: 0 })
  const etaPlus = checkNumber('etaPlus', options.etaPlus ?? 1.2, { min: 0 })
  const minStep = checkNumber('minStepSize', options.minStepSize ?? 1e-6, { min: 0 })
  const maxStep = checkNumber('maxStepSize', options.maxStepSize ?? 50, { min: minStep, allowInfinity: true })
  const scalars = (round: (x: number) => number) => ({ etaMinus: round(etaMinus), etaPlus: round(etaPlus), minStep: round(minStep), maxStep: round(maxStep) })
  return recurrentBlock(flavor === 'torch' ? RPROP_TORCH : RPROP_OPTAX, () => 0, scalars, { stepSize: lr })
}

/** torch's first and second moments (`lerp_`, then `mul_(β2).addcmul_(g, g, 1 − β2)`). */
function torchMoments(g: Expr, mu: Expr, nu: Expr, s: Readonly<Record<'c1' | 'b2' | 'c2', Expr>>) {
  return { mu1: r(add(mu, r(mul(s.c1, r(sub(g, mu)))))), nu1: r(add(r(mul(nu, s.b2)), r(mul(r(mul(s.c2, g)), g)))) }
}

/** torch's RAdam: `m̂ · sqrt(1 − β2^t) / (sqrt(v) + ε) · r_t` where `ρ_t > 5`, else `m̂`. */
const radamTorch = (decay: boolean) =>
  recurrence({
  name: `radam (torch${decay ? ', weight decay' : ''})`,
  state: ['mu', 'nu'],
  scalars: [...MOMENT_SCALARS, 'rectifier', 'tractable', 'bc2Sqrt', 'sign', 'weightDecay'],
  params: decay,
  step: (x, s) => {
    const { mu, nu } = x
    const g = flavoredGradient('torch', x, s, decay)
    const { mu1, nu1 } = torchMoments(g, mu, nu, s)
    const muHat = r(div(mu1, s.bc1))
    const adaptive = r(div(s.bc2Sqrt, r(add(r(sqrt(nu1)), s.epsilon))))
    return { update: where('lt', 0, s.tractable, r(mul(r(mul(muHat, adaptive)), s.rectifier)), muHat), mu: mu1, nu: nu1 }
  },
})

/**
 * Options of {@link scaleByTorchRadam}.
 * @category model
 */
export interface ScaleByTorchOptions extends ScaleByMomentsOptions {
  /** torch `weight_decay` (coupled): `g ← g + weightDecay · p` first; default 0. Reads the params. */
  readonly weightDecay?: number
}

/**
 * torch's RAdam scaling (`torch.optim.RAdam` without the learning rate):
 * `m̂ · sqrt(1 − beta2^t) / (sqrt(v) + epsilon) · r_t` where `ρ_t > 5`
 * (strictly, as torch), else `m̂`; torch's moments (defaults 0.9, 0.999, 1e-8).
 *
 * @example
 * const torchRadam = chain(scaleByTorchRadam(), scaleByLearningRate(1e-3))
 * @category transforms
 */
export function scaleByTorchRadam(options: ScaleByTorchOptions = {}): GradientTransformation<RecurrentState<'mu' | 'nu'>> {
  const at = hyperparameters('scaleByTorchRadam', options, momentSpec(1e-8, 0), ['weightDecay'])
  const wd = checkNumber('weightDecay', options.weightDecay ?? 0, { min: 0 })
  return recurrentBlock(radamTorch(options.weightDecay !== undefined), at, (round, h, count) => {
    const t = count + 1
    const rhoInf = 2 / (1 - h.beta2) - 1
    const rho = rhoInf - (2 * t * h.beta2 ** t) / (1 - h.beta2 ** t)
    const tractable = rho > 5
    const rectifier = tractable ? Math.sqrt(((rho - 4) * (rho - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rho)) : 0
    return { ...torchScalars(round, h, count), rectifier: round(rectifier), tractable: tractable ? 1 : 0, bc2Sqrt: round(Math.sqrt(1 - h.beta2 ** t)), sign: 1, weightDecay: round(wd) }
  })
}

/** The moment scalars as torch computes them (in double precision, then rounded). */
function torchScalars(round: (x: number) => number, h: { beta1: number; beta2: number; epsilon: number; epsRoot: number }, count: number) {
  return { ...moments(round, h.beta1, h.beta2, count), epsilon: round(h.epsilon), epsRoot: round(h.epsRoot) }
}

/**
 * torch's NAdam: `d = (1 − μ_t) / (1 − Π_t) · g / den + μ_{t+1} / (1 − Π_t · μ_{t+1}) · m' / den`,
 * `den = sqrt(v' / (1 − β2^t)) + ε`, with torch's moments.
 */
const nadamTorch = (decay: boolean) =>
  recurrence({
    name: `nadam (torch${decay ? ', weight decay' : ''})`,
    state: ['mu', 'nu'],
    scalars: [...MOMENT_SCALARS, 'gradCoef', 'momentCoef', 'sign', 'weightDecay'],
    params: decay,
    step: (x, s) => {
      const g = flavoredGradient('torch', x, s, decay)
      const { mu1, nu1 } = torchMoments(g, x.mu, x.nu, s)
      const den = r(add(r(sqrt(r(div(nu1, s.bc2)))), s.epsilon))
      return { update: r(add(r(mul(s.gradCoef, r(div(g, den)))), r(mul(s.momentCoef, r(div(mu1, den)))))), mu: mu1, nu: nu1 }
    },
  })

/**
 * Options of {@link scaleByTorchNadam}.
 * @category model
 */
export interface ScaleByTorchNadamOptions extends ScaleByTorchOptions {
  /** torch `momentum_decay` `ψ`: `μ_t = beta1 · (1 − 0.5 · 0.96^(t·ψ))`; `>= 0`, default 4e-3. */
  readonly momentumDecay?: number
}

/**
 * torch's NAdam scaling (`torch.optim.NAdam` without the learning rate):
 * `(1 − μ_t) / (1 − Π_t) · g / den + μ_{t+1} / (1 − Π_{t+1}) · m' / den`,
 * `den = sqrt(v' / (1 − beta2^t)) + epsilon`, where
 * `μ_t = beta1 · (1 − 0.5 · 0.96^(t · momentumDecay))` and `Π_t` is their
 * product, kept in float32 as torch keeps it. torch's moments (defaults
 * 0.9, 0.999, 1e-8); `weightDecay` is torch's coupled decay.
 *
 * @example
 * const torchNadam = chain(scaleByTorchNadam(), scaleByLearningRate(2e-3))
 * @category transforms
 */
export function scaleByTorchNadam(options: ScaleByTorchNadamOptions = {}): GradientTransformation<RecurrentState<'mu' | 'nu'>> {
  const at = hyperparameters('scaleByTorchNadam', options, momentSpec(1e-8, 0), ['weightDecay', 'momentumDecay'])
  const wd = checkNumber('weightDecay', options.weightDecay ?? 0, { min: 0 })
  const psi = checkNumber('momentumDecay', options.momentumDecay ?? 4e-3, { min: 0 })
  const mu = (t: number) => at(t - 1).beta1 * (1 - 0.5 * 0.96 ** (t * psi))
  // torch keeps the product in a float32 scalar, each factor rounded to float32 first
  const product = runningProduct((t) => Math.fround(mu(t)), Math.fround)
  return recurrentBlock(nadamTorch(options.weightDecay !== undefined), at, (round, h, count) => {
    const t = count + 1
    const next = mu(t + 1)
    return {
      ...torchScalars(round, h, count),
      gradCoef: round((1 - mu(t)) / (1 - product(t))),
      momentCoef: round(next / (1 - product(t) * next)),
      sign: 1,
      weightDecay: round(wd),
    }
  })
}

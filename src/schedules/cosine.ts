/**
 * Cosine decay, with and without a linear warm-up.
 *
 * @module schedules
 */
import { checkNumber, checkOptions } from '../errors/index.js'
import { type Schedule } from '../transforms/index.js'
import { linear } from './decay.js'
import { joinSchedules } from './join.js'

/**
 * Options of {@link cosineDecay}.
 * @category model
 */
export interface CosineDecayOptions {
  /** Value at step 0. */
  readonly initValue: number
  /** Length of the decay; an integer `>= 1`. */
  readonly decaySteps: number
  /** Final value as a fraction of `initValue`; default 0. */
  readonly alpha?: number
  /** Exponent of the cosine factor; finite and `> 0`, default 1. */
  readonly exponent?: number
}

/**
 * Cosine decay (Loshchilov & Hutter, SGDR, without restarts). With
 * `s = min(step, decaySteps)`:
 * `value(step) = initValue · ((1 − alpha) · (½ (1 + cos(π s / decaySteps)))^exponent + alpha)`.
 * Optax `cosine_decay_schedule`.
 *
 * @example
 * const lr = cosineDecay({ initValue: 0.1, decaySteps: 1000 })
 * lr(0) // 0.1
 * lr(500) // 0.05 (up to rounding)
 * lr(1000) // 0
 * @category schedules
 */
export function cosineDecay(options: CosineDecayOptions): Schedule {
  checkOptions('cosineDecay', options, ['initValue', 'decaySteps', 'alpha', 'exponent'])
  const initValue = checkNumber('initValue', options?.initValue)
  const decaySteps = checkNumber('decaySteps', options.decaySteps, { min: 1, integer: true })
  const alpha = checkNumber('alpha', options.alpha ?? 0)
  const exponent = checkNumber('exponent', options.exponent ?? 1, { min: 0, minExclusive: true })
  return (step) => {
    const s = Math.min(step, decaySteps)
    const cosine = 0.5 * (1 + Math.cos((Math.PI * s) / decaySteps))
    return initValue * ((1 - alpha) * cosine ** exponent + alpha)
  }
}

/**
 * Options of {@link warmupCosineDecay}.
 * @category model
 */
export interface WarmupCosineDecayOptions {
  /** Value at step 0, the start of the warm-up. */
  readonly initValue: number
  /** Value reached at the end of the warm-up, where the cosine decay starts. */
  readonly peakValue: number
  /** Length of the linear warm-up; an integer `>= 0`. */
  readonly warmupSteps: number
  /** Total length, warm-up included; an integer `> warmupSteps`. */
  readonly decaySteps: number
  /** Value at the end of the decay (and after); default 0. */
  readonly endValue?: number
  /** Exponent of the cosine factor; finite and `> 0`, default 1. */
  readonly exponent?: number
}

/**
 * A linear warm-up from `initValue` to `peakValue` over `warmupSteps`,
 * then a cosine decay from `peakValue` to `endValue` over the remaining
 * `decaySteps − warmupSteps` steps:
 * `joinSchedules([linear(initValue → peakValue), cosineDecay(peakValue, alpha = endValue / peakValue)], [warmupSteps])`.
 * Optax `warmup_cosine_decay_schedule`.
 *
 * @example
 * const lr = warmupCosineDecay({ initValue: 0, peakValue: 1e-3, warmupSteps: 100, decaySteps: 1000, endValue: 1e-5 })
 * lr(50) // 0.0005
 * lr(100) // 0.001
 * lr(1000) // 0.00001 (up to rounding)
 * @category schedules
 */
export function warmupCosineDecay(options: WarmupCosineDecayOptions): Schedule {
  checkOptions('warmupCosineDecay', options, ['initValue', 'peakValue', 'warmupSteps', 'decaySteps', 'endValue', 'exponent'])
  const initValue = checkNumber('initValue', options?.initValue)
  const peakValue = checkNumber('peakValue', options.peakValue)
  const warmupSteps = checkNumber('warmupSteps', options.warmupSteps, { min: 0, integer: true })
  const decaySteps = checkNumber('decaySteps', options.decaySteps, { min: warmupSteps, minExclusive: true, integer: true })
  const endValue = checkNumber('endValue', options.endValue ?? 0)
  const alpha = peakValue === 0 ? 0 : endValue / peakValue
  const decay = cosineDecay({ initValue: peakValue, decaySteps: decaySteps - warmupSteps, alpha, exponent: options.exponent })
  if (warmupSteps === 0) return decay
  const warmup = linear({ initValue, endValue: peakValue, transitionSteps: warmupSteps })
  return joinSchedules([warmup, decay], [warmupSteps])
}

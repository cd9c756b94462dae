/**
 * Constant, exponential, piecewise-constant and polynomial (linear)
 * schedules.
 *
 * @module schedules
 */
import { ConfigError, checkNumber, checkOptions, describe } from '../errors/index.js'
import { type Schedule } from '../transforms/index.js'

const STEPS = { min: 0, integer: true } as const
const POSITIVE_STEPS = { min: 1, integer: true } as const

/**
 * The schedule that is always `value`. Optax `constant_schedule`.
 *
 * @example
 * constant(0.1)(1000) // 0.1
 * @category schedules
 */
export function constant(value: number): Schedule {
  const v = checkNumber('value', value)
  return () => v
}

/**
 * Options of {@link exponentialDecay}.
 * @category model
 */
export interface ExponentialDecayOptions {
  /** Value up to and including step `transitionBegin`. */
  readonly initValue: number
  /** Steps over which the value is multiplied by `decayRate` once; an integer `>= 1`. */
  readonly transitionSteps: number
  /** Factor per `transitionSteps` steps; finite and `> 0` (`> 1` grows). */
  readonly decayRate: number
  /** Steps to hold `initValue` before decaying; an integer `>= 0`, default 0. */
  readonly transitionBegin?: number
  /** Decay in whole periods (`floor`) instead of continuously; default false. */
  readonly staircase?: boolean
  /** A bound the value never passes: a floor when decaying, a ceiling when growing. */
  readonly endValue?: number
}

/**
 * Exponential decay. With `s = step − transitionBegin`:
 * `value(step) = initValue` for `s <= 0`, else
 * `initValue · decayRate^(s / transitionSteps)` (the exponent floored when
 * `staircase`); the result is clipped at `endValue` if given. Optax `exponential_decay`
 * (which warns and returns a constant where this throws a `ConfigError`).
 *
 * @example
 * const lr = exponentialDecay({ initValue: 0.1, transitionSteps: 100, decayRate: 0.5 })
 * lr(0) // 0.1
 * lr(100) // 0.05
 * @category schedules
 */
export function exponentialDecay(options: ExponentialDecayOptions): Schedule {
  checkOptions('exponentialDecay', options, ['initValue', 'transitionSteps', 'decayRate', 'transitionBegin', 'staircase', 'endValue'])
  const initValue = checkNumber('initValue', options?.initValue)
  const transitionSteps = checkNumber('transitionSteps', options.transitionSteps, POSITIVE_STEPS)
  const decayRate = checkNumber('decayRate', options.decayRate, { min: 0, minExclusive: true })
  const transitionBegin = checkNumber('transitionBegin', options.transitionBegin ?? 0, STEPS)
  const staircase = options.staircase ?? false
  if (typeof staircase !== 'boolean') throw new ConfigError('staircase', `expected a boolean, got ${describe(staircase)}`)
  const endValue = options.endValue === undefined ? undefined : checkNumber('endValue', options.endValue)
  const clip = decayRate < 1 ? Math.max : Math.min
  return (step) => {
    const s = step - transitionBegin
    const p = staircase ? Math.floor(s / transitionSteps) : s / transitionSteps
    const value = s <= 0 ? initValue : initValue * decayRate ** p
    return endValue === undefined ? value : clip(value, endValue)
  }
}

/**
 * Options of {@link piecewiseConstant}.
 * @category model
 */
export interface PiecewiseConstantOptions {
  /** Value before the first boundary. */
  readonly initValue: number
  /** `{ step: scale }`: from `step` on (inclusive) the value is multiplied by `scale` (finite, `>= 0`). */
  readonly boundariesAndScales?: Readonly<Record<number, number>>
}

/**
 * Piecewise constant: `initValue` times the product of the scales of every
 * boundary `<= step`. Optax `piecewise_constant_schedule`.
 *
 * @example
 * const lr = piecewiseConstant({ initValue: 0.1, boundariesAndScales: { 100: 0.1, 200: 0.1 } })
 * lr(99) // 0.1
 * lr(100) // 0.010000000000000002
 * lr(200) // 0.0010000000000000002
 * @category schedules
 */
export function piecewiseConstant(options: PiecewiseConstantOptions): Schedule {
  checkOptions('piecewiseConstant', options, ['initValue', 'boundariesAndScales'])
  const initValue = checkNumber('initValue', options?.initValue)
  const table = options.boundariesAndScales ?? {}
  checkOptions('boundariesAndScales', table, Object.keys(table ?? {})) // a plain object
  const steps = Object.keys(table)
    .map((key) => {
      const boundary = checkNumber(`boundariesAndScales key ${JSON.stringify(key)}`, key.trim() === '' ? NaN : Number(key), STEPS)
      const scale = checkNumber(`boundariesAndScales[${key}]`, table[boundary], { min: 0 })
      return [boundary, scale] as const
    })
    .sort((a, b) => a[0] - b[0])
  return (step) => {
    let value = initValue
    for (const [boundary, scale] of steps) {
      if (step < boundary) break
      value *= scale
    }
    return value
  }
}

/**
 * Options of {@link polynomial} (and, without `power`, of {@link linear}).
 * @category model
 */
export interface PolynomialOptions {
  /** Value up to and including step `transitionBegin`. */
  readonly initValue: number
  /** Value from step `transitionBegin + transitionSteps` on. */
  readonly endValue: number
  /** Length of the transition; an integer `>= 1`. */
  readonly transitionSteps: number
  /** Steps to hold `initValue` first; an integer `>= 0`, default 0. */
  readonly transitionBegin?: number
  /** Exponent of the remaining fraction; finite and `> 0`, default 1 (linear). */
  readonly power?: number
}

/**
 * Polynomial interpolation from `initValue` to `endValue`. With
 * `s = clip(step − transitionBegin, 0, transitionSteps)`:
 * `value(step) = (initValue − endValue) · (1 − s / transitionSteps)^power + endValue`.
 * Optax `polynomial_schedule`.
 *
 * @example
 * const lr = polynomial({ initValue: 1, endValue: 0, transitionSteps: 10, power: 2 })
 * lr(5) // 0.25
 * @category schedules
 */
export function polynomial(options: PolynomialOptions): Schedule {
  checkOptions('polynomial', options, ['initValue', 'endValue', 'transitionSteps', 'transitionBegin', 'power'])
  const initValue = checkNumber('initValue', options?.initValue)
  const endValue = checkNumber('endValue', options.endValue)
  const transitionSteps = checkNumber('transitionSteps', options.transitionSteps, POSITIVE_STEPS)
  const transitionBegin = checkNumber('transitionBegin', options.transitionBegin ?? 0, STEPS)
  const power = checkNumber('power', options.power ?? 1, { min: 0, minExclusive: true })
  return (step) => {
    const s = Math.min(Math.max(step - transitionBegin, 0), transitionSteps)
    const frac = 1 - s / transitionSteps
    return (initValue - endValue) * frac ** power + endValue
  }
}

/**
 * Linear interpolation from `initValue` (up to step `transitionBegin`) to
 * `endValue` (from step `transitionBegin + transitionSteps` on): the
 * {@link polynomial} schedule with `power = 1`. Optax `linear_schedule`.
 *
 * @example
 * const warmup = linear({ initValue: 0, endValue: 1e-3, transitionSteps: 100 })
 * warmup(50) // 0.0005
 * @category schedules
 */
export function linear(options: Omit<PolynomialOptions, 'power'>): Schedule {
  checkOptions('linear', options, ['initValue', 'endValue', 'transitionSteps', 'transitionBegin'])
  return polynomial(options)
}

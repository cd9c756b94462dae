/**
 * Hyperparameters that may change during training: a number, or a schedule
 * of the step.
 *
 * @module transforms
 */
import { ConfigError, type NumberDomain, checkNumber, checkOptions, describe } from '../errors/index.js'

/**
 * A hyperparameter schedule: the value to use at `step`, where the first
 * update is step 0, the second step 1, and so on.
 *
 * @example
 * const halfEvery100: Schedule = (step) => 0.1 * 0.5 ** Math.floor(step / 100)
 * adam({ learningRate: halfEvery100 })
 * @category model
 */
export type Schedule = (step: number) => number

/**
 * A hyperparameter: a fixed number, or a {@link Schedule} evaluated at every
 * update (the analogue of a Lasagne shared variable, without the mutation).
 *
 * @example
 * sgd({ learningRate: 0.1 })                                    // fixed
 * sgd({ learningRate: exponentialDecay({ initValue: 0.1, transitionSteps: 100, decayRate: 0.5 }) })
 * @category model
 */
export type Hyperparameter = number | Schedule

/**
 * A validated hyperparameter: its value at a step (0-based), checked
 * against its domain. Fixed numbers are checked once, when the block is made;
 * schedules are checked at every step they are evaluated.
 * @category model
 */
export type HyperAt = (step: number) => number

/**
 * Domain of a learning rate or scale: any finite number (negative is ascent).
 * @example
 * hyperparameter('learningRate', -0.1, ANY_FINITE) // gradient ascent, allowed
 * @category utils
 */
export const ANY_FINITE: NumberDomain = Object.freeze({})
/**
 * Domain of a decay rate (`beta1`, `beta2`, `rho`, `momentum`): `[0, 1)`.
 * @example
 * hyperparameter('beta1', 1, DECAY) // throws ConfigError: "beta1: expected a finite number >= 0 < 1, got 1"
 * @category utils
 */
export const DECAY: NumberDomain = Object.freeze({ min: 0, max: 1, maxExclusive: true })
/**
 * Domain of an epsilon: a finite number `>= 0`.
 * @example
 * hyperparameter('epsilon', 0, NON_NEGATIVE) // allowed (0/0 = NaN on zero gradients, as in Lasagne)
 * @category utils
 */
export const NON_NEGATIVE: NumberDomain = Object.freeze({ min: 0 })

/**
 * Validates a hyperparameter `value` named `name` and returns its
 * {@link HyperAt}. A number must lie in `domain` (checked now); a schedule's
 * value at each step must lie in `domain` (checked then, and the error names
 * the step). Anything else is a `ConfigError`.
 *
 * @example
 * const lr = hyperparameter('learningRate', 0.1, ANY_FINITE)
 * lr(7) // 0.1
 * @category utils
 */
export function hyperparameter(name: string, value: unknown, domain: NumberDomain): HyperAt {
  if (typeof value === 'function') {
    const schedule = value as Schedule
    return (step) => checkNumber(`${name} (schedule at step ${step})`, schedule(step), domain)
  }
  if (typeof value !== 'number') {
    throw new ConfigError(name, `expected a number or a schedule (step) => number, got ${describe(value)}`)
  }
  const v = checkNumber(name, value, domain)
  return () => v
}

/**
 * How one option of a block is read: its default and its domain.
 * @example
 * const rho: HyperSpec = [0.9, DECAY]
 * @category model
 */
export type HyperSpec = readonly [defaultValue: number, domain: NumberDomain]

/**
 * Reads the hyperparameters of `owner` from `options`: rejects unknown keys
 * (`extraKeys` are allowed and left to the caller), fills in defaults,
 * validates each with {@link hyperparameter}, and returns the function that
 * gives all their values at a step.
 *
 * @example
 * const at = hyperparameters('scaleByRms', { rho: 0.8 }, { rho: [0.9, DECAY], epsilon: [1e-6, NON_NEGATIVE] })
 * at(0) // { rho: 0.8, epsilon: 1e-6 }
 * @category utils
 */
export function hyperparameters<K extends string>(
  owner: string,
  options: unknown,
  spec: { readonly [P in K]: HyperSpec },
  extraKeys: readonly string[] = [],
): (step: number) => { [P in K]: number } {
  const keys = Object.keys(spec) as K[]
  checkOptions(owner, options, [...keys, ...extraKeys])
  const given = (options ?? {}) as Partial<Record<K, unknown>>
  const at = keys.map((key) => {
    const [fallback, domain] = spec[key]
    return hyperparameter(key, given[key] === undefined ? fallback : given[key], domain)
  })
  return (step) => {
    const values = {} as { [P in K]: number }
    for (let i = 0; i < keys.length; i++) values[keys[i]] = at[i](step)
    return values
  }
}

/**
 * The running product `Π_t = round(Π_{t−1} · factor(t))`, `Π_0 = 1`, of a
 * per-step factor (torch NAdam's momentum product). The last product is
 * remembered, so a training loop pays one factor a step; an earlier `t`
 * (a restored checkpoint) recomputes from the start.
 */
export function runningProduct(factor: (t: number) => number, round: (x: number) => number = (x) => x): (t: number) => number {
  let last = { t: 0, value: 1 }
  return (t) => {
    let { t: k, value } = t >= last.t ? last : { t: 0, value: 1 }
    for (; k < t; k++) value = round(value * factor(k + 1))
    last = { t, value }
    return value
  }
}

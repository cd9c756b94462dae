/**
 * Hyperparameters kept in the state, where a training loop can read and
 * replace them: the pure analogue of Lasagne's shared variables.
 *
 * @module transforms
 */
import { type GradientTransformation, checkTransformation, transformation } from '../core/index.js'
import { checkFunction, checkNumber, checkOptions } from '../errors/index.js'
import { countOf } from './block.js'
import { ANY_FINITE, type Hyperparameter, type Schedule, hyperparameter } from './hyper.js'

/**
 * The options object of a factory that also accepts a bare learning rate.
 * @category model
 */
export type InjectableOptions<O> = Exclude<O, number | Schedule | undefined>

/**
 * The keys of `H` whose values are hyperparameters (numbers or schedules).
 * @category model
 */
export type HyperparameterKeys<H> = {
  [K in keyof H]-?: H[K] extends Hyperparameter | undefined ? K : never
}[keyof H] &
  string

/**
 * State of {@link injectHyperparams}.
 * @category model
 */
export interface InjectHyperparamsState<S, K extends string = string> {
  /** Number of updates made so far (a plain integer); the schedule step of the next update. */
  readonly count: number
  /**
   * The value every injected hyperparameter will have in the next update
   * (plain numbers). Replace one (in a new state) to change the next update;
   * a scheduled one is recomputed from its schedule after every update.
   */
  readonly hyperparams: { readonly [P in K]: number }
  /** The state of the wrapped transformation. */
  readonly inner: S
}

/**
 * Wraps an optimizer factory so that its hyperparameters live in the state
 * (optax `inject_hyperparams`; the pure analogue of Lasagne's shared
 * variables). `injectHyperparams(factory)(options)` behaves exactly as
 * `factory(options)`, bit for bit, and its state is
 * `{ count, hyperparams, inner }`:
 *
 * - every option given as a number or a schedule is a hyperparameter;
 *   `hyperparams` holds the plain number each will have in the next update
 *   (schedules are evaluated at the 0-based step `count`);
 * - a training loop reads them back (`state.hyperparams.learningRate`) and
 *   replaces them purely, by passing a new state with a new value: the next
 *   update uses it; a scheduled hyperparameter returns to its schedule on
 *   the update after;
 * - other options (booleans, objects) are passed through unchanged; options
 *   not given take the factory's defaults and are not in the state.
 *
 * Each update rebuilds `factory(values)` and runs it on `inner`, so the
 * factory's own validation applies to replaced values (a NaN is a
 * `ConfigError`).
 *
 * @example
 * const tx = injectHyperparams(adam)({ learningRate: 1e-3 })
 * let state = tx.init(params)
 * // ... later, divide the learning rate by 10 from the next step on:
 * state = { ...state, hyperparams: { ...state.hyperparams, learningRate: state.hyperparams.learningRate / 10 } }
 * @category combinators
 */
export function injectHyperparams<O, S>(factory: (options: O) => GradientTransformation<S>) {
  checkFunction('factory', factory, 'returning a GradientTransformation')
  return <const H extends InjectableOptions<O>>(options: H): GradientTransformation<InjectHyperparamsState<S, HyperparameterKeys<H>>> => {
    type K = HyperparameterKeys<H>
    type Values = { readonly [P in K]: number }
    checkOptions('injectHyperparams', options, Object.keys(options ?? {})) // a plain options object
    const schedules: [K, (step: number) => number][] = []
    const numbers: [K, number][] = []
    const statics: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(options ?? {})) {
      if (typeof value === 'function') schedules.push([key as K, hyperparameter(key, value, ANY_FINITE)])
      else if (typeof value === 'number') numbers.push([key as K, value])
      else statics[key] = value
    }
    const keys = [...numbers, ...schedules].map(([key]) => key)
    const scheduledAt = (step: number, base: Values): Values => {
      const next: Record<string, number> = { ...base }
      for (const [key, at] of schedules) next[key] = at(step)
      return Object.freeze(next) as Values
    }
    const build = (values: Values): GradientTransformation<S> => factory({ ...statics, ...values } as O)
    const first = validated(scheduledAt(0, Object.fromEntries(numbers) as Values), build)
    return transformation<InjectHyperparamsState<S, K>>({
      init: (params) => Object.freeze({ count: 0, hyperparams: first, inner: build(first).init(params) }),
      update: (updates, state, params) => {
        const count = countOf(state)
        const values = state.hyperparams
        for (const key of keys) checkNumber(`state.hyperparams.${key}`, values?.[key], { allowInfinity: true })
        const [u, inner] = build(values).update(updates, state.inner, params)
        return [u, Object.freeze({ count: count + 1, hyperparams: scheduledAt(count + 1, values), inner })]
      },
    })
  }
}

/** Builds the inner transformation once with the first values, so bad options fail at construction. */
function validated<V, S>(values: V, build: (values: V) => GradientTransformation<S>): V {
  checkTransformation('injectHyperparams(factory)(options)', build(values))
  return values
}

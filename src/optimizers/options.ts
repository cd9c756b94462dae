/**
 * How an optimizer reads its argument: an options object, or a bare learning
 * rate (number or schedule) as a shorthand for `{ learningRate }`.
 *
 * @module optimizers
 */
import { ConfigError, checkOptions } from '../errors/index.js'
import { type Flavor, type Hyperparameter } from '../transforms/index.js'

/**
 * The learning-rate option every optimizer has.
 * @category model
 */
export interface LearningRateOptions {
  /** Step size; any finite number (negative is ascent), or a schedule of the step. */
  readonly learningRate?: Hyperparameter
}

/**
 * Returns the options object of optimizer `owner`: a bare number or
 * schedule `arg` means `{ learningRate: arg }`; an object is checked for
 * unknown keys (`known`). With `required`, a missing `learningRate` is a
 * `ConfigError` (Lasagne's `sgd`, `momentum` and `nesterov_momentum` have no
 * default learning rate).
 */
export function optionsOf<O extends LearningRateOptions>(
  owner: string,
  arg: O | Hyperparameter | undefined,
  known: readonly string[],
  required = false,
): O {
  const options = (typeof arg === 'number' || typeof arg === 'function' ? { learningRate: arg } : arg) as O | undefined
  checkOptions(owner, options, known)
  if (required && options?.learningRate === undefined) {
    throw new ConfigError(`${owner}.learningRate`, 'a required option is missing (Lasagne has no default learning rate here)')
  }
  return options ?? ({} as O)
}

/**
 * The learning rate of optimizer `owner` under `flavor`: the one given, else
 * the framework's default (`defaults[flavor]`); a `ConfigError` when that
 * framework has none (optax's optimizers, Lasagne's `sgd` and momentum).
 */
export function learningRateOf(owner: string, flavor: Flavor, given: Hyperparameter | undefined, defaults: Readonly<Record<Flavor, number | undefined>>): Hyperparameter {
  const lr = given === undefined ? defaults[flavor] : given
  if (lr === undefined) throw new ConfigError(`${owner}.learningRate`, `a required option is missing (${flavor === 'lasagne' ? 'Lasagne' : flavor} has no default learning rate here)`)
  return lr
}

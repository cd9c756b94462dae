/**
 * Framework flavors: which framework's numerics a block or an optimizer
 * reproduces, and the knobs each framework has.
 *
 * @module transforms
 */
import { ConfigError, describe } from '../errors/index.js'

/**
 * Whose numbers: Lasagne (the default), PyTorch (`torch.optim`), optax, or
 * Keras 3 (`tf.keras.optimizers`, `'tensorflow'`).
 * @category model
 */
export type Flavor = 'lasagne' | 'torch' | 'optax' | 'tensorflow'

const FLAVORS: readonly Flavor[] = ['lasagne', 'torch', 'optax', 'tensorflow']

/** The flavor `value` names (default `'lasagne'`), or a `ConfigError` naming `owner.flavor`. */
export function flavorOf(owner: string, value: unknown): Flavor {
  if (value === undefined) return 'lasagne'
  if (!FLAVORS.includes(value as Flavor)) throw new ConfigError(`${owner}.flavor`, `expected one of ${FLAVORS.map((f) => `'${f}'`).join(', ')}, got ${describe(value)}`)
  return value as Flavor
}

/**
 * Throws a `ConfigError` naming the knob and the flavor when `options` sets
 * one of `knobs` that `flavor` does not have (`has[flavor]`).
 */
export function checkKnobs(owner: string, flavor: Flavor, options: object, knobs: Knobs): void {
  const all = new Set(Object.values(knobs).flat())
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined && all.has(key) && !(knobs[flavor] ?? []).includes(key)) {
      const which = FLAVORS.filter((f) => (knobs[f] ?? []).includes(key)).map((f) => `'${f}'`)
      throw new ConfigError(`${owner}.${key}`, `flavor '${flavor}' has no ${key} (only ${which.join(', ')} ${which.length === 1 ? 'has' : 'have'} it)`)
    }
  }
}

/** Which framework has which knob: the one table each block and optimizer checks its options against. */
export type Knobs = Readonly<Partial<Record<Flavor, readonly string[]>>>

/** torch's gradient knobs: coupled weight decay and ascent. */
const TORCH_GRADIENT: readonly string[] = ['weightDecay', 'maximize']

/** The knobs of every flavored block, by block. */
export const KNOBS = {
  adam: { torch: TORCH_GRADIENT, optax: ['epsRoot', 'nesterov'] },
  amsgrad: { torch: TORCH_GRADIENT, optax: ['epsRoot'] },
  adamax: { torch: TORCH_GRADIENT },
  adagrad: { torch: ['initialAccumulatorValue', 'lrDecay', ...TORCH_GRADIENT], optax: ['initialAccumulatorValue'], tensorflow: ['initialAccumulatorValue'] },
  rms: { torch: ['centered', 'momentum', ...TORCH_GRADIENT], optax: ['centered', 'epsInSqrt', 'biasCorrection'], tensorflow: ['centered'] },
  adadelta: { torch: TORCH_GRADIENT },
  trace: { torch: ['dampening'] },
  sgd: { torch: TORCH_GRADIENT },
} as const satisfies Record<string, Knobs>

/** The knobs of `a` and of `b` together (an optimizer's are its block's and its own). */
export function withKnobs(a: Knobs, b: Knobs): Knobs {
  const flavors = [...new Set([...Object.keys(a), ...Object.keys(b)])] as Flavor[]
  return Object.fromEntries(flavors.map((f) => [f, [...(a[f] ?? []), ...(b[f] ?? [])]]))
}

/** A boolean option, `false` when absent; a `ConfigError` naming `where` otherwise. */
export function booleanOption(where: string, value: unknown): boolean {
  if (value === undefined) return false
  if (typeof value !== 'boolean') throw new ConfigError(where, `expected true or false, got ${describe(value)}`)
  return value
}

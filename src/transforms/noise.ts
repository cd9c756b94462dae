/**
 * Gradient noise (Neelakantan et al. 2015), optax `add_noise`: annealed
 * Gaussian noise from the library's counter-based generator, whose whole
 * state is the seed and the step count.
 *
 * @module transforms
 */
import { type GradientTransformation, type Params, transformation } from '../core/index.js'
import { ConfigError, checkNumber, checkOptions, describe } from '../errors/index.js'
import { add, dtypeOf, normal, roundTo, scaleAll } from '../tensor/index.js'
import { mapTree } from '../tree/index.js'
import { countOf } from './block.js'

/**
 * The state of {@link addNoise}: the step count and the seed, which with
 * it determine every later sample (a checkpoint resumes the noise bit for bit).
 * @category model
 */
export interface AddNoiseState {
  /** Updates made so far. */
  readonly count: number
  /** The generator's seed. */
  readonly seed: number
}

/**
 * Options of {@link addNoise}.
 * @category model
 */
export interface AddNoiseOptions {
  /** The initial variance `η >= 0`; default 0.01. */
  readonly eta?: number
  /** The variance's decay exponent `γ >= 0`; default 0.55. */
  readonly gamma?: number
  /** The generator's seed, an integer; default 0. */
  readonly seed?: number
}

/**
 * Adds annealed Gaussian noise to the updates (optax `add_noise`):
 * `u + sqrt(eta / (1 + t)^gamma) · z`, `t` the 0-based step, `z` standard
 * normal from {@link normal} with key `[seed, t, leaf]` (`leaf` the leaf's
 * number in the tree's canonical order). The numbers are a pure function
 * of the seed, step and leaf, so equal states give equal noise; they are
 * not jax's. A NaN or infinite update stays NaN or infinite.
 *
 * @example
 * const tx = chain(addNoise({ eta: 0.01, seed: 42 }), scaleByLearningRate(0.1)) // = noisySgd({ learningRate: 0.1, seed: 42 })
 * @category transforms
 */
export function addNoise(options: AddNoiseOptions = {}): GradientTransformation<AddNoiseState> {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', `expected { eta?, gamma?, seed? }, got ${describe(options)}`)
  checkOptions('addNoise', options, ['eta', 'gamma', 'seed'])
  const eta = checkNumber('eta', options.eta ?? 0.01, { min: 0 })
  const gamma = checkNumber('gamma', options.gamma ?? 0.55, { min: 0 })
  const seed = checkNumber('seed', options.seed ?? 0, { integer: true, min: -(2 ** 31), max: 2 ** 32 - 1 })
  return transformation<AddNoiseState>({
    init: () => Object.freeze({ count: 0, seed }),
    update: (updates, state) => {
      const count = countOf(state)
      const s = checkNumber('state.seed', (state as { seed?: unknown }).seed, { integer: true, min: -(2 ** 31), max: 2 ** 32 - 1 })
      const std = Math.sqrt(eta / (1 + count) ** gamma)
      let leaf = 0
      const noisy = mapTree(
        updates,
        (u) => {
          const dtype = dtypeOf(u)
          return add(u, scaleAll(normal([s, count, leaf++], u.shape, dtype), roundTo(dtype)(std)))
        },
        'updates',
      ) as Params
      return [noisy, Object.freeze({ count: count + 1, seed: s })]
    },
  })
}

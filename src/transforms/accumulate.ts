/**
 * Gradient accumulation: average `k` micro-batch gradients, then take one
 * step of the inner transformation ({@link multiSteps}).
 *
 * @module transforms
 */
import { type GradientTransformation, type Params, checkTransformation, transformation } from '../core/index.js'
import { checkNumber, checkOptions } from '../errors/index.js'
import { add, div, recurrence, store, sub } from '../kernel/index.js'
import { zerosLike } from '../tensor/index.js'
import { mapTree } from '../tree/index.js'
import { fusedPass } from './block.js'
import { checkState, zeroUpdates } from './finite.js'

/**
 * The state of {@link multiSteps}.
 * @category model
 */
export interface MultiStepsState<S> {
  /** Micro-batches averaged into `accGrads` since the last inner step: an integer in `0..everyK-1`. */
  readonly miniStep: number
  /** Inner steps taken since `init` (an integer ≥ 0). */
  readonly gradientStep: number
  /** The running mean of the gradients of the current micro-batches: the params' structure, shapes and dtypes (zeros when `miniStep` is 0). */
  readonly accGrads: Params
  /** The inner transformation's state. */
  readonly innerState: S
}

/**
 * Options of {@link multiSteps}.
 * @category model
 */
export interface MultiStepsOptions {
  /** The number of micro-batches per inner step: an integer ≥ 1. */
  readonly everyK: number
}

const MULTI_STEPS_KEYS = ['miniStep', 'gradientStep', 'accGrads', 'innerState'] as const

/** The first micro-batch: copied as it is (`-0` stays `-0`), so `everyK = 1` is exact. */
const FIRST = recurrence({ name: 'accumulate first', state: ['accGrads'], scalars: [], step: ({ g }) => ({ update: g, accGrads: g }) })

/** `acc' = acc + (g − acc) / count` in the leaf's dtype: the running mean after one more micro-batch. */
const MEAN = recurrence({
  name: 'accumulate',
  state: ['accGrads'],
  scalars: ['count'],
  step: ({ g, accGrads }, { count }) => {
    const acc1 = add(accGrads, store(div(store(sub(g, accGrads)), count)))
    return { update: acc1, accGrads: acc1 }
  },
})

/**
 * Gradient accumulation. Each call averages the incoming gradients into a
 * running mean `accGrads ← accGrads + (g − accGrads) / (miniStep + 1)`
 * (one fused pass per leaf). On every call but each `everyK`-th it emits
 * zero updates and does not call `tx.update` at all; on the `everyK`-th it
 * calls `tx.update(mean, innerState, params)` once, emits its updates, and
 * resets the mean. With `everyK = 1` it equals `tx` exactly. Optax
 * `MultiSteps` (its `acc + (g − acc) / (n + 1)` mean), without its
 * skip-function option (wrap with `applyIfFinite` instead).
 *
 * @example
 * const tx = multiSteps(adam({ learningRate: 1e-3 }), { everyK: 4 })
 * let state = tx.init(params)
 * for (const g of microBatchGrads) [u, state] = tx.update(g, state, params) // u is zero 3 times, then adam's step
 * @category combinators
 */
export function multiSteps<S>(tx: GradientTransformation<S>, options: MultiStepsOptions): GradientTransformation<MultiStepsState<S>> {
  checkTransformation('tx', tx)
  checkOptions('options', options, ['everyK'])
  const everyK = checkNumber('everyK', options?.everyK, { min: 1, integer: true })
  const make = (miniStep: number, gradientStep: number, accGrads: Params, innerState: S): MultiStepsState<S> =>
    Object.freeze({ miniStep, gradientStep, accGrads, innerState })
  return transformation<MultiStepsState<S>>({
    init: (params) => make(0, 0, mapTree(params, zerosLike, 'params'), tx.init(params)),
    update: (grads, state, params) => {
      checkState('state', state, MULTI_STEPS_KEYS, 'multiSteps')
      const { miniStep, gradientStep, accGrads, innerState } = state
      checkNumber('state.miniStep', miniStep, { min: 0, max: everyK - 1, integer: true })
      const { accGrads: mean } = fusedPass(miniStep === 0 ? FIRST : MEAN, () => ({ count: miniStep + 1 }), grads, state)
      if (miniStep + 1 < everyK) return [zeroUpdates(grads), make(miniStep + 1, gradientStep, mean, innerState)]
      const [updates, next] = tx.update(mean, innerState, params)
      return [updates, make(0, gradientStep + 1, mapTree(accGrads, zerosLike, 'state.accGrads'), next)]
    },
  })
}

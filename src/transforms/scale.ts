/**
 * Scaling by a (possibly scheduled) scalar: {@link scale} and
 * {@link scaleByLearningRate}, the last stage of every optimizer recipe.
 *
 * @module transforms
 */
import { type GradientTransformation, transformation } from '../core/index.js'
import { type Factor, scaleTree, withFastPath } from '../core/fusion.js'
import { roundTo } from '../tensor/index.js'
import { countOf } from './block.js'
import { ANY_FINITE, type HyperAt, type Hyperparameter, hyperparameter } from './hyper.js'

/**
 * State of {@link scale} and {@link scaleByLearningRate}.
 * @category model
 */
export interface ScaleState {
  /** Number of updates made so far (a plain integer); the schedule step of the next update. */
  readonly count: number
}

/**
 * `u = sign · factor(count) · g`, with the factor rounded to the leaf's
 * dtype. In a chain or an optimizer step the multiplication folds into the
 * neighbouring stage's pass (the same products, rounded where this stage
 * would store them).
 */
function scaleBy(factor: HyperAt, sign: 1 | -1): GradientTransformation<ScaleState> {
  const scaling = (state: ScaleState): readonly [Factor, ScaleState] => {
    const count = countOf(state)
    const f = factor(count)
    return [(dtype) => sign * roundTo(dtype)(f), Object.freeze({ count: count + 1 })]
  }
  const tx = transformation<ScaleState>({
    init: () => Object.freeze({ count: 0 }),
    update: (updates, state) => {
      const [c, next] = scaling(state)
      return [scaleTree(updates, [c]), next]
    },
  })
  return withFastPath(tx, {
    ownState: true, // a count
    scaling,
    run: (updates, state, _params, fusion) => {
      const [c, next] = scaling(state)
      return [scaleTree(updates, [fusion.pre, c, fusion.post], fusion), next]
    },
  })
}

/**
 * Multiplies every update by `factor`: `u = factor · g`. `factor` is a
 * number or a schedule of the step (the first update uses `factor(0)`); it is
 * rounded to each leaf's dtype, as Lasagne casts its scalars to `floatX`.
 * Optax `scale` / `scale_by_schedule`.
 *
 * @example
 * const halve = scale(0.5)
 * const [u] = halve.update({ w: tensor([2, 4]) }, halve.init({ w: tensor([0, 0]) })) // { w: [1, 2] }
 * @category transforms
 */
export function scale(factor: Hyperparameter): GradientTransformation<ScaleState> {
  return scaleBy(hyperparameter('factor', factor, ANY_FINITE), 1)
}

/**
 * Multiplies every update by `−learningRate`: `u = −learningRate · g`, the
 * descent step of Lasagne's `param - learning_rate * ...` (add the result to
 * the params). A negative learning rate is allowed (ascent); NaN and ±Inf
 * are not. Optax `scale_by_learning_rate`.
 *
 * @example
 * const tx = chain(scaleByAdam(), scaleByLearningRate(1e-3)) // = adam(1e-3)
 * @category transforms
 */
export function scaleByLearningRate(learningRate: Hyperparameter): GradientTransformation<ScaleState> {
  return scaleBy(hyperparameter('learningRate', learningRate, ANY_FINITE), -1)
}

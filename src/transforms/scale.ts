/**
 * Scaling by a (possibly scheduled) scalar: {@link scale} and
 * {@link scaleByLearningRate}, the last stage of every optimizer recipe.
 *
 * @module transforms
 */
import { type GradientTransformation } from '../core/index.js'
import { type Kernel } from '../tensor/index.js'
import { countOf, fusedPass, perDtype } from './block.js'
import { ANY_FINITE, type HyperAt, type Hyperparameter, hyperparameter } from './hyper.js'

function scaleKernel(s: { readonly factor: number }): Kernel {
  return (n, [u], [g]) => {
    const { factor } = s
    for (let k = 0; k < n; k++) u[k] = factor * g[k]
  }
}

/**
 * State of {@link scale} and {@link scaleByLearningRate}.
 * @category model
 */
export interface ScaleState {
  /** Number of updates made so far (a plain integer); the schedule step of the next update. */
  readonly count: number
}

/** `u = sign · factor(count) · g`, with the factor rounded to the leaf's dtype. */
function scaleBy(factor: HyperAt, sign: 1 | -1): GradientTransformation<ScaleState> {
  return {
    init: () => Object.freeze({ count: 0 }),
    update: (updates, state) => {
      const count = countOf(state)
      const f = factor(count)
      const kernelFor = perDtype((round) => scaleKernel({ factor: sign * round(f) }))
      const [u] = fusedPass(updates, [], [], 1, kernelFor)
      return [u, Object.freeze({ count: count + 1 })]
    },
  }
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

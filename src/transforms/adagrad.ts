/**
 * Adagrad's scaling: divide by the root of the accumulated squared gradients.
 *
 * @module transforms
 */
import { type GradientTransformation, type Params } from '../core/index.js'
import { type Epilogue } from '../core/fusion.js'
import { type Kernel } from '../tensor/index.js'
import { block, countOf, fusedPass, incoming, kernels, outgoing, zerosTree } from './block.js'
import { type Hyperparameter, NON_NEGATIVE, hyperparameters } from './hyper.js'

function adagradKernel(c: { readonly epsilon: number }, e: Epilogue): Kernel {
  return (n, [out, accu1], [g, accu, p]) => {
    const { epsilon } = c
    const { f32, apply } = e
    for (let k = 0; k < n; k++) {
      const pk = apply ? p[k] : 0
      const gk = incoming(g[k], e)
      const a = accu[k] + gk * gk
      const ak = f32 ? Math.fround(a) : a
      accu1[k] = ak
      out[k] = outgoing(gk / Math.sqrt(ak + epsilon), pk, e) // epsilon inside the root, as Lasagne
    }
  }
}

/**
 * State of {@link scaleByAdagrad}.
 * @category model
 */
export interface ScaleByAdagradState {
  /** Number of updates made so far (a plain integer); the schedule step of the next update. */
  readonly count: number
  /** Tree like the params (same shapes and dtypes): `accu`, the sum of every squared gradient so far. Starts at 0. */
  readonly accu: Params
}

/**
 * Options of {@link scaleByAdagrad}.
 * @category model
 */
export interface ScaleByAdagradOptions {
  /** Added to `accu'` inside the square root; `>= 0`, default 1e-6 (Lasagne). */
  readonly epsilon?: Hyperparameter
}

/**
 * Scales each gradient by the inverse root of its accumulated squares
 * (Lasagne `adagrad` without the learning rate):
 *
 * - `accu' = accu + g²`
 * - `u = g / sqrt(accu' + epsilon)`
 *
 * `accu` starts at 0 (optax starts it at 0.1, TensorFlow.js at 0.1 too).
 *
 * @example
 * const tx = chain(scaleByAdagrad({ epsilon: 1e-6 }), scaleByLearningRate(1)) // = adagrad()
 * @category transforms
 */
export function scaleByAdagrad(options: ScaleByAdagradOptions = {}): GradientTransformation<ScaleByAdagradState> {
  const at = hyperparameters('scaleByAdagrad', options, { epsilon: [1e-6, NON_NEGATIVE] })
  return block<ScaleByAdagradState>(
    (params) => Object.freeze({ count: 0, accu: zerosTree(params) }),
    (updates, state, fusion) => {
      const count = countOf(state)
      const { epsilon } = at(count)
      const kernelFor = kernels(fusion, (round, e) => adagradKernel({ epsilon: round(epsilon) }, e))
      const [u, accu] = fusedPass(updates, [state.accu], ['state.accu'], 2, kernelFor, fusion)
      return [u, Object.freeze({ count: count + 1, accu })]
    },
  )
}

/**
 * Adadelta's scaling: the ratio of the RMS of past updates to the RMS of
 * gradients.
 *
 * @module transforms
 */
import { type GradientTransformation, type Params } from '../core/index.js'
import { type Kernel } from '../tensor/index.js'
import { countOf, fusedPass, perDtype, zerosTree } from './block.js'
import { type RmsScalars, rmsScalars } from './rms.js'
import { DECAY, type Hyperparameter, NON_NEGATIVE, hyperparameters } from './hyper.js'

function adadeltaKernel(c: RmsScalars): Kernel {
  return (n, [u, accu1, deltaAccu1], [g, accu, deltaAccu]) => {
    const { rho, oneMinusRho, epsilon } = c
    for (let k = 0; k < n; k++) {
      const gk = g[k]
      const dk = deltaAccu[k] // the OLD deltaAccu, as Lasagne
      accu1[k] = rho * accu[k] + oneMinusRho * (gk * gk)
      u[k] = (gk * Math.sqrt(dk + epsilon)) / Math.sqrt(accu1[k] + epsilon)
      const delta = u[k]
      deltaAccu1[k] = rho * dk + oneMinusRho * (delta * delta)
    }
  }
}

/**
 * State of {@link scaleByAdadelta}.
 * @category model
 */
export interface ScaleByAdadeltaState {
  /** Number of updates made so far (a plain integer); the schedule step of the next update. */
  readonly count: number
  /** Tree like the params (same shapes and dtypes): `accu`, the moving average of `g²`. Starts at 0. */
  readonly accu: Params
  /** Tree like the params (same shapes and dtypes): `deltaAccu`, the moving average of `Δ²` (before any learning rate). Starts at 0. */
  readonly deltaAccu: Params
}

/**
 * Options of {@link scaleByAdadelta}.
 * @category model
 */
export interface ScaleByAdadeltaOptions {
  /** Decay of both moving averages, in `[0, 1)`; default 0.95 (Lasagne; torch and optax use 0.9). */
  readonly rho?: Hyperparameter
  /** Added inside both square roots; `>= 0`, default 1e-6 (Lasagne). */
  readonly epsilon?: Hyperparameter
}

/**
 * Adadelta's scaling (Lasagne `adadelta` without the learning rate;
 * Zeiler 2012):
 *
 * - `accu' = rho · accu + (1 − rho) · g²`
 * - `Δ = g · sqrt(deltaAccu + epsilon) / sqrt(accu' + epsilon)` (the old `deltaAccu`)
 * - `deltaAccu' = rho · deltaAccu + (1 − rho) · Δ²`
 * - `u = Δ`
 *
 * Both accumulators start at 0, so the first step is about
 * `g · sqrt(epsilon) / sqrt((1 − rho) · g² + epsilon)`.
 *
 * @example
 * const tx = chain(scaleByAdadelta(), scaleByLearningRate(1)) // = adadelta()
 * @category transforms
 */
export function scaleByAdadelta(options: ScaleByAdadeltaOptions = {}): GradientTransformation<ScaleByAdadeltaState> {
  const at = hyperparameters('scaleByAdadelta', options, { rho: [0.95, DECAY], epsilon: [1e-6, NON_NEGATIVE] })
  return {
    init: (params) => Object.freeze({ count: 0, accu: zerosTree(params), deltaAccu: zerosTree(params) }),
    update: (updates, state) => {
      const count = countOf(state)
      const { rho, epsilon } = at(count)
      const kernelFor = perDtype((round) => adadeltaKernel(rmsScalars(round, rho, epsilon)))
      const names = ['state.accu', 'state.deltaAccu']
      const [u, accu, deltaAccu] = fusedPass(updates, [state.accu, state.deltaAccu], names, 3, kernelFor)
      return [u, Object.freeze({ count: count + 1, accu, deltaAccu })]
    },
  }
}

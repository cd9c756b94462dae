/**
 * Adadelta's scaling: the ratio of the RMS of past updates to the RMS of
 * gradients.
 *
 * @module transforms
 */
import { type GradientTransformation, type Params } from '../core/index.js'
import { type Epilogue } from '../core/fusion.js'
import { type Kernel } from '../tensor/index.js'
import { block, countOf, fusedPass, incoming, kernels, outgoing, zerosTree } from './block.js'
import { type RmsScalars, rmsScalars } from './rms.js'
import { DECAY, type Hyperparameter, NON_NEGATIVE, hyperparameters } from './hyper.js'

function adadeltaKernel(c: RmsScalars, e: Epilogue): Kernel {
  return (n, [out, accu1, deltaAccu1], [g, accu, deltaAccu, p]) => {
    const { rho, oneMinusRho, epsilon } = c
    const { f32, apply } = e
    const F = Math.fround
    for (let k = 0; k < n; k++) {
      const pk = apply ? p[k] : 0
      const gk = incoming(g[k], e)
      const dk = deltaAccu[k] // the OLD deltaAccu, as Lasagne
      const a = rho * accu[k] + oneMinusRho * (gk * gk)
      const ak = f32 ? F(a) : a
      const d = (gk * Math.sqrt(dk + epsilon)) / Math.sqrt(ak + epsilon)
      const delta = f32 ? F(d) : d
      const da = rho * dk + oneMinusRho * (delta * delta)
      accu1[k] = ak
      deltaAccu1[k] = f32 ? F(da) : da
      out[k] = outgoing(delta, pk, e)
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
  return block<ScaleByAdadeltaState>(
    (params) => Object.freeze({ count: 0, accu: zerosTree(params), deltaAccu: zerosTree(params) }),
    (updates, state, fusion) => {
      const count = countOf(state)
      const { rho, epsilon } = at(count)
      const kernelFor = kernels(fusion, (round, e) => adadeltaKernel(rmsScalars(round, rho, epsilon), e))
      const names = ['state.accu', 'state.deltaAccu']
      const [u, accu, deltaAccu] = fusedPass(updates, [state.accu, state.deltaAccu], names, 3, kernelFor, fusion)
      return [u, Object.freeze({ count: count + 1, accu, deltaAccu })]
    },
  )
}

/**
 * The momentum trace: Lasagne's `apply_momentum` and
 * `apply_nesterov_momentum` on the displacement each step proposes.
 *
 * @module transforms
 */
import { type GradientTransformation, type Params } from '../core/index.js'
import { type Epilogue } from '../core/fusion.js'
import { ConfigError, describe } from '../errors/index.js'
import { type Kernel } from '../tensor/index.js'
import { block, countOf, fusedPass, incoming, kernels, outgoing, zerosTree } from './block.js'
import { DECAY, type Hyperparameter, hyperparameters } from './hyper.js'

// Without Nesterov the emitted update is the new velocity itself: one output.
/**
 * The trace with its epilogue: `v' = mu·v + Δ`, the update `v'` (or, with
 * Nesterov, `mu·v' + Δ`), then the epilogue. Without an epilogue and without
 * Nesterov the update is the new velocity itself: one output.
 */
function traceKernel(s: { readonly mu: number; readonly nesterov: boolean }, e: Epilogue): Kernel {
  return (n, outs, [d, v, p]) => {
    const { mu, nesterov } = s
    const { f32, apply } = e
    const out = outs[0]
    const v1 = outs[outs.length - 1]
    const F = Math.fround
    for (let k = 0; k < n; k++) {
      const pk = apply ? p[k] : 0
      const dk = incoming(d[k], e)
      const w = mu * v[k] + dk
      const vk = f32 ? F(w) : w
      v1[k] = vk
      out[k] = outgoing(nesterov ? mu * vk + dk : vk, pk, e)
    }
  }
}

/**
 * State of {@link trace}.
 * @category model
 */
export interface TraceState {
  /** Number of updates made so far (a plain integer); the schedule step of the next update. */
  readonly count: number
  /** Tree like the params (same shapes and dtypes): the velocity `v`, in parameter units. Starts at 0. */
  readonly velocity: Params
}

/**
 * Options of {@link trace}.
 * @category model
 */
export interface TraceOptions {
  /** `μ` in `[0, 1)`; default 0.9 (Lasagne). */
  readonly momentum?: Hyperparameter
  /** Emit `μ·v' + Δ` (Nesterov, pylearn2 form) instead of `v'`; default false. */
  readonly nesterov?: boolean
}

/**
 * Adds momentum to the incoming displacement `Δ` (the update of any
 * previous stage), as Lasagne's `apply_momentum` does to any update
 * dictionary:
 *
 * - `v' = momentum · v + Δ`, emitted update `v'`;
 * - with `nesterov: true` (`apply_nesterov_momentum`): the same `v'`, emitted
 *   update `momentum · v' + Δ`.
 *
 * `v` starts at 0. `momentum` lies in `[0, 1)`: 0 disables the trace, and a
 * momentum of 1 or more never forgets a step (Lasagne accepts it silently).
 * Without Nesterov the emitted update and the new velocity are one tensor.
 * Everything is read from the old state (Lasagne's simultaneous update).
 *
 * Lasagne forms the new parameter value `μv + (p + Δ)` and subtracts `p`
 * to get `v'`; here `Δ` is carried directly, so results differ from
 * Lasagne's only by the rounding of `p + Δ − p`.
 *
 * @example
 * const heavyBall = chain(scaleByLearningRate(0.1), trace({ momentum: 0.9 })) // = momentum(0.1)
 * @category transforms
 */
export function trace(options: TraceOptions = {}): GradientTransformation<TraceState> {
  const at = hyperparameters('trace', options, { momentum: [0.9, DECAY] }, ['nesterov'])
  const { nesterov = false } = options
  if (typeof nesterov !== 'boolean') throw new ConfigError('nesterov', `expected a boolean, got ${describe(nesterov)}`)
  return block<TraceState>(
    (params) => Object.freeze({ count: 0, velocity: zerosTree(params) }),
    (updates, state, fusion) => {
      const count = countOf(state)
      const { momentum } = at(count)
      const names = ['state.velocity']
      const kernelFor = kernels(fusion, (round, e) => traceKernel({ mu: round(momentum), nesterov }, e))
      let u: Params
      let velocity: Params
      if (nesterov || fusion.post !== undefined || fusion.apply !== undefined) {
        ;[u, velocity] = fusedPass(updates, [state.velocity], names, 2, kernelFor, fusion)
      } else {
        ;[velocity] = fusedPass(updates, [state.velocity], names, 1, kernelFor, fusion)
        u = velocity
      }
      return [u, Object.freeze({ count: count + 1, velocity })]
    },
  )
}

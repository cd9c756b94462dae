/**
 * The momentum trace: Lasagne's `apply_momentum` and
 * `apply_nesterov_momentum` on the displacement each step proposes.
 *
 * @module transforms
 */
import { type GradientTransformation, type Params } from '../core/index.js'
import { ConfigError, describe } from '../errors/index.js'
import { add, mul, recurrence, store } from '../kernel/index.js'
import { recurrentBlock } from './block.js'
import { DECAY, type Hyperparameter, hyperparameters } from './hyper.js'

/**
 * The momentum recurrence: `v' = μ·v + Δ`; the update is `v'` itself
 * (heavy ball) or, with Nesterov, `μ·v' + Δ` (pylearn2 form).
 */
const momentumRecurrence = (nesterov: boolean) =>
  recurrence({
    name: nesterov ? 'nesterov' : 'momentum',
    state: ['velocity'],
    scalars: ['mu'],
    step: ({ g, velocity }, { mu }) => {
      const v1 = store(add(mul(mu, velocity), g))
      return { update: nesterov ? add(mul(mu, v1), g) : v1, velocity: v1 }
    },
  })
const MOMENTUM = momentumRecurrence(false)
const NESTEROV = momentumRecurrence(true)

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
  return recurrentBlock(nesterov ? NESTEROV : MOMENTUM, at, (round, h) => ({ mu: round(h.momentum) }))
}

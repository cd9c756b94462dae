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
import { type Flavor, KNOBS, checkKnobs, flavorOf } from './flavor.js'
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
 * torch's momentum buffer, on the displacement `Δ`: `v' = μ_t·v + c_t·Δ`
 * with `μ_1 = 0, c_1 = 1` (torch starts the buffer at the first gradient
 * itself) and `μ_t = momentum, c_t = 1 − dampening` after; the update is
 * `v'`, or `Δ + momentum · v'` with Nesterov.
 */
const torchRecurrence = (nesterov: boolean) =>
  recurrence({
    name: nesterov ? 'nesterov (torch)' : 'momentum (torch)',
    state: ['velocity'],
    scalars: ['mu', 'muNow', 'keep'],
    step: ({ g, velocity }, { mu, muNow, keep }) => {
      const v1 = store(add(store(mul(velocity, muNow)), store(mul(keep, g))))
      return { update: nesterov ? store(add(g, store(mul(v1, mu)))) : v1, velocity: v1 }
    },
  })
const TORCH_MOMENTUM = torchRecurrence(false)
const TORCH_NESTEROV = torchRecurrence(true)

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
  /**
   * `'torch'`: PyTorch's buffer (`dampening`, and the first step's buffer is
   * `Δ` itself); every other flavor is the form above. Default `'lasagne'`.
   */
  readonly flavor?: Flavor
  /** torch `dampening` in `[0, 1]`: `v' = μ·v + (1 − dampening)·Δ` after the first step; default 0. */
  readonly dampening?: Hyperparameter
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
  const flavor = flavorOf('trace', options.flavor)
  checkKnobs('trace', flavor, options, KNOBS.trace)
  const at = hyperparameters('trace', options, { momentum: [0.9, DECAY], dampening: [0, UNIT] }, ['nesterov', 'flavor'])
  const { nesterov = false } = options
  if (typeof nesterov !== 'boolean') throw new ConfigError('nesterov', `expected a boolean, got ${describe(nesterov)}`)
  if (flavor !== 'torch') return recurrentBlock(nesterov ? NESTEROV : MOMENTUM, at, (round, h) => ({ mu: round(h.momentum) }))
  if (nesterov && options.dampening !== undefined && options.dampening !== 0) {
    throw new ConfigError('dampening', 'torch Nesterov momentum requires dampening 0')
  }
  return recurrentBlock(nesterov ? TORCH_NESTEROV : TORCH_MOMENTUM, at, (round, h, count) => ({
    mu: round(h.momentum),
    muNow: count === 0 ? 0 : round(h.momentum),
    keep: count === 0 ? 1 : round(1 - h.dampening),
  }))
}

/** `[0, 1]`: torch's dampening. */
const UNIT = Object.freeze({ min: 0, max: 1 })

/**
 * What every stateful building block shares: its step count, its
 * zero-initialised state trees, and its one pass: its recurrence, compiled
 * with its neighbouring stages folded in.
 *
 * @module transforms
 */
import { type GradientTransformation, type Params, transformation } from '../core/index.js'
import { type Fusion, type RecurrentStage, recurrencePass, withFastPath } from '../core/fusion.js'
import { checkNumber } from '../errors/index.js'
import type { Recurrence } from '../kernel/index.js'
import { zerosLike } from '../tensor/index.js'
import { mapTree } from '../tree/index.js'

/**
 * The step count of a block's state: the number of updates it has made,
 * which is also the 0-based step at which its schedules are evaluated next.
 * Throws a `ConfigError` naming `where` unless it is an integer `>= 0`.
 */
export function countOf(state: unknown, where = 'state.count'): number {
  const count = typeof state === 'object' && state !== null ? (state as { count?: unknown }).count : undefined
  return checkNumber(where, count, { min: 0, integer: true })
}

/** A tree shaped like `params` (same structure, shapes and dtypes) filled with `value` (rounded to each dtype). */
function fullTree(params: Params, value: number): Params {
  return mapTree(
    params,
    (t) => {
      const z = zerosLike(t)
      z.data.fill(value)
      return z
    },
    'params',
  ) as Params
}

/**
 * A tree of zeros shaped like `params` (same structure, shapes and dtypes):
 * the initial value of every accumulator in Lasagne.
 */
export function zerosTree(params: Params): Params {
  return mapTree(params, zerosLike, 'params') as Params
}

/** No fusion: a plain update. */
export const UNFUSED: Fusion = Object.freeze({})

/**
 * A block from its `init` and its fused update `step(updates, state, fusion)`:
 * `update` is the step without fusion, and the step is registered as the
 * block's fast path for `chain` and `optimizer().step`.
 */
export function block<S>(
  init: (params: Params) => S,
  step: (updates: Params, state: S, fusion: Fusion, params: Params | undefined) => readonly [Params, S],
  recurrent?: RecurrentStage<S>,
): GradientTransformation<S> {
  const tx = transformation<S>({ init, update: (updates, state, params) => step(updates, state, UNFUSED, params) })
  // the state is what the block's own pass wrote (see recurrentBlock: every stateful block is one)
  return withFastPath(tx, { run: (updates, state, params, fusion) => step(updates, state, fusion, params), recurrent, ownState: true })
}

/**
 * The one pass of a block: runs its recurrence `r` over the leaves of
 * `updates`, of its state trees (`state[name]` for each name of `r.state`,
 * named `state.<name>` in errors: a mismatch throws naming its path, e.g.
 * `state.mu.W`) and of the params when `r` reads them or `fusion` applies
 * the update, with `fusion` folded in. `scalars(round)` gives the per-step
 * scalars in the leaf dtype. Returns the update (or `p + u`) and each new
 * state tree by name.
 *
 * Small leaves of one output tree share buffers; under donation each new
 * state tensor is written over the buffer of the old one it replaces, and
 * `p + u` over the params'.
 *
 * @example
 * const { update, mu, nu } = fusedPass(ADAM, (round) => adamScalars(round, h, t), updates, state, fusion)
 */
export function fusedPass<St extends string, Sc extends string>(
  r: Recurrence<St, Sc>,
  scalars: (round: (x: number) => number) => Readonly<Record<Sc, number>>,
  updates: Params,
  state: Readonly<Record<St, Params>>,
  fusion: Fusion = UNFUSED,
  params?: Params,
): { readonly update: Params } & Readonly<Record<St, Params>> {
  const trees = r.state.map((name) => state[name])
  const names = { updates: 'updates', state: r.state.map((name) => `state.${name}`), params: 'params' }
  const [update, ...next] = recurrencePass(r, scalars, updates, trees, names, fusion, params)
  return Object.fromEntries([['update', update], ...r.state.map((name, i) => [name, next[i]])]) as { readonly update: Params } & Readonly<Record<St, Params>>
}

/**
 * The state of a block that is one recurrence: its step count and one
 * tree per state name, like the params (same shapes and dtypes).
 * @category model
 */
export type RecurrentState<St extends string> = {
  /** Number of updates made so far (a plain integer); the schedule step of the next update. */
  readonly count: number
} & Readonly<Record<St, Params>>

/**
 * A block that is its recurrence `r`: the state is the step count and one
 * zero tree per state name; each step evaluates the hyperparameters
 * `at(count)` (so a bad schedule value throws even for an empty tree), then
 * runs one pass with the scalars `scalars(round, h, count)` in each leaf
 * dtype. Every stateful block of the library is one of these. `initial`
 * starts a state at another value than 0 (optax's and torch's
 * `initial_accumulator_value`).
 *
 * @example
 * const scaleByAdagrad = () => recurrentBlock(adagradRecurrence('lasagne', false), () => ({ epsilon: 1e-6 }), (round, h, count) => adaptiveScalars(round, 'lasagne', h, count, false))
 */
export function recurrentBlock<St extends string, Sc extends string, H>(
  r: Recurrence<St, Sc>,
  at: (count: number) => H,
  scalars: (round: (x: number) => number, h: H, count: number) => Readonly<Record<Sc, number>>,
  initial: Readonly<Partial<Record<St, number>>> = {} as Partial<Record<St, number>>,
): GradientTransformation<RecurrentState<St>> {
  const start = (params: Params, value: number | undefined): Params => (value === undefined || value === 0 ? zerosTree(params) : fullTree(params, value))
  const next = (state: RecurrentState<St>, trees: readonly Params[]): RecurrentState<St> =>
    Object.freeze({ count: countOf(state) + 1, ...Object.fromEntries(r.state.map((k, i) => [k, trees[i]])) }) as RecurrentState<St>
  return block<RecurrentState<St>>(
    (params) => Object.freeze({ count: 0, ...Object.fromEntries(r.state.map((k) => [k, start(params, initial[k])])) }) as RecurrentState<St>,
    (updates, state, fusion, params) => {
      const count = countOf(state)
      const h = at(count)
      const out = fusedPass(r, (round) => scalars(round, h, count), updates, state, fusion, params)
      return [out.update, next(state, r.state.map((k) => out[k]))]
    },
    {
      recurrence: r,
      trees: (state) => r.state.map((k) => state[k]),
      scalars: (state) => {
        const count = countOf(state)
        const h = at(count)
        return (round) => scalars(round, h, count)
      },
      next,
    },
  )
}

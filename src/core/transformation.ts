/**
 * The transformation algebra: `GradientTransformation`, `chain`, `identity`,
 * the `Monoid` instance, `applyUpdates` and the pure `optimizer` step.
 *
 * @module core
 */
import type { Monoid as FMonoid } from 'fp-ts/lib/Monoid.js'
import { ConfigError, StructureError, checkFunction, checkOptions, describe } from '../errors/index.js'
import { assertSameStructure } from '../tree/index.js'
import { checkNotDonated, donation } from './donation.js'
import { type Fusion, RESCAN, endsWithProjection, isNeutral, ownsState, runChain, runFused, scaleTree, withFastPath } from './fusion.js'
import type { Precision } from '../kernel/index.js'
import type { GradientTransformation, Params, UpdateFn } from './types.js'

export type { GradientTransformation, Params, UpdateFn } from './types.js'

/**
 * A {@link GradientTransformation} from its `init` and `update` functions,
 * written on plain trees. `update` must return updates of the structure it
 * was given (every library stage does); the result's `update` is typed to
 * return the caller's own tree type, so no cast is needed at the call site.
 *
 * @example
 * // Optax `scale(2)`, written by hand
 * const scaleBy2 = transformation({
 *   init: () => EMPTY_STATE,
 *   update: (u, s) => [mapTree(u, (t) => scaleAll(t, 2)), s],
 * })
 * @category constructors
 */
export function transformation<S>(tx: { readonly init: (params: Params) => NoInfer<S>; readonly update: UpdateFn<S> }): GradientTransformation<S> {
  if (typeof tx !== 'object' || tx === null) throw new ConfigError('tx', `expected { init, update }, got ${describe(tx)}`)
  checkFunction('init', tx.init, '(params) => state')
  checkFunction('update', tx.update, '(updates, state, params?) => [updates, state]')
  // the one place the kept structure becomes the caller's type
  return { init: tx.init, update: tx.update as GradientTransformation<S>['update'] }
}

/**
 * The one transformation validator: returns `tx` when it has `init` and
 * `update` functions, otherwise throws a `ConfigError` naming `where`.
 * Wrappers (`masked`, `multiSteps`, ...) call it on the transformations they
 * are given.
 *
 * @example
 * checkTransformation('tx', identity()) // the same transformation
 * checkTransformation('tx', 0.1)        // throws ConfigError: "tx: expected a GradientTransformation ..."
 * @category utils
 */
export function checkTransformation<S>(where: string, tx: GradientTransformation<S>): GradientTransformation<S> {
  const t = tx as Partial<GradientTransformation<S>> | null
  if (typeof t !== 'object' || t === null || typeof t.init !== 'function' || typeof t.update !== 'function') {
    throw new ConfigError(where, `expected a GradientTransformation (an object with init and update functions), got ${describe(tx)}`)
  }
  return tx
}

/** The state type of a transformation. */
export type StateOf<T> = T extends GradientTransformation<infer S> ? S : never

/**
 * The state of a stateless transformation: a frozen empty record.
 * @category model
 */
export type EmptyState = Readonly<Record<string, never>>

/** The one empty state value. */
export const EMPTY_STATE: EmptyState = Object.freeze({})

/**
 * The identity transformation: updates pass through unchanged (the same
 * objects), with an empty state. It is the unit of {@link chain}.
 *
 * @example
 * chain(identity(), sgd(0.1)) // behaves exactly as sgd(0.1)
 * @category constructors
 */
export function identity(): GradientTransformation<EmptyState> {
  const tx = transformation<EmptyState>({ init: () => EMPTY_STATE, update: (updates, state) => [updates, state] })
  return withFastPath(tx, { run: (updates, state, _params, f) => [scaleTree(updates, [f.pre, f.post], f), state], neutral: true, ownState: true })
}

/**
 * Composes transformations left to right: the updates from `txs[i]` feed
 * `txs[i+1]`, every stage sees the same `params`. The state is a frozen tuple
 * with one state per stage. Optax `chain`.
 *
 * @example
 * const tx = chain(treewise((gs) => clipByGlobalNorm(gs, 1)[0]), adam({ learningRate: 1e-3 }))
 * @category combinators
 */
export function chain<const T extends readonly GradientTransformation<unknown>[]>(
  ...txs: T
): GradientTransformation<{ readonly [K in keyof T]: StateOf<T[K]> }> {
  type S = { readonly [K in keyof T]: StateOf<T[K]> }
  txs.forEach((tx, i) => {
    checkTransformation(`chain[${i}]`, tx)
    if (endsWithProjection(tx) && !txs.slice(i + 1).every(isNeutral)) {
      throw new ConfigError(
        `chain[${i}]`,
        'constrainParams (or a chain ending with it) must be the last stage of a chain (only identities may follow it): a stage after it would move the params off the constraint, and its update is not a gradient',
      )
    }
  })
  // the stages run in order; neighbouring elementwise stages share one pass per leaf (see fusion.ts)
  const run = (updates: Params, state: S, params: Params | undefined, fusion: Fusion): readonly [Params, S] => {
    const states = state as unknown as readonly unknown[]
    if (!Array.isArray(states) || states.length !== txs.length) {
      throw new StructureError('state', `expected the state of a chain of ${txs.length} transformations (an array of ${txs.length} states), got ${describe(state)}`)
    }
    const [u, next] = runChain(txs, updates, states, params, fusion)
    return [u, Object.freeze(next) as unknown as S]
  }
  const tx = transformation<S>({
    init: (params) => Object.freeze(txs.map((t) => t.init(params))) as unknown as S,
    update: (updates, state, params) => run(updates, state, params, {}),
  })
  // identities after the projection change nothing: the chain still ends with it
  const projects = txs.some(endsWithProjection)
  return withFastPath(tx, { run, projects, neutral: txs.every(isNeutral), ownState: txs.every(ownsState) })
}

/**
 * The fp-ts `Monoid` of transformations under {@link chain}, with
 * {@link identity} as `empty`. Its laws hold observationally: two composites
 * that differ only in grouping emit the same updates (their states are nested
 * differently). `concatAll(Monoid)([a, b, c])` is `chain(a, b, c)` in effect.
 *
 * @example
 * import { concatAll } from 'fp-ts/Monoid'
 * const tx = concatAll(Monoid)([clip, adam({ learningRate: 1e-3 })])
 * @category instances
 */
export const Monoid: FMonoid<GradientTransformation<unknown>> = {
  concat: (x, y) => chain(x, y) as GradientTransformation<unknown>,
  empty: identity() as GradientTransformation<unknown>,
}

/**
 * `params + updates`, leaf by leaf, in the params' dtype. The trees must
 * agree in structure, shape and dtype.
 *
 * @example
 * applyUpdates({ w: tensor([1, 2]) }, { w: tensor([0.5, -1]) }) // { w: [1.5, 1] }
 * @category utils
 */
export function applyUpdates<P extends Params>(params: P, updates: Params): P {
  // the pass of a fused step's tail (batched over small leaves), zipped as `zipTrees` would: params first
  return scaleTree(updates, [], { apply: { params, recycle: false } }) as P
}

/**
 * A transformation packaged as a pure optimizer step.
 * @category model
 */
export interface Optimizer<S> {
  /** The initial state for `params`. */
  init(params: Params): S
  /** `(params, grads, state) -> [params', state']`: one pure step; `params'` has the type of `params`. */
  step<P extends Params>(params: P, grads: Params, state: S): readonly [P, S]
}

/**
 * Options of {@link optimizer}.
 * @category model
 */
export interface OptimizerOptions {
  /**
   * Buffer donation (JAX's donated arguments); default `false`. The caller
   * promises never to use the `params` and `state` it passes to `step` again
   * (nor any tensor in them), and `step` writes the new params and state
   * into their buffers instead of new ones: no allocation, and one pass over
   * memory per leaf for a fused optimizer. Passing a donated tree, state or
   * tensor to a step again throws a `DonatedBufferError`. Only row-major
   * tensors with offset 0 whose storage is exactly their size, shared with no
   * other tensor of the step, are recycled; the rest get new buffers. Small
   * leaves (under 4096 elements) of a donating step's own results are views
   * into chunks the step carved, written over in place by the next one.
   * Results are bit-identical to the pure step's. If a donating step throws,
   * what it was given counts as donated (it may be partly overwritten).
   */
  readonly donate?: boolean
  /**
   * `'exact'` (the default) gives the numbers of the stages run one by one,
   * on every backend. `'fast'` lets the fused kernels of float32 leaves
   * compute in float32 lanes (WebAssembly f32x4) instead of float64: about
   * twice as fast, within the per-optimizer ulp bounds of
   * `docs/performance.md`. Float64 leaves and engines without WebAssembly
   * SIMD are exact either way.
   */
  readonly precision?: Precision
}

/**
 * Packages `tx` as `{ init, step }`, where
 * `step(params, grads, state) = [params + u, state']` with
 * `[u, state'] = tx.update(grads, state, params)`. Nothing is mutated
 * unless `options.donate` is set (see {@link OptimizerOptions}).
 *
 * The step runs neighbouring elementwise stages together: for
 * `adam(lr)` the moments, the learning rate and the addition to the params
 * are one pass over each leaf, with every intermediate rounded to the leaf
 * dtype where the stages one by one would store it, so the numbers are
 * exactly those of `applyUpdates(params, tx.update(grads, state, params)[0])`.
 *
 * @example
 * const opt = optimizer(adam({ learningRate: 1e-3 }))
 * let state = opt.init(params)
 * ;[params, state] = opt.step(params, grads, state)
 *
 * // the same numbers, writing over the previous params and state
 * const fast = optimizer(adam({ learningRate: 1e-3 }), { donate: true })
 * @category combinators
 */
export function optimizer<S>(tx: GradientTransformation<S>, options?: OptimizerOptions): Optimizer<S> {
  checkTransformation('tx', tx)
  checkOptions('options', options, ['donate', 'precision'])
  const donate = options?.donate ?? false
  // the results of a donating step need no scan when they come back if the state holds only tensors tx computed
  const own = ownsState(tx)
  if (typeof donate !== 'boolean') throw new ConfigError('options.donate', `expected true or false, got ${describe(donate)}`)
  const precision = options?.precision ?? 'exact'
  if (precision !== 'exact' && precision !== 'fast') throw new ConfigError('options.precision', `expected 'exact' or 'fast', got ${describe(precision)}`)
  // the new params have the structure of `params` (every stage keeps the structure)
  const run = (params: Params, grads: Params, state: S): readonly [Params, S] => {
    const args = [
      ['params', params],
      ['state', state],
      ['grads', grads],
    ] as const
    if (!donate) {
      checkNotDonated(args)
      try {
        return runFused(tx, grads, state, params, { apply: { params, recycle: false }, precision })
      } catch (e) {
        // nothing was written: find out whether the grads disagree with the params, and if so say that
        assertSameStructure([params, grads], ['params', 'grads'])
        throw e
      }
    }
    let d = donation(args, 2, own)
    const attempt = (): readonly [Params, S] => runFused(tx, grads, state, params, { apply: { params, recycle: true }, recycle: d.recycle, precision })
    let result: readonly [Params, S] | undefined
    try {
      // a wrong gradient is refused by the first pass that zips it, before that pass writes anything
      try {
        result = attempt()
      } catch (e) {
        if (e !== RESCAN) throw e
        // a gradient lies in storage the step meant to write over, found before anything was written: scan everything
        d = donation(args, 2, own, true)
        result = attempt()
      }
      return result
    } catch (e) {
      assertSameStructure([params, grads], ['params', 'grads'])
      throw e
    } finally {
      d.finish(result ?? [])
    }
  }
  return {
    init: (params) => tx.init(params),
    step: <P extends Params>(params: P, grads: Params, state: S) => run(params, grads, state) as readonly [P, S],
  }
}

/**
 * Non-finite handling: skip steps whose updates hold NaN or ±Inf
 * ({@link applyIfFinite}), and replace NaN by zero ({@link zeroNans}).
 *
 * @module transforms
 */
import { type GradientTransformation, type Params, checkTransformation, transformation } from '../core/index.js'
import { recurrenceKernels } from '../core/fusion.js'
import { StructureError, checkNumber, checkOptions, describe } from '../errors/index.js'
import { recurrence, where } from '../kernel/index.js'
import { type Tensor, dtypeOf, isTensor, map, normalizeAxes, reduce, zerosLike } from '../tensor/index.js'
import { type Tree, isPlainObject, leaves, mapTree, walk } from '../tree/index.js'

/** `max |t|` over every element of `t` (NaN if `t` holds a NaN, 0 if empty). */
function maxAbs(t: Tensor): number {
  return reduce(t, normalizeAxes(undefined, t.shape.length, 'tensor'), 'maxabs')[0]
}

/**
 * True when every element of every tensor leaf of `tree` is finite (no NaN,
 * no ±Inf). One read-only `maxabs` reduction per leaf, which cannot overflow.
 *
 * @example
 * allFinite({ w: tensor([1, 2]) })         // true
 * allFinite({ w: tensor([1, Infinity]) })  // false
 * @category utils
 */
export function allFinite(tree: Params, root = 'updates'): boolean {
  return leaves(tree, root).every((t) => Number.isFinite(maxAbs(t)))
}

/**
 * Throws a `StructureError` naming `where` unless `state` is a plain object
 * holding every key of `keys`: the check a wrapper makes on the state it is
 * given before reading its fields.
 */
export function checkState(where: string, state: unknown, keys: readonly string[], owner: string): void {
  if (!isPlainObject(state) || keys.some((k) => !(k in state))) {
    throw new StructureError(where, `expected the state of ${owner} (an object with keys [${keys.join(',')}]), got ${describe(state)}`)
  }
}

/** `zerosLike` on every leaf: the update of a step that does nothing. */
export function zeroUpdates(updates: Params, root = 'updates'): Params {
  return mapTree(updates, zerosLike, root)
}

/**
 * The state of {@link applyIfFinite}.
 * @category model
 */
export interface ApplyIfFiniteState<S> {
  /** Non-finite steps skipped in a row since the last step that went through (an integer ≥ 0). */
  readonly consecutiveSkips: number
  /** Non-finite steps skipped since `init` (an integer ≥ 0). */
  readonly totalSkips: number
  /** Whether the last step's gradients and updates were all finite (`true` after `init`). */
  readonly lastFinite: boolean
  /** The inner transformation's state after the last step that went through. */
  readonly innerState: S
}

/**
 * Options of {@link applyIfFinite}.
 * @category model
 */
export interface ApplyIfFiniteOptions {
  /**
   * How many non-finite steps in a row are skipped before the next one is let
   * through: an integer ≥ 0, or `Infinity` to skip every non-finite step.
   */
  readonly maxConsecutiveErrors: number
}

const APPLY_IF_FINITE_KEYS = ['consecutiveSkips', 'totalSkips', 'lastFinite', 'innerState'] as const

/**
 * Wraps `tx` so that a step whose incoming gradients or whose outgoing
 * updates hold a NaN or ±Inf is dropped: the emitted updates are zeros and
 * the inner state stays the one from before the step. The state counts the
 * skips. Optax `apply_if_finite`, with its pitfall fixed.
 *
 * The exact policy, with `c` = `consecutiveSkips` and
 * `m` = `maxConsecutiveErrors`, for one step:
 * 1. The step is finite when every gradient and every update of
 *    `tx.update(grads, innerState, params)` is finite. When the gradients
 *    are already non-finite and the step is going to be skipped, `tx.update`
 *    is not called at all.
 * 2. Finite: the updates and the new inner state go through; `c ← 0`.
 * 3. Non-finite and `c < m`: skipped; zeros are emitted, the inner state is
 *    kept, `c ← c + 1`, `totalSkips ← totalSkips + 1`.
 * 4. Non-finite and `c = m`: let through (the updates and the new inner
 *    state, NaN and all) so that the divergence is visible; `c ← 0`. The
 *    next non-finite step is skipped again. (Optax lets every non-finite
 *    step through once the limit is reached, until a finite one arrives.)
 *
 * Gradients are checked as well as updates because an inner stage may turn
 * non-finite gradients into finite updates while its state takes the NaN
 * (`multiSteps` between its inner steps, `freeze`): checking the updates
 * alone would keep that poisoned state. To clean NaN gradients first, put
 * `zeroNans()` before this wrapper, not inside it.
 *
 * Worked sequence with `m = 2` (F finite step, N non-finite step):
 *
 * | step | grads | action        | c | totalSkips | lastFinite |
 * | ---- | ----- | ------------- | - | ---------- | ---------- |
 * | 1    | F     | applied       | 0 | 0          | true       |
 * | 2    | N     | skipped       | 1 | 1          | false      |
 * | 3    | N     | skipped       | 2 | 2          | false      |
 * | 4    | N     | let through   | 0 | 2          | false      |
 * | 5    | N     | skipped       | 1 | 3          | false      |
 * | 6    | F     | applied       | 0 | 3          | true       |
 *
 * @example
 * const tx = applyIfFinite(adam({ learningRate: 1e-3 }), { maxConsecutiveErrors: 5 })
 * let state = tx.init(params)
 * const [u, next] = tx.update({ w: tensor([NaN, 1]) }, state, params) // u = zeros, next.totalSkips = 1
 * @category combinators
 */
export function applyIfFinite<S>(tx: GradientTransformation<S>, options: ApplyIfFiniteOptions): GradientTransformation<ApplyIfFiniteState<S>> {
  checkTransformation('tx', tx)
  checkOptions('options', options, ['maxConsecutiveErrors'])
  const m = options?.maxConsecutiveErrors
  const maxErrors = m === Infinity ? m : checkNumber('maxConsecutiveErrors', m, { min: 0, integer: true })
  const make = (consecutiveSkips: number, totalSkips: number, lastFinite: boolean, innerState: S): ApplyIfFiniteState<S> =>
    Object.freeze({ consecutiveSkips, totalSkips, lastFinite, innerState })
  return transformation<ApplyIfFiniteState<S>>({
    init: (params) => make(0, 0, true, tx.init(params)),
    update: (grads, state, params) => {
      checkState('state', state, APPLY_IF_FINITE_KEYS, 'applyIfFinite')
      const { consecutiveSkips: c, totalSkips, innerState } = state
      const mayLetThrough = c >= maxErrors
      const skip = (): readonly [Params, ApplyIfFiniteState<S>] => [zeroUpdates(grads), make(c + 1, totalSkips + 1, false, innerState)]
      const gradsFinite = allFinite(grads)
      if (!gradsFinite && !mayLetThrough) return skip()
      const [updates, next] = tx.update(grads, innerState, params)
      if (gradsFinite && allFinite(updates)) return [updates, make(0, totalSkips, true, next)]
      if (mayLetThrough) return [updates, make(0, totalSkips, false, next)]
      return skip()
    },
  })
}

/**
 * The state of {@link zeroNans}: whether the last step found a NaN, per leaf.
 * @category model
 */
export interface ZeroNansState {
  /** A tree of the updates' structure with a boolean per leaf: did the last step replace a NaN there? */
  readonly foundNan: Tree<boolean>
}

/** `g`, with NaN replaced by 0 (a NaN is the one value not equal to itself). */
const ZERO_NAN = recurrence({ name: 'zeroNans', state: [], scalars: [], step: ({ g }) => ({ update: where('eq', g, g, g, 0) }) })
const zeroNan = recurrenceKernels(ZERO_NAN, () => ({}))

/**
 * Replaces every NaN in the updates by 0 (±Inf are left as they are) and
 * records, per leaf, whether it found one. A leaf without NaN passes through
 * as the same tensor (one read-only check); a leaf with NaN is rewritten in
 * one pass. Optax `zero_nans` (with its `ZeroNansState.found_nan`).
 *
 * @example
 * const tx = zeroNans()
 * const [u, s] = tx.update({ w: tensor([NaN, 2]) }, tx.init(params)) // u.w = [0, 2], s.foundNan = { w: true }
 * @category constructors
 */
export function zeroNans(): GradientTransformation<ZeroNansState> {
  return transformation<ZeroNansState>({
    init: (params) => Object.freeze({ foundNan: mapTree(params, () => false, 'params') }),
    update: (updates, state) => {
      checkState('state', state, ['foundNan'], 'zeroNans')
      const [out, foundNan] = walk([updates], ['updates'], isTensor, 2, ([leaf]) => {
        const t = leaf as Tensor
        const hasNan = Number.isNaN(maxAbs(t))
        return [hasNan ? map([t], [dtypeOf(t)], zeroNan(dtypeOf(t)))[0] : t, hasNan]
      })
      return [out as Params, Object.freeze({ foundNan: foundNan as Tree<boolean> })]
    },
  })
}

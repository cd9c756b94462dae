/**
 * The types of the transformation algebra: parameter trees and
 * `GradientTransformation`. They sit below everything in `core`, so the
 * algebra, its fusion and its donation import them without importing each
 * other in a circle.
 *
 * @module core
 */
import type { Tensor } from '../tensor/index.js'
import type { Tree } from '../tree/index.js'

/**
 * Parameters, gradients and updates: a tree of tensors.
 * @category model
 */
export type Params = Tree<Tensor>

/**
 * A pure gradient transformation, as in optax: `init` builds the state from
 * the parameters; `update` maps incoming updates (gradients, or the output of
 * the previous stage) and the state to outgoing updates and a new state. It
 * never writes its arguments. `params` is needed by transformations that look
 * at the parameters (`constrainParams`, weight decay).
 *
 * The outgoing updates have the structure of the incoming ones, so `update`
 * returns the caller's own tree type. Build one with {@link transformation}.
 *
 * @example
 * const scaleBy2 = transformation({ init: () => EMPTY_STATE, update: (u, s) => [mapTree(u, (t) => scaleAll(t, 2)), s] })
 * const [u] = scaleBy2.update({ w: tensor([1, 2]) }, scaleBy2.init({})) // u.w: [2, 4], typed { w: Tensor }
 * @category model
 */
export interface GradientTransformation<S = unknown> {
  /** The initial state for `params` (e.g. zero moments of each leaf's shape and dtype). */
  init(params: Params): S
  /**
   * Maps incoming `updates` and the old `state` to the outgoing updates (a
   * tree of the same structure, so of the same type `U`) and a new state;
   * `params` are the current parameters, for the stages that need them.
   * Writes none of its arguments.
   */
  update<U extends Params>(updates: U, state: S, params?: Params): readonly [U, S]
}

/**
 * The update function of a transformation as it is written: trees in, trees
 * out (the structure of `updates` is kept, which {@link transformation}
 * turns into the caller's own type).
 * @category model
 */
export type UpdateFn<S> = (updates: Params, state: S, params?: Params) => readonly [Params, S]

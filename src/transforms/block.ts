/**
 * What every stateful building block shares: its step count, its
 * zero-initialised state trees, its per-dtype hyperparameter math and its one
 * fused kernel pass per leaf.
 *
 * @module transforms
 */
import { type GradientTransformation, type Params, transformation } from '../core/index.js'
import { type Epilogue, type Fusion, epilogue, leafPass, perDtype, withFastPath } from '../core/fusion.js'
import { checkNumber } from '../errors/index.js'
import { type Arena, type Dtype, type Kernel, type Tensor, zerosLike } from '../tensor/index.js'
import { type Tree, mapTree } from '../tree/index.js'

/**
 * The step count of a block's state: the number of updates it has made,
 * which is also the 0-based step at which its schedules are evaluated next.
 * Throws a `ConfigError` naming `where` unless it is an integer `>= 0`.
 */
export function countOf(state: unknown, where = 'state.count'): number {
  const count = typeof state === 'object' && state !== null ? (state as { count?: unknown }).count : undefined
  return checkNumber(where, count, { min: 0, integer: true })
}

/**
 * A tree of zeros shaped like `params` (same structure, shapes and dtypes):
 * the initial value of every accumulator in Lasagne.
 */
export function zerosTree(params: Params): Params {
  return mapTree(params, zerosLike, 'params') as Params
}

/**
 * {@link perDtype} for a kernel that folds in the epilogue of `fusion`
 * (see {@link Epilogue}): `make` gets the rounding of the dtype and the
 * numbers to fold.
 */
export function kernels(fusion: Fusion, make: (round: (x: number) => number, e: Epilogue) => Kernel): (dtype: Dtype) => Kernel {
  return perDtype((round, dtype) => make(round, epilogue(fusion, dtype)))
}

const F = Math.fround

/** The prologue of one element: the incoming update `pre · g`, rounded to the dtype. */
export function incoming(g: number, e: Epilogue): number {
  return e.f32 ? F(e.pre * g) : e.pre * g
}

/**
 * The epilogue of one element: the raw update `u` rounded (where the
 * unfused block stores it), times `post` (rounded), plus `pk` (the param,
 * read before anything is written) when applying; the store rounds the sum.
 */
export function outgoing(u: number, pk: number, e: Epilogue): number {
  const v = e.f32 ? F(e.post * F(u)) : e.post * u
  return e.apply ? pk + v : v
}

/** No fusion: a plain update. */
export const UNFUSED: Fusion = Object.freeze({})

/**
 * A block from its `init` and its fused update `step(updates, state, fusion)`:
 * `update` is the step without fusion, and the step is registered as the
 * block's fast path for `chain` and `optimizer().step`.
 */
export function block<S>(init: (params: Params) => S, step: (updates: Params, state: S, fusion: Fusion) => readonly [Params, S]): GradientTransformation<S> {
  const tx = transformation<S>({ init, update: (updates, state) => step(updates, state, UNFUSED) })
  return withFastPath(tx, { run: (updates, state, _params, fusion) => step(updates, state, fusion) })
}

/**
 * The one fused pass of a block: walks `updates`, the block's state trees
 * and, when `fusion` applies the update, the params together (a mismatch
 * throws naming its path, e.g. `state.mu.W`) and runs `kernelFor(dtype)`
 * once per leaf over `[g, ...state leaves, p?]`, writing `nOut` tensors of
 * the leaf's dtype: the update (or `p + u`) first, then the new state, one
 * per state tree (`nOut = state.length` when the update is the first new
 * state tree itself). Returns the `nOut` output trees.
 *
 * Small leaves of one output tree share buffers (an {@link Arena} per
 * tree). Under donation (`fusion.recycle`) each new state tensor is written
 * over the buffer of the old one it replaces, and `p + u` over the params'.
 *
 * The kernels read their scalars into locals before their loop: V8 does not
 * hoist loads of closure variables out of it, which costs ~1.5× on a large
 * leaf.
 */
export function fusedPass(
  updates: Params,
  state: readonly Params[],
  names: readonly string[],
  nOut: number,
  kernelFor: (dtype: Dtype) => Kernel,
  fusion: Fusion = UNFUSED,
): Params[] {
  const { apply, recycle } = fusion
  const trees: readonly Tree[] = apply === undefined ? [updates, ...state] : [updates, ...state, apply.params]
  const treeNames = apply === undefined ? ['updates', ...names] : ['updates', ...names, 'params']
  const lead = nOut - state.length // 1 when the first output is the update, 0 when it is the first new state
  const recycleParams = apply?.recycle === true
  // under donation: each new state over the old state it replaces, `p + u` over the params
  const reuse =
    recycle === undefined
      ? () => undefined
      : (ts: readonly Tensor[], i: number) => {
          const old = i >= lead ? ts[1 + i - lead] : recycleParams ? ts[ts.length - 1] : undefined
          return old === undefined ? undefined : recycle(old)
        }
  // compared against the params (or the state), so a wrong update is the one named
  const last = trees.length - 1
  const stateAt = state.map((_, i) => i + 1)
  const checkOrder = apply === undefined ? [...stateAt, 0] : [last, ...stateAt, 0]
  return leafPass(trees, treeNames, nOut, kernelFor, reuse, checkOrder)
}

/**
 * What every stateful building block shares: its step count, its
 * zero-initialised state trees, its per-dtype hyperparameter math and its one
 * fused kernel pass per leaf.
 *
 * @module transforms
 */
import { type Params } from '../core/index.js'
import { checkNumber } from '../errors/index.js'
import { type Dtype, type Kernel, type Tensor, dtypeOf, map, roundTo, zerosLike } from '../tensor/index.js'
import { type Tree, mapTree, zipMany } from '../tree/index.js'

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
 * Builds a value once per dtype on first use: the hyperparameter math of one
 * update (coefficients rounded to the leaf's dtype, and the kernel closing
 * over them) runs at most once per dtype, never per element or per leaf.
 */
export function perDtype<T>(make: (round: (x: number) => number) => T): (dtype: Dtype) => T {
  let f32: T | undefined
  let f64: T | undefined
  return (dtype) => (dtype === 'float32' ? (f32 ??= make(roundTo('float32'))) : (f64 ??= make(roundTo('float64'))))
}

/**
 * The one fused pass of a block: walks `updates` and the block's state
 * trees together (a mismatch throws naming its path, e.g. `state.mu.W`) and
 * runs `kernelFor(dtype)` once per leaf over `[g, ...state leaves]`, writing
 * `nOut` new tensors of the leaf's dtype. Returns the `nOut` output trees.
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
): Params[] {
  const trees: readonly Tree[] = [updates, ...state]
  const outDtypes: Dtype[] = new Array<Dtype>(nOut)
  return zipMany(trees, ['updates', ...names], nOut, (ts: Tensor[]) => {
    const dtype = dtypeOf(ts[0])
    return map(ts, outDtypes.fill(dtype), kernelFor(dtype))
  }) as Params[]
}

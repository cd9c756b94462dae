/**
 * Fusion: how `chain` and `optimizer().step` run neighbouring elementwise
 * stages in one pass over memory per leaf, with results bit-identical to
 * running the stages one after another.
 *
 * A transformation may register a fast path (never required): a `run` that
 * performs its update with its neighbours folded in (a scale of the incoming
 * updates, a scale of the outgoing ones, and the addition to the params);
 * `scaling` for a stage that only multiplies the updates by a factor (folded
 * into a neighbour's kernel instead of running a pass of its own); and
 * `fromMoved` for a stage that works on the moved parameters `params + u`
 * (so that the stage before it can write them directly). Every intermediate
 * that the stages one after another would store in a tensor is rounded to
 * that tensor's dtype at the same place, so nothing changes but speed.
 *
 * @module core
 */
import { Arena, type Dtype, type FloatArray, type Kernel, type Tensor, dtypeOf, map, roundTo, sizeOf } from '../tensor/index.js'
import { type Tree, zipMany } from '../tree/index.js'
import type { GradientTransformation, Params } from './transformation.js'

/** A scale factor as a function of the leaf dtype, already in the precision the stage computes it in. */
export type Factor = (dtype: Dtype) => number

/** Where a new state or parameter tensor may be written: over the old one's buffer (donation), if it can be. */
export type Recycle = (old: Tensor) => FloatArray | undefined

/** What a stage's fused run must do around its own update `u`. */
export interface Fusion {
  /** Multiply the incoming updates first: `g ← pre · g`, rounded to the leaf dtype. */
  readonly pre?: Factor
  /** Multiply the outgoing updates last: `u ← post · u`, rounded to the leaf dtype. */
  readonly post?: Factor
  /** Return `params + u` (rounded to the params' dtype) instead of `u`; `recycle` lets it overwrite the params' buffers. */
  readonly apply?: { readonly params: Params; readonly recycle: boolean }
  /** Donation: buffers of the old state (and, with `apply.recycle`, of the params) that new tensors may take over. */
  readonly recycle?: Recycle
}

/** The optional fast paths of one transformation. */
export interface FastPath<S> {
  /** The update with `fusion` folded in. */
  readonly run?: (updates: Params, state: S, params: Params | undefined, fusion: Fusion) => readonly [Params, S]
  /** For a stage that only scales the updates: its factor and next state (`updates` read only when `needsUpdates`). */
  readonly scaling?: (state: S, updates: Params) => readonly [Factor, S]
  /** `scaling` looks at the updates (a norm), so they must be materialised before it runs. */
  readonly needsUpdates?: boolean
  /** For a stage that maps the moved params `params + u` to its update (`constrainParams`). */
  readonly fromMoved?: (moved: Params, state: S, params: Params, fusion: Fusion) => readonly [Params, S]
  /** The update ends by projecting the params (a chain whose last stage does): `chain` accepts it only as its last stage. */
  readonly projects?: boolean
  /** The stage passes its updates through unchanged (`identity`): it may follow a projection. */
  readonly neutral?: boolean
}

const registry = new WeakMap<object, FastPath<unknown>>()

/** Registers the fast paths of `tx` and returns `tx`. */
export function withFastPath<S>(tx: GradientTransformation<S>, fast: FastPath<S>): GradientTransformation<S> {
  registry.set(tx, fast as FastPath<unknown>)
  return tx
}

/** True for `constrainParams` and for a chain whose last stage other than identities ends with a projection of the params. */
export function endsWithProjection(tx: GradientTransformation<unknown> | undefined): boolean {
  const fast = tx === undefined ? undefined : fastPathOf(tx)
  return fast?.fromMoved !== undefined || fast?.projects === true
}

/** True for `identity()` (and chains of identities): a stage that changes nothing. */
export function isNeutral(tx: GradientTransformation<unknown>): boolean {
  return fastPathOf(tx)?.neutral === true
}

/** The fast paths registered for `tx`, if any. */
export function fastPathOf<S>(tx: GradientTransformation<S>): FastPath<S> | undefined {
  return registry.get(tx) as FastPath<S> | undefined
}

/** The epilogue of one leaf dtype: the numbers a fused kernel folds in. */
export interface Epilogue {
  /** Round every stored intermediate with `Math.fround`. */
  readonly f32: boolean
  /** `g ← pre · g` (1 when nothing is folded: an exact no-op). */
  readonly pre: number
  /** `u ← post · u` (1 when nothing is folded). */
  readonly post: number
  /** The kernel's last input is `p`, and its first output `p + u`. */
  readonly apply: boolean
}

/** The epilogue of `fusion` for leaves of `dtype`. */
export function epilogue(fusion: Fusion, dtype: Dtype): Epilogue {
  return { f32: dtype === 'float32', pre: fusion.pre?.(dtype) ?? 1, post: fusion.post?.(dtype) ?? 1, apply: fusion.apply !== undefined }
}

const F = Math.fround

/** `out = [p +] c2 · (c1 · u)`, each product rounded to the dtype when `f32`. */
function scaleKernel(c1: number, c2: number, f32: boolean, apply: boolean): Kernel {
  return (n, [out], ins) => {
    const a = c1
    const b = c2
    const u = apply ? ins[1] : ins[0]
    const p = ins[0]
    if (f32) {
      if (apply) for (let k = 0; k < n; k++) out[k] = p[k] + F(b * F(a * u[k]))
      else for (let k = 0; k < n; k++) out[k] = F(b * F(a * u[k]))
    } else if (apply) {
      for (let k = 0; k < n; k++) out[k] = p[k] + b * (a * u[k])
    } else {
      for (let k = 0; k < n; k++) out[k] = b * (a * u[k])
    }
  }
}

/**
 * The one per-leaf pass of the fused paths: zips `trees` (named `names` in
 * errors; they must agree in structure, shape and dtype; the zip refuses
 * leaves a donating step emptied), and runs `kernelFor(dtype)` over the leaves of each
 * position, writing `nOut` outputs. Output `i` goes into `reuse(ts, i)` when
 * that gives storage (donation), else into an arena (one per output tree,
 * so small leaves share buffers). Returns the `nOut` output trees.
 *
 * `checkOrder` lists the trees in the order they are compared: the first is
 * the reference, and a difference names the tree that departs from it, so
 * the trees a caller is likelier to get wrong (the incoming updates) go last.
 */
export function leafPass(
  trees: readonly Tree[],
  names: readonly string[],
  nOut: number,
  kernelFor: (dtype: Dtype) => Kernel,
  reuse: (ts: readonly Tensor[], i: number) => FloatArray | undefined,
  checkOrder?: readonly number[],
): Params[] {
  const specs = new Array<FloatArray>(nOut)
  const arenas = Array.from({ length: nOut }, () => new Arena())
  const pass = (ts: Tensor[]): Tensor[] => {
    const dtype = dtypeOf(ts[0])
    const n = sizeOf(ts[0].shape)
    for (let i = 0; i < nOut; i++) specs[i] = reuse(ts, i) ?? arenas[i].take(dtype, n)
    return map(ts, specs, kernelFor(dtype))
  }
  if (checkOrder === undefined) {
    return zipMany(trees, names, nOut, (ts) => pass(ts)) as Params[]
  }
  const ordered = checkOrder.map((i) => trees[i])
  const orderedNames = checkOrder.map((i) => names[i])
  const inKernelOrder = new Array<Tensor>(trees.length)
  return zipMany(ordered, orderedNames, nOut, (ts) => {
    for (let j = 0; j < ts.length; j++) inKernelOrder[checkOrder[j]] = ts[j]
    return pass(inKernelOrder)
  }) as Params[]
}

const NO_REUSE = (): undefined => undefined

/**
 * The elementwise tail as one pass over `updates`: each leaf multiplied by
 * the given factors in order (each product rounded to the leaf dtype), then
 * added to the params when `apply` is given (zipped as `applyUpdates` does,
 * params first). Returns `updates` itself when there is nothing to do.
 */
export function scaleTree(updates: Params, factors: readonly (Factor | undefined)[], apply?: Fusion['apply'], recycle?: Recycle): Params {
  const fs = factors.filter((f): f is Factor => f !== undefined)
  if (fs.length > 2) return scaleTree(scaleTree(updates, fs.slice(0, 2)), fs.slice(2), apply, recycle)
  if (fs.length === 0 && apply === undefined) return updates
  const kernelFor = perDtype((_, dtype) => scaleKernel(fs[0]?.(dtype) ?? 1, fs[1]?.(dtype) ?? 1, dtype === 'float32', apply !== undefined))
  if (apply === undefined) return leafPass([updates], ['updates'], 1, kernelFor, NO_REUSE)[0]
  const reuse = apply.recycle && recycle !== undefined ? (ts: readonly Tensor[]) => recycle(ts[0]) : NO_REUSE
  return leafPass([apply.params, updates], ['params', 'updates'], 1, kernelFor, reuse)[0]
}

/**
 * Builds a value once per dtype on first use: the hyperparameter math of one
 * update (coefficients rounded to the leaf's dtype, and the kernel closing
 * over them) runs at most once per dtype, never per element or per leaf.
 */
export function perDtype<T>(make: (round: (x: number) => number, dtype: Dtype) => T): (dtype: Dtype) => T {
  let f32: T | undefined
  let f64: T | undefined
  return (dtype) => (dtype === 'float32' ? (f32 ??= make(roundTo('float32'), 'float32')) : (f64 ??= make(roundTo('float64'), 'float64')))
}

/** `out = [p +] post · (q − p)`, the difference and the product rounded to the dtype when `f32`. */
function differenceKernel(post: number, f32: boolean, apply: boolean): Kernel {
  return (n, [out], [q, p]) => {
    const c = post
    for (let k = 0; k < n; k++) {
      const pk = p[k]
      const d = f32 ? F(c * F(q[k] - pk)) : c * (q[k] - pk)
      out[k] = apply ? pk + d : d
    }
  }
}

/**
 * The update that moves `params` to `target` (`target − params`, leaf by
 * leaf, zipped under `names`), with `fusion.post` and `fusion.apply` folded
 * into the same pass; with `apply` the result is `params + (target − params)`
 * rounded as the stages one by one would (not `target` itself).
 */
export function differenceTree(target: Params, params: Params, names: readonly [string, string], fusion: Fusion): Params {
  const { post, apply, recycle } = fusion
  const kernelFor = perDtype((_, dtype) => differenceKernel(post?.(dtype) ?? 1, dtype === 'float32', apply !== undefined))
  const reuse = apply?.recycle === true && recycle !== undefined ? (ts: readonly Tensor[]) => recycle(ts[1]) : NO_REUSE
  return leafPass([target, params], names, 1, kernelFor, reuse)[0]
}

/** Runs `tx`'s update with `fusion` folded in: its fast path, or the update between materialised passes. */
export function runFused<S>(tx: GradientTransformation<S>, updates: Params, state: S, params: Params | undefined, fusion: Fusion): readonly [Params, S] {
  const fast = fastPathOf(tx)
  if (fast?.run !== undefined) return fast.run(updates, state, params, fusion)
  const [u, s] = tx.update(scaleTree(updates, [fusion.pre]), state, params)
  return [scaleTree(u, [fusion.post], fusion.apply, fusion.recycle), s]
}

/** True for a stage that only scales the updates by a factor of its own (not of the updates). */
function pureScaling(tx: GradientTransformation<unknown> | undefined): boolean {
  const fast = tx === undefined ? undefined : fastPathOf(tx)
  return fast?.scaling !== undefined && fast.needsUpdates !== true
}

/**
 * The fused update of `chain(...txs)`: scaling stages fold into the next
 * stage (`pre`) or the previous one (`post`), a stage followed by one that
 * wants the moved params produces `params + u` directly, and the last stage
 * takes the chain's own `post` and `apply`. Returns the updates and the
 * per-stage states.
 */
export function runChain(
  txs: readonly GradientTransformation<unknown>[],
  updates: Params,
  states: readonly unknown[],
  params: Params | undefined,
  fusion: Fusion,
): [Params, unknown[]] {
  const n = txs.length
  const next = new Array<unknown>(n)
  const inner: Fusion = { recycle: fusion.recycle }
  let u = updates
  let pre = fusion.pre
  for (let i = 0; i < n; i++) {
    const fast = fastPathOf(txs[i])
    if (fast?.scaling !== undefined) {
      // one pending factor at most: an earlier one (or any, before a norm) is applied first
      if (pre !== undefined) u = scaleTree(u, [pre])
      const [factor, s] = fast.scaling(states[i], u)
      next[i] = s
      pre = factor
      continue
    }
    let post: Factor | undefined
    let j = i + 1
    if (pureScaling(txs[j])) {
      ;[post, next[j]] = (fastPathOf(txs[j]) as FastPath<unknown>).scaling!(states[j], u)
      j += 1
    }
    if (j === n) {
      // the last stage takes the chain's own epilogue (one post at most: a second is a pass of its own)
      if (post !== undefined && fusion.post !== undefined) {
        ;[u, next[i]] = runFused(txs[i], u, states[i], params, { pre, post, recycle: fusion.recycle })
        return [scaleTree(u, [fusion.post], fusion.apply, fusion.recycle), next]
      }
      ;[u, next[i]] = runFused(txs[i], u, states[i], params, { ...fusion, pre, post: post ?? fusion.post })
      return [u, next]
    }
    const mover = fastPathOf(txs[j])?.fromMoved
    if (mover !== undefined && params !== undefined) {
      const [moved, s] = runFused(txs[i], u, states[i], params, { pre, post, apply: { params, recycle: false }, recycle: fusion.recycle })
      next[i] = s
      const lastMover = j === n - 1
      ;[u, next[j]] = mover(moved, states[j], params, lastMover ? { post: fusion.post, apply: fusion.apply, recycle: fusion.recycle } : inner)
      if (lastMover) return [u, next]
    } else {
      ;[u, next[i]] = runFused(txs[i], u, states[i], params, { pre, post, recycle: fusion.recycle })
      j -= 1
    }
    pre = undefined
    i = j
  }
  // the chain ended with scaling stages (or has none): the pending factor, the chain's post and apply in one pass
  return [scaleTree(u, [pre, fusion.post], fusion.apply, fusion.recycle), next]
}

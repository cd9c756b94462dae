/**
 * Constraints as chainable transformations: {@link leafwise} and
 * {@link treewise} apply a constraint to the incoming updates,
 * {@link constrainParams} projects the parameters after the step, and
 * {@link clipByTotalNorm} clips by the total norm and keeps that norm in its
 * state for logging.
 *
 * @module transforms
 */
import { EMPTY_STATE, type EmptyState, type GradientTransformation, type Params, transformation } from '../core/index.js'
import { type Fusion, differenceTree, recurrenceKernels, scaleTree, withFastPath } from '../core/fusion.js'
import { clipByGlobalNorm, clipGradNorm, totalNormConstraint } from '../constraints/index.js'
import { commonDtype, lasagneTotal, tensorflowTotal, torchTotal, totalNorm } from '../constraints/norms.js'
import { ConfigError, checkFunction, StructureError, checkNumber, checkOptions, describe } from '../errors/index.js'
import { div, mul, recurrence, store } from '../kernel/index.js'
import { type Tensor, dtypeOf, map, roundTo } from '../tensor/index.js'
import { assertSameStructure, flatten, mapTree, unflatten } from '../tree/index.js'

/** Returns `f` when it is a function, otherwise throws a `ConfigError` naming `f`. */
function checkConstraint<F>(f: F): F {
  checkFunction('f', f, '(a constraint)')
  return f
}

/**
 * Rebuilds `tree` with its leaves replaced by `f(leaves)`; throws, naming
 * `root`, unless `f` returns one tensor of the same shape and dtype per leaf.
 */
function onLeaves(tree: Params, root: string, f: (ts: Tensor[]) => readonly Tensor[]): Params {
  const [ls, def] = flatten(tree, root)
  const out: unknown = f(ls)
  if (!Array.isArray(out) || out.length !== ls.length) {
    throw new StructureError(root, `the constraint must return one tensor per leaf (${ls.length}), got ${describe(out)}`)
  }
  const rebuilt = unflatten(def, out as Tensor[]) as Params
  assertSameStructure([tree, rebuilt], [root, `constraint(${root})`])
  return rebuilt
}

/**
 * Applies `f` to every update leaf on its own: `u_i ↦ f(u_i)`. Stateless.
 * Use it for per-tensor constraints on gradients (`clipByNorm`, `renorm`).
 *
 * @example
 * const tx = chain(leafwise((g) => clipByNorm(g, 1)), scaleByLearningRate(0.1))
 * @category transforms
 */
export function leafwise(f: (t: Tensor) => Tensor): GradientTransformation<EmptyState> {
  checkConstraint(f)
  return transformation<EmptyState>({
    init: () => EMPTY_STATE,
    update: (updates, state) => {
      const out = mapTree(updates, f, 'updates') as Params
      assertSameStructure([updates, out], ['updates', 'constraint(updates)'])
      return [out, state]
    },
  })
}

/**
 * Applies `f` to all update leaves at once, in the canonical leaf order
 * (arrays by index, objects by sorted key): `[u_1..u_k] ↦ f([u_1..u_k])`.
 * Stateless. Use it for joint constraints (`totalNormConstraint`,
 * `clipByGlobalNorm`, `clipGradNorm`).
 *
 * @example
 * const tx = chain(treewise((gs) => clipByGlobalNorm(gs, 5)[0]), scaleByLearningRate(0.1))
 * @category transforms
 */
export function treewise(f: (ts: Tensor[]) => Tensor[]): GradientTransformation<EmptyState> {
  checkConstraint(f)
  return transformation<EmptyState>({
    init: () => EMPTY_STATE,
    update: (updates, state) => [onLeaves(updates, 'updates', f), state],
  })
}

/**
 * Projects the parameters after the step: the emitted update is
 *
 * ```
 * u' = f(params + u) - params
 * ```
 *
 * so that `applyUpdates(params, u')` gives the constrained parameters
 * `f(params + u)` (up to one rounding of the subtraction and re-addition).
 * `f` sees all parameter leaves at once in canonical order. Stateless; needs
 * `params` (a `StructureError` naming `params` when they are missing); place
 * it last in a chain, after the learning rate.
 *
 * This is how Lasagne's `norm_constraint` is used: applied to the updated
 * parameter after every step (max-norm regularisation).
 *
 * @example
 * // max-norm regularisation: every weight matrix's columns stay within norm 3 after each step
 * const tx = chain(
 *   adam({ learningRate: 1e-3 }),
 *   constrainParams((ps) => ps.map((p) => (p.shape.length === 2 ? normConstraint(p, 3) : p))),
 * )
 * const opt = optimizer(tx)
 * let state = opt.init(params)
 * ;[params, state] = opt.step(params, grads, state)
 * @category transforms
 */
export function constrainParams(f: (ts: Tensor[]) => Tensor[]): GradientTransformation<EmptyState> {
  checkConstraint(f)
  // from the moved params `params + u`: the update `f(moved) − params`, with the fusion's tail in the same pass
  const fromMoved = (moved: Params, state: EmptyState, params: Params, fusion: Fusion): readonly [Params, EmptyState] => {
    const projected = onLeaves(moved, 'params', f)
    return [differenceTree(projected, params, ['constrained params', 'params'], fusion), state]
  }
  const run = (updates: Params, state: EmptyState, params: Params | undefined, fusion: Fusion): readonly [Params, EmptyState] => {
    if (params === undefined) {
      throw new StructureError('params', 'constrainParams needs the parameters: call update(updates, state, params)')
    }
    // `params + u` (as applyUpdates), with any pending scale of `u` in the same pass
    return fromMoved(scaleTree(updates, [fusion.pre], { apply: { params, recycle: false }, precision: fusion.precision }), state, params, fusion)
  }
  const tx = transformation<EmptyState>({ init: () => EMPTY_STATE, update: (updates, state, params) => run(updates, state, params, {}) })
  return withFastPath(tx, { run, fromMoved, ownState: true })
}

/**
 * Which system's total-norm clipping {@link clipByTotalNorm} reproduces:
 * - `'lasagne'`: {@link totalNormConstraint}, `g · min(N, m)/(N + 1e-7)`
 *   (in-bound gradients shrink by `N/(N+1e-7)`);
 * - `'torch'`: {@link clipGradNorm}, `g · min(m/(N + 1e-6), 1)`;
 * - `'tensorflow'`: {@link clipByGlobalNorm}, exact no-op at or under the
 *   bound, `g · m/N` above; a non-finite `N` makes every update NaN.
 * - `'optax'`: optax `clip_by_global_norm`, `g` unchanged when `N < m`, else
 *   `(g / N) · m` (so at `N = m` too, up to rounding). An infinite `N` sends
 *   the finite entries to 0 (and infinite ones to NaN), a NaN `N` every
 *   entry to NaN; `m = ∞` leaves every finite-norm update unchanged, and
 *   `m = 0` zeroes them (NaN for an all-zero update, `0/0`).
 * @category transforms
 */
export type TotalNormFlavor = 'lasagne' | 'torch' | 'tensorflow' | 'optax'

/** optax's clipped entry: `(g / N) · m`, each operation rounded to the leaf dtype. */
const OPTAX_CLIP = recurrence({
  name: 'clip_by_global_norm (optax)',
  state: [],
  scalars: ['norm', 'maxNorm'],
  step: ({ g }, { norm, maxNorm }) => ({ update: store(mul(store(div(g, norm)), maxNorm)) }),
})

/** optax `clip_by_global_norm` on a list of tensors: `[clipped, N]`. */
function optaxClip(ts: Tensor[], maxNorm: number): [Tensor[], number] {
  checkNumber('maxNorm', maxNorm, { min: 0, allowInfinity: true })
  if (ts.length === 0) return [[], 0]
  // optax sums in the leaves' dtype and compares there
  const r = roundTo(commonDtype(ts))
  const norm = r(totalNorm(ts, 2).norm)
  if (norm < r(maxNorm)) return [ts, norm]
  const kernelFor = recurrenceKernels(OPTAX_CLIP, (round) => ({ norm: round(norm), maxNorm: round(maxNorm) }))
  return [ts.map((t) => map([t], [dtypeOf(t)], kernelFor(dtypeOf(t)))[0]), norm]
}

/** Options of {@link clipByTotalNorm}. */
export interface ClipByTotalNormOptions {
  /** The source system's formula. Default `'lasagne'`. */
  readonly flavor?: TotalNormFlavor
}

/** State of {@link clipByTotalNorm}. */
export interface ClipByTotalNormState {
  /** The total L2 norm of the last incoming updates, before clipping (0 before the first update). */
  readonly norm: number
}

const CLIPPERS: Readonly<Record<TotalNormFlavor, (ts: Tensor[], maxNorm: number) => [Tensor[], number]>> = Object.freeze({
  lasagne: (ts, m) => totalNormConstraint(ts, m, { returnNorm: true }),
  torch: (ts, m) => clipGradNorm(ts, m),
  tensorflow: (ts, m) => clipByGlobalNorm(ts, m),
  optax: optaxClip,
})

/**
 * Clips the updates by their total L2 norm `N = sqrt(Σ_i Σ u_i²)` (every
 * element of every leaf) to at most `maxNorm`, and keeps `N` (before
 * clipping) in its state so a training loop can log it. The formula is the
 * chosen `flavor`'s (default `'lasagne'`, Lasagne's `total_norm_constraint`
 * as its docs recommend for recurrent networks); see {@link TotalNormFlavor}.
 * `maxNorm` is validated when the transform is built, by the flavor's own
 * rules.
 *
 * @example
 * // clipping an RNN's gradients by total norm, then logging the norm
 * const tx = chain(clipByTotalNorm(5), scaleByLearningRate(0.01))
 * let state = tx.init(params)
 * const [updates, next] = tx.update(grads, state, params)
 * console.log('gradient norm', next[0].norm)
 * @category transforms
 */
export function clipByTotalNorm(maxNorm: number, options?: ClipByTotalNormOptions): GradientTransformation<ClipByTotalNormState> {
  checkOptions('options', options, ['flavor'])
  const flavor = options?.flavor ?? 'lasagne'
  if (!Object.hasOwn(CLIPPERS, flavor)) {
    throw new ConfigError('options.flavor', `expected one of ${Object.keys(CLIPPERS).join(', ')}, got ${describe(flavor)}`)
  }
  const clip = CLIPPERS[flavor]
  clip([], maxNorm) // validates maxNorm now, not at the first step
  const tx = transformation<ClipByTotalNormState>({
    init: () => Object.freeze({ norm: 0 }),
    update: (updates) => {
      let norm = 0
      const clipped = onLeaves(updates, 'updates', (ts) => {
        const [ys, n] = clip(ts, maxNorm)
        norm = n
        return ys
      })
      return [clipped, Object.freeze({ norm })]
    },
  })
  const factorOf = FACTORS[flavor]
  if (factorOf === undefined) return tx
  // Lasagne's, torch's and TensorFlow's clipping multiply every update by one factor: in a chain it folds into the next stage's pass
  return withFastPath(tx, {
    ownState: true, // the norm, a number
    needsUpdates: true,
    scaling: (_state, updates) => {
      const [multiplier, norm] = factorOf(flatten(updates, 'updates')[0], maxNorm)
      return [() => multiplier, Object.freeze({ norm })]
    },
  })
}

/**
 * The flavors whose clipping is `u · factor` for one factor of all the
 * updates (`scaleAll`), with that factor and the norm they report. optax
 * divides by the norm, then multiplies: two roundings, not one factor.
 */
const FACTORS: Partial<Record<TotalNormFlavor, (ts: Tensor[], maxNorm: number) => [factor: number, norm: number]>> = {
  lasagne: (ts, m) => lasagneTotal(ts, m, 1e-7)(),
  torch: (ts, m) => {
    const [factor, , norm] = torchTotal(ts, m)
    return [factor, norm]
  },
  tensorflow: (ts, m) => {
    const [factor, , norm] = tensorflowTotal(ts, m)
    return [factor, norm]
  },
}

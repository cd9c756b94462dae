/**
 * optax's transformations that scale each leaf (or each unit of a leaf) by
 * a factor of its own norms: block-RMS clipping, the trust ratio of LARS
 * and LAMB, and adaptive gradient clipping; and gradient centralization,
 * which subtracts each unit's mean.
 *
 * @module transforms
 */
import { EMPTY_STATE, type EmptyState, type GradientTransformation, type Params, transformation } from '../core/index.js'
import { sliceNorms, totalNorm } from '../constraints/norms.js'
import { ConfigError, checkNumber, checkOptions } from '../errors/index.js'
import { type Tensor, broadcastSlices, dtypeOf, normalizeAxes, reduce, roundTo, scaleAll, scaleSlices, sub } from '../tensor/index.js'
import { mapTree, zipTrees } from '../tree/index.js'

/** A stateless stage mapping each leaf's update `u` (and its param `p`, zipped with the params first, when `f` reads it). */
function leafStage(owner: string, f: (u: Tensor, p?: Tensor) => Tensor, readsParams: boolean): GradientTransformation<EmptyState> {
  return transformation<EmptyState>({
    init: () => EMPTY_STATE,
    update: (updates, state, params) => {
      if (!readsParams) return [mapTree(updates, (u) => f(u), 'updates') as Params, state]
      if (params === undefined) throw new ConfigError('params', `${owner} needs the params (pass them to update)`)
      return [zipTrees([params, updates], ['params', 'updates'], ([p, u]) => f(u, p)) as Params, state]
    },
  })
}

/** The L2 norm of a whole leaf, rounded to its dtype. */
function normOf(t: Tensor): number {
  return roundTo(dtypeOf(t))(totalNorm([t], 2).norm)
}

/** The root mean square of a whole leaf as optax takes it, `sqrt(mean(t²))`: the mean and the root each rounded to its dtype. */
function rmsOf(t: Tensor): number {
  const r = roundTo(dtypeOf(t))
  return r(Math.sqrt(r(reduce(t, normalizeAxes(undefined, t.shape.length, 't'), 'sumsq')[0] / Math.max(t.size, 1))))
}

/**
 * Clips each leaf to an RMS of at most `threshold` (optax
 * `clip_by_block_rms`): `u / max(1, sqrt(mean(u²)) / threshold)`.
 *
 * @example
 * const tx = chain(clipByBlockRms(1), sgd(0.1))
 * @category transforms
 */
export function clipByBlockRms(threshold: number): GradientTransformation<EmptyState> {
  const limit = checkNumber('threshold', threshold, { min: 0, minExclusive: true })
  return leafStage(
    'clipByBlockRms',
    (u) => {
      const r = roundTo(dtypeOf(u))
      return scaleAll(u, r(1 / Math.max(1, r(rmsOf(u) / r(limit)))))
    },
    false,
  )
}

/**
 * Options of {@link scaleByTrustRatio}.
 * @category model
 */
export interface ScaleByTrustRatioOptions {
  /** Norms below it count as it; default 0. */
  readonly minNorm?: number
  /** A multiplier of the ratio; default 1. */
  readonly trustCoefficient?: number
  /** Added to the update's norm; default 0. */
  readonly epsilon?: number
}

/**
 * Scales each leaf's update by its trust ratio (optax
 * `scale_by_trust_ratio`, LARS and LAMB):
 * `trustCoefficient · ‖p‖ / (‖u‖ + epsilon)`, each norm at least `minNorm`,
 * and 1 where either norm is 0 (as optax has it). Reads the params.
 *
 * @example
 * const lambLike = chain(scaleByAdam({ flavor: 'optax' }), scaleByTrustRatio(), scaleByLearningRate(1e-3))
 * @category transforms
 */
export function scaleByTrustRatio(options: ScaleByTrustRatioOptions = {}): GradientTransformation<EmptyState> {
  checkOptions('scaleByTrustRatio', options, ['minNorm', 'trustCoefficient', 'epsilon'])
  const minNorm = checkNumber('minNorm', options.minNorm ?? 0, { min: 0 })
  const coefficient = checkNumber('trustCoefficient', options.trustCoefficient ?? 1)
  const epsilon = checkNumber('epsilon', options.epsilon ?? 0, { min: 0 })
  return leafStage(
    'scaleByTrustRatio',
    (u, p) => {
      const r = roundTo(dtypeOf(u))
      const pn = Math.max(normOf(p!), minNorm)
      const un = Math.max(normOf(u), minNorm)
      return scaleAll(u, pn === 0 || un === 0 ? 1 : r(r(r(coefficient) * pn) / r(un + r(epsilon))))
    },
    true,
  )
}

/**
 * Options of {@link adaptiveGradClip}.
 * @category model
 */
export interface AdaptiveGradClipOptions {
  /** Params with a norm below it count as it (so zero-initialised params can move); default 1e-3. */
  readonly epsilon?: number
  /** The axes of each unit's norm; default by rank as optax (1-D: all; 2-D, 3-D: 0; 4-D: 0, 1, 2; 5-D: 0–3). */
  readonly axis?: number | readonly number[]
}

/** optax's unit axes by rank. */
function unitAxes(t: Tensor, axis: AdaptiveGradClipOptions['axis']): number[] {
  const nd = t.shape.length
  if (axis !== undefined) return normalizeAxes(axis, nd, 'axis')
  if (t.shape.filter((n) => n !== 1).length <= 1) return Array.from({ length: nd }, (_, i) => i)
  if (nd === 2 || nd === 3) return [0]
  if (nd === 4) return [0, 1, 2]
  if (nd === 5) return [0, 1, 2, 3]
  throw new ConfigError('axis', `no default unit axes for a ${nd}-D leaf: give axis`)
}

/**
 * Adaptive gradient clipping (Brock et al. 2021; optax
 * `adaptive_grad_clip`): each unit of each update is clipped to a norm of
 * at most `clipping · max(‖p_unit‖, epsilon)`: unchanged below it, else
 * scaled by `maxNorm / max(‖u_unit‖, 1e-6)`. Reads the params.
 *
 * @example
 * const tx = chain(adaptiveGradClip(0.01), sgd(0.1))
 * @category transforms
 */
export function adaptiveGradClip(clipping: number, options: AdaptiveGradClipOptions = {}): GradientTransformation<EmptyState> {
  const c = checkNumber('clipping', clipping, { min: 0 })
  checkOptions('adaptiveGradClip', options, ['epsilon', 'axis'])
  const epsilon = checkNumber('epsilon', options.epsilon ?? 1e-3, { min: 0 })
  return leafStage(
    'adaptiveGradClip',
    (u, p) => {
      const r = roundTo(dtypeOf(u))
      const axes = unitAxes(u, options.axis)
      const gn = sliceNorms(u, axes, 2).norms
      const pn = sliceNorms(p!, axes, 2).norms
      const factors = gn.map((g, i) => {
        const maxNorm = r(r(c) * Math.max(r(pn[i]), epsilon))
        return r(g) < maxNorm ? 1 : r(maxNorm / Math.max(r(g), 1e-6))
      })
      return scaleSlices(u, factors, axes)
    },
    true,
  )
}

/**
 * Gradient centralization (Yong et al. 2020; optax `centralize`): each
 * update leaf of rank ≥ 2 minus its mean over every axis but the first,
 * `u − mean(u, axes 1..)`, so each output unit's update sums to zero.
 * Leaves of rank 0 and 1 pass unchanged. The mean is a compensated float64
 * sum rounded to the leaf's dtype; an infinite element makes its unit's
 * mean infinite and that element NaN, as in optax.
 *
 * @example
 * const tx = chain(centralize(), adam(1e-3))
 * @category transforms
 */
export function centralize(): GradientTransformation<EmptyState> {
  return leafStage(
    'centralize',
    (u) => {
      const nd = u.shape.length
      if (nd < 2) return u
      const axes = Array.from({ length: nd - 1 }, (_, i) => i + 1)
      const r = roundTo(dtypeOf(u))
      const count = u.size / u.shape[0]
      const means = reduce(u, axes, 'sum').map((s) => r(r(s) / count))
      return sub(u, broadcastSlices(means, u.shape, axes))
    },
    false,
  )
}

/**
 * Scales each leaf's update by its param's RMS (optax
 * `scale_by_param_block_rms`, Adafactor's `multiply_by_parameter_scale`):
 * `u · max(sqrt(mean(p²)), minScale)`, so steps are relative to the
 * weights' size. Reads the params; a NaN param makes its leaf's update NaN.
 *
 * @example
 * const tx = chain(scaleByFactoredRms(), scale(0.01), scaleByParamBlockRms(), scale(-1))
 * @category transforms
 */
export function scaleByParamBlockRms(minScale = 1e-3): GradientTransformation<EmptyState> {
  const floor = checkNumber('minScale', minScale, { min: 0 })
  return leafStage(
    'scaleByParamBlockRms',
    (u, p) => {
      const r = roundTo(dtypeOf(p!))
      const rms = rmsOf(p!)
      return scaleAll(u, rms <= r(floor) ? r(floor) : rms)
    },
    true,
  )
}

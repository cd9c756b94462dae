/**
 * Keras's weight constraints (`keras.constraints`): `UnitNorm`,
 * `MinMaxNorm` and `NonNeg`, on one array, with Keras's axis convention
 * (the axes the norm is taken over; 0 for a Dense kernel, one norm per
 * output unit). Keras `MaxNorm` is {@link normConstraint} with
 * `normAxes: [axis]`.
 *
 * @module constraints
 */
import { recurrenceKernels } from '../core/fusion.js'
import { checkNumber, checkOptions } from '../errors/index.js'
import { mul, recurrence, where } from '../kernel/index.js'
import { type Tensor, assertTensor, dtypeOf, map, normalizeAxes, roundTo } from '../tensor/index.js'
import { scaleWithin } from './norms.js'

/** Keras's `backend.epsilon()`. */
const EPSILON = 1e-7

/**
 * Options of {@link unitNorm}.
 * @category model
 */
export interface UnitNormOptions {
  /** The axis or axes of each norm (Keras `axis`, negative counts from the end); default 0. */
  readonly axis?: number | readonly number[]
}

/**
 * Keras `UnitNorm`: every slice over `axis` divided by `1e-7 + ‖slice‖₂`, so
 * each has norm (just under) 1. No slice ends above norm 1. A zero slice
 * stays zero.
 *
 * @example
 * unitNorm(tensor([[3, 0], [4, 0]])) // [[0.6, 0], [0.8, 0]] (less 1e-7 relative)
 * @category constraints
 */
export function unitNorm(w: Tensor, options: UnitNormOptions = {}): Tensor {
  const t = assertTensor(w, 'w')
  checkOptions('options', options, ['axis'])
  const axes = normalizeAxes(options.axis ?? 0, t.shape.length, 'axis')
  const r = roundTo(dtypeOf(t))
  return scaleWithin(t, axes, 2, 1, (n) => 1 / r(r(EPSILON) + r(n)))
}

/**
 * Options of {@link minMaxNorm}.
 * @category model
 */
export interface MinMaxNormOptions {
  /** The smallest norm; `>= 0`, default 0. */
  readonly minValue?: number
  /** The largest norm; `>= minValue`, default 1. */
  readonly maxValue?: number
  /** How far to move each norm into `[minValue, maxValue]`, in `[0, 1]`; default 1 (all the way). */
  readonly rate?: number
  /** The axis or axes of each norm (Keras `axis`); default 0. */
  readonly axis?: number | readonly number[]
}

/**
 * Keras `MinMaxNorm`: each slice over `axis` rescaled towards a norm in
 * `[minValue, maxValue]`:
 * `desired = rate · clip(n, minValue, maxValue) + (1 − rate) · n`,
 * `w · desired / (1e-7 + n)`. With `rate = 1`, no slice ends above
 * `maxValue`. A zero slice stays zero (Keras: `0 · desired / 1e-7`).
 *
 * @example
 * minMaxNorm(tensor([[3, 0.3], [4, 0.4]]), { minValue: 1, maxValue: 2 }) // column norms 2 and 1
 * @category constraints
 */
export function minMaxNorm(w: Tensor, options: MinMaxNormOptions = {}): Tensor {
  const t = assertTensor(w, 'w')
  checkOptions('options', options, ['minValue', 'maxValue', 'rate', 'axis'])
  const minValue = checkNumber('minValue', options.minValue ?? 0, { min: 0 })
  const maxValue = checkNumber('maxValue', options.maxValue ?? 1, { min: minValue })
  const rate = checkNumber('rate', options.rate ?? 1, { min: 0, max: 1 })
  const axes = normalizeAxes(options.axis ?? 0, t.shape.length, 'axis')
  const r = roundTo(dtypeOf(t))
  const desired = (n: number) => r(r(rate * r(Math.min(Math.max(n, minValue), maxValue))) + r(r(1 - rate) * n))
  return scaleWithin(t, axes, 2, rate === 1 ? maxValue : Infinity, (n) => r(desired(r(n)) / r(r(EPSILON) + r(n))))
}

/**
 * Keras `NonNeg`: `w · (w >= 0)`: negative entries become `−0`, NaN stays NaN.
 *
 * @example
 * nonNeg(tensor([1, -2, 0])) // [1, -0, 0]
 * @category constraints
 */
export function nonNeg(w: Tensor): Tensor {
  const t = assertTensor(w, 'w')
  return map([t], [dtypeOf(t)], nonNegKernel(dtypeOf(t)))[0]
}

const nonNegKernel = recurrenceKernels(
  recurrence({ name: 'nonNeg', state: [], scalars: [], step: ({ g }) => ({ update: mul(g, where('le', 0, g, 1, 0)) }) }),
  () => ({}),
)

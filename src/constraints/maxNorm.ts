/**
 * The max-norm constraint that leaves in-bound slices exactly unchanged (the
 * corrected `max_norm_` of the PyTorch forum thread).
 *
 * @module constraints
 */
import { checkOptions } from '../errors/index.js'
import { type Tensor, assertTensor, dtypeOf, normalizeAxes, roundTo } from '../tensor/index.js'
import { checkLimit, limitOf, scaleWithin } from './norms.js'

/** Options of {@link maxNorm}. */
export interface MaxNormOptions {
  /** The axis (or axes) summed over; negative axes wrap. Default `0`. */
  readonly axis?: number | readonly number[]
}

/**
 * Rescales every slice of `w` over `axis` whose L2 norm exceeds `maxValue`
 * down to norm `maxValue`, and returns every other slice **bit-identical**:
 *
 * ```
 * n  = sqrt(Σ_axis w²)                    (per slice)
 * n' = max(n, maxValue / 2)
 * y  = w · min(n', maxValue) / n'
 * ```
 *
 * This is the corrected version from the PyTorch forum thread: clamping the
 * norm from below at `maxValue/2` keeps the division away from 0 without an
 * epsilon, so an in-bound slice gets the factor `n'/n' = 1` exactly (no
 * `n/(n+eps)` shrink as in {@link normConstraint}, Keras `MaxNorm` or the
 * forum's original), and a clipped slice ends with norm `maxValue` up to
 * rounding. In float32 the norm and the quotient are rounded to float32.
 *
 * **Axes.** `axis` is summed over, as Keras `MaxNorm(axis=0)`: the default 0
 * bounds each column of a 2-D `(inputs, units)` kernel. A number or a list;
 * negative axes wrap; `[]` clips each element's magnitude.
 *
 * **Limits.** `maxValue` must be a number >= 0 (negative or NaN throws a
 * `ConfigError`). `maxValue = 0` gives zeros, zero slices included (the forum
 * code gives `0/0 = NaN` there). `maxValue = Infinity` is the identity (the
 * forum code gives `∞/∞ = NaN`).
 *
 * **NaN and Inf in the data** (as the forum code): a NaN in a slice makes the
 * whole slice NaN; an Inf gives NaN at the Inf entries and 0 elsewhere in its
 * slice. Zero slices stay zero.
 *
 * Reference: PyTorch forum, "How to correctly implement max norm constraint"
 * (the answer's `max_norm_`); the same bound as Keras `MaxNorm`.
 *
 * @example
 * const W = tensor([[3, 0.3], [4, 0.4]])
 * maxNorm(W, 1)              // [[0.6000000000000001, 0.3], [0.8, 0.4]]: column 1 unchanged, bit for bit
 * maxNorm(W, 1, { axis: 1 }) // rows instead
 * @category constraints
 */
export function maxNorm(w: Tensor, maxValue: number, options?: MaxNormOptions): Tensor {
  const t = assertTensor(w, 'w')
  checkOptions('options', options, ['axis'])
  const dtype = dtypeOf(t)
  const m = checkLimit('maxValue', maxValue, dtype, { allowInfinity: true })
  const axes = normalizeAxes(options?.axis ?? 0, t.shape.length, 'axis')
  const half = m / 2
  return scaleWithin(t, axes, 2, limitOf(maxValue, roundTo(dtype)), (norm) => {
    const n = norm < half ? half : norm // clamp(min = m/2); a NaN norm passes through
    const d = n > m ? m : n // clamp(max = m)
    return m === Infinity ? 1 : n === 0 ? 0 : d / n
  })
}

/**
 * TensorFlow `tf.clip_by_norm`: clip the L2 norm of a tensor (or of each of
 * its slices) to a bound, with an exact no-op under the bound.
 *
 * @module constraints
 */
import { type Tensor, assertTensor, dtypeOf, normalizeAxes, roundTo } from '../tensor/index.js'
import { checkLimit, limitOf, scaleWithin } from './norms.js'

/**
 * Clips `t` so that the L2 norm over `axes` is at most `clipNorm`, as
 * TensorFlow's `tf.clip_by_norm`:
 *
 * ```
 * n = sqrt(Σ_axes t²)                          (per slice; all axes when absent)
 * y = n <= clipNorm ? t : t · clipNorm / n
 * ```
 *
 * TensorFlow writes `(t·clipNorm) / max(n, clipNorm)`; the two agree above
 * the bound, and at or under it this function returns the slice **exactly**
 * unchanged (TF's `(t·c)/c` may move it by one ulp). A zero slice stays
 * zero. In float32 the norm is rounded to float32 as TF computes it, and
 * `clipNorm / n` is kept in float64 so that the product `t·clipNorm/n` is
 * rounded once, like TF's multiply-then-divide.
 *
 * **Axes.** `axes` are the axes summed over (TF's convention; negative axes
 * wrap); absent means all axes (one norm for the whole tensor); `[]` clips
 * each element to `[-clipNorm, clipNorm]`. Out-of-range, repeated or
 * non-integer axes throw an `AxisError`.
 *
 * **Limits.** `clipNorm` must be a finite number > 0; anything else throws a
 * `ConfigError` naming `clipNorm` (TF gives NaN for 0 and `Infinity`, and
 * treats a negative bound as 0).
 *
 * **NaN and Inf in the data** (as TF): a NaN in a slice makes the whole slice
 * NaN; an Inf gives NaN at the Inf entries and 0 elsewhere in its slice; an
 * overflowing sum of squares gives 0.
 *
 * Reference: TensorFlow `tf.clip_by_norm`.
 *
 * @example
 * clipByNorm(tensor([[1, 2, 3, 4, 5]], undefined, 'float32'), 2)
 * // [[0.26967996, 0.5393599, 0.80903983, 1.0787199, 1.3483998]]
 * const X = tensor([[0, 0], [3, 4], [30, 40], [300, 400]])
 * clipByNorm(X, 10, [1])   // rows: [[0, 0], [3, 4], [6, 8], [6, 8]]
 * @category constraints
 */
export function clipByNorm(t: Tensor, clipNorm: number, axes?: number | readonly number[]): Tensor {
  const x = assertTensor(t, 't')
  const dtype = dtypeOf(x)
  const c = checkLimit('clipNorm', clipNorm, dtype, { positive: true })
  const reduced = normalizeAxes(axes, x.shape.length, 'axes')
  // exact no-op at or under the bound; NaN n gives NaN
  return scaleWithin(x, reduced, 2, limitOf(clipNorm, roundTo(dtype)), (n) => (n <= c ? 1 : c / n))
}

/**
 * TensorFlow `tf.clip_by_global_norm`: one scale for a list of tensors from
 * their global L2 norm.
 *
 * @module constraints
 */
import { type Tensor, scaleAll } from '../tensor/index.js'
import { assertTensorList, tensorflowTotal } from './norms.js'

/**
 * Rescales all of `ts` by one scale so that their global L2 norm is at most
 * `clipNorm`, as TensorFlow's `tf.clip_by_global_norm`, and returns
 * `[clipped, globalNorm]` with the norm **before** clipping:
 *
 * ```
 * N     = sqrt(Σ_i Σ t_i²)
 * scale = N <= clipNorm ? 1 : clipNorm · (1/N)
 * y_i   = t_i · scale
 * ```
 *
 * Under or at the bound the tensors come back **exactly** unchanged (TF's
 * `clipNorm·(1/clipNorm)` can miss 1 by an ulp, e.g. for 49). Above it the
 * scale is TF's reciprocal-then-multiply, rounded to float32 when every
 * tensor is float32. A non-finite `N` (an Inf or NaN anywhere, or an
 * overflowing sum) makes **every** output all-NaN, as TF documents. The
 * tensors may differ in shape, rank and dtype; an empty list gives `[[], 0]`.
 *
 * **Limits.** `clipNorm` must be a finite number > 0; anything else throws a
 * `ConfigError` naming `clipNorm` (TF gives NaN for 0 and `Infinity` and
 * silently skips clipping for negative bounds).
 *
 * Reference: TensorFlow `tf.clip_by_global_norm` (and `tf.linalg.global_norm`).
 *
 * @example
 * const [clipped, norm] = clipByGlobalNorm([tensor(9), tensor([[0, 1, 2], [3, 4, 5], [6, 7, 8]])], 5)
 * // norm = 16.881943016134134; clipped[0] = 2.66556995...
 * @category constraints
 */
export function clipByGlobalNorm(ts: readonly Tensor[], clipNorm: number): [Tensor[], number] {
  const xs = assertTensorList(ts, 'ts')
  const [factor, , reported] = tensorflowTotal(xs, clipNorm)
  return [xs.map((t) => scaleAll(t, factor)), reported]
}

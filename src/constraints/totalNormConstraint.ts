/**
 * Lasagne / PyMC `total_norm_constraint`: one multiplier from the joint L2
 * norm of a list of tensors.
 *
 * @module constraints
 */
import { checkOptions } from '../errors/index.js'
import { type Tensor, scaleAll } from '../tensor/index.js'
import { assertTensorList, checkFlag, lasagneTotal } from './norms.js'

/** Options of {@link totalNormConstraint}. */
export interface TotalNormConstraintOptions {
  /** Added to the norm in the denominator. A finite number >= 0; default `1e-7`. */
  readonly epsilon?: number
  /** Also return the total norm before rescaling: `[tensors, norm]`. Default false. */
  readonly returnNorm?: boolean
}

/**
 * Rescales all of `xs` by one common multiplier so that their joint L2 norm
 * is at most `maxNorm`, exactly as Lasagne's and PyMC's
 * `total_norm_constraint` (gradient clipping for recurrent networks):
 *
 * ```
 * N    = sqrt(Σ_i Σ x_i²)                    (every element of every tensor)
 * y_i  = x_i · clip(N, 0, maxNorm) / (epsilon + N)
 * ```
 *
 * As in Lasagne the multiplier is always applied: lists already within the
 * bound shrink by `N/(N + epsilon)`. Tensors may differ in shape, rank and
 * dtype (0-d scalars included); `N` is computed in float32 when every tensor
 * is float32 and in float64 otherwise; each output keeps its input's dtype.
 * With `returnNorm: true` it returns `[ys, N]`, `N` being the norm **before**
 * rescaling. An empty list gives `[]` (and `N = 0`).
 *
 * **Limits.** `maxNorm` is a number >= 0 (negative or NaN throws a
 * `ConfigError`); `maxNorm = 0` gives zeros; `maxNorm = Infinity` keeps only
 * the in-bound shrink (an infinite `N` then leaves the tensors unchanged
 * instead of Lasagne's `∞/∞ = NaN`). `epsilon` is a finite number >= 0; with
 * `epsilon = 0` an all-zero list comes back as zeros (Lasagne: NaN).
 *
 * **NaN and Inf in the data** (as Lasagne): one NaN anywhere makes every
 * tensor all-NaN; one Inf anywhere gives NaN at the Inf entries and 0 at
 * every finite entry of every tensor; an overflowing sum of squares zeroes
 * everything.
 *
 * Reference: Lasagne `lasagne.updates.total_norm_constraint`, PyMC
 * `pymc.variational.updates.total_norm_constraint`.
 *
 * @example
 * const grads = [tensor(9), tensor([[0, 1, 2], [3, 4, 5], [6, 7, 8]])]
 * const [clipped, norm] = totalNormConstraint(grads, 5, { returnNorm: true })
 * // norm = 16.881943016134134 (sqrt(285)); clipped[0] = 2.665569934...
 * @category constraints
 */
export function totalNormConstraint(xs: readonly Tensor[], maxNorm: number, options: TotalNormConstraintOptions & { readonly returnNorm: true }): [Tensor[], number]
export function totalNormConstraint(xs: readonly Tensor[], maxNorm: number, options?: TotalNormConstraintOptions & { readonly returnNorm?: false }): Tensor[]
export function totalNormConstraint(xs: readonly Tensor[], maxNorm: number, options?: TotalNormConstraintOptions): Tensor[] | [Tensor[], number]
export function totalNormConstraint(xs: readonly Tensor[], maxNorm: number, options?: TotalNormConstraintOptions): Tensor[] | [Tensor[], number] {
  const ts = assertTensorList(xs, 'xs')
  checkOptions('options', options, ['epsilon', 'returnNorm'])
  const total = lasagneTotal(ts, maxNorm, options?.epsilon ?? 1e-7)
  const returnNorm = checkFlag('returnNorm', options?.returnNorm)
  const [multiplier, norm] = total()
  const ys = ts.map((t) => scaleAll(t, multiplier))
  return returnNorm ? [ys, norm] : ys
}

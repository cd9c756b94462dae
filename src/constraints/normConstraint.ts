/**
 * Lasagne / PyMC `norm_constraint`: max-norm regularisation of a weight
 * tensor, slice by slice.
 *
 * @module constraints
 */
import { checkNumber, checkOptions } from '../errors/index.js'
import { type Tensor, assertTensor, dtypeOf, roundTo } from '../tensor/index.js'
import { checkLimit, lasagneAxes, lasagneMultiplier, limitOf, scaleWithin } from './norms.js'

/** Options of {@link normConstraint}. */
export interface NormConstraintOptions {
  /**
   * The axes summed over (negative axes wrap). Default by ndim: `[0]` for
   * 2-D, `[1, …, ndim-1]` for 3-, 4- and 5-D; other ndims must name them.
   */
  readonly normAxes?: number | readonly number[]
  /** Added to the norm in the denominator. A finite number >= 0; default `1e-7`. */
  readonly epsilon?: number
}

/**
 * Rescales every slice of `x` (the sub-array over `normAxes`) so that its L2
 * norm is at most `maxNorm`, exactly as Lasagne's and PyMC's
 * `norm_constraint`:
 *
 * ```
 * n = sqrt(Σ_normAxes x²)            (per slice)
 * y = x · clip(n, 0, maxNorm) / (epsilon + n)
 * ```
 *
 * The multiplier is applied to every slice, so slices already within the
 * bound shrink by `n/(n + epsilon)` (Lasagne's behaviour; use {@link ndoptax!maxNorm | maxNorm}
 * for a constraint that leaves them exactly unchanged). A clipped slice ends
 * with norm `maxNorm·n/(n + epsilon)`, just below `maxNorm`. float32 inputs
 * are computed in float32 (norm, sum and quotient rounded), so they match
 * Lasagne's float32 results.
 *
 * **Axes.** `normAxes` are the axes reduced over (Lasagne's convention; torch's
 * `renorm` names the kept axis instead). Defaults: `[0]` for 2-D (a dense
 * layer's `(inputs, units)` kernel: one column per unit), all axes but 0 for
 * 3- to 5-D (one slice per output channel of a conv kernel). Any other ndim
 * without `normAxes` throws an `AxisError` whose message contains
 * `dimensionality`. Explicit `normAxes` work for any ndim; `[]` clips each
 * element's magnitude.
 *
 * **Limits.** `maxNorm` must be a number >= 0 (negative or NaN throws a
 * `ConfigError`; Lasagne would flip signs). `maxNorm = 0` gives zeros.
 * `maxNorm = Infinity` keeps Lasagne's in-bound shrink `n/(n + epsilon)` on
 * every slice (a slice of infinite norm is then left unchanged, the limit of
 * the shrink, where Lasagne gives `∞/∞ = NaN`). `epsilon` must be a finite
 * number >= 0; with `epsilon = 0` a zero slice comes back as zeros (Lasagne:
 * `0/0 = NaN`).
 *
 * **NaN and Inf in the data** (as Lasagne): a NaN in a slice makes the whole
 * slice NaN; an Inf in a slice gives NaN at the Inf entries and 0 elsewhere;
 * a sum of squares that overflows (|x| > ~1.8e19 in float32) gives 0 for the
 * slice, one that underflows erases the slice to 0. Zero slices stay zero.
 *
 * Reference: Lasagne `lasagne.updates.norm_constraint`, PyMC
 * `pymc.variational.updates.norm_constraint` (Keras `MaxNorm` has the same
 * formula).
 *
 * @example
 * const W = tensor([[3, 0.3], [4, 0.4]])      // 2 units, columns of norm 5 and 0.5
 * normConstraint(W, 1)                        // [[0.599999988, 0.29999994], [0.799999984, 0.39999992]]
 * normConstraint(W, 1, { normAxes: [1] })     // rows instead
 * @category constraints
 */
export function normConstraint(x: Tensor, maxNorm: number, options?: NormConstraintOptions): Tensor {
  const t = assertTensor(x, 'x')
  checkOptions('options', options, ['normAxes', 'epsilon'])
  const dtype = dtypeOf(t)
  const r = roundTo(dtype)
  const m = checkLimit('maxNorm', maxNorm, dtype, { allowInfinity: true })
  const eps = r(checkNumber('epsilon', options?.epsilon ?? 1e-7, { min: 0 }))
  const axes = lasagneAxes(t, options?.normAxes, false)
  return scaleWithin(t, axes, 2, limitOf(maxNorm, r), (n) => lasagneMultiplier(n, m, eps))
}

/**
 * PyTorch `torch.renorm`: bound the p-norm of every sub-tensor along a kept
 * dimension.
 *
 * @module constraints
 */
import { ShapeError, checkNumber } from '../errors/index.js'
import { type Tensor, assertTensor, dtypeOf, normalizeAxes, roundTo } from '../tensor/index.js'
import { checkLimit, limitOf, scaleWithin } from './norms.js'

/**
 * Rescales each sub-tensor `x.select(dim, i)` whose p-norm exceeds `maxnorm`,
 * exactly as PyTorch's `torch.renorm(x, p, dim, maxnorm)`:
 *
 * ```
 * n_i    = ‖x.select(dim, i)‖_p            (over every axis except dim)
 * factor = n_i > maxnorm ? maxnorm / (n_i + 1e-7) : 1
 * y      = x · factor
 * ```
 *
 * The comparison is strict and the 1e-7 is torch's, so a clipped sub-tensor
 * ends with norm `maxnorm·n/(n + 1e-7)`; in float32 the norm, the sum and the
 * quotient are rounded to float32 (the 1e-7 vanishes for norms above ~2).
 * Sub-tensors at or under the bound come back **bit-identical**.
 *
 * **Axes.** `dim` is the axis **kept** (the opposite of `normAxes` and
 * `axes` elsewhere): `renorm(W, 2, 1, m)` bounds the columns of a 2-D `W`,
 * like `normConstraint(W, m, { normAxes: [0] })` without the in-bound
 * shrink. Negative `dim` wraps; out of range throws an `AxisError`. `x` needs
 * at least 2 dimensions (a `ShapeError` otherwise, as torch).
 *
 * **Limits.** `p` must be > 0 (`Infinity` means max |x|, 1 the sum of |x|,
 * fractional values allowed); `p <= 0` or NaN throws a `ConfigError`.
 * `maxnorm` must be >= 0 (negative or NaN throws, as torch);
 * `maxnorm = 0` gives zeros; `maxnorm = Infinity` is the identity.
 *
 * **NaN and Inf in the data** (as torch): a sub-tensor holding a NaN has a
 * NaN norm, `NaN > maxnorm` is false, so it comes back **unchanged** (the NaN
 * and every other entry stay). An Inf gives NaN at the Inf entries and 0
 * elsewhere in its sub-tensor.
 *
 * Reference: PyTorch `torch.renorm` / `Tensor.renorm` (ATen `renorm`).
 *
 * @example
 * const X = tensor([[0, 0], [3, 4], [30, 40], [300, 400]])
 * renorm(X, 2, 0, 10)      // rows: [[0, 0], [3, 4], [5.999999988, 7.999999984], [5.9999999988, 7.9999999984]]
 * renorm(X, Infinity, 1, 350)   // columns by max |x|
 * @category constraints
 */
export function renorm(x: Tensor, p: number, dim: number, maxnorm: number): Tensor {
  const t = assertTensor(x, 'x')
  const nd = t.shape.length
  if (nd < 2) throw new ShapeError('x', `renorm needs at least 2 dimensions, got ${nd} dimensions`)
  const order = checkNumber('p', p, { min: 0, minExclusive: true, allowInfinity: true })
  const dtype = dtypeOf(t)
  const r = roundTo(dtype)
  const m = checkLimit('maxnorm', maxnorm, dtype, { allowInfinity: true })
  const [kept] = normalizeAxes([dim], nd, 'dim')
  const reduced = normalizeAxes(undefined, nd, 'dim').filter((a) => a !== kept)
  const eps = r(1e-7)
  // strict >, as torch: a NaN norm keeps its slice
  return scaleWithin(t, reduced, order, limitOf(maxnorm, r), (n) => (n > m ? m / (n + eps) : 1))
}

/**
 * Lasagne `compute_norms`: the L2 norm of every slice, reduced axes dropped.
 *
 * @module constraints
 */
import { type Tensor, assertTensor, dtypeOf, reducedShape, tensor } from '../tensor/index.js'
import { lasagneAxes, sliceNorms } from './norms.js'

/**
 * The L2 norm `sqrt(Σ_normAxes x²)` of every slice of `x`, as a new tensor of
 * `x`'s dtype whose shape is `x`'s with the reduced axes dropped (Lasagne's
 * `lasagne.utils.compute_norms`). It is the norm {@link normConstraint}
 * bounds, so `computeNorms(normConstraint(W, m))` shows the effect.
 *
 * **Axes.** `normAxes` are the axes summed over. Defaults as Lasagne: `[]`
 * for 1-D (the result is `|x|`), `[0]` for 2-D, all axes but 0 for 3- to 5-D;
 * any other ndim without `normAxes` throws an `AxisError` whose message
 * contains `dimensionality`. Negative axes wrap.
 *
 * **NaN and Inf**: a NaN in a slice gives a NaN norm, an Inf gives `Infinity`;
 * a sum of squares that overflows gives `Infinity` (the naive norm of every
 * reference system). A zero-size slice has norm 0.
 *
 * Reference: Lasagne `lasagne.utils.compute_norms`.
 *
 * @example
 * computeNorms(tensor([[3, 0], [4, 1]]))            // [5, 1]  (columns)
 * computeNorms(tensor([[3, 0], [4, 1]]), [1])       // [3, 4.123105625617661]  (rows)
 * @category constraints
 */
export function computeNorms(x: Tensor, normAxes?: number | readonly number[]): Tensor {
  const t = assertTensor(x, 'x')
  const dtype = dtypeOf(t)
  const axes = lasagneAxes(t, normAxes, true)
  return tensor(sliceNorms(t, axes, 2).norms, reducedShape(t.shape, axes, false), dtype)
}

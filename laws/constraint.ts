/**
 * The law suite of a norm constraint `f: Tensor -> Tensor` that claims an L2
 * bound over some axes: bound, direction, idempotence, purity, stride
 * invariance, shape and dtype.
 *
 * @module laws
 */
import type { Arbitrary } from 'fast-check'
import fc from 'fast-check'
import { ConfigError, checkFunction, checkNumber, checkOptions, describe } from '../src/errors/index.js'
import {
  type Dtype,
  type Tensor,
  copy,
  dtypeOf,
  formatShape,
  isTensor,
  normalizeAxes,
  reducedShape,
  scaleSlices,
  shapeEquals,
} from '../src/tensor/index.js'
import { sliceNorms } from '../src/constraints/norms.js'
import { type TensorArbOptions, type ViewRecipe, arbTensor, arbViewRecipe, defaultElements, viewOf } from './arbitraries.js'
import { type Tolerance, firstDifference, unravel } from './compare.js'
import { describeTensor, formatNumber } from './describe.js'
import { type RunOptions, guarded, runLaws, violation } from './report.js'
import { firstChange, snapshot } from './storage.js'

/**
 * The axes a constraint reduces over: an axis, a list (negative axes wrap),
 * or a function of the tensor's number of dimensions (for defaults that
 * depend on it, like Lasagne's `norm_constraint`).
 * @category model
 */
export type NormAxes = number | readonly number[] | ((ndim: number) => number | readonly number[])

/**
 * Options of {@link checkConstraintLaws}.
 * @category model
 */
export interface ConstraintLawOptions extends RunOptions {
  /** The bound the constraint claims for the L2 norm of every slice. */
  readonly maxNorm: number
  /** The axes each norm is taken over. Default: all axes (one norm for the whole tensor). */
  readonly normAxes?: NormAxes
  /** The tensors to constrain. Default: random tensors whose values reach a few times `maxNorm`. */
  readonly tensors?: Arbitrary<Tensor>
  /** Fewest axes of the generated tensors. Default: the fewest that `normAxes` needs. */
  readonly minDims?: number
  /** Most axes of the generated tensors. Default: 3, or the fewest `normAxes` needs if more. */
  readonly maxDims?: number
  /** The dtypes of the generated tensors. Default both. */
  readonly dtype?: Dtype | readonly Dtype[]
  /** Relative tolerance of bound, direction, idempotence and stride invariance. Default 1e-5. */
  readonly rtol?: number
  /** Absolute tolerance of the same. Default 1e-6. */
  readonly atol?: number
  /** How the constraint is named in reports. Default `'the constraint'`. */
  readonly name?: string
}

const OPTION_KEYS = ['maxNorm', 'normAxes', 'tensors', 'minDims', 'maxDims', 'dtype', 'rtol', 'atol', 'name', 'numRuns', 'seed', 'path'] as const

/** One generated case: a tensor (only ever copied, never handed over) and the layout of its view. */
export interface ConstraintCase {
  readonly x: Tensor
  readonly view: ViewRecipe
}

interface Settings {
  readonly maxNorm: number
  readonly axesOf: (ndim: number) => number[]
  readonly tol: Tolerance
}

function axesFor(normAxes: NormAxes | undefined): (ndim: number) => number[] {
  return (ndim) => normalizeAxes(typeof normAxes === 'function' ? normAxes(ndim) : normAxes, ndim, 'normAxes')
}

/** The fewest axes a fixed `normAxes` needs (0 when it is a function or absent). */
function dimsNeeded(normAxes: NormAxes | undefined): number {
  if (normAxes === undefined || typeof normAxes === 'function') return 0
  const list = typeof normAxes === 'number' ? [normAxes] : normAxes
  return list.reduce((m: number, a) => Math.max(m, a >= 0 ? a + 1 : -a), 0)
}

/** The L2 norm of every slice of `t` over `axes`: the library's own, right over the whole float range. */
function norms(t: Tensor, axes: readonly number[]): Float64Array {
  return sliceNorms(t, axes, 2).norms
}

/** Names slice `k` of `what` (a tensor of `shape`) over `axes`: `slice [1,0] of f(x) (norm over axes [2])`. */
function sliceName(what: string, k: number, shape: readonly number[], axes: readonly number[]): string {
  const kept = reducedShape(shape, axes, false)
  const over = axes.length === shape.length ? 'all axes' : `axes [${axes.join(',')}]`
  return kept.length === 0 ? `${what} (norm over ${over})` : `slice [${unravel(k, kept).join(',')}] of ${what} (norm over ${over})`
}

/** Calls `f` on `x` and checks purity, the result's kind, shape and dtype. */
function apply(f: (t: Tensor) => Tensor, x: Tensor, what: string): Tensor {
  const snap = snapshot(x, 'x')
  const y = guarded(what, () => f(x))
  const change = firstChange(snap, x)
  if (change !== null) violation('purity', `${what} wrote into its input: ${change}`)
  if (!isTensor(y)) violation('shape', `${what} returned ${describe(y)}; expected a tensor`)
  if (!shapeEquals(y.shape, x.shape)) violation('shape', `${what} returned shape ${formatShape(y.shape)} for an input of shape ${formatShape(x.shape)}`)
  if (dtypeOf(y) !== dtypeOf(x)) violation('dtype', `${what} returned ${dtypeOf(y)} for a ${dtypeOf(x)} input`)
  return y
}

/** Runs a constraint's whole law suite on one case (see {@link checkConstraintLaws}). */
export function constraintLaws(f: (t: Tensor) => Tensor, c: ConstraintCase, s: Settings): void {
  const x = copy(c.x)
  const axes = s.axesOf(x.shape.length)
  const y = apply(f, x, 'f(x)')
  const nx = norms(x, axes)
  const ny = norms(y, axes)
  const limit = s.maxNorm * (1 + s.tol.rtol) + s.tol.atol
  ny.forEach((n, k) => {
    if (!(n <= limit)) violation('bound', `${sliceName('f(x)', k, y.shape, axes)} has L2 norm ${formatNumber(n)} > maxNorm ${formatNumber(s.maxNorm)}`)
  })
  const factors = nx.map((n, k) => (n > 0 ? ny[k] / n : 0))
  factors.forEach((ck, k) => {
    if (!(ck <= 1 + s.tol.rtol)) violation('direction', `${sliceName('f(x)', k, y.shape, axes)} is ${formatNumber(ck)} times as long as in x; expected a factor in [0, 1]`)
  })
  const dir = firstDifference(y, scaleSlices(x, factors, axes), 'f(x)', s.tol)
  if (dir !== null) violation('direction', 'f(x) is not a non-negative multiple of x in every slice (want = c·x, c = |f(x)|/|x| per slice)', dir)
  const z = apply(f, y, 'f(f(x))')
  const idem = firstDifference(z, y, 'f(f(x))', s.tol)
  if (idem !== null) violation('idempotence', 'f(f(x)) differs from f(x)', idem)
  const v = viewOf(c.x, c.view)
  const yv = apply(f, v, 'f(view of x)')
  const stride = firstDifference(yv, y, 'f(view)', s.tol)
  if (stride !== null) violation('stride-invariance', 'f on a view differs from f on a contiguous copy of the same values', stride)
}

/** The case as text: the tensor and the view the suite derived from it. */
export function describeConstraintCase(c: ConstraintCase): string {
  return `  x: ${describeTensor(c.x)}\n  view of x: ${describeTensor(viewOf(c.x, c.view))}`
}

/**
 * Checks the laws of a norm constraint `f` that claims `‖f(x)_s‖₂ ≤ maxNorm`
 * for every slice `s` over `normAxes`, on `numRuns` generated tensors
 * (default 50), and throws a {@link LawViolation} for the first law that
 * fails, after fast-check has shrunk the tensor. With `a` = `atol` and `r` =
 * `rtol`, the laws are:
 *
 * - `purity`: `f` leaves its input bit-identical (storage bytes, shape, stride, offset);
 * - `shape`, `dtype`: `f(x)` is a tensor of `x`'s shape and dtype;
 * - `bound`: every slice of `f(x)` has L2 norm `<= maxNorm·(1 + r) + a`;
 * - `direction`: every slice of `f(x)` is `c · x_s` with `0 <= c <= 1 + r`, elementwise within `a + r·|c·x|`;
 * - `idempotence`: `f(f(x))` equals `f(x)` within `a + r·|f(x)|`;
 * - `stride-invariance`: `f` on a view of the same values (transposed,
 *   negative steps, offset into a larger buffer; derived by the suite even
 *   when `tensors` are contiguous) equals `f` on a contiguous copy within
 *   the same tolerance;
 * - `no-error`: `f` does not throw on these valid inputs.
 *
 * Reference: the bound that Lasagne's own test of `norm_constraint` checks
 * (`max norm <= maxNorm·(1 + 1e-5)`), extended to the other properties that
 * the norm constraints of Lasagne, TensorFlow, PyTorch and Keras share.
 *
 * @example
 * import { checkConstraintLaws } from 'ndoptax/laws'
 * checkConstraintLaws((w) => normConstraint(w, 2, { normAxes: [0] }), { maxNorm: 2, normAxes: [0], minDims: 2, maxDims: 2 })
 * checkConstraintLaws((t) => clipByNorm(t, 1), { maxNorm: 1 })
 * @category laws
 */
export function checkConstraintLaws(f: (t: Tensor) => Tensor, options: ConstraintLawOptions): void {
  checkFunction('f', f, '(t: Tensor) => Tensor')
  if (typeof options !== 'object' || options === null) throw new ConfigError('checkConstraintLaws options', `expected an options object with maxNorm, got ${describe(options)}`)
  checkOptions('checkConstraintLaws options', options, OPTION_KEYS)
  const maxNorm = checkNumber('maxNorm', options.maxNorm, { min: 0, allowInfinity: true })
  const rtol = checkNumber('rtol', options.rtol ?? 1e-5, { min: 0 })
  const atol = checkNumber('atol', options.atol ?? 1e-6, { min: 0 })
  const need = dimsNeeded(options.normAxes)
  const minDims = checkNumber('minDims', options.minDims ?? need, { min: 0, integer: true })
  const maxDims = checkNumber('maxDims', options.maxDims ?? Math.max(minDims, 3), { min: minDims, integer: true })
  const scale = Number.isFinite(maxNorm) && maxNorm > 0 ? maxNorm : 1
  const generated: TensorArbOptions = { minDims, maxDims, elements: defaultElements.map((v) => v * scale), ...(options.dtype === undefined ? {} : { dtype: options.dtype }) }
  const tensors = options.tensors ?? arbTensor(generated)
  const settings: Settings = { maxNorm, axesOf: axesFor(options.normAxes), tol: { rtol, atol } }
  const cases = fc.record({ x: tensors, view: arbViewRecipe() })
  runLaws(options.name ?? 'the constraint', cases, describeConstraintCase, (c) => constraintLaws(f, c, settings), options, 50)
}

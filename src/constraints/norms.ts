/**
 * Internal helpers shared by the constraint operations: slice norms from one
 * reduction pass, the Lasagne multiplier, the default Lasagne axes and the
 * validation of tensor lists and boolean flags. Not re-exported.
 *
 * @module constraints
 */
import { AxisError, ConfigError, StructureError, checkNumber, describe } from '../errors/index.js'
import { type Dtype, type Tensor, assertTensor, dtypeOf, normalizeAxes, reduce, roundTo } from '../tensor/index.js'

/** Rounds a float64 to the compute dtype (`roundTo(dtype)`). */
export type Round = (x: number) => number

/**
 * The p-norm of one slice from its reduced value `s` (`Σ x²` for p = 2,
 * `Σ |x|` for p = 1, `max |x|` for p = ∞, `Σ |x|^p` otherwise), with every
 * intermediate rounded by `r` as the source systems compute in the array's
 * dtype.
 */
export function normFromReduced(s: number, p: number, r: Round): number {
  if (p === 2) return r(Math.sqrt(r(s)))
  if (p === 1 || p === Infinity) return r(s)
  return r(r(s) ** r(1 / p))
}

/**
 * The p-norm of every slice of `x` over the reduced `axes` (normalized), in
 * row-major order of the kept axes: ONE storage-order `reduce` pass, then the
 * float64 finishing step in place.
 */
export function sliceNorms(x: Tensor, axes: readonly number[], p: number, r: Round): Float64Array {
  const values =
    p === 2 ? reduce(x, axes, 'sumsq') : p === 1 ? reduce(x, axes, 'sumabs') : p === Infinity ? reduce(x, axes, 'maxabs') : reduce(x, axes, 'sumpow', p)
  for (let i = 0; i < values.length; i++) values[i] = normFromReduced(values[i], p, r)
  return values
}

/** The L2 norm over every element of every tensor of `ts` (one reduce pass per tensor). */
export function totalL2Norm(ts: readonly Tensor[], r: Round): number {
  let s = 0
  for (const t of ts) s += reduce(t, normalizeAxes(undefined, t.shape.length, 'ts'), 'sumsq')[0]
  return normFromReduced(s, 2, r)
}

/**
 * Lasagne's multiplier `clip(n, 0, m) / (eps + n)` for a slice of norm `n`,
 * `m` and `eps` already rounded to the compute dtype. Two departures, both
 * where Lasagne would give NaN because of the options rather than the data:
 * - a zero target (zero slice with `eps = 0`, Lasagne `0/0`) gives 0;
 * - `m = +∞` with `n = +∞` gives the limit of `n/(n + eps)`, 1 (Lasagne `∞/∞`).
 * A NaN `n` passes through `clip` and makes the multiplier NaN, as in Lasagne.
 */
export function lasagneMultiplier(n: number, m: number, eps: number, r: Round): number {
  if (m === Infinity && n === Infinity) return 1
  const target = n > m ? m : n // clip(n, 0, m), n >= 0 or NaN
  if (target === 0) return 0
  return r(target / r(eps + n))
}

/**
 * Lasagne's total-norm multiplier of `ts`: validates `maxNorm` and
 * `epsilon` now, and returns the computation of
 * `[clip(N, 0, maxNorm) / (epsilon + N), N]`, `N` the joint L2 norm, in
 * `commonDtype(ts)` (one reduce pass per tensor when called). Every tensor
 * is then scaled by the one multiplier: `totalNormConstraint` does it in a
 * pass of its own, a fused optimizer step inside the next stage's pass.
 */
export function lasagneTotal(ts: readonly Tensor[], maxNorm: number, epsilon: number): () => [multiplier: number, norm: number] {
  const r = roundTo(commonDtype(ts))
  const m = r(checkNumber('maxNorm', maxNorm, { min: 0, allowInfinity: true }))
  const eps = r(checkNumber('epsilon', epsilon, { min: 0 }))
  return () => {
    const norm = totalL2Norm(ts, r)
    return [lasagneMultiplier(norm, m, eps, r), norm]
  }
}

/**
 * Lasagne's default `norm_axes`: `[0]` for 2-D, `[1..ndim-1]` for 3..5-D
 * (and `[]` for 1-D when `oneD` is set, as `compute_norms` does); any other
 * ndim throws an `AxisError` whose message contains `dimensionality`.
 * Explicit `normAxes` are normalized for any ndim.
 */
export function lasagneAxes(x: Tensor, normAxes: number | readonly number[] | undefined, oneD: boolean): number[] {
  const nd = x.shape.length
  if (normAxes !== undefined) return normalizeAxes(normAxes, nd, 'normAxes')
  if (nd === 2) return [0]
  if (nd >= 3 && nd <= 5) return Array.from({ length: nd - 1 }, (_, i) => i + 1)
  if (nd === 1 && oneD) return []
  throw new AxisError('normAxes', `Unsupported tensor dimensionality ${nd}. Must specify normAxes (defaults exist for ${oneD ? '1..5' : '2..5'} dimensions)`)
}

/**
 * Validates a list of tensors: an array whose entries are tensors (each
 * checked by `assertTensor` as `where[i]`).
 */
export function assertTensorList(xs: unknown, where: string): Tensor[] {
  if (!Array.isArray(xs)) throw new StructureError(where, `expected an array of tensors, got ${describe(xs)}`)
  return xs.map((x, i) => assertTensor(x, `${where}[${i}]`))
}

/**
 * The dtype the source systems compute a shared norm in: float32 when every
 * tensor is float32, float64 as soon as one is float64 (numpy/Theano upcast).
 */
export function commonDtype(ts: readonly Tensor[]): Dtype {
  return ts.every((t) => dtypeOf(t) === 'float32') && ts.length > 0 ? 'float32' : 'float64'
}

/** Returns a boolean option (`false` when absent); anything else is a `ConfigError`. */
export function checkFlag(name: string, value: unknown): boolean {
  if (value === undefined) return false
  if (typeof value !== 'boolean') throw new ConfigError(name, `expected true or false, got ${describe(value)}`)
  return value
}

/**
 * Internal helpers shared by the constraint operations: slice norms from one
 * reduction pass, the Lasagne multiplier, the default Lasagne axes and the
 * validation of tensor lists and boolean flags. Not re-exported.
 *
 * @module constraints
 */
import ndarray from 'ndarray'
import { AxisError, ConfigError, StructureError, checkNumber, describe } from '../errors/index.js'
import { type Dtype, type Reduction, type Tensor, assertTensor, dtypeOf, normalizeAxes, reduce, roundTo, scaleSlices, toArray } from '../tensor/index.js'

/** Rounds a float64 to the compute dtype (`roundTo(dtype)`). */
export type Round = (x: number) => number

/** The unit roundoff of float64. */
const U = 2 ** -53

/** The unit roundoff of a dtype: half an ulp of 1, the largest relative error of one rounding. */
export function unitRoundoff(dtype: Dtype): number {
  return dtype === 'float32' ? 2 ** -24 : U
}

/** Below this, a sum of squares (or powers) may have lost terms to underflow: its slice is summed again, rescaled. */
const TINY = 2 ** -900

/** The reduction that gives `Σ |x|^p` for a finite order `p`. */
function sumOp(p: number): Reduction {
  return p === 2 ? 'sumsq' : p === 1 ? 'sumabs' : 'sumpow'
}

/** `s^(1/p)`: the p-norm from its sum of powers. */
function rootOf(s: number, p: number): number {
  return p === 2 ? Math.sqrt(s) : p === 1 ? s : s ** (1 / p)
}

/** `2^e`, exactly, for an integer `e` in `-1074..1023` (subnormal powers included). */
function pow2(e: number): number {
  return e < -1022 ? 2 ** -1022 * 2 ** (e + 1022) : 2 ** e
}

/** What bounds the error of a computed norm and of a slice scaled by a factor. */
export interface NormBound {
  /** A bound on the relative error of every norm. */
  readonly error: number
  /** The order p of the norms. */
  readonly p: number
  /** The number of elements in a slice (the most a rounding error vector can have). */
  readonly count: number
  /**
   * The norms beyond the float64 range (reported as `Infinity`) of finite
   * slices, by slice index: `[m, e]` with the norm `m · 2^e`.
   */
  readonly huge?: ReadonlyMap<number, readonly [number, number]>
}

/** Norms computed in float64, each within `error` (relative) of the exact norm of its slice. */
export interface Norms extends NormBound {
  /** One norm per slice, in row-major order of the kept axes. */
  readonly norms: Float64Array
}

/**
 * The relative error bound of a p-norm over `n` elements built from a
 * compensated sum `s` (see `reduce`), u = 2⁻⁵³:
 * - p = 2: each `x²` within u, the sum within `2u + 4n·u²` more, `sqrt`
 *   halving that and adding u: `(2.5 + 2n·u)·u`; for float32 data the
 *   squares are exact and the plain sum within `1.01(n − 1)u`:
 *   `(0.505n + 1)·u`;
 * - p = 1: `|x|` exact, the sum within `(2 + 4n·u)·u`;
 * - other p: each `|x|^p` within 2u (`Math.pow`, under an ulp), the sum
 *   within `(4 + 4n·u)·u`, divided by p in the root, plus the root's own 2u
 *   and, unless `1/p` is exact (p a power of two), `|ln s|·u/p` for its
 *   rounding (`lnMax` bounds `|ln s|` over the slices);
 * - p = ∞: `max |x|` is exact.
 */
export function normError(p: number, n: number, lnMax = 710, dtype: Dtype = 'float64'): number {
  if (p === Infinity) return 0
  // float32 data: exact squares, summed plainly within 1.01·(n − 1)·u (see `reduce`)
  if (p === 2 && dtype === 'float32') return (0.505 * n + 1) * U
  if (p === 2) return (2.5 + 2 * n * U) * U
  if (p === 1) return (2 + 4 * n * U) * U
  const inexact = Number.isInteger(Math.log2(p)) ? 0 : lnMax
  return ((4 + inexact + 4 * n * U) / p + 2) * U
}

/**
 * The p-norm (`p > 0` or `Infinity`) of every slice of `x` over the reduced
 * `axes` (normalized), right over the whole float range: ONE compensated
 * `reduce` pass; a slice whose sum overflowed, or is so small that terms
 * may have underflowed, is summed again with its elements scaled by a power
 * of two (exact) that brings its largest magnitude near 1, as BLAS `nrm2`
 * does. A norm above the float64 range is reported as `Infinity`, and
 * kept scaled in `huge`. NaN data gives a NaN norm, an infinite element an
 * infinite one.
 */
export function sliceNorms(x: Tensor, axes: readonly number[], p: number): Norms {
  const count = axes.reduce((c, a) => c * x.shape[a], 1)
  if (p === Infinity) return { norms: reduce(x, axes, 'maxabs'), error: 0, p, count }
  const op = sumOp(p)
  const sums = reduce(x, axes, op, p)
  const norms = new Float64Array(sums.length)
  // a sum (or, for p < 1, its root) that overflowed, or is so small that terms may have underflowed
  const safe = (s: number, n: number) => s >= TINY && s < Infinity && n >= TINY && n < Infinity
  let rescue = false
  for (let i = 0; i < sums.length; i++) {
    const s = sums[i]
    const n = rootOf(s, p)
    if (safe(s, n)) norms[i] = n
    else rescue = true
  }
  let huge: Map<number, readonly [number, number]> | undefined
  if (rescue) {
    const max = reduce(x, axes, 'maxabs')
    const scales = new Float64Array(sums.length).fill(1)
    const shifts = new Int32Array(sums.length)
    let scaled = false
    for (let i = 0; i < sums.length; i++) {
      const s = sums[i]
      const m = max[i]
      if (safe(s, norms[i])) continue
      if (!(m > 0 && m < Infinity)) norms[i] = m // 0, Infinity or NaN: the norm itself
      else {
        // m · 2^shift lies in [1, 2), or as near as a finite power of two allows
        shifts[i] = Math.max(-1023, Math.min(1023, -Math.floor(Math.log2(m))))
        scales[i] = pow2(shifts[i])
        scaled = true
      }
    }
    if (scaled) {
      const again = reduce(scaleSlices(x, scales, axes), axes, op, p)
      for (let i = 0; i < sums.length; i++) {
        if (shifts[i] === 0) continue
        sums[i] = again[i]
        const root = rootOf(again[i], p)
        norms[i] = root * pow2(-shifts[i])
        if (norms[i] === Infinity) (huge ??= new Map()).set(i, [root, -shifts[i]])
      }
    }
  }
  // |ln s| matters only where 1/p is inexact (see normError): no per-slice logarithm for p = 1 or 2
  let lnMax = 0
  if (!Number.isInteger(Math.log2(p))) for (const s of sums) if (s > 0 && s < Infinity) lnMax = Math.max(lnMax, Math.abs(Math.log(s)) + 1e-6)
  // the rescaled sums went through the compensated path; the plain float32 bound covers both
  return { norms, error: normError(p, count, lnMax, dtypeOf(x)), p, count, ...(huge === undefined ? {} : { huge }) }
}

/**
 * The p-norm of all the elements of all of `ts` together (`p > 0` or
 * `Infinity`), right over the whole float range: the norm of the tensors'
 * norms, each from {@link sliceNorms}, with a power-of-two scaling by the
 * largest; a NaN anywhere gives NaN, an infinite element `Infinity`.
 */
export function totalNorm(ts: readonly Tensor[], p: number): NormBound & { readonly norm: number } {
  const each = ts.map((t) => sliceNorms(t, normalizeAxes(undefined, t.shape.length, 'ts'), p))
  const error = Math.max(0, ...each.map((e) => e.error))
  const count = each.reduce((c, e) => c + e.count, 0)
  // each tensor's norm as m · 2^e (e = 0 unless it is beyond the float64 range)
  const parts = each.map((e) => e.huge?.get(0) ?? ([e.norms[0], 0] as const))
  let top = -Infinity
  for (const [m, e] of parts) {
    if (m !== m) return { norm: NaN, error, p, count }
    if (m > 0) top = Math.max(top, e + Math.floor(Math.log2(m)))
  }
  if (top === -Infinity) return { norm: 0, error, p, count }
  if (top === Infinity) return { norm: Infinity, error, p, count } // an infinite element
  const shift = Math.max(-1023, Math.min(1023, -top))
  let sum = 0
  let comp = 0
  let max = 0
  for (const [m, e] of parts) {
    const v = m * pow2(Math.max(-1074, Math.min(1023, e + shift)))
    max = Math.max(max, v)
    const y = (p === Infinity ? 0 : rootTerm(v, p)) - comp
    const t = sum + y
    comp = t - sum - y
    sum = t
  }
  // one more term-and-root error on top of the tensors' own, over the k tensors' sum (near 1 after the scaling)
  const total = p === Infinity ? max : sum - comp
  const combined = p === Infinity ? error : error + normError(p, parts.length, Math.abs(Math.log(total)) + 1e-6)
  const root = p === Infinity ? total : rootOf(total, p)
  const norm = root * pow2(-shift)
  const bound = { error: combined, p, count }
  return norm === Infinity ? { norm, ...bound, huge: new Map([[0, [root, -shift] as const]]) } : { norm, ...bound }
}

/** `|v|^p` for the finite order `p`. */
function rootTerm(v: number, p: number): number {
  return p === 2 ? v * v : p === 1 ? v : v ** p
}

/**
 * The smaller of a limit and its value in the dtype: the bound every
 * constrained slice must meet, whichever of the two the caller meant.
 */
export function limitOf(limit: number, r: Round): number {
  const rounded = r(limit)
  return rounded < limit ? rounded : limit
}

/**
 * Validates a norm limit: a number `>= 0` (`> 0` when `positive`), finite
 * unless `allowInfinity`, that does not round to 0 or to `Infinity` in
 * `dtype` (a limit the dtype cannot hold is a `ConfigError`). Returns it
 * rounded to the dtype, as the source systems cast it.
 */
export function checkLimit(name: string, value: unknown, dtype: Dtype, options: { positive?: boolean; allowInfinity?: boolean } = {}): number {
  const v = checkNumber(name, value, { min: 0, minExclusive: options.positive === true, allowInfinity: options.allowInfinity === true })
  const rounded = roundTo(dtype)(v)
  if (v > 0 && rounded === 0) throw new ConfigError(name, `${v} rounds to 0 in ${dtype}; use a limit of at least ${dtype === 'float32' ? '1.4e-45' : '4.9e-324'}`)
  if (v < Infinity && rounded === Infinity) throw new ConfigError(name, `${v} rounds to Infinity in ${dtype}; use Infinity for no limit, or a finite limit below ${dtype === 'float32' ? '3.4e38' : '1.8e308'}`)
  return rounded
}

/**
 * The factor to scale a slice by so that it provably ends within `limit`:
 * `f` itself when it does, else the largest factor that does. `n` is the
 * slice's computed norm (relative error at most `bound.error`), and each of
 * the `bound.count` scaled elements is rounded to `dtype`: by at most its
 * unit roundoff u in the normal range, by at most the subnormal step `d`
 * (2⁻¹⁴⁹ or 2⁻¹⁰⁷⁴) below it. So the result's true p-norm is at most
 * `f · n · (1 + error)(1 + u) + count^(1/p) · d`. A factor of exactly 1
 * (the slice left as it is) is kept when `n(1 + error) <= limit`, or when
 * the slice's values (`valuesOf(slice)`, read only then) have an exact norm
 * within the limit (a slice whose norm equals the limit stays exactly as it
 * is). Zero and NaN norms
 * and factors, and an infinite limit, pass through. A finite slice whose
 * norm is beyond the float64 range (`bound.huge`, at index `slice`) gets
 * the factor `limit / N`, capped, computed in scaled form.
 */
export function capFactor(f: number, n: number, limit: number, bound: NormBound, dtype: Dtype, slice = 0, valuesOf?: (slice: number) => readonly number[]): number {
  const big = bound.huge?.get(slice)
  if (big === undefined && (!(n > 0) || !(f > 0))) return f
  if (limit === Infinity) return f
  // the norm's own rounding: relative, plus a subnormal step for a norm below the normal range
  const hi = n * (1 + bound.error) + (n < 2 ** -1022 ? 2 ** -1074 : 0)
  if (f === 1 && big === undefined && (hi <= limit || (n <= limit && valuesOf !== undefined && provablyWithin(valuesOf(slice), bound.p, limit)))) return 1
  // a whole subnormal step per element (twice the rounding error: half of 2⁻¹⁰⁷⁴ is not a double)
  const tiny = (dtype === 'float32' ? 2 ** -149 : 2 ** -1074) * (bound.p === Infinity ? 1 : bound.count ** (1 / bound.p)) * (1 + 4 * U)
  // the product x·f is rounded once in float64 (and once more to float32); (1 + 4u) covers the roundings here
  const spread = (dtype === 'float32' ? 1 + unitRoundoff(dtype) + U : 1 + U) * (1 + 4 * U)
  // a norm beyond the float64 range: every formula's factor is then limit/N, and the cap decides it
  const room = big === undefined ? (limit - tiny) / (hi * spread) : ((limit - tiny) / (big[0] * (1 + bound.error) * spread)) * pow2(Math.max(-1074, -big[1]))
  if (!(room > 0)) return 0
  return big !== undefined || f > room ? room : f
}

/** A finite double as `[m, e]` with `x = m · 2^e` exactly (`m` an integer). */
function exactParts(x: number): [bigint, number] {
  const view = new DataView(new ArrayBuffer(8))
  view.setFloat64(0, x)
  const bits = view.getBigUint64(0)
  const biased = Number((bits >> 52n) & 0x7ffn)
  const fraction = bits & 0xfffffffffffffn
  const m = biased === 0 ? fraction : fraction | (1n << 52n)
  return [x < 0 ? -m : m, (biased === 0 ? 1 : biased) - 1075]
}

/**
 * Decides `‖values‖_p <= limit` exactly, for `p` of 1 or 2, in integer
 * arithmetic over the doubles' exact values (used only for slices whose
 * float64 norm cannot tell: a norm within rounding of the limit). Other
 * orders, and non-finite values, are never decided (false).
 */
export function provablyWithin(values: readonly number[], p: number, limit: number): boolean {
  if ((p !== 1 && p !== 2) || !(limit >= 0 && limit < Infinity) || !values.every(Number.isFinite)) return false
  const parts = values.map((v) => exactParts(Math.abs(v)))
  const [lm, le] = exactParts(limit)
  const base = Math.min(le, ...parts.map(([, e]) => e))
  const k = BigInt(p)
  let sum = 0n
  for (const [m, e] of parts) sum += (m << BigInt(e - base)) ** k
  return sum <= (lm << BigInt(le - base)) ** k
}

/** The elements of slice `i` of `x` over `axes` (slices in row-major order of the kept axes), as numbers. */
export function sliceValues(x: Tensor, axes: readonly number[], i: number): number[] {
  const { shape, stride } = x
  let offset = x.offset
  let rest = i
  for (let a = shape.length - 1; a >= 0; a--) {
    if (axes.includes(a)) continue
    offset += (rest % shape[a]) * stride[a]
    rest = Math.floor(rest / shape[a])
  }
  return toArray(ndarray(x.data, axes.map((a) => shape[a]), axes.map((a) => stride[a]), offset) as Tensor)
}

/**
 * The one scaling of the per-slice constraints: every slice of `x` over
 * `axes` scaled by `factor(n)` of its p-norm `n` (the source system's
 * formula), capped so that no slice ends above `limit` (see
 * {@link capFactor}); one reduction pass and one scaling pass.
 */
export function scaleWithin(x: Tensor, axes: readonly number[], p: number, limit: number, factor: (n: number) => number): Tensor {
  const dtype = dtypeOf(x)
  const bound = sliceNorms(x, axes, p)
  const { norms } = bound
  const valuesOf = (slice: number) => sliceValues(x, axes, slice)
  for (let i = 0; i < norms.length; i++) norms[i] = capFactor(factor(norms[i]), norms[i], limit, bound, dtype, i, valuesOf)
  return scaleSlices(x, norms, axes)
}

/**
 * The one factor of the total-norm constraints: `factor(N)` of the joint
 * p-norm `N` of `ts` (the source system's formula), capped so that the
 * tensors scaled by it end within `limit` together. Returns the factor and
 * `N` (float64; beyond its range, `Infinity`).
 */
export function totalFactor(ts: readonly Tensor[], p: number, limit: number, factor: (n: number) => number): { readonly factor: number; readonly norm: number } {
  const bound = totalNorm(ts, p)
  const f = capFactor(factor(bound.norm), bound.norm, limit, bound, commonDtype(ts), 0, () => ts.flatMap(toArray))
  return { factor: f, norm: bound.norm }
}

/**
 * Lasagne's multiplier `clip(n, 0, m) / (eps + n)` for a slice of norm `n`,
 * in float64 from the dtype's `m` and `eps`. Two departures, both where
 * Lasagne would give NaN because of the options rather than the data:
 * - a zero target (zero slice with `eps = 0`, Lasagne `0/0`) gives 0;
 * - `m = +∞` with `n = +∞` gives the limit of `n/(n + eps)`, 1 (Lasagne `∞/∞`).
 * A NaN `n` passes through `clip` and makes the multiplier NaN, as in Lasagne.
 */
export function lasagneMultiplier(n: number, m: number, eps: number): number {
  if (m === Infinity && n === Infinity) return 1
  const target = n > m ? m : n // clip(n, 0, m), n >= 0 or NaN
  if (target === 0) return 0
  return target / (eps + n)
}

/**
 * Lasagne's total-norm multiplier of `ts`: validates `maxNorm` and
 * `epsilon` now, and returns the computation of
 * `[clip(N, 0, maxNorm) / (epsilon + N), N]`, `N` the joint L2 norm (one
 * reduce pass per tensor when called), capped so that the scaled tensors
 * stay within `maxNorm` (see {@link capFactor}). Every tensor is then scaled
 * by the one multiplier: `totalNormConstraint` does it in a pass of its
 * own, a fused optimizer step inside the next stage's pass. `N` is reported
 * in `commonDtype(ts)`.
 */
export function lasagneTotal(ts: readonly Tensor[], maxNorm: number, epsilon: number): () => [multiplier: number, norm: number] {
  const dtype = commonDtype(ts)
  const r = roundTo(dtype)
  const m = checkLimit('maxNorm', maxNorm, dtype, { allowInfinity: true })
  const eps = r(checkNumber('epsilon', epsilon, { min: 0 }))
  const limit = limitOf(maxNorm, r)
  return () => {
    const { factor, norm } = totalFactor(ts, 2, limit, (n) => lasagneMultiplier(n, m, eps))
    return [factor, r(norm)]
  }
}

/**
 * PyTorch's `clip_grad_norm_` factor of `ts`, `min(1, maxNorm / (N + 1e-6))`,
 * `N`, the joint `p`-norm (float64, unrounded; `NaN` passes the `min` as
 * torch's `clamp` lets it), and `N` rounded to the tensors' common dtype as
 * torch reports it; the factor capped so that the scaled tensors
 * stay within `maxNorm` (validated first). `clipGradNorm` scales every
 * tensor by the factor in a pass of its own, a fused optimizer step inside
 * the next stage's pass.
 */
export function torchTotal(ts: readonly Tensor[], maxNorm: number, p = 2): [factor: number, norm: number, reported: number] {
  const dtype = commonDtype(ts)
  const r = roundTo(dtype)
  const m = checkLimit('maxNorm', maxNorm, dtype, { allowInfinity: true })
  const eps = r(1e-6)
  const { factor, norm } = totalFactor(ts, p, limitOf(maxNorm, r), (n) => {
    const coef = m === Infinity ? 1 : m / (n + eps)
    return coef > 1 ? 1 : coef // torch.clamp(max=1) lets NaN through
  })
  return [factor, norm, r(norm)]
}

/**
 * TensorFlow's `clip_by_global_norm` factor of `ts`,
 * `N <= clipNorm ? 1 : clipNorm / N`, and `N`, the global L2 norm (float64,
 * unrounded) and `N` in the common dtype; a non-finite `N` gives a NaN factor (TF adds `N − N`, which
 * poisons every tensor; a finite `N` beyond float64's range does not).
 * `clipNorm` is validated first; the factor is capped as
 * {@link torchTotal}'s.
 */
export function tensorflowTotal(ts: readonly Tensor[], clipNorm: number): [factor: number, norm: number, reported: number] {
  const dtype = commonDtype(ts)
  const r = roundTo(dtype)
  const c = checkLimit('clipNorm', clipNorm, dtype, { positive: true })
  const { factor, norm } = totalFactor(ts, 2, limitOf(clipNorm, r), (n) => (!Number.isFinite(n) ? NaN : n <= c ? 1 : c / n))
  return [factor, norm, r(norm)]
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

/**
 * Honest precision: every constraint's result against a 60-digit reference
 * computed from the exact inputs (test/helpers/exact.ts), in ulps of the
 * result's dtype, on random shapes, dtypes, strided views and magnitudes
 * from subnormal to near overflow. The bounds asserted here are the ones
 * docs/constraints.md publishes. Every result is also checked to be within
 * its limit, exactly.
 */
import { fc, test } from '@fast-check/vitest'
import ndarray from 'ndarray'
import { afterAll, describe, expect } from 'vitest'
import { clipByGlobalNorm, clipByNorm, clipGradNorm, computeNorms, maxNorm, normConstraint, renorm, totalNormConstraint } from '../src/constraints/index.js'
import { type Dtype, type Tensor, allocate, dtypeOf, roundTo, toArray } from '../src/tensor/index.js'
import { BOUNDS } from './helpers/bounds.js'
import { Dec, exact, exactNorm, normWithin, ulpError } from './helpers/exact.js'
import { type View, arbDtype, arbViewOf } from './helpers/views.js'

/**
 * Limits from which the bounds hold: below them the subnormal steps of the
 * result (2⁻¹⁴⁹, 2⁻¹⁰⁷⁴), which the factor keeps clear of the limit, are
 * more than an ulp of the limit.
 */
const SMALL: Record<Dtype, number> = { float32: 2 ** -100, float64: 2 ** -1000 }

/** The largest error seen per bound, printed at the end for the docs. */
const seen = new Map<string, number>()
function record(name: string, dtype: Dtype, err: number): void {
  const key = `${name} ${dtype}`
  seen.set(key, Math.max(seen.get(key) ?? 0, err))
  expect(err, `${key}: ${err} ulps`).toBeLessThanOrEqual(BOUNDS[name][dtype])
}
afterAll(() => {
  const rows = [...seen.entries()].sort().map(([k, v]) => `${k}: ${v.toPrecision(3)}`)
  console.log(`largest errors seen (ulps):\n  ${rows.join('\n  ')}`)
})

/** `t` (any view) with every stored value times `2^k` (exact unless it underflows), the layout kept. */
function scaled(t: Tensor, k: number): Tensor {
  const data = allocate(dtypeOf(t), t.data.length)
  const f = 2 ** k
  for (let i = 0; i < data.length; i++) data[i] = t.data[i] * f
  return ndarray(data, t.shape.slice(), t.stride.slice(), t.offset)
}

/** A magnitude exponent: mostly near 0, often anywhere in the dtype's range (subnormals and near-overflow included). */
function arbScale(dtype: Dtype): fc.Arbitrary<number> {
  const [lo, hi] = dtype === 'float32' ? [-152, 124] : [-1077, 1019]
  return fc.oneof({ weight: 2, arbitrary: fc.integer({ min: -4, max: 4 }) }, { weight: 1, arbitrary: fc.integer({ min: lo, max: hi }) })
}

interface Case {
  readonly v: View
  readonly x: Tensor
  readonly k: number
  /** A limit near the data's magnitude, representable in the dtype. */
  readonly limit: number
  readonly axes: number[]
}

const arbCase: fc.Arbitrary<Case> = fc
  .tuple(fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 }), arbDtype)
  .chain(([shape, dtype]) =>
    fc.record({
      v: arbViewOf(shape, dtype),
      k: arbScale(dtype),
      c: fc.double({ min: 0.05, max: 40, noNaN: true }),
      axes: fc.subarray(shape.map((_, i) => i)),
    }),
  )
  .map(({ v, k, c, axes }) => {
    const r = roundTo(v.spec.dtype)
    const candidate = c * 2 ** k
    const limit = r(candidate) > 0 && r(candidate) < Infinity ? candidate : 1
    return { v, x: scaled(v.t, k), k, limit, axes }
  })

/** For each row-major element of `shape`, the index of its slice over `axes` (row-major over the kept axes). */
function sliceOf(shape: readonly number[], axes: readonly number[]): number[] {
  const n = shape.reduce((a, b) => a * b, 1)
  const out = new Array<number>(n)
  for (let i = 0; i < n; i++) {
    let rest = i
    let slice = 0
    let mult = 1
    for (let a = shape.length - 1; a >= 0; a--) {
      const idx = rest % shape[a]
      rest = Math.floor(rest / shape[a])
      if (!axes.includes(a)) {
        slice += idx * mult
        mult *= shape[a]
      }
    }
    out[i] = slice
  }
  return out
}

/** The elements of `xs` grouped by slice. */
function groups(xs: readonly number[], slices: readonly number[]): number[][] {
  const out: number[][] = []
  xs.forEach((v, i) => (out[slices[i]] ??= []).push(v))
  return out
}

/**
 * Checks `ys = f(xs)` slice by slice against `y = x · factor(N)`, `N` the
 * exact p-norm of the slice: the ulp error of every element, and the exact
 * norm of every result slice against the limit.
 */
function checkScaled(name: string, dtype: Dtype, xs: number[], ys: number[], slices: number[], p: number, factor: (n: Dec) => Dec, limit: number): void {
  const norms = groups(xs, slices).map((g) => exactNorm(g, p))
  const factors = norms.map(factor)
  // near the subnormal range a result's error is absolute (subnormal steps), not in ulps: the bounds hold above SMALL
  if (limit >= SMALL[dtype]) {
    let worst = 0
    xs.forEach((x, i) => (worst = Math.max(worst, ulpError(ys[i], exact(x).times(factors[slices[i]]), dtype))))
    record(name, dtype, worst)
  }
  const bound = Math.min(limit, roundTo(dtype)(limit))
  for (const g of groups(ys, slices)) expect(normWithin(g, p, bound), `${name}: a slice ends above ${limit}`).toBe(true)
}

const RUNS = 1500
const one = new Dec(1)
const min = (a: Dec, b: Dec) => (a.lessThan(b) ? a : b)
const max = (a: Dec, b: Dec) => (a.greaterThan(b) ? a : b)
const inDtype = (dtype: Dtype, v: number) => exact(roundTo(dtype)(v))

describe('precision against a 60-digit reference, in ulps; every slice within its limit', () => {
  test.prop([arbCase], { numRuns: RUNS })('computeNorms', ({ x, axes }) => {
    const dtype = dtypeOf(x)
    const ns = toArray(computeNorms(x, axes))
    const exactNs = groups(toArray(x), sliceOf(x.shape, axes)).map((g) => exactNorm(g, 2))
    const overflow = exactNs.some((n, i) => !Number.isFinite(ns[i]) && n.greaterThan(exact(dtype === 'float32' ? 3.4028234663852886e38 : Number.MAX_VALUE)))
    if (!overflow) record('computeNorms', dtype, Math.max(0, ...ns.map((n, i) => ulpError(n, exactNs[i], dtype))))
  })

  test.prop([arbCase], { numRuns: RUNS })('normConstraint (Lasagne)', ({ x, limit, axes }) => {
    const dtype = dtypeOf(x)
    const m = inDtype(dtype, limit)
    const eps = inDtype(dtype, 1e-7)
    const ys = toArray(normConstraint(x, limit, { normAxes: axes }))
    const factor = (n: Dec) => (n.isZero() ? n : min(n, m).dividedBy(eps.plus(n)))
    checkScaled('normConstraint', dtype, toArray(x), ys, sliceOf(x.shape, axes), 2, factor, limit)
  })

  test.prop([arbCase], { numRuns: RUNS })('clipByNorm (TensorFlow)', ({ x, limit, axes }) => {
    const dtype = dtypeOf(x)
    const c = inDtype(dtype, limit)
    const ys = toArray(clipByNorm(x, limit, axes))
    checkScaled('clipByNorm', dtype, toArray(x), ys, sliceOf(x.shape, axes), 2, (n) => (n.lessThanOrEqualTo(c) ? one : c.dividedBy(n)), limit)
  })

  test.prop([arbCase], { numRuns: RUNS })('maxNorm', ({ x, limit, axes }) => {
    const dtype = dtypeOf(x)
    const m = inDtype(dtype, limit)
    const ys = toArray(maxNorm(x, limit, { axis: axes }))
    const factor = (n: Dec) => {
      const clamped = max(n, m.dividedBy(2))
      return min(clamped, m).dividedBy(clamped)
    }
    checkScaled('maxNorm', dtype, toArray(x), ys, sliceOf(x.shape, axes), 2, factor, limit)
  })

  test.prop([arbCase.filter((c) => c.x.shape.length >= 2), fc.constantFrom(1, 2, Infinity, 0.5, 3)], { numRuns: RUNS })('renorm (PyTorch), p = 1, 2, ∞, 0.5, 3', ({ x, limit }, p) => {
    const dtype = dtypeOf(x)
    const m = inDtype(dtype, limit)
    const eps = inDtype(dtype, 1e-7)
    const others = x.shape.map((_, i) => i).filter((a) => a !== 0)
    const ys = toArray(renorm(x, p, 0, limit))
    const name = p === 0.5 || p === 3 ? 'renormFractional' : 'renorm'
    checkScaled(name, dtype, toArray(x), ys, sliceOf(x.shape, others), p, (n) => (n.greaterThan(m) ? m.dividedBy(n.plus(eps)) : one), limit)
  })

  /** Two tensors of one dtype for the total-norm family: the case's view and its scaled reverse. */
  const pairs = arbCase.map((c) => ({ ...c, xs: [c.x, scaled(c.x.transpose(...c.x.shape.map((_, i) => c.x.shape.length - 1 - i)), -1)] }))
  const flat = (ts: readonly Tensor[]) => ts.flatMap((t) => toArray(t))

  test.prop([pairs], { numRuns: RUNS })('totalNormConstraint (Lasagne)', ({ xs, limit }) => {
    const dtype = dtypeOf(xs[0])
    const m = inDtype(dtype, limit)
    const eps = inDtype(dtype, 1e-7)
    const all = flat(xs)
    const ys = flat(totalNormConstraint(xs, limit))
    checkScaled('totalNormConstraint', dtype, all, ys, all.map(() => 0), 2, (n) => (n.isZero() ? n : min(n, m).dividedBy(eps.plus(n))), limit)
  })

  test.prop([pairs], { numRuns: RUNS })('clipByGlobalNorm (TensorFlow)', ({ xs, limit }) => {
    const dtype = dtypeOf(xs[0])
    const c = inDtype(dtype, limit)
    const all = flat(xs)
    const ys = flat(clipByGlobalNorm(xs, limit)[0])
    checkScaled('clipByGlobalNorm', dtype, all, ys, all.map(() => 0), 2, (n) => (n.lessThanOrEqualTo(c) ? one : c.dividedBy(n)), limit)
  })

  test.prop([pairs, fc.constantFrom(1, 2, Infinity, 3)], { numRuns: RUNS })('clipGradNorm (PyTorch), normType 1, 2, ∞, 3', ({ xs, limit }, p) => {
    const dtype = dtypeOf(xs[0])
    const m = inDtype(dtype, limit)
    const eps = inDtype(dtype, 1e-6)
    const all = flat(xs)
    const ys = flat(clipGradNorm(xs, limit, { normType: p })[0])
    const name = p === 3 ? 'clipGradNormFractional' : 'clipGradNorm'
    checkScaled(name, dtype, all, ys, all.map(() => 0), p, (n) => min(m.dividedBy(n.plus(eps)), one), limit)
  })
})

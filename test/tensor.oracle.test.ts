/**
 * `ndarray-ops` as the independent oracle of the two kernels: `map` and
 * `reduce` on random strided views (transposed, stepped, negative steps,
 * offset, broadcast) must agree with the same operation composed from
 * `ndarray-ops`. Elementwise results agree bit for bit; sums agree within
 * the error bound of the oracle's naive float64 summation (`n·u` of the sum
 * of the terms, u = 2⁻⁵³) plus ours (`3u`).
 */
import { fc, test } from '@fast-check/vitest'
import ndarray from 'ndarray'
import ops from 'ndarray-ops'
import { describe, expect } from 'vitest'
import { type Kernel, type Reduction, type Tensor, allocate, dtypeOf, map, normalizeAxes, reduce, toArray } from '../src/tensor/index.js'
import { type View, arbDtype, arbShape, arbViewOf } from './helpers/views.js'

const U = 2 ** -53

/** Two views of one random shape and dtype. */
const arbPair = fc.tuple(arbShape(4, 5), arbDtype).chain(([shape, dtype]) => fc.tuple(arbViewOf(shape, dtype), arbViewOf(shape, dtype)))

/** A new contiguous array of `t`'s shape and dtype, written by `ndarray-ops`. */
function fresh(t: Tensor): Tensor {
  return ndarray(allocate(dtypeOf(t), t.size), t.shape.slice()) as Tensor
}

/** `a·b + a`, each step stored in the dtype (as `ndarray-ops` stores it between its two calls). */
function fusedKernel(f32: boolean): Kernel {
  const r = f32 ? Math.fround : (x: number) => x
  return (n, [o], [a, b]) => {
    for (let k = 0; k < n; k++) o[k] = r(r(a[k] * b[k]) + a[k])
  }
}

describe('map agrees with ndarray-ops, bit for bit', () => {
  test.prop([arbPair])('a·b + a on two views', ([x, y]: [View, View]) => {
    const [ours] = map([x.t, y.t], [dtypeOf(x.t)], fusedKernel(dtypeOf(x.t) === 'float32'))
    const oracle = fresh(x.t)
    ops.mul(oracle, x.t, y.t)
    ops.addeq(oracle, x.t)
    expect(toArray(ours)).toEqual(toArray(oracle))
  })
  test.prop([arbPair])('a copy of a view, and a difference of two views', ([x, y]: [View, View]) => {
    const [copied, diff] = map([x.t, y.t], [dtypeOf(x.t), dtypeOf(x.t)], (n, [c, d], [a, b]) => {
      for (let k = 0; k < n; k++) {
        c[k] = a[k]
        d[k] = a[k] - b[k]
      }
    })
    const c = fresh(x.t)
    ops.assign(c, x.t)
    const d = fresh(x.t)
    ops.sub(d, x.t, y.t)
    expect(toArray(copied)).toEqual(toArray(c))
    expect(toArray(diff)).toEqual(toArray(d))
  })
})

/** Views with a random subset of their axes to reduce over. */
const arbReduction = fc
  .tuple(arbShape(4, 5), arbDtype)
  .chain(([shape, dtype]) => fc.tuple(arbViewOf(shape, dtype), fc.subarray(shape.map((_, i) => i)), fc.constantFrom<Reduction>('sumsq', 'sumabs', 'sumpow', 'maxabs'), fc.constantFrom(0.5, 3)))

/** The slices of `t` over `axes`, in row-major order of the kept axes, as views (`pick` with the kept indices). */
function slices(t: Tensor, axes: readonly number[]): Tensor[] {
  const kept = t.shape.map((_, i) => i).filter((a) => !axes.includes(a))
  const count = kept.reduce((c, a) => c * t.shape[a], 1)
  const out: Tensor[] = []
  for (let s = 0; s < count; s++) {
    const index: (number | null)[] = t.shape.map(() => null)
    let rest = s
    for (let j = kept.length - 1; j >= 0; j--) {
      index[kept[j]] = rest % t.shape[kept[j]]
      rest = Math.floor(rest / t.shape[kept[j]])
    }
    const picked = t.pick(...index) as Tensor
    // pick of every axis gives a 0-d view: keep it an ndarray of one element
    out.push(picked.shape.length === 0 ? (ndarray(t.data, [1], [1], picked.offset) as Tensor) : picked)
  }
  return out
}

/** The oracle: one ndarray-ops reduction of one slice, and the sum of its terms (for the error bound). */
function oracle(slice: Tensor, op: Reduction, p: number): [value: number, terms: number] {
  if (op === 'maxabs') return [ops.norminf(slice), 0]
  const work = ndarray(new Float64Array(slice.size), slice.shape.slice()) as Tensor
  ops.assign(work, slice)
  ops.abseq(work)
  if (op === 'sumsq') ops.powseq(work, 2)
  if (op === 'sumpow') ops.powseq(work, p)
  const value = ops.sum(work)
  return [value, value]
}

describe('reduce agrees with ndarray-ops', () => {
  test.prop([arbReduction])('sum of squares, of |x|, of |x|^p and max |x| over any axes of any view', ([v, axes, op, p]) => {
    const normalized = normalizeAxes(axes, v.t.shape.length, 'axes')
    const ours = reduce(v.t, normalized, op, p)
    const parts = v.t.size === 0 ? [] : slices(v.t, normalized)
    expect(ours.length).toBe(v.t.size === 0 ? ours.length : parts.length)
    parts.forEach((slice, i) => {
      const [want, terms] = oracle(slice, op, p)
      if (op === 'maxabs') expect(ours[i]).toBe(want)
      else expect(Math.abs(ours[i] - want)).toBeLessThanOrEqual((slice.size + 3) * U * terms * (op === 'sumpow' ? 2 : 1))
    })
  })
})

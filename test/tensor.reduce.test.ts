import { fc, test } from '@fast-check/vitest'
import { describe, expect } from 'vitest'
import ndarray from 'ndarray'
import { AxisError } from '../src/errors/index.js'
import {
  type Reduction,
  type Tensor,
  broadcastSlices,
  dtypeOf,
  isRowMajor,
  normalizeAxes,
  reduce,
  reducedShape,
  scaleSlices,
  tensor,
} from '../src/tensor/index.js'
import { type View, arbView, inDtype, mismatches, multiIndices, refStrides } from './helpers/views.js'

/** A view and a random subset of its axes, each written as `i` or `i - ndim`, in random order. */
const arbViewAxes = (specials: boolean): fc.Arbitrary<[View, number[]]> =>
  arbView(4, 5, specials).chain((v) => {
    const nd = v.t.shape.length
    const axes = fc
      .shuffledSubarray(
        Array.from({ length: nd }, (_, i) => i),
        { minLength: 0, maxLength: nd },
      )
      .chain((as) => fc.tuple(...as.map((a) => fc.constantFrom(a, a - nd))))
    return fc.tuple(fc.constant(v), axes)
  })

/** The naive reduction: every multi-index, `.get`, one accumulator per kept-axes slice. */
function naiveReduce(t: Tensor, axes: readonly number[], op: Reduction, p: number): { values: number[]; scale: number[] } {
  const kept = t.shape.map((n, i) => (axes.includes(i) ? 1 : n))
  const ks = refStrides(kept)
  const size = kept.reduce((a, b) => a * b, 1)
  const values = new Array<number>(size).fill(0)
  const scale = new Array<number>(size).fill(0) // Σ of |terms|, for the rounding tolerance
  for (const idx of multiIndices(t.shape)) {
    let slot = 0
    idx.forEach((i, ax) => (slot += axes.includes(ax) ? 0 : i * ks[ax]))
    const x = t.get(...idx)
    const a = Math.abs(x)
    const term = op === 'sum' ? x : op === 'sumsq' ? x * x : op === 'sumabs' ? a : op === 'sumpow' ? a ** p : a
    if (op === 'maxabs') values[slot] = Number.isNaN(values[slot]) || values[slot] >= term ? values[slot] : term
    else values[slot] += term
    scale[slot] += Math.abs(term)
  }
  return { values, scale }
}

function expectClose(got: Float64Array, want: { values: number[]; scale: number[] }, exact: boolean): void {
  expect(got.length).toBe(want.values.length)
  for (let i = 0; i < got.length; i++) {
    const g = got[i]
    const w = want.values[i]
    if (exact || !Number.isFinite(w)) expect(Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w)), `slot ${i}: ${g} vs ${w}`).toBe(true)
    else expect(Math.abs(g - w), `slot ${i}: ${g} vs ${w}`).toBeLessThanOrEqual(1e-13 * want.scale[i])
  }
}

const ops: Reduction[] = ['sum', 'sumsq', 'sumabs', 'sumpow', 'maxabs']

describe('reduce', () => {
  for (const op of ops) {
    test.prop([arbViewAxes(false), fc.double({ min: 0.25, max: 4, noNaN: true })])(
      `'${op}' over any axes of any view equals the naive reduction`,
      ([v, axes], p) => {
        const norm = normalizeAxes(axes, v.t.shape.length, 'axes')
        expectClose(reduce(v.t, norm, op, p), naiveReduce(v.t, norm, op, p), op === 'maxabs')
      },
    )
  }

  test.prop([arbViewAxes(true), fc.constantFrom(...ops)])('NaN and Infinity propagate into their slice only', ([v, axes], op) => {
    const norm = normalizeAxes(axes, v.t.shape.length, 'axes')
    expectClose(reduce(v.t, norm, op, 3), naiveReduce(v.t, norm, op, 3), op === 'maxabs')
  })

  test("sum: signed, compensated, and IEEE's Infinity arithmetic per slice", () => {
    // 1e16 + 1 + 1 − 1e16 is 0 summed plainly left to right (each 1 is lost); the compensated sum keeps them
    expect(Array.from(reduce(tensor([1e16, 1, 1, -1e16]), [0], 'sum'))).toEqual([2])
    const x = tensor([Infinity, 1, -Infinity, 2, Infinity, 3, -Infinity, -Infinity, 4], [3, 3])
    expect(Array.from(reduce(x, [1], 'sum'))).toEqual([NaN, Infinity, -Infinity])
    expect(Array.from(reduce(x, [0], 'sum'))).toEqual([NaN, NaN, -Infinity])
  })

  test('maxabs: a NaN anywhere in a slice wins over larger values, and empty slices are 0', () => {
    const x = tensor([1, Number.NaN, 5, 2, 3, -7], [2, 3])
    expect(Array.from(reduce(x, [1], 'maxabs'))).toEqual([Number.NaN, 7])
    expect(Array.from(reduce(x, [0], 'maxabs'))).toEqual([2, Number.NaN, 7])
    expect(Array.from(reduce(x.transpose(1, 0), [0], 'maxabs'))).toEqual([Number.NaN, 7])
    expect(Array.from(reduce(tensor([Number.NaN, 9, 1]), [0], 'maxabs'))).toEqual([Number.NaN])
    expect(Array.from(reduce(tensor([9, 1, Number.NaN]), [0], 'maxabs'))).toEqual([Number.NaN])
    expect(Array.from(reduce(tensor([], [0, 3]), [0], 'maxabs'))).toEqual([0, 0, 0])
    expect(Array.from(reduce(tensor([], [3, 0]), [0], 'maxabs'))).toEqual([])
  })

  test('known values: columns, rows, all axes, 0-d, float32 input accumulated in float64', () => {
    const x = tensor([[3, 0], [4, 1]])
    expect(Array.from(reduce(x, [0], 'sumsq'))).toEqual([25, 1])
    expect(Array.from(reduce(x, [1], 'sumsq'))).toEqual([9, 17])
    expect(Array.from(reduce(x, [0, 1], 'sumabs'))).toEqual([8])
    expect(Array.from(reduce(x, [], 'sumsq'))).toEqual([9, 0, 16, 1])
    expect(Array.from(reduce(x, [0], 'sumpow', 3))).toEqual([91, 1])
    expect(Array.from(reduce(tensor(-2), [], 'sumsq'))).toEqual([4])
    const big = tensor(new Float32Array([16777216, 1, 1]))
    expect(reduce(big, [0], 'sumabs')[0]).toBe(16777218) // exact in float64, lost in float32
  })

  // a row-major view reduced over every axis is one run from its offset; the same storage walked through a
  // permuted view (which the planner sorts and merges back into that run) must give the same bits
  const arbWhole = fc
    .tuple(fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }), fc.constantFrom('float32' as const, 'float64' as const), fc.nat({ max: 3 }), fc.boolean())
    .chain(([shape, dtype, offset, specials]) => {
      const n = shape.reduce((a, b) => a * b, 1)
      const value = specials ? fc.oneof(fc.double({ noNaN: false }), fc.constantFrom(0, -0, 1e-310, 1e300)) : fc.double({ min: -1e3, max: 1e3, noNaN: true })
      return fc.tuple(fc.constant(shape), fc.constant(dtype), fc.constant(offset), fc.array(value, { minLength: n + offset, maxLength: n + offset }))
    })
  test.prop([arbWhole, fc.constantFrom(...ops)])('every axis of a row-major view: the bits of its storage walked through any permuted view', ([shape, dtype, offset, values], op) => {
    const data = dtype === 'float32' ? Float32Array.from(values) : Float64Array.from(values)
    const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1))
    const x = ndarray(data, shape, strides, offset) as unknown as Tensor
    const all = shape.map((_, i) => i)
    const reversed = all.slice().reverse()
    const permuted = (ndarray(data, shape, strides, offset).transpose(...reversed) as unknown) as Tensor
    expect(isRowMajor(x)).toBe(true)
    const fast = Array.from(reduce(x, all, op, 3))
    const planned = Array.from(reduce(permuted, all, op, 3))
    expect(fast.map((v) => (Number.isNaN(v) ? 'NaN' : v))).toEqual(planned.map((v) => (Number.isNaN(v) ? 'NaN' : v)))
  })

  test('column reduction of a row-major matrix accumulates whole rows, reading storage in order', () => {
    // a proxy over the storage records the order in which elements are read
    const n = 4
    const data = new Float64Array(n * n).map((_, i) => i)
    const reads: number[] = []
    const spy = new Proxy(data, {
      get: (t, k) => {
        if (typeof k === 'string' && /^\d+$/.test(k)) reads.push(Number(k))
        const v = Reflect.get(t, k, t)
        return typeof v === 'function' ? v.bind(t) : v
      },
    })
    const x = ndarray(spy, [n, n]) as unknown as Tensor
    const sums = reduce(x, [0], 'sumabs')
    expect(Array.from(sums)).toEqual([24, 28, 32, 36])
    expect(reads).toEqual(Array.from({ length: n * n }, (_, i) => i))
    reads.length = 0
    reduce(ndarray(spy, [n, n]).transpose(1, 0) as unknown as Tensor, [1], 'sumabs')
    expect(reads).toEqual(Array.from({ length: n * n }, (_, i) => i))
  })
})

describe('normalizeAxes', () => {
  test.prop([
    fc.integer({ min: 0, max: 6 }).chain((nd) =>
      fc.tuple(
        fc.constant(nd),
        fc
          .shuffledSubarray(
            Array.from({ length: nd }, (_, i) => i),
            { minLength: 0, maxLength: nd },
          )
          .chain((as) => fc.tuple(fc.constant(as), fc.tuple(...as.map((a) => fc.constantFrom(a, a - nd))))),
      ),
    ),
  ])('wraps negative axes and sorts', ([nd, [axes, written]]) => {
    expect(normalizeAxes(written, nd, 'axes')).toEqual([...axes].sort((a, b) => a - b))
  })

  test.prop([fc.integer({ min: 1, max: 6 }).chain((nd) => fc.tuple(fc.constant(nd), fc.integer({ min: 0, max: nd - 1 }), fc.boolean()))])(
    'repeated axes throw, aliases included',
    ([nd, a, alias]) => {
      const again = alias ? a - nd : a
      expect(() => normalizeAxes([a, again], nd, 'normAxes')).toThrow(AxisError)
      expect(() => normalizeAxes([a, again], nd, 'normAxes')).toThrow(/^normAxes: repeated axis/)
    },
  )

  test.prop([fc.integer({ min: 0, max: 6 }).chain((nd) => fc.tuple(fc.constant(nd), fc.oneof(fc.integer({ min: nd, max: 50 }), fc.integer({ min: -50, max: -nd - 1 }))))])(
    'out-of-range axes throw',
    ([nd, a]) => {
      expect(() => normalizeAxes([a], nd, 'axes')).toThrow(AxisError)
      expect(() => normalizeAxes(a, nd, 'axes')).toThrow(`axis ${a} is out of range for an array of ${nd} dimensions`)
    },
  )

  test('non-integer axes and non-lists throw; undefined is every axis; a number is one axis', () => {
    for (const bad of [1.5, Number.NaN, Infinity, '1', null]) {
      expect(() => normalizeAxes([bad as number], 3, 'axes')).toThrow(AxisError)
    }
    expect(() => normalizeAxes({} as unknown as number[], 3, 'axes')).toThrow(AxisError)
    expect(() => normalizeAxes('0' as unknown as number[], 3, 'axes')).toThrow(AxisError)
    expect(normalizeAxes(undefined, 3, 'axes')).toEqual([0, 1, 2])
    expect(normalizeAxes(undefined, 0, 'axes')).toEqual([])
    expect(normalizeAxes(-1, 3, 'axes')).toEqual([2])
    expect(normalizeAxes([], 3, 'axes')).toEqual([])
    const e = (() => {
      try {
        normalizeAxes([2], 2, 'dim')
      } catch (err) {
        return err as AxisError
      }
    })()
    expect(e?.name).toBe('AxisError')
    expect(e?.where).toBe('dim')
    expect(e?.message).toBe('dim: axis 2 is out of range for an array of 2 dimensions (expected -2..1)')
  })
})

describe('reducedShape, broadcastSlices, scaleSlices', () => {
  test('reducedShape keeps or drops the reduced axes', () => {
    expect(reducedShape([2, 3, 4], [0, 2], true)).toEqual([1, 3, 1])
    expect(reducedShape([2, 3, 4], [0, 2], false)).toEqual([3])
    expect(reducedShape([], [], true)).toEqual([])
  })

  test.prop([arbViewAxes(false)])('scaleSlices multiplies each element by its slice factor, in the view dtype', ([v, axes]) => {
    const nd = v.t.shape.length
    const norm = normalizeAxes(axes, nd, 'axes')
    const kept = v.t.shape.map((n, i) => (norm.includes(i) ? 1 : n))
    const ks = refStrides(kept)
    const factors = new Float64Array(kept.reduce((a, b) => a * b, 1)).map((_, i) => 0.5 + 0.37 * i)
    const out = scaleSlices(v.t, factors, norm)
    expect(out.shape).toEqual(v.t.shape)
    expect(dtypeOf(out)).toBe(v.spec.dtype)
    expect(isRowMajor(out)).toBe(true)
    const want = multiIndices(v.t.shape).map((idx) => {
      let slot = 0
      idx.forEach((i, ax) => (slot += norm.includes(ax) ? 0 : i * ks[ax]))
      return inDtype(v.spec.dtype, v.t.get(...idx) * factors[slot])
    })
    expect(mismatches(Array.from(out.data), want)).toEqual([])
    // broadcastSlices is the stride-0 view of the factors used above
    const b = broadcastSlices(factors, v.t.shape, norm)
    expect(b.shape).toEqual(v.t.shape)
    multiIndices(v.t.shape).forEach((idx) => {
      let slot = 0
      idx.forEach((i, ax) => (slot += norm.includes(ax) ? 0 : i * ks[ax]))
      expect(b.get(...idx)).toBe(factors[slot])
    })
  })

  test('scaleSlices with the per-column norms of a matrix normalizes its columns', () => {
    const x = tensor([[3, 1], [4, 1]], undefined, 'float32')
    const norms = reduce(x, [0], 'sumsq').map(Math.sqrt)
    const unit = scaleSlices(x, norms.map((n) => 1 / n), [0])
    expect(dtypeOf(unit)).toBe('float32')
    expect(Array.from(unit.data)).toEqual([0.6, Math.SQRT1_2, 0.8, Math.SQRT1_2].map(Math.fround))
    expect(Array.from(scaleSlices(tensor(3), new Float64Array([2]), []).data)).toEqual([6])
    expect(Array.from(scaleSlices(x, new Float64Array([2]), [0, 1]).data)).toEqual([6, 2, 8, 2])
  })
})

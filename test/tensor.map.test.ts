import { fc, test } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import ndarray from 'ndarray'
import { ConfigError, ShapeError } from '../src/errors/index.js'
import {
  Arena,
  type Dtype,
  type Kernel,
  type Tensor,
  add,
  allocate,
  copy,
  copyInto,
  dtypeOf,
  fromStorage,
  gather,
  isRowMajor,
  map,
  mapInto,
  mul,
  scaleAll,
  sub,
  tensor,
} from '../src/tensor/index.js'
import { type View, arbDtype, arbShape, arbViewOf, arbView, inDtype, mismatches, reference } from './helpers/views.js'

/** `m` same-shape views of random dtypes. */
function arbInputs(m: number, maxDims = 4, maxLen = 5, minLen = 0, minDims = 0): fc.Arbitrary<View[]> {
  return arbShape(maxDims, maxLen, minLen, minDims).chain((shape) =>
    fc.array(arbDtype.chain((d) => arbViewOf(shape, d)), { minLength: m, maxLength: m }),
  )
}

/** Output `i` is `Σ_j (i + 2j + 1)·x_j + i`: every output depends on every input, in order. */
function linearKernel(m: number, k: number): Kernel {
  return (n, outs, ins) => {
    for (let i = 0; i < k; i++) {
      const o = outs[i]
      for (let e = 0; e < n; e++) {
        let acc = i
        for (let j = 0; j < m; j++) acc += (i + 2 * j + 1) * ins[j][e]
        o[e] = acc
      }
    }
  }
}

function linearReference(inputs: Tensor[], i: number, dtype: Dtype): number[] {
  const cols = inputs.map(reference)
  const n = cols[0].length
  const out = new Array<number>(n)
  for (let e = 0; e < n; e++) {
    let acc = i
    for (let j = 0; j < inputs.length; j++) acc += (i + 2 * j + 1) * cols[j][e]
    out[e] = inDtype(dtype, acc)
  }
  return out
}

function expectContiguous(t: Tensor, shape: readonly number[], dtype: Dtype): void {
  expect(t.shape).toEqual([...shape])
  expect(dtypeOf(t)).toBe(dtype)
  expect(t.offset).toBe(0)
  expect(isRowMajor(t)).toBe(true)
  expect(t.data.length).toBe(t.size)
}

describe('map', () => {
  test.prop([
    fc.integer({ min: 1, max: 3 }).chain((m) => arbInputs(m)),
    fc.array(arbDtype, { minLength: 1, maxLength: 3 }),
  ])('1..3 inputs, 1..3 outputs over any views equal the elementwise reference', (views, outDtypes) => {
    const inputs = views.map((v) => v.t)
    const before = inputs.map(reference)
    const outs = map(inputs, outDtypes, linearKernel(inputs.length, outDtypes.length))
    expect(outs.length).toBe(outDtypes.length)
    outs.forEach((o, i) => {
      expectContiguous(o, inputs[0].shape, outDtypes[i])
      expect(mismatches(Array.from(o.data), linearReference(inputs, i, outDtypes[i]))).toEqual([])
      for (const t of inputs) expect(o.data).not.toBe(t.data)
    })
    // inputs are never written
    inputs.forEach((t, j) => expect(mismatches(reference(t), before[j])).toEqual([]))
  })

  test.prop([fc.integer({ min: 1, max: 3 }).chain((m) => arbInputs(m, 3, 40, 12, 3))], { numRuns: 25 })(
    'gathers strided inputs across several blocks',
    (views) => {
      const inputs = views.map((v) => v.t)
      const [o] = map(inputs, ['float64'], linearKernel(inputs.length, 1))
      expect(mismatches(Array.from(o.data), linearReference(inputs, 0, 'float64'))).toEqual([])
    },
  )

  test.prop([fc.integer({ min: 1, max: 3 }).chain((m) => arbInputs(m)), arbDtype])('mapInto writes into the storage it is given, as map', (views, dtype) => {
    const inputs = views.map((v) => v.t)
    const [want] = map(inputs, [dtype], linearKernel(inputs.length, 1))
    const out = allocate(dtype, want.data.length)
    expect(mapInto(inputs, [out], linearKernel(inputs.length, 1))).toBeUndefined()
    expect(mismatches(Array.from(out), Array.from(want.data))).toEqual([])
  })

  test('mapInto refuses storage of the wrong length, naming the output', () => {
    const a = tensor([1, 2, 3], [3])
    expect(() => mapInto([a], [new Float64Array(2)], linearKernel(1, 1))).toThrow(ShapeError)
    expect(() => mapInto([a], [new Float64Array(3), new Float64Array(4)], linearKernel(1, 2))).toThrow(/^output 1: storage of length 4 vs 3 elements/)
  })

  test('an Adam-like kernel writes three outputs in one pass', () => {
    const g = tensor([1, -2, 0.5, 4], [2, 2])
    const m = tensor([0.1, 0.2, 0.3, 0.4], [2, 2]).transpose(1, 0)
    const v = tensor([1, 1, 2, 2], [2, 2])
    const [u, m2, v2] = map([g, m, v], ['float64', 'float64', 'float64'], (n, [uo, mo, vo], [gi, mi, vi]) => {
      for (let k = 0; k < n; k++) {
        const mk = 0.9 * mi[k] + 0.1 * gi[k]
        const vk = 0.999 * vi[k] + 0.001 * gi[k] * gi[k]
        mo[k] = mk
        vo[k] = vk
        uo[k] = mk / (Math.sqrt(vk) + 1e-8)
      }
    })
    const mWant = [0.9 * 0.1 + 0.1 * 1, 0.9 * 0.3 + 0.1 * -2, 0.9 * 0.2 + 0.1 * 0.5, 0.9 * 0.4 + 0.1 * 4]
    const vWant = [0.999 + 0.001, 0.999 + 0.004, 2 * 0.999 + 0.001 * 0.25, 2 * 0.999 + 0.016]
    expect(Array.from(m2.data)).toEqual(mWant)
    expect(Array.from(v2.data)).toEqual(vWant)
    expect(Array.from(u.data)).toEqual(mWant.map((mk, k) => mk / (Math.sqrt(vWant[k]) + 1e-8)))
  })

  test('0-d and zero-size inputs', () => {
    const [s] = map([tensor(3), tensor(4)], ['float32'], linearKernel(2, 1))
    expect(s.shape).toEqual([])
    expect(s.get()).toBe(3 * 1 + 4 * 3)
    let calls = 0
    const [e] = map([tensor([], [2, 0, 3])], ['float64'], () => void calls++)
    expect(e.shape).toEqual([2, 0, 3])
    expect(e.size).toBe(0)
    expect(calls).toBe(0)
  })

  test('a donated buffer is written and returned without a copy', () => {
    const x = tensor([1, 2, 3, 4, 5, 6], [2, 3])
    const buf = new Float64Array(6)
    const [o] = map([x.transpose(1, 0)], [buf], linearKernel(1, 1))
    expect(o.data).toBe(buf)
    expect(o.shape).toEqual([3, 2])
    expect(Array.from(buf)).toEqual([1, 4, 2, 5, 3, 6])
    // an input's own row-major storage may be donated (an in-place update)
    const y = tensor([1, 2, 3])
    const [z] = map([y], [y.data], linearKernel(1, 1))
    expect(z.data).toBe(y.data)
    expect(Array.from(z.data)).toEqual([1, 2, 3])
    const w = tensor([1, 2, 3])
    const [w2] = map([w], [w.data], (n, [o2], [i]) => {
      for (let k = 0; k < n; k++) o2[k] = 2 * i[k] + 1
    })
    expect(Array.from(w2.data)).toEqual([3, 5, 7])
  })

  test('shape errors name the input and the donated output', () => {
    const a = tensor([1, 2, 3])
    const b = tensor([1, 2])
    expect(() => map([a, b], ['float64'], linearKernel(2, 1), ['params', 'grads'])).toThrow(ShapeError)
    expect(() => map([a, b], ['float64'], linearKernel(2, 1), ['params', 'grads'])).toThrow('grads: shape [2] vs [3] of params')
    expect(() => map([a, b], ['float64'], linearKernel(2, 1))).toThrow('input 1: shape [2] vs [3] of input 0')
    expect(() => map([a], [new Float64Array(2)], linearKernel(1, 1))).toThrow(ShapeError)
    expect(() => map([a], [new Float64Array(2)], linearKernel(1, 1))).toThrow('output 0')
  })
})

describe('gather', () => {
  test.prop([
    arbView().chain((v) => {
      const n = v.t.size
      return fc.tuple(fc.constant(v), fc.integer({ min: 0, max: n }).chain((s) => fc.tuple(fc.constant(s), fc.integer({ min: 0, max: n - s }))))
    }),
  ])('copies any row-major window of any view', (input) => {
    const [v, [start, len]] = input
    if (v.t.size === 0) return
    const dst = allocate(dtypeOf(v.t), len + 1).fill(-99)
    gather(v.t, dst, start, len)
    expect(mismatches(Array.from(dst.subarray(0, len)), reference(v.t).slice(start, start + len))).toEqual([])
    expect(dst[len]).toBe(-99)
  })
})

describe('copy', () => {
  test.prop([arbView(4, 5, true)])('is a new contiguous array equal to the view', (v) => {
    const c = copy(v.t)
    expectContiguous(c, v.t.shape, v.spec.dtype)
    expect(mismatches(Array.from(c.data), reference(v.t))).toEqual([])
    if (v.t.size > 0) expect(c.data).not.toBe(v.t.data)
  })

  test('does not alias its input', () => {
    const x = tensor([1, 2, 3])
    const c = copy(x)
    c.data[0] = 42
    expect(x.get(0)).toBe(1)
  })

  test.prop([arbView(4, 5, true)])('copyInto writes the view in row-major order into the storage given, converting the dtype', (v) => {
    const into = v.spec.dtype === 'float32' ? new Float64Array(v.t.size) : new Float32Array(v.t.size)
    const c = copyInto(v.t, into)
    expect(c.data).toBe(into)
    expect(c.shape).toEqual(v.t.shape)
    const want = reference(v.t).map((x) => (into instanceof Float32Array ? Math.fround(x) : x))
    expect(mismatches(Array.from(into), want)).toEqual([])
  })

  test('copyInto rejects storage of the wrong length or kind', () => {
    const x = tensor([1, 2, 3])
    expect(() => copyInto(x, new Float64Array(2))).toThrow(ShapeError)
    expect(() => copyInto(x, new Int32Array(3) as never)).toThrow(/into: expected a Float32Array or Float64Array/)
  })
})

describe('add, sub, mul, scaleAll', () => {
  const arbPair = fc
    .tuple(arbShape(), arbDtype, arbDtype)
    .chain(([s, d1, d2]) => fc.tuple(arbViewOf(s, d1), arbViewOf(s, d2)))
  test.prop([arbPair, fc.double({ min: -4, max: 4, noNaN: true })])('match the elementwise reference in the dtype of the first argument', ([a, b], c) => {
    const d = a.spec.dtype
    const ra = reference(a.t)
    const rb = reference(b.t)
    const cases: [Tensor, number[]][] = [
      [add(a.t, b.t), ra.map((x, k) => inDtype(d, x + rb[k]))],
      [sub(a.t, b.t), ra.map((x, k) => inDtype(d, x - rb[k]))],
      [mul(a.t, b.t), ra.map((x, k) => inDtype(d, x * rb[k]))],
      [scaleAll(a.t, c), ra.map((x) => inDtype(d, x * c))],
    ]
    for (const [got, want] of cases) {
      expectContiguous(got, a.t.shape, d)
      expect(mismatches(Array.from(got.data), want)).toEqual([])
    }
  })

  test('broadcast (stride-0) operands', () => {
    const row = ndarray(new Float64Array([1, 2, 3]), [2, 3], [0, 1], 0)
    const x = tensor([10, 20, 30, 40, 50, 60], [2, 3])
    expect(Array.from(add(x, row).data)).toEqual([11, 22, 33, 41, 52, 63])
    expect(Array.from(copy(row).data)).toEqual([1, 2, 3, 1, 2, 3])
    expect(Array.from(fromStorage(new Float64Array([5]), []).data)).toEqual([5])
  })
})

describe('Arena.place', () => {
  test.prop([fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: 1, maxLength: 30 })])('requests lie one after another in a chunk, and a request that does not fit starts the next', (sizes) => {
    const arena = new Arena()
    let previous: { chunk: Float32Array | Float64Array; end: number } | undefined
    for (const n of sizes) {
      const chunk = arena.place('float32', n)
      expect(chunk).toBeInstanceOf(Float32Array)
      expect(arena.at + n).toBeLessThanOrEqual(chunk.length)
      if (previous !== undefined) {
        // the same chunk right after the previous request, or a new chunk from its start when it would not fit
        if (previous.end + n <= previous.chunk.length) expect([chunk, arena.at]).toEqual([previous.chunk, previous.end])
        else expect([chunk === previous.chunk, arena.at]).toEqual([false, 0])
      }
      previous = { chunk, end: arena.at + n }
    }
  })

  it('keeps one chunk per dtype, and refuses a request larger than a chunk, naming n', () => {
    const arena = new Arena()
    const f32 = arena.place('float32', 10)
    const f64 = arena.place('float64', 10)
    expect(f64).toBeInstanceOf(Float64Array)
    expect(arena.at).toBe(0)
    expect(arena.place('float32', 10)).toBe(f32)
    expect(arena.at).toBe(10)
    expect(() => arena.place('float32', 16385)).toThrow(ShapeError)
    expect(() => arena.place('float32', 1.5)).toThrow('n: expected a whole number of elements from 0 to 16384, got 1.5')
  })

  it('carves from the chunks its supplier gives, as long as they are, and then hands out no arrays of their own', () => {
    const supplied: Float32Array[] = []
    const arena = new Arena(() => {
      supplied.push(new Float32Array(40000))
      return supplied[supplied.length - 1]
    })
    expect(arena.place('float32', 16384)).toBe(supplied[0])
    expect(arena.place('float32', 16384)).toBe(supplied[0])
    expect(arena.at).toBe(16384)
    // the third does not fit in the 40000 elements: a new chunk from the supplier
    expect(arena.place('float32', 16384)).toBe(supplied[1])
    expect([supplied.length, arena.at]).toEqual([2, 0])
    // an array of its own over a supplied chunk would not keep the chunk alive
    expect(() => arena.placedArray(16384)).toThrow(ConfigError)
    expect(() => arena.take('float32', 8)).toThrow('chunkOf: an arena whose chunks come from a supplier hands out views of them only')
    expect(() => arena.output('float32', 8)).toThrow(ConfigError)
  })
})

import { fc, test } from '@fast-check/vitest'
import { describe, expect } from 'vitest'
import ndarray from 'ndarray'
import { DtypeError, InvalidTensorError, ShapeError, isNdoptaxError } from '../src/errors/index.js'
import {
  type NestedNumbers,
  type Tensor,
  allocate,
  arrayOver,
  assertTensor,
  dtypeOf,
  fromStorage,
  full,
  isRowMajor,
  isTensor,
  roundTo,
  tensor,
  toArray,
  zeros,
  zerosLike,
} from '../src/tensor/index.js'
import { arbDtype, arbShape, arbView, inDtype, mismatches, reference } from './helpers/views.js'

/** The nested-array form of row-major `flat` values of `shape`. */
function nest(flat: readonly number[], shape: readonly number[]): NestedNumbers {
  if (shape.length === 0) return flat[0]
  const [n, ...rest] = shape
  const inner = rest.reduce((a, b) => a * b, 1)
  return Array.from({ length: n }, (_, i) => nest(flat.slice(i * inner, (i + 1) * inner), rest))
}

const arbShapeValues = arbShape(4, 4).chain((shape) =>
  fc.tuple(
    fc.constant(shape),
    fc.array(fc.double({ noNaN: false }), { minLength: shape.reduce((a, b) => a * b, 1), maxLength: shape.reduce((a, b) => a * b, 1) }),
  ),
)

function thrown(f: () => unknown): Error {
  try {
    f()
  } catch (e) {
    return e as Error
  }
  throw new Error('expected a throw')
}

describe('tensor()', () => {
  test.prop([arbShapeValues, fc.option(arbDtype, { nil: undefined })])('nested arrays: shape inferred, values copied in the dtype (float64 by default)', ([shape, flat], dtype) => {
    const t = tensor(nest(flat, shape), undefined, dtype)
    // a nested array cannot show the axes after the first empty one
    const zero = shape.indexOf(0)
    expect(t.shape).toEqual(zero < 0 ? shape : shape.slice(0, zero + 1))
    expect(dtypeOf(t)).toBe(dtype ?? 'float64')
    expect(isRowMajor(t) && t.offset === 0).toBe(true)
    expect(mismatches(Array.from(t.data), flat.map((x) => inDtype(dtype ?? 'float64', x)))).toEqual([])
  })

  test.prop([arbShapeValues, arbDtype, fc.option(arbDtype, { nil: undefined })])('typed arrays: the typed array dtype by default, always a copy', ([shape, flat], from, dtype) => {
    const src = allocate(from, flat.length)
    src.set(flat)
    const t = tensor(src, shape, dtype)
    expect(t.shape).toEqual(shape)
    expect(dtypeOf(t)).toBe(dtype ?? from)
    expect(t.data).not.toBe(src)
    expect(mismatches(Array.from(t.data), Array.from(src, (x) => inDtype(dtype ?? from, x)))).toEqual([])
    if (src.length > 0) {
      const before = t.data[0]
      src[0] = 12345
      expect(t.data[0]).toBe(before)
    }
  })

  test('flat arrays with a shape, numbers as 0-d tensors, no aliasing of plain arrays', () => {
    const flat = [1, 2, 3, 4, 5, 6]
    const t = tensor(flat, [2, 3])
    expect(t.shape).toEqual([2, 3])
    expect(t.get(1, 0)).toBe(4)
    flat[0] = 99
    expect(t.get(0, 0)).toBe(1)
    expect(tensor([1, 2, 3]).shape).toEqual([3])
    const s = tensor(2.5)
    expect(s.shape).toEqual([])
    expect(s.get()).toBe(2.5)
    expect(tensor(0.1, undefined, 'float32').get()).toBe(Math.fround(0.1))
    expect(tensor([]).shape).toEqual([0])
    expect(tensor([], [2, 0]).shape).toEqual([2, 0])
    expect(tensor([[1, 2], [3, 4]], [4]).shape).toEqual([4])
    const sub = new Float32Array([9, 1, 2, 9]).subarray(1, 3)
    expect(Array.from(tensor(sub).data)).toEqual([1, 2])
  })

  test('errors: ragged, size mismatch, bad shapes, bad dtypes, non-numbers', () => {
    expect(() => tensor([[1, 2], [3]])).toThrow(ShapeError)
    expect(() => tensor([[1, 2], 3] as NestedNumbers)).toThrow(ShapeError)
    expect(() => tensor([1, [2]] as NestedNumbers)).toThrow(InvalidTensorError)
    expect(() => tensor([1, 2, 3], [2, 2])).toThrow('shape: shape [2,2] holds 4 elements but data has 3')
    expect(() => tensor([1, 2], [-2, -1])).toThrow(ShapeError)
    expect(() => tensor([1, 2], [2.5])).toThrow(ShapeError)
    expect(() => tensor(new Int32Array([1, 2]) as unknown as Float64Array)).toThrow(DtypeError)
    expect(() => tensor([1], undefined, 'int32' as 'float32')).toThrow("dtype: expected 'float32' or 'float64', got \"int32\"")
    expect(() => tensor(['a'] as unknown as number[])).toThrow(InvalidTensorError)
    expect(() => tensor({} as unknown as number[])).toThrow(InvalidTensorError)
    expect(isNdoptaxError(thrown(() => tensor([[1], [2, 3]])))).toBe(true)
  })
})

describe('zeros, zerosLike, full, fromStorage, allocate, roundTo', () => {
  test.prop([arbDtype, fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 20 })])('arrayOver is the storage of a piece of a buffer, in its dtype', (dtype, start, n) => {
    const whole = allocate(dtype, start + n + 3)
    whole.forEach((_, k) => (whole[k] = k + 0.5))
    const a = arrayOver(dtype, whole.buffer, start * whole.BYTES_PER_ELEMENT, n)
    expect(a).toBeInstanceOf(dtype === 'float32' ? Float32Array : Float64Array)
    expect(Array.from(a)).toEqual(Array.from(whole.subarray(start, start + n)))
    if (n > 0) {
      a[0] = -1
      expect(whole[start]).toBe(-1)
    }
  })

  test.prop([arbShape(), arbDtype])('zeros and full make contiguous arrays of the shape and dtype', (shape, dtype) => {
    const z = zeros(shape, dtype)
    const f = full(shape, 0.1, dtype)
    for (const t of [z, f, zerosLike(f)]) {
      expect(t.shape).toEqual(shape)
      expect(dtypeOf(t)).toBe(dtype)
      expect(isRowMajor(t) && t.offset === 0 && t.data.length === t.size).toBe(true)
    }
    expect(Array.from(z.data).every((x) => x === 0)).toBe(true)
    expect(Array.from(f.data).every((x) => x === inDtype(dtype, 0.1))).toBe(true)
  })

  test('defaults and errors', () => {
    expect(dtypeOf(zeros([2]))).toBe('float64')
    expect(dtypeOf(full([2], 1))).toBe('float64')
    expect(zeros([]).size).toBe(1)
    expect(() => zeros([-1])).toThrow(ShapeError)
    expect(() => zeros([1.5])).toThrow(ShapeError)
    expect(() => full([2, Number.NaN], 1)).toThrow(ShapeError)
    expect(() => zeros([2], 'int8' as 'float32')).toThrow(DtypeError)
    expect(() => full([2], 1, 'float16' as 'float32')).toThrow(DtypeError)
  })

  test('fromStorage wraps without copying; allocate and roundTo follow the dtype', () => {
    const a = new Float32Array([1, 2, 3, 4, 5, 6])
    const t = fromStorage(a, [3, 2])
    expect(t.data).toBe(a)
    expect(t.stride).toEqual([2, 1])
    expect(t.get(2, 1)).toBe(6)
    expect(allocate('float32', 3)).toBeInstanceOf(Float32Array)
    expect(allocate('float64', 0)).toBeInstanceOf(Float64Array)
    expect(roundTo('float32')(0.1)).toBe(Math.fround(0.1))
    expect(roundTo('float64')(0.1)).toBe(0.1)
  })
})

describe('fromStorage builds ndarray views', () => {
  // ranks 0 to 6: past the ranks whose views are built directly, and the first one built, for each dtype
  const arbRankShape = fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 6 })
  test.prop([arbRankShape, arbDtype])('the same view as ndarray(...): prototype, fields in order, shape, row-major strides, offset 0', (shape, dtype) => {
    const n = shape.reduce((a, b) => a * b, 1)
    const data = allocate(dtype, n)
    data.forEach((_, k) => (data[k] = k + 0.25))
    const t = fromStorage(data, shape)
    const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1))
    const theirs = ndarray(data, shape.slice(), strides, 0)
    expect(Object.getPrototypeOf(t)).toBe(Object.getPrototypeOf(theirs))
    expect(Object.keys(t)).toEqual(Object.keys(theirs))
    expect(t.data).toBe(data)
    expect(t.shape).toEqual(shape)
    expect(t.stride).toEqual(strides)
    expect(t.offset).toBe(0)
    expect(t.dtype).toBe(dtype)
    expect(t.size).toBe(n)
    if (n > 0) {
      // the package's methods, through the prototype, read the view's own fields
      const last = shape.map((d) => d - 1)
      expect(t.get(...last)).toBe(data[n - 1])
      expect(toArray(t)).toEqual(toArray(theirs))
    }
  })

  test.prop([arbRankShape, arbDtype, fc.nat({ max: 9 })])('with an offset: the view ndarray(...) makes over the elements from there on', (shape, dtype, offset) => {
    const n = shape.reduce((a, b) => a * b, 1)
    const data = allocate(dtype, offset + n + 3)
    data.forEach((_, k) => (data[k] = k + 0.5))
    const t = fromStorage(data, shape, offset)
    const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1))
    const theirs = ndarray(data, shape.slice(), strides, offset)
    expect(Object.getPrototypeOf(t)).toBe(Object.getPrototypeOf(theirs))
    expect([t.data, t.shape, t.stride, t.offset]).toEqual([data, shape, strides, offset])
    expect(toArray(t)).toEqual(Array.from(data.subarray(offset, offset + n)))
  })

  // (a rank-0 view has no arrays of its own: the package's rank-0 views share their prototype's empty ones)
  const arbRanked = fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 6 })
  test.prop([arbRanked])("a view's shape and stride arrays are frozen, never the caller's, shared only by views of that shape", (shape) => {
    const data = allocate('float64', shape.reduce((a, b) => a * b, 1) + 1)
    const a = fromStorage(data, shape)
    const b = fromStorage(data, shape, 1)
    expect(a.shape).not.toBe(shape)
    expect(Object.isFrozen(a.shape) && Object.isFrozen(a.stride)).toBe(true)
    const [was, step] = [shape[0], b.stride[0]]
    // writing into them throws (modules run in strict mode), and changes nothing
    expect(() => ((a.shape as number[])[0] = was + 1)).toThrow(TypeError)
    expect(() => ((a.stride as number[])[0] = step - 7)).toThrow(TypeError)
    expect([a.shape[0], b.shape[0], b.stride[0]]).toEqual([was, was, step])
    // the caller's array stays the caller's: changing it changes no view
    shape[0] = was + 1
    expect([a.shape[0], b.shape[0]]).toEqual([was, was])
    const c = fromStorage(allocate('float64', shape.reduce((x, y) => x * y, 1)), shape)
    expect(c.shape[0]).toBe(was + 1)
    expect(c.shape).not.toBe(a.shape)
    expect(a.shape[0]).toBe(was)
  })
})

describe('toArray, isRowMajor', () => {
  test.prop([arbView(4, 5, true)])('toArray reads any view in row-major order', (v) => {
    expect(mismatches(toArray(v.t), reference(v.t))).toEqual([])
  })

  test.prop([arbView()])('isRowMajor holds exactly when the view is the storage run at its offset', (v) => {
    const t = v.t
    const run = Array.from(t.data.subarray(t.offset, t.offset + t.size))
    if (isRowMajor(t)) expect(t.size === 0 || mismatches(run, reference(t)).length === 0).toBe(true)
    // a view with every axis longer than 1 is row-major only with row-major strides
    if (t.shape.every((n) => n > 1)) {
      let acc = 1
      const rowMajorStrides = t.shape.map(() => 0)
      for (let i = t.shape.length - 1; i >= 0; i--) {
        rowMajorStrides[i] = acc
        acc *= t.shape[i]
      }
      expect(isRowMajor(t)).toBe(t.stride.every((s, i) => s === rowMajorStrides[i]))
    }
  })

  test('examples', () => {
    const x = tensor([[1, 2, 3], [4, 5, 6]])
    expect(toArray(x.transpose(1, 0))).toEqual([1, 4, 2, 5, 3, 6])
    expect(toArray(x.step(-1, -1))).toEqual([6, 5, 4, 3, 2, 1])
    expect(toArray(tensor(7))).toEqual([7])
    expect(isRowMajor(x)).toBe(true)
    expect(isRowMajor(x.lo(1, 0))).toBe(true)
    expect(isRowMajor(x.transpose(1, 0))).toBe(false)
    expect(isRowMajor(x.hi(2, 2))).toBe(false)
    expect(isRowMajor(x.hi(1, 3).transpose(1, 0).transpose(1, 0))).toBe(true)
    expect(isRowMajor(tensor([], [0, 3]).transpose(1, 0))).toBe(true)
  })
})

describe('isTensor, assertTensor', () => {
  test.prop([arbView(4, 5)])('every float view passes and is returned as is', (v) => {
    expect(isTensor(v.t)).toBe(true)
    expect(assertTensor(v.t, 'x')).toBe(v.t)
  })

  test('integer and generic ndarrays are dtype errors naming the argument', () => {
    const e = thrown(() => assertTensor(ndarray(new Int32Array([1, 2, 3])), 'grads[0]'))
    expect(e).toBeInstanceOf(DtypeError)
    expect(e).toBeInstanceOf(TypeError)
    expect(e.name).toBe('DtypeError')
    expect(e.message).toBe('grads[0]: expected a floating-point array (float32 or float64), got int32')
    expect((e as DtypeError).where).toBe('grads[0]')
    expect(() => assertTensor(ndarray(new Uint8Array(2)), 'x')).toThrow('got uint8')
    expect(() => assertTensor(ndarray([1, 2, 3]), 'x')).toThrow(DtypeError)
    expect(isTensor(ndarray(new Int32Array(2)))).toBe(false)
  })

  test('non-tensors are InvalidTensorErrors', () => {
    const notTensors: unknown[] = [
      3,
      null,
      undefined,
      'x',
      {},
      [1, 2],
      new Float64Array(2),
      { data: new Float64Array(2), shape: [2] }, // no strides
      { data: new Float64Array(2), shape: [2], stride: [1, 1], offset: 0 }, // strides of another rank
    ]
    for (const x of notTensors) {
      expect(isTensor(x)).toBe(false)
      const e = thrown(() => assertTensor(x, 'params.W'))
      expect(e, String(x)).toBeInstanceOf(InvalidTensorError)
      expect(e.message.startsWith('params.W: expected a Tensor (an ndarray over Float32Array or Float64Array), got ')).toBe(true)
    }
  })

  test('views reaching outside their storage, and invalid shapes or strides', () => {
    const d = new Float64Array(4)
    expect(() => assertTensor(ndarray(d, [3], [2], 0), 'x')).toThrow('x: the view reaches elements 0..4 outside its storage of length 4')
    expect(() => assertTensor(ndarray(d, [2], [-1], 0), 'x')).toThrow(InvalidTensorError)
    expect(() => assertTensor(ndarray(d, [2, 2], [2, 1], 1), 'x')).toThrow(InvalidTensorError)
    expect(() => assertTensor(ndarray(d, [], [], 4), 'x')).toThrow(InvalidTensorError)
    // ndarray itself truncates these to integers; hand-made views can carry them
    expect(() => assertTensor({ data: d, shape: [2], stride: [1], offset: 0.5 }, 'x')).toThrow(InvalidTensorError)
    expect(() => assertTensor({ data: d, shape: [2], stride: [0.5], offset: 0 }, 'x')).toThrow(InvalidTensorError)
    expect(() => assertTensor({ data: d, shape: [1.5], stride: [1], offset: 0 }, 'x')).toThrow(ShapeError)
    expect(() => assertTensor(ndarray(d, [-1], [1], 0), 'x')).toThrow(ShapeError)
    // in-bounds edge cases
    expect(assertTensor(ndarray(d, [2], [-3], 3), 'x').get(1)).toBe(0)
    expect(assertTensor(ndarray(d, [0, 5], [5, 1], 99), 'x').size).toBe(0)
    expect(assertTensor(ndarray(d, [5], [0], 3), 'x').size).toBe(5)
  })

  test('tensors are read, not kept: a tensor made from a view does not share it', () => {
    const x: Tensor = tensor([1, 2, 3, 4], [2, 2])
    const y = tensor(toArray(x.transpose(1, 0)), [2, 2])
    y.data[0] = 100
    expect(x.get(0, 0)).toBe(1)
  })
})

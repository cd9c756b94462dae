/**
 * Creating tensors: from numbers, nested arrays or typed arrays, zeros and
 * constant fills, and reading a tensor back as plain numbers.
 *
 * @module tensor
 */
import { DtypeError, InvalidTensorError, ShapeError, checkNumber, describe } from '../errors/index.js'
import { type Dtype, type FloatArray, type NestedNumbers, type Shape, type Tensor, allocate, assertTensor, dtypeOf, dtypeOfArray, formatShape, fromStorage, sizeOf } from './tensor.js'

/** Throws a `DtypeError` naming `where` unless `dtype` is `'float32'` or `'float64'`. */
function checkDtype(dtype: unknown, where: string): Dtype {
  if (dtype !== 'float32' && dtype !== 'float64') throw new DtypeError(where, `expected 'float32' or 'float64', got ${describe(dtype)}`)
  return dtype
}

/**
 * The shape validator: returns a copy of `shape`, or throws a `ShapeError`
 * naming `where` unless it is a list of non-negative integers.
 *
 * @example
 * checkShape([2, 3], 'shape') // [2, 3]
 * checkShape([2, -1], 'shape') // throws ShapeError: "shape: axis 1 has invalid length -1"
 * @category utils
 */
export function checkShape(shape: Shape, where: string): number[] {
  if (!Array.isArray(shape)) throw new ShapeError(where, `expected a list of axis lengths, got ${describe(shape)}`)
  for (let i = 0; i < shape.length; i++) {
    if (!Number.isInteger(shape[i]) || shape[i] < 0) throw new ShapeError(where, `axis ${i} has invalid length ${describe(shape[i])}`)
  }
  return shape.slice()
}

function inferShape(data: NestedNumbers): number[] {
  const shape: number[] = []
  let d: NestedNumbers = data
  while (Array.isArray(d)) {
    shape.push(d.length)
    d = (d as readonly NestedNumbers[])[0]
  }
  return shape
}

function flattenNested(data: NestedNumbers, shape: Shape, out: number[], depth: number, where: string): void {
  if (depth === shape.length) {
    if (typeof data !== 'number') throw new InvalidTensorError(where, `expected a number at depth ${depth}, got ${describe(data)}`)
    out.push(data)
    return
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw new ShapeError(where, `ragged nested array: expected length ${shape[depth]} at depth ${depth}, got ${describe(data)}`)
  }
  for (const d of data as readonly NestedNumbers[]) flattenNested(d, shape, out, depth + 1, where)
}

/**
 * A new contiguous row-major tensor holding a copy of `data`.
 *
 * `data` is a flat number array or typed array (with `shape`, default
 * `[data.length]`), a nested number array (its shape is inferred), or a single
 * number (a 0-d tensor). `dtype` defaults to the typed array's own type and to
 * `'float64'` for plain numbers.
 *
 * @example
 * const w = tensor([1, 2, 3, 4], [2, 2])         // float64 2×2
 * const v = tensor(new Float32Array([3, 4]))      // float32, shape [2]
 * const m = tensor([[1, 2], [3, 4]], undefined, 'float32')
 * @category constructors
 */
export function tensor(data: NestedNumbers | FloatArray, shape?: Shape, dtype?: Dtype): Tensor {
  if (dtype !== undefined) checkDtype(dtype, 'dtype')
  let flat: ArrayLike<number>
  let inferred: number[]
  if (data instanceof Float32Array || data instanceof Float64Array) {
    flat = data
    inferred = [data.length]
    dtype ??= dtypeOfArray(data)
  } else if (ArrayBuffer.isView(data)) {
    throw new DtypeError('data', `expected a Float32Array, Float64Array or numbers, got ${describe(data)}`)
  } else if (typeof data === 'number') {
    flat = [data]
    inferred = []
  } else if (Array.isArray(data)) {
    inferred = inferShape(data)
    const out: number[] = []
    flattenNested(data, inferred, out, 0, 'data')
    flat = out
  } else {
    throw new InvalidTensorError('data', `expected numbers, nested number arrays or a Float32Array/Float64Array, got ${describe(data)}`)
  }
  const s = shape === undefined ? inferred : checkShape(shape, 'shape')
  if (sizeOf(s) !== flat.length) {
    throw new ShapeError('shape', `shape ${formatShape(s)} holds ${sizeOf(s)} elements but data has ${flat.length}`)
  }
  const storage = allocate(dtype ?? 'float64', flat.length)
  storage.set(flat)
  return fromStorage(storage, s)
}

/**
 * A new contiguous tensor of zeros.
 *
 * @example
 * zeros([2, 3], 'float32')
 * @category constructors
 */
export function zeros(shape: Shape, dtype: Dtype = 'float64'): Tensor {
  const s = checkShape(shape, 'shape')
  return fromStorage(allocate(checkDtype(dtype, 'dtype'), sizeOf(s)), s)
}

/**
 * A new contiguous tensor of zeros with the shape and dtype of `t`.
 *
 * @example
 * zerosLike(tensor([1, 2, 3])) // [0, 0, 0], float64
 * @category constructors
 */
export function zerosLike(t: Tensor): Tensor {
  assertTensor(t, 't')
  return fromStorage(allocate(dtypeOf(t), sizeOf(t.shape)), t.shape)
}

/**
 * A new contiguous tensor filled with `value`, of `shape` and `dtype`.
 * @category constructors
 */
export function full(shape: Shape, value: number, dtype: Dtype = 'float64'): Tensor {
  const s = checkShape(shape, 'shape')
  checkNumber('value', value, { allowInfinity: true })
  const a = allocate(checkDtype(dtype, 'dtype'), sizeOf(s))
  a.fill(value)
  return fromStorage(a, s)
}

/**
 * The elements of `t` in row-major order as a plain number array (any view).
 *
 * @example
 * toArray(tensor([[1, 2], [3, 4]]).transpose(1, 0)) // [1, 3, 2, 4]
 * @category utils
 */
export function toArray(t: Tensor): number[] {
  assertTensor(t, 't')
  const { shape, stride } = t
  const n = sizeOf(shape)
  const out = new Array<number>(n)
  if (n === 0) return out
  const idx = new Array<number>(shape.length).fill(0)
  let p = t.offset
  for (let k = 0; k < n; k++) {
    out[k] = t.data[p]
    for (let ax = shape.length - 1; ax >= 0; ax--) {
      if (++idx[ax] < shape[ax]) {
        p += stride[ax]
        break
      }
      idx[ax] = 0
      p -= (shape[ax] - 1) * stride[ax]
    }
  }
  return out
}

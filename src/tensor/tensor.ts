/**
 * The `Tensor` type, dtype and shape helpers, row-major storage and tensor
 * validation.
 *
 * A tensor is an `ndarray` over a `Float32Array` or `Float64Array`; any view
 * (transposed, stepped, negative steps, sliced, offset, broadcast with stride
 * 0) is a valid input. Everything created from storage here is contiguous and
 * row-major.
 *
 * @module tensor
 */
import ndarray from 'ndarray'
import type { NdArray } from 'ndarray'
import { DtypeError, InvalidTensorError, ShapeError, describe } from '../errors/index.js'
import { donatedError, isTaken } from './taken.js'

/** The storage of a tensor. */
export type FloatArray = Float32Array | Float64Array

/** The two element types a tensor may have. */
export type Dtype = 'float32' | 'float64'

/**
 * A strided n-dimensional view over a `Float32Array` or `Float64Array`: an
 * `NdArray` of the `ndarray` package.
 * @category model
 */
export type Tensor = NdArray<FloatArray>

/** A shape: one non-negative integer per axis. */
export type Shape = readonly number[]

/** Nested number arrays accepted by {@link tensor}. */
export type NestedNumbers = number | readonly NestedNumbers[]

/**
 * The dtype of a typed array.
 * @category utils
 */
export function dtypeOfArray(a: FloatArray): Dtype {
  return a instanceof Float32Array ? 'float32' : 'float64'
}

/**
 * The dtype of a tensor: `'float32'` or `'float64'`.
 *
 * @example
 * dtypeOf(tensor([1, 2], [2], 'float32')) // 'float32'
 * @category utils
 */
export function dtypeOf(t: Tensor): Dtype {
  if (!isTensor(t)) throw new InvalidTensorError('t', `expected a Tensor (an ndarray over Float32Array or Float64Array), got ${describe(t)}`)
  if (isTaken(t)) throw donatedError('t') // its emptied storage no longer tells the dtype
  return dtypeOfArray(t.data)
}

/**
 * A typed array of `dtype` over `n` elements of `buffer` from byte
 * `byteOffset` on: its storage, not a copy (for a piece of a larger
 * buffer, about half the cost of `subarray`).
 *
 * @example
 * const chunk = new ArrayBuffer(1024)
 * const second = arrayOver('float32', chunk, 64 * 4, 64) // elements 64..127
 * @category constructors
 */
export function arrayOver(dtype: Dtype, buffer: ArrayBufferLike, byteOffset: number, n: number): FloatArray {
  return dtype === 'float32' ? new Float32Array(buffer, byteOffset, n) : new Float64Array(buffer, byteOffset, n)
}

/**
 * A new zero-filled typed array of `dtype` with `n` elements.
 * @category constructors
 */
export function allocate(dtype: Dtype, n: number): FloatArray {
  try {
    return dtype === 'float32' ? new Float32Array(n) : new Float64Array(n)
  } catch (e) {
    // the engine's own RangeError ("Invalid typed array length", "Array buffer allocation failed")
    throw new ShapeError('shape', `cannot allocate ${n} ${dtype} elements: ${(e as Error).message}`)
  }
}

/**
 * Rounds a number to the precision of `dtype` (`Math.fround` for float32, the
 * identity for float64). Used where a source system does arithmetic in the
 * array's own dtype.
 * @category utils
 */
export function roundTo(dtype: Dtype): (x: number) => number {
  return dtype === 'float32' ? Math.fround : identityNumber
}

function identityNumber(x: number): number {
  return x
}

/** The number of elements of a shape (1 for the 0-d shape `[]`). */
export function sizeOf(shape: Shape): number {
  let n = 1
  for (let i = 0; i < shape.length; i++) n *= shape[i]
  return n
}

/** Row-major strides of a contiguous array of `shape`. */
export function rowMajorStrides(shape: Shape): number[] {
  const s = new Array<number>(shape.length)
  let acc = 1
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc
    acc *= shape[i]
  }
  return s
}

/** True when two shapes are equal (at once when they are one array: the views of one shape a step makes share it). */
export function shapeEquals(a: Shape, b: Shape): boolean {
  if (a === b) return true
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Formats a shape as `[3,4]`. */
export function formatShape(s: Shape): string {
  return `[${s.join(',')}]`
}

/**
 * True when `t` is row-major contiguous: its elements in row-major order are
 * `t.data[t.offset .. t.offset + t.size)`. Axes of length 1 may have any
 * stride. Zero-size tensors are contiguous.
 * @category utils
 */
export function isRowMajor(t: Tensor): boolean {
  const { shape, stride } = t
  let expected = 1
  for (let i = shape.length - 1; i >= 0; i--) {
    const n = shape[i]
    if (n === 0) return true
    if (n !== 1 && stride[i] !== expected) return false
    expected *= n
  }
  return true
}

/**
 * Wraps storage as a contiguous row-major tensor without copying: the
 * `sizeOf(shape)` elements of `data` from element `offset` on (0 by
 * default; `t.offset === offset`), so many small tensors can share one
 * array. The caller hands those elements over: they must not be written
 * afterwards.
 *
 * @example
 * fromStorage(new Float32Array([1, 2, 3, 4]), [2, 2]) // [[1, 2], [3, 4]], float32
 * fromStorage(new Float32Array([1, 2, 3, 4, 5, 6]), [2], 2) // [3, 4], with offset 2
 * @category constructors
 */
export function fromStorage(data: FloatArray, shape: Shape, offset = 0): Tensor {
  return rowMajorView(dtypeOfArray(data), shape.length)(data, shape, offset)
}

/** Wraps storage as a row-major view of one dtype and rank, from element `offset` on. */
type RowMajorView = (data: FloatArray, shape: Shape, offset: number) => Tensor

const generalView: RowMajorView = (data, shape, offset) => ndarray(data, shape.slice(), rowMajorStrides(shape), offset)
const views: Record<Dtype, RowMajorView[]> = { float32: [], float64: [] }

/** A constructor of views with the fields of an `ndarray` view, in its order, and `proto` (its view class's prototype, with every method). */
type ViewClass = new (data: FloatArray, shape: readonly number[], stride: readonly number[], offset: number) => Tensor
function viewClass(proto: object): ViewClass {
  function View(
    this: { data: FloatArray; shape: readonly number[]; stride: readonly number[]; offset: number },
    data: FloatArray,
    shape: readonly number[],
    stride: readonly number[],
    offset: number,
  ): void {
    this.data = data
    this.shape = shape
    this.stride = stride
    this.offset = offset
  }
  View.prototype = proto
  return View as unknown as ViewClass
}

/**
 * The fastest row-major wrapper for a dtype and rank: the `ndarray`
 * package's view (its prototype, with every method, and its fields), once
 * checked to build the same view as `ndarray(...)`; otherwise
 * `ndarray(...)` itself.
 *
 * Its shape and stride arrays are frozen, and shared by consecutive views
 * of the same shape (a step's thousands of outputs of a few shapes make a
 * few pairs, not two arrays each: a third of the objects a small-leaf step
 * made). No `ndarray` method writes into them. New ones are copies
 * (`slice`) of a template, not array literals as in `ndarray`'s own
 * constructor: the engine tracks each array literal as an allocation site
 * and may decide, from a burst of long-lived tensors (a model's parameters
 * made at start-up), that everything made there is long-lived; from then
 * on every step's outputs would be made in the old generation, which only
 * a full collection frees (a step over many small leaves ran two to three
 * times slower for the rest of the process). A copy has no such site.
 */
function rowMajorView(dtype: Dtype, nd: number): RowMajorView {
  let f = views[dtype][nd]
  if (f === undefined) {
    const shape = Array.from({ length: nd }, (_, i) => i + 2)
    const sample = generalView(allocate(dtype, sizeOf(shape)), shape, 0)
    const View = viewClass(Object.getPrototypeOf(sample) as object)
    const zeros = Array.from({ length: nd }, () => 0)
    // the shape and strides of the last view made, shared by the next of the same shape
    let lastShape: readonly number[] = Object.freeze(zeros.slice())
    let lastStride: readonly number[] = lastShape
    const direct: RowMajorView = (data, s, offset) => {
      if (!shapeEquals(s, lastShape)) {
        const sh = zeros.slice()
        const st = zeros.slice()
        let acc = 1
        for (let i = nd - 1; i >= 0; i--) {
          sh[i] = s[i]
          st[i] = acc
          acc *= s[i]
        }
        lastShape = Object.freeze(sh)
        lastStride = Object.freeze(st)
      }
      return new View(data, lastShape, lastStride, offset)
    }
    const check = direct(sample.data, shape, 0)
    const same = (a: readonly unknown[], b: readonly unknown[]) => a.length === b.length && a.every((x, i) => x === b[i])
    const alike =
      Object.getPrototypeOf(check) === Object.getPrototypeOf(sample) &&
      same(Object.keys(check), Object.keys(sample)) &&
      same(check.shape, sample.shape) &&
      same(check.stride, sample.stride) &&
      check.offset === sample.offset
    f = alike ? direct : generalView
    views[dtype][nd] = f
  }
  return f
}

/**
 * True for an `ndarray` over a `Float32Array` or `Float64Array` with
 * consistent shape and strides.
 * @category utils
 */
export function isTensor(x: unknown): x is Tensor {
  if (typeof x !== 'object' || x === null) return false
  const t = x as Partial<Tensor>
  const d = t.data
  const c = d?.constructor // the usual case first: cheaper than two instanceof walks
  return (
    (c === Float32Array || c === Float64Array || d instanceof Float64Array || d instanceof Float32Array) &&
    Array.isArray(t.shape) &&
    Array.isArray(t.stride) &&
    t.stride.length === t.shape.length &&
    typeof t.offset === 'number'
  )
}

/**
 * The one tensor validator: returns `x` when it is a tensor, otherwise throws
 * an `InvalidTensorError` (not an ndarray), a `DtypeError` (an integer or
 * generic ndarray) or a `DonatedBufferError` (a tensor whose buffer a
 * donating step took over) naming `where`. It also checks that every element of the
 * view lies inside its storage.
 * @category utils
 */
export function assertTensor(x: unknown, where: string): Tensor {
  if (!isTensor(x)) {
    const o = x as { data?: unknown; shape?: unknown } | null
    const floatData = typeof o === 'object' && o !== null && (o.data instanceof Float64Array || o.data instanceof Float32Array)
    if (typeof o === 'object' && o !== null && Array.isArray(o.shape) && o.data !== undefined && !floatData) {
      const d = o.data as { constructor?: { name?: string } }
      const kind = ArrayBuffer.isView(d) ? (d.constructor?.name ?? 'typed array').replace(/Array$/, '').toLowerCase() : describe(d)
      throw new DtypeError(where, `expected a floating-point array (float32 or float64), got ${kind}`)
    }
    throw new InvalidTensorError(where, `expected a Tensor (an ndarray over Float32Array or Float64Array), got ${describe(x)}`)
  }
  if (isTaken(x)) throw donatedError(where)
  const { shape, stride, offset, data } = x
  let lo = offset
  let hi = offset
  let empty = false
  for (let i = 0; i < shape.length; i++) {
    const n = shape[i]
    if (!Number.isInteger(n) || n < 0) throw new ShapeError(where, `axis ${i} has invalid length ${describe(n)}`)
    if (!Number.isInteger(stride[i])) throw new InvalidTensorError(where, `axis ${i} has invalid stride ${describe(stride[i])}`)
    if (n === 0) empty = true
    else if (stride[i] > 0) hi += (n - 1) * stride[i]
    else lo += (n - 1) * stride[i]
  }
  if (!empty && (!Number.isInteger(offset) || lo < 0 || hi >= data.length)) {
    throw new InvalidTensorError(where, `the view reaches elements ${lo}..${hi} outside its storage of length ${data.length}`)
  }
  return x
}

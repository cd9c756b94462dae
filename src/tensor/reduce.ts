/**
 * The reduction primitive: sum of squares, sum of `|x|^p`, or max `|x|` over
 * any set of axes of any view, accumulated in float64, walking memory in
 * storage order; plus the broadcast of a per-slice factor back over the
 * tensor.
 *
 * @module tensor
 */
import { AxisError, ShapeError, describe } from '../errors/index.js'
import { TAKEN, donatedError } from './taken.js'
import { checkShape } from './create.js'
import { type FloatArray, type Shape, type Tensor, allocate, assertTensor, dtypeOf, formatShape, fromStorage, isRowMajor, rowMajorStrides, sizeOf } from './tensor.js'
import ndarray from 'ndarray'

/**
 * What a reduction accumulates per slice:
 * - `'sum'`: `Σ x` (signed)
 * - `'sumsq'`: `Σ x²`
 * - `'sumabs'`: `Σ |x|`
 * - `'sumpow'`: `Σ |x|^p`
 * - `'maxabs'`: `max |x|` (0 for an empty slice; NaN if the slice holds a NaN)
 * @category kernels
 */
export type Reduction = 'sum' | 'sumsq' | 'sumabs' | 'sumpow' | 'maxabs'

/**
 * The one axis validator. Turns `axes` (a number, a list, or `undefined` for
 * every axis) into a sorted list of distinct axes in `0..ndim-1`; negative
 * axes wrap as in numpy. Throws an `AxisError` naming `where` for a non-integer,
 * out-of-range or repeated axis.
 *
 * @example
 * normalizeAxes([-1, 0], 3, 'axes') // [0, 2]
 * normalizeAxes([1, -1], 2, 'axes') // throws AxisError: repeated axis
 * @category utils
 */
export function normalizeAxes(axes: number | readonly number[] | undefined, ndim: number, where: string): number[] {
  if (axes === undefined) {
    const all = new Array<number>(ndim)
    for (let i = 0; i < ndim; i++) all[i] = i
    return all
  }
  const list = typeof axes === 'number' ? [axes] : axes
  if (!Array.isArray(list)) throw new AxisError(where, `expected an axis or a list of axes, got ${describe(axes)}`)
  const seen = new Set<number>()
  for (const a of list) {
    if (typeof a !== 'number' || !Number.isInteger(a)) throw new AxisError(where, `expected integer axes, got ${describe(a)}`)
    if (a < -ndim || a >= ndim) {
      throw new AxisError(where, `axis ${a} is out of range for an array of ${ndim} dimensions (expected ${-ndim}..${ndim - 1})`)
    }
    const w = a < 0 ? a + ndim : a
    if (seen.has(w)) throw new AxisError(where, `repeated axis ${a} (axis ${w} appears more than once)`)
    seen.add(w)
  }
  return [...seen].sort((x, y) => x - y)
}

/**
 * The shape of a reduction's result over `axes`: reduced axes become 1 with
 * `keepdims`, and are dropped without it.
 * @category utils
 */
export function reducedShape(shape: Shape, axes: readonly number[], keepdims: boolean): number[] {
  const out: number[] = []
  for (let i = 0; i < shape.length; i++) {
    if (!axes.includes(i)) out.push(shape[i])
    else if (keepdims) out.push(1)
  }
  return out
}

interface Dim {
  n: number // length
  s: number // data stride (made non-negative)
  a: number // accumulator (or factor) stride (0 on reduced axes)
  o: number // output stride (scaleSlices; 0 for a reduction)
}

/** A storage-order walk over a view: start offsets and the merged axes, outermost first. */
interface Plan {
  readonly off: number
  readonly aoff: number
  readonly ooff: number
  readonly dims: Dim[]
}

/**
 * Plans the storage-order walk of `x` with one accumulator per slice over
 * `axes` (row-major over the kept axes) and, when `outStrides` is given, a
 * row-major output of `x`'s shape: axes of length 1 dropped, negative steps
 * walked backwards, axes sorted from the largest data stride to the
 * smallest, and an outer axis merged into the next inner one when the three
 * walk one run together.
 */
function plan(x: Tensor, axes: readonly number[], outStrides?: readonly number[]): Plan {
  if (x.data === TAKEN) throw donatedError('x')
  const { shape, stride } = x
  // every axis of a row-major view reduced (a whole tensor's norm): its elements are one run, which is what the
  // merging below comes to, without its arrays
  if (outStrides === undefined && axes.length === shape.length && isRowMajor(x)) {
    return { off: x.offset, aoff: 0, ooff: 0, dims: [{ n: sizeOf(shape), s: 1, a: 0, o: 0 }] }
  }
  const accStrides = rowMajorStrides(reducedShape(shape, axes, true))
  let off = x.offset
  let aoff = 0
  let ooff = 0
  const dims: Dim[] = []
  for (let i = 0; i < shape.length; i++) {
    const n = shape[i]
    if (n === 1) continue
    let s = stride[i]
    let a = axes.includes(i) ? 0 : accStrides[i]
    let o = outStrides === undefined ? 0 : outStrides[i]
    if (s < 0) {
      off += (n - 1) * s
      s = -s
      aoff += (n - 1) * a
      a = -a
      ooff += (n - 1) * o
      o = -o
    }
    dims.push({ n, s, a, o })
  }
  dims.sort((u, v) => v.s - u.s || Math.abs(v.a) - Math.abs(u.a))
  // merge an outer axis into the next inner one when all walk one run
  for (let i = dims.length - 2; i >= 0; i--) {
    const u = dims[i]
    const q = dims[i + 1]
    if (u.s === q.s * q.n && u.a === q.a * q.n && u.o === q.o * q.n) {
      q.n *= u.n
      dims.splice(i, 1)
    }
  }
  if (dims.length === 0) dims.push({ n: 1, s: 0, a: 0, o: 0 })
  return { off, aoff, ooff, dims }
}

/**
 * The reduction primitive. Reduces `x` (any view) over `axes` (already
 * normalized, see {@link normalizeAxes}) and returns one float64 value per
 * slice, in row-major order of the kept axes. `p` is the exponent of
 * `'sumpow'`.
 *
 * The walk follows storage order: axes are visited from the largest stride to
 * the smallest, negative steps are walked backwards, contiguous runs are
 * merged, so a column reduction of a row-major matrix reads memory
 * sequentially and accumulates into a row of per-column sums.
 *
 * Sums are compensated (Kahan). A signed `'sum'` is within
 * `2u·|Σx| + 4n·u²·Σ|x|` (u = 2⁻⁵³). Every other sum has non-negative
 * terms, so its relative error is at most `2u + 4n·u²` plus the error of its
 * terms (`u` each for `x²` of float64 data), whatever the order of the
 * walk. The one exception is `'sumsq'` of float32 data, whose squares are
 * exact in float64: it is summed plainly, within `(n − 1)·u`, which stays
 * far below a float32 ulp. A view and its contiguous copy therefore agree
 * to about one float64 ulp (float32 data: to `n·u`). Terms are not rescaled here: a sum whose terms overflow
 * is `Infinity`, one whose terms underflow loses them; the norms built on it
 * (`constraints`) rescale such slices.
 *
 * @example
 * reduce(tensor([[3, 0], [4, 1]]), [0], 'sumsq') // Float64Array [25, 1]
 * @category kernels
 */
export function reduce(x: Tensor, axes: readonly number[], op: Reduction, p = 2): Float64Array {
  const acc = new Float64Array(sizeOf(reducedShape(x.shape, axes, true)))
  if (sizeOf(x.shape) === 0) return acc
  const { off, aoff, dims } = plan(x, axes)
  const inner = dims[dims.length - 1]
  const { n, s } = inner
  const as = inner.a
  const data = x.data
  if (op === 'maxabs') {
    walk(dims, off, aoff, 0, (d, a) => {
      if (as === 0) acc[a] = combineMax(acc[a], runMax(data, d, s, n))
      else runMaxVector(data, d, s, n, acc, a, as)
    })
    return acc
  }
  if (op === 'sumsq' && data instanceof Float32Array) {
    // squares of float32 data are exact in float64, and a plain float64 sum of them is within n·2⁻⁵³: far below a float32 ulp
    walk(dims, off, aoff, 0, (d, a) => {
      if (as === 0) acc[a] += runSumsqPlain(data, d, s, n)
      else runSumsqPlainVector(data, d, s, n, acc, a, as)
    })
    return acc
  }
  // Kahan: comp holds the low-order part lost by each accumulator so far (negated)
  const comp = new Float64Array(acc.length)
  const scalar = op === 'sumsq' ? runSumsq : op === 'sumabs' ? runSumabs : op === 'sum' ? runSum : runSumpow
  const vector = op === 'sumsq' ? runSumsqVector : op === 'sumabs' ? runSumabsVector : op === 'sum' ? runSumVector : runSumpowVector
  walk(dims, off, aoff, 0, (d, a) => {
    if (as === 0) scalar(data, d, s, n, acc, comp, a, p)
    else vector(data, d, s, n, acc, comp, a, as, p)
  })
  let poisoned = false
  for (let i = 0; i < acc.length; i++) {
    const v = acc[i] - comp[i]
    acc[i] = v
    if (v !== v) poisoned = true
  }
  if (poisoned && op === 'sum') {
    // an infinite term makes the compensation NaN: a plain sum of the poisoned slices gives IEEE's ±Infinity or NaN
    const plain = new Float64Array(acc.length)
    walk(dims, off, aoff, 0, (d, a) => {
      for (let k = 0; k < n; k++, d += s, a += as) plain[a] += data[d]
    })
    for (let i = 0; i < acc.length; i++) if (acc[i] !== acc[i]) acc[i] = plain[i]
  } else if (poisoned) {
    // a term of Infinity makes the compensation NaN: the sum of non-negative terms is then Infinity, unless the slice holds a NaN
    const max = reduce(x, axes, 'maxabs')
    for (let i = 0; i < acc.length; i++) if (acc[i] !== acc[i]) acc[i] = max[i] !== max[i] ? NaN : Infinity
  }
  return acc
}
/**
 * The odometer over the outer axes of a plan: calls `run` with the data,
 * accumulator and output offsets of every inner run, in storage order.
 */
function walk(dims: readonly Dim[], off: number, aoff: number, ooff: number, run: (d: number, a: number, o: number) => void): void {
  const outer = dims.length - 1
  const idx = new Array<number>(outer).fill(0)
  let d = off
  let a = aoff
  let o = ooff
  for (;;) {
    run(d, a, o)
    let ax = outer - 1
    for (; ax >= 0; ax--) {
      const dim = dims[ax]
      if (++idx[ax] < dim.n) {
        d += dim.s
        a += dim.a
        o += dim.o
        break
      }
      idx[ax] = 0
      d -= (dim.n - 1) * dim.s
      a -= (dim.n - 1) * dim.a
      o -= (dim.n - 1) * dim.o
    }
    if (ax < 0) return
  }
}

function combineMax(cur: number, r: number): number {
  return r > cur || r !== r ? r : cur
}

/** `max |x|` of one run inside one slice (NaN as soon as one element is NaN). */
function runMax(x: FloatArray, d: number, s: number, n: number): number {
  let r = 0
  for (let k = 0; k < n; k++, d += s) {
    const v = Math.abs(x[d])
    if (v > r) r = v
    else if (v !== v) return v
  }
  return r
}

/** `max |x|` of one run across slices, each element into its own accumulator. */
function runMaxVector(x: FloatArray, d: number, s: number, n: number, acc: Float64Array, a: number, as: number): void {
  for (let k = 0; k < n; k++, d += s, a += as) {
    const v = Math.abs(x[d])
    const c = acc[a]
    if (v > c || v !== v) acc[a] = c !== c ? c : v
  }
}

/**
 * One run inside one slice, added to `acc[a]` with Kahan compensation in
 * `comp[a]`; two interleaved partial sums keep the loop from waiting on
 * one chain of additions.
 */
type ScalarRun = (x: FloatArray, d: number, s: number, n: number, acc: Float64Array, comp: Float64Array, a: number, p: number) => void
/** One run across slices: element `k` goes to accumulator `a + k·as`. */
type VectorRun = (x: FloatArray, d: number, s: number, n: number, acc: Float64Array, comp: Float64Array, a: number, as: number, p: number) => void

const runSumsq: ScalarRun = (x, d, s, n, acc, comp, a) => {
  let s0 = acc[a]
  let c0 = comp[a]
  let s1 = 0
  let c1 = 0
  let k = 0
  for (; k + 1 < n; k += 2, d += 2 * s) {
    const v0 = x[d]
    const v1 = x[d + s]
    const y0 = v0 * v0 - c0
    const y1 = v1 * v1 - c1
    const t0 = s0 + y0
    const t1 = s1 + y1
    c0 = t0 - s0 - y0
    c1 = t1 - s1 - y1
    s0 = t0
    s1 = t1
  }
  if (k < n) {
    const v = x[d]
    const y = v * v - c0
    const t = s0 + y
    c0 = t - s0 - y
    s0 = t
  }
  merge(acc, comp, a, s0, c0, s1, c1)
}

/** A Kahan run adding `term(x, p)` of each element of one run inside one slice. */
function termRun(term: (v: number, p: number) => number): ScalarRun {
  return (x, d, s, n, acc, comp, a, p) => {
    let s0 = acc[a]
    let c0 = comp[a]
    for (let k = 0; k < n; k++, d += s) {
      const y = term(x[d], p) - c0
      const t = s0 + y
      c0 = t - s0 - y
      s0 = t
    }
    acc[a] = s0
    comp[a] = c0
  }
}

/** A Kahan run adding `term(x, p)` of each element of one run across slices to its own accumulator. */
function termRunVector(term: (v: number, p: number) => number): VectorRun {
  return (x, d, s, n, acc, comp, a, as, p) => {
    for (let k = 0; k < n; k++, d += s, a += as) {
      const y = term(x[d], p) - comp[a]
      const sum = acc[a]
      const t = sum + y
      comp[a] = t - sum - y
      acc[a] = t
    }
  }
}

const signed = (v: number): number => v
const absolute = (v: number): number => Math.abs(v)
const power = (v: number, p: number): number => Math.abs(v) ** p
const runSum = termRun(signed)
const runSumabs = termRun(absolute)
const runSumpow = termRun(power)
const runSumVector = termRunVector(signed)
const runSumabsVector = termRunVector(absolute)
const runSumpowVector = termRunVector(power)

/** `Σ x²` of one run inside one slice, plainly summed (float32 data: every square exact). */
function runSumsqPlain(x: FloatArray, d: number, s: number, n: number): number {
  let r = 0
  for (let k = 0; k < n; k++, d += s) {
    const v = x[d]
    r += v * v
  }
  return r
}

/** `Σ x²` of one run across slices, plainly summed into each element's accumulator. */
function runSumsqPlainVector(x: FloatArray, d: number, s: number, n: number, acc: Float64Array, a: number, as: number): void {
  for (let k = 0; k < n; k++, d += s, a += as) {
    const v = x[d]
    acc[a] += v * v
  }
}

/** Folds a second Kahan partial sum `(s1, c1)` into `(s0, c0)` and stores the result at `a`. */
function merge(acc: Float64Array, comp: Float64Array, a: number, s0: number, c0: number, s1: number, c1: number): void {
  const y = s1 - c1 - c0
  const t = s0 + y
  acc[a] = t
  comp[a] = t - s0 - y
}

const runSumsqVector: VectorRun = (x, d, s, n, acc, comp, a, as) => {
  for (let k = 0; k < n; k++, d += s, a += as) {
    const v = x[d]
    const y = v * v - comp[a]
    const sum = acc[a]
    const t = sum + y
    comp[a] = t - sum - y
    acc[a] = t
  }
}

/**
 * A stride-0 view of per-slice `values` (one per slice of `shape` reduced over
 * `axes`, row-major over the kept axes) broadcast back to the full `shape`.
 * @category kernels
 */
export function broadcastSlices(values: Float64Array, shape: Shape, axes: readonly number[]): Tensor {
  const kept = reducedShape(shape, axes, true)
  const strides = rowMajorStrides(kept).map((s, i) => (axes.includes(i) ? 0 : s))
  return ndarray(values, shape.slice(), strides, 0)
}

/**
 * A view of `t` broadcast to `shape` (of the same rank): each axis where
 * `t` has length 1 and `shape` does not is read with stride 0. Throws a
 * `ShapeError` for another length that differs.
 *
 * @example
 * broadcastTo(tensor([[1], [2]]), [2, 3]) // [[1, 1, 1], [2, 2, 2]], no copy
 * @category kernels
 */
export function broadcastTo(t: Tensor, shape: Shape): Tensor {
  assertTensor(t, 't')
  checkShape(shape, 'shape')
  if (shape.length !== t.shape.length || t.shape.some((n, i) => n !== shape[i] && n !== 1)) {
    throw new ShapeError('t', `shape ${formatShape(t.shape)} does not broadcast to ${formatShape(shape)}`)
  }
  return ndarray(t.data, shape.slice(), t.stride.map((s, i) => (t.shape[i] === shape[i] ? s : 0)), t.offset)
}

/**
 * The broadcast multiply: a new tensor `x · factor[slice]`, where `factors`
 * holds one value per slice of `x` over `axes` (as returned by
 * {@link reduce}). The product is computed in float64 and stored in `x`'s
 * dtype, so a factor already rounded to float32 gives the correctly rounded
 * float32 product.
 *
 * @example
 * scaleSlices(tensor([[3, 1], [4, 1]]), new Float64Array([0.2, 1]), [0]) // [[0.6, 1], [0.8, 1]]
 * @category kernels
 */
export function scaleSlices(x: Tensor, factors: Float64Array, axes: readonly number[]): Tensor {
  const out = allocate(dtypeOf(x), sizeOf(x.shape))
  if (out.length > 0) {
    // the same storage-order walk as the reduction, writing each element to its row-major place
    const { off, aoff, ooff, dims } = plan(x, axes, rowMajorStrides(x.shape))
    const { n, s, a: as, o: os } = dims[dims.length - 1]
    const data = x.data
    walk(dims, off, aoff, ooff, (d, a, o) => {
      if (as === 0) scaleRun(data, d, s, out, o, os, n, factors[a])
      else scaleRunVector(data, d, s, out, o, os, n, factors, a, as)
    })
  }
  return fromStorage(out, x.shape)
}

/** `out[o + k·os] = x[d + k·s] · f` for `k < n`: one run inside one slice (the factor is constant). */
function scaleRun(x: FloatArray, d: number, s: number, out: FloatArray, o: number, os: number, n: number, f: number): void {
  if (s === 1 && os === 1) {
    for (let k = 0; k < n; k++) out[o + k] = x[d + k] * f
  } else {
    for (let k = 0; k < n; k++, d += s, o += os) out[o] = x[d] * f
  }
}

/** `out[o + k·os] = x[d + k·s] · factors[a + k·as]`: one run across slices. */
function scaleRunVector(x: FloatArray, d: number, s: number, out: FloatArray, o: number, os: number, n: number, factors: Float64Array, a: number, as: number): void {
  if (s === 1 && os === 1 && as === 1) {
    for (let k = 0; k < n; k++) out[o + k] = x[d + k] * factors[a + k]
  } else {
    for (let k = 0; k < n; k++, d += s, o += os, a += as) out[o] = x[d] * factors[a]
  }
}

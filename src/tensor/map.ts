/**
 * The map primitive: one fused pass over 1..k same-shape inputs (any views)
 * writing one or several new contiguous outputs.
 *
 * A kernel is written once against flat blocks: it receives `n` and, for each
 * output and each input, a typed array whose elements `0..n-1` are the
 * current block in row-major order. Row-major inputs are handed over as
 * (sub)views of their own storage; strided inputs (transposed, stepped,
 * negative steps, broadcast with stride 0) are gathered block by block into a
 * small scratch buffer, so every pass stays a single pass and the kernel's
 * inner loop is a plain counted loop.
 *
 * @module tensor
 */
import { ConfigError, InvalidTensorError, ShapeError, describe } from '../errors/index.js'
import { outputStorage } from './pool.js'
import { TAKEN, donatedError } from './taken.js'
import { type Dtype, type FloatArray, type Tensor, allocate, arrayOver, assertTensor, dtypeOf, formatShape, fromStorage, isRowMajor, shapeEquals, sizeOf } from './tensor.js'

/**
 * A block kernel: for `k` in `0..n-1`, read `inp[j][k]` and write `out[i][k]`.
 * It must be elementwise (element `k` of the outputs depends only on element
 * `k` of the inputs), and it must read every input at `k` before writing any
 * output at `k` (so an output may share storage with an input).
 *
 * @example
 * const axpy: Kernel = (n, [y], [a, b]) => { for (let k = 0; k < n; k++) y[k] = 2 * a[k] + b[k] }
 * @category kernels
 */
export type Kernel = (n: number, out: FloatArray[], inp: FloatArray[]) => void

/** Elements per block when an input must be gathered. */
const BLOCK = 4096

/** Where to write each output: a dtype for a new buffer, or storage to reuse. */
export type OutputSpec = Dtype | FloatArray

function view(a: FloatArray, start: number, n: number): FloatArray {
  return start === 0 && a.length === n ? a : (a.subarray(start, start + n) as FloatArray)
}

/**
 * Copies `n` elements of `t`, starting at row-major position `start`, into
 * `dst[0..n)`.
 */
export function gather(t: Tensor, dst: FloatArray, start: number, n: number): void {
  if (t.data === TAKEN) throw donatedError('t')
  const { shape, stride, data } = t
  const nd = shape.length
  if (n <= 0) return
  if (nd === 0) {
    dst[0] = data[t.offset]
    return
  }
  const idx = new Array<number>(nd)
  let p = t.offset
  let rest = start
  for (let ax = nd - 1; ax >= 0; ax--) {
    const i = rest % shape[ax]
    rest = (rest - i) / shape[ax]
    idx[ax] = i
    p += i * stride[ax]
  }
  const last = nd - 1
  const len = shape[last]
  const s = stride[last]
  let k = 0
  while (k < n) {
    const run = Math.min(len - idx[last], n - k)
    for (let j = 0; j < run; j++, p += s) dst[k + j] = data[p]
    k += run
    if (k >= n) break
    // carry into the outer axes
    p -= len * s
    idx[last] = 0
    for (let ax = last - 1; ax >= 0; ax--) {
      if (++idx[ax] < shape[ax]) {
        p += stride[ax]
        break
      }
      idx[ax] = 0
      p -= (shape[ax] - 1) * stride[ax]
    }
  }
}

/**
 * The map primitive. Runs `kernel` over every element of `inputs` (all of the
 * same shape, any views) in one pass and returns the outputs as new
 * contiguous row-major tensors of that shape, one per entry of `outputs`: a
 * dtype allocates a new buffer, a typed array of the right length is written
 * in place (buffer donation; it may be an input's own storage when that input
 * is row-major with offset 0).
 *
 * `names` labels the inputs in shape errors.
 *
 * @example
 * const [sum] = map([a, b], ['float64'], (n, [o], [x, y]) => { for (let k = 0; k < n; k++) o[k] = x[k] + y[k] })
 * @category kernels
 */
export function map(inputs: readonly Tensor[], outputs: readonly OutputSpec[], kernel: Kernel, names?: readonly string[]): Tensor[] {
  const n = sizeOf(inputs[0].shape)
  let allocating = false
  for (let i = 0; i < outputs.length; i++) if (typeof outputs[i] === 'string') allocating = true
  // storage given for every output: the caller's list is handed to the kernel as it is
  const outs = allocating ? outputs.map((o) => (typeof o === 'string' ? allocate(o, n) : o)) : (outputs as FloatArray[])
  mapInto(inputs, outs, kernel, names)
  const result = new Array<Tensor>(outs.length)
  for (let i = 0; i < outs.length; i++) result[i] = fromStorage(outs[i], inputs[0].shape)
  return result
}

/**
 * {@link map} into storage the caller has wrapped already: runs `kernel`
 * over `inputs` (same shape, any views) into `outs` (one contiguous
 * row-major array of their size each), building no tensor.
 *
 * @example
 * const out = new Float64Array(sizeOf(a.shape))
 * mapInto([a, b], [out], (n, [o], [x, y]) => { for (let k = 0; k < n; k++) o[k] = x[k] + y[k] })
 * @category kernels
 */
export function mapInto(inputs: readonly Tensor[], outs: FloatArray[], kernel: Kernel, names?: readonly string[]): void {
  const shape = inputs[0].shape
  for (let j = 1; j < inputs.length; j++) {
    if (!shapeEquals(inputs[j].shape, shape)) {
      const a = names?.[0] ?? 'input 0'
      const b = names?.[j] ?? `input ${j}`
      throw new ShapeError(b, `shape ${formatShape(inputs[j].shape)} vs ${formatShape(shape)} of ${a}`)
    }
  }
  for (let j = 0; j < inputs.length; j++) if (inputs[j].data === TAKEN) throw donatedError(names?.[j] ?? `input ${j}`)
  const n = sizeOf(shape)
  for (let i = 0; i < outs.length; i++) if (outs[i].length !== n) throw new ShapeError(`output ${i}`, `storage of length ${outs[i].length} vs ${n} elements`)
  if (n > 0) run(inputs, outs, n, kernel)
}

/**
 * Runs the kernel: once over whole arrays when every input is row-major
 * (the common case, no per-call allocation beyond the argument list), else
 * block by block, gathering the strided inputs into scratch buffers.
 */
function run(inputs: readonly Tensor[], outs: FloatArray[], n: number, kernel: Kernel): void {
  const k = inputs.length
  const ins = new Array<FloatArray>(k)
  let strided = false
  for (let j = 0; j < k; j++) {
    const t = inputs[j]
    if (isRowMajor(t)) ins[j] = view(t.data, t.offset, n)
    else strided = true
  }
  if (!strided) {
    kernel(n, outs, ins)
    return
  }
  const size = Math.min(BLOCK, n)
  const scratch: (FloatArray | null)[] = inputs.map((t) => (isRowMajor(t) ? null : allocate(dtypeOf(t), size)))
  const blockOuts = new Array<FloatArray>(outs.length)
  for (let start = 0; start < n; start += size) {
    const len = Math.min(size, n - start)
    for (let j = 0; j < k; j++) {
      const t = inputs[j]
      const s = scratch[j]
      if (s === null) ins[j] = view(t.data, t.offset + start, len)
      else {
        gather(t, s, start, len)
        ins[j] = len === size ? s : (s.subarray(0, len) as FloatArray)
      }
    }
    for (let i = 0; i < outs.length; i++) blockOuts[i] = view(outs[i], start, len)
    kernel(len, blockOuts, ins)
  }
}

/** Elements per arena chunk; outputs of at least a quarter of it get buffers of their own. */
const CHUNK = 16384

/**
 * Storage for many small outputs of one pass: each request is a new,
 * zero-filled, exactly sized typed array, carved from a shared chunk when it
 * is small (one `ArrayBuffer` per ~16K elements instead of one per output)
 * and allocated on its own when it is not. The arrays of one arena share
 * their buffers, so they should live and die together: use one arena per
 * output tree of a pass.
 *
 * @example
 * const arena = new Arena()
 * const [y] = map([x], [arena.take('float32', x.size)], kernel)
 * @category kernels
 */
export class Arena {
  /**
   * `chunkOf`, when given, supplies the chunks {@link place} carves from
   * (at least 16384 elements, contents unspecified). Such a chunk may come
   * back to its supplier once the chunk array itself is unreachable, so
   * what is placed in it must be a view of that array
   * (`fromStorage(chunk, shape, at)`): an arena with a supplier hands out
   * no arrays of their own (`take`, `output` and `placedArray` throw a
   * `ConfigError`).
   */
  constructor(private readonly chunkOf?: (dtype: Dtype) => FloatArray) {}

  /** The current chunk, its buffer and how much of it is used, per dtype (float32 first). */
  private readonly chunks: [FloatArray | undefined, FloatArray | undefined] = [undefined, undefined]
  private readonly buffers: [ArrayBuffer | undefined, ArrayBuffer | undefined] = [undefined, undefined]
  private readonly used = [0, 0]
  /** The dtype of the last {@link place} (0 for float32). */
  private last = 0

  /** A zero-filled array of `n` elements of `dtype`. */
  take(dtype: Dtype, n: number): FloatArray {
    return 4 * n >= CHUNK ? allocate(dtype, n) : this.carve(dtype, n)
  }

  /**
   * An array of `n` elements of `dtype` that the caller writes in full (the
   * output of a kernel): small ones are carved as by `take`, large ones may
   * be recycled buffers (see `outputStorage`).
   */
  output(dtype: Dtype, n: number): FloatArray {
    return 4 * n >= CHUNK ? outputStorage(dtype, n) : this.carve(dtype, n)
  }

  private placed = 0

  /** Where the last {@link place} put its elements in the chunk it returned. */
  get at(): number {
    return this.placed
  }

  /**
   * Room for `n` (at most 16384) elements of `dtype` that the caller writes
   * in full: returns the chunk they are in, at offset {@link at}. No typed
   * array is made per request, and neighbouring requests lie one after
   * another in the chunk (so one copy can fill several).
   *
   * @example
   * const arena = new Arena()
   * const chunk = arena.place('float32', 64)
   * const mine = chunk.subarray(arena.at, arena.at + 64)
   */
  place(dtype: Dtype, n: number): FloatArray {
    if (!(Number.isInteger(n) && n >= 0 && n <= CHUNK)) throw new ShapeError('n', `expected a whole number of elements from 0 to ${CHUNK}, got ${n}`)
    const i = dtype === 'float32' ? 0 : 1
    let c = this.chunks[i]
    if (c === undefined || this.used[i] + n > c.length) {
      c = this.chunks[i] = this.chunkOf?.(dtype) ?? allocate(dtype, CHUNK)
      this.buffers[i] = c.buffer as ArrayBuffer
      this.used[i] = 0
    }
    this.placed = this.used[i]
    this.used[i] += n
    this.last = i
    return c
  }

  /**
   * The `n` elements the last {@link place} gave, as a typed array of their
   * own (made over the chunk's buffer: about half the cost of `subarray`).
   */
  placedArray(n: number): FloatArray {
    if (this.chunkOf !== undefined) {
      throw new ConfigError('chunkOf', 'an arena whose chunks come from a supplier hands out views of them only (fromStorage(chunk, shape, at)), not arrays of their own')
    }
    const f32 = this.last === 0
    return arrayOver(f32 ? 'float32' : 'float64', this.buffers[this.last]!, (f32 ? 4 : 8) * this.placed, n)
  }

  private carve(dtype: Dtype, n: number): FloatArray {
    this.place(dtype, n)
    return this.placedArray(n)
  }
}

/**
 * A new contiguous row-major copy of `t` (any view), keeping its dtype.
 *
 * @example
 * copy(tensor([[1, 2], [3, 4]]).transpose(1, 0)) // contiguous [[1, 3], [2, 4]]
 * @category constructors
 */
export function copy(t: Tensor): Tensor {
  return map([assertTensor(t, 't')], [dtypeOf(t)], copyKernel)[0]
}

/**
 * Writes the elements of `t` (any view) in row-major order into `into`, a
 * typed array of exactly `t`'s size (of either dtype: values are converted
 * on store), and returns `into` as a contiguous tensor of `t`'s shape.
 *
 * @example
 * copyInto(tensor([[1, 2], [3, 4]]).transpose(1, 0), new Float32Array(4)) // [[1, 3], [2, 4]], float32
 * @category constructors
 */
export function copyInto(t: Tensor, into: FloatArray): Tensor {
  assertTensor(t, 't')
  if (!(into instanceof Float32Array || into instanceof Float64Array)) {
    throw new InvalidTensorError('into', `expected a Float32Array or Float64Array, got ${describe(into)}`)
  }
  if (into.length !== t.size) throw new ShapeError('into', `length ${into.length} vs ${t.size} elements of t`)
  return map([t], [into], copyKernel)[0]
}

const copyKernel: Kernel = (n, [o], [x]) => {
  o.set(x.length === n ? x : x.subarray(0, n))
}

/**
 * Recycled output storage: the large buffers of the library's own outputs
 * (a pure step's new params and state) are taken back once the tensor that
 * owned them is unreachable, and handed to the next output of the same
 * size. A fresh large buffer costs its page faults and zeroing on first
 * write (about a third of a pure 4M-element Adam step); a recycled one
 * costs nothing. The buffers come back through a `FinalizationRegistry`,
 * whose callbacks run when the event loop turns: a training loop that
 * awaits anything between steps (data, a frame, a timer) recycles, a tight
 * synchronous loop allocates as before.
 *
 * A recycled buffer is reused only when no typed array of the library
 * holds it. A view made by hand of `t.data.buffer` does not keep it: copy a
 * tensor (`copy(t)`) to keep its values apart from it.
 *
 * @module tensor
 */
import { ShapeError } from '../errors/index.js'
import { type Dtype, type FloatArray, arrayOver } from './tensor.js'

/** Outputs smaller than this are carved from shared chunks, not pooled. */
const MIN_BYTES = 1 << 18
/** The most bytes kept for reuse; a buffer that comes back beyond it is left to the collector. */
const MAX_POOLED = 3 << 25
/**
 * The most bytes of registered buffers not yet come back. The registry
 * holds each until its callback runs, which a synchronous loop never lets
 * happen: past this, outputs are allocated unregistered, so such a loop
 * keeps at most this much alive beyond what it holds itself.
 */
const MAX_OUTSTANDING = 3 << 26

const free = new Map<number, ArrayBuffer[]>()
let pooled = 0
let outstanding = 0

const registry =
  typeof FinalizationRegistry === 'function'
    ? new FinalizationRegistry<[ArrayBuffer, number]>(([buffer, registered]) => {
        outstanding -= registered
        const bytes = buffer.byteLength // 0 when it was transferred meanwhile
        if (bytes !== registered || pooled + bytes > MAX_POOLED) return
        const list = free.get(bytes)
        if (list === undefined) free.set(bytes, [buffer])
        else list.push(buffer)
        pooled += bytes
      })
    : undefined

/**
 * A typed array of `dtype` with `n` elements whose contents are
 * unspecified: the caller must write every element. Large ones may be
 * recycled buffers of earlier outputs nobody holds any more.
 */
export function outputStorage(dtype: Dtype, n: number): FloatArray {
  const width = dtype === 'float32' ? 4 : 8
  const bytes = n * width
  let buffer: ArrayBuffer | undefined
  const pooling = registry !== undefined && bytes >= MIN_BYTES && outstanding + bytes <= MAX_OUTSTANDING
  if (pooling) {
    buffer = free.get(bytes)?.pop()
    if (buffer !== undefined) pooled -= bytes
  }
  try {
    buffer ??= new ArrayBuffer(bytes)
  } catch (e) {
    throw new ShapeError('shape', `cannot allocate ${n} ${dtype} elements: ${(e as Error).message}`)
  }
  const a = arrayOver(dtype, buffer, 0, n)
  if (pooling) {
    registry.register(a, [buffer, bytes])
    outstanding += bytes
  }
  return a
}

/**
 * Resident storage: the library's own large outputs (new params and state)
 * allocated inside WebAssembly memories, so the compiled kernels read and
 * write them where they are instead of copying every array through the
 * scratch memory. Only what comes from outside (the gradients) is staged.
 * Donated leaves move in once and stay, and so do the chunks a donating
 * pass carves its small outputs from (`residentChunk`); a pure step's
 * large outputs are resident within a budget (see `residentStorage`).
 *
 * Each resident memory is created at a fixed size and never grows, so no
 * typed array on it is ever detached. Its layout: the per-call scalars at
 * address 0, a staging region per array for the inputs and outputs that
 * live elsewhere, then the heap of tensor storage. A memory is sized for
 * four blocks like the one that made it (16 to 256 MiB, 1 GiB in all).
 * Blocks are handed out first-fit, 64-byte aligned, and come back through
 * a `FinalizationRegistry` once the typed array that owned them is
 * unreachable. When no memory has room, or WebAssembly SIMD is missing,
 * the caller allocates as before: residency is never required.
 *
 * @module kernel
 */
import { type Dtype, type FloatArray, arrayOver } from '../tensor/tensor.js'

/** The bytes of all resident memories together, at most (1 GiB). */
const MAX_TOTAL = 1 << 30
/** A resident memory's size: room for four blocks like the one that made it, a power of two between 16 and 256 MiB. */
const MIN_MEMORY = 1 << 24
const MAX_MEMORY = 1 << 28
/** Bytes of the scalars at address 0. */
export const RESIDENT_SCALARS = 512
/**
 * Bytes per staging region (65536 float32 elements, 32768 float64 ones),
 * and regions: enough for any program's arrays. Only the regions of the
 * arrays a kernel stages are ever written: the rest of the 6 MiB is never
 * touched. A step over one 4M-element float32 leaf copies its gradients
 * in 64 pieces: in fast precision, a donating step took 5–6% less with
 * regions of 32768 float32 elements than of 16384, and 2–4% less again with
 * 65536; the exact steps took the same.
 */
export const STAGING_BYTES = 1 << 18
export const STAGING_ARRAYS = 24
/** Where the heap starts. */
const HEAP = RESIDENT_SCALARS + STAGING_ARRAYS * STAGING_BYTES
const ALIGN = 64

/** One resident memory: the memory, its buffer, and its free blocks (byte ranges, sorted by start). */
export interface Resident {
  /** The `WebAssembly.Memory` (typed loosely: declarations stay free of the WebAssembly types, for consumers without them). */
  readonly memory: object
  readonly buffer: ArrayBuffer
  /** Free blocks as `[start, end)` byte offsets, sorted, never adjacent. */
  readonly free: [number, number][]
}

const memories: Resident[] = []
const byBuffer = new WeakMap<ArrayBufferLike, Resident>()
let creatable = true
let total = 0

/**
 * The most bytes of blocks held by a pure step's outputs at once. They come
 * back only after a collection, which nothing in a resident memory
 * triggers: past this, outputs are ordinary arrays (whose allocation does
 * trigger collections), so a loop that never yields keeps at most this
 * much resident beyond its donated leaves. 256 MiB is four steps of a
 * 4M-element float32 AMSGrad (four 16 MiB outputs each): enough that a
 * loop which yields runs most steps resident (at 128 MiB, fewer than half
 * of a 4M Adam's steps were).
 */
const TRANSIENT_BUDGET = 1 << 28
let transientLive = 0

/** Outputs smaller than this many bytes stay where they were (carved from shared chunks). */
let minBytes = 1 << 18

/**
 * Sets the smallest output kept resident, in bytes, and returns the
 * previous setting (tests make every output resident with 0).
 */
export function setResidentMinBytes(bytes: number): number {
  const previous = minBytes
  minBytes = bytes
  return previous
}

const registry =
  typeof FinalizationRegistry === 'function'
    ? new FinalizationRegistry<[Resident, number, number, number]>(([r, start, end, transient]) => {
        transientLive -= transient
        release(r, start, end)
      })
    : undefined

/** Returns `[start, end)` of `r` to its free list, merged with its neighbours. */
function release(r: Resident, start: number, end: number): void {
  const free = r.free
  let i = 0
  while (i < free.length && free[i][0] < start) i++
  const before = free[i - 1]
  const after = free[i]
  if (before !== undefined && before[1] === start && after !== undefined && after[0] === end) {
    before[1] = after[1]
    free.splice(i, 1)
  } else if (before !== undefined && before[1] === start) before[1] = end
  else if (after !== undefined && after[0] === end) after[0] = start
  else free.splice(i, 0, [start, end])
}

/** A new resident memory with room for `blocks` (at least four) blocks of `bytes`, or undefined when none may or can be made. */
function create(bytes: number, blocks = 4): Resident | undefined {
  let size = MIN_MEMORY
  while (size < HEAP + Math.max(4, blocks) * bytes && size < MAX_MEMORY) size *= 2
  if (!creatable || total + size > MAX_TOTAL || HEAP + bytes > size) return undefined
  try {
    const pages = size / 65536
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages })
    const r: Resident = { memory, buffer: memory.buffer, free: [[HEAP, size]] }
    memories.push(r)
    byBuffer.set(r.buffer, r)
    total += size
    return r
  } catch {
    creatable = false // the engine refuses memories this large: stay with ordinary storage
    return undefined
  }
}

/** How many blocks of `bytes` the free list of `r` has room for, counted up to `want`. */
function room(r: Resident, bytes: number, want: number): number {
  let count = 0
  for (const [start, end] of r.free) {
    count += Math.floor((end - start) / bytes)
    if (count >= want) break
  }
  return count
}

/** The first free block of `bytes` in `r`, taken from its free list; its start, or -1. */
function take(r: Resident, bytes: number): number {
  const free = r.free
  for (let i = 0; i < free.length; i++) {
    const [start, end] = free[i]
    if (end - start < bytes) continue
    if (end - start === bytes) free.splice(i, 1)
    else free[i][0] = start + bytes
    return start
  }
  return -1
}

/**
 * A typed array of `dtype` with `n` elements in a resident memory, whose
 * contents are unspecified (the caller writes every element), or
 * undefined when it is too small to be worth it, no memory has room, or
 * the engine cannot make one. Its block comes back when it is unreachable.
 * A `transient` block (a pure step's output) counts against a budget of
 * blocks held at once; past it, undefined.
 *
 * The arrays of one leaf belong in one memory: a kernel works in place
 * only on arrays of the memory its first output is in, and stages the
 * others through it. So the block goes into the memory of `near` (an
 * array of the same leaf) when it has room; without `near`, into a memory
 * with room for all `blocks` blocks of the leaf, a new one if none has.
 */
export function residentStorage(dtype: Dtype, n: number, transient = false, near?: FloatArray, blocks = 1): FloatArray | undefined {
  const width = dtype === 'float32' ? 4 : 8
  if (n * width < minBytes) return undefined
  return placeBlock(dtype, n, transient, near, blocks)
}

/**
 * Elements of a {@link residentChunk}: large enough that
 * {@link residentOf} finds it at any setting of the smallest resident
 * output up to 256 KiB.
 */
export const RESIDENT_CHUNK = 65536

/**
 * A resident block of {@link RESIDENT_CHUNK} elements of `dtype` (in the
 * memory of `near` when it has room) for a donating pass to carve many
 * small outputs from, which the next donating steps overwrite in place;
 * undefined as for {@link residentStorage}. It counts against the budget
 * of transient blocks. Its contents are unspecified, and it comes back
 * once the typed array itself is unreachable: what is carved from it must
 * be views of this very array (`fromStorage(chunk, shape, offset)`), never
 * arrays of their own over its buffer.
 */
export function residentChunk(dtype: Dtype, near?: FloatArray): FloatArray | undefined {
  return placeBlock(dtype, RESIDENT_CHUNK, true, near, 1)
}

/** The block of {@link residentStorage}, of any size. */
function placeBlock(dtype: Dtype, n: number, transient: boolean, near: FloatArray | undefined, blocks: number): FloatArray | undefined {
  const width = dtype === 'float32' ? 4 : 8
  if (registry === undefined || n === 0) return undefined
  const bytes = Math.ceil((n * width) / ALIGN) * ALIGN
  if (transient && transientLive + bytes > TRANSIENT_BUDGET) return undefined
  const home = near === undefined ? undefined : residentOf(near)
  const placed = (r: Resident | undefined): [Resident, number] | undefined => {
    const start = r === undefined ? -1 : take(r, bytes)
    return start < 0 ? undefined : [r!, start]
  }
  let found = home === undefined ? undefined : placed(home)
  if (home === undefined) {
    // a memory with room for the whole leaf, else a new one for it
    found = placed(memories.find((m) => room(m, bytes, blocks) >= blocks))
    if (found === undefined && blocks > 1) found = placed(create(bytes, blocks))
  }
  // else any room at all, else a new memory
  for (let i = 0; found === undefined && i < memories.length; i++) found = placed(memories[i])
  found ??= placed(create(bytes))
  if (found === undefined) return undefined
  const [r, start] = found
  const a = arrayOver(dtype, r.buffer, start, n)
  registry.register(a, [r, start, start + bytes, transient ? bytes : 0])
  if (transient) transientLive += bytes
  return a
}

/**
 * The resident memory `a` lives in, if any. An array smaller than any
 * resident block is not looked up (its length is all it takes to tell):
 * the small leaves' path stays cheap.
 */
export function residentOf(a: FloatArray): Resident | undefined {
  if (a.length * 8 < minBytes) return undefined
  const b = a.buffer
  return b.byteLength < MIN_MEMORY ? undefined : byBuffer.get(b)
}

/** Byte offset of staging region `j` of a resident memory. */
export const stagingOffset = (j: number): number => RESIDENT_SCALARS + j * STAGING_BYTES

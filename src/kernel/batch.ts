/**
 * Many small leaves as few kernel calls: the leaves of a batch are packed
 * one after another into a kernel's staging regions, the kernel runs once
 * per full region, and the outputs are copied back leaf by leaf. Leaves
 * given as one array and their offsets in it (the outputs a pass carves
 * from a shared chunk) that lie one after another are copied as one run.
 *
 * @module kernel
 */
import { type Dtype, type FloatArray, arrayOver, dtypeOfArray } from '../tensor/tensor.js'

/**
 * The `count` leaves of one batch, column by column: leaf `l` has
 * `sizes[l]` elements, and its array `j` (the program's inputs, then its
 * outputs) is `arrays[j][l]` from element `offsets[j][l]` on. The lists
 * may be longer than `count`: a batch is reused, and its lists keep their
 * room (refilled, not regrown, at the next pass).
 */
export interface Batch {
  count: number
  readonly sizes: number[]
  readonly arrays: FloatArray[][]
  readonly offsets: number[][]
}

/** A compiled program over a whole batch, with the per-call scalars. */
export type BatchKernel = (batch: Batch, scalars: ArrayLike<number>) => void

/** A new, empty batch of `arrays` arrays per leaf. */
export function newBatch(arrays: number): Batch {
  return { count: 0, sizes: [], arrays: Array.from({ length: arrays }, () => []), offsets: Array.from({ length: arrays }, () => []) }
}

/** Batches emptied by {@link releaseBatch}, for {@link takeBatch}. */
const spare: Batch[] = []

/** An empty batch of `arrays` arrays per leaf: the last one released, when there is one (its lists keep their room). */
export function takeBatch(arrays: number): Batch {
  for (let i = spare.length - 1; i >= 0; i--) if (spare[i].arrays.length === arrays) return spare.splice(i, 1)[0]
  return newBatch(arrays)
}

/** What a released batch's lists hold: no array of a caller's is kept. */
const NONE = new Float32Array(0)

/** Empties `b`, dropping its arrays; its lists keep their room. */
export function clearBatch(b: Batch): void {
  for (const column of b.arrays) column.fill(NONE, 0, b.count)
  b.count = 0
}

/** Empties `b` and keeps it for {@link takeBatch} (a few are kept). */
export function releaseBatch(b: Batch): void {
  clearBatch(b)
  if (spare.length < 8) spare.push(b)
}

/** Adds a leaf of `n` elements to `b`; its arrays follow with {@link addArray}, in column order. */
export function addLeaf(b: Batch, n: number): void {
  b.sizes[b.count++] = n
}

/** Sets array `j` of the last leaf: `a` from element `offset` on. */
export function addArray(b: Batch, j: number, a: FloatArray, offset: number): void {
  b.arrays[j][b.count - 1] = a
  b.offsets[j][b.count - 1] = offset
}

/** `n` elements of `a` from `offset`: `a` itself when that is all of it. */
export function part(a: FloatArray, offset: number, n: number): FloatArray {
  return offset === 0 && n === a.length ? a : (a.subarray(offset, offset + n) as FloatArray)
}

/** The `count` pieces of leaves packed into the staging regions since the last run: leaf, first element in it, length. */
interface Pieces {
  count: number
  readonly leaf: number[]
  readonly from: number[]
  readonly len: number[]
}

/** A staging region, with its buffer and where it starts in it (read once: the getters cost). */
interface Staging {
  readonly array: FloatArray
  readonly dtype: Dtype
  readonly buffer: ArrayBufferLike
  readonly start: number
}

/** `n` elements of `region` from element `pos`, as a typed array of their own. */
function piece(region: Staging, pos: number, n: number): FloatArray {
  return arrayOver(region.dtype, region.buffer, region.start + region.array.BYTES_PER_ELEMENT * pos, n)
}

/**
 * Copies column `j` of the packed pieces one after another into `region`
 * (`into`), or back out of it: pieces that lie one after another in one
 * array move as one run.
 */
function copy(b: Batch, j: number, pieces: Pieces, region: Staging, into: boolean): void {
  const column = b.arrays[j]
  const offsets = b.offsets[j]
  const { count, leaf, from, len } = pieces
  let pos = 0
  let k = 0
  while (k < count) {
    const a = column[leaf[k]]
    const start = offsets[leaf[k]] + from[k]
    let end = start + len[k]
    let m = k + 1
    while (m < count && column[leaf[m]] === a && offsets[leaf[m]] + from[m] === end) end += len[m++]
    const n = end - start
    if (into) region.array.set(part(a, start, n), pos)
    else a.set(piece(region, pos, n), start)
    pos += n
    k = m
  }
}

/**
 * Runs a staged kernel over `batch`: the leaves are packed one after
 * another into the staging regions (`inputs` regions for the inputs, then
 * one per output, each `chunk` elements long), a leaf that does not fit
 * split across two fillings; `run(len)` computes each filling's `len`
 * elements, and the outputs are copied back. One leaf of any length is a
 * batch too: the staged kernel of one call.
 */
export function runPacked(batch: Batch, inputs: number, chunk: number, regions: readonly FloatArray[], run: (len: number) => void): void {
  const { count, sizes } = batch
  // refilled from the start at every run, never emptied: the lists keep their room
  const pieces: Pieces = { count: 0, leaf: [], from: [], len: [] }
  const staging = regions.map((array): Staging => ({ array, dtype: dtypeOfArray(array), buffer: array.buffer, start: array.byteOffset }))
  let pos = 0
  const flush = (): void => {
    for (let j = 0; j < inputs; j++) copy(batch, j, pieces, staging[j], true)
    run(pos)
    for (let j = inputs; j < regions.length; j++) copy(batch, j, pieces, staging[j], false)
    pieces.count = 0
    pos = 0
  }
  for (let l = 0; l < count; l++) {
    for (let start = 0; start < sizes[l]; ) {
      const take = Math.min(sizes[l] - start, chunk - pos)
      const k = pieces.count++
      pieces.leaf[k] = l
      pieces.from[k] = start
      pieces.len[k] = take
      start += take
      pos += take
      if (pos === chunk) flush()
    }
  }
  if (pos > 0) flush()
}

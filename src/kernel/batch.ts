/**
 * Many small leaves as few kernel calls: the leaves of a batch are packed
 * one after another into a kernel's staging regions, the kernel runs once
 * per full region, and the outputs are copied back leaf by leaf. Leaves
 * given as one array and their offsets in it (the outputs a pass carves
 * from a shared chunk) that lie one after another are copied as one run.
 *
 * @module kernel
 */
import type { FloatArray } from '../tensor/tensor.js'

/**
 * The leaves of one batch, column by column: leaf `l` has `sizes[l]`
 * elements, and its array `j` (the program's inputs, then its outputs) is
 * `arrays[j][l]` from element `offsets[j][l]` on.
 */
export interface Batch {
  readonly sizes: number[]
  readonly arrays: FloatArray[][]
  readonly offsets: number[][]
}

/** A compiled program over a whole batch, with the per-call scalars. */
export type BatchKernel = (batch: Batch, scalars: ArrayLike<number>) => void

/** A new, empty batch of `arrays` arrays per leaf. */
export function newBatch(arrays: number): Batch {
  return { sizes: [], arrays: Array.from({ length: arrays }, () => []), offsets: Array.from({ length: arrays }, () => []) }
}

/** Adds a leaf of `n` elements to `b`; its arrays follow with {@link addArray}, in column order. */
export function addLeaf(b: Batch, n: number): void {
  b.sizes.push(n)
}

/** Adds the next array of the last leaf: `a` from element `offset` on. */
export function addArray(b: Batch, j: number, a: FloatArray, offset: number): void {
  b.arrays[j].push(a)
  b.offsets[j].push(offset)
}

/** `n` elements of `a` from `offset`: `a` itself when that is all of it. */
export function part(a: FloatArray, offset: number, n: number): FloatArray {
  return offset === 0 && n === a.length ? a : (a.subarray(offset, offset + n) as FloatArray)
}

/** The pieces of leaves packed into the staging regions since the last run: leaf, first element in it, length. */
interface Pieces {
  readonly leaf: number[]
  readonly from: number[]
  readonly len: number[]
}

/** A staging region, with its buffer and where it starts in it (read once: the getters cost). */
interface Staging {
  readonly array: FloatArray
  readonly buffer: ArrayBufferLike
  readonly start: number
}

/** `n` elements of `region` from element `pos`, as a typed array of their own (about half the cost of `subarray`). */
function piece(region: Staging, pos: number, n: number): FloatArray {
  const { array, buffer, start } = region
  return array instanceof Float32Array ? new Float32Array(buffer, start + 4 * pos, n) : new Float64Array(buffer, start + 8 * pos, n)
}

/**
 * Copies column `j` of the packed pieces one after another into `region`
 * (`into`), or back out of it: pieces that lie one after another in one
 * array move as one run.
 */
function copy(b: Batch, j: number, pieces: Pieces, region: Staging, into: boolean): void {
  const column = b.arrays[j]
  const offsets = b.offsets[j]
  const { leaf, from, len } = pieces
  let pos = 0
  let k = 0
  while (k < leaf.length) {
    const a = column[leaf[k]]
    const start = offsets[leaf[k]] + from[k]
    let end = start + len[k]
    let m = k + 1
    while (m < leaf.length && column[leaf[m]] === a && offsets[leaf[m]] + from[m] === end) end += len[m++]
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
  const { sizes } = batch
  const pieces: Pieces = { leaf: [], from: [], len: [] }
  const staging = regions.map((array): Staging => ({ array, buffer: array.buffer, start: array.byteOffset }))
  let pos = 0
  const flush = (): void => {
    for (let j = 0; j < inputs; j++) copy(batch, j, pieces, staging[j], true)
    run(pos)
    for (let j = inputs; j < regions.length; j++) copy(batch, j, pieces, staging[j], false)
    pieces.leaf.length = pieces.from.length = pieces.len.length = 0
    pos = 0
  }
  for (let l = 0; l < sizes.length; l++) {
    for (let start = 0; start < sizes[l]; ) {
      const take = Math.min(sizes[l] - start, chunk - pos)
      pieces.leaf.push(l)
      pieces.from.push(start)
      pieces.len.push(take)
      start += take
      pos += take
      if (pos === chunk) flush()
    }
  }
  if (pos > 0) flush()
}

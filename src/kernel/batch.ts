/**
 * Many small leaves as few kernel calls: the leaves of a batch are packed
 * one after another into a kernel's staging regions, the kernel runs once
 * per full region, and the outputs are copied back leaf by leaf. Leaves
 * that lie one after another in one buffer (the library's own outputs and
 * states, carved from shared chunks) are copied as one run.
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

/**
 * Copies the parts of leaves `first..last` of column `j` one after another
 * into `region` (`into`), or back out of it: neighbours in one array move
 * as one run.
 */
function copy(b: Batch, j: number, first: number, last: number, region: FloatArray, into: boolean): void {
  const { sizes } = b
  const column = b.arrays[j]
  const offsets = b.offsets[j]
  let pos = 0
  let l = first
  while (l < last) {
    const a = column[l]
    const from = offsets[l]
    let end = from + sizes[l]
    let m = l + 1
    while (m < last && column[m] === a && offsets[m] === end) end += sizes[m++]
    const n = end - from
    if (into) region.set(part(a, from, n), pos)
    else a.set(region.subarray(pos, pos + n), from)
    pos += n
    l = m
  }
}

/**
 * Runs a staged kernel over `batch`: leaves are packed into the staging
 * regions (`inputs` regions for the inputs, then one per output, each
 * `chunk` elements long) until the next would not fit, `run(len)` computes
 * the `len` packed elements, and the outputs are copied back. No leaf may
 * be longer than `chunk`.
 */
export function runPacked(batch: Batch, inputs: number, chunk: number, regions: readonly FloatArray[], run: (len: number) => void): void {
  const { sizes } = batch
  const count = sizes.length
  const arrays = regions.length
  let first = 0
  let pos = 0
  for (let l = 0; l <= count; l++) {
    const n = l < count ? sizes[l] : chunk + 1
    if (pos + n <= chunk) {
      pos += n
      continue
    }
    if (pos > 0) {
      for (let j = 0; j < inputs; j++) copy(batch, j, first, l, regions[j], true)
      run(pos)
      for (let j = inputs; j < arrays; j++) copy(batch, j, first, l, regions[j], false)
    }
    first = l
    pos = n
  }
}

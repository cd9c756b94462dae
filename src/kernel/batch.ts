/**
 * Many small leaves as few kernel calls: the leaves of a batch are packed
 * one after another into a kernel's staging regions, the kernel runs once
 * per full region, and the outputs are copied back. A batch keeps each of
 * its arrays (a kernel's inputs, then its outputs) as runs: where a leaf's
 * array goes on from the last leaf's, in the same array from the element
 * where that one ended (the outputs a pass carves from a shared chunk, the
 * params and state the previous pass wrote there), it extends the last run
 * instead of starting one. Runs move as one copy, and a kernel that works
 * on arrays where they are takes a run at a time, not a leaf.
 *
 * @module kernel
 */
import { type Dtype, type FloatArray, arrayOver, dtypeOfArray } from '../tensor/tensor.js'

/**
 * The leaves of one batch: `total` elements in all, leaf after leaf. Array
 * `j` (the program's inputs, then its outputs) is `runs[j]` runs: run `r` is `arrays[j][r]` from element `offsets[j][r]`
 * on, and holds the batch's elements up to `ends[j][r]` (from where the
 * run before ends). The lists may be longer than the runs: a batch is
 * reused, and its lists keep their room (refilled, not regrown, at the
 * next pass).
 */
export interface Batch {
  total: number
  /** The size of the last leaf added. */
  size: number
  readonly runs: number[]
  readonly arrays: FloatArray[][]
  readonly offsets: number[][]
  readonly ends: number[][]
  /** Per array: the element of its last run's array that the next leaf's must start at to go on with it. */
  readonly next: number[]
}

/** A compiled program over a whole batch, with the per-call scalars. */
export type BatchKernel = (batch: Batch, scalars: ArrayLike<number>) => void

/** A new, empty batch of `arrays` arrays per leaf. */
export function newBatch(arrays: number): Batch {
  const lists = <T>(): T[][] => Array.from({ length: arrays }, () => [])
  return { total: 0, size: 0, runs: new Array<number>(arrays).fill(0), arrays: lists(), offsets: lists(), ends: lists(), next: new Array<number>(arrays).fill(0) }
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
  for (let j = 0; j < b.arrays.length; j++) {
    b.arrays[j].fill(NONE, 0, b.runs[j])
    b.runs[j] = 0
  }
  b.total = 0
  b.size = 0
}

/** Empties `b` and keeps it for {@link takeBatch} (a few are kept). */
export function releaseBatch(b: Batch): void {
  clearBatch(b)
  if (spare.length < 8) spare.push(b)
}

/** Adds a leaf of `n` elements to `b`; its arrays follow with {@link addArray}, in column order. */
export function addLeaf(b: Batch, n: number): void {
  b.size = n
  b.total += n
}

/** Sets array `j` of the last leaf: `a` from element `offset` on (the last run of `j`, extended, when it goes on there). */
export function addArray(b: Batch, j: number, a: FloatArray, offset: number): void {
  const r = b.runs[j]
  if (r > 0 && b.next[j] === offset && b.arrays[j][r - 1] === a) b.ends[j][r - 1] = b.total
  else {
    b.arrays[j][r] = a
    b.offsets[j][r] = offset
    b.ends[j][r] = b.total
    b.runs[j] = r + 1
  }
  b.next[j] = offset + b.size
}

/** Makes array `to` of `b` the runs of array `from`: an output written where an input lies, leaf for leaf. */
export function aliasRuns(b: Batch, from: number, to: number): void {
  const r = b.runs[from]
  for (let k = 0; k < r; k++) {
    b.arrays[to][k] = b.arrays[from][k]
    b.offsets[to][k] = b.offsets[from][k]
    b.ends[to][k] = b.ends[from][k]
  }
  b.runs[to] = r
  b.next[to] = b.next[from]
}

/**
 * The run of array `j` of `b` that holds element `e`, looked for from run
 * `from` on (the runs of a batch are visited in order: a caller keeps where
 * it is). Runs of no elements are passed over.
 */
export function runAt(b: Batch, j: number, e: number, from: number): number {
  const ends = b.ends[j]
  let r = from
  while (ends[r] <= e) r++
  return r
}

/** Where the batch's element `e`, which run `r` of array `j` of `b` holds, lies in that run's array. */
export function elementIn(b: Batch, j: number, r: number, e: number): number {
  return b.offsets[j][r] + e - (r === 0 ? 0 : b.ends[j][r - 1])
}

/** `n` elements of `a` from `offset`: `a` itself when that is all of it. */
export function part(a: FloatArray, offset: number, n: number): FloatArray {
  return offset === 0 && n === a.length ? a : (a.subarray(offset, offset + n) as FloatArray)
}

/** A staging region, with its buffer and where it starts in it (read once: the getters cost). */
export interface Staging {
  readonly array: FloatArray
  readonly dtype: Dtype
  readonly buffer: ArrayBufferLike
  readonly start: number
}

/** `array` as a staging region. */
export function staging(array: FloatArray): Staging {
  return { array, dtype: dtypeOfArray(array), buffer: array.buffer, start: array.byteOffset }
}

/** `n` elements of `region` from element `pos`, as a typed array of their own. */
function piece(region: Staging, pos: number, n: number): FloatArray {
  return arrayOver(region.dtype, region.buffer, region.start + region.array.BYTES_PER_ELEMENT * pos, n)
}

/**
 * Copies elements `from` to `to` of array `j` of `b` into `region` (`into`),
 * or back out of it, a run (or the part of it in the range) at a time;
 * `at[j]` is the run to look from, and is left at the run the copy ended in.
 */
export function copyRuns(b: Batch, j: number, at: number[], from: number, to: number, region: Staging, into: boolean): void {
  const arrays = b.arrays[j]
  const ends = b.ends[j]
  let r = runAt(b, j, from, at[j])
  let pos = 0
  for (let e = from; e < to; r++) {
    const stop = Math.min(ends[r], to)
    const n = stop - e
    const start = elementIn(b, j, r, e)
    if (n > 0 && into) region.array.set(part(arrays[r], start, n), pos)
    else if (n > 0) arrays[r].set(piece(region, pos, n), start)
    pos += n
    e = stop
    if (stop < ends[r]) break // the range ends inside this run: the next one starts in it
  }
  at[j] = r
}

/**
 * Runs a staged kernel over `batch`: its elements are packed one after
 * another into the staging regions (`inputs` regions for the inputs, then
 * one per output, each `chunk` elements long), a run or leaf that does not
 * fit split across two fillings; `run(len)` computes each filling's `len`
 * elements, and the outputs are copied back. One leaf of any length is a
 * batch too: the staged kernel of one call.
 */
export function runPacked(batch: Batch, inputs: number, chunk: number, regions: readonly FloatArray[], run: (len: number) => void): void {
  const { total } = batch
  const stagings = regions.map(staging)
  const at = new Array<number>(regions.length).fill(0)
  for (let from = 0; from < total; from += chunk) {
    const to = Math.min(total, from + chunk)
    for (let j = 0; j < inputs; j++) copyRuns(batch, j, at, from, to, stagings[j], true)
    run(to - from)
    for (let j = inputs; j < regions.length; j++) copyRuns(batch, j, at, from, to, stagings[j], false)
  }
}

/**
 * `kernel` on one leaf's whole arrays (`arrays` of them, the inputs then
 * the outputs), as a batch of that leaf: one mechanism for one leaf and for
 * many, on either backend.
 */
export function oneLeaf(kernel: BatchKernel, arrays: number): (n: number, outs: readonly FloatArray[], ins: readonly FloatArray[], values: ArrayLike<number>) => void {
  const one = newBatch(arrays)
  return (n, outs, ins, values) => {
    addLeaf(one, n)
    for (let j = 0; j < arrays; j++) addArray(one, j, j < ins.length ? ins[j] : outs[j - ins.length], 0)
    try {
      kernel(one, values)
    } finally {
      clearBatch(one) // no array of the caller's is kept
    }
  }
}

/**
 * Buffer donation, as JAX's donated arguments: a caller of
 * `optimizer(tx, { donate: true }).step` hands its params and state over, and
 * the step writes the new params and state into their buffers instead of new
 * ones. A handed-over tree or state is remembered in a `WeakSet`, and a
 * tensor whose buffer was taken over is emptied (its storage replaced by a
 * shared empty array), so that passing either to a step again throws a
 * `DonatedBufferError`, and no function can read memory that now holds
 * newer values.
 *
 * @module core
 */
import { DonatedBufferError } from '../errors/index.js'
import { type FloatArray, type Tensor, isRowMajor, isTensor, sizeOf } from '../tensor/index.js'
import { formatPath, isPlainObject, walk } from '../tree/index.js'
import type { Recycle } from './fusion.js'

/** Trees and states handed over to a donating step. */
const donated = new WeakSet<object>()
let anyDonated = false

/** The storage of every tensor whose buffer a donating step took over. */
const TAKEN: FloatArray = new Float32Array(0)

/** Everything but arrays and plain objects is a leaf of a state (tensors, numbers, ...). */
const isStateLeaf = (x: unknown): boolean => !Array.isArray(x) && !isPlainObject(x)

/** True when `t` is a tensor whose buffer a donating step took over. */
export function isTaken(t: Tensor): boolean {
  return t.data === TAKEN
}

function fail(where: string): never {
  throw new DonatedBufferError(
    where,
    'was donated to an earlier step of optimizer(tx, { donate: true }), which took over its buffers; pass the params and state that step returned',
  )
}

/**
 * Calls `visit` with every tensor of each `[name, value]` (trees, or states
 * of any plain shape), after throwing a `DonatedBufferError` for a donated
 * value or tensor among them.
 */
function scan(args: readonly (readonly [string, unknown])[], visit?: (t: Tensor, arg: number) => void): void {
  args.forEach(([name, value], arg) => {
    if (anyDonated && typeof value === 'object' && value !== null && donated.has(value)) fail(name)
    walk([value], [name], isStateLeaf, 0, ([leaf], path) => {
      if (isTensor(leaf)) {
        if (leaf.data === TAKEN) fail(formatPath(name, path))
        visit?.(leaf, arg)
      }
      return []
    })
  })
}

/** Throws a `DonatedBufferError` naming the first donated tree, state or tensor among `args`. Free when nothing was ever donated. */
export function checkNotDonated(args: readonly (readonly [string, unknown])[]): void {
  if (anyDonated) scan(args)
}

/** What a donating step may write over, and what it did. */
export interface Donation {
  /** Hands out the buffer of an old tensor for its replacement, once, if it can be taken over. */
  readonly recycle: Recycle
  /**
   * Marks what was handed over: the donated roots that are not among
   * `outputs` (a state passed through stays valid), and every tensor whose
   * buffer was taken (emptied).
   */
  finish(outputs: readonly unknown[]): void
}

/**
 * Checks `args` (`[name, value]`; the first `donors` of them are handed
 * over) and returns what their buffers allow: a tensor's buffer may be
 * taken over when the tensor is row-major with offset 0, its storage is
 * exactly its size, and no other tensor among `args` shares any byte of it.
 */
export function donation(args: readonly (readonly [string, unknown])[], donors: number): Donation {
  const byBuffer = new Map<ArrayBufferLike, FloatArray | FloatArray[]>()
  const candidates = new Set<Tensor>()
  scan(args, (t, arg) => {
    const a = t.data
    const seen = byBuffer.get(a.buffer)
    if (seen === undefined) byBuffer.set(a.buffer, a)
    else if (Array.isArray(seen)) seen.push(a)
    else byBuffer.set(a.buffer, [seen, a])
    if (arg < donors && t.offset === 0 && a.length === sizeOf(t.shape) && a.length > 0 && isRowMajor(t)) candidates.add(t)
  })
  // arrays sharing a byte with another (the same array twice, or overlapping views) are never taken
  const shared = new Set<FloatArray>()
  for (const seen of byBuffer.values()) {
    if (!Array.isArray(seen)) continue
    seen.sort((x, y) => x.byteOffset - y.byteOffset)
    let reach = seen[0]
    for (let i = 1; i < seen.length; i++) {
      const a = seen[i]
      if (a.byteOffset < reach.byteOffset + reach.byteLength) {
        shared.add(a)
        shared.add(reach)
      }
      if (a.byteOffset + a.byteLength > reach.byteOffset + reach.byteLength) reach = a
    }
  }
  const taken: Tensor[] = []
  return {
    recycle: (old) => {
      if (!candidates.delete(old) || shared.has(old.data)) return undefined
      taken.push(old)
      return old.data
    },
    finish: (outputs) => {
      for (let i = 0; i < donors; i++) {
        const value = args[i][1]
        if (typeof value === 'object' && value !== null && !isTensor(value) && !outputs.includes(value)) donated.add(value)
      }
      for (const t of taken) t.data = TAKEN
      anyDonated = true
    },
  }
}

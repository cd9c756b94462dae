/**
 * Buffer donation, as JAX's donated arguments: a caller of
 * `optimizer(tx, { donate: true }).step` hands its params and state over, and
 * the step writes the new params and state into their buffers instead of new
 * ones. A handed-over tree or state is remembered in a `WeakSet`, and a
 * tensor whose buffer was taken over is emptied (its storage replaced by a
 * shared empty array, see `tensor/taken`): passing either to a step again
 * throws a `DonatedBufferError` (the roots here, the tensors in the kernels
 * that would read them), and no function can read memory that now holds
 * newer values.
 *
 * @module core
 */
import { type FloatArray, type Tensor, isRowMajor, isTensor, sizeOf } from '../tensor/index.js'
import { donatedError, markTaken } from '../tensor/taken.js'
import { isPlainObject, walk } from '../tree/index.js'
import { residentOf } from '../kernel/index.js'
import type { Recycle } from './fusion.js'

/**
 * `t`'s storage when it holds exactly `t`'s elements in row-major order
 * (offset 0, nothing before, between or after them): the only storage a
 * donating step may write a new tensor of `t`'s shape into.
 */
export function exactStorage(t: Tensor): FloatArray | undefined {
  const a = t.data
  return t.offset === 0 && a.length === sizeOf(t.shape) && a.length > 0 && isRowMajor(t) ? a : undefined
}

/**
 * `t`'s buffer (`buffer`, when the caller has it already) when `t`'s
 * storage is exactly its elements (see {@link exactStorage}) and fills the
 * whole buffer: the only tensors whose buffers a donating step takes over.
 * The small outputs of one pass, carved from a shared chunk, never are
 * (recycling them would cost more than it saves).
 */
function ownedBuffer(t: Tensor, buffer?: Stamped): Stamped | undefined {
  const a = exactStorage(t)
  if (a === undefined || a.byteOffset !== 0) return undefined
  // (the buffer's getter costs about 20 ns: read once, and only for an array that starts its buffer)
  const b = buffer ?? (a.buffer as Stamped)
  return a.byteLength === b.byteLength ? b : undefined
}

const ONCE = Symbol('ndoptax donation: owned')
const TWICE = Symbol('ndoptax donation: shared or taken')

/** A buffer with the stamps of the donating calls that saw it. */
type Stamped = ArrayBufferLike & { [ONCE]?: object; [TWICE]?: object }

/** Trees and states handed over to a donating step. */
const donated = new WeakSet<object>()

/** What a scan's visit returns for each leaf (it builds no tree). */
const NOTHING: readonly never[] = []

/** Everything but arrays and plain objects is a leaf of a state (tensors, numbers, ...). */
const isStateLeaf = (x: unknown): boolean => !Array.isArray(x) && !isPlainObject(x)

/**
 * Throws a `DonatedBufferError` naming the first of `args` (`[name, value]`)
 * that is a tree or state handed to a donating step. The tensors inside are
 * checked where they are read (an emptied one cannot be read).
 */
export function checkNotDonated(args: readonly (readonly [string, unknown])[]): void {
  for (const [name, value] of args) if (typeof value === 'object' && value !== null && donated.has(value)) throw donatedError(name)
}

/**
 * Calls `visit` with every tensor of each `[name, value]` (trees, or states
 * of any plain shape), after throwing a `DonatedBufferError` for a donated
 * value or tensor among them.
 */
function scan(args: readonly (readonly [string, unknown])[], visit: (t: Tensor, arg: number) => void): void {
  checkNotDonated(args)
  args.forEach(([name, value], arg) => {
    // the walk itself refuses an emptied tensor, naming its path
    walk([value], [name], isStateLeaf, 0, ([leaf]) => {
      if (isTensor(leaf)) visit(leaf, arg)
      return NOTHING
    })
  })
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
 * over) and returns what their buffers allow: a handed-over tensor's buffer
 * may be taken over when the tensor owns it (row-major, offset 0, its
 * storage exactly its size and its buffer's) and no other tensor among
 * `args` lives in the same buffer. The trees not handed over are scanned
 * only when some buffer may be taken.
 */
export function donation(args: readonly (readonly [string, unknown])[], donors: number): Donation {
  // buffers are stamped with this call's token: once when a handed-over tensor owns one, twice when another tensor shares it
  // (stamps on the buffers, not a Map: no hashing, and no reference from a buffer to a tensor); a block of a resident
  // memory is its typed array, counted in a Map (large leaves only: few entries)
  const token = {}
  const blocks = new Map<FloatArray, number>()
  const rest: Tensor[] = []
  let owned = 0
  scan(args.slice(0, donors), (t) => {
    if (residentOf(t.data) !== undefined && exactStorage(t) !== undefined) {
      blocks.set(t.data, (blocks.get(t.data) ?? 0) + 1)
      owned++
      return
    }
    const b = ownedBuffer(t)
    if (b === undefined) return void rest.push(t)
    if (b[ONCE] === token) b[TWICE] = token
    else {
      b[ONCE] = token
      owned++
    }
  })
  checkNotDonated(args.slice(donors))
  if (owned > 0) {
    const seen = (t: Tensor): void => {
      const n = blocks.size === 0 ? undefined : blocks.get(t.data)
      if (n !== undefined) blocks.set(t.data, n + 1)
      const b = t.data.buffer as Stamped
      if (b[ONCE] === token) b[TWICE] = token
    }
    rest.forEach(seen)
    scan(args.slice(donors), seen)
  }
  const taken: Tensor[] = []
  return {
    recycle: (old) => {
      if (blocks.size > 0 && blocks.get(old.data) === 1) {
        blocks.set(old.data, 2) // taken once
        taken.push(old)
        return old.data
      }
      // stamped once: `old` (a handed-over tensor whose buffer is stamped) is the one tensor in it
      const b = old.data.buffer as Stamped
      if (b[ONCE] !== token || b[TWICE] === token || ownedBuffer(old, b) === undefined) return undefined
      b[TWICE] = token // taken once
      taken.push(old)
      return old.data
    },
    finish: (outputs) => {
      for (let i = 0; i < donors; i++) {
        const value = args[i][1]
        if (typeof value === 'object' && value !== null && !isTensor(value) && !outputs.includes(value)) donated.add(value)
      }
      for (const t of taken) markTaken(t)
    },
  }
}

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
 * What a donating step may take over is found by a scan of everything it is
 * handed. The params and state a donating step returned need no scan when
 * they come back together: every buffer the step took over is stamped with
 * the step's lineage (a token its results carry on); such a buffer belongs
 * to exactly one tensor of them when the transformation's state holds only
 * tensors it computed, each once (`FastPath.ownState`); and the trees are
 * frozen. Only the gradients are checked then, for a buffer of the lineage
 * (and not at all when the results hold none): by the first pass that
 * writes, on each leaf as it zips them, or by a scan when it does not zip
 * them (`Reads` in `core/fusion`). A gradient in such a buffer makes the
 * step start again, before anything is written, with everything scanned
 * (`RESCAN`). A step that could not take
 * over a large buffer it could own (a leaf that moved, a buffer two tensors
 * shared) gives its results no lineage: the next step scans.
 *
 * Small leaves of the caller's own (a scan) are taken over when they own
 * their buffers. Those of returned results are views into the chunks a
 * donating pass carved its small outputs from, each chunk stamped with the
 * lineage: each view's elements are written over in place, and the chunk
 * (resident, on WebAssembly) stays from step to step. A small leaf of
 * returned results in no such chunk (the caller's, taken over at the first
 * step) gets its place in one at the next. The leaves of a tree a pass
 * returned whole (see `leafPass`) are taken over together, each chunk
 * looked at once (`Recycle.takeLeaves`).
 *
 * @module core
 */
import { type FloatArray, type Tensor, isRowMajor, isTensor, sizeOf } from '../tensor/index.js'
import { donatedError, markTaken } from '../tensor/taken.js'
import { isPlainObject, walk } from '../tree/index.js'
import { residentOf } from '../kernel/index.js'
import { RESCAN, type Reads, type Recycle, SMALL } from './fusion.js'

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
 * whole buffer: the only tensors whose buffers a scan lets a donating
 * step take over. (The small outputs of a donating pass, views into a
 * shared chunk, are taken over through their lineage instead.)
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
const LINEAGE = Symbol('ndoptax donation: lineage')

/**
 * A buffer with the stamps of the donating calls that saw it, and of the
 * lineage of the results that hold it (on a resident block, its typed
 * array carries the lineage: a resident memory's buffer holds many blocks).
 */
type Stamped = ArrayBufferLike & { [ONCE]?: object; [TWICE]?: object; [LINEAGE]?: object }
type Block = FloatArray & { [LINEAGE]?: object; [TWICE]?: object }

/**
 * The results of a donating step that need no scan when they come back:
 * their lineage (the token on the buffers the step took over or moved a
 * leaf into), and whether they hold any such buffer (noted while the step
 * runs, then frozen).
 */
interface Returned {
  readonly lineage: object
  stamped: boolean
  /** Some buffer (not only typed arrays: chunks, resident blocks) carries the lineage: only then is a gradient's buffer looked at. */
  buffers: boolean
  /** How many tensors the step took over: the room the next step's list of them starts with. */
  readonly taken: number
}

/**
 * The tensors a step took over, to be emptied when it ends: the first
 * `count` of `list`, and every leaf of each of `trees`. The list starts
 * with the room the step before needed (a list that grew by pushes, one
 * tensor after another, cost a step over 2000 small leaves about 6%).
 */
interface Taken {
  readonly list: Tensor[]
  count: number
  /** The leaves of whole trees taken over at once (`Recycle.takeLeaves`): their lists, not each leaf. */
  readonly trees: (readonly Tensor[])[]
}

/** An empty {@link Taken} with room for `expected` tensors (at most 65536: a larger array would not be a fast one). */
function takenList(expected: number): Taken {
  return { list: new Array<Tensor>(Math.min(expected, 65536)), count: 0, trees: [] }
}

/** The params and state each donating step returned, when it took over every buffer it could. */
const lineages = new WeakMap<object, Returned>()

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
 * only when some buffer may be taken. Handed-over roots that one donating
 * step returned are not scanned (see the module comment); `ownState` says
 * that this step's results may be treated so in turn (every tensor of the
 * transformation's state is one it computed, held once: `FastPath.ownState`).
 * `rescan` scans everything whatever the roots are: the step again after a
 * pass threw `RESCAN`.
 */
export function donation(args: readonly (readonly [string, unknown])[], donors: number, ownState = false, rescan = false): Donation {
  return (rescan ? undefined : returned(args, donors, ownState)) ?? scanned(args, donors, ownState)
}

/**
 * The lineage the donated roots of `args` share, when each is a tree or
 * state of one donating step's results.
 */
function lineageOf(args: readonly (readonly [string, unknown])[], donors: number): Returned | undefined {
  let found: Returned | undefined
  for (let i = 0; i < donors; i++) {
    const value = args[i][1]
    const r = typeof value === 'object' && value !== null ? lineages.get(value) : undefined
    if (r === undefined || (found !== undefined && r !== found)) return undefined
    found = r
  }
  return found
}

/** The lineage `a` (a tensor's storage) is stamped with, if any. */
function stampOf(a: FloatArray): object | undefined {
  return (a.buffer as Stamped)[LINEAGE] ?? (a as Block)[LINEAGE]
}

/**
 * The donation of roots one donating step returned (see the module
 * comment): no scan of them, and a large leaf's buffer is taken over when
 * it carries their lineage and no gradient lives in one that does (the
 * gradients are checked only when the roots hold such a buffer: with one
 * tree not handed over, by the step's first writing pass, see `Reads`). A
 * small leaf (under `SMALL` elements) is written over in place when it is
 * a view into a chunk of the lineage. Undefined when the roots are not
 * such, or (with more than one tree not handed over) a gradient shares a
 * buffer or chunk of the lineage (then everything is scanned).
 */
function returned(args: readonly (readonly [string, unknown])[], donors: number, ownState: boolean): Donation | undefined {
  const found = lineageOf(args, donors)
  if (found === undefined) return undefined
  const { lineage, stamped, buffers } = found
  checkNotDonated(args)
  // what is not handed over (the gradients) must not lie in a buffer or chunk of the lineage; nothing to check when
  // the results hold no such storage (nothing can be taken over then)
  // (the buffer's getter costs about 20 ns a tensor: read only when some buffer carries the lineage)
  const clean = buffers ? (t: Tensor): boolean => stampOf(t.data) !== lineage : (t: Tensor): boolean => (t.data as Block)[LINEAGE] !== lineage
  const unclean = (values: readonly (readonly [string, unknown])[]): boolean => {
    let found = false
    scan(values, (t) => {
      if (!clean(t)) found = true
    })
    return found
  }
  let reads: Reads | undefined
  if (stamped && args.length === donors + 1) {
    // one tree: checked by the first pass that writes, on the leaves it zips when it zips it, else scanned then
    let checked = false
    reads = {
      root: args[donors][1],
      clean,
      writing: (zippedClean) => {
        if (checked) return
        if (!zippedClean && unclean(args.slice(donors))) throw RESCAN
        checked = true
      },
    }
  } else if (stamped && unclean(args.slice(donors))) return undefined
  // taken buffers are stamped with this call's token (in TWICE, as the scan's stamps: a buffer is taken once)
  const token = {}
  const taken = takenList(found.taken)
  // (the results hold a stamped buffer only when this step takes one over: its other storage is new or an array's)
  const kept: Returned = { lineage, stamped: false, buffers: false, taken: 0 }
  let whole = true
  const take = (old: Tensor, small?: boolean): FloatArray | undefined => {
    const a = old.data as Block
    // a small leaf (its size, not its storage's): a view into a chunk that a donating pass of these results
    // carved (stamped with their lineage) is written over in place, each tensor at its own elements; any other
    // small leaf gets new storage, carved from such a chunk (a leaf of a batch is known small and row-major)
    if (small === true || sizeOf(old.shape) < SMALL) {
      if (!stamped || a[LINEAGE] !== lineage || !(small === true || isRowMajor(old))) return undefined
      taken.list[taken.count++] = old
      return a
    }
    const b = a.buffer as Stamped
    // the stamp is on the buffer the step took for one tensor that spanned it, or on a resident block's array;
    // `old` is its replacement over the same storage
    const holder = !stamped ? undefined : b[LINEAGE] === lineage ? b : a[LINEAGE] === lineage ? a : undefined
    const got = holder !== undefined && holder[TWICE] !== token && exactStorage(old) !== undefined ? a : undefined
    if (holder !== undefined) holder[TWICE] = token // taken once
    if (got !== undefined) {
      taken.list[taken.count++] = old
      if (holder === b) kept.buffers = true
    }
    // a large leaf not taken though it could be owned (a new buffer, say, made when it moved): the next step scans
    else if (ownedBuffer(old, b) !== undefined || residentOf(a) !== undefined) whole = false
    return got
  }
  // small leaves of one tree at once: each in a chunk of the lineage (looked at once per chunk), as `take` finds each
  const takeLeaves = (olds: readonly Tensor[]): boolean => {
    if (!stamped) return false
    let chunk: Block | undefined
    for (let k = 0; k < olds.length; k++) {
      const a = olds[k].data as Block
      if (a === chunk) continue
      if (a[LINEAGE] !== lineage) return false
      chunk = a
    }
    taken.trees.push(olds)
    return true
  }
  return {
    recycle: Object.assign(withPlaced(kept, take, reads), { takeLeaves }),
    finish: (outputs) => settle(args, donors, outputs, taken, whole && ownState ? kept : undefined),
  }
}

/**
 * Marks what was handed over (see {@link Donation.finish}) and, when
 * `results` is given (the step took over every large buffer it could, and
 * the transformation owns its state), records `outputs` as returned results
 * of `results.lineage`.
 */
function settle(args: readonly (readonly [string, unknown])[], donors: number, outputs: readonly unknown[], taken: Taken, results: Returned | undefined): void {
  for (let i = 0; i < donors; i++) {
    const value = args[i][1]
    if (typeof value === 'object' && value !== null && !isTensor(value) && !outputs.includes(value)) donated.add(value)
  }
  const { list, count, trees } = taken
  for (let k = 0; k < count; k++) markTaken(list[k])
  for (const tree of trees) for (let k = 0; k < tree.length; k++) markTaken(tree[k])
  if (results === undefined || outputs.length !== donors) return
  // (the results of a transformation that owns its state hold only this step's outputs: stamped when taken over or moved)
  if (count > 0 || trees.length > 0) results.stamped = true
  const frozen: Returned = Object.freeze({ lineage: results.lineage, stamped: results.stamped, buffers: results.buffers, taken: count })
  for (const o of outputs) if (typeof o === 'object' && o !== null && !isTensor(o)) lineages.set(o, frozen)
}

/**
 * `take` as a {@link Recycle}: new storage the step places its results in
 * (a large leaf moved into a resident block, a chunk of small outputs)
 * carries on their lineage, and `results` note that they hold a stamped
 * buffer.
 */
function withPlaced(results: Returned, take: (old: Tensor, small?: boolean) => FloatArray | undefined, reads?: Reads): Recycle {
  return Object.assign(take, {
    placed: (storage: FloatArray) => {
      ;(storage as Block)[LINEAGE] = results.lineage
      results.stamped = true
    },
    reads,
  })
}

/** The donation of anything: every tensor of `args` scanned. */
function scanned(args: readonly (readonly [string, unknown])[], donors: number, ownState: boolean): Donation {
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
  const taken = takenList(0)
  // what this step takes over is stamped with a new lineage, which its results carry on when it took everything it could
  const lineage = {}
  const kept: Returned = { lineage, stamped: false, buffers: false, taken: 0 }
  let whole = true
  return {
    recycle: withPlaced(kept, (old) => {
      if (blocks.size > 0 && blocks.get(old.data) === 1) {
        blocks.set(old.data, 2) // taken once
        ;(old.data as Block)[LINEAGE] = lineage
        taken.list[taken.count++] = old
        return old.data
      }
      // stamped once: `old` (a handed-over tensor whose buffer is stamped) is the one tensor in it
      const b = old.data.buffer as Stamped
      if (b[ONCE] !== token || b[TWICE] === token || ownedBuffer(old, b) === undefined) {
        if (blocks.has(old.data) || b[ONCE] === token) whole = false // ownable, but shared
        return undefined
      }
      b[TWICE] = token // taken once
      b[LINEAGE] = lineage
      kept.buffers = true
      taken.list[taken.count++] = old
      return old.data
    }),
    finish: (outputs) => settle(args, donors, outputs, taken, whole && ownState ? kept : undefined),
  }
}

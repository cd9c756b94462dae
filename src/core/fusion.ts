/**
 * Fusion: how `chain` and `optimizer().step` run neighbouring elementwise
 * stages in one pass over memory per leaf, with results bit-identical to
 * running the stages one after another.
 *
 * A transformation may register a fast path (never required): a `run` that
 * performs its update with its neighbours folded in (a scale of the incoming
 * updates, a scale of the outgoing ones, and the addition to the params);
 * `scaling` for a stage that only multiplies the updates by a factor (folded
 * into a neighbour's kernel instead of running a pass of its own); and
 * `fromMoved` for a stage that works on the moved parameters `params + u`
 * (so that the stage before it can write them directly); and `recurrent`
 * for a stage that is one recurrence, which `chain` composes with its
 * recurrent neighbours into a single pass. Every intermediate
 * that the stages one after another would store in a tensor is rounded to
 * that tensor's dtype at the same place, so nothing changes but speed.
 *
 * @module core
 */
import { type Batch, type Expr, type Precision, type Program, type Recurrence, activeBackend, addArray, addLeaf, aliasRuns, compile, compiled, fuse, recurrence, releaseBatch, RESIDENT_CHUNK, residentChunk, residentOf, residentStorage, store, sub, takeBatch } from '../kernel/index.js'
import { Arena, type Dtype, allocate, type FloatArray, type Kernel, type Tensor, dtypeOfArray, fromStorage, isRowMajor, isTensor, map, mapInto, roundTo, sizeOf } from '../tensor/index.js'
import { isTaken } from '../tensor/taken.js'
import { type Tree, walk } from '../tree/index.js'
import type { GradientTransformation, Params } from './types.js'

/** A scale factor as a function of the leaf dtype, already in the precision the stage computes it in. */
export type Factor = (dtype: Dtype) => number

/** Where a new state or parameter tensor may be written: over the old one's buffer (donation), if it can be. */
export interface Recycle {
  /**
   * The storage of `old` for its replacement, handed out once, when it can
   * be taken over. `small` says the caller knows `old` to be row-major and
   * of fewer than {@link SMALL} elements (a leaf of a batch), so neither is
   * looked at again.
   */
  (old: Tensor, small?: boolean): FloatArray | undefined
  /**
   * New storage of the step's results that the next donating step may write
   * over: a large leaf moved into a resident block instead of the buffer
   * handed out above, or a chunk a pass carves its small outputs from.
   */
  readonly placed?: (storage: FloatArray) => void
  /** The tree the step only reads (the gradients), which nothing it writes over may hold: see {@link Reads}. */
  readonly reads?: Reads
  /**
   * Takes over every one of `olds` at once, or none: the leaves of a tree
   * an earlier pass returned, each small and row-major (see `leafPass`).
   * True when each lies in storage it may write over in place, as the
   * recycle of each would have found one by one.
   */
  readonly takeLeaves?: (olds: readonly Tensor[]) => boolean
}

/**
 * The check that a donating step's writes leave the gradients alone, made
 * by the first pass that writes: a pass that zips `root` checks each of its
 * leaves with `clean` as it walks them, and every pass calls `writing`
 * before it writes anything. `writing(true)` says the pass zipped `root`
 * and found every leaf clean; `writing(false)`, that it did not zip it (the
 * donation then checks `root` itself) or found a leaf that is not. Where a
 * leaf is not clean `writing` throws {@link RESCAN}, before anything of the
 * step is written.
 */
export interface Reads {
  readonly root: unknown
  /** False when `t` lies in storage the step may write over. */
  readonly clean: (t: Tensor) => boolean
  readonly writing: (checked: boolean) => void
}

/**
 * Thrown by {@link Reads.writing} when a gradient lies in storage the step
 * meant to write over: the step starts again with every buffer scanned
 * (see `core/donation`). Never seen outside a donating step.
 */
export const RESCAN: unique symbol = Symbol('ndoptax donation: scan everything')

/** What a stage's fused run must do around its own update `u`. */
export interface Fusion {
  /** Multiply the incoming updates first: `g ← pre · g`, rounded to the leaf dtype. */
  readonly pre?: Factor
  /** Multiply the outgoing updates last: `u ← post · u`, rounded to the leaf dtype. */
  readonly post?: Factor
  /** Return `params + u` (rounded to the params' dtype) instead of `u`; `recycle` lets it overwrite the params' buffers. */
  readonly apply?: { readonly params: Params; readonly recycle: boolean }
  /** Donation: buffers of the old state (and, with `apply.recycle`, of the params) that new tensors may take over. */
  readonly recycle?: Recycle
  /** `'fast'`: float32 leaves may run in float32 lanes (see `OptimizerOptions.precision`); default `'exact'`. */
  readonly precision?: Precision
}

/** The parts of `fusion` every stage of a chain shares: donation and precision. */
export function shared(fusion: Fusion): Fusion {
  return { recycle: fusion.recycle, precision: fusion.precision }
}

/** The optional fast paths of one transformation. */
export interface FastPath<S> {
  /** The update with `fusion` folded in. */
  readonly run?: (updates: Params, state: S, params: Params | undefined, fusion: Fusion) => readonly [Params, S]
  /** For a stage that only scales the updates: its factor and next state (`updates` read only when `needsUpdates`). */
  readonly scaling?: (state: S, updates: Params) => readonly [Factor, S]
  /** `scaling` looks at the updates (a norm), so they must be materialised before it runs. */
  readonly needsUpdates?: boolean
  /** For a stage that maps the moved params `params + u` to its update (`constrainParams`). */
  readonly fromMoved?: (moved: Params, state: S, params: Params, fusion: Fusion) => readonly [Params, S]
  /** The update ends by projecting the params (a chain whose last stage does): `chain` accepts it only as its last stage. */
  readonly projects?: boolean
  /** The stage passes its updates through unchanged (`identity`): it may follow a projection. */
  readonly neutral?: boolean
  /** The stage is one recurrence: `chain` runs it and its recurrent neighbours as one composed recurrence. */
  readonly recurrent?: RecurrentStage<S>
  /**
   * Every tensor of the stage's state is one the stage computed in that
   * step (its own pass's output), held once: never an update, param or
   * state tensor it was given. Then a donating step's results need no scan
   * when they come back (see `core/donation`).
   */
  readonly ownState?: boolean
}

/** What `chain` needs to run a recurrence stage inside a composed pass. */
export interface RecurrentStage<S> {
  readonly recurrence: Recurrence
  /** Its state trees, in `recurrence.state` order (checking the state). */
  readonly trees: (state: S) => Params[]
  /** Its per-step scalars, given its state. */
  readonly scalars: (state: S) => (round: (x: number) => number, dtype: Dtype) => Readonly<Record<string, number>>
  /** Its next state from the old one and its new state trees. */
  readonly next: (state: S, trees: readonly Params[]) => S
}

const registry = new WeakMap<object, FastPath<unknown>>()

/** Registers the fast paths of `tx` and returns `tx`. */
export function withFastPath<S>(tx: GradientTransformation<S>, fast: FastPath<S>): GradientTransformation<S> {
  registry.set(tx, fast as FastPath<unknown>)
  return tx
}

/** True for `constrainParams` and for a chain whose last stage other than identities ends with a projection of the params. */
export function endsWithProjection(tx: GradientTransformation<unknown> | undefined): boolean {
  const fast = tx === undefined ? undefined : fastPathOf(tx)
  return fast?.fromMoved !== undefined || fast?.projects === true
}

/** True when every tensor of `tx`'s state is its own (see {@link FastPath.ownState}). */
export function ownsState(tx: GradientTransformation<unknown>): boolean {
  return fastPathOf(tx)?.ownState === true
}

/** True for `identity()` (and chains of identities): a stage that changes nothing. */
export function isNeutral(tx: GradientTransformation<unknown>): boolean {
  return fastPathOf(tx)?.neutral === true
}

/** The fast paths registered for `tx`, if any. */
export function fastPathOf<S>(tx: GradientTransformation<S>): FastPath<S> | undefined {
  return registry.get(tx) as FastPath<S> | undefined
}

/**
 * The one per-leaf pass of the fused paths: zips `trees` (named `names` in
 * errors; they must agree in structure, shape and dtype; the zip refuses
 * leaves a donating step emptied), and runs `kernelFor(dtype)` over the leaves of each
 * position, writing `nOut` outputs. Under donation output `i` goes into
 * the storage of the leaf of tree `replaces(i)` it replaces, when the
 * donation gives it, else into an arena (one per output tree, so small
 * leaves share buffers). Returns the `nOut` output trees.
 *
 * The kernels run once the walk is done, so a pass whose trees disagree
 * anywhere writes nothing (not even over donated buffers). Small row-major
 * leaves are not run one by one: they join their dtype's batch, packed into
 * few kernel calls (see `kernel/batch`); their outputs lie one after another
 * in the arena's chunks and are written back as whole runs. Each small
 * output is a view into its chunk (`t.data` the chunk, `t.offset` where its
 * elements start), not a typed array of its own: a typed array over a
 * piece of a buffer cost about as much as the rest of the output together.
 * The next step reads neighbouring views of one chunk as one run.
 *
 * `checkOrder` lists the trees in the order they are compared: the first is
 * the reference, and a difference names the tree that departs from it, so
 * the trees a caller is likelier to get wrong (the incoming updates) go last.
 *
 * The output trees of a pass whose every leaf joined a batch carry their
 * leaves (see {@link PassOutput}). When such trees of one pass come back
 * together (the params and state a step returned, at the next step), only
 * one of them is walked, beside the trees that are not known: the others'
 * leaves are read from their lists (see {@link knownTrees}), and under
 * donation a known tree whose every leaf lies where the step may write is
 * taken over at once and written in place. A leaf that is not as its pass
 * made it starts the pass again with every tree walked (`skipping` false),
 * before anything is written.
 */
function leafPass(
  trees: readonly Tree[],
  names: readonly string[],
  nOut: number,
  kernelFor: (dtype: Dtype) => PassKernel,
  replaces: (i: number) => number | undefined,
  checkOrder: readonly number[],
  recycle?: Recycle,
  skipping = true,
): Params[] {
  const placed = recycle?.placed
  // the gradients, when this pass zips them: it checks their leaves for the step (see Reads)
  const reads = recycle?.reads
  const watched = reads === undefined ? -1 : trees.indexOf(reads.root as Tree)
  // (a donation that scans what it is handed decides leaf by leaf: its passes walk every tree)
  const known = skipping && (recycle === undefined || recycle.takeLeaves !== undefined) ? knownTrees(trees, checkOrder, watched) : undefined
  // under donation, the known tree each output takes the place of when the donation took that tree over at once
  // (its outputs go where its leaves lie, as the same runs of the batch), else -1
  const inPlace = new Array<number>(nOut).fill(-1)
  if (known !== undefined && recycle?.takeLeaves !== undefined) {
    for (let i = 0; i < nOut; i++) {
      const j = replaces(i)
      if (j !== undefined && known.leaves[j] !== undefined && !inPlace.includes(j) && recycle.takeLeaves(known.leaves[j]!)) inPlace[i] = j
    }
  }
  // the old tensor output `i` replaces, when the donation gives its storage (leaf by leaf)
  const reuse = (ts: readonly Tensor[], i: number, small: boolean): Tensor | undefined => {
    const j = replaces(i)
    return j !== undefined && recycle !== undefined && recycle(ts[j], small) !== undefined ? ts[j] : undefined
  }
  let clean = true
  const arenas = Array.from({ length: nOut }, () => new Arena())
  const resident = activeBackend() === 'wasm'
  // a donating pass carves its small outputs from chunks that the next donating steps write over in place: on
  // WebAssembly resident ones (a pass's in one memory where there is room), where the batch kernel reads and writes
  // them where they are, staging only the gradients; elsewhere, or past the budget, ordinary ones of the same size
  let lastChunk: FloatArray | undefined
  const chunkOf = (dtype: Dtype): FloatArray => {
    const home = resident ? residentChunk(dtype, lastChunk) : undefined
    if (home !== undefined) lastChunk = home
    const chunk = home ?? allocate(dtype, RESIDENT_CHUNK)
    placed?.(chunk)
    return chunk
  }
  const chunkArenas = placed === undefined ? arenas : Array.from({ length: nOut }, () => new Arena(chunkOf))
  // where in its array the storage `storageOf` last gave starts (past 0 for a small output in a chunk)
  let at = 0
  /**
   * Where output `i` goes: the donated buffer when there is one, except that on WebAssembly a large donated
   * buffer moves once into a resident memory (where the kernel works in place) and stays there; else a chunk
   * of the arena for a small output, and for a large one a resident block within the budget of blocks held at
   * once (see `residentStorage`) or new storage. `batched`: the leaf joins a batch (small and row-major, which
   * the donation need not check again).
   */
  const storageOf = (ts: readonly Tensor[], i: number, dtype: Dtype, n: number, batched: boolean, near?: FloatArray): FloatArray => {
    at = 0
    const prior = reuse(ts, i, batched)
    const old = prior?.data
    if (old !== undefined && n < SMALL) {
      // in place, where the old tensor's elements are (a small output of a donating step is a view into a chunk)
      at = prior!.offset
      return old
    }
    if (old !== undefined && (!resident || residentOf(old) !== undefined)) return old
    if (n < SMALL) {
      const chunk = chunkArenas[i].place(dtype, n)
      at = chunkArenas[i].at
      return chunk
    }
    if (!resident) return old ?? arenas[i].output(dtype, n)
    // the leaf's outputs together in one memory (near an earlier one), where its kernel works on all of them in place
    if (old === undefined) return residentStorage(dtype, n, true, near, nOut) ?? arenas[i].output(dtype, n)
    const home = residentStorage(dtype, n, false, near, nOut)
    if (home === undefined) return old
    placed?.(home)
    return home
  }
  const arity = trees.length
  // the large or strided leaves, each a run of its own, and the batch of small leaves of each dtype (float32 first), with its kernel
  const alone: (() => unknown)[] = []
  const batches: [Batch | undefined, Batch | undefined] = [undefined, undefined]
  const kernels: [PassKernel | undefined, PassKernel | undefined] = [undefined, undefined]
  const smallOut = new Array<Tensor>(nOut)
  // the trees walked, in the order they are compared: all but the known ones skipped
  const walked = known === undefined ? checkOrder : checkOrder.filter((i) => !known.skipped.includes(i))
  // the shape and stride arrays of the last two state or params tensors of different shapes found row-major in
  // this pass: a step's outputs share frozen ones, and a tensor over the very arrays of one found row-major is as
  // row-major (the updates, first, are a caller's tensors, each with arrays of its own); two, for a model's layers,
  // whose leaves alternate between two shapes (a weight and a bias)
  let rowShape: readonly number[] | undefined
  let rowStride: readonly number[] | undefined
  let rowShape2: readonly number[] | undefined
  let rowStride2: readonly number[] | undefined
  const rowMajor = (t: Tensor, remember: boolean): boolean => {
    const { shape, stride } = t
    if ((shape === rowShape && stride === rowStride) || (shape === rowShape2 && stride === rowStride2)) return true
    if (!isRowMajor(t)) return false
    if (remember) {
      rowShape2 = rowShape
      rowStride2 = rowStride
      rowShape = shape
      rowStride = stride
    }
    return true
  }
  // (of the walked trees: a skipped tree's leaves have the very shape and stride arrays of the reference's)
  const allRowMajor = (ts: readonly Tensor[]): boolean => {
    for (let k = 0; k < walked.length; k++) if (!rowMajor(ts[walked[k]], walked[k] > 0)) return false
    return true
  }
  // the outputs of each tree, in walk order, while every leaf joins a batch (see `PassOutput`); as many as a known
  // tree has leaves, when there is one
  const count = known === undefined ? 0 : known.leaves[known.ref]!.length
  const made: Tensor[][] | undefined = nOut > 0 ? Array.from({ length: nOut }, () => new Array<Tensor>(count)) : undefined
  let batchedOnly = true
  // the position the walk is at, among the leaves (the index into a known tree's list)
  let position = 0
  let refData: FloatArray | undefined
  const lastData = new Array<FloatArray | undefined>(known === undefined ? 0 : known.skipped.length).fill(undefined)
  // the size of the last shape met (a step's outputs share their shape arrays: looked at once per run of one shape)
  let lastShape: readonly number[] | undefined
  let lastSize = 0
  const pass = (ts: Tensor[]): Tensor[] => {
    const c = position++
    if (known !== undefined) {
      // the leaves of the skipped trees: each the one the earlier pass made here, checked against the reference's;
      // one that is not as that pass made it starts the pass again walking every tree (`WALK_ALL`, before anything is
      // written), where what is wrong is named
      const { ref, skipped, leaves } = known
      const r = ts[ref]
      if (r.data !== refData) {
        refData = r.data
        lastData.fill(undefined)
      }
      for (let k = 0; k < skipped.length; k++) {
        const j = skipped[k]
        const t = leaves[j]![c]
        if (t.shape !== r.shape || t.stride !== r.stride || isTaken(t)) throw WALK_ALL
        // (the dtype looked at once per pair of arrays: a tree's leaves lie one after another in few)
        if (t.data !== lastData[k]) {
          if (t.data.constructor !== r.data.constructor) throw WALK_ALL
          lastData[k] = t.data
        }
        ts[j] = t
      }
    }
    if (watched >= 0 && clean) clean = reads!.clean(ts[watched])
    // (the walk has checked that every leaf is a tensor, not emptied, and that all have one shape and dtype; the last
    // tree's, the params or a state, is a step's own output after the first step, in a chunk shared by its
    // neighbours, and over a frozen shape array the new views share: compared by identity)
    const last = ts[ts.length - 1]
    const dtype = dtypeOfArray(last.data)
    const shape = last.shape
    if (shape !== lastShape) {
      lastShape = shape
      lastSize = sizeOf(shape)
    }
    const n = lastSize
    if (n === 0 || n >= SMALL || !allRowMajor(ts)) {
      batchedOnly = false
      // a leaf of its own, run once the walk is done too
      const specs = new Array<FloatArray>(nOut)
      const out = new Array<Tensor>(nOut)
      let near: FloatArray | undefined
      for (let i = 0; i < nOut; i++) {
        const s = storageOf(ts, i, dtype, n, false, near)
        // the kernel writes exactly the leaf's elements; the tensor is a view of the storage itself (a small
        // one of its chunk, which it keeps: a resident chunk comes back once its array is unreachable,
        // whatever arrays over its buffer remain)
        specs[i] = at === 0 && s.length === n ? s : (s.subarray(at, at + n) as FloatArray)
        out[i] = fromStorage(s, shape, at)
        if (near === undefined && resident && residentOf(specs[i]) !== undefined) near = specs[i]
      }
      const inputs = ts.slice()
      const kernel = kernelFor(dtype)
      alone.push(() => mapInto(inputs, specs, kernel))
      return out
    }
    const d = dtype === 'float32' ? 0 : 1
    let b = batches[d]
    if (b === undefined) {
      b = batches[d] = takeBatch(arity + nOut)
      kernels[d] = kernelFor(dtype)
    }
    // (the walk has refused any leaf a donating step emptied)
    addLeaf(b, n)
    for (let j = 0; j < arity; j++) addArray(b, j, ts[j].data, ts[j].offset)
    // (the walk copies a leaf's outputs out of the array it gets at once: one array serves every small leaf)
    const out = smallOut
    for (let i = 0; i < nOut; i++) {
      const j = inPlace[i]
      let s: FloatArray
      if (j >= 0) {
        // where the leaf it replaces lies (the runs of that input, see below)
        s = ts[j].data
        at = ts[j].offset
      } else {
        // the batch writes into the chunk (neighbours as one run); the tensor is a view of its elements there
        s = storageOf(ts, i, dtype, n, true)
        addArray(b, arity + i, s, at)
      }
      out[i] = fromStorage(s, shape, at)
      if (batchedOnly) made![i][c] = out[i]
    }
    return out
  }
  const ordered = walked.map((i) => trees[i])
  const orderedNames = walked.map((i) => names[i])
  const inKernelOrder = new Array<Tensor>(trees.length)
  // the output trees of a pass whose every leaf joined a batch carry their leaves (see `PassOutput`)
  const remember = (roots: object[]): void => {
    if (made === undefined || !batchedOnly) return
    // (one token for this pass's output trees: not the per-leaf `pass` above)
    const token = {}
    for (let i = 0; i < nOut; i++) Object.defineProperty(roots[i], OUTPUT, { value: { pass: token, leaves: made[i] } })
  }
  let result: Params[]
  try {
    const visit = (ts: unknown[]): Tensor[] => {
      for (let j = 0; j < ts.length; j++) inKernelOrder[walked[j]] = ts[j] as Tensor
      return pass(inKernelOrder)
    }
    result = walk(ordered, orderedNames, isTensor, nOut, visit, true, remember) as Params[]
  } catch (e) {
    if (e !== WALK_ALL) throw e
    // (what the donation took over at once it finds again leaf by leaf, in place as before)
    for (const b of batches) if (b !== undefined) releaseBatch(b)
    return leafPass(trees, names, nOut, kernelFor, replaces, checkOrder, recycle, false)
  }
  // outputs written where the inputs they replace lie: the same runs
  for (let i = 0; i < nOut; i++) {
    if (inPlace[i] < 0) continue
    for (const b of batches) if (b !== undefined) aliasRuns(b, inPlace[i], arity + i)
  }
  // nothing is written before the walk has checked every leaf (and, under donation, the step has checked the gradients)
  reads?.writing(watched >= 0 && clean)
  for (const run of alone) run()
  for (let d = 0; d < 2; d++) {
    const b = batches[d]
    if (b === undefined) continue
    try {
      kernels[d]!.batch(b)
    } finally {
      // the batch's lists keep their room for the next pass (a batch a failing walk took is left to the collector)
      releaseBatch(b)
    }
  }
  return result
}

/**
 * What an output tree of a pass whose every leaf joined a batch carries
 * (as a property no enumeration shows): its leaves in walk order, and the
 * pass that made it (an object of its own per pass, shared by all its
 * output trees). The output trees of one pass have one structure (its walk
 * builds and freezes every container), and the leaves of one position one
 * shape and stride array (views made one after another of the same shape
 * share them).
 */
interface PassOutput {
  readonly pass: object
  readonly leaves: readonly Tensor[]
}

/**
 * The key of an output tree's {@link PassOutput}, on the tree itself: in a
 * `WeakMap`, each step's outputs outlived the engine's young-generation
 * collections (a donating step over 2000 leaves spent half its time
 * collecting).
 */
const OUTPUT: unique symbol = Symbol('ndoptax pass output')

/** What the pass that returned `t` knows of it, if a pass did. */
function passOutput(t: Tree): PassOutput | undefined {
  return typeof t === 'object' && t !== null ? (t as { [OUTPUT]?: PassOutput })[OUTPUT] : undefined
}

/** Thrown inside a pass that skips known trees when a leaf of one is not what the earlier pass made: the pass then walks every tree. */
const WALK_ALL: unique symbol = Symbol('ndoptax pass: walk every tree')

/**
 * The trees of a pass that need no walk of their own (see {@link PassOutput}).
 * The first tree in `checkOrder` that an earlier pass returned is walked and
 * is their reference; each other tree of the same walk is skipped (not the
 * one `watched`, which the step checks leaf by leaf, nor a second copy of a
 * tree), and at each position the pass takes its leaf from the list, after
 * checking that it is still a tensor over the reference's very shape and
 * stride arrays, of its dtype, and not emptied by a donation. `leaves` has
 * the list of every tree of that walk, the reference's included (their
 * leaves may be taken over at once, see `Recycle.takeLeaves`). Undefined
 * when no tree is known. (The walked reference and every skipped tree come
 * from one walk, frozen: each list has a leaf for every position the walk
 * visits.)
 */
interface KnownTrees {
  readonly ref: number
  readonly skipped: readonly number[]
  readonly leaves: readonly (readonly Tensor[] | undefined)[]
}

function knownTrees(trees: readonly Tree[], checkOrder: readonly number[], watched: number): KnownTrees | undefined {
  let ref = -1
  let pass: object | undefined
  const skipped: number[] = []
  const leaves = new Array<readonly Tensor[] | undefined>(trees.length).fill(undefined)
  for (const j of checkOrder) {
    const t = trees[j]
    const o = passOutput(t)
    if (o === undefined || (pass !== undefined && o.pass !== pass) || leaves.includes(o.leaves)) continue
    leaves[j] = o.leaves
    if (pass === undefined) {
      pass = o.pass
      ref = j
    } else if (j !== watched) skipped.push(j)
  }
  return pass === undefined ? undefined : { ref, skipped, leaves }
}

/** Leaves below this many elements run in batches (see `kernel/batch`): one kernel call for many. */
export const SMALL = 4096

/** A leaf kernel of a pass, with its batch form (many leaves in few calls). */
export type PassKernel = Kernel & { readonly batch: (b: Batch) => void }

/**
 * Builds a value once per dtype on first use: the hyperparameter math of one
 * update (coefficients rounded to the leaf's dtype, and the kernel closing
 * over them) runs at most once per dtype, never per element or per leaf.
 */
export function perDtype<T>(make: (round: (x: number) => number, dtype: Dtype) => T): (dtype: Dtype) => T {
  let f32: T | undefined
  let f64: T | undefined
  return (dtype) => (dtype === 'float32' ? (f32 ??= make(roundTo('float32'), 'float32')) : (f64 ??= make(roundTo('float64'), 'float64')))
}

/** The names of the trees of a {@link recurrencePass}, for errors. */
export interface PassNames {
  readonly updates: string
  readonly state: readonly string[]
  readonly params: string
}

/**
 * The one pass of a recurrence over trees: folds `fusion` into `r` (see
 * `fuse`), compiles it per dtype, and runs it over the leaves of `updates`,
 * of each tree of `state` (in `r.state` order) and of the params (those of
 * `fusion.apply`, else `params`, when the recurrence reads them or the
 * update is applied). Returns the update (or `params + u`) and the new
 * state trees.
 *
 * `scalars(round, dtype)` gives the recurrence's per-step scalars in the
 * dtype of the leaves (`round` rounds to it); it runs once per dtype.
 * Under donation each new state tensor is written over the buffer of the
 * old one it replaces, and `p + u` over the params'.
 */
export function recurrencePass<Sc extends string>(
  r: Recurrence<string, Sc>,
  scalars: (round: (x: number) => number, dtype: Dtype) => Readonly<Record<Sc, number>>,
  updates: Params,
  state: readonly Params[],
  names: PassNames,
  fusion: Fusion,
  params?: Params,
): Params[] {
  const { pre, post, apply, recycle } = fusion
  const f = fuse(r, { pre: pre !== undefined, post: post !== undefined, apply: apply !== undefined })
  const p = apply?.params ?? params
  // missing params are refused by the walk, naming them
  const trees: Tree[] = f.readsParams ? [updates, ...state, p as Params] : [updates, ...state]
  const treeNames = f.readsParams ? [names.updates, ...names.state, names.params] : [names.updates, ...names.state]
  const kernelFor = recurrenceKernels(r, scalars, fusion)
  const lead = f.updateIsState === undefined ? 1 : 0
  const nOut = lead + state.length
  // under donation: each new state over the old state it replaces, `p + u` over the params
  const last = trees.length - 1
  const replaces = (i: number): number | undefined => (i >= lead ? 1 + i - lead : apply?.recycle === true ? last : undefined)
  // compared against the params (or the state), so a wrong update is the one named
  const stateAt = state.map((_, i) => i + 1)
  const checkOrder = f.readsParams ? [last, ...stateAt, 0] : [...stateAt, 0]
  const out = leafPass(trees, treeNames, nOut, kernelFor, replaces, checkOrder, recycle)
  return f.updateIsState === undefined ? out : [out[f.updateIsState], ...out]
}

/**
 * The kernels of `r` with `fusion`'s epilogue folded in, one per dtype
 * (compiled, and the scalars computed, on first use): for a pass over
 * trees, or for `map` over the tensors `[g, ...state, p?]` of one leaf.
 */
export function recurrenceKernels<Sc extends string>(
  r: Recurrence<string, Sc>,
  scalars: (round: (x: number) => number, dtype: Dtype) => Readonly<Record<Sc, number>>,
  fusion: Fusion = {},
): (dtype: Dtype) => PassKernel {
  const { pre, post, apply, precision } = fusion
  const f = fuse(r, { pre: pre !== undefined, post: post !== undefined, apply: apply !== undefined })
  return perDtype((round, dtype): PassKernel => {
    const s = scalars(round, dtype)
    const values = r.scalars.map((k) => s[k])
    if (pre !== undefined) values.push(pre(dtype))
    if (post !== undefined) values.push(post(dtype))
    const c = compiled(f.program, dtype, precision)
    const raw = c.run
    const kernel: Kernel = (n, outs, ins) => raw(n, outs, ins, values)
    return Object.assign(kernel, { batch: (b: Batch) => c.batch(b, values) })
  })
}

/**
 * Runs `program` once over same-shape tensors (any views: broadcast views
 * of per-slice values included) and returns its outputs as new contiguous
 * tensors of `dtype`, each operation rounded where the program stores.
 * `names` label the inputs in shape errors.
 */
export function evaluate(program: Program, inputs: readonly Tensor[], dtype: Dtype, scalars: readonly number[], names?: readonly string[]): Tensor[] {
  const raw = compile(program, dtype)
  return map(inputs, program.outputs.map(() => dtype), (n, outs, ins) => raw(n, outs, ins, scalars), names)
}

/** The update as it is: with an epilogue, a scale of it and the addition to the params. */
const IDENTITY = recurrence({ name: 'identity', state: [], scalars: [], step: ({ g }) => ({ update: g }) })

/** The update that moves the params `p` to the target `g`. */
const DIFFERENCE = recurrence({ name: 'difference', state: [], scalars: [], params: true, step: ({ g, p }) => ({ update: sub(g, p) }) })

const NO_SCALARS = (): Readonly<Record<never, number>> => ({})

/**
 * The elementwise tail as one pass over `updates`: each leaf multiplied by
 * the given factors in order (each product rounded to the leaf dtype), then
 * added to the params when `apply` is given (zipped as `applyUpdates` does,
 * params first). Returns `updates` itself when there is nothing to do.
 * Of `tail`, only `apply`, `recycle` and `precision` are read.
 */
export function scaleTree(updates: Params, factors: readonly (Factor | undefined)[], tail: Fusion = {}): Params {
  const { apply, recycle, precision } = tail
  const fs = factors.filter((f): f is Factor => f !== undefined)
  if (fs.length > 2) return scaleTree(scaleTree(updates, fs.slice(0, 2), { precision }), fs.slice(2), tail)
  if (fs.length === 0 && apply === undefined) return updates
  const names = { updates: 'updates', state: [], params: 'params' }
  return recurrencePass(IDENTITY, NO_SCALARS, updates, [], names, { pre: fs[0], post: fs[1], apply, recycle, precision })[0]
}

/**
 * The update that moves `params` to `target` (`target − params`, leaf by
 * leaf, zipped under `names`), with `fusion.post` and `fusion.apply` folded
 * into the same pass; with `apply` the result is `params + (target − params)`
 * rounded as the stages one by one would (not `target` itself).
 */
export function differenceTree(target: Params, params: Params, names: readonly [string, string], fusion: Fusion): Params {
  const { post, apply, recycle, precision } = fusion
  return recurrencePass(DIFFERENCE, NO_SCALARS, target, [], { updates: names[0], state: [], params: names[1] }, { post, apply, recycle, precision }, params)[0]
}

/** Runs `tx`'s update with `fusion` folded in: its fast path, or the update between materialised passes. */
export function runFused<S>(tx: GradientTransformation<S>, updates: Params, state: S, params: Params | undefined, fusion: Fusion): readonly [Params, S] {
  const fast = fastPathOf(tx)
  if (fast?.run !== undefined) return fast.run(updates, state, params, fusion)
  const [u, s] = tx.update(scaleTree(updates, [fusion.pre], shared(fusion)), state, params)
  return [scaleTree(u, [fusion.post], fusion), s]
}

/** Recurrences numbered, to name their compositions. */
const ids = new WeakMap<Recurrence, number>()
let idCount = 0
const composites = new Map<string, Recurrence>()

/**
 * Neighbouring recurrences as one: stage `i`'s incoming update is stage
 * `i − 1`'s update, rounded to the leaf dtype (where the stages one by one
 * store it in a tensor), so the composition gives their bits. States and
 * scalars are named `<i>.<name>`.
 */
function compose(rs: readonly Recurrence[]): Recurrence {
  const key = rs.map((r) => {
    if (!ids.has(r)) ids.set(r, ++idCount)
    return ids.get(r)
  }).join(',')
  let c = composites.get(key)
  if (c === undefined) {
    c = recurrence({
      name: rs.map((r) => r.name).join(' then '),
      state: rs.flatMap((r, i) => r.state.map((k) => `${i}.${k}`)),
      scalars: rs.flatMap((r, i) => r.scalars.map((k) => `${i}.${k}`)),
      params: rs.some((r) => r.params),
      step: (x, sc) => {
        const out: Record<string, Expr> = {}
        const update = rs.reduce((g, r, i) => {
          const xi = { g, p: x.p, ...Object.fromEntries(r.state.map((k) => [k, x[`${i}.${k}`]])) }
          const si = Object.fromEntries(r.scalars.map((k) => [k, sc[`${i}.${k}`]]))
          const o = r.step(xi as Parameters<Recurrence['step']>[0], si)
          r.state.forEach((k) => (out[`${i}.${k}`] = o[k]))
          return i === rs.length - 1 ? o.update : store(o.update)
        }, x.g)
        return { ...out, update }
      },
    })
    composites.set(key, c)
  }
  return c
}

/** The recurrence stage of `tx`, if it is one. */
function recurrentOf(tx: GradientTransformation<unknown> | undefined): RecurrentStage<unknown> | undefined {
  return tx === undefined ? undefined : fastPathOf(tx)?.recurrent
}

/** Runs neighbouring recurrence stages as one pass with `fusion` folded in; returns the update and each stage's state. */
function runGroup(stages: readonly RecurrentStage<unknown>[], updates: Params, states: readonly unknown[], params: Params | undefined, fusion: Fusion): [Params, unknown[]] {
  const r = compose(stages.map((st) => st.recurrence))
  // the scalars first: they check each state
  const scalarsOf = stages.map((st, i) => st.scalars(states[i]))
  const trees = stages.map((st, i) => st.trees(states[i]))
  const scalars = (round: (x: number) => number, dtype: Dtype) =>
    Object.fromEntries(scalarsOf.flatMap((f, i) => Object.entries(f(round, dtype)).map(([k, v]) => [`${i}.${k}`, v])))
  const names = { updates: 'updates', state: stages.flatMap((st) => st.recurrence.state.map((k) => `state.${k}`)), params: 'params' }
  const [u, ...out] = recurrencePass(r, scalars, updates, trees.flat(), names, fusion, params)
  let at = 0
  const next = stages.map((st, i) => {
    const mine = out.slice(at, at + trees[i].length)
    at += trees[i].length
    return st.next(states[i], mine)
  })
  return [u, next]
}

/** True for a stage that only scales the updates by a factor of its own (not of the updates). */
function pureScaling(tx: GradientTransformation<unknown> | undefined): boolean {
  const fast = tx === undefined ? undefined : fastPathOf(tx)
  return fast?.scaling !== undefined && fast.needsUpdates !== true
}

/**
 * The fused update of `chain(...txs)`: scaling stages fold into the next
 * stage (`pre`) or the previous one (`post`), a stage followed by one that
 * wants the moved params produces `params + u` directly, and the last stage
 * takes the chain's own `post` and `apply`. Returns the updates and the
 * per-stage states.
 */
export function runChain(
  txs: readonly GradientTransformation<unknown>[],
  updates: Params,
  states: readonly unknown[],
  params: Params | undefined,
  fusion: Fusion,
): [Params, unknown[]] {
  const n = txs.length
  const next = new Array<unknown>(n)
  const inner = shared(fusion)
  let u = updates
  let pre = fusion.pre
  for (let i = 0; i < n; i++) {
    const fast = fastPathOf(txs[i])
    if (fast?.scaling !== undefined) {
      // one pending factor at most: an earlier one (or any, before a norm) is applied first
      if (pre !== undefined) u = scaleTree(u, [pre], inner)
      const [factor, s] = fast.scaling(states[i], u)
      next[i] = s
      pre = factor
      continue
    }
    // neighbouring recurrence stages run as one composed recurrence
    let last = i
    while (recurrentOf(txs[i]) !== undefined && recurrentOf(txs[last + 1]) !== undefined) last += 1
    const stage = (f: Fusion): Params => {
      if (last === i) {
        const [v, s] = runFused(txs[i], u, states[i], params, f)
        next[i] = s
        return v
      }
      const [v, ss] = runGroup(txs.slice(i, last + 1).map((t) => recurrentOf(t)!), u, states.slice(i, last + 1), params, f)
      ss.forEach((s, k) => (next[i + k] = s))
      return v
    }
    let post: Factor | undefined
    let j = last + 1
    if (pureScaling(txs[j])) {
      ;[post, next[j]] = (fastPathOf(txs[j]) as FastPath<unknown>).scaling!(states[j], u)
      j += 1
    }
    if (j === n) {
      // the last stage takes the chain's own epilogue (one post at most: a second is a pass of its own)
      if (post !== undefined && fusion.post !== undefined) {
        u = stage({ ...inner, pre, post })
        return [scaleTree(u, [fusion.post], fusion), next]
      }
      u = stage({ ...fusion, pre, post: post ?? fusion.post })
      return [u, next]
    }
    const mover = fastPathOf(txs[j])?.fromMoved
    if (mover !== undefined && params !== undefined) {
      const moved = stage({ ...inner, pre, post, apply: { params, recycle: false } })
      const lastMover = j === n - 1
      ;[u, next[j]] = mover(moved, states[j], params, lastMover ? { ...inner, post: fusion.post, apply: fusion.apply } : inner)
      if (lastMover) return [u, next]
    } else {
      u = stage({ ...inner, pre, post })
      j -= 1
    }
    pre = undefined
    i = j
  }
  // the chain ended with scaling stages (or has none): the pending factor, the chain's post and apply in one pass
  return [scaleTree(u, [pre, fusion.post], fusion), next]
}

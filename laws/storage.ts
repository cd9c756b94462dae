/**
 * Snapshots of trees for the purity laws.
 *
 * Purity is a statement about storage, not about logical values: a function
 * that writes through a flat index into a view may land in padding or in
 * elements that belong to another array. So this file, alone in `laws/`,
 * reads a tensor's `data`, `shape`, `stride` and `offset`, and compares the
 * whole buffer byte for byte.
 *
 * @module laws
 */
import { type FloatArray, isTensor } from '../src/tensor/index.js'
import { formatPath, walk } from '../src/tree/index.js'
import { formatNumber, isAnyLeaf } from './describe.js'

interface LeafRecord {
  /** The leaf's path, e.g. `state[1].mu.W`. */
  readonly where: string
  /** The leaf object itself (a tensor) or value. */
  readonly leaf: unknown
  readonly data?: FloatArray
  readonly copy?: FloatArray
  readonly shape?: readonly number[]
  readonly stride?: readonly number[]
  readonly offset?: number
}

/**
 * What a tree held at one moment: its leaves, and for each tensor a copy of
 * its whole buffer and its layout.
 */
export interface Snapshot {
  readonly root: string
  readonly records: readonly LeafRecord[]
}

function records(tree: unknown, root: string): { where: string; leaf: unknown }[] {
  const out: { where: string; leaf: unknown }[] = []
  walk([tree], [root], isAnyLeaf, 0, (ls, path) => {
    out.push({ where: formatPath(root, path), leaf: ls[0] })
    return []
  })
  return out
}

/** Records `tree` (named `root` in reports) for a later {@link firstChange}. */
export function snapshot(tree: unknown, root: string): Snapshot {
  const recs = records(tree, root).map(({ where, leaf }): LeafRecord => {
    if (!isTensor(leaf)) return { where, leaf }
    return { where, leaf, data: leaf.data, copy: leaf.data.slice(), shape: leaf.shape.slice(), stride: leaf.stride.slice(), offset: leaf.offset }
  })
  return { root, records: recs }
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

function bytes(a: FloatArray): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength)
}

/**
 * The first way `tree` differs from `snap`, as a sentence, or `null` when
 * every leaf is the same object and every buffer, shape, stride and offset is
 * bit-identical.
 */
export function firstChange(snap: Snapshot, tree: unknown): string | null {
  let now: { where: string; leaf: unknown }[]
  try {
    now = records(tree, snap.root)
  } catch (e) {
    return `${snap.root} is no longer a tree: ${(e as Error).message}`
  }
  const was = snap.records
  for (let i = 0; i < Math.max(was.length, now.length); i++) {
    const a = was[i]
    const b = now[i]
    if (a === undefined || b === undefined || a.where !== b.where) {
      return `the structure of ${snap.root} changed: it had ${was.map((r) => r.where).join(', ')}; now ${now.map((r) => r.where).join(', ')}`
    }
    if (!Object.is(a.leaf, b.leaf)) return `${a.where} was replaced: ${describeSwap(a.leaf, b.leaf)}`
    if (a.copy === undefined || !isTensor(b.leaf)) continue
    const t = b.leaf
    if (t.data !== a.data) return `${a.where}: its storage array was replaced`
    if (!sameList(t.shape, a.shape ?? [])) return `${a.where}: shape changed from [${a.shape}] to [${t.shape}]`
    if (!sameList(t.stride, a.stride ?? [])) return `${a.where}: stride changed from [${a.stride}] to [${t.stride}]`
    if (t.offset !== a.offset) return `${a.where}: offset changed from ${a.offset} to ${t.offset}`
    const x = bytes(a.copy)
    const y = bytes(t.data)
    for (let k = 0; k < x.length; k++) {
      if (x[k] !== y[k]) {
        const e = Math.floor(k / t.data.BYTES_PER_ELEMENT)
        return `${a.where}: storage element ${e} was written (was ${formatNumber(a.copy[e])}, now ${formatNumber(t.data[e])})`
      }
    }
  }
  return null
}

function describeSwap(a: unknown, b: unknown): string {
  if (typeof a === 'number' && typeof b === 'number') return `was ${formatNumber(a)}, now ${formatNumber(b)}`
  return isTensor(a) && isTensor(b) ? 'a different tensor object is there now' : 'a different value is there now'
}

/**
 * A tree as JSON with its tensors set aside: the layout checkpoints store
 * their trees in (see `ndoptax/node`), shared by every place that saves a
 * state outside the process (the tfjs optimizer's weights too).
 *
 * A tree is stored as JSON with the same arrays, objects and `null`, and
 * each leaf replaced by a tagged array: `["tensor", name]`,
 * `["number", 3]` (or `"NaN"`, `"Infinity"`, `"-Infinity"`, `"-0"`),
 * `["string", "s"]`, `["boolean", true]`, `["undefined"]`. A tagged array is
 * the only array whose first element is a string, so the two never mix.
 *
 * @module tree
 */
import { CheckpointError, type CheckpointErrorReason, StructureError, describe, isNdoptaxError } from '../errors/index.js'
import { type Tensor, assertTensor, isTensor } from '../tensor/index.js'
import { type Path, type Tree, formatPath, walk } from './index.js'

type Encoded = readonly [string, ...unknown[]]

/** Throws a `CheckpointError` naming `where`. */
export function fail(where: string, what: string, reason: CheckpointErrorReason, cause?: unknown): never {
  throw new CheckpointError(where, what, reason, cause === undefined ? undefined : { cause })
}

const isStoredLeaf = (x: unknown): boolean => x === undefined || isTensor(x) || (x !== null && typeof x !== 'object')

/** Encodes one tree, collecting its tensors under their path names. */
export function encodeTree(tree: unknown, root: string, tensors: { name: string; t: Tensor }[]): unknown {
  const leaf = (x: unknown, path: Path): Encoded => {
    const where = formatPath(root, path)
    if (isTensor(x)) {
      tensors.push({ name: where, t: assertTensor(x, where) })
      return ['tensor', where]
    }
    if (root === 'params') return fail(where, `params must hold tensors only, got ${describe(x)}`, 'unsupported')
    if (typeof x === 'number') return ['number', Number.isFinite(x) && !Object.is(x, -0) ? x : Object.is(x, -0) ? '-0' : String(x)]
    if (typeof x === 'string') return ['string', x]
    if (typeof x === 'boolean') return ['boolean', x]
    if (x === undefined) return ['undefined']
    return fail(where, `${describe(x)} cannot be stored in a checkpoint (only tensors, numbers, strings, booleans, null and undefined, in arrays and plain objects)`, 'unsupported')
  }
  try {
    return walk([tree], [root], isStoredLeaf, 1, ([x], path) => [leaf(x, path)])[0]
  } catch (e) {
    if (e instanceof StructureError) return fail(e.where, `cannot be stored in a checkpoint: ${e.message}`, 'unsupported', e)
    throw e
  }
}

const isEncodedLeaf = (x: unknown): boolean => Array.isArray(x) && typeof x[0] === 'string'

/** Decodes one stored tree, taking its tensors from `tensors` (each may be taken once). */
export function decodeTree(json: string, root: string, tensors: Map<string, () => Tensor>, where: string): Tree<unknown> {
  const leaf = (x: readonly unknown[], path: Path): unknown => {
    const at = formatPath(root, path)
    const [tag, v] = x
    if (root === 'params' && tag !== 'tensor') return fail(where, `corrupt metadata at ${at}: params must hold tensors only, got ${JSON.stringify(x)}`, 'corrupt')
    if (tag === 'tensor' && typeof v === 'string' && tensors.has(v)) {
      const make = tensors.get(v)!
      tensors.delete(v)
      return make()
    }
    if (tag === 'number' && typeof v === 'number') return v
    if (tag === 'number' && typeof v === 'string' && ['NaN', 'Infinity', '-Infinity', '-0'].includes(v)) return v === '-0' ? -0 : Number(v)
    if (tag === 'string' && typeof v === 'string') return v
    if (tag === 'boolean' && typeof v === 'boolean') return v
    if (tag === 'undefined' && x.length === 1) return undefined
    return fail(where, `corrupt metadata at ${at}: ${JSON.stringify(x)}`, 'corrupt')
  }
  try {
    const encoded: unknown = JSON.parse(json)
    return walk([encoded], [root], isEncodedLeaf, 1, ([x], path) => [leaf(x as unknown[], path)])[0] as Tree<unknown>
  } catch (e) {
    if (isNdoptaxError(e) && e.name === 'CheckpointError') throw e
    return fail(where, `corrupt ${root} metadata: ${(e as Error).message}`, 'corrupt', e)
  }
}


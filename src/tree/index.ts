/**
 * Trees of tensors: a tree is a leaf, `null` (an empty subtree), an array of
 * trees, or a plain object of trees. Object keys are visited in sorted order,
 * so `leaves` and `flatten` give one canonical order whatever order the keys
 * were written in.
 *
 * Every function here is built on one walker that visits N trees in lockstep
 * and reports the path of the first structural, shape or dtype difference.
 *
 * @module tree
 */
import { DtypeError, ShapeError, StructureError, checkFunction, checkNumber, describe } from '../errors/index.js'
import { type Tensor, formatShape, isTensor, shapeEquals } from '../tensor/index.js'
import { donatedError, isTaken } from '../tensor/taken.js'

/**
 * A tree with leaves of type `L`: a leaf, `null`, an array of trees, or a
 * plain object of trees.
 * @category model
 */
export type Tree<L = Tensor> = L | null | readonly Tree<L>[] | { readonly [key: string]: Tree<L> }

/** A path from the root: object keys and array indices. */
export type Path = readonly (string | number)[]

/** Decides what counts as a leaf. */
export type IsLeaf = (x: unknown) => boolean

const IDENT = /^[A-Za-z_$][\w$]*$/

/**
 * Formats a path as `root.layers[2].W`.
 *
 * @example
 * formatPath('params', ['layers', 2, 'W']) // 'params.layers[2].W'
 * @category utils
 */
export function formatPath(root: string, path: Path): string {
  let s = root
  for (const k of path) {
    if (typeof k === 'number') s += `[${k}]`
    else if (IDENT.test(k)) s += s === '' ? k : `.${k}`
    else s += `[${JSON.stringify(k)}]`
  }
  return s
}

/** True for a plain object (`{}` literal or `Object.create(null)`). */
export function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null) return false
  const proto = Object.getPrototypeOf(x)
  return proto === Object.prototype || proto === null
}

function kindOf(x: unknown, isLeaf: IsLeaf): string {
  if (isLeaf(x)) return isTensor(x) ? `a tensor of shape ${formatShape(x.shape)}` : `a leaf (${describe(x)})`
  if (x === null) return 'null'
  if (Array.isArray(x)) return `an array of length ${x.length}`
  if (isPlainObject(x)) return `an object with keys [${Object.keys(x).sort().join(',')}]`
  return describe(x)
}

/** The own enumerable keys of `o`, sorted (not sorted again when they come in order, as the walker's own objects' do). */
function sortedKeys(o: object): string[] {
  const keys = Object.keys(o)
  for (let i = 1; i < keys.length; i++) if (keys[i - 1] > keys[i]) return keys.sort()
  return keys
}

/** True when `o`'s own enumerable keys are `keys` (sorted). */
function hasKeys(o: object, keys: readonly string[]): boolean {
  const own = sortedKeys(o)
  if (own.length !== keys.length) return false
  for (let i = 0; i < own.length; i++) if (own[i] !== keys[i]) return false
  return true
}

/** Freezes each of `outs` (a position's new containers, one per output tree) and returns them. */
function frozen(outs: object[]): object[] {
  for (let q = 0; q < outs.length; q++) Object.freeze(outs[q])
  return outs
}

/** `o[key] = v`, also for an own key named `__proto__` (as `JSON.parse` makes). */
function setKey(o: Record<string, unknown>, key: string, v: unknown): void {
  if (key === '__proto__') Object.defineProperty(o, key, { value: v, enumerable: true, writable: true, configurable: true })
  else o[key] = v
}

/**
 * The one tree walker. Visits `trees` in lockstep, checks that they agree in
 * structure (and, for tensor leaves, in shape and dtype), calls `onLeaf` with
 * the N leaves at each leaf position and the live path, and builds `nOut`
 * output trees of the first tree's structure from the `nOut` values `onLeaf`
 * returns (read from the array `onLeaf` returns at once, so `onLeaf` may
 * return one array each time; a root that is a leaf returns it as is).
 * Containers it builds are frozen. A cycle in the first tree (a
 * container that contains itself) is a `StructureError` naming the path
 * where it closes. A tensor that a donating step emptied is a
 * `DonatedBufferError` naming its path.
 *
 * `names` are the roots used in error messages (`'updates'`, `'state.mu'`).
 * `shapes: false` lets tensor leaves differ in shape. `onRoots`, when
 * given, gets the `nOut` root containers once every leaf has been visited,
 * before they are frozen (a caller may attach what it knows of them).
 * @category utils
 */
export function walk<R>(
  trees: readonly unknown[],
  names: readonly string[],
  isLeaf: IsLeaf,
  nOut: number,
  onLeaf: (leaves: unknown[], path: Path) => readonly R[],
  shapes = true,
  onRoots?: (roots: object[]) => void,
): unknown[] {
  if (!Array.isArray(trees)) throw new StructureError('trees', `expected an array of trees, got ${describe(trees)}`)
  checkNumber('nOut', nOut, { min: 0, max: 65536, integer: true })
  checkFunction('onLeaf', onLeaf, '(leaves, path) => values')
  if (onRoots !== undefined) checkFunction('onRoots', onRoots, '(roots) => void')
  if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) {
    throw new StructureError('names', `expected an array of root names (strings), got ${describe(names)}`)
  }
  const path: (string | number)[] = []
  // the containers of the first tree from the root down to the current node: a cycle revisits one of them
  const ancestors: object[] = []
  const enter = (node: object): void => {
    const at = ancestors.indexOf(node)
    if (at >= 0) {
      throw new StructureError(
        formatPath(names[0] ?? 'tree', path),
        `the tree contains a cycle: this node is its own ancestor ${formatPath(names[0] ?? 'tree', path.slice(0, at))}`,
      )
    }
    ancestors.push(node)
  }
  // the N leaves at one position (the first passed `isLeaf`)
  const leaf = (nodes: readonly unknown[]): unknown[] => {
    const first = nodes[0]
    const tensor = isLeaf === isTensor || isTensor(first) // once per position, not once per tree
    // a tensor a donating step emptied is never read, nor carried into a result
    if (tensor && isTaken(first as Tensor)) throw donatedError(formatPath(names[0] ?? 'tree', path))
    for (let j = 1; j < nodes.length; j++) checkLeaf(nodes, j, tensor)
    return onLeaf(nodes as unknown[], path) as unknown[]
  }
  const go = (nodes: readonly unknown[]): unknown[] => {
    const first = nodes[0]
    if (isLeaf(first)) return leaf(nodes)
    if (first === null) {
      for (let j = 1; j < nodes.length; j++) if (nodes[j] !== null) mismatch(nodes, j)
      return new Array(nOut).fill(null)
    }
    if (Array.isArray(first)) {
      for (let j = 1; j < nodes.length; j++) {
        const o = nodes[j]
        if (!Array.isArray(o) || o.length !== first.length) mismatch(nodes, j)
      }
      enter(first)
      const outs = new Array<unknown[]>(nOut)
      for (let q = 0; q < nOut; q++) outs[q] = new Array<unknown>(first.length)
      const children = new Array<unknown>(nodes.length)
      for (let i = 0; i < first.length; i++) {
        for (let j = 0; j < nodes.length; j++) children[j] = (nodes[j] as unknown[])[i]
        path.push(i)
        // (a leaf without a recursive call: the common child)
        const r = isLeaf(children[0]) ? leaf(children) : go(children)
        path.pop()
        for (let q = 0; q < nOut; q++) outs[q][i] = r[q]
      }
      ancestors.pop()
      if (nodes === trees) onRoots?.(outs)
      return frozen(outs)
    }
    if (isPlainObject(first)) {
      const keys = sortedKeys(first)
      for (let j = 1; j < nodes.length; j++) {
        const o = nodes[j]
        if (!isPlainObject(o) || !hasKeys(o as object, keys)) mismatch(nodes, j)
      }
      enter(first)
      const outs = new Array<Record<string, unknown>>(nOut)
      for (let q = 0; q < nOut; q++) outs[q] = {}
      const children = new Array<unknown>(nodes.length)
      for (const key of keys) {
        for (let j = 0; j < nodes.length; j++) children[j] = (nodes[j] as Record<string, unknown>)[key]
        path.push(key)
        const r = isLeaf(children[0]) ? leaf(children) : go(children)
        path.pop()
        for (let q = 0; q < nOut; q++) setKey(outs[q], key, r[q])
      }
      ancestors.pop()
      if (nodes === trees) onRoots?.(outs)
      return frozen(outs)
    }
    throw new StructureError(formatPath(names[0] ?? 'tree', path), `expected a leaf, null, an array or a plain object, got ${describe(first)}`)
  }
  const mismatch = (nodes: readonly unknown[], j: number): never => {
    throw new StructureError(
      formatPath(names[j] ?? `tree ${j}`, path),
      `expected ${kindOf(nodes[0], isLeaf)} (as in ${formatPath(names[0] ?? 'tree 0', path)}), got ${kindOf(nodes[j], isLeaf)}`,
    )
  }
  // formatted only on failure: formatting every leaf's path is costly
  const leafPath = (j: number): string => formatPath(names[j] ?? `tree ${j}`, path)
  const checkLeaf = (nodes: readonly unknown[], j: number, tensor: boolean): void => {
    const a = nodes[0] as Tensor
    const b = nodes[j] as Tensor
    // the common case first: a tensor over the first's very shape and stride arrays (a step's outputs share them),
    // of its dtype; only whether a donating step emptied it is left to check
    if (tensor && isLeaf === isTensor && typeof b === 'object' && b !== null && b.shape === a.shape && b.stride === a.stride && typeof b.offset === 'number' && b.data?.constructor === a.data.constructor) {
      if (isTaken(b)) throw donatedError(leafPath(j))
      return
    }
    if (!isLeaf(b)) mismatch(nodes, j)
    if (tensor) {
      if (isTaken(b)) throw donatedError(leafPath(j))
      // with isTensor as the leaf test, b passed it just above
      if (isLeaf !== isTensor && !isTensor(b)) throw new StructureError(leafPath(j), `expected ${kindOf(a, isLeaf)}, got ${kindOf(b, isLeaf)}`)
      if (shapes && !shapeEquals(a.shape, b.shape)) throw new ShapeError(leafPath(j), `shape ${formatShape(b.shape)} vs ${formatPath(names[0] ?? 'tree 0', path)} ${formatShape(a.shape)}`)
      if (a.data.constructor !== b.data.constructor) {
        throw new DtypeError(leafPath(j), `dtype ${b.dtype} vs ${a.dtype} of ${formatPath(names[0] ?? 'tree 0', path)}`)
      }
    }
  }
  if (trees.length === 0) return new Array(nOut).fill(null)
  return go(trees)
}

/**
 * The tensor leaves of `tree`, in canonical order (arrays by index, objects
 * by sorted key). `root` names the tree in errors.
 *
 * @example
 * leaves({ b: tensor([1]), a: [tensor([2]), null] }) // [a[0], b]
 * @category utils
 */
export function leaves(tree: Tree, root = 'tree'): Tensor[] {
  return leavesWith<Tensor>(tree, isTensor, root)
}

/** The leaves of `tree` under any leaf predicate. */
export function leavesWith<L>(tree: unknown, isLeaf: IsLeaf, root = 'tree'): L[] {
  const out: L[] = []
  walk([tree], [root], isLeaf, 0, (ls) => {
    out.push(ls[0] as L)
    return []
  })
  return out
}

/**
 * The structure of a tree without its leaves, as built by {@link flatten}.
 * @category model
 */
export interface TreeDef {
  /** The number of leaves. */
  readonly size: number
  /** The tree with every leaf replaced by its index in the leaf list. */
  readonly skeleton: Tree<number>
}

/**
 * Splits a tree into its tensor leaves and its structure.
 *
 * @example
 * const [ls, def] = flatten({ W: w, b: b })
 * const same = unflatten(def, ls)
 * @category utils
 */
export function flatten(tree: Tree, root = 'tree'): readonly [Tensor[], TreeDef] {
  const out: Tensor[] = []
  const [skeleton] = walk([tree], [root], isTensor, 1, (ls) => {
    out.push(ls[0] as Tensor)
    return [out.length - 1]
  })
  return [out, Object.freeze({ size: out.length, skeleton: skeleton as Tree<number> })]
}

/**
 * Rebuilds a tree of `def`'s structure from `leaves` (the inverse of
 * {@link flatten}).
 * @category utils
 */
export function unflatten<L>(def: TreeDef, ls: readonly L[]): Tree<L> {
  if (typeof def !== 'object' || def === null || !Number.isInteger(def.size) || !('skeleton' in def)) {
    throw new StructureError('def', `expected a TreeDef from flatten, got ${describe(def)}`)
  }
  if (!Array.isArray(ls)) throw new StructureError('leaves', `expected an array of leaves, got ${describe(ls)}`)
  if (ls.length !== def.size) throw new StructureError('leaves', `expected ${def.size} leaves, got ${ls.length}`)
  const isIndex = (x: unknown) => typeof x === 'number'
  return walk([def.skeleton], ['tree'], isIndex, 1, (ix) => [ls[ix[0] as number]])[0] as Tree<L>
}

/**
 * Maps every tensor leaf of `tree` through `f` (which also gets the leaf's
 * path), keeping the structure.
 *
 * @example
 * mapTree({ W: w }, (t) => scaleAll(t, 2))
 * @category combinators
 */
export function mapTree<R>(tree: Tree, f: (t: Tensor, path: Path) => R, root = 'tree'): Tree<R> {
  checkFunction('f', f, '(t: Tensor, path) => value')
  return walk([tree], [root], isTensor, 1, (ls, path) => [f(ls[0] as Tensor, path)])[0] as Tree<R>
}

/**
 * Zips N trees of tensors leaf by leaf: all must agree in structure, shape
 * and dtype (the first difference throws, naming its path under `names`).
 * `f` gets the N tensors at each position and returns one value.
 *
 * @example
 * zipTrees([params, updates], ['params', 'updates'], ([p, u]) => add(p, u))
 * @category combinators
 */
export function zipTrees<R>(trees: readonly Tree[], names: readonly string[], f: (ts: Tensor[], path: Path) => R): Tree<R> {
  checkFunction('f', f, '(ts: Tensor[], path) => value')
  return walk(trees, names, isTensor, 1, (ls, path) => [f(ls as Tensor[], path)])[0] as Tree<R>
}

/**
 * Like {@link zipTrees}, but `f` returns `nOut` values per position and the
 * result is `nOut` trees (for kernels that emit an update and new state in
 * one pass).
 *
 * @example
 * const [u, mu] = zipMany([grads, state.mu], ['updates', 'state.mu'], 2, ([g, m]) => traceKernel(g, m))
 * @category combinators
 */
export function zipMany(trees: readonly Tree[], names: readonly string[], nOut: number, f: (ts: Tensor[], path: Path) => readonly Tensor[]): Tree[] {
  checkFunction('f', f, '(ts: Tensor[], path) => Tensor[]')
  return walk(trees, names, isTensor, nOut, (ls, path) => f(ls as Tensor[], path)) as Tree[]
}

/**
 * Like {@link zipMany}, but the trees' leaves may differ in shape (and
 * dtype checks still hold): for state that keeps per-leaf summaries of
 * other shapes than the params (Adafactor's row and column moments).
 *
 * @example
 * const [u, row] = zipStructure([grads, state.vRow], ['updates', 'state.vRow'], 2, ([g, r]) => step(g, r))
 * @category combinators
 */
export function zipStructure(trees: readonly Tree[], names: readonly string[], nOut: number, f: (ts: Tensor[], path: Path) => readonly Tensor[]): Tree[] {
  checkFunction('f', f, '(ts: Tensor[], path) => Tensor[]')
  return walk(trees, names, isTensor, nOut, (ls, path) => f(ls as Tensor[], path), false) as Tree[]
}

/**
 * Throws a `StructureError`, `ShapeError` or `DtypeError` naming the path of
 * the first difference unless all `trees` have the same structure, shapes
 * and dtypes.
 *
 * @example
 * assertSameStructure([params, grads], ['params', 'grads'])
 * @category utils
 */
export function assertSameStructure(trees: readonly Tree[], names: readonly string[]): void {
  walk(trees, names, isTensor, 0, () => [])
}

/**
 * Deep-freezes the arrays and plain objects of a tree (not its tensors) and
 * returns it.
 * @category utils
 */
export function freezeTree<T>(x: T): T {
  const seen = new Set<object>() // a cyclic state is frozen once per container, not forever
  const go = (v: unknown): void => {
    if ((Array.isArray(v) || isPlainObject(v)) && !seen.has(v as object)) {
      seen.add(v as object)
      for (const c of Object.values(v as object)) go(c)
      Object.freeze(v)
    }
  }
  go(x)
  return x
}

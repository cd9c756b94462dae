/**
 * Selecting parameters: run a transformation on some leaves only
 * ({@link masked}), a different transformation per labelled group of leaves
 * ({@link partition}), or hold some leaves fixed ({@link freeze}).
 *
 * The selected leaves are handed to the inner transformation as a tree of
 * the full structure in which every leaf that is not selected is `null` (an
 * empty subtree), so the inner state only holds the selected leaves.
 *
 * @module transforms
 */
import { EMPTY_STATE, type EmptyState, type GradientTransformation, type Params, type StateOf, checkTransformation, transformation } from '../core/index.js'
import { ConfigError, describe } from '../errors/index.js'
import type { Tensor } from '../tensor/index.js'
import { type Path, type TreeDef, type Tree, flatten, formatPath, isPlainObject, unflatten, walk, zipTrees } from '../tree/index.js'
import { checkState, zeroUpdates } from './finite.js'

/**
 * A choice per leaf: a tree of the params' structure holding one value per
 * tensor leaf (and `null` where the params hold `null`), or a function of the
 * leaf's path (and the leaf itself) returning the value.
 *
 * @example
 * const byTree: LeafSpec<boolean> = { W: true, b: false }
 * const byPath: LeafSpec<boolean> = (path) => path[path.length - 1] !== 'b'
 * @category model
 */
export type LeafSpec<L> = Tree<L> | ((path: Path, leaf: Tensor) => L)

/** The leaves of a tree, its structure, and the choice made for each leaf. */
interface Resolved<L> {
  readonly leaves: Tensor[]
  readonly def: TreeDef
  readonly choices: L[]
}

const isIndex = (x: unknown): boolean => typeof x === 'number'
const isPrimitive = (x: unknown): boolean => x === undefined || (x !== null && typeof x !== 'object' && typeof x !== 'function')

/** Throws a `ConfigError` unless `spec` could be a {@link LeafSpec} (a function, a primitive, null, an array or a plain object). */
function checkSpec(name: string, spec: unknown): void {
  if (typeof spec === 'function' || spec === null || Array.isArray(spec) || isPlainObject(spec) || isPrimitive(spec)) return
  throw new ConfigError(name, `expected a tree of per-leaf values or a function of the leaf path, got ${describe(spec)}`)
}

/**
 * Flattens `tree` and makes the choice of `spec` for each of its leaves, in
 * leaf order. `check(value, where)` validates one choice (throwing a
 * `ConfigError` naming `where`).
 */
function resolve<L>(spec: LeafSpec<L>, tree: Params, root: string, specName: string, check: (v: unknown, where: string) => L): Resolved<L> {
  const [ls, def] = flatten(tree, root)
  const choices = new Array<L>(def.size)
  if (typeof spec === 'function') {
    const f = spec as (path: Path, leaf: Tensor) => unknown
    walk([def.skeleton], [root], isIndex, 0, ([i], path) => {
      choices[i as number] = check(f(path, ls[i as number]), formatPath(specName, path))
      return []
    })
  } else {
    walk([def.skeleton, spec], [root, specName], isPrimitive, 0, ([i, v], path) => {
      choices[i as number] = check(v, formatPath(specName, path))
      return []
    })
  }
  return { leaves: ls, def, choices }
}

/** The tree of `def` holding the leaves for which `keep(i)` holds, and `null` at every other leaf. */
function pick(def: TreeDef, ls: readonly Tensor[], keep: (i: number) => boolean): Params {
  return unflatten<Tensor | null>(def, ls.map((t, i) => (keep(i) ? t : null))) as Params
}

/** The params' leaves in the order of `updates`' leaves (checking that both trees agree). */
function leavesAlong(updates: Params, params: Params): Tensor[] {
  const out: Tensor[] = []
  zipTrees([updates, params], ['updates', 'params'], ([, p]) => out.push(p))
  return out
}

/** The leaves of an inner transformation's output `out`, which must have the structure of its input `picked`. */
function innerLeaves(picked: Params, out: Params, where: string): Tensor[] {
  const ls: Tensor[] = []
  zipTrees([picked, out], ['updates', where], ([, u]) => ls.push(u))
  return ls
}

/** One selected group: runs `tx.update` on the leaves where `keep` holds and returns the new leaves in order. */
function runOn<S>(
  tx: GradientTransformation<S>,
  r: Resolved<unknown>,
  keep: (i: number) => boolean,
  state: S,
  params: Tensor[] | undefined,
  where: string,
): readonly [Tensor[], S] {
  const picked = pick(r.def, r.leaves, keep)
  const [out, next] = tx.update(picked, state, params === undefined ? undefined : pick(r.def, params, keep))
  return [innerLeaves(picked, out, where), next]
}

/**
 * The state of {@link masked}.
 * @category model
 */
export interface MaskedState<S> {
  /** The inner transformation's state, built on the selected leaves only. */
  readonly innerState: S
}

const isBoolean = (v: unknown, where: string): boolean => {
  if (typeof v !== 'boolean') throw new ConfigError(where, `expected a boolean, got ${describe(v)}`)
  return v
}

/**
 * Runs `tx` on the leaves selected by `mask` only. `mask` is a tree of
 * booleans of the params' structure, or a predicate `(path, leaf) => boolean`.
 * `tx` sees a tree of the full structure with `null` in place of every leaf
 * that is not selected (its state holds the selected leaves only), and the
 * leaves that are not selected pass through unchanged (the same tensors):
 * they are not zeroed. Optax `masked`.
 *
 * @example
 * // weight decay on matrices only
 * const tx = masked(addDecayedWeights(1e-4), (path, leaf) => leaf.shape.length >= 2)
 * // the same with a tree mask
 * const tx2 = masked(sgd({ learningRate: 0.1 }), { W: true, b: false })
 * @category combinators
 */
export function masked<S>(tx: GradientTransformation<S>, mask: LeafSpec<boolean>): GradientTransformation<MaskedState<S>> {
  checkTransformation('tx', tx)
  checkSpec('mask', mask)
  return transformation<MaskedState<S>>({
    init: (params) => {
      const r = resolve(mask, params, 'params', 'mask', isBoolean)
      return Object.freeze({ innerState: tx.init(pick(r.def, r.leaves, (i) => r.choices[i])) })
    },
    update: (updates, state, params) => {
      checkState('state', state, ['innerState'], 'masked')
      const r = resolve(mask, updates, 'updates', 'mask', isBoolean)
      const ps = params === undefined ? undefined : leavesAlong(updates, params)
      const keep = (i: number): boolean => r.choices[i]
      const [inner, next] = runOn(tx, r, keep, state.innerState, ps, 'inner updates')
      let j = 0
      const out = r.leaves.map((t, i) => (keep(i) ? inner[j++] : t))
      return [unflatten(r.def, out) as Params, Object.freeze({ innerState: next })]
    },
  })
}

/**
 * The state of {@link partition}: one state per label.
 * @category model
 */
export interface PartitionState<T> {
  /** Each labelled transformation's state, built on the leaves of its label only. */
  readonly innerStates: { readonly [K in keyof T]: StateOf<T[K]> }
}

/**
 * Sends every leaf through exactly one of `transforms`: the one named by its
 * label. `labels` is a tree of strings of the params' structure, or a
 * function `(path, leaf) => label`; a label that names no transformation is
 * a `ConfigError` naming the leaf. Each transformation sees a tree of the
 * full structure with `null` in place of the leaves of other labels, and a
 * transformation whose label no leaf carries still gets a state (built on
 * an all-`null` tree). Optax `partition` (formerly `multi_transform`).
 *
 * @example
 * const tx = partition(
 *   { fast: adam({ learningRate: 1e-2 }), slow: sgd({ learningRate: 1e-4 }), frozen: setToZero() },
 *   (path) => (path[0] === 'embedding' ? 'frozen' : path[0] === 'head' ? 'fast' : 'slow'),
 * )
 * @category combinators
 */
export function partition<T extends { readonly [K in keyof T]: GradientTransformation<StateOf<T[K]>> }>(
  transforms: T,
  labels: LeafSpec<keyof T & string>,
): GradientTransformation<PartitionState<T>> {
  if (!isPlainObject(transforms)) throw new ConfigError('transforms', `expected an object of labelled transformations, got ${describe(transforms)}`)
  const names = Object.keys(transforms).sort() as (keyof T & string)[]
  for (const name of names) checkTransformation(formatPath('transforms', [name]), transforms[name])
  checkSpec('labels', labels)
  const isLabel = (v: unknown, where: string): keyof T & string => {
    if (typeof v !== 'string' || !(names as string[]).includes(v)) throw new ConfigError(where, `expected one of the labels [${names.join(', ')}], got ${describe(v)}`)
    return v as keyof T & string
  }
  type States = PartitionState<T>['innerStates']
  return transformation<PartitionState<T>>({
    init: (params) => {
      const r = resolve(labels, params, 'params', 'labels', isLabel)
      const states: Record<string, unknown> = {}
      for (const name of names) states[name] = transforms[name].init(pick(r.def, r.leaves, (i) => r.choices[i] === name))
      return Object.freeze({ innerStates: Object.freeze(states) as States })
    },
    update: (updates, state, params) => {
      checkState('state', state, ['innerStates'], 'partition')
      checkState('state.innerStates', state.innerStates, names, 'partition')
      const r = resolve(labels, updates, 'updates', 'labels', isLabel)
      const ps = params === undefined ? undefined : leavesAlong(updates, params)
      const out = r.leaves.slice()
      const states: Record<string, unknown> = {}
      for (const name of names) {
        const keep = (i: number): boolean => r.choices[i] === name
        const [inner, next] = runOn(transforms[name], r, keep, state.innerStates[name], ps, formatPath('inner updates', [name]))
        let j = 0
        for (let i = 0; i < out.length; i++) if (keep(i)) out[i] = inner[j++]
        states[name] = next
      }
      return [unflatten(r.def, out) as Params, Object.freeze({ innerStates: Object.freeze(states) as States })]
    },
  })
}

/**
 * Sets every update to zero, with an empty state: the inner stage of
 * {@link freeze}. Optax `set_to_zero`.
 *
 * @example
 * setToZero().update({ w: tensor([1, 2]) }, EMPTY_STATE) // [{ w: [0, 0] }, {}]
 * @category constructors
 */
export function setToZero(): GradientTransformation<EmptyState> {
  return transformation<EmptyState>({ init: () => EMPTY_STATE, update: (updates, state) => [zeroUpdates(updates), state] })
}

/**
 * Holds the leaves selected by `mask` fixed: their updates are zeros, and
 * every other leaf's update passes through unchanged. `mask` is as in
 * {@link masked}. Optax `freeze`, i.e. `masked(setToZero(), mask)`.
 *
 * @example
 * // last in the chain, so that adam's momentum cannot move the frozen leaves either
 * const tx = chain(adam({ learningRate: 1e-3 }), freeze({ embedding: true, head: false }))
 * @category combinators
 */
export function freeze(mask: LeafSpec<boolean>): GradientTransformation<MaskedState<EmptyState>> {
  return masked(setToZero(), mask)
}

/**
 * The law suite of a `GradientTransformation`: purity, determinism,
 * structure of updates and states, dtype, and stride invariance, over
 * several steps of `init` and `update` on generated inputs.
 *
 * @module laws
 */
import type { Arbitrary } from 'fast-check'
import fc from 'fast-check'
import { type GradientTransformation, type Params, checkTransformation } from '../src/core/index.js'
import { DtypeError, checkNumber, checkOptions, describe, isNdoptaxError } from '../src/errors/index.js'
import { copy, dtypeOf, isTensor } from '../src/tensor/index.js'
import { assertSameStructure, formatPath, freezeTree, leavesWith, mapTree, walk } from '../src/tree/index.js'
import { type ViewRecipe, arbPool, arbTensor, arbTree, arbViewRecipe, fromPool, viewOf } from './arbitraries.js'
import { type Tolerance, firstDifference } from './compare.js'
import { describeTree, isAnyLeaf } from './describe.js'
import { type RunOptions, guarded, runLaws, violation } from './report.js'
import { firstChange, snapshot } from './storage.js'

/**
 * Options of {@link checkTransformLaws}.
 * @category model
 */
export interface TransformLawOptions extends RunOptions {
  /** The parameter trees to run on. Default: trees of tensors of random shape and dtype (0-d and zero-size included). */
  readonly params?: Arbitrary<Params>
  /** Steps of `update` after `init` in each case. Default 3. */
  readonly steps?: number
  /** The values of the generated gradients. Default doubles in [-4, 4]. */
  readonly elements?: Arbitrary<number>
  /** Relative tolerance of stride invariance. Default 1e-5. */
  readonly rtol?: number
  /** Absolute tolerance of stride invariance. Default 1e-6. */
  readonly atol?: number
  /** How the transformation is named in reports. Default `'the transformation'`. */
  readonly name?: string
}

const OPTION_KEYS = ['params', 'steps', 'elements', 'rtol', 'atol', 'name', 'numRuns', 'seed', 'path'] as const

/**
 * One generated case: the params, one pool of gradient values per step, and
 * the layouts of the views. The tensors the transformation sees are built
 * afresh from it (see {@link materialize}), so a case stays as generated even
 * when the code under test writes into its inputs.
 */
export interface TransformCase {
  readonly params: Params
  /** The values each step's gradients cycle through. */
  readonly pools: readonly (readonly number[])[]
  /** View recipes, used in turn by the leaves of params, then of each step's gradients; none = all contiguous. */
  readonly views: readonly ViewRecipe[]
}

/** What one run of `init` and `update` produced. */
interface Trace {
  readonly states: readonly unknown[]
  readonly updates: readonly Params[]
}

/** Deep-freezes a state: its arrays, plain objects and tensor objects (not their storage). */
function deepFreeze<S>(state: S): S {
  for (const t of leavesWith<unknown>(state, isAnyLeaf, 'state')) if (isTensor(t)) Object.freeze(t)
  return freezeTree(state)
}

function kindOf(x: unknown): string {
  if (isTensor(x)) return 'a tensor'
  const t = typeof x
  return `${/^[aeiou]/.test(t) ? 'an' : 'a'} ${t}`
}

/** Views of the leaves of `tree` with the same values, taking recipes from `views` in turn from position `start`. */
function viewTree(tree: Params, views: readonly ViewRecipe[], start: number): [Params, number] {
  let i = start
  const out = mapTree(tree, (t) => (views.length === 0 ? t : viewOf(t, views[i++ % views.length])), 'params') as Params
  return [out, i]
}

function unchanged(snap: ReturnType<typeof snapshot>, tree: unknown, when: string): void {
  const change = firstChange(snap, tree)
  if (change !== null) violation('purity', `${when}, ${change}`)
}

function checkUpdateStructure(grads: Params, updates: Params, k: number): void {
  try {
    assertSameStructure([grads, updates], ['grads', 'updates'])
  } catch (e) {
    if (!isNdoptaxError(e)) throw e
    const law = e instanceof DtypeError ? 'dtype' : 'update-structure'
    violation(law, `the updates of step ${k} do not match the incoming updates: ${e.message}`)
  }
}

function checkStateStructure(init: unknown, state: unknown, k: number): void {
  try {
    walk([init, state], ['state from init', 'state'], isAnyLeaf, 0, (ls, path) => {
      const [a, b] = [kindOf(ls[0]), kindOf(ls[1])]
      if (a !== b) violation('state-structure', `${formatPath('state', path)} after step ${k} is ${b}, but ${a} in the state from init`)
      return []
    })
  } catch (e) {
    if (!isNdoptaxError(e)) throw e
    violation(e instanceof DtypeError ? 'dtype' : 'state-structure', `the state after step ${k} does not match the state from init: ${e.message}`)
  }
}

/** Calls `tx.update` as the code under test (see {@link guarded}) and checks that it returned `[updates, state]`. */
export function updateOnce<S>(tx: GradientTransformation<S>, g: Params, state: S, params: Params, what: string): readonly [Params, S] {
  const out = guarded(what, () => tx.update(g, state, params))
  if (!Array.isArray(out) || out.length !== 2) violation('update-structure', `${what} returned ${describe(out)}; expected [updates, state]`)
  return out
}

/** Runs `init` and `steps` updates, checking purity and structure as it goes. */
function run<S>(tx: GradientTransformation<S>, params: Params, grads: readonly Params[]): Trace {
  const paramsSnap = snapshot(params, 'params')
  const init = deepFreeze(guarded('init', () => tx.init(params)))
  unchanged(paramsSnap, params, 'init changed its params')
  const states: unknown[] = [init]
  const updates: Params[] = []
  const outputs: [ReturnType<typeof snapshot>, unknown, number][] = [[snapshot(init, 'state'), init, -1]]
  let state = init
  grads.forEach((g, k) => {
    const snaps = [snapshot(g, 'updates'), snapshot(state, 'state'), paramsSnap] as const
    const out = updateOnce(tx, g, state, params, `update at step ${k}`)
    unchanged(snaps[0], g, `update at step ${k} changed its incoming updates`)
    unchanged(snaps[1], state, `update at step ${k} changed the state it was given`)
    unchanged(snaps[2], params, `update at step ${k} changed its params`)
    const [u, s] = out
    checkUpdateStructure(g, u, k)
    checkStateStructure(init, s, k)
    state = deepFreeze(s)
    outputs.push([snapshot(u, 'updates'), u, k], [snapshot(s, 'state'), s, k])
    updates.push(u)
    states.push(s)
  })
  for (const [snap, tree, k] of outputs) {
    unchanged(snap, tree, `a result of ${k < 0 ? 'init' : `step ${k}`} was changed by a later step`)
  }
  return { states, updates }
}

function compareTraces(got: Trace, want: Trace, tol: Tolerance | null, law: 'determinism' | 'stride-invariance', what: string): void {
  for (let k = 0; k < want.states.length; k++) {
    const du = k < want.updates.length ? firstDifference(got.updates[k], want.updates[k], 'updates', tol) : null
    if (du !== null) violation(law, `${what}: the updates of step ${k} differ`, du)
    const ds = firstDifference(got.states[k], want.states[k], 'state', tol)
    if (ds !== null) violation(law, `${what}: the state ${k === 0 ? 'from init' : `after step ${k - 1}`} differs`, ds)
  }
}

/** The generated cases: params, one pool of gradient values per step, and view recipes. */
export function arbTransformCase(params: Arbitrary<Params>, steps: number, elements?: Arbitrary<number>): Arbitrary<TransformCase> {
  return fc.record({
    params,
    pools: fc.array(arbPool(elements), { minLength: steps, maxLength: steps }),
    views: fc.array(arbViewRecipe(), { maxLength: 8 }),
  })
}

/** Fresh contiguous params and gradients for a case: the gradients have the params' structure, shapes and dtypes. */
export function materialize(c: TransformCase): { params: Params; grads: Params[] } {
  const params = mapTree(c.params, copy, 'params') as Params
  const grads = c.pools.map((pool) => {
    let start = 0
    return mapTree(params, (t) => {
      const g = fromPool(t.shape, dtypeOf(t), pool, start)
      start += g.size
      return g
    }) as Params
  })
  return { params, grads }
}

/** The case with every leaf laid out as its view recipe says (same values as {@link materialize}). */
export function viewedCase(c: TransformCase): { params: Params; grads: Params[] } {
  const m = materialize(c)
  const [params, next] = viewTree(m.params, c.views, 0)
  let at = next
  const grads = m.grads.map((g) => {
    const [v, n] = viewTree(g, c.views, at)
    at = n
    return v
  })
  return { params, grads }
}

/** The case as text: the params and each step's gradients, with values and views. */
export function describeTransformCase(c: TransformCase): string {
  const v = viewedCase(c)
  return [describeTree(v.params, 'params', '  '), ...v.grads.map((g, k) => describeTree(g, `grads[${k}]`, '  '))].join('\n')
}

/** Checks the options and returns steps and the tolerance. */
export function transformSettings(options: TransformLawOptions, where: string): { steps: number; tol: Tolerance } {
  checkOptions(where, options, OPTION_KEYS)
  const steps = checkNumber('steps', options.steps ?? 3, { min: 1, integer: true })
  const rtol = checkNumber('rtol', options.rtol ?? 1e-5, { min: 0 })
  const atol = checkNumber('atol', options.atol ?? 1e-6, { min: 0 })
  return { steps, tol: { rtol, atol } }
}

/** Throws a `ConfigError` unless `tx` looks like a `GradientTransformation`. */
export function assertTransformation(tx: unknown, where: string): void {
  checkTransformation(where, tx as GradientTransformation)
}

/** Runs a transformation's whole law suite on one case (see {@link checkTransformLaws}). */
export function transformLaws<S>(tx: GradientTransformation<S>, c: TransformCase, tol: Tolerance): void {
  const m = materialize(c)
  const first = run(tx, m.params, m.grads)
  const fresh = materialize(c)
  const second = run(tx, fresh.params, fresh.grads)
  compareTraces(second, first, null, 'determinism', 'two runs on the same inputs')
  const v = viewedCase(c)
  const viewed = run(tx, v.params, v.grads)
  compareTraces(viewed, first, tol, 'stride-invariance', 'a run on views vs a run on contiguous copies')
}

/**
 * Checks the laws of a gradient transformation on `numRuns` generated cases
 * (default 50) of `steps` updates each (default 3), and throws a
 * {@link LawViolation} for the first law that fails, after fast-check has
 * shrunk the case. The gradients are generated with the structure, shapes
 * and dtypes of the params. The laws:
 *
 * - `purity`: `init` and `update` leave their params, incoming updates and
 *   state bit-identical (storage bytes, shape, stride, offset), accept a
 *   deep-frozen state, and never change a result they returned earlier;
 * - `determinism`: a second run gives bit-identical updates and states;
 * - `update-structure`: `updates` has the structure and shapes of the incoming updates;
 * - `state-structure`: every state has the structure of `init`'s state, with
 *   tensors of the same shapes and other leaves of the same kinds;
 * - `dtype`: updates keep the incoming dtypes, states keep theirs;
 * - `stride-invariance`: a run on views of the same values (transposed,
 *   negative steps, offsets into a larger buffer; derived by the suite even
 *   from contiguous `params`) equals the contiguous run within
 *   `atol + rtol·|want|` (reductions may sum in another order);
 * - `no-error`: nothing throws on these valid inputs.
 *
 * Reference: the contract of optax's `GradientTransformation` (pure `init`
 * and `update`, updates shaped like the gradients), checked the way fp-ts
 * checks its typeclass laws, with fast-check properties.
 *
 * @example
 * import fc from 'fast-check'
 * import { checkTransformLaws, arbTensor } from 'ndoptax/laws'
 * checkTransformLaws(adam({ learningRate: 1e-3 }), { numRuns: 30 })
 * checkTransformLaws(myTx, { params: fc.record({ W: arbTensor({ minDims: 2, maxDims: 2 }) }) })
 * @category laws
 */
export function checkTransformLaws<S>(tx: GradientTransformation<S>, options: TransformLawOptions = {}): void {
  assertTransformation(tx, 'tx')
  const { steps, tol } = transformSettings(options, 'checkTransformLaws options')
  const params = options.params ?? arbTree(arbTensor())
  runLaws(options.name ?? 'the transformation', arbTransformCase(params, steps, options.elements), describeTransformCase, (c) => transformLaws(tx, c, tol), options, 50)
}

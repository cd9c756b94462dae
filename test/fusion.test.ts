/**
 * Fusion changes speed, never numbers: a chain (and an optimizer step) that
 * folds neighbouring elementwise stages into one pass per leaf gives the same
 * bits as running every stage on its own, one `update` after another, then
 * `applyUpdates`. Checked on random recipes over random trees of strided
 * float32/float64 views (NaN and ±Infinity included), for several steps.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type GradientTransformation, type Params, applyUpdates, chain, identity, optimizer } from '../src/core/index.js'
import { normConstraint } from '../src/constraints/index.js'
import { type Tensor, copy, scaleAll } from '../src/tensor/index.js'
import {
  type TotalNormFlavor,
  clipByTotalNorm,
  constrainParams,
  leafwise,
  scale,
  scaleByAdadelta,
  scaleByAdagrad,
  scaleByAdam,
  scaleByAdamax,
  scaleByAmsgrad,
  scaleByLearningRate,
  scaleByRms,
  trace,
} from '../src/transforms/index.js'
import { mapTree } from '../src/tree/index.js'
import { expectSameBits } from './helpers/optimizers.js'
import { arbDtype, arbShape, arbViewOf } from './helpers/views.js'

type Tx = GradientTransformation<unknown>

/** A stage of a recipe, as a plain description (printed in counterexamples). */
type Stage =
  | { kind: 'scale'; c: number }
  | { kind: 'lr'; lr: number }
  | { kind: 'block'; name: keyof typeof BLOCKS }
  | { kind: 'trace'; nesterov: boolean }
  | { kind: 'clip'; flavor: TotalNormFlavor }
  | { kind: 'constrain' }
  | { kind: 'identity' }
  | { kind: 'leafwise' }
  | { kind: 'nested'; stages: Stage[] }

const BLOCKS = {
  adam: () => scaleByAdam({ beta1: 0.8, beta2: 0.9 }),
  amsgrad: () => scaleByAmsgrad({ beta1: 0.8, beta2: 0.9 }),
  adamax: () => scaleByAdamax(),
  rms: () => scaleByRms({ rho: 0.7 }),
  adagrad: () => scaleByAdagrad(),
  adadelta: () => scaleByAdadelta({ rho: 0.6 }),
} as const

const bounded = (ts: Tensor[]) => ts.map((t) => (t.shape.length >= 2 ? normConstraint(t, 2) : scaleAll(t, 0.5)))

/** The transformation of a stage (`nested` stays one chain: fused inside). */
function build(s: Stage): Tx {
  switch (s.kind) {
    case 'scale':
      return scale(s.c) as Tx
    case 'lr':
      return scaleByLearningRate(s.lr) as Tx
    case 'block':
      return BLOCKS[s.name]() as Tx
    case 'trace':
      return trace({ momentum: 0.7, nesterov: s.nesterov }) as Tx
    case 'clip':
      return clipByTotalNorm(3, { flavor: s.flavor }) as Tx
    case 'constrain':
      return constrainParams(bounded) as Tx
    case 'identity':
      return identity() as Tx
    case 'leafwise':
      return leafwise((t) => scaleAll(t, -2)) as Tx
    case 'nested':
      return chain(...s.stages.map(build)) as Tx
  }
}

/** The stages of a recipe with nested chains spliced in: the reference runs each alone. */
function flatStages(stages: readonly Stage[]): Stage[] {
  return stages.flatMap((s) => (s.kind === 'nested' ? flatStages(s.stages) : [s]))
}

/** Stage-by-stage reference: one `update` per stage, then `applyUpdates`. */
function referenceStep(txs: readonly Tx[], params: Params, grads: Params, states: unknown[]): [Params, unknown[]] {
  let u = grads
  const next = states.map((s, i) => {
    const [v, t] = txs[i].update(u, s, params)
    u = v
    return t
  })
  return [applyUpdates(params, u), next]
}

const arbLeaf: fc.Arbitrary<Stage> = fc.oneof(
  fc.record({ kind: fc.constant('scale' as const), c: fc.constantFrom(0.5, -3, 1, 1.1) }),
  fc.record({ kind: fc.constant('lr' as const), lr: fc.constantFrom(0.1, 0.01, -0.3) }),
  fc.record({ kind: fc.constant('block' as const), name: fc.constantFrom(...(Object.keys(BLOCKS) as (keyof typeof BLOCKS)[])) }),
  fc.record({ kind: fc.constant('trace' as const), nesterov: fc.boolean() }),
  fc.record({ kind: fc.constant('clip' as const), flavor: fc.constantFrom<TotalNormFlavor>('lasagne', 'torch', 'tensorflow') }),
  fc.constant({ kind: 'constrain' as const }),
  fc.constant({ kind: 'identity' as const }),
  fc.constant({ kind: 'leafwise' as const }),
)
const arbStage: fc.Arbitrary<Stage> = fc.oneof(
  { weight: 6, arbitrary: arbLeaf },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('nested' as const), stages: fc.array(arbLeaf, { minLength: 1, maxLength: 3 }) }) },
)
/** Recipes that `chain` accepts: a projection (`constrain`) only as the very last stage, nested chains spliced in. */
const arbRecipe = fc
  .array(arbStage, { minLength: 1, maxLength: 5 })
  .filter((recipe) => flatStages(recipe).every((stage, i, all) => stage.kind !== 'constrain' || i === all.length - 1))

/** Params and two steps of gradients: strided views of 1..3 leaves (each leaf its own shape and dtype). */
const arbProblem = fc
  .array(fc.tuple(arbShape(3, 4), arbDtype, fc.boolean()), { minLength: 1, maxLength: 3 })
  .chain((leaves) =>
    fc.tuple(
      ...leaves.map(([shape, dtype, specials]) =>
        fc.record({ p: arbViewOf(shape, dtype), g1: arbViewOf(shape, dtype, specials), g2: arbViewOf(shape, dtype) }),
      ),
    ),
  )
  .map((ls) => ({
    params: ls.map((l) => l.p.t) as Params,
    grads: [ls.map((l) => l.g1.t) as Params, ls.map((l) => l.g2.t) as Params],
  }))

/** A deep copy of a tree's tensors (contiguous), so that a donating run cannot touch the original. */
const copied = (tree: Params): Params => mapTree(tree, (t) => copy(t)) as Params

describe('fusion is bit-identical to the stages one by one', () => {
  it('chain.update and optimizer.step, pure and donating, on random recipes, trees and views', () => {
    fc.assert(
      fc.property(arbRecipe, arbProblem, (recipe, { params, grads }) => {
        const fused = chain(...recipe.map(build)) as Tx
        const stages = flatStages(recipe).map(build)
        const pure = optimizer(fused)
        const donating = optimizer(chain(...recipe.map(build)) as Tx, { donate: true })
        let refParams = params
        let refStates = stages.map((tx) => tx.init(params))
        let p = params
        let s = pure.init(params)
        let dp = copied(params)
        let ds = donating.init(dp)
        for (const g of grads) {
          // chain.update alone (no params added) against the stages' updates in turn
          let u = g
          for (let i = 0; i < stages.length; i++) u = stages[i].update(u, refStates[i], refParams)[0]
          expectSameBits(fused.update(g, s, p)[0], u)
          ;[refParams, refStates] = referenceStep(stages, refParams, g, refStates)
          ;[p, s] = pure.step(p, g, s)
          ;[dp, ds] = donating.step(dp, g, ds)
          expectSameBits(p, refParams)
          expectSameBits(s, refStates)
          expectSameBits(dp, refParams)
          expectSameBits(ds, refStates)
        }
      }),
      { numRuns: 150 },
    )
  })

  it.each(Object.keys(BLOCKS) as (keyof typeof BLOCKS)[])('%s between two scales, on leaves of 1000 elements (unrolled loops included)', (name) => {
    for (const dtype of ['float32', 'float64'] as const) {
      const problem = fc.sample(
        fc.record({ p: arbViewOf([10, 100], dtype), g1: arbViewOf([10, 100], dtype, true), g2: arbViewOf([10, 100], dtype) }),
        { numRuns: 1, seed: name.length },
      )[0]
      const params = { w: problem.p.t, v: copy(problem.g2.t) }
      const grads = [{ w: problem.g1.t, v: problem.p.t }, { w: problem.g2.t, v: copy(problem.g1.t) }]
      for (const recipe of [
        [{ kind: 'scale', c: 1.1 }, { kind: 'block', name }, { kind: 'lr', lr: 0.01 }],
        [{ kind: 'clip', flavor: 'lasagne' }, { kind: 'block', name }, { kind: 'lr', lr: -0.3 }, { kind: 'constrain' }],
        [{ kind: 'lr', lr: 0.1 }, { kind: 'trace', nesterov: name.length % 2 === 0 }],
      ] as Stage[][]) {
        const stages = recipe.map(build)
        const opt = optimizer(chain(...recipe.map(build)) as Tx, { donate: dtype === 'float32' })
        let [p, s] = [copied(params), opt.init(params)]
        let [rp, rs] = [params as Params, stages.map((tx) => tx.init(params))]
        for (const g of grads) {
          ;[p, s] = opt.step(p, g, s)
          ;[rp, rs] = referenceStep(stages, rp, g, rs)
          expectSameBits(p, rp)
          expectSameBits(s, rs)
        }
      }
    }
  })

  it.each<[string, Stage[]]>([
    ['an empty chain', []],
    ['two scales in a row', [{ kind: 'scale', c: 2 }, { kind: 'lr', lr: 0.1 }]],
    ['a block, its learning rate, then another scale', [{ kind: 'block', name: 'adam' }, { kind: 'lr', lr: 0.1 }, { kind: 'scale', c: 3 }]],
    ['a nested recipe followed by a scale', [{ kind: 'nested', stages: [{ kind: 'block', name: 'rms' }, { kind: 'lr', lr: 0.1 }] }, { kind: 'scale', c: -2 }]],
    ['clipping, a pending scale, then momentum', [{ kind: 'clip', flavor: 'lasagne' }, { kind: 'scale', c: 2 }, { kind: 'trace', nesterov: false }]],
    ['a projection at the end of a nested chain', [{ kind: 'block', name: 'adagrad' }, { kind: 'nested', stages: [{ kind: 'lr', lr: 0.2 }, { kind: 'constrain' }] }]],
  ])('%s', (_, recipe) => {
    const { params, grads } = fc.sample(arbProblem, { numRuns: 1, seed: 7 })[0]
    const stages = flatStages(recipe).map(build)
    const opt = optimizer(chain(...recipe.map(build)) as Tx)
    let [p, s] = [params, opt.init(params)]
    let [rp, rs] = [params, stages.map((tx) => tx.init(params))]
    for (const g of grads) {
      ;[p, s] = opt.step(p, g, s)
      ;[rp, rs] = referenceStep(stages, rp, g, rs)
      expectSameBits(p, rp)
      expectSameBits(s, rs)
    }
    expect((s as unknown[]).length).toBe(recipe.length)
  })
})

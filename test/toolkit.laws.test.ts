/**
 * The toolkit wrappers around real optimizers: the law suite, and bit-level
 * agreement with the optimizers they wrap.
 */
import { describe, expect, it } from 'vitest'
import { type GradientTransformation, type Params, chain, optimizer } from '../src/core/index.js'
import { adam, sgd } from '../src/optimizers/index.js'
import { type Tensor, tensor } from '../src/tensor/index.js'
import { applyIfFinite, freeze, masked, multiSteps, partition, zeroNans } from '../src/transforms/index.js'
import { checkTransformLaws } from '../laws/index.js'
import { expectSameTree } from './helpers/toolkit.js'

const RUNS = 25
const byRank = (_: unknown, leaf: Tensor) => leaf.shape.length >= 2

describe('toolkit wrappers pass checkTransformLaws', () => {
  const cases: [string, GradientTransformation<unknown>][] = [
    ['applyIfFinite(adam)', applyIfFinite(adam({ learningRate: 0.01 }), { maxConsecutiveErrors: 2 }) as GradientTransformation<unknown>],
    ['zeroNans', zeroNans() as GradientTransformation<unknown>],
    ['multiSteps(adam, 2)', multiSteps(adam(), { everyK: 2 }) as GradientTransformation<unknown>],
    ['masked(adam, rank >= 2)', masked(adam(), byRank) as GradientTransformation<unknown>],
    ['partition(adam | sgd)', partition({ a: adam(), s: sgd(0.1) }, (_, leaf) => (leaf.shape.length % 2 ? 'a' : 's')) as GradientTransformation<unknown>],
    ['chain(adam, freeze(rank >= 2))', chain(adam(), freeze(byRank)) as GradientTransformation<unknown>],
  ]
  it.each(cases)('%s', (_, tx) => {
    checkTransformLaws(tx, { numRuns: RUNS, steps: 3 })
  })
})

const params = { W: tensor([[1, -2, 3], [0.5, 0, -1]], undefined, 'float32'), b: tensor([0.1, -0.2, 0.3]) }
const grad = (s: number) => ({ W: tensor([[s, -s, 0.5], [1, s * s, -2]], undefined, 'float32'), b: tensor([Math.sin(s), Math.cos(s), s / 7]) })
const nan = { W: tensor([[NaN, 0, 0], [0, 0, 0]], undefined, 'float32'), b: tensor([0, 0, 0]) }

function trajectory<S>(tx: GradientTransformation<S>, grads: Params[]): Params {
  const opt = optimizer(tx)
  let p: Params = params
  let s = opt.init(p)
  for (const g of grads) [p, s] = opt.step(p, g, s)
  return p
}

describe('toolkit wrappers around adam, bit for bit', () => {
  it('applyIfFinite(adam) skipping NaN steps equals adam run without them', () => {
    const steps = [1, 2, -1, 3, 0.5].map(grad)
    const withNans = [steps[0], nan, steps[1], steps[2], nan, nan, steps[3], steps[4]]
    expectSameTree(trajectory(applyIfFinite(adam({ learningRate: 0.05 }), { maxConsecutiveErrors: 2 }), withNans), trajectory(adam({ learningRate: 0.05 }), steps))
  })

  it('a skipped step keeps the adam state object itself, and emits exact zeros', () => {
    const tx = applyIfFinite(adam(), { maxConsecutiveErrors: 2 })
    const s1 = tx.update(grad(1), tx.init(params), params)[1]
    const [u, s2] = tx.update(nan, s1, params)
    expect(s2.innerState).toBe(s1.innerState)
    expect(s2.totalSkips).toBe(1)
    expectSameTree(u, { W: tensor([[0, 0, 0], [0, 0, 0]], undefined, 'float32'), b: tensor([0, 0, 0]) })
  })

  it('multiSteps(adam, { everyK: 1 }) equals adam', () => {
    const steps = [1, 2, -1, 3].map(grad)
    expectSameTree(trajectory(multiSteps(adam(), { everyK: 1 }), steps), trajectory(adam(), steps))
  })

  it('multiSteps(sgd, { everyK: 3 }) on three copies of each gradient equals sgd on each', () => {
    const steps = [1, 2, -1].map(grad)
    const repeated = steps.flatMap((g) => [g, g, g])
    expectSameTree(trajectory(multiSteps(sgd(0.1), { everyK: 3 }), repeated), trajectory(sgd(0.1), steps))
  })

  it('partition equals running each optimizer on its own leaves', () => {
    const steps = [1, 2, -1, 3].map(grad)
    const got = trajectory(partition({ w: adam({ learningRate: 0.02 }), b: sgd(0.1) }, { W: 'w', b: 'b' }), steps) as typeof params
    const w = trajectory(adam({ learningRate: 0.02 }), steps) as typeof params
    const b = trajectory(sgd(0.1), steps) as typeof params
    expectSameTree(got, { W: w.W, b: b.b })
  })

  it('freeze placed after adam keeps the frozen leaves exactly where they were', () => {
    const steps = [1, 2, -1, 3].map(grad)
    const got = trajectory(chain(adam(), freeze({ W: true, b: false })), steps) as typeof params
    expectSameTree(got.W, params.W)
    expectSameTree(got.b, (trajectory(adam(), steps) as typeof params).b)
  })
})

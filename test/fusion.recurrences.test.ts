/**
 * Neighbouring recurrence stages run as one composed recurrence: the
 * numbers are those of the stages one after another, bit for bit.
 */
import fc from 'fast-check'
import { describe, it } from 'vitest'
import { type GradientTransformation, type Params, applyUpdates, chain, optimizer } from '../src/core/index.js'
import { tensor } from '../src/tensor/index.js'
import { addDecayedWeights, scaleByAdam, scaleByLearningRate, scaleByLion, scaleByRms, trace } from '../src/transforms/index.js'
import { expectSameBits } from './helpers/optimizers.js'

/** The stages run one by one: each `update` materialised, then the params moved. */
function byStages(stages: readonly GradientTransformation<unknown>[], params: Params, grads: readonly Params[]): Params[] {
  let p = params
  let states = stages.map((s) => s.init(p))
  const out: Params[] = []
  for (const g of grads) {
    let u = g
    states = states.map((st, i) => {
      const [v, next] = stages[i].update(u, st, p)
      u = v
      return next
    })
    p = applyUpdates(p, u)
    out.push(p)
  }
  return out
}

const RECIPES: Record<string, () => GradientTransformation<unknown>[]> = {
  'adam, decay, learning rate (AdamW)': () => [scaleByAdam({ flavor: 'optax' }), addDecayedWeights(0.01), scaleByLearningRate(0.1)],
  'lion, decay, learning rate': () => [scaleByLion(), addDecayedWeights(0.1), scaleByLearningRate(0.01)],
  'rms then trace': () => [scaleByRms(), trace({ momentum: 0.5 }), scaleByLearningRate(0.1)],
  'three recurrences': () => [scaleByAdam(), trace({ momentum: 0.9, nesterov: true }), addDecayedWeights(0.05), scaleByLearningRate(0.01)],
}

describe('composed recurrences', () => {
  it.each(Object.keys(RECIPES))('%s: the chain step equals the stages one by one, in both dtypes', (name) => {
    fc.assert(
      fc.property(fc.constantFrom<'float32' | 'float64'>('float32', 'float64'), fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: 1, maxLength: 9 }), (dtype, xs) => {
        const params = { w: tensor(xs, undefined, dtype) }
        const grads = [1, 2, 3].map((k) => ({ w: tensor(xs.map((x) => Math.sin(k * x + 1)), undefined, dtype) }))
        const opt = optimizer(chainOf(RECIPES[name]()))
        let p: Params = params
        let s = opt.init(p)
        const fused: Params[] = []
        for (const g of grads) {
          ;[p, s] = opt.step(p, g, s)
          fused.push(p)
        }
        expectSameBits(fused, byStages(RECIPES[name](), params, grads))
      }),
      { numRuns: 60 },
    )
  })
})

const chainOf = (stages: GradientTransformation<unknown>[]) => chain(...stages)

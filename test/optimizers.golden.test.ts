import { describe, expect, it } from 'vitest'
import { type GradientTransformation } from '../src/core/index.js'
import { adadelta, adagrad, adam, adamax, amsgrad, momentum, nesterovMomentum, rmsprop, sgd } from '../src/optimizers/index.js'
import { type Tensor, dtypeOf } from '../src/tensor/index.js'
import { type GoldenArray, expectClose, expectUnchanged, fromGolden, loadGolden, snapshot } from './helpers/constraints.js'
import { run, stateTensors } from './helpers/optimizers.js'

/** One case of `test/golden/optimizers.json`. */
interface OptimizerCase {
  readonly optimizer: string
  readonly hyper: Record<string, number>
  readonly dtype: 'float32' | 'float64'
  readonly params: GoldenArray[]
  readonly grads: GoldenArray[][]
  readonly expected: GoldenArray[][]
  readonly rtol: number
  readonly atol: number
}

// Hyper keys are the options' names; absent ones take Lasagne's defaults.
const FACTORIES: Record<string, (o: Record<string, number>) => GradientTransformation<unknown>> = {
  sgd: (o) => sgd(o as { learningRate: number }),
  momentum: (o) => momentum(o as { learningRate: number }),
  nesterovMomentum: (o) => nesterovMomentum(o as { learningRate: number }),
  adagrad,
  rmsprop,
  adadelta,
  adam,
  adamax,
  amsgrad,
}

const cases = loadGolden<OptimizerCase>('optimizers.json')

describe('golden optimizers.json', () => {
  it('holds every optimizer in both dtypes', () => {
    expect(cases.length).toBe(34)
    for (const dtype of ['float32', 'float64']) {
      expect(new Set(cases.filter((c) => c.dtype === dtype).map((c) => c.optimizer))).toEqual(new Set(Object.keys(FACTORIES)))
    }
  })

  cases.forEach((c, i) => {
    it(`#${i} ${c.optimizer} ${JSON.stringify(c.hyper)} ${c.dtype}, ${c.grads.length} steps`, () => {
      const params = c.params.map(fromGolden)
      const grads = c.grads.map((gs) => gs.map(fromGolden))
      const inputs = [...params, ...grads.flat()].map(snapshot)
      const { trajectory, state } = run(FACTORIES[c.optimizer](c.hyper), params, grads)
      trajectory.forEach((p, k) => {
        const leaves = p as Tensor[]
        expect(leaves.length).toBe(2)
        leaves.forEach((t, j) => expectClose(t, c.expected[k][j], c.rtol, c.atol))
      })
      for (const t of stateTensors(state)) expect(dtypeOf(t)).toBe(c.dtype)
      expect(Object.isFrozen(state)).toBe(true)
      inputs.forEach(expectUnchanged)
    })
  })
})

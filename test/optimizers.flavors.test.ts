/**
 * Every case of `test/golden/peers/flavors.json` (computed by running
 * PyTorch, optax and Keras themselves) at its own tolerance: each flavored
 * optimizer reproduces its framework's trajectory.
 */
import { describe, expect, it } from 'vitest'
import { type GradientTransformation } from '../src/core/index.js'
import * as optimizers from '../src/optimizers/index.js'
import { type Tensor, dtypeOf } from '../src/tensor/index.js'
import { type GoldenArray, expectClose, expectUnchanged, fromGolden, loadGolden, snapshot } from './helpers/constraints.js'
import { run, stateTensors } from './helpers/optimizers.js'

/** One optimizer case of the peers' flavor file. */
interface FlavorCase {
  readonly kind: 'optimizer' | 'transform'
  readonly optimizer?: string
  readonly options?: Record<string, unknown>
  readonly framework: string
  readonly frameworkCall: string
  readonly dtype: 'float32' | 'float64'
  readonly params: GoldenArray[]
  readonly grads: GoldenArray[][]
  readonly expected?: GoldenArray[][]
  readonly rtol: number
  readonly atol: number
}

const cases = loadGolden<FlavorCase>('peers/flavors.json')
const optimizerCases = cases.filter((c) => c.kind === 'optimizer')

/** The optimizers whose flavors are implemented. */
const FLAVORED = ['sgd', 'momentum', 'nesterovMomentum', 'adagrad', 'rmsprop', 'adadelta', 'adam', 'adamax', 'amsgrad']

describe('golden peers/flavors.json: optimizers', () => {
  optimizerCases
    .filter((c) => FLAVORED.includes(c.optimizer!))
    .forEach((c, i) => {
      it(`#${i} ${c.frameworkCall} ${c.dtype}, ${c.grads.length} steps`, () => {
        const factory = (optimizers as unknown as Record<string, (o: unknown) => GradientTransformation<unknown>>)[c.optimizer!]
        const params = c.params.map(fromGolden)
        const grads = c.grads.map((gs) => gs.map(fromGolden))
        const inputs = [...params, ...grads.flat()].map(snapshot)
        const { trajectory, state } = run(factory(c.options), params, grads)
        trajectory.forEach((p, k) => (p as Tensor[]).forEach((t, j) => expectClose(t, c.expected![k][j], c.rtol, c.atol)))
        for (const t of stateTensors(state)) expect(dtypeOf(t)).toBe(c.dtype)
        inputs.forEach(expectUnchanged)
      })
    })
})

/**
 * Every case of `test/golden/peers/flavors.json` (computed by running
 * PyTorch, optax and Keras themselves) at its own tolerance: each flavored
 * optimizer reproduces its framework's trajectory.
 */
import { describe, expect, it } from 'vitest'
import { type GradientTransformation } from '../src/core/index.js'
import * as optimizers from '../src/optimizers/index.js'
import * as transforms from '../src/transforms/index.js'
import { type Tensor, dtypeOf, tensor } from '../src/tensor/index.js'
import { type GoldenArray, expectClose, expectUnchanged, fromGolden, loadGolden, snapshot } from './helpers/constraints.js'
import { expectSameBits, run, stateTensors } from './helpers/optimizers.js'

/** One optimizer case of the peers' flavor file. */
interface FlavorCase {
  readonly kind: 'optimizer' | 'transform'
  readonly optimizer?: string
  readonly transform?: string
  readonly args?: unknown[]
  readonly expectedUpdates?: GoldenArray[][]
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

describe('golden peers/flavors.json: transforms', () => {
  const transformCases = cases.filter((c) => c.kind === 'transform')
  it('has the clipping cases', () => expect(transformCases.map((c) => c.transform)).toEqual(Array(8).fill('clipByTotalNorm')))
  transformCases.forEach((c, i) => {
    it(`#${i} ${c.frameworkCall} ${c.dtype}, ${c.grads.length} steps`, () => {
      const tx = (transforms as unknown as Record<string, (...a: unknown[]) => GradientTransformation<unknown>>)[c.transform!](...c.args!)
      const params = c.params.map(fromGolden)
      let state = tx.init(params)
      c.grads.forEach((gs, k) => {
        const [updates, next] = tx.update(gs.map(fromGolden), state, params)
        ;(updates as Tensor[]).forEach((t, j) => expectClose(t, c.expectedUpdates![k][j], c.rtol, c.atol))
        state = next
      })
    })
  })
})

describe('flavor knobs', () => {
  it('a knob the flavor does not have is a ConfigError naming the knob and the flavor', () => {
    expect(() => optimizers.adam({ learningRate: 0.1, flavor: 'optax', weightDecay: 0.1 })).toThrow(/adam\.weightDecay: flavor 'optax' has no weightDecay \(only 'torch' has it\)/)
    expect(() => optimizers.rmsprop({ learningRate: 0.1, centered: true })).toThrow(/flavor 'lasagne' has no centered/)
    expect(() => optimizers.adam({ flavor: 'keras' as never })).toThrow(/adam\.flavor/)
  })
  it('a knob no flavor of the block has is an unknown option, never silently ignored', () => {
    expect(() => transforms.scaleByAmsgrad({ flavor: 'optax', nesterov: true } as never)).toThrow(/scaleByAmsgrad\.nesterov: unknown option/)
    expect(() => transforms.scaleByAdamax({ flavor: 'optax', epsRoot: 1e-8 } as never)).toThrow(/scaleByAdamax\.epsRoot: unknown option/)
  })
  it("under optax, the learning rate is required, as optax's own", () => {
    expect(() => optimizers.adam({ flavor: 'optax' })).toThrow(/adam\.learningRate/)
  })
})

describe('knobs without a peer case', () => {
  const p = [tensor([1, -2, 3])]
  const g = [tensor([0.5, 0.25, -2])]
  it("adam's amsgrad knob (torch, Keras) is amsgrad in that flavor, bit for bit", () => {
    for (const flavor of ['torch', 'tensorflow'] as const) {
      const a = run(optimizers.adam({ learningRate: 0.01, flavor, amsgrad: true }), p, [g, g, g]).trajectory
      const b = run(optimizers.amsgrad({ learningRate: 0.01, flavor }), p, [g, g, g]).trajectory
      expectSameBits(a, b)
    }
  })
  it("optax rmsprop's biasCorrection divides the moment by 1 − rho^t", () => {
    const { trajectory } = run(optimizers.rmsprop({ learningRate: 0.1, flavor: 'optax', biasCorrection: true }), p, [g])
    const want = [1, -2, 3].map((x, i) => {
      const gi = [0.5, 0.25, -2][i]
      const nu = (1 - 0.9) * (gi * gi) / (1 - 0.9)
      return x - 0.1 * ((1 / Math.sqrt(nu + 1e-8)) * gi)
    })
    expectClose((trajectory[0] as Tensor[])[0], { dtype: 'float64', shape: [3], data: want }, 1e-15, 0)
  })
})

describe("clipByTotalNorm, flavor 'optax': the edges of clip_by_global_norm", () => {
  const clipOnce = (maxNorm: number, values: number[]) => {
    const tx = transforms.clipByTotalNorm(maxNorm, { flavor: 'optax' })
    const [u] = tx.update([tensor(values)], tx.init([tensor(values)]))
    return Array.from((u as Tensor[])[0].data)
  }
  it('an infinite norm sends the finite entries to 0 and the infinite ones to NaN', () => {
    expect(clipOnce(1, [3, Infinity, -2])).toEqual([0, NaN, -0])
  })
  it('a NaN norm makes every entry NaN', () => expect(clipOnce(1, [3, NaN])).toEqual([NaN, NaN]))
  it('maxNorm = Infinity never clips a finite norm; maxNorm = 0 zeroes (0/0 is NaN)', () => {
    expect(clipOnce(Infinity, [3e300, 4e300])).toEqual([3e300, 4e300])
    expect(clipOnce(0, [3, -4])).toEqual([0, -0])
    expect(clipOnce(0, [0, 0])).toEqual([NaN, NaN])
  })
  it('below the bound the updates are returned as they are', () => expect(clipOnce(10, [3, 4])).toEqual([3, 4]))
})

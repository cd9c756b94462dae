/**
 * The worked trajectories of semantics.md §3.2: E5 (fixed gradient), E5b
 * (epsilon probe, a zero-gradient component), E5c (decaying gradients,
 * AMSGrad) and E6 (Lasagne's own test problem), float64.
 */
import { describe, expect, it } from 'vitest'
import { type GradientTransformation, type Params } from '../src/core/index.js'
import {
  adadelta,
  adagrad,
  adam,
  adamax,
  amsgrad,
  applyMomentum,
  applyNesterovMomentum,
  momentum,
  nesterovMomentum,
  rmsprop,
  sgd,
} from '../src/optimizers/index.js'
import { type Tensor, tensor, toArray } from '../src/tensor/index.js'
import { expectNear, fixed, run } from './helpers/optimizers.js'

type Row = readonly [name: string, make: () => GradientTransformation<unknown>, steps: readonly (readonly number[])[]]

const P0 = [1, 2, -3]

function expectRows(rows: readonly Row[], grads: (n: number) => Params[], p0: readonly number[]): void {
  for (const [name, make, want] of rows) {
    it(name, () => {
      const { trajectory } = run(make(), tensor(p0 as number[]), grads(want.length))
      want.forEach((w, k) => expectNear(trajectory[k] as Tensor, w, 1e-9, 1e-12))
    })
  }
}

describe('E5: p0 = [1, 2, -3], fixed g = [0.1, -0.2, 0.3]', () => {
  const adamRows = [
    [0.9990000032, 2.000999998, -3.000999999],
    [0.9980000054, 2.001999997, -3.001999998],
    [0.9970000072, 2.002999996, -3.002999998],
  ]
  const rows: Row[] = [
    ['sgd(0.1)', () => sgd(0.1), [[0.99, 2.02, -3.03], [0.98, 2.04, -3.06], [0.97, 2.06, -3.09]]],
    ['momentum(0.1, 0.9)', () => momentum({ learningRate: 0.1, momentum: 0.9 }), [[0.99, 2.02, -3.03], [0.971, 2.058, -3.087], [0.9439, 2.1122, -3.1683]]],
    ['nesterovMomentum(0.1, 0.9)', () => nesterovMomentum({ learningRate: 0.1, momentum: 0.9 }), [[0.981, 2.038, -3.057], [0.9539, 2.0922, -3.1383], [0.91951, 2.16098, -3.24147]]],
    [
      'applyMomentum(rmsprop(0.01), 0.9)',
      () => applyMomentum(rmsprop({ learningRate: 0.01 }), { momentum: 0.9 }),
      [[0.9683930229, 2.031618824, -3.03162102], [0.9170112051, 2.083015831, -3.08302084], [0.8515616434, 2.148481719, -3.148489754]],
    ],
    [
      'applyNesterovMomentum(rmsprop(0.01), 0.9)',
      () => applyNesterovMomentum(rmsprop({ learningRate: 0.01 }), { momentum: 0.9 }),
      [[0.9399467436, 2.060075767, -3.060079938], [0.870767569, 2.129273136, -3.129280679], [0.792657038, 2.207401019, -3.207411776]],
    ],
    ['adagrad()', () => adagrad(), [[4.999625031e-5, 2.9999875, -3.999994444], [-0.7070391079, 3.707089862, -4.707099261], [-1.284379755, 4.284437726, -5.284448462]]],
    ['rmsprop()', () => rmsprop(), [[-2.160697706, 5.16188245, -6.162101993], [-4.454251558, 7.455888872, -8.456192254], [-6.374844113, 9.376747149, -10.37709975]]],
    ['adadelta()', () => adadelta(), [[0.9955323295, 2.004471018, -3.004471639], [0.9910078016, 2.00899898, -3.009000238], [0.9864448027, 2.013565463, -3.013567367]]],
    ['adam()', () => adam(), adamRows],
    ['adamax()', () => adamax(), [[0.9980000002, 2.002, -3.002], [0.9960000004, 2.004, -3.004], [0.9940000006, 2.006, -3.006]]],
    ['amsgrad() (same as adam)', () => amsgrad(), adamRows],
  ]
  expectRows(rows, (n) => fixed([0.1, -0.2, 0.3], n), P0)
})

describe('E5b: epsilon probe, fixed g = [0, 1e-3, -1e-5]', () => {
  const adamRows = [
    [1, 1.999000316, -2.999030653],
    [1, 1.99800054, -2.99805253],
    [1, 1.997000722, -2.997070469],
  ]
  const rows: Row[] = [
    ['adam()', () => adam(), adamRows],
    ['amsgrad()', () => amsgrad(), adamRows],
    ['adamax()', () => adamax(), [[1, 1.99800002, -2.998001998], [1, 1.99600004, -2.996003996], [1, 1.99400006, -2.994005994]]],
    ['adagrad()', () => adagrad(), [[1, 1.292893219, -2.9900005], [1, 0.7155429496, -2.9800015], [1, 0.2155429496, -2.970002999]]],
    ['rmsprop()', () => rmsprop(), [[1, 1.046537411, -2.99000005], [1, 0.1298389137, -2.980000145], [1, -0.7571684489, -2.97000028]]],
    ['adadelta()', () => adadelta(), [[1, 1.9990241, -2.99999], [1, 1.998047089, -2.99998], [1, 1.997069061, -2.99997]]],
  ]
  expectRows(rows, (n) => fixed([0, 1e-3, -1e-5], n), P0)

  const all: [string, () => GradientTransformation<unknown>][] = [
    ['sgd', () => sgd(0.1)],
    ['momentum', () => momentum(0.1)],
    ['nesterovMomentum', () => nesterovMomentum(0.1)],
    ['adagrad', () => adagrad()],
    ['rmsprop', () => rmsprop()],
    ['adadelta', () => adadelta()],
    ['adam', () => adam()],
    ['adamax', () => adamax()],
    ['amsgrad', () => amsgrad()],
  ]
  it.each(all)('%s leaves the zero-gradient component exactly 1 for 5 steps', (_, make) => {
    const { trajectory } = run(make(), tensor(P0), fixed([0, 1e-3, -1e-5], 5))
    for (const p of trajectory) expect(Object.is(toArray(p as Tensor)[0], 1)).toBe(true)
  })
})

describe('E5c: decaying gradients g1 = [1, -1, 0.5], g2 = g1/10, g3 = g1/100', () => {
  const grads = () => [1, 10, 100].map((d) => tensor([1 / d, -1 / d, 0.5 / d]))
  it('amsgrad() keeps the max of the raw nu', () => {
    const { trajectory } = run(amsgrad(), tensor(P0), grads())
    const want = [[0.9990000003, 2.001, -3.000999999], [0.9982591899, 2.00174081, -3.00174081], [0.9976804681, 2.002319532, -3.002319531]]
    want.forEach((w, k) => expectNear(trajectory[k] as Tensor, w, 1e-9, 1e-12))
  })
  it('adam() differs from amsgrad() at step 3', () => {
    const { trajectory } = run(adam(), tensor(P0), grads())
    expectNear(trajectory[2] as Tensor, [0.9976802073, 2.002319793, -3.002319792], 1e-9, 1e-12)
  })
})

describe("E6: Lasagne's test problem, loss Σ [0.1, 0.2, 0.3]·x², x0 = [1, 1, 1]", () => {
  const c = [0.1, 0.2, 0.3]
  const e6 = (make: () => GradientTransformation<unknown>, want: number[][]) => () => {
    const tx = make()
    let x = tensor([1, 1, 1])
    let state = tx.init(x)
    for (const w of want) {
      const g = tensor(toArray(x).map((xi, i) => 2 * c[i] * xi))
      const [u, s] = tx.update(g, state, x)
      state = s
      x = tensor(toArray(x).map((xi, i) => xi + toArray(u as Tensor)[i]))
      expectNear(x, w, 1e-9, 1e-12)
    }
  }
  it('sgd(0.1)', e6(() => sgd(0.1), [[0.98, 0.96, 0.94], [0.9604, 0.9216, 0.8836], [0.941192, 0.884736, 0.830584]]))
  it('momentum(0.1, 0.5)', e6(() => momentum({ learningRate: 0.1, momentum: 0.5 }), [[0.98, 0.96, 0.94], [0.9504, 0.9016, 0.8536], [0.916592, 0.836336, 0.759184]]))
  it('nesterovMomentum(0.1, 0.5)', e6(() => nesterovMomentum({ learningRate: 0.1, momentum: 0.5 }), [[0.97, 0.94, 0.91], [0.9359, 0.8736, 0.8131], [0.900473, 0.806784, 0.718771]]))
  it('adagrad(0.1)', e6(() => adagrad(0.1), [[0.90000125, 0.9000003125, 0.9000001389], [0.8331051875, 0.833103942, 0.8331037114], [0.7804580526, 0.7804566492, 0.7804563893]]))
  it('rmsprop(0.01)', e6(() => rmsprop(0.01), [[0.9683811755, 0.9683782116, 0.9683776626], [0.945793468, 0.9457893857, 0.9457886296], [0.9270594152, 0.9270546773, 0.9270537998]]))
  it('adadelta()', e6(() => adadelta(), [[0.9955289817, 0.9955281435, 0.9955279883], [0.9910109193, 0.9910092232, 0.991008909], [0.9864678451, 0.9864652826, 0.9864648079]]))
  const adamE6 = [[0.9900000158, 0.9900000079, 0.9900000053], [0.9800027729, 0.9800027594, 0.9800027549], [0.9700101355, 0.9700101174, 0.9700101113]]
  it('adam(0.01)', e6(() => adam(0.01), adamE6))
  it('amsgrad(0.01)', e6(() => amsgrad(0.01), adamE6))
  it('adamax(0.01)', e6(() => adamax(0.01), [[0.9900000005, 0.9900000003, 0.9900000002], [0.9800426752, 0.9800426748, 0.9800426746], [0.9701297133, 0.9701297126, 0.9701297123]]))
})

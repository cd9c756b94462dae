/**
 * The law suite (purity, determinism, structure, dtype, stride invariance)
 * on every optimizer in every flavor, with the flavor's knobs set.
 */
import { describe, it } from 'vitest'
import { checkTransformLaws } from '../laws/index.js'
import { type GradientTransformation } from '../src/core/index.js'
import { adadelta, adagrad, adam, adamax, amsgrad, momentum, nesterovMomentum, rmsprop, sgd } from '../src/optimizers/index.js'
import { clipByTotalNorm } from '../src/transforms/index.js'

const RUNS = 12

const CASES: [string, () => GradientTransformation<unknown>][] = [
  ['sgd, torch, weight decay and maximize', () => sgd({ learningRate: 0.05, flavor: 'torch', weightDecay: 0.01, maximize: true })],
  ['sgd, optax', () => sgd({ learningRate: 0.05, flavor: 'optax' })],
  ['sgd, tensorflow', () => sgd({ flavor: 'tensorflow' })],
  ['momentum, torch, dampening and weight decay', () => momentum({ learningRate: 0.05, momentum: 0.9, flavor: 'torch', dampening: 0.5, weightDecay: 0.01 })],
  ['momentum, optax', () => momentum({ learningRate: 0.05, momentum: 0.9, flavor: 'optax' })],
  ['nesterovMomentum, torch', () => nesterovMomentum({ learningRate: 0.05, momentum: 0.9, flavor: 'torch' })],
  ['nesterovMomentum, tensorflow', () => nesterovMomentum({ learningRate: 0.05, momentum: 0.5, flavor: 'tensorflow' })],
  ['adagrad, torch, lrDecay and an initial accumulator', () => adagrad({ learningRate: 0.1, flavor: 'torch', lrDecay: 0.01, initialAccumulatorValue: 0.1 })],
  ['adagrad, optax', () => adagrad({ learningRate: 0.1, flavor: 'optax' })],
  ['adagrad, tensorflow', () => adagrad({ flavor: 'tensorflow' })],
  ['rmsprop, torch, centered with momentum', () => rmsprop({ learningRate: 0.01, flavor: 'torch', centered: true, momentum: 0.5 })],
  ['rmsprop, optax, centered, eps outside the root, bias correction', () => rmsprop({ learningRate: 0.01, flavor: 'optax', centered: true, epsInSqrt: false, biasCorrection: true })],
  ['rmsprop, optax, nesterov momentum', () => rmsprop({ learningRate: 0.01, flavor: 'optax', momentum: 0.9, nesterov: true })],
  ['rmsprop, tensorflow, centered with momentum', () => rmsprop({ flavor: 'tensorflow', centered: true, momentum: 0.5 })],
  ['adadelta, torch, weight decay', () => adadelta({ flavor: 'torch', weightDecay: 0.01 })],
  ['adadelta, optax', () => adadelta({ learningRate: 1, flavor: 'optax' })],
  ['adadelta, tensorflow', () => adadelta({ flavor: 'tensorflow' })],
  ['adam, torch, weight decay and maximize', () => adam({ flavor: 'torch', weightDecay: 0.01, maximize: true })],
  ['adam, optax, epsRoot', () => adam({ learningRate: 0.01, flavor: 'optax', epsRoot: 1e-8 })],
  ['adam, tensorflow, amsgrad', () => adam({ flavor: 'tensorflow', amsgrad: true })],
  ['adamax, torch', () => adamax({ flavor: 'torch' })],
  ['adamax, optax', () => adamax({ learningRate: 0.01, flavor: 'optax' })],
  ['adamax, tensorflow', () => adamax({ flavor: 'tensorflow' })],
  ['amsgrad, torch', () => amsgrad({ flavor: 'torch' })],
  ['amsgrad, optax', () => amsgrad({ learningRate: 0.01, flavor: 'optax', epsRoot: 1e-8 })],
  ['clipByTotalNorm, optax', () => clipByTotalNorm(1, { flavor: 'optax' })],
]

describe('every flavor passes checkTransformLaws', () => {
  it.each(CASES)('%s', (name, make) => checkTransformLaws(make(), { numRuns: RUNS, name }))
})

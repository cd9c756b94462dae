/**
 * The law suite (purity, determinism, structure, dtype, stride invariance)
 * on the catalog's optimizers and transformations.
 */
import { describe, it } from 'vitest'
import { checkTransformLaws } from '../laws/index.js'
import { type GradientTransformation } from '../src/core/index.js'
import { adabelief, adafactor, adamw, lamb, lars, lion, nadam, nadamw, noisySgd, radam, rprop, yogi } from '../src/optimizers/index.js'
import {
  adaptiveGradClip,
  addDecayedWeights,
  addNoise,
  centralize,
  clip,
  clipByBlockRms,
  ema,
  keepParamsNonnegative,
  scaleByFactoredRms,
  scaleByParamBlockRms,
  scaleBySign,
  scaleByTorchAdafactor,
  scaleByTorchNadam,
  scaleByTrustRatio,
} from '../src/transforms/index.js'

const RUNS = 12

const CASES: [string, () => GradientTransformation<unknown>][] = [
  ['adamw', () => adamw({ learningRate: 1e-3, weightDecay: 1e-2 })],
  ['adamw, torch, amsgrad', () => adamw({ flavor: 'torch', amsgrad: true })],
  ['adamw with a mask', () => adamw({ learningRate: 1e-3, mask: (_path, leaf) => leaf.shape.length >= 2 })],
  ['nadam', () => nadam({ learningRate: 1e-3 })],
  ['nadamw', () => nadamw({ learningRate: 1e-3 })],
  ['radam', () => radam({ learningRate: 1e-3 })],
  ['radam, torch, weight decay', () => radam({ flavor: 'torch', weightDecay: 0.01 })],
  ['lion', () => lion({ learningRate: 1e-4 })],
  ['yogi', () => yogi({ learningRate: 1e-2 })],
  ['adabelief', () => adabelief({ learningRate: 1e-3 })],
  ['lamb', () => lamb({ learningRate: 1e-3, weightDecay: 1e-2 })],
  ['lars', () => lars({ learningRate: 0.1, weightDecay: 1e-4 })],
  ['rprop', () => rprop({ learningRate: 0.01 })],
  ['rprop, torch', () => rprop({ flavor: 'torch' })],
  ['addDecayedWeights', () => addDecayedWeights(0.1)],
  ['scaleBySign', () => scaleBySign()],
  ['clip', () => clip(0.5)],
  ['keepParamsNonnegative', () => keepParamsNonnegative()],
  ['ema', () => ema({ decay: 0.9 })],
  ['clipByBlockRms', () => clipByBlockRms(0.5)],
  ['scaleByTrustRatio', () => scaleByTrustRatio()],
  ['adaptiveGradClip', () => adaptiveGradClip(0.1)],
  ['nadam, torch, coupled decay', () => nadam({ flavor: 'torch', weightDecay: 0.01 })],
  ['nadamw, torch', () => nadamw({ flavor: 'torch', weightDecay: 0.01 })],
  ['adafactor', () => adafactor({ learningRate: 1e-2 })],
  ['adafactor, factored, momentum, decay', () => adafactor({ learningRate: 1e-2, minDimSizeToFactor: 1, momentum: 0.9, weightDecayRate: 1e-3 })],
  ['adafactor, torch', () => adafactor({ flavor: 'torch', weightDecay: 0.01 })],
  ['noisySgd', () => noisySgd({ learningRate: 0.1, seed: 3 })],
  ['centralize', () => centralize()],
  ['ema, float32 accumulator', () => ema({ decay: 0.9, debias: false, accumulatorDtype: 'float32' })],
  ['scaleByFactoredRms', () => scaleByFactoredRms({ minDimSizeToFactor: 1 })],
  ['scaleByParamBlockRms', () => scaleByParamBlockRms()],
  ['scaleByTorchAdafactor', () => scaleByTorchAdafactor()],
  ['scaleByTorchNadam', () => scaleByTorchNadam()],
  ['addNoise', () => addNoise({ seed: 1 })],
]

describe('the catalog passes checkTransformLaws', () => {
  it.each(CASES)('%s', (name, make) => checkTransformLaws(make(), { numRuns: RUNS, name }))
})

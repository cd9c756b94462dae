/**
 * Gradient transformations: the building blocks chained into optimizers.
 * @module transforms
 */
export * from './constrain.js'
export { allFinite, applyIfFinite, zeroNans, type ApplyIfFiniteOptions, type ApplyIfFiniteState, type ZeroNansState } from './finite.js'
export { multiSteps, type MultiStepsOptions, type MultiStepsState } from './accumulate.js'
export { freeze, masked, partition, setToZero, type LeafSpec, type MaskedState, type PartitionState } from './select.js'
export { type HyperAt, type Hyperparameter, type HyperSpec, type Schedule, ANY_FINITE, DECAY, NON_NEGATIVE, hyperparameter, hyperparameters } from './hyper.js'
export { type ScaleState, scale, scaleByLearningRate } from './scale.js'
export { type TraceOptions, type TraceState, trace } from './trace.js'
export { type ScaleByAdagradOptions, type ScaleByAdagradState, scaleByAdagrad } from './adagrad.js'
export { type ScaleByRmsOptions, type ScaleByRmsState, scaleByRms } from './rms.js'
export { type ScaleByAdadeltaOptions, type ScaleByAdadeltaState, scaleByAdadelta } from './adadelta.js'
export { type ScaleByAdamOptions, type ScaleByAdamState, type ScaleByAmsgradState, scaleByAdam, scaleByAmsgrad } from './adam.js'
export { type ScaleByAdamaxState, scaleByAdamax } from './adamax.js'
export { type HyperparameterKeys, type InjectHyperparamsState, type InjectableOptions, injectHyperparams } from './inject.js'
export { type ElementwiseSpec, type ElementwiseState, elementwise } from './elementwise.js'
export { type Flavor } from './flavor.js'
export { type TorchGradientOptions, torchGradient } from './torchGradient.js'
export { type AddDecayedWeightsOptions, type EmaOptions, addDecayedWeights, clip, ema, keepParamsNonnegative, scaleBySign } from './catalog.js'
export {
  type ScaleByBeliefOptions,
  type ScaleByLionOptions,
  type ScaleByMomentsOptions,
  type ScaleByRadamOptions,
  type ScaleByRpropOptions,
  type ScaleByYogiOptions,
  scaleByBelief,
  scaleByLion,
  scaleByRadam,
  scaleByRprop,
  scaleByTorchNadam,
  type ScaleByTorchNadamOptions,
  scaleByTorchRadam,
  type ScaleByTorchOptions,
  scaleByYogi,
} from './modern.js'
export { type AdaptiveGradClipOptions, type ScaleByTrustRatioOptions, adaptiveGradClip, centralize, clipByBlockRms, scaleByParamBlockRms, scaleByTrustRatio } from './leafScaling.js'
export { type FactoredState, type ScaleByFactoredRmsOptions, type ScaleByTorchAdafactorOptions, scaleByFactoredRms, scaleByTorchAdafactor } from './factored.js'
export type { RecurrentState } from './block.js'
export { type AddNoiseOptions, type AddNoiseState, addNoise } from './noise.js'

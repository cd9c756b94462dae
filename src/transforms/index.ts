/**
 * Gradient transformations: the building blocks chained into optimizers.
 * @module transforms
 */
export * from './constrain.js'
export { allFinite, applyIfFinite, zeroNans, type ApplyIfFiniteOptions, type ApplyIfFiniteState, type ZeroNansState } from './finite.js'
export { multiSteps, type MultiStepsOptions, type MultiStepsState } from './accumulate.js'
export { freeze, masked, partition, setToZero, type LeafSpec, type MaskedState, type PartitionState } from './select.js'

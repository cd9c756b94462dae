/**
 * `ndoptax/laws`: fast-check law suites that check a transformation or a
 * constraint of your own (or a built-in one) on generated tensors, views and
 * trees, plus the arbitraries they use. Needs `fast-check` (an optional peer
 * dependency of ndoptax).
 *
 * @example
 * import { checkTransformLaws, checkConstraintLaws } from 'ndoptax/laws'
 * checkTransformLaws(adam({ learningRate: 1e-3 }), { numRuns: 30 })
 * checkConstraintLaws((t) => clipByNorm(t, 1), { maxNorm: 1 })
 * @module laws
 */
export { checkTransformLaws, type TransformLawOptions } from './transform.js'
export { checkConstraintLaws, type ConstraintLawOptions, type NormAxes } from './constraint.js'
export { checkChainLaws, type ChainLawOptions } from './chain.js'
export { LawViolation, type CounterexampleInfo, type LawName, type RunOptions } from './report.js'
export {
  CONTIGUOUS,
  MAX_VIEW_DIMS,
  arbShape,
  arbTensor,
  arbTree,
  arbView,
  arbViewRecipe,
  defaultElements,
  viewOf,
  type TensorArbOptions,
  type TreeArbOptions,
  type ViewRecipe,
} from './arbitraries.js'
export { describeTensor, describeTree } from './describe.js'
export { firstDifference, formatDifference, type Difference, type Tolerance } from './compare.js'

/**
 * `ndoptax/laws`: fast-check law suites that check a transformation or a
 * constraint of your own (or a built-in one) on generated tensors, views and
 * trees, plus the arbitraries they use.
 *
 * @module laws
 */
export * from './arbitraries.js'
export * from './report.js'
export * from './transform.js'
export { describeTensor, describeTree } from './describe.js'
export { type Difference, type Tolerance, firstDifference, formatDifference } from './compare.js'
export * from './constraint.js'
export * from './chain.js'

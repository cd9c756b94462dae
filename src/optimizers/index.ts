/**
 * Lasagne's optimizers, each a short chain of building blocks from
 * `transforms`, with Lasagne's exact recurrences and defaults.
 *
 * Every optimizer takes one options object (`learningRate`, `momentum`,
 * `rho`, `epsilon`, `beta1`, `beta2`), or a bare learning rate as a shorthand:
 * `adam(1e-3)` is `adam({ learningRate: 1e-3 })`. Every hyperparameter is a
 * number or a schedule `(step) => number`.
 *
 * @module optimizers
 */
export { type LearningRateOptions } from './options.js'
export { type ApplyMomentumOptions, type MomentumOptions, type MomentumState, type SgdOptions, type SgdState, applyMomentum, applyNesterovMomentum, momentum, nesterovMomentum, sgd } from './momentum.js'
export { type AdadeltaOptions, type AdagradOptions, type RmspropOptions, type RmspropState, adadelta, adagrad, rmsprop } from './adaptive.js'
export { type AdamOptions, adam, adamax, amsgrad } from './adam.js'
export * from './modern.js'

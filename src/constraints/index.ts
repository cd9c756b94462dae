/**
 * The seeds' norm constraints, one module per operation, each reproducing its
 * source system: Lasagne/PyMC (`normConstraint`, `computeNorms`,
 * `totalNormConstraint`), TensorFlow (`clipByNorm`, `clipByGlobalNorm`),
 * PyTorch (`renorm`, `clipGradNorm`) and the corrected forum `maxNorm`.
 * @module constraints
 */
export * from './normConstraint.js'
export * from './computeNorms.js'
export * from './totalNormConstraint.js'
export * from './clipByNorm.js'
export * from './clipByGlobalNorm.js'
export * from './renorm.js'
export * from './clipGradNorm.js'
export * from './maxNorm.js'
export * from './keras.js'
export * from './projections.js'

/**
 * Gradient transformations: the building blocks chained into optimizers.
 * @module transforms
 */
export * from './constrain.js'

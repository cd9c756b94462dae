/**
 * The transformation algebra.
 * @module core
 */
export * from './transformation.js'

/**
 * ndoptax: pure, optax-style optimizers and exact norm constraints on strided
 * ndarrays. This module only re-exports the public surface.
 * @module ndoptax
 */
export * from './errors/index.js'
export * from './tensor/index.js'
export * from './tree/index.js'
export * from './core/index.js'
export * from './constraints/index.js'
export * from './transforms/index.js'
export * from './optimizers/index.js'
export * from './schedules/index.js'
export * as expr from './transforms/expr.js'
export { activeBackend as kernelBackend } from './kernel/recurrence.js'
export type { Precision } from './kernel/wasm.js'

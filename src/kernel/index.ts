/**
 * The kernel compiler: per-element recurrences as data (`expr`,
 * `recurrence`), and the backends that run them (JavaScript, WebAssembly
 * SIMD). It sits below the transformation algebra and knows nothing of it.
 *
 * @module kernel
 */
export * from './expr.js'
export { type Batch, type BatchKernel, addArray, addLeaf, aliasRuns, newBatch, releaseBatch, takeBatch } from './batch.js'
export { type Compiled, type RawKernel } from './js.js'
export { type Precision, wasmSupported } from './wasm.js'
export { type Backend, type Epilogue, type Fused, type Recurrence, activeBackend, compile, compiled, fuse, program, recurrence, setBackend } from './recurrence.js'
export { RESIDENT_CHUNK, residentChunk, residentOf, residentStorage, setResidentMinBytes } from './resident.js'

/**
 * Tensors: the type, creation, dtype helpers and the two kernels (map and
 * reduce). The only module that knows about strides and offsets.
 * @module tensor
 */
export * from './tensor.js'
export * from './create.js'
export * from './map.js'
export * from './reduce.js'
export * from './ops.js'
export * from './random.js'

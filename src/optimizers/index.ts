/**
 * @module optimizers
 */
export {}

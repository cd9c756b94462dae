/**
 * @module constraints
 */
export {}

/**
 * Elementwise arithmetic on tensors, built on the map primitive. Results are
 * new contiguous tensors in the dtype of the first argument.
 * @module tensor
 */
import { type Kernel, map } from './map.js'
import { ConfigError, describe } from '../errors/index.js'
import { type Tensor, assertTensor, dtypeOf } from './tensor.js'

const addKernel: Kernel = (n, [o], [a, b]) => {
  for (let k = 0; k < n; k++) o[k] = a[k] + b[k]
}
const subKernel: Kernel = (n, [o], [a, b]) => {
  for (let k = 0; k < n; k++) o[k] = a[k] - b[k]
}
const mulKernel: Kernel = (n, [o], [a, b]) => {
  for (let k = 0; k < n; k++) o[k] = a[k] * b[k]
}

function binary(a: Tensor, b: Tensor, kernel: Kernel): Tensor {
  assertTensor(a, 'a')
  assertTensor(b, 'b')
  return map([a, b], [dtypeOf(a)], kernel, ['a', 'b'])[0]
}

/**
 * `a + b`, elementwise (any views of one shape).
 *
 * @example
 * add(tensor([1, 2]), tensor([3, 4])) // [4, 6]
 * @category kernels
 */
export function add(a: Tensor, b: Tensor): Tensor {
  return binary(a, b, addKernel)
}

/**
 * `a - b`, elementwise (any views of one shape).
 *
 * @example
 * sub(tensor([1, 2]), tensor([3, 4])) // [-2, -2]
 * @category kernels
 */
export function sub(a: Tensor, b: Tensor): Tensor {
  return binary(a, b, subKernel)
}

/**
 * `a · b`, elementwise (any views of one shape).
 *
 * @example
 * mul(tensor([1, 2]), tensor([3, 4])) // [3, 8]
 * @category kernels
 */
export function mul(a: Tensor, b: Tensor): Tensor {
  return binary(a, b, mulKernel)
}

/**
 * A new tensor `x · c` in `x`'s dtype (any view of `x`).
 *
 * @example
 * scaleAll(tensor([1, 2]), 0.5) // [0.5, 1]
 * @category kernels
 */
export function scaleAll(x: Tensor, c: number): Tensor {
  assertTensor(x, 'x')
  // NaN is a legitimate factor here: constraints propagate a NaN norm as their source systems do
  if (typeof c !== 'number') throw new ConfigError('c', `expected a number, got ${describe(c)}`)
  return map([x], [dtypeOf(x)], (n, [o], [v]) => {
    const f = c // a local, not a closure slot read in the loop
    for (let k = 0; k < n; k++) o[k] = v[k] * f
  })[0]
}

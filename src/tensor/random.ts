/**
 * The library's pseudo-random numbers: a counter-based generator, so a
 * sample is a pure function of its key and index, and a state that holds
 * the key (a seed and a step count) reproduces every later sample.
 *
 * @module tensor
 */
import { ConfigError, DtypeError, checkNumber, describe } from '../errors/index.js'
import { checkShape } from './create.js'
import { type Dtype, type Shape, type Tensor, allocate, fromStorage, sizeOf } from './tensor.js'

/** A 32-bit integer hash (xorshift-multiply, full avalanche): the mixing step of the generator. */
function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d)
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b)
  return (x ^ (x >>> 16)) >>> 0
}

/** A uniform in (0, 1) from 32 bits (never 0, so its logarithm is finite). */
const uniform = (bits: number): number => (bits + 0.5) / 4294967296

/**
 * Standard normal samples as a new tensor of `shape` and `dtype`, a pure
 * function of `key` (a list of 32-bit integers: a seed, a step, a leaf
 * number). The stream of a key is `s = mix(…mix(mix(k0) ^ k1)… ^ kn)`;
 * sample pair `j` takes the uniforms `u1 = (mix(s ^ mix(2j)) + ½) / 2³²`
 * and `u2` from `2j + 1`, and is Box–Muller's
 * `sqrt(−2 ln u1) · (cos 2πu2, sin 2πu2)`. Fast and well mixed, but not
 * cryptographic, and not jax's threefry: the samples differ from optax's.
 *
 * @example
 * normal([0, 7], [2, 3]) // the same six samples on every call, in every engine
 * @category constructors
 */
export function normal(key: readonly number[], shape: Shape, dtype: Dtype = 'float64'): Tensor {
  if (!Array.isArray(key) || key.length === 0) throw new ConfigError('key', `expected a non-empty list of integers, got ${describe(key)}`)
  if (dtype !== 'float32' && dtype !== 'float64') throw new DtypeError('dtype', `expected 'float32' or 'float64', got ${describe(dtype)}`)
  let s = 0
  key.forEach((k, i) => (s = mix(s ^ checkNumber(`key[${i}]`, k, { integer: true, min: -(2 ** 31), max: 2 ** 32 - 1 }))))
  const dims = checkShape(shape, 'shape')
  const n = sizeOf(dims)
  const out = allocate(dtype, n)
  for (let j = 0; 2 * j < n; j++) {
    const radius = Math.sqrt(-2 * Math.log(uniform(mix(s ^ mix(2 * j)))))
    const angle = 2 * Math.PI * uniform(mix(s ^ mix(2 * j + 1)))
    out[2 * j] = radius * Math.cos(angle)
    if (2 * j + 1 < n) out[2 * j + 1] = radius * Math.sin(angle)
  }
  return fromStorage(out, dims)
}

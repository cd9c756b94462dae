/**
 * Bad input to every constraint gets a typed error naming the argument, never
 * a silent result: non-tensors, integer arrays, bad axes, bad orders,
 * epsilons and options.
 */
import ndarray from 'ndarray'
import { describe, expect, it } from 'vitest'
import { clipByGlobalNorm, clipByNorm, clipGradNorm, computeNorms, maxNorm, normConstraint, renorm, totalNormConstraint } from '../src/constraints/index.js'
import { AxisError, ConfigError, DtypeError, InvalidTensorError, type NdoptaxErrorInfo, StructureError, isNdoptaxError } from '../src/errors/index.js'
import { type Tensor, tensor, toArray } from '../src/tensor/index.js'
import { thrown } from './helpers/constraints.js'

/** Each single-tensor constraint with the name of its tensor argument. */
const unary: [string, string, (x: Tensor) => unknown][] = [
  ['normConstraint', 'x', (x) => normConstraint(x, 1)],
  ['computeNorms', 'x', (x) => computeNorms(x)],
  ['clipByNorm', 't', (x) => clipByNorm(x, 1)],
  ['renorm', 'x', (x) => renorm(x, 2, 0, 1)],
  ['maxNorm', 'w', (x) => maxNorm(x, 1)],
]
/** Each list constraint with the name of its list argument. */
const lists: [string, string, (xs: Tensor[]) => unknown][] = [
  ['totalNormConstraint', 'xs', (xs) => totalNormConstraint(xs, 1)],
  ['clipByGlobalNorm', 'ts', (xs) => clipByGlobalNorm(xs, 1)],
  ['clipGradNorm', 'ts', (xs) => clipGradNorm(xs, 1)],
]

/** Expects an ndoptax error of class `cls` whose `where` starts with `where` and whose message holds `words`. */
function expectError(f: () => unknown, cls: new (...a: never[]) => Error, where: string, ...words: string[]): void {
  const e = thrown(f)
  expect(isNdoptaxError(e)).toBe(true)
  expect(e).toBeInstanceOf(cls)
  expect((e as Error & NdoptaxErrorInfo).where.startsWith(where), `where = ${(e as Error & NdoptaxErrorInfo).where}`).toBe(true)
  expect(e.message.startsWith(where)).toBe(true)
  for (const w of words) expect(e.message).toContain(w)
}

const W = tensor([
  [3, 0.3],
  [4, 0.4],
])
const asTensor = (v: unknown) => v as Tensor

describe('non-tensor and integer inputs', () => {
  const notTensors: unknown[] = [3, [1, 2], null, undefined, { data: 1 }, 'x']
  const intArray = ndarray(new Int32Array([1, 2, 3, 4]), [2, 2])
  for (const [name, arg, f] of unary) {
    it(`${name}: InvalidTensorError / DtypeError naming ${arg}`, () => {
      for (const v of notTensors) expectError(() => f(asTensor(v)), InvalidTensorError, arg)
      expectError(() => f(asTensor(intArray)), DtypeError, arg, 'int32')
    })
  }
  for (const [name, arg, f] of lists) {
    it(`${name}: a non-array is a StructureError, a bad entry names ${arg}[i]`, () => {
      for (const v of [W, 3, null, undefined, 'ts']) expectError(() => f(v as unknown as Tensor[]), StructureError, arg)
      expectError(() => f([W, asTensor(intArray)]), DtypeError, `${arg}[1]`)
      expectError(() => f([W, asTensor([1, 2])]), InvalidTensorError, `${arg}[1]`)
    })
  }
})

describe('axes', () => {
  it('out of range, repeated (aliases too) and non-integer axes are AxisErrors', () => {
    const bad: unknown[] = [2, -3, [0, 0], [1, -1], 1.5, ['a'], 'a']
    for (const axes of bad) {
      const a = axes as number
      expectError(() => normConstraint(W, 1, { normAxes: a }), AxisError, 'normAxes')
      expectError(() => computeNorms(W, a), AxisError, 'normAxes')
      expectError(() => clipByNorm(W, 1, a), AxisError, 'axes')
      expectError(() => maxNorm(W, 1, { axis: a }), AxisError, 'axis')
    }
    for (const dim of [2, -3, 0.5]) expectError(() => renorm(W, 2, dim, 1), AxisError, 'dim')
    expectError(() => renorm(W, 2, [0] as unknown as number, 1), AxisError, 'dim')
  })
  it('negative axes wrap as in numpy; a single number equals a one-element list', () => {
    const same = (a: Tensor, b: Tensor) => expect(toArray(a)).toEqual(toArray(b))
    same(normConstraint(W, 1, { normAxes: [-1] }), normConstraint(W, 1, { normAxes: [1] }))
    same(normConstraint(W, 1, { normAxes: -2 }), normConstraint(W, 1))
    same(clipByNorm(W, 1, -1), clipByNorm(W, 1, [1]))
    same(renorm(W, 2, -1, 1), renorm(W, 2, 1, 1))
    same(maxNorm(W, 1, { axis: [-2] }), maxNorm(W, 1))
    same(computeNorms(W, -1), computeNorms(W, [1]))
  })
})

describe('orders, epsilons, flags and options', () => {
  it('renorm: p must be > 0 (or Infinity); fractional p works', () => {
    for (const p of [0, -1, NaN, -Infinity]) expectError(() => renorm(W, p, 0, 1), ConfigError, 'p')
    const half = renorm(tensor([[1, 1]]), 0.5, 0, 2) // (1 + 1)^2 = 4 > 2: factor 2/(4 + 1e-7)
    expect(toArray(half)[0]).toBeCloseTo(0.5, 6)
  })
  it('clipGradNorm: normType must be > 0 (or Infinity)', () => {
    for (const p of [0, -2, NaN]) expectError(() => clipGradNorm([W], 1, { normType: p }), ConfigError, 'normType')
  })
  it('epsilon must be a finite number >= 0', () => {
    for (const eps of [-1e-7, NaN, Infinity]) {
      expectError(() => normConstraint(W, 1, { epsilon: eps }), ConfigError, 'epsilon')
      expectError(() => totalNormConstraint([W], 1, { epsilon: eps }), ConfigError, 'epsilon')
    }
  })
  it('boolean flags must be booleans', () => {
    expectError(() => totalNormConstraint([W], 1, { returnNorm: 'yes' as unknown as boolean }), ConfigError, 'returnNorm')
    expectError(() => clipGradNorm([W], 1, { errorIfNonfinite: 1 as unknown as boolean }), ConfigError, 'errorIfNonfinite')
  })
  it('limits must be numbers', () => {
    expectError(() => normConstraint(W, '1' as unknown as number), ConfigError, 'maxNorm')
    expectError(() => clipByNorm(W, undefined as unknown as number), ConfigError, 'clipNorm')
  })
  it('misspelt or non-object options are ConfigErrors', () => {
    const opts = (o: unknown) => o as Record<string, never>
    expectError(() => normConstraint(W, 1, opts({ axes: [0] })), ConfigError, 'options.axes')
    expectError(() => totalNormConstraint([W], 1, opts({ return_norm: true })), ConfigError, 'options.return_norm')
    expectError(() => clipGradNorm([W], 1, opts({ norm_type: 2 })), ConfigError, 'options.norm_type')
    expectError(() => maxNorm(W, 1, opts({ dim: 0 })), ConfigError, 'options.dim')
    expectError(() => maxNorm(W, 1, opts(0)), ConfigError, 'options')
  })
})

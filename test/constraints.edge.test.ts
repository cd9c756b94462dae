/**
 * The edge cases of semantics §4, one by one, for every constraint: each row
 * of the table on a 2-element vector `[[a, b]]` whose norm runs along axis 1,
 * then dimensionality, zero-size inputs and total-norm inputs.
 */
import { describe, expect, it } from 'vitest'
import { clipByGlobalNorm, clipByNorm, clipGradNorm, computeNorms, maxNorm, normConstraint, renorm, totalNormConstraint } from '../src/constraints/index.js'
import { AxisError, ConfigError, NonFiniteError, ShapeError } from '../src/errors/index.js'
import { type Dtype, type Tensor, dtypeOf, tensor, toArray } from '../src/tensor/index.js'
import { expectBits, expectClose, expectUlps, snapshot, expectUnchanged, thrown } from './helpers/constraints.js'

type Op = (x: Tensor, m: number) => Tensor

/** Every constraint, set up to bound the rows of a 2-D input (the slice of §4 is a row). */
const ops: Record<string, Op> = {
  normConstraint: (x, m) => normConstraint(x, m, { normAxes: [1] }),
  totalNormConstraint: (x, m) => totalNormConstraint([x], m)[0],
  clipByNorm: (x, m) => clipByNorm(x, m, [1]),
  clipByGlobalNorm: (x, m) => clipByGlobalNorm([x], m)[0][0],
  renorm: (x, m) => renorm(x, 2, 0, m),
  clipGradNorm: (x, m) => clipGradNorm([x], m)[0][0],
  maxNorm: (x, m) => maxNorm(x, m, { axis: 1 }),
}
const names = Object.keys(ops)
const perSlice = ['normConstraint', 'clipByNorm', 'renorm', 'maxNorm']
const clipNormOps = ['clipByNorm', 'clipByGlobalNorm']

/** Runs `op` on `data` and checks the input was not written and the dtype kept. */
function apply(name: string, data: number[][], m: number, dtype: Dtype = 'float64'): Tensor {
  const x = tensor(data, undefined, dtype)
  const before = snapshot(x)
  const y = ops[name](x, m)
  expectUnchanged(before)
  expect(dtypeOf(y)).toBe(dtype)
  expect(y.shape).toEqual(x.shape)
  return y
}

/** Expects the typed configuration error naming `arg`. */
function expectConfigError(f: () => unknown, arg: string): void {
  const e = thrown(f)
  expect(e).toBeInstanceOf(ConfigError)
  expect(e.message).toContain(arg)
}

const limitName: Record<string, string> = {
  normConstraint: 'maxNorm',
  totalNormConstraint: 'maxNorm',
  clipByNorm: 'clipNorm',
  clipByGlobalNorm: 'clipNorm',
  renorm: 'maxnorm',
  clipGradNorm: 'maxNorm',
  maxNorm: 'maxValue',
}

describe('§4 row 1: zero vector, m = 1: zeros, never NaN', () => {
  for (const name of names) it(name, () => expectBits(apply(name, [[0, 0]], 1), [0, 0]))
})

describe('§4 row 2: norm == m ((3,4), m = 5)', () => {
  for (const name of ['clipByNorm', 'clipByGlobalNorm', 'renorm', 'maxNorm']) {
    it(`${name}: exact copy`, () => {
      expectBits(apply(name, [[3, 4]], 5), [3, 4])
      expectBits(apply(name, [[3, 4]], 5, 'float32'), [3, 4])
    })
  }
  for (const name of ['normConstraint', 'totalNormConstraint']) {
    it(`${name}: Lasagne's in-bound shrink n/(n+1e-7)`, () => expectClose(apply(name, [[3, 4]], 5), tensor([[2.99999994, 3.99999992]]), 1e-9, 0))
  }
  it('clipGradNorm: torch shrinks at N == maxNorm (1e-6)', () => expectClose(apply('clipGradNorm', [[3, 4]], 5), tensor([[2.9999994, 3.9999992]]), 1e-9, 0))
})

describe('§4 row 3: tiny in-bound (3e-8, 4e-8), m = 1', () => {
  for (const name of ['clipByNorm', 'clipByGlobalNorm', 'renorm', 'clipGradNorm', 'maxNorm']) {
    it(`${name}: unchanged, bit for bit`, () => expectBits(apply(name, [[3e-8, 4e-8]], 1), [3e-8, 4e-8]))
  }
  for (const name of ['normConstraint', 'totalNormConstraint']) {
    it(`${name}: shrinks 3× (n/(n+eps) with n = 5e-8)`, () => expectClose(apply(name, [[3e-8, 4e-8]], 1), tensor([[1e-8, 4e-8 / 3]]), 1e-9, 0))
  }
})

describe('§4 row 4: NaN in a slice', () => {
  const data = [
    [NaN, 1],
    [3, 4],
  ]
  for (const name of names.filter((n) => n !== 'renorm')) {
    it(`${name}: ${perSlice.includes(name) ? 'its slice' : 'everything'} becomes NaN`, () => {
      const y = toArray(apply(name, data, 10))
      expect(y.slice(0, 2).every(Number.isNaN)).toBe(true)
      if (perSlice.includes(name)) expect(y.slice(2).some(Number.isNaN)).toBe(false)
      else expect(y.every(Number.isNaN)).toBe(true)
    })
  }
  it('renorm: the slice comes back unchanged (NaN > maxnorm is false), as torch', () => {
    expectBits(apply('renorm', data, 10), [NaN, 1, 3, 4])
    expectBits(apply('renorm', data, 1), [NaN, 1, 3 / (5 + 1e-7), 4 / (5 + 1e-7)])
  })
})

describe('§4 row 5: Inf in a slice (inf, 1)', () => {
  for (const name of names.filter((n) => n !== 'clipByGlobalNorm')) {
    it(`${name}: NaN at the Inf entry, 0 elsewhere`, () => expectBits(apply(name, [[Infinity, 1]], 1), [NaN, 0]))
  }
  it('clipByGlobalNorm: a non-finite global norm makes everything NaN (TF)', () => expectBits(apply('clipByGlobalNorm', [[Infinity, 1]], 1), [NaN, NaN]))
  it('clipGradNorm with errorIfNonfinite throws a NonFiniteError instead', () => {
    for (const bad of [Infinity, NaN]) {
      const e = thrown(() => clipGradNorm([tensor([[bad, 1]])], 1, { errorIfNonfinite: true }))
      expect(e).toBeInstanceOf(NonFiniteError)
      expect(e.message).toContain('non-finite')
    }
    expect(clipGradNorm([tensor([[3, 4]])], 1, { errorIfNonfinite: true })[1]).toBe(5)
  })
})

describe('§4 rows 6 and 7: m = 0', () => {
  for (const name of names.filter((n) => !clipNormOps.includes(n))) {
    it(`${name}: zeros, for a zero slice too (no NaN)`, () => {
      expectBits(apply(name, [[3, 4]], 0), [0, 0])
      expectBits(apply(name, [[0, 0]], 0), [0, 0])
    })
  }
  for (const name of clipNormOps) it(`${name}: clipNorm must be > 0 (a ConfigError naming clipNorm)`, () => expectConfigError(() => apply(name, [[3, 4]], 0), 'clipNorm'))
})

describe('§4 rows 8, 9 and 11: a negative or NaN limit throws', () => {
  for (const name of names) {
    it(`${name}: ConfigError naming ${limitName[name]}`, () => {
      for (const m of [-1, -0.5, NaN]) {
        expectConfigError(() => apply(name, [[3, 4]], m), limitName[name])
        expectConfigError(() => apply(name, [[0, 0]], m), limitName[name])
      }
    })
  }
})

describe('§4 row 10: m = +Infinity', () => {
  for (const name of ['renorm', 'clipGradNorm', 'maxNorm']) {
    it(`${name}: the identity (data holding Inf too)`, () => {
      expectBits(apply(name, [[3, 4]], Infinity), [3, 4])
      expectBits(apply(name, [[Infinity, 1]], Infinity), [Infinity, 1])
    })
  }
  for (const name of ['normConstraint', 'totalNormConstraint']) {
    it(`${name}: only Lasagne's in-bound shrink; an infinite norm leaves the slice unchanged (no ∞/∞)`, () => {
      expectClose(apply(name, [[3, 4]], Infinity), tensor([[2.99999994, 3.99999992]]), 1e-9, 0)
      expectBits(apply(name, [[Infinity, 1]], Infinity), [Infinity, 1])
    })
  }
  for (const name of clipNormOps) it(`${name}: clipNorm must be finite`, () => expectConfigError(() => apply(name, [[3, 4]], Infinity), 'clipNorm'))
})

/** 1/√2 within the published ulp bound of the clipped constraints (docs/constraints.md, precision). */
const HALF_SQRT2 = Math.SQRT1_2
const CLIP_ULPS = { float32: 2, float64: 6 } as const

describe('§4 row 12: a sum of squares beyond the float range (1e20, 1e20), m = 1', () => {
  // the squares are summed in float64 (float32 data) or rescaled by a power of two (float64 data): the norm is right
  for (const name of names.filter((n) => n !== 'computeNorms')) {
    it(`${name}: clipped to norm 1 as if the data were small (float32)`, () => {
      const y = apply(name, [[1e20, 1e20]], 1, 'float32')
      expectUlps(y, [HALF_SQRT2, HALF_SQRT2].map(Math.fround), CLIP_ULPS.float32)
    })
  }
  for (const v of [1e155, 1e300, 1.7e308]) {
    it(`float64 at ${v}: clipped to norm 1`, () => {
      for (const name of names.filter((n) => n !== 'computeNorms')) expectUlps(apply(name, [[v, v]], 1), [HALF_SQRT2, HALF_SQRT2], CLIP_ULPS.float64)
    })
  }
  it('computeNorms: the norm itself, and Infinity only past the float64 range', () => {
    expectUlps(computeNorms(tensor([[1e20, 1e20]], undefined, 'float32'), [1]), [Math.fround(1e20 * Math.SQRT2)], 0.5)
    expectUlps(computeNorms(tensor([[1e300, 1e300]]), [1]), [1e300 * Math.SQRT2], 1)
    expectBits(computeNorms(tensor([[1.7e308, 1.7e308]]), [1]), [Infinity])
  })
})

describe('§4 row 13: float64 underflow (1e-200, 1e-200), m = 1', () => {
  for (const name of ['clipByNorm', 'clipByGlobalNorm', 'renorm', 'clipGradNorm', 'maxNorm']) {
    it(`${name}: unchanged`, () => expectBits(apply(name, [[1e-200, 1e-200]], 1), [1e-200, 1e-200]))
  }
  for (const name of ['normConstraint', 'totalNormConstraint']) {
    it(`${name}: erased to 0 (Lasagne: the norm underflows to 0)`, () => expectBits(apply(name, [[1e-200, 1e-200]], 1), [0, 0]))
  }
})

describe('§4 row 14: epsilon = 0', () => {
  it('normConstraint: a zero slice gives zeros (Lasagne: 0/0 = NaN); others clip without eps', () => {
    expectBits(normConstraint(tensor([[0, 0]]), 1, { normAxes: [1], epsilon: 0 }), [0, 0])
    expectBits(normConstraint(tensor([[3, 4]]), 10, { normAxes: [1], epsilon: 0 }), [3, 4])
    expectUlps(normConstraint(tensor([[3, 4]]), 1, { normAxes: [1], epsilon: 0 }), [3 * (1 / 5), 4 * (1 / 5)], CLIP_ULPS.float64)
  })
  it('totalNormConstraint: an all-zero list gives zeros', () => {
    expectBits(totalNormConstraint([tensor([0, 0]), tensor(0)], 1, { epsilon: 0 })[0], [0, 0])
  })
})

describe('dimensionality', () => {
  it('normConstraint: default axes on 1-D throw (dimensionality); explicit axes work on 1-D and 0-d', () => {
    expect(thrown(() => normConstraint(tensor([3, 4]), 1))).toBeInstanceOf(AxisError)
    expectClose(normConstraint(tensor([3, 4]), 1, { normAxes: 0 }), tensor([0.599999988, 0.799999984]), 1e-9, 0)
    expectClose(normConstraint(tensor(-3), 1, { normAxes: [] }), tensor(-3 / (3 + 1e-7)), 1e-15, 0)
  })
  it('normConstraint: ndim 6 with explicit axes', () => {
    const x = tensor([3, 4], [1, 1, 1, 1, 1, 2])
    expectClose(normConstraint(x, 1, { normAxes: [5] }), tensor([0.599999988, 0.799999984], [1, 1, 1, 1, 1, 2]), 1e-9, 0)
  })
  it('computeNorms: 1-D default is |x| (compute_norms); 0-d and 6-D throw', () => {
    expectBits(computeNorms(tensor([3, -4])), [3, 4])
    expect(thrown(() => computeNorms(tensor(1))).message).toContain('dimensionality 0')
    expect(thrown(() => computeNorms(tensor([1], [1, 1, 1, 1, 1, 1]))).message).toContain('dimensionality 6')
    expectBits(computeNorms(tensor(-2), []), [2])
  })
  it('renorm: ndim < 2 throws a ShapeError (as torch)', () => {
    for (const x of [tensor(1), tensor([3, 4])]) expect(thrown(() => renorm(x, 2, 0, 1))).toBeInstanceOf(ShapeError)
  })
  it('clipByNorm on 0-d and 1-D: |x| and the whole-vector norm', () => {
    expectUlps(clipByNorm(tensor(-3), 2), [-2], CLIP_ULPS.float64)
    expectUlps(clipByNorm(tensor([3, 4]), 1), [3 * (1 / 5), 4 * (1 / 5)], CLIP_ULPS.float64)
  })
  it('maxNorm: 1-D is one vector; 0-d needs axis []', () => {
    expectUlps(maxNorm(tensor([3, 4]), 1), [3 * (1 / 5), 4 * (1 / 5)], CLIP_ULPS.float64)
    expect(thrown(() => maxNorm(tensor(3), 1))).toBeInstanceOf(AxisError)
    expectUlps(maxNorm(tensor(3), 1, { axis: [] }), [1], CLIP_ULPS.float64)
  })
  it('total norms accept 0-d scalars', () => {
    expectBits(totalNormConstraint([tensor(0)], 1)[0], [0])
    expect(clipGradNorm([tensor(-4)], 2)[1]).toBe(4)
  })
})

describe('zero-size inputs keep shape and dtype, no NaN', () => {
  for (const shape of [
    [0, 3],
    [3, 0],
  ]) {
    for (const dtype of ['float32', 'float64'] as const) {
      it(`[${shape}] ${dtype}`, () => {
        const x = tensor(new Float64Array(0), shape, dtype)
        const outs = [
          normConstraint(x, 1),
          normConstraint(x, 1, { normAxes: [1] }),
          clipByNorm(x, 1),
          clipByNorm(x, 1, [0]),
          renorm(x, 2, 0, 1),
          renorm(x, Infinity, 1, 1),
          maxNorm(x, 1),
          ...totalNormConstraint([x], 1),
          ...clipByGlobalNorm([x], 1)[0],
          ...clipGradNorm([x], 1)[0],
        ]
        for (const y of outs) {
          expect(y.shape).toEqual(shape)
          expect(dtypeOf(y)).toBe(dtype)
        }
        expect(toArray(computeNorms(x))).toEqual(new Array(shape[1]).fill(0))
        expect(totalNormConstraint([x, x], 1, { returnNorm: true })[1]).toBe(0)
        expect(clipGradNorm([x], 1, { normType: Infinity })[1]).toBe(0)
      })
    }
  }
})

describe('total-norm inputs', () => {
  it('an empty list gives [] and norm 0', () => {
    expect(totalNormConstraint([], 1)).toEqual([])
    expect(totalNormConstraint([], 1, { returnNorm: true })).toEqual([[], 0])
    expect(clipByGlobalNorm([], 1)).toEqual([[], 0])
    expect(clipGradNorm([], 1)).toEqual([[], 0])
  })
  it('the returned norm is the pre-clip norm, and mixed dtypes keep their own', () => {
    const [ys, norm] = totalNormConstraint([tensor([3], [1], 'float32'), tensor([[4]])], 1, { returnNorm: true })
    expect(norm).toBe(5)
    expect(ys.map(dtypeOf)).toEqual(['float32', 'float64'])
    expectBits(ys[0], [Math.fround(3 / (5 + 1e-7))])
  })
  it('float32 lists compute the norm in float32', () => {
    const [, norm] = clipGradNorm([tensor([0.1, 0.2], [2], 'float32')], 1)
    expect(norm).toBe(Math.fround(norm))
  })
})

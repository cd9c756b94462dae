/**
 * The seeds' printed examples and the worked examples of semantics §3.1
 * (C1..C23), float64 to 10 significant digits and float32 bit for bit where
 * the reference prints float32 values.
 */
import { describe, expect, it } from 'vitest'
import { clipByGlobalNorm, clipByNorm, clipGradNorm, computeNorms, maxNorm, normConstraint, renorm, totalNormConstraint } from '../src/constraints/index.js'
import { type Dtype, type NestedNumbers, type Tensor, dtypeOf, tensor, toArray } from '../src/tensor/index.js'
import { expectClose, expectUlps, thrown } from './helpers/constraints.js'

const f32 = (xs: readonly number[]) => xs.map(Math.fround)
const t = (data: NestedNumbers, dtype: Dtype = 'float64') => tensor(data, undefined, dtype)
/** float64 results printed to 10 significant digits. */
const close10 = (got: Tensor, want: NestedNumbers) => expectClose(got, tensor(want), 1e-9, 1e-12)

/** The StackOverflow thread's matrix: rows of norm 0, 5, 50, 500; columns of norm 301.5.., 402.0... */
const X = [
  [0, 0],
  [3, 4],
  [30, 40],
  [300, 400],
]
const C3_F32 = f32([3.4824578762, 34.824577332, 348.24578857])
/**
 * How far a clipped value may be from the source system's printed one, in
 * ulps of its dtype: the published bound of docs/constraints.md (the
 * factor lowered by at most about one ulp so that no slice ends above its
 * limit, the product rounded once, and the framework's own roundings).
 */
const FRAMEWORK_ULPS = { float32: 2, float64: 6 } as const

describe('TensorFlow clip_by_norm doc example (C1)', () => {
  it('float32: exactly the printed float32 values', () => {
    const y = clipByNorm(t([[1, 2, 3, 4, 5]], 'float32'), 2)
    expect(dtypeOf(y)).toBe('float32')
    // the printed values have norm just above 2; the factor is lowered to stay within the limit (docs/constraints.md, precision)
    expectUlps(y, f32([0.2696799636, 0.5393599272, 0.8090398312, 1.078719854, 1.348399758]), FRAMEWORK_ULPS.float32)
  })
  it('float64 (C1b)', () => {
    close10(clipByNorm(t([[1, 2, 3, 4, 5]]), 2), [[0.269679945, 0.53935989, 0.809039835, 1.07871978, 1.348399725]])
  })
})

describe('StackOverflow 4×2 matrix, rows and columns', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    it(`C2 clipByNorm rows, clipNorm 10 (${dtype}): [[0,0],[3,4],[6,8],[6,8]] exactly`, () => {
      expectUlps(clipByNorm(t(X, dtype), 10, [1]), [0, 0, 3, 4, 6, 8, 6, 8], FRAMEWORK_ULPS[dtype])
    })
    it(`C11 maxNorm rows, maxValue 10 (${dtype}): [[0,0],[3,4],[6,8],[6,8]] exactly`, () => {
      expectUlps(maxNorm(t(X, dtype), 10, { axis: 1 }), [0, 0, 3, 4, 6, 8, 6, 8], FRAMEWORK_ULPS[dtype])
    })
  }
  it('C3 clipByNorm columns, clipNorm 350: column 0 unchanged, column 1 = 350/402.0149.. · x', () => {
    close10(clipByNorm(t(X), 350, [0]), [
      [0, 0],
      [3, 3.482457771],
      [30, 34.82457771],
      [300, 348.2457771],
    ])
    expectUlps(clipByNorm(t(X, 'float32'), 350, [0]), [0, 0, 3, C3_F32[0], 30, C3_F32[1], 300, C3_F32[2]], FRAMEWORK_ULPS.float32)
  })
  it('C6 torch.renorm(X, 2, 0, 10): rows, with torch’s 1e-7', () => {
    close10(renorm(t(X), 2, 0, 10), [
      [0, 0],
      [3, 4],
      [5.999999988, 7.999999984],
      [5.9999999988, 7.9999999984],
    ])
    expectUlps(renorm(t(X, 'float32'), 2, 0, 10), [0, 0, 3, 4, 6, 8, 6, 8], FRAMEWORK_ULPS.float32)
  })
  it('C7 torch.renorm(X, 2, 1, 350): columns', () => {
    close10(renorm(t(X), 2, 1, 350), [
      [0, 0],
      [3, 3.48245777],
      [30, 34.8245777],
      [300, 348.245777],
    ])
    expectUlps(renorm(t(X, 'float32'), 2, 1, 350), [0, 0, 3, C3_F32[0], 30, C3_F32[1], 300, C3_F32[2]], FRAMEWORK_ULPS.float32)
  })
  it('C8 Lasagne normConstraint rows (normAxes [1]), maxNorm 10: the in-bound row shrinks in float64', () => {
    close10(normConstraint(t(X), 10, { normAxes: [1] }), [
      [0, 0],
      [2.99999994, 3.99999992],
      [5.999999988, 7.999999984],
      [5.9999999988, 7.9999999984],
    ])
    expectUlps(normConstraint(t(X, 'float32'), 10, { normAxes: [1] }), [0, 0, 3, 4, 6, 8, 6, 8], FRAMEWORK_ULPS.float32)
  })
  it('C9 Lasagne normConstraint default axes (columns), maxNorm 350', () => {
    close10(normConstraint(t(X), 350), [
      [0, 0],
      [2.999999999, 3.48245777],
      [29.99999999, 34.8245777],
      [299.9999999, 348.245777],
    ])
  })
})

describe('Lasagne norm_constraint by ndim (C12..C17)', () => {
  const W2 = [
    [3, 0.3, 0],
    [4, 0.4, 0],
  ]
  it('C12 2-D default (columns), maxNorm 1', () => {
    close10(normConstraint(t(W2), 1), [
      [0.599999988, 0.29999994, 0],
      [0.799999984, 0.39999992, 0],
    ])
    expectUlps(normConstraint(t(W2, 'float32'), 1), f32([0.60000002384, 0.29999995232, 0, 0.80000001192, 0.39999991655, 0]), FRAMEWORK_ULPS.float32)
  })
  it('C13 3-D default (axes 1, 2), maxNorm 10', () => {
    const x = tensor(
      Array.from({ length: 12 }, (_, i) => i + 1),
      [2, 2, 3],
    )
    close10(computeNorms(x), [9.539392014, 23.64318084])
    close10(normConstraint(x, 10), [
      [
        [0.9999999895, 1.999999979, 2.999999969],
        [3.999999958, 4.999999948, 5.999999937],
      ],
      [
        [2.960684529, 3.383639461, 3.806594394],
        [4.229549326, 4.652504259, 5.075459192],
      ],
    ])
  })
  it('C14 4-D default (axes 1, 2, 3), maxNorm 6', () => {
    const x = tensor(
      Array.from({ length: 8 }, (_, i) => i + 1),
      [2, 1, 2, 2],
    )
    close10(computeNorms(x), [5.477225575, 13.19090596])
    const y = normConstraint(x, 6)
    expect(y.shape).toEqual([2, 1, 2, 2])
    close10(tensor(toArray(y)), [0.9999999817, 1.999999963, 2.999999945, 3.999999927, 2.274294113, 2.729152936, 3.184011759, 3.638870582])
  })
  it('C15 ndim 0, 1 and 6 without normAxes: an error naming the dimensionality', () => {
    for (const shape of [[], [2], [1, 1, 1, 1, 1, 2]]) {
      const e = thrown(() => normConstraint(tensor(new Float64Array(2).subarray(0, shape.reduce((a, b) => a * b, 1)), shape), 1))
      expect(e.message).toContain(`dimensionality ${shape.length}`)
    }
  })
  it('C16 1-D with normAxes [0]', () => {
    close10(normConstraint(t([3, 4]), 1, { normAxes: [0] }), [0.599999988, 0.799999984])
  })
  it('C17 elementwise (normAxes [])', () => {
    close10(normConstraint(t([[3, -0.5]]), 1, { normAxes: [] }), [[0.9999999667, -0.4999999]])
  })
})

describe('total norms on [9, arange(9).reshape(3,3)] with limit 5 (C18..C20)', () => {
  const list = (dtype: Dtype) => [tensor(9, undefined, dtype), tensor([0, 1, 2, 3, 4, 5, 6, 7, 8], [3, 3], dtype)]
  /** Each system: its call, the scalar's result and the matrix's result (float64, 10 digits). */
  const systems: [string, (ts: Tensor[]) => [Tensor[], number], number, number[][]][] = [
    [
      'C18 Lasagne totalNormConstraint (returnNorm)',
      (ts) => totalNormConstraint(ts, 5, { returnNorm: true }),
      2.665569934,
      [
        [0, 0.2961744371, 0.5923488743],
        [0.8885233114, 1.184697749, 1.480872186],
        [1.777046623, 2.07322106, 2.369395497],
      ],
    ],
    [
      'C19 TensorFlow clipByGlobalNorm',
      (ts) => clipByGlobalNorm(ts, 5),
      2.66556995,
      [
        [0, 0.2961744389, 0.5923488778],
        [0.8885233166, 1.184697756, 1.480872194],
        [1.777046633, 2.073221072, 2.369395511],
      ],
    ],
    [
      'C20 torch clipGradNorm',
      (ts) => clipGradNorm(ts, 5),
      2.665569792,
      [
        [0, 0.2961744213, 0.5923488427],
        [0.888523264, 1.184697685, 1.480872107],
        [1.777046528, 2.073220949, 2.369395371],
      ],
    ],
  ]
  for (const [name, f, scalar, matrix] of systems) {
    it(name, () => {
      const [ys, norm] = f(list('float64'))
      expect(norm).toBeCloseTo(Math.sqrt(285), 12) // the norm before clipping, not 5
      close10(ys[0], scalar)
      close10(ys[1], matrix)
    })
  }
  it('C18: Lasagne’s output norm is just below the limit, 4.99999997', () => {
    expect(Math.hypot(...totalNormConstraint(list('float64'), 5).flatMap(toArray))).toBeCloseTo(4.99999997, 8)
  })
  it('C18f the same in float32 (the Lasagne test’s dtype)', () => {
    const [ys, norm] = totalNormConstraint(list('float32'), 5, { returnNorm: true })
    expect(norm).toBe(Math.fround(16.881942749))
    expectUlps(ys[0], f32([2.6655700207]), FRAMEWORK_ULPS.float32)
    expectUlps(tensor(toArray(ys[1]).slice(0, 3), undefined, 'float32'), f32([0, 0.2961744368, 0.5923488736]), FRAMEWORK_ULPS.float32)
  })
})

describe('torch clip_grad_norm_ quirks (C22, C23)', () => {
  it('C22 shrinks at N == maxNorm: [[3,4]] with 5', () => {
    const [[y], norm] = clipGradNorm([t([[3, 4]])], 5)
    expect(norm).toBe(5)
    close10(y, [[2.9999994, 3.9999992]])
  })
  it('C23 normType Infinity: [[3,-4]] with 1', () => {
    const [[y], norm] = clipGradNorm([t([[3, -4]])], 1, { normType: Infinity })
    expect(norm).toBe(4)
    close10(y, [[0.7499998125, -0.99999975]])
  })
})

import { describe, expect, it } from 'vitest'
import { ConfigError } from '../src/errors/index.js'
import { type Tensor, dtypeOf, map, scaleAll, tensor } from '../src/tensor/index.js'
import { type LawName, arbView, checkConstraintLaws } from '../laws/index.js'
import { clipSlices, clipsElements, contiguous2d, flatNorm, halves, mutatesInput, noBound, violationOf } from './laws.fixtures.js'

const RUNS = 40


describe('checkConstraintLaws passes a correct clip', () => {
  it('over all axes, one axis, a negative axis, several axes and axes chosen by ndim', () => {
    checkConstraintLaws(clipSlices(1), { maxNorm: 1, numRuns: RUNS })
    checkConstraintLaws(clipSlices(2, [0]), { maxNorm: 2, normAxes: [0], numRuns: RUNS })
    checkConstraintLaws(clipSlices(0.5, -1), { maxNorm: 0.5, normAxes: -1, numRuns: RUNS })
    checkConstraintLaws(clipSlices(3, [0, 2]), { maxNorm: 3, normAxes: [0, 2], numRuns: RUNS })
    const byNdim = (nd: number) => (nd === 2 ? [0] : Array.from({ length: nd - 1 }, (_, i) => i + 1))
    checkConstraintLaws((x) => clipSlices(1, byNdim(x.shape.length))(x), { maxNorm: 1, normAxes: byNdim, minDims: 2, maxDims: 4, numRuns: RUNS })
  })

  it('with a zero and an infinite bound, and on user tensors of contiguous 2-D float64', () => {
    checkConstraintLaws(clipSlices(0), { maxNorm: 0, numRuns: RUNS })
    checkConstraintLaws(clipSlices(Infinity, [1]), { maxNorm: Infinity, normAxes: [1], numRuns: RUNS })
    checkConstraintLaws(clipSlices(1.5, [1]), { maxNorm: 1.5, normAxes: [1], tensors: contiguous2d, numRuns: RUNS })
  })
})

describe('checkConstraintLaws catches planted defects', () => {
  const planted: [string, (t: Tensor) => Tensor, LawName][] = [
    ['not bounding', noBound, 'bound'],
    ['mutating its input', mutatesInput(1), 'purity'],
    ['changing direction (clipping elements, not the norm)', clipsElements(1), 'direction'],
    ['ignoring strides (flat-index norm)', flatNorm(1), 'stride-invariance'],
    ['shrinking again when applied twice', halves(1), 'idempotence'],
  ]
  for (const [what, f, law] of planted) {
    it(`${what} -> ${law}`, () => {
      const e = violationOf(() => checkConstraintLaws(f, { maxNorm: 1, numRuns: RUNS }))
      expect(e.law).toBe(law)
      expect(e.counterexample).toMatch(/x: \[[\d,]*\] float(32|64)/)
    })
    it(`${what} -> ${law}, given contiguous 2-D float64 tensors`, () => {
      const e = violationOf(() => checkConstraintLaws(f, { maxNorm: 1, tensors: contiguous2d, numRuns: RUNS }))
      expect(e.law).toBe(law)
      expect(e.counterexample).toMatch(/x: \[\d+,\d+\] float64 \[\[.*\]\] \(contiguous\)/)
    })
  }

  it('a sign flip is a change of direction', () => {
    const flips = (x: Tensor) => scaleAll(clipSlices(1)(x), -1)
    const e = violationOf(() => checkConstraintLaws(flips, { maxNorm: 1, tensors: contiguous2d, numRuns: RUNS }))
    expect(e.law).toBe('direction')
    expect(e.details).toMatch(/f\(x\)\[\d+,\d+\]: got -?[\d.e-]+, want -?[\d.e-]+/)
  })

  it('a changed shape or dtype', () => {
    const flat = (x: Tensor) => tensor(Float64Array.from({ length: x.size }), [x.size])
    expect(violationOf(() => checkConstraintLaws(flat, { maxNorm: 1, tensors: contiguous2d, numRuns: RUNS })).law).toBe('shape')
    const narrows = (x: Tensor) => map([x], ['float32'], (n, [o], [v]) => o.set(v.subarray(0, n)))[0]
    const e = violationOf(() => checkConstraintLaws((x) => narrows(clipSlices(1)(x)), { maxNorm: 1, dtype: 'float64', numRuns: RUNS }))
    expect(e.law).toBe('dtype')
    expect(dtypeOf(narrows(tensor([1])))).toBe('float32')
  })

  it('reports the slice over the bound and the view the stride law failed on', () => {
    const e = violationOf(() => checkConstraintLaws(noBound, { maxNorm: 1, normAxes: [0], tensors: contiguous2d, numRuns: RUNS }))
    expect(e.details).toMatch(/slice \[\d+\] of f\(x\) \(norm over axes \[0\]\) has L2 norm [\d.]+ > maxNorm 1/)
    const s = violationOf(() => checkConstraintLaws(flatNorm(1), { maxNorm: 1, tensors: contiguous2d, numRuns: RUNS }))
    expect(s.counterexample).toMatch(/view of x: \[\d+,\d+\] float64 .* as buffer \[\d+,\d+\]/)
    expect(s.details).toMatch(/f\(view\)\[\d+,\d+\]: got/)
  })
})

describe('checkConstraintLaws options', () => {
  it('validates maxNorm, tolerances, dims and unknown keys', () => {
    const f = clipSlices(1)
    expect(() => checkConstraintLaws(f, { maxNorm: -1 })).toThrow(ConfigError)
    expect(() => checkConstraintLaws(f, { maxNorm: Number.NaN })).toThrow(/maxNorm/)
    expect(() => checkConstraintLaws(f, { maxNorm: 1, rtol: -1 })).toThrow(/rtol/)
    expect(() => checkConstraintLaws(f, { maxNorm: 1, minDims: 3, maxDims: 2 })).toThrow(/maxDims/)
    expect(() => checkConstraintLaws(f, { maxNorm: 1, axes: [0] } as never)).toThrow(/axes: unknown option/)
    expect(() => checkConstraintLaws(42 as never, { maxNorm: 1 })).toThrow(ConfigError)
  })

  it('generates tensors with as many axes as normAxes needs', () => {
    checkConstraintLaws(clipSlices(1, [2]), { maxNorm: 1, normAxes: [2], numRuns: 20 })
    checkConstraintLaws(clipSlices(1, -3), { maxNorm: 1, normAxes: -3, numRuns: 20 })
  })

  it('accepts a tensors arbitrary of any views', () => {
    checkConstraintLaws(clipSlices(1, [1]), { maxNorm: 1, normAxes: [1], tensors: arbView({ minDims: 2, maxDims: 3, dtype: 'float32' }), numRuns: RUNS })
  })
})

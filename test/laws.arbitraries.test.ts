import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { copy, dtypeOf, isRowMajor, isTensor, tensor, toArray } from '../src/tensor/index.js'
import { isPlainObject, leaves } from '../src/tree/index.js'
import {
  CONTIGUOUS,
  LawViolation,
  arbShape,
  arbTensor,
  arbTree,
  arbView,
  arbViewRecipe,
  describeTensor,
  describeTree,
  firstDifference,
  formatDifference,
  viewOf,
} from '../laws/index.js'

const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => Object.is(x, b[i]))

describe('arbTensor and arbShape', () => {
  it('cover 0-d, zero-size, both dtypes and shapes within the bounds', () => {
    const ts = fc.sample(arbTensor(), { numRuns: 400, seed: 1 })
    expect(ts.every((t) => isTensor(t) && isRowMajor(t) && t.shape.length <= 3 && t.shape.every((n) => n <= 4))).toBe(true)
    expect(ts.some((t) => t.shape.length === 0)).toBe(true)
    expect(ts.some((t) => t.size === 0 && t.shape.length > 0)).toBe(true)
    expect(new Set(ts.map(dtypeOf))).toEqual(new Set(['float32', 'float64']))
    expect(ts.some((t) => new Set(toArray(t)).size > 3)).toBe(true)
  })

  it('honour dtype, dims, sides and elements', () => {
    fc.assert(
      fc.property(arbTensor({ dtype: 'float32', minDims: 2, maxDims: 2, minSide: 1, maxSide: 2, elements: fc.constant(0.5) }), (t) => {
        expect(dtypeOf(t)).toBe('float32')
        expect(t.shape).toHaveLength(2)
        expect(t.shape.every((n) => n >= 1 && n <= 2)).toBe(true)
        expect(toArray(t).every((v) => v === 0.5)).toBe(true)
      }),
      { numRuns: 50 },
    )
    fc.assert(fc.property(arbShape({ minDims: 4, maxDims: 4, minSide: 3, maxSide: 3 }), (s) => same(s, [3, 3, 3, 3])), { numRuns: 10 })
  })
})

describe('viewOf and arbView', () => {
  it('a view holds the same logical values as its source, for every recipe', () => {
    fc.assert(
      fc.property(arbTensor({ maxDims: 4 }), arbViewRecipe(), (t, r) => {
        const v = viewOf(t, r)
        expect(v.shape).toEqual(t.shape)
        expect(dtypeOf(v)).toBe(dtypeOf(t))
        expect(same(toArray(v), toArray(t))).toBe(true)
        expect(same(toArray(copy(v)), toArray(t))).toBe(true)
      }),
      { numRuns: 300 },
    )
  })

  it('views are transposed, negatively stepped and offset, and say so', () => {
    const vs = fc.sample(arbView({ minDims: 2, maxDims: 3, minSide: 2 }), { numRuns: 300, seed: 3 })
    const layouts = vs.map((v) => describeTensor(v))
    expect(vs.filter((v) => !isRowMajor(v)).length).toBeGreaterThan(200)
    expect(layouts.some((l) => /\.transpose\(/.test(l))).toBe(true)
    expect(layouts.some((l) => /\.step\([^)]*-/.test(l))).toBe(true)
    expect(layouts.some((l) => /\.lo\(/.test(l))).toBe(true)
    expect(layouts.some((l) => /\(contiguous\)$/.test(l))).toBe(true)
  })

  it('surrounds the view with garbage, so a flat-index read sees other values', () => {
    const t = tensor([[1, 2, 3], [4, 5, 6]])
    const v = viewOf(t, { ...CONTIGUOUS, before: [1, 0, 0, 0, 0, 0], steps: [1, -1, 1, 1, 1, 1] })
    expect(toArray(v)).toEqual([1, 2, 3, 4, 5, 6])
    expect(describeTensor(v)).toBe('[2,3] float64 [[1,2,3],[4,5,6]] as buffer [3,3].lo(1,0).step(1,-1)')
    expect(isRowMajor(v)).toBe(false)
  })

  it('handles 0-d and zero-size tensors', () => {
    const z = viewOf(tensor(7, [], 'float32'), { ...CONTIGUOUS, before: [2, 0, 0, 0, 0, 0] })
    expect(toArray(z)).toEqual([7])
    expect(describeTensor(z)).toBe('[] float32 7 as buffer [3].pick(2)')
    const e = viewOf(tensor([], [0, 3]), { ...CONTIGUOUS, steps: [-2, 1, 1, 1, 1, 1], order: [1, 0, 0, 0, 0, 0] })
    expect(e.shape).toEqual([0, 3])
    expect(toArray(e)).toEqual([])
  })
})

describe('arbTree', () => {
  it('builds arrays and plain objects of leaves, within depth and breadth', () => {
    const trees = fc.sample(arbTree(arbTensor(), { maxDepth: 2, maxBreadth: 3 }), { numRuns: 200, seed: 5 })
    expect(trees.some((t) => Array.isArray(t))).toBe(true)
    expect(trees.some((t) => isPlainObject(t))).toBe(true)
    expect(trees.some((t) => isTensor(t))).toBe(true)
    const depth = (t: unknown): number => (isTensor(t) ? 0 : 1 + Math.max(0, ...Object.values(t as object).map(depth)))
    expect(trees.every((t) => depth(t) <= 2)).toBe(true)
    expect(trees.every((t) => leaves(t).every(isTensor))).toBe(true)
  })
})

describe('reports', () => {
  it('firstDifference finds the path, index and values, bit for bit or within a tolerance', () => {
    const a = { W: tensor([[1, 2], [3, 4]]), b: [tensor([0])] }
    const b = { W: tensor([[1, 2], [3, 4.001]]), b: [tensor([-0])] }
    const d = firstDifference(b, a, 'updates', null)
    expect(d).toEqual({ where: 'updates.W', index: [1, 1], got: 4.001, want: 4 })
    expect(formatDifference(d!)).toBe('updates.W[1,1]: got 4.001, want 4')
    expect(formatDifference(firstDifference({ b: b.b }, { b: a.b }, 'u', null)!)).toBe('u.b[0][0]: got -0, want 0')
    expect(firstDifference(b, a, 'u', { rtol: 1e-3, atol: 0 })).toBeNull()
    expect(firstDifference(b, a, 'u', { rtol: 1e-4, atol: 0 })?.index).toEqual([1, 1])
    expect(firstDifference({ W: tensor([1]) }, { W: tensor([1, 2]) }, 'u', null)?.note).toMatch(/u\.W: shape \[1\] vs u\.W \[2\]/)
  })

  it('describeTree lists every leaf', () => {
    expect(describeTree({ W: tensor([1, 2]), n: 3 }, 'state')).toBe('state.W: [2] float64 [1,2] (contiguous)\nstate.n: 3')
    expect(describeTree([], 'params')).toBe('params: (no leaves)')
  })

  it('LawViolation carries law, details and the replay information', () => {
    const e = new LawViolation('bound', 'f(x) has L2 norm 2 > maxNorm 1', { counterexample: '  x: [] float64 2', seed: 3, path: '0:1', numShrinks: 4 })
    expect(e).toBeInstanceOf(Error)
    expect(e.name).toBe('LawViolation')
    expect([e.law, e.details, e.seed, e.path]).toEqual(['bound', 'f(x) has L2 norm 2 > maxNorm 1', 3, '0:1'])
    expect(e.message).toBe('law "bound" does not hold: f(x) has L2 norm 2 > maxNorm 1\ncounterexample (after 4 shrinks; replay with { seed: 3, path: "0:1" }):\n  x: [] float64 2')
  })
})

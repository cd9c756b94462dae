import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Params } from '../src/core/index.js'
import { ConfigError, ShapeError, StructureError } from '../src/errors/index.js'
import { type Tensor, dtypeOf, isRowMajor, roundTo, tensor, toArray } from '../src/tensor/index.js'
import { multiSteps } from '../src/transforms/accumulate.js'
import { expectUnchanged, snapshot, thrown } from './helpers/constraints.js'
import { expectSameTree, flat, sameBits, spy } from './helpers/toolkit.js'
import { arbDtype, arbShape, arbViewOf } from './helpers/views.js'

const params = { b: tensor([0, 0]), w: tensor([[1, 2], [3, 4]]) }
const grad = (v: number) => ({ b: tensor([v, -v]), w: tensor([[v, 2 * v], [0.1 * v, -3]]) })

/** The running mean `acc + (g - acc) / (i + 1)` in `dtype`, element by element. */
function runningMean(gs: number[][], dtype: 'float32' | 'float64'): number[] {
  const r = roundTo(dtype)
  let acc = gs[0].map(r)
  for (let i = 1; i < gs.length; i++) acc = acc.map((a, j) => r(a + r(r(gs[i][j] - a) / (i + 1))))
  return acc
}

describe('multiSteps', () => {
  it('calls the inner update once every k steps, with the mean, and emits zeros in between', () => {
    const { tx: inner, calls } = spy()
    const tx = multiSteps(inner, { everyK: 3 })
    let s = tx.init(params)
    const gs = [1, 2, 4, -1, 0.5, 3].map(grad)
    const emitted: number[][] = []
    for (const [i, g] of gs.entries()) {
      const [u, next] = tx.update(g, s, params)
      emitted.push(flat(u))
      expect(calls.length).toBe(Math.floor((i + 1) / 3))
      expect(next.miniStep).toBe((i + 1) % 3)
      expect(next.gradientStep).toBe(Math.floor((i + 1) / 3))
      expect(Object.isFrozen(next)).toBe(true)
      s = next
    }
    for (const i of [0, 1, 3, 4]) expect(emitted[i].every((v) => Object.is(v, 0))).toBe(true)
    const mean1 = runningMean(gs.slice(0, 3).map(flat), 'float64')
    const mean2 = runningMean(gs.slice(3, 6).map(flat), 'float64')
    expect(sameBits(flat(calls[0].updates), mean1)).toBe(true)
    expect(sameBits(flat(calls[1].updates), mean2)).toBe(true)
    expect(sameBits(emitted[2], mean1.map((v) => 2 * v))).toBe(true)
    expect(calls[0].params).toBe(params)
    expect(flat(s.accGrads).every((v) => v === 0)).toBe(true)
    expect(s.innerState.count).toBe(2)
  })

  it('with everyK = 1 equals the inner transformation bit for bit', () => {
    const { tx: inner } = spy()
    const tx = multiSteps(inner, { everyK: 1 })
    let s = tx.init(params)
    let si = inner.init(params)
    for (const v of [1, -0, 3.5, 1e-300]) {
      const g = grad(v)
      const [u, next] = tx.update(g, s, params)
      const [ui, nexti] = inner.update(g, si, params)
      expectSameTree(u, ui)
      expectSameTree(next.innerState.sum, nexti.sum)
      s = next
      si = nexti
    }
  })

  it('computes the running mean in the leaf dtype on random strided views', () => {
    fc.assert(
      fc.property(
        fc.tuple(arbShape(3, 4), arbDtype, fc.integer({ min: 1, max: 5 })).chain(([sh, d, k]) =>
          fc.tuple(fc.array(arbViewOf(sh, d), { minLength: k, maxLength: k }), fc.constant(k)),
        ),
        ([views, k]) => {
          const { tx: inner, calls } = spy()
          const tx = multiSteps(inner, { everyK: k })
          const ts = views.map((v) => v.t)
          const snaps = ts.map(snapshot)
          let s = tx.init(ts[0])
          for (const t of ts) {
            const [u, next] = tx.update(t, s)
            expect((u as Tensor).shape).toEqual(t.shape)
            expect(dtypeOf(u as Tensor)).toBe(dtypeOf(t))
            expect(isRowMajor(u as Tensor)).toBe(true)
            s = next
          }
          expect(calls.length).toBe(1)
          const want = runningMean(ts.map(toArray), dtypeOf(ts[0]))
          expect(sameBits(toArray(calls[0].updates as Tensor), want)).toBe(true)
          snaps.forEach(expectUnchanged)
        },
      ),
      { numRuns: 200 },
    )
  })

  it('k equal micro-batches make the same step as one batch (a linear inner transformation)', () => {
    const { tx: inner } = spy()
    const tx = multiSteps(inner, { everyK: 4 })
    let s = tx.init(params)
    let u: Params = null
    for (let i = 0; i < 4; i++) [u, s] = tx.update(grad(0.75), s, params)
    expectSameTree(u, inner.update(grad(0.75), inner.init(params), params)[0])
  })

  it('rejects bad options, states and trees with typed errors naming the place', () => {
    const { tx: inner } = spy()
    for (const k of [0, -1, 1.5, NaN, Infinity, undefined]) {
      const e = thrown(() => multiSteps(inner, { everyK: k as number }))
      expect(e).toBeInstanceOf(ConfigError)
      expect(e.message).toContain('everyK')
    }
    expect(thrown(() => multiSteps({} as never, { everyK: 2 }))).toBeInstanceOf(ConfigError)
    const tx = multiSteps(inner, { everyK: 2 })
    const s = tx.init(params)
    expect(thrown(() => tx.update(grad(1), { ...s, miniStep: 7 }, params))).toBeInstanceOf(ConfigError)
    expect(thrown(() => tx.update(grad(1), [] as never, params))).toBeInstanceOf(StructureError)
    const e = thrown(() => tx.update({ b: tensor([1, 2, 3]), w: params.w }, s, params))
    expect(e).toBeInstanceOf(ShapeError)
    expect(e.message).toContain('updates.b')
    expect(thrown(() => tx.update({ w: params.w }, s, params))).toBeInstanceOf(StructureError)
  })
})

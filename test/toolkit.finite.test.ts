import fc from 'fast-check'
import ndarray from 'ndarray'
import { describe, expect, it } from 'vitest'
import { EMPTY_STATE, type GradientTransformation, type Params, chain, transformation } from '../src/core/index.js'
import { ConfigError, StructureError, isNdoptaxError } from '../src/errors/index.js'
import { dtypeOf, tensor, toArray } from '../src/tensor/index.js'
import { allFinite, applyIfFinite, zeroNans } from '../src/transforms/finite.js'
import { expectUnchanged, snapshot, thrown } from './helpers/constraints.js'
import { expectSameTree, flat, spy } from './helpers/toolkit.js'
import { arbDtype, arbShape, arbViewOf } from './helpers/views.js'

const params = { b: tensor([0, 0]), w: tensor([[1, 2], [3, 4]]) }
const good = (v = 1) => ({ b: tensor([v, -v]), w: tensor([[v, 0], [0, v]]) })
const bad = (x = NaN) => ({ b: tensor([1, x]), w: tensor([[1, 0], [0, 1]]) })

describe('applyIfFinite', () => {
  it('follows the documented worked sequence (maxConsecutiveErrors = 2)', () => {
    const { tx: inner, calls } = spy()
    const tx = applyIfFinite(inner, { maxConsecutiveErrors: 2 })
    let s = tx.init(params)
    expect(s).toMatchObject({ consecutiveSkips: 0, totalSkips: 0, lastFinite: true })
    const rows: [string, number, number, boolean, number][] = []
    for (const g of [good(1), bad(), bad(), bad(), bad(), good(2)]) {
      const before = s
      const [u, next] = tx.update(g, s, params)
      const skipped = flat(u).every((v) => v === 0) && next.innerState === before.innerState
      const through = flat(u).some(Number.isNaN)
      rows.push([skipped ? 'skipped' : through ? 'let through' : 'applied', next.consecutiveSkips, next.totalSkips, next.lastFinite, calls.length])
      s = next
    }
    expect(rows).toEqual([
      ['applied', 0, 0, true, 1],
      ['skipped', 1, 1, false, 1],
      ['skipped', 2, 2, false, 1],
      ['let through', 0, 2, false, 2],
      ['skipped', 1, 3, false, 2],
      ['applied', 0, 3, true, 3],
    ])
    // the let-through step took the NaN into the inner state, as documented
    expect(flat(s.innerState.sum).some(Number.isNaN)).toBe(true)
  })

  it('never accepts every later NaN once the limit is reached (optax pitfall)', () => {
    const { tx: inner } = spy()
    const tx = applyIfFinite(inner, { maxConsecutiveErrors: 3 })
    let s = tx.init(params)
    let through = 0
    for (let i = 0; i < 40; i++) {
      const [u, next] = tx.update(bad(), s, params)
      if (flat(u).some(Number.isNaN)) through++
      s = next
    }
    expect(through).toBe(10) // one in every 4 steps
    expect(s.totalSkips).toBe(30)
  })

  it('matches a reference model of the policy on random sequences', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('F', 'N', 'I', 'U'), { maxLength: 30 }), fc.integer({ min: 0, max: 4 }), (seq, m) => {
        // F: finite grads; N: NaN grads; I: -Inf grads; U: finite grads whose inner update is non-finite
        let poison = false
        const inner: GradientTransformation<number> = transformation({ init: () => 0, update: (g, s) => [poison ? (bad() as Params) : g, s + 1] })
        const tx = applyIfFinite(inner, { maxConsecutiveErrors: m })
        let s = tx.init(params)
        let c = 0
        let total = 0
        for (const kind of seq) {
          poison = kind === 'U'
          const g = kind === 'N' ? bad() : kind === 'I' ? bad(-Infinity) : good()
          const [u, next] = tx.update(g, s, params)
          const finite = kind === 'F'
          const skip = !finite && c < m
          c = skip ? c + 1 : 0
          if (skip) total++
          expect([next.consecutiveSkips, next.totalSkips, next.lastFinite]).toEqual([c, total, finite])
          if (skip) {
            expect(flat(u).every((v) => Object.is(v, 0))).toBe(true)
            expect(next.innerState).toBe(s.innerState)
          } else {
            expect(next.innerState).toBe(s.innerState + 1)
            expect(flat(u).every(Number.isFinite)).toBe(finite)
          }
          s = next
        }
      }),
      { numRuns: 300 },
    )
  })

  it('does not call the inner update on a skipped step with non-finite gradients', () => {
    const { tx: inner, calls } = spy()
    const tx = applyIfFinite(inner, { maxConsecutiveErrors: 1 })
    const s0 = tx.init(params)
    const [, s1] = tx.update(bad(Infinity), s0, params)
    expect(calls.length).toBe(0)
    expect(s1.innerState).toBe(s0.innerState)
    tx.update(bad(), s1, params) // the limit is reached: let through, so called
    expect(calls.length).toBe(1)
  })

  it('skips a step whose gradients are finite but whose updates are not, keeping the state from before it', () => {
    const poisoned: GradientTransformation<{ n: number }> = transformation({
      init: () => Object.freeze({ n: 0 }),
      update: (_g, s) => [bad(Infinity) as Params, Object.freeze({ n: s.n + 1 })],
    })
    const tx = applyIfFinite(poisoned, { maxConsecutiveErrors: 5 })
    const s0 = tx.init(params)
    const [u, s1] = tx.update(good(), s0, params)
    expect(flat(u)).toEqual(flat({ b: tensor([0, 0]), w: tensor([[0, 0], [0, 0]]) }))
    expect(s1.innerState).toBe(s0.innerState)
    expect(s1.totalSkips).toBe(1)
  })

  it('with Infinity never lets a non-finite step through', () => {
    const { tx: inner, calls } = spy()
    const tx = applyIfFinite(inner, { maxConsecutiveErrors: Infinity })
    let s = tx.init(params)
    for (let i = 0; i < 50; i++) s = tx.update(bad(), s, params)[1]
    expect(calls.length).toBe(0)
    expect(s.consecutiveSkips).toBe(50)
  })

  it('with 0 lets every step through but still counts nothing as skipped', () => {
    const { tx: inner, calls } = spy()
    const tx = applyIfFinite(inner, { maxConsecutiveErrors: 0 })
    const [u, s] = tx.update(bad(), tx.init(params), params)
    expect(calls.length).toBe(1)
    expect(flat(u).some(Number.isNaN)).toBe(true)
    expect(s).toMatchObject({ consecutiveSkips: 0, totalSkips: 0, lastFinite: false })
  })

  it('emits exactly the inner updates on finite steps, frozen states, untouched inputs, zeros of the right dtype', () => {
    const { tx: inner } = spy()
    const tx = applyIfFinite(inner, { maxConsecutiveErrors: 2 })
    const g = { b: tensor([1, 2], [2], 'float32'), w: tensor([[1, 2], [3, 4]], undefined, 'float32').transpose(1, 0) }
    const p32 = { b: tensor([0, 0], [2], 'float32'), w: tensor([[0, 0], [0, 0]], undefined, 'float32') }
    const snaps = [g.b, g.w].map(snapshot)
    const s0 = tx.init(p32)
    const [u, s1] = tx.update(g, s0, p32)
    expectSameTree(u, inner.update(g, inner.init(p32), p32)[0])
    expect(Object.isFrozen(s1)).toBe(true)
    const gn = { b: tensor([NaN, 2], [2], 'float32'), w: g.w }
    const [z] = tx.update(gn, s1, p32)
    expect(dtypeOf((z as { b: ReturnType<typeof tensor> }).b)).toBe('float32')
    snaps.forEach(expectUnchanged)
  })

  it('sees only the elements of a view, not the rest of its storage', () => {
    const storage = new Float64Array([NaN, 1, 2, Infinity, 3, 4])
    const v = ndarray(storage, [2, 2], [3, 1], 1) // [[1, 2], [3, 4]]
    expect(allFinite(v)).toBe(true)
    expect(allFinite(ndarray(storage, [2], [-3], 3))).toBe(false) // [Inf, NaN]
    expect(allFinite(tensor([1e308, 1e308, -1e308]))).toBe(true) // no overflow of a sum
    expect(allFinite({ a: [tensor([]), null], b: tensor(5) })).toBe(true)
  })

  it('agrees with an element-by-element check on random strided views', () => {
    fc.assert(
      fc.property(
        fc.tuple(arbShape(3, 4), arbDtype).chain(([sh, d]) => arbViewOf(sh, d, true)),
        (v) => {
          expect(allFinite(v.t)).toBe(toArray(v.t).every(Number.isFinite))
        },
      ),
      { numRuns: 300 },
    )
  })

  it('rejects bad options and states with typed errors', () => {
    const { tx: inner } = spy()
    for (const m of [-1, 1.5, NaN, undefined, '2', -Infinity]) {
      const e = thrown(() => applyIfFinite(inner, { maxConsecutiveErrors: m as number }))
      expect(e).toBeInstanceOf(ConfigError)
      expect(e.message).toContain('maxConsecutiveErrors')
    }
    expect(thrown(() => applyIfFinite(inner, { maxConsecutiveErrors: 1, max: 2 } as never))).toBeInstanceOf(ConfigError)
    expect(thrown(() => applyIfFinite(null as never, { maxConsecutiveErrors: 1 }))).toBeInstanceOf(ConfigError)
    const tx = applyIfFinite(inner, { maxConsecutiveErrors: 1 })
    expect(thrown(() => tx.update(good(), EMPTY_STATE as never, params))).toBeInstanceOf(StructureError)
    const e = thrown(() => tx.update({ b: tensor([1, 2]) }, tx.init(params), params))
    expect(isNdoptaxError(e)).toBe(true)
  })
})

describe('zeroNans', () => {
  it('replaces NaN by 0, keeps ±Inf, records where it found NaN', () => {
    const tx = zeroNans()
    const s0 = tx.init(params)
    expect(s0.foundNan).toEqual({ b: false, w: false })
    const g = { b: tensor([NaN, Infinity], [2], 'float32'), w: tensor([[1, -Infinity], [-0, 4]]) }
    const [u, s1] = tx.update(g, s0)
    const out = u as { b: ReturnType<typeof tensor>; w: ReturnType<typeof tensor> }
    expect(toArray(out.b)).toEqual([0, Infinity])
    expect(dtypeOf(out.b)).toBe('float32')
    expect(out.w).toBe(g.w) // no NaN: the same tensor passes through
    expect(Object.is(toArray(out.w)[2], -0)).toBe(true)
    expect(s1.foundNan).toEqual({ b: true, w: false })
    expect(Object.isFrozen(s1)).toBe(true)
    expect(toArray(g.b)[0]).toBeNaN()
  })

  it('equals a naive replacement on random strided views with NaN and Inf', () => {
    fc.assert(
      fc.property(
        fc.tuple(arbShape(3, 4), arbDtype).chain(([sh, d]) => arbViewOf(sh, d, true)),
        (v) => {
          const snap = snapshot(v.t)
          const tx = zeroNans()
          const [u, s] = tx.update(v.t, tx.init(v.t))
          const want = toArray(v.t).map((x) => (Number.isNaN(x) ? 0 : x))
          expect(toArray(u as typeof v.t)).toEqual(want)
          expect(s.foundNan).toBe(toArray(v.t).some(Number.isNaN))
          expectUnchanged(snap)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('in front of applyIfFinite turns NaN steps into applied steps', () => {
    const { tx: inner, calls } = spy()
    const tx = chain(zeroNans(), applyIfFinite(inner, { maxConsecutiveErrors: 1 }))
    const [u, s] = tx.update(bad(), tx.init(params), params)
    expect(calls.length).toBe(1)
    expect(flat(u)).toEqual([2, 0, 2, 0, 0, 2])
    expect(s[1].totalSkips).toBe(0)
  })
})

import { fc, test } from '@fast-check/vitest'
import { describe, expect } from 'vitest'
import { concatAll } from 'fp-ts/lib/Monoid.js'
import { ConfigError, DtypeError, ShapeError, StructureError } from '../src/errors/index.js'
import {
  EMPTY_STATE,
  type EmptyState,
  type GradientTransformation,
  Monoid,
  type Params,
  applyUpdates,
  chain,
  identity,
  optimizer,
  transformation,
} from '../src/core/index.js'
import { type Tensor, add, dtypeOf, map, scaleAll, tensor, toArray, zerosLike } from '../src/tensor/index.js'
import { type Tree, leaves, mapTree, zipMany } from '../src/tree/index.js'

// Small transformations used to probe the algebra.

/** Stateless: `u ↦ c·u`. */
function scaleTx(c: number): GradientTransformation<EmptyState> {
  return transformation({ init: () => EMPTY_STATE, update: (u, s) => [mapTree(u, (t) => scaleAll(t, c)) as Params, s] })
}

/** State `{ count }`: `u ↦ u + c·count`, then `count + 1`. */
interface CounterState {
  readonly count: number
}
function addCounterTx(c: number): GradientTransformation<CounterState> {
  return transformation({
    init: () => Object.freeze({ count: 0 }),
    update: (u, s) => {
      const k = c * s.count
      const out = mapTree(u, (t) => map([t], [dtypeOf(t)], (n, [o], [x]) => {
        for (let i = 0; i < n; i++) o[i] = x[i] + k
      })[0]) as Params
      return [out, Object.freeze({ count: s.count + 1 })]
    },
  })
}

/** State `{ trace }` (a tree like params): `trace' = d·trace + u`, emits `trace'`. */
interface TraceState {
  readonly trace: Params
}
function traceTx(d: number): GradientTransformation<TraceState> {
  return transformation({
    init: (p) => Object.freeze({ trace: mapTree(p, zerosLike) as Params }),
    update: (u, s) => {
      const [next] = zipMany([u, s.trace], ['updates', 'state.trace'], 1, ([g, m]) => [add(g, scaleAll(m, d))])
      return [next, Object.freeze({ trace: next })]
    },
  })
}

/** Adds the params to the updates (needs `params`). */
function addParamsTx(): GradientTransformation<EmptyState> {
  return transformation({
    init: () => EMPTY_STATE,
    update: (u, s, p) => {
      if (p === undefined) throw new Error('params missing')
      const [out] = zipMany([u, p], ['updates', 'params'], 1, ([a, b]) => [add(a, b)])
      return [out, s]
    },
  })
}

type AnyTx = GradientTransformation<unknown>
const asAny = <S>(tx: GradientTransformation<S>): AnyTx => tx as AnyTx

const arbCoef = fc.integer({ min: -4, max: 4 }).map((k) => k / 2)
const arbTx: fc.Arbitrary<AnyTx> = fc.oneof(
  arbCoef.map((c) => asAny(scaleTx(c))),
  arbCoef.map((c) => asAny(addCounterTx(c))),
  arbCoef.map((d) => asAny(traceTx(d))),
  fc.constant(asAny(addParamsTx())),
  fc.constant(asAny(identity())),
)

const params: Params = { W: tensor([[1, -2, 3], [0.5, 0, -1]]), b: [tensor([0.25, 4, -3], undefined, 'float32'), null] }
const arbGrads: fc.Arbitrary<Params> = fc
  .array(fc.integer({ min: -64, max: 64 }), { minLength: 9, maxLength: 9 })
  .map((v) => ({ W: tensor(v.slice(0, 6).map((x) => x / 8), [2, 3]), b: [tensor(v.slice(6).map((x) => x / 8), undefined, 'float32'), null] }))
const arbRun = fc.array(arbGrads, { minLength: 1, maxLength: 4 })

/** The updates a transformation emits over a run of gradients, as plain numbers. */
function trajectory(tx: AnyTx, grads: readonly Params[]): number[][][] {
  let state = tx.init(params)
  return grads.map((g) => {
    const [u, s] = tx.update(g, state, params)
    state = s
    return leaves(u).map(toArray)
  })
}

describe('identity, applyUpdates, optimizer', () => {
  test('identity passes the same updates through with the empty state', () => {
    const tx = identity()
    expect(tx.init(params)).toBe(EMPTY_STATE)
    const [u, s] = tx.update(params, EMPTY_STATE)
    expect(u).toBe(params)
    expect(s).toBe(EMPTY_STATE)
    expect(Object.isFrozen(EMPTY_STATE)).toBe(true)
  })

  test('applyUpdates adds leaf by leaf in the params dtype and checks the trees', () => {
    const p = { w: tensor([1, 2]), v: tensor([0.1], undefined, 'float32') }
    const out = applyUpdates(p, { w: tensor([0.5, -1]), v: tensor([0.2], undefined, 'float32') }) as { w: Tensor; v: Tensor }
    expect(toArray(out.w)).toEqual([1.5, 1])
    expect(toArray(out.v)).toEqual([Math.fround(Math.fround(0.1) + Math.fround(0.2))])
    expect(out.v.dtype).toBe('float32')
    expect(toArray(p.w)).toEqual([1, 2])
    expect(() => applyUpdates(p, { w: tensor([1, 2, 3]), v: p.v })).toThrow(ShapeError)
    expect(() => applyUpdates(p, { w: tensor([1, 2, 3]), v: p.v })).toThrow('updates.w: shape [3] vs params.w [2]')
    expect(() => applyUpdates(p, { w: p.w })).toThrow(StructureError)
    expect(() => applyUpdates(p, { w: p.w, v: tensor([0.2]) })).toThrow(DtypeError)
  })

  test('optimizer(tx).step is (params, grads, state) -> [params + u, state\'] and mutates nothing', () => {
    const opt = optimizer(chain(traceTx(0.5), scaleTx(-0.1)))
    const p0: Params = { w: tensor([1, 2]) }
    const g: Params = { w: tensor([10, -10]) }
    const s0 = opt.init(p0)
    const [p1, s1] = opt.step(p0, g, s0)
    expect(toArray((p1 as { w: Tensor }).w)).toEqual([0, 3])
    const [p2, s2] = opt.step(p1, g, s1)
    // trace = 10 + 0.5·10 = 15, so the step is -1.5
    expect(toArray((p2 as { w: Tensor }).w)).toEqual([-1.5, 4.5])
    expect(toArray((p0 as { w: Tensor }).w)).toEqual([1, 2])
    expect(toArray((s0[0].trace as { w: Tensor }).w)).toEqual([0, 0])
    expect(toArray((s2[0].trace as { w: Tensor }).w)).toEqual([15, -15])
  })

  test('optimizer and chain reject things that are not transformations', () => {
    expect(() => optimizer(3 as unknown as AnyTx)).toThrow(ConfigError)
    expect(() => chain(scaleTx(1), {} as AnyTx)).toThrow(ConfigError)
    expect(() => chain(scaleTx(1), {} as AnyTx)).toThrow(/^chain\[1\]: expected a GradientTransformation/)
  })
})

describe('chain', () => {
  test('runs left to right, every stage sees params, the state is a frozen tuple', () => {
    const tx = chain(addCounterTx(1), scaleTx(2), addParamsTx())
    const p: Params = { w: tensor([1, 1]) }
    const s0 = tx.init(p)
    expect(s0).toEqual([{ count: 0 }, EMPTY_STATE, EMPTY_STATE])
    expect(Object.isFrozen(s0)).toBe(true)
    const [u1, s1] = tx.update({ w: tensor([1, 2]) }, s0, p)
    expect(toArray((u1 as { w: Tensor }).w)).toEqual([3, 5])
    const [u2, s2] = tx.update({ w: tensor([1, 2]) }, s1, p)
    expect(toArray((u2 as { w: Tensor }).w)).toEqual([5, 7])
    expect(s2[0].count).toBe(2)
    expect(s0[0].count).toBe(0)
    // the other order gives other updates
    const [v1] = chain(scaleTx(2), addCounterTx(1)).update({ w: tensor([1, 2]) }, [EMPTY_STATE, { count: 1 }], p)
    expect(toArray((v1 as { w: Tensor }).w)).toEqual([3, 5])
  })

  test('the state type is the tuple of the stage states', () => {
    const tx = chain(scaleTx(1), addCounterTx(1), traceTx(0.9))
    const s = tx.init(params)
    const count: number = s[1].count
    const trace: Params = s[2].trace
    const empty: EmptyState = s[0]
    expect([count, leaves(trace).length, empty]).toEqual([0, 2, EMPTY_STATE])
  })

  test('a wrong state is a StructureError', () => {
    const tx = chain(scaleTx(1), addCounterTx(1))
    const g: Params = { w: tensor([1]) }
    const e = (() => {
      try {
        tx.update(g, [EMPTY_STATE] as unknown as ReturnType<typeof tx.init>)
      } catch (err) {
        return err as StructureError
      }
    })()
    expect(e).toBeInstanceOf(StructureError)
    expect(e?.where).toBe('state')
    expect(e?.message).toBe('state: expected the state of a chain of 2 transformations (an array of 2 states), got an array of length 1')
    expect(() => tx.update(g, EMPTY_STATE as unknown as ReturnType<typeof tx.init>)).toThrow(StructureError)
    expect(() => tx.update(g, undefined as unknown as ReturnType<typeof tx.init>)).toThrow(StructureError)
  })

  test('the empty chain is the identity', () => {
    const tx = chain()
    expect(tx.init(params)).toEqual([])
    const [u] = tx.update(params, tx.init(params))
    expect(u).toBe(params)
  })
})

describe('Monoid laws of chain (observational: same updates for the same gradients)', () => {
  test.prop([arbTx, arbTx, arbTx, arbRun])('associativity', (a, b, c, run) => {
    const left = Monoid.concat(Monoid.concat(a, b), c)
    const right = Monoid.concat(a, Monoid.concat(b, c))
    expect(trajectory(left, run)).toEqual(trajectory(right, run))
    expect(trajectory(left, run)).toEqual(trajectory(asAny(chain(a, b, c)), run))
  })

  test.prop([arbTx, arbRun])('left and right identity', (a, run) => {
    const alone = trajectory(a, run)
    expect(trajectory(Monoid.concat(Monoid.empty, a), run)).toEqual(alone)
    expect(trajectory(Monoid.concat(a, Monoid.empty), run)).toEqual(alone)
  })

  test.prop([fc.array(arbTx, { maxLength: 4 }), arbRun])('concatAll is chain', (txs, run) => {
    expect(trajectory(concatAll(Monoid)(txs), run)).toEqual(trajectory(asAny(chain(...txs)), run))
  })

  test('the laws are not vacuous: chain does not commute', () => {
    const g: Params[] = [{ W: tensor([[1, 1, 1], [1, 1, 1]]), b: [tensor([1, 1, 1], undefined, 'float32'), null] }]
    expect(trajectory(Monoid.concat(asAny(scaleTx(2)), asAny(addParamsTx())), g)).not.toEqual(
      trajectory(Monoid.concat(asAny(addParamsTx()), asAny(scaleTx(2))), g),
    )
  })
})

describe('test transformations', () => {
  test('are pure: the same inputs give the same outputs, inputs unchanged', () => {
    const tx = chain(traceTx(0.5), addCounterTx(1))
    const g: Tree = { W: tensor([[1, 2, 3], [4, 5, 6]]), b: [tensor([1, 2, 3], undefined, 'float32'), null] }
    const s = tx.init(params)
    const [u1] = tx.update(g, s, params)
    const [u2] = tx.update(g, s, params)
    expect(leaves(u1).map(toArray)).toEqual(leaves(u2).map(toArray))
    expect(leaves(g).map(toArray)).toEqual([[1, 2, 3, 4, 5, 6], [1, 2, 3]]) // 'W' sorts before 'b'
  })
})

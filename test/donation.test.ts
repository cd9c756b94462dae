/**
 * Buffer donation: `optimizer(tx, { donate: true })` follows the pure
 * trajectory bit for bit while writing over the buffers it is handed,
 * refuses (with a `DonatedBufferError`) anything it was handed before, and
 * changes nothing for callers that do not donate.
 */
import { describe, expect, it } from 'vitest'
import { type GradientTransformation, type Params, chain, identity, optimizer, transformation } from '../src/core/index.js'
import { normConstraint } from '../src/constraints/index.js'
import { ConfigError, DonatedBufferError, isNdoptaxError } from '../src/errors/index.js'
import { adam, sgd } from '../src/optimizers/index.js'
import { type Dtype, type Tensor, add, copy, fromStorage, tensor, toArray } from '../src/tensor/index.js'
import { clipByTotalNorm, constrainParams, scaleByLearningRate, trace, treewise } from '../src/transforms/index.js'
import { leaves, mapTree, zipTrees } from '../src/tree/index.js'
import { setBackend, wasmSupported } from '../src/kernel/index.js'
import { expectUnchanged, snapshot, thrown } from './helpers/constraints.js'
import { expectSameBits, stateTensors } from './helpers/optimizers.js'
import { fillValues } from './helpers/views.js'

type Tx = GradientTransformation<unknown>

/** A tensor of `shape` filled deterministically from `seed`. */
function filled(shape: number[], dtype: Dtype, seed: number): Tensor {
  const t = tensor(new Array(shape.reduce((a, b) => a * b, 1)).fill(0), shape, dtype)
  fillValues(t.data, seed)
  return t
}

/** A small network's params: a conv kernel, a dense matrix (also as a transposed view), a bias, a 0-d scale. */
function net(dtype: Dtype, seed = 1): Params {
  return {
    conv: filled([4, 3, 3, 3], dtype, seed),
    dense: filled([5, 6], dtype, seed + 1),
    denseT: filled([6, 5], dtype, seed + 2).transpose(1, 0),
    bias: filled([6], dtype, seed + 3),
    gain: filled([], dtype, seed + 4),
  }
}

const copied = (tree: Params): Params => mapTree(tree, (t) => copy(t)) as Params

const clippedAdamMaxNorm = (): Tx =>
  chain(
    clipByTotalNorm(2),
    adam(0.05),
    constrainParams((ps) => ps.map((p) => (p.shape.length >= 2 ? normConstraint(p, 1) : p))),
  ) as Tx

const RECIPES: readonly [string, () => Tx][] = [
  ['adam', () => adam(0.05) as Tx],
  ['clip, adam, normConstraint', clippedAdamMaxNorm],
  ['sgd', () => sgd(0.1) as Tx],
  ['a treewise stage (no fast path)', () => chain(treewise((ts) => ts.map((t) => copy(t))), scaleByLearningRate(0.1)) as Tx],
]

describe('optimizer(tx, { donate: true })', () => {
  it.each(RECIPES)('%s: the donated trajectory is the pure one, bit for bit', (_, make) => {
    for (const dtype of ['float32', 'float64'] as const) {
      const params = net(dtype)
      const grads = [net(dtype, 10), net(dtype, 20), net(dtype, 30), net(dtype, 40)]
      const pure = optimizer(make())
      const donating = optimizer(make(), { donate: true })
      let [p, s] = [params, pure.init(params)]
      let dp = copied(params)
      let ds = donating.init(dp)
      for (const g of grads) {
        ;[p, s] = pure.step(p, g, s)
        ;[dp, ds] = donating.step(dp, g, ds)
        expectSameBits(dp, p)
        expectSameBits(ds, s)
      }
    }
  })

  it('writes the new params and state into the buffers it is handed (row-major, offset 0, exact size)', () => {
    const params = { w: tensor([1, 2, 3, 4], [2, 2], 'float32'), view: tensor([9, 1, 2, 3, 4], [5], 'float32').lo(1) }
    const opt = optimizer(adam(0.1) as Tx, { donate: true })
    const s0 = opt.init(params) as readonly [{ mu: { w: Tensor }; nu: { w: Tensor } }, unknown]
    const storage = { w: params.w.data, mu: s0[0].mu.w.data, nu: s0[0].nu.w.data, view: params.view.data }
    const [p1, s1] = opt.step(params, { w: tensor([1, 1, 1, 1], [2, 2], 'float32'), view: tensor([1, 1, 1, 1], [4], 'float32') }, s0)
    const np = p1 as { w: Tensor; view: Tensor }
    const ns = s1 as typeof s0
    expect(np.w.data).toBe(storage.w)
    expect(ns[0].mu.w.data).toBe(storage.mu)
    expect(ns[0].nu.w.data).toBe(storage.nu)
    // an offset view is not recycled: its replacement has a buffer of its own, and the view's storage is untouched
    expect(np.view.data).not.toBe(storage.view)
    expect(Array.from(storage.view)).toEqual([9, 1, 2, 3, 4])
  })

  it('never recycles a buffer two tensors share, nor one the gradients use', () => {
    const shared = tensor([1, 2, 3], [3], 'float32')
    const params = { a: shared, b: shared, c: tensor([4, 5, 6], [3], 'float32') }
    const pure = optimizer(sgd(0.5) as Tx)
    const donating = optimizer(sgd(0.5) as Tx, { donate: true })
    const grads = { a: tensor([1, 1, 1], [3], 'float32'), b: tensor([2, 2, 2], [3], 'float32'), c: params.c }
    const want = pure.step(copied(params), copied(grads), pure.init(params))[0]
    const before = snapshot(params.c)
    const [got] = donating.step(params, grads, donating.init(params))
    expectSameBits(got, want)
    expect(toArray(shared)).toEqual([1, 2, 3])
    expectUnchanged(before) // c is also a gradient: not written
  })

  it('throws a DonatedBufferError when donated params, state or tensors are passed again', () => {
    const opt = optimizer(adam(0.1) as Tx, { donate: true })
    const params = net('float32')
    const g = net('float32', 5)
    const s0 = opt.init(params)
    const [p1, s1] = opt.step(params, g, s0)
    const again = [
      () => opt.step(params, g, s1),
      () => opt.step(p1, g, s0),
      () => opt.step({ ...(p1 as object), conv: (params as { conv: Tensor }).conv } as Params, g, s1),
      () => optimizer(adam(0.1) as Tx).step(params, g, s1),
    ]
    for (const f of again) {
      const e = thrown(f)
      expect(e).toBeInstanceOf(DonatedBufferError)
      expect(e.name).toBe('DonatedBufferError')
      expect(isNdoptaxError(e)).toBe(true)
      expect(e.message).toMatch(/donated to an earlier step/)
    }
    expect(thrown(again[2]).message).toMatch(/^params\.conv: /)
    // a pure step reading a tensor whose buffer was taken over names it too
    const pure = optimizer(adam(0.1) as Tx)
    const mixed = { ...(p1 as object), conv: (params as { conv: Tensor }).conv } as Params
    const e = thrown(() => pure.step(mixed, g, pure.init(p1)))
    expect(e).toBeInstanceOf(DonatedBufferError)
    expect(e.message).toMatch(/^params\.conv: /)
    // the returned params and state carry on
    expect(() => opt.step(p1, g, s1)).not.toThrow()
  })

  it('a tensor whose buffer was taken over is empty, so nothing can read the recycled memory through it', () => {
    const opt = optimizer(sgd(0.1) as Tx, { donate: true })
    const w = tensor([1, 2, 3], [3], 'float32')
    const [p1] = opt.step({ w }, { w: tensor([1, 1, 1], [3], 'float32') }, opt.init({ w }))
    expect(w.data.length).toBe(0)
    expect(toArray((p1 as { w: Tensor }).w)).toEqual([Math.fround(0.9), Math.fround(1.9), Math.fround(2.9)])
    expect(() => normConstraint(w, 1)).toThrow()
  })

  it('an emptied tensor is refused wherever it is zipped, also one over the very shape and stride arrays of the first tree’s leaf', () => {
    const opt = optimizer(adam(0.1) as Tx, { donate: true })
    const g = [tensor([1, -1, 1], [3], 'float32')]
    const p0 = [tensor([1, 2, 3], [3], 'float32')]
    const [p1, s1] = opt.step(p0, g, opt.init(p0))
    // the second step places the leaf in a chunk; the third writes it over in place there, and empties p2's tensor
    const [p2, s2] = opt.step(p1, g, s1)
    const [p3] = opt.step(p2, g, s2)
    const [live, old] = [(p3 as Tensor[])[0], (p2 as Tensor[])[0]]
    expect(old.data.length).toBe(0)
    // a step's outputs of one shape share frozen shape and stride arrays, emptied or not
    expect(old.shape).toBe(live.shape)
    expect(old.stride).toBe(live.stride)
    const e = thrown(() => zipTrees([[live], [old]], ['live', 'old'], ([t]) => t))
    expect(e).toBeInstanceOf(DonatedBufferError)
    expect((e as Error).message).toMatch(/^old\[0\]: /)
  })

  it('a state passed through unchanged stays usable (identity keeps its state object)', () => {
    const opt = optimizer(identity() as Tx, { donate: true })
    const params = { w: tensor([1, 2], [2]) }
    let [p, s] = [params as Params, opt.init(params)]
    for (let i = 0; i < 3; i++) [p, s] = opt.step(p, { w: tensor([1, 1], [2]) }, s)
    expect(toArray((p as { w: Tensor }).w)).toEqual([4, 5])
  })

  it('a gradient that disagrees with the params at its last leaf leaves every donated buffer as it was', () => {
    // large and small leaves, then a gradient whose last leaf has the wrong shape: the pass checks every leaf before it writes
    const p0 = { a: filled([300, 300], 'float32', 1), b: filled([5], 'float32', 2), c: filled([7], 'float32', 3) }
    const opt = optimizer(adam(0.1) as Tx, { donate: true })
    // one good step first: the large leaf now lives in a resident memory, where the next step would work in place
    const [params, s] = opt.step(p0, mapTree(p0, (t) => copy(t)), opt.init(p0)) as [typeof p0, unknown]
    // the storage itself (the tensors a failing step was handed count as donated, so they may be emptied)
    const storage = [params.a, params.b, params.c, ...stateTensors(s)].map((t) => t.data)
    const before = storage.map((a) => Array.from(a))
    const grads = { a: filled([300, 300], 'float32', 4), b: filled([5], 'float32', 5), c: filled([6], 'float32', 6) }
    expect(() => opt.step(params, grads, s)).toThrow('grads.c: shape [6] vs params.c [7]')
    // the first element written in each array (none: -1)
    expect(storage.map((a, i) => a.findIndex((v, k) => !Object.is(v, before[i][k])))).toEqual(storage.map(() => -1))
  })

  it('what a failing donating step was handed counts as donated', () => {
    const opt = optimizer(sgd(0.1) as Tx, { donate: true })
    const params = { w: tensor([1, 2], [2]) }
    const s = opt.init(params)
    expect(() => opt.step(params, { w: tensor([1, 2, 3], [3]) }, s)).toThrow()
    expect(thrown(() => opt.step(params, { w: tensor([1, 1], [2]) }, s))).toBeInstanceOf(DonatedBufferError)
  })

  it('takes over the large buffers of the params and state it returned, unless a gradient lives in one of them', () => {
    const pure = optimizer(adam(0.05) as Tx)
    const opt = optimizer(adam(0.05) as Tx, { donate: true })
    // a large leaf (4096 elements and more) and small ones
    const tree = (seed: number): Params => ({ big: filled([70, 70], 'float32', seed), bias: filled([6], 'float32', seed + 1), gain: filled([], 'float32', seed + 2) })
    const params = tree(1)
    const [p1, s1] = opt.step(params, tree(5), opt.init(params)) as [{ big: Tensor; bias: Tensor }, unknown]
    const big = p1.big.data
    const stateBig = stateTensors(s1).filter((t) => t.data.length === 4900).map((t) => t.data)
    const bias = p1.bias.data
    const [p2, s2] = opt.step(p1, tree(6), s1) as [{ big: Tensor; bias: Tensor }, unknown]
    // the large leaves are written where they were; the small ones get new storage (carved from shared chunks),
    // and the tensors they replace keep their values
    expect(p2.big.data).toBe(big)
    expect(stateTensors(s2).filter((t) => t.data.length === 4900).map((t) => t.data)).toEqual(stateBig)
    expect(stateBig.length).toBe(2)
    expect(p2.bias.data).not.toBe(bias)
    expect(p1.bias.data).toBe(bias)
    expect(p1.big.data.length).toBe(0)
    // a gradient that is one of the returned params: its buffer is not taken over, and the step is the pure one
    const grads = { ...(tree(7) as object), big: p2.big } as Params
    const want = pure.step(copied(p2), copied(grads), s2)
    const before = snapshot(p2.big)
    const storage = p2.big.data
    const got = opt.step(p2, grads, s2)
    expectSameBits(got[0], want[0])
    expectSameBits(got[1], want[1])
    expectUnchanged(before)
    expect((got[0] as { big: Tensor }).big.data).not.toBe(storage)
  })

  it('writes the small leaves of its own results over themselves, and empties the tensors they replace', () => {
    const pure = optimizer(adam(0.05) as Tx)
    const opt = optimizer(adam(0.05) as Tx, { donate: true })
    const tree = (seed: number): Params => ({ bias: filled([6], 'float32', seed), gain: filled([], 'float64', seed + 1), rows: filled([3, 7], 'float32', seed + 2) })
    let [p, s] = [tree(1), opt.init(tree(1))]
    let [q, r] = [tree(1), pure.init(tree(1))]
    for (let step = 0; step < 4; step++) {
      const before = [...leaves(p), ...stateTensors(s)]
      const where = before.map((t) => [t.data, t.offset] as const)
      ;[p, s] = opt.step(p, tree(10 + step), s)
      ;[q, r] = pure.step(q, tree(10 + step), r)
      expectSameBits(p, q)
      expectSameBits(s, r)
      const after = [...leaves(p), ...stateTensors(s)]
      if (step >= 2) {
        // from the third step on every small leaf is a view into a chunk the step before carved: written in place
        expect(after.length).toBe(where.length)
        expect(after.every((t, k) => t.data === where[k][0] && t.offset === where[k][1])).toBe(true)
        for (const t of before) expect(t.data.length).toBe(0)
        expect(thrown(() => toArray(before[0]))).toBeInstanceOf(DonatedBufferError)
      }
    }
    // a gradient that is one of the returned small leaves: nothing is written over it, and the step is the pure one
    const grads = { ...(tree(30) as object), bias: (p as { bias: Tensor }).bias } as Params
    const want = pure.step(copied(p), copied(grads), s)
    const kept = snapshot((p as { bias: Tensor }).bias)
    const got = opt.step(p, grads, s)
    expectSameBits(got[0], want[0])
    expectSameBits(got[1], want[1])
    expectUnchanged(kept)
  })

  it('checks the gradients against its own results whichever pass writes first, and then runs as the pure step', () => {
    // a large leaf and small ones; the optax clip is a pass of its own before Adam's, over the gradients but writing
    // new storage, so the first pass that writes over the results (Adam's) zips the clipped updates, not the gradients
    // on both backends: a large leaf moves into a resident block on WebAssembly (its array stamped), and stays in
    // the caller's buffer on JavaScript (the buffer stamped, which a view of the leaf shares)
    const tree = (seed: number): Params => ({ bias: filled([6], 'float32', seed), big: filled([300, 300], 'float32', seed + 1) })
    const makers = [() => adam(0.05) as Tx, () => chain(clipByTotalNorm(1, { flavor: 'optax' }), adam(0.05)) as Tx]
    const backends = wasmSupported() ? (['wasm', 'js'] as const) : (['js'] as const)
    for (const [backend, make] of backends.flatMap((b) => makers.map((m) => [b, m] as const))) {
      const previous = setBackend(backend)
      try {
        const pure = optimizer(make())
        const opt = optimizer(make(), { donate: true })
        let [p, s] = [tree(1), opt.init(tree(1))]
        let [q, r] = [tree(1), pure.init(tree(1))]
        for (let step = 0; step < 3; step++) {
          ;[p, s] = opt.step(p, tree(10 + step), s)
          ;[q, r] = pure.step(q, tree(10 + step), r)
        }
        for (const leaf of ['big', 'bias', 'big, transposed']) {
          // a gradient that is one of the returned leaves, or a view of one (in storage the step would write over): never written
          const returned = (p as Record<string, Tensor>)[leaf.split(',')[0]]
          const gradient = leaf === 'big, transposed' ? returned.transpose(1, 0) : returned
          const grads = { ...(tree(40) as object), [leaf.split(',')[0]]: gradient } as Params
          const want = pure.step(q, copied(grads), r)
          const kept = snapshot(gradient)
          const got = opt.step(p, grads, s)
          expectSameBits(got[0], want[0])
          expectSameBits(got[1], want[1])
          expectUnchanged(kept)
          ;[p, s] = got as [Params, unknown]
          ;[q, r] = want as [Params, unknown]
          // and the step after it runs on as before
          ;[p, s] = opt.step(p, tree(50), s)
          ;[q, r] = pure.step(q, tree(50), r)
          expectSameBits(p, q)
          expectSameBits(s, r)
        }
      } finally {
        setBackend(previous)
      }
    }
  })

  it('follows the pure trajectory when a stage keeps the updates it was given in its state', () => {
    // trace's update is its new state; a stage after it keeps that tensor and reads it back at the next step
    const keepLast = transformation<{ readonly last: Params }>({
      init: (params) => ({ last: mapTree(params, (t) => copy(t)) as Params }),
      update: (updates, state) => [zipTrees([updates, state.last], ['updates', 'state.last'], ([u, l]) => add(u, l)) as Params, { last: updates }],
    })
    const make = (): Tx => chain(trace({ momentum: 0.5 }), keepLast, scaleByLearningRate(0.1)) as Tx
    const pure = optimizer(make())
    const donating = optimizer(make(), { donate: true })
    // a large leaf (whose buffers a donating step takes over from step to step) beside the small ones
    const tree = (seed: number): Params => ({ ...(net('float64', seed) as object), big: filled([70, 70], 'float64', seed + 5) }) as Params
    const params = tree(1)
    let [p, s] = [params, pure.init(params)]
    let dp = copied(params)
    let ds = donating.init(dp)
    for (const seed of [10, 20, 30, 40]) {
      const g = tree(seed)
      ;[p, s] = pure.step(p, g, s)
      ;[dp, ds] = donating.step(dp, g, ds)
      expectSameBits(dp, p)
      expectSameBits(ds, s)
    }
  })

  it('rejects a donate option that is not a boolean, and unknown options', () => {
    expect(() => optimizer(sgd(0.1), { donate: 1 as unknown as boolean })).toThrow(ConfigError)
    expect(() => optimizer(sgd(0.1), { donat: true } as unknown as { donate: boolean })).toThrow(/options\.donat/)
  })
})

describe('callers that do not donate', () => {
  it('never have their params, gradients or state written, and get fresh buffers', () => {
    const opt = optimizer(clippedAdamMaxNorm())
    const params = net('float32')
    const g = net('float32', 3)
    const s0 = opt.init(params)
    const before = [...leaves(params), ...leaves(g), ...stateTensors(s0)].map(snapshot)
    const [p1, s1] = opt.step(params, g, s0)
    opt.step(p1, g, s1)
    before.forEach(expectUnchanged)
    const old = new Set([...leaves(params), ...stateTensors(s0)].map((t) => t.data))
    for (const t of [...leaves(p1), ...stateTensors(s1)]) expect(old.has(t.data)).toBe(false)
  })

  it('follow the same trajectory whether or not other optimizers donate', () => {
    const params = { w: fromStorage(new Float32Array([0.5, -1, 2]), [3]) }
    const g = { w: tensor([0.1, 0.2, -0.3], [3], 'float32') }
    const alone = optimizer(adam(0.1) as Tx)
    const [a1] = alone.step(params, g, alone.init(params))
    const donating = optimizer(adam(0.1) as Tx, { donate: true })
    const mine = copied(params)
    donating.step(mine, g, donating.init(mine))
    const [b1] = alone.step(params, g, alone.init(params))
    expectSameBits(b1, a1)
  })
})

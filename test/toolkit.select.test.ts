import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type GradientTransformation, type Params, chain, identity } from '../src/core/index.js'
import { ConfigError, StructureError } from '../src/errors/index.js'
import { type Tensor, tensor, toArray } from '../src/tensor/index.js'
import { type Path, flatten, formatPath, mapTree, unflatten } from '../src/tree/index.js'
import { freeze, masked, partition, setToZero } from '../src/transforms/select.js'
import { expectUnchanged, snapshot, thrown } from './helpers/constraints.js'
import { arbTree, expectSameTree, flat, spy } from './helpers/toolkit.js'

const params = { embed: tensor([[1, 2], [3, 4]]), head: { W: tensor([[5, 6]]), b: tensor([7]) }, layers: [tensor([1, 1]), null] }
const grads = mapTree(params, (t) => tensor(toArray(t).map((v) => v / 10), t.shape)) as typeof params

/** The tensors of a tree with `null` where a leaf was not selected, in leaf order (nulls kept). */
function pattern(tree: Params, like: Params): (number[] | null)[] {
  const out: (number[] | null)[] = []
  // walk `tree` along `like`'s structure: where `like` has a tensor, `tree` has a tensor or null
  const walkBoth = (t: unknown, l: unknown): void => {
    if (l !== null && typeof l === 'object' && 'shape' in (l as object)) {
      out.push(t === null ? null : toArray(t as Tensor))
      return
    }
    if (Array.isArray(l)) l.forEach((x, i) => walkBoth((t as unknown[])[i], x))
    else if (l !== null) for (const k of Object.keys(l as object).sort()) walkBoth((t as Record<string, unknown>)[k], (l as Record<string, unknown>)[k])
  }
  walkBoth(tree, like)
  return out
}

describe('masked', () => {
  it('runs the inner transformation on the selected leaves only and passes the others through unchanged', () => {
    const { tx: inner, calls } = spy()
    const mask = { embed: false, head: { W: true, b: false }, layers: [true, null] }
    const tx = masked(inner, mask)
    const s0 = tx.init(params)
    // the inner state holds the selected leaves only
    expect(pattern(s0.innerState.sum, params)).toEqual([null, [0, 0], null, [0, 0]])
    const [u, s1] = tx.update(grads, s0, params)
    expect(pattern(calls[0].updates, params)).toEqual([null, [0.5, 0.6], null, [0.1, 0.1]])
    expect(pattern(calls[0].params as Params, params)).toEqual([null, [5, 6], null, [1, 1]])
    const out = u as typeof params
    expect(out.embed).toBe(grads.embed)
    expect(out.head.b).toBe(grads.head.b)
    expect(toArray(out.head.W)).toEqual([1, 1.2])
    expect(toArray(out.layers[0] as Tensor)).toEqual([0.2, 0.2])
    expect(out.layers[1]).toBe(null)
    expect(Object.isFrozen(s1)).toBe(true)
  })

  it('accepts a predicate on the path and the leaf', () => {
    const seen: string[] = []
    const pred = (path: Path, leaf: Tensor) => {
      seen.push(formatPath('p', path))
      return leaf.shape.length === 2
    }
    const { tx: inner, calls } = spy()
    const tx = masked(inner, pred)
    const [u] = tx.update(grads, tx.init(params), params)
    expect(seen.slice(0, 4)).toEqual(['p.embed', 'p.head.W', 'p.head.b', 'p.layers[0]'])
    expect(pattern(calls[0].updates, params)).toEqual([[0.1, 0.2, 0.3, 0.4], [0.5, 0.6], null, null])
    expect((u as typeof params).head.b).toBe(grads.head.b)
  })

  it('behaves as the inner transformation on the selected leaves and as identity elsewhere, on random trees and masks', () => {
    fc.assert(
      fc.property(arbTree(), fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }), (tree, bits) => {
        const [ls, def] = flatten(tree)
        const mask = unflatten(def, ls.map((_, i) => bits[i % bits.length]))
        const snaps = ls.map(snapshot)
        const { tx: inner } = spy()
        const tx = masked(inner, mask)
        const [u, s] = tx.update(tree, tx.init(tree), tree)
        const [outs] = flatten(u)
        outs.forEach((o, i) => {
          if (bits[i % bits.length]) expect(toArray(o)).toEqual(toArray(ls[i]).map((v) => 2 * v))
          else expect(o).toBe(ls[i])
        })
        expect(s.innerState.count).toBe(1)
        snaps.forEach(expectUnchanged)
      }),
      { numRuns: 200 },
    )
  })

  it('rejects masks that do not fit the params with typed errors naming the path', () => {
    const { tx: inner } = spy()
    const e1 = thrown(() => masked(inner, { embed: true, head: true, layers: [true, null] }).init(params))
    expect(e1).toBeInstanceOf(StructureError)
    expect(e1.message).toContain('head')
    const e2 = thrown(() => masked(inner, { embed: 1, head: { W: true, b: false }, layers: [true, null] } as never).init(params))
    expect(e2).toBeInstanceOf(ConfigError)
    expect(e2.message).toContain('mask.embed')
    const e3 = thrown(() => masked(inner, (() => 'yes') as never).init(params))
    expect(e3).toBeInstanceOf(ConfigError)
    expect(e3.message).toContain('mask.embed')
    expect(thrown(() => masked(inner, new Map() as never))).toBeInstanceOf(ConfigError)
    expect(thrown(() => masked(undefined as never, true))).toBeInstanceOf(ConfigError)
    const tx = masked(inner, () => true)
    expect(thrown(() => tx.update(grads, {} as never, params))).toBeInstanceOf(StructureError)
    expect(thrown(() => tx.update(grads, tx.init(params), { ...params, embed: null } as never))).toBeInstanceOf(StructureError)
  })
})

describe('partition', () => {
  it('sends every leaf through exactly one labelled transformation', () => {
    const a = spy()
    const b = spy()
    const unused = spy()
    const labels = { embed: 'b', head: { W: 'a', b: 'b' }, layers: ['a', null] } as const
    const tx = partition({ a: a.tx, b: b.tx, unused: unused.tx }, labels)
    const s0 = tx.init(params)
    expect(pattern(s0.innerStates.unused.sum, params)).toEqual([null, null, null, null])
    const [u, s1] = tx.update(grads, s0, params)
    expect(pattern(a.calls[0].updates, params)).toEqual([null, [0.5, 0.6], null, [0.1, 0.1]])
    expect(pattern(b.calls[0].updates, params)).toEqual([[0.1, 0.2, 0.3, 0.4], null, [0.7], null])
    expect(unused.calls.length).toBe(1)
    expect(pattern(b.calls[0].params as Params, params)).toEqual([[1, 2, 3, 4], null, [7], null])
    expect(flat(u)).toEqual(flat(grads).map((v) => 2 * v))
    expect([s1.innerStates.a.count, s1.innerStates.b.count]).toEqual([1, 1])
  })

  it('mixes transformations per label, by a function of the path', () => {
    const zero = setToZero()
    const tx = partition({ train: identity(), frozen: zero }, (path) => (path[0] === 'embed' ? 'frozen' : 'train'))
    const [u] = tx.update(grads, tx.init(params), params)
    const out = u as typeof params
    expect(toArray(out.embed)).toEqual([0, 0, 0, 0])
    expect(out.head.W).toBe(grads.head.W)
  })

  it('rejects unknown labels, non-string labels and bad transforms with typed errors naming the leaf', () => {
    const e1 = thrown(() => partition({ a: identity() }, { embed: 'a', head: { W: 'a', b: 'c' }, layers: ['a', null] } as never).init(params))
    expect(e1).toBeInstanceOf(ConfigError)
    expect(e1.message).toContain('labels.head.b')
    expect(e1.message).toContain('"c"')
    const e2 = thrown(() => partition({ a: identity() }, (() => 3) as never).init(params))
    expect(e2).toBeInstanceOf(ConfigError)
    expect(thrown(() => partition({ a: 1 } as never, 'a'))).toBeInstanceOf(ConfigError)
    expect(thrown(() => partition([identity()] as never, 'a' as never))).toBeInstanceOf(ConfigError)
    const tx = partition({ a: identity(), b: identity() }, () => 'a')
    expect(thrown(() => tx.update(grads, { innerStates: { a: {} } } as never, params))).toBeInstanceOf(StructureError)
  })

  it('equals masked for two labels', () => {
    fc.assert(
      fc.property(arbTree(), fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }), (tree, bits) => {
        const [ls, def] = flatten(tree)
        const mask = unflatten(def, ls.map((_, i) => bits[i % bits.length]))
        const labels = unflatten(def, ls.map((_, i) => (bits[i % bits.length] ? 'on' : 'off')))
        const inner: GradientTransformation<unknown> = spy().tx as GradientTransformation<unknown>
        const p = partition({ on: inner, off: identity() }, labels as never)
        const m = masked(inner, mask)
        expectSameTree(p.update(tree, p.init(tree), tree)[0], m.update(tree, m.init(tree), tree)[0])
      }),
      { numRuns: 100 },
    )
  })
})

describe('freeze', () => {
  it('zeroes the selected leaves and passes the others through', () => {
    const tx = chain(identity(), freeze({ embed: true, head: { W: false, b: true }, layers: [false, null] }))
    const [u] = tx.update(grads, tx.init(params), params)
    const out = u as typeof params
    expect(toArray(out.embed)).toEqual([0, 0, 0, 0])
    expect(toArray(out.head.b)).toEqual([0])
    expect(out.head.W).toBe(grads.head.W)
    expect(out.layers[0]).toBe(grads.layers[0])
  })
})

/**
 * Constraints as transformations: leafwise, treewise and constrainParams
 * inside chains, and clipByTotalNorm with its norm in the state.
 */
import { describe, expect, it } from 'vitest'
import { clipByGlobalNorm, clipByNorm, clipGradNorm, computeNorms, normConstraint, totalNormConstraint } from '../src/constraints/index.js'
import { EMPTY_STATE, type EmptyState, type GradientTransformation, type Params, applyUpdates, chain, optimizer, transformation } from '../src/core/index.js'
import { ConfigError, ShapeError, StructureError } from '../src/errors/index.js'
import { type Tensor, scaleAll, tensor, toArray } from '../src/tensor/index.js'
import { clipByTotalNorm, constrainParams, leafwise, treewise } from '../src/transforms/constrain.js'
import { scale } from '../src/transforms/index.js'
import { fastPathOf } from '../src/core/fusion.js'
import { leaves, mapTree } from '../src/tree/index.js'
import { expectBits, expectClose, expectUnchanged, snapshot, thrown } from './helpers/constraints.js'

/** The simple update of these tests: plain gradient descent, `u = -lr·g`. */
function descent(lr: number): GradientTransformation<EmptyState> {
  return transformation({ init: () => EMPTY_STATE, update: (u, s) => [mapTree(u, (g) => scaleAll(g, -lr), 'updates') as Params, s] })
}

const params = (): Params => ({
  layers: [{ W: tensor([[3, 0.3], [4, 0.4]]), b: tensor([0.5, -0.5]) }, null],
  out: tensor([[1], [2]]),
})
const grads = (): Params => ({
  layers: [{ W: tensor([[-30, 1], [-40, 1]]), b: tensor([3, 4]) }, null],
  out: tensor([[0.1], [0.2]]),
})
/** The leaves of a tree in canonical order, as number arrays. */
const values = (t: Params) => leaves(t).map(toArray)
const snapshots = (t: Params) => leaves(t).map(snapshot)

describe('leafwise', () => {
  it('applies f to every update leaf inside a chain, keeping the structure', () => {
    const tx = chain(leafwise((g) => clipByNorm(g, 1)), descent(0.1))
    const g = grads()
    const before = snapshots(g)
    const [u, state] = tx.update(g, tx.init(params()), params())
    before.forEach(expectUnchanged)
    expect((u as { layers: unknown[] }).layers[1]).toBeNull()
    const want = leaves(g).map((t) => scaleAll(clipByNorm(t, 1), -0.1))
    leaves(u).forEach((t, i) => expectBits(t, toArray(want[i])))
    expect(state).toEqual([EMPTY_STATE, EMPTY_STATE])
    expect(Object.isFrozen(state)).toBe(true)
  })
  it('a constraint that changes a leaf’s shape is a ShapeError naming the path', () => {
    const tx = leafwise((g) => tensor(toArray(g)))
    const e = thrown(() => tx.update(grads(), tx.init(params())))
    expect(e).toBeInstanceOf(ShapeError)
    expect(e.message).toContain('layers[0].W')
  })
})

describe('treewise', () => {
  it('applies f to all leaves at once (total norm), in canonical order', () => {
    const tx = chain(treewise((gs) => totalNormConstraint(gs, 5)), descent(1))
    const g = grads()
    const [u] = tx.update(g, tx.init(params()))
    const want = totalNormConstraint(leaves(g), 5).map((t) => scaleAll(t, -1))
    leaves(u).forEach((t, i) => expectBits(t, toArray(want[i])))
    const n = Math.sqrt(values(u).flat().reduce((s, v) => s + v * v, 0))
    expect(n).toBeLessThanOrEqual(5)
  })
  it('f must return one tensor per leaf', () => {
    const tx = treewise((gs) => gs.slice(1))
    const e = thrown(() => tx.update(grads(), EMPTY_STATE))
    expect(e).toBeInstanceOf(StructureError)
    expect(e.message).toContain('one tensor per leaf')
  })
})

describe('constrainParams', () => {
  const maxCol = (W: Tensor) => Math.max(...toArray(computeNorms(W)))
  const project = (ps: Tensor[]) => ps.map((p) => (p.shape.length === 2 ? normConstraint(p, 1) : p))

  it('emits f(params + u) - params, so the new params are the projected ones', () => {
    const tx = chain(descent(0.1), constrainParams(project))
    const p = params()
    const g = grads()
    const before = [...snapshots(p), ...snapshots(g)]
    const [u] = tx.update(g, tx.init(p), p)
    before.forEach(expectUnchanged)
    const moved = leaves(applyUpdates(p, mapTree(g, (t) => scaleAll(t, -0.1)) as Params))
    const projected = project(moved)
    leaves(applyUpdates(p, u)).forEach((t, i) => expectClose(t, projected[i], 1e-15, 1e-15))
  })
  it('max-norm regularisation: columns of every weight matrix stay within the bound at every step', () => {
    const opt = optimizer(chain(descent(0.5), constrainParams(project)))
    let p = params()
    let s = opt.init(p)
    for (let step = 0; step < 5; step++) {
      ;[p, s] = opt.step(p, grads(), s)
      for (const W of leaves(p).filter((t) => t.shape.length === 2)) expect(maxCol(W)).toBeLessThanOrEqual(1 + 1e-5)
    }
  })
  it('without params it throws a StructureError naming params', () => {
    const tx = constrainParams(project)
    const e = thrown(() => tx.update(grads(), tx.init(params())))
    expect(e).toBeInstanceOf(StructureError)
    expect((e as StructureError).where).toBe('params')
    expect(e.message).toContain('params')
  })
  it('params and updates must agree in structure (the path is named)', () => {
    const tx = constrainParams(project)
    const e = thrown(() => tx.update({ out: tensor([[1], [2]]) }, EMPTY_STATE, params()))
    expect(e).toBeInstanceOf(StructureError)
  })
})

describe('construction', () => {
  it('a constraint that is not a function is a ConfigError naming f', () => {
    for (const make of [leafwise, treewise, constrainParams]) {
      const e = thrown(() => make(3 as never))
      expect(e).toBeInstanceOf(ConfigError)
      expect((e as ConfigError).where).toBe('f')
    }
  })
  it('a constraint that returns a non-tensor is a StructureError', () => {
    expect(thrown(() => leafwise(() => 3 as never).update(grads(), EMPTY_STATE))).toBeInstanceOf(StructureError)
    expect(thrown(() => treewise((gs) => gs.map(() => null as never)).update(grads(), EMPTY_STATE))).toBeInstanceOf(StructureError)
  })
})

describe('clipByTotalNorm', () => {
  const g = grads()
  const N = Math.sqrt(values(g).flat().reduce((s, v) => s + v * v, 0))

  it('keeps the pre-clip total norm in a frozen state, for logging', () => {
    const tx = chain(clipByTotalNorm(5), descent(0.01))
    const s0 = tx.init(params())
    expect(s0[0]).toEqual({ norm: 0 })
    const [u, s1] = tx.update(g, s0, params())
    expect(s1[0].norm).toBeCloseTo(N, 12)
    expect(Object.isFrozen(s1[0])).toBe(true)
    const want = totalNormConstraint(leaves(g), 5).map((t) => scaleAll(t, -0.01))
    leaves(u).forEach((t, i) => expectBits(t, toArray(want[i])))
    const [, s2] = tx.update(mapTree(g, (t) => scaleAll(t, 0)) as Params, s1, params())
    expect(s2[0].norm).toBe(0)
  })
  it('each flavor reproduces its function', () => {
    const flavors = {
      lasagne: totalNormConstraint(leaves(g), 2),
      torch: clipGradNorm(leaves(g), 2)[0],
      tensorflow: clipByGlobalNorm(leaves(g), 2)[0],
    }
    for (const [flavor, want] of Object.entries(flavors)) {
      const tx = clipByTotalNorm(2, { flavor: flavor as keyof typeof flavors })
      const [u, s] = tx.update(g, tx.init(params()))
      leaves(u).forEach((t, i) => expectBits(t, toArray(want[i])))
      expect(s.norm).toBeCloseTo(N, 12)
    }
  })
  it("one-factor flavors fold into the next stage's pass: the same updates, norm and state as the stages one by one", () => {
    // lasagne, torch and tensorflow scale every update by one factor; optax divides, then multiplies
    const folds = { lasagne: true, torch: true, tensorflow: true, optax: false } as const
    for (const [flavor, folded] of Object.entries(folds)) {
      const clip = clipByTotalNorm(2, { flavor: flavor as keyof typeof folds })
      expect(fastPathOf(clip)?.scaling !== undefined, flavor).toBe(folded)
      const tx = chain(clip, scale(-0.01))
      const [p1, s1] = optimizer(tx).step(params(), g, tx.init(params()))
      const [u, c] = clip.update(g, clip.init(params()))
      const want = applyUpdates(params(), mapTree(u, (t) => scaleAll(t, -0.01)) as Params)
      leaves(p1).forEach((t, i) => expectBits(t, toArray(leaves(want)[i])))
      expect(s1[0]).toEqual(c)
    }
  })
  it('bad limits and flavors fail when the transform is built', () => {
    expect(thrown(() => clipByTotalNorm(-1))).toBeInstanceOf(ConfigError)
    expect(thrown(() => clipByTotalNorm(0, { flavor: 'tensorflow' })).message).toContain('clipNorm')
    expect(thrown(() => clipByTotalNorm(1, { flavor: 'keras' as 'torch' })).message).toContain('flavor')
    expect(thrown(() => clipByTotalNorm(-1, { flavor: 'optax' })).message).toContain('maxNorm')
    expect(thrown(() => clipByTotalNorm(1, { method: 'torch' } as never))).toBeInstanceOf(ConfigError)
  })
})

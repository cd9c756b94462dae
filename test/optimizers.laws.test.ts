/**
 * Laws of the optimizer recipes: the momentum wrappers equal the Lasagne
 * shortcuts bit for bit, identity is a unit on both sides of chain, results
 * do not depend on strides, inputs are never written, states are frozen, and
 * dtypes are kept.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type GradientTransformation, type Params, chain, identity } from '../src/core/index.js'
import { DtypeError, ShapeError, StructureError } from '../src/errors/index.js'
import {
  adadelta,
  adagrad,
  adam,
  adamax,
  amsgrad,
  applyMomentum,
  applyNesterovMomentum,
  momentum,
  nesterovMomentum,
  rmsprop,
  sgd,
} from '../src/optimizers/index.js'
import { exponentialDecay, linear } from '../src/schedules/index.js'
import { type Dtype, type Tensor, copy, dtypeOf, tensor, toArray } from '../src/tensor/index.js'
import { freezeTree, leaves } from '../src/tree/index.js'
import { expectUnchanged, snapshot, thrown } from './helpers/constraints.js'
import { expectSameBits, run, stateTensors } from './helpers/optimizers.js'
import { arbDtype, arbShape, arbViewOf } from './helpers/views.js'

const ALL: readonly [string, () => GradientTransformation<unknown>][] = [
  ['sgd', () => sgd(0.1)],
  ['momentum', () => momentum({ learningRate: 0.05, momentum: 0.8 })],
  ['nesterovMomentum', () => nesterovMomentum({ learningRate: 0.05, momentum: 0.8 })],
  ['adagrad', () => adagrad(0.1)],
  ['rmsprop', () => rmsprop(0.01)],
  ['adadelta', () => adadelta()],
  ['adam', () => adam(0.01)],
  ['adamax', () => adamax()],
  ['amsgrad', () => amsgrad(0.01)],
  ['applyMomentum(rmsprop)', () => applyMomentum(rmsprop(0.01))],
  ['applyNesterovMomentum(adam)', () => applyNesterovMomentum(adam(0.01), { momentum: 0.5 })],
]

/** A params-like tree `{ w: [shapeA], b: [[shapeB]] }` of one dtype whose leaves are given. */
const treeOf = (w: Tensor, b: Tensor): Params => ({ w, b: [b] })

/** `steps` gradient trees as strided views, for two leaves of the given shapes and dtype. */
function arbGradViews(shapeW: number[], shapeB: number[], dtype: Dtype, steps: number): fc.Arbitrary<Params[]> {
  const step = fc.tuple(arbViewOf(shapeW, dtype), arbViewOf(shapeB, dtype)).map(([w, b]) => treeOf(w.t, b.t))
  return fc.array(step, { minLength: steps, maxLength: steps })
}

const arbCase = fc
  .tuple(arbShape(3, 4), arbShape(3, 4), arbDtype, fc.integer({ min: 1, max: 4 }))
  .chain(([shapeW, shapeB, dtype, steps]) =>
    fc.record({ params: fc.tuple(arbViewOf(shapeW, dtype), arbViewOf(shapeB, dtype)).map(([w, b]) => treeOf(w.t, b.t)), grads: arbGradViews(shapeW, shapeB, dtype, steps) }),
  )

const contiguous = (tree: Params): Params => treeOf(copy((tree as { w: Tensor }).w), copy((tree as { b: Tensor[] }).b[0]))

describe('momentum wrappers equal the Lasagne shortcuts, bit for bit', () => {
  const pairs: [string, () => GradientTransformation<unknown>, () => GradientTransformation<unknown>][] = [
    ['applyMomentum(sgd) = momentum', () => applyMomentum(sgd(0.05), { momentum: 0.7 }), () => momentum({ learningRate: 0.05, momentum: 0.7 })],
    ['applyNesterovMomentum(sgd) = nesterovMomentum', () => applyNesterovMomentum(sgd(0.05), { momentum: 0.7 }), () => nesterovMomentum({ learningRate: 0.05, momentum: 0.7 })],
    ['defaults (momentum 0.9)', () => applyMomentum(sgd(0.1)), () => momentum(0.1)],
    ['defaults, Nesterov', () => applyNesterovMomentum(sgd(0.1)), () => nesterovMomentum(0.1)],
    [
      'scheduled learning rate and momentum',
      () => applyMomentum(sgd(linear({ initValue: 0.1, endValue: 0.01, transitionSteps: 3 })), { momentum: (s) => 0.5 + s / 10 }),
      () => momentum({ learningRate: linear({ initValue: 0.1, endValue: 0.01, transitionSteps: 3 }), momentum: (s) => 0.5 + s / 10 }),
    ],
  ]
  it.each(pairs)('%s', (_, wrapped, shortcut) => {
    fc.assert(
      fc.property(arbCase, ({ params, grads }) => {
        const a = run(wrapped(), params, grads)
        const b = run(shortcut(), params, grads)
        expectSameBits(a.trajectory, b.trajectory)
        expectSameBits(a.state, b.state)
      }),
      { numRuns: 40 },
    )
  })
})

describe('identity is a unit of chain for every optimizer', () => {
  it.each(ALL)('%s', (_, make) => {
    fc.assert(
      fc.property(arbCase, ({ params, grads }) => {
        const plain = run(make(), params, grads).trajectory
        expectSameBits(run(chain(identity(), make()), params, grads).trajectory, plain)
        expectSameBits(run(chain(make(), identity()), params, grads).trajectory, plain)
      }),
      { numRuns: 15 },
    )
  })
})

describe('stride invariance: strided views give the results of contiguous copies', () => {
  it.each(ALL)('%s', (_, make) => {
    fc.assert(
      fc.property(arbCase, ({ params, grads }) => {
        const views = run(make(), params, grads)
        const copies = run(make(), contiguous(params), grads.map(contiguous))
        expectSameBits(views.trajectory, copies.trajectory)
        expectSameBits(views.state, copies.state)
      }),
      { numRuns: 20 },
    )
  })
})

describe('purity: inputs never written, states frozen, dtypes kept', () => {
  it.each(ALL)('%s', (_, make) => {
    fc.assert(
      fc.property(arbCase, ({ params, grads }) => {
        const tx = make()
        let state = freezeTree(tx.init(params))
        const dtype = dtypeOf(leaves(params)[0])
        for (const g of grads) {
          const before = [...leaves(params), ...leaves(g), ...stateTensors(state)].map(snapshot)
          const [u, next] = tx.update(g, state, params)
          before.forEach(expectUnchanged)
          expect(Object.isFrozen(next)).toBe(true)
          for (const t of [...leaves(u), ...stateTensors(next)]) expect(dtypeOf(t)).toBe(dtype)
          state = next
        }
      }),
      { numRuns: 15 },
    )
  })

  it('a tree mixing float32 and float64 leaves keeps each dtype, with hyperparameters rounded per dtype', () => {
    const params = { a: tensor([1, 2], [2], 'float32'), b: tensor([1, 2], [2], 'float64') }
    const grads = { a: tensor([0.3, -0.7], [2], 'float32'), b: tensor([0.3, -0.7], [2], 'float64') }
    const tx = sgd(0.1)
    const [u] = tx.update(grads, tx.init(params), params)
    const { a, b } = u as { a: Tensor; b: Tensor }
    expect(dtypeOf(a)).toBe('float32')
    expect(dtypeOf(b)).toBe('float64')
    expect(toArray(a)).toEqual([Math.fround(-Math.fround(0.1) * Math.fround(0.3)), Math.fround(-Math.fround(0.1) * Math.fround(-0.7))])
    expect(toArray(b)).toEqual([-0.1 * 0.3, -0.1 * -0.7])
  })

  it('the step count is one number for all leaves, starting at 0', () => {
    const params = { w: tensor([1, 2]), b: tensor([3]) }
    const grads = { w: tensor([0.1, 0.2]), b: tensor([0.3]) }
    const { state } = run(adam(), params, [grads, grads, grads])
    const [inner, lr] = state
    expect(inner.count).toBe(3)
    expect(lr.count).toBe(3)
    expect(adam().init(params)[0].count).toBe(0)
  })
})

describe('mismatched trees name the path', () => {
  const params = { layers: [{ W: tensor([[1, 2], [3, 4]]) }, { W: tensor([1, 2, 3]) }] }
  const tx = adam()
  const state = tx.init(params)

  it('a missing leaf in the gradients', () => {
    const e = thrown(() => tx.update({ layers: [{ W: tensor([[1, 2], [3, 4]]) }] }, state, params))
    expect(e).toBeInstanceOf(StructureError)
    expect(e.message).toContain('state.mu')
  })
  it('a shape mismatch between gradients and state', () => {
    const e = thrown(() => tx.update({ layers: [{ W: tensor([[1, 2], [3, 4]]) }, { W: tensor([1, 2]) }] }, state, params))
    expect(e).toBeInstanceOf(ShapeError)
    // the update is compared against the state built from the params, so the update is the one named
    expect(e.message).toBe('updates.layers[1].W: shape [2] vs state.mu.layers[1].W [3]')
  })
  it('float64 gradients for float32 params', () => {
    const p32 = { w: tensor([1, 2], [2], 'float32') }
    const e = thrown(() => tx.update({ w: tensor([1, 2]) }, tx.init(p32), p32))
    expect(e).toBeInstanceOf(DtypeError)
    expect(e.message).toContain('state.mu.w')
  })
  it('params that do not match the updates when applied', () => {
    const e = thrown(() => run(sgd(0.1), { a: tensor([1, 2]) }, [{ a: tensor([1, 2]), b: tensor([1]) } as Params]))
    expect(e).toBeInstanceOf(StructureError)
  })
  it('a state that is not the transformation’s own', () => {
    const e = thrown(() => sgd(0.1).update(params, { velocity: params } as never, params))
    expect(e.message).toContain('state.count')
    const f = thrown(() => momentum(0.1).update(params, [{ count: 0 }, { count: 0 }] as never, params))
    expect(f).toBeInstanceOf(StructureError)
    expect(f.message).toContain('state.velocity')
  })
})

describe('scheduled decay rates run through every block', () => {
  it('exponentially decaying beta1 changes adam from step 1 on but not at step 0', () => {
    const p = tensor([1, 2, -3])
    const g = [tensor([0.1, -0.2, 0.3]), tensor([0.3, 0.1, -0.2])]
    const decayed = exponentialDecay({ initValue: 0.9, transitionSteps: 1, decayRate: 0.5 })
    const a = run(adam({ beta1: decayed }), p, g).trajectory
    const b = run(adam(), p, g).trajectory
    expectSameBits(a[0], b[0])
    expect(Array.from((a[1] as Tensor).data)).not.toEqual(Array.from((b[1] as Tensor).data))
  })
})

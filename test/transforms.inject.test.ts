/**
 * injectHyperparams: the numbers equal the unwrapped optimizer's bit for bit,
 * schedules take effect at exactly the right step, and a training loop can
 * read hyperparameters back and replace them purely.
 */
import { describe, expect, it } from 'vitest'
import { type GradientTransformation, type Params, optimizer } from '../src/core/index.js'
import { ConfigError } from '../src/errors/index.js'
import { adadelta, adagrad, adam, adamax, amsgrad, applyMomentum, momentum, nesterovMomentum, rmsprop, sgd } from '../src/optimizers/index.js'
import { cosineDecay, linear, piecewiseConstant } from '../src/schedules/index.js'
import { type Tensor, tensor, toArray } from '../src/tensor/index.js'
import { type InjectHyperparamsState, type Schedule, injectHyperparams } from '../src/transforms/index.js'
import { thrown } from './helpers/constraints.js'
import { expectSameBits, run } from './helpers/optimizers.js'

const params = { w: tensor([[1, -2], [0.5, 3]], undefined, 'float32'), b: tensor([0.25, -1]) }
const gradsAt = (k: number): Params => ({
  w: tensor([[0.1 * (k + 1), -0.3], [0.7, -0.05 * k]], undefined, 'float32'),
  b: tensor([Math.sin(k), 0.2 - k / 10]),
})
const grads = Array.from({ length: 6 }, (_, k) => gradsAt(k))

const decay: Schedule = linear({ initValue: 0.1, endValue: 0.02, transitionSteps: 4 })
const cosine: Schedule = cosineDecay({ initValue: 0.9, decaySteps: 5, alpha: 0.5 })

describe('an injected run equals the plain run, bit for bit', () => {
  const cases: [string, (o: never) => GradientTransformation<unknown>, Record<string, number | Schedule>][] = [
    ['sgd', sgd as never, { learningRate: 0.1 }],
    ['sgd, scheduled', sgd as never, { learningRate: decay }],
    ['momentum', momentum as never, { learningRate: decay, momentum: cosine }],
    ['nesterovMomentum', nesterovMomentum as never, { learningRate: 0.05, momentum: 0.5 }],
    ['adagrad', adagrad as never, { learningRate: decay, epsilon: 1e-4 }],
    ['rmsprop', rmsprop as never, { learningRate: 0.01, rho: cosine }],
    ['adadelta', adadelta as never, { learningRate: decay, rho: 0.9, epsilon: 1e-5 }],
    ['adam', adam as never, { learningRate: decay, beta1: cosine, beta2: 0.99, epsilon: 1e-6 }],
    ['adamax', adamax as never, { learningRate: 0.01, beta1: cosine }],
    ['amsgrad', amsgrad as never, { learningRate: decay, beta2: 0.99 }],
  ]
  it.each(cases)('%s', (_, factory, options) => {
    const plain = run(factory(options as never), params, grads)
    const injected = run(injectHyperparams(factory)(options as never), params, grads)
    expectSameBits(injected.trajectory, plain.trajectory)
    expectSameBits((injected.state as InjectHyperparamsState<unknown>).inner, plain.state)
  })

  it('applyMomentum with an injected momentum', () => {
    const factory = (o: { momentum?: number | Schedule }) => applyMomentum(rmsprop(0.01), o)
    const plain = run(factory({ momentum: cosine }), params, grads)
    const injected = run(injectHyperparams(factory)({ momentum: cosine }), params, grads)
    expectSameBits(injected.trajectory, plain.trajectory)
  })
})

describe('schedules take effect at exactly the right step', () => {
  const g = tensor([1, -2, 4])
  const p = tensor([0, 0, 0])

  it('piecewiseConstant: lr 0.1 for steps 0..2, then 0.01 from step 3 (sgd emits −lr·g)', () => {
    const lr = piecewiseConstant({ initValue: 0.1, boundariesAndScales: { 3: 0.1 } })
    const tx = sgd(lr)
    let state = tx.init(p)
    const used: number[] = []
    for (let k = 0; k < 6; k++) {
      const [u, s] = tx.update(g, state)
      state = s
      used.push(-toArray(u as Tensor)[0])
    }
    expect(used).toEqual([0.1, 0.1, 0.1, lr(3), lr(3), lr(3)])
    expect(lr(3)).toBeCloseTo(0.01, 15)
  })

  it('adam: a schedule changes the update at its boundary and nowhere else', () => {
    const lr = piecewiseConstant({ initValue: 1e-3, boundariesAndScales: { 2: 10 } })
    const scheduled = run(adam(lr), p, [g, g, g, g]).trajectory
    const low = run(adam(1e-3), p, [g, g, g, g]).trajectory
    expectSameBits(scheduled.slice(0, 2), low.slice(0, 2))
    const d = (k: number, t: Params[]) => toArray(t[k] as Tensor)[0] - toArray(t[k - 1] as Tensor)[0]
    expect(d(2, scheduled) / d(2, low)).toBeCloseTo(10, 9)
    expect(d(3, scheduled) / d(3, low)).toBeCloseTo(10, 9)
  })

  it('injected: state.hyperparams always holds the value the next update uses', () => {
    const lr = piecewiseConstant({ initValue: 0.1, boundariesAndScales: { 3: 0.1 } })
    const tx = injectHyperparams(sgd)({ learningRate: lr })
    let state = tx.init(p)
    const read: number[] = [state.hyperparams.learningRate]
    for (let k = 0; k < 5; k++) {
      const [u, s] = tx.update(g, state)
      expect(-toArray(u as Tensor)[0]).toBe(state.hyperparams.learningRate)
      state = s
      read.push(state.hyperparams.learningRate)
    }
    expect(read).toEqual([0.1, 0.1, 0.1, lr(3), lr(3), lr(3)])
    expect(state.count).toBe(5)
  })
})

describe('a training loop replaces a hyperparameter purely', () => {
  const g = tensor([1, -2, 4])
  const p = tensor([0, 0, 0])

  it('a replaced learning rate is used from the next update on; the old state is untouched', () => {
    const tx = injectHyperparams(adam)({ learningRate: 1e-3 })
    const opt = optimizer(tx)
    let state = opt.init(p)
    let x: Params = p
    for (let k = 0; k < 2; k++) [x, state] = opt.step(x, g, state)
    expect(state.hyperparams.learningRate).toBe(1e-3)
    const old = state
    const lowered = { ...state, hyperparams: { ...state.hyperparams, learningRate: 1e-4 } }
    const [x3, s3] = opt.step(x, g, lowered)
    expect(old.hyperparams.learningRate).toBe(1e-3)
    expect(s3.hyperparams.learningRate).toBe(1e-4)
    // exactly a plain adam whose learning rate switches at step 2
    const reference = run(adam((s) => (s < 2 ? 1e-3 : 1e-4)), p, [g, g, g])
    expectSameBits(x3, reference.trajectory[2])
    expectSameBits(s3.inner, reference.state)
  })

  it('a replaced scheduled value holds for one update, then the schedule resumes', () => {
    const lr: Schedule = (s) => 0.1 / (s + 1)
    const tx = injectHyperparams(sgd)({ learningRate: lr })
    let state = tx.init(p)
    ;[, state] = tx.update(g, state)
    const [u, next] = tx.update(g, { ...state, hyperparams: { learningRate: 7 } })
    expect(toArray(u as Tensor)).toEqual([-7, 14, -28])
    expect(next.hyperparams.learningRate).toBe(lr(2))
  })

  it('a replaced NaN, a missing value or a value out of its domain is a ConfigError', () => {
    const tx = injectHyperparams(adam)({ learningRate: 1e-3, beta1: 0.9 })
    const state = tx.init(p)
    const nan = thrown(() => tx.update(g, { ...state, hyperparams: { ...state.hyperparams, learningRate: NaN } }))
    expect(nan).toBeInstanceOf(ConfigError)
    expect(nan.message).toContain('state.hyperparams.learningRate')
    const missing = thrown(() => tx.update(g, { ...state, hyperparams: { beta1: 0.9 } as never }))
    expect(missing.message).toContain('state.hyperparams.learningRate')
    const beta = thrown(() => tx.update(g, { ...state, hyperparams: { ...state.hyperparams, beta1: 1 } }))
    expect(beta).toBeInstanceOf(ConfigError)
    expect(beta.message).toContain('beta1')
  })
})

describe('injectHyperparams validation', () => {
  it('checks the options eagerly, through the factory', () => {
    expect(thrown(() => injectHyperparams(adam)({ learningRate: NaN }))).toBeInstanceOf(ConfigError)
    expect(thrown(() => injectHyperparams(adam)({ beta2: 1 }))).toBeInstanceOf(ConfigError)
    expect(thrown(() => injectHyperparams(adam)({ lr: 1 } as never)).message).toContain('lr')
    expect(thrown(() => injectHyperparams(adam)(3 as never))).toBeInstanceOf(ConfigError)
    expect(thrown(() => injectHyperparams(42 as never))).toBeInstanceOf(ConfigError)
  })
  it('a schedule that returns NaN names the hyperparameter and the step', () => {
    const tx = injectHyperparams(sgd)({ learningRate: (s: number) => (s < 2 ? 0.1 : NaN) })
    let state = tx.init(tensor([0]))
    ;[, state] = tx.update(tensor([1]), state)
    const e = thrown(() => tx.update(tensor([1]), state))
    expect(e).toBeInstanceOf(ConfigError)
    expect(e.message).toContain('learningRate')
    expect(e.message).toContain('step 2')
  })
  it('states are frozen', () => {
    const tx = injectHyperparams(adam)({ learningRate: 1e-3 })
    const s0 = tx.init(params)
    const [, s1] = tx.update(gradsAt(0), s0, params)
    for (const s of [s0, s1]) {
      expect(Object.isFrozen(s)).toBe(true)
      expect(Object.isFrozen(s.hyperparams)).toBe(true)
    }
  })
})

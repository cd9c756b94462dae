/**
 * Hyperparameter validation of the optimizers and their building blocks, and
 * the edge cases of semantics.md §4 ("Optimizers").
 */
import { describe, expect, it } from 'vitest'
import { type GradientTransformation, identity } from '../src/core/index.js'
import { ConfigError, isNdoptaxError } from '../src/errors/index.js'
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
import { type Tensor, tensor, toArray } from '../src/tensor/index.js'
import { scale, scaleByAdam, scaleByLearningRate, trace } from '../src/transforms/index.js'
import { thrown } from './helpers/constraints.js'
import { fixed, run, stateTensors } from './helpers/optimizers.js'

type Factory = (o: Record<string, unknown>) => GradientTransformation<unknown>
const f = (make: unknown) => make as Factory

const WITH_LR: [string, Factory][] = [
  ['sgd', f(sgd)],
  ['momentum', f(momentum)],
  ['nesterovMomentum', f(nesterovMomentum)],
  ['adagrad', f(adagrad)],
  ['rmsprop', f(rmsprop)],
  ['adadelta', f(adadelta)],
  ['adam', f(adam)],
  ['adamax', f(adamax)],
  ['amsgrad', f(amsgrad)],
]
const DECAYS: [string, Factory, string][] = [
  ['momentum', f(momentum), 'momentum'],
  ['nesterovMomentum', f(nesterovMomentum), 'momentum'],
  ['rmsprop', f(rmsprop), 'rho'],
  ['adadelta', f(adadelta), 'rho'],
  ...(['adam', 'adamax', 'amsgrad'] as const).flatMap((n) => {
    const make = f({ adam, adamax, amsgrad }[n])
    return [[n, make, 'beta1'] as [string, Factory, string], [n, make, 'beta2'] as [string, Factory, string]]
  }),
]
const EPSILONS: [string, Factory][] = WITH_LR.slice(3)

/** Expects a ConfigError whose `where` / message name `word`. */
function expectConfigError(fn: () => unknown, word: string): void {
  const e = thrown(fn)
  expect(e).toBeInstanceOf(ConfigError)
  expect(isNdoptaxError(e)).toBe(true)
  expect(e.name).toBe('ConfigError')
  expect(e.message).toContain(word)
}

const p = tensor([1, 2, -3])
const g = tensor([0.1, -0.2, 0.3])
const stepOnce = (tx: GradientTransformation<unknown>) => tx.update(g, tx.init(p), p)

describe('learning rate', () => {
  it.each(WITH_LR)('%s: NaN, ±Infinity and non-numbers are ConfigErrors', (_, make) => {
    for (const bad of [NaN, Infinity, -Infinity, '0.1', null]) expectConfigError(() => make({ learningRate: bad }), 'learningRate')
  })
  it.each(WITH_LR)('%s: a schedule returning NaN is a ConfigError naming the step', (_, make) => {
    const tx = make({ learningRate: (s: number) => (s === 2 ? NaN : 0.1) })
    const grads = fixed([0.1, -0.2, 0.3], 2)
    expect(() => run(tx, p, grads)).not.toThrow()
    expectConfigError(() => run(tx, p, fixed([0.1, -0.2, 0.3], 3)), 'learningRate (schedule at step 2)')
  })
  it.each(WITH_LR)('%s: a negative learning rate is ascent, the mirror image of descent', (_, make) => {
    const [down] = stepOnce(make({ learningRate: 0.1 }))
    const [up] = stepOnce(make({ learningRate: -0.1 }))
    expect(toArray(up as Tensor)).toEqual(toArray(down as Tensor).map((x) => -x))
  })
  it.each(WITH_LR.slice(0, 3))('%s: the learning rate is required', (name, make) => {
    expectConfigError(() => make({}), `${name}.learningRate`)
    expectConfigError(() => make(undefined as never), 'learningRate')
  })
  it.each(WITH_LR)('%s: a bare number or schedule is the learning rate', (_, make) => {
    const a = stepOnce(make({ learningRate: 0.05 }))[0]
    expect(toArray(stepOnce((make as (x: unknown) => GradientTransformation<unknown>)(0.05))[0] as Tensor)).toEqual(toArray(a as Tensor))
    expect(toArray(stepOnce((make as (x: unknown) => GradientTransformation<unknown>)(() => 0.05))[0] as Tensor)).toEqual(toArray(a as Tensor))
  })
  it('lr = 0 leaves the params unchanged while the state advances', () => {
    const { trajectory, state } = run(adam(0), p, fixed([0.1, -0.2, 0.3], 2))
    expect(toArray(trajectory[1] as Tensor)).toEqual([1, 2, -3])
    expect(state[0].count).toBe(2)
    expect(toArray(state[0].mu as Tensor)[0]).toBeGreaterThan(0)
  })
})

describe('decay rates (momentum, rho, beta1, beta2) lie in [0, 1)', () => {
  it.each(DECAYS)('%s: %s', (_, make, key) => {
    for (const bad of [1, 1.5, -0.1, NaN, Infinity]) expectConfigError(() => make({ learningRate: 0.1, [key]: bad }), key)
    expect(() => stepOnce(make({ learningRate: 0.1, [key]: 0 }))).not.toThrow()
    expect(() => stepOnce(make({ learningRate: 0.1, [key]: 0.999999 }))).not.toThrow()
  })
  it.each(DECAYS)('%s: a schedule leaving [0, 1) is a ConfigError naming %s and the step', (_, make, key) => {
    const tx = make({ learningRate: 0.1, [key]: (s: number) => (s < 1 ? 0.5 : 1) })
    expectConfigError(() => run(tx, p, fixed([0.1, -0.2, 0.3], 2)), `${key} (schedule at step 1)`)
  })
  it('applyMomentum and applyNesterovMomentum check momentum and the transformation', () => {
    for (const wrap of [applyMomentum, applyNesterovMomentum]) {
      expectConfigError(() => wrap(sgd(0.1), { momentum: 1 }), 'momentum')
      expectConfigError(() => wrap(sgd(0.1), { momentum: -0.5 }), 'momentum')
      expectConfigError(() => wrap(sgd(0.1), { mu: 0.5 } as never), 'mu')
      expectConfigError(() => wrap(42 as never), 'tx')
      expect(() => wrap(identity(), { momentum: 0 })).not.toThrow()
    }
  })
})

describe('epsilon', () => {
  it.each(EPSILONS)('%s: negative, NaN or infinite epsilon is a ConfigError; 0 is allowed', (_, make) => {
    for (const bad of [-1, -1e-12, NaN, Infinity]) expectConfigError(() => make({ epsilon: bad }), 'epsilon')
    expect(() => make({ epsilon: 0 })).not.toThrow()
  })
  it.each(EPSILONS)('%s: epsilon = 0 with a zero gradient gives 0/0 = NaN, as in Lasagne', (_, make) => {
    const { trajectory } = run(make({ epsilon: 0 }), tensor([1]), [tensor([0])])
    expect(Number.isNaN(toArray(trajectory[0] as Tensor)[0])).toBe(true)
  })
})

describe('options objects', () => {
  it.each(WITH_LR)('%s: unknown keys are ConfigErrors naming the key', (name, make) => {
    expectConfigError(() => make({ learningRate: 0.1, lr: 0.1 }), `${name}.lr`)
    expectConfigError(() => make({ learningRate: 0.1, beta_1: 0.9 }), 'beta_1')
  })
  it('the blocks check their own options', () => {
    expectConfigError(() => scaleByAdam({ b1: 0.9 } as never), 'scaleByAdam.b1')
    expectConfigError(() => trace({ nesterov: 'yes' } as never), 'nesterov')
    expectConfigError(() => trace({ momentum: 1 }), 'momentum')
    expectConfigError(() => scale(NaN), 'factor')
    expectConfigError(() => scaleByLearningRate('0.1' as never), 'learningRate')
    expectConfigError(() => scaleByAdam(5 as never), 'scaleByAdam')
  })
})

describe('semantics.md §4 edge cases', () => {
  it('one NaN gradient poisons the moments for good (the max keeps NaN in adamax and amsgrad)', () => {
    for (const make of [adam, adamax, amsgrad, adagrad, rmsprop, adadelta] as (() => GradientTransformation<unknown>)[]) {
      const grads = [tensor([NaN, 1]), tensor([0.5, 1]), tensor([0.5, 1])]
      const { trajectory, state } = run(make(), tensor([1, 1]), grads)
      expect(Number.isNaN(toArray(trajectory[2] as Tensor)[0])).toBe(true)
      expect(Number.isNaN(toArray(trajectory[2] as Tensor)[1])).toBe(false)
      for (const t of stateTensors(state)) expect(Number.isNaN(toArray(t)[0])).toBe(true)
    }
  })
  it('an infinite gradient gives NaN (inf/inf) in adam', () => {
    const { trajectory } = run(adam(), tensor([1]), [tensor([Infinity])])
    expect(Number.isNaN(toArray(trajectory[0] as Tensor)[0])).toBe(true)
  })
  it('zero gradients keep the params exactly and every state at 0', () => {
    for (const make of [adam, adamax, amsgrad, adagrad, rmsprop, adadelta] as (() => GradientTransformation<unknown>)[]) {
      const { trajectory, state } = run(make(), tensor([1, -2]), fixed([0, 0], 3))
      expect(toArray(trajectory[2] as Tensor)).toEqual([1, -2])
      for (const t of stateTensors(state)) expect(toArray(t).every((x) => x === 0)).toBe(true)
    }
  })
  it('0-d and zero-size leaves step like any other', () => {
    const params = { s: tensor(2), e: tensor([], [0, 3]) }
    const { trajectory } = run(adam(0.1), params, [{ s: tensor(0.5), e: tensor([], [0, 3]) }])
    const out = trajectory[0] as { s: Tensor; e: Tensor }
    expect(out.s.shape).toEqual([])
    expect(toArray(out.s)[0]).toBeCloseTo(1.9, 6)
    expect(out.e.shape).toEqual([0, 3])
  })
})

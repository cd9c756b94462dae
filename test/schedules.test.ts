import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../src/errors/index.js'
import {
  constant,
  cosineDecay,
  exponentialDecay,
  joinSchedules,
  linear,
  piecewiseConstant,
  polynomial,
  warmupCosineDecay,
} from '../src/schedules/index.js'
import { thrown } from './helpers/constraints.js'

const steps = (s: (k: number) => number, ks: number[]) => ks.map(s)

function expectConfigError(fn: () => unknown, word: string): void {
  const e = thrown(fn)
  expect(e).toBeInstanceOf(ConfigError)
  expect(e.message).toContain(word)
}

describe('constant', () => {
  it('is always its value', () => {
    expect(steps(constant(0.1), [0, 1, 1e6])).toEqual([0.1, 0.1, 0.1])
    expectConfigError(() => constant(NaN), 'value')
  })
})

describe('exponentialDecay', () => {
  it('initValue · decayRate^((step − transitionBegin) / transitionSteps), held before transitionBegin', () => {
    const s = exponentialDecay({ initValue: 0.1, transitionSteps: 100, decayRate: 0.5, transitionBegin: 10 })
    expect(steps(s, [0, 10, 110, 210])).toEqual([0.1, 0.1, 0.05, 0.025])
    expect(s(60)).toBeCloseTo(0.1 * 0.5 ** 0.5, 15)
  })
  it('staircase floors the exponent; endValue bounds the decay (and the growth)', () => {
    const st = exponentialDecay({ initValue: 1, transitionSteps: 10, decayRate: 0.5, staircase: true })
    expect(steps(st, [0, 9, 10, 19, 20])).toEqual([1, 1, 0.5, 0.5, 0.25])
    const floor = exponentialDecay({ initValue: 1, transitionSteps: 1, decayRate: 0.5, endValue: 0.2 })
    expect(steps(floor, [1, 2, 3, 50])).toEqual([0.5, 0.25, 0.2, 0.2])
    const ceiling = exponentialDecay({ initValue: 1, transitionSteps: 1, decayRate: 2, endValue: 5 })
    expect(steps(ceiling, [1, 2, 3])).toEqual([2, 4, 5])
  })
  it('validates its options', () => {
    const ok = { initValue: 1, transitionSteps: 10, decayRate: 0.5 }
    expectConfigError(() => exponentialDecay({ ...ok, transitionSteps: 0 }), 'transitionSteps')
    expectConfigError(() => exponentialDecay({ ...ok, transitionSteps: 1.5 }), 'transitionSteps')
    expectConfigError(() => exponentialDecay({ ...ok, decayRate: 0 }), 'decayRate')
    expectConfigError(() => exponentialDecay({ ...ok, decayRate: NaN }), 'decayRate')
    expectConfigError(() => exponentialDecay({ ...ok, transitionBegin: -1 }), 'transitionBegin')
    expectConfigError(() => exponentialDecay({ ...ok, staircase: 1 as never }), 'staircase')
    expectConfigError(() => exponentialDecay({ ...ok, endValue: NaN }), 'endValue')
    expectConfigError(() => exponentialDecay({ ...ok, decay: 1 } as never), 'exponentialDecay.decay')
    expectConfigError(() => exponentialDecay(undefined as never), 'initValue')
  })
})

describe('piecewiseConstant', () => {
  it('multiplies by each scale from its boundary on (inclusive)', () => {
    const s = piecewiseConstant({ initValue: 2, boundariesAndScales: { 5: 0.5, 3: 0.1 } })
    expect(steps(s, [0, 2, 3, 4, 5, 100])).toEqual([2, 2, 2 * 0.1, 2 * 0.1, 2 * 0.1 * 0.5, 2 * 0.1 * 0.5])
    expect(steps(piecewiseConstant({ initValue: 3 }), [0, 9])).toEqual([3, 3])
  })
  it('validates boundaries and scales', () => {
    expectConfigError(() => piecewiseConstant({ initValue: 1, boundariesAndScales: { 2: -1 } }), 'boundariesAndScales[2]')
    expectConfigError(() => piecewiseConstant({ initValue: 1, boundariesAndScales: { 1.5: 2 } }), 'boundariesAndScales key')
    expectConfigError(() => piecewiseConstant({ initValue: 1, boundariesAndScales: { [-1]: 2 } }), 'boundariesAndScales key')
    expectConfigError(() => piecewiseConstant({ initValue: 1, boundariesAndScales: 3 as never }), 'boundariesAndScales')
  })
})

describe('polynomial and linear', () => {
  it('(initValue − endValue)·(1 − s/transitionSteps)^power + endValue, s clipped to [0, transitionSteps]', () => {
    const s = polynomial({ initValue: 1, endValue: 0.1, transitionSteps: 10, transitionBegin: 5, power: 2 })
    expect(s(0)).toBe(1)
    expect(s(5)).toBe(1)
    expect(s(10)).toBeCloseTo(0.9 * 0.25 + 0.1, 15)
    expect(s(15)).toBeCloseTo(0.1, 15)
    expect(s(1000)).toBeCloseTo(0.1, 15)
  })
  it('linear is polynomial with power 1', () => {
    fc.assert(
      fc.property(fc.double({ min: -10, max: 10, noNaN: true }), fc.double({ min: -10, max: 10, noNaN: true }), fc.integer({ min: 1, max: 50 }), fc.nat(100), (a, b, n, k) => {
        expect(linear({ initValue: a, endValue: b, transitionSteps: n })(k)).toBe(polynomial({ initValue: a, endValue: b, transitionSteps: n, power: 1 })(k))
      }),
    )
    expect(steps(linear({ initValue: 0, endValue: 1, transitionSteps: 4 }), [0, 1, 2, 4, 8])).toEqual([0, 0.25, 0.5, 1, 1])
  })
  it('validates its options', () => {
    expectConfigError(() => linear({ initValue: 0, endValue: 1, transitionSteps: 0 }), 'transitionSteps')
    expectConfigError(() => linear({ initValue: 0, endValue: 1, transitionSteps: 4, power: 2 } as never), 'linear.power')
    expectConfigError(() => polynomial({ initValue: 0, endValue: 1, transitionSteps: 4, power: 0 }), 'power')
    expectConfigError(() => polynomial({ initValue: 0, endValue: NaN, transitionSteps: 4 }), 'endValue')
  })
})

describe('cosineDecay and warmupCosineDecay', () => {
  it('initValue·((1 − alpha)·(½(1 + cos(π s/decaySteps)))^exponent + alpha), s = min(step, decaySteps)', () => {
    const s = cosineDecay({ initValue: 2, decaySteps: 100, alpha: 0.1, exponent: 2 })
    for (const k of [0, 25, 50, 99, 100, 150]) {
      const c = 0.5 * (1 + Math.cos((Math.PI * Math.min(k, 100)) / 100))
      expect(s(k)).toBeCloseTo(2 * (0.9 * c ** 2 + 0.1), 14)
    }
    expect(s(0)).toBe(2)
    expect(s(1000)).toBeCloseTo(0.2, 15)
  })
  it('warm-up is linear to the peak, then cosine to endValue', () => {
    const s = warmupCosineDecay({ initValue: 0, peakValue: 1e-3, warmupSteps: 100, decaySteps: 1000, endValue: 1e-5 })
    expect(s(0)).toBe(0)
    expect(s(50)).toBeCloseTo(5e-4, 18)
    expect(s(100)).toBe(1e-3)
    expect(s(550)).toBeCloseTo((1e-3 + 1e-5) / 2, 15)
    expect(s(1000)).toBeCloseTo(1e-5, 18)
    expect(s(5000)).toBeCloseTo(1e-5, 18)
    const noWarmup = warmupCosineDecay({ initValue: 7, peakValue: 1, warmupSteps: 0, decaySteps: 10 })
    expect(noWarmup(0)).toBe(1)
  })
  it('validates their options', () => {
    expectConfigError(() => cosineDecay({ initValue: 1, decaySteps: 0 }), 'decaySteps')
    expectConfigError(() => cosineDecay({ initValue: 1, decaySteps: 10, exponent: -1 }), 'exponent')
    expectConfigError(() => warmupCosineDecay({ initValue: 0, peakValue: 1, warmupSteps: 10, decaySteps: 10 }), 'decaySteps')
    expectConfigError(() => warmupCosineDecay({ initValue: 0, peakValue: 1, warmupSteps: -1, decaySteps: 10 }), 'warmupSteps')
  })
})

describe('joinSchedules', () => {
  it('restarts each schedule at its boundary', () => {
    const s = joinSchedules([constant(1), (k) => 10 + k, (k) => 100 + k], [3, 5])
    expect(steps(s, [0, 2, 3, 4, 5, 9])).toEqual([1, 1, 10, 11, 100, 104])
    expect(joinSchedules([constant(4)], [])(7)).toBe(4)
  })
  it('validates schedules and boundaries', () => {
    expectConfigError(() => joinSchedules([], []), 'schedules')
    expectConfigError(() => joinSchedules([constant(1), 3 as never], [2]), 'schedules[1]')
    expectConfigError(() => joinSchedules([constant(1), constant(2)], []), 'boundaries')
    expectConfigError(() => joinSchedules([constant(1), constant(2), constant(3)], [5, 2]), 'boundaries[1]')
    expectConfigError(() => joinSchedules([constant(1), constant(2)], [-1]), 'boundaries[0]')
  })
})

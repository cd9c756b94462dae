import { describe, expect, it } from 'vitest'
import { ConfigError } from '../src/errors/index.js'
import { chain, identity } from '../src/core/index.js'
import { type LawName, checkTransformLaws } from '../laws/index.js'
import {
  changesStateKind,
  flattensUpdates,
  heavyBall,
  ignoresStrides,
  mutatesStateRecord,
  mutatesStateTensors,
  mutatesUpdates,
  nondeterministic,
  params2d,
  scaleBy,
  widensDtype,
  violationOf,
} from './laws.fixtures.js'

const RUNS = 30


describe('checkTransformLaws passes correct transformations', () => {
  it('identity, a scale, a pure momentum and their chain', () => {
    checkTransformLaws(identity(), { numRuns: RUNS })
    checkTransformLaws(scaleBy(-0.25), { numRuns: RUNS })
    checkTransformLaws(heavyBall(0.1, 0.9), { numRuns: RUNS, steps: 4 })
    checkTransformLaws(chain(scaleBy(2), heavyBall(0.01, 0.5), identity()), { numRuns: RUNS })
  })

  it('on a user-supplied arbitrary of contiguous 2-D float64 params', () => {
    checkTransformLaws(heavyBall(0.1, 0.9), { numRuns: RUNS, params: params2d })
  })
})

describe('checkTransformLaws catches planted defects', () => {
  const planted: [string, Parameters<typeof checkTransformLaws>[0], LawName][] = [
    ['mutating its incoming updates', mutatesUpdates, 'purity'],
    ['ignoring strides (reads .data[i] by flat index)', ignoresStrides, 'stride-invariance'],
    ['mutating the tensors of its state in place', mutatesStateTensors, 'purity'],
    ['assigning into its (frozen) state record', mutatesStateRecord, 'purity'],
    ['nondeterministic (Math.random)', nondeterministic, 'determinism'],
    ['widening float32 updates to float64', widensDtype, 'dtype'],
    ['flattening the update tree', flattensUpdates, 'update-structure'],
    ['changing the kind of a state leaf', changesStateKind, 'state-structure'],
  ]
  for (const [what, tx, law] of planted) {
    it(`${what} -> ${law}`, () => {
      const e = violationOf(() => checkTransformLaws(tx, { numRuns: RUNS }))
      expect(e.law).toBe(law)
      expect(e.message).toContain(`law "${law}"`)
      expect(e.counterexample).toMatch(/params.*(float32|float64)/)
    })
  }
  const contiguousOnly = planted.filter(([, tx]) => tx !== widensDtype && tx !== flattensUpdates)
  for (const [what, tx, law] of contiguousOnly) {
    it(`${what} -> ${law}, given contiguous 2-D float64 params`, () => {
      const e = violationOf(() => checkTransformLaws(tx, { numRuns: RUNS, params: params2d }))
      expect(e.law).toBe(law)
    })
  }
  it('a dtype change is caught on float64 params too, as an update-structure change on flattened trees', () => {
    expect(violationOf(() => checkTransformLaws(flattensUpdates, { numRuns: RUNS, params: params2d })).law).toBe('update-structure')
  })
})

describe('counterexample reports', () => {
  it('name the law, the shrunk shapes and views, and the first differing element', () => {
    const e = violationOf(() => checkTransformLaws(ignoresStrides, { numRuns: RUNS, params: params2d, seed: 7 }))
    expect(e.law).toBe('stride-invariance')
    expect(e.details).toMatch(/the updates of step \d+ differ: updates\.[VW]\[\d+,\d+\]: got -?[\d.e-]+, want -?[\d.e-]+/)
    expect(e.difference).not.toBeNull()
    expect(e.difference?.index).toHaveLength(2)
    expect(e.counterexample).toMatch(/params\.W: \[\d+,\d+\] float64 \[\[/)
    expect(e.counterexample).toMatch(/as buffer \[[\d,]+\]\.(lo|hi|step|transpose)\(/)
    expect(e.message).toContain('replay with { seed: 7, path: ')
  })

  it('replays the same shrunk counterexample from its seed and path', () => {
    const e = violationOf(() => checkTransformLaws(mutatesUpdates, { numRuns: RUNS }))
    const again = violationOf(() => checkTransformLaws(mutatesUpdates, { seed: e.seed ?? 0, path: e.path ?? '' }))
    expect(again.law).toBe('purity')
    expect(again.counterexample).toBe(e.counterexample)
    expect(again.details).toBe(e.details)
  })

  it('describes a purity violation by the storage element written', () => {
    const e = violationOf(() => checkTransformLaws(mutatesStateTensors, { numRuns: RUNS, params: params2d }))
    expect(e.details).toMatch(/changed the state it was given, state\.v\.[VW]: storage element \d+ was written \(was .*, now .*\)/)
  })

  it('reports a throw inside update as no-error, with the message', () => {
    const throws = { init: () => 0, update: () => { throw new RangeError('boom') } }
    const e = violationOf(() => checkTransformLaws(throws, { numRuns: 5 }))
    expect(e.law).toBe('no-error')
    expect(e.details).toContain('RangeError: boom')
  })
})

describe('checkTransformLaws options', () => {
  it('rejects unknown options, bad counts and non-transformations with ConfigError', () => {
    expect(() => checkTransformLaws(identity(), { numRun: 3 } as never)).toThrow(ConfigError)
    expect(() => checkTransformLaws(identity(), { steps: 0 })).toThrow(/steps/)
    expect(() => checkTransformLaws(identity(), { numRuns: 1.5 })).toThrow(/numRuns/)
    expect(() => checkTransformLaws({ init: 1 } as never)).toThrow(/GradientTransformation/)
  })
})

import { describe, expect, it } from 'vitest'
import { type GradientTransformation, chain, identity } from '../src/core/index.js'
import { checkChainLaws } from '../laws/index.js'
import { heavyBall, nondeterministic, params2d, scaleBy, violationOf } from './laws.fixtures.js'

const RUNS = 25


type Tx = GradientTransformation<unknown>
/** A stage typed for a user-made monoid of transformations. */
const tx = <S>(t: GradientTransformation<S>): Tx => t as unknown as Tx

describe('checkChainLaws', () => {
  it('holds for chain and identity on stateless and stateful stages', () => {
    checkChainLaws(scaleBy(2), heavyBall(0.1, 0.9), scaleBy(-0.5), { numRuns: RUNS })
    checkChainLaws(heavyBall(0.01, 0.5), identity(), chain(scaleBy(3), heavyBall(1, 0.1)), { numRuns: RUNS, params: params2d, steps: 4 })
  })

  it('catches a monoid whose concat drops its right operand (left identity fails)', () => {
    const dropsRight = { concat: (x: GradientTransformation<unknown>) => x, empty: tx(identity()) }
    const e = violationOf(() => checkChainLaws(tx(scaleBy(2)), tx(scaleBy(3)), tx(scaleBy(5)), { numRuns: RUNS, monoid: dropsRight }))
    expect(e.law).toBe('left-identity')
    expect(e.details).toMatch(/chain\(identity\(\), a\) and a emit different updates at step \d+: updates.*got .*, want /)
  })

  it('catches an empty element that is not neutral (right identity fails)', () => {
    const monoid = { concat: (x: GradientTransformation<unknown>, y: GradientTransformation<unknown>) => tx(chain(x, y)), empty: tx(scaleBy(1.5)) }
    const e = violationOf(() => checkChainLaws(tx(identity()), tx(scaleBy(3)), tx(scaleBy(5)), { numRuns: RUNS, monoid }))
    expect(['left-identity', 'right-identity']).toContain(e.law)
  })

  it('catches a concat that is not associative', () => {
    // concat(x, y) = chain(x, y, x): (a·b)·c applies a b a c a b a; a·(b·c) applies a b c b a
    const monoid = { concat: (x: GradientTransformation<unknown>, y: GradientTransformation<unknown>) => tx(chain(x, y, x)), empty: tx(identity()) }
    const e = violationOf(() => checkChainLaws(tx(scaleBy(2)), tx(heavyBall(1, 0.5)), tx(scaleBy(3)), { numRuns: RUNS, monoid }))
    expect(e.law).toBe('associativity')
  })

  it('reports a nondeterministic stage as a broken law with its counterexample', () => {
    const e = violationOf(() => checkChainLaws(nondeterministic, identity(), identity(), { numRuns: RUNS }))
    expect(e.law).toBe('associativity')
    expect(e.counterexample).toMatch(/params/)
  })
})

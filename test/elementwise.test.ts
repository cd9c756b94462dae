/**
 * User-defined blocks (`elementwise`): a recurrence written by a user gives
 * the library's own numbers when it states the same formula, fuses like a
 * built-in block, passes the transformation laws, and a malformed spec is a
 * ConfigError naming its field.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { checkTransformLaws } from '../laws/index.js'
import { ConfigError, type Params, chain, elementwise, expr, optimizer, scaleByLearningRate, tensor, trace } from '../src/index.js'
import { expectSameBits } from './helpers/optimizers.js'

const { add, mul, store } = expr

/** Heavy-ball momentum as a user writes it: `v' = μ·v + g`, the update `v'`. */
const userTrace = (mu: number) =>
  elementwise({
    name: 'user trace',
    state: ['velocity'],
    scalars: ['mu'],
    scalarsAt: (_count, round) => ({ mu: round(mu) }),
    step: ({ g, velocity }, { mu: m }) => {
      const v1 = store(add(mul(m, velocity), g))
      return { update: v1, velocity: v1 }
    },
  })

describe('elementwise', () => {
  it('a user recurrence of the momentum formula gives trace()’s bits, fused with a learning rate, in both dtypes', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<'float32' | 'float64'>('float32', 'float64'),
        fc.array(fc.double({ min: -4, max: 4, noNaN: true }), { minLength: 1, maxLength: 40 }),
        fc.double({ min: 0, max: 0.99, noNaN: true }),
        (dtype, values, mu) => {
          const params: Params = { w: tensor(values, undefined, dtype) }
          const grads: Params = { w: tensor(values.map((v) => v * 0.5 - 1), undefined, dtype) }
          const run = (tx: ReturnType<typeof chain>) => {
            const opt = optimizer(tx)
            let p = params
            let s = opt.init(p)
            for (let k = 0; k < 3; k++) [p, s] = opt.step(p, grads, s)
            return p
          }
          expectSameBits(run(chain(userTrace(mu), scaleByLearningRate(0.1))), run(chain(trace({ momentum: mu }), scaleByLearningRate(0.1))))
        },
      ),
      { numRuns: 100 },
    )
  })

  it('passes the transformation laws', () => {
    checkTransformLaws(userTrace(0.9), { numRuns: 30, name: 'user trace' })
  })

  it('refuses a malformed spec with a ConfigError naming the field', () => {
    const base = { name: 'x', state: ['v'], scalars: [], scalarsAt: () => ({}), step: ({ g }: { g: expr.Expr }) => ({ update: g, v: g }) } as const
    expect(() => elementwise({ ...base, step: (({ g }: { g: expr.Expr }) => ({ update: g })) as never })).toThrow(/spec\.step/)
    expect(() => elementwise({ ...base, scalarsAt: 1 as never })).toThrow(ConfigError)
    expect(() => elementwise({ ...base, state: ['count'] } as never)).toThrow(/spec\.state/)
    expect(() => elementwise(null as never)).toThrow(/spec/)
  })
})

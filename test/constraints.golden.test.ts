import { describe, expect, it } from 'vitest'
import { clipByNorm, clipGradNorm, maxNorm, normConstraint, renorm, totalNormConstraint } from '../src/constraints/index.js'
import { isNdoptaxError } from '../src/errors/index.js'
import type { Tensor } from '../src/tensor/index.js'
import {
  type ConstraintCase,
  type GoldenArray,
  expectClose,
  expectFresh,
  expectUnchanged,
  fromGolden,
  goldenValue,
  loadGolden,
  snapshot,
  thrown,
} from './helpers/constraints.js'

const cases = loadGolden<ConstraintCase>('constraints.json')

/** Runs a golden case's operation: one tensor or a list out, and the norm when the op returns one. */
function run(c: ConstraintCase, xs: Tensor[]): { out: Tensor[]; norm?: number } {
  const a = Object.fromEntries(Object.entries(c.args).map(([k, v]) => [k, goldenValue(v)])) as Record<string, never>
  const opts = (keys: string[]) => Object.fromEntries(keys.filter((k) => a[k] !== undefined).map((k) => [k, a[k]]))
  switch (c.op) {
    case 'normConstraint':
      return { out: [normConstraint(xs[0], a.maxNorm, opts(['normAxes', 'epsilon']))] }
    case 'clipByNorm':
      return { out: [clipByNorm(xs[0], a.clipNorm, a.axes)] }
    case 'renorm':
      return { out: [renorm(xs[0], a.p, a.dim, a.maxnorm)] }
    case 'maxNorm':
      return { out: [maxNorm(xs[0], a.maxValue, opts(['axis']))] }
    case 'totalNormConstraint': {
      const o = opts(['epsilon'])
      if (a.returnNorm !== true) return { out: totalNormConstraint(xs, a.maxNorm, o) }
      const [out, norm] = totalNormConstraint(xs, a.maxNorm, { ...o, returnNorm: true })
      return { out, norm }
    }
    case 'clipGradNorm': {
      const [out, norm] = clipGradNorm(xs, a.maxNorm, opts(['normType']))
      return { out, norm }
    }
    default:
      throw new Error(`unknown op ${c.op}`)
  }
}

function label(c: ConstraintCase, i: number): string {
  const arrays = c.inputs ?? [c.input as GoldenArray]
  const shapes = arrays.map((x) => `${x.dtype} [${x.shape}]${x.view ? ` view ${JSON.stringify(x.view)}` : ''}`).join(', ')
  return `#${i} ${c.op} ${JSON.stringify(c.args)} on ${shapes}${c.error ? ` -> error "${c.error}"` : ''}`
}

describe('golden constraints.json', () => {
  it('holds the cases this suite expects', () => {
    expect(cases.length).toBe(82)
    expect(cases.filter((c) => c.error).length).toBe(6)
    expect(cases.filter((c) => (c.inputs ?? [c.input]).some((x) => x?.view)).length).toBe(8)
  })

  cases.forEach((c, i) => {
    it(label(c, i), () => {
      const xs = (c.inputs ?? [c.input as GoldenArray]).map(fromGolden)
      const before = xs.map(snapshot)
      if (c.error !== undefined) {
        const e = thrown(() => run(c, xs))
        expect(isNdoptaxError(e)).toBe(true)
        expect(e.message).toContain(c.error)
      } else {
        const { out, norm } = run(c, xs)
        const want = Array.isArray(c.expected) ? c.expected : [c.expected as GoldenArray]
        expect(out.length).toBe(want.length)
        out.forEach((y, k) => {
          expectClose(y, want[k], c.rtol as number, c.atol as number)
          expectFresh(y, ...xs)
        })
        if (c.expectedNorm !== undefined) {
          expect(norm).toBeDefined()
          expect(Math.abs((norm as number) - c.expectedNorm)).toBeLessThanOrEqual((c.atol as number) + (c.rtol as number) * Math.abs(c.expectedNorm))
        }
      }
      before.forEach(expectUnchanged)
    })
  })
})

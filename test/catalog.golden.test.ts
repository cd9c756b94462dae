/**
 * The cases of `test/golden/peers/catalog.json` (computed by running optax,
 * PyTorch and Keras), every one at its own tolerance.
 */
import { describe, expect, it } from 'vitest'
import { type GradientTransformation } from '../src/core/index.js'
import * as constraints from '../src/constraints/index.js'
import * as optimizers from '../src/optimizers/index.js'
import { type Tensor } from '../src/tensor/index.js'
import * as transforms from '../src/transforms/index.js'
import { type GoldenArray, expectClose, fromGolden, loadGolden } from './helpers/constraints.js'
import { run } from './helpers/optimizers.js'

interface CatalogCase {
  readonly input?: GoldenArray | GoldenArray[]
  readonly kind: 'optimizer' | 'transform' | 'array'
  readonly optimizer?: string
  readonly transform?: string
  readonly op?: string
  readonly options?: Record<string, unknown>
  readonly args?: unknown[]
  readonly framework: string
  readonly frameworkCall: string
  readonly dtype: 'float32' | 'float64'
  readonly params: GoldenArray[]
  readonly grads: GoldenArray[][]
  readonly expected?: GoldenArray[][] | GoldenArray[] | GoldenArray
  readonly expectedUpdates?: GoldenArray[][]
  readonly rtol: number
  readonly atol: number
}

const cases = loadGolden<CatalogCase>('peers/catalog.json')
const nameOf = (c: CatalogCase) => `${c.optimizer ?? c.transform ?? c.op} (${c.framework})`

/** What the library has of the catalog. */
const IMPLEMENTED = new Set([
  'adamw (optax)',
  'adamw (torch)',
  'nadam (optax)',
  'nadamw (optax)',
  'lion (optax)',
  'yogi (optax)',
  'adabelief (optax)',
  'radam (optax)',
  'addDecayedWeights (optax)',
  'clip (optax)',
  'ema (optax)',
  'keepParamsNonnegative (optax)',
  'scaleBySign (optax)',
  'projectionNonNegative (optax)',
  'projectionBox (optax)',
  'projectionHypercube (optax)',
  'projectionL2Ball (optax)',
  'projectionL2Sphere (optax)',
  'projectionLinfBall (optax)',
  'projectionL1Ball (optax)',
  'projectionSimplex (optax)',
  'unitNorm (tensorflow)',
  'minMaxNorm (tensorflow)',
  'nonNeg (tensorflow)',
  'clipByBlockRms (optax)',
  'scaleByTrustRatio (optax)',
  'adaptiveGradClip (optax)',
  'lamb (optax)',
  'lars (optax)',
  'rprop (optax)',
  'rprop (torch)',
  'radam (torch)',
  'nadam (torch)',
  'nadamw (torch)',
  'centralize (optax)',
  'adafactor (optax)',
  'adafactor (torch)',
])

describe('golden peers/catalog.json', () => {
  it('every case of the file is run here', () => {
    expect([...new Set(cases.map(nameOf))].filter((n) => !IMPLEMENTED.has(n))).toEqual([])
  })

  cases
    .filter((c) => IMPLEMENTED.has(nameOf(c)))
    .forEach((c, i) => {
      it(`#${i} ${c.frameworkCall} ${c.dtype}${c.grads === undefined ? "" : `, ${c.grads.length} steps`}`, () => {
        if (c.kind === 'array') {
          const f = (constraints as unknown as Record<string, (...a: unknown[]) => unknown>)[c.op!]
          if (Array.isArray(c.input)) {
            const out = f(c.input.map(fromGolden), ...c.args!) as Tensor[]
            out.forEach((t, j) => expectClose(t, (c.expected as GoldenArray[])[j], c.rtol, c.atol))
          } else {
            expectClose(f(fromGolden(c.input!), ...c.args!) as Tensor, c.expected as GoldenArray, c.rtol, c.atol)
          }
          return
        }
        const params = c.params.map(fromGolden)
        if (c.kind === 'optimizer') {
          const factory = (optimizers as unknown as Record<string, (o: unknown) => GradientTransformation<unknown>>)[c.optimizer!]
          const { trajectory } = run(factory(c.options), params, c.grads.map((gs) => gs.map(fromGolden)))
          trajectory.forEach((p, k) => (p as Tensor[]).forEach((t, j) => expectClose(t, (c.expected as GoldenArray[][])[k][j], c.rtol, c.atol)))
          return
        }
        const tx = (transforms as unknown as Record<string, (...a: unknown[]) => GradientTransformation<unknown>>)[c.transform!](...c.args!)
        let state = tx.init(params)
        c.grads.forEach((gs, k) => {
          const [updates, next] = tx.update(gs.map(fromGolden), state, params)
          ;(updates as Tensor[]).forEach((t, j) => expectClose(t, c.expectedUpdates![k][j], c.rtol, c.atol))
          state = next
        })
      })
    })
})

/**
 * The building blocks one by one: each recurrence against the formula written
 * out, float32 rounding of the hyperparameters, the shape of each state, and
 * the recipes' equality with their chains.
 */
import { describe, expect, it } from 'vitest'
import { type GradientTransformation, type Params, chain } from '../src/core/index.js'
import { adadelta, adagrad, adam, adamax, amsgrad, rmsprop } from '../src/optimizers/index.js'
import { type Tensor, dtypeOf, tensor, toArray } from '../src/tensor/index.js'
import {
  scale,
  scaleByAdadelta,
  scaleByAdagrad,
  scaleByAdam,
  scaleByAdamax,
  scaleByAmsgrad,
  scaleByLearningRate,
  scaleByRms,
  trace,
} from '../src/transforms/index.js'
import { expectSameBits, run } from './helpers/optimizers.js'

const G = [[0.5, -1, 2], [0.25, 0, -3]]
const g = (k: number) => tensor(G[k])
const p0 = tensor([0, 0, 0])

/** The emitted updates of `tx` for the gradients `gs`, and its last state. */
function updates<S>(tx: GradientTransformation<S>, gs: Tensor[]): { us: number[][]; state: S } {
  let state = tx.init(p0)
  const us: number[][] = []
  for (const x of gs) {
    const [u, s] = tx.update(x, state)
    us.push(toArray(u as Tensor))
    state = s
  }
  return { us, state }
}

const near = (got: number[], want: number[]) => want.forEach((w, i) => expect(got[i]).toBeCloseTo(w, 14))

describe('scale and scaleByLearningRate', () => {
  it('scale multiplies, scaleByLearningRate multiplies by −learningRate', () => {
    expect(updates(scale(2), [g(0)]).us[0]).toEqual([1, -2, 4])
    expect(updates(scaleByLearningRate(0.5), [g(0)]).us[0]).toEqual([-0.25, 0.5, -1])
  })
  it('a scheduled factor is evaluated at steps 0, 1, 2 and the count advances', () => {
    const { us, state } = updates(scale((s) => s + 1), [g(0), g(0), g(0)])
    expect(us).toEqual([[0.5, -1, 2], [1, -2, 4], [1.5, -3, 6]])
    expect(state).toEqual({ count: 3 })
  })
  it('float32: the factor is rounded to float32 first, as Lasagne casts to floatX', () => {
    const x = tensor([0.3, 1 / 3], [2], 'float32')
    const [u] = scale(0.1).update(x, scale(0.1).init(x))
    const f = Math.fround
    expect(toArray(u as Tensor)).toEqual([f(f(0.1) * f(0.3)), f(f(0.1) * f(1 / 3))])
    expect(dtypeOf(u as Tensor)).toBe('float32')
  })
})

describe('trace', () => {
  it("v' = μv + Δ, emitted as is (heavy ball)", () => {
    const { us, state } = updates(trace({ momentum: 0.5 }), [g(0), g(1)])
    expect(us[0]).toEqual(G[0])
    near(us[1], [0.5 * 0.5 + 0.25, 0.5 * -1 + 0, 0.5 * 2 - 3])
    near(toArray(state.velocity as Tensor), us[1])
  })
  it("Nesterov: the same v', emitted as μv' + Δ", () => {
    const { us, state } = updates(trace({ momentum: 0.5, nesterov: true }), [g(0), g(1)])
    near(us[0], G[0].map((d) => 0.5 * d + d))
    const v1 = G[0].map((v, i) => 0.5 * v + G[1][i])
    near(toArray(state.velocity as Tensor), v1)
    near(us[1], v1.map((v, i) => 0.5 * v + G[1][i]))
  })
  it('without Nesterov the update and the new velocity are one tensor (one output per pass)', () => {
    const tx = trace()
    const [u, s] = tx.update(g(0), tx.init(p0))
    expect(u).toBe(s.velocity)
  })
})

describe('the scale-by blocks follow their recurrences (float64, two steps)', () => {
  it('scaleByAdagrad', () => {
    const { us, state } = updates(scaleByAdagrad({ epsilon: 1e-4 }), [g(0), g(1)])
    const a1 = G[0].map((x) => x * x)
    const a2 = a1.map((a, i) => a + G[1][i] ** 2)
    near(us[0], G[0].map((x, i) => x / Math.sqrt(a1[i] + 1e-4)))
    near(us[1], G[1].map((x, i) => x / Math.sqrt(a2[i] + 1e-4)))
    near(toArray(state.accu as Tensor), a2)
    expect(Object.keys(state).sort()).toEqual(['accu', 'count'])
  })
  it('scaleByRms', () => {
    const { us, state } = updates(scaleByRms({ rho: 0.8, epsilon: 1e-4 }), [g(0), g(1)])
    const r1 = G[0].map((x) => 0.2 * x * x)
    const r2 = r1.map((r, i) => 0.8 * r + 0.2 * G[1][i] ** 2)
    near(us[0], G[0].map((x, i) => x / Math.sqrt(r1[i] + 1e-4)))
    near(us[1], G[1].map((x, i) => x / Math.sqrt(r2[i] + 1e-4)))
    near(toArray(state.accu as Tensor), r2)
  })
  it('scaleByAdadelta uses the old deltaAccu', () => {
    const rho = 0.9
    const eps = 1e-4
    const { us, state } = updates(scaleByAdadelta({ rho, epsilon: eps }), [g(0), g(1)])
    let r = [0, 0, 0]
    let d = [0, 0, 0]
    G.forEach((gk, k) => {
      r = r.map((ri, i) => rho * ri + (1 - rho) * gk[i] ** 2)
      const delta = gk.map((x, i) => (x * Math.sqrt(d[i] + eps)) / Math.sqrt(r[i] + eps))
      near(us[k], delta)
      d = d.map((di, i) => rho * di + (1 - rho) * delta[i] ** 2)
    })
    near(toArray(state.accu as Tensor), r)
    near(toArray(state.deltaAccu as Tensor), d)
  })
  it('scaleByAdam: t starts at 1, epsilon on the uncorrected root', () => {
    const [b1, b2, eps] = [0.8, 0.9, 1e-3]
    const { us, state } = updates(scaleByAdam({ beta1: b1, beta2: b2, epsilon: eps }), [g(0), g(1)])
    let m = [0, 0, 0]
    let v = [0, 0, 0]
    G.forEach((gk, k) => {
      const t = k + 1
      m = m.map((mi, i) => b1 * mi + (1 - b1) * gk[i])
      v = v.map((vi, i) => b2 * vi + (1 - b2) * gk[i] ** 2)
      const a = Math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
      near(us[k], m.map((mi, i) => (a * mi) / (Math.sqrt(v[i]) + eps)))
    })
    expect(state.count).toBe(2)
    near(toArray(state.mu as Tensor), m)
    near(toArray(state.nu as Tensor), v)
  })
  it('scaleByAmsgrad: the max runs over the raw nu', () => {
    const [b1, b2, eps] = [0.8, 0.9, 1e-3]
    const big = tensor([4, 4, 4])
    const small = tensor([0.1, 0.1, 0.1])
    const { us, state } = updates(scaleByAmsgrad({ beta1: b1, beta2: b2, epsilon: eps }), [big, small])
    const v1 = (1 - b2) * 16
    const v2 = b2 * v1 + (1 - b2) * 0.01
    expect(toArray(state.nuMax as Tensor)).toEqual([v1, v1, v1])
    near(toArray(state.nu as Tensor), [v2, v2, v2])
    const m2 = b1 * (1 - b1) * 4 + (1 - b1) * 0.1
    const a2 = Math.sqrt(1 - b2 ** 2) / (1 - b1 ** 2)
    near(us[1], [0, 1, 2].map(() => (a2 * m2) / (Math.sqrt(v1) + eps)))
  })
  it('scaleByAdamax: u = max(beta2·u, |g|), epsilon outside the max', () => {
    const [b1, b2, eps] = [0.8, 0.5, 1e-3]
    const { us, state } = updates(scaleByAdamax({ beta1: b1, beta2: b2, epsilon: eps }), [g(0), g(1)])
    const u1 = G[0].map(Math.abs)
    const u2 = u1.map((u, i) => Math.max(b2 * u, Math.abs(G[1][i])))
    const m1 = G[0].map((x) => (1 - b1) * x)
    const m2 = m1.map((m, i) => b1 * m + (1 - b1) * G[1][i])
    near(us[0], m1.map((m, i) => m / (1 - b1) / (u1[i] + eps)))
    near(us[1], m2.map((m, i) => m / (1 - b1 ** 2) / (u2[i] + eps)))
    near(toArray(state.u as Tensor), u2)
  })
})

describe('each optimizer is exactly its chain of blocks', () => {
  const params: Params = { w: tensor([[1, 2], [3, 4]], undefined, 'float32'), b: tensor([0.5, -0.5]) }
  const grads = [0, 1, 2].map((k) => ({ w: tensor([[0.1 * k, -0.2], [0.3, 0.05]], undefined, 'float32'), b: tensor([k - 1, 0.5]) }))
  const pairs: [string, GradientTransformation<unknown>, GradientTransformation<unknown>][] = [
    ['adagrad', adagrad(0.1), chain(scaleByAdagrad(), scaleByLearningRate(0.1))],
    ['rmsprop', rmsprop(0.01), chain(scaleByRms(), scaleByLearningRate(0.01))],
    ['adadelta', adadelta(), chain(scaleByAdadelta(), scaleByLearningRate(1))],
    ['adam', adam(), chain(scaleByAdam(), scaleByLearningRate(1e-3))],
    ['adamax', adamax(), chain(scaleByAdamax(), scaleByLearningRate(2e-3))],
    ['amsgrad', amsgrad(), chain(scaleByAmsgrad(), scaleByLearningRate(1e-3))],
  ]
  it.each(pairs)('%s', (_, recipe, blocks) => {
    const a = run(recipe, params, grads)
    const b = run(blocks, params, grads)
    expectSameBits(a.trajectory, b.trajectory)
    expectSameBits(a.state, b.state)
  })
})

/**
 * The catalog's edge cases beyond the peers' vectors: Adafactor's state
 * layout and its zero, NaN and bad-state behaviour, centralization, torch
 * NAdam's momentum product after a restored state, and the noise of
 * `noisySgd` (a pure generator whose checkpoint resumes it bit for bit),
 * and the order of the block RMS (optax's mean, then root).
 */
import { describe, expect, it } from 'vitest'
import { type GradientTransformation, type Params, optimizer } from '../src/core/index.js'
import { ConfigError, ShapeError } from '../src/errors/index.js'
import { decodeCheckpoint, encodeCheckpoint } from '../src/node/index.js'
import { adafactor, nadam, noisySgd } from '../src/optimizers/index.js'
import { type Tensor, normal, reduce, tensor, toArray, zeros } from '../src/tensor/index.js'
import { type FactoredState, centralize, clipByBlockRms, scaleByFactoredRms, scaleByParamBlockRms } from '../src/transforms/index.js'
import { expectSameBits, numbersOf } from './helpers/optimizers.js'

const shapesOf = (tree: Params): unknown => JSON.parse(JSON.stringify(tree, (_k, v: unknown) => ((v as Tensor)?.shape !== undefined ? (v as Tensor).shape : v)))

/** Deterministic values in [-1, 1). */
const ramp = (shape: number[], dtype: 'float32' | 'float64' = 'float32', phase = 0): Tensor => {
  const n = shape.reduce((a, b) => a * b, 1)
  return tensor(Array.from({ length: n }, (_, i) => Math.sin(1.7 * i + phase)), shape, dtype)
}

describe('adafactor', () => {
  it("factors a matrix only when its second-largest dimension reaches minDimSizeToFactor, as optax's layout", () => {
    const params = { w: zeros([3, 200], 'float32'), b: zeros([200], 'float32') }
    const big = scaleByFactoredRms({ minDimSizeToFactor: 3 }).init(params) as FactoredState
    // d0 = axis 1 (200), d1 = axis 0 (3): vRow drops d0, vCol drops d1
    expect(shapesOf(big.vRow)).toEqual({ w: [3], b: [1] })
    expect(shapesOf(big.vCol)).toEqual({ w: [200], b: [1] })
    expect(shapesOf(big.v)).toEqual({ w: [1], b: [200] })
    const small = scaleByFactoredRms({ minDimSizeToFactor: 4 }).init(params) as FactoredState
    expect(shapesOf(small.v)).toEqual({ w: [3, 200], b: [200] })
  })

  it('gives a zero update for a zero gradient (its moment is epsilon at least), factored or not, and keeps a NaN in its leaf', () => {
    for (const minDimSizeToFactor of [1, 128]) {
      const tx = adafactor({ learningRate: 0.01, minDimSizeToFactor })
      const params = { w: ramp([4, 5]), b: ramp([5]) }
      const [u] = tx.update({ w: zeros([4, 5], 'float32'), b: zeros([5], 'float32') }, tx.init(params), params)
      expect(numbersOf(u).every((x) => x === 0)).toBe(true)
      const nan = ramp([5])
      nan.data[2] = NaN
      const [v] = tx.update({ w: ramp([4, 5]), b: nan }, tx.init(params), params) as [{ w: Tensor; b: Tensor }, unknown]
      expect(toArray(v.w).every(Number.isFinite)).toBe(true)
      expect(Number.isNaN(toArray(v.b)[2])).toBe(true)
    }
  })

  it('names the state leaf of the wrong shape, and torch flavour needs the params', () => {
    const tx = scaleByFactoredRms({ minDimSizeToFactor: 1 })
    const params = { w: ramp([4, 5]) }
    const state = tx.init(params)
    const bad = { ...state, vRow: { w: zeros([5], 'float32') } }
    expect(() => tx.update(params, bad, params)).toThrow(ShapeError)
    expect(() => tx.update(params, bad, params)).toThrow(/state\.vRow\.w/)
    const torch = adafactor({ flavor: 'torch' })
    expect(() => torch.update(params, torch.init(params))).toThrow(ConfigError)
    expect(() => adafactor({ learningRate: 0.01, flavor: 'torch', decayRate: 0.8 })).toThrow(/decayRate/)
  })
})

describe("the block RMS of clipByBlockRms and scaleByParamBlockRms", () => {
  // float32 values where optax's sqrt(mean(p²)) and ‖p‖ / sqrt(n) round to different float32 numbers
  const p = [0.3, 0.37, 1.3].map(Math.fround)
  const f = Math.fround
  const rms = f(Math.sqrt(f((p[0] * p[0] + p[1] * p[1] + p[2] * p[2]) / 3))) // the sum of squares of three float32 is exact in float64
  it('is optax\'s sqrt(mean(p²)), the mean and the root each rounded to float32', () => {
    expect(rms).not.toBe(f(f(Math.sqrt(p[0] * p[0] + p[1] * p[1] + p[2] * p[2])) / Math.sqrt(3)))
    const u = { w: tensor([1, 1, 1], [3], 'float32') }
    const params = { w: tensor(p, [3], 'float32') }
    const tx = scaleByParamBlockRms()
    const [scaled] = tx.update(u, tx.init(params), params)
    expect(toArray((scaled as { w: Tensor }).w)).toEqual([rms, rms, rms])
    // clipping to half the RMS divides by rms / limit
    const clip = clipByBlockRms(0.5)
    const [clipped] = clip.update(params, clip.init(params))
    const factor = f(1 / f(rms / 0.5))
    expect(toArray((clipped as { w: Tensor }).w)).toEqual(p.map((x) => f(x * factor)))
  })
})

describe('centralize', () => {
  it('leaves vectors as they are and makes each row of a matrix sum to zero, within n·u·Σ|u|', () => {
    const tx = centralize()
    const u = { v: ramp([6], 'float64'), m: ramp([3, 7], 'float64').transpose(1, 0) }
    const [out] = tx.update(u, tx.init(u)) as [{ v: Tensor; m: Tensor }, unknown]
    expect(toArray(out.v)).toEqual(toArray(u.v))
    const sums = reduce(out.m, [1], 'sum')
    const scale = reduce(out.m, [1], 'sumabs')
    sums.forEach((s, i) => expect(Math.abs(s)).toBeLessThanOrEqual(8 * 2 ** -53 * scale[i]))
  })
})

describe("torch NAdam's momentum product", () => {
  it('is recomputed for a state restored from an earlier step, so the trajectory is the same', () => {
    const opt = optimizer(nadam({ flavor: 'torch' }))
    const grads = [0, 1, 2, 3, 4].map((k) => ({ w: ramp([3, 2], 'float64', k) }))
    let p: Params = { w: ramp([3, 2], 'float64', 9) }
    let s = opt.init(p)
    const states: [Params, unknown][] = []
    const path: number[][] = []
    for (const g of grads) {
      states.push([p, s])
      ;[p, s] = opt.step(p, g, s)
      path.push(numbersOf(p))
    }
    // the same optimizer, asked again from step 2
    let [q, t] = states[2]
    for (let k = 2; k < 5; k++) {
      ;[q, t] = opt.step(q, grads[k], t)
      expectSameBits(numbersOf(q), path[k])
    }
  })
})

describe('noisySgd', () => {
  const run = (tx: GradientTransformation<unknown>, steps: number, from?: [Params, unknown]) => {
    const opt = optimizer(tx)
    let [p, s] = from ?? [{ w: ramp([4, 3], 'float32') } as Params, undefined]
    s ??= opt.init(p)
    for (let k = 0; k < steps; k++) [p, s] = opt.step(p, { w: zeros([4, 3], 'float32') }, s)
    return [p, s] as [Params, unknown]
  }

  it('is a pure function of its seed: equal seeds give equal steps, other seeds other noise', () => {
    expectSameBits(numbersOf(run(noisySgd({ learningRate: 0.1, seed: 5 }), 3)[0]), numbersOf(run(noisySgd({ learningRate: 0.1, seed: 5 }), 3)[0]))
    expect(numbersOf(run(noisySgd({ learningRate: 0.1, seed: 6 }), 3)[0])).not.toEqual(numbersOf(run(noisySgd({ learningRate: 0.1, seed: 5 }), 3)[0]))
  })

  it('resumes bit for bit from a checkpoint of its state', () => {
    const tx = noisySgd({ learningRate: 0.1, seed: 11 })
    const whole = run(tx, 6)
    const [p3, s3] = run(tx, 3)
    const restored = decodeCheckpoint(Buffer.concat(encodeCheckpoint({ params: p3, state: s3 })))
    const resumed = run(noisySgd({ learningRate: 0.1, seed: 11 }), 3, [restored.params as Params, restored.state])
    expectSameBits(numbersOf(resumed[0]), numbersOf(whole[0]))
  })

  it('anneals the noise: the step is sqrt(eta / (1 + t)^gamma) · z, and z is standard normal', () => {
    // 200 000 samples: the mean is within 5 standard errors (5/√n) of 0, the variance within 5·√(2/n) of 1
    const z = toArray(normal([1, 2, 3], [200000]))
    const n = z.length
    const mean = z.reduce((a, b) => a + b, 0) / n
    const variance = z.reduce((a, b) => a + (b - mean) ** 2, 0) / n
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(n))
    expect(Math.abs(variance - 1)).toBeLessThan(5 * Math.sqrt(2 / n))
    expect(toArray(normal([1, 2, 3], [5]))).toEqual(z.slice(0, 5))
    expect(toArray(normal([1, 2, 4], [5]))).not.toEqual(z.slice(0, 5))
    // the update of step t (0-based) for a zero gradient, leaf 0 of a float64 tree
    const tx = noisySgd({ learningRate: 0.5, eta: 0.3, gamma: 0.55, seed: 9 })
    const params = { w: zeros([7], 'float64') }
    let state = tx.init(params)
    for (let t = 0; t < 3; t++) {
      const [u, next] = tx.update({ w: zeros([7], 'float64') }, state, params) as [{ w: Tensor }, unknown]
      const std = Math.sqrt(0.3 / (1 + t) ** 0.55)
      expectSameBits(toArray(u.w), toArray(normal([9, t, 0], [7])).map((x) => -0.5 * (0 + std * x)))
      state = next
    }
  })
})

/**
 * `ndoptax/tfjs` against TensorFlow.js itself (tfjs-core 4, tfjs-layers 4,
 * on the cpu and wasm backends in Node): the agreement with
 * `tf.train.adam`, `tfConstraint` in `model.fit`, `minimize`, no leaked
 * tensors, the save/restore round trips, copies that never alias tfjs
 * memory, and the errors for bad input.
 */
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-backend-cpu'
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm'
import * as tfl from '@tensorflow/tfjs-layers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adam, chain, clipByTotalNorm, maxNorm, optimizer, sgd } from '../src/index.js'
import { DtypeError, InvalidTensorError, StructureError } from '../src/errors/index.js'
import { decodeCheckpoint, encodeCheckpoint } from '../src/node/index.js'
import { type Tensor, reduce, tensor, toArray } from '../src/tensor/index.js'
import { fromTf, tfConstraint, tfOptimizer, toTf } from '../src/tfjs/index.js'

const require = createRequire(import.meta.url)
setWasmPaths(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/')

beforeAll(async () => {
  expect(await tf.setBackend('wasm')).toBe(true)
  expect(await tf.setBackend('cpu')).toBe(true)
})
afterAll(() => tf.disposeVariables())

const BACKENDS = ['cpu', 'wasm'] as const

/** A small MLP with seeded initial weights (the same on every call), its variables named by `prefix`. */
function mlp(prefix: string, kernelConstraint?: ReturnType<typeof tfConstraint>): tfl.Sequential {
  const init = (seed: number) => tfl.initializers.glorotUniform({ seed })
  return tfl.sequential({
    layers: [
      tfl.layers.dense({ name: `${prefix}_hidden`, units: 6, inputShape: [4], activation: 'tanh', kernelInitializer: init(1), kernelConstraint }),
      tfl.layers.dense({ name: `${prefix}_out`, units: 3, kernelInitializer: init(2) }),
    ],
  })
}

/** Deterministic batches. */
const batches = (n: number) => Array.from({ length: n }, (_, k) => [tf.randomNormal([8, 4], 0, 1, 'float32', 10 + k), tf.randomNormal([8, 3], 0, 1, 'float32', 100 + k)] as const)

const weightsOf = (model: tfl.LayersModel): number[][] => model.getWeights().map((w) => Array.from(w.dataSync()))

/** Trains `model` with `opt.minimize` on the mean squared error of each batch. */
function train(model: tfl.LayersModel, opt: tf.Optimizer, data: readonly (readonly [tf.Tensor, tf.Tensor])[]): void {
  for (const [x, y] of data) {
    const cost = opt.minimize(() => tf.losses.meanSquaredError(y, model.predict(x) as tf.Tensor) as tf.Scalar, true)
    cost?.dispose()
  }
}

describe.each(BACKENDS)('ndoptax/tfjs on the %s backend', (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend)
  })

  it("ends with tf.train.adam's weights, to float32 rounding, on the same model and batches", () => {
    const data = batches(10)
    const lr = 0.01
    const a = mlp(`a_${backend}`)
    const b = mlp(`b_${backend}`)
    expect(weightsOf(a)).toEqual(weightsOf(b))
    train(a, tf.train.adam(lr, 0.9, 0.999, 1e-8), data)
    train(b, tfOptimizer(adam({ learningRate: lr, flavor: 'optax', epsilon: 1e-8 })), data)
    // Both compute m̂ / (sqrt(v̂) + ε) in float32, in the same order. They differ in the bias corrections:
    // tfjs keeps β^t as a running float32 product of f32(β), optax rounds 1 − β^t (in double) once. So an
    // update differs by at most 8·2⁻²⁴ (its own roundings) plus the corrections' relative differences, and
    // Adam's |u| <= lr·(1 − β1)/sqrt(1 − β2) < 3.2·lr. Summed over the T steps, plus an ulp of each param
    // per step, and doubled for the feedback of the (tiny) parameter difference into the gradients.
    const T = data.length
    // 1 − β^t: tfjs's from a float32 product of f32(β) (t roundings, and f32(β)'s own error t times), relative
    // to its size; the second moment's error halves under the root
    const f32 = Math.fround
    const correction = (beta: number, t: number) => ((t + 1) * 2 ** -24 + t * Math.abs(f32(beta) - beta)) / (1 - beta ** t)
    let drift = 0
    for (let t = 1; t <= T; t++) drift += (8 * 2 ** -24 + correction(0.9, t) + correction(0.999, t) / 2) * 3.2 * lr
    weightsOf(a).forEach((w, i) =>
      w.forEach((x, j) => {
        const y = weightsOf(b)[i][j]
        expect(Math.abs(x - y), `weight ${i}[${j}]`).toBeLessThanOrEqual(2 * (drift + T * 2 ** -24 * Math.abs(x)))
      }),
    )
    data.forEach(([x, y]) => tf.dispose([x, y]))
  })

  it('works with model.compile and model.fit, and tfConstraint keeps every column norm at or below the limit', async () => {
    const model = mlp(`fit_${backend}`, tfConstraint((w) => maxNorm(w, 0.5)))
    model.compile({ optimizer: tfOptimizer(sgd({ learningRate: 0.5 }), { model }), loss: 'meanSquaredError' })
    const xs = tf.randomNormal([32, 4], 0, 3, 'float32', 7)
    const ys = tf.randomNormal([32, 3], 0, 3, 'float32', 8)
    const history = await model.fit(xs, ys, { epochs: 4, batchSize: 8, verbose: 0 })
    expect(history.history.loss.every((l) => Number.isFinite(l as number))).toBe(true)
    const kernel = fromTf(model.layers[0].getWeights()[0]) as Tensor
    for (const norm of reduce(kernel, [0], 'sumsq')) expect(Math.sqrt(norm)).toBeLessThanOrEqual(0.5)
    tf.dispose([xs, ys])
  })

  it('tfConstraint leaves in-bound columns bit for bit and scales the others to the limit', () => {
    const c = tfConstraint((w) => maxNorm(w, 1))
    const w = tf.tensor2d([0.3, 3, 0.1, 0.4, 4, -0.2], [2, 3]) // column norms 0.5, 5, 0.22
    const out = tf.tidy(() => c.apply(w))
    const got = Array.from(out.dataSync())
    const before = Array.from(w.dataSync())
    for (const j of [0, 2]) for (const i of [0, 1]) expect(Object.is(got[3 * i + j], before[3 * i + j])).toBe(true)
    expect(Math.hypot(got[1], got[4])).toBeLessThanOrEqual(1)
    expect(Math.hypot(got[1], got[4])).toBeGreaterThan(1 - 1e-6)
    tf.dispose([w, out])
  })

  it("minimize runs the transformation's pure step: the variables hold what ndoptax computes from the same gradients", () => {
    const model = mlp(`min_${backend}`)
    const [[x, y]] = batches(1)
    const loss = () => tf.losses.meanSquaredError(y, model.predict(x) as tf.Tensor) as tf.Scalar
    const tx = chain(clipByTotalNorm(0.1), adam({ learningRate: 0.05 }))
    const names = model.trainableWeights.map((w) => (w.read() as tf.Variable).name)
    const params = fromTf(Object.fromEntries(model.trainableWeights.map((w) => [(w.read() as tf.Variable).name, w.read()])))
    const { grads, value } = tf.variableGrads(loss)
    const opt = optimizer(tx)
    const [expected] = opt.step(params, fromTf(grads), opt.init(params))
    tf.dispose([value, ...Object.values(grads)])
    tfOptimizer(tx).minimize(loss)
    const after = fromTf(Object.fromEntries(names.map((n) => [n, tf.engine().registeredVariables[n]]))) as Record<string, Tensor>
    for (const n of names) expect(toArray(after[n])).toEqual(toArray((expected as Record<string, Tensor>)[n]))
    tf.dispose([x, y])
  })

  it('leaks no tfjs tensor over 100 steps', () => {
    const model = mlp(`leak_${backend}`)
    const [[x, y]] = batches(1)
    const opt = tfOptimizer(adam({ learningRate: 0.01 }))
    train(model, opt, [[x, y]]) // the first step creates the state: count after it
    const before = tf.memory().numTensors
    train(model, opt, Array.from({ length: 100 }, () => [x, y] as const))
    expect(tf.memory().numTensors).toBe(before)
    tf.dispose([x, y])
  })

  it('round-trips its state through getWeights/setWeights, tfjs model saving and an ndoptax checkpoint, bit for bit', async () => {
    const data = batches(6)
    const tx = () => chain(clipByTotalNorm(1), adam({ learningRate: 0.02 }))
    const whole = mlp(`whole_${backend}`)
    train(whole, tfOptimizer(tx()), data)

    // 3 steps, save the model with its optimizer, restore into a fresh model and optimizer, 3 more steps
    const first = mlp(`first_${backend}`)
    const opt = tfOptimizer(tx())
    first.compile({ optimizer: opt, loss: 'meanSquaredError' })
    train(first, opt, data.slice(0, 3))
    let artifacts: tf.io.ModelArtifacts | undefined
    await first.save(tf.io.withSaveHandler(async (a) => ((artifacts = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })), { includeOptimizer: true })
    const saved = tf.io.decodeWeights(artifacts!.weightData!, artifacts!.weightSpecs!)
    const resumedModel = mlp(`resumed_${backend}`)
    resumedModel.setWeights(first.getWeights())
    // the optimizer's weights follow the model's in the saved file
    const optimizerWeights = artifacts!.weightSpecs!.slice(first.getWeights().length).map((s) => ({ name: s.name, tensor: saved[s.name] }))
    const resumed = tfOptimizer(tx())
    await resumed.setWeights(optimizerWeights)
    expect(resumed.iterations).toBe(3)
    // the new model's variables have other names, in the same order: the state follows them
    train(resumedModel, resumed, data.slice(3))
    expect(resumed.variableNames!.every((n) => n.startsWith(`resumed_${backend}`))).toBe(true)
    expect(weightsOf(resumedModel)).toEqual(weightsOf(whole))

    // the same through an ndoptax checkpoint of the state
    const again = mlp(`again_${backend}`)
    again.setWeights(first.getWeights())
    const fromCheckpoint = tfOptimizer(tx())
    const { state } = decodeCheckpoint(Buffer.concat(encodeCheckpoint({ params: null, state: opt.state })))
    fromCheckpoint.restore(state, opt.variableNames!)
    train(again, fromCheckpoint, data.slice(3))
    expect(weightsOf(again)).toEqual(weightsOf(whole))
    Object.values(saved).forEach((t) => t.dispose())
    data.forEach(([x, y]) => tf.dispose([x, y]))
  })

  it('copies once each way and never shares memory with tfjs', () => {
    const values = new Float32Array([1, 2, 3, 4])
    const t = tf.tensor(values, [2, 2])
    const nd = fromTf(t) as Tensor
    expect(nd.data).not.toBe(values)
    expect(nd.data).not.toBe(t.dataSync())
    expect(toArray(nd)).toEqual([1, 2, 3, 4])
    const back = toTf(tensor([[1, 2], [3, 4]], undefined, 'float64').transpose(1, 0)) as tf.Tensor
    expect(back.dtype).toBe('float32')
    expect(Array.from(back.dataSync())).toEqual([1, 3, 2, 4])
    const own = tensor([5, 6], [2], 'float32')
    const mine = toTf(own) as tf.Tensor
    expect(mine.dataSync()).not.toBe(own.data)
    tf.dispose([t, back, mine])
  })

  it('names the variable of a missing gradient, a non-float gradient and a disposed tensor', () => {
    const model = mlp(`err_${backend}`)
    const [[x, y]] = batches(1)
    const opt = tfOptimizer(sgd({ learningRate: 0.1 }))
    const { grads, value } = tf.variableGrads(() => tf.losses.meanSquaredError(y, model.predict(x) as tf.Tensor) as tf.Scalar)
    opt.applyGradients(grads)
    const [first, ...others] = Object.keys(grads).sort()
    const missing = Object.fromEntries(others.map((n) => [n, grads[n]]))
    expect(() => opt.applyGradients(missing)).toThrow(StructureError)
    expect(() => opt.applyGradients(missing)).toThrow(first)
    const ints = { ...grads, [first]: tf.zeros(grads[first].shape, 'int32') }
    expect(() => opt.applyGradients(ints)).toThrow(DtypeError)
    expect(() => opt.applyGradients(ints)).toThrow(first)
    ints[first].dispose()
    grads[others[0]].dispose()
    expect(() => opt.applyGradients(grads)).toThrow(InvalidTensorError)
    expect(() => opt.applyGradients(grads)).toThrow(others[0])
    expect(() => fromTf(42 as never)).toThrow(InvalidTensorError)
    tf.dispose([value, x, y, ...Object.values(grads)])
  })
})

/**
 * The digits comparison: one tfjs-layers MLP (784 → hidden ReLU → 10), the
 * same seeded initialisation and batch order for every optimizer, trained
 * with tfjs autodiff (`tf.variableGrads`) on the backend tfjs runs on, and
 * stepped either by a tfjs optimizer or by an ndoptax chain through
 * `tfOptimizer`.
 */
import * as tf from '@tensorflow/tfjs-core'
import * as tfl from '@tensorflow/tfjs-layers'
import { adam, adamw, chain, clipByTotalNorm, maxNorm, nesterovMomentum, reduce, warmupCosineDecay } from '../src/index.js'
import { type Tensor } from '../src/tensor/index.js'
import { fromTf, tfConstraint, tfOptimizer } from '../src/tfjs/index.js'
import { type DigitSet, PIXELS, take } from './digits-data.js'
import { type Curve } from './plots.js'
import { permutation, rng, split } from './random.js'

/** What every run shares. */
export interface DigitsConfig {
  readonly epochs: number
  readonly batchSize: number
  readonly hidden: number
  readonly seed: number
  /** The column-norm limit of the constrained chain. */
  readonly maxNorm: number
  /** The total gradient norm of the clipped chain. */
  readonly clip: number
}

/** A contender: how to make its optimizer for a model (and the run's step count), and its recipe for display. */
export interface Contender {
  readonly name: string
  /** `'tfjs'` for TensorFlow.js's own optimizers, `'ndoptax'` for chains run by `tfOptimizer`. */
  readonly kind: 'tfjs' | 'ndoptax'
  readonly recipe: (c: DigitsConfig, steps: number) => string
  /** Whether its model's hidden layer carries the max-norm constraint. */
  readonly constrained?: boolean
  readonly make: (c: DigitsConfig, steps: number, model: tfl.LayersModel) => tf.Optimizer
}

/** The learning-rate schedule of the AdamW chain: a linear warm-up over the first tenth of the run, then cosine decay. */
const schedule = (steps: number) => warmupCosineDecay({ initValue: 0, peakValue: 2e-3, warmupSteps: Math.max(1, Math.round(steps / 10)), decaySteps: steps, endValue: 1e-5 })

/** No weight decay on biases: the mask reads the variable's name. */
const kernelsOnly = (path: readonly (string | number)[]) => String(path[0]).endsWith('/kernel')

export const CONTENDERS: readonly Contender[] = [
  {
    name: 'tf.train.adam',
    kind: 'tfjs',
    recipe: () => 'tf.train.adam(1e-3)',
    make: () => tf.train.adam(1e-3),
  },
  {
    name: 'adam (optax)',
    kind: 'ndoptax',
    recipe: () => "adam({ learningRate: 1e-3, flavor: 'optax', epsilon: 1e-7 }): tf.train.adam's formula and defaults",
    make: () => tfOptimizer(adam({ learningRate: 1e-3, flavor: 'optax', epsilon: 1e-7 })),
  },
  {
    name: 'tf.train.momentum',
    kind: 'tfjs',
    recipe: () => 'tf.train.momentum(0.05, 0.9)',
    make: () => tf.train.momentum(0.05, 0.9),
  },
  {
    name: 'adamw+clip+cosine',
    kind: 'ndoptax',
    recipe: (c, steps) =>
      `chain(clipByTotalNorm(${c.clip}, { flavor: 'optax' }), adamw({ learningRate: warmupCosineDecay({ peakValue: 2e-3, warmupSteps: ${Math.max(1, Math.round(steps / 10))}, decaySteps: ${steps} }), weightDecay: 1e-4, mask: kernels }))`,
    make: (c, steps) => tfOptimizer(chain(clipByTotalNorm(c.clip, { flavor: 'optax' }), adamw({ learningRate: schedule(steps), weightDecay: 1e-4, mask: kernelsOnly }))),
  },
  {
    name: 'adam+maxNorm',
    kind: 'ndoptax',
    constrained: true,
    recipe: (c) => `tfOptimizer(adam({ learningRate: 1e-3, flavor: 'optax' }), { model }), hidden kernelConstraint: tfConstraint((w) => maxNorm(w, ${c.maxNorm}))`,
    make: (_c, _steps, model) => tfOptimizer(adam({ learningRate: 1e-3, flavor: 'optax' }), { model }),
  },
  {
    name: 'nesterov (Lasagne)',
    kind: 'ndoptax',
    recipe: () => 'nesterovMomentum({ learningRate: 0.05, momentum: 0.9 })',
    make: () => tfOptimizer(nesterovMomentum({ learningRate: 0.05, momentum: 0.9 })),
  },
]

/** The model, with the same initial weights on every call (seeded initializers); `maxNormLimit` constrains the hidden kernel's columns. */
export function buildModel(c: DigitsConfig, maxNormLimit?: number): tfl.LayersModel {
  const init = (k: number) => tfl.initializers.glorotUniform({ seed: c.seed * 16 + k })
  const kernelConstraint = maxNormLimit === undefined ? undefined : tfConstraint((w) => maxNorm(w, maxNormLimit))
  return tfl.sequential({
    layers: [
      tfl.layers.dense({ units: c.hidden, inputShape: [PIXELS], activation: 'relu', kernelInitializer: init(1), kernelConstraint }),
      tfl.layers.dense({ units: 10, kernelInitializer: init(2) }),
    ],
  })
}

/** The state of the model after one epoch (epoch 0 is the initialisation). */
export interface DigitsEpoch {
  readonly epoch: number
  /** Mean softmax cross-entropy over the epoch's batches (at epoch 0: over the first batches, before any step). */
  readonly loss: number
  readonly testAccuracy: number
  /** The largest column norm of the hidden and the output kernel. */
  readonly norms: Readonly<Record<'hidden' | 'output', number>>
}

/** A finished run. */
export interface DigitsRun extends Curve {
  readonly name: string
  readonly kind: Contender['kind']
  readonly recipe: string
  readonly history: readonly DigitsEpoch[]
  readonly steps: number
  /** Mean wall time of a training step (gradients and optimizer step), in milliseconds. */
  readonly stepMillis: number
  /** Mean wall time of the optimizer's `applyGradients`, in milliseconds. */
  readonly optimizerMillis: number
  /** Wall time of the whole run, evaluation included, in milliseconds. */
  readonly totalMillis: number
}

/** A set as tfjs tensors: the pixels and the one-hot labels. */
function tensors(set: DigitSet): { readonly x: tf.Tensor2D; readonly y: tf.Tensor2D } {
  return tf.tidy(() => ({ x: tf.tensor2d(set.x, [set.n, PIXELS]), y: tf.cast(tf.oneHot(tf.tensor1d(set.y, 'int32'), 10), 'float32') as tf.Tensor2D }))
}

/** The share of `set` that `model` classifies right. */
function accuracy(model: tfl.LayersModel, set: { readonly x: tf.Tensor2D }, labels: Int32Array): number {
  const predicted = tf.tidy(() => tf.argMax(model.predict(set.x) as tf.Tensor, 1).dataSync() as Int32Array)
  return predicted.reduce((right, p, i) => right + (p === labels[i] ? 1 : 0), 0) / labels.length
}

/** The largest column norm of a kernel (norms over its input axis), computed by ndoptax on a copy. */
function maxColumnNorm(kernel: tf.Tensor): number {
  return Math.sqrt(Math.max(...reduce(fromTf(kernel) as Tensor, [0], 'sumsq')))
}

/** The softmax cross-entropy of `model` on a batch. */
const lossOf = (model: tfl.LayersModel, x: tf.Tensor, y: tf.Tensor) => () => tf.losses.softmaxCrossEntropy(y, model.predict(x) as tf.Tensor) as tf.Scalar

/** The batches of one epoch: a seeded permutation of the training rows, cut into batches of `batchSize` (the last partial one dropped). */
export function epochBatches(c: DigitsConfig, n: number, epoch: number): number[][] {
  const [order] = permutation(split(rng(c.seed), 100 + epoch), n)
  return Array.from({ length: Math.floor(n / c.batchSize) }, (_, b) => order.slice(b * c.batchSize, (b + 1) * c.batchSize))
}

/** Trains one contender from the shared initialisation; `onEpoch` is called after each epoch. */
export function trainDigits(contender: Contender, c: DigitsConfig, data: { readonly train: DigitSet; readonly test: DigitSet }, onEpoch: (epoch: number) => void = () => undefined): DigitsRun {
  const t0 = performance.now()
  const model = buildModel(c, contender.constrained === true ? c.maxNorm : undefined)
  const perEpoch = Math.floor(data.train.n / c.batchSize)
  const steps = perEpoch * c.epochs
  const opt = contender.make(c, steps, model)
  const test = tensors(data.test)
  const history: DigitsEpoch[] = []
  const record = (epoch: number, loss: number) => {
    const [hidden, output] = model.layers.map((l) => maxColumnNorm(l.getWeights()[0]))
    history.push({ epoch, loss, testAccuracy: accuracy(model, test, data.test.y), norms: { hidden, output } })
  }
  const first = tensors(take(data.train, epochBatches(c, data.train.n, 0).slice(0, 4).flat()))
  record(0, tf.tidy(() => lossOf(model, first.x, first.y)().dataSync()[0]))
  tf.dispose([first.x, first.y])
  let stepTime = 0
  let optimizerTime = 0
  for (let epoch = 1; epoch <= c.epochs; epoch++) {
    let total = 0
    for (const rows of epochBatches(c, data.train.n, epoch - 1)) {
      const batch = tensors(take(data.train, rows))
      const a = performance.now()
      const { value, grads } = tf.variableGrads(lossOf(model, batch.x, batch.y))
      const b = performance.now()
      opt.applyGradients(grads)
      const e = performance.now()
      stepTime += e - a
      optimizerTime += e - b
      total += value.dataSync()[0]
      tf.dispose([value, batch.x, batch.y, ...Object.values(grads)])
    }
    record(epoch, total / perEpoch)
    onEpoch(epoch)
  }
  tf.dispose([test.x, test.y])
  opt.dispose()
  model.dispose()
  return {
    name: contender.name,
    kind: contender.kind,
    recipe: contender.recipe(c, steps),
    history,
    steps,
    stepMillis: stepTime / steps,
    optimizerMillis: optimizerTime / steps,
    totalMillis: performance.now() - t0,
  }
}

/**
 * The pure training loop: `(params, state) -> (params', state')` per batch,
 * with nothing mutated. One run trains a fresh, seeded MLP with one
 * transformation and records, after every epoch, the training loss, the
 * accuracies and the largest column norm of each weight matrix.
 */
import { type GradientTransformation, type Params, optimizer } from '../src/index.js'
import { type Iris, allOf, batches } from './iris.js'
import { type Mlp, WEIGHTS, asMlp, evaluate, initMlp, lossAndGrads, maxColumnNorm } from './mlp.js'
import { rng, split } from './random.js'

/** What every run shares. */
export interface TrainConfig {
  readonly epochs: number
  readonly batchSize: number
  readonly hidden: number
  readonly seed: number
}

/** The state of the model after one epoch (epoch 0 is the initialisation). */
export interface EpochRecord {
  readonly epoch: number
  /** Mean softmax cross-entropy on the whole training set. */
  readonly loss: number
  readonly trainAccuracy: number
  readonly testAccuracy: number
  /** The largest column norm of `W1` and of `W2`. */
  readonly norms: Readonly<Record<(typeof WEIGHTS)[number], number>>
}

/** A finished run. */
export interface RunResult {
  readonly name: string
  readonly history: readonly EpochRecord[]
  readonly params: Mlp
  /** Number of optimizer steps taken. */
  readonly steps: number
  /** Mean wall time of one optimizer step (`update` + `applyUpdates`), in microseconds. */
  readonly stepMicros: number
  /** Wall time of the whole run (forward, backward and steps), in milliseconds. */
  readonly totalMillis: number
  /** The total gradient norm of every step, for chains that keep it in their state. */
  readonly gradNorms?: readonly number[]
}

/** Optional callbacks of {@link train}. */
export interface TrainHooks<S> {
  /** Called after each epoch (for a progress bar). */
  readonly onEpoch?: (r: EpochRecord) => void
  /** Reads a gradient norm from the state after each step (for a clipping stage that keeps it). */
  readonly gradNorm?: (state: S) => number
}

/**
 * One pure training step: the gradient of the loss at `params` on `batch`,
 * then the optimizer's step. Returns the new params and state.
 */
export function trainStep<S>(step: (p: Params, g: Params, s: S) => readonly [Params, S], params: Mlp, state: S, batch: Parameters<typeof lossAndGrads>[1]): readonly [Mlp, S] {
  const { grads } = lossAndGrads(params, batch)
  const [p, s] = step(params, grads, state)
  return [asMlp(p), s]
}

function record(epoch: number, params: Mlp, data: Iris): EpochRecord {
  const train = evaluate(params, allOf(data.train))
  const test = evaluate(params, allOf(data.test))
  return {
    epoch,
    loss: train.loss,
    trainAccuracy: train.accuracy,
    testAccuracy: test.accuracy,
    norms: { W1: maxColumnNorm(params.W1), W2: maxColumnNorm(params.W2) },
  }
}

/**
 * Trains a fresh MLP (initialised from `cfg.seed`) with `tx` for `cfg.epochs`
 * epochs of mini-batches (shuffled from `cfg.seed` and the epoch number), so
 * every run with the same config sees the same data in the same order.
 */
export function train<S>(name: string, tx: GradientTransformation<S>, data: Iris, cfg: TrainConfig, hooks: TrainHooks<S> = {}): RunResult {
  const seed = rng(cfg.seed)
  const opt = optimizer(tx)
  let params = initMlp({ inputs: data.inputs, hidden: cfg.hidden, classes: data.classes.length }, split(seed, 0))
  let state = opt.init(params)
  const history: EpochRecord[] = [record(0, params, data)]
  const gradNorms: number[] = []
  let steps = 0
  let stepTime = 0
  const start = performance.now()
  // Time only the optimizer: the step is wrapped, not changed.
  const timedStep = (p: Params, g: Params, s: S): readonly [Params, S] => {
    const t0 = performance.now()
    const out = opt.step(p, g, s)
    stepTime += performance.now() - t0
    steps++
    return out
  }
  for (let epoch = 1; epoch <= cfg.epochs; epoch++) {
    for (const batch of batches(data.train, cfg.batchSize, split(seed, epoch))) {
      ;[params, state] = trainStep(timedStep, params, state, batch)
      if (hooks.gradNorm !== undefined) gradNorms.push(hooks.gradNorm(state))
    }
    const r = record(epoch, params, data)
    history.push(r)
    hooks.onEpoch?.(r)
  }
  const stepMicros = (stepTime * 1000) / Math.max(steps, 1)
  return { name, history, params, steps, stepMicros, totalMillis: performance.now() - start, ...(hooks.gradNorm !== undefined ? { gradNorms } : {}) }
}

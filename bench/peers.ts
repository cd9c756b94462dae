/**
 * The peer: TensorFlow.js (`@tensorflow/tfjs-core`) running Lasagne's Adam
 * step with its own ops, on its wasm backend (SIMD, single thread in Node)
 * and on its pure-JavaScript cpu backend.
 *
 * tfjs is loaded on first use, not with this module: loading it detaches an
 * `ArrayBuffer`, after which V8 guards every typed-array access in the
 * process against detachment, and plain JavaScript loops (the library's and
 * the hand-written ones alike) run ~20% slower. The bench measures the
 * JavaScript-only cases before that.
 */
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { ADAM, type AdamHyper } from './hand.js'

/** The tfjs backends the bench compares with. */
export type Backend = 'wasm' | 'cpu'

type Tf = typeof import('@tensorflow/tfjs-core')

let ready: Promise<Tf> | undefined

/** Loads tfjs, registers the wasm binaries (from `node_modules`) and initialises both backends, once. */
function init(): Promise<Tf> {
  ready ??= (async () => {
    const tf = await import('@tensorflow/tfjs-core')
    await import('@tensorflow/tfjs-backend-cpu')
    const { setWasmPaths } = await import('@tensorflow/tfjs-backend-wasm')
    const require = createRequire(import.meta.url)
    setWasmPaths(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/')
    // tfjs prints a hint about tfjs-node the first time it runs in Node; the bench output does not need it
    const warn = console.warn
    console.warn = () => {}
    try {
      if (!(await tf.setBackend('cpu'))) throw new Error('tfjs: the cpu backend did not initialise')
      if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend did not initialise')
    } finally {
      console.warn = warn
    }
    return tf
  })()
  return ready
}

/** A Lasagne Adam optimizer held in tfjs variables on one backend. */
export interface TfAdam {
  readonly backend: Backend
  /** Makes this backend the current one (untimed). */
  activate(): Promise<void>
  /** One step; returns after the step has completed (it reads one element back). */
  step(): void
  /** The current parameters, read back. */
  params(): Float32Array
}

/**
 * Lasagne's Adam step with tfjs ops inside `tf.tidy`, the state kept in
 * variables: `m ← b1·m + (1−b1)·g`, `v ← b2·v + (1−b2)·g²`,
 * `p ← p − a_t·m / (sqrt(v) + eps)` with `a_t = lr·sqrt(1−b2^t)/(1−b1^t)`.
 */
export async function tfAdam(backend: Backend, p0: Float32Array, g0: Float32Array, h: AdamHyper = ADAM): Promise<TfAdam> {
  const tf = await init()
  await tf.setBackend(backend)
  const n = p0.length
  const p = tf.variable(tf.tensor1d(p0, 'float32'))
  const m = tf.variable(tf.zeros([n], 'float32'))
  const v = tf.variable(tf.zeros([n], 'float32'))
  const g = tf.tensor1d(g0, 'float32')
  let t = 0
  return {
    backend,
    activate: async () => {
      if (tf.getBackend() !== backend) await tf.setBackend(backend)
    },
    step: () => {
      t += 1
      const a = (h.learningRate * Math.sqrt(1 - h.beta2 ** t)) / (1 - h.beta1 ** t)
      tf.tidy(() => {
        const m1 = tf.add(tf.mul(m, h.beta1), tf.mul(g, 1 - h.beta1))
        const v1 = tf.add(tf.mul(v, h.beta2), tf.mul(tf.square(g), 1 - h.beta2))
        const step = tf.div(tf.mul(m1, a), tf.add(tf.sqrt(v1), h.epsilon))
        m.assign(m1)
        v.assign(v1)
        p.assign(tf.sub(p, step))
      })
      // completion: read one element back (the wasm and cpu backends run ops synchronously; this makes it explicit)
      tf.tidy(() => tf.slice(p, [0], [1]).dataSync())
    },
    params: () => p.dataSync() as Float32Array,
  }
}

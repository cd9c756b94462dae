/**
 * A two-layer perceptron `inputs -> hidden (tanh) -> classes (softmax)` with
 * its forward pass, softmax cross-entropy loss and hand-written backward pass,
 * on ndoptax tensors. Elementwise steps go through the library's `map`; the
 * matrix products are plain loops over row-major storage.
 *
 * Weights use Lasagne's `DenseLayer` layout `(inputs, units)`: column `j` of
 * `W1` holds the incoming weights of hidden unit `j`, so Lasagne's default
 * norm axes `[0]` limit each unit's incoming weight vector.
 */
import {
  type FloatArray,
  type Params,
  type Tensor,
  StructureError,
  allocate,
  copy,
  dtypeOf,
  fromStorage,
  isRowMajor,
  isTensor,
  computeNorms,
  map,
  toArray,
} from '../src/index.js'
import type { Batch } from './iris.js'
import { type Rng, uniform } from './random.js'

/** The parameters: a plain tree of four tensors. */
export type Mlp = {
  /** Input-to-hidden weights, `[inputs, hidden]`. */
  readonly W1: Tensor
  /** Hidden biases, `[hidden]`. */
  readonly b1: Tensor
  /** Hidden-to-output weights, `[hidden, classes]`. */
  readonly W2: Tensor
  /** Output biases, `[classes]`. */
  readonly b2: Tensor
}

/** Layer sizes. */
export interface MlpShape {
  readonly inputs: number
  readonly hidden: number
  readonly classes: number
}

/** The weight matrices of {@link Mlp}, for reporting. */
export const WEIGHTS = ['W1', 'W2'] as const

/** Glorot-uniform weights and zero biases, drawn from `r`. */
export function initMlp({ inputs, hidden, classes }: MlpShape, r: Rng): Mlp {
  const glorot = (fanIn: number, fanOut: number, s: Rng) => {
    const limit = Math.sqrt(6 / (fanIn + fanOut))
    const [w, s2] = uniform(s, fanIn * fanOut, -limit, limit)
    return [fromStorage(w, [fanIn, fanOut]), s2] as const
  }
  const [W1, r1] = glorot(inputs, hidden, r)
  const [W2] = glorot(hidden, classes, r1)
  return { W1, b1: fromStorage(new Float64Array(hidden), [hidden]), W2, b2: fromStorage(new Float64Array(classes), [classes]) }
}

/** Reads a params tree returned by an optimizer back as an {@link Mlp}. */
export function asMlp(p: Params): Mlp {
  const o = p as Partial<Record<keyof Mlp, unknown>> | null
  for (const k of ['W1', 'b1', 'W2', 'b2'] as const) {
    if (o === null || typeof o !== 'object' || !isTensor(o[k])) throw new StructureError(`params.${k}`, 'expected a tensor')
  }
  return p as Mlp
}

/** The row-major elements of `t` (its own storage when it is row-major, else a copy). */
function rowMajor(t: Tensor): FloatArray {
  const c = isRowMajor(t) ? t : copy(t)
  return c.data.subarray(c.offset, c.offset + c.size) as FloatArray
}

/** `a · b (+ bias on every row)` for 2-D `a: [m, k]`, `b: [k, n]` (any views). */
export function matmul(a: Tensor, b: Tensor, bias?: Tensor): Tensor {
  const [m, k] = a.shape
  const n = b.shape[1]
  if (b.shape[0] !== k) throw new StructureError('matmul', `inner sizes differ: [${a.shape}] · [${b.shape}]`)
  const A = rowMajor(a)
  const B = rowMajor(b)
  const out = allocate(dtypeOf(a), m * n)
  if (bias !== undefined) {
    const c = rowMajor(bias)
    for (let i = 0; i < m; i++) out.set(c, i * n)
  }
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const aip = A[i * k + p]
      const row = p * n
      for (let j = 0; j < n; j++) out[i * n + j] += aip * B[row + j]
    }
  }
  return fromStorage(out, [m, n])
}

/** The column sums of a 2-D tensor (the gradient of a bias added to every row). */
function columnSums(t: Tensor): Tensor {
  const [m, n] = t.shape
  const T = rowMajor(t)
  const out = allocate(dtypeOf(t), n)
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[j] += T[i * n + j]
  return fromStorage(out, [n])
}

const tanh = (z: Tensor): Tensor =>
  map([z], [dtypeOf(z)], (n, [o], [v]) => {
    for (let k = 0; k < n; k++) o[k] = Math.tanh(v[k])
  })[0]

/** `dz = dh · (1 − h²)`: the backward pass of tanh in one fused map. */
const tanhBackward = (h: Tensor, dh: Tensor): Tensor =>
  map([h, dh], [dtypeOf(h)], (n, [o], [hv, g]) => {
    for (let k = 0; k < n; k++) o[k] = g[k] * (1 - hv[k] * hv[k])
  })[0]

/**
 * Mean softmax cross-entropy of `logits` against `labels` and its gradient
 * `(softmax(logits) − onehot(labels)) / batch`.
 */
function softmaxCrossEntropy(logits: Tensor, labels: readonly number[]): { loss: number; dlogits: Tensor; correct: number } {
  const [m, c] = logits.shape
  const Z = rowMajor(logits)
  const d = allocate(dtypeOf(logits), m * c)
  let loss = 0
  let correct = 0
  for (let i = 0; i < m; i++) {
    let max = -Infinity
    let arg = 0
    for (let j = 0; j < c; j++) if (Z[i * c + j] > max) [max, arg] = [Z[i * c + j], j]
    let sum = 0
    for (let j = 0; j < c; j++) sum += Math.exp(Z[i * c + j] - max)
    for (let j = 0; j < c; j++) d[i * c + j] = Math.exp(Z[i * c + j] - max) / sum / m
    d[i * c + labels[i]] -= 1 / m
    loss += (Math.log(sum) + max - Z[i * c + labels[i]]) / m
    if (arg === labels[i]) correct++
  }
  return { loss, dlogits: fromStorage(d, [m, c]), correct }
}

/** The loss on a batch and the fraction of it classified correctly. */
export interface Evaluation {
  readonly loss: number
  readonly accuracy: number
}

/** The loss, its gradient with respect to every parameter, and the batch accuracy. */
export interface LossAndGrads extends Evaluation {
  readonly grads: Mlp
}

function forward(p: Mlp, x: Tensor) {
  const h = tanh(matmul(x, p.W1, p.b1))
  return { h, logits: matmul(h, p.W2, p.b2) }
}

/** Evaluates `p` on `batch` without computing gradients. */
export function evaluate(p: Mlp, { x, y }: Batch): Evaluation {
  const { loss, correct } = softmaxCrossEntropy(forward(p, x).logits, y)
  return { loss, accuracy: correct / y.length }
}

/**
 * Forward and backward pass on one batch. The transposes are views
 * (`h.transpose(1, 0)`), which the matmul reads through a contiguous copy.
 */
export function lossAndGrads(p: Mlp, { x, y }: Batch): LossAndGrads {
  const { h, logits } = forward(p, x)
  const { loss, dlogits, correct } = softmaxCrossEntropy(logits, y)
  const dh = matmul(dlogits, p.W2.transpose(1, 0))
  const dz = tanhBackward(h, dh)
  const grads: Mlp = {
    W1: matmul(x.transpose(1, 0), dz),
    b1: columnSums(dz),
    W2: matmul(h.transpose(1, 0), dlogits),
    b2: columnSums(dlogits),
  }
  return { loss, accuracy: correct / y.length, grads }
}

/**
 * The largest L2 norm of a column of `w`: Lasagne's `compute_norms` over
 * axis 0 (each unit's incoming weights), the norm `normConstraint` bounds.
 */
export function maxColumnNorm(w: Tensor): number {
  return toArray(computeNorms(w, [0])).reduce((a, b) => Math.max(a, b), 0)
}

/**
 * A pure training loop in a few lines: linear regression `y ≈ X·w + b` on
 * synthetic data, fitted by plain gradient descent written as a
 * `GradientTransformation` and run with `optimizer(tx).step`.
 *
 * Nothing is mutated: every step returns new params and a new state.
 *
 * Run: `npx tsx examples/quickstart.ts` (this is what `npm start` runs).
 */
import {
  EMPTY_STATE,
  type EmptyState,
  type GradientTransformation,
  type Params,
  type Tensor,
  mapTree,
  optimizer,
  scaleAll,
  tensor,
  toArray,
  zeros,
  transformation,
} from '../src/index.js'

/** Gradient descent: `u = -learningRate · g`, no state. */
function sgd(learningRate: number): GradientTransformation<EmptyState> {
  return transformation({
    init: () => EMPTY_STATE,
    update: (grads, state) => [mapTree(grads, (g) => scaleAll(g, -learningRate)), state],
  })
}

// Synthetic data: N samples of D features, y = X·wTrue + bTrue + noise.
const N = 128
const D = 3
const wTrue = [2, -3, 0.5]
const bTrue = 1
let seed = 42
const rand = (): number => {
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed / 2147483648 - 0.5
}
const X = Array.from({ length: N }, () => Array.from({ length: D }, rand))
const y = X.map((x) => x.reduce((s, xi, i) => s + xi * wTrue[i], bTrue) + 0.01 * rand())

/** The parameters: a tree of two tensors. */
type Model = {
  readonly w: Tensor // shape [D]
  readonly b: Tensor // shape [] (a scalar)
}

/** Mean squared error and its gradient with respect to `w` and `b`. */
function lossAndGrads(params: Model): [number, Params] {
  const { w, b } = params
  const wv = toArray(w)
  const bv = toArray(b)[0]
  const dw = new Array<number>(D).fill(0)
  let db = 0
  let loss = 0
  for (let n = 0; n < N; n++) {
    const r = X[n].reduce((s, xi, i) => s + xi * wv[i], bv) - y[n]
    loss += (r * r) / N
    for (let i = 0; i < D; i++) dw[i] += (2 * r * X[n][i]) / N
    db += (2 * r) / N
  }
  return [loss, { w: tensor(dw), b: tensor(db) }]
}

const opt = optimizer(sgd(0.5))
let params: Model = { w: zeros([D]), b: zeros([]) }
let state = opt.init(params)
const first = lossAndGrads(params)[0]
let last = first
for (let step = 0; step <= 100; step++) {
  const [loss, grads] = lossAndGrads(params)
  if (step % 10 === 0) console.log(`step ${String(step).padStart(3)}  loss ${loss.toExponential(3)}`)
  ;[params, state] = opt.step(params, grads, state)
  last = loss
}
const fitted = params // the step keeps the Model type
console.log(`w = [${toArray(fitted.w).map((v) => v.toFixed(3)).join(', ')}] (true [${wTrue.join(', ')}]), b = ${toArray(fitted.b)[0].toFixed(3)} (true ${bTrue})`)
if (!(last < first / 100)) {
  console.error(`the loss did not decrease enough: ${first} -> ${last}`)
  process.exit(1)
}

/**
 * The digits of the `mnist` package (10 000 labelled 28×28 images, about
 * 1 000 per digit, grey levels in [0, 1]), shuffled with a seed and split
 * into a training and a test set.
 */
import { createRequire } from 'node:module'
import { permutation, rng, split } from './random.js'

/** One set of images: `x` holds `n` rows of 784 pixels, `y` the digit of each. */
export interface DigitSet {
  readonly n: number
  readonly x: Float32Array
  readonly y: Int32Array
}

export const PIXELS = 28 * 28

const require = createRequire(import.meta.url)

/** Every image of the package, in the package's order (digit by digit). */
function loadAll(): DigitSet {
  const raw = Array.from({ length: 10 }, (_, d) => (require(`mnist/src/digits/${d}.json`) as { data: number[] }).data)
  const n = raw.reduce((a, r) => a + r.length / PIXELS, 0)
  const x = new Float32Array(n * PIXELS)
  const y = new Int32Array(n)
  let at = 0
  raw.forEach((r, digit) => {
    x.set(r, at * PIXELS)
    y.fill(digit, at, at + r.length / PIXELS)
    at += r.length / PIXELS
  })
  return { n, x, y }
}

/** The rows `rows` of `set`, in that order. */
export function take(set: DigitSet, rows: readonly number[]): DigitSet {
  const x = new Float32Array(rows.length * PIXELS)
  rows.forEach((r, i) => x.set(set.x.subarray(r * PIXELS, (r + 1) * PIXELS), i * PIXELS))
  return { n: rows.length, x, y: Int32Array.from(rows, (r) => set.y[r]) }
}

/** The digits shuffled with `seed` and split: the first `trainSize` for training, the next `testSize` held out. */
export function loadDigits(seed: number, trainSize: number, testSize: number): { readonly train: DigitSet; readonly test: DigitSet } {
  const all = loadAll()
  if (trainSize + testSize > all.n) throw new RangeError(`--train-size ${trainSize} + --test-size ${testSize} exceeds the ${all.n} digits of the mnist package`)
  const [order] = permutation(split(rng(seed), 0), all.n)
  return { train: take(all, order.slice(0, trainSize)), test: take(all, order.slice(trainSize, trainSize + testSize)) }
}

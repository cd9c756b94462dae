/**
 * The plain hand loops: what a user writes without rounding intermediates to
 * float32, in place over bare `Float32Array`s (the fastest plain JavaScript
 * for the job). The memory floor of each is `streamFloor` (kernel/wasm.ts).
 *
 * Lasagne's formulas with its default hyperparameters; their numbers differ
 * from the library's in the last bits (the library rounds where Lasagne's
 * float32 graph stores), so they are timed, not compared.
 */

/** The optimizers of case (a). */
export type PlainOptimizer = 'adam' | 'adagrad' | 'rmsprop' | 'amsgrad'

/** The arrays of one in-place step: params, gradient and one to three state arrays. */
export interface PlainArrays {
  readonly p: Float32Array
  readonly g: Float32Array
  readonly s: readonly Float32Array[]
}

/** How many state arrays each optimizer keeps. */
export const STATE_ARRAYS: Readonly<Record<PlainOptimizer, number>> = { adam: 2, adagrad: 1, rmsprop: 1, amsgrad: 3 }

const LR = 1e-3

/** One in-place step `t` (1-based) of `name` over `x`. */
export function plainStep(name: PlainOptimizer, x: PlainArrays, t: number): void {
  const { p, g, s } = x
  const n = p.length
  if (name === 'adagrad' || name === 'rmsprop') {
    const [acc] = s
    const rho = name === 'rmsprop' ? 0.9 : 1
    const c = name === 'rmsprop' ? 0.1 : 1
    const eps = 1e-6
    for (let k = 0; k < n; k++) {
      const gk = g[k]
      const a = rho * acc[k] + c * gk * gk
      acc[k] = a
      p[k] -= (LR * gk) / Math.sqrt(a + eps)
    }
    return
  }
  const [m, v, vMax] = s
  const a = adamFactor(t)
  const eps = 1e-8
  if (name === 'adam') return adamInto(p, g, m, v, a, p, m, v)
  for (let k = 0; k < n; k++) {
    const gk = g[k]
    const mk = 0.9 * m[k] + 0.1 * gk
    const vk = 0.999 * v[k] + 0.001 * gk * gk
    const wk = Math.max(vMax[k], vk)
    m[k] = mk
    v[k] = vk
    vMax[k] = wk
    p[k] -= (a * mk) / (Math.sqrt(wk) + eps)
  }
}

/** Adam's step size at step `t` (1-based): `lr · sqrt(1 − 0.999^t) / (1 − 0.9^t)`. */
export function adamFactor(t: number): number {
  return (LR * Math.sqrt(1 - 0.999 ** t)) / (1 - 0.9 ** t)
}

/**
 * {@link adamInto} over `n` elements of arrays shared by many leaves: reads
 * `p, m, v` from element `from` on and `g` from 0, and writes the new
 * params and moments into `pOut, mOut, vOut` from element `to` on (the
 * floor of a pure step whose outputs are views into shared chunks).
 * {@link adamInto} stays a loop of its own, without the offsets: it is the
 * plain loop every ratio of (b) is measured against.
 */
export function adamAt(
  n: number,
  p: Float32Array,
  m: Float32Array,
  v: Float32Array,
  from: number,
  g: Float32Array,
  a: number,
  pOut: Float32Array,
  mOut: Float32Array,
  vOut: Float32Array,
  to: number,
): void {
  for (let k = 0; k < n; k++) {
    const gk = g[k]
    const mk = 0.9 * m[from + k] + 0.1 * gk
    const vk = 0.999 * v[from + k] + 0.001 * gk * gk
    mOut[to + k] = mk
    vOut[to + k] = vk
    pOut[to + k] = p[from + k] - (a * mk) / (Math.sqrt(vk) + 1e-8)
  }
}

/**
 * Plain Adam over one leaf with step size `a` (see {@link adamFactor}):
 * reads `p, g, m, v` and writes the new params and moments into `pOut,
 * mOut, vOut` (the same arrays for the in-place step, new ones for a pure
 * step).
 */
export function adamInto(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, a: number, pOut: Float32Array, mOut: Float32Array, vOut: Float32Array): void {
  const n = p.length
  for (let k = 0; k < n; k++) {
    const gk = g[k]
    const mk = 0.9 * m[k] + 0.1 * gk
    const vk = 0.999 * v[k] + 0.001 * gk * gk
    mOut[k] = mk
    vOut[k] = vk
    pOut[k] = p[k] - (a * mk) / (Math.sqrt(vk) + 1e-8)
  }
}

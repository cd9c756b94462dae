/**
 * The hand-written loops the library is measured against: what a careful
 * programmer writes for one job over bare `Float32Array`s, in place where the
 * job allows it, with no library around it.
 *
 * They do the library's float32 arithmetic (`Math.fround` wherever the
 * library stores a float32 value), so that a bench run can check that both
 * sides computed the same numbers: the comparison is of speed alone.
 */

const F = Math.fround

/** Lasagne's Adam hyperparameters. */
export interface AdamHyper {
  readonly learningRate: number
  readonly beta1: number
  readonly beta2: number
  readonly epsilon: number
}

/** Lasagne's defaults. */
export const ADAM: AdamHyper = { learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 }

/** The per-step float32 scalars of Lasagne's Adam at step `t` (1-based). */
function adamScalars(h: AdamHyper, t: number) {
  const b1 = F(h.beta1)
  const b2 = F(h.beta2)
  return {
    b1,
    b2,
    ob1: F(1 - b1),
    ob2: F(1 - b2),
    eps: F(h.epsilon),
    a: F(F(Math.sqrt(F(1 - F(b2 ** t)))) / F(1 - F(b1 ** t))),
    c: -F(h.learningRate),
  }
}

type AdamScalars = ReturnType<typeof adamScalars>

/** The fused in-place loop over one leaf, with the step's scalars. */
function adamLoop(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, s: AdamScalars, pre: number): void {
  const { b1, b2, ob1, ob2, eps, a, c } = s
  const n = p.length
  for (let k = 0; k < n; k++) {
    const gk = F(pre * g[k])
    const mk = F(b1 * m[k] + ob1 * gk)
    const vk = F(b2 * v[k] + ob2 * (gk * gk))
    m[k] = mk
    v[k] = vk
    p[k] = p[k] + F(c * F((a * mk) / (Math.sqrt(vk) + eps)))
  }
}

/**
 * One Lasagne Adam step at step `t`, fused and in place over `p`, `m`, `v`:
 * `m = b1·m + (1−b1)·g`, `v = b2·v + (1−b2)·g²`,
 * `p += −lr · a_t · m / (sqrt(v) + eps)`.
 */
export function adamInPlace(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, t: number): void {
  adamLoop(p, g, m, v, adamScalars(ADAM, t), 1)
}

/** The same step over many leaves (the scalars computed once, one loop per leaf); each gradient is first multiplied by `pre` (a clipping multiplier). */
export function adamInPlaceLeaves(ps: Float32Array[], gs: Float32Array[], ms: Float32Array[], vs: Float32Array[], t: number, h: AdamHyper = ADAM, pre = 1): void {
  const s = adamScalars(h, t)
  for (let i = 0; i < ps.length; i++) adamLoop(ps[i], gs[i], ms[i], vs[i], s, pre)
}

/** Lasagne's multiplier `min(n, m) / (eps + n)` in float32, for a norm `n` already rounded. */
function multiplier(n: number, maxNorm: number, epsilon: number): number {
  const m = F(maxNorm)
  const target = n > m ? m : n
  return target === 0 ? 0 : F(target / F(F(epsilon) + n))
}

/**
 * Lasagne's `norm_constraint` of a row-major `rows × cols` matrix over axis 0
 * (one norm per column): column sums of squares walking rows (storage
 * order), then every row scaled by the column multipliers into `out` (which
 * may be `x` itself).
 */
export function normConstraintColumns(x: Float32Array, rows: number, cols: number, maxNorm: number, out: Float32Array, epsilon = 1e-7): Float32Array {
  const acc = new Float64Array(cols)
  for (let i = 0, p = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++, p++) acc[j] += x[p] * x[p]
  }
  for (let j = 0; j < cols; j++) acc[j] = multiplier(F(Math.sqrt(F(acc[j]))), maxNorm, epsilon)
  for (let i = 0, p = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++, p++) out[p] = x[p] * acc[j]
  }
  return out
}

/**
 * Lasagne's `norm_constraint` with one norm per row of a row-major
 * `rows × cols` matrix (a conv kernel's default axes: all but the first),
 * into `out` (which may be `x` itself).
 */
export function normConstraintRows(x: Float32Array, rows: number, cols: number, maxNorm: number, out: Float32Array, epsilon = 1e-7): Float32Array {
  for (let i = 0, p0 = 0; i < rows; i++, p0 += cols) {
    let s = 0
    for (let p = p0; p < p0 + cols; p++) s += x[p] * x[p]
    const f = multiplier(F(Math.sqrt(F(s))), maxNorm, epsilon)
    for (let p = p0; p < p0 + cols; p++) out[p] = x[p] * f
  }
  return out
}

/** Lasagne's total-norm multiplier of a list of float32 arrays (float64 sums per array, float32 norm). */
export function totalNormMultiplier(xs: readonly Float32Array[], maxNorm: number, epsilon = 1e-7): number {
  let total = 0
  for (const x of xs) {
    let s = 0
    for (let k = 0; k < x.length; k++) s += x[k] * x[k]
    total += s
  }
  return multiplier(F(Math.sqrt(F(total))), maxNorm, epsilon)
}

/** Lasagne's `total_norm_constraint`: every array times the one multiplier, into `outs`. */
export function totalNormConstraint(xs: readonly Float32Array[], maxNorm: number, outs: Float32Array[]): Float32Array[] {
  const f = totalNormMultiplier(xs, maxNorm)
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]
    const o = outs[i]
    for (let k = 0; k < x.length; k++) o[k] = x[k] * f
  }
  return outs
}

/**
 * optax's projections (`optax.projections`): plain functions of a tree of
 * tensors that return the nearest point of a set. They are also
 * `constrainParams` stages: `chain(adam(...), constrainParams(projectionL2Ball))`.
 *
 * @module constraints
 */
import { recurrenceKernels } from '../core/fusion.js'
import { type Params } from '../core/types.js'
import { checkNumber } from '../errors/index.js'
import { max, min, recurrence } from '../kernel/index.js'
import { type Tensor, allocate, dtypeOf, fromStorage, map, roundTo, scaleAll, toArray } from '../tensor/index.js'
import { flatten, mapTree, unflatten } from '../tree/index.js'
import { commonDtype, limitOf, totalFactor, totalNorm } from './norms.js'

/** `clip(x, lower, upper)`, elementwise (NaN stays NaN). */
const BOX = recurrence({ name: 'projection_box', state: [], scalars: ['lower', 'upper'], step: ({ g }, { lower, upper }) => ({ update: min(max(g, lower), upper) }) })

/** Every leaf of `tree` through `f`, keeping the structure. */
function leafwise<T extends Params>(tree: T, f: (t: Tensor) => Tensor): T {
  return mapTree(tree, f, 'tree') as T
}

/** Every leaf times `factor` (the product rounded once to its dtype, as the norm constraints' factors assume). */
function scaled<T extends Params>(tree: T, factor: number): T {
  return leafwise(tree, (t) => scaleAll(t, factor))
}

/**
 * optax `projection_box`: every element clipped into `[lower, upper]`.
 *
 * @example
 * projectionBox({ w: tensor([-2, 0.5, 3]) }, -1, 1) // { w: [-1, 0.5, 1] }
 * @category constraints
 */
export function projectionBox<T extends Params>(tree: T, lower: number, upper: number): T {
  const lo = checkNumber('lower', lower, { allowInfinity: true })
  const hi = checkNumber('upper', upper, { min: lo, allowInfinity: true })
  const kernels = recurrenceKernels(BOX, (round) => ({ lower: round(lo), upper: round(hi) }))
  return leafwise(tree, (t) => map([t], [dtypeOf(t)], kernels(dtypeOf(t)))[0])
}

/**
 * optax `projection_non_negative`: `max(x, 0)`, elementwise.
 *
 * @example
 * projectionNonNegative({ w: tensor([-1, 2]) }) // { w: [0, 2] }
 * @category constraints
 */
export function projectionNonNegative<T extends Params>(tree: T): T {
  return projectionBox(tree, 0, Infinity)
}

/**
 * optax `projection_hypercube`: every element clipped into `[0, scale]`.
 *
 * @example
 * projectionHypercube({ w: tensor([-1, 0.5, 2]) }) // { w: [0, 0.5, 1] }
 * @category constraints
 */
export function projectionHypercube<T extends Params>(tree: T, scale = 1): T {
  return projectionBox(tree, 0, checkNumber('scale', scale, { min: 0 }))
}

/**
 * optax `projection_linf_ball`: every element clipped into `[−scale, scale]`.
 *
 * @example
 * projectionLinfBall({ w: tensor([-2, 0.5]) }) // { w: [-1, 0.5] }
 * @category constraints
 */
export function projectionLinfBall<T extends Params>(tree: T, scale = 1): T {
  const s = checkNumber('scale', scale, { min: 0 })
  return projectionBox(tree, -s, s)
}

/**
 * optax `projection_l2_ball`: the tree scaled by
 * `scale / max(‖x‖₂, scale)` (unchanged inside the ball; the global norm
 * over every leaf).
 *
 * @example
 * projectionL2Ball({ w: tensor([3, 4]) }) // { w: [0.6, 0.8] }
 * @category constraints
 */
export function projectionL2Ball<T extends Params>(tree: T, scale = 1): T {
  const s = checkNumber('scale', scale, { min: 0 })
  const ts = flatten(tree, 'tree')[0] as Tensor[]
  if (ts.length === 0) return tree
  // optax's factor, lowered where rounding could leave the tree outside the ball
  const { factor, norm } = totalFactor(ts, 2, limitOf(s, roundTo(commonDtype(ts))), (n) => (n <= s ? 1 : s / n))
  return norm <= s && factor === 1 ? tree : scaled(tree, factor)
}

/**
 * optax `projection_l2_sphere`: the tree scaled to global L2 norm `scale`.
 *
 * @example
 * projectionL2Sphere({ w: tensor([3, 4]) }, 10) // { w: [6, 8] }
 * @category constraints
 */
export function projectionL2Sphere<T extends Params>(tree: T, scale = 1): T {
  const s = checkNumber('scale', scale, { min: 0 })
  const ts = flatten(tree, 'tree')[0] as Tensor[]
  return scaled(tree, s / totalNorm(ts, 2).norm)
}

/**
 * The Euclidean projection of `v` onto the simplex `{p >= 0, Σp = s}`
 * (Duchi et al. 2008), as optax computes it: sort decreasing, find the
 * last index where `s/i + (u_i − cumsum_i / i) > 0`, shift and clip.
 */
function simplex(v: readonly number[], s: number): number[] {
  const u = [...v].sort((a, b) => b - a)
  let cumsum = 0
  let count = 0
  let total = 0
  u.forEach((x, i) => {
    cumsum += x
    if (s / (i + 1) + (x - cumsum / (i + 1)) > 0) {
      count = i + 1
      total = cumsum
    }
  })
  return v.map((x) => Math.max(s / count + (x - total / count), 0))
}

/** `tree` with its leaves' values replaced by `values` (in leaf order), rounded to each leaf's dtype. */
function withValues<T extends Params>(tree: T, values: readonly number[]): T {
  const [ts, def] = flatten(tree, 'tree')
  let k = 0
  const out = (ts as Tensor[]).map((t) => {
    const data = allocate(dtypeOf(t), t.size)
    for (let i = 0; i < t.size; i++) data[i] = roundTo(dtypeOf(t))(values[k++])
    return fromStorage(data, t.shape)
  })
  return unflatten(def, out) as T
}

/**
 * optax `projection_simplex`: the nearest tree (all leaves as one vector)
 * with non-negative entries summing to `scale`.
 *
 * @example
 * projectionSimplex({ w: tensor([2.5, 3.2]) }) // { w: [0.15, 0.85] }
 * @category constraints
 */
export function projectionSimplex<T extends Params>(tree: T, scale = 1): T {
  const s = checkNumber('scale', scale, { min: 0, minExclusive: true })
  const values = (flatten(tree, 'tree')[0] as Tensor[]).flatMap(toArray)
  return withValues(tree, simplex(values.map((x) => x / s), 1).map((x) => s * x))
}

/**
 * optax `projection_l1_ball`: unchanged when `‖x‖₁ <= scale`, else
 * `sign(x) · simplex(|x|, scale)` (all leaves as one vector).
 *
 * @example
 * projectionL1Ball({ w: tensor([2.5, -3.2]) }) // { w: [0.15, -0.85] }
 * @category constraints
 */
export function projectionL1Ball<T extends Params>(tree: T, scale = 1): T {
  const s = checkNumber('scale', scale, { min: 0, minExclusive: true })
  const values = (flatten(tree, 'tree')[0] as Tensor[]).flatMap(toArray)
  const l1 = values.reduce((a, x) => a + Math.abs(x), 0)
  if (l1 <= s) return tree
  const projected = simplex(values.map((x) => Math.abs(x) / s), 1)
  return withValues(tree, values.map((x, i) => Math.sign(x) * s * projected[i]))
}


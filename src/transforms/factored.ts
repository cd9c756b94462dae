/**
 * Adafactor's second moment (Shazeer & Stern 2018): per row and per column
 * of a matrix instead of per element, as optax (`scale_by_factored_rms`)
 * and PyTorch (`torch.optim.Adafactor`) each compute it. The per-element
 * parts are programs; the row and column means are reductions.
 *
 * @module transforms
 */
import { type GradientTransformation, type Params, transformation } from '../core/index.js'
import { evaluate } from '../core/fusion.js'
import { totalNorm } from '../constraints/norms.js'
import { ConfigError, ShapeError, checkNumber, checkOptions } from '../errors/index.js'
import { type Expr, type Operand, add, div, max, mul, program, sqrt, store as r, sub, where } from '../kernel/index.js'
import { type Dtype, type Shape, type Tensor, broadcastTo, dtypeOf, formatShape, fromStorage, reduce, roundTo, scaleAll, scaleSlices, shapeEquals, zeros } from '../tensor/index.js'
import { type Path, formatPath, mapTree, zipStructure } from '../tree/index.js'
import { countOf } from './block.js'
import { booleanOption } from './flavor.js'

/** `v' = decay · v + (1 − decay) · x`. */
const EMA = program('factored ema', 2, 2, ([v, x], [decay, rest]) => [r(add(r(mul(decay, v)), r(mul(rest, x))))])

/** The unfactored second moment and update: `v' = decay · v + (1 − decay) · (g² + ε)`, `u = g · v'^(−1/2)`. */
const UNFACTORED = program('unfactored rms', 2, 3, ([g, v], [decay, rest, epsilon]) => {
  const v1 = r(add(r(mul(decay, v)), r(mul(rest, r(add(r(mul(g, g)), epsilon))))))
  return [r(mul(g, r(div(1, r(sqrt(v1)))))), v1]
})

/** `(v / m)^(−1/2)`. */
const ROW_FACTOR = program('row factor', 2, 0, ([v, m]) => [r(div(1, r(sqrt(r(div(v, m))))))])

/** `v^(−1/2)`. */
const COLUMN_FACTOR = program('column factor', 1, 0, ([v]) => [r(div(1, r(sqrt(v))))])

/** torch's `lerp_(end, w)`: `self + w · (end − self)` for `w < 0.5`, else `end − (end − self) · (1 − w)`. */
function lerp(self: Operand, end: Operand, w: Operand, rest: Operand): Expr {
  const diff = r(sub(end, self))
  return where('lt', w, 0.5, r(add(self, r(mul(w, diff)))), r(sub(end, r(mul(diff, rest)))))
}

const LERP = program('lerp', 2, 2, ([self, end], [w, rest]) => [lerp(self, end, w, rest)])

/** torch's factored update: `g · max(row · col / m, ε1²)^(−1/2)`. */
const TORCH_FACTORED = program('torch factored rms', 4, 1, ([g, row, col, m], [floor]) => [
  r(mul(r(div(1, r(sqrt(max(r(div(r(mul(row, col)), m)), floor))))), g)),
])

/** torch's vector update: `v' = lerp(v, g², w)`, `u = g · max(v', ε1²)^(−1/2)`. */
const TORCH_VECTOR = program('torch rms', 2, 3, ([g, v], [w, rest, floor]) => {
  const v1 = lerp(v, r(mul(g, g)), w, rest)
  return [r(mul(r(div(1, r(sqrt(max(v1, floor))))), g)), v1]
})

/** torch's step with its decoupled decay: `c · u − lr · λ · p`. */
const TORCH_STEP = program('torch adafactor step', 2, 2, ([u, p], [c, decay]) => [r(add(r(mul(c, u)), r(mul(decay, p))))])

/** Per-slice `values` as a tensor of `shape` in `dtype`. */
function valuesTensor(values: ArrayLike<number>, shape: Shape, dtype: Dtype): Tensor {
  return fromStorage(dtype === 'float32' ? Float32Array.from(values) : Float64Array.from(values), shape)
}

/** `shape` without `axis`. */
const without = (shape: Shape, axis: number): number[] => shape.filter((_, i) => i !== axis)

/** A state leaf checked to have `shape`, or a `ShapeError` naming its path. */
function stateLeaf(t: Tensor, shape: Shape, root: string, path: Path): Tensor {
  if (!shapeEquals(t.shape, shape)) throw new ShapeError(formatPath(root, path), `shape ${formatShape(t.shape)} vs ${formatShape(shape)} expected for the update's shape`)
  return t
}

/** The state of {@link scaleByFactoredRms} and of torch's Adafactor: the step count and the per-leaf row, column and unfactored moments. */
export interface FactoredState {
  /** Updates made so far. */
  readonly count: number
  /** Row moments (a leaf of shape `[1]` where the leaf is not factored). */
  readonly vRow: Params
  /** Column moments (shape `[1]` where the leaf is not factored). */
  readonly vCol: Params
  /** Elementwise moments (shape `[1]` where the leaf is factored). */
  readonly v: Params
}

/** The state shapes of a leaf: `[vRow, vCol, v]`. */
type Layout = (shape: Shape) => readonly [Shape, Shape, Shape]

/** A block over factored moments: `init` from the layout; `step(g, [vRow, vCol, v], p)` per leaf. */
function factoredBlock(
  layout: Layout,
  readsParams: boolean,
  step: (count: number) => (g: Tensor, state: readonly Tensor[], p: Tensor | undefined) => readonly Tensor[],
  owner: string,
): GradientTransformation<FactoredState> {
  return transformation<FactoredState>({
    init: (params) => {
      const [vRow, vCol, v] = [0, 1, 2].map((k) => mapTree(params, (t) => zeros(layout(t.shape)[k], dtypeOf(t)), 'params') as Params)
      return Object.freeze({ count: 0, vRow, vCol, v })
    },
    update: (updates, state, params) => {
      const count = countOf(state)
      if (readsParams && params === undefined) throw new ConfigError('params', `${owner} needs the params (pass them to update)`)
      const at = step(count)
      const trees = readsParams ? [updates, state.vRow, state.vCol, state.v, params as Params] : [updates, state.vRow, state.vCol, state.v]
      const names = ['updates', 'state.vRow', 'state.vCol', 'state.v', 'params']
      const [u, vRow, vCol, v] = zipStructure(trees, names, 4, (ts, path) => {
        const g = ts[0]
        const shapes = layout(g.shape)
        const moments = [1, 2, 3].map((k) => stateLeaf(ts[k], shapes[k - 1], names[k], path))
        if (readsParams) stateLeaf(ts[4], g.shape, 'params', path)
        return at(g, moments, ts[4])
      }) as Params[]
      return [u, Object.freeze({ count: count + 1, vRow, vCol, v })]
    },
  })
}

/**
 * Options of {@link scaleByFactoredRms}.
 * @category model
 */
export interface ScaleByFactoredRmsOptions {
  /** Factor the moment of large matrices; default true. */
  readonly factored?: boolean
  /** The exponent `c` of the decay `1 − t^(−c)`; default 0.8. */
  readonly decayRate?: number
  /** Subtracted from the step count in the decay (fine-tuning); default 0. */
  readonly stepOffset?: number
  /** Factor only where the second-largest dimension is at least this; default 128. */
  readonly minDimSizeToFactor?: number
  /** Added to each squared gradient; default 1e-30. */
  readonly epsilon?: number
}

/** optax's two largest axes `[d1, d0]` of a leaf it factors (`d0` the largest; ties to the later axis), or undefined. */
function factoredAxes(shape: Shape, factored: boolean, minDim: number): readonly [number, number] | undefined {
  if (!factored || shape.length < 2) return undefined
  const sorted = shape.map((_, i) => i).sort((a, b) => shape[a] - shape[b] || a - b)
  const [d1, d0] = sorted.slice(-2)
  return shape[d1] < minDim ? undefined : [d1, d0]
}

/**
 * Adafactor's factored second moment (optax `scale_by_factored_rms`). With
 * `decay = 1 − t^(−decayRate)` (`t` the 1-based step less `stepOffset`, in
 * float32 as optax computes it) and `g² + epsilon`:
 *
 * - a leaf of rank ≥ 2 whose second-largest dimension is at least
 *   `minDimSizeToFactor` keeps `vRow` (the mean of `g² + ε` over its largest
 *   axis `d0`) and `vCol` (over the second-largest `d1`), each an EMA with
 *   `decay`, and scales `u = g · (vRow / mean(vRow))^(−1/2) · vCol^(−1/2)`;
 * - every other leaf keeps the elementwise EMA `v` and scales `u = g · v^(−1/2)`.
 *
 * The state holds `vRow`, `vCol` and `v` for every leaf, shape `[1]` where
 * unused (as optax). A zero gradient gives a zero update (its moment is
 * `ε` at least); a NaN or infinite gradient makes its moments, and the
 * updates it touches, NaN or infinite, as in optax.
 *
 * @example
 * const tx = chain(scaleByFactoredRms(), clipByBlockRms(1), scale(-0.01))
 * @category transforms
 */
export function scaleByFactoredRms(options: ScaleByFactoredRmsOptions = {}): GradientTransformation<FactoredState> {
  checkOptions('scaleByFactoredRms', options, ['factored', 'decayRate', 'stepOffset', 'minDimSizeToFactor', 'epsilon'])
  const factored = booleanOption('scaleByFactoredRms.factored', options.factored ?? true)
  const decayRate = checkNumber('decayRate', options.decayRate ?? 0.8)
  const offset = checkNumber('stepOffset', options.stepOffset ?? 0, { integer: true })
  const minDim = checkNumber('minDimSizeToFactor', options.minDimSizeToFactor ?? 128, { min: 0, integer: true })
  const epsilon = checkNumber('epsilon', options.epsilon ?? 1e-30, { min: 0 })
  const layout: Layout = (shape) => {
    const axes = factoredAxes(shape, factored, minDim)
    return axes === undefined ? [[1], [1], shape] : [without(shape, axes[1]), without(shape, axes[0]), [1]]
  }
  return factoredBlock(
    layout,
    false,
    (count) => {
      // optax's decay schedule runs in float32 whatever the leaf dtype, its exponent too
      const decay = Math.fround(1 - Math.fround(Math.fround(count - offset + 1) ** Math.fround(-decayRate)))
      const rest = Math.fround(1 - decay)
      return (g, [vRow, vCol, v]) => {
        const dtype = dtypeOf(g)
        const round = roundTo(dtype)
        const axes = factoredAxes(g.shape, factored, minDim)
        if (axes === undefined) {
          const [u, v1] = evaluate(UNFACTORED, [g, v], dtype, [decay, rest, round(epsilon)], ['updates', 'state.v'])
          return [u, vRow, vCol, v1]
        }
        const [d1, d0] = axes
        const meanSquares = (axis: number, shape: Shape) => valuesTensor(reduce(g, [axis], 'sumsq').map((s) => (s + g.shape[axis] * epsilon) / g.shape[axis]), shape, dtype)
        const [row] = evaluate(EMA, [vRow, meanSquares(d0, vRow.shape)], dtype, [decay, rest])
        const [col] = evaluate(EMA, [vCol, meanSquares(d1, vCol.shape)], dtype, [decay, rest])
        const along = d1 > d0 ? d1 - 1 : d1 // d1 in the row moment's axes
        const rowMean = reduce(row, [along], 'sum').map((s) => round(s / row.shape[along]))
        const [rowFactor] = evaluate(ROW_FACTOR, [row, broadcastTo(valuesTensor(rowMean, row.shape.map((n, i) => (i === along ? 1 : n)), dtype), row.shape)], dtype, [])
        const [colFactor] = evaluate(COLUMN_FACTOR, [col], dtype, [])
        const u = scaleSlices(scaleSlices(g, Float64Array.from(rowFactor.data), [d0]), Float64Array.from(colFactor.data), [d1])
        return [u, row, col, v]
      }
    },
    'scaleByFactoredRms',
  )
}

/**
 * Options of {@link scaleByTorchAdafactor}.
 * @category model
 */
export interface ScaleByTorchAdafactorOptions {
  /** `lr`: the cap of the relative step `ρ_t = min(lr, 1/√t)` and the weight decay's factor; default 1e-2. */
  readonly learningRate?: number
  /** `τ <= 0`: `1 − β̂2_t = t^τ`; default −0.8. */
  readonly beta2Decay?: number
  /** `ε1`, the floor of the variance estimate's root; default the leaf dtype's machine epsilon. */
  readonly epsilon?: number
  /** `ε2`, the floor of the params' RMS in the step size; default 1e-3. */
  readonly epsilon2?: number
  /** `d >= 1`, the update's RMS clipping threshold; default 1. */
  readonly d?: number
  /** Decoupled weight decay `λ`: `p ← p · (1 − lr · λ)`; default 0. */
  readonly weightDecay?: number
  /** Ascend: `g ← −g` first; default false. */
  readonly maximize?: boolean
}

/**
 * PyTorch's Adafactor as one stage (`torch.optim.Adafactor`: the update
 * already holds the learning rate and the sign). With `t` the 1-based
 * step, `w = t^beta2Decay`, `ρ = min(learningRate, 1/√t)` and
 * `α = max(epsilon2, RMS(p)) · ρ`:
 *
 * - a leaf of rank ≥ 2 keeps `rowVar` (the mean of `g²` over its last axis)
 *   and `colVar` (over the second-to-last), each `lerp`ed towards it by `w`,
 *   and `U = g / sqrt(max(rowVar · colVar / max(mean(rowVar), ε1), ε1²))`;
 * - a leaf of rank 0 or 1 keeps `v = lerp(v, g², w)` and `U = g / sqrt(max(v, ε1²))`;
 *
 * then `u = −α / max(1, RMS(U) / d) · U − learningRate · weightDecay · p`.
 * The state holds `vRow` (torch's `row_var`), `vCol` and `v` for every
 * leaf, shape `[1]` where unused. Reads the params. A NaN or infinite
 * gradient makes its leaf's update NaN, as in torch.
 *
 * @example
 * const opt = optimizer(scaleByTorchAdafactor({ learningRate: 1e-2 })) // = adafactor({ flavor: 'torch' })
 * @category transforms
 */
export function scaleByTorchAdafactor(options: ScaleByTorchAdafactorOptions = {}): GradientTransformation<FactoredState> {
  checkOptions('scaleByTorchAdafactor', options, ['learningRate', 'beta2Decay', 'epsilon', 'epsilon2', 'd', 'weightDecay', 'maximize'])
  const lr = checkNumber('learningRate', options.learningRate ?? 1e-2, { min: 0 })
  const tau = checkNumber('beta2Decay', options.beta2Decay ?? -0.8, { max: 0 })
  const eps1 = options.epsilon === undefined ? undefined : checkNumber('epsilon', options.epsilon, { min: 0 })
  const eps2 = checkNumber('epsilon2', options.epsilon2 ?? 1e-3, { min: 0 })
  const d = checkNumber('d', options.d ?? 1, { min: 1 })
  const weightDecay = checkNumber('weightDecay', options.weightDecay ?? 0, { min: 0 })
  const sign = booleanOption('scaleByTorchAdafactor.maximize', options.maximize) ? -1 : 1
  const layout: Layout = (shape) => {
    const nd = shape.length
    return nd < 2 ? [[1], [1], shape] : [shape.map((n, i) => (i === nd - 1 ? 1 : n)), shape.map((n, i) => (i === nd - 2 ? 1 : n)), [1]]
  }
  return factoredBlock(
    layout,
    true,
    (count) => {
      const t = count + 1
      const w = t ** tau
      const rho = Math.min(lr, 1 / Math.sqrt(t))
      return (grad, [vRow, vCol, v], p) => {
        const dtype = dtypeOf(grad)
        const round = roundTo(dtype)
        const g = sign === 1 ? grad : scaleAll(grad, -1)
        const e1 = eps1 ?? (dtype === 'float32' ? 2 ** -23 : 2 ** -52)
        const floor = round(e1 * e1)
        const n = g.size
        const rms = (x: Tensor) => (n === 0 ? 0 : totalNorm([x], 2).norm / Math.sqrt(n))
        const alpha = Math.max(eps2, rms(p!)) * rho
        const scalars = [round(w), round(1 - w)]
        let U: Tensor
        let next: readonly Tensor[]
        const nd = g.shape.length
        if (nd < 2) {
          const [u, v1] = evaluate(TORCH_VECTOR, [g, v], dtype, [...scalars, floor], ['updates', 'state.v'])
          U = u
          next = [vRow, vCol, v1]
        } else {
          const meanSquares = (axis: number, shape: Shape) => valuesTensor(reduce(g, [axis], 'sumsq').map((s) => round(s / g.shape[axis])), shape, dtype)
          const [row] = evaluate(LERP, [vRow, meanSquares(nd - 1, vRow.shape)], dtype, scalars)
          const [col] = evaluate(LERP, [vCol, meanSquares(nd - 2, vCol.shape)], dtype, scalars)
          const m = reduce(row, [nd - 2], 'sum').map((s) => Math.max(round(s / g.shape[nd - 2]), e1))
          const mShape = g.shape.map((k, i) => (i >= nd - 2 ? 1 : k))
          ;[U] = evaluate(TORCH_FACTORED, [g, broadcastTo(row, g.shape), broadcastTo(col, g.shape), broadcastTo(valuesTensor(m, mShape, dtype), g.shape)], dtype, [floor])
          next = [row, col, v]
        }
        const c = -alpha / Math.max(1, rms(U) / d)
        const u = weightDecay === 0 ? scaleAll(U, round(c)) : evaluate(TORCH_STEP, [U, p!], dtype, [round(c), round(-lr * weightDecay)])[0]
        return [u, ...next]
      }
    },
    'scaleByTorchAdafactor',
  )
}

/**
 * fast-check arbitraries for tensors, for non-contiguous views of them and for
 * trees of them.
 *
 * A view is built by {@link viewOf} from a {@link ViewRecipe}: a fresh buffer
 * filled with garbage, cut with ndarray's own `lo`, `hi`, `step` (negative
 * steps too), `transpose` and `pick`, then filled through the view with the
 * logical values of a tensor. So a view and `copy(view)` always hold the same
 * values, and a function that reads storage by flat index sees the garbage.
 *
 * @module laws
 */
import fc from 'fast-check'
import type { Arbitrary } from 'fast-check'
import { type Dtype, type Shape, type Tensor, allocate, dtypeOf, formatShape, fromStorage, sizeOf, toArray } from '../src/tensor/index.js'
import type { Tree } from '../src/tree/index.js'
import { setLayout } from './describe.js'

/**
 * The most axes a {@link ViewRecipe} rearranges (the length of its lists);
 * further axes are left as they are.
 *
 * @example
 * const recipe: ViewRecipe = { ...CONTIGUOUS, steps: [1, -1, ...new Array(MAX_VIEW_DIMS - 2).fill(1)] }
 * @category model
 */
export const MAX_VIEW_DIMS = 6

/**
 * How to lay out a tensor as a non-contiguous view. Entry `j` of each list
 * belongs to axis `j` of the underlying buffer. The all-trivial recipe
 * (zeros, steps of 1) is the contiguous layout, and fast-check shrinks
 * towards it.
 *
 * @example
 * // rows reversed, then transposed: buffer [2,3].step(-1,1).transpose(1,0) for a [3,2] tensor
 * const recipe: ViewRecipe = { order: [1, 0, 0, 0, 0, 0], steps: [-1, 1, 1, 1, 1, 1], before: [0, 0, 0, 0, 0, 0], after: [0, 0, 0, 0, 0, 0] }
 * @category model
 */
export interface ViewRecipe {
  /** Lehmer code of the axis permutation: entry `i` picks (modulo) among the axes not yet placed. */
  readonly order: readonly number[]
  /** The step on each buffer axis: `1`, `-1`, `2` or `-2`. */
  readonly steps: readonly number[]
  /** Padding before the view on each buffer axis: the view's offset into the buffer. */
  readonly before: readonly number[]
  /** Padding after the view on each buffer axis. */
  readonly after: readonly number[]
}

/**
 * The contiguous layout: no transpose, steps of 1, no padding.
 *
 * @example
 * const offset = viewOf(tensor([[1, 2], [3, 4]]), { ...CONTIGUOUS, before: [1, 0, 0, 0, 0, 0] }) // buffer [3,2].lo(1,0)
 * @category arbitraries
 */
export const CONTIGUOUS: ViewRecipe = Object.freeze({
  order: Object.freeze(new Array<number>(MAX_VIEW_DIMS).fill(0)),
  steps: Object.freeze(new Array<number>(MAX_VIEW_DIMS).fill(1)),
  before: Object.freeze(new Array<number>(MAX_VIEW_DIMS).fill(0)),
  after: Object.freeze(new Array<number>(MAX_VIEW_DIMS).fill(0)),
})

const perAxis = <T>(a: Arbitrary<T>): Arbitrary<T[]> => fc.array(a, { minLength: MAX_VIEW_DIMS, maxLength: MAX_VIEW_DIMS })

/**
 * Arbitrary view recipes: transposes, steps of ±1 and ±2, and offsets into a
 * padded buffer; one draw in six is contiguous, and shrinking goes towards
 * the contiguous layout.
 *
 * @example
 * fc.sample(arbViewRecipe(), 1)[0] // { order: [1,0,…], steps: [-1,2,…], before: [1,0,…], after: [0,2,…] }
 * @category arbitraries
 */
export function arbViewRecipe(): Arbitrary<ViewRecipe> {
  const strided = fc.record({
    order: perAxis(fc.nat(MAX_VIEW_DIMS - 1)),
    steps: perAxis(fc.constantFrom(1, -1, 2, -2)),
    before: perAxis(fc.nat(2)),
    after: perAxis(fc.nat(2)),
  })
  return fc.oneof({ withCrossShrink: true }, { arbitrary: fc.constant(CONTIGUOUS), weight: 1 }, { arbitrary: strided, weight: 5 })
}

/** The axis permutation a recipe encodes for `ndim` axes (`view = buffer.transpose(...perm)`). */
function permutation(order: readonly number[], ndim: number): number[] {
  const free = Array.from({ length: ndim }, (_, i) => i)
  const perm: number[] = []
  for (let i = 0; i < ndim; i++) {
    const k = i < MAX_VIEW_DIMS ? order[i] % free.length : 0
    perm.push(free.splice(k, 1)[0])
  }
  return perm
}

function garbage(dtype: Dtype, n: number): Float32Array | Float64Array {
  const a = allocate(dtype, n)
  for (let k = 0; k < n; k++) a[k] = 1000 + k
  return a
}

/** Calls `f` with every multi-index of `shape` in row-major order and its flat position. */
export function forEachIndex(shape: Shape, f: (index: number[], k: number) => void): void {
  const n = sizeOf(shape)
  const idx = new Array<number>(shape.length).fill(0)
  for (let k = 0; k < n; k++) {
    f(idx, k)
    for (let ax = shape.length - 1; ax >= 0; ax--) {
      if (++idx[ax] < shape[ax]) break
      idx[ax] = 0
    }
  }
}

function call(name: string, args: readonly number[], trivial: number): string {
  return args.every((a) => a === trivial) ? '' : `.${name}(${args.join(',')})`
}

/**
 * A view with the logical values of `t` (any tensor, any view), laid out as
 * `recipe` says, over a fresh buffer whose other elements hold garbage
 * (`1000 + k`). `t` is only read.
 *
 * @example
 * const v = viewOf(tensor([[1, 2, 3], [4, 5, 6]]), recipe)
 * toArray(v) // [1, 2, 3, 4, 5, 6], whatever the recipe
 * @category arbitraries
 */
export function viewOf(t: Tensor, recipe: ViewRecipe): Tensor {
  const shape = t.shape
  const nd = shape.length
  const dtype = dtypeOf(t)
  const values = toArray(t)
  const axis = (list: readonly number[], j: number, trivial: number) => (j < MAX_VIEW_DIMS ? list[j] : trivial)
  if (nd === 0) {
    const before = recipe.before[0]
    const bufLen = before + 1 + recipe.after[0]
    const v = fromStorage(garbage(dtype, bufLen), [bufLen]).pick(before)
    v.set(values[0])
    return setLayout(v, bufLen === 1 ? 'contiguous' : `buffer [${bufLen}].pick(${before})`)
  }
  const perm = permutation(recipe.order, nd)
  const inner = new Array<number>(nd) // the buffer's axes after transposing back
  for (let k = 0; k < nd; k++) inner[perm[k]] = shape[k]
  const steps = inner.map((_, j) => axis(recipe.steps, j, 1))
  const before = inner.map((_, j) => axis(recipe.before, j, 0))
  const after = inner.map((_, j) => axis(recipe.after, j, 0))
  const spans = inner.map((m, j) => (m === 0 ? 0 : (m - 1) * Math.abs(steps[j]) + 1))
  const bshape = spans.map((s, j) => before[j] + s + after[j])
  const buffer = fromStorage(garbage(dtype, sizeOf(bshape)), bshape)
  const v = buffer.lo(...before).hi(...spans).step(...steps).transpose(...perm)
  forEachIndex(shape, (idx, k) => v.set(...idx, values[k]))
  const layout =
    `buffer ${formatShape(bshape)}` +
    call('lo', before, 0) +
    (after.every((a) => a === 0) ? '' : `.hi(${spans.join(',')})`) +
    call('step', steps, 1) +
    (perm.every((p, i) => p === i) ? '' : `.transpose(${perm.join(',')})`)
  return setLayout(v, layout === `buffer ${formatShape(bshape)}` ? 'contiguous' : layout)
}

/**
 * Options of {@link arbTensor}, {@link arbView} and the suites' generated
 * inputs.
 * @category model
 */
export interface TensorArbOptions {
  /** The dtypes to draw from. Default both. */
  readonly dtype?: Dtype | readonly Dtype[]
  /** Fewest axes. Default 0 (0-d tensors included). */
  readonly minDims?: number
  /** Most axes. Default 3. */
  readonly maxDims?: number
  /** Smallest axis length. Default 0 (zero-size tensors included). */
  readonly minSide?: number
  /** Largest axis length. Default 4. */
  readonly maxSide?: number
  /** The element values (rounded for float32). Default {@link defaultElements}. */
  readonly elements?: Arbitrary<number>
}

/**
 * The default element values, in [-4, 4]: mostly multiples of 1/16 (exact in
 * both dtypes, and readable once shrunk), sometimes any double (subnormals
 * and -0 included). Shrinks towards 0 through the multiples of 1/16.
 *
 * @example
 * arbTensor({ elements: defaultElements.map((v) => v * 10) }) // values in [-40, 40]
 * @category arbitraries
 */
export const defaultElements: Arbitrary<number> = fc.oneof(
  { withCrossShrink: true },
  { arbitrary: fc.integer({ min: -64, max: 64 }).map((k) => k / 16), weight: 3 },
  // not shrunk within itself (that walks into subnormals); shrinks across to the multiples of 1/16
  { arbitrary: fc.noShrink(fc.double({ min: -4, max: 4, noNaN: true })), weight: 1 },
)

/** The dtypes an options object allows. */
export function dtypesOf(options: TensorArbOptions): readonly Dtype[] {
  const d = options.dtype ?? ['float64', 'float32']
  return typeof d === 'string' ? [d] : d
}

/**
 * Arbitrary shapes: `minDims..maxDims` axes of length `minSide..maxSide`;
 * zero-length axes are drawn now and then, and shrinking goes towards fewer
 * and shorter axes.
 *
 * @example
 * fc.sample(arbShape({ minDims: 2, maxDims: 2 }), 3) // e.g. [[3,1],[0,4],[2,2]]
 * @category arbitraries
 */
export function arbShape(options: TensorArbOptions = {}): Arbitrary<number[]> {
  const minSide = options.minSide ?? 0
  const maxSide = options.maxSide ?? 4
  const positive = fc.integer({ min: Math.max(1, minSide), max: Math.max(1, minSide, maxSide) })
  const side = minSide === 0 ? fc.oneof({ arbitrary: positive, weight: 8 }, { arbitrary: fc.constant(0), weight: 1 }) : positive
  return fc.array(side, { minLength: options.minDims ?? 0, maxLength: options.maxDims ?? 3 })
}

/** A contiguous tensor of `shape` and `dtype` whose elements cycle through `pool`. */
export function fromPool(shape: Shape, dtype: Dtype, pool: readonly number[], start = 0): Tensor {
  const n = sizeOf(shape)
  const data = allocate(dtype, n)
  for (let k = 0; k < n; k++) data[k] = pool.length === 0 ? 0 : pool[(start + k) % pool.length]
  return fromStorage(data, shape)
}

/** Arbitrary pools of element values (at least one). */
export function arbPool(elements: Arbitrary<number> = defaultElements): Arbitrary<number[]> {
  return fc.array(elements, { minLength: 1, maxLength: 64 })
}

/**
 * Arbitrary contiguous tensors of random shape (0-d and zero-size included)
 * and dtype.
 *
 * @example
 * fc.assert(fc.property(arbTensor({ dtype: 'float32', minDims: 1 }), (t) => t.shape.length >= 1))
 * @category arbitraries
 */
export function arbTensor(options: TensorArbOptions = {}): Arbitrary<Tensor> {
  return fc
    .record({ shape: arbShape(options), dtype: fc.constantFrom(...dtypesOf(options)), pool: arbPool(options.elements) })
    .map(({ shape, dtype, pool }) => fromPool(shape, dtype, pool))
}

/**
 * Arbitrary non-contiguous views (transposed, stepped with negative steps
 * too, offset into a padded buffer) of random tensors; the view holds the
 * same logical values as `copy(view)`. Some draws are contiguous.
 *
 * @example
 * fc.assert(fc.property(arbView(), (v) => toArray(v).every((x, k) => Object.is(x, toArray(copy(v))[k]))))
 * @category arbitraries
 */
export function arbView(options: TensorArbOptions = {}): Arbitrary<Tensor> {
  return fc.tuple(arbTensor(options), arbViewRecipe()).map(([t, r]) => viewOf(t, r))
}

/**
 * Options of {@link arbTree}.
 * @category model
 */
export interface TreeArbOptions {
  /** Most levels of arrays and objects above the leaves. Default 2. */
  readonly maxDepth?: number
  /** Most entries of each array or object. Default 3. */
  readonly maxBreadth?: number
}

const KEYS = fc.constantFrom('W', 'b', 'gamma', 'beta', 'layers', 'embed', 'a b', '0')

/**
 * Arbitrary trees of `leaf` values: a leaf, or arrays and plain objects of
 * trees, up to `maxDepth` levels. Shrinks towards a single leaf.
 *
 * @example
 * fc.sample(arbTree(arbTensor()), 1)[0] // e.g. { W: [tensor, tensor], b: tensor }
 * @category arbitraries
 */
export function arbTree<L>(leaf: Arbitrary<L>, options: TreeArbOptions = {}): Arbitrary<Tree<L>> {
  const breadth = options.maxBreadth ?? 3
  const level = (depth: number): Arbitrary<Tree<L>> => {
    if (depth === 0) return leaf
    const sub = level(depth - 1)
    return fc.oneof(
      { withCrossShrink: true },
      leaf,
      fc.array(sub, { maxLength: breadth }),
      fc.dictionary(KEYS, sub, { maxKeys: breadth, noNullPrototype: true }),
    ) as Arbitrary<Tree<L>>
  }
  return level(options.maxDepth ?? 2)
}

/**
 * Arbitraries for strided tensor views and the naive reference that reads
 * them element by element with ndarray's own `.get(...)`.
 *
 * A view is described by a plain `ViewSpec` (printed in counterexamples) and
 * built by `buildView`: a parent buffer laid out in a random axis order, cut
 * with `.lo`/`.hi` (offsets), `.step` (steps, negative too) and `.transpose`,
 * and axes marked `broadcast` re-strided to 0.
 */
import fc from 'fast-check'
import ndarray from 'ndarray'
import { type Dtype, type Tensor, allocate, roundTo } from '../../src/tensor/index.js'

/** How one axis of a view sits in its parent buffer. */
export interface AxisSpec {
  /** Step through the parent (never 0); ignored when `broadcast`. */
  readonly step: number
  /** Parent elements skipped before the view starts on this axis. */
  readonly lo: number
  /** Parent elements left after the view ends on this axis. */
  readonly hi: number
  /** The axis reads one parent element with stride 0. */
  readonly broadcast: boolean
}

/** A reproducible description of a strided view. */
export interface ViewSpec {
  readonly shape: readonly number[]
  readonly dtype: Dtype
  readonly axes: readonly AxisSpec[]
  /** `perm[j]` is the logical axis stored as the j-th physical axis of the parent. */
  readonly perm: readonly number[]
  /** Seed of the parent's values. */
  readonly seed: number
  /** Sprinkle NaN and ±Infinity into the values. */
  readonly specials: boolean
}

/** A built view together with its spec. */
export interface View {
  readonly spec: ViewSpec
  readonly t: Tensor
}

export const arbDtype: fc.Arbitrary<Dtype> = fc.constantFrom('float32', 'float64')

/** Shapes of minDims..maxDims axes of length minLen..maxLen (0-d and zero-size included by default). */
export function arbShape(maxDims = 4, maxLen = 5, minLen = 0, minDims = 0): fc.Arbitrary<number[]> {
  return fc.array(fc.integer({ min: minLen, max: maxLen }), { minLength: minDims, maxLength: maxDims })
}

const arbAxis: fc.Arbitrary<AxisSpec> = fc.record({
  step: fc.constantFrom(1, 1, 1, 2, 3, -1, -1, -2, -3),
  lo: fc.integer({ min: 0, max: 2 }),
  hi: fc.integer({ min: 0, max: 2 }),
  broadcast: fc.integer({ min: 0, max: 5 }).map((k) => k === 0),
})

function arbPerm(n: number): fc.Arbitrary<number[]> {
  return fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: n, maxLength: n }).map((keys) =>
    keys.map((_, i) => i).sort((a, b) => keys[a] - keys[b] || a - b),
  )
}

/** Specs of views of a given shape and dtype. */
export function arbViewSpecOf(shape: readonly number[], dtype: Dtype, specials = false): fc.Arbitrary<ViewSpec> {
  return fc.record({
    shape: fc.constant(shape),
    dtype: fc.constant(dtype),
    axes: fc.array(arbAxis, { minLength: shape.length, maxLength: shape.length }),
    perm: arbPerm(shape.length),
    seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    specials: fc.constant(specials),
  })
}

/** Views of a given shape and dtype. */
export function arbViewOf(shape: readonly number[], dtype: Dtype, specials = false): fc.Arbitrary<View> {
  return arbViewSpecOf(shape, dtype, specials).map(toView)
}

/** Views of random shape (see {@link arbShape}) and dtype. */
export function arbView(maxDims = 4, maxLen = 5, specials = false): fc.Arbitrary<View> {
  return fc.tuple(arbShape(maxDims, maxLen), arbDtype).chain(([s, d]) => arbViewOf(s, d, specials))
}

function toView(spec: ViewSpec): View {
  const v = { spec, t: buildView(spec) }
  Object.defineProperty(v, fc.toStringMethod, { value: () => `View(${JSON.stringify(spec)})` })
  return v
}

/** A small deterministic generator (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Fills `a` with values in (-8, 8) (some integers, some zeros), and NaN/±Infinity when `specials`. */
export function fillValues(a: Float32Array | Float64Array, seed: number, specials = false): void {
  const r = prng(seed)
  for (let i = 0; i < a.length; i++) {
    const u = r()
    if (specials && u < 0.03) a[i] = u < 0.01 ? Number.NaN : u < 0.02 ? Infinity : -Infinity
    else if (u < 0.1) a[i] = 0
    else if (u < 0.3) a[i] = Math.round((r() - 0.5) * 16)
    else a[i] = (r() - 0.5) * 16
  }
}

/** Builds the view a spec describes. */
export function buildView(spec: ViewSpec): Tensor {
  const { shape, axes, perm } = spec
  const nd = shape.length
  // logical extent of each axis in the parent
  const len = shape.map((n, i) => (axes[i].broadcast ? 1 : n))
  const span = len.map((n, i) => (n === 0 ? 0 : (n - 1) * Math.abs(axes[i].step) + 1))
  const parentLen = span.map((s, i) => axes[i].lo + s + axes[i].hi)
  const physShape = perm.map((ax) => parentLen[ax])
  const size = physShape.reduce((a, b) => a * b, 1)
  const data = allocate(spec.dtype, size)
  fillValues(data, spec.seed, spec.specials)
  let v: Tensor = ndarray(data, physShape)
  const inv = new Array<number>(nd)
  perm.forEach((ax, j) => (inv[ax] = j))
  if (nd > 0) {
    v = v.transpose(...inv)
    v = v.lo(...axes.map((a) => a.lo))
    v = v.hi(...span)
    v = v.step(...axes.map((a, i) => (axes[i].broadcast ? 1 : a.step)))
  }
  if (axes.some((a) => a.broadcast)) {
    const stride = v.stride.map((s, i) => (axes[i].broadcast ? 0 : s))
    v = ndarray(v.data, shape.slice(), stride, v.offset)
  }
  return v
}

/** Every multi-index of `shape`, in row-major order (one empty index for 0-d). */
export function multiIndices(shape: readonly number[]): number[][] {
  const out: number[][] = []
  const idx = new Array<number>(shape.length).fill(0)
  if (shape.some((n) => n === 0)) return out
  for (;;) {
    out.push(idx.slice())
    let ax = shape.length - 1
    for (; ax >= 0; ax--) {
      if (++idx[ax] < shape[ax]) break
      idx[ax] = 0
    }
    if (ax < 0) return out
  }
}

/** The elements of `t` in row-major order, read one by one with `.get`. */
export function reference(t: Tensor): number[] {
  return multiIndices(t.shape).map((idx) => t.get(...idx))
}

/** Row-major strides of a contiguous array of `shape` (the reference's own). */
export function refStrides(shape: readonly number[]): number[] {
  const s = shape.map(() => 1)
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1]
  return s
}

/** `x` stored in `dtype`. */
export function inDtype(dtype: Dtype, x: number): number {
  return roundTo(dtype)(x)
}

/** Same number, with NaN equal to NaN. */
export function sameNumber(a: number, b: number): boolean {
  return a === b || (a !== a && b !== b)
}

/** The indices where two number lists differ (NaN equals NaN). */
export function mismatches(got: ArrayLike<number>, want: ArrayLike<number>): number[] {
  const bad: number[] = []
  if (got.length !== want.length) return [-1]
  for (let i = 0; i < want.length; i++) if (!sameNumber(got[i], want[i])) bad.push(i)
  return bad
}

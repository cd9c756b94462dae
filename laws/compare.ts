/**
 * Finding the first differing element of two trees, bit for bit or within a
 * tolerance, for the law reports.
 *
 * @module laws
 */
import { isNdoptaxError } from '../src/errors/index.js'
import { type Shape, isTensor, toArray } from '../src/tensor/index.js'
import { formatPath, walk } from '../src/tree/index.js'
import { formatNumber, isAnyLeaf } from './describe.js'

/**
 * How close two numbers must be: `|got - want| <= atol + rtol · |want|`.
 * @category model
 */
export interface Tolerance {
  /** Relative part, scaled by `|want|`. */
  readonly rtol: number
  /** Absolute part. */
  readonly atol: number
}

/**
 * The first difference between two trees: where, at which element, and the
 * two values; or a structural `note` when they cannot be compared element by
 * element.
 * @category model
 */
export interface Difference {
  /** The tree path, e.g. `updates.layers[0].W`. */
  readonly where: string
  /** The element's index in the tensor (`[]` for a 0-d tensor), or `null` for a non-tensor leaf or a structural difference. */
  readonly index: readonly number[] | null
  /** The value computed by the run under test. */
  readonly got?: unknown
  /** The reference value (the contiguous run, the first run, `c·x`, …). */
  readonly want?: unknown
  /** Set for a structural difference instead of values. */
  readonly note?: string
}

/** True when `got` equals `want` bit for bit (`tol` null) or within `tol`; NaN equals NaN. */
export function close(got: number, want: number, tol: Tolerance | null): boolean {
  if (Object.is(got, want)) return true
  if (tol === null) return false
  if (Number.isNaN(got) || Number.isNaN(want)) return false
  if (!Number.isFinite(got) || !Number.isFinite(want)) return got === want
  return Math.abs(got - want) <= tol.atol + tol.rtol * Math.abs(want)
}

/** The multi-index of row-major position `k` in `shape`. */
export function unravel(k: number, shape: Shape): number[] {
  const idx = new Array<number>(shape.length)
  for (let ax = shape.length - 1; ax >= 0; ax--) {
    idx[ax] = k % shape[ax]
    k = Math.floor(k / shape[ax])
  }
  return idx
}

function leafDifference(got: unknown, want: unknown, tol: Tolerance | null): { index: number[] | null; got: unknown; want: unknown } | null {
  if (isTensor(want) && isTensor(got)) {
    const a = toArray(got)
    const b = toArray(want)
    for (let k = 0; k < b.length; k++) if (!close(a[k], b[k], tol)) return { index: unravel(k, want.shape), got: a[k], want: b[k] }
    return null
  }
  if (typeof got === 'number' && typeof want === 'number') return close(got, want, tol) ? null : { index: null, got, want }
  if (typeof got === 'function' && typeof want === 'function') return null
  return Object.is(got, want) ? null : { index: null, got, want }
}

/**
 * The first difference of `got` from `want` (trees of tensors and other
 * leaves, named `root` in the report), bit for bit when `tol` is `null`, or
 * `null` when there is none. Structure, shape and dtype differences are
 * reported as a `note`.
 *
 * @example
 * firstDifference({ w: tensor([1, 2]) }, { w: tensor([1, 3]) }, 'updates', null)
 * // { where: 'updates.w', index: [1], got: 2, want: 3 }
 * @category utils
 */
export function firstDifference(got: unknown, want: unknown, root: string, tol: Tolerance | null): Difference | null {
  let found: Difference | null = null
  try {
    walk([want, got], [root, root], isAnyLeaf, 0, (ls, path) => {
      if (found === null) {
        const d = leafDifference(ls[1], ls[0], tol)
        if (d !== null) found = { where: formatPath(root, path), ...d }
      }
      return []
    })
  } catch (e) {
    if (!isNdoptaxError(e)) throw e
    return { where: e.where, index: null, note: e.message }
  }
  return found
}

function formatValue(v: unknown): string {
  if (typeof v === 'number') return formatNumber(v)
  if (isTensor(v)) return `a tensor of shape [${v.shape}]`
  return typeof v === 'string' ? JSON.stringify(v) : typeof v === 'function' ? 'a function' : String(v)
}

/**
 * One line for a difference: its path and index, then the two values.
 *
 * @example
 * formatDifference({ where: 'updates.W', index: [1, 0], got: 0.5, want: 0.25 }) // 'updates.W[1,0]: got 0.5, want 0.25'
 * @category utils
 */
export function formatDifference(d: Difference): string {
  if (d.note !== undefined) return d.note
  const at = d.index === null || d.index.length === 0 ? d.where : `${d.where}[${d.index.join(',')}]`
  return `${at}: got ${formatValue(d.got)}, want ${formatValue(d.want)}`
}

/**
 * Readable text for counterexamples: tensors with their shape, dtype, values
 * and the view they were built as, and trees of them one leaf per line.
 *
 * @module laws
 */
import { type Tensor, dtypeOf, formatShape, isRowMajor, isTensor, toArray } from '../src/tensor/index.js'
import { formatPath, isPlainObject, walk } from '../src/tree/index.js'

/** How each view built by the law suites was derived, e.g. `buffer [4,3].step(-1,1).transpose(1,0)`. */
const layouts = new WeakMap<object, string>()

/** Records how `t` was built, for {@link describeTensor}; returns `t`. */
export function setLayout(t: Tensor, layout: string): Tensor {
  layouts.set(t, layout)
  return t
}

/** How `t` was built by a law suite (`'contiguous'` when it was not). */
export function layoutOf(t: Tensor): string {
  return layouts.get(t) ?? (isRowMajor(t) ? 'contiguous' : 'a strided view')
}

/**
 * Formats a number exactly and briefly (`-0` keeps its sign).
 * @category utils
 */
export function formatNumber(v: number): string {
  return Object.is(v, -0) ? '-0' : String(v)
}

function nested(values: readonly number[], shape: readonly number[], axis: number, start: number): string {
  if (axis === shape.length) return formatNumber(values[start])
  const n = shape[axis]
  let inner = 1
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i]
  const parts: string[] = []
  for (let i = 0; i < n; i++) parts.push(nested(values, shape, axis + 1, start + i * inner))
  return `[${parts.join(',')}]`
}

/**
 * One line for a tensor: shape, dtype, its values (up to `maxValues`
 * elements) and how its view was built, e.g.
 * `[3,2] float32 [[1,2],[3,4],[5,6]] as buffer [2,4].hi(2,3).transpose(1,0)`.
 *
 * @example
 * describeTensor(tensor([[1, 2], [3, 4]])) // '[2,2] float64 [[1,2],[3,4]] (contiguous)'
 * @category utils
 */
export function describeTensor(t: Tensor, maxValues = 36): string {
  const values = toArray(t)
  const shown = values.length <= maxValues ? nested(values, t.shape, 0, 0) : `(${values.length} values)`
  const layout = layoutOf(t)
  const how = layout === 'contiguous' ? '(contiguous)' : `as ${layout}`
  return `${formatShape(t.shape)} ${dtypeOf(t)} ${shown} ${how}`
}

/** A leaf of a state or parameter tree: anything but null, an array or a plain object. */
export function isAnyLeaf(x: unknown): boolean {
  return !(x === null || Array.isArray(x) || isPlainObject(x))
}

/** Formats any leaf briefly: tensors by {@link describeTensor}, other values as themselves. */
export function describeLeaf(x: unknown): string {
  if (isTensor(x)) return describeTensor(x)
  if (typeof x === 'number') return formatNumber(x)
  if (typeof x === 'function') return 'a function'
  return typeof x === 'string' ? JSON.stringify(x) : String(x)
}

/**
 * A tree as text, one leaf per line (`root.layers[0].W: [2,3] float64 …`),
 * indented by `indent`. An empty tree says so.
 *
 * @example
 * describeTree({ W: tensor([1, 2]) }, 'params') // 'params.W: [2] float64 [1,2] (contiguous)'
 * @category utils
 */
export function describeTree(tree: unknown, root: string, indent = ''): string {
  const lines: string[] = []
  walk([tree], [root], isAnyLeaf, 0, (ls, path) => {
    lines.push(`${indent}${formatPath(root, path)}: ${describeLeaf(ls[0])}`)
    return []
  })
  return lines.length === 0 ? `${indent}${root}: (no leaves)` : lines.join('\n')
}

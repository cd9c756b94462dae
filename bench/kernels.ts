/**
 * Micro-benchmark of the two kernels (map and reduce) against hand-written
 * loops on large contiguous float32 / float64 arrays, and of a 2048×2048
 * column reduction against a loop that walks rows (storage order) and a
 * naive loop that walks columns (a stride of 2048 in its inner loop).
 *
 * Every time is the median of repeated runs; `ratio` is ours / hand. The
 * hand loops allocate their outputs as the kernels do.
 *
 * Run: `npx tsx bench/kernels.ts` (or `--smoke` for a run of a few ms).
 */
import { performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import { type Dtype, type FloatArray, type Kernel, type Tensor, allocate, fromStorage, map, reduce } from '../src/tensor/index.js'

/** One measured case. */
export interface Row {
  readonly section: 'kernels'
  readonly name: string
  readonly dtype: Dtype
  /** Elements per array. */
  readonly size: number
  /** Median milliseconds of the ndoptax kernel. */
  readonly ours: number
  /** Median milliseconds of the loop it is compared with. */
  readonly hand: number
  /** `ours / hand`: below 1.5 is the target for the hand-written baselines. */
  readonly ratio: number
  /** What `hand` is. */
  readonly baseline: string
}

/** The ratio every kernel must stay under against its hand-written loop. */
export const TARGET_RATIO = 1.5

/**
 * Median milliseconds of `ours` and of `hand` over `reps` runs each after
 * `warmup` runs, alternating the two so that both meet the same heap and
 * page-cache conditions.
 */
function medians(ours: () => unknown, hand: () => unknown, reps: number, warmup: number): [number, number] {
  const fs = [ours, hand]
  const times: number[][] = [[], []]
  for (let i = 0; i < warmup + reps; i++) {
    for (let j = 0; j < 2; j++) {
      const f = fs[(i + j) % 2]
      const t0 = performance.now()
      f()
      if (i >= warmup) times[(i + j) % 2].push(performance.now() - t0)
    }
  }
  const mid = (t: number[]) => t.sort((a, b) => a - b)[t.length >> 1]
  return [mid(times[0]), mid(times[1])]
}

function filled(dtype: Dtype, n: number, seed: number): FloatArray {
  const a = allocate(dtype, n)
  let s = seed
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648
    a[i] = s / 2147483648 - 0.5
  }
  return a
}

// The kernels, written once against flat blocks as the library's own are.
const axpyKernel: Kernel = (n, [o], [x, y]) => {
  for (let k = 0; k < n; k++) o[k] = 0.5 * x[k] + y[k]
}
const adamKernel: Kernel = (n, [u, mo, vo], [g, m, v]) => {
  for (let k = 0; k < n; k++) {
    const gk = g[k]
    const mk = 0.9 * m[k] + 0.1 * gk
    const vk = 0.999 * v[k] + 0.001 * gk * gk
    mo[k] = mk
    vo[k] = vk
    u[k] = (-0.001 * mk) / (Math.sqrt(vk) + 1e-8)
  }
}

// The hand-written loops: the same arithmetic over whole typed arrays, written
// out again on purpose (a baseline must be its own function, with its own JIT state).
function axpyHand(x: FloatArray, y: FloatArray, o: FloatArray): FloatArray {
  const n = x.length
  for (let k = 0; k < n; k++) o[k] = 0.5 * x[k] + y[k]
  return o
}
function adamHand(g: FloatArray, m: FloatArray, v: FloatArray, [u, mo, vo]: FloatArray[]): FloatArray[] {
  const n = g.length
  for (let k = 0; k < n; k++) {
    const gk = g[k]
    const mk = 0.9 * m[k] + 0.1 * gk
    const vk = 0.999 * v[k] + 0.001 * gk * gk
    mo[k] = mk
    vo[k] = vk
    u[k] = (-0.001 * mk) / (Math.sqrt(vk) + 1e-8)
  }
  return [u, mo, vo]
}
/** `0.5·xᵀ + y` for a row-major `side × side` x, written in row-major order of the result. */
function axpyTransposedHand(x: FloatArray, y: FloatArray, side: number, o: FloatArray): FloatArray {
  for (let i = 0, p = 0; i < side; i++) for (let j = 0; j < side; j++, p++) o[p] = 0.5 * x[j * side + i] + y[p]
  return o
}
function sumsqHand(x: FloatArray): number {
  let s = 0
  for (let k = 0; k < x.length; k++) s += x[k] * x[k]
  return s
}
/** Column sums of squares of a row-major `rows × cols` matrix, walking rows (storage order). */
function colSumsqRowWalk(x: FloatArray, rows: number, cols: number): Float64Array {
  const acc = new Float64Array(cols)
  for (let i = 0, p = 0; i < rows; i++) for (let j = 0; j < cols; j++, p++) acc[j] += x[p] * x[p]
  return acc
}
/** The same, walking down each column: an inner stride of `cols` elements. */
function colSumsqColWalk(x: FloatArray, rows: number, cols: number): Float64Array {
  const acc = new Float64Array(cols)
  for (let j = 0; j < cols; j++) {
    let s = 0
    for (let i = 0, p = j; i < rows; i++, p += cols) s += x[p] * x[p]
    acc[j] = s
  }
  return acc
}
/** Row sums of squares of a row-major matrix. */
function rowSumsqHand(x: FloatArray, rows: number, cols: number): Float64Array {
  const acc = new Float64Array(rows)
  for (let i = 0, p = 0; i < rows; i++) {
    let s = 0
    for (let j = 0; j < cols; j++, p++) s += x[p] * x[p]
    acc[i] = s
  }
  return acc
}

/** Runs every case and returns its rows (`smoke`: tiny arrays, two runs each). */
export async function runKernelBench({ smoke }: { smoke: boolean }): Promise<Row[]> {
  const side = smoke ? 64 : 2048
  const n = side * side
  const reps = smoke ? 2 : 15
  const warmup = smoke ? 1 : 5
  const rows: Row[] = []
  const row = (name: string, dtype: Dtype, [ours, hand]: [number, number], baseline = 'hand loop'): void => {
    rows.push({ section: 'kernels', name, dtype, size: n, ours, hand, ratio: ours / hand, baseline })
  }
  for (const dtype of ['float64', 'float32'] as const) {
    const a = filled(dtype, n, 1)
    const b = filled(dtype, n, 2)
    const c = filled(dtype, n, 3).map(Math.abs)
    const ta = fromStorage(a, [n])
    const tb = fromStorage(b, [n])
    const tc = fromStorage(c, [n])
    const mat: Tensor = fromStorage(a, [side, side])
    const fresh = () => allocate(dtype, n)
    const outs = [fresh(), fresh(), fresh()]
    const time = (ours: () => unknown, hand: () => unknown) => medians(ours, hand, reps, warmup)

    // new outputs (the default): both sides allocate, so page faults weigh in
    row('map: 0.5·x + y (2 in, 1 out), new output', dtype, time(() => map([ta, tb], [dtype], axpyKernel), () => axpyHand(a, b, fresh())))
    row(
      'map: Adam-like (3 in, 3 out), new outputs',
      dtype,
      time(() => map([ta, tb, tc], [dtype, dtype, dtype], adamKernel), () => adamHand(a, b, c, [fresh(), fresh(), fresh()])),
    )
    // donated outputs: the kernel's own cost
    row('map: 0.5·x + y (2 in, 1 out), donated output', dtype, time(() => map([ta, tb], [outs[0]], axpyKernel), () => axpyHand(a, b, outs[0])))
    row('map: Adam-like (3 in, 3 out), donated outputs', dtype, time(() => map([ta, tb, tc], outs, adamKernel), () => adamHand(a, b, c, outs)))
    // a strided (transposed) input is gathered block by block
    const tmat = mat.transpose(1, 0)
    const tbm = fromStorage(b, [side, side])
    row('map: 0.5·xᵀ + y (transposed input), donated output', dtype, time(() => map([tmat, tbm], [outs[0]], axpyKernel), () => axpyTransposedHand(a, b, side, outs[0])))
    row('reduce: Σx² over all axes', dtype, time(() => reduce(mat, [0, 1], 'sumsq'), () => sumsqHand(a)))
    const col = `reduce: Σx² over axis 0 (columns) of ${side}×${side}`
    row(col, dtype, time(() => reduce(mat, [0], 'sumsq'), () => colSumsqRowWalk(a, side, side)), 'hand loop walking rows')
    row(col, dtype, time(() => reduce(mat, [0], 'sumsq'), () => colSumsqColWalk(a, side, side)), 'naive loop walking columns (contrast)')
    row(`reduce: Σx² over axis 1 (rows) of ${side}×${side}`, dtype, time(() => reduce(mat, [1], 'sumsq'), () => rowSumsqHand(a, side, side)))
  }
  return rows
}

/** The rows as an aligned text table. */
export function formatRows(rows: readonly Row[]): string {
  const head = ['case', 'dtype', 'ours ms', 'hand ms', 'ours/hand', 'baseline']
  const body = rows.map((r) => [r.name, r.dtype, r.ours.toFixed(2), r.hand.toFixed(2), r.ratio.toFixed(2), r.baseline])
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)))
  const line = (cells: string[]) => cells.map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ')
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n')
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const smoke = process.argv.includes('--smoke')
  const rows = await runKernelBench({ smoke })
  console.log(formatRows(rows))
  const misses = rows.filter((r) => r.baseline.startsWith('hand') && r.ratio > TARGET_RATIO)
  if (!smoke) console.log(misses.length === 0 ? `\nevery kernel is within ${TARGET_RATIO}x of its hand loop` : `\n${misses.length} case(s) above ${TARGET_RATIO}x`)
}

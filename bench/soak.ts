/**
 * Soak test: 10^5 pure `adam` steps on a small tree, printing the heap after
 * a full garbage collection at intervals. A leak of even a few bytes per step
 * shows as a steady climb; a healthy run stays flat after warm-up.
 *
 *   npm run soak -- [steps] [--toolkit]
 *   (= node --expose-gc --import tsx bench/soak.ts [steps] [--toolkit])
 *
 * `--toolkit` soaks `applyIfFinite(multiSteps(adam))` instead, with a NaN
 * gradient every 97 steps. Exit code 1 when the heap grew by more than 1 MiB
 * between the first and the last sample after warm-up. Not run in CI.
 */
import { type GradientTransformation, type Params, optimizer } from '../src/core/index.js'
import { adam } from '../src/optimizers/index.js'
import { dtypeOf, map, tensor } from '../src/tensor/index.js'
import { applyIfFinite, multiSteps } from '../src/transforms/index.js'
import { mapTree } from '../src/tree/index.js'

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) {
  console.error('run with: node --expose-gc --import tsx bench/soak.ts')
  process.exit(2)
}

const args = process.argv.slice(2)
const steps = Number(args.find((a) => /^\d+$/.test(a)) ?? 100_000)
const toolkit = args.includes('--toolkit')
const samples = 10

const fill = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i))
let params: Params = {
  dense: [tensor(fill(64 * 32, (i) => Math.sin(i) / 8), [64, 32], 'float32'), tensor(fill(32, () => 0), [32], 'float32')],
  head: { W: tensor(fill(32 * 3, (i) => Math.cos(i) / 8), [32, 3]), b: tensor([0, 0, 0]) },
}

/** `g = p − 0.1 + 0.01·sin(step + k)`, NaN in one element every 97 steps under `--toolkit`. */
function gradsAt(p: Params, step: number): Params {
  const poison = toolkit && step % 97 === 96
  return mapTree(p, (t) => {
    const [g] = map([t], [dtypeOf(t)], (n, [o], [x]) => {
      for (let k = 0; k < n; k++) o[k] = x[k] - 0.1 + 0.01 * Math.sin(step + k)
      if (poison && n > 0) o[0] = Number.NaN
    })
    return g
  }) as Params
}

const tx: GradientTransformation<unknown> = toolkit
  ? (applyIfFinite(multiSteps(adam({ learningRate: 1e-3 }), { everyK: 4 }), { maxConsecutiveErrors: 3 }) as GradientTransformation<unknown>)
  : (adam({ learningRate: 1e-3 }) as GradientTransformation<unknown>)
const opt = optimizer(tx)
let state = opt.init(params)

const mib = (b: number) => (b / 2 ** 20).toFixed(3)
const heap = (): number => {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

console.log(`soak: ${steps} steps of ${toolkit ? 'applyIfFinite(multiSteps(adam))' : 'adam'} on ${2 * 32 + 64 * 32 + 32 * 3 + 3} parameters`)
console.log('step'.padStart(8), 'heapUsed MiB'.padStart(14), 'ms/step'.padStart(9))
const every = Math.max(1, Math.floor(steps / samples))
const heaps: number[] = []
let t0 = performance.now()
for (let step = 0; step < steps; step++) {
  ;[params, state] = opt.step(params, gradsAt(params, step), state)
  if ((step + 1) % every === 0) {
    const ms = (performance.now() - t0) / every
    const h = heap()
    heaps.push(h)
    console.log(String(step + 1).padStart(8), mib(h).padStart(14), ms.toFixed(4).padStart(9))
    t0 = performance.now()
  }
}

// the first sample is warm-up (JIT, lazily built structures); compare the rest
const first = heaps[1] ?? heaps[0]
const last = heaps[heaps.length - 1]
const growth = last - first
console.log(`heap growth after warm-up: ${mib(growth)} MiB (${(growth / Math.max(1, steps - 2 * every)).toFixed(3)} bytes/step)`)
if (growth > 2 ** 20) {
  console.log('FAIL: the heap grew by more than 1 MiB')
  process.exit(1)
}
console.log('OK: no heap growth')

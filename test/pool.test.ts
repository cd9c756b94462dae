/**
 * Recycled output storage (`tensor/pool.ts`): a pure step's large outputs
 * are handed to later outputs once nothing holds them, and a tensor that is
 * still held never sees its values change.
 */
import v8 from 'node:v8'
import vm from 'node:vm'
import { expect, it } from 'vitest'
import { type Params, optimizer } from '../src/core/index.js'
import { adam } from '../src/optimizers/index.js'
import { type Tensor, fromStorage, toArray } from '../src/tensor/index.js'

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void

const turn = () => new Promise((resolve) => setImmediate(resolve))

it('recycles the buffers of unreachable outputs, and never changes a tensor still held', async () => {
  const n = 1 << 17 // 512 KiB of float32 per leaf: above the pooling threshold
  const opt = optimizer(adam({ learningRate: 0.1 }))
  let p: Params = { w: fromStorage(Float32Array.from({ length: n }, (_, k) => Math.sin(k)), [n]) }
  const g: Params = { w: fromStorage(Float32Array.from({ length: n }, (_, k) => Math.cos(k)), [n]) }
  let s = opt.init(p)
  const seen = new WeakSet<ArrayBufferLike>()
  const kept: [Tensor, number[]][] = []
  let reused = 0
  for (let step = 0; step < 40; step++) {
    ;[p, s] = opt.step(p, g, s)
    const w = (p as { w: Tensor }).w
    if (seen.has(w.data.buffer)) reused += 1
    seen.add(w.data.buffer)
    if (step % 5 === 0) kept.push([w, toArray(w)])
    gc()
    await turn()
  }
  expect(reused).toBeGreaterThan(0)
  for (const [w, values] of kept) expect(toArray(w)).toEqual(values)
})

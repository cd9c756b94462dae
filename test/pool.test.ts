/**
 * Recycled output storage (`tensor/pool.ts`, and resident chunks in
 * `kernel/resident.ts`): a pure step's outputs, large ones and the chunks
 * small ones are carved from, are handed to later outputs once nothing
 * holds them, and a tensor that is still held never sees its values change.
 */
import v8 from 'node:v8'
import vm from 'node:vm'
import { expect, it } from 'vitest'
import { type Params, optimizer } from '../src/core/index.js'
import { RESIDENT_CHUNK, residentOf, setBackend, wasmSupported } from '../src/kernel/index.js'
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

it('on WebAssembly, a pure step carves small outputs from resident chunks that come back once their views are gone, and never changes a tensor still held', async () => {
  if (!wasmSupported()) return
  // 600 leaves of 64: each step's params, mu and nu fill a chunk of RESIDENT_CHUNK elements each
  const n = 64
  const wave = (phase: number, i: number): Tensor => fromStorage(Float32Array.from({ length: n }, (_, k) => Math.sin(k * 0.3 + phase + i)), [n])
  const start = Array.from({ length: 600 }, (_, i) => wave(0, i))
  const g = Array.from({ length: 600 }, (_, i) => wave(2, i))
  const opt = optimizer(adam({ learningRate: 0.1 }))
  let p: Params = start
  let s = opt.init(p)
  // the same steps on the JavaScript backend: the reference bits
  const previous = setBackend('js')
  const reference: number[][] = []
  try {
    let q: Params = start
    let r = opt.init(q)
    for (let step = 0; step < 30; step++) {
      ;[q, r] = opt.step(q, g, r)
      reference.push(toArray((q as Tensor[])[599]))
    }
  } finally {
    setBackend(previous)
  }
  // a chunk is told by where its block starts in its memory
  const blockOf = (t: Tensor): string => `${residentOf(t.data) === undefined ? 'not resident' : 'resident'} ${t.data.byteOffset}`
  const seen = new Set<string>()
  const kept: [Tensor, number[]][] = []
  let reused = 0
  for (let step = 0; step < 30; step++) {
    ;[p, s] = opt.step(p, g, s)
    const leaves = p as Tensor[]
    expect(residentOf(leaves[0].data)).toBeDefined()
    expect(leaves[0].data.length).toBe(RESIDENT_CHUNK)
    if (seen.has(blockOf(leaves[0]))) reused += 1
    seen.add(blockOf(leaves[0]))
    expect(toArray(leaves[599])).toEqual(reference[step])
    if (step % 5 === 0) kept.push([leaves[3], toArray(leaves[3])])
    gc()
    await turn()
  }
  expect(reused).toBeGreaterThan(0)
  for (const [t, values] of kept) expect(toArray(t)).toEqual(values)
})

/**
 * Donating steps over many small leaves on WebAssembly: each leaf written
 * in place, in the resident chunks a donating pass carves its small
 * outputs from, with the bits of the JavaScript backend. A file of its
 * own: residency depends on the budget of transient blocks, which other
 * tests' large outputs hold until a full collection gives them back.
 */
import { describe, expect, it } from 'vitest'
import { type Params, optimizer } from '../src/core/index.js'
import { residentOf, setBackend, wasmSupported } from '../src/kernel/index.js'
import * as O from '../src/optimizers/index.js'
import { type Tensor, copy, fromStorage } from '../src/tensor/index.js'
import { expectSameBits, stateTensors } from './helpers/optimizers.js'

describe('resident chunks (small leaves of donating steps)', () => {
  it('on wasm, donating steps write small leaves in place in resident chunks, with the JavaScript backend’s bits', () => {
    if (!wasmSupported()) return
    // 300 leaves of 1..29 elements (segments that are not whole iterations long), float32 and float64, some strided
    const make = (phase: number): Tensor[] =>
      Array.from({ length: 300 }, (_, i) => {
        const n = 1 + ((i * 7) % 29)
        const data = i % 4 === 0 ? new Float64Array(n) : new Float32Array(n)
        data.forEach((_, k) => (data[k] = Math.sin(k * 0.5 + phase + i)))
        return fromStorage(data, [n])
      })
    const run = (backend: 'js' | 'wasm'): Tensor[][] => {
      setBackend(backend)
      const opt = optimizer(O.adam(0.01), { donate: true })
      let [p, s] = [make(0) as Params, opt.init(make(0))]
      const seen: Tensor[][] = []
      for (let step = 0; step < 4; step++) {
        const before = (p as Tensor[]).map((t) => [t.data, t.offset] as const)
        // every ninth gradient a reversed view: its leaf runs on its own, beside the batch, in place all the same
        const grads = make(step + 1).map((g, i) => (i % 9 === 0 ? copy(g.step(-1)).step(-1) : g))
        ;[p, s] = opt.step(p, grads, s)
        const out = p as Tensor[]
        if (backend === 'wasm' && step >= 2) {
          // in place, every one, in resident chunks (this file's own module state: no earlier test has used the budget
          // of transient blocks, whose blocks come back only after a full collection)
          expect(out.every((t, k) => t.data === before[k][0] && t.offset === before[k][1])).toBe(true)
          expect(out.every((t) => residentOf(t.data) !== undefined)).toBe(true)
        }
        seen.push(out.map((t) => copy(t)), stateTensors(s).map((t) => copy(t)))
      }
      return seen
    }
    expectSameBits(run('wasm'), run('js'))
  })
})

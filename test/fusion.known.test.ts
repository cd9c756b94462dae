/**
 * Known trees: the params and state a step returned, passed back to the
 * next step, are not walked again leaf by leaf (their leaves come from the
 * lists their pass kept, see `leafPass` in `core/fusion`). Every such step
 * must give the bits of the same step over the same leaves in containers of
 * the caller's own (which every pass walks), refuse what that step refuses
 * with the same error, and, under donation, write in place.
 */
import { describe, expect, it } from 'vitest'
import { type GradientTransformation, type Params, applyUpdates, chain, optimizer } from '../src/core/index.js'
import { DonatedBufferError, DtypeError, ShapeError } from '../src/errors/index.js'
import * as O from '../src/optimizers/index.js'
import { type Tensor, copy, fromStorage } from '../src/tensor/index.js'
import { markTaken } from '../src/tensor/taken.js'
import { clip, clipByTotalNorm } from '../src/transforms/index.js'
import { isPlainObject, mapTree } from '../src/tree/index.js'
import { expectSameBits, numbersOf, stateTensors } from './helpers/optimizers.js'

/** The same leaves (and numbers) in new containers: a tree no pass returned. */
function rebuilt<T>(x: T): T {
  if (Array.isArray(x)) return x.map(rebuilt) as T
  if (isPlainObject(x)) return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, rebuilt(v)])) as T
  return x
}

/** 60 leaves of 1..37 elements (every fifth float64), as a flat list or as layers `{ W, b }`; `phase` varies the values. */
function leaves(phase: number, layers: boolean): Params {
  const make = (i: number): Tensor => {
    const n = 1 + ((i * 11) % 37)
    const data = i % 5 === 0 ? new Float64Array(n) : new Float32Array(n)
    data.forEach((_, k) => (data[k] = Math.sin(0.7 * k + phase + 1.3 * i)))
    return fromStorage(data, [n])
  }
  const flat = Array.from({ length: 60 }, (_, i) => make(i))
  return layers ? { layers: Array.from({ length: 30 }, (_, i) => ({ W: flat[2 * i], b: flat[2 * i + 1] })) } : flat
}

const TXS: Record<string, () => GradientTransformation<unknown>> = {
  adam: () => O.adam(0.01),
  amsgrad: () => O.amsgrad(0.01),
  'clipByTotalNorm, rmsprop, clip': () => chain(clipByTotalNorm(1), O.rmsprop(0.01), clip(0.5)),
}

/**
 * `steps` steps of `tx` from the same start, one passing back what each step returned (known trees, from the
 * second step on), the other new containers of the same leaves: the params and state after each step, of each.
 */
function both(tx: () => GradientTransformation<unknown>, donate: boolean, layers: boolean, steps: number, grads = leaves): [unknown[], unknown[]] {
  const runs = [true, false].map((known) => {
    const opt = optimizer(tx(), { donate })
    let p = leaves(0, layers)
    let s = opt.init(leaves(0, layers))
    const seen: unknown[] = []
    for (let step = 0; step < steps; step++) {
      const g = grads(step + 1, layers)
      ;[p, s] = known ? opt.step(p, g, s) : opt.step(rebuilt(p), g, rebuilt(s))
      // (copied out now: a donating step empties what it was handed)
      seen.push(numbersOf(p), numbersOf(stateTensors(s)))
    }
    return seen
  })
  return [runs[0], runs[1]]
}

describe('known trees (the params and state a step returned, passed back)', () => {
  for (const [name, tx] of Object.entries(TXS)) {
    for (const donate of [false, true]) {
      for (const layers of [false, true]) {
        it(`${name}, ${donate ? 'donating' : 'pure'}, ${layers ? 'layers' : 'a flat list'}: the bits of the same steps over new containers`, () => {
          const [known, walked] = both(tx, donate, layers, 5)
          expectSameBits(known, walked)
        })
      }
    }
  }

  it('gradients that cannot join a batch (every seventh a reversed view) run on their own, beside known trees', () => {
    // at the third step only (so that the trees it gets are known): the same values in reversed storage, viewed
    // backwards, strided, so those leaves run one by one (and, donating, are taken over one by one)
    const strided = (phase: number, layers: boolean): Params => {
      let i = 0
      return mapTree(leaves(phase, layers), (t) => (phase === 3 && i++ % 7 === 0 ? copy(t.step(-1)).step(-1) : t))
    }
    for (const donate of [false, true]) {
      const [known, walked] = both(TXS.adam, donate, true, 4, strided)
      expectSameBits(known, walked)
    }
  })

  it('carry what their pass made (no enumeration shows it), and a donating step writes them in place', () => {
    const opt = optimizer(O.adam(0.01), { donate: true })
    let p = leaves(0, true)
    let s = opt.init(leaves(0, true))
    for (let step = 0; step < 4; step++) {
      const before = stateTensors(s).map((t) => [t.data, t.offset] as const)
      ;[p, s] = opt.step(p, leaves(step + 1, true), s)
      expect(Object.keys(p as object)).toEqual(['layers'])
      expect(Object.getOwnPropertySymbols(p as object)).toHaveLength(1)
      // from the third step on, every state leaf lies where the one it replaced did
      if (step >= 2) expect(stateTensors(s).every((t, k) => t.data === before[k][0] && t.offset === before[k][1])).toBe(true)
    }
  })

  it('the optax-style path (update, then applyUpdates) gives the bits of the same steps over new containers', () => {
    const runs = [true, false].map((known) => {
      const tx = O.adam(0.01)
      let p = leaves(0, false)
      let s = tx.init(p)
      const seen: unknown[] = []
      for (let step = 0; step < 4; step++) {
        const g = leaves(step + 1, false)
        const [u, s2] = known ? tx.update(g, s, p) : tx.update(g, rebuilt(s), rebuilt(p))
        p = known ? applyUpdates(p, u) : applyUpdates(rebuilt(p), rebuilt(u))
        s = s2
        seen.push(numbersOf(p), numbersOf(stateTensors(s)))
      }
      return seen
    })
    expectSameBits(runs[0], runs[1])
  })

  it('params of one run with the state of another (trees of different passes): the bits of new containers', () => {
    const opt = optimizer(O.adam(0.01))
    const [p1, s1] = opt.step(leaves(0, false), leaves(1, false), opt.init(leaves(0, false)))
    const [p2, s2] = opt.step(leaves(2, false), leaves(3, false), opt.init(leaves(2, false)))
    expectSameBits(opt.step(p1, leaves(4, false), s2), opt.step(rebuilt(p1), leaves(4, false), rebuilt(s2)))
    expectSameBits(opt.step(p2, leaves(4, false), s1), opt.step(rebuilt(p2), leaves(4, false), rebuilt(s1)))
  })

  for (const donate of [false, true]) {
    const mode = donate ? 'donating' : 'pure'
    /**
     * Two steps' params and state, with one tensor of the state (the first moment's fourth leaf) then changed by
     * `change`; the next step over them (the trees the step returned), and the same step over new containers of the
     * same leaves, pure (every tree walked), which each call runs on a scenario of its own.
     */
    const changed = (change: (t: Tensor) => void): { known: () => unknown; walked: () => unknown } => {
      const scenario = () => {
        const opt = optimizer(O.adam(0.01), { donate })
        let p = leaves(0, false)
        let s = opt.init(leaves(0, false))
        for (let step = 0; step < 2; step++) [p, s] = opt.step(p, leaves(step + 1, false), s)
        change(stateTensors(s)[3])
        return { opt, p, s }
      }
      return {
        known: () => {
          const { opt, p, s } = scenario()
          return numbersOf(opt.step(p, leaves(3, false), s))
        },
        walked: () => {
          const { p, s } = scenario()
          return numbersOf(optimizer(O.adam(0.01)).step(rebuilt(p), leaves(3, false), rebuilt(s)))
        },
      }
    }

    it(`${mode}: a leaf given a shape of its size but another rank is refused as when walked, naming its path`, () => {
      const { known, walked } = changed((t) => {
        t.shape = [1, t.shape[0]]
        t.stride = [t.shape[1], 1]
      })
      expect(walked).toThrow(ShapeError)
      expect(walked).toThrow(/state\.mu\[3\]/)
      expect(known).toThrow(ShapeError)
      expect(known).toThrow(/state\.mu\[3\]/)
    })

    it(`${mode}: a leaf whose storage became the other dtype is refused as when walked, naming its path`, () => {
      const { known, walked } = changed((t) => {
        t.data = Float64Array.from(t.data.subarray(t.offset, t.offset + t.shape[0]))
        t.offset = 0
      })
      expect(walked).toThrow(DtypeError)
      expect(known).toThrow(DtypeError)
      expect(known).toThrow(/state\.mu\[3\]/)
    })

    it(`${mode}: a leaf over other storage of its dtype is read there`, () => {
      const { known, walked } = changed((t) => {
        t.data = Float32Array.from(t.data.subarray(t.offset, t.offset + t.shape[0]), (x) => x + 0.25)
        t.offset = 0
      })
      expectSameBits(known(), walked())
    })

    it(`${mode}: a leaf emptied by a donation is refused with a DonatedBufferError naming its path`, () => {
      const { known } = changed((t) => markTaken(t))
      expect(known).toThrow(DonatedBufferError)
      expect(known).toThrow(/state\.mu\[3\]/)
    })
  }
})

/**
 * The kernel backends: the JavaScript and WebAssembly backends give the same
 * bits under `'exact'` (on random strided trees of both dtypes, and on
 * leaves that cross the WebAssembly chunk), and `'fast'` stays within its
 * documented bounds (docs/performance.md). Many small leaves run packed
 * into few kernel calls, with the same bits.
 */
import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type ViewRecipe, arbPool, arbShape, arbTree, arbViewRecipe, fromPool, viewOf } from '../laws/arbitraries.js'
import { type GradientTransformation, type Params, chain, optimizer } from '../src/core/index.js'
import { activeBackend, addArray, addLeaf, compiled, newBatch, residentOf, setBackend, setResidentMinBytes, wasmSupported } from '../src/kernel/index.js'
import { releaseBatch, runPacked, takeBatch } from '../src/kernel/batch.js'
import { type BinaryOp, type Comparison, type Expr, abs, add, div, float32Values, fround, max, min, mul, neg, program, schedule, sqrt, store, sub, where } from '../src/kernel/index.js'
import { fitted, wasmKernel } from '../src/kernel/wasm.js'
import * as O from '../src/optimizers/index.js'
import { type Dtype, type FloatArray, type Tensor, copy, fromStorage, toArray } from '../src/tensor/index.js'
import { elementwise, scaleByLearningRate, zeroNans } from '../src/transforms/index.js'
import { mapTree, walk } from '../src/tree/index.js'
import { expectSameBits, numbersOf, stateTensors } from './helpers/optimizers.js'

/** Every optimizer whose step runs a compiled recurrence, and one chain that runs a `where`. */
const OPTIMIZERS: Record<string, () => GradientTransformation<unknown>> = {
  sgd: () => O.sgd(0.1),
  momentum: () => O.momentum(0.1),
  nesterov: () => O.nesterovMomentum(0.1),
  adagrad: () => O.adagrad(0.1),
  rmsprop: () => O.rmsprop(0.1),
  adadelta: () => O.adadelta(),
  adam: () => O.adam(0.1),
  adamax: () => O.adamax(0.1),
  amsgrad: () => O.amsgrad(0.1),
  'zeroNans, adam': () => chain(zeroNans(), O.adam(0.1)),
  // the flavors round every operation to float32: WebAssembly runs them in float32 lanes, with the same bits
  'adam, torch': () => O.adam({ learningRate: 0.1, flavor: 'torch', weightDecay: 0.01 }),
  'adam, optax': () => O.adam({ learningRate: 0.1, flavor: 'optax', epsRoot: 1e-8 }),
  'amsgrad, tensorflow': () => O.amsgrad({ learningRate: 0.1, flavor: 'tensorflow' }),
  'adamax, torch': () => O.adamax({ learningRate: 0.1, flavor: 'torch' }),
  'rmsprop, torch': () => O.rmsprop({ learningRate: 0.1, flavor: 'torch', centered: true, momentum: 0.5 }),
  'rmsprop, optax': () => O.rmsprop({ learningRate: 0.1, flavor: 'optax', centered: true, epsInSqrt: false }),
  'adagrad, optax': () => O.adagrad({ learningRate: 0.1, flavor: 'optax' }),
  'adadelta, tensorflow': () => O.adadelta({ learningRate: 0.1, flavor: 'tensorflow' }),
  'momentum, torch': () => O.momentum({ learningRate: 0.1, momentum: 0.9, flavor: 'torch', dampening: 0.1 }),
  // a float32 accumulator beside float64 leaves (`fround`), and the factored moment's own programs
  'adafactor, momentum': () => O.adafactor({ learningRate: 0.1, minDimSizeToFactor: 1, momentum: 0.9 }),
  'adafactor, torch': () => O.adafactor({ flavor: 'torch', weightDecay: 0.01 }),
  'nadam, torch': () => O.nadam({ flavor: 'torch', weightDecay: 0.01 }),
  adamw: () => O.adamw({ learningRate: 0.1 }),
  lion: () => O.lion({ learningRate: 0.1 }),
}

/** Runs `steps` steps of `tx` on `backend`, pure or donating (on copies), and returns every number it produced. */
function trajectory(backend: 'js' | 'wasm', tx: GradientTransformation<unknown>, params: Params, grads: Params, steps: number, donate: boolean): number[][] {
  const previous = setBackend(backend)
  try {
    const opt = optimizer(tx, { donate })
    let p = donate ? mapTree(params, copy) : params
    let s = opt.init(p)
    const out: number[][] = []
    for (let k = 0; k < steps; k++) {
      ;[p, s] = opt.step(p, grads, s)
      out.push(numbersOf(p))
    }
    out.push(stateTensors(s).flatMap(toArray))
    return out
  } finally {
    setBackend(previous)
  }
}

afterEach(() => {
  setBackend('auto')
})

/** Random strided params and gradients of one tree structure, both dtypes, the gradients with zeros, NaN, infinities and extremes. */
const arbParamsAndGrads: fc.Arbitrary<[Params, Params]> = (() => {
  const leaf = fc.record({ shape: arbShape({ maxDims: 3, maxSide: 6 }), dtype: fc.constantFrom<Dtype>('float32', 'float64'), view: arbViewRecipe(), gview: arbViewRecipe() })
  const elements = fc.oneof(fc.double({ min: -8, max: 8, noNaN: true }), fc.constantFrom(0, -0, NaN, Infinity, 1e-30, 3e38))
  return fc.tuple(arbTree(leaf, { maxDepth: 2 }), arbPool(), arbPool(elements)).map(([spec, pPool, gPool]) => {
    let i = 0
    return walk([spec], ['spec'], isSpec, 2, ([leaf]) => {
      const l = leaf as LeafSpec
      i += 1
      return [viewOf(fromPool(l.shape, l.dtype, pPool, i), l.view), viewOf(fromPool(l.shape, l.dtype, gPool, 3 * i), l.gview)]
    }) as [Params, Params]
  })
})()

describe('kernel backends', () => {
  it('WebAssembly SIMD is available in Node, and the default backend uses it', () => {
    expect(wasmSupported()).toBe(true)
    // (NDOPTAX_BACKEND=js runs the suite on the JavaScript backend on purpose)
    expect(activeBackend()).toBe(process.env.NDOPTAX_BACKEND === 'js' ? 'js' : 'wasm')
  })

  it('JavaScript and WebAssembly give the same bits on random strided trees of both dtypes (exact)', () => {
    fc.assert(
      fc.property(arbParamsAndGrads, fc.constantFrom(...Object.keys(OPTIMIZERS)), fc.boolean(), ([params, grads], name, donate) => {
        const js = trajectory('js', OPTIMIZERS[name](), params, grads, 3, donate)
        const wasm = trajectory('wasm', OPTIMIZERS[name](), params, grads, 3, donate)
        expectSameBits(wasm, js)
      }),
      { numRuns: 250 },
    )
  })

  it.each(['float32', 'float64'] as const)('the same bits on %s leaves that span several WebAssembly chunks', (dtype) => {
    // 20011 elements: two full chunks and a tail that is not a multiple of the eight elements of an iteration
    const n = 20011
    const wave = (phase: number, scale: number) => {
      const data = dtype === 'float32' ? new Float32Array(n) : new Float64Array(n)
      data.forEach((_, k) => (data[k] = scale * Math.sin(k * 0.37 + phase)))
      return fromStorage(data, [n])
    }
    for (const name of Object.keys(OPTIMIZERS)) {
      const params = { w: wave(0, 2) }
      const grads = { w: wave(1, 0.5) }
      expectSameBits(trajectory('wasm', OPTIMIZERS[name](), params, grads, 4, false), trajectory('js', OPTIMIZERS[name](), params, grads, 4, false))
    }
  })
})

/**
 * A program of `terms` Adam-like updates, each `store(max(x, sqrt(y + s·k)) / (x + y))` over two inputs, from `max(x, y)`,
 * summed and stored: long enough that eight elements per iteration exceed a browser's synchronous module.
 */
const longProgram = (terms: number) =>
  program(`long ${terms}`, 2, 1, ([x, y], [s]) => {
    let acc = store(max(x, y)) // a float32 value already on float32 arrays: its store rounds nothing
    for (let k = 1; k <= terms; k++) acc = store(add(acc, store(div(max(x, sqrt(add(y, mul(s, k)))), add(x, y)))))
    return [acc, store(mul(acc, y))]
  })

/**
 * An expression of the kernel language as data, for random programs: an
 * input or scalar (by index), a constant, or an operation of the language
 * on such recipes.
 */
type Recipe =
  | { readonly leaf: 'input' | 'scalar'; readonly i: number }
  | { readonly leaf: 'const'; readonly value: number }
  | { readonly unary: 'sqrt' | 'abs' | 'neg' | 'fround' | 'store'; readonly a: Recipe }
  | { readonly binary: BinaryOp; readonly a: Recipe; readonly b: Recipe }
  | { readonly where: Comparison; readonly a: Recipe; readonly b: Recipe; readonly then: Recipe; readonly otherwise: Recipe }

/** Random recipes up to five operations deep, over two inputs, two scalars and constants of every kind (±0, NaN, ±∞). */
const arbRecipe: fc.Arbitrary<Recipe> = fc.letrec<{ node: Recipe; leaf: Recipe }>((tie) => ({
  node: fc.oneof(
    { maxDepth: 5, depthSize: 'small' },
    tie('leaf'),
    fc.record({ unary: fc.constantFrom('sqrt', 'abs', 'neg', 'fround', 'store'), a: tie('node') }),
    fc.record({ binary: fc.constantFrom<BinaryOp>('add', 'sub', 'mul', 'div', 'max', 'min'), a: tie('node'), b: tie('node') }),
    fc.record({ where: fc.constantFrom<Comparison>('lt', 'le', 'eq'), a: tie('node'), b: tie('node'), then: tie('node'), otherwise: tie('node') }),
  ) as fc.Arbitrary<Recipe>,
  leaf: fc.oneof(
    fc.record({ leaf: fc.constantFrom<'input' | 'scalar'>('input', 'scalar'), i: fc.integer({ min: 0, max: 1 }) }),
    fc.record({ leaf: fc.constant<'const'>('const'), value: fc.constantFrom(0, -0, 1, -3, 0.1, 2.5, 1e-8, 1e300, NaN, Infinity, -Infinity) }),
  ) as fc.Arbitrary<Recipe>,
})).node

/** The expression of `r` over inputs `x` and scalars `s`. */
function exprOf(r: Recipe, x: readonly Expr[], s: readonly Expr[]): Expr | number {
  if ('leaf' in r) return r.leaf === 'const' ? r.value : r.leaf === 'input' ? x[r.i] : s[r.i]
  if ('unary' in r) {
    const a = exprOf(r.a, x, s)
    return { sqrt, abs, neg, fround, store }[r.unary](a)
  }
  if ('binary' in r) return { add, sub, mul, div, max, min }[r.binary](exprOf(r.a, x, s), exprOf(r.b, x, s))
  return where(r.where, exprOf(r.a, x, s), exprOf(r.b, x, s), exprOf(r.then, x, s), exprOf(r.otherwise, x, s))
}

/**
 * The oracle: `r` evaluated on one element, in float64 with `store` rounding
 * to float32 on float32 leaves, as the language defines it (expr.ts).
 */
function evaluate(r: Recipe, x: readonly number[], s: readonly number[], f32: boolean): number {
  const ev = (q: Recipe): number => evaluate(q, x, s, f32)
  if ('leaf' in r) return r.leaf === 'const' ? r.value : r.leaf === 'input' ? x[r.i] : s[r.i]
  if ('unary' in r) {
    const a = ev(r.a)
    const ops = { sqrt: Math.sqrt(a), abs: Math.abs(a), neg: -a, fround: Math.fround(a), store: f32 ? Math.fround(a) : a }
    return ops[r.unary]
  }
  if ('binary' in r) {
    const [a, b] = [ev(r.a), ev(r.b)]
    return { add: a + b, sub: a - b, mul: a * b, div: a / b, max: Math.max(a, b), min: Math.min(a, b) }[r.binary]
  }
  const [a, b] = [ev(r.a), ev(r.b)]
  const holds = r.where === 'lt' ? a < b : r.where === 'le' ? a <= b : a === b
  return holds ? ev(r.then) : ev(r.otherwise)
}

describe('random programs (every operation, either operand a number, NaN, ±0 and ±∞)', () => {
  it.each(['js', 'wasm'] as const)("on %s, a leaf and a batch of leaves give the oracle's bits (exact)", (backend) => {
    if (backend === 'wasm' && !wasmSupported()) return
    const values = fc.oneof(fc.double(), fc.constantFrom(0, -0, 1, -1, 0.5, NaN, Infinity, -Infinity))
    fc.assert(
      fc.property(
        fc.array(arbRecipe, { minLength: 1, maxLength: 2 }),
        fc.constantFrom<Dtype>('float32', 'float64'),
        fc.integer({ min: 1, max: 1100 }),
        fc.array(values, { minLength: 4, maxLength: 4 }),
        fc.tuple(values, values),
        fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 8 }),
        (recipes, dtype, n, pattern, [s0, s1], sizes) => {
          const f32 = dtype === 'float32'
          // scalars come rounded to the leaf dtype (as a block's scalars do)
          const scalars = f32 ? [Math.fround(s0), Math.fround(s1)] : [s0, s1]
          const prog = program(`random ${JSON.stringify(recipes)}`, 2, 2, (x, s) => recipes.map((r) => store(exprOf(r, x, s))))
          const make = (): FloatArray => (f32 ? new Float32Array(n) : new Float64Array(n))
          const ins = [make(), make()]
          ins.forEach((a, i) => a.forEach((_, k) => (a[k] = pattern[(k * (i + 1) + i) % 4] * (1 + k / 7))))
          const want = recipes.map(() => make())
          for (let k = 0; k < n; k++) {
            recipes.forEach((r, o) => (want[o][k] = evaluate({ unary: 'store', a: r }, [ins[0][k], ins[1][k]], scalars, f32)))
          }
          const previous = setBackend(backend)
          try {
            const k = compiled(prog, dtype)
            // one leaf
            const outs = recipes.map(() => make())
            k.run(n, outs, ins, scalars)
            outs.forEach((o, i) => expectSameBits(Array.from(o), Array.from(want[i])))
            // the same elements as a batch of leaves of `sizes` (cycled), the inputs' runs in their arrays
            const b = newBatch(2 + recipes.length)
            const packed = recipes.map(() => make())
            for (let at = 0, l = 0; at < n; l++) {
              const m = Math.min(n - at, sizes[l % sizes.length] || 1)
              addLeaf(b, m)
              ins.forEach((a, j) => addArray(b, j, a, at))
              packed.forEach((o, i) => addArray(b, 2 + i, o, at))
              at += m
            }
            k.batch(b, scalars)
            packed.forEach((o, i) => expectSameBits(Array.from(o), Array.from(want[i])))
          } finally {
            setBackend(previous)
          }
        },
      ),
      { numRuns: 150 },
    )
  })
})

describe('float32 values (stores of them round nothing, on either backend)', () => {
  it('are the inputs, stored and frounded values, float32 constants, and max, min, abs, neg and where of them', () => {
    const p = program('float32 values', 2, 1, ([x, y], [s]) => [
      store(max(x, y)),
      store(abs(store(add(x, y)))),
      store(where('lt', x, 0.5, fround(mul(s, y)), 0.25)),
      store(add(x, y)),
      store(max(x, s)),
      store(max(x, 0.1)),
    ])
    const single = float32Values(schedule(p.outputs))
    const rounds = p.outputs.map((o) => o.kind === 'store' && !single.has(o.a))
    // a scalar may be a float64 number, and so is 0.1; a sum of float32 numbers is not one
    expect(rounds).toEqual([false, false, false, true, true, true])
  })
})

describe('loop width (elements per iteration)', () => {
  const size = (body: number[]) => Uint8Array.from(body)
  it('eight elements per iteration when the module fits a browser\'s synchronous compile, else four, else none', () => {
    expect(fitted(longProgram(2), true, false, 'pointers', size)?.perIteration).toBe(8)
    const long = longProgram(14)
    expect(fitted(long, true, false, 'pointers', size)?.perIteration).toBe(4)
    expect(fitted(long, false, false, 'pointers', size)?.perIteration).toBe(4)
    expect(fitted(longProgram(40), true, false, 'pointers', size)).toBeUndefined()
  })

  it.skipIf(!wasmSupported()).each(['float32', 'float64'] as const)('a program run four elements per iteration gives the JavaScript backend\'s bits on %s arrays', (dtype) => {
    const long = longProgram(14)
    const wasm = wasmKernel(long, dtype === 'float32', 'exact')
    expect(wasm).toBeDefined()
    const n = 8195 // a chunk and a tail that is not a multiple of the lanes
    const make = (phase: number) => Float64Array.from({ length: n }, (_, k) => (k % 97 === 0 ? [NaN, -0, Infinity][k % 3] : Math.sin(k * 0.37 + phase) * 3))
    const View = dtype === 'float32' ? Float32Array : Float64Array
    const ins = [View.from(make(0)), View.from(make(1))]
    const outs = (): [Float32Array | Float64Array, Float32Array | Float64Array] => [new View(n), new View(n)]
    const [w, j] = [outs(), outs()]
    wasm!.run(n, w, ins, [0.25])
    const previous = setBackend('js')
    try {
      compiled(long, dtype).run(n, j, ins, [0.25])
    } finally {
      setBackend(previous)
    }
    expectSameBits(w.map((a) => Array.from(a)), j.map((a) => Array.from(a)))
  })
})

describe('resident memories (donated leaves kept in WebAssembly memory, worked on in place)', () => {
  // every donated leaf resident, however small: the in-place kernels, the staging of what lives elsewhere, and the last
  // elements (fewer than the eight of an iteration) all run on small random trees
  let previous = 0
  beforeEach(() => {
    previous = setResidentMinBytes(0)
  })
  afterEach(() => {
    setResidentMinBytes(previous)
  })

  it.skipIf(!wasmSupported())('give the JavaScript backend\'s bits on random strided trees of both dtypes, pure and donating', () => {
    fc.assert(
      fc.property(arbParamsAndGrads, fc.constantFrom(...Object.keys(OPTIMIZERS)), fc.boolean(), ([params, grads], name, donate) => {
        expectSameBits(trajectory('wasm', OPTIMIZERS[name](), params, grads, 4, donate), trajectory('js', OPTIMIZERS[name](), params, grads, 4, false))
      }),
      { numRuns: 150 },
    )
  })

  it.skipIf(!wasmSupported())('move a donated leaf into a resident memory once, then update it in place, with the pure step\'s bits', () => {
    const n = 20011 // two staging chunks and a tail that is not a multiple of the eight elements of an iteration
    const wave = (phase: number) => fromStorage(Float32Array.from({ length: n }, (_, k) => Math.sin(k * 0.37 + phase)), [n])
    const grads = { w: wave(1) }
    const donating = optimizer(O.adam(0.01), { donate: true })
    const pure = optimizer(O.adam(0.01))
    let p: Params = { w: wave(0) }
    let s = donating.init(p)
    let q: Params = { w: wave(0) }
    let t = pure.init(q)
    const storages: unknown[] = []
    for (let k = 0; k < 4; k++) {
      ;[p, s] = donating.step(p, grads, s)
      ;[q, t] = pure.step(q, grads, t)
      expectSameBits(numbersOf(p), numbersOf(q))
      storages.push((p as { w: Tensor }).w.data)
    }
    expect(residentOf((p as { w: Tensor }).w.data)).toBeDefined()
    expect(storages[1]).toBe(storages[0]) // in place after the first step
    expect(storages[3]).toBe(storages[0])
  })
})

describe('resident placement (the arrays of one leaf in one memory)', () => {
  it.skipIf(!wasmSupported())('a leaf goes to a memory with room for all its arrays, the rest of it near its first array', async () => {
    // a fresh copy of the module: no memory yet
    vi.resetModules()
    const { RESIDENT_SCALARS, STAGING_ARRAYS, STAGING_BYTES, residentOf: memoryOf, residentStorage: place } = await import('../src/kernel/resident.js')
    const n = 1 << 20 // 4 MiB blocks: the first memory is sized for four and the scalars and staging regions, 32 MiB in all
    const blocks = Math.floor(((1 << 25) - RESIDENT_SCALARS - STAGING_ARRAYS * STAGING_BYTES) / (4 * n))
    const first = place('float32', n)!
    const home = memoryOf(first)
    const held = [first]
    // fill the first memory up to one free block
    for (let k = 0; k < blocks - 2; k++) held.push(place('float32', n)!)
    expect(held.every((a) => memoryOf(a) === home)).toBe(true)
    // a leaf of four arrays does not start where only one fits: it takes a memory with room for all four
    const leaf = [place('float32', n, false, undefined, 4)!]
    for (let k = 1; k < 4; k++) leaf.push(place('float32', n, false, leaf[0], 4)!)
    expect(memoryOf(leaf[0]) === home).toBe(false) // (booleans: a memory is too large to print)
    expect(leaf.every((a) => memoryOf(a) === memoryOf(leaf[0]))).toBe(true)
    // a single block still takes the room that is left
    expect(memoryOf(place('float32', n)!) === home).toBe(true)
  })

  it.skipIf(!wasmSupported())('a donated AMSGrad leaf moves into one memory: params, moments and maximum', () => {
    const n = 1 << 17
    const wave = (phase: number) => fromStorage(Float32Array.from({ length: n }, (_, k) => Math.sin(k * 0.37 + phase)), [n])
    const opt = optimizer(O.amsgrad(0.01), { donate: true })
    let p: Params = { w: wave(0) }
    let s = opt.init(p)
    for (let k = 0; k < 2; k++) [p, s] = opt.step(p, { w: wave(1) }, s)
    const arrays = [(p as { w: Tensor }).w, ...stateTensors(s)].map((t) => t.data)
    expect(arrays).toHaveLength(4)
    expect(residentOf(arrays[0])).toBeDefined()
    expect(arrays.every((a) => residentOf(a) === residentOf(arrays[0]))).toBe(true)
  })
})

interface LeafSpec {
  readonly shape: number[]
  readonly dtype: Dtype
  readonly view: ViewRecipe
  readonly gview: ViewRecipe
}
const isSpec = (x: unknown): boolean => typeof x === 'object' && x !== null && 'shape' in x && 'view' in x

/**
 * `'fast'` against `'exact'`: the documented bounds (docs/performance.md,
 * "Fast precision"), measured as there: one fast step from the exact state,
 * 20 steps of learning rate 1e-3 (Adadelta: 1), 100 000 float32 elements,
 * params of magnitude uniform in [0.5, 2) and random sign, gradients
 * uniform in [-s/2, s/2) for s = 1e-3, 1, 10, the error in ulps of the
 * larger of |p| and |p'|.
 */
const FAST: Record<string, readonly [() => GradientTransformation<unknown>, number]> = {
  sgd: [() => O.sgd(1e-3), 0],
  momentum: [() => O.momentum(1e-3), 1],
  nesterov: [() => O.nesterovMomentum(1e-3), 1],
  adagrad: [() => O.adagrad(1e-3), 1],
  rmsprop: [() => O.rmsprop(1e-3), 1],
  adadelta: [() => O.adadelta(), 1],
  adam: [() => O.adam(1e-3), 1],
  adamax: [() => O.adamax(1e-3), 1],
  amsgrad: [() => O.amsgrad(1e-3), 1],
}

/** The float32 ulp at `x` (the spacing of float32 numbers of its binade; 2^-149 below the normal range). */
function ulp32(x: number): number {
  const a = Math.abs(Math.fround(x))
  return a === 0 ? 2 ** -149 : 2 ** Math.max(Math.floor(Math.log2(a)) - 23, -149)
}

describe("precision: 'fast'", () => {
  it.each(Object.keys(FAST))('%s stays within its documented bound of exact', (name) => {
    const [make, bound] = FAST[name]
    const n = 100_000
    let seed = 7
    const uniform = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
      return seed / 4294967296 - 0.5
    }
    let worst = 0
    let differ = 0
    for (const s of [1e-3, 1, 10]) {
      const exact = optimizer(make())
      const fast = optimizer(make(), { precision: 'fast' })
      // magnitudes in [0.5, 2), either sign
      let p: Params = { w: fromStorage(Float32Array.from({ length: n }, () => Math.sign(uniform()) * (1.25 + 1.5 * uniform())), [n]) }
      let state = exact.init(p)
      for (let step = 0; step < 20; step++) {
        const g = { w: fromStorage(Float32Array.from({ length: n }, () => s * uniform()), [n]) }
        const before = toArray((p as { w: Tensor }).w)
        const [pf] = fast.step(p, g, state)
        ;[p, state] = exact.step(p, g, state)
        const a = toArray((p as { w: Tensor }).w)
        const b = toArray((pf as { w: Tensor }).w)
        for (let k = 0; k < n; k++) {
          if (a[k] !== b[k]) differ++
          worst = Math.max(worst, Math.abs(a[k] - b[k]) / ulp32(Math.max(Math.abs(a[k]), Math.abs(before[k]))))
        }
      }
    }
    expect(worst).toBeLessThanOrEqual(bound)
    // the fast lanes did run: something differs, except for plain SGD (one product, rounded once either way)
    if (name !== 'sgd') expect(differ).toBeGreaterThan(0)
  })

  it("keeps NaN winning in max and min, whichever operand it is", () => {
    // max(s, g) and min(g, s): a NaN gradient at step 1 is max's second operand and min's first; the NaN state it
    // leaves is max's first operand and min's second at step 2. Every other value is one exact operation either way.
    const extremes = () =>
      chain(
        elementwise({ name: 'extremes', state: ['s'], scalars: [], scalarsAt: () => ({}), step: ({ g, s }) => ({ update: max(s, g), s: store(min(g, s)) }) }),
        scaleByLearningRate(0.5),
      )
    const n = 203
    const p = { w: fromStorage(Float32Array.from({ length: n }, (_, k) => 1 + k / 7), [n]) }
    const grads = [
      { w: fromStorage(Float32Array.from({ length: n }, (_, k) => (k % 5 === 0 ? NaN : k % 2 === 0 ? 1.5 : -2.5)), [n]) },
      { w: fromStorage(Float32Array.from({ length: n }, (_, k) => (k % 3 === 0 ? -3 : 4)), [n]) },
    ]
    const exact = optimizer(extremes())
    const fast = optimizer(extremes(), { precision: 'fast' })
    let [pe, se] = [p as Params, exact.init(p)]
    let [pf, sf] = [p as Params, fast.init(p)]
    for (const g of grads) {
      // the reference on the JavaScript backend (Math.max and Math.min themselves)
      const previous = setBackend('js')
      try {
        ;[pe, se] = exact.step(pe, g, se)
      } finally {
        setBackend(previous)
      }
      ;[pf, sf] = fast.step(pf, g, sf)
      expectSameBits(pf, pe)
      expectSameBits(sf, se)
    }
    // the gradient's NaNs (every fifth element) reached the params through max, and the state through min
    expect(toArray((pe as { w: Tensor }).w).filter(Number.isNaN).length).toBe(41)
  })

  it("keeps Math.max's and Math.min's signed zeros under 'exact' (float32 lanes too), and equal numbers under 'fast'", () => {
    // update max(g, s), state min(s, g), from s = +0 and g = -0: Math.max gives +0, Math.min -0 (the pseudo-extrema
    // would keep their first operand)
    const extremes = () => elementwise({ name: 'zeros', state: ['s'], scalars: [], scalarsAt: () => ({}), step: ({ g, s }) => ({ update: max(g, s), s: store(min(s, g)) }) })
    const n = 37
    const p = { w: fromStorage(new Float32Array(n), [n]) }
    const g = { w: fromStorage(new Float32Array(n).fill(-0), [n]) }
    const previous = setBackend('js')
    let want: readonly [Params, unknown]
    try {
      const tx = extremes()
      want = tx.update(g, tx.init(p), p)
    } finally {
      setBackend(previous)
    }
    const exact = extremes()
    expectSameBits(exact.update(g, exact.init(p), p), want)
    expect(Object.is(toArray((want[0] as { w: Tensor }).w)[0], 0)).toBe(true)
    expect(Object.is(toArray((want[1] as { s: { w: Tensor } }).s.w)[0], -0)).toBe(true)
    const fast = optimizer(chain(extremes(), scaleByLearningRate(1)), { precision: 'fast' })
    const [pf] = fast.step(p, g, fast.init(p))
    expect(toArray((pf as { w: Tensor }).w).every((x) => x === 0)).toBe(true)
  })

  it("float64 leaves are exact under 'fast'", () => {
    const p = { w: fromStorage(Float64Array.from({ length: 1001 }, (_, k) => Math.cos(k)), [1001]) }
    const g = { w: fromStorage(Float64Array.from({ length: 1001 }, (_, k) => Math.sin(k)), [1001]) }
    const exact = optimizer(O.adam(0.1))
    const fast = optimizer(O.adam(0.1), { precision: 'fast' })
    expectSameBits(fast.step(p, g, fast.init(p)), exact.step(p, g, exact.init(p)))
  })

  it("is never the default, and an unknown precision is a ConfigError naming options.precision", () => {
    expect(() => optimizer(O.adam(0.1), { precision: 'quick' as never })).toThrow(/options\.precision/)
  })
})

describe('batches (many small leaves, packed into the staging regions)', () => {
  /** The batch of `sizes`: inputs `x` (each leaf its own array, or runs of one shared array), outputs carved from one chunk. */
  const arbBatch = fc
    .record({
      sizes: fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 60 }),
      shared: fc.boolean(),
      chunk: fc.integer({ min: 40, max: 160 }),
    })
    .map(({ sizes, shared, chunk }) => {
      const total = sizes.reduce((a, b) => a + b, 0)
      const whole = Float64Array.from({ length: total + 3 }, (_, k) => k * 0.5 - 7)
      const b = newBatch(2)
      const out = new Float64Array(total + 5)
      let at = 0
      for (const n of sizes) {
        addLeaf(b, n)
        // the input: from one array at consecutive offsets (runs), or a copy of its own
        if (shared) addArray(b, 0, whole, at + 3)
        else addArray(b, 0, whole.slice(at + 3, at + 3 + n), 0)
        addArray(b, 1, out, at + 5)
        at += n
      }
      return { b, whole, out, total, chunk }
    })

  it('a released batch keeps no array of its caller, and comes back running only the leaves added since', () => {
    const first = takeBatch(2)
    const ones = new Float64Array(100).fill(1)
    const untouched = new Float64Array(100)
    for (let l = 0; l < 5; l++) {
      addLeaf(first, 20)
      addArray(first, 0, ones, 20 * l)
      addArray(first, 1, untouched, 20 * l)
    }
    releaseBatch(first)
    expect([first.total, ...first.runs]).toEqual([0, 0, 0])
    expect(first.arrays.every((column) => column.every((a) => a.length === 0))).toBe(true)
    const again = takeBatch(2)
    expect(again).toBe(first)
    const x = Float64Array.from([1, 2, 3])
    const y = new Float64Array(3)
    addLeaf(again, 3)
    addArray(again, 0, x, 0)
    addArray(again, 1, y, 0)
    const regions = [new Float64Array(8), new Float64Array(8)]
    runPacked(again, 1, 8, regions, (len) => {
      for (let k = 0; k < len; k++) regions[1][k] = 2 * regions[0][k] + 1
    })
    expect(Array.from(y)).toEqual([3, 5, 7])
    // the five leaves of the earlier filling, still in its lists past the count, are not run
    expect(untouched.every((v) => v === 0)).toBe(true)
    releaseBatch(again)
  })

  it('runPacked computes every leaf once, in full chunks but the last, whatever the runs and however long a leaf', () => {
    fc.assert(
      fc.property(arbBatch, ({ b, whole, out, total, chunk }) => {
        const regions = [new Float64Array(chunk), new Float64Array(chunk)]
        const calls: number[] = []
        // the kernel: out = 2x + 1 over the packed elements
        runPacked(b, 1, chunk, regions, (len) => {
          calls.push(len)
          for (let k = 0; k < len; k++) regions[1][k] = 2 * regions[0][k] + 1
        })
        // every filling of the staging regions is full but the last (a leaf that does not fit is split)
        expect(calls.slice(0, -1).every((len) => len === chunk)).toBe(true)
        expect(calls.every((len) => len > 0 && len <= chunk)).toBe(true)
        expect(calls.reduce((a, c) => a + c, 0)).toBe(total)
        expect(Array.from(out.subarray(5, 5 + total))).toEqual(Array.from(whole.subarray(3, 3 + total), (x) => 2 * x + 1))
        // nothing outside the leaves is written
        expect(Array.from(out.subarray(0, 5))).toEqual([0, 0, 0, 0, 0])
      }),
      { numRuns: 200 },
    )
  })

  it.each(['js', 'wasm'] as const)('on %s, a pass’s small outputs are views one after another in shared chunks, with the values of a step on copies', (backend) => {
    if (backend === 'wasm' && !wasmSupported()) return
    setBackend(backend)
    const n = 64
    const wave = (phase: number, i: number): Tensor => fromStorage(Float32Array.from({ length: n }, (_, k) => Math.sin(k * 0.3 + phase + i)), [n])
    const params = Array.from({ length: 600 }, (_, i) => wave(0, i))
    const grads = Array.from({ length: 600 }, (_, i) => wave(2, i))
    const opt = optimizer(O.adam(0.01))
    const [p1, s1] = opt.step(params, grads, opt.init(params))
    const out = p1 as Tensor[]
    // 600 × 64 elements fill more than two chunks of 16384: every output a view of a chunk longer than itself
    expect(new Set(out.map((t) => t.data)).size).toBeGreaterThan(2)
    for (let i = 0; i < out.length; i++) {
      const t = out[i]
      expect(t.data.length).toBeGreaterThan(n)
      expect([t.shape, t.stride]).toEqual([[n], [1]])
      // neighbours of one chunk lie one after another; the next chunk starts at 0
      if (i > 0) expect(t.offset).toBe(t.data === out[i - 1].data ? out[i - 1].offset + n : 0)
    }
    // the same shape and stride arrays for every output: frozen
    expect(new Set(out.map((t) => t.shape)).size).toBe(1)
    expect(Object.isFrozen(out[0].shape) && Object.isFrozen(out[0].stride)).toBe(true)
    // the values are those of a step on copies, and the next step reads the views at their offsets
    const [q1, r1] = opt.step(params.map((t) => copy(t)), grads.map((t) => copy(t)), opt.init(params))
    expectSameBits(p1, q1)
    expectSameBits(opt.step(p1, grads, s1), opt.step((q1 as Tensor[]).map((t) => copy(t)), grads, r1))
  })

  it('a batch whose outputs lie in a resident memory gives the bits of the JavaScript backend, whatever its runs', async () => {
    if (!wasmSupported()) return
    const { STAGING_BYTES, residentStorage } = await import('../src/kernel/resident.js')
    // y = store(x·s + store(z / (|x| + 1))): two inputs, one output
    const prog = program('mixed runs', 2, 1, ([x, z], [s]) => [store(add(mul(x, s), store(div(z, add(abs(x), 1)))))])
    // two blocks of one memory per dtype, for every run of the property, each room for two staging regions' worth of
    // float32 elements and more
    const room = STAGING_BYTES / 2 + 8192
    const chunks = Object.fromEntries(
      (['float32', 'float64'] as const).map((dtype) => {
        const out = residentStorage(dtype, room, false, undefined, 2)
        const other = residentStorage(dtype, room, false, out)
        expect(out).toBeDefined()
        expect(residentOf(other!)).toBe(residentOf(out!))
        return [dtype, [out!, other!]]
      }),
    ) as Record<Dtype, [FloatArray, FloatArray]>
    fc.assert(
      fc.property(
        fc.record({
          dtype: fc.constantFrom<Dtype>('float32', 'float64'),
          // each leaf: its size, and where its inputs are: in the output's resident chunk, in another chunk of that
          // memory, or in an array of their own (staged); and whether its output goes on from the last leaf's
          leaves: fc.array(fc.record({ n: fc.integer({ min: 1, max: 40 }), x: fc.integer({ min: 0, max: 2 }), z: fc.integer({ min: 0, max: 2 }), gap: fc.boolean() }), { minLength: 1, maxLength: 80 }),
          // sometimes a first leaf longer than a staging region (STAGING_BYTES of either dtype): the segments then
          // end inside runs, and the next segment goes on in the middle of one
          lead: fc.option(fc.record({ n: fc.integer({ min: STAGING_BYTES / 8 - 2000, max: STAGING_BYTES / 2 }), x: fc.integer({ min: 0, max: 2 }), z: fc.integer({ min: 0, max: 2 }), gap: fc.constant(false) }), { freq: 3 }),
        }),
        ({ dtype, leaves: small, lead }) => {
          const leaves = lead === null ? small : [lead, ...small]
          setBackend('wasm')
          const [out, other] = chunks[dtype]
          const fill = (a: FloatArray, phase: number) => a.forEach((_, k) => (a[k] = Math.sin(k * 0.37 + phase)))
          fill(out, 1)
          fill(other, 2)
          const b = newBatch(3)
          const reference: [FloatArray, FloatArray, FloatArray, number][] = []
          let at = 0
          for (const { n, x, z, gap } of leaves) {
            at += gap ? 3 : 0
            const input = (where: number, phase: number): [FloatArray, number] =>
              where === 0 ? [out, at] : where === 1 ? [other, at + 7] : [Float64Array.from({ length: n }, (_, k) => Math.cos(k + phase)) as FloatArray, 0]
            const xs = input(x, 3)
            const zs = input(z, 4)
            const own = (a: [FloatArray, number]) => (a[0] === out || a[0] === other ? a : ([dtype === 'float32' ? Float32Array.from(a[0]) : a[0], 0] as [FloatArray, number]))
            const [xa, xo] = own(xs)
            const [za, zo] = own(zs)
            addLeaf(b, n)
            addArray(b, 0, xa, xo)
            addArray(b, 1, za, zo)
            addArray(b, 2, out, at)
            // the same leaf on copies, for the JavaScript backend
            reference.push([xa.slice(xo, xo + n) as FloatArray, za.slice(zo, zo + n) as FloatArray, new (dtype === 'float32' ? Float32Array : Float64Array)(n), at])
            at += n
          }
          // the expected values first (the batch writes its outputs in place, over inputs that some leaves read)
          setBackend('js')
          for (const [xr, zr, yr] of reference) compiled(prog, dtype).run(xr.length, [yr], [xr, zr], [0.75])
          setBackend('wasm')
          compiled(prog, dtype).batch(b, [0.75])
          for (const [, , yr, from] of reference) expect(Array.from(out.subarray(from, from + yr.length))).toEqual(Array.from(yr))
        },
      ),
      { numRuns: 100 },
    )
  })

  it('hundreds of small leaves of both dtypes, some strided, give the JavaScript backend’s bits (pure and donating)', () => {
    // 700 leaves of 1..48 elements: several staging regions per pass, and runs of the library's own chunked outputs
    const leaves: Tensor[] = []
    const gradients: Tensor[] = []
    for (let i = 0; i < 700; i++) {
      const n = 1 + ((i * 37) % 48)
      const dtype: Dtype = i % 5 === 0 ? 'float64' : 'float32'
      const wave = (phase: number) => {
        const data = dtype === 'float32' ? new Float32Array(n) : new Float64Array(n)
        data.forEach((_, k) => (data[k] = Math.sin(k * 0.7 + phase + i)))
        return fromStorage(data, [n])
      }
      leaves.push(wave(0))
      // every ninth gradient a reversed view: it runs leaf by leaf, beside the batch
      gradients.push(i % 9 === 0 ? wave(1).step(-1) : wave(1))
    }
    for (const name of ['adam', 'rmsprop', 'adam, torch', 'lion']) {
      for (const donate of [false, true]) {
        expectSameBits(trajectory('wasm', OPTIMIZERS[name](), leaves, gradients, 3, donate), trajectory('js', OPTIMIZERS[name](), leaves, gradients, 3, donate))
      }
    }
  })
})

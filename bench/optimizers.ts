/**
 * Cases (a) and (b): optimizer steps, pure, donating and optax-style,
 * against plain in-place hand loops, their memory floors, and TensorFlow.js.
 */
import { type GradientTransformation, type Params, applyUpdates, optimizer } from '../src/core/index.js'
import { setBackend } from '../src/kernel/index.js'
import { streamFloor } from '../src/kernel/wasm.js'
import { adagrad, adam, adamw, amsgrad, lion, rmsprop } from '../src/optimizers/index.js'
import { type Tensor, fromStorage } from '../src/tensor/index.js'
import { CHECK_STEPS, checkSteps, compare, filled, linesOf, valuesOf } from './data.js'
import { adamInPlace, adamInPlaceLeaves } from './hand.js'
import { type Contestant, type Line, type Medians, type Rounds, type Target, interleaved } from './harness.js'
import { type PlainArrays, type PlainOptimizer, STATE_ARRAYS, adamAt, adamFactor, adamInto, plainStep } from './plain.js'
import { tfAdam } from './peers.js'

/** What a case reports. */
export interface CaseResult {
  readonly lines: Line[]
  readonly targets: Target[]
}

/** An optimizer run carried forward step after step: pure, donating, or optax-style (`tx.update`, then `applyUpdates`). */
function ours(tx: GradientTransformation<unknown>, params: Params, grads: Params, mode: 'pure' | 'donate' | 'fast' | 'optax') {
  const opt = optimizer(tx, { donate: mode === 'donate' || mode === 'fast', precision: mode === 'fast' ? 'fast' : 'exact' })
  let p = params
  let s = opt.init(p)
  return {
    step:
      mode === 'optax'
        ? () => {
            const [u, next] = tx.update(grads, s, p)
            p = applyUpdates(p, u)
            s = next
          }
        : () => {
            ;[p, s] = opt.step(p, grads, s)
          },
    params: () => valuesOf(p),
  }
}

/** The library's optimizer for each plain loop, with the same hyperparameters. */
const LIBRARY: Readonly<Record<PlainOptimizer, () => GradientTransformation<unknown>>> = {
  adam: () => adam(),
  adagrad: () => adagrad(1e-3),
  rmsprop: () => rmsprop(1e-3),
  amsgrad: () => amsgrad(),
}

export const FLAVORS = ['torch', 'optax', 'tensorflow'] as const

/** The catalog's optimizers timed beside Adam. */
const CATALOG: readonly (readonly [string, () => GradientTransformation<unknown>])[] = [
  ['ours, adamw', () => adamw({ learningRate: 1e-3, weightDecay: 1e-2 })],
  ['ours, lion', () => lion({ learningRate: 1e-4 })],
]

/** The same optimizers in the other frameworks' numerics (same learning rate). */
const FLAVORED: Readonly<Record<PlainOptimizer, (flavor: (typeof FLAVORS)[number]) => GradientTransformation<unknown>>> = {
  adam: (flavor) => adam({ learningRate: 1e-3, flavor }),
  adagrad: (flavor) => adagrad({ learningRate: 1e-3, flavor }),
  rmsprop: (flavor) => rmsprop({ learningRate: 1e-3, flavor }),
  amsgrad: (flavor) => amsgrad({ learningRate: 1e-3, flavor }),
}

/** `CHECK_STEPS` steps of `tx` on the JavaScript backend: the reference numbers of the WebAssembly ones. */
function onJs(tx: GradientTransformation<unknown>, params: Params, grads: Params): Float32Array[] {
  const previous = setBackend('js')
  try {
    const r = ours(tx, params, grads, 'pure')
    for (let i = 0; i < CHECK_STEPS; i++) r.step()
    return r.params()
  } finally {
    setBackend(previous)
  }
}

/**
 * The JavaScript side of (a) for `name`, on one 4M-element float32 leaf
 * (4K for smoke runs): the plain hand loop, its memory floor, ours pure,
 * donating (exact and fast) and optax-style, and for Adam the rounding hand
 * loop the library is checked against bit for bit; `p0` and `g0` for the
 * peers. Every exact contestant is checked against the JavaScript backend.
 */
function oneLeaf(smoke: boolean, name: PlainOptimizer) {
  const n = smoke ? 1 << 12 : 1 << 22
  const p0 = filled(n, 1)
  const g0 = filled(n, 2)
  const grads = fromStorage(g0, [n])
  const arrays = (): PlainArrays => ({ p: p0.slice(), g: g0, s: Array.from({ length: STATE_ARRAYS[name] }, () => new Float32Array(n)) })
  const plain = arrays()
  // the floor: the same arrays in a WebAssembly memory of their own (fixed size), one f32x4 stream pass
  const floor = streamFloor(2 + STATE_ARRAYS[name], n)
  floor.arrays[0].set(g0)
  const hand = { p: p0.slice(), m: new Float32Array(n), v: new Float32Array(n), t: 0 }
  let t = 0
  const run = (mode: 'pure' | 'donate' | 'fast' | 'optax') => ours(LIBRARY[name](), fromStorage(p0.slice(), [n]), grads, mode)
  const pure = run('pure')
  const donated = run('donate')
  const fast = run('fast')
  const optax = run('optax')
  // beside Adam, the catalog's AdamW and Lion, pure
  const catalog = name === 'adam' ? CATALOG.map(([label, make]) => ({ label, make, run: ours(make(), fromStorage(p0.slice(), [n]), grads, 'pure') })) : []
  const contestants: Contestant[] = [
    ...catalog.map(({ label, run }) => ({ name: label, run: run.step })),
    { name: 'plain', run: () => plainStep(name, plain, ++t) },
    { name: 'floor', run: floor.run },
    ...(name === 'adam' ? [{ name: 'hand', run: () => adamInPlace(hand.p, g0, hand.m, hand.v, ++hand.t) }] : []),
    { name: 'ours', run: pure.step },
    { name: 'ours, donate', run: donated.step },
    { name: 'ours, donate, fast', run: fast.step },
    { name: 'update + apply', run: optax.step },
  ]
  // after CHECK_STEPS steps from the same start
  const checks = () => {
    const reference = name === 'adam' ? [hand.p] : onJs(LIBRARY[name](), fromStorage(p0.slice(), [n]), grads)
    const label = (c: string) => (name === 'adam' ? c : c.replace('to hand', 'to the JavaScript backend'))
    const others = Object.fromEntries(catalog.map(({ label, make, run }) => [label, compare(run.params(), onJs(make(), fromStorage(p0.slice(), [n]), grads)).replace('to hand', 'to the JavaScript backend')]))
    return {
      ...others,
      ours: label(compare(pure.params(), reference)),
      'ours, donate': label(compare(donated.params(), reference)),
      'ours, donate, fast': label(compare(fast.params(), reference)),
      'update + apply': label(compare(optax.params(), reference)),
    }
  }
  return { name: `(a) ${name} step, one ${smoke ? '4K' : '4M'} float32 leaf`, p0, g0, hand: hand.p, contestants, checks }
}

/** The targets of one optimizer of (a), against its own plain hand loop. */
function targetsOf(name: PlainOptimizer, m: Medians): Target[] {
  const catalog = name === 'adam' ? CATALOG.map(([label]) => label) : []
  return [
    ...catalog.map((label): Target => ({ name: `(a) ${label.replace('ours, ', '')}: ours / plain`, ratio: m[label] / m.plain, op: '<=', bound: 1 })),
    { name: `(a) ${name}: ours / plain`, ratio: m.ours / m.plain, op: '<=', bound: 1 },
    { name: `(a) ${name}: ours, donate / plain`, ratio: m['ours, donate'] / m.plain, op: '<=', bound: 0.6 },
    { name: `(a) ${name}: ours, donate, fast / plain`, ratio: m['ours, donate, fast'] / m.plain, op: '<=', bound: 0.25 },
    { name: `(a) ${name}: update + apply / ours`, ratio: m['update + apply'] / m.ours, op: '<=', bound: 2 },
  ]
}

/** (a) one 4M-element float32 leaf: Adam, Adagrad, RMSprop and AMSGrad against their plain hand loops and memory floors. */
export async function oneLeafOptimizers(smoke: boolean, rounds: Rounds): Promise<CaseResult> {
  const lines: Line[] = []
  const targets: Target[] = []
  for (const name of ['adam', 'adagrad', 'rmsprop', 'amsgrad'] as const) {
    const a = oneLeaf(smoke, name)
    await checkSteps(a.contestants)
    const checks = a.checks()
    const m = await interleaved(a.contestants, rounds)
    lines.push(...linesOf(a.name, m, checks, 'plain'))
    targets.push(...targetsOf(name, m))
  }
  return { lines, targets }
}

/**
 * (a) each optimizer's pure step in one framework's numerics beside its
 * Lasagne form, the two alone in a process (one per flavor): their outputs
 * compete for nothing else's memory, as in a training process that runs
 * one optimizer.
 */
export function flavoredOneLeaf(flavor: (typeof FLAVORS)[number]): (smoke: boolean, rounds: Rounds) => Promise<CaseResult> {
  return async (smoke, rounds) => {
    const lines: Line[] = []
    const targets: Target[] = []
    const n = smoke ? 1 << 12 : 1 << 22
    const p0 = filled(n, 1)
    const grads = fromStorage(filled(n, 2), [n])
    for (const name of ['adam', 'adagrad', 'rmsprop', 'amsgrad'] as const) {
      const lasagne = ours(LIBRARY[name](), fromStorage(p0.slice(), [n]), grads, 'pure')
      const flavored = ours(FLAVORED[name](flavor), fromStorage(p0.slice(), [n]), grads, 'pure')
      const label = `ours, ${flavor}`
      const contestants = await checkSteps([
        { name: 'ours', run: lasagne.step },
        { name: label, run: flavored.step },
      ])
      const reference = (tx: GradientTransformation<unknown>) => onJs(tx, fromStorage(p0.slice(), [n]), grads)
      const checks = {
        ours: compare(lasagne.params(), reference(LIBRARY[name]())).replace('to hand', 'to the JavaScript backend'),
        [label]: compare(flavored.params(), reference(FLAVORED[name](flavor))).replace('to hand', 'to the JavaScript backend'),
      }
      const m = await interleaved(contestants, rounds)
      lines.push(...linesOf(`(a) ${name} step, one ${smoke ? '4K' : '4M'} float32 leaf, ${flavor} beside Lasagne`, m, checks, 'ours'))
      targets.push({ name: `(a) ${name}: ours, ${flavor} / ours (Lasagne)`, ratio: m[label] / m.ours, op: '<=', bound: 1.1 })
    }
    return { lines, targets }
  }
}

/**
 * (a) Adam against TensorFlow.js (wasm and cpu backends), with the plain
 * loop and ours measured again beside them: loading tfjs slows every
 * JavaScript loop of the process (see `peers.ts`), so this runs last.
 */
export async function adamPeers(smoke: boolean, rounds: Rounds): Promise<CaseResult> {
  const a = oneLeaf(smoke, 'adam')
  const wasm = await tfAdam('wasm', a.p0, a.g0)
  const cpu = await tfAdam('cpu', a.p0, a.g0)
  const contestants = await checkSteps([
    ...a.contestants.filter((c) => ['plain', 'hand', 'ours', 'ours, donate'].includes(c.name)),
    { name: 'tfjs-wasm', before: wasm.activate, run: wasm.step },
    { name: 'tfjs-cpu', before: cpu.activate, run: cpu.step, every: smoke ? 1 : 3 },
  ])
  const all = a.checks()
  const checks = { ours: all.ours, 'ours, donate': all['ours, donate'], 'tfjs-wasm': compare([wasm.params()], [a.hand]), 'tfjs-cpu': compare([cpu.params()], [a.hand]) }
  const m = await interleaved(contestants, rounds)
  return {
    lines: linesOf(`${a.name}, tfjs loaded`, m, checks, 'plain'),
    targets: [
      { name: '(a) tfjs-wasm / ours', ratio: m['tfjs-wasm'] / m.ours, op: '>=', bound: 1.3 },
      { name: '(a) tfjs-wasm / ours, donate', ratio: m['tfjs-wasm'] / m['ours, donate'], op: '>=', bound: 2 },
    ],
  }
}

/** Elements per storage chunk of the pure plain step: the library's own arena chunks (64 KiB of float32). */
const PLAIN_CHUNK = 16384

/**
 * The plain Adam loop over many leaves, returning new tensors as the
 * library's steps do: `fresh`, a pure step (new storage for every output,
 * carved from shared chunks, each output a view into its chunk at an
 * offset, as the library's small outputs are; the inputs untouched); else
 * in place, with a new tensor over each leaf's storage (what a donating
 * step hands back). What a step that returns tensors costs beyond the
 * in-place loop, with no walk, check or rounding: the floor of case (b)
 * for the pure and the donating step.
 */
function plainLeaves(p0: readonly Float32Array[], g0: readonly Float32Array[], fresh: boolean): { readonly run: () => void; readonly params: () => Float32Array[] } {
  const size = p0[0].length
  const shape = [size]
  let p = p0.map((x) => fromStorage(x.slice(), shape))
  let m = p0.map(() => fromStorage(new Float32Array(size), shape))
  let v = p0.map(() => fromStorage(new Float32Array(size), shape))
  let t = 0
  const run = (): void => {
    const a = adamFactor(++t)
    const np = new Array<Tensor>(p.length)
    const nm = new Array<Tensor>(p.length)
    const nv = new Array<Tensor>(p.length)
    let cp = new Float32Array(0)
    let cm = cp
    let cv = cp
    let used = PLAIN_CHUNK
    for (let l = 0; l < p.length; l++) {
      // p, m and v of a leaf lie at one offset (of their own arrays, or of three chunks carved in step)
      const pl = p[l].data as Float32Array
      const from = p[l].offset
      if (!fresh) {
        adamAt(size, pl, m[l].data as Float32Array, v[l].data as Float32Array, from, g0[l], a, pl, m[l].data as Float32Array, v[l].data as Float32Array, from)
        np[l] = fromStorage(pl, shape, from)
        nm[l] = fromStorage(m[l].data, shape, from)
        nv[l] = fromStorage(v[l].data, shape, from)
        continue
      }
      if (used + size > PLAIN_CHUNK) {
        cp = new Float32Array(PLAIN_CHUNK)
        cm = new Float32Array(PLAIN_CHUNK)
        cv = new Float32Array(PLAIN_CHUNK)
        used = 0
      }
      adamAt(size, pl, m[l].data as Float32Array, v[l].data as Float32Array, from, g0[l], a, cp, cm, cv, used)
      np[l] = fromStorage(cp, shape, used)
      nm[l] = fromStorage(cm, shape, used)
      nv[l] = fromStorage(cv, shape, used)
      used += size
    }
    ;[p, m, v] = [np, nm, nv]
  }
  return { run, params: () => p.map((x) => x.data.slice(x.offset, x.offset + size) as Float32Array) }
}

/** The leaves of case (b): 2000 (smoke: 20) of 64 float32 elements, the params' start and the gradients. */
function manyLeaves(smoke: boolean) {
  const count = smoke ? 20 : 2000
  const size = 64
  const p0 = Array.from({ length: count }, (_, i) => filled(size, 3 + i))
  const g0 = Array.from({ length: count }, (_, i) => filled(size, 5000 + i))
  return { name: `(b) adam step, ${count} leaves of ${size}`, size, p0, g0 }
}

/**
 * The plain in-place loop over the leaves of (b), the reference of its
 * ratios, and its params: the step size computed once per step, as a user
 * writes it, then each leaf updated in place.
 */
function plainOverLeaves(p0: readonly Float32Array[], g0: readonly Float32Array[]): Contestant & { readonly params: () => Float32Array[] } {
  const p = p0.map((x) => x.slice())
  const m = p0.map((x) => new Float32Array(x.length))
  const v = p0.map((x) => new Float32Array(x.length))
  let t = 0
  return {
    name: 'plain',
    run: () => {
      const a = adamFactor(++t)
      for (let l = 0; l < p.length; l++) adamInto(p[l], g0[l], m[l], v[l], a, p[l], m[l], v[l])
    },
    params: () => p,
  }
}

/**
 * The modes of ours in case (b), each timed in a process of its own:
 * `layers` is the pure step over the same leaves as a model's tree, one
 * `{ W: 8×8, b: 64 }` object per pair of leaves (the walker's objects and
 * rank-2 leaves; no target).
 */
export type ManyLeavesMode = 'pure' | 'donate' | 'optax' | 'layers'

/**
 * (b) 2000 leaves of 64 float32 elements each, one mode of ours against
 * the plain hand loop over the same leaves (and the rounding one, for the
 * bit check). Each mode runs in a process of its own: in one process, the
 * garbage and heap history of one mode slowed the next (the donating step
 * measured up to twice its own time after the pure one). The optax-style
 * mode runs beside the pure step, which its target compares it with.
 */
export function adamManyLeaves(mode: ManyLeavesMode): (smoke: boolean, rounds: Rounds) => Promise<CaseResult> {
  return async (smoke, rounds) => {
    const { name, size, p0, g0 } = manyLeaves(smoke)
    // the leaves as a list, or as layers (in their canonical order: W, then b, layer by layer)
    const tree = (arrays: readonly Float32Array[]): Params =>
      mode !== 'layers'
        ? arrays.map((a) => fromStorage(a, [size]))
        : { layers: Array.from({ length: arrays.length / 2 }, (_, i) => ({ W: fromStorage(arrays[2 * i], [8, size / 8]), b: fromStorage(arrays[2 * i + 1], [size]) })) }
    const grads = tree(g0)
    const hand = { p: p0.map((p) => p.slice()), m: p0.map(() => new Float32Array(size)), v: p0.map(() => new Float32Array(size)), t: 0 }
    const run = (m: ManyLeavesMode) => ours(adam(), tree(p0.map((p) => p.slice())), grads, m === 'layers' ? 'pure' : m)
    const label = { pure: 'ours', donate: 'ours, donate', optax: 'update + apply', layers: 'ours, layers' }[mode]
    const mine = run(mode)
    const pure = mode === 'optax' ? run('pure') : undefined
    const contestants = await checkSteps([
      plainOverLeaves(p0, g0),
      { name: 'hand', run: () => adamInPlaceLeaves(hand.p, g0, hand.m, hand.v, ++hand.t) },
      ...(pure === undefined ? [] : [{ name: 'ours', run: pure.step }]),
      { name: label, run: mine.step },
    ])
    const checks = { [label]: compare(mine.params(), hand.p), ...(pure === undefined ? {} : { ours: compare(pure.params(), hand.p) }) }
    const m = await interleaved(contestants, rounds)
    const lines = linesOf(mode === 'pure' ? name : mode === 'layers' ? `${name}, as ${p0.length / 2} layers { W: 8×8, b: 64 }` : `${name}, ${label}`, m, checks, 'plain')
    if (mode === 'layers') return { lines, targets: [] }
    const target: Target =
      mode === 'pure'
        ? { name: '(b) ours / plain', ratio: m.ours / m.plain, op: '<=', bound: 1.5 }
        : mode === 'donate'
          ? { name: '(b) ours, donate / plain', ratio: m['ours, donate'] / m.plain, op: '<=', bound: 1.2 }
          : { name: '(b) update + apply / ours', ratio: m['update + apply'] / m.ours, op: '<=', bound: 2 }
    return { lines, targets: [target] }
  }
}

/**
 * The floors of (b), in a process of their own (their garbage would land in
 * ours' collections): the plain loop returning a new view over each leaf's
 * own storage (what a donating step hands back), then returning new tensors
 * over fresh storage (what a pure step must), each interleaved with the
 * plain in-place loop. Then ours, pure and donating, over the same elements
 * as one leaf, beside the plain loop over the leaves and the rounding one
 * (for the bit check): the same kernel with no per-leaf work, so that the
 * lines of (b) read as this plus what thousands of leaves cost.
 */
export async function manyLeavesFloors(smoke: boolean, rounds: Rounds): Promise<CaseResult> {
  const { name, size, p0, g0 } = manyLeaves(smoke)
  const lines: Line[] = []
  const whole = (arrays: readonly Float32Array[]): Float32Array => {
    const out = new Float32Array(arrays.length * size)
    arrays.forEach((a, i) => out.set(a, i * size))
    return out
  }
  for (const mode of ['pure', 'donate'] as const) {
    const label = mode === 'pure' ? 'ours, one leaf' : 'ours, donate, one leaf'
    const hand = { p: p0.map((p) => p.slice()), m: p0.map(() => new Float32Array(size)), v: p0.map(() => new Float32Array(size)), t: 0 }
    const one = ours(adam(), [fromStorage(whole(p0), [p0.length * size])], [fromStorage(whole(g0), [g0.length * size])], mode)
    const contestants = await checkSteps([
      plainOverLeaves(p0, g0),
      { name: 'hand', run: () => adamInPlaceLeaves(hand.p, g0, hand.m, hand.v, ++hand.t) },
      { name: label, run: one.step },
    ])
    const checks = { [label]: compare(one.params(), [whole(hand.p)]) }
    const m = await interleaved(contestants, rounds)
    lines.push(...linesOf(`${name}, as one leaf of ${p0.length * size}${mode === 'donate' ? ', donating' : ''}`, m, checks, 'plain'))
  }
  for (const fresh of [false, true]) {
    const label = fresh ? 'plain, new tensors' : 'plain, new views'
    const plain = plainOverLeaves(p0, g0)
    const floor = plainLeaves(p0, g0, fresh)
    const contestants = await checkSteps([plain, { name: label, run: floor.run }])
    const checks = { [label]: compare(floor.params(), plain.params()).replace('to hand', 'to plain') }
    const m = await interleaved(contestants, rounds)
    lines.push(...linesOf(`${name}, floor of ${fresh ? 'the pure step' : 'the donating step'}`, m, checks, 'plain'))
  }
  return { lines, targets: [] }
}

/**
 * The JavaScript backend, where WebAssembly SIMD is missing (an old
 * engine, or a content security policy without `wasm-unsafe-eval`), in a
 * process of its own: Adam, pure and donating, on one 4M-element float32
 * leaf and on 2000 leaves of 64, each beside the plain loop and the
 * rounding hand loop its numbers are checked against. No targets: the
 * numbers are those of the WebAssembly backend, the speed is what a page
 * without WebAssembly gets.
 */
export async function javascriptBackend(smoke: boolean, rounds: Rounds): Promise<CaseResult> {
  setBackend('js')
  const lines: Line[] = []
  // (a)'s leaf: fewer rounds, a step takes about a tenth of a second
  {
    const n = smoke ? 1 << 12 : 1 << 22
    const p0 = filled(n, 1)
    const g0 = filled(n, 2)
    const plain: PlainArrays = { p: p0.slice(), g: g0, s: [new Float32Array(n), new Float32Array(n)] }
    const hand = { p: p0.slice(), m: new Float32Array(n), v: new Float32Array(n), t: 0 }
    let t = 0
    const pure = ours(adam(), fromStorage(p0.slice(), [n]), fromStorage(g0, [n]), 'pure')
    const donated = ours(adam(), fromStorage(p0.slice(), [n]), fromStorage(g0, [n]), 'donate')
    const contestants = await checkSteps([
      { name: 'plain', run: () => plainStep('adam', plain, ++t) },
      { name: 'hand', run: () => adamInPlace(hand.p, g0, hand.m, hand.v, ++hand.t) },
      { name: 'ours', run: pure.step },
      { name: 'ours, donate', run: donated.step },
    ])
    const checks = { ours: compare(pure.params(), [hand.p]), 'ours, donate': compare(donated.params(), [hand.p]) }
    const m = await interleaved(contestants, smoke ? rounds : { warmup: 2, reps: 9 })
    lines.push(...linesOf(`(a) adam step, one ${smoke ? '4K' : '4M'} float32 leaf, JavaScript backend`, m, checks, 'plain'))
  }
  // (b)'s leaves
  {
    const { name, size, p0, g0 } = manyLeaves(smoke)
    const grads = g0.map((g) => fromStorage(g, [size]))
    const hand = { p: p0.map((p) => p.slice()), m: p0.map(() => new Float32Array(size)), v: p0.map(() => new Float32Array(size)), t: 0 }
    const pure = ours(adam(), p0.map((p) => fromStorage(p.slice(), [size])), grads, 'pure')
    const donated = ours(adam(), p0.map((p) => fromStorage(p.slice(), [size])), grads, 'donate')
    const contestants = await checkSteps([
      plainOverLeaves(p0, g0),
      { name: 'hand', run: () => adamInPlaceLeaves(hand.p, g0, hand.m, hand.v, ++hand.t) },
      { name: 'ours', run: pure.step },
      { name: 'ours, donate', run: donated.step },
    ])
    const checks = { ours: compare(pure.params(), hand.p), 'ours, donate': compare(donated.params(), hand.p) }
    const m = await interleaved(contestants, rounds)
    lines.push(...linesOf(`${name}, JavaScript backend`, m, checks, 'plain'))
  }
  return { lines, targets: [] }
}

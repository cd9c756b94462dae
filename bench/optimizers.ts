/**
 * Cases (a) and (b): Lasagne's Adam step, pure and with buffer donation,
 * against a fused in-place hand loop and against TensorFlow.js.
 */
import { type Params, optimizer } from '../src/core/index.js'
import { adam } from '../src/optimizers/index.js'
import { fromStorage } from '../src/tensor/index.js'
import { checkSteps, compare, filled, linesOf, valuesOf } from './data.js'
import { adamInPlace, adamInPlaceLeaves } from './hand.js'
import { type Contestant, type Line, type Rounds, type Target, interleaved } from './harness.js'
import { tfAdam } from './peers.js'

/** What a case reports. */
export interface CaseResult {
  readonly lines: Line[]
  readonly targets: Target[]
}

/** An optimizer run carried forward step after step (pure or donating). */
function ourAdam(params: Params, grads: Params, donate: boolean) {
  const opt = optimizer(adam(), { donate })
  let p = params
  let s = opt.init(p)
  return {
    step: () => {
      ;[p, s] = opt.step(p, grads, s)
    },
    params: () => valuesOf(p),
  }
}

/**
 * The JavaScript side of (a), on one 4M-element float32 leaf (4K for smoke
 * runs): the fused in-place hand loop and ours, pure and donating; `p0`
 * and `g0` for the peers; and the checks of ours against the hand loop.
 */
function oneLeaf(smoke: boolean) {
  const n = smoke ? 1 << 12 : 1 << 22
  const p0 = filled(n, 1)
  const g0 = filled(n, 2)
  const grads = fromStorage(g0, [n])
  const hand = { p: p0.slice(), m: new Float32Array(n), v: new Float32Array(n), t: 0 }
  const pure = ourAdam(fromStorage(p0.slice(), [n]), grads, false)
  const donated = ourAdam(fromStorage(p0.slice(), [n]), grads, true)
  const contestants: Contestant[] = [
    { name: 'hand', run: () => adamInPlace(hand.p, g0, hand.m, hand.v, ++hand.t) },
    { name: 'ours', run: pure.step },
    { name: 'ours, donate', run: donated.step },
  ]
  const checks = () => ({ ours: compare(pure.params(), [hand.p]), 'ours, donate': compare(donated.params(), [hand.p]) })
  return { name: `(a) adam step, one ${smoke ? '4K' : '4M'} float32 leaf`, p0, g0, hand: hand.p, contestants, checks }
}

/** (a) one 4M-element float32 leaf: ours (pure and donating) against the fused in-place hand loop. */
export async function adamOneLeaf(smoke: boolean, rounds: Rounds): Promise<CaseResult> {
  const a = oneLeaf(smoke)
  await checkSteps(a.contestants)
  const checks = a.checks()
  const m = await interleaved(a.contestants, rounds)
  return {
    lines: linesOf(a.name, m, checks),
    targets: [
      { name: '(a) ours / hand', ratio: m.ours / m.hand, op: '<=', bound: 1.5 },
      { name: '(a) ours, donate / hand', ratio: m['ours, donate'] / m.hand, op: '<=', bound: 1.1 },
    ],
  }
}

/**
 * (a) the same step against TensorFlow.js (wasm and cpu backends), with the
 * hand loop and ours measured again beside them: loading tfjs slows every
 * JavaScript loop of the process (see `peers.ts`), so this runs last.
 */
export async function adamPeers(smoke: boolean, rounds: Rounds): Promise<CaseResult> {
  const a = oneLeaf(smoke)
  const wasm = await tfAdam('wasm', a.p0, a.g0)
  const cpu = await tfAdam('cpu', a.p0, a.g0)
  const contestants = await checkSteps([
    ...a.contestants,
    { name: 'tfjs-wasm', before: wasm.activate, run: wasm.step },
    { name: 'tfjs-cpu', before: cpu.activate, run: cpu.step, every: smoke ? 1 : 3 },
  ])
  const checks = { ...a.checks(), 'tfjs-wasm': compare([wasm.params()], [a.hand]), 'tfjs-cpu': compare([cpu.params()], [a.hand]) }
  const m = await interleaved(contestants, rounds)
  return {
    lines: linesOf(`${a.name}, tfjs loaded`, m, checks),
    targets: [
      { name: '(a) tfjs-wasm / ours (aim 2)', ratio: m['tfjs-wasm'] / m.ours, op: '>=', bound: 1 },
      { name: '(a) tfjs-wasm / ours, donate', ratio: m['tfjs-wasm'] / m['ours, donate'], op: '>=', bound: 1 },
    ],
  }
}

/**
 * (b) 2000 leaves of 64 float32 elements each. Donation runs in an
 * interleaving of its own (against the hand loop again): its bookkeeping
 * garbage would otherwise land in the pure step's garbage collections.
 */
export async function adamManyLeaves(smoke: boolean, rounds: Rounds): Promise<CaseResult> {
  const count = smoke ? 20 : 2000
  const size = 64
  const name = `(b) adam step, ${count} leaves of ${size}`
  const p0 = Array.from({ length: count }, (_, i) => filled(size, 3 + i))
  const g0 = Array.from({ length: count }, (_, i) => filled(size, 5000 + i))
  const grads = g0.map((g) => fromStorage(g, [size]))
  const run = async (donate: boolean) => {
    const hand = { p: p0.map((p) => p.slice()), m: p0.map(() => new Float32Array(size)), v: p0.map(() => new Float32Array(size)), t: 0 }
    const ours = ourAdam(
      p0.map((p) => fromStorage(p.slice(), [size])),
      grads,
      donate,
    )
    const label = donate ? 'ours, donate' : 'ours'
    const contestants = await checkSteps([
      { name: 'hand', run: () => adamInPlaceLeaves(hand.p, g0, hand.m, hand.v, ++hand.t) },
      { name: label, run: ours.step },
    ])
    const checks = { [label]: compare(ours.params(), hand.p) }
    const m = await interleaved(contestants, rounds)
    return { m, lines: linesOf(donate ? `${name}, donating` : name, m, checks) }
  }
  const pure = await run(false)
  const donating = await run(true)
  return {
    lines: [...pure.lines, ...donating.lines],
    targets: [{ name: '(b) ours / hand', ratio: pure.m.ours / pure.m.hand, op: '<=', bound: 3 }],
  }
}

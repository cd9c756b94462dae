/**
 * Cases (c), (d) and (e): the norm constraints alone, and a whole training
 * step that clips by total norm, takes an Adam step and projects the weights
 * with `normConstraint`.
 */
import { type Params, chain, optimizer } from '../src/core/index.js'
import { normConstraint, totalNormConstraint } from '../src/constraints/index.js'
import { adam } from '../src/optimizers/index.js'
import { type Tensor, fromStorage } from '../src/tensor/index.js'
import { clipByTotalNorm, constrainParams } from '../src/transforms/index.js'
import { leaves } from '../src/tree/index.js'
import { checkSteps, compare, convNetShapes, filled, linesOf, treeOf, valuesOf } from './data.js'
import * as hand from './hand.js'
import { type Contestant, type Rounds, interleaved } from './harness.js'
import { type CaseResult } from './optimizers.js'

const MAX_NORM = 1

/** One `normConstraint` case: ours (a new tensor) against the hand loop writing a new array and in place. */
async function normCase(name: string, x0: Float32Array, shape: number[], handLoop: (x: Float32Array, out: Float32Array) => Float32Array, rounds: Rounds) {
  const x = fromStorage(x0, shape)
  const inPlace = x0.slice()
  const contestants: Contestant[] = [
    { name: 'hand', run: () => handLoop(x0, new Float32Array(x0.length)) },
    { name: 'hand, in place', run: () => handLoop(inPlace, inPlace) },
    { name: 'ours', run: () => normConstraint(x, MAX_NORM) },
  ]
  const checks = { ours: compare(valuesOf(normConstraint(x, MAX_NORM)), [handLoop(x0, new Float32Array(x0.length))]) }
  const m = await interleaved(contestants, rounds)
  return { lines: linesOf(name, m, checks), ratio: m.ours / m.hand }
}

/** (c) `normConstraint` over axis 0 of a 2048×2048 matrix and over the default axes of a 256×128×3×3 conv kernel. */
export async function normConstraints(smoke: boolean, rounds: Rounds): Promise<CaseResult> {
  const side = smoke ? 64 : 2048
  const [co, ci] = smoke ? [8, 4] : [256, 128]
  const dense = await normCase(
    `(c) normConstraint, ${side}×${side} float32, axis 0`,
    filled(side * side, 11, 0.2),
    [side, side],
    (x, out) => hand.normConstraintColumns(x, side, side, MAX_NORM, out),
    rounds,
  )
  const conv = await normCase(
    `(c) normConstraint, ${co}×${ci}×3×3 float32, default axes`,
    filled(co * ci * 9, 12, 0.2),
    [co, ci, 3, 3],
    (x, out) => hand.normConstraintRows(x, co, ci * 9, MAX_NORM, out),
    rounds,
  )
  return {
    lines: [...dense.lines, ...conv.lines],
    targets: [
      { name: '(c) ours / hand, axis 0 of a matrix', ratio: dense.ratio, op: '<=', bound: 1.5 },
      { name: '(c) ours / hand, conv kernel', ratio: conv.ratio, op: '<=', bound: 1.5 },
    ],
  }
}

/** (d) `totalNormConstraint` over the leaves of a conv net's gradients. */
export async function totalNorm(smoke: boolean, rounds: Rounds): Promise<CaseResult> {
  const shapes = convNetShapes(smoke)
  const grads = treeOf(shapes, (k, n) => filled(n, k.length * 31 + n, 0.1))
  const ts: Tensor[] = leaves(grads)
  const xs = ts.map((t) => t.data as Float32Array)
  const total = xs.reduce((a, x) => a + x.length, 0)
  const name = `(d) totalNormConstraint, conv net (${ts.length} leaves, ${(total / 1e6).toFixed(2)}M float32)`
  const inPlace = xs.map((x) => x.slice())
  const contestants: Contestant[] = [
    { name: 'hand', run: () => hand.totalNormConstraint(xs, MAX_NORM, xs.map((x) => new Float32Array(x.length))) },
    { name: 'hand, in place', run: () => hand.totalNormConstraint(inPlace, MAX_NORM, inPlace) },
    { name: 'ours', run: () => totalNormConstraint(ts, MAX_NORM) },
  ]
  const checks = { ours: compare(totalNormConstraint(ts, MAX_NORM).flatMap((t) => valuesOf(t)), hand.totalNormConstraint(xs, MAX_NORM, xs.map((x) => new Float32Array(x.length)))) }
  const m = await interleaved(contestants, rounds)
  return { lines: linesOf(name, m, checks), targets: [{ name: '(d) ours / hand', ratio: m.ours / m.hand, op: '<=', bound: 1.5 }] }
}

/**
 * The hand-written training step of (e), in place: Lasagne's total-norm
 * clipping fused into the Adam loop, then `norm_constraint` on every weight
 * (2-D and 4-D) leaf.
 */
function handChainStep(shapes: Record<string, readonly number[]>, p: Float32Array[], g: Float32Array[], m: Float32Array[], v: Float32Array[], t: number): void {
  const pre = hand.totalNormMultiplier(g, MAX_NORM)
  hand.adamInPlaceLeaves(p, g, m, v, t, hand.ADAM, pre)
  Object.values(shapes).forEach((shape, i) => {
    if (shape.length === 2) hand.normConstraintColumns(p[i], shape[0], shape[1], MAX_NORM * 3, p[i])
    else if (shape.length === 4) hand.normConstraintRows(p[i], shape[0], p[i].length / shape[0], MAX_NORM * 3, p[i])
  })
}

/** (e) clipByTotalNorm, then adam, then constrainParams with normConstraint, as one optimizer step. */
export async function fullChain(smoke: boolean, rounds: Rounds): Promise<CaseResult> {
  const shapes = convNetShapes(smoke)
  const p0 = Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, filled(s.reduce((a, b) => a * b, 1), k.length * 7, 0.5)]))
  const g0 = Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, filled(s.reduce((a, b) => a * b, 1), k.length * 13, 0.1)]))
  const grads = treeOf(shapes, (k) => g0[k])
  const tx = () =>
    chain(
      clipByTotalNorm(MAX_NORM),
      adam(),
      constrainParams((ps) => ps.map((q) => (q.shape.length >= 2 ? normConstraint(q, MAX_NORM * 3) : q))),
    )
  const ours = (donate: boolean) => {
    const opt = optimizer(tx(), { donate })
    let params: Params = treeOf(shapes, (k) => p0[k].slice())
    let state = opt.init(params)
    return {
      step: () => {
        ;[params, state] = opt.step(params, grads, state)
      },
      params: () => valuesOf(params),
    }
  }
  const pure = ours(false)
  const donated = ours(true)
  const keys = Object.keys(shapes)
  const h = { p: keys.map((k) => p0[k].slice()), g: keys.map((k) => g0[k]), m: keys.map((k) => new Float32Array(p0[k].length)), v: keys.map((k) => new Float32Array(p0[k].length)), t: 0 }
  const contestants: Contestant[] = [
    { name: 'hand', run: () => handChainStep(shapes, h.p, h.g, h.m, h.v, ++h.t) },
    { name: 'ours', run: pure.step },
    { name: 'ours, donate', run: donated.step },
  ]
  await checkSteps(contestants)
  const checks = { ours: compare(pure.params(), h.p), 'ours, donate': compare(donated.params(), h.p) }
  const total = Object.values(p0).reduce((a, x) => a + x.length, 0)
  const m = await interleaved(contestants, rounds)
  return {
    lines: linesOf(`(e) clip, adam, normConstraint step, conv net (${(total / 1e6).toFixed(2)}M float32)`, m, checks),
    targets: [],
  }
}

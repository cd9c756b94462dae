/**
 * Inputs and checks shared by the bench cases: deterministic float32 data,
 * tree shapes, and the comparison of a contestant's numbers with the hand
 * loop's.
 */
import { type Params } from '../src/core/index.js'
import { type Tensor, fromStorage, toArray } from '../src/tensor/index.js'
import { leaves } from '../src/tree/index.js'
import { type Contestant, type Line, type Medians } from './harness.js'

/** `n` float32 values in [-scale/2, scale/2), from a linear congruential generator seeded by `seed`. */
export function filled(n: number, seed: number, scale = 1): Float32Array {
  const a = new Float32Array(n)
  let s = seed >>> 0
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0
    a[i] = (s / 4294967296 - 0.5) * scale
  }
  return a
}

/** The values of every leaf of a tree as float32 arrays, in leaf order. */
export function valuesOf(tree: Params): Float32Array[] {
  return leaves(tree).map((t: Tensor) => Float32Array.from(toArray(t)))
}

/** A tree's leaves as tensors over the given arrays (in the order `shapes` lists them). */
export function treeOf(shapes: Readonly<Record<string, readonly number[]>>, data: (name: string, n: number) => Float32Array): Record<string, Tensor> {
  const out: Record<string, Tensor> = {}
  for (const [name, shape] of Object.entries(shapes)) out[name] = fromStorage(data(name, shape.reduce((a, b) => a * b, 1)), shape)
  return out
}

/**
 * A convolutional network's parameters (three 3×3 conv layers and two dense
 * layers with biases, ~1.4M float32 values), or a tiny one for smoke runs.
 * Keys sort into the network's order.
 */
export function convNetShapes(smoke: boolean): Record<string, readonly number[]> {
  const [c1, c2, c3, hidden] = smoke ? [4, 4, 8, 8] : [32, 64, 256, 256]
  const flat = smoke ? 32 : 4096
  return {
    a_conv1_W: [c1, 3, 3, 3],
    a_conv1_b: [c1],
    b_conv2_W: [c2, c1, 3, 3],
    b_conv2_b: [c2],
    c_conv3_W: [c3, c2, 3, 3],
    c_conv3_b: [c3],
    d_dense1_W: [flat, hidden],
    d_dense1_b: [hidden],
    e_dense2_W: [hidden, 10],
    e_dense2_b: [10],
  }
}

/** `'bit-identical'` when every element is equal (as float32 bits), else the largest difference. */
export function compare(ours: readonly Float32Array[], hand: readonly Float32Array[]): string {
  let differ = 0
  let worst = 0
  for (let i = 0; i < ours.length; i++) {
    const a = ours[i]
    const b = hand[i]
    for (let k = 0; k < a.length; k++) {
      if (!Object.is(a[k], b[k])) {
        differ += 1
        worst = Math.max(worst, Math.abs(a[k] - b[k]))
      }
    }
  }
  return differ === 0 ? 'bit-identical to hand' : `${differ} values differ, max |Δ| ${worst.toExponential(1)}`
}

/** Steps every contestant takes before the timing, from the same start, so that their numbers can be compared. */
export const CHECK_STEPS = 2

/** Runs every contestant for {@link CHECK_STEPS} steps (untimed) and returns them. */
export async function checkSteps(contestants: Contestant[]): Promise<Contestant[]> {
  for (const c of contestants) {
    for (let i = 0; i < CHECK_STEPS; i++) {
      await c.before?.()
      c.run()
    }
  }
  return contestants
}

/** The lines of one case from its medians (`hand` is the reference contestant). */
export function linesOf(name: string, medians: Medians, checks: Readonly<Record<string, string>>, hand = 'hand'): Line[] {
  return Object.entries(medians).map(([contestant, ms]) => ({
    case: name,
    contestant,
    ms,
    vsHand: ms / medians[hand],
    check: checks[contestant] ?? '',
  }))
}

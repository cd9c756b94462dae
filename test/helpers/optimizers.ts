/**
 * Shared by the optimizer tests: running a transformation for several steps,
 * reading the tensors out of a state, and bit-for-bit comparison of trees.
 */
import { expect } from 'vitest'
import { type GradientTransformation, type Params, optimizer } from '../../src/core/index.js'
import { type Tensor, isTensor, tensor, toArray } from '../../src/tensor/index.js'
import { leavesWith } from '../../src/tree/index.js'

/** The params after each step of `tx` fed `grads[k]` at step k, and the last state. */
export function run<S>(tx: GradientTransformation<S>, params: Params, grads: readonly Params[]): { trajectory: Params[]; state: S } {
  const opt = optimizer(tx)
  let state = opt.init(params)
  let p = params
  const trajectory: Params[] = []
  for (const g of grads) {
    ;[p, state] = opt.step(p, g, state)
    trajectory.push(p)
  }
  return { trajectory, state }
}

/** The same gradient `g` (a vector) for `steps` steps, each a fresh tensor. */
export function fixed(g: readonly number[], steps: number): Params[] {
  return Array.from({ length: steps }, () => tensor(g as number[]))
}

/** The tensors of a state (counts and other numbers skipped), in canonical order. */
export function stateTensors(state: unknown): Tensor[] {
  const isLeaf = (x: unknown) => isTensor(x) || typeof x === 'number' || typeof x === 'boolean'
  return leavesWith<unknown>(state, isLeaf, 'state').filter(isTensor)
}

/** Every number of a tree (tensor elements and plain numbers), in canonical order. */
export function numbersOf(tree: unknown): number[] {
  const isLeaf = (x: unknown) => isTensor(x) || typeof x === 'number'
  return leavesWith<Tensor | number>(tree, isLeaf, 'tree').flatMap((x) => (typeof x === 'number' ? [x] : toArray(x)))
}

/** Two trees hold bit-identical numbers (NaN equals NaN, -0 differs from 0). */
export function expectSameBits(got: unknown, want: unknown): void {
  const g = numbersOf(got)
  const w = numbersOf(want)
  expect(g.length).toBe(w.length)
  const bad = w.findIndex((v, i) => !Object.is(g[i], v) && !(Number.isNaN(v) && Number.isNaN(g[i])))
  expect(bad, bad < 0 ? '' : `number ${bad}: got ${g[bad]}, want ${w[bad]}`).toBe(-1)
}

/** Every element of `t` is within `rtol` (relative) or `atol` of `want`. */
export function expectNear(t: Tensor, want: readonly number[], rtol = 1e-9, atol = 1e-12): void {
  const g = toArray(t)
  expect(g.length).toBe(want.length)
  const bad = want.findIndex((v, i) => !(Math.abs(g[i] - v) <= atol + rtol * Math.abs(v)))
  expect(bad, bad < 0 ? '' : `element ${bad}: got ${g[bad]}, want ${want[bad]}`).toBe(-1)
}

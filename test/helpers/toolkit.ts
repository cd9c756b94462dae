/**
 * Shared by the toolkit tests: a stateful spy transformation that records its
 * calls, and bit-level tree comparisons.
 */
import fc from 'fast-check'
import { expect } from 'vitest'
import { type GradientTransformation, type Params, transformation } from '../../src/core/index.js'
import { type Tensor, add, scaleAll, tensor, toArray, zerosLike } from '../../src/tensor/index.js'
import { leaves, mapTree, zipTrees } from '../../src/tree/index.js'

/** The state of {@link spy}: how often `update` ran, and the sum of every gradient it saw. */
export interface SpyState {
  readonly count: number
  readonly sum: Params
}

/** A spy: `u = 2·g`, `sum += g`, `count += 1`; `calls` records the updates (and params) of every `update`. */
export function spy(): { tx: GradientTransformation<SpyState>; calls: { updates: Params; params?: Params }[] } {
  const calls: { updates: Params; params?: Params }[] = []
  const tx: GradientTransformation<SpyState> = transformation({
    init: (params) => Object.freeze({ count: 0, sum: mapTree(params, zerosLike) }),
    update: (updates, state, params) => {
      calls.push({ updates, params })
      const sum = zipTrees([state.sum, updates], ['state.sum', 'updates'], ([s, g]) => add(s, g)) as Params
      return [mapTree(updates, (g) => scaleAll(g, 2)) as Params, Object.freeze({ count: state.count + 1, sum })]
    },
  })
  return { tx, calls }
}

/** Every element of every leaf, in leaf order, row-major. */
export function flat(tree: Params): number[] {
  return leaves(tree).flatMap((t: Tensor) => toArray(t))
}

/** Same values bit for bit (NaN equals NaN, -0 differs from 0). */
export function sameBits(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]) || (Number.isNaN(v) && Number.isNaN(b[i])))
}

/** Two trees of tensors agree in structure, shape, dtype and every bit of every value. */
export function expectSameTree(got: Params, want: Params): void {
  zipTrees([want, got], ['want', 'got'], () => null)
  const g = flat(got)
  const w = flat(want)
  const bad = w.findIndex((v, i) => !sameBits([v], [g[i]]))
  expect(bad, bad < 0 ? '' : `element ${bad}: got ${g[bad]}, want ${w[bad]}`).toBe(-1)
}

/** Small random trees of float64/float32 tensors: nested objects and arrays, some `null`, 1..n leaves. */
export function arbTree(): fc.Arbitrary<Params> {
  const leaf = fc
    .tuple(fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 2 }), fc.constantFrom('float32' as const, 'float64' as const), fc.integer())
    .map(([shape, dtype, seed]) => {
      const n = shape.reduce((a, b) => a * b, 1)
      return tensor(Array.from({ length: n }, (_, i) => ((seed + 7 * i) % 13) - 6), shape, dtype)
    })
  const { tree } = fc.letrec<{ tree: Params }>((tie) => ({
    tree: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.array(tie('tree'), { maxLength: 3 }),
      fc.dictionary(fc.constantFrom('a', 'b', 'W', 'bias', 'x-y', '0'), tie('tree'), { maxKeys: 3 }),
      fc.constant(null),
    ),
  }))
  return tree
}

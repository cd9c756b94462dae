/**
 * Small transformations and constraints for the law-suite tests: correct ones
 * written on the library's primitives, and planted defects that the suites
 * must catch. The defects are deliberately bad code (flat-index reads, writes
 * into inputs, Math.random).
 */
import fc from 'fast-check'
import { EMPTY_STATE, type EmptyState, type GradientTransformation, type Params, transformation } from '../src/core/index.js'
import {
  type Kernel,
  type Tensor,
  allocate,
  copy,
  dtypeOf,
  fromStorage,
  map,
  normalizeAxes,
  reduce,
  scaleAll,
  scaleSlices,
  zerosLike,
} from '../src/tensor/index.js'
import { type Tree, mapTree, zipMany } from '../src/tree/index.js'
import { LawViolation, arbTensor } from '../laws/index.js'

/** Runs `check` and returns the LawViolation it throws; any other outcome fails the test. */
export function violationOf(check: () => void): LawViolation {
  try {
    check()
  } catch (e) {
    if (e instanceof LawViolation) return e
    throw e
  }
  throw new Error('expected a LawViolation, but every law held')
}

/** The suite options' user-supplied arbitrary: contiguous 2-D float64 tensors. */
export const contiguous2d = arbTensor({ dtype: 'float64', minDims: 2, maxDims: 2, minSide: 1 })

/** A user `params` arbitrary: a record of contiguous 2-D float64 tensors. */
export const params2d: fc.Arbitrary<Params> = fc.record({ W: contiguous2d, V: contiguous2d })

// ---------- correct transformations ----------

/** `u = c · g`, stateless. */
export function scaleBy(c: number): GradientTransformation<EmptyState> {
  return transformation({ init: () => EMPTY_STATE, update: (u, s) => [mapTree(u, (t) => scaleAll(t, c)), s] })
}

/** State of {@link heavyBall}. */
export interface VelocityState {
  /** Number of updates so far. */
  readonly count: number
  /** The velocity, shaped like the params. */
  readonly v: Tree
}

const velocityKernel =
  (lr: number, mu: number): Kernel =>
  (n, [u, v2], [g, v]) => {
    for (let k = 0; k < n; k++) {
      const vk = mu * v[k] - lr * g[k]
      v2[k] = vk
      u[k] = vk
    }
  }

/** Classical momentum `v' = mu·v - lr·g; u = v'`, pure, one fused pass per leaf. */
export function heavyBall(lr: number, mu: number): GradientTransformation<VelocityState> {
  const kernel = velocityKernel(lr, mu)
  return transformation({
    init: (params) => Object.freeze({ count: 0, v: mapTree(params, zerosLike) }),
    update: (g, s) => {
      const [u, v] = zipMany([g, s.v], ['updates', 'state.v'], 2, ([gl, vl]) => map([gl, vl], [dtypeOf(gl), dtypeOf(gl)], kernel))
      return [u, Object.freeze({ count: s.count + 1, v })]
    },
  })
}

/** Clips each slice over `axes` to L2 norm `maxNorm` (a no-op in bound), on the library's reduce and scaleSlices. */
export function clipSlices(maxNorm: number, axes?: number | readonly number[]): (x: Tensor) => Tensor {
  return (x) => {
    const ax = normalizeAxes(axes, x.shape.length, 'axes')
    const norms = reduce(x, ax, 'sumsq').map(Math.sqrt)
    return scaleSlices(x, norms.map((n) => (n > maxNorm ? maxNorm / n : 1)), ax)
  }
}

// ---------- planted defects: transformations ----------

/** Defect: scales its incoming updates in place and returns them. */
export const mutatesUpdates: GradientTransformation<EmptyState> = transformation({
  init: () => EMPTY_STATE,
  update: (u, s) => [
    mapTree(u, (t) => {
      for (let i = 0; i < t.size; i++) t.data[t.offset + i] *= 0.5
      return t
    }),
    s,
  ],
})

/** Defect: reads `.data[i]` by flat index, ignoring offset and strides. */
export const ignoresStrides: GradientTransformation<EmptyState> = transformation({
  init: () => EMPTY_STATE,
  update: (u, s) => [
    mapTree(u, (t) => {
      const out = allocate(dtypeOf(t), t.size)
      for (let i = 0; i < t.size; i++) out[i] = -0.1 * t.data[i]
      return fromStorage(out, t.shape)
    }),
    s,
  ],
})

/** Defect: momentum that accumulates into the velocity tensors of the state it was given. */
export const mutatesStateTensors: GradientTransformation<VelocityState> = transformation({
  init: (params) => Object.freeze({ count: 0, v: mapTree(params, zerosLike) }),
  update: (g, s) => {
    const u = zipMany([g, s.v], ['updates', 'state.v'], 1, ([gl, vl]) => {
      const gc = copy(gl)
      for (let i = 0; i < vl.size; i++) vl.data[i] = 0.9 * vl.data[i] - 0.1 * gc.data[i]
      return [copy(vl)]
    })[0]
    return [u, Object.freeze({ count: s.count + 1, v: s.v })]
  },
})

/** Defect: counts steps by assigning into the state object it was given. */
export const mutatesStateRecord: GradientTransformation<{ count: number }> = transformation({
  init: () => ({ count: 0 }),
  update: (u, s) => {
    s.count += 1
    return [mapTree(u, (t) => scaleAll(t, -0.1)), s]
  },
})

/** Defect: a random learning rate. */
export const nondeterministic: GradientTransformation<EmptyState> = transformation({
  init: () => EMPTY_STATE,
  update: (u, s) => [mapTree(u, (t) => scaleAll(t, -0.1 * (1 + Math.random()))), s],
})

/** Defect: returns float64 updates whatever the incoming dtype. */
export const widensDtype: GradientTransformation<EmptyState> = transformation({
  init: () => EMPTY_STATE,
  update: (u, s) => [mapTree(u, (t) => map([t], ['float64'], (n, [o], [x]) => o.set(x.subarray(0, n)))[0]), s],
})

/** Defect: returns the updates as a flat list of leaves. */
export const flattensUpdates: GradientTransformation<EmptyState> = transformation({
  init: () => EMPTY_STATE,
  update: (u, s) => {
    const out: Tensor[] = []
    mapTree(u, (t) => out.push(copy(t)))
    return [out, s]
  },
})

/** Defect: the state starts as a number and becomes a tensor. */
export const changesStateKind = transformation<{ last: number | Params }>({
  init: () => Object.freeze({ last: 0 }),
  update: (u) => [u, Object.freeze({ last: u })],
})

// ---------- planted defects: constraints ----------

/** Defect: does not bound (returns a copy). */
export const noBound = (x: Tensor): Tensor => copy(x)

/** Defect: clips correctly but also zeroes the first stored element of its input. */
export function mutatesInput(maxNorm: number): (x: Tensor) => Tensor {
  const clip = clipSlices(maxNorm)
  return (x) => {
    const y = clip(x)
    if (x.size > 0) x.data[x.offset] = 0
    return y
  }
}

/** Defect: clips each element to ±maxNorm/√n, which bounds the norm but bends the direction. */
export function clipsElements(maxNorm: number): (x: Tensor) => Tensor {
  return (x) => {
    const c = maxNorm / Math.sqrt(Math.max(1, x.size))
    return map([x], [dtypeOf(x)], (n, [o], [v]) => {
      for (let k = 0; k < n; k++) o[k] = Math.min(c, Math.max(-c, v[k]))
    })[0]
  }
}

/** Defect: the norm is taken over the flat storage from index 0 (ignores offset and strides). */
export function flatNorm(maxNorm: number): (x: Tensor) => Tensor {
  return (x) => {
    let s = 0
    for (let i = 0; i < x.size; i++) s += x.data[i] * x.data[i]
    const n = Math.sqrt(s)
    return scaleAll(x, n > maxNorm ? maxNorm / n : 1)
  }
}

/** Defect: shrinks every slice by half again, even in bound (not idempotent). */
export function halves(maxNorm: number): (x: Tensor) => Tensor {
  const clip = clipSlices(maxNorm)
  return (x) => scaleAll(clip(x), 0.5)
}

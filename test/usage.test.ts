/**
 * What a new user hit: typed steps, errors that blame the argument the user
 * got wrong, donated tensors, a projection placed mid-chain, cyclic trees,
 * and norms at the ends of the float range.
 */
import { describe, expect, expectTypeOf, it } from 'vitest'
import {
  ConfigError,
  DonatedBufferError,
  type Params,
  ShapeError,
  StructureError,
  type Tensor,
  adam,
  applyIfFinite,
  applyUpdates,
  chain,
  clipByGlobalNorm,
  clipByNorm,
  clipGradNorm,
  constrainParams,
  full,
  identity,
  masked,
  maxNorm,
  multiSteps,
  normConstraint,
  optimizer,
  renorm,
  sgd,
  tensor,
  toArray,
  totalNormConstraint,
  add,
  assertTensor,
  computeNorms,
  copy,
  copyInto,
  dtypeOf,
  gather,
  map,
  mul,
  reduce,
  scaleAll,
  scaleSlices,
  sub,
  zeros,
  zerosLike,
} from '../src/index.js'
import { saveCheckpoint } from '../src/node/index.js'
import { sliceValues } from '../src/constraints/norms.js'
import { Dec, exact, normWithin } from './helpers/exact.js'
import { thrown } from './helpers/constraints.js'

const params = () => ({ W: tensor([[1, 2], [3, 4]]), b: tensor([0.5, -0.5]) })
const goodGrads = () => ({ W: tensor([[0.1, 0.2], [0.3, 0.4]]), b: tensor([1, -1]) })

describe('steps keep the params type', () => {
  it('optimizer.step, applyUpdates and update return the caller’s tree type', () => {
    const opt = optimizer(adam({ learningRate: 0.1 }))
    const p = params()
    const [p1, s1] = opt.step(p, goodGrads(), opt.init(p))
    expectTypeOf(p1).toEqualTypeOf<{ W: Tensor; b: Tensor }>()
    expect(p1.W.shape).toEqual([2, 2]) // no cast needed to reach a leaf
    const [u] = adam().update(goodGrads(), s1, p1)
    expectTypeOf(u).toEqualTypeOf<{ W: Tensor; b: Tensor }>()
    const p2 = applyUpdates(p1, u)
    expectTypeOf(p2).toEqualTypeOf<{ W: Tensor; b: Tensor }>()
    expect(toArray(p2.b)).toHaveLength(2)
  })
})

describe('errors name the argument the user got wrong', () => {
  const wrongShape = () => ({ W: tensor([[1, 2, 3]]), b: tensor([1, 1]) })
  const cases: [string, () => ReturnType<typeof optimizer<unknown>>][] = [
    ['adam', () => optimizer(adam())],
    ['sgd', () => optimizer(sgd(0.1))],
    ['masked', () => optimizer(masked(adam(), { W: true, b: false }))],
    ['multiSteps', () => optimizer(multiSteps(adam(), { everyK: 2 }))],
    ['applyIfFinite', () => optimizer(applyIfFinite(adam(), { maxConsecutiveErrors: 2 }))],
    ['chain', () => optimizer(chain(identity(), adam()))],
  ]
  for (const [name, make] of cases) {
    it(`${name}: a gradient of the wrong shape names grads.W, against params.W`, () => {
      const opt = make()
      const e = thrown(() => opt.step(params(), wrongShape(), opt.init(params())))
      expect(e).toBeInstanceOf(ShapeError)
      expect(e.message).toBe('grads.W: shape [1,3] vs params.W [2,2]')
    })
    it(`${name}: a missing gradient names grads`, () => {
      const opt = make()
      const e = thrown(() => opt.step(params(), { W: tensor([[1, 2], [3, 4]]) }, opt.init(params())))
      expect(e).toBeInstanceOf(StructureError)
      expect(e.message).toBe('grads: expected an object with keys [W,b] (as in params), got an object with keys [W]')
    })
  }
  it('tx.update names the updates, against the state built from the params', () => {
    const tx = adam()
    const e = thrown(() => tx.update(wrongShape(), tx.init(params()), params()))
    expect(e.message).toBe('updates.W: shape [1,3] vs state.mu.W [2,2]')
  })
})

describe('a donated tensor gives DonatedBufferError from every public function', () => {
  const donated = () => {
    const opt = optimizer(sgd(0.1), { donate: true })
    const old = { w: tensor([1, 2, 3]) }
    opt.step(old, { w: tensor([1, 1, 1]) }, opt.init(old))
    return old
  }
  it('toArray, normConstraint, clipByNorm, totalNormConstraint', () => {
    const old = donated()
    expect(thrown(() => toArray(old.w))).toBeInstanceOf(DonatedBufferError)
    expect(thrown(() => normConstraint(old.w, 1, { normAxes: [0] }))).toBeInstanceOf(DonatedBufferError)
    expect(thrown(() => clipByNorm(old.w, 1))).toBeInstanceOf(DonatedBufferError)
    expect(thrown(() => totalNormConstraint([old.w], 1)).message).toBe(
      'xs[0]: was donated to an earlier step of optimizer(tx, { donate: true }), which took over its buffers; pass the params and state that step returned',
    )
  })
  it('every public function that reads a tensor', () => {
    const w = donated().w
    const fine = tensor([1, 2, 3])
    const calls: [string, () => unknown][] = [
      ['dtypeOf', () => dtypeOf(w)],
      ['copy', () => copy(w)],
      ['copyInto', () => copyInto(w, new Float64Array(3))],
      ['zerosLike', () => zerosLike(w)],
      ['add', () => add(fine, w)],
      ['sub', () => sub(w, fine)],
      ['mul', () => mul(fine, w)],
      ['scaleAll', () => scaleAll(w, 2)],
      ['map', () => map([w], ['float64'], () => {})],
      ['gather', () => gather(w, new Float64Array(3), 0, 3)],
      ['reduce', () => reduce(w, [0], 'sumsq')],
      ['scaleSlices', () => scaleSlices(w, new Float64Array([1]), [0])],
      ['assertTensor', () => assertTensor(w, 'w')],
      ['computeNorms', () => computeNorms(w)],
      ['renorm', () => renorm(w, 2, 0, 1)],
      ['maxNorm', () => maxNorm(w, 1)],
      ['clipByGlobalNorm', () => clipByGlobalNorm([fine, w], 1)],
      ['clipGradNorm', () => clipGradNorm([w], 1)],
      ['applyUpdates', () => applyUpdates({ w: fine }, { w })],
    ]
    for (const [name, call] of calls) expect(thrown(call), name).toBeInstanceOf(DonatedBufferError)
  })
  it('saveCheckpoint names the path', async () => {
    const old = donated()
    const e = await saveCheckpoint('/tmp/ndoptax-never-written.safetensors', { params: old, state: null }).then(
      () => undefined,
      (err: unknown) => err,
    )
    expect(e).toBeInstanceOf(DonatedBufferError)
    expect((e as Error).message).toContain('params.w')
  })
})

describe('constrainParams only as the last stage of a chain', () => {
  const project = constrainParams((ts) => ts.map((t) => clipByNorm(t, 1)))
  it('first, or inside a nested chain that is not last: ConfigError when the chain is built', () => {
    expect(thrown(() => chain(project, sgd(0.1)))).toBeInstanceOf(ConfigError)
    expect(thrown(() => chain(project, sgd(0.1))).message).toContain('chain[0]: constrainParams')
    expect(thrown(() => chain(chain(sgd(0.1), project), sgd(0.1)))).toBeInstanceOf(ConfigError)
    expect(thrown(() => chain(sgd(0.1), chain(project, identity()), sgd(0.1)))).toBeInstanceOf(ConfigError)
  })
  it('last, at any depth, or followed by identities only: the projection holds', () => {
    const opt = optimizer(chain(sgd(0.1), chain(identity(), project), identity()))
    const p = { w: tensor([3, 4]) }
    const [p1] = opt.step(p, { w: tensor([0.1, 0.1]) }, opt.init(p))
    expect(normWithin(toArray(p1.w), 2, 1)).toBe(true)
  })
})

describe('cyclic trees', () => {
  it('a params tree that contains itself: StructureError naming where the cycle closes', () => {
    const p: Record<string, unknown> = { w: tensor([1, 2]), inner: { v: tensor([3]) } }
    ;(p.inner as Record<string, unknown>).back = p
    const opt = optimizer(sgd(0.1))
    const e = thrown(() => opt.step(p as Params, p as Params, opt.init({ w: tensor([1, 2]) })))
    expect(e).toBeInstanceOf(StructureError)
    expect(e.message).toBe('params.inner.back: the tree contains a cycle: this node is its own ancestor params')
  })
  it('an array that contains itself, in init', () => {
    const a: unknown[] = [tensor([1])]
    a.push(a)
    expect(thrown(() => adam().init(a as Params)).message).toBe('params[1]: the tree contains a cycle: this node is its own ancestor params')
  })
})

describe('norms at the ends of the float range; no slice above its limit', () => {
  const within = (y: Tensor, limit: number, p = 2) => normWithin(toArray(y), p, limit)
  for (const axes of [undefined, [0], [1], [0, 1], []] as const) {
    it(`float32 1e-30 with limit 1e-31 (axes ${JSON.stringify(axes)}): clipped, not returned unchanged`, () => {
      const x = full([2, 3], 1e-30, 'float32')
      const y = clipByNorm(x, 1e-31, axes as number[] | undefined)
      const reduced = axes === undefined ? [0, 1] : [...axes]
      const count = toArray(y).length / reduced.reduce((c, a) => c * x.shape[a], 1)
      for (let i = 0; i < count; i++) expect(normWithin(sliceValues(y, reduced, i), 2, 1e-31)).toBe(true)
      expect(toArray(y)[0]).toBeGreaterThan(0)
    })
  }
  it('float64 near 1e-170 and 1e200: clipByNorm, maxNorm, normConstraint, renorm, total norms', () => {
    for (const v of [1e-170, 1e-300, 1e200]) {
      const x = full([2, 3], v)
      const limit = v / 10
      expect(within(clipByNorm(x, limit), limit)).toBe(true)
      expect(within(maxNorm(x, limit, { axis: [0, 1] }), limit)).toBe(true)
      expect(within(normConstraint(x, limit, { normAxes: [0, 1] }), limit)).toBe(true)
      expect(toArray(clipByNorm(x, limit))[0]).toBeGreaterThan(0)
      for (const row of [0, 1]) expect(normWithin(toArray(renorm(x, 2, 0, limit)).slice(3 * row, 3 * row + 3), 2, limit)).toBe(true)
      expect(within(clipByGlobalNorm([x], limit)[0][0], limit)).toBe(true)
      expect(within(clipGradNorm([x], limit)[0][0], limit)).toBe(true)
      expect(within(totalNormConstraint([x], limit)[0], limit)).toBe(true)
    }
  })
  it('the norm itself is right: 1e-30 in float32 has norm √6·1e-30, not 0', () => {
    const [, n] = clipByGlobalNorm([full([2, 3], 1e-30, 'float32')], 1)
    expect(new Dec(n).minus(exact(Math.fround(1e-30)).times(new Dec(6).sqrt())).abs().toNumber()).toBeLessThan(1e-36)
  })
  it('a limit that rounds to 0 or to Infinity in the dtype is a ConfigError naming it', () => {
    const x32 = zeros([2, 2], 'float32')
    expect(thrown(() => clipByNorm(x32, 1e-171))).toBeInstanceOf(ConfigError)
    expect(thrown(() => clipByNorm(x32, 1e-171)).message).toContain('clipNorm: 1e-171 rounds to 0 in float32')
    expect(thrown(() => normConstraint(x32, 1e39)).message).toContain('maxNorm: 1e+39 rounds to Infinity in float32')
    expect(thrown(() => maxNorm(x32, 1e-50)).message).toContain('maxValue')
    expect(thrown(() => renorm(x32, 2, 0, 1e-50)).message).toContain('maxnorm')
    expect(thrown(() => clipGradNorm([x32], 1e40)).message).toContain('maxNorm')
    expect(normConstraint(zeros([2, 2]), 1e-171).shape).toEqual([2, 2]) // representable in float64
  })
})

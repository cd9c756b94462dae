/**
 * Fuzzing: random garbage thrown at every function exported from the package
 * root. Each call must give a result or throw a documented ndoptax error;
 * never an uncaught TypeError/RangeError from inside the library, never a
 * write into an argument. Functions that return a transformation, a schedule
 * or another function are exercised in turn. The table below knows the
 * parameter kinds of the known exports; an export it does not know is
 * fuzzed with arguments of any kind. `FUZZ_TRACE=1` prints every call to
 * stderr before it runs (to find a call that hangs or exhausts memory).
 */
import { writeSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import * as ndoptax from '../src/index.js'
import { type Tensor, isTensor, tensor, toArray } from '../src/tensor/index.js'
import { type Kind, byKind, fingerprint } from './helpers/garbage.js'

const exported = ndoptax as unknown as Record<string, unknown>

/** The error classes documented in docs/errors.md: every export whose prototype is an Error's. */
const DOCUMENTED = new Set(
  Object.entries(exported)
    .filter(([, v]) => typeof v === 'function' && (v as { prototype?: unknown }).prototype instanceof Error)
    .map(([k]) => k),
)

/** Parameter kinds made here from the shared ones. */
type ExtraKind = 'factory' | 'mask' | 'hyperOrOptions' | 'fns' | 'trees' | 'strings' | 'label' | 'domain'

/** Parameter kinds of each known export (an optional trailing parameter is fuzzed too). */
const TABLE: Record<string, readonly (Kind | ExtraKind)[]> = {
  // constraints
  normConstraint: ['tensor', 'limit', 'options'],
  computeNorms: ['tensor', 'axes'],
  totalNormConstraint: ['tensors', 'limit', 'options'],
  clipByNorm: ['tensor', 'limit', 'axes'],
  clipByGlobalNorm: ['tensors', 'limit'],
  renorm: ['tensor', 'limit', 'int', 'limit'],
  clipGradNorm: ['tensors', 'limit', 'options'],
  maxNorm: ['tensor', 'limit', 'options'],
  // transforms
  leafwise: ['fn'],
  treewise: ['fn'],
  constrainParams: ['fn'],
  clipByTotalNorm: ['limit', 'options'],
  scale: ['hyper'],
  scaleByLearningRate: ['hyper'],
  trace: ['options'],
  scaleByAdagrad: ['options'],
  scaleByRms: ['options'],
  scaleByAdadelta: ['options'],
  scaleByAdam: ['options'],
  scaleByAmsgrad: ['options'],
  scaleByAdamax: ['options'],
  injectHyperparams: ['factory'],
  hyperparameter: ['string', 'hyper', 'options'],
  hyperparameters: ['string', 'options', 'options'],
  applyIfFinite: ['tx', 'options'],
  multiSteps: ['tx', 'options'],
  masked: ['tx', 'mask'],
  partition: ['any', 'mask'],
  freeze: ['mask'],
  setToZero: [],
  zeroNans: [],
  allFinite: ['tree', 'label'],
  // optimizers
  sgd: ['hyperOrOptions'],
  momentum: ['hyperOrOptions'],
  nesterovMomentum: ['hyperOrOptions'],
  adagrad: ['hyperOrOptions'],
  rmsprop: ['hyperOrOptions'],
  adadelta: ['hyperOrOptions'],
  adam: ['hyperOrOptions'],
  adamax: ['hyperOrOptions'],
  amsgrad: ['hyperOrOptions'],
  applyMomentum: ['tx', 'options'],
  applyNesterovMomentum: ['tx', 'options'],
  // schedules
  constant: ['limit'],
  exponentialDecay: ['options'],
  piecewiseConstant: ['options'],
  polynomial: ['options'],
  linear: ['options'],
  cosineDecay: ['options'],
  warmupCosineDecay: ['options'],
  joinSchedules: ['fns', 'any'],
  // core
  chain: ['tx', 'tx'],
  identity: [],
  applyUpdates: ['tree', 'tree'],
  optimizer: ['tx'],
  checkTransformation: ['label', 'tx'],
  // tree
  leaves: ['tree', 'label'],
  leavesWith: ['tree', 'fn', 'string'],
  flatten: ['tree', 'label'],
  unflatten: ['any', 'tensors'],
  mapTree: ['tree', 'fn', 'label'],
  zipTrees: ['trees', 'strings', 'fn'],
  zipMany: ['trees', 'strings', 'int', 'fn'],
  assertSameStructure: ['trees', 'strings'],
  freezeTree: ['tree'],
  formatPath: ['string', 'any'],
  isPlainObject: ['any'],
  walk: ['trees', 'strings', 'fn', 'int', 'fn'],
  // tensor
  tensor: ['any', 'shape', 'dtype'],
  zeros: ['shape', 'dtype'],
  zerosLike: ['tensor'],
  full: ['shape', 'limit', 'dtype'],
  toArray: ['tensor'],
  copy: ['tensor'],
  copyInto: ['tensor', 'any'],
  add: ['tensor', 'tensor'],
  sub: ['tensor', 'tensor'],
  mul: ['tensor', 'tensor'],
  scaleAll: ['tensor', 'limit'],
  map: ['tensors', 'any', 'fn', 'any'],
  mapInto: ['tensors', 'any', 'fn', 'any'],
  reduce: ['tensor', 'axes', 'string', 'limit'],
  normalizeAxes: ['axes', 'int', 'string'],
  reducedShape: ['shape', 'axes', 'bool'],
  broadcastSlices: ['any', 'shape', 'axes'],
  broadcastTo: ['tensor', 'shape'],
  checkShape: ['shape', 'label'],
  scaleSlices: ['tensor', 'any', 'axes'],
  gather: ['tensor', 'any', 'int', 'int'],
  assertTensor: ['any', 'label'],
  isTensor: ['any'],
  isRowMajor: ['tensor'],
  fromStorage: ['any', 'shape'],
  allocate: ['dtype', 'int'],
  arrayOver: ['dtype', 'any', 'int', 'int'],
  dtypeOf: ['tensor'],
  dtypeOfArray: ['any'],
  roundTo: ['dtype'],
  sizeOf: ['shape'],
  rowMajorStrides: ['shape'],
  shapeEquals: ['shape', 'shape'],
  formatShape: ['shape'],
  // errors
  checkNumber: ['label', 'any', 'domain'],
  checkFunction: ['label', 'any', 'string'],
  checkOptions: ['string', 'any', 'any'],
  describe: ['any'],
  isNdoptaxError: ['any'],
}

/** Kinds built from the table's generators. */
const extra: Record<ExtraKind, fc.Arbitrary<unknown>> = {
  factory: fc.oneof(fc.constantFrom(ndoptax.adam, ndoptax.sgd, ndoptax.momentum, ndoptax.rmsprop), byKind.fn),
  mask: fc.oneof(byKind.bool, byKind.fn, byKind.tree.map((t) => (isTensor(t) ? true : t)), fc.constant({ W: true, b: false }), fc.constant(() => 'a')),
  hyperOrOptions: fc.oneof(byKind.hyper, byKind.options),
  fns: fc.oneof(fc.array(byKind.fn, { maxLength: 3 }), byKind.any),
  trees: fc.oneof(fc.array(byKind.tree, { maxLength: 3 }), byKind.any),
  label: fc.string({ maxLength: 8 }),
  domain: fc.record(
    { min: fc.double(), max: fc.double(), minExclusive: fc.boolean(), maxExclusive: fc.boolean(), allowInfinity: fc.boolean(), integer: fc.boolean() },
    { requiredKeys: [] },
  ),
  strings: fc.oneof(fc.array(fc.constantFrom('a', 'b', 'updates'), { maxLength: 3 }), byKind.any),
}
const arbOf = (k: Kind | ExtraKind): fc.Arbitrary<unknown> => (k in byKind ? byKind[k as Kind] : extra[k as ExtraKind])

/**
 * Low-level building blocks whose contract is to take arguments their caller
 * has already validated (the kernels, the walker, shape helpers, the
 * validators' own parameters, helpers for writing transformations). They are
 * not fuzzed with garbage: a wrong type surfaces as a plain TypeError, and a
 * garbage length can make `gather` loop for ever or fill memory.
 */
const UNCHECKED = new Set([
  'map', 'mapInto', 'gather', 'reduce', 'broadcastSlices', 'scaleSlices', 'reducedShape', 'normalizeAxes', 'walk', 'leavesWith', 'sizeOf',
  'rowMajorStrides', 'shapeEquals', 'formatShape', 'formatPath', 'isRowMajor', 'fromStorage', 'allocate', 'arrayOver', 'checkOptions',
  'hyperparameter', 'hyperparameters',
])

/** Functions that write into an argument by contract: `gather` fills `dst`, `copyInto` fills `into`, `mapInto` its `outs`, `freezeTree` freezes the tree it is given. */
const WRITES = new Set(['gather', 'freezeTree', 'copyInto', 'mapInto'])

class Undocumented extends Error {}

/** Runs `f`; a throw must be a documented ndoptax error. Returns [ok, result]. */
function attempt(name: string, f: () => unknown): [boolean, unknown] {
  try {
    return [true, f()]
  } catch (e) {
    if (e instanceof Undocumented) throw e
    const err = e as Error
    if (!ndoptax.isNdoptaxError(e) || !DOCUMENTED.has(err.name)) {
      throw new Undocumented(`${name} threw an undocumented ${err?.name}: ${err?.message}\n${err?.stack?.split('\n').slice(1, 4).join('\n')}`)
    }
    return [false, undefined]
  }
}

/** Calls `f`, checking that it wrote nothing reachable from `args`. */
function call(name: string, f: () => unknown, args: unknown[]): [boolean, unknown] {
  if (process.env.FUZZ_TRACE) writeSync(2, `${name} ${fc.stringify(args).slice(0, 300)}\n`)
  const before = fingerprint(args)
  const r = attempt(name, f)
  if (!WRITES.has(name)) expect(fingerprint(args), `${name} wrote into its arguments`).toEqual(before)
  return r
}

/** Exports that return a schedule (called with random steps) or, for `injectHyperparams`, a factory (called with random options). */
const RETURNS_FUNCTION = new Set(['constant', 'exponentialDecay', 'piecewiseConstant', 'polynomial', 'linear', 'cosineDecay', 'warmupCosineDecay', 'joinSchedules', 'injectHyperparams'])

/** A class constructor (called with `new` by the fuzzer, as the language requires). */
const isClass = (f: unknown): boolean => typeof f === 'function' && /^class\b/.test(Function.prototype.toString.call(f))

const isTx = (x: unknown): x is ndoptax.GradientTransformation<unknown> =>
  typeof x === 'object' && x !== null && typeof (x as { init?: unknown }).init === 'function' && typeof (x as { update?: unknown }).update === 'function'

/** Gradients of the structure of `params` (when it is a tree of tensors; otherwise `params` itself). */
function like(params: unknown): unknown {
  try {
    return ndoptax.mapTree(params as ndoptax.Params, (t) => tensor(toArray(t).map((v) => v / 3 - 1), t.shape, ndoptax.dtypeOf(t)))
  } catch {
    return params
  }
}

/** Exercises what a call returned: a transformation (init, two updates), or a function (called with steps or options). */
function exercise(name: string, result: unknown, gen: fc.GeneratorValue): void {
  if (isTx(result)) {
    const params = gen(() => byKind.tree)
    const [ok, state] = call(`${name}(...).init`, () => result.init(params as ndoptax.Params), [params])
    if (!ok) return
    for (let step = 0; step < 2; step++) {
      const same = gen(() => fc.boolean())
      const grads = same ? like(params) : gen(() => byKind.tree)
      const p = gen(() => fc.oneof(fc.constant(params), fc.constant(undefined), byKind.tree))
      const [okStep, out] = call(`${name}(...).update`, () => result.update(grads as ndoptax.Params, state, p as ndoptax.Params), [grads, state, p])
      if (!okStep) return
      expect(Array.isArray(out) && (out as unknown[]).length === 2, `${name}(...).update returns [updates, state]`).toBe(true)
    }
  } else if (typeof result === 'function' && RETURNS_FUNCTION.has(name.replace(/\(.*$/, ''))) {
    const arg = name === 'injectHyperparams' ? gen(() => extra.hyperOrOptions) : gen(() => byKind.steps)
    const [ok, r] = call(`${name}(...)(...)`, () => (result as (a: unknown) => unknown)(arg), [arg])
    if (ok && name === 'injectHyperparams') exercise(`${name}(...)(...)`, r, gen)
  }
}

const functions = Object.entries(exported)
  .filter(([name, v]) => typeof v === 'function' && !DOCUMENTED.has(name) && !UNCHECKED.has(name))
  .map(([name, v]) => [name, v as (...a: unknown[]) => unknown] as const)

describe('fuzz: every public function', () => {
  it('covers every function of the package root: fuzzed, or listed as unchecked', () => {
    const all = Object.entries(exported).filter(([n, v]) => typeof v === 'function' && !DOCUMENTED.has(n))
    expect(functions.length + [...UNCHECKED].filter((n) => n in exported).length).toBe(all.length)
    expect(functions.length).toBeGreaterThan(60)
    // names missing from the table are still fuzzed, with arguments of any kind
  })

  it.each(functions)('%s', (name, f) => {
    const kinds = TABLE[name] ?? Array.from({ length: f.length + 1 }, () => 'any' as Kind)
    const invoke = isClass(f) ? (...a: unknown[]) => new (f as unknown as new (...b: unknown[]) => unknown)(...a) : f
    fc.assert(
      fc.property(fc.tuple(...kinds.map(arbOf)), fc.integer({ min: 0, max: kinds.length }), fc.gen(), (args, cut, gen) => {
        // optional trailing parameters: sometimes leave some out
        const used = cut < kinds.length && cut > 0 ? args.slice(0, kinds.length - (cut % 2)) : args
        const [ok, result] = call(name, () => invoke(...used), used)
        if (ok) exercise(name, result, gen)
      }),
      { numRuns: 300, endOnFailure: true },
    )
  })
})

describe('fuzz: constraints on zero inputs', () => {
  const single = ['normConstraint', 'clipByNorm', 'maxNorm'] as const
  const many = ['totalNormConstraint', 'clipByGlobalNorm', 'clipGradNorm'] as const
  const arbZeros = fc
    .tuple(fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 4 }), fc.constantFrom('float32' as const, 'float64' as const))
    .map(([shape, dtype]) => ndoptax.zeros(shape, dtype))
  const limit = fc.constantFrom(0, 1e-30, 1, 5, Infinity)
  const noNaN = (ts: Tensor[]) => ts.every((t) => toArray(t).every((v) => v === 0))

  it('give zeros, never NaN, for every limit >= 0 (default options), as functions and as clipByTotalNorm', () => {
    fc.assert(
      fc.property(arbZeros, fc.array(arbZeros, { maxLength: 3 }), limit, (z, zs, m) => {
        for (const name of single) {
          if (name === 'normConstraint' && (z.shape.length < 2 || z.shape.length > 5)) continue
          const [ok, r] = attempt(name, () => (exported[name] as (x: Tensor, m: number) => Tensor)(z, m))
          if (ok) expect(noNaN([r as Tensor]), `${name}(zeros ${z.shape}, ${m})`).toBe(true)
        }
        for (const name of many) {
          const [ok, r] = attempt(name, () => (exported[name] as (x: Tensor[], m: number) => unknown)(zs, m))
          if (!ok) continue
          const outs = (Array.isArray(r) && r.length === 2 && typeof r[1] === 'number' ? r[0] : r) as Tensor[]
          expect(noNaN(outs), `${name}(zeros, ${m})`).toBe(true)
        }
        const [ok, r] = attempt('renorm', () => ndoptax.renorm(z, 2, 0, m))
        if (ok) expect(noNaN([r as Tensor]), `renorm(zeros ${z.shape}, 2, 0, ${m})`).toBe(true)
        for (const flavor of ['lasagne', 'torch', 'tensorflow'] as const) {
          const [okT, tx] = attempt('clipByTotalNorm', () => ndoptax.clipByTotalNorm(m, { flavor }))
          if (!okT) continue
          const t = tx as ndoptax.GradientTransformation<unknown>
          const [u] = t.update(zs, t.init(zs))
          expect(noNaN(ndoptax.leaves(u)), `clipByTotalNorm(${m}, ${flavor}) on zeros`).toBe(true)
        }
      }),
      { numRuns: 200 },
    )
  })
})

/**
 * Generators of near-valid and invalid arguments for the fuzz test, by kind
 * of parameter, and a deep fingerprint to prove that a call wrote nothing it
 * was given.
 */
import fc from 'fast-check'
import ndarray from 'ndarray'
import { type GradientTransformation, identity } from '../../src/core/index.js'
import { adam, sgd } from '../../src/optimizers/index.js'
import { type Tensor, tensor } from '../../src/tensor/index.js'
import { setToZero } from '../../src/transforms/index.js'
import { arbDtype, arbShape, arbViewOf } from './views.js'

/** The kinds of parameter the fuzz table knows. */
export type Kind =
  | 'any'
  | 'tensor'
  | 'tensors'
  | 'limit'
  | 'int'
  | 'axes'
  | 'options'
  | 'tree'
  | 'tx'
  | 'fn'
  | 'hyper'
  | 'string'
  | 'dtype'
  | 'shape'
  | 'bool'
  | 'steps'

const SPECIAL_NUMBERS = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 0.5, 2, 1e308, -1e308, 5e-324, 1e-300, 2 ** 53, 3.5, -2.5]

/** Plain wrong values of every JavaScript type. */
export const arbJunk: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(undefined, null, '', 'x', 'float32', true, false, [], {}, [[]], [1, 'a'], { shape: [2], data: [1, 2] }, Symbol('junk'), 10n, new Map(), new Date(0)),
  fc.constantFrom(...SPECIAL_NUMBERS),
  fc.double(),
  fc.string({ maxLength: 4 }),
  fc.constant(new Int32Array([1, 2, 3])),
  fc.constant(ndarray(new Int32Array([1, 2, 3, 4]), [2, 2])),
  fc.constant(ndarray([1, 2, 3] as unknown as Float64Array, [3])),
)

/** Huge, tiny and special values in a tensor of random shape and view. */
const arbTensorValue: fc.Arbitrary<Tensor> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(arbShape(4, 4), arbDtype, fc.boolean()).chain(([s, d, sp]) => arbViewOf(s, d, sp)).map((v) => v.t) },
  { weight: 1, arbitrary: fc.tuple(arbShape(3, 3), arbDtype).map(([s, d]) => tensor(new Array(s.reduce((a, b) => a * b, 1)).fill(0), s, d)) },
  { weight: 1, arbitrary: fc.constantFrom(tensor(0), tensor([]), tensor([], [0, 3]), tensor([], [3, 0, 2], 'float32')) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.array(fc.constantFrom(...SPECIAL_NUMBERS), { minLength: 1, maxLength: 6 }), arbDtype)
      .map(([vals, d]) => tensor(vals, [vals.length], d)),
  },
)

export const arbTensor: fc.Arbitrary<unknown> = fc.oneof({ weight: 8, arbitrary: arbTensorValue }, { weight: 1, arbitrary: arbJunk })
export const arbTensors: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 8, arbitrary: fc.array(arbTensorValue, { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.array(arbTensor, { maxLength: 3 }) },
  { weight: 1, arbitrary: arbJunk },
)

export const arbLimit: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...SPECIAL_NUMBERS) },
  { weight: 4, arbitrary: fc.double({ min: 0, max: 10, noNaN: true }) },
  { weight: 1, arbitrary: arbJunk },
)

export const arbInt: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: -5, max: 5 }) },
  { weight: 1, arbitrary: fc.constantFrom(1.5, NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 31)) },
  { weight: 1, arbitrary: arbJunk },
)

export const arbAxes: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(undefined),
  fc.integer({ min: -5, max: 5 }),
  fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 4 }),
  fc.constantFrom([0, 0], [1, -1], [0.5], [NaN], ['0'], [], [[0]]),
  arbJunk,
)

const arbBool: fc.Arbitrary<unknown> = fc.oneof({ weight: 4, arbitrary: fc.boolean() }, { weight: 1, arbitrary: arbJunk })

/** Schedules and callbacks: well-behaved functions that return numbers, tensors, their input, or junk (they never throw). */
export const arbFn: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant((x: unknown) => x),
  fc.constant((ts: unknown) => (Array.isArray(ts) ? ts.slice() : ts)),
  fc.constant(() => tensor([1, 2])),
  fc.constant(() => [tensor([1, 2])]),
  fc.constant((step: number) => 0.1 / (1 + Math.abs(Number(step) || 0))),
  arbJunk.map((j) => () => j),
)

export const arbHyper: fc.Arbitrary<unknown> = fc.oneof({ weight: 4, arbitrary: arbLimit }, { weight: 1, arbitrary: arbFn })

const OPTION_KEYS = [
  'learningRate', 'momentum', 'rho', 'epsilon', 'beta1', 'beta2', 'normAxes', 'returnNorm', 'axis', 'normType', 'errorIfNonfinite',
  'initValue', 'endValue', 'peakValue', 'decaySteps', 'warmupSteps', 'transitionSteps', 'transitionBegin', 'decayRate', 'staircase',
  'alpha', 'exponent', 'power', 'boundariesAndScales', 'flavor', 'nesterov', 'maxConsecutiveErrors', 'everyK', 'unknownOption',
]

const arbOptionValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: arbLimit },
  { weight: 1, arbitrary: arbInt },
  { weight: 1, arbitrary: arbAxes },
  { weight: 1, arbitrary: arbBool },
  { weight: 1, arbitrary: arbFn },
  { weight: 1, arbitrary: fc.constantFrom('lasagne', 'tf', 'torch', { 10: 0.5, 20: 0.1 }, { x: 1 }) },
)

export const arbOptions: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 6, arbitrary: fc.dictionary(fc.constantFrom(...OPTION_KEYS), arbOptionValue, { maxKeys: 3 }) },
  { weight: 1, arbitrary: arbJunk },
)

/** Trees of tensors, sometimes with junk leaves or containers. */
export const arbTreeArg: fc.Arbitrary<unknown> = fc.letrec<{ tree: unknown }>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small' },
    { weight: 4, arbitrary: arbTensorValue },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 2, arbitrary: fc.array(tie('tree'), { maxLength: 3 }) },
    { weight: 2, arbitrary: fc.dictionary(fc.constantFrom('W', 'b', 'layers', '__proto__', 'constructor'), tie('tree'), { maxKeys: 3 }) },
    { weight: 1, arbitrary: arbJunk },
  ),
})).tree

/** A few real transformations, or junk. */
export const arbTx: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom<() => GradientTransformation<unknown>>(identity, () => sgd(0.1), () => adam(), setToZero).map((f) => f()) },
  { weight: 1, arbitrary: fc.constant({ init: () => 0, update: (u: unknown, s: unknown) => [u, s] }) },
  { weight: 1, arbitrary: arbJunk },
)

export const arbShapeArg: fc.Arbitrary<unknown> = fc.oneof(arbShape(3, 4), fc.constantFrom([-1], [1.5], [NaN], [2 ** 40, 2 ** 40], ['2']), arbJunk)

/** The generator for each kind of parameter. */
export const byKind: Record<Kind, fc.Arbitrary<unknown>> = {
  any: fc.oneof(arbJunk, arbTensor, arbTreeArg, arbOptions, arbFn),
  tensor: arbTensor,
  tensors: arbTensors,
  limit: arbLimit,
  int: arbInt,
  axes: arbAxes,
  options: arbOptions,
  tree: arbTreeArg,
  tx: arbTx,
  fn: arbFn,
  hyper: arbHyper,
  string: fc.oneof(fc.string({ maxLength: 6 }), arbJunk),
  dtype: fc.oneof(fc.constantFrom('float32', 'float64', 'int32', 'float16'), arbJunk),
  shape: arbShapeArg,
  bool: arbBool,
  steps: fc.oneof(fc.integer({ min: -3, max: 10 ** 6 }), fc.constantFrom(NaN, Infinity, 1.5, -1), arbJunk),
}

/**
 * A deep fingerprint of a value: every typed array's bytes, every view's
 * shape, stride and offset, every container's keys and children. Two
 * fingerprints taken before and after a call differ exactly when the call
 * wrote into something reachable from its arguments.
 */
export function fingerprint(x: unknown, seen = new Map<object, number>()): unknown {
  if (typeof x === 'function' || typeof x === 'symbol') return x
  if (typeof x !== 'object' || x === null) return typeof x === 'number' && Number.isNaN(x) ? 'NaN' : typeof x === 'bigint' ? `${x}n` : x
  if (seen.has(x)) return `#${seen.get(x)}`
  seen.set(x, seen.size)
  if (ArrayBuffer.isView(x)) return Array.from(new Uint8Array(x.buffer, x.byteOffset, x.byteLength))
  if (x instanceof Map || x instanceof Date) return String(x)
  const keys = Reflect.ownKeys(x).filter((k) => typeof k === 'string')
  return keys.map((k) => [k, Object.isFrozen(x), fingerprint((x as Record<string, unknown>)[k as string], seen)])
}

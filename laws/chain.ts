/**
 * The law suite of `chain` and `identity` on given transformations:
 * associativity and the two identity laws, observed through the updates.
 *
 * @module laws
 */
import type { Arbitrary } from 'fast-check'
import type { Monoid as FMonoid } from 'fp-ts/lib/Monoid.js'
import { type GradientTransformation, Monoid, type Params } from '../src/core/index.js'
import { arbTensor, arbTree } from './arbitraries.js'
import { firstDifference } from './compare.js'
import { type LawName, guarded, runLaws, violation } from './report.js'
import {
  type TransformCase,
  type TransformLawOptions,
  arbTransformCase,
  assertTransformation,
  describeTransformCase,
  materialize,
  transformSettings,
  updateOnce,
} from './transform.js'

/**
 * Options of {@link checkChainLaws}: those of {@link checkTransformLaws}
 * (`rtol` and `atol` are unused: these laws are bit for bit), plus the
 * monoid under test.
 * @category model
 */
export interface ChainLawOptions extends Omit<TransformLawOptions, 'rtol' | 'atol'> {
  /** The composition to check. Default the library's `Monoid` (`concat` = `chain`, `empty` = `identity()`). */
  readonly monoid?: FMonoid<GradientTransformation<unknown>>
}

/** The updates of `steps` updates of `tx` on fresh inputs of case `c`. */
function updatesOf(tx: GradientTransformation<unknown>, c: TransformCase, label: string): Params[] {
  const { params, grads } = materialize(c)
  let state = guarded(`${label}.init`, () => tx.init(params))
  return grads.map((g, k) => {
    const [u, s] = updateOnce(tx, g, state, params, `${label}.update at step ${k}`)
    state = s
    return u
  })
}

function same(law: LawName, got: GradientTransformation<unknown>, want: GradientTransformation<unknown>, c: TransformCase, names: readonly [string, string]): void {
  const a = updatesOf(got, c, names[0])
  const b = updatesOf(want, c, names[1])
  b.forEach((u, k) => {
    const d = firstDifference(a[k], u, 'updates', null)
    if (d !== null) violation(law, `${names[0]} and ${names[1]} emit different updates at step ${k}`, d)
  })
}

/**
 * Checks that composition is a monoid on `a`, `b` and `c`, observed through
 * the updates they emit over `steps` updates on generated inputs (states are
 * nested differently, so they are not compared), bit for bit:
 *
 * - `associativity`: `chain(chain(a, b), c)` and `chain(a, chain(b, c))` emit the same updates;
 * - `left-identity`: `chain(identity(), t)` emits what `t` emits, for `t` in `a, b, c`;
 * - `right-identity`: `chain(t, identity())` emits what `t` emits.
 *
 * `a`, `b` and `c` should pass {@link checkTransformLaws} first (a
 * nondeterministic stage breaks these laws too). Throws a
 * {@link LawViolation} for the first law that fails, after shrinking.
 *
 * Reference: the fp-ts `Monoid` laws, for optax's `chain` and `identity`.
 *
 * @example
 * import { checkChainLaws } from 'ndoptax/laws'
 * checkChainLaws(clip, adam({ learningRate: 1e-3 }), constrain, { numRuns: 20 })
 * @category laws
 */
export function checkChainLaws<A, B, C>(
  a: GradientTransformation<A>,
  b: GradientTransformation<B>,
  c: GradientTransformation<C>,
  options: ChainLawOptions = {},
): void {
  // the laws only compose and run the stages, so their state types do not matter here
  const stages = [[a, 'a'], [b, 'b'], [c, 'c']] as unknown as readonly (readonly [GradientTransformation<unknown>, string])[]
  for (const [t, name] of stages) assertTransformation(t, name)
  const [[ta], [tb], [tc]] = stages
  const { monoid = Monoid, ...rest } = options
  const { steps } = transformSettings(rest, 'checkChainLaws options')
  const { concat, empty } = monoid
  const law = (cs: TransformCase): void => {
    same('associativity', concat(concat(ta, tb), tc), concat(ta, concat(tb, tc)), cs, ['chain(chain(a, b), c)', 'chain(a, chain(b, c))'])
    for (const [t, n] of stages) {
      same('left-identity', concat(empty, t), t, cs, [`chain(identity(), ${n})`, n])
      same('right-identity', concat(t, empty), t, cs, [`chain(${n}, identity())`, n])
    }
  }
  const params: Arbitrary<Params> = options.params ?? arbTree(arbTensor())
  runLaws(options.name ?? 'chain', arbTransformCase(params, steps, options.elements), describeTransformCase, law, options, 50)
}

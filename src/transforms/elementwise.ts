/**
 * User-defined elementwise building blocks: a recurrence, declared as data,
 * becomes a transformation that fuses with its neighbours and runs on every
 * kernel backend, as the library's own blocks do.
 *
 * @module transforms
 */
import { type GradientTransformation } from '../core/index.js'
import { ConfigError, checkFunction, describe } from '../errors/index.js'
import { type Expr, type Recurrence, recurrence, store } from '../kernel/index.js'
import { type RecurrentState, recurrentBlock } from './block.js'

/**
 * The state of an {@link elementwise} block: its step count and one tree per
 * state name, like the params (same shapes and dtypes), starting at 0.
 * @category model
 */
export type ElementwiseState<St extends string> = RecurrentState<St>

/**
 * What {@link elementwise} needs: the block's recurrence and its per-step scalars.
 * @category model
 */
export interface ElementwiseSpec<St extends string, Sc extends string> {
  /** Names the block in errors. */
  readonly name: string
  /** Its state trees (each starts as zeros like the params). */
  readonly state: readonly St[]
  /** Its per-step scalars. */
  readonly scalars: readonly Sc[]
  /** The step reads the param `p` (as weight decay does); default false. */
  readonly params?: boolean
  /**
   * The scalars of step `t = count + 1`, each rounded with `round` to the
   * leaf dtype (called once per step and dtype).
   */
  readonly scalarsAt: (count: number, round: (x: number) => number) => Readonly<Record<Sc, number>>
  /**
   * The per-element recurrence, on the nodes of the incoming update `g`,
   * each state value (by name) and `p`, with the {@link expr} constructors:
   * returns the update and each new state value. Wrap a value in
   * `store(...)` where it is rounded to the leaf dtype (every new state
   * value should be).
   */
  readonly step: (x: Readonly<Record<'g' | 'p' | St, Expr>>, s: Readonly<Record<Sc, Expr>>) => Readonly<Record<'update' | St, Expr>>
}

/** Runs the step once on placeholder nodes, so that a step returning the wrong things is refused here, naming `spec.step`. */
function checkStep(r: Recurrence): void {
  const node = (k: number): Expr => store(k)
  const x = Object.fromEntries(['g', 'p', ...r.state].map((k, i) => [k, node(i)]))
  const s = Object.fromEntries(r.scalars.map((k, i) => [k, node(-1 - i)]))
  const out: unknown = r.step(x as never, s as never)
  ;['update', ...r.state].forEach((name) => {
    const e = typeof out === 'object' && out !== null ? (out as Record<string, unknown>)[name] : undefined
    if (typeof e !== 'object' || e === null || typeof (e as { kind?: unknown }).kind !== 'string') {
      throw new ConfigError('spec.step', `expected it to return an expression (built with expr) for ${name}, got ${describe(e)}`)
    }
  })
}

/**
 * A stateful building block from its recurrence. The recurrence is compiled
 * once per dtype and backend (JavaScript, WebAssembly SIMD) into one pass
 * per leaf, with the neighbouring scaling stages of a chain and the final
 * `p + u` of `optimizer().step` folded in; both backends give the same bits.
 *
 * @example
 * // AdaBelief's scaling (Zhuang et al. 2020), written as a recurrence:
 * // m' = b1·m + (1−b1)·g,  s' = b2·s + (1−b2)·(g − m')² + eps,  u = m̂ / (sqrt(ŝ) + eps)
 * const { add, sub, mul, div, sqrt, store } = expr
 * const belief = elementwise({
 *   name: 'belief',
 *   state: ['mu', 'nu'],
 *   scalars: ['b1', 'c1', 'b2', 'c2', 'eps', 'mHat', 'sHat'],
 *   scalarsAt: (count, round) => {
 *     const t = count + 1
 *     return { b1: round(0.9), c1: round(0.1), b2: round(0.999), c2: round(0.001), eps: round(1e-16),
 *       mHat: round(1 / (1 - 0.9 ** t)), sHat: round(1 / (1 - 0.999 ** t)) }
 *   },
 *   step: ({ g, mu, nu }, { b1, c1, b2, c2, eps, mHat, sHat }) => {
 *     const mu1 = store(add(mul(b1, mu), mul(c1, g)))
 *     const r = sub(g, mu1)
 *     const nu1 = store(add(add(mul(b2, nu), mul(c2, mul(r, r))), eps))
 *     return { update: div(mul(mHat, mu1), add(sqrt(mul(sHat, nu1)), eps)), mu: mu1, nu: nu1 }
 *   },
 * })
 * const adabelief = chain(belief, scaleByLearningRate(1e-3))
 * @category constructors
 */
export function elementwise<const St extends string, const Sc extends string>(spec: ElementwiseSpec<St, Sc>): GradientTransformation<ElementwiseState<St>> {
  if (typeof spec !== 'object' || spec === null) throw new ConfigError('spec', `expected { name, state, scalars, scalarsAt, step }, got ${describe(spec)}`)
  const { name, state, scalars } = spec
  if (typeof name !== 'string') throw new ConfigError('spec.name', `expected a string, got ${describe(name)}`)
  const names = [['spec.state', state] as const, ['spec.scalars', scalars] as const]
  names.forEach(([key, list]) => {
    if (!Array.isArray(list) || !list.every((k) => typeof k === 'string')) throw new ConfigError(key, `expected an array of names, got ${describe(list)}`)
  })
  if (state.includes('count' as St)) throw new ConfigError('spec.state', "'count' is the step count of the state, not a state tree")
  checkFunction('spec.scalarsAt', spec.scalarsAt, '(count, round) => scalars')
  checkFunction('spec.step', spec.step, '(x, s) => ({ update, ...state })')
  const r: Recurrence<St, Sc> = recurrence({ name, state, scalars, params: spec.params === true, step: spec.step })
  checkStep(r)
  return recurrentBlock(r, (count) => count, (round, count) => spec.scalarsAt(count, round))
}

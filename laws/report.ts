/**
 * The error the law suites throw, and the runner that lets fast-check shrink
 * a failing case before reporting it readably.
 *
 * @module laws
 */
import fc from 'fast-check'
import type { Arbitrary } from 'fast-check'
import { checkNumber } from '../src/errors/index.js'
import { type Difference, formatDifference } from './compare.js'

/**
 * The laws the suites check. Transformations: `purity`, `determinism`,
 * `update-structure`, `state-structure`, `dtype`, `stride-invariance`.
 * Constraints: `purity`, `shape`, `dtype`, `bound`, `direction`,
 * `idempotence`, `stride-invariance`. Chains: `associativity`,
 * `left-identity`, `right-identity`. Any suite: `no-error` (the function
 * under test threw on a valid input).
 * @category model
 */
export type LawName =
  | 'purity'
  | 'determinism'
  | 'update-structure'
  | 'state-structure'
  | 'dtype'
  | 'stride-invariance'
  | 'shape'
  | 'bound'
  | 'direction'
  | 'idempotence'
  | 'associativity'
  | 'left-identity'
  | 'right-identity'
  | 'no-error'

/**
 * Where a shrunk counterexample came from, and how to replay it: the extra
 * fields of a {@link LawViolation}.
 * @category model
 */
export interface CounterexampleInfo {
  /** What was checked, e.g. `'the transformation'`. */
  readonly subject?: string
  /** The shrunk input, one leaf per line. */
  readonly counterexample?: string
  /** fast-check's seed: pass it back with `path` as options to replay this case. */
  readonly seed?: number
  /** fast-check's path of the shrunk case. */
  readonly path?: string
  /** How many times fast-check shrank the first failing case. */
  readonly numShrinks?: number
  /** The first differing element, when the law compares values. */
  readonly difference?: Difference
  /** The error the check itself threw, for `no-error` violations. */
  readonly cause?: unknown
}

/**
 * A law that does not hold. `law` names it, `details` says what was seen
 * (with the first differing element), and the message adds the shrunk
 * counterexample (shapes, dtypes, values and views) and the seed and path
 * that replay it.
 *
 * @example
 * try { checkTransformLaws(myTx) } catch (e) { if (e instanceof LawViolation) console.log(e.law, e.details) }
 * @category errors
 */
export class LawViolation extends Error {
  /** The law that failed. */
  readonly law: LawName
  /** What was seen, e.g. `updates at step 1 differ …: updates.W[1,0]: got 3, want 2`. */
  readonly details: string
  /** The first differing element, when the law compares values. */
  readonly difference: Difference | null
  /** The shrunk counterexample as text, once the suite has finished shrinking. */
  readonly counterexample: string | null
  /** fast-check's seed of the failing run. */
  readonly seed: number | null
  /** fast-check's path of the shrunk case (replay with `{ seed, path }`). */
  readonly path: string | null

  constructor(law: LawName, details: string, info: CounterexampleInfo = {}) {
    super(formatMessage(law, details, info), info.cause === undefined ? undefined : { cause: info.cause })
    Object.defineProperty(this, 'name', { value: 'LawViolation', enumerable: false, configurable: true, writable: true })
    this.law = law
    this.details = details
    this.difference = info.difference ?? null
    this.counterexample = info.counterexample ?? null
    this.seed = info.seed ?? null
    this.path = info.path ?? null
  }
}

function formatMessage(law: LawName, details: string, info: CounterexampleInfo): string {
  const head = `law "${law}" does not hold${info.subject === undefined ? '' : ` for ${info.subject}`}: ${details}`
  if (info.counterexample === undefined) return head
  const shrinks = info.numShrinks === undefined ? '' : `after ${info.numShrinks} shrinks; `
  const replay = info.seed === undefined ? '' : `replay with { seed: ${info.seed}, path: ${JSON.stringify(info.path ?? '')} }`
  return `${head}\ncounterexample (${shrinks}${replay}):\n${info.counterexample}`
}

/**
 * Throws a {@link LawViolation} for `law`; with a difference, its first
 * differing element is appended to `what`.
 */
export function violation(law: LawName, what: string, difference?: Difference): never {
  const details = difference === undefined ? what : `${what}: ${formatDifference(difference)}`
  throw new LawViolation(law, details, { difference })
}

const FROZEN_WRITE = /read[- ]only|not extensible|object is frozen|Cannot (add|assign|delete|define|redefine)/i

/**
 * Runs `f`, the code under test. A throw becomes a {@link LawViolation}:
 * `purity` when it is a write into a frozen state, `no-error` otherwise.
 */
export function guarded<R>(what: string, f: () => R): R {
  try {
    return f()
  } catch (e) {
    if (e instanceof LawViolation) throw e
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e)
    if (e instanceof TypeError && FROZEN_WRITE.test(e.message)) violation('purity', `${what} wrote into its frozen input (${msg})`)
    violation('no-error', `${what} threw on a valid input (${msg})`)
  }
}

/**
 * Options shared by the suites' runners.
 * @category model
 */
export interface RunOptions {
  /** How many generated cases to check. */
  readonly numRuns?: number
  /** fast-check's seed, to replay a run. */
  readonly seed?: number
  /** fast-check's counterexample path (with `seed`), to replay one case. */
  readonly path?: string
}

/**
 * Checks `law` on `numRuns` cases of `arb`, lets fast-check shrink the first
 * failing case, and throws its {@link LawViolation} with the shrunk case
 * described by `describeCase`.
 */
export function runLaws<T>(
  subject: string,
  arb: Arbitrary<T>,
  describeCase: (c: T) => string,
  law: (c: T) => void,
  options: RunOptions,
  defaultRuns: number,
): void {
  const numRuns = checkNumber('numRuns', options.numRuns ?? defaultRuns, { min: 1, integer: true })
  const params = { numRuns, ...(options.seed === undefined ? {} : { seed: options.seed }), ...(options.path === undefined ? {} : { path: options.path }) }
  const details = fc.check(fc.property(arb, (c) => law(c)), params)
  if (!details.failed) return
  const shrunk = details.counterexample?.[0]
  const err = details.errorInstance
  const info: CounterexampleInfo = {
    subject,
    counterexample: shrunk === undefined ? '(none)' : describeCase(shrunk),
    seed: details.seed,
    path: details.counterexamplePath ?? undefined,
    numShrinks: details.numShrinks,
  }
  if (err instanceof LawViolation) throw new LawViolation(err.law, err.details, { ...info, difference: err.difference ?? undefined })
  const msg = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
  throw new LawViolation('no-error', `the check threw (${msg})`, { ...info, cause: err })
}

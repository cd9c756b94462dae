/**
 * Typed errors and the one scalar validator of ndoptax.
 *
 * Every error the library throws is an instance of one of the classes below.
 * Each has a stable `name`, extends the built-in class a JavaScript caller
 * would expect (`TypeError` for wrong kinds of values, `RangeError` for values
 * out of their domain), carries `where` (the argument name, tree path or axis
 * the problem was found at), and its message says what was wrong, what was
 * expected and where.
 *
 * @module errors
 */

const brand: unique symbol = Symbol.for('ndoptax.error')

/** Fields shared by every ndoptax error. */
export interface NdoptaxErrorInfo {
  /** Where the problem was found: an argument name, a tree path or an axis. */
  readonly where: string
}

function tag<E extends Error>(e: E, name: string, where: string): E & NdoptaxErrorInfo {
  Object.defineProperty(e, 'name', { value: name, enumerable: false, configurable: true, writable: true })
  Object.defineProperty(e, 'where', { value: where, enumerable: true })
  Object.defineProperty(e, brand, { value: true })
  return e as E & NdoptaxErrorInfo
}

function message(where: string, what: string): string {
  return where === '' ? what : `${where}: ${what}`
}

/**
 * The constructor of an ndoptax error class: `new E(where, what, options?)`
 * makes an error whose message is `where: what`.
 *
 * @example
 * const e = new ShapeError('params.W', 'shape [3,4] vs [4,3]') // e.message === 'params.W: shape [3,4] vs [4,3]'
 * @category errors
 */
export interface NdoptaxErrorConstructor<E extends Error> {
  new (where: string, what: string, options?: { cause?: unknown }): E & NdoptaxErrorInfo
  /** The prototype shared by the class's instances. */
  readonly prototype: E & NdoptaxErrorInfo
}

/**
 * The base of every ndoptax error class: the built-in `Base` (so
 * `instanceof TypeError` / `RangeError` keeps working) with the stable
 * `name`, the `where` field and the message `where: what`.
 */
function errorClass<E extends Error>(Base: new (message?: string, options?: { cause?: unknown }) => E, name: string): NdoptaxErrorConstructor<E> {
  const C = class extends (Base as new (message?: string, options?: { cause?: unknown }) => Error) {
    constructor(where: string, what: string, options?: { cause?: unknown }) {
      super(message(where, what), options)
      tag(this, name, where)
    }
  }
  return C as unknown as NdoptaxErrorConstructor<E>
}

/**
 * True for every error thrown by ndoptax.
 *
 * @example
 * try { normConstraint(x, -1) } catch (e) { if (isNdoptaxError(e)) console.log(e.name, e.where) }
 * @category utils
 */
export function isNdoptaxError(e: unknown): e is Error & NdoptaxErrorInfo {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[brand] === true
}

/**
 * A value that is not a tensor where a tensor was expected, or a tensor whose
 * storage is not a `Float32Array` / `Float64Array`.
 *
 * @example
 * // "x: expected a Tensor (an ndarray over Float32Array or Float64Array), got number"
 * @category errors
 */
export class InvalidTensorError extends errorClass(TypeError, 'InvalidTensorError') {}

/**
 * A dtype that is not allowed here: an integer array, or two tensors that must
 * share a dtype but do not.
 *
 * @example
 * // "x: expected a floating-point array (float32 or float64), got int32"
 * @category errors
 */
export class DtypeError extends errorClass(TypeError, 'DtypeError') {}

/**
 * Two shapes that must agree do not, or a shape that is invalid.
 *
 * @example
 * // "params.layers[2].W: shape [3,4] vs [4,3]"
 * @category errors
 */
export class ShapeError extends errorClass(RangeError, 'ShapeError') {}

/**
 * An axis argument that is not an integer, is out of range for the array's
 * number of dimensions, or is repeated (after negative axes are wrapped).
 *
 * @example
 * // "normAxes: axis 2 is out of range for an array of 2 dimensions (expected -2..1)"
 * @category errors
 */
export class AxisError extends errorClass(RangeError, 'AxisError') {}

/**
 * Two trees that must have the same structure do not; `where` is the path of
 * the first difference.
 *
 * @example
 * // "updates.layers[1]: expected an object with keys [W,b], got an object with keys [W]"
 * @category errors
 */
export class StructureError extends errorClass(TypeError, 'StructureError') {}

/**
 * A configuration value (a limit, a hyperparameter, an option) that is of the
 * wrong kind or outside its domain.
 *
 * @example
 * // "clipNorm: expected a finite number > 0, got -1"
 * @category errors
 */
export class ConfigError extends errorClass(RangeError, 'ConfigError') {}

/**
 * A norm or a value that had to be finite was NaN or infinite (for example
 * `clipGradNorm(..., { errorIfNonfinite: true })`).
 *
 * @example
 * // "grads: the total norm of order 2 is non-finite (NaN), so it cannot be clipped"
 * @category errors
 */
export class NonFiniteError extends errorClass(RangeError, 'NonFiniteError') {}

/**
 * A tree, state or tensor that was donated to an earlier step of
 * `optimizer(tx, { donate: true })` (its buffers were recycled for that
 * step's results) was passed to a step, or read by a kernel, again.
 *
 * @example
 * // "params.w: was donated to an earlier step of optimizer(tx, { donate: true }), which took over its buffers; pass the params and state that step returned"
 * @category errors
 */
export class DonatedBufferError extends errorClass(Error, 'DonatedBufferError') {}

/**
 * Why a checkpoint could not be written or read: `'io'` (the file system
 * refused), `'truncated'` (the file ends early), `'corrupt'` (bytes that do
 * not parse or do not match their checksum), `'foreign'` (a file that is not
 * an ndoptax checkpoint), `'unsupported'` (a value that cannot be stored).
 */
export type CheckpointErrorReason = 'io' | 'truncated' | 'corrupt' | 'foreign' | 'unsupported'

/**
 * A checkpoint (`ndoptax/node`) that could not be written or read; `reason`
 * says which kind of failure it was, `cause` holds the underlying error.
 *
 * @example
 * // "ckpt.safetensors: truncated file: the header claims 912 bytes but only 40 follow"
 * @category errors
 */
export class CheckpointError extends errorClass(Error, 'CheckpointError') {
  /** The kind of failure. */
  readonly reason: CheckpointErrorReason
  constructor(where: string, what: string, reason: CheckpointErrorReason, options?: { cause?: unknown }) {
    super(where, what, options)
    this.reason = reason
  }
}

/** Formats any value briefly for an error message. */
export function describe(v: unknown): string {
  if (v === null) return 'null'
  if (v === undefined) return 'undefined'
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : String(v)
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)
  if (typeof v === 'function') return 'a function'
  if (Array.isArray(v)) return `an array of length ${v.length}`
  if (ArrayBuffer.isView(v)) return (v as object).constructor.name
  if (typeof v === 'object') {
    const c = Object.getPrototypeOf(v)?.constructor?.name
    return c && c !== 'Object' ? `a ${c}` : 'an object'
  }
  return typeof v
}

/** The domain a scalar option must lie in; every bound is optional. */
export interface NumberDomain {
  /** Smallest allowed value (inclusive unless `minExclusive`). */
  readonly min?: number
  /** Largest allowed value (inclusive unless `maxExclusive`). */
  readonly max?: number
  /** Exclude `min` itself (`value > min`). Default false. */
  readonly minExclusive?: boolean
  /** Exclude `max` itself (`value < max`). Default false. */
  readonly maxExclusive?: boolean
  /** Allow `+Infinity` / `-Infinity` (when inside the bounds). Default false. */
  readonly allowInfinity?: boolean
  /** Require an integer. */
  readonly integer?: boolean
}

function domainText(d: NumberDomain): string {
  const parts: string[] = []
  if (d.integer) parts.push('an integer')
  else parts.push(d.allowInfinity ? 'a number' : 'a finite number')
  if (d.min !== undefined) parts.push(`${d.minExclusive ? '>' : '>='} ${d.min}`)
  if (d.max !== undefined) parts.push(`${d.maxExclusive ? '<' : '<='} ${d.max}`)
  return parts.join(' ')
}

/**
 * The one scalar validator: returns `value` when it is a number in `domain`,
 * otherwise throws a `ConfigError` naming `name`. NaN is never accepted.
 *
 * @example
 * checkNumber('clipNorm', 2, { min: 0, minExclusive: true }) // 2
 * checkNumber('clipNorm', -1, { min: 0, minExclusive: true }) // throws ConfigError
 * @category utils
 */
export function checkNumber(name: string, value: unknown, domain: NumberDomain = {}): number {
  const ok =
    typeof value === 'number' &&
    !Number.isNaN(value) &&
    (domain.allowInfinity || Number.isFinite(value)) &&
    (!domain.integer || Number.isInteger(value)) &&
    (domain.min === undefined || (domain.minExclusive ? value > domain.min : value >= domain.min)) &&
    (domain.max === undefined || (domain.maxExclusive ? value < domain.max : value <= domain.max))
  if (!ok) throw new ConfigError(name, `expected ${domainText(domain)}, got ${describe(value)}`)
  return value as number
}

/**
 * Throws a `ConfigError` naming `name` unless `value` is a plain options
 * object (or undefined), and unless every key of it is one of `known`.
 * Misspelt options are errors, never silently ignored.
 * @category utils
 */
export function checkOptions(name: string, value: unknown, known: readonly string[]): void {
  if (value === undefined) return
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(name, `expected an options object, got ${describe(value)}`)
  }
  for (const k of Object.keys(value)) {
    if (!known.includes(k)) {
      throw new ConfigError(`${name}.${k}`, `unknown option (expected one of ${known.join(', ')})`)
    }
  }
}

/**
 * Returns `value` when it is a function; otherwise throws a `ConfigError`
 * naming `name` and saying what kind of function was `expected`.
 *
 * @example
 * checkFunction('f', (t: number) => t, '(t: Tensor) => Tensor') // the function
 * @category utils
 */
export function checkFunction<F>(name: string, value: F, expected: string): F {
  if (typeof value !== 'function') {
    throw new ConfigError(name, `expected a function ${typeof expected === 'string' ? expected : ''}, got ${describe(value)}`)
  }
  return value
}

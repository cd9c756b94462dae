/**
 * A high-precision reference for the constraints: every double converted
 * exactly to a 60-digit decimal (decimal.js), norms and factors computed in
 * that precision from the exact inputs, and errors measured in ulps of the
 * result's dtype at the exact value.
 */
import { Decimal } from 'decimal.js'
import type { Dtype } from '../../src/tensor/index.js'

/** Decimals with 60 significant digits and an exponent range far beyond float64's. */
export const Dec = Decimal.clone({ precision: 60, minE: -9e15, maxE: 9e15 })
export type Dec = InstanceType<typeof Dec>

const TWO = new Dec(2)
const powers = new Map<number, Dec>()
/** `2^e`, exactly as far as 60 digits go, cached (the reference is otherwise dominated by these). */
function pow2(e: number): Dec {
  let v = powers.get(e)
  if (v === undefined) powers.set(e, (v = TWO.pow(e)))
  return v
}

/**
 * The exact value of a finite double: `x = m · 2^e` with `e` the exponent of
 * its last mantissa bit, so that `m = x / 2^e` is an integer of at most 53
 * bits (a division by a power of two, exact in float64).
 */
export function exact(x: number): Dec {
  if (x === 0) return new Dec(0)
  let e = Math.max(-1074, Math.floor(Math.log2(Math.abs(x))) - 52)
  while (!Number.isInteger(x / 2 ** e)) e-- // log2 may round up at a power of two
  return new Dec(x / 2 ** e).times(pow2(e))
}

/** The exact p-norm (`p > 0` or `Infinity`) of `values`. */
export function exactNorm(values: readonly number[], p: number): Dec {
  const xs = values.map((v) => exact(Math.abs(v)))
  if (p === Infinity) return xs.reduce((a, b) => (b.greaterThan(a) ? b : a), new Dec(0))
  const sum = xs.reduce((a, b) => a.plus(p === 2 ? b.times(b) : p === 1 ? b : b.isZero() ? b : b.pow(p)), new Dec(0))
  return p === 2 ? sum.sqrt() : p === 1 ? sum : sum.isZero() ? sum : sum.pow(new Dec(1).dividedBy(p))
}

/** One ulp of `dtype` at the magnitude of `v` (the subnormal spacing below the normal range). */
export function ulpAt(v: Dec, dtype: Dtype): Dec {
  const [mant, minExp] = dtype === 'float32' ? [23, -126] : [52, -1022]
  if (v.isZero()) return pow2(minExp - mant)
  const a = v.abs()
  const guess = Math.floor(Math.log2(a.toNumber()))
  // the float64 estimate may be one off at a power of two (or out of range): settle it exactly
  let e = Number.isFinite(guess) ? guess : a.greaterThan(1) ? 1023 : -1074
  while (pow2(e).greaterThan(a)) e--
  while (pow2(e + 1).lessThanOrEqualTo(a)) e++
  return pow2(Math.max(e, minExp) - mant)
}

/** `|got - want| / ulp(want)`: 0 when equal, at most 0.5 for a correctly rounded result. */
export function ulpError(got: number, want: Dec, dtype: Dtype): number {
  if (!Number.isFinite(got)) return Infinity
  return exact(got).minus(want).abs().dividedBy(ulpAt(want, dtype)).toNumber()
}

/** A finite double times 2¹⁰⁷⁴, an integer, as a BigInt (every double is a multiple of 2⁻¹⁰⁷⁴). */
function scaledInteger(x: number): bigint {
  if (x === 0) return 0n
  let e = Math.max(-1074, Math.floor(Math.log2(Math.abs(x))) - 52)
  while (!Number.isInteger(x / 2 ** e)) e--
  return BigInt(x / 2 ** e) << BigInt(e + 1074)
}

/**
 * `‖values‖_p <= limit`, decided exactly: in integers for p = 1 and 2 (the
 * values and the limit times 2¹⁰⁷⁴), by comparison for p = ∞, and for other
 * p in 60 digits with a relative margin of 1e-50 (far below any rounding of
 * the library's).
 */
export function normWithin(values: readonly number[], p: number, limit: number): boolean {
  if (p === Infinity) return values.every((v) => Math.abs(v) <= limit)
  if (p === 1 || p === 2) {
    const k = BigInt(p)
    const sum = values.reduce((acc, v) => acc + scaledInteger(Math.abs(v)) ** k, 0n)
    return sum <= scaledInteger(limit) ** k
  }
  return exactNorm(values, p).lessThanOrEqualTo(exact(limit).times(new Dec(1).plus('1e-50')))
}

/**
 * Shared by the constraint tests: golden arrays as (view) tensors, snapshots
 * proving an input was not written, and tolerance / bit comparisons.
 */
import { readFileSync } from 'node:fs'
import { expect } from 'vitest'
import { type Dtype, type Tensor, dtypeOf, isRowMajor, tensor, toArray } from '../../src/tensor/index.js'
import { sameNumber } from './views.js'

/** An array of the golden files. */
export interface GoldenArray {
  readonly dtype: Dtype
  readonly shape: number[]
  readonly data: number[]
  readonly view?: { readonly transpose?: number[]; readonly step?: number[] }
}

/** One case of `test/golden/constraints.json`. */
export interface ConstraintCase {
  readonly op: string
  readonly args: Record<string, unknown>
  readonly input?: GoldenArray
  readonly inputs?: GoldenArray[]
  readonly expected?: GoldenArray | GoldenArray[]
  readonly expectedNorm?: number
  readonly error?: string
  readonly rtol?: number
  readonly atol?: number
}

/** The cases of a golden file under `test/golden/`. */
export function loadGolden<C>(name: string): C[] {
  const url = new URL(`../golden/${name}`, import.meta.url)
  return (JSON.parse(readFileSync(url, 'utf8')) as { cases: C[] }).cases
}

/** A golden array as a tensor: built from `shape`/`data`, then `transpose`, then `step`. */
export function fromGolden(a: GoldenArray): Tensor {
  let t = tensor(a.data, a.shape, a.dtype)
  if (a.view?.transpose) t = t.transpose(...a.view.transpose)
  if (a.view?.step) t = t.step(...a.view.step)
  return t
}

/** The golden strings `"NaN"` / `"inf"` as numbers; anything else unchanged. */
export function goldenValue(v: unknown): unknown {
  if (v === 'NaN') return Number.NaN
  if (v === 'inf') return Infinity
  if (v === '-inf') return -Infinity
  return v
}

/** What a tensor looked like: its whole storage, shape, strides and offset. */
export interface Snapshot {
  readonly t: Tensor
  readonly data: number[]
  readonly shape: number[]
  readonly stride: number[]
  readonly offset: number
}

export function snapshot(t: Tensor): Snapshot {
  return { t, data: Array.from(t.data), shape: t.shape.slice(), stride: t.stride.slice(), offset: t.offset }
}

/** The tensor's storage is bit-identical (-0 and NaN included) and its view unchanged. */
export function expectUnchanged(s: Snapshot): void {
  expect(s.t.shape).toEqual(s.shape)
  expect(s.t.stride).toEqual(s.stride)
  expect(s.t.offset).toBe(s.offset)
  const bad = s.data.findIndex((v, i) => !Object.is(v, s.t.data[i]))
  expect(bad, `storage element ${bad} was written`).toBe(-1)
}

/** A result is a new contiguous row-major tensor that shares no storage with `inputs`. */
export function expectFresh(out: Tensor, ...inputs: Tensor[]): void {
  expect(isRowMajor(out)).toBe(true)
  expect(out.offset).toBe(0)
  for (const x of inputs) expect(out.data).not.toBe(x.data)
}

/** `|got - want| <= atol + rtol·|want|` element by element (NaN matches NaN), same shape and dtype. */
export function expectClose(got: Tensor, want: Tensor | GoldenArray, rtol: number, atol: number): void {
  const w = 'data' in want && Array.isArray(want.data) ? (want as GoldenArray) : undefined
  const wantShape = w ? w.shape : (want as Tensor).shape
  const wantData = w ? w.data : toArray(want as Tensor)
  const wantDtype = w ? w.dtype : dtypeOf(want as Tensor)
  expect(got.shape).toEqual(wantShape)
  expect(dtypeOf(got)).toBe(wantDtype)
  const g = toArray(got)
  const bad = wantData.findIndex((v, i) => !(sameNumber(g[i], v) || Math.abs(g[i] - v) <= atol + rtol * Math.abs(v)))
  expect(bad, bad < 0 ? '' : `element ${bad}: got ${g[bad]}, want ${wantData[bad]}`).toBe(-1)
}

/** Bit-identical values in row-major order (NaN equals NaN, -0 differs from 0). */
export function expectBits(got: Tensor, want: readonly number[]): void {
  const g = toArray(got)
  expect(g.length).toBe(want.length)
  const bad = want.findIndex((v, i) => !Object.is(g[i], v) && !(Number.isNaN(v) && Number.isNaN(g[i])))
  expect(bad, bad < 0 ? '' : `element ${bad}: got ${g[bad]}, want ${want[bad]}`).toBe(-1)
}

/** Runs `f` and returns what it threw (fails when it returns). */
export function thrown(f: () => unknown): Error {
  try {
    f()
  } catch (e) {
    return e as Error
  }
  throw new Error('expected a throw')
}

/** The distance from `a` to `b` in ulps of `dtype` at `b` (0 for equal values, Infinity when only one is NaN). */
export function ulpDistance(a: number, b: number, dtype: Dtype): number {
  if (Object.is(a, b) || a === b) return 0
  if (a !== a || b !== b || !Number.isFinite(a) || !Number.isFinite(b)) return Infinity
  const m = Math.abs(b)
  const e = Math.max(Math.floor(Math.log2(m || Number.MIN_VALUE)), dtype === 'float32' ? -126 : -1022)
  const ulp = 2 ** (e - (dtype === 'float32' ? 23 : 52))
  return Math.abs(a - b) / ulp
}

/** Asserts every element of `got` is within `maxUlps` ulps (of its dtype) of `want`. */
export function expectUlps(got: Tensor, want: readonly number[], maxUlps: number): void {
  const g = toArray(got)
  expect(g.length).toBe(want.length)
  const dtype = dtypeOf(got)
  const worst = Math.max(0, ...g.map((v, i) => ulpDistance(v, want[i], dtype)))
  expect(worst, `${JSON.stringify(g)} vs ${JSON.stringify(want)}`).toBeLessThanOrEqual(maxUlps)
}

/**
 * A small seeded PRNG for the examples, written as pure functions: a state is
 * a 32-bit integer, `next(state)` returns a uniform number in [0, 1) and the
 * next state (mulberry32). The same seed gives the same stream on every
 * machine, which makes every training run of the examples reproducible.
 */

/** The state of the generator: an unsigned 32-bit integer. */
export type Rng = number

/** The generator seeded with `seed` (any integer; mixed so nearby seeds differ). */
export function rng(seed: number): Rng {
  return mix((seed >>> 0) ^ 0x9e3779b9)
}

/** Derives an independent stream from `r` for `label` (e.g. an epoch index). */
export function split(r: Rng, label: number): Rng {
  return mix((r + Math.imul(label + 1, 0x85ebca6b)) >>> 0)
}

function mix(x: number): number {
  let h = x >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d)
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b)
  return (h ^ (h >>> 16)) >>> 0
}

/** One uniform draw in [0, 1) and the next state (mulberry32). */
export function next(r: Rng): readonly [number, Rng] {
  const s = (r + 0x6d2b79f5) >>> 0
  let t = s
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return [((t ^ (t >>> 14)) >>> 0) / 4294967296, s]
}

/** `n` uniform draws in [lo, hi) and the next state. */
export function uniform(r: Rng, n: number, lo: number, hi: number): readonly [Float64Array, Rng] {
  const out = new Float64Array(n)
  let s = r
  for (let i = 0; i < n; i++) {
    const [u, s2] = next(s)
    out[i] = lo + (hi - lo) * u
    s = s2
  }
  return [out, s]
}

/** A uniformly random permutation of `0..n-1` (Fisher–Yates) and the next state. */
export function permutation(r: Rng, n: number): readonly [number[], Rng] {
  const p = Array.from({ length: n }, (_, i) => i)
  let s = r
  for (let i = n - 1; i > 0; i--) {
    const [u, s2] = next(s)
    s = s2
    const j = Math.floor(u * (i + 1))
    const tmp = p[i]
    p[i] = p[j]
    p[j] = tmp
  }
  return [p, s]
}

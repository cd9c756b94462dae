import type { Dtype } from '../../src/tensor/index.js'

/**
 * The published bounds, in ulps of the dtype, of a result against the exact
 * value of its source system's formula (docs/constraints.md, "Precision"),
 * from the error analysis of `src/constraints/norms.ts` (u = 2⁻⁵³):
 * - a slice left as it is (factor exactly 1) is exact;
 * - a scaled slice: the product's rounding (0.5 ulp), plus the factor
 *   lowered so that the slice provably ends within its limit, by the
 *   norm's error bound, the output's rounding (float32: 2⁻²⁴, up to 1 ulp;
 *   float64: u) and about 6u for the float64 arithmetic of the factor and
 *   of the formula; in float32 up to 1 ulp more when the limit rounds up in
 *   float32 (the smaller of the caller's limit and its float32 value is
 *   kept). An ulp is u to 2u relative, so float64 bounds count every u as
 *   an ulp;
 * - the norm's error: 2.5u for p = 2 (4 ulps at most), 2u for p = 1, twice
 *   that for a total over several tensors, none for p = ∞ or float32 data,
 *   and up to (714/p + 2)u for a fractional p (the rounding of 1/p, times
 *   |ln s| ≤ 710, in the root).
 */
export const BOUNDS: Record<string, Record<Dtype, number>> = {
  computeNorms: { float32: 0.501, float64: 3 },
  normConstraint: { float32: 2.51, float64: 10 },
  clipByNorm: { float32: 2.51, float64: 10 },
  maxNorm: { float32: 2.51, float64: 10 },
  renorm: { float32: 2.51, float64: 10 },
  renormFractional: { float32: 2.51, float64: 1500 },
  totalNormConstraint: { float32: 2.51, float64: 14 },
  clipByGlobalNorm: { float32: 2.51, float64: 14 },
  clipGradNorm: { float32: 2.51, float64: 14 },
  clipGradNormFractional: { float32: 2.51, float64: 1500 },
}

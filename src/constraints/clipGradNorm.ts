/**
 * PyTorch `torch.nn.utils.clip_grad_norm_`, pure: clip a list of gradients
 * by their total p-norm.
 *
 * @module constraints
 */
import { NonFiniteError, checkNumber, checkOptions, describe } from '../errors/index.js'
import { type Tensor, scaleAll } from '../tensor/index.js'
import { assertTensorList, checkFlag, torchTotal } from './norms.js'

/** Options of {@link clipGradNorm}. */
export interface ClipGradNormOptions {
  /** The order p of the norms: a number > 0 or `Infinity` (max |g|). Default 2. */
  readonly normType?: number
  /**
   * Throw a `NonFiniteError` when the total norm is NaN or infinite instead
   * of scaling by it (torch's `error_if_nonfinite`). Default false.
   */
  readonly errorIfNonfinite?: boolean
}

/**
 * Scales every gradient of `ts` by one coefficient so that their total
 * p-norm is at most `maxNorm`, as PyTorch's `clip_grad_norm_` (without the
 * in-place write), and returns `[clipped, totalNorm]`, the norm **before**
 * clipping:
 *
 * ```
 * n_i  = ‖g_i‖_p,   N = ‖(n_1, …, n_k)‖_p      (p = ∞: N = max |g|)
 * coef = min(maxNorm / (N + 1e-6), 1)
 * y_i  = g_i · coef
 * ```
 *
 * The coefficient is always applied, and the 1e-6 is torch's: a total norm
 * equal to `maxNorm` already shrinks (`[3, 4]` with 5 gives
 * `[2.9999994, 3.9999992]`), while gradients clearly under the bound come
 * back bit-identical (coefficient exactly 1). Norms are computed in float32
 * when every gradient is float32, in float64 otherwise; outputs keep their
 * dtype. An empty list gives `[[], 0]`.
 *
 * **Limits.** `maxNorm` must be a number >= 0 (negative or NaN throws a
 * `ConfigError`; torch silently flips the gradients); `maxNorm = 0` gives
 * zeros; `maxNorm = Infinity` is the identity, also for an infinite total norm
 * (torch: `∞/∞ = NaN`). `normType` must be > 0 (or `Infinity`).
 *
 * **NaN and Inf in the data** (as torch): a NaN anywhere makes every gradient
 * all-NaN; an Inf gives NaN at the Inf entries and 0 at every finite entry;
 * an overflowing sum gives zeros. With `errorIfNonfinite: true` a NaN or
 * infinite total norm throws a `NonFiniteError` instead.
 *
 * Reference: PyTorch `torch.nn.utils.clip_grad_norm_` (1.13 and 2.x).
 *
 * @example
 * const [clipped, norm] = clipGradNorm([tensor([[3, -4]])], 1, { normType: Infinity })
 * // norm = 4; clipped[0] = [[0.7499998125, -0.99999975]]
 * @category constraints
 */
export function clipGradNorm(ts: readonly Tensor[], maxNorm: number, options?: ClipGradNormOptions): [Tensor[], number] {
  const gs = assertTensorList(ts, 'ts')
  checkOptions('options', options, ['normType', 'errorIfNonfinite'])
  const p = checkNumber('normType', options?.normType ?? 2, { min: 0, minExclusive: true, allowInfinity: true })
  const errorIfNonfinite = checkFlag('errorIfNonfinite', options?.errorIfNonfinite)
  // N = ‖(n_1..n_k)‖_p over the per-tensor norms, as torch stacks them
  const [factor, norm, reported] = torchTotal(gs, maxNorm, p)
  if (errorIfNonfinite && !Number.isFinite(norm)) {
    throw new NonFiniteError('ts', `the total norm of order ${p} is non-finite (${describe(norm)}), so it cannot be clipped (errorIfNonfinite is set)`)
  }
  return [gs.map((g) => scaleAll(g, factor)), reported]
}

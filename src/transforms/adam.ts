/**
 * Adam's and AMSGrad's scaling: bias-corrected first moment over the root of
 * the second moment, with Lasagne's epsilon placement.
 *
 * @module transforms
 */
import { type GradientTransformation, type Params } from '../core/index.js'
import { type Epilogue } from '../core/fusion.js'
import { type Kernel } from '../tensor/index.js'
import { block, countOf, fusedPass, kernels, zerosTree } from './block.js'
import { DECAY, type Hyperparameter, NON_NEGATIVE, hyperparameters } from './hyper.js'

/**
 * Options of {@link scaleByAdam}, {@link scaleByAmsgrad} and {@link scaleByAdamax}.
 * @category model
 */
export interface ScaleByAdamOptions {
  /** Decay of the first moment `mu`, in `[0, 1)`; default 0.9 (Lasagne). */
  readonly beta1?: Hyperparameter
  /** Decay of the second moment (or of the infinity norm for Adamax), in `[0, 1)`; default 0.999 (Lasagne). */
  readonly beta2?: Hyperparameter
  /** Added to the denominator; `>= 0`, default 1e-8 (Lasagne). */
  readonly epsilon?: Hyperparameter
}

/** How the three options are read (defaults and domains), shared by the Adam family. */
export const ADAM_SPEC = Object.freeze({ beta1: [0.9, DECAY], beta2: [0.999, DECAY], epsilon: [1e-8, NON_NEGATIVE] } as const)

/** The per-update scalars of Adam, rounded to a dtype as Lasagne computes them in `floatX`. */
interface AdamScalars {
  readonly beta1: number
  readonly oneMinusBeta1: number
  readonly beta2: number
  readonly oneMinusBeta2: number
  readonly epsilon: number
  /** `sqrt(1 − beta2^t) / (1 − beta1^t)`: Lasagne's `a_t` without the learning rate. */
  readonly a: number
}

function adamScalars(round: (x: number) => number, h: { beta1: number; beta2: number; epsilon: number }, t: number): AdamScalars {
  const beta1 = round(h.beta1)
  const beta2 = round(h.beta2)
  const a = round(round(Math.sqrt(round(1 - round(beta2 ** t)))) / round(1 - round(beta1 ** t)))
  return { beta1, oneMinusBeta1: round(1 - beta1), beta2, oneMinusBeta2: round(1 - beta2), epsilon: round(h.epsilon), a }
}

const F = Math.fround

/**
 * Adam's kernel with its epilogue folded in (see `Epilogue`):
 * `g ← pre·g`, the moments, `u ← post·u`, and `out = p + u` or `u`; every
 * value the stages one by one would store is rounded to the dtype here.
 */
function adamKernel(s: AdamScalars, e: Epilogue): Kernel {
  const loop = e.f32 ? adam32 : adam64
  return (n, outs, ins) => {
    const [out, mu1, nu1] = outs
    const [g, mu, nu, p] = ins
    loop(n, out, mu1, nu1, g, mu, nu, p, s, e)
  }
}

type Arr = Float32Array | Float64Array

/**
 * The float32 loop, four elements per iteration (V8 then loads each array's
 * bounds once per four accesses): every input of an element is read before
 * any output of it is written, so the outputs may be the inputs' buffers.
 */
function adam32(n: number, out: Arr, mu1: Arr, nu1: Arr, g: Arr, mu: Arr, nu: Arr, p: Arr | undefined, s: AdamScalars, e: Epilogue): void {
  const { beta1: b1, oneMinusBeta1: c1, beta2: b2, oneMinusBeta2: c2, epsilon: eps, a } = s
  const { pre, post, apply } = e
  const q = apply ? (p as Arr) : g // read only when applying
  let k = 0
  for (; k + 3 < n; k += 4) {
    const g0 = F(pre * g[k])
    const g1 = F(pre * g[k + 1])
    const g2 = F(pre * g[k + 2])
    const g3 = F(pre * g[k + 3])
    const m0 = F(b1 * mu[k] + c1 * g0)
    const m1 = F(b1 * mu[k + 1] + c1 * g1)
    const m2 = F(b1 * mu[k + 2] + c1 * g2)
    const m3 = F(b1 * mu[k + 3] + c1 * g3)
    const v0 = F(b2 * nu[k] + c2 * (g0 * g0))
    const v1 = F(b2 * nu[k + 1] + c2 * (g1 * g1))
    const v2 = F(b2 * nu[k + 2] + c2 * (g2 * g2))
    const v3 = F(b2 * nu[k + 3] + c2 * (g3 * g3))
    const p0 = apply ? q[k] : 0
    const p1 = apply ? q[k + 1] : 0
    const p2 = apply ? q[k + 2] : 0
    const p3 = apply ? q[k + 3] : 0
    const u0 = F(post * F((a * m0) / (Math.sqrt(v0) + eps)))
    const u1 = F(post * F((a * m1) / (Math.sqrt(v1) + eps)))
    const u2 = F(post * F((a * m2) / (Math.sqrt(v2) + eps)))
    const u3 = F(post * F((a * m3) / (Math.sqrt(v3) + eps)))
    mu1[k] = m0
    mu1[k + 1] = m1
    mu1[k + 2] = m2
    mu1[k + 3] = m3
    nu1[k] = v0
    nu1[k + 1] = v1
    nu1[k + 2] = v2
    nu1[k + 3] = v3
    out[k] = apply ? p0 + u0 : u0
    out[k + 1] = apply ? p1 + u1 : u1
    out[k + 2] = apply ? p2 + u2 : u2
    out[k + 3] = apply ? p3 + u3 : u3
  }
  for (; k < n; k++) {
    const pk = apply ? q[k] : 0
    const gk = F(pre * g[k])
    const m = F(b1 * mu[k] + c1 * gk)
    const v = F(b2 * nu[k] + c2 * (gk * gk))
    const u = F(post * F((a * m) / (Math.sqrt(v) + eps)))
    mu1[k] = m
    nu1[k] = v
    out[k] = apply ? pk + u : u
  }
}

/** The float64 loop: the same arithmetic, nothing to round. */
function adam64(n: number, out: Arr, mu1: Arr, nu1: Arr, g: Arr, mu: Arr, nu: Arr, p: Arr | undefined, s: AdamScalars, e: Epilogue): void {
  const { beta1: b1, oneMinusBeta1: c1, beta2: b2, oneMinusBeta2: c2, epsilon: eps, a } = s
  const { pre, post, apply } = e
  const q = apply ? (p as Arr) : g
  for (let k = 0; k < n; k++) {
    const pk = apply ? q[k] : 0
    const gk = pre * g[k]
    const m = b1 * mu[k] + c1 * gk
    const v = b2 * nu[k] + c2 * (gk * gk)
    const u = post * ((a * m) / (Math.sqrt(v) + eps)) // epsilon on the uncorrected root, as Lasagne
    mu1[k] = m
    nu1[k] = v
    out[k] = apply ? pk + u : u
  }
}

function amsgradKernel(s: AdamScalars, e: Epilogue): Kernel {
  return (n, [out, mu1, nu1, nuMax1], [g, mu, nu, nuMax, p]) => {
    const { beta1, oneMinusBeta1, beta2, oneMinusBeta2, epsilon, a } = s
    const { f32, pre, post, apply } = e
    for (let k = 0; k < n; k++) {
      const pk = apply ? p[k] : 0
      const gk = f32 ? F(pre * g[k]) : pre * g[k]
      let m = beta1 * mu[k] + oneMinusBeta1 * gk
      let v = beta2 * nu[k] + oneMinusBeta2 * (gk * gk)
      if (f32) {
        m = F(m)
        v = F(v)
      }
      const vMax = Math.max(nuMax[k], v) // over the raw nu, as Lasagne (optax: over the corrected one)
      let u = (a * m) / (Math.sqrt(vMax) + epsilon)
      u = f32 ? F(post * F(u)) : post * u
      mu1[k] = m
      nu1[k] = v
      nuMax1[k] = vMax
      out[k] = apply ? pk + u : u
    }
  }
}

/**
 * State of {@link scaleByAdam}.
 * @category model
 */
export interface ScaleByAdamState {
  /** Number of updates made so far (a plain integer): the `t` of the next update is `count + 1`. */
  readonly count: number
  /** Tree like the params (same shapes and dtypes): `mu`, the moving average of `g`. Starts at 0. */
  readonly mu: Params
  /** Tree like the params (same shapes and dtypes): `nu`, the moving average of `g²`. Starts at 0. */
  readonly nu: Params
}

/**
 * Adam's scaling (Lasagne `adam` without the learning rate; Kingma & Ba,
 * the "efficient" form of §2):
 *
 * - `t = count + 1`
 * - `mu' = beta1 · mu + (1 − beta1) · g`
 * - `nu' = beta2 · nu + (1 − beta2) · g²`
 * - `u = a_t · mu' / (sqrt(nu') + epsilon)`, `a_t = sqrt(1 − beta2^t) / (1 − beta1^t)`
 *
 * `epsilon` is added to the uncorrected `sqrt(nu')` (PyTorch, optax and
 * TensorFlow.js add it after bias correction), so its effect is
 * `1/sqrt(1 − beta2^t)` times larger: 31.6× at `t = 1`. `mu` and `nu` start
 * at 0; `count` is shared by every leaf.
 *
 * @example
 * const tx = chain(scaleByAdam({ beta1: 0.9, beta2: 0.999 }), scaleByLearningRate(1e-3)) // = adam()
 * @category transforms
 */
export function scaleByAdam(options: ScaleByAdamOptions = {}): GradientTransformation<ScaleByAdamState> {
  const at = hyperparameters('scaleByAdam', options, ADAM_SPEC)
  return block<ScaleByAdamState>(
    (params) => Object.freeze({ count: 0, mu: zerosTree(params), nu: zerosTree(params) }),
    (updates, state, fusion) => {
      const count = countOf(state)
      const h = at(count)
      const kernelFor = kernels(fusion, (round, e) => adamKernel(adamScalars(round, h, count + 1), e))
      const [u, mu, nu] = fusedPass(updates, [state.mu, state.nu], ['state.mu', 'state.nu'], 3, kernelFor, fusion)
      return [u, Object.freeze({ count: count + 1, mu, nu })]
    },
  )
}

/**
 * State of {@link scaleByAmsgrad}.
 * @category model
 */
export interface ScaleByAmsgradState extends ScaleByAdamState {
  /** Tree like the params (same shapes and dtypes): `nuMax`, the running maximum of the raw `nu`. Starts at 0. */
  readonly nuMax: Params
}

/**
 * AMSGrad's scaling (Lasagne `amsgrad` without the learning rate; Reddi et
 * al. 2018): Adam with a running maximum of the raw second moment.
 *
 * - `t = count + 1`
 * - `mu' = beta1 · mu + (1 − beta1) · g`
 * - `nu' = beta2 · nu + (1 − beta2) · g²`
 * - `nuMax' = max(nuMax, nu')`
 * - `u = a_t · mu' / (sqrt(nuMax') + epsilon)`, `a_t = sqrt(1 − beta2^t) / (1 − beta1^t)`
 *
 * The maximum is over the uncorrected `nu` (as PyTorch; optax takes it over
 * the bias-corrected one). A NaN stays in `nuMax` for good.
 *
 * @example
 * const tx = chain(scaleByAmsgrad(), scaleByLearningRate(1e-3)) // = amsgrad()
 * @category transforms
 */
export function scaleByAmsgrad(options: ScaleByAdamOptions = {}): GradientTransformation<ScaleByAmsgradState> {
  const at = hyperparameters('scaleByAmsgrad', options, ADAM_SPEC)
  return block<ScaleByAmsgradState>(
    (params) => Object.freeze({ count: 0, mu: zerosTree(params), nu: zerosTree(params), nuMax: zerosTree(params) }),
    (updates, state, fusion) => {
      const count = countOf(state)
      const h = at(count)
      const kernelFor = kernels(fusion, (round, e) => amsgradKernel(adamScalars(round, h, count + 1), e))
      const names = ['state.mu', 'state.nu', 'state.nuMax']
      const [u, mu, nu, nuMax] = fusedPass(updates, [state.mu, state.nu, state.nuMax], names, 4, kernelFor, fusion)
      return [u, Object.freeze({ count: count + 1, mu, nu, nuMax })]
    },
  )
}

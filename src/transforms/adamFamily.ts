/**
 * The Adam family in every framework's numerics: the recurrences of Adam,
 * AMSGrad and Adamax as Lasagne, PyTorch, optax and Keras 3 compute them,
 * and the options and scalars they share. In float32, `r(...)` marks where
 * the framework rounds an intermediate (each of its float32 operations);
 * Lasagne's graph rounds only where it stores.
 *
 * @module transforms
 */
import { type Expr, type Recurrence, abs, add, div, max, mul, recurrence, sqrt, store as r, sub } from '../kernel/index.js'
import { flavoredGradient } from './torchGradient.js'
import { checkOptions } from '../errors/index.js'
import { type Flavor, type Knobs, booleanOption, checkKnobs, flavorOf } from './flavor.js'
import { DECAY, type HyperSpec, type Hyperparameter, NON_NEGATIVE, hyperparameters } from './hyper.js'

/**
 * Options of {@link scaleByAdam}, {@link scaleByAmsgrad} and {@link scaleByAdamax}.
 * @category model
 */
export interface ScaleByAdamOptions {
  /** Decay of the first moment `mu`, in `[0, 1)`; default 0.9 (every framework). */
  readonly beta1?: Hyperparameter
  /** Decay of the second moment (or of the infinity norm for Adamax), in `[0, 1)`; default 0.999 (every framework). */
  readonly beta2?: Hyperparameter
  /** Added to the denominator; `>= 0`, default 1e-8 (Lasagne, torch, optax; Keras: 1e-7). */
  readonly epsilon?: Hyperparameter
  /** Whose numerics (see {@link Flavor}); default `'lasagne'`. */
  readonly flavor?: Flavor
  /** optax `eps_root` (Adam, AMSGrad): added to the corrected second moment inside the root; default 0. */
  readonly epsRoot?: Hyperparameter
  /** torch `weight_decay` (coupled, L2): `g ← g + weightDecay · p` first; default 0. Reads the params. */
  readonly weightDecay?: Hyperparameter
  /** torch `maximize`: ascend, `g ← −g` first; default false. */
  readonly maximize?: boolean
  /** optax `nesterov` (Adam, optax): NAdam's look-ahead `mû = beta1 · mu' / (1 − beta1^(t+1)) + (1 − beta1) · g / (1 − beta1^t)`; default false. */
  readonly nesterov?: boolean
}


/** The hyperparameters of the Adam family at one step, and its static knobs. */
export interface AdamFamily {
  readonly flavor: Flavor
  readonly decay: boolean
  readonly maximize: boolean
  readonly nesterov: boolean
  readonly at: (count: number) => { beta1: number; beta2: number; epsilon: number; epsRoot: number; weightDecay: number }
}

/** Reads `options` of block `owner` (its flavor knobs `knobs`), with the flavor's defaults. */
export function adamFamilyOptions(owner: string, options: ScaleByAdamOptions, knobs: Knobs): AdamFamily {
  const flavor = flavorOf(owner, options.flavor)
  // the family shares one options type: a knob no flavor of this block has is an unknown option
  checkOptions(owner, options, ['beta1', 'beta2', 'epsilon', 'flavor', ...new Set(Object.values(knobs).flat())])
  checkKnobs(owner, flavor, options, knobs)
  const epsilon: HyperSpec = [flavor === 'tensorflow' ? 1e-7 : 1e-8, NON_NEGATIVE]
  const spec = { beta1: [0.9, DECAY], beta2: [0.999, DECAY], epsilon, epsRoot: [0, NON_NEGATIVE], weightDecay: [0, NON_NEGATIVE] } as const
  const at = hyperparameters(owner, options, spec, ['flavor', 'maximize', 'nesterov'])
  const nesterov = booleanOption(`${owner}.nesterov`, options.nesterov)
  return { flavor, decay: options.weightDecay !== undefined, maximize: booleanOption(`${owner}.maximize`, options.maximize), nesterov, at }
}

/** The scalars of one step `t` of the family, in the dtype of `round`. */
export function adamFamilyScalars(round: (x: number) => number, f: AdamFamily, count: number) {
  const h = f.at(count)
  const t = count + 1
  const beta1 = round(h.beta1)
  const beta2 = round(h.beta2)
  // Lasagne computes `one - beta` in floatX; the others take `1 - beta` in double precision, then round it
  const lasagne = f.flavor === 'lasagne'
  // optax (jax with x64) computes `1 - beta^t` in double precision; Lasagne and Keras in the leaf dtype
  const bc1 = f.flavor === 'optax' ? round(1 - h.beta1 ** t) : round(1 - round(beta1 ** t))
  const bc2 = f.flavor === 'optax' ? round(1 - h.beta2 ** t) : round(1 - round(beta2 ** t))
  return {
    beta1,
    oneMinusBeta1: round(1 - (lasagne ? beta1 : h.beta1)),
    beta2,
    oneMinusBeta2: round(1 - (lasagne ? beta2 : h.beta2)),
    epsilon: round(h.epsilon),
    epsRoot: round(h.epsRoot),
    weightDecay: round(h.weightDecay),
    sign: f.maximize ? -1 : 1,
    bc1,
    bc2,
    bc1Next: round(1 - h.beta1 ** (t + 1)),
    bc2Sqrt: round(Math.sqrt(1 - h.beta2 ** t)),
    invBc1: round(1 / (1 - h.beta1 ** t)),
    /** `sqrt(1 − beta2^t) / (1 − beta1^t)`: Lasagne's and Keras's `a_t` without the learning rate. */
    a: round(round(Math.sqrt(bc2)) / bc1),
    /** `1 / (1 − beta1^t)`: Lasagne's Adamax `a_t` without the learning rate. */
    aMax: round(1 / bc1),
  }
}

const SCALARS = ['beta1', 'oneMinusBeta1', 'beta2', 'oneMinusBeta2', 'epsilon', 'epsRoot', 'weightDecay', 'sign', 'bc1', 'bc2', 'bc1Next', 'bc2Sqrt', 'invBc1', 'a', 'aMax'] as const
type S = Readonly<Record<(typeof SCALARS)[number], Expr>>


/** The first moment `mu'` in each framework's form. */
function firstMoment(flavor: Flavor, g: Expr, mu: Expr, s: S): Expr {
  switch (flavor) {
    case 'lasagne':
      return r(add(mul(s.beta1, mu), mul(s.oneMinusBeta1, g)))
    case 'tensorflow': // m += (g − m) · (1 − beta1)
      return r(add(mu, r(mul(r(sub(g, mu)), s.oneMinusBeta1))))
    case 'torch': // m.lerp_(g, 1 − beta1)
      return r(add(mu, r(mul(s.oneMinusBeta1, r(sub(g, mu))))))
    case 'optax': // (1 − b1) · g + b1 · m
      return r(add(r(mul(s.oneMinusBeta1, g)), r(mul(s.beta1, mu))))
  }
}

/** The second moment `nu'` in each framework's form. */
function secondMoment(flavor: Flavor, g: Expr, nu: Expr, s: S): Expr {
  switch (flavor) {
    case 'lasagne':
      return r(add(mul(s.beta2, nu), mul(s.oneMinusBeta2, mul(g, g))))
    case 'tensorflow': // v += (g² − v) · (1 − beta2)
      return r(add(nu, r(mul(r(sub(r(mul(g, g)), nu)), s.oneMinusBeta2))))
    case 'torch': // v.mul_(beta2).addcmul_(g, g, value=1 − beta2)
      return r(add(r(mul(nu, s.beta2)), r(mul(r(mul(s.oneMinusBeta2, g)), g))))
    case 'optax': // (1 − b2) · g² + b2 · v
      return r(add(r(mul(s.oneMinusBeta2, r(mul(g, g)))), r(mul(s.beta2, nu))))
  }
}

/**
 * Adam's (or, with `amsgrad`, AMSGrad's) recurrence in `flavor`; `decay`
 * adds torch's coupled weight decay (the recurrence then reads the params).
 * The update is before the learning rate:
 *
 * - Lasagne, Keras: `a_t · mu' / (sqrt(v) + epsilon)`, `v` the raw `nu'` (or its running maximum);
 * - torch: `(mu' / (sqrt(v) / sqrt(1 − beta2^t) + epsilon)) / (1 − beta1^t)`, `v` as Lasagne's;
 * - optax: `mû / (sqrt(v + epsRoot) + epsilon)`, `v` the corrected `nû` (or the running maximum of it).
 */
export function adamRecurrence(flavor: Flavor, amsgrad: boolean, decay: boolean, nesterov = false): Recurrence<'mu' | 'nu' | 'nuMax'> {
  const state: readonly ('mu' | 'nu' | 'nuMax')[] = amsgrad ? ['mu', 'nu', 'nuMax'] : ['mu', 'nu']
  return recurrence({
    name: `${amsgrad ? 'amsgrad' : 'adam'} (${flavor}${decay ? ', weight decay' : ''}${nesterov ? ', nesterov' : ''})`,
    state,
    scalars: SCALARS,
    params: decay,
    step: (x, s) => {
      const g = flavoredGradient(flavor, x, s, decay)
      const mu1 = firstMoment(flavor, g, x.mu, s)
      const nu1 = secondMoment(flavor, g, x.nu, s)
      const next = { mu: mu1, nu: nu1 }
      if (flavor === 'optax') {
        const muHat = nesterov ? r(add(r(mul(s.beta1, r(div(mu1, s.bc1Next)))), r(mul(s.oneMinusBeta1, r(div(g, s.bc1)))))) : r(div(mu1, s.bc1))
        const nuHat = r(div(nu1, s.bc2))
        const v = amsgrad ? r(max(x.nuMax, nuHat)) : nuHat // optax keeps the maximum of the corrected moment
        const update = r(div(muHat, r(add(r(sqrt(r(add(v, s.epsRoot)))), s.epsilon))))
        return { update, ...next, nuMax: v } // nuMax is read only when it is a state
      }
      const v = amsgrad ? r(max(x.nuMax, nu1)) : nu1
      const update =
        flavor === 'torch'
          ? mul(r(div(mu1, r(add(r(div(r(sqrt(v)), s.bc2Sqrt)), s.epsilon)))), s.invBc1)
          : flavor === 'tensorflow'
            ? div(r(mul(mu1, s.a)), r(add(r(sqrt(v)), s.epsilon)))
            : div(mul(s.a, mu1), add(sqrt(v), s.epsilon)) // Lasagne: epsilon on the uncorrected root
      return { update, ...next, nuMax: v }
    },
  })
}

/**
 * Adamax's recurrence in `flavor` (state `mu` and the weighted infinity
 * norm `u`), before the learning rate:
 *
 * - Lasagne: `u' = max(beta2 · u, |g|)`, update `a_t · mu' / (u' + epsilon)`, `a_t = 1 / (1 − beta1^t)`;
 * - Keras: the same `u'`, update `mu' / ((1 − beta1^t) · (u' + epsilon))`;
 * - torch: `u' = max(beta2 · u, |g| + epsilon)`, update `(mu' / u') / (1 − beta1^t)`;
 * - optax: `u' = max(|g| + epsilon, beta2 · u)`, update `mû / u'`.
 */
export function adamaxRecurrence(flavor: Flavor, decay: boolean): Recurrence<'mu' | 'u'> {
  return recurrence({
    name: `adamax (${flavor}${decay ? ', weight decay' : ''})`,
    state: ['mu', 'u'],
    scalars: SCALARS,
    params: decay,
    step: (x, s) => {
      const g = flavoredGradient(flavor, x, s, decay)
      const mu1 = firstMoment(flavor, g, x.mu, s)
      switch (flavor) {
        case 'lasagne': {
          const u1 = r(max(mul(s.beta2, x.u), abs(g))) // epsilon outside the max, as Lasagne
          return { update: div(mul(s.aMax, mu1), add(u1, s.epsilon)), mu: mu1, u: u1 }
        }
        case 'tensorflow': {
          const u1 = r(max(r(mul(s.beta2, x.u)), abs(g)))
          return { update: div(mu1, r(mul(s.bc1, r(add(u1, s.epsilon))))), mu: mu1, u: u1 }
        }
        case 'torch': {
          const u1 = r(max(r(mul(x.u, s.beta2)), r(add(abs(g), s.epsilon))))
          return { update: mul(r(div(mu1, u1)), s.invBc1), mu: mu1, u: u1 }
        }
        case 'optax': {
          const u1 = r(max(r(add(abs(g), s.epsilon)), r(mul(s.beta2, x.u))))
          return { update: div(r(div(mu1, s.bc1)), u1), mu: mu1, u: u1 }
        }
      }
    },
  })
}

/**
 * Adagrad, RMSprop and Adadelta in every framework's numerics: their
 * recurrences as Lasagne, PyTorch, optax and Keras 3 compute them. In
 * float32, `r(...)` marks where the framework rounds an intermediate; the
 * updates are before the learning rate.
 *
 * @module transforms
 */
import { type Expr, type Recurrence, add, div, mul, neg, recurrence, sqrt, store as r, sub, where } from '../kernel/index.js'
import { flavoredGradient } from './torchGradient.js'
import { type Flavor } from './flavor.js'

/** The scalars every recurrence of the family may read (in the leaf dtype). */
export const ADAPTIVE_SCALARS = ['rho', 'oneMinusRho', 'epsilon', 'momentum', 'sign', 'weightDecay', 'lrScale', 'correction'] as const


/**
 * Adagrad in `flavor` (`accu` the sum of squares):
 *
 * - Lasagne: `g / sqrt(accu' + epsilon)`;
 * - torch: `(g / (sqrt(accu') + epsilon)) · lrScale`, `lrScale = 1 / (1 + (t − 1) · lrDecay)`;
 * - optax: `g · rsqrt(accu' + epsilon)` where `accu' > 0`, else 0;
 * - Keras: `g / sqrt(accu' + epsilon)`.
 */
export function adagradRecurrence(flavor: Flavor, decay: boolean): Recurrence<'accu'> {
  return recurrence({
    name: `adagrad (${flavor}${decay ? ', weight decay' : ''})`,
    state: ['accu'],
    scalars: ADAPTIVE_SCALARS,
    params: decay,
    step: (x, s) => {
      const g = flavoredGradient(flavor, x, s, decay)
      switch (flavor) {
        case 'lasagne': {
          const accu = r(add(x.accu, mul(g, g)))
          return { update: div(g, sqrt(add(accu, s.epsilon))), accu } // epsilon inside the root, as Lasagne
        }
        case 'torch': {
          const accu = r(add(x.accu, r(mul(g, g))))
          return { update: mul(r(div(g, r(add(r(sqrt(accu)), s.epsilon)))), s.lrScale), accu }
        }
        case 'optax': {
          const accu = r(add(r(mul(g, g)), x.accu))
          const inverse = where('lt', 0, accu, r(div(1, r(sqrt(r(add(accu, s.epsilon)))))), 0)
          return { update: r(mul(inverse, g)), accu }
        }
        case 'tensorflow': {
          const accu = r(add(x.accu, r(mul(g, g))))
          return { update: div(g, r(sqrt(r(add(accu, s.epsilon))))), accu }
        }
      }
    },
  })
}

/** What an RMSprop recurrence carries besides `accu`. */
export interface RmsShape {
  /** The moving average of `g` (`gradAvg`) is kept and subtracted: centered RMSprop. */
  readonly centered: boolean
  /** torch's momentum buffer (`velocity`, in gradient units) is kept in the block. */
  readonly velocity: boolean
  /** optax `eps_in_sqrt`. */
  readonly epsInSqrt: boolean
  /** optax `bias_correction`: the moments divided by `correction = 1 − rho^t` before use. */
  readonly biasCorrection: boolean
  /** torch's coupled weight decay (reads the params). */
  readonly decay: boolean
}

/**
 * RMSprop in `flavor`, `accu` the moving average of `g²` (and `gradAvg` of
 * `g` when centered, `v = accu' − gradAvg'²`, else `v = accu'`):
 *
 * - Lasagne: `g / sqrt(accu' + epsilon)`;
 * - torch: `g / (sqrt(v) + epsilon)`, through its momentum buffer when it has one;
 * - optax: `g · rsqrt(v + epsilon)`, or `g / (sqrt(v) + epsilon)` without `epsInSqrt`;
 * - Keras: `g / sqrt(v + epsilon)`.
 */
export function rmsRecurrence(flavor: Flavor, shape: RmsShape): Recurrence<'accu' | 'gradAvg' | 'velocity'> {
  const state: ('accu' | 'gradAvg' | 'velocity')[] = ['accu']
  if (shape.centered) state.push('gradAvg')
  if (shape.velocity) state.push('velocity')
  return recurrence({
    name: `rms (${flavor}, ${JSON.stringify(shape)})`,
    state,
    scalars: ADAPTIVE_SCALARS,
    params: shape.decay,
    step: (x, s) => {
      const g = flavoredGradient(flavor, x, s, shape.decay)
      switch (flavor) {
        case 'lasagne': {
          const accu = r(add(mul(s.rho, x.accu), mul(s.oneMinusRho, mul(g, g))))
          return { update: div(g, sqrt(add(accu, s.epsilon))), accu, gradAvg: accu, velocity: accu } // epsilon inside the root, as Lasagne
        }
        case 'torch': {
          const accu = r(add(r(mul(x.accu, s.rho)), r(mul(r(mul(s.oneMinusRho, g)), g))))
          const gradAvg = r(add(x.gradAvg, r(mul(s.oneMinusRho, r(sub(g, x.gradAvg))))))
          const v = shape.centered ? r(add(accu, r(mul(neg(gradAvg), gradAvg)))) : accu
          const avg = r(add(r(sqrt(v)), s.epsilon))
          const velocity = r(add(r(mul(x.velocity, s.momentum)), r(div(g, avg))))
          return { update: shape.velocity ? velocity : div(g, avg), accu, gradAvg, velocity }
        }
        case 'optax': {
          const accu = r(add(r(mul(s.oneMinusRho, r(mul(g, g)))), r(mul(s.rho, x.accu))))
          const gradAvg = r(add(r(mul(s.oneMinusRho, g)), r(mul(s.rho, x.gradAvg))))
          const corrected = (m: Expr) => (shape.biasCorrection ? r(div(m, s.correction)) : m)
          const mean = corrected(gradAvg)
          const v = shape.centered ? r(sub(corrected(accu), r(mul(mean, mean)))) : corrected(accu)
          const scaling = shape.epsInSqrt ? r(div(1, r(sqrt(r(add(v, s.epsilon)))))) : r(div(1, r(add(r(sqrt(v)), s.epsilon))))
          return { update: r(mul(scaling, g)), accu, gradAvg, velocity: accu }
        }
        case 'tensorflow': {
          const accu = r(add(r(mul(s.rho, x.accu)), r(mul(s.oneMinusRho, r(mul(g, g))))))
          const gradAvg = r(add(r(mul(s.rho, x.gradAvg)), r(mul(s.oneMinusRho, g))))
          const v = shape.centered ? r(sub(accu, r(mul(gradAvg, gradAvg)))) : accu
          return { update: div(g, r(sqrt(r(add(v, s.epsilon))))), accu, gradAvg, velocity: accu }
        }
      }
    },
  })
}

/**
 * Adadelta in `flavor` (`accu` of `g²`, `deltaAccu` of the step²), the step
 * `sqrt(deltaAccu + epsilon) / sqrt(accu' + epsilon) · g` with the old
 * `deltaAccu` everywhere, in each framework's order of operations.
 */
export function adadeltaRecurrence(flavor: Flavor, decay: boolean): Recurrence<'accu' | 'deltaAccu'> {
  return recurrence({
    name: `adadelta (${flavor}${decay ? ', weight decay' : ''})`,
    state: ['accu', 'deltaAccu'],
    scalars: ADAPTIVE_SCALARS,
    params: decay,
    step: (x, s) => {
      const g = flavoredGradient(flavor, x, s, decay)
      const rms = (v: Expr) => r(sqrt(r(add(v, s.epsilon))))
      switch (flavor) {
        case 'lasagne': {
          const accu = r(add(mul(s.rho, x.accu), mul(s.oneMinusRho, mul(g, g))))
          const delta = r(div(mul(g, sqrt(add(x.deltaAccu, s.epsilon))), sqrt(add(accu, s.epsilon))))
          const deltaAccu = r(add(mul(s.rho, x.deltaAccu), mul(s.oneMinusRho, mul(delta, delta))))
          return { update: delta, accu, deltaAccu }
        }
        case 'torch': {
          const accu = r(add(r(mul(x.accu, s.rho)), r(mul(r(mul(s.oneMinusRho, g)), g))))
          const delta = r(mul(r(div(rms(x.deltaAccu), rms(accu))), g))
          const deltaAccu = r(add(r(mul(x.deltaAccu, s.rho)), r(mul(r(mul(s.oneMinusRho, delta)), delta))))
          return { update: delta, accu, deltaAccu }
        }
        case 'optax': {
          const accu = r(add(r(mul(s.oneMinusRho, r(mul(g, g)))), r(mul(s.rho, x.accu))))
          const delta = r(mul(r(div(rms(x.deltaAccu), rms(accu))), g))
          const deltaAccu = r(add(r(mul(s.oneMinusRho, r(mul(delta, delta)))), r(mul(s.rho, x.deltaAccu))))
          return { update: delta, accu, deltaAccu }
        }
        case 'tensorflow': {
          const accu = r(add(r(mul(s.rho, x.accu)), r(mul(s.oneMinusRho, r(mul(g, g))))))
          const delta = r(div(r(mul(rms(x.deltaAccu), g)), rms(accu)))
          const deltaAccu = r(add(r(mul(s.rho, x.deltaAccu)), r(mul(s.oneMinusRho, r(mul(delta, delta))))))
          return { update: delta, accu, deltaAccu }
        }
      }
    },
  })
}

/** The hyperparameters of one step of the family (`rho` absent for Adagrad reads as 0). */
export interface AdaptiveHyper {
  readonly rho?: number
  readonly epsilon: number
  readonly momentum?: number
  readonly weightDecay?: number
  readonly lrDecay?: number
}

/** The scalars of step `count + 1` in the dtype of `round`; `maximize` flips the gradient (torch). */
export function adaptiveScalars(round: (x: number) => number, flavor: Flavor, h: AdaptiveHyper, count: number, maximize: boolean) {
  const rho = round(h.rho ?? 0)
  return {
    rho,
    // Lasagne computes `one - rho` in floatX; the others take `1 - rho` in double precision, then round it
    oneMinusRho: round(1 - (flavor === 'lasagne' ? rho : (h.rho ?? 0))),
    epsilon: round(h.epsilon),
    momentum: round(h.momentum ?? 0),
    sign: maximize ? -1 : 1,
    weightDecay: round(h.weightDecay ?? 0),
    lrScale: round(1 / (1 + count * (h.lrDecay ?? 0))),
    correction: round(1 - (h.rho ?? 0) ** (count + 1)),
  }
}

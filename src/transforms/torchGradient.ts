/**
 * PyTorch's gradient prologue as a stage of its own: `maximize` and coupled
 * weight decay, for the optimizers whose torch form starts with them.
 *
 * @module transforms
 */
import { type GradientTransformation } from '../core/index.js'
import { type Expr, add, mul, recurrence, store } from '../kernel/index.js'
import { type RecurrentState, recurrentBlock } from './block.js'
import { type Hyperparameter, NON_NEGATIVE, hyperparameters } from './hyper.js'

/**
 * Options of {@link torchGradient}.
 * @category model
 */
export interface TorchGradientOptions {
  /** torch `weight_decay`: `g ← g + weightDecay · p` (coupled, L2); `>= 0`, default 0. */
  readonly weightDecay?: Hyperparameter
  /** torch `maximize`: `g ← −g` first; default false. */
  readonly maximize?: boolean
}

/**
 * torch's gradient as an expression: `−g` under `maximize` (`sign = −1`),
 * then `+ weightDecay · p` when `decay` (`grad.add(param, alpha=weight_decay)`),
 * rounded where torch rounds. The recurrences of the torch flavors start with it.
 */
export function torchGradientOf(g: Expr, p: Expr, s: { readonly sign: Expr; readonly weightDecay: Expr }, decay: boolean): Expr {
  const signed = store(mul(s.sign, g)) // exact (the sign is ±1); stored, so the recurrence rounds every operation
  return decay ? store(add(signed, store(mul(s.weightDecay, p)))) : signed
}

/**
 * The incoming gradient of a flavored recurrence: torch's (see
 * {@link torchGradientOf}) under `'torch'`, else `g` as it is.
 */
export function flavoredGradient(flavor: string, x: { readonly g: Expr; readonly p: Expr }, s: { readonly sign: Expr; readonly weightDecay: Expr }, decay: boolean): Expr {
  return flavor === 'torch' ? torchGradientOf(x.g, x.p, s, decay) : x.g
}

/** The gradient stage: `sign · g + weightDecay · p`. */
const TORCH_GRADIENT = recurrence({
  name: 'torch gradient',
  state: [],
  scalars: ['sign', 'weightDecay'],
  params: true,
  step: ({ g, p }, s) => ({ update: torchGradientOf(g, p, s, true) }),
})

/**
 * The gradient as PyTorch's optimizers first transform it:
 * `g ← (maximize ? −g : g) + weightDecay · p`. Reads the params.
 *
 * @example
 * const tx = chain(torchGradient({ weightDecay: 0.01 }), scaleByLearningRate(0.05)) // = sgd({ learningRate: 0.05, weightDecay: 0.01, flavor: 'torch' })
 * @category transforms
 */
export function torchGradient(options: TorchGradientOptions = {}): GradientTransformation<RecurrentState<never>> {
  const at = hyperparameters('torchGradient', options, { weightDecay: [0, NON_NEGATIVE] }, ['maximize'])
  const sign = options.maximize === true ? -1 : 1
  return recurrentBlock(TORCH_GRADIENT, at, (round, h) => ({ sign, weightDecay: round(h.weightDecay) }))
}

/**
 * PyTorch's gradient prologue as a stage of its own: `maximize` and coupled
 * weight decay, for the optimizers whose torch form starts with them.
 *
 * @module transforms
 */
import { type GradientTransformation } from '../core/index.js'
import { add, mul, recurrence, store } from '../kernel/index.js'
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

/** `sign · g + weightDecay · p`, rounded where torch rounds (`grad.add(param, alpha=weight_decay)`). */
const TORCH_GRADIENT = recurrence({
  name: 'torch gradient',
  state: [],
  scalars: ['sign', 'weightDecay'],
  params: true,
  step: ({ g, p }, { sign, weightDecay }) => ({ update: store(add(mul(sign, g), store(mul(weightDecay, p)))) }),
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

/**
 * The optimizer chains the training example compares: every Lasagne
 * optimizer with a learning rate that suits this small problem, Adam with
 * max-norm regularisation (`constrainParams(normConstraint)`), and SGD with
 * total-norm gradient clipping. Each entry builds its transformation from
 * the command-line settings and shows itself as the code that builds it.
 */
import {
  type ClipByTotalNormState,
  type GradientTransformation,
  type Tensor,
  adadelta,
  adagrad,
  adam,
  adamax,
  amsgrad,
  chain,
  clipByTotalNorm,
  constrainParams,
  momentum,
  nesterovMomentum,
  normConstraint,
  rmsprop,
  sgd,
} from '../src/index.js'

/** The command-line settings a chain may depend on. */
export interface ChainSettings {
  /** `--max-norm`: the column-norm bound of the constrained chain. */
  readonly maxNorm: number
  /** `--clip`: the total gradient norm of the clipped chain. */
  readonly clip: number
}

/** One entry of the comparison. */
export interface ChainSpec {
  /** The name used by `--optimizer` and in the table. */
  readonly name: string
  /** The code that builds the chain, for the report. */
  recipe(s: ChainSettings): string
  /** Builds the chain. */
  make(s: ChainSettings): GradientTransformation<unknown>
  /**
   * Reads the total gradient norm (before clipping) back from the chain's
   * state after a step, for chains that keep it.
   */
  gradNorm?(state: unknown): number
}

/** `normConstraint` on every weight matrix (Lasagne's default axes: each unit's incoming weights); biases pass through. */
export function maxNormOnWeights(maxNorm: number): (ps: Tensor[]) => Tensor[] {
  return (ps) => ps.map((p) => (p.shape.length === 2 ? normConstraint(p, maxNorm) : p))
}

const plain = (name: string, recipe: string, make: () => GradientTransformation<unknown>): ChainSpec => ({ name, recipe: () => recipe, make })

/** Every chain, in the order of the table and the plots. */
export const CHAINS: readonly ChainSpec[] = [
  plain('sgd', 'sgd(0.1)', () => sgd(0.1)),
  plain('momentum', 'momentum({ learningRate: 0.02, momentum: 0.9 })', () => momentum({ learningRate: 0.02, momentum: 0.9 })),
  plain('nesterov', 'nesterovMomentum({ learningRate: 0.02, momentum: 0.9 })', () => nesterovMomentum({ learningRate: 0.02, momentum: 0.9 })),
  plain('adagrad', 'adagrad({ learningRate: 0.1 })', () => adagrad({ learningRate: 0.1 })),
  plain('rmsprop', 'rmsprop({ learningRate: 0.005 })', () => rmsprop({ learningRate: 0.005 })),
  plain('adadelta', 'adadelta()', () => adadelta()),
  plain('adam', 'adam({ learningRate: 0.01 })', () => adam({ learningRate: 0.01 })),
  plain('adamax', 'adamax({ learningRate: 0.02 })', () => adamax({ learningRate: 0.02 })),
  plain('amsgrad', 'amsgrad({ learningRate: 0.01 })', () => amsgrad({ learningRate: 0.01 })),
  {
    name: 'adam+maxnorm',
    recipe: (s) => `chain(adam({ learningRate: 0.01 }), constrainParams(maxNormOnWeights(${s.maxNorm})))`,
    make: (s) => chain(adam({ learningRate: 0.01 }), constrainParams(maxNormOnWeights(s.maxNorm))),
  },
  {
    name: 'sgd+clip',
    recipe: (s) => `chain(clipByTotalNorm(${s.clip}), sgd(0.1))`,
    make: (s) => chain(clipByTotalNorm(s.clip), sgd(0.1)),
    gradNorm: (state) => (state as readonly [ClipByTotalNormState, unknown])[0].norm,
  },
]

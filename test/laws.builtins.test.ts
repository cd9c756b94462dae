/**
 * Every built-in constraint of the L2 family and every optimizer run through
 * the law suites of `ndoptax/laws`, plus realistic chains.
 */
import fc from 'fast-check'
import { describe, it } from 'vitest'
import { type GradientTransformation, type Params, chain, identity } from '../src/core/index.js'
import { clipByGlobalNorm, clipByNorm, clipGradNorm, maxNorm, normConstraint, renorm, totalNormConstraint } from '../src/constraints/index.js'
import { adadelta, adagrad, adam, adamax, amsgrad, applyMomentum, applyNesterovMomentum, momentum, nesterovMomentum, rmsprop, sgd } from '../src/optimizers/index.js'
import { clipByTotalNorm, constrainParams, leafwise, treewise } from '../src/transforms/index.js'
import type { Tensor } from '../src/tensor/index.js'
import { arbTensor, arbTree, checkChainLaws, checkConstraintLaws, checkTransformLaws } from '../laws/index.js'

const RUNS = 30

/** All axes but `dim` (wrapped): the axes `renorm` reduces over. */
const allBut = (dim: number) => (nd: number) => Array.from({ length: nd }, (_, i) => i).filter((i) => i !== (dim + nd) % nd)
/** Lasagne's default norm axes: [0] for 2-D, all but 0 for 3-5-D. */
const lasagneDefault = (nd: number) => (nd === 2 ? [0] : allBut(0)(nd))

describe('built-in constraints pass checkConstraintLaws', () => {
  it('normConstraint, default axes (2-D columns, all but axis 0 above)', () => {
    checkConstraintLaws((x) => normConstraint(x, 2), { maxNorm: 2, normAxes: lasagneDefault, minDims: 2, maxDims: 4, numRuns: RUNS })
  })
  it('normConstraint, explicit axes, a zero and an infinite bound', () => {
    checkConstraintLaws((x) => normConstraint(x, 1, { normAxes: [1] }), { maxNorm: 1, normAxes: [1], numRuns: RUNS })
    checkConstraintLaws((x) => normConstraint(x, 1.5, { normAxes: [0, 2] }), { maxNorm: 1.5, normAxes: [0, 2], numRuns: RUNS })
    checkConstraintLaws((x) => normConstraint(x, 0.5, { normAxes: -1 }), { maxNorm: 0.5, normAxes: -1, numRuns: RUNS })
    checkConstraintLaws((x) => normConstraint(x, 0, { normAxes: [0] }), { maxNorm: 0, normAxes: [0], numRuns: RUNS })
    checkConstraintLaws((x) => normConstraint(x, Infinity, { normAxes: [0] }), { maxNorm: Infinity, normAxes: [0], numRuns: RUNS })
  })
  it('clipByNorm over all axes and over given axes', () => {
    checkConstraintLaws((t) => clipByNorm(t, 1), { maxNorm: 1, numRuns: RUNS })
    checkConstraintLaws((t) => clipByNorm(t, 2, [0]), { maxNorm: 2, normAxes: [0], numRuns: RUNS })
    checkConstraintLaws((t) => clipByNorm(t, 0.25, -1), { maxNorm: 0.25, normAxes: -1, numRuns: RUNS })
  })
  it('maxNorm over its axis (default 0), a list of axes, and no axes (elementwise)', () => {
    checkConstraintLaws((w) => maxNorm(w, 1), { maxNorm: 1, normAxes: [0], numRuns: RUNS })
    checkConstraintLaws((w) => maxNorm(w, 2, { axis: [1, 2] }), { maxNorm: 2, normAxes: [1, 2], numRuns: RUNS })
    checkConstraintLaws((w) => maxNorm(w, 0.5, { axis: [] }), { maxNorm: 0.5, normAxes: [], numRuns: RUNS })
    checkConstraintLaws((w) => maxNorm(w, 0), { maxNorm: 0, normAxes: [0], numRuns: RUNS })
  })
  it('renorm with p = 2, as the L2 bound over every axis but dim', () => {
    checkConstraintLaws((x) => renorm(x, 2, 0, 1), { maxNorm: 1, normAxes: allBut(0), minDims: 2, maxDims: 4, numRuns: RUNS })
    checkConstraintLaws((x) => renorm(x, 2, -1, 3), { maxNorm: 3, normAxes: allBut(-1), minDims: 2, maxDims: 3, numRuns: RUNS })
  })
  it('the total-norm family on a single tensor (one norm over all axes)', () => {
    checkConstraintLaws((x) => totalNormConstraint([x], 1)[0], { maxNorm: 1, numRuns: RUNS })
    checkConstraintLaws((x) => clipByGlobalNorm([x], 2)[0][0], { maxNorm: 2, numRuns: RUNS })
    checkConstraintLaws((x) => clipGradNorm([x], 0.5)[0][0], { maxNorm: 0.5, numRuns: RUNS })
  })
})

describe('optimizers pass checkTransformLaws', () => {
  const optimizers: [string, GradientTransformation<unknown>][] = [
    ['sgd', sgd(0.1)],
    ['momentum', momentum({ learningRate: 0.1, momentum: 0.9 })],
    ['nesterovMomentum', nesterovMomentum({ learningRate: 0.1, momentum: 0.5 })],
    ['adagrad', adagrad()],
    ['rmsprop', rmsprop({ learningRate: 0.01 })],
    ['adadelta', adadelta()],
    ['adam', adam()],
    ['adamax', adamax()],
    ['amsgrad', amsgrad()],
    ['applyMomentum(sgd)', applyMomentum(sgd(0.1))],
    ['applyNesterovMomentum(adam)', applyNesterovMomentum(adam({ learningRate: 0.01 }), { momentum: 0.8 })],
    ['adam with a learning-rate schedule', adam({ learningRate: (step: number) => 1e-3 / (1 + step) })],
  ] as [string, GradientTransformation<unknown>][]
  for (const [name, tx] of optimizers) {
    it(name, () => checkTransformLaws(tx, { numRuns: RUNS, name }))
  }
})

/** Trees of 2-4-D tensors: normConstraint's default axes need 2-5 dimensions. */
const weightTrees: fc.Arbitrary<Params> = arbTree(arbTensor({ minDims: 2, maxDims: 4, maxSide: 3 }))
const constrainByNorm = constrainParams((ts: Tensor[]) => ts.map((t) => normConstraint(t, 1)))

describe('realistic chains pass checkTransformLaws', () => {
  it('total-norm clipping, then adam, then constrainParams(normConstraint)', () => {
    const tx = chain(clipByTotalNorm(1), adam({ learningRate: 0.01 }), constrainByNorm)
    checkTransformLaws(tx, { numRuns: RUNS, params: weightTrees, steps: 4 })
  })
  it('torch- and TF-flavoured total-norm clipping before momentum', () => {
    checkTransformLaws(chain(clipByTotalNorm(0.5, { flavor: 'torch' }), momentum({ learningRate: 0.1 })), { numRuns: RUNS })
    checkTransformLaws(chain(clipByTotalNorm(0.5, { flavor: 'tensorflow' }), rmsprop({ learningRate: 0.01 })), { numRuns: RUNS })
  })
  it('leafwise clipByNorm and treewise clipByGlobalNorm in chains', () => {
    checkTransformLaws(chain(leafwise((t) => clipByNorm(t, 1)), adagrad({ learningRate: 0.1 })), { numRuns: RUNS })
    checkTransformLaws(chain(treewise((ts) => clipByGlobalNorm(ts, 1)[0]), sgd(0.5), leafwise((t) => maxNorm(t, 0.1, { axis: [] }))), { numRuns: RUNS })
  })
})

describe('chain laws hold for built-ins', () => {
  it('clipping, adam and a parameter constraint', () => {
    checkChainLaws(clipByTotalNorm(1), adam({ learningRate: 0.01 }), constrainByNorm, { numRuns: 20, params: weightTrees })
  })
  it('momentum wrappers and identity', () => {
    checkChainLaws(applyMomentum(sgd(0.1)), identity(), nesterovMomentum({ learningRate: 0.05 }), { numRuns: 20 })
  })
})

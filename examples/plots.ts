/**
 * Plots of the training runs as SVG: vega-lite specs compiled to vega and
 * rendered headless in Node (`renderer: 'none'`, then `toSVG()`); no browser
 * or canvas is needed.
 */
import * as vega from 'vega'
import { type TopLevelSpec, compile } from 'vega-lite'
/** What a plot reads of a run: its name, and per epoch the loss, the test accuracy and the largest column norm of each weight matrix. */
export interface Curve {
  readonly name: string
  readonly history: readonly { readonly epoch: number; readonly loss: number; readonly testAccuracy: number; readonly norms: Readonly<Record<string, number>> }[]
}

type EpochRecord = Curve['history'][number]

/** The titles of a comparison's plots (what the loss is, what the test set is). */
export interface PlotTitles {
  readonly loss: string
  readonly accuracy: string
}

/** One plot: its file name, title and SVG text. */
export interface Plot {
  readonly file: string
  readonly title: string
  readonly svg: string
}

/** Eleven distinguishable colours (Tableau 10 with a stronger cyan, plus black). */
const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#17becf', '#000000']

/** Chains that combine an optimizer with a constraint or clipping (named `a+b`) are drawn thicker. */
const STROKE = { condition: { test: "indexof(datum.chain, '+') >= 0", value: 2.5 }, value: 1.25 } as const

const SIZE = { width: 520, height: 300 }

function colour(names: readonly string[]) {
  return {
    field: 'chain',
    type: 'nominal',
    title: 'chain',
    sort: names,
    scale: { domain: names, range: names.map((_, i) => PALETTE[i % PALETTE.length]) },
  } as const
}

/** What a per-epoch line chart shows: one value of each epoch record, and how its axis looks. */
interface Series {
  readonly title: string
  readonly field: string
  readonly value: (h: EpochRecord) => number
  readonly y: Readonly<Record<string, unknown>>
  readonly interpolate?: 'linear' | 'step-after'
}

/** One line per chain of `series.value` against the epoch. */
function epochSpec(runs: readonly Curve[], series: Series): TopLevelSpec {
  const { title, field, value, y, interpolate = 'linear' } = series
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    ...SIZE,
    background: 'white',
    data: { values: runs.flatMap((r) => r.history.map((h) => ({ chain: r.name, epoch: h.epoch, [field]: value(h) }))) },
    // a point per epoch when there are few, so that every value shows
    mark: { type: 'line', interpolate, point: Math.max(...runs.map((r) => r.history.length)) <= 20 },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch' },
      y: { field, type: 'quantitative', title: field, ...y },
      color: colour(runs.map((r) => r.name)),
      strokeWidth: STROKE,
    },
  }
}

/** Training loss per epoch, one line per chain, on a log scale. */
export function lossSpec(runs: readonly Curve[], title = 'Training loss (softmax cross-entropy, whole training set)'): TopLevelSpec {
  return epochSpec(runs, { title, field: 'loss', value: (h) => h.loss, y: { scale: { type: 'log' } } })
}

/** Test accuracy per epoch from the first on, one line per chain. */
export function accuracySpec(runs: readonly Curve[], title = 'Test accuracy (30 held-out flowers)'): TopLevelSpec {
  // from the first epoch on: the untrained model's chance level would flatten the scale where the runs differ
  const trained = runs.map((r) => ({ ...r, history: r.history.filter((h) => h.epoch > 0) }))
  return epochSpec(trained, {
    title,
    field: 'accuracy',
    value: (h) => h.testAccuracy,
    y: { scale: { zero: false }, axis: { format: '%' } },
    // steps over many epochs; over a few, a step would hide the last value in the right edge
    interpolate: Math.max(...trained.map((r) => r.history.length)) <= 20 ? 'linear' : 'step-after',
  })
}

/**
 * The largest column norm of each weight matrix per epoch (one panel per
 * matrix), with the `maxNorm` bound of the constrained chain as a dashed rule.
 */
export function normsSpec(runs: readonly Curve[], maxNorm: number, title = `Largest column norm of each weight matrix (dashed: --max-norm ${maxNorm})`): TopLevelSpec {
  const names = runs.map((r) => r.name)
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    background: 'white',
    data: {
      values: runs.flatMap((r) =>
        r.history.flatMap((h) => Object.entries(h.norms).map(([layer, norm]) => ({ chain: r.name, epoch: h.epoch, layer, norm }))),
      ),
    },
    facet: { column: { field: 'layer', type: 'nominal', title: null, header: { labelFontSize: 13 } } },
    spec: {
      width: 300,
      height: 260,
      layer: [
        {
          mark: { type: 'line' },
          encoding: {
            x: { field: 'epoch', type: 'quantitative', title: 'epoch' },
            y: { field: 'norm', type: 'quantitative', title: 'max column norm' },
            color: colour(names),
            strokeWidth: STROKE,
          },
        },
        { mark: { type: 'rule', strokeDash: [4, 4], color: '#555' }, encoding: { y: { datum: maxNorm } } },
      ],
    },
  }
}

/** Compiles a vega-lite spec and renders it to SVG text without a browser. */
export async function toSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}

/** All plots of a comparison (`titles`: the loss's and the accuracy's, when they are not Iris's). */
export async function renderPlots(runs: readonly Curve[], maxNorm: number, titles?: PlotTitles): Promise<Plot[]> {
  const specs: [string, string, TopLevelSpec][] = [
    ['loss.svg', 'Training loss', lossSpec(runs, titles?.loss)],
    ['weight-norms.svg', 'Weight norms', normsSpec(runs, maxNorm)],
    ['accuracy.svg', 'Test accuracy', accuracySpec(runs, titles?.accuracy)],
  ]
  return Promise.all(specs.map(async ([file, title, spec]) => ({ file, title, svg: await toSvg(spec) })))
}
